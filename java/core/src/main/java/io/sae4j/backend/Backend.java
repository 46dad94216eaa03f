package io.sae4j.backend;

import java.nio.FloatBuffer;

/**
 * The compute operations sae4j's model, trainer and metrics are written against: buffers, copies,
 * dense GEMM and one method per fused kernel. Implementations: {@code CpuBackend} (OpenBLAS +
 * native/) and the CUDA backend. Matrices are row-major float32; shapes are given as (rows, cols)
 * with B = batch rows, d = d_in, m = d_sae; the encoder is kept transposed, W_encT (m, d).
 *
 * <p>Every method validates sizes against the buffers it is given and throws
 * {@link IllegalArgumentException} naming the argument, before any native code runs.
 */
public interface Backend extends AutoCloseable {
    /** Short name, e.g. "cpu". */
    String name();

    /** One line on what runs: instruction set, threads, BLAS core or device. */
    String describe();

    FloatBuf allocate(long floats);

    /** A CSR for batches of up to {@code rows} rows; see {@link Csr} for capacity and maxDensity. */
    Csr allocateCsr(long rows, long capacity, double maxDensity);

    void upload(float[] src, int srcOffset, FloatBuf dst, long dstOffset, int n);

    /** Copies src's remaining floats into dst at dstOffset (src's position is left unchanged). */
    void upload(FloatBuffer src, FloatBuf dst, long dstOffset);

    void download(FloatBuf src, long srcOffset, float[] dst, int dstOffset, int n);

    default float[] download(FloatBuf src) {
        if (src.length() > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("buffer of " + src.length() + " floats is too large for a Java array");
        float[] out = new float[(int) src.length()];
        download(src, 0, out, 0, out.length);
        return out;
    }

    default FloatBuf upload(float[] src) {
        FloatBuf buf = allocate(src.length);
        upload(src, 0, buf, 0, src.length);
        return buf;
    }

    /** C (M, N) = alpha op(A) op(B) + beta C, op(A) (M, K), op(B) (K, N). */
    void gemm(boolean transA, boolean transB, long M, long N, long K, float alpha, FloatBuf A, long lda,
              FloatBuf B, long ldb, float beta, FloatBuf C, long ldc);

    /** out (rows, d) = x - b per row; throws {@link NonFiniteInputException} on NaN/Inf in x. */
    void centerRows(long rows, long d, FloatBuf x, FloatBuf b, FloatBuf out, String what);

    /** norms (rows) = ||A_r|| of A (rows, cols). */
    void rowNorms(long rows, long cols, FloatBuf A, FloatBuf norms);

    /**
     * f (B, m) = relu(pre + b_enc) (f may be pre); fills csr when the nonzeros fit it.
     * Returns the batch's number of nonzeros.
     */
    long reluEpilogue(long B, long m, FloatBuf pre, FloatBuf bEnc, FloatBuf f, Csr csr);

    /** xhat (B, d) = f W_dec + b_dec, sparse through csr when csr is valid, else dense. */
    void decode(long B, long m, long d, FloatBuf f, Csr csr, FloatBuf wDec, FloatBuf bDec, FloatBuf xhat);

    /** counts (m) += rows of f (B, m) where each latent is > 0 (from csr when valid). */
    void countActive(long B, long m, FloatBuf f, Csr csr, FloatBuf counts);

    /**
     * Gradients (=) of the decoder-norm-weighted ReLU-L1 loss; see native/include/sae4j_cpu.h.
     * Scratch: err (B, d), dpre (B, m), scratch ({@link #reluL1BackwardScratch} floats).
     */
    Losses reluL1Backward(long B, long d, long m, FloatBuf x, FloatBuf xc, FloatBuf f, Csr csr, FloatBuf xhat,
                          FloatBuf wEncT, FloatBuf wDec, FloatBuf decNorms, float lambda,
                          FloatBuf gWEncT, FloatBuf gbEnc, FloatBuf gWDec, FloatBuf gbDec,
                          FloatBuf err, FloatBuf dpre, FloatBuf scratch);

    /** Floats of scratch {@link #reluL1Backward} needs for a batch of B rows and m latents. */
    long reluL1BackwardScratch(long B, long m);

    /** In-place Adam over n parameters; step t starts at 1. */
    void adamStep(long n, FloatBuf p, FloatBuf g, FloatBuf m1, FloatBuf m2, float lr, float beta1, float beta2,
                  float eps, long t);

    /**
     * Maxima of cos(a_i, b_j) over the other index, without forming the matrix. A holds n1 vectors
     * of length d as rows (n1, d), or as columns (d, n1) when aColumns; likewise B. With center,
     * each vector's mean is removed first (Pearson correlation).
     */
    CosineMax cosineMax(long n1, long n2, long d, FloatBuf A, boolean aColumns, FloatBuf B, boolean bColumns,
                        boolean center);

    /** The full (n1, n2) cosine matrix, row-major, for exact matching on modest sizes. */
    float[] cosineMatrix(long n1, long n2, long d, FloatBuf A, boolean aColumns, FloatBuf B, boolean bColumns,
                         boolean center);

    @Override
    void close();
}
