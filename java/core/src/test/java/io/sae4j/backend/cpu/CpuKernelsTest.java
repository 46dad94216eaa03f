package io.sae4j.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.backend.CosineMax;
import io.sae4j.backend.Csr;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.Losses;
import io.sae4j.backend.NonFiniteInputException;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every CPU kernel against its double-precision reference ({@link Reference}), once per instruction
 * set this CPU supports, on fresh random inputs with odd sizes; outputs are poisoned with NaN first
 * so an element the kernel fails to write fails the test.
 */
class CpuKernelsTest {
    static final double FP32 = 2e-5;

    static IntStream isas() {
        return IntStream.of(NativeCpu.ISA_PORTABLE, NativeCpu.ISA_AVX2, NativeCpu.ISA_AVX512)
                .filter(CpuBackend::supports);
    }

    static float[] randn(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    static FloatBuf poisoned(CpuBackend be, int n) {
        float[] nan = new float[n];
        Arrays.fill(nan, Float.NaN);
        return be.upload(nan);
    }

    /** max |got - ref| <= rtol * max |ref| (plus a tiny absolute floor for all-small references). */
    static void assertClose(double[] ref, float[] got, double rtol, String what) {
        assertEquals(ref.length, got.length, what + ": length");
        double scale = 1e-30, worst = 0;
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

    @ParameterizedTest
    @MethodSource("isas")
    void gemmAllTranspositions(int isa) {
        Random r = new Random(11);
        try (CpuBackend be = new CpuBackend(2, isa)) {
            int M = 37, N = 53, K = 48;
            for (boolean ta : new boolean[] {false, true})
                for (boolean tb : new boolean[] {false, true}) {
                    float[] a = randn(r, M * K, 1), b = randn(r, K * N, 1), c0 = randn(r, M * N, 1);
                    FloatBuf A = be.upload(a), B = be.upload(b), C = be.upload(c0);
                    be.gemm(ta, tb, M, N, K, 0.5f, A, ta ? M : K, B, tb ? K : N, 2f, C, N);
                    double[] ref = Reference.gemm(ta, tb, M, N, K, a, b);
                    for (int i = 0; i < ref.length; i++) ref[i] = 0.5 * ref[i] + 2 * c0[i];
                    assertClose(ref, be.download(C), FP32, "gemm ta=" + ta + " tb=" + tb);
                }
        }
    }

    @ParameterizedTest
    @MethodSource("isas")
    void centerRowsAndNonFinite(int isa) {
        Random r = new Random(12);
        try (CpuBackend be = new CpuBackend(2, isa)) {
            int B = 29, d = 67;
            float[] x = randn(r, B * d, 3), b = randn(r, d, 1);
            FloatBuf X = be.upload(x), Bv = be.upload(b), out = poisoned(be, B * d);
            be.centerRows(B, d, X, Bv, out, "acts");
            double[] ref = new double[B * d];
            for (int i = 0; i < ref.length; i++) ref[i] = (double) x[i] - b[i % d];
            assertClose(ref, be.download(out), 1e-7, "center");

            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float[] y = x.clone();
                y[20 * d + 5] = bad;
                y[25 * d + 1] = bad;
                FloatBuf Y = be.upload(y);
                NonFiniteInputException e = assertThrows(NonFiniteInputException.class,
                        () -> be.centerRows(B, d, Y, Bv, out, "acts.npy rows 0..29"));
                assertEquals(20, e.row());
                assertEquals(5, e.column());
                assertTrue(e.getMessage().contains("acts.npy"), e.getMessage());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("isas")
    void rowNorms(int isa) {
        Random r = new Random(13);
        try (CpuBackend be = new CpuBackend(2, isa)) {
            int rows = 71, cols = 130;
            float[] a = randn(r, rows * cols, 2);
            FloatBuf out = poisoned(be, rows);
            be.rowNorms(rows, cols, be.upload(a), out);
            assertClose(Reference.rowNorms(Reference.toDouble(a), rows, cols), be.download(out), 1e-6, "norms");
        }
    }

    @ParameterizedTest
    @MethodSource("isas")
    void reluEpilogueAndDecodeBothPaths(int isa) {
        Random r = new Random(14);
        try (CpuBackend be = new CpuBackend(2, isa)) {
            int B = 33, m = 150, d = 48;
            float[] pre = randn(r, B * m, 1), bEnc = randn(r, m, 1);
            for (int i = 0; i < m; i++) bEnc[i] -= 1.5f; // about 10% of latents fire
            float[] wDec = randn(r, m * d, 1), bDec = randn(r, d, 1);
            FloatBuf Pre = be.upload(pre), F = poisoned(be, B * m), Wd = be.upload(wDec), Bd = be.upload(bDec);
            double[] fRef = new double[B * m];
            long nnzRef = 0;
            for (int i = 0; i < B * m; i++) {
                fRef[i] = Math.max(0, (double) pre[i] + bEnc[i % m]);
                if (fRef[i] > 0) nnzRef++;
            }
            try (Csr small = be.allocateCsr(B, 5, 1.0); Csr big = be.allocateCsr(B, B * m, 1.0)) {
                assertEquals(nnzRef, be.reluEpilogue(B, m, Pre, be.upload(bEnc), F, small));
                assertFalse(small.valid(), "nnz above capacity must not claim a valid CSR");
                assertClose(fRef, be.download(F), 1e-7, "relu");
                FloatBuf F2 = poisoned(be, B * m);
                assertEquals(nnzRef, be.reluEpilogue(B, m, Pre, be.upload(bEnc), F2, big));
                assertTrue(big.valid());

                Reference.Sae s = new Reference.Sae(d, m, null, null, Reference.toDouble(wDec),
                        Reference.toDouble(bDec));
                double[] xhRef = Reference.decode(s, fRef, B);
                FloatBuf dense = poisoned(be, B * d), sparse = poisoned(be, B * d);
                be.decode(B, m, d, F, null, Wd, Bd, dense);
                be.decode(B, m, d, F2, big, Wd, Bd, sparse);
                assertClose(xhRef, be.download(dense), FP32, "decode dense");
                assertClose(xhRef, be.download(sparse), FP32, "decode sparse");
            }
        }
    }

    /** Builds a random SAE whose latents are sparse-ish, runs forward + backward on the backend. */
    static final class Case {
        final int B, d, m;
        final float[] x, wEncT, bEnc, wDec, bDec;
        final double lambda = 0.7;

        Case(Random r, int B, int d, int m) {
            this.B = B;
            this.d = d;
            this.m = m;
            x = randn(r, B * d, 1);
            wEncT = randn(r, m * d, 1 / Math.sqrt(d));
            bEnc = randn(r, m, 0.2);
            for (int i = 0; i < m; i++) bEnc[i] -= 0.6f;
            wDec = randn(r, m * d, 1 / Math.sqrt(d));
            bDec = randn(r, d, 0.1);
        }

        Reference.Sae ref() {
            return new Reference.Sae(d, m, Reference.toDouble(wEncT), Reference.toDouble(bEnc),
                    Reference.toDouble(wDec), Reference.toDouble(bDec));
        }

        /** {losses..., gW_encT, gb_enc, gW_dec, gb_dec} from the backend. */
        Object[] run(CpuBackend be, boolean sparse) {
            FloatBuf X = be.upload(x), We = be.upload(wEncT), Be = be.upload(bEnc), Wd = be.upload(wDec),
                    Bd = be.upload(bDec), Xc = poisoned(be, B * d), Pre = poisoned(be, B * m),
                    Xh = poisoned(be, B * d), N = poisoned(be, m), gWe = poisoned(be, m * d), gBe = poisoned(be, m),
                    gWd = poisoned(be, m * d), gBd = poisoned(be, d), err = poisoned(be, B * d),
                    dpre = poisoned(be, B * m);
            try (Csr csr = be.allocateCsr(B, sparse ? (long) B * m : 0, 1.0)) {
                be.centerRows(B, d, X, Bd, Xc, "x");
                be.gemm(false, true, B, m, d, 1f, Xc, d, We, d, 0f, Pre, m);
                be.reluEpilogue(B, m, Pre, Be, Pre, csr);
                assertEquals(sparse, csr.valid());
                be.decode(B, m, d, Pre, csr, Wd, Bd, Xh);
                be.rowNorms(m, d, Wd, N);
                Losses l = be.reluL1Backward(B, d, m, X, Xc, Pre, csr, Xh, We, Wd, N, (float) lambda, gWe, gBe, gWd,
                        gBd, err, dpre, poisoned(be, (int) be.reluL1BackwardScratch(B, m)));
                return new Object[] {l, be.download(gWe), be.download(gBe), be.download(gWd), be.download(gBd)};
            }
        }
    }

    @ParameterizedTest
    @MethodSource("isas")
    void backwardMatchesReferenceOnBothPaths(int isa) {
        Random r = new Random(15);
        try (CpuBackend be = new CpuBackend(2, isa)) {
            Case c = new Case(r, 41, 48, 136);
            double[] refLoss = Reference.losses(c.ref(), c.x, c.B);
            double[][] g = Reference.gradients(c.ref(), c.x, c.B, c.lambda);
            String[] names = {"gW_encT", "gb_enc", "gW_dec", "gb_dec"};
            for (boolean sparse : new boolean[] {false, true}) {
                Object[] out = c.run(be, sparse);
                Losses l = (Losses) out[0];
                assertEquals(refLoss[0], l.mse(), 1e-5 * refLoss[0], "mse sparse=" + sparse);
                assertEquals(refLoss[1], l.l1(), 1e-5 * refLoss[1], "l1 sparse=" + sparse);
                for (int t = 0; t < 4; t++) assertClose(g[t], (float[]) out[t + 1], 1e-4, names[t] + " sparse=" + sparse);
            }
        }
    }

    /** Central differences of the double-precision loss against the kernel's analytic gradient. */
    @ParameterizedTest
    @MethodSource("isas")
    void backwardMatchesFiniteDifferences(int isa) {
        Random r = new Random(16);
        try (CpuBackend be = new CpuBackend(2, isa)) {
            Case c = new Case(r, 19, 24, 40);
            float[][] params = {c.wEncT, c.bEnc, c.wDec, c.bDec};
            String[] names = {"W_encT", "b_enc", "W_dec", "b_dec"};
            double h = 1e-3;
            for (int path = 0; path < 8; path++) {
                boolean sparse = path % 2 == 1;
                int t = path / 2;
                Object[] out = c.run(be, sparse);
                float[] p = params[t], grad = (float[]) out[t + 1];
                for (int trial = 0; trial < 12; trial++) {
                    int i = r.nextInt(p.length);
                    float saved = p[i];
                    // perturb in double through the reference (float storage would swamp h)
                    double plus = lossWith(c, t, i, saved + h), minus = lossWith(c, t, i, saved - h);
                    double fd = (plus - minus) / (2 * h);
                    assertEquals(fd, grad[i], 2e-3 * Math.max(1, Math.abs(fd)), names[t] + "[" + i + "] sparse=" + sparse);
                }
            }
        }
    }

    private static double lossWith(Case c, int tensor, int index, double value) {
        Reference.Sae s = c.ref();
        double[] target = switch (tensor) {
            case 0 -> s.wEncT();
            case 1 -> s.bEnc();
            case 2 -> s.wDec();
            default -> s.bDec();
        };
        target[index] = value;
        return Reference.loss(s, c.x, c.B, c.lambda);
    }

    @ParameterizedTest
    @MethodSource("isas")
    void adamStepMatchesReference(int isa) {
        Random r = new Random(17);
        try (CpuBackend be = new CpuBackend(2, isa)) {
            int n = 100_003;
            float[] p = randn(r, n, 1), g = randn(r, n, 1), m1 = randn(r, n, 0.1), m2 = new float[n];
            for (int i = 0; i < n; i++) m2[i] = (float) Math.abs(r.nextGaussian() * 0.01);
            FloatBuf P = be.upload(p), G = be.upload(g), M1 = be.upload(m1), M2 = be.upload(m2);
            float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
            int t = 7;
            be.adamStep(n, P, G, M1, M2, lr, b1, b2, eps, t);
            double[] pr = new double[n], m1r = new double[n], m2r = new double[n];
            for (int i = 0; i < n; i++) {
                m1r[i] = b1 * (double) m1[i] + (1 - (double) b1) * g[i];
                m2r[i] = b2 * (double) m2[i] + (1 - (double) b2) * g[i] * (double) g[i];
                double mh = m1r[i] / (1 - Math.pow(b1, t)), vh = m2r[i] / (1 - Math.pow(b2, t));
                pr[i] = p[i] - lr * mh / (Math.sqrt(vh) + eps);
            }
            assertClose(m1r, be.download(M1), 1e-6, "adam m1");
            assertClose(m2r, be.download(M2), 1e-6, "adam m2");
            double[] dp = new double[n];
            float[] got = be.download(P);
            float[] gotDelta = new float[n];
            for (int i = 0; i < n; i++) {
                dp[i] = pr[i] - p[i];
                gotDelta[i] = got[i] - p[i];
            }
            assertClose(dp, gotDelta, 1e-3, "adam update"); // the update is ~lr, p ~1: float spacing
            assertClose(pr, got, 1e-6, "adam params");
        }
    }

    @ParameterizedTest
    @MethodSource("isas")
    void cosineMaxMatchesReferenceInAllLayouts(int isa) {
        Random r = new Random(18);
        try (CpuBackend be = new CpuBackend(2, isa)) {
            // n1 > BLOCK_ROWS and n2 > BLOCK_COLS would be slow here; 700 rows crosses one row block.
            int n1 = 700, n2 = 333, d = 40;
            for (boolean aCols : new boolean[] {false, true})
                for (boolean bCols : new boolean[] {false, true})
                    for (boolean center : new boolean[] {false, true}) {
                        float[] a = randn(r, n1 * d, 1), b = randn(r, n2 * d, 1);
                        Arrays.fill(a, aCols ? 0 : 5 * d, aCols ? 0 : 6 * d, 0f); // a zero vector (rows layout)
                        double[][] c = Reference.cosines(a, n1, aCols, b, n2, bCols, d, center);
                        CosineMax got = be.cosineMax(n1, n2, d, be.upload(a), aCols, be.upload(b), bCols, center);
                        double[] rowRef = new double[n1], colRef = new double[n2];
                        Arrays.fill(rowRef, Double.NEGATIVE_INFINITY);
                        Arrays.fill(colRef, Double.NEGATIVE_INFINITY);
                        for (int i = 0; i < n1; i++)
                            for (int j = 0; j < n2; j++) {
                                if (Double.isNaN(c[i][j])) continue; // constant vector when centring
                                rowRef[i] = Math.max(rowRef[i], c[i][j]);
                                colRef[j] = Math.max(colRef[j], c[i][j]);
                            }
                        String tag = " aCols=" + aCols + " bCols=" + bCols + " center=" + center;
                        assertClose(rowRef, got.rowMax(), 1e-5, "row max" + tag);
                        assertClose(colRef, got.colMax(), 1e-5, "col max" + tag);
                        for (int i = 0; i < n1; i++)
                            if (rowRef[i] == Double.NEGATIVE_INFINITY) assertEquals(-1, got.rowArg()[i], "excluded row " + i + tag);
                            else assertEquals(rowRef[i], c[i][got.rowArg()[i]], 1e-5, "row arg " + i + tag);
                        for (int j = 0; j < n2; j++)
                            assertEquals(colRef[j], c[got.colArg()[j]][j], 1e-5, "col arg " + j + tag);
                        if (center && !aCols) assertEquals(-1, got.rowArg()[5], "a constant vector matches nothing when centring");
                        float[] full = be.cosineMatrix(n1, n2, d, be.upload(a), aCols, be.upload(b), bCols, center);
                        double[] flat = Arrays.stream(c).flatMapToDouble(Arrays::stream).toArray();
                        assertClose(flat, full, 1e-5, "cosine matrix" + tag);
                    }
        }
    }

    /** Sizes of 1 everywhere, on both paths: nothing in the kernels may assume a full vector or block. */
    @ParameterizedTest
    @MethodSource("isas")
    void backwardHandlesUnitSizes(int isa) {
        Random r = new Random(19);
        try (CpuBackend be = new CpuBackend(2, isa)) {
            for (int[] shape : new int[][] {{1, 1, 1}, {1, 5, 3}, {7, 1, 1}, {3, 2, 1}}) {
                Case c = new Case(r, shape[0], shape[1], shape[2]);
                c.bEnc[0] = 0.5f; // keep at least one latent alive
                double[][] g = Reference.gradients(c.ref(), c.x, c.B, c.lambda);
                for (boolean sparse : new boolean[] {false, true}) {
                    Object[] out = c.run(be, sparse);
                    for (int t = 0; t < 4; t++)
                        assertClose(g[t], (float[]) out[t + 1], 1e-4, "shape " + Arrays.toString(shape) + " tensor " + t);
                }
            }
        }
    }

    /** Column blocks: j beyond BLOCK_COLS (4096), with a tie across blocks resolved to the first. */
    @ParameterizedTest
    @MethodSource("isas")
    void cosineMaxAcrossColumnBlocks(int isa) {
        Random r = new Random(20);
        try (CpuBackend be = new CpuBackend(2, isa)) {
            int n1 = 37, n2 = 4100, d = 8;
            float[] a = randn(r, n1 * d, 1), b = randn(r, n2 * d, 1);
            System.arraycopy(a, 3 * d, b, 5 * d, d);      // a_3 == b_5 == b_4097: row 3's best, twice
            System.arraycopy(a, 3 * d, b, 4097 * d, d);
            System.arraycopy(a, 11 * d, b, 4099 * d, d);  // a_11 == b_4099, only in the second block
            CosineMax got = be.cosineMax(n1, n2, d, be.upload(a), false, be.upload(b), false, false);
            double[][] c = Reference.cosines(a, n1, false, b, n2, false, d, false);
            assertEquals(5, got.rowArg()[3], "tie across column blocks keeps the smaller j");
            assertEquals(4099, got.rowArg()[11]);
            for (int j = 0; j < n2; j++) {
                double best = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < n1; i++) best = Math.max(best, c[i][j]);
                assertEquals(best, got.colMax()[j], 1e-5, "col max " + j);
            }
            assertEquals(3, got.colArg()[4097]);
        }
    }

    @ParameterizedTest
    @MethodSource("isas")
    void aCsrIsUsableOnlyForTheShapeItWasFilledFor(int isa) {
        Random r = new Random(22);
        try (CpuBackend be = new CpuBackend(2, isa); Csr csr = be.allocateCsr(8, 8 * 64, 1.0)) {
            int B = 8, m = 64, d = 6;
            FloatBuf f = be.upload(randn(r, B * m, 1));
            be.reluEpilogue(B, m, f, be.upload(new float[m]), f, csr);
            assertTrue(csr.valid());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> be.decode(B, 32, d, f, csr, be.allocate(32 * d), be.allocate(d), be.allocate(B * d)));
            assertTrue(e.getMessage().contains("filled for (8, 64)"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> be.countActive(4, m, f, csr, be.allocate(m)), "fewer rows than filled");
            // the density limit keeps a dense batch off the sparse path
            try (Csr tight = be.allocateCsr(B, B * m, 0.1)) {
                float[] dense = new float[B * m];
                Arrays.fill(dense, 1f);
                FloatBuf g = be.upload(dense);
                assertEquals(B * m, be.reluEpilogue(B, m, g, be.upload(new float[m]), g, tight));
                assertFalse(tight.valid(), "100% density is above maxDensity 0.1");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("isas")
    void cosineMaxBreaksTiesToSmallestIndex(int isa) {
        try (CpuBackend be = new CpuBackend(2, isa)) {
            float[] a = {1, 0, 0, 1, 1, 0};          // rows: e0, e1, e0
            float[] b = {0, 2, 3, 0, 5, 0};          // rows: e1, e0, e0 (scaled)
            CosineMax c = be.cosineMax(3, 3, 2, be.upload(a), false, be.upload(b), false, false);
            assertArrayEquals(new int[] {1, 0, 1}, c.rowArg());
            assertArrayEquals(new int[] {1, 0, 0}, c.colArg());
        }
    }

    @ParameterizedTest
    @MethodSource("isas")
    void sizeChecksHappenBeforeNativeCode(int isa) {
        try (CpuBackend be = new CpuBackend(2, isa)) {
            FloatBuf small = be.allocate(10);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> be.rowNorms(4, 4, small, be.allocate(4)));
            assertTrue(e.getMessage().contains("rowNorms A"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> be.gemm(false, false, 0, 1, 1, 1, small, 1, small, 1, 0, small, 1));
            assertThrows(IllegalArgumentException.class, () -> be.adamStep(4, small, small, small, small, 1, 1.5f, 0.9f, 1e-8f, 1));
            small.close();
            assertThrows(IllegalArgumentException.class, () -> be.rowNorms(1, 1, small, be.allocate(1)));
        }
    }
}
