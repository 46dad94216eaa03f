package io.sae4j.backend.cuda;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Opaque;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI binding of cuda/include/sae4j_cuda.h. The kernels are compiled by nvcc (cuda/build.sh) and
 * linked with the static CUDA runtime into this class's JNI library by JavaCPP's Builder during
 * {@code mvn package}; where nvcc is missing the library is absent and loading this class fails,
 * which {@link CudaBackendProvider} reports. One static native per C entry point, no logic.
 */
@Platform(value = "linux-x86_64", include = "sae4j_cuda.h")
@NoException
public final class NativeCuda {
    static {
        Loader.load();
    }

    private NativeCuda() {}

    public static final int OK = 0, ERR_ARG = 1, ERR_NOMEM = 2, ERR_UNSUPPORTED = 3, ERR_CUDA = 4;
    public static final int COSINE_FP32 = 0, COSINE_TF32 = 1;
    public static final int PATH_AUTO = -1, PATH_DENSE = 0, PATH_SPARSE = 1;

    /** sae4j_cuda_ctx: a device and a stream. */
    @Opaque @Name("sae4j_cuda_ctx")
    public static final class Ctx extends Pointer {
        public Ctx() { super((Pointer) null); }
    }

    /** sae4j_cuda_coact: the sums of an exact activation correlation, in device memory. */
    @Opaque @Name("sae4j_cuda_coact")
    public static final class Coact extends Pointer {
        public Coact() { super((Pointer) null); }
    }

    /** sae4j_cuda_batch: one batch workspace in device memory. */
    @Opaque @Name("sae4j_cuda_batch")
    public static final class Batch extends Pointer {
        public Batch() { super((Pointer) null); }
    }

    @Name("sae4j_cuda_probe") public static native int probe(IntPointer deviceCount, IntPointer cudaError);
    @Name("sae4j_cuda_error_name") public static native @Cast("const char*") BytePointer errorName(int cudaError);
    @Name("sae4j_cuda_error_string") public static native @Cast("const char*") BytePointer errorString(int cudaError);
    @Name("sae4j_cuda_versions") public static native int versions(IntPointer runtime, IntPointer driver);
    @Name("sae4j_cuda_device_info")
    public static native int deviceInfo(int device, @Cast("char*") BytePointer name, int len, IntPointer ccMajor,
            IntPointer ccMinor, @Cast("int64_t*") LongPointer totalBytes);
    @Name("sae4j_cuda_last_error") public static native @Cast("const char*") BytePointer lastError();

    @Name("sae4j_cuda_ctx_create") public static native Ctx ctxCreate(int device, IntPointer status);
    @Name("sae4j_cuda_ctx_destroy") public static native void ctxDestroy(Ctx ctx);
    @Name("sae4j_cuda_ctx_stream") public static native Pointer ctxStream(Ctx ctx);

    @Name("sae4j_cuda_malloc") public static native Pointer malloc(Ctx ctx, long bytes, IntPointer status);
    @Name("sae4j_cuda_free") public static native int free(Ctx ctx, Pointer ptr);
    @Name("sae4j_cuda_upload") public static native int upload(Ctx ctx, Pointer dst, @Const Pointer hostSrc, long bytes);
    @Name("sae4j_cuda_download") public static native int download(Ctx ctx, Pointer hostDst, @Const Pointer src, long bytes);
    @Name("sae4j_cuda_fill_f32") public static native int fillF32(Ctx ctx, FloatPointer dst, long n, float value);
    @Name("sae4j_cuda_fill_i32")
    public static native int fillI32(Ctx ctx, @Cast("int32_t*") IntPointer dst, long n, int value);
    @Name("sae4j_cuda_sync") public static native int sync(Ctx ctx);

    @Name("sae4j_cuda_batch_create")
    public static native Batch batchCreate(Ctx ctx, long rows, long d, long maxM, int storage, double maxDensity,
            int training, IntPointer status);
    @Name("sae4j_cuda_batch_destroy") public static native void batchDestroy(Batch batch);
    @Name("sae4j_cuda_batch_x") public static native FloatPointer batchX(Batch batch);
    @Name("sae4j_cuda_batch_xc") public static native FloatPointer batchXc(Batch batch);
    @Name("sae4j_cuda_batch_f") public static native FloatPointer batchF(Batch batch);
    @Name("sae4j_cuda_batch_xhat") public static native FloatPointer batchXhat(Batch batch);
    @Name("sae4j_cuda_batch_err") public static native FloatPointer batchErr(Batch batch);
    @Name("sae4j_cuda_batch_dpre") public static native FloatPointer batchDpre(Batch batch);
    @Name("sae4j_cuda_batch_norms") public static native FloatPointer batchNorms(Batch batch);
    @Name("sae4j_cuda_batch_sparse") public static native int batchSparse(@Const Batch batch);
    @Name("sae4j_cuda_sum_sq_dev") public static native int sumSqDev(Ctx ctx, Batch batch, long B, FloatPointer out);

    @Name("sae4j_cuda_center_rows")
    public static native int centerRows(Ctx ctx, long B, long d, @Const FloatPointer x, @Const FloatPointer b,
            FloatPointer out);
    @Name("sae4j_cuda_broadcast_rows")
    public static native int broadcastRows(Ctx ctx, long B, long d, @Const FloatPointer b, FloatPointer out);
    @Name("sae4j_cuda_row_norms")
    public static native int rowNorms(Ctx ctx, long rows, long cols, @Const FloatPointer A, FloatPointer norms);

    @Name("sae4j_cuda_remove_radial")
    public static native int removeRadial(Ctx ctx, long rows, long cols, @Const FloatPointer W, FloatPointer G);
    @Name("sae4j_cuda_normalize_rows")
    public static native int normalizeRows(Ctx ctx, long rows, long cols, FloatPointer W);

    @Name("sae4j_cuda_auxk_gather")
    public static native int auxkGather(Ctx ctx, long n, long d, long m, @Cast("const int32_t*") IntPointer dead,
            @Cast("const int32_t*") IntPointer firing, @Const FloatPointer params, FloatPointer wEncDead, FloatPointer wDecDead,
            FloatPointer bDead);
    @Name("sae4j_cuda_topk_relu")
    public static native int topkRelu(Ctx ctx, long B, long n, long k, @Const FloatPointer bias, FloatPointer f);
    @Name("sae4j_cuda_auxk_residual")
    public static native int auxkResidual(Ctx ctx, Batch batch, long B, float alpha, FloatPointer g);
    @Name("sae4j_cuda_auxk_mask_colsum")
    public static native int auxkMaskColsum(Ctx ctx, long B, long n, @Const FloatPointer a, FloatPointer dA,
            FloatPointer colSum);
    @Name("sae4j_cuda_scatter_add_rows")
    public static native int scatterAddRows(Ctx ctx, long n, long d, long m, @Cast("const int32_t*") IntPointer dead,
            @Const FloatPointer src, FloatPointer dst, @Const FloatPointer srcVec, FloatPointer dstVec);
    @Name("sae4j_cuda_auxk_loss")
    public static native int auxkLoss(Ctx ctx, Batch batch, long B, float alpha, FloatPointer loss);

    @Name("sae4j_cuda_sae_epilogue")
    public static native int saeEpilogue(Ctx ctx, Batch batch, long B, long m, @Const FloatPointer bEnc, int act, long k,
            @Const FloatPointer threshold, @Cast("int32_t*") IntPointer nnz, @Cast("int32_t*") IntPointer firing, int path);
    @Name("sae4j_cuda_sae_decode_sparse")
    public static native int saeDecodeSparse(Ctx ctx, Batch batch, long B, long m, @Const FloatPointer params);
    @Name("sae4j_cuda_sae_err") public static native int saeErr(Ctx ctx, Batch batch, long B, long d);
    @Name("sae4j_cuda_sae_dpre_sparse")
    public static native int saeDpreSparse(Ctx ctx, Batch batch, long B, long m, @Const FloatPointer params, float lambda);
    @Name("sae4j_cuda_sae_grads_sparse")
    public static native int saeGradsSparse(Ctx ctx, Batch batch, long B, long m, @Const FloatPointer params,
            float lambda, FloatPointer grads);
    @Name("sae4j_cuda_sae_dpre_dense")
    public static native int saeDpreDense(Ctx ctx, Batch batch, long B, long m, float lambda);
    @Name("sae4j_cuda_sae_grads_dense")
    public static native int saeGradsDense(Ctx ctx, Batch batch, long B, long m, @Const FloatPointer params, float lambda,
            FloatPointer grads);
    @Name("sae4j_cuda_sae_bdec_grad_partial")
    public static native int saeBdecGradPartial(Ctx ctx, Batch batch, long B, long m, FloatPointer grads);
    @Name("sae4j_cuda_sae_losses") public static native int saeLosses(Ctx ctx, Batch batch, long B, FloatPointer losses);

    @Name("sae4j_cuda_adam_step")
    public static native int adamStep(Ctx ctx, long n, FloatPointer p, @Const FloatPointer g, FloatPointer m1,
            FloatPointer m2, float lr, float beta1, float beta2, float eps, long t);

    @Name("sae4j_cuda_cosine_max_workspace") public static native long cosineMaxWorkspace(long n1, long n2, long d);
    @Name("sae4j_cuda_cosine_max")
    public static native int cosineMax(Ctx ctx, long n1, long n2, long d, @Const FloatPointer A, int aColumns,
            @Const FloatPointer B, int bColumns, int center, int precision, FloatPointer rowMax,
            @Cast("int32_t*") IntPointer rowArg, FloatPointer colMax, @Cast("int32_t*") IntPointer colArg, Pointer work);
    public static final int TOPK_MAX = 64; // SAE4J_CUDA_TOPK_MAX
    @Name("sae4j_cuda_topk_rows")
    public static native int topkRows(Ctx ctx, long rows, long n2, @Const FloatPointer block, int absolute, long k,
            FloatPointer rowVal, @Cast("int32_t*") IntPointer rowIdx);
    @Name("sae4j_cuda_topk_cols")
    public static native int topkCols(Ctx ctx, long rows, long n2, @Const FloatPointer block, long row0, int absolute,
            long k, FloatPointer colVal, @Cast("int32_t*") IntPointer colIdx);
    @Name("sae4j_cuda_normalise")
    public static native int normalise(Ctx ctx, long n, long d, @Const FloatPointer src, int columns, int center,
            FloatPointer out);

    @Name("sae4j_cuda_coact_create")
    public static native Coact coactCreate(Ctx ctx, long m1, long m2, long maxRows, IntPointer status);
    @Name("sae4j_cuda_coact_destroy") public static native void coactDestroy(Coact acc);
    @Name("sae4j_cuda_coact_add") public static native int coactAdd(Ctx ctx, Coact acc, @Const Batch a, @Const Batch b, long rows);
    @Name("sae4j_cuda_coact_tokens") public static native long coactTokens(@Const Coact acc);
    @Name("sae4j_cuda_coact_maxima")
    public static native int coactMaxima(Ctx ctx, Coact acc, FloatPointer rowMax, @Cast("int32_t*") IntPointer rowArg,
            FloatPointer colMax, @Cast("int32_t*") IntPointer colArg);
}
