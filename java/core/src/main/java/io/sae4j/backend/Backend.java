package io.sae4j.backend;

import java.nio.FloatBuffer;

/**
 * The compute operations sae4j's model, trainer and metrics are written against: buffers, copies,
 * one dense GEMM and one method per fused kernel. Implementations: {@code CpuBackend} (OpenBLAS +
 * native/) and {@code CudaBackend} (cuBLAS + cuda/); find them with {@link Backends}.
 *
 * <p>An instance owns its context (CPU: thread pool and instruction set; CUDA: device, stream and
 * cuBLAS handle): creating or closing one never changes another. Kernels may run asynchronously;
 * results stay in backend buffers ({@link StepStats}, {@link CosineMaxima}) until the host reads
 * them: downloads wait for the work before them, {@link #sync()} waits for everything.
 *
 * <p>Matrices are row-major float32 with B = batch rows, d = d_in, m = d_sae. Every method checks
 * sizes and ownership of the buffers it is given and throws {@link IllegalArgumentException}
 * naming the argument before any native code runs.
 */
public interface Backend extends AutoCloseable {
    /** Short name: "cpu", "cuda". */
    String name();

    /** One line on what runs: instruction set, threads and BLAS core, or device and memory. */
    String describe();

    /** Whether the encoder runs this activation (the backward takes RELU and TOPK: what sae4j trains). */
    boolean supports(Activation.Kind kind);

    /**
     * Whether {@link #gemm} multiplies in float32 (CUDA with TF32 allowed does not): exact matching's
     * certificate compares GEMM results with bounds to float32 precision.
     */
    default boolean exactFloat32() {
        return true;
    }

    // ---- memory ----

    FloatBuf allocate(long floats);

    IntBuf allocateInts(long ints);

    void upload(float[] src, int srcOffset, FloatBuf dst, long dstOffset, int n);

    /** Copies src's remaining floats into dst at dstOffset (src's position is left unchanged). */
    void upload(FloatBuffer src, FloatBuf dst, long dstOffset);

    void download(FloatBuf src, long srcOffset, float[] dst, int dstOffset, int n);

    void upload(int[] src, int srcOffset, IntBuf dst, long dstOffset, int n);

    void download(IntBuf src, long srcOffset, int[] dst, int dstOffset, int n);

    void fill(FloatBuf dst, float value);

    void fill(IntBuf dst, int value);

    /** Waits until every operation enqueued on this backend has finished. */
    void sync();

    default float[] download(FloatBuf src) {
        float[] out = new float[hostLength(src)];
        download(src, 0, out, 0, out.length);
        return out;
    }

    default int[] download(IntBuf src) {
        int[] out = new int[hostLength(src)];
        download(src, 0, out, 0, out.length);
        return out;
    }

    default FloatBuf upload(float[] src) {
        FloatBuf buf = allocate(Math.max(1, src.length));
        upload(src, 0, buf, 0, src.length);
        return buf;
    }

    private static int hostLength(Buf<?> b) {
        if (b.length() > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("buffer of " + b.length() + " elements is too large for a Java array");
        return (int) b.length();
    }

    // ---- dense ----

    /** c = alpha op(a) op(b) + beta c, with op(a) (M, K), op(b) (K, N) and c (M, N) not transposed. */
    void gemm(float alpha, Matrix a, Matrix b, float beta, Matrix c);

    // ---- SAE kernels ----

    /** Memory for batches of the given shape; see {@link Workspace}. */
    Workspace workspace(WorkspaceSpec spec);

    /** out[index] (=) = sum over the first rows of ws's input of ||x_r - mean(x)||^2 (FVU denominator). */
    void sumSquaredDeviation(Workspace ws, long rows, FloatBuf out, long index);

    /**
     * Encoder for the first {@code rows} rows of ws's input: f = act((x - b_dec) W_enc + b_enc)
     * into ws's latents, held sparse or dense as ws's policy says. When stats is not null: its
     * nonzero count (=) and firing counts (+=).
     */
    void encode(SaeTensors params, Activation act, Workspace ws, long rows, StepStats.Slot stats);

    /** xhat (rows, d) = f W_dec + b_dec into ws's reconstruction, from the last encode of ws. */
    void decode(SaeTensors params, Workspace ws, long rows);

    /**
     * Gradients (=) of the loss ||x - xhat||^2 + lambda sum_i f_i ||W_dec,i|| (mean over the rows)
     * after {@link #encode} and {@link #decode} of the same rows and parameters; b_dec's gradient
     * includes its path through the encoder input. stats (may be null) receives the losses.
     * ws must be a training workspace. act is relu or topk (which has no penalty: lambda 0).
     */
    void backward(SaeTensors params, Activation act, float lambda, SaeTensors grads, Workspace ws, long rows,
                  StepStats.Slot stats);

    /** Whether this backend runs {@link #auxKBackward} (else it and its scratch size throw UnsupportedOperationException). */
    default boolean supportsAuxK() {
        return false;
    }

    /** Floats of scratch {@link #auxKBackward} needs for batches of spec and up to spec's latents dead. */
    default long auxKScratchFloats(WorkspaceSpec spec, long kAux) {
        throw new UnsupportedOperationException(describe() + ": no AuxK on this backend");
    }

    /**
     * AuxK, TopK training's loss on dead latents (Gao et al. 2024, appendix A.2), right after
     * {@link #backward} of the same rows: the aux.kAux() largest relu(pre) among aux's dead latents
     * reconstruct the residual e = x - xhat, held fixed and without b_dec, at loss
     * alpha / rows * sum_b ||ehat_b - e_b||^2. Its gradient is added to grads; stats (may be null)
     * receives it as {@link StepStats.Slot#auxLoss}. Overwrites ws's latents: ws then holds no encode.
     */
    default void auxKBackward(SaeTensors params, AuxK aux, SaeTensors grads, Workspace ws, long rows, StepStats.Slot stats) {
        throw new UnsupportedOperationException(describe() + ": no AuxK on this backend");
    }

    /** In-place Adam over all of params (n floats), with gradients and moments of the same length. */
    void adamStep(FloatBuf params, FloatBuf grads, AdamState moments, AdamStep step);

    /**
     * TopK training keeps W_dec's rows at unit norm (Gao et al. 2024): before the optimiser step,
     * grads' W_dec rows lose their component along params' rows, g_i -= (g_i . w_i / ||w_i||^2) w_i.
     * Rows with w_i = 0 are left as they are.
     */
    void removeDecoderRadial(SaeTensors params, SaeTensors grads);

    /** ... and after it, every nonzero W_dec row of params is rescaled to unit norm. */
    void normalizeDecoder(SaeTensors params);

    // ---- matching ----

    /**
     * Row and column maxima (with argmax) of cos(a_i, b_j) into out, without forming the matrix;
     * with center, each vector's mean is removed first (Pearson r) and a constant vector takes part
     * in no maximum (max -inf, index -1). Ties pick the smallest index.
     */
    void cosineMax(VectorSet a, VectorSet b, boolean center, CosineMaxima out);

    /**
     * The out.kRow() largest cosines of every row and out.kCol() of every column of
     * cos(a_i, b_j) (no centring), ranked by the cosine or, when absolute, by its absolute value,
     * into out's lists (signed cosines, ties to the smaller index), without storing the matrix: the
     * candidate edges of exact matching at any size. Every entry left out of a list ranks at most
     * as high as the list's last entry, up to the float rounding of a cosine.
     */
    void cosineTopK(VectorSet a, VectorSet b, boolean absolute, CosineTopK out);

    /** Rows [i0, i1) of the cosine matrix into out (i1 - i0, b.count()), row-major. */
    void cosineBlock(VectorSet a, VectorSet b, boolean center, long i0, long i1, FloatBuf out);

    // ---- exact activation correlation ----

    /** Whether this backend runs {@link #coactivation} and its companions (else they throw UnsupportedOperationException). */
    default boolean supportsCoactivation() {
        return false;
    }

    /**
     * Zeroed sums for the exact correlation of an m1-latent SAE with an m2-latent one: S alone takes
     * 8 m1 m2 bytes.
     */
    default Coactivation coactivation(long m1, long m2) {
        throw new UnsupportedOperationException(describe() + ": no exact activation correlation on this backend");
    }

    /**
     * Adds the last encodes of the same rows in a (acc.m1() latents) and b (acc.m2()) to acc. Both
     * workspaces must hold their latents sparse ({@link LatentStorage#SPARSE}).
     */
    default void coactivate(Coactivation acc, Workspace a, Workspace b, long rows) {
        throw new UnsupportedOperationException(describe() + ": no exact activation correlation on this backend");
    }

    /**
     * Pearson r maxima both ways from acc's sums into out (row i: max over j, column j: max over i),
     * clamped to [-1, 1], ties to the smaller index; a latent without variance (dead, or one value on
     * every row) takes part in no maximum: -inf and index -1.
     */
    default void correlationMaxima(Coactivation acc, CosineMaxima out) {
        throw new UnsupportedOperationException(describe() + ": no exact activation correlation on this backend");
    }

    /** Frees everything this backend allocated that is still open, then its context. */
    @Override
    void close();
}
