package io.sae4j;

import java.util.Arrays;

/**
 * Latents of {@code rows} inputs in sparse form (CSR): row r's nonzero latents are
 * {@code indices[rowStart[r] .. rowStart[r + 1])} with their {@code values}, in increasing index
 * order. A trained SAE fires a few percent of its latents, so this is what to keep.
 */
public record Encoded(int rows, int dSae, int[] rowStart, int[] indices, float[] values) {
    /** Number of latents that fire on row r (its L0). */
    public int l0(int row) {
        return rowStart[row + 1] - rowStart[row];
    }

    /** Mean L0 over the rows. */
    public double meanL0() {
        return rows == 0 ? 0 : (double) rowStart[rows] / rows;
    }

    /** Row r's latent indices. */
    public int[] indices(int row) {
        return Arrays.copyOfRange(indices, rowStart[row], rowStart[row + 1]);
    }

    /** Row r's latent values, in the order of {@link #indices(int)}. */
    public float[] values(int row) {
        return Arrays.copyOfRange(values, rowStart[row], rowStart[row + 1]);
    }

    /** The dense (rows, dSae) matrix, row-major. */
    public float[] dense() {
        float[] f = new float[Math.multiplyExact(rows, dSae)];
        for (int r = 0; r < rows; r++)
            for (int e = rowStart[r]; e < rowStart[r + 1]; e++) f[r * dSae + indices[e]] = values[e];
        return f;
    }

    /** From a dense (rows, dSae) matrix. */
    static Encoded of(float[] dense, int rows, int dSae) {
        int[] start = new int[rows + 1];
        int n = 0;
        for (float v : dense) if (v != 0) n++;
        int[] idx = new int[n];
        float[] val = new float[n];
        int k = 0;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < dSae; i++) {
                float v = dense[r * dSae + i];
                if (v != 0) {
                    idx[k] = i;
                    val[k++] = v;
                }
            }
            start[r + 1] = k;
        }
        return new Encoded(rows, dSae, start, idx, val);
    }
}
