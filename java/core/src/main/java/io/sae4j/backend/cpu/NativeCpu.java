package io.sae4j.backend.cpu;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Opaque;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;
import org.bytedeco.openblas.presets.openblas;

/**
 * JNI binding of native/include/sae4j_cpu.h, generated and compiled by JavaCPP's Builder during
 * {@code mvn package} (native/src is compiled into the same library). One static native per C entry
 * point, no logic: {@link CpuBackend} validates, allocates and interprets statuses. The shapes of
 * every argument are documented in the header.
 */
@Properties(
        inherit = openblas.class,
        value = @Platform(
                value = "linux-x86_64",
                include = "sae4j_cpu.h",
                includeresource = "/org/bytedeco/openblas/linux-x86_64/include/",
                linkresource = "/org/bytedeco/openblas/linux-x86_64/"))
@NoException
public final class NativeCpu {
    static {
        Loader.load();
    }

    private NativeCpu() {}

    public static final int OK = 0, ERR_ARG = 1, ERR_NOMEM = 2, ERR_UNSUPPORTED = 3;
    public static final int ISA_AUTO = 0, ISA_PORTABLE = 1, ISA_AVX2 = 2, ISA_AVX512 = 3;

    /** sae4j_cpu_ctx: one backend instance's thread pool and instruction set. */
    @Opaque @Name("sae4j_cpu_ctx")
    public static final class Ctx extends Pointer {
        public Ctx() { super((Pointer) null); }
    }

    /** sae4j_cpu_batch: one batch workspace. */
    @Opaque @Name("sae4j_cpu_batch")
    public static final class Batch extends Pointer {
        public Batch() { super((Pointer) null); }
    }

    @Opaque @Name("sae4j_cpu_coact")
    public static final class Coact extends Pointer {
        public Coact() { super((Pointer) null); }
    }

    @Name("sae4j_cpu_cpu_supports") public static native int cpuSupports(int isa);
    @Name("sae4j_cpu_isa_for_features")
    public static native int isaForFeatures(@Cast("uint32_t") int leaf1Ecx, @Cast("uint32_t") int leaf7Ebx,
            @Cast("uint32_t") int ext1Ecx, @Cast("uint64_t") long xcr0);
    @Name("sae4j_cpu_blas_core") public static native @Cast("const char*") BytePointer blasCore();
    @Name("sae4j_cpu_ctx_create") public static native Ctx ctxCreate(int threads, int isa, IntPointer status);
    @Name("sae4j_cpu_ctx_destroy") public static native void ctxDestroy(Ctx ctx);
    @Name("sae4j_cpu_ctx_threads") public static native int ctxThreads(@Const Ctx ctx);
    @Name("sae4j_cpu_ctx_isa") public static native int ctxIsa(@Const Ctx ctx);

    @Name("sae4j_cpu_gemm")
    public static native int gemm(Ctx ctx, int transA, int transB, long M, long N, long K, float alpha,
            @Const FloatPointer A, long lda, @Const FloatPointer B, long ldb, float beta, FloatPointer C, long ldc);

    @Name("sae4j_cpu_batch_create")
    public static native Batch batchCreate(Ctx ctx, long rows, long d, long maxM, int storage, double maxDensity,
            int training, IntPointer status);
    @Name("sae4j_cpu_batch_destroy") public static native void batchDestroy(Batch batch);
    @Name("sae4j_cpu_batch_x") public static native FloatPointer batchX(Batch batch);
    @Name("sae4j_cpu_batch_f") public static native FloatPointer batchF(Batch batch);
    @Name("sae4j_cpu_batch_xhat") public static native FloatPointer batchXhat(Batch batch);
    @Name("sae4j_cpu_batch_sparse") public static native int batchSparse(@Const Batch batch);
    @Name("sae4j_cpu_sum_sq_dev") public static native int sumSqDev(Ctx ctx, Batch batch, long B, FloatPointer out);

    @Name("sae4j_cpu_sae_encode")
    public static native int saeEncode(Ctx ctx, Batch batch, long B, long m, @Const FloatPointer params, int act,
            long k, @Const FloatPointer threshold, @Cast("int32_t*") IntPointer nnz, @Cast("int32_t*") IntPointer firing);

    @Name("sae4j_cpu_sae_decode")
    public static native int saeDecode(Ctx ctx, Batch batch, long B, long m, @Const FloatPointer params);

    @Name("sae4j_cpu_sae_backward")
    public static native int saeBackward(Ctx ctx, Batch batch, long B, long m, @Const FloatPointer params, int act,
            long k, @Const FloatPointer threshold, float lambda, FloatPointer grads, FloatPointer losses);

    @Name("sae4j_cpu_auxk_workspace")
    public static native long auxkWorkspace(long B, long d, long maxDead, long kAux);

    @Name("sae4j_cpu_auxk_backward")
    public static native int auxkBackward(Ctx ctx, Batch batch, long B, long m, @Const FloatPointer params,
            @Cast("const int32_t*") IntPointer dead, long nDead, @Cast("const int32_t*") IntPointer firing, long kAux,
            float alpha, FloatPointer work,
            FloatPointer grads, FloatPointer loss);

    @Name("sae4j_cpu_remove_radial")
    public static native int removeRadial(Ctx ctx, long rows, long cols, @Const FloatPointer W, FloatPointer G);

    @Name("sae4j_cpu_normalize_rows")
    public static native int normalizeRows(Ctx ctx, long rows, long cols, FloatPointer W);

    @Name("sae4j_cpu_adam_step")
    public static native int adamStep(Ctx ctx, long n, FloatPointer p, @Const FloatPointer g, FloatPointer m1,
            FloatPointer m2, float lr, float beta1, float beta2, float eps, long t);

    @Name("sae4j_cpu_cosine_max_workspace")
    public static native long cosineMaxWorkspace(@Const Ctx ctx, long n1, long n2, long d);

    @Name("sae4j_cpu_cosine_max")
    public static native int cosineMax(Ctx ctx, long n1, long n2, long d, @Const FloatPointer A, int aColumns,
            @Const FloatPointer B, int bColumns, int center, FloatPointer rowMax, @Cast("int32_t*") IntPointer rowArg,
            FloatPointer colMax, @Cast("int32_t*") IntPointer colArg, FloatPointer work);

    @Name("sae4j_cpu_cosine_topk_workspace")
    public static native long cosineTopkWorkspace(@Const Ctx ctx, long n1, long n2, long d, long kRow, long kCol);

    @Name("sae4j_cpu_cosine_topk")
    public static native int cosineTopk(Ctx ctx, long n1, long n2, long d, @Const FloatPointer A, int aColumns,
            @Const FloatPointer B, int bColumns, int absolute, long kRow, FloatPointer rowVal,
            @Cast("int32_t*") IntPointer rowIdx, long kCol, FloatPointer colVal, @Cast("int32_t*") IntPointer colIdx,
            FloatPointer work);

    @Name("sae4j_cpu_coact_create")
    public static native Coact coactCreate(long m1, long m2, IntPointer status);

    @Name("sae4j_cpu_coact_destroy")
    public static native void coactDestroy(Coact acc);

    @Name("sae4j_cpu_coact_add")
    public static native int coactAdd(Ctx ctx, Coact acc, @Const Batch a, @Const Batch b, long B);

    @Name("sae4j_cpu_coact_tokens")
    public static native long coactTokens(@Const Coact acc);

    @Name("sae4j_cpu_coact_maxima")
    public static native int coactMaxima(Ctx ctx, Coact acc, FloatPointer rowMax, @Cast("int32_t*") IntPointer rowArg,
            FloatPointer colMax, @Cast("int32_t*") IntPointer colArg);

    @Name("sae4j_cpu_cosine_block")
    public static native int cosineBlock(Ctx ctx, long n1, long n2, long d, @Const FloatPointer A, int aColumns,
            @Const FloatPointer B, int bColumns, int center, long i0, long i1, FloatPointer C, FloatPointer work);
}
