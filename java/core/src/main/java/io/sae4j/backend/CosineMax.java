package io.sae4j.backend;

/**
 * Row and column maxima of a cosine (or Pearson) matrix between vector sets a (n1) and b (n2):
 * {@code rowMax[i] = max_j C[i][j]} at {@code j = rowArg[i]}, {@code colMax[j] = max_i C[i][j]} at
 * {@code i = colArg[j]}. Ties resolve to the smallest index.
 */
public record CosineMax(float[] rowMax, int[] rowArg, float[] colMax, int[] colArg) {}
