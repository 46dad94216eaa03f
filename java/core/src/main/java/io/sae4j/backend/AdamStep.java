package io.sae4j.backend;

/** Hyper-parameters of one Adam step; {@code t} (from 1) is the step number for bias correction. */
public record AdamStep(float lr, float beta1, float beta2, float eps, long t) {
    public AdamStep {
        if (!(lr >= 0) || Float.isInfinite(lr)) throw new IllegalArgumentException("adam: lr must be finite and >= 0, got " + lr);
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
            throw new IllegalArgumentException("adam: betas must be in [0, 1), got " + beta1 + ", " + beta2);
        if (!(eps > 0)) throw new IllegalArgumentException("adam: eps must be > 0, got " + eps);
        if (t < 1) throw new IllegalArgumentException("adam: step t must be >= 1, got " + t);
    }
}
