package io.sae4j.backend;

/**
 * What one {@link Backend#auxKBackward} call needs beside the SAE: its dead latents (the first
 * {@code deadCount} ints of {@code dead}, strictly ascending), how many of them reconstruct each
 * row's residual ({@code kAux}), the loss coefficient {@code alpha}, scratch of
 * {@link Backend#auxKScratchFloats} floats, and optionally the SAE's firing counts since the dead
 * list was made ({@code firing}, one per latent, or null): a listed latent that has fired since
 * takes no part.
 */
public record AuxK(IntBuf dead, long deadCount, long kAux, float alpha, FloatBuf scratch, IntBuf firing) {
    public AuxK {
        if (dead == null || scratch == null) throw new IllegalArgumentException("auxK: dead list and scratch are required");
        if (deadCount < 0 || deadCount > dead.length())
            throw new IllegalArgumentException("auxK: dead count " + deadCount + " outside 0.." + dead.length());
        if (kAux < 1) throw new IllegalArgumentException("auxK: k_aux must be >= 1, got " + kAux);
        if (!(alpha >= 0) || Float.isInfinite(alpha))
            throw new IllegalArgumentException("auxK: the coefficient must be finite and >= 0, got " + alpha);
    }
}
