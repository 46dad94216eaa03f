package io.sae4j.backend;

/**
 * The activation of an SAE's encoder, a parameter of the encoder and backward kernels
 * (DESIGN.md): relu (L1 penalty); topk (keep the k largest pre-activations, then relu); batchtopk
 * (the batch's B k largest); jumprelu (pre * [pre > threshold_i], threshold (m) on the backend).
 * A backend says which it runs through {@link Backend#supports(Kind)}.
 */
public record Activation(Kind kind, int k, FloatBuf threshold) {
    public enum Kind {
        RELU, TOPK, BATCHTOPK, JUMPRELU;

        /** The native libraries' SAE4J_ACT_* value. */
        public int code() {
            return ordinal();
        }
    }

    public static final Activation RELU = new Activation(Kind.RELU, 0, null);

    public Activation {
        if (kind == null) throw new IllegalArgumentException("activation kind is null");
        if ((kind == Kind.TOPK || kind == Kind.BATCHTOPK) && k < 1)
            throw new IllegalArgumentException(kind + " needs k >= 1, got " + k);
        if (kind == Kind.JUMPRELU && threshold == null)
            throw new IllegalArgumentException("jumprelu needs a threshold buffer");
    }

    public static Activation topK(int k) {
        return new Activation(Kind.TOPK, k, null);
    }

    public static Activation batchTopK(int k) {
        return new Activation(Kind.BATCHTOPK, k, null);
    }

    public static Activation jumpRelu(FloatBuf threshold) {
        return new Activation(Kind.JUMPRELU, 0, threshold);
    }
}
