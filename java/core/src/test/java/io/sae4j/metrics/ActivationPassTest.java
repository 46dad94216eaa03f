package io.sae4j.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sae4j.backend.Backend;
import io.sae4j.backend.Coactivation;
import io.sae4j.backend.CosineMaxima;
import io.sae4j.backend.LatentStorage;
import io.sae4j.backend.TestBackends;
import io.sae4j.backend.Workspace;
import io.sae4j.backend.WorkspaceSpec;
import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.sae.SaeConfig;
import io.sae4j.sae.SparseAutoencoder;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The streamed pass (exact correlation from sparse latents, per-SAE statistics) against the
 * in-memory path (FeatureActivity, ActivationCorrelation over dense latents) and a double
 * reference, over more tokens than one block, with latents that never fire, fire on every token
 * with one value (no variance: left out, not dead), or fire on every token with varying values.
 */
class ActivationPassTest {
    private static final int D = 20;
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    private static SparseAutoencoder sae(Random r, int m, double bias) {
        float[] wEnc = new float[D * m], bEnc = new float[m], wDec = new float[m * D], bDec = new float[D];
        for (int q = 0; q < wEnc.length; q++) wEnc[q] = (float) (r.nextGaussian() / Math.sqrt(D));
        for (int q = 0; q < wDec.length; q++) wDec[q] = (float) (r.nextGaussian() / Math.sqrt(D));
        for (int i = 0; i < m; i++) bEnc[i] = (float) (bias + 0.2 * r.nextGaussian());
        bEnc[0] = -100f;                                  // never fires
        for (int k = 0; k < D; k++) wEnc[k * m + 1] = 0f; // one value on every token
        bEnc[1] = 0.5f;
        bEnc[2] = 50f;                                    // fires on every token, varying
        return SparseAutoencoder.fromWeights(SaeConfig.builder().setDIn(D).setDSae(m).build(), backend, wEnc, bEnc, wDec, bDec);
    }

    @Test
    void streamedPassEqualsTheInMemoryMetrics() throws Exception {
        Random r = new Random(50);
        int n = 5000, m1 = 64, m2 = 96; // 3 blocks of 2048
        float[] x = new float[n * D];
        for (int q = 0; q < x.length; q++) x[q] = (float) (r.nextGaussian() + 0.3);
        try (SparseAutoencoder a = sae(r, m1, -1.0); SparseAutoencoder b = sae(r, m2, -1.2);
             FeatureActivity fa = FeatureActivity.measure(a, x, n, "x"); FeatureActivity fb = FeatureActivity.measure(b, x, n, "x")) {
            long[] seen = {0};
            ActivationPass p = ActivationPass.run(a, b, (start, count, into) -> System.arraycopy(x, (int) start * D, into, 0, count * D),
                    n, "x", done -> seen[0] = done);
            assertEquals(n, seen[0], "progress reaches the token count");
            assertEquals(n, p.tokens());
            ActivationCorrelation dense = ActivationCorrelation.of(fa, fb);
            assertEquals(dense.corrAB(), p.correlation().corrAB(), 1e-5, "corr a->b");
            assertEquals(dense.corrBA(), p.correlation().corrBA(), 1e-5, "corr b->a");
            assertEquals(1, p.a().dead(), "latent 0 of a is dead, latent 1 (constant) is not");
            assertEquals(dense.deadA(), p.correlation().deadA());
            assertEquals(dense.deadB(), p.correlation().deadB());
            assertArrayEquals(fa.frequency(), p.a().frequency(), 1e-12);
            assertArrayEquals(fb.frequency(), p.b().frequency(), 1e-12);
            assertEquals(1.0, p.a().frequency()[2], 0, "latent 2 fires everywhere");
            assertEquals(fa.l0(), p.a().l0(), 1e-9);
            assertEquals(fb.l0(), p.b().l0(), 1e-9);
            assertEquals(fa.mse(), p.a().mse(), 1e-6 * fa.mse());
            assertEquals(fa.fvu(), p.a().fvu(), 1e-6 * fa.fvu());
            assertEquals(fb.fvu(), p.b().fvu(), 1e-6 * fb.fvu());
            double ref = referenceCorrAB(a, b, x, n);
            assertEquals(ref, p.correlation().corrAB(), 1e-6, "corr a->b against a double reference");
        }
    }

    /** Rows that do not vary: the FVU is undefined (NaN), not the ratio to the sums' rounding (2.6e13 before). */
    @Test
    void constantRowsHaveNoFvu() throws Exception {
        Random r = new Random(53);
        int n = 4097;
        float[] row = new float[D], x = new float[n * D];
        try (SparseAutoencoder a = sae(r, 16, -0.5); SparseAutoencoder b = sae(r, 24, -0.5)) {
            for (int trial = 0; trial < 12; trial++) { // the sums' rounding leaves a residue of either sign: several rows
                for (int k = 0; k < D; k++) row[k] = (float) (3 * r.nextGaussian());
                for (int t = 0; t < n; t++) System.arraycopy(row, 0, x, t * D, D);
                ActivationPass p = ActivationPass.run(a, b, (start, count, into) -> System.arraycopy(x, (int) start * D, into, 0,
                        count * D), n, "x", null);
                assertTrue(Double.isNaN(p.a().fvu()) && Double.isNaN(p.b().fvu()), "trial " + trial + ": fvu " + p.a().fvu()
                        + ", " + p.b().fvu());
            }
        }
    }

    /** Blocks of d_in-wide rows are one Java array: 2048 rows of 2e6 floats wrapped negative before. */
    @Test
    void blocksFitOneArray() {
        assertEquals(2048, ActivationPass.blockRows(1_000_000, 512));
        assertEquals(7, ActivationPass.blockRows(7, 512));
        int rows = ActivationPass.blockRows(5000, 2_000_000);
        assertEquals(1073, rows);
        assertTrue((long) rows * 2_000_000 <= Integer.MAX_VALUE - 8);
    }

    static Stream<TestBackends.Config> cpuAndCuda() {
        return TestBackends.all().stream().filter(c -> c.name().endsWith("-2t") || c.name().equals("cuda"));
    }

    /**
     * SAEs on any backend give the CPU's pass: CUDA with its own correlation kernels (on a backend
     * without them the pass runs on CPU copies rather than refusing: the study on --device cuda
     * stopped at its first comparison).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cpuAndCuda")
    void passOnEachBackendEqualsTheCpuPass(TestBackends.Config cfg) throws Exception {
        Random r = new Random(52);
        int n = 3000;
        float[] x = new float[n * D];
        for (int q = 0; q < x.length; q++) x[q] = (float) (r.nextGaussian() + 0.3);
        ActivationPass.Rows rows = (start, count, into) -> System.arraycopy(x, (int) start * D, into, 0, count * D);
        try (Backend other = cfg.open(); SparseAutoencoder a = sae(r, 48, -1.0); SparseAutoencoder b = sae(r, 80, -1.1);
             SparseAutoencoder oa = a.copyTo(other); SparseAutoencoder ob = b.copyTo(other)) {
            ActivationPass want = ActivationPass.run(a, b, rows, n, "x", null);
            ActivationPass got = ActivationPass.run(oa, ob, rows, n, "x", null);
            double tol = 1e-5 * cfg.tolerance();
            assertEquals(want.correlation().corrAB(), got.correlation().corrAB(), tol, "corr a->b");
            assertEquals(want.correlation().corrBA(), got.correlation().corrBA(), tol, "corr b->a");
            assertEquals(want.a().dead(), got.a().dead());
            assertEquals(want.b().dead(), got.b().dead());
            assertArrayEquals(want.b().frequency(), got.b().frequency(), 1e-12);
            assertEquals(want.a().fvu(), got.a().fvu(), tol * want.a().fvu());
        }
    }

    /** Mean over a's latents with variance of the best Pearson r with b's, in double. */
    private static double referenceCorrAB(SparseAutoencoder a, SparseAutoencoder b, float[] x, int n) {
        double[][] fa = latents(a, x, n), fb = latents(b, x, n);
        double sum = 0;
        int count = 0;
        for (double[] u : fa) {
            double best = Double.NEGATIVE_INFINITY;
            for (double[] v : fb) {
                double c = pearson(u, v);
                if (!Double.isNaN(c)) best = Math.max(best, c);
            }
            if (!Double.isNaN(pearson(u, u))) {
                sum += best;
                count++;
            }
        }
        return sum / count;
    }

    private static double[][] latents(SparseAutoencoder s, float[] x, int n) {
        float[] wEnc = s.encoderWeights(), bEnc = s.encoderBias(), bDec = s.decoderBias();
        int m = s.dSae();
        double[][] f = new double[m][n];
        for (int t = 0; t < n; t++)
            for (int i = 0; i < m; i++) {
                double pre = bEnc[i];
                for (int k = 0; k < D; k++) pre += (x[t * D + k] - (double) bDec[k]) * wEnc[k * m + i];
                f[i][t] = Math.max(0, pre);
            }
        return f;
    }

    private static double pearson(double[] u, double[] v) {
        double mu = 0, mv = 0;
        for (int t = 0; t < u.length; t++) {
            mu += u[t];
            mv += v[t];
        }
        mu /= u.length;
        mv /= v.length;
        double suv = 0, suu = 0, svv = 0;
        for (int t = 0; t < u.length; t++) {
            suv += (u[t] - mu) * (v[t] - mv);
            suu += (u[t] - mu) * (u[t] - mu);
            svv += (v[t] - mv) * (v[t] - mv);
        }
        return suu > 1e-12 * u.length && svv > 1e-12 * v.length ? suv / Math.sqrt(suu * svv) : Double.NaN;
    }

    /** coactivate takes sparse encodes of the same rows only, and names what it expected; maxima need rows first. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cpuAndCuda")
    void coactivateRefusesWhatItCannotAdd(TestBackends.Config cfg) {
        try (Backend be = cfg.open()) {
            assumeTrue(be.supportsCoactivation(), be.name() + " has no exact correlation kernel");
            WorkspaceSpec sparse = new WorkspaceSpec(16, D, 40, LatentStorage.SPARSE, false);
            WorkspaceSpec dense = new WorkspaceSpec(16, D, 40, LatentStorage.DENSE, false);
            try (Coactivation acc = be.coactivation(40, 40); Workspace a = be.workspace(sparse);
                 Workspace b = be.workspace(sparse); Workspace c = be.workspace(dense);
                 CosineMaxima out = new CosineMaxima(be, 40, 40)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.coactivate(acc, a, c, 8));
                assertTrue(e.getMessage().contains("must hold sparse latents"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> be.coactivate(acc, a, b, 17));
                assertTrue(e.getMessage().contains("rows must be in 1..16"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> be.coactivate(acc, a, b, 8)); // nothing encoded yet
                assertTrue(e.getMessage().contains("do not hold encodes of 8 rows through 40 and 40 latents"), e.getMessage());
                assertEquals(0, acc.tokens());
                assertThrows(IllegalStateException.class, () -> be.correlationMaxima(acc, out));
            }
        }
        Backend closed = cfg.open();
        Coactivation acc = closed.coactivation(3, 4);
        closed.close(); // frees the sums with the backend's other memory: they must not be read after
        assertThrows(IllegalStateException.class, acc::tokens);
    }

    @Test
    void refusesTooFewTokensAndMixedBackends() throws Exception {
        Random r = new Random(51);
        try (SparseAutoencoder a = sae(r, 8, -1); SparseAutoencoder b = sae(r, 8, -1); CpuBackend other = new CpuBackend()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ActivationPass.run(a, b, (s, c, into) -> {}, 1, "x", null));
            assertTrue(e.getMessage().contains("at least 2 tokens"), e.getMessage());
            try (SparseAutoencoder c = SparseAutoencoder.fromWeights(a.config(), other, a.encoderWeights(), a.encoderBias(),
                    a.decoderWeights(), a.decoderBias())) {
                assertThrows(IllegalArgumentException.class, () -> ActivationPass.run(a, c, (s, n, into) -> {}, 10, "x", null));
            }
        }
    }
}
