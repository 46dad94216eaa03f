package io.sae4j.metrics;

import io.sae4j.backend.Backend;
import io.sae4j.backend.CosineMax;
import io.sae4j.backend.CosineMaxima;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.VectorSet;
import io.sae4j.sae.SparseAutoencoder;

/**
 * Agreement of two dictionaries through the cosines of their decoder rows, C[i][j] =
 * cos(W_dec^A_i, W_dec^B_j) (DESIGN.md, Metrics):
 * MMCS(A->B) = mean_i max_j C[i][j] and MMCS(B->A) = mean_j max_i C[i][j] (not symmetric), from the
 * backend's blockwise kernel that never forms C, over all latents or over live ones. One-to-one
 * matching: {@link LatentMatching}.
 */
public final class DecoderSimilarity {
    private DecoderSimilarity() {}

    public record Mmcs(double ab, double ba, CosineMax maxima) {}

    public static Mmcs mmcs(SparseAutoencoder a, SparseAutoencoder b) {
        check(a, b);
        return mmcs(a.backend(), a.wDecBuf(), a.dSae(), b.wDecBuf(), b.dSae(), a.dIn());
    }

    /** MMCS between row sets A (n1, d) and B (n2, d) already on the backend. */
    public static Mmcs mmcs(Backend be, FloatBuf A, int n1, FloatBuf B, int n2, int d) {
        try (CosineMaxima out = new CosineMaxima(be, n1, n2)) {
            be.cosineMax(VectorSet.rows(A, n1, d), VectorSet.rows(B, n2, d), false, out);
            CosineMax c = out.toHost();
            return new Mmcs(mean(c.rowMax()), mean(c.colMax()), c);
        }
    }

    /** MMCS between row sets given on the host. */
    public static Mmcs mmcs(Backend be, float[] A, int n1, float[] B, int n2, int d) {
        check(A, n1, d, "A");
        check(B, n2, d, "B");
        try (FloatBuf a = be.upload(A); FloatBuf b = be.upload(B)) {
            return mmcs(be, a, n1, b, n2, d);
        }
    }

    /**
     * Ground-truth recovery: MMCS from the true features (n, d) to the SAE's decoder rows, i.e. the
     * mean over true features of the best cosine any learned feature reaches.
     */
    public static double groundTruthRecovery(float[] truth, int n, SparseAutoencoder sae) {
        check(truth, n, sae.dIn(), "truth");
        try (FloatBuf t = sae.backend().upload(truth)) {
            return mmcs(sae.backend(), t, n, sae.wDecBuf(), sae.dSae(), sae.dIn()).ab();
        }
    }

    /**
     * The random-init baseline of DESIGN.md: a freshly initialised SAE of the same shape (seed
     * {@code seed}), to be compared with the same metrics as a trained one. The caller closes it.
     */
    public static SparseAutoencoder randomLike(SparseAutoencoder sae, long seed) {
        return SparseAutoencoder.initialize(sae.config().withSeed(seed), sae.backend());
    }

    /**
     * MMCS over live latents only (DESIGN.md, Metrics: live latents): the mean over A's live rows of
     * the best cosine with any of B's live rows, and the other way. NaN both ways when either side
     * has no live latent.
     */
    public static Mmcs mmcsLive(Backend be, float[] A, int n1, boolean[] liveA, float[] B, int n2, boolean[] liveB, int d) {
        check(A, n1, d, "A");
        check(B, n2, d, "B");
        float[] a = liveRows(A, liveA, d), b = liveRows(B, liveB, d);
        if (a.length == 0 || b.length == 0) return new Mmcs(Double.NaN, Double.NaN, null);
        return mmcs(be, a, a.length / d, b, b.length / d, d);
    }

    private static float[] liveRows(float[] m, boolean[] live, int d) {
        int count = 0;
        for (boolean l : live) if (l) count++;
        float[] out = new float[Math.multiplyExact(count, d)];
        for (int i = 0, k = 0; i < live.length; i++)
            if (live[i]) System.arraycopy(m, i * d, out, d * k++, d);
        return out;
    }

    /** The (n1, n2) cosine matrix on the host, made block by block (for dense references in tests). */
    static float[] cosineMatrix(Backend be, VectorSet a, VectorSet b) {
        int n1 = (int) a.count(), n2 = (int) b.count();
        float[] c = new float[Math.multiplyExact(n1, n2)];
        int rowsPerBlock = Math.max(1, Math.min(n1, (1 << 24) / n2));
        try (FloatBuf block = be.allocate((long) rowsPerBlock * n2)) {
            for (int i0 = 0; i0 < n1; i0 += rowsPerBlock) {
                int i1 = Math.min(n1, i0 + rowsPerBlock);
                be.cosineBlock(a, b, false, i0, i1, block);
                be.download(block, 0, c, i0 * n2, (i1 - i0) * n2);
            }
        }
        return c;
    }

    static double mean(float[] v) {
        double s = 0;
        for (float x : v) s += x;
        return s / v.length;
    }

    private static void check(SparseAutoencoder a, SparseAutoencoder b) {
        if (a.dIn() != b.dIn())
            throw new IllegalArgumentException("SAEs have different d_in: " + a.dIn() + " vs " + b.dIn());
        if (a.backend() != b.backend()) throw new IllegalArgumentException("SAEs must share one backend");
    }

    private static void check(float[] m, int n, int d, String name) {
        if (m.length != (long) n * d)
            throw new IllegalArgumentException(name + ": expected (" + n + ", " + d + ") = " + (long) n * d
                    + " values, got " + m.length);
    }
}
