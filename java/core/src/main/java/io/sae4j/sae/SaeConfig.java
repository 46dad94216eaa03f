package io.sae4j.sae;

/**
 * What an SAE is, independent of how it is trained: sizes, activation and sparsity penalty, init.
 * Immutable; build with {@link #builder()}: required {@code dIn} and one of {@code dSae} or
 * {@code ratio}; {@link Builder#build()} validates the combination.
 *
 * @param dIn            input width d (d_in)
 * @param dSae           number of latents m (d_sae)
 * @param architecture   "relu" (ReLU with decoder-norm-weighted L1, SAELens "standard") or "topk"
 *                       (the k largest pre-activations, then ReLU; no penalty; W_dec rows held at
 *                       unit norm: Gao et al. 2024)
 * @param k              topk's k (1..d_sae); 0 for relu
 * @param l1Coefficient  lambda of the L1 penalty sum_i f_i ||W_dec,i|| (relu; 0 for topk)
 * @param seed           initialisation seed (documented default 42)
 * @param decoderInitNorm norm of each W_dec row at init (SAELens default 0.1; topk: 1); W_enc = W_dec^T
 * @param targetL0       when > 0, training adapts lambda (starting from {@code l1Coefficient}) until
 *                       the SAE's L0 reaches this value (see {@link Trainer}): SAEs compared at matched
 *                       sparsity rather than at one lambda; 0 keeps lambda fixed
 */
public record SaeConfig(int dIn, int dSae, String architecture, int k, double l1Coefficient, long seed,
                        double decoderInitNorm, double targetL0) {
    public static final long DEFAULT_SEED = 42;
    /**
     * The L1 coefficient of the library and the CLI alike: with decoder-norm weighting and sae4j's
     * init it trains SAEs of L0 a few percent of d_sae on unit-scale activations (5.0, SAELens's
     * default for its own scale, left the latents of such data dead).
     */
    public static final double DEFAULT_L1 = 0.3;

    public SaeConfig {
        if (dIn < 1) throw new IllegalArgumentException("d_in must be >= 1, got " + dIn);
        if (dSae < 1) throw new IllegalArgumentException("d_sae must be >= 1, got " + dSae);
        if (2L * dIn * dSae + dIn + dSae > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("d_in = " + dIn + ", d_sae = " + dSae + ": 2 d_in d_sae + d_in + d_sae"
                    + " parameters exceed 2^31 - 9 (one buffer, one Java array on save)");
        if (!"relu".equals(architecture) && !"topk".equals(architecture))
            throw new IllegalArgumentException("architecture must be 'relu' or 'topk' (the ones sae4j trains), got '"
                    + architecture + "'");
        boolean topk = "topk".equals(architecture);
        if (topk ? k < 1 || k > dSae : k != 0)
            throw new IllegalArgumentException(topk ? "topk: k must be in 1..d_sae = " + dSae + ", got " + k
                    : "k is topk's; a relu SAE has k 0, got " + k);
        if (topk && (l1Coefficient != 0 || targetL0 != 0))
            throw new IllegalArgumentException("topk has no L1 penalty: its L1 coefficient and target L0 must be 0 (its L0 is k),"
                    + " got " + l1Coefficient + " and " + targetL0);
        if (topk && decoderInitNorm != 1)
            throw new IllegalArgumentException("topk holds the decoder rows at unit norm: decoder init norm must be 1, got "
                    + decoderInitNorm);
        if (!(l1Coefficient >= 0) || Double.isInfinite(l1Coefficient))
            throw new IllegalArgumentException("l1 coefficient must be finite and >= 0, got " + l1Coefficient);
        if (!(decoderInitNorm > 0) || Double.isInfinite(decoderInitNorm))
            throw new IllegalArgumentException("decoder init norm must be > 0, got " + decoderInitNorm);
        if (!(targetL0 >= 0) || targetL0 > dSae)
            throw new IllegalArgumentException("target L0 must be in [0, d_sae = " + dSae + "] (0: lambda fixed), got " + targetL0);
        if (targetL0 > 0 && l1Coefficient == 0)
            throw new IllegalArgumentException("a target L0 adapts lambda by factors: it needs an L1 coefficient > 0 to start from");
    }

    /** Expansion ratio d_sae / d_in. */
    public double ratio() {
        return (double) dSae / dIn;
    }

    public SaeConfig withSeed(long newSeed) {
        return new SaeConfig(dIn, dSae, architecture, k, l1Coefficient, newSeed, decoderInitNorm, targetL0);
    }

    public boolean topK() {
        return "topk".equals(architecture);
    }

    /** The encoder's activation: ReLU, or TopK(k). */
    public EncoderActivation activation() {
        return topK() ? EncoderActivation.topK(k) : EncoderActivation.RELU;
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private int dIn = -1, dSae = -1;
        private double ratio = -1;
        private String architecture = "relu";
        private int k;
        private Double l1; // null: DEFAULT_L1 for relu, 0 for topk
        private long seed = DEFAULT_SEED;
        private Double decoderInitNorm; // null: 0.1 for relu, 1 for topk
        private double targetL0 = 0;

        public Builder setDIn(int v) { dIn = v; return this; }
        public Builder setDSae(int v) { dSae = v; return this; }
        /** m = ratio * d_in (rounded); use instead of {@link #setDSae}. */
        public Builder setRatio(double v) { ratio = v; return this; }
        public Builder optArchitecture(String v) { architecture = v; return this; }
        /** A TopK SAE keeping the k largest latents per token (architecture "topk"; no L1 penalty). */
        public Builder optTopK(int v) { architecture = "topk"; k = v; return this; }
        public Builder optL1Coefficient(double v) { l1 = v; return this; }
        public Builder optSeed(long v) { seed = v; return this; }
        /** Adapt lambda during training until L0 reaches this (default 0: lambda fixed). */
        public Builder optTargetL0(double v) { targetL0 = v; return this; }
        public Builder optDecoderInitNorm(double v) { decoderInitNorm = v; return this; }

        public SaeConfig build() {
            if (dIn < 1) throw new IllegalArgumentException("d_in is required and must be >= 1");
            if ((dSae > 0) == (ratio > 0))
                throw new IllegalArgumentException("set exactly one of d_sae or ratio (got d_sae=" + dSae + ", ratio=" + ratio + ")");
            int m = dSae > 0 ? dSae : dSaeFor(ratio, dIn);
            if ((long) m * dIn > MAX_WEIGHTS)
                throw new IllegalArgumentException("d_sae " + m + " x d_in " + dIn + " is over the limit of " + MAX_WEIGHTS
                        + " weights per matrix");
            boolean topk = "topk".equals(architecture);
            return new SaeConfig(dIn, m, architecture, k, l1 == null ? (topk ? 0 : DEFAULT_L1) : l1, seed,
                    decoderInitNorm == null ? (topk ? 1 : 0.1) : decoderInitNorm, targetL0);
        }
    }

    /** The most weights one matrix (d_sae x d_in) may hold: files and host copies index it with an int. */
    public static final long MAX_WEIGHTS = Integer.MAX_VALUE;

    /**
     * d_sae = ratio x d_in, rounded; refused (naming the ratio, the d_sae it gives and the limit)
     * when the ratio is not a positive finite number or the SAE would be empty or too large.
     */
    public static int dSaeFor(double ratio, int dIn) {
        if (!(ratio > 0) || Double.isInfinite(ratio))
            throw new IllegalArgumentException("ratio must be a positive number, got " + ratio);
        double m = Math.rint(ratio * dIn);
        if (m < 1)
            throw new IllegalArgumentException("ratio " + ratio + " gives d_sae 0 for d_in " + dIn + " (the least ratio is "
                    + 0.5 / dIn + ")");
        if (m * dIn > MAX_WEIGHTS)
            throw new IllegalArgumentException("ratio " + ratio + " gives d_sae " + (long) m + " for d_in " + dIn
                    + ", over the limit of " + MAX_WEIGHTS / dIn + " (d_sae x d_in <= " + MAX_WEIGHTS + ")");
        return (int) m;
    }
}
