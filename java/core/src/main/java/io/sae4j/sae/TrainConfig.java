package io.sae4j.sae;

/**
 * How SAEs are trained (shared by every SAE of a multi-SAE run). Immutable; {@link #builder()}.
 *
 * @param batchSize       tokens per step
 * @param steps           optimiser steps
 * @param lr              Adam learning rate after warmup
 * @param lrWarmupSteps   linear lr warmup from 0 over these steps
 * @param lrDecayFraction linear decay to 0 over this final fraction of steps (0 = none)
 * @param l1WarmupSteps   linear warmup of the L1 coefficient from 0 over these steps
 * @param beta1           Adam beta1
 * @param beta2           Adam beta2
 * @param eps             Adam epsilon
 * @param logEvery        steps between training-log records (and dead-latent updates)
 * @param checkpointEvery steps between checkpoints (0 = only at the end); a multiple of logEvery
 * @param deadWindowTokens a latent that has not fired in this many tokens counts as dead
 * @param resampleEvery   resample dead latents every this many steps in the first half of training
 *                        (0 = never; see {@link #resamplesAt})
 * @param auxKCoefficient TopK SAEs: the weight of AuxK, the loss that gives dead latents a gradient
 *                        (0 = off), against the main MSE as sparsify's auxk_alpha (default there
 *                        1/32), scaled down as there by dead / k_aux when fewer latents are dead
 *                        than AuxK keeps; OpenAI's code divides AuxK's error by the residual's
 *                        variance, not the input's, which makes the same number about 1/FVU times
 *                        stronger. Dead
 *                        means not fired in the last {@code deadWindowTokens} tokens, as of the
 *                        latest collect of the statistics
 * @param auxKLatents     how many dead latents AuxK keeps per token (0 = d_in / 2, Gao et al.'s choice)
 */
public record TrainConfig(int batchSize, long steps, double lr, long lrWarmupSteps, double lrDecayFraction,
                          long l1WarmupSteps, double beta1, double beta2, double eps, int logEvery,
                          long checkpointEvery, long deadWindowTokens, long resampleEvery, double auxKCoefficient,
                          int auxKLatents) {
    public TrainConfig {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (steps < 1) throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        if (steps > Long.MAX_VALUE / batchSize) // token counters are steps x batch size
            throw new IllegalArgumentException("steps x batch size = " + steps + " x " + batchSize + " overflows a token count");
        if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("lr must be > 0, got " + lr);
        if (lrWarmupSteps < 0 || l1WarmupSteps < 0 || checkpointEvery < 0)
            throw new IllegalArgumentException("warmup and checkpoint intervals must be >= 0");
        if (!(lrDecayFraction >= 0 && lrDecayFraction <= 1))
            throw new IllegalArgumentException("lr decay fraction must be in [0, 1], got " + lrDecayFraction);
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0))
            throw new IllegalArgumentException("Adam needs 0 <= beta < 1 and eps > 0");
        if (logEvery < 1) throw new IllegalArgumentException("log interval must be >= 1, got " + logEvery);
        if (checkpointEvery % logEvery != 0)
            throw new IllegalArgumentException("checkpoint interval " + checkpointEvery + " must be a multiple of the log interval "
                    + logEvery + " (a checkpoint closes a log interval, so a resumed log matches an uninterrupted one)");
        if (deadWindowTokens < 1) throw new IllegalArgumentException("dead window must be >= 1 token");
        if (resampleEvery < 0) throw new IllegalArgumentException("resample interval must be >= 0 steps, got " + resampleEvery);
        if (!(auxKCoefficient >= 0) || Double.isInfinite(auxKCoefficient))
            throw new IllegalArgumentException("AuxK coefficient must be finite and >= 0, got " + auxKCoefficient);
        if (auxKLatents < 0) throw new IllegalArgumentException("AuxK latents must be >= 0 (0: d_in / 2), got " + auxKLatents);
    }

    /** Whether TopK SAEs train with AuxK. */
    public boolean auxK() {
        return auxKCoefficient > 0;
    }

    /** Dead latents AuxK keeps per token for SAEs of input width dIn. */
    public int auxKLatentsFor(int dIn) {
        return auxKLatents > 0 ? auxKLatents : Math.max(1, dIn / 2);
    }

    /**
     * Whether dead latents are resampled after step t (1-based): at multiples of
     * {@code resampleEvery} up to half the steps, so resampled latents have the second half, with
     * its lr decay, to settle before the run's figures are read.
     */
    public boolean resamplesAt(long t) {
        return resampleEvery > 0 && t % resampleEvery == 0 && t <= steps / 2;
    }

    /** The last resampling step before step t (0 when none): a latent is dead if it has not fired since. */
    public long lastResampleBefore(long t) {
        if (resampleEvery <= 0) return 0;
        long k = Math.min((t - 1) / resampleEvery, (steps / 2) / resampleEvery);
        return Math.max(0, k) * resampleEvery;
    }

    /** Learning rate at step t (1-based): warmup, constant, then linear decay. */
    public double lrAt(long t) {
        double f = lrWarmupSteps > 0 ? Math.min(1.0, (double) t / lrWarmupSteps) : 1.0;
        long decayStart = steps - (long) Math.floor(lrDecayFraction * steps);
        if (lrDecayFraction > 0 && t > decayStart) f = Math.min(f, (double) (steps - t + 1) / (steps - decayStart + 1));
        return lr * f;
    }

    /** Fraction of the L1 coefficient applied at step t (1-based). */
    public double l1ScaleAt(long t) {
        return l1WarmupSteps > 0 ? Math.min(1.0, (double) t / l1WarmupSteps) : 1.0;
    }

    /** The Adam learning rate of the library and the CLI alike. */
    public static final double DEFAULT_LR = 1e-3;
    /** The final fraction of steps over which the learning rate decays to 0, library and CLI. */
    public static final double DEFAULT_LR_DECAY = 0.2;
    /** Tokens without firing after which a latent counts as dead. */
    public static final long DEFAULT_DEAD_WINDOW = 1_000_000;
    /** Tokens per step, library and CLI. */
    public static final int DEFAULT_BATCH = 4096;

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private int batchSize = DEFAULT_BATCH;
        private long steps = -1;
        private double lr = DEFAULT_LR;
        private long lrWarmup = -1, l1Warmup = -1;
        private double lrDecayFraction = DEFAULT_LR_DECAY;
        private double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        private int logEvery = 100;
        private long checkpointEvery = 0;
        private long deadWindow = DEFAULT_DEAD_WINDOW;
        private long resampleEvery = 0;
        private double auxK = 0;
        private int auxKLatents = 0;

        public Builder setSteps(long v) { steps = v; return this; }
        public Builder optBatchSize(int v) { batchSize = v; return this; }
        public Builder optLr(double v) { lr = v; return this; }
        /** Default: 5% of steps. */
        public Builder optLrWarmupSteps(long v) { lrWarmup = v; return this; }
        public Builder optLrDecayFraction(double v) { lrDecayFraction = v; return this; }
        /** Default: 5% of steps. */
        public Builder optL1WarmupSteps(long v) { l1Warmup = v; return this; }
        public Builder optAdam(double b1, double b2, double e) { beta1 = b1; beta2 = b2; eps = e; return this; }
        public Builder optLogEvery(int v) { logEvery = v; return this; }
        public Builder optCheckpointEvery(long v) { checkpointEvery = v; return this; }
        public Builder optDeadWindowTokens(long v) { deadWindow = v; return this; }
        /** Resample dead latents every this many steps in the first half (default 0: never). */
        public Builder optResampleEvery(long v) { resampleEvery = v; return this; }
        /** TopK SAEs: AuxK with this coefficient (Gao et al. 2024: 1/32; default 0: off). */
        public Builder optAuxK(double coefficient) { auxK = coefficient; return this; }
        /** Dead latents AuxK keeps per token (default 0: d_in / 2). */
        public Builder optAuxKLatents(int v) { auxKLatents = v; return this; }

        public TrainConfig build() {
            if (steps < 1) throw new IllegalArgumentException("steps is required and must be >= 1");
            long fivePct = Math.max(1, steps / 20);
            return new TrainConfig(batchSize, steps, lr, lrWarmup < 0 ? fivePct : lrWarmup, lrDecayFraction,
                    l1Warmup < 0 ? fivePct : l1Warmup, beta1, beta2, eps, logEvery, checkpointEvery, deadWindow,
                    resampleEvery, auxK, auxKLatents);
        }
    }
}
