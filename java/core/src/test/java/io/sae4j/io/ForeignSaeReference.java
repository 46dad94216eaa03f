package io.sae4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

/**
 * Other libraries' encoders written out in double from their published formulas (DESIGN.md,
 * "Other tools' files"), for checking what sae4j computes from their files. Shapes: x (rows, d),
 * W_enc (d, m), W_dec (m, d).
 */
final class ForeignSaeReference {
    private ForeignSaeReference() {}

    static float[] gaussian(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * r.nextGaussian());
        return v;
    }

    /** hidden_pre = (s x - b_dec [if subtracted]) W_enc + b_enc, per row. */
    static double[] hiddenPre(float[] x, int rows, int d, int m, float[] wEnc, float[] bEnc, float[] bDec, boolean subtract,
                              double s) {
        double[] pre = new double[rows * m];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < m; i++) {
                double v = bEnc[i];
                for (int k = 0; k < d; k++) v += (s * x[r * d + k] - (subtract ? bDec[k] : 0)) * wEnc[k * m + i];
                pre[r * m + i] = v;
            }
        return pre;
    }

    static double[] relu(double[] pre) {
        return Arrays.stream(pre).map(v -> Math.max(v, 0)).toArray();
    }

    /** TopK of the raw pre-activations, then ReLU (SAELens, OpenAI; sparsify's order gives the same without ties). */
    static double[] topK(double[] pre, int rows, int m, int k) {
        double[] f = new double[pre.length];
        for (int r = 0; r < rows; r++) {
            Integer[] order = new Integer[m];
            for (int i = 0; i < m; i++) order[i] = i;
            final int row = r;
            Arrays.sort(order, (a, b) -> Double.compare(pre[row * m + b], pre[row * m + a]));
            for (int j = 0; j < k; j++) f[r * m + order[j]] = Math.max(pre[r * m + order[j]], 0);
        }
        return f;
    }

    /** relu(h) [h > threshold_i]. */
    static double[] jumpRelu(double[] pre, int m, float[] threshold) {
        double[] f = new double[pre.length];
        for (int j = 0; j < pre.length; j++) f[j] = pre[j] > 0 && pre[j] > threshold[j % m] ? pre[j] : 0;
        return f;
    }

    /** (sum_i f_i scale_i W_dec,i + b_dec) / s. */
    static double[] decode(double[] f, int rows, int d, int m, float[] wDec, float[] bDec, double[] latentScale, double s) {
        double[] xh = new double[rows * d];
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < d; k++) {
                double v = bDec[k];
                for (int i = 0; i < m; i++) v += f[r * m + i] * (latentScale == null ? 1 : latentScale[i]) * wDec[i * d + k];
                xh[r * d + k] = v / s;
            }
        return xh;
    }

    /** ||got - want|| / ||want|| within bound, and the same latents nonzero. */
    static void assertClose(double[] want, float[] got, double bound, String what) {
        assertEquals(want.length, got.length, what + ": length");
        double num = 0, den = 0;
        int maskDiff = 0;
        for (int i = 0; i < want.length; i++) {
            num += (got[i] - want[i]) * (got[i] - want[i]);
            den += want[i] * want[i];
            maskDiff += (got[i] != 0) != (want[i] != 0) ? 1 : 0;
        }
        double err = Math.sqrt(num / den);
        assertTrue(err <= bound, what + ": relative error " + err + " > " + bound);
        assertEquals(0, maskDiff, what + ": elements zero in one and not the other");
    }
}
