package io.sae4j.metrics;

import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import io.sae4j.backend.Coactivation;
import io.sae4j.backend.CosineMax;
import io.sae4j.backend.CosineMaxima;
import io.sae4j.backend.LatentStorage;
import io.sae4j.backend.NonFiniteInputException;
import io.sae4j.backend.StepStats;
import io.sae4j.backend.Workspace;
import io.sae4j.backend.WorkspaceSpec;
import io.sae4j.sae.SparseAutoencoder;
import java.io.IOException;
import java.util.function.LongConsumer;

/**
 * Two SAEs over the same tokens in one streamed pass, with memory independent of the token count:
 * each SAE's feature frequencies, dead latents, L0, MSE and FVU, and their exact activation
 * correlation from the sparse latents ({@link Backend#coactivate}: co-active pairs only, then every
 * Pearson r read off the sums; DESIGN.md, Metrics). Each SAE reads its own activations of those
 * tokens (the same file, or two layers or models of the same token stream). Tokens are read in
 * blocks of {@link #BLOCK_ROWS}; a million tokens never sit in memory at once.
 *
 * @param tokens rows passed through both SAEs
 * @param a, b each SAE's statistics over those rows (b null for a pass over one SAE)
 * @param correlation mean over live latents of the best Pearson r with the other SAE, both ways
 *     (null for one SAE)
 */
public record ActivationPass(long tokens, Side a, Side b, ActivationCorrelation correlation) {
    /** Tokens per block: the encoders' GEMMs stay large, the sparse workspaces small. */
    public static final int BLOCK_ROWS = 2048;

    /**
     * One SAE's statistics over the pass.
     *
     * @param frequency fraction of tokens on which each latent fired
     * @param dead latents that never fired
     * @param l0 mean number of nonzero latents per token
     * @param mse mean over tokens of ||x - xhat||^2
     * @param fvu sum ||x - xhat||^2 / sum ||x - mean x||^2
     */
    public record Side(double[] frequency, int dead, double l0, double mse, double fvu) {
        /** Which latents fired at least once. */
        public boolean[] live() {
            boolean[] live = new boolean[frequency.length];
            for (int i = 0; i < live.length; i++) live[i] = frequency[i] > 0;
            return live;
        }
    }

    /** Reads rows [start, start + count) of the activations (count, d) into the front of into. */
    @FunctionalInterface
    public interface Rows {
        void read(long start, int count, float[] into) throws IOException;
    }

    /** An SAE and its activations (rows of width d_in) for the tokens of a pass. */
    public record Input(SparseAutoencoder sae, Rows rows) {}

    /**
     * Runs the first {@code tokens} rows of a's and b's activations through each (one backend);
     * progress (may be null) receives the rows done after each block. On a backend without the exact
     * correlation ({@link Backend#supportsCoactivation}; the CPU and CUDA backends both have it) the
     * pass runs on CPU copies of the two SAEs.
     */
    public static ActivationPass run(Input a, Input b, long tokens, String what, LongConsumer progress) throws IOException {
        Backend be = a.sae().backend();
        if (b.sae().backend() != be) throw new IllegalArgumentException("SAEs must share one backend");
        if (be.supportsCoactivation()) return pass(a, b, tokens, what, progress);
        try (Backend cpu = Backends.select("cpu").backend(); SparseAutoencoder ca = a.sae().copyTo(cpu);
             SparseAutoencoder cb = b.sae().copyTo(cpu)) {
            return pass(new Input(ca, a.rows()), new Input(cb, b.rows()), tokens, what, progress);
        }
    }

    /** The same SAEs on the same activations (one file of rows). */
    public static ActivationPass run(SparseAutoencoder a, SparseAutoencoder b, Rows rows, long tokens, String what,
            LongConsumer progress) throws IOException {
        if (a.dIn() != b.dIn()) throw new IllegalArgumentException("SAEs have different d_in: " + a.dIn() + " vs " + b.dIn());
        return run(new Input(a, rows), new Input(b, rows), tokens, what, progress);
    }

    /** One SAE's statistics over the first {@code tokens} rows of its activations (no correlation). */
    public static Side measure(Input a, long tokens, String what) throws IOException {
        return pass(a, null, tokens, what, null).a();
    }

    private static ActivationPass pass(Input a, Input b, long tokens, String what, LongConsumer progress) throws IOException {
        if (tokens < 2) throw new IllegalArgumentException(what + ": need at least 2 tokens, got " + tokens);
        Backend be = a.sae().backend();
        int block = blockRows(tokens, Math.max(a.sae().dIn(), b == null ? 1 : b.sae().dIn()));
        try (Stream sa = new Stream(a, block, what); Stream sb = b == null ? null : new Stream(b, block, what);
             Coactivation acc = b == null ? null : be.coactivation(a.sae().dSae(), b.sae().dSae())) {
            for (long start = 0; start < tokens; start += block) {
                int n = (int) Math.min(block, tokens - start);
                sa.add(start, n);
                if (sb != null) {
                    sb.add(start, n);
                    be.coactivate(acc, sa.workspace, sb.workspace, n);
                }
                if (progress != null) progress.accept(start + n);
            }
            Side A = sa.side(tokens);
            if (b == null) return new ActivationPass(tokens, A, null, null);
            Side B = sb.side(tokens);
            CosineMax max;
            try (CosineMaxima out = new CosineMaxima(be, a.sae().dSae(), b.sae().dSae())) {
                be.correlationMaxima(acc, out);
                max = out.toHost();
            }
            return new ActivationPass(tokens, A, B, new ActivationCorrelation(liveMean(max.rowMax()), liveMean(max.colMax()),
                    A.dead(), B.dead()));
        }
    }

    /** Variance below this fraction of sum ||x||^2 is the rounding of sum x^2 - (sum x)^2 / n, not data. */
    static final double VARIANCE_FLOOR = 1e-10;

    /** Rows per block: BLOCK_ROWS, fewer when there are fewer tokens or a block of d_in-wide rows would not fit one Java array. */
    static int blockRows(long tokens, int dIn) {
        return (int) Math.min(Math.min(BLOCK_ROWS, tokens), (Integer.MAX_VALUE - 8) / dIn);
    }

    /** Mean of the finite maxima (latents without variance have -inf). */
    private static double liveMean(float[] max) {
        double s = 0;
        int k = 0;
        for (float v : max)
            if (Float.isFinite(v)) {
                s += v;
                k++;
            }
        return k > 0 ? s / k : Double.NaN;
    }

    /** One SAE's side of a pass: its workspace (sparse latents) and running counts over the blocks. */
    private static final class Stream implements AutoCloseable {
        final SparseAutoencoder sae;
        final Rows rows;
        final String what;
        final Workspace workspace;
        final StepStats stats;
        final float[] x, xhat;
        final long[] fired;
        final double[] colSum, colSq;
        long nonzeros;
        double squaredError;

        Stream(Input in, int block, String what) {
            sae = in.sae();
            rows = in.rows();
            this.what = what;
            int d = sae.dIn(), m = sae.dSae();
            Backend be = sae.backend();
            x = new float[block * d];
            xhat = new float[block * d];
            fired = new long[m];
            colSum = new double[d];
            colSq = new double[d];
            workspace = be.workspace(new WorkspaceSpec(block, d, m, LatentStorage.SPARSE, false));
            stats = new StepStats(be, 1, m);
        }

        void add(long start, int n) throws IOException {
            Backend be = sae.backend();
            int d = sae.dIn();
            rows.read(start, n, x);
            NonFiniteInputException.requireFinite(x, n, d, what + " rows " + start + ".." + (start + n));
            for (int r = 0; r < n; r++)
                for (int k = 0; k < d; k++) {
                    double v = x[r * d + k];
                    colSum[k] += v;
                    colSq[k] += v * v;
                }
            be.upload(x, 0, workspace.input(), 0, n * d);
            be.encode(sae.tensors(), sae.activation(), workspace, n, stats.at(0));
            sae.decode(workspace, n);
            be.download(workspace.reconstruction(), 0, xhat, 0, n * d);
            StepStats.Snapshot s = stats.drain(1);
            nonzeros += s.nonzeros()[0];
            for (int i = 0; i < fired.length; i++) fired[i] += s.firing()[i];
            for (int q = 0; q < n * d; q++) {
                double e = xhat[q] - x[q];
                squaredError += e * e;
            }
        }

        Side side(long tokens) {
            double variance = 0, total = 0; // sum over tokens of ||x - mean x||^2, and of ||x||^2
            for (int k = 0; k < colSum.length; k++) {
                variance += colSq[k] - colSum[k] * colSum[k] / tokens;
                total += colSq[k];
            }
            // rows that do not vary leave only the sums' rounding (about 1e-14 of the total), which
            // made the FVU of constant rows 2.6e13: below this floor the FVU is undefined
            if (variance <= VARIANCE_FLOOR * total) variance = 0;
            double[] freq = new double[fired.length];
            int dead = 0;
            for (int i = 0; i < fired.length; i++) {
                freq[i] = (double) fired[i] / tokens;
                if (fired[i] == 0) dead++;
            }
            return new Side(freq, dead, (double) nonzeros / tokens, squaredError / tokens,
                    variance > 0 ? squaredError / variance : Double.NaN);
        }

        @Override
        public void close() {
            stats.close();
            workspace.close();
        }
    }
}
