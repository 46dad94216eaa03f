package io.sae4j.io;

import java.nio.file.Path;

/** What every reader of another library's files does to the weights it reads. */
final class ForeignWeights {
    private ForeignWeights() {}

    /** The (cols, rows) transpose of a (rows, cols) row-major matrix: nn.Linear weights to W_enc/W_dec. */
    static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }

    /**
     * b_enc + b_dec W_enc (summed in double): the bias that makes pre = (x - b_dec) W_enc + b_enc'
     * equal an encoder's x W_enc + b_enc that takes the input without b_dec. W_enc is (d, m).
     */
    static float[] foldInputBias(float[] bEnc, float[] bDec, float[] wEnc, int d, int m) {
        float[] out = new float[m];
        for (int i = 0; i < m; i++) {
            double s = bEnc[i];
            for (int k = 0; k < d; k++) s += (double) bDec[k] * wEnc[k * m + i];
            out[i] = (float) s;
        }
        return out;
    }

    /** data, or one line naming the tensor and the first NaN or Inf in it. */
    static float[] finite(float[] data, String name, Path file) throws FormatException {
        for (int i = 0; i < data.length; i++)
            if (!Float.isFinite(data[i])) throw new FormatException(file, "tensor '" + name + "' holds NaN or Inf at flat index " + i);
        return data;
    }
}
