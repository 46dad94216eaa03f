package io.sae4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kernel of the {@link Backend} interface against its double-precision reference
 * ({@link Reference}), on every backend configuration of {@link TestBackends} (CUDA skipped
 * visibly without a GPU), on fresh random inputs with odd sizes. Every output buffer is
 * pre-filled with a sentinel and followed by guard elements: an element a kernel fails to write
 * keeps the sentinel and fails the comparison, and a write past the end changes a guard.
 */
class BackendKernelsTest {
    static final float SENTINEL = -7777.25f;
    static final int GUARD = 7;
    static final double FP32 = 2e-5;

    static List<TestBackends.Config> backends() {
        return TestBackends.all();
    }

    static float[] randn(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    /** A buffer of n + GUARD floats, all SENTINEL. */
    static FloatBuf guarded(Backend be, long n) {
        FloatBuf b = be.allocate(n + GUARD);
        be.fill(b, SENTINEL);
        return b;
    }

    static IntBuf guardedInts(Backend be, long n, int value) {
        IntBuf b = be.allocateInts(n + GUARD);
        be.fill(b, value);
        return b;
    }

    /** The first n values; every value from n on must still be the sentinel. */
    static float[] written(Backend be, FloatBuf b, int n, String what) {
        float[] all = be.download(b);
        for (int i = n; i < all.length; i++)
            assertEquals(Float.floatToRawIntBits(SENTINEL), Float.floatToRawIntBits(all[i]),
                    what + ": element " + i + " past the " + n + " outputs was overwritten");
        return Arrays.copyOf(all, n);
    }

    /** max |got - ref| <= rtol * max |ref| (the reference's scale; never an absolute bound). */
    static void assertClose(double[] ref, float[] got, double rtol, String what) {
        assertEquals(ref.length, got.length, what + ": length");
        double scale = 0, worst = 0;
        int at = -1;
        for (double v : ref) if (Double.isFinite(v)) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < ref.length; i++) {
            if (Double.isNaN(ref[i]) && Float.isNaN(got[i])) continue;
            if (ref[i] == Double.NEGATIVE_INFINITY && got[i] == Float.NEGATIVE_INFINITY) continue;
            double e = Math.abs(got[i] - ref[i]);
            if (!(e <= worst)) {
                worst = e;
                at = i;
            }
        }
        assertTrue(worst <= rtol * scale, what + ": max error " + worst + " at " + at + " (ref " + (at >= 0 ? ref[at] : 0)
                + ", got " + (at >= 0 ? got[at] : 0) + "), allowed " + rtol * scale);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void gemmAllTranspositionsAndStrides(TestBackends.Config cfg) {
        Random r = new Random(11);
        try (Backend be = cfg.open()) {
            // small (one call), and large enough to be split over the threads by rows and by columns
            for (int[] size : new int[][] {{37, 53, 48}, {211, 197, 100}, {97, 230, 101}})
                gemmAllTranspositions(be, cfg, r, size[0], size[1], size[2]);
        }
    }

    private static void gemmAllTranspositions(Backend be, TestBackends.Config cfg, Random r, int M, int N, int K) {
        {
            int ldc = N + 3;
            for (boolean ta : new boolean[] {false, true})
                for (boolean tb : new boolean[] {false, true}) {
                    float[] a = randn(r, M * K, 1), b = randn(r, K * N, 1), c0 = randn(r, M * ldc, 1);
                    FloatBuf A = be.upload(a), B = be.upload(b), C = guarded(be, (long) M * ldc);
                    be.upload(c0, 0, C, 0, c0.length);
                    Matrix ma = ta ? Matrix.of(A, K, M).t() : Matrix.of(A, M, K);
                    Matrix mb = tb ? Matrix.of(B, N, K).t() : Matrix.of(B, K, N);
                    be.gemm(0.5f, ma, mb, 2f, new Matrix(C, M, N, ldc, false));
                    double[] gemm = Reference.gemm(ta, tb, M, N, K, a, b), ref = new double[M * ldc];
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < ldc; j++)
                            ref[i * ldc + j] = j < N ? 0.5 * gemm[i * N + j] + 2 * c0[i * ldc + j] : c0[i * ldc + j];
                    assertClose(ref, written(be, C, M * ldc, "gemm"), FP32 * cfg.tolerance(),
                            "gemm " + M + "x" + N + "x" + K + " ta=" + ta + " tb=" + tb);
                    A.close();
                    B.close();
                    C.close();
                }
        }
    }

    /** A random SAE whose latents are sparse-ish, and the workspace runs of it. */
    static final class Case {
        final int B, d, m;
        final float[] x, wEncT, bEnc, wDec, bDec;
        final double lambda = 0.7;

        Case(Random r, int B, int d, int m, double bias) {
            this.B = B;
            this.d = d;
            this.m = m;
            x = randn(r, B * d, 1);
            wEncT = randn(r, m * d, 1 / Math.sqrt(d));
            bEnc = randn(r, m, 0.2);
            for (int i = 0; i < m; i++) bEnc[i] += (float) bias;
            wDec = randn(r, m * d, 1 / Math.sqrt(d));
            bDec = randn(r, d, 0.1);
        }

        Reference.Sae ref() {
            return new Reference.Sae(d, m, Reference.toDouble(wEncT), Reference.toDouble(bEnc),
                    Reference.toDouble(wDec), Reference.toDouble(bDec));
        }

        float[] flat() {
            float[] p = new float[(int) SaeTensors.count(d, m)];
            System.arraycopy(wEncT, 0, p, 0, m * d);
            System.arraycopy(bEnc, 0, p, m * d, m);
            System.arraycopy(wDec, 0, p, m * d + m, m * d);
            System.arraycopy(bDec, 0, p, 2 * m * d + m, d);
            return p;
        }

        SaeTensors upload(Backend be) {
            return SaeTensors.view(be.upload(flat()), d, m);
        }

        /** A workspace with room to spare (rows and latents), entirely SENTINEL. */
        Workspace workspace(Backend be, LatentStorage storage, boolean training) {
            Workspace ws = be.workspace(new WorkspaceSpec(B + 3, d, m + 5, storage, training));
            be.fill(ws.latents(), SENTINEL);
            be.fill(ws.reconstruction(), SENTINEL);
            be.upload(x, 0, ws.input(), 0, x.length);
            return ws;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void encodeAndDecodeOnEveryStorage(TestBackends.Config cfg) {
        Random r = new Random(14);
        try (Backend be = cfg.open()) {
            Case c = new Case(r, 33, 48, 150, -1.9); // about 3% of latents fire: sparse on every backend
            double[] fRef = Reference.encode(c.ref(), c.x, c.B), xhRef = Reference.decode(c.ref(), fRef, c.B);
            int nnzRef = 0;
            int[] firingRef = new int[c.m];
            for (int i = 0; i < fRef.length; i++)
                if (fRef[i] > 0) {
                    nnzRef++;
                    firingRef[i % c.m]++;
                }
            assertTrue(nnzRef > 0 && nnzRef < fRef.length / 25, "test setup: density " + (double) nnzRef / fRef.length);
            SaeTensors p = c.upload(be);
            for (LatentStorage storage : LatentStorage.values()) {
                String tag = cfg + " " + storage;
                try (Workspace ws = c.workspace(be, storage, false); StepStats stats = new StepStats(be, 3, c.m + GUARD)) {
                    be.fill(stats.nonzerosBuffer(), -5);
                    be.fill(stats.firingBuffer(), 7);
                    be.encode(p, Activation.RELU, ws, c.B, stats.at(1));
                    // AUTO may decide from the previous batch's density, read back asynchronously
                    // (CUDA): once that has arrived, the second encode takes the sparse path
                    if (storage == LatentStorage.AUTO) {
                        be.sync();
                        be.encode(p, Activation.RELU, ws, c.B, stats.at(1));
                    }
                    assertEquals(storage != LatentStorage.DENSE, ws.sparse(), "sparse path " + tag);
                    float[] f = written(be, ws.latents(), c.B * c.m, "latents " + tag);
                    assertClose(fRef, f, FP32 * cfg.tolerance(), "latents " + tag);
                    assertArrayEquals(new int[] {-5, nnzRef, -5}, Arrays.copyOf(be.download(stats.nonzerosBuffer()), 3),
                            "nonzeros in slot 1 only " + tag);
                    int[] firing = be.download(stats.firingBuffer());
                    int encodes = storage == LatentStorage.AUTO ? 2 : 1;
                    for (int i = 0; i < c.m + GUARD; i++)
                        assertEquals(7 + (i < c.m ? encodes * firingRef[i] : 0), firing[i], "firing[" + i + "] " + tag);
                    be.decode(p, ws, c.B);
                    float[] xh = written(be, ws.reconstruction(), c.B * c.d, "reconstruction " + tag);
                    assertClose(xhRef, xh, FP32 * cfg.tolerance(), "reconstruction " + tag);
                }
            }
        }
    }

    /**
     * A few dense rows among silent ones: the CPU encoder collects each row segment's nonzeros into
     * its share of the sparse storage; here the first segment overflows its share while the batch
     * as a whole fits, so the storage must be rebuilt from the dense latents (and stay correct).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void skewedBatchStaysSparseAndCorrect(TestBackends.Config cfg) {
        Random r = new Random(27);
        try (Backend be = cfg.open()) {
            Case c = new Case(r, 64, 24, 100, -1.9);
            for (int row = 0; row < c.B; row++)
                for (int k = 0; k < c.d; k++) c.x[row * c.d + k] *= row < 5 ? 40f : 0f;
            Reference.Sae ref = c.ref();
            double[] fRef = Reference.encode(ref, c.x, c.B);
            long dense = 0, nnz = 0;
            for (int i = 0; i < fRef.length; i++)
                if (fRef[i] > 0) {
                    nnz++;
                    if (i < 5 * c.m) dense++;
                }
            assertTrue(dense > 150 && nnz < 0.06 * fRef.length, "test setup: " + dense + " of " + nnz + " in 5 rows");
            double[][] g = Reference.gradients(ref, c.x, c.B, c.lambda);
            for (LatentStorage storage : new LatentStorage[] {LatentStorage.AUTO, LatentStorage.SPARSE}) {
                try (Workspace ws = c.workspace(be, storage, true); StepStats stats = new StepStats(be, 3, c.m);
                     FloatBuf params = c.upload(be).all()) {
                    be.encode(SaeTensors.view(params, c.d, c.m), Activation.RELU, ws, c.B, null);
                    be.sync(); // CUDA's AUTO decides from the previous batch's density
                    Object[] out = runBackward(be, c, ws, stats, cfg);
                    assertTrue(ws.sparse(), "sparse path " + storage);
                    assertClose(fRef, written(be, ws.latents(), c.B * c.m, "latents"), FP32 * cfg.tolerance(),
                            "latents " + storage);
                    assertGradients(g, out, cfg, storage.toString());
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void autoStorageTakesTheDensePathForDenseBatches(TestBackends.Config cfg) {
        Random r = new Random(21);
        try (Backend be = cfg.open()) {
            Case c = new Case(r, 40, 16, 64, 5.0); // every latent fires
            SaeTensors p = c.upload(be);
            try (Workspace ws = c.workspace(be, LatentStorage.AUTO, true)) {
                be.encode(p, Activation.RELU, ws, c.B, null);
                be.sync(); // the first batch's density has arrived when the second is encoded
                be.encode(p, Activation.RELU, ws, c.B, null);
                assertFalse(ws.sparse(), "100% density must take the dense path");
                be.decode(p, ws, c.B);
                assertClose(Reference.decode(c.ref(), Reference.encode(c.ref(), c.x, c.B), c.B),
                        written(be, ws.reconstruction(), c.B * c.d, "xhat"), FP32 * cfg.tolerance(), "dense AUTO decode");
            }
        }
    }

    /** {losses[2], gW_encT, gb_enc, gW_dec, gb_dec} of one forward + backward on the backend. */
    static Object[] runBackward(Backend be, Case c, LatentStorage storage, TestBackends.Config cfg) {
        return runBackward(be, c, storage, cfg, Activation.RELU, (float) c.lambda);
    }

    static Object[] runBackward(Backend be, Case c, LatentStorage storage, TestBackends.Config cfg, Activation act, float lambda) {
        try (Workspace ws = c.workspace(be, storage, true); StepStats stats = new StepStats(be, 3, c.m)) {
            Object[] out = runBackward(be, c, ws, stats, cfg, act, lambda);
            if (storage != LatentStorage.AUTO) assertEquals(storage == LatentStorage.SPARSE, ws.sparse(), "path " + storage);
            return out;
        }
    }

    /** As above on a given (training) workspace, with the statistics in slot 2 of stats. */
    static Object[] runBackward(Backend be, Case c, Workspace ws, StepStats stats, TestBackends.Config cfg) {
        return runBackward(be, c, ws, stats, cfg, Activation.RELU, (float) c.lambda);
    }

    static Object[] runBackward(Backend be, Case c, Workspace ws, StepStats stats, TestBackends.Config cfg, Activation act,
                                float lambda) {
        SaeTensors p = c.upload(be);
        long n = SaeTensors.count(c.d, c.m);
        FloatBuf g = guarded(be, n);
        SaeTensors grads = SaeTensors.view(g, c.d, c.m);
        try {
            be.upload(c.x, 0, ws.input(), 0, c.x.length);
            be.fill(stats.lossesBuffer(), SENTINEL);
            be.encode(p, act, ws, c.B, stats.at(2));
            be.decode(p, ws, c.B);
            be.backward(p, act, lambda, grads, ws, c.B, stats.at(2));
            float[] losses = be.download(stats.lossesBuffer());
            int at = 2 * StepStats.LOSSES; // slot 2: [mse, l1] written, aux (backward's business: none) left alone
            for (int i = 0; i < losses.length; i++)
                if (i != at && i != at + 1) assertEquals(SENTINEL, losses[i], "loss " + i + " outside slot 2's [mse, l1] " + cfg);
            float[] all = written(be, g, (int) n, "gradients " + ws.spec().storage() + " " + cfg);
            int m = c.m, d = c.d;
            return new Object[] {Arrays.copyOfRange(losses, at, at + 2), Arrays.copyOfRange(all, 0, m * d),
                    Arrays.copyOfRange(all, m * d, m * d + m), Arrays.copyOfRange(all, m * d + m, 2 * m * d + m),
                    Arrays.copyOfRange(all, 2 * m * d + m, 2 * m * d + m + d)};
        } finally {
            p.all().close();
            g.close();
        }
    }

    /**
     * The trainer's mode: one AUTO workspace shared by SAEs of different widths and densities in
     * turn, each told its own density (as the trainer does from its statistics) or not, so that
     * both paths run, and every gradient matches the reference whichever path was taken.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void oneWorkspaceServesSaesOfDifferentWidthsInTurn(TestBackends.Config cfg) {
        Random r = new Random(24);
        try (Backend be = cfg.open()) {
            Case sparse = new Case(r, 41, 32, 150, -1.9), dense = new Case(r, 41, 32, 60, 1.0);
            System.arraycopy(sparse.x, 0, dense.x, 0, sparse.x.length); // one stream of batches
            try (Workspace ws = be.workspace(WorkspaceSpec.training(45, 32, 150));
                 StepStats ss = new StepStats(be, 3, 150); StepStats ds = new StepStats(be, 3, 60)) {
                for (int round = 0; round < 3; round++) {
                    if (round == 2) { // what the trainer learns when it reads the statistics back
                        ss.density(0.03);
                        ds.density(0.9);
                    }
                    for (Case c : new Case[] {sparse, dense, sparse}) {
                        Object[] out = runBackward(be, c, ws, c == sparse ? ss : ds, cfg);
                        String tag = "m " + c.m + " round " + round + " sparse path " + ws.sparse();
                        if (round == 2) assertEquals(c == sparse, ws.sparse(), "path from the SAE's own density, " + tag);
                        double[][] g = Reference.gradients(c.ref(), c.x, c.B, c.lambda);
                        assertGradients(g, out, cfg, tag);
                        double[] l = Reference.losses(c.ref(), c.x, c.B);
                        assertEquals(l[0], ((float[]) out[0])[0], 1e-5 * cfg.tolerance() * l[0], "mse " + tag);
                    }
                }
            }
        }
    }

    static final String[] TENSORS = {"gW_encT", "gb_enc", "gW_dec", "gb_dec"};

    /** The four gradient tensors of a {@link #runBackward} result against the reference's. */
    static void assertGradients(double[][] ref, Object[] out, TestBackends.Config cfg, String tag) {
        for (int t = 0; t < 4; t++)
            assertClose(ref[t], (float[]) out[t + 1], 1e-4 * cfg.tolerance(), TENSORS[t] + " " + tag);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void backwardMatchesReferenceOnBothPaths(TestBackends.Config cfg) {
        Random r = new Random(15);
        try (Backend be = cfg.open()) {
            Case c = new Case(r, 41, 48, 136, -0.6);
            double[] refLoss = Reference.losses(c.ref(), c.x, c.B);
            double[][] g = Reference.gradients(c.ref(), c.x, c.B, c.lambda);
            for (LatentStorage storage : LatentStorage.values()) {
                Object[] out = runBackward(be, c, storage, cfg);
                float[] l = (float[]) out[0];
                assertEquals(refLoss[0], l[0], 1e-5 * cfg.tolerance() * refLoss[0], "mse " + storage);
                assertEquals(refLoss[1], l[1], 1e-5 * cfg.tolerance() * refLoss[1], "l1 " + storage);
                assertGradients(g, out, cfg, storage.toString());
            }
        }
    }

    /** Central differences of the double-precision loss against the backend's analytic gradient. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void backwardMatchesFiniteDifferences(TestBackends.Config cfg) {
        Random r = new Random(16);
        try (Backend be = cfg.open()) {
            Case c = new Case(r, 19, 24, 40, -0.6);
            float[][] params = {c.wEncT, c.bEnc, c.wDec, c.bDec};
            double h = 1e-4;
            for (LatentStorage storage : new LatentStorage[] {LatentStorage.DENSE, LatentStorage.SPARSE}) {
                Object[] out = runBackward(be, c, storage, cfg);
                for (int t = 0; t < 4; t++) {
                    float[] p = params[t], grad = (float[]) out[t + 1];
                    double scale = 0;
                    for (float v : grad) scale = Math.max(scale, Math.abs(v));
                    for (int trial = 0; trial < 12; trial++) {
                        int i = r.nextInt(p.length);
                        // perturb in double through the reference (float storage would swamp h)
                        double fd = (lossWith(c, t, i, p[i] + h) - lossWith(c, t, i, p[i] - h)) / (2 * h);
                        // relative to the entry itself, with a floor of 1e-3 of the tensor's largest entry,
                        // and never looser than the earlier bound 2e-3 max(1, |fd|)
                        double tol = Math.min(1e-2 * Math.max(Math.abs(fd), 1e-1 * scale),
                                2e-3 * Math.max(1, Math.abs(fd)));
                        assertEquals(fd, grad[i], tol, TENSORS[t] + "[" + i + "] " + storage);
                    }
                }
            }
        }
    }

    private static double lossWith(Case c, int tensor, int index, double value) {
        return Reference.loss(with(c, tensor, index, value), c.x, c.B, c.lambda);
    }

    /**
     * TopK's gradient (no penalty) against the reference's and against central differences, on both
     * paths; k is well below the latents that would fire under ReLU, so the selection matters. A
     * trial whose perturbation changes some row's selection moves on to another entry.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void topKBackwardMatchesReferenceAndFiniteDifferences(TestBackends.Config cfg) {
        Random r = new Random(17);
        try (Backend be = cfg.open()) {
            assumeTrue(be.supports(Activation.Kind.TOPK), "the " + be.name() + " backend has no TopK encoder yet");
            int k = 5;
            Case c = new Case(r, 23, 24, 48, 0.3);
            double[] f = Reference.encode(c.ref(), c.x, c.B);
            int relu = 0;
            for (double v : f) if (v > 0) relu++;
            assertTrue(relu > 3 * k * c.B, "ReLU would keep " + relu + " latents: TopK must cut");
            double[][] g = Reference.gradients(c.ref(), c.x, c.B, 0, k);
            double mse = Reference.losses(c.ref(), c.x, c.B, k)[0];
            float[][] params = {c.wEncT, c.bEnc, c.wDec, c.bDec};
            double h = 1e-4;
            for (LatentStorage storage : new LatentStorage[] {LatentStorage.DENSE, LatentStorage.SPARSE}) {
                Object[] out = runBackward(be, c, storage, cfg, Activation.topK(k), 0f);
                assertEquals(mse, ((float[]) out[0])[0], 1e-5 * cfg.tolerance() * mse, "topk mse " + storage);
                assertGradients(g, out, cfg, "topk " + storage);
                for (int t = 0; t < 4; t++) {
                    float[] p = params[t], grad = (float[]) out[t + 1];
                    double scale = 0;
                    for (float v : grad) scale = Math.max(scale, Math.abs(v));
                    for (int trial = 0, tried = 0; trial < 12 && tried < 200; tried++) {
                        int i = r.nextInt(p.length);
                        Reference.Sae up = with(c, t, i, p[i] + h), down = with(c, t, i, p[i] - h);
                        if (!Arrays.equals(support(Reference.encode(up, c.x, c.B, k)), support(Reference.encode(down, c.x, c.B, k))))
                            continue;
                        double fd = (Reference.loss(up, c.x, c.B, 0, k) - Reference.loss(down, c.x, c.B, 0, k)) / (2 * h);
                        double tol = Math.min(1e-2 * Math.max(Math.abs(fd), 1e-1 * scale), 2e-3 * Math.max(1, Math.abs(fd)));
                        assertEquals(fd, grad[i], tol, "topk " + TENSORS[t] + "[" + i + "] " + storage);
                        trial++;
                    }
                }
            }
            try (Workspace ws = c.workspace(be, LatentStorage.AUTO, true); StepStats stats = new StepStats(be, 3, c.m)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> runBackward(be, c, ws, stats, cfg, Activation.topK(k), 0.5f));
                assertTrue(e.getMessage().contains("topk has no L1 penalty"), e.getMessage());
            }
        }
    }

    /** Where f > 0: which latents a TopK selection (or AuxK's) kept. */
    static boolean[] support(double[] f) {
        boolean[] s = new boolean[f.length];
        for (int i = 0; i < f.length; i++) s[i] = f[i] > 0;
        return s;
    }

    /** The case's reference SAE with one parameter set in double. */
    static Reference.Sae with(Case c, int tensor, int index, double value) {
        Reference.Sae s = c.ref();
        (switch (tensor) {
            case 0 -> s.wEncT();
            case 1 -> s.bEnc();
            case 2 -> s.wDec();
            default -> s.bDec();
        })[index] = value;
        return s;
    }

    /**
     * TopK training's decoder constraint: the radial part of W_dec's gradient removed, then the rows
     * rescaled to unit norm; a zero row stays as it is, and nothing outside W_dec changes.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void decoderUnitNormKernels(TestBackends.Config cfg) {
        Random r = new Random(18);
        try (Backend be = cfg.open()) {
            assumeTrue(be.supports(Activation.Kind.TOPK), "the " + be.name() + " backend trains no TopK SAEs yet");
            int d = 37, m = 29;
            long n = SaeTensors.count(d, m);
            float[] p = randn(r, (int) n, 0.7), gr = randn(r, (int) n, 1.3);
            for (int k = 0; k < d; k++) p[m * d + m + 4 * d + k] = 0; // W_dec row 4 is zero
            FloatBuf pb = guarded(be, n), gb = guarded(be, n);
            be.upload(p, 0, pb, 0, p.length);
            be.upload(gr, 0, gb, 0, gr.length);
            SaeTensors params = SaeTensors.view(pb, d, m), grads = SaeTensors.view(gb, d, m);
            try {
                be.removeDecoderRadial(params, grads);
                float[] g2 = written(be, gb, (int) n, "gradients"), p1 = written(be, pb, (int) n, "params");
                be.normalizeDecoder(params);
                float[] p2 = written(be, pb, (int) n, "normalised params");
                int dec = m * d + m;
                double[] wantG = new double[m * d], wantP = new double[m * d];
                for (int i = 0; i < m; i++) {
                    double ww = 0, gw = 0;
                    for (int k = 0; k < d; k++) {
                        double w = p[dec + i * d + k];
                        ww += w * w;
                        gw += w * gr[dec + i * d + k];
                    }
                    for (int k = 0; k < d; k++) {
                        double w = p[dec + i * d + k];
                        wantG[i * d + k] = ww > 0 ? gr[dec + i * d + k] - gw / ww * w : gr[dec + i * d + k];
                        wantP[i * d + k] = ww > 0 ? w / Math.sqrt(ww) : 0;
                    }
                }
                assertClose(wantG, Arrays.copyOfRange(g2, dec, dec + m * d), FP32 * cfg.tolerance(), "W_dec gradient");
                assertClose(wantP, Arrays.copyOfRange(p2, dec, dec + m * d), FP32 * cfg.tolerance(), "W_dec normalised");
                for (int i = 0; i < (int) n; i++)
                    if (i < dec || i >= dec + m * d) {
                        assertEquals(gr[i], g2[i], "gradient outside W_dec, at " + i);
                        assertEquals(p[i], p2[i], "parameter outside W_dec, at " + i);
                    }
                assertArrayEquals(p, p1, "removing the radial part leaves the parameters");
            } finally {
                pb.close();
                gb.close();
            }
        }
    }

    /** Sizes of 1 everywhere, on both paths: nothing may assume a full vector, tile or block. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void backwardHandlesUnitSizes(TestBackends.Config cfg) {
        Random r = new Random(19);
        try (Backend be = cfg.open()) {
            for (int[] shape : new int[][] {{1, 1, 1}, {1, 5, 3}, {7, 1, 1}, {3, 2, 1}}) {
                Case c = new Case(r, shape[0], shape[1], shape[2], -0.6);
                c.bEnc[0] = 2.5f; // keep at least one latent alive
                double[][] g = Reference.gradients(c.ref(), c.x, c.B, c.lambda);
                for (LatentStorage storage : new LatentStorage[] {LatentStorage.DENSE, LatentStorage.SPARSE}) {
                    Object[] out = runBackward(be, c, storage, cfg);
                    assertGradients(g, out, cfg, "shape " + Arrays.toString(shape) + " " + storage);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void sumOfSquaredDeviations(TestBackends.Config cfg) {
        Random r = new Random(23);
        try (Backend be = cfg.open()) {
            int B = 45, d = 37;
            float[] x = randn(r, B * d, 2);
            for (int i = 0; i < B; i++) x[i * d + 3] = 1e4f; // a constant column: deviations exactly 0
            double[] mean = new double[d];
            for (int i = 0; i < B * d; i++) mean[i % d] += x[i] / (double) B;
            double ref = 0;
            for (int i = 0; i < B * d; i++) ref += (x[i] - mean[i % d]) * (x[i] - mean[i % d]);
            try (Workspace ws = be.workspace(WorkspaceSpec.inference(B + 2, d, 3)); FloatBuf out = guarded(be, 3)) {
                be.upload(x, 0, ws.input(), 0, x.length);
                be.sumSquaredDeviation(ws, B, out, 1);
                float[] got = be.download(out);
                assertEquals(ref, got[1], 1e-5 * ref, "sum of squared deviations");
                assertEquals(SENTINEL, got[0]);
                assertEquals(SENTINEL, got[2]);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void adamStepMatchesReference(TestBackends.Config cfg) {
        Random r = new Random(17);
        try (Backend be = cfg.open()) {
            int n = 100_003;
            float[] p = randn(r, n, 1), g = randn(r, n, 1), m1 = randn(r, n, 0.1), m2 = new float[n];
            for (int i = 0; i < n; i++) m2[i] = (float) Math.abs(r.nextGaussian() * 0.01);
            FloatBuf P = guarded(be, n), G = be.upload(g), M1 = guarded(be, n), M2 = guarded(be, n);
            be.upload(p, 0, P, 0, n);
            be.upload(m1, 0, M1, 0, n);
            be.upload(m2, 0, M2, 0, n);
            float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
            int t = 7;
            be.adamStep(P.slice(0, n), G, new AdamState(M1.slice(0, n), M2.slice(0, n)), new AdamStep(lr, b1, b2, eps, t));
            double[] pr = new double[n], m1r = new double[n], m2r = new double[n];
            for (int i = 0; i < n; i++) {
                m1r[i] = b1 * (double) m1[i] + (1 - (double) b1) * g[i];
                m2r[i] = b2 * (double) m2[i] + (1 - (double) b2) * g[i] * (double) g[i];
                double mh = m1r[i] / (1 - Math.pow(b1, t)), vh = m2r[i] / (1 - Math.pow(b2, t));
                pr[i] = p[i] - lr * mh / (Math.sqrt(vh) + eps);
            }
            assertClose(m1r, written(be, M1, n, "adam m1"), 1e-6, "adam m1");
            assertClose(m2r, written(be, M2, n, "adam m2"), 1e-6, "adam m2");
            float[] got = written(be, P, n, "adam params");
            double[] dp = new double[n];
            float[] gotDelta = new float[n];
            for (int i = 0; i < n; i++) {
                dp[i] = pr[i] - p[i];
                gotDelta[i] = got[i] - p[i];
            }
            assertClose(dp, gotDelta, 1e-3, "adam update"); // the update is ~lr, p ~1: float spacing
            assertClose(pr, got, 1e-6, "adam params");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void cosineMaxAndBlocksMatchReferenceInAllLayouts(TestBackends.Config cfg) {
        Random r = new Random(18);
        try (Backend be = cfg.open()) {
            // 700 rows cross the CPU's 512-row block and several GPU tiles
            int n1 = 700, n2 = 333, d = 40;
            for (boolean aCols : new boolean[] {false, true})
                for (boolean bCols : new boolean[] {false, true})
                    for (boolean center : new boolean[] {false, true}) {
                        float[] a = randn(r, n1 * d, 1), b = randn(r, n2 * d, 1);
                        if (!aCols) Arrays.fill(a, 5 * d, 6 * d, 0f); // a zero (and constant) vector
                        double[][] c = Reference.cosines(a, n1, aCols, b, n2, bCols, d, center);
                        String tag = cfg + " aCols=" + aCols + " bCols=" + bCols + " center=" + center;
                        VectorSet A = new VectorSet(be.upload(a), n1, d, aCols), B = new VectorSet(be.upload(b), n2, d, bCols);
                        CosineMax got = maxima(be, A, B, center, tag);
                        double[] rowRef = new double[n1], colRef = new double[n2];
                        Arrays.fill(rowRef, Double.NEGATIVE_INFINITY);
                        Arrays.fill(colRef, Double.NEGATIVE_INFINITY);
                        for (int i = 0; i < n1; i++)
                            for (int j = 0; j < n2; j++) {
                                if (Double.isNaN(c[i][j])) continue; // constant vector when centring
                                rowRef[i] = Math.max(rowRef[i], c[i][j]);
                                colRef[j] = Math.max(colRef[j], c[i][j]);
                            }
                        double tol = 1e-5 * cfg.tolerance();
                        assertClose(rowRef, got.rowMax(), tol, "row max " + tag);
                        assertClose(colRef, got.colMax(), tol, "col max " + tag);
                        for (int i = 0; i < n1; i++)
                            if (rowRef[i] == Double.NEGATIVE_INFINITY) assertEquals(-1, got.rowArg()[i], "excluded row " + i + tag);
                            else assertEquals(rowRef[i], c[i][got.rowArg()[i]], 2 * tol, "row arg " + i + tag);
                        for (int j = 0; j < n2; j++)
                            assertEquals(colRef[j], c[got.colArg()[j]][j], 2 * tol, "col arg " + j + tag);
                        if (center && !aCols) assertEquals(-1, got.rowArg()[5], "a constant vector matches nothing when centring");
                        for (int[] rows : new int[][] {{0, n1}, {250, 350}}) { // the whole matrix, and a block
                            int i0 = rows[0], k = rows[1] - rows[0];
                            try (FloatBuf block = guarded(be, (long) k * n2)) {
                                be.cosineBlock(A, B, center, i0, i0 + k, block);
                                double[] ref = new double[k * n2];
                                for (int i = 0; i < k; i++)
                                    for (int j = 0; j < n2; j++) ref[i * n2 + j] = c[i0 + i][j];
                                assertClose(ref, written(be, block, k * n2, "cosine block"), tol,
                                        "cosine rows " + i0 + ".." + (i0 + k) + tag);
                            }
                        }
                        A.data().close();
                        B.data().close();
                    }
        }
    }

    /** cosineMax into outputs with guards (the result arrays are longer than n1, n2). */
    static CosineMax maxima(Backend be, VectorSet a, VectorSet b, boolean center, String tag) {
        int n1 = (int) a.count(), n2 = (int) b.count();
        try (CosineMaxima out = new CosineMaxima(be, n1 + GUARD, n2 + GUARD)) {
            be.fill(out.rowMax(), SENTINEL);
            be.fill(out.colMax(), SENTINEL);
            be.fill(out.rowArg(), -77);
            be.fill(out.colArg(), -77);
            be.cosineMax(a, b, center, out);
            CosineMax all = out.toHost();
            for (int i = 0; i < GUARD; i++) {
                assertEquals(SENTINEL, all.rowMax()[n1 + i], "row max guard " + tag);
                assertEquals(SENTINEL, all.colMax()[n2 + i], "col max guard " + tag);
                assertEquals(-77, all.rowArg()[n1 + i], "row arg guard " + tag);
                assertEquals(-77, all.colArg()[n2 + i], "col arg guard " + tag);
            }
            return new CosineMax(Arrays.copyOf(all.rowMax(), n1), Arrays.copyOf(all.rowArg(), n1),
                    Arrays.copyOf(all.colMax(), n2), Arrays.copyOf(all.colArg(), n2));
        }
    }

    /** Column blocks and GPU tiles: j beyond 4096, with a tie across blocks resolved to the first. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void cosineMaxAcrossColumnBlocks(TestBackends.Config cfg) {
        Random r = new Random(20);
        try (Backend be = cfg.open()) {
            int n1 = 37, n2 = 4100, d = 8;
            float[] a = randn(r, n1 * d, 1), b = randn(r, n2 * d, 1);
            System.arraycopy(a, 3 * d, b, 5 * d, d);      // a_3 == b_5 == b_4097: row 3's best, twice
            System.arraycopy(a, 3 * d, b, 4097 * d, d);
            System.arraycopy(a, 11 * d, b, 4099 * d, d);  // a_11 == b_4099, only in the second block
            CosineMax got = maxima(be, VectorSet.rows(be.upload(a), n1, d), VectorSet.rows(be.upload(b), n2, d), false, "blocks");
            double[][] c = Reference.cosines(a, n1, false, b, n2, false, d, false);
            assertEquals(5, got.rowArg()[3], "tie across column blocks keeps the smaller j");
            assertEquals(4099, got.rowArg()[11]);
            for (int j = 0; j < n2; j++) {
                double best = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < n1; i++) best = Math.max(best, c[i][j]);
                assertEquals(best, got.colMax()[j], 1e-5 * cfg.tolerance(), "col max " + j);
            }
            assertEquals(3, got.colArg()[4097]);
        }
    }

    /**
     * Wide vectors, so that the CPU's fused kernel splits the columns into several groups (one per
     * thread and more): the threads' row maxima are merged, a tie across groups going to the first.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void cosineMaxAcrossColumnGroups(TestBackends.Config cfg) {
        Random r = new Random(26);
        try (Backend be = cfg.open()) {
            int n1 = 45, n2 = 611, d = 1024;
            float[] a = randn(r, n1 * d, 1), b = randn(r, n2 * d, 1);
            System.arraycopy(a, 3 * d, b, 100 * d, d);  // a_3 == b_100 == b_500 (other threads' groups)
            System.arraycopy(a, 3 * d, b, 500 * d, d);
            System.arraycopy(a, 7 * d, b, 130 * d, d);  // a_7 == b_130 and a_44 == b_130: column 130 to row 7
            System.arraycopy(a, 7 * d, a, 44 * d, d);
            CosineMax got = maxima(be, VectorSet.rows(be.upload(a), n1, d), VectorSet.rows(be.upload(b), n2, d), false, "groups");
            double[][] c = Reference.cosines(a, n1, false, b, n2, false, d, false);
            assertEquals(100, got.rowArg()[3], "tie across column groups keeps the smaller j");
            assertEquals(130, got.rowArg()[7]);
            assertEquals(7, got.colArg()[130], "tie across rows keeps the smaller i");
            double tol = 1e-5 * cfg.tolerance();
            for (int i = 0; i < n1; i++) {
                double best = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n2; j++) best = Math.max(best, c[i][j]);
                assertEquals(best, got.rowMax()[i], tol, "row max " + i);
                assertEquals(best, c[i][got.rowArg()[i]], 2 * tol, "row arg " + i);
            }
            for (int j = 0; j < n2; j++) {
                double best = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < n1; i++) best = Math.max(best, c[i][j]);
                assertEquals(best, got.colMax()[j], tol, "col max " + j);
                assertEquals(best, c[got.colArg()[j]][j], 2 * tol, "col arg " + j);
            }
        }
    }

    /**
     * Correlations over many tokens: a float dot product of float unit vectors over d = 60000
     * drifts by ~sqrt(d) ulps (1.0000011 was reported for equal vectors); the maxima must be the
     * pairs' cosines to ~1e-7 and never leave [-1, 1].
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void correlationMaximaStayWithinOne(TestBackends.Config cfg) {
        Random r = new Random(28);
        try (Backend be = cfg.open()) {
            int tokens = 60000, features = 24;
            float[] acts = new float[tokens * features]; // (tokens, features): features are columns
            for (int t = 0; t < tokens; t++)
                for (int f = 0; f < features; f++) acts[t * features + f] = (float) (3 + r.nextGaussian());
            VectorSet a = VectorSet.columns(be.upload(acts), features, tokens);
            CosineMax got = maxima(be, a, a, true, "self-correlation");
            for (int f = 0; f < features; f++) {
                assertEquals(f, got.rowArg()[f], "feature " + f + " is its own best match");
                assertTrue(got.rowMax()[f] <= 1f && got.colMax()[f] <= 1f,
                        "correlation above 1: " + got.rowMax()[f] + ", " + got.colMax()[f]);
                assertEquals(1.0, got.rowMax()[f], 2e-7, "self-correlation of feature " + f);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void cosineMaxBreaksTiesToSmallestIndex(TestBackends.Config cfg) {
        try (Backend be = cfg.open()) {
            float[] a = {1, 0, 0, 1, 1, 0};          // rows: e0, e1, e0
            float[] b = {0, 2, 3, 0, 5, 0};          // rows: e1, e0, e0 (scaled)
            CosineMax c = maxima(be, VectorSet.rows(be.upload(a), 3, 2), VectorSet.rows(be.upload(b), 3, 2), false, "ties");
            assertArrayEquals(new int[] {1, 0, 1}, c.rowArg());
            assertArrayEquals(new int[] {1, 0, 0}, c.colArg());
        }
    }

    /**
     * Top-k lists of rows and columns: each entry is the cosine it names, lists are ordered by the
     * key, nothing left out ranks above a list's last entry, exact ties (a zero vector) go to the
     * smallest indices; both layouts, signed and absolute ranking, poisoned outputs.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void cosineTopKListsMatchReference(TestBackends.Config cfg) {
        Random r = new Random(30);
        try (Backend be = cfg.open()) {
            int n1 = 300, n2 = 1100, d = 24;
            for (boolean absolute : new boolean[] {false, true})
                for (boolean columns : new boolean[] {false, true}) {
                    float[] a = randn(r, n1 * d, 1), b = randn(r, n2 * d, 1);
                    if (!columns) Arrays.fill(a, 2 * d, 3 * d, 0f); // row 2: every cosine 0
                    double[][] c = Reference.cosines(a, n1, columns, b, n2, false, d, false);
                    String tag = cfg + " absolute=" + absolute + " aCols=" + columns;
                    int kRow = 9, kCol = 5;
                    try (FloatBuf ab = be.upload(a); FloatBuf bb = be.upload(b);
                            CosineTopK out = new CosineTopK(be, n1, n2, kRow, kCol)) {
                        be.fill(out.rowVal(), Float.NaN);
                        be.fill(out.colVal(), Float.NaN);
                        be.fill(out.rowIdx(), -77);
                        be.fill(out.colIdx(), -77);
                        be.cosineTopK(new VectorSet(ab, n1, d, columns), VectorSet.rows(bb, n2, d), absolute, out);
                        CosineTopK.Lists got = out.toHost();
                        double tol = 1e-5 * cfg.tolerance();
                        checkLists(n1, n2, kRow, got.rowVal(), got.rowIdx(), (i, j) -> c[i][j], absolute, tol, "rows " + tag);
                        checkLists(n2, n1, kCol, got.colVal(), got.colIdx(), (j, i) -> c[i][j], absolute, tol, "cols " + tag);
                        if (!columns)
                            for (int q = 0; q < kRow; q++) assertEquals(q, got.rowIdx()[2 * kRow + q], "zero row ties " + tag);
                    }
                }
        }
    }

    private static void checkLists(int n, int other, int k, float[] val, int[] idx, Entry entry, boolean absolute,
            double tol, String tag) {
        for (int v = 0; v < n; v++) {
            boolean[] listed = new boolean[other];
            for (int q = 0; q < k; q++) {
                int o = idx[v * k + q];
                assertTrue(o >= 0 && o < other && !listed[o], tag + ": list " + v + " entry " + q + " index " + o);
                listed[o] = true;
                assertEquals(entry.at(v, o), val[v * k + q], tol, tag + ": value of list " + v + " entry " + q);
                if (q > 0) assertTrue(key(val[v * k + q], absolute) <= key(val[v * k + q - 1], absolute), tag + ": order " + v);
            }
            double last = key(val[v * k + k - 1], absolute);
            for (int o = 0; o < other; o++)
                if (!listed[o])
                    assertTrue(key(entry.at(v, o), absolute) <= last + tol, tag + ": list " + v + " left out " + o);
        }
    }

    private interface Entry {
        double at(int v, int o);
    }

    private static double key(double x, boolean absolute) {
        return absolute ? Math.abs(x) : x;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void misuseIsRefusedBeforeNativeCode(TestBackends.Config cfg) {
        Random r = new Random(22);
        try (Backend be = cfg.open()) {
            Case c = new Case(r, 8, 6, 64, 0);
            SaeTensors p = c.upload(be);
            try (Workspace ws = c.workspace(be, LatentStorage.AUTO, false)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.decode(p, ws, c.B));
                assertTrue(e.getMessage().contains("no encoded batch"), e.getMessage());
                be.encode(p, Activation.RELU, ws, c.B, null);
                SaeTensors smaller = SaeTensors.allocate(be, c.d, 32);
                e = assertThrows(IllegalArgumentException.class, () -> be.decode(smaller, ws, c.B));
                assertTrue(e.getMessage().contains("encoded for (8, 64)"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> be.backward(p, Activation.RELU, 0.1f,
                        SaeTensors.allocate(be, c.d, c.m), ws, c.B, null));
                assertTrue(e.getMessage().contains("not made for training"), e.getMessage());
                try (Workspace training = c.workspace(be, LatentStorage.AUTO, true)) {
                    be.encode(p, Activation.RELU, training, c.B, null);
                    e = assertThrows(IllegalArgumentException.class, () -> be.backward(p, Activation.RELU, 0.1f,
                            SaeTensors.allocate(be, c.d, c.m), training, c.B, null));
                    assertTrue(e.getMessage().contains("not decoded"), e.getMessage());
                }
                e = assertThrows(IllegalArgumentException.class, () -> be.encode(p, Activation.RELU, ws, c.B + 4, null));
                assertTrue(e.getMessage().contains("rows must be in 1.." + (c.B + 3)), e.getMessage());
                e = assertThrows(IllegalArgumentException.class,
                        () -> be.encode(SaeTensors.allocate(be, c.d + 1, 4), Activation.RELU, ws, c.B, null));
                assertTrue(e.getMessage().contains("d_in 7 != workspace width 6"), e.getMessage());
            }
            FloatBuf small = be.allocate(10);
            e(() -> be.gemm(1, Matrix.of(small, 4, 4), Matrix.of(small, 4, 1), 0, Matrix.of(small, 4, 1)), "gemm a");
            e(() -> be.gemm(1, Matrix.of(small, 2, 3), Matrix.of(small, 2, 1), 0, Matrix.of(small, 2, 1)), "op(b) is (2, 1)");
            e(() -> be.adamStep(small, be.allocate(4), new AdamState(small, small), new AdamStep(1, 0.9f, 0.9f, 1e-8f, 1)),
                    "adam grads");
            small.close();
            e(() -> be.download(small), "buffer was closed");
            for (Activation act : List.of(Activation.topK(4), Activation.batchTopK(4))) {
                if (be.supports(act.kind())) continue;
                try (Workspace ws = c.workspace(be, LatentStorage.AUTO, false)) {
                    UnsupportedOperationException u = assertThrows(UnsupportedOperationException.class,
                            () -> be.encode(p, act, ws, c.B, null));
                    assertTrue(u.getMessage().contains(act.kind().name().toLowerCase(java.util.Locale.ROOT)), u.getMessage());
                }
            }
        }
    }

    private static void e(org.junit.jupiter.api.function.Executable call, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }
}
