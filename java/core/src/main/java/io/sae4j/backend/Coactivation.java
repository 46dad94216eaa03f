package io.sae4j.backend;

/**
 * Running sums over tokens for the exact Pearson correlation of two SAEs' latents (DESIGN.md,
 * Metrics): S (m1, m2) = sum_t f_i(t) g_j(t), nonzero only for co-active pairs, and per latent the
 * sums of f and f^2, all in double, kept by the backend; memory is independent of the token count.
 * Made by {@link Backend#coactivation}, fed by {@link Backend#coactivate} one batch at a time, read
 * by {@link Backend#correlationMaxima}.
 */
public interface Coactivation extends AutoCloseable {
    long m1();

    long m2();

    /** Rows accumulated so far. */
    long tokens();

    @Override
    void close();
}
