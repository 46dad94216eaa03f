package io.sae4j.sae;

import io.sae4j.backend.AdamState;
import io.sae4j.backend.Backend;
import io.sae4j.backend.Workspace;
import java.util.SplittableRandom;

/**
 * Resampling of dead latents (Anthropic, "Towards Monosemanticity", 2023, appendix "Neuron
 * resampling"): each latent that has not fired since the previous resampling gets a new direction,
 * an input of the current batch drawn with probability proportional to the square of the SAE's
 * reconstruction error on it. The input is centred by b_dec (what the encoder sees) and normalised;
 * the decoder row becomes it at the mean norm of the live decoder rows (sae4j weights L1 by decoder
 * norm rather than fixing the norm), the encoder row becomes it at 0.2 times the mean norm of the
 * live encoder rows, and the encoder bias becomes 0. Their first Adam moments are reset to 0 and
 * their second moments set to the live entries' mean of the same tensor: with a zero second moment
 * late in training (bias correction near 1) Adam's steps on a new latent would be many times the
 * learning rate for its first hundreds of steps, which threw resampled latents off again.
 *
 * <p>Host-side on purpose: it runs a few times per training run, through the same backend calls as
 * everything else (download, upload, encode, decode), so every backend gets it without a kernel.
 * Inputs are drawn without replacement, so no two latents get the same direction; when more latents
 * are dead than the batch has rows, the rest wait for the next resampling.
 */
final class DeadLatentResampler {
    /** Anthropic's factor for the new encoder rows relative to the live ones. */
    static final double ENCODER_SCALE = 0.2;

    private DeadLatentResampler() {}

    /**
     * Resamples {@code dead} (latent indices, ascending) of {@code sae} using the batch {@code x}
     * (rows, d) on the host, which {@code ws} holds as its input. Returns the latents resampled
     * (those of {@code dead} that got a direction: at most {@code rows}).
     */
    static int[] resample(SparseAutoencoder sae, AdamState moments, Workspace ws, float[] x, int rows, int[] dead, long seed) {
        if (dead.length == 0) return new int[0];
        Backend be = sae.backend();
        int d = sae.dIn(), m = sae.dSae();
        float[] bDec = sae.decoderBias();
        sae.encode(ws, rows);
        sae.decode(ws, rows);
        float[] xhat = new float[rows * d];
        be.download(ws.reconstruction(), 0, xhat, 0, xhat.length);
        double[] err = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int k = 0; k < d; k++) {
                double e = x[r * d + k] - xhat[r * d + k];
                s += e * e;
            }
            err[r] = s;
        }
        int n = Math.min(dead.length, rows);
        int[] picked = weightedWithoutReplacement(err, n, new SplittableRandom(seed));

        float[] p = be.download(sae.parameters()), m1 = be.download(moments.m1()), m2 = be.download(moments.m2());
        long encOff = 0, bEncOff = (long) m * d, decOff = bEncOff + m;
        boolean[] isDead = new boolean[m];
        for (int j : dead) isDead[j] = true;
        double encNorm = 0, decNorm = 0;
        int live = 0;
        for (int j = 0; j < m; j++)
            if (!isDead[j]) {
                encNorm += norm(p, encOff + (long) j * d, d);
                decNorm += norm(p, decOff + (long) j * d, d);
                live++;
            }
        float m2Enc = liveMean(m2, encOff, d, isDead), m2Dec = liveMean(m2, decOff, d, isDead), m2Bias = liveMean(m2, bEncOff, 1, isDead);
        double init = sae.config().decoderInitNorm();
        encNorm = live > 0 ? encNorm / live : init;
        decNorm = live > 0 ? decNorm / live : init;

        int[] done = new int[n];
        int count = 0;
        for (int i = 0; i < n; i++) {
            int j = dead[i], r = picked[i];
            double[] v = new double[d];
            double ss = 0;
            for (int k = 0; k < d; k++) {
                v[k] = x[r * d + k] - bDec[k];
                ss += v[k] * v[k];
            }
            if (!(ss > 0)) continue; // an input equal to b_dec has no direction; the latent waits
            double inv = 1 / Math.sqrt(ss);
            for (int k = 0; k < d; k++) {
                p[(int) (encOff + (long) j * d + k)] = (float) (v[k] * inv * ENCODER_SCALE * encNorm);
                p[(int) (decOff + (long) j * d + k)] = (float) (v[k] * inv * decNorm);
            }
            p[(int) (bEncOff + j)] = 0;
            java.util.Arrays.fill(m1, (int) (encOff + (long) j * d), (int) (encOff + (long) (j + 1) * d), 0f);
            java.util.Arrays.fill(m1, (int) (decOff + (long) j * d), (int) (decOff + (long) (j + 1) * d), 0f);
            java.util.Arrays.fill(m2, (int) (encOff + (long) j * d), (int) (encOff + (long) (j + 1) * d), m2Enc);
            java.util.Arrays.fill(m2, (int) (decOff + (long) j * d), (int) (decOff + (long) (j + 1) * d), m2Dec);
            m1[(int) (bEncOff + j)] = 0;
            m2[(int) (bEncOff + j)] = m2Bias;
            done[count++] = j;
        }
        sae.setParameters(p);
        be.upload(m1, 0, moments.m1(), 0, m1.length);
        be.upload(m2, 0, moments.m2(), 0, m2.length);
        return java.util.Arrays.copyOf(done, count);
    }

    /** Mean of a (m, width) block at {@code off} over the rows of live latents (0 when none is live). */
    private static float liveMean(float[] a, long off, int width, boolean[] isDead) {
        double s = 0;
        long n = 0;
        for (int j = 0; j < isDead.length; j++)
            if (!isDead[j]) {
                for (int k = 0; k < width; k++) s += a[(int) (off + (long) j * width + k)];
                n += width;
            }
        return n > 0 ? (float) (s / n) : 0f;
    }

    private static double norm(float[] a, long off, int n) {
        double s = 0;
        for (int k = 0; k < n; k++) s += (double) a[(int) off + k] * a[(int) off + k];
        return Math.sqrt(s);
    }

    /**
     * n distinct indices drawn with probability proportional to {@code w[i]^2}, in draw order
     * (Efraimidis and Spirakis: the n largest u^(1/w), compared as log(u) / w). Zero weights come
     * last, in index order; all-zero weights give the first n indices.
     */
    static int[] weightedWithoutReplacement(double[] w, int n, SplittableRandom rng) {
        int len = w.length;
        double[] key = new double[len];
        for (int i = 0; i < len; i++) {
            double u = rng.nextDouble();
            double wi = w[i] * w[i];
            key[i] = wi > 0 ? Math.log(Math.max(u, Double.MIN_VALUE)) / wi : Double.NEGATIVE_INFINITY;
        }
        Integer[] order = new Integer[len];
        for (int i = 0; i < len; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> {
            int c = Double.compare(key[b], key[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = order[i];
        return out;
    }
}
