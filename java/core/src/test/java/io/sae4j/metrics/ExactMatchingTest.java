package io.sae4j.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.backend.Backend;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.TestBackends;
import io.sae4j.backend.VectorSet;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Exact matching without the dense matrix against the dense Hungarian solver on the same backend's
 * cosine matrix: equal optimal totals (signed and |cos|), a valid one-to-one matching, certified;
 * on random, SAE-like, rectangular and adversarial inputs (ties, duplicated vectors, all equal), and
 * with k so small that the solver must widen rows and resume. A deliberately wrong dual is caught.
 */
class ExactMatchingTest {
    static Stream<TestBackends.Config> backends() {
        // the best instruction set at 2 threads, and CUDA
        List<TestBackends.Config> all = TestBackends.all();
        TestBackends.Config cpu = all.stream().filter(c -> c.name().endsWith("-2t")).reduce((x, y) -> y).orElseThrow();
        return all.stream().filter(c -> c == cpu || c.name().equals("cuda"));
    }

    private static float[] gaussian(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** b: half of its vectors are noisy copies of a's (shuffled), the rest random, as two SAEs' decoders. */
    static float[] saeLike(Random r, float[] a, int n1, int n2, int d, double noise) {
        float[] b = gaussian(r, n2 * d);
        int[] perm = new int[n1];
        for (int i = 0; i < n1; i++) perm[i] = i;
        for (int i = n1 - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int j = 0; j < Math.min(n1, n2) / 2; j++)
            for (int k = 0; k < d; k++) b[j * d + k] = a[perm[j] * d + k] + (float) (noise * r.nextGaussian());
        return b;
    }

    private static void check(Backend be, float[] a, int n1, float[] b, int n2, int d, int k, String tag) {
        try (FloatBuf ab = be.upload(a); FloatBuf bb = be.upload(b)) {
            VectorSet A = VectorSet.rows(ab, n1, d), B = VectorSet.rows(bb, n2, d);
            float[] dense = DecoderSimilarity.cosineMatrix(be, A, B);
            ExactMatching em = ExactMatching.of(be, A, B, k);
            for (boolean absolute : new boolean[] {false, true}) {
                float[] score = dense.clone();
                if (absolute) for (int q = 0; q < score.length; q++) score[q] = Math.abs(score[q]);
                int[] ref = Hungarian.maximize(score, n1, n2);
                double refTotal = 0;
                for (int i = 0; i < n1; i++) if (ref[i] >= 0) refTotal += score[i * n2 + ref[i]];
                ExactMatching.Matched got = em.solve(absolute);
                String what = tag + " k=" + k + (absolute ? " |cos|" : " cos");
                assertTrue(got.certified(), what + ": not certified, gap " + got.gap());
                assertEquals(0, got.gap(), what);
                boolean[] used = new boolean[n2];
                int pairs = 0;
                double total = 0;
                for (int i = 0; i < n1; i++) {
                    int j = got.rowToCol()[i];
                    if (j < 0) continue;
                    assertFalse(used[j], what + ": column " + j + " matched twice");
                    used[j] = true;
                    pairs++;
                    assertEquals(dense[i * n2 + j], got.cosine()[i], 2e-5, what + ": cosine of pair " + i);
                    total += score[i * n2 + j];
                }
                assertEquals(Math.min(n1, n2), pairs, what + ": pairs");
                // the float cosines of the two passes may differ by an ulp or two per pair
                assertEquals(refTotal, total, 1e-5 * pairs, what + ": optimal total");
                assertEquals(total / pairs, got.meanMatched(), 1e-5, what + ": mean");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void equalsDenseHungarianOnRandomAndSaeLikeInputs(TestBackends.Config cfg) {
        Random r = new Random(40);
        try (Backend be = cfg.open()) {
            int d = 16;
            for (int[] size : new int[][] {{60, 60}, {45, 80}, {80, 45}, {300, 300}, {257, 513}}) {
                int n1 = size[0], n2 = size[1];
                float[] a = gaussian(r, n1 * d);
                check(be, a, n1, gaussian(r, n2 * d), n2, d, 8, cfg + " random " + n1 + "x" + n2);
                check(be, a, n1, saeLike(r, a, n1, n2, d, 0.3), n2, d, 8, cfg + " sae-like " + n1 + "x" + n2);
            }
        }
    }

    /** k = 1 and 2: the graph is too thin, so rows get stuck or violate the duals and are widened. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void tinyCandidateListsStillGiveTheOptimum(TestBackends.Config cfg) {
        Random r = new Random(41);
        try (Backend be = cfg.open()) {
            int d = 8;
            for (int k : new int[] {1, 2}) {
                float[] a = gaussian(r, 200 * d);
                check(be, a, 200, saeLike(r, a, 200, 230, d, 0.5), 230, d, k, cfg + " thin");
                check(be, a, 200, gaussian(r, 150 * d), 150, d, k, cfg + " thin transposed");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void tiesDuplicatesAndAllEqualVectors(TestBackends.Config cfg) {
        Random r = new Random(42);
        try (Backend be = cfg.open()) {
            int d = 6, n = 90;
            float[] same = new float[n * d];
            for (int i = 0; i < n; i++) for (int k = 0; k < d; k++) same[i * d + k] = k + 1; // all cosines 1
            check(be, same, n, same.clone(), n, d, 4, cfg + " all equal");
            float[] a = gaussian(r, n * d), dup = a.clone();
            for (int i = 1; i < n; i += 2) System.arraycopy(a, (i - 1) * d, dup, i * d, d); // pairs of equal vectors
            check(be, dup, n, dup.clone(), n, d, 3, cfg + " duplicated pairs");
            float[] anti = a.clone();
            for (int q = 0; q < anti.length; q++) anti[q] = -anti[q]; // every best |cos| is a -1
            check(be, a, n, anti, n, d, 3, cfg + " anti-aligned");
            check(be, a, 1, a.clone(), 1, d, 1, cfg + " 1x1");
        }
    }

    /**
     * The certificate counts exactly the entries of the dense matrix that violate given duals: none
     * for the solver's, and as many as the dense count for deliberately wrong ones (a row's profit
     * lowered below its matched pair, another's far below everything, a column price cut).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void certificateRejectsWrongDuals(TestBackends.Config cfg) {
        Random r = new Random(43);
        try (Backend be = cfg.open()) {
            int n = 120, d = 8;
            float[] a = gaussian(r, n * d);
            try (FloatBuf ab = be.upload(a); FloatBuf bb = be.upload(saeLike(r, a, n, n, d, 0.2))) {
                VectorSet A = VectorSet.rows(ab, n, d), B = VectorSet.rows(bb, n, d);
                float[] dense = DecoderSimilarity.cosineMatrix(be, A, B);
                ExactMatching em = ExactMatching.of(be, A, B, 4);
                assertTrue(em.solve(false).certified());
                SparseAssignment.Result good = em.assign(false);
                assertEquals(0, good.stuck().length);
                assertEquals(0, em.violations(good, false), "the solver's duals hold everywhere");
                double[] u = good.rowDual().clone(), v = good.colDual().clone();
                u[7] -= 0.01;  // below its matched pair: an edge violates
                u[30] -= 2.0;  // below every entry of its row
                v[55] -= 0.3;  // a column price cut
                SparseAssignment.Result bad = new SparseAssignment.Result(good.rowToCol(), u, v, good.stuck(), good.searches());
                // the dense block and the top-k pass may round a cosine an ulp apart: entries within 1e-6
                // of their dual sum may go either way
                long clear = 0, possible = 0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++) {
                        if (dense[i * n + j] > u[i] + v[j] + 1e-6) clear++;
                        if (dense[i * n + j] > u[i] + v[j] - 1e-6) possible++;
                    }
                assertTrue(clear >= n + 1, "the wrong duals violate at least row 30 and one more entry: " + clear);
                long got = em.violations(bad, false);
                assertTrue(got >= clear && got <= possible,
                        "violations of the wrong duals " + got + ", dense count " + clear + ".." + possible);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void nonFiniteVectorsAreRefused(TestBackends.Config cfg) {
        try (Backend be = cfg.open()) {
            float[] a = {1, 0, Float.NaN, 1, 0, 1}, b = {1, 0, 0, 1, 1, 1};
            try (FloatBuf ab = be.upload(a); FloatBuf bb = be.upload(b)) {
                IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        () -> ExactMatching.of(be, VectorSet.rows(ab, 3, 2), VectorSet.rows(bb, 3, 2), 2));
                assertTrue(e.getMessage().contains("NaN"), e.getMessage());
            }
        }
    }
}
