package io.sae4j.backend;

/**
 * Plain double-precision references for the kernels (row-major, shapes as in sae4j_cpu.h). The
 * tests compare the native float32 results with these, and differentiate {@link #loss} numerically.
 */
final class Reference {
    private Reference() {}

    /** C (M, N) = op(A) op(B), op(A) (M, K). */
    static double[] gemm(boolean ta, boolean tb, int M, int N, int K, float[] A, float[] B) {
        double[] C = new double[M * N];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < K; k++)
                    s += (double) (ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
                C[i * N + j] = s;
            }
        return C;
    }

    /** The SAE's tensors in double, with the transposed encoder as the kernels keep it. */
    record Sae(int d, int m, double[] wEncT, double[] bEnc, double[] wDec, double[] bDec) {}

    static double[] toDouble(float[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[i];
        return r;
    }

    /** f (B, m) = relu((x - b_dec) W_encT^T + b_enc). */
    static double[] encode(Sae s, float[] x, int B) {
        return encode(s, x, B, 0);
    }

    /** As above; with topk > 0 each row keeps only its topk largest pre-activations (ties to the lower index). */
    static double[] encode(Sae s, float[] x, int B, int topk) {
        double[] f = new double[B * s.m];
        for (int b = 0; b < B; b++) {
            double[] pre = new double[s.m];
            for (int i = 0; i < s.m; i++) {
                double p = s.bEnc[i];
                for (int k = 0; k < s.d; k++) p += (x[b * s.d + k] - s.bDec[k]) * s.wEncT[i * s.d + k];
                pre[i] = p;
            }
            for (int i = 0; i < s.m; i++) {
                int above = 0; // latents ranked before i
                for (int j = 0; topk > 0 && j < s.m; j++) if (pre[j] > pre[i] || (pre[j] == pre[i] && j < i)) above++;
                f[b * s.m + i] = topk > 0 && above >= topk ? 0 : Math.max(pre[i], 0);
            }
        }
        return f;
    }

    /** xhat (B, d) = f W_dec + b_dec. */
    static double[] decode(Sae s, double[] f, int B) {
        double[] xh = new double[B * s.d];
        for (int b = 0; b < B; b++)
            for (int k = 0; k < s.d; k++) {
                double v = s.bDec[k];
                for (int i = 0; i < s.m; i++) v += f[b * s.m + i] * s.wDec[i * s.d + k];
                xh[b * s.d + k] = v;
            }
        return xh;
    }

    static double[] rowNorms(double[] w, int rows, int cols) {
        double[] n = new double[rows];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int c = 0; c < cols; c++) ss += w[r * cols + c] * w[r * cols + c];
            n[r] = Math.sqrt(ss);
        }
        return n;
    }

    /** {mse, l1}: per-token means of ||x - xhat||^2 and sum_i f_i ||W_dec,i||. */
    static double[] losses(Sae s, float[] x, int B) {
        return losses(s, x, B, 0);
    }

    static double[] losses(Sae s, float[] x, int B, int topk) {
        double[] f = encode(s, x, B, topk), xh = decode(s, f, B), n = rowNorms(s.wDec, s.m, s.d);
        double sq = 0, l1 = 0;
        for (int b = 0; b < B; b++) {
            for (int k = 0; k < s.d; k++) {
                double r = xh[b * s.d + k] - x[b * s.d + k];
                sq += r * r;
            }
            for (int i = 0; i < s.m; i++) l1 += f[b * s.m + i] * n[i];
        }
        return new double[] {sq / B, l1 / B};
    }

    static double loss(Sae s, float[] x, int B, double lambda) {
        return loss(s, x, B, lambda, 0);
    }

    static double loss(Sae s, float[] x, int B, double lambda, int topk) {
        double[] l = losses(s, x, B, topk);
        return l[0] + lambda * l[1];
    }

    /** Analytic gradients {gW_encT, gb_enc, gW_dec, gb_dec} (the formulas of sae_backward.cpp). */
    static double[][] gradients(Sae s, float[] x, int B, double lambda) {
        return gradients(s, x, B, lambda, 0);
    }

    /** ... of TopK(topk) when topk > 0: the same through the kept latents. */
    static double[][] gradients(Sae s, float[] x, int B, double lambda, int topk) {
        int d = s.d, m = s.m;
        double[] f = encode(s, x, B, topk), xh = decode(s, f, B), n = rowNorms(s.wDec, m, d);
        double[] gWe = new double[m * d], gbe = new double[m], gWd = new double[m * d], gbd = new double[d];
        for (int b = 0; b < B; b++) {
            double[] err = new double[d];
            for (int k = 0; k < d; k++) {
                err[k] = 2.0 / B * (xh[b * d + k] - x[b * d + k]);
                gbd[k] += err[k];
            }
            for (int i = 0; i < m; i++) {
                double fi = f[b * m + i];
                if (fi <= 0) continue;
                double dp = lambda * n[i] / B;
                for (int k = 0; k < d; k++) dp += err[k] * s.wDec[i * d + k];
                gbe[i] += dp;
                for (int k = 0; k < d; k++) {
                    gWd[i * d + k] += fi * err[k] + lambda / B * fi * s.wDec[i * d + k] / n[i];
                    gWe[i * d + k] += dp * (x[b * d + k] - s.bDec[k]);
                    gbd[k] -= dp * s.wEncT[i * d + k];
                }
            }
        }
        return new double[][] {gWe, gbe, gWd, gbd};
    }

    /** e (B, d) = x - xhat of the TopK(topk) SAE: the residual AuxK reconstructs. */
    static double[] residual(Sae s, float[] x, int B, int topk) {
        double[] xh = decode(s, encode(s, x, B, topk), B), e = new double[B * s.d];
        for (int i = 0; i < e.length; i++) e[i] = x[i] - xh[i];
        return e;
    }

    /** a (B, dead.length): per row the kAux largest relu(pre) of the dead latents (ties to the lower index). */
    static double[] auxActivations(Sae s, float[] x, int B, int[] dead, int kAux) {
        int n = dead.length;
        double[] a = new double[B * n];
        for (int b = 0; b < B; b++) {
            double[] pre = new double[n];
            for (int j = 0; j < n; j++) {
                int i = dead[j];
                double p = s.bEnc[i];
                for (int k = 0; k < s.d; k++) p += (x[b * s.d + k] - s.bDec[k]) * s.wEncT[i * s.d + k];
                pre[j] = p;
            }
            for (int j = 0; j < n; j++) {
                int above = 0;
                for (int q = 0; q < n; q++) if (pre[q] > pre[j] || (pre[q] == pre[j] && q < j)) above++;
                a[b * n + j] = above >= kAux ? 0 : Math.max(pre[j], 0);
            }
        }
        return a;
    }

    /** AuxK's loss alpha/B sum_b ||sum_j a_bj W_dec,dead_j - e_b||^2 with the residual e held fixed. */
    static double auxLoss(Sae s, float[] x, int B, int[] dead, int kAux, double alpha, double[] e) {
        double[] a = auxActivations(s, x, B, dead, kAux);
        double sq = 0;
        for (int b = 0; b < B; b++)
            for (int k = 0; k < s.d; k++) {
                double r = -e[b * s.d + k];
                for (int j = 0; j < dead.length; j++) r += a[b * dead.length + j] * s.wDec[dead[j] * s.d + k];
                sq += r * r;
            }
        return alpha * sq / B;
    }

    /** Its gradients {gW_encT, gb_enc, gW_dec, gb_dec}, written out from the chain rule (e fixed). */
    static double[][] auxGradients(Sae s, float[] x, int B, int[] dead, int kAux, double alpha, double[] e) {
        int d = s.d, m = s.m, n = dead.length;
        double[] a = auxActivations(s, x, B, dead, kAux);
        double[] gWe = new double[m * d], gbe = new double[m], gWd = new double[m * d], gbd = new double[d];
        for (int b = 0; b < B; b++) {
            double[] g = new double[d];
            for (int k = 0; k < d; k++) {
                double r = -e[b * d + k];
                for (int j = 0; j < n; j++) r += a[b * n + j] * s.wDec[dead[j] * d + k];
                g[k] = 2 * alpha / B * r;
            }
            for (int j = 0; j < n; j++) {
                double aj = a[b * n + j];
                if (aj <= 0) continue;
                int i = dead[j];
                double dA = 0;
                for (int k = 0; k < d; k++) dA += g[k] * s.wDec[i * d + k];
                gbe[i] += dA;
                for (int k = 0; k < d; k++) {
                    gWd[i * d + k] += aj * g[k];
                    gWe[i * d + k] += dA * (x[b * d + k] - s.bDec[k]);
                    gbd[k] -= dA * s.wEncT[i * d + k];
                }
            }
        }
        return new double[][] {gWe, gbe, gWd, gbd};
    }

    /**
     * cos(a_i, b_j) for vectors given as rows (n, d) or columns (d, n), optionally centred; a zero
     * vector has cosine 0, and when centring a constant vector has NaN (r undefined).
     */
    static double[][] cosines(float[] A, int n1, boolean aCols, float[] B, int n2, boolean bCols, int d,
                              boolean center) {
        double[][] a = unit(A, n1, aCols, d, center), b = unit(B, n2, bCols, d, center);
        double[][] c = new double[n1][n2];
        for (int i = 0; i < n1; i++)
            for (int j = 0; j < n2; j++) {
                double s = 0;
                for (int k = 0; k < d; k++) s += a[i][k] * b[j][k];
                c[i][j] = s;
            }
        return c;
    }

    private static double[][] unit(float[] M, int n, boolean cols, int d, boolean center) {
        double[][] u = new double[n][d];
        for (int i = 0; i < n; i++) {
            double mean = 0, ss = 0;
            for (int k = 0; k < d; k++) mean += u[i][k] = cols ? M[k * n + i] : M[i * d + k];
            mean = center ? mean / d : 0;
            for (int k = 0; k < d; k++) ss += (u[i][k] - mean) * (u[i][k] - mean);
            double inv = ss > 0 ? 1 / Math.sqrt(ss) : center ? Double.NaN : 0;
            for (int k = 0; k < d; k++) u[i][k] = (u[i][k] - mean) * inv;
        }
        return u;
    }
}
