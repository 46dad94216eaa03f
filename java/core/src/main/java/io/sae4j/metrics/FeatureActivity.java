package io.sae4j.metrics;

import io.sae4j.backend.Backend;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.NonFiniteInputException;
import io.sae4j.backend.StepStats;
import io.sae4j.backend.Workspace;
import io.sae4j.backend.WorkspaceSpec;
import io.sae4j.sae.SparseAutoencoder;

/**
 * One SAE's latents on a sample of N tokens, kept on the backend as f (N, m), with the statistics
 * of DESIGN.md: feature frequency (fraction of tokens with f_i > 0), dead count (never fired in the
 * sample), L0 (mean nonzeros per token), MSE (mean over tokens of ||x - xhat||^2) and FVU
 * (sum ||x - xhat||^2 / sum ||x - mean x||^2).
 */
public final class FeatureActivity implements AutoCloseable {
    private final SparseAutoencoder sae;
    private final int tokens;
    private final Workspace workspace; // holds the latents
    private final FloatBuf latents;
    private final double[] frequency;
    private final int dead;
    private final double l0, mse, fvu;

    private FeatureActivity(SparseAutoencoder sae, int tokens, Workspace workspace, double[] frequency, double l0,
                            double mse, double fvu) {
        this.sae = sae;
        this.tokens = tokens;
        this.workspace = workspace;
        this.latents = workspace.latents().slice(0, (long) tokens * sae.dSae());
        this.frequency = frequency;
        int d = 0;
        for (double f : frequency) if (f == 0) d++;
        this.dead = d;
        this.l0 = l0;
        this.mse = mse;
        this.fvu = fvu;
    }

    /** Runs x (n, d) through the SAE. */
    public static FeatureActivity measure(SparseAutoencoder sae, float[] x, int n, String what) {
        int d = sae.dIn(), m = sae.dSae();
        if (n < 1 || x.length != (long) n * d)
            throw new IllegalArgumentException(what + ": expected (" + n + ", " + d + ") activations, got " + x.length
                    + " values");
        if ((long) n * m > Integer.MAX_VALUE)
            throw new IllegalArgumentException(what + ": " + n + " tokens x " + m + " latents is too large; use fewer tokens");
        NonFiniteInputException.requireFinite(x, n, d, what);
        Backend be = sae.backend();
        Workspace ws = be.workspace(WorkspaceSpec.inference(n, d, m));
        try (StepStats stats = new StepStats(be, 1, m)) {
            be.upload(x, 0, ws.input(), 0, n * d);
            be.encode(sae.tensors(), sae.activation(), ws, n, stats.at(0));
            sae.decode(ws, n);
            float[] xh = new float[n * d];
            be.download(ws.reconstruction(), 0, xh, 0, xh.length);
            StepStats.Snapshot counts = stats.drain(1);
            double[] freq = new double[m];
            for (int i = 0; i < m; i++) freq[i] = (double) counts.firing()[i] / n;
            double[] mean = new double[d];
            for (int r = 0; r < n; r++)
                for (int k = 0; k < d; k++) mean[k] += x[r * d + k];
            double sq = 0, var = 0;
            for (int r = 0; r < n; r++)
                for (int k = 0; k < d; k++) {
                    double e = xh[r * d + k] - x[r * d + k], v = x[r * d + k] - mean[k] / n;
                    sq += e * e;
                    var += v * v;
                }
            return new FeatureActivity(sae, n, ws, freq, (double) counts.nonzeros()[0] / n, sq / n,
                    var > 0 ? sq / var : Double.NaN);
        } catch (RuntimeException e) {
            ws.close();
            throw e;
        }
    }

    public SparseAutoencoder sae() { return sae; }
    public int tokens() { return tokens; }
    /** f (tokens, m) on the backend. */
    public FloatBuf latents() { return latents; }
    public double[] frequency() { return frequency.clone(); }
    public int dead() { return dead; }
    public double l0() { return l0; }
    public double mse() { return mse; }
    public double fvu() { return fvu; }

    /**
     * Histogram of log10(frequency) of the live features over {@code bins} equal bins spanning
     * [lo, hi] (e.g. -6..0); values outside are clamped into the end bins.
     */
    public int[] log10FrequencyHistogram(double lo, double hi, int bins) {
        return log10Histogram(frequency, lo, hi, bins);
    }

    /** Histogram of log10 of the nonzero frequencies over [lo, hi) in equal bins, ends clamped. */
    public static int[] log10Histogram(double[] frequency, double lo, double hi, int bins) {
        if (!(hi > lo) || bins < 1) throw new IllegalArgumentException("need lo < hi and bins >= 1");
        int[] h = new int[bins];
        for (double f : frequency) {
            if (f == 0) continue;
            int b = (int) Math.floor((Math.log10(f) - lo) / (hi - lo) * bins);
            h[Math.max(0, Math.min(bins - 1, b))]++;
        }
        return h;
    }

    @Override
    public void close() {
        workspace.close();
    }
}
