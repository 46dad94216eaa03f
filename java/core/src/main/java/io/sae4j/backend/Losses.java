package io.sae4j.backend;

/**
 * Per-token means of one batch: {@code mse} = ||x - xhat||^2 summed over d, {@code l1} = sum_i
 * f_i ||W_dec,i|| (the penalty before its coefficient).
 */
public record Losses(double mse, double l1) {}
