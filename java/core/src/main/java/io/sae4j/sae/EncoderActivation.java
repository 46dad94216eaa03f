package io.sae4j.sae;

import io.sae4j.backend.Activation;
import java.util.Arrays;

/**
 * The encoder's activation of an SAE given on the host (DESIGN.md): ReLU and TopK (the k largest of
 * relu(pre)), which sae4j trains, and JumpReLU (relu(pre) where pre > threshold_i), which it runs
 * forward for SAEs read from other libraries. {@link SparseAutoencoder} moves it to the
 * backend as an {@link Activation}.
 */
public record EncoderActivation(Activation.Kind kind, int k, float[] threshold) {
    public static final EncoderActivation RELU = new EncoderActivation(Activation.Kind.RELU, 0, null);

    public EncoderActivation {
        switch (kind) {
            case RELU -> {}
            case TOPK -> {
                if (k < 1) throw new IllegalArgumentException("topk needs k >= 1, got " + k);
            }
            case JUMPRELU -> {
                if (threshold == null) throw new IllegalArgumentException("jumprelu needs a threshold");
                for (int i = 0; i < threshold.length; i++)
                    if (Float.isNaN(threshold[i]))
                        throw new IllegalArgumentException("jumprelu threshold " + i + " is NaN");
            }
            default -> throw new IllegalArgumentException(kind + " is not an activation sae4j runs forward (relu, topk, jumprelu)");
        }
    }

    public static EncoderActivation topK(int k) {
        return new EncoderActivation(Activation.Kind.TOPK, k, null);
    }

    public static EncoderActivation jumpRelu(float[] threshold) {
        return new EncoderActivation(Activation.Kind.JUMPRELU, 0, threshold.clone());
    }

    /** "relu", "topk (k 32)", "jumprelu". */
    public String describe() {
        return switch (kind) {
            case TOPK -> "topk (k " + k + ")";
            default -> kind.name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EncoderActivation e && e.kind == kind && e.k == k && Arrays.equals(e.threshold, threshold);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * kind.hashCode() + k) + Arrays.hashCode(threshold);
    }
}
