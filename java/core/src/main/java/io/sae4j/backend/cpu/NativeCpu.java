package io.sae4j.backend.cpu;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.NoException;
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

    public static final int OK = 0, ERR_ARG = 1, ERR_NONFINITE = 2, ERR_UNSUPPORTED = 3;
    public static final int ISA_AUTO = 0, ISA_PORTABLE = 1, ISA_AVX2 = 2, ISA_AVX512 = 3;

    @Name("sae4j_cpu_set_threads") public static native int setThreads(int n);
    @Name("sae4j_cpu_get_threads") public static native int getThreads();
    @Name("sae4j_cpu_cpu_supports") public static native int cpuSupports(int isa);
    @Name("sae4j_cpu_set_isa") public static native int setIsa(int isa);
    @Name("sae4j_cpu_get_isa") public static native int getIsa();
    @Name("sae4j_cpu_blas_core") public static native @Cast("const char*") String blasCore();

    @Name("sae4j_cpu_gemm")
    public static native int gemm(int transA, int transB, long M, long N, long K, float alpha,
            @Const FloatPointer A, long lda, @Const FloatPointer B, long ldb, float beta,
            FloatPointer C, long ldc);

    @Name("sae4j_cpu_center_rows")
    public static native int centerRows(long B, long d, @Const FloatPointer x, @Const FloatPointer b,
            FloatPointer out, @Cast("int64_t*") LongPointer badIndex);

    @Name("sae4j_cpu_row_norms")
    public static native int rowNorms(long rows, long cols, @Const FloatPointer A, FloatPointer norms);


    @Name("sae4j_cpu_relu_epilogue")
    public static native int reluEpilogue(long B, long m, @Const FloatPointer pre,
            @Const FloatPointer bEnc, FloatPointer f, IntPointer rowNnz, long csrCap,
            @Cast("int64_t*") LongPointer rowPtr, IntPointer col, FloatPointer val,
            @Cast("int64_t*") LongPointer nnz, IntPointer csrOk);

    @Name("sae4j_cpu_decode")
    public static native int decode(long B, long m, long d, @Const FloatPointer f,
            @Cast("const int64_t*") LongPointer rowPtr, @Const IntPointer col, @Const FloatPointer val,
            @Const FloatPointer wDec, @Const FloatPointer bDec, FloatPointer xhat);

    @Name("sae4j_cpu_count_active")
    public static native int countActive(long B, long m, @Const FloatPointer f,
            @Cast("const int64_t*") LongPointer rowPtr, @Const IntPointer col, FloatPointer counts);

    @Name("sae4j_cpu_relu_l1_backward")
    public static native int reluL1Backward(long B, long d, long m, @Const FloatPointer x,
            @Const FloatPointer xc, @Const FloatPointer f, @Cast("const int64_t*") LongPointer rowPtr,
            @Const IntPointer col, @Const FloatPointer val, @Const FloatPointer xhat,
            @Const FloatPointer wEncT, @Const FloatPointer wDec, @Const FloatPointer decNorms,
            float lambda, FloatPointer gWEncT, FloatPointer gbEnc, FloatPointer gWDec,
            FloatPointer gbDec, FloatPointer losses, FloatPointer err, FloatPointer dpre, FloatPointer scratch);

    @Name("sae4j_cpu_relu_l1_backward_scratch")
    public static native long reluL1BackwardScratch(long B, long m);

    @Name("sae4j_cpu_adam_step")
    public static native int adamStep(long n, FloatPointer p, @Const FloatPointer g, FloatPointer m1,
            FloatPointer m2, float lr, float beta1, float beta2, float eps, long t);

    @Name("sae4j_cpu_cosine_max_workspace")
    public static native long cosineMaxWorkspace(long n1, long n2, long d);

    @Name("sae4j_cpu_cosine_max")
    public static native int cosineMax(long n1, long n2, long d, @Const FloatPointer A, int aColumns,
            @Const FloatPointer B, int bColumns, int center, FloatPointer rowMax, IntPointer rowArg,
            FloatPointer colMax, IntPointer colArg, FloatPointer work);

    @Name("sae4j_cpu_cosine_block")
    public static native int cosineBlock(long n1, long n2, long d, @Const FloatPointer A, int aColumns,
            @Const FloatPointer B, int bColumns, int center, long i0, long i1, FloatPointer C,
            FloatPointer work);
}
