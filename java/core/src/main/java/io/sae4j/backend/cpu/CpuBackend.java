package io.sae4j.backend.cpu;

import io.sae4j.backend.Backend;
import io.sae4j.backend.CosineMax;
import io.sae4j.backend.Csr;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.Losses;
import io.sae4j.backend.NonFiniteInputException;
import java.nio.FloatBuffer;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Set;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;

/**
 * {@link Backend} over OpenBLAS and the native/ kernels. Buffers are off-heap (JavaCPP pointers)
 * and freed when closed; closing the backend frees whatever is still open. Sizes are checked here
 * against the buffers before each native call, which trusts them.
 *
 * <p>Threads: {@code -Dsae4j.threads} or {@code SAE4J_THREADS} (default: available processors).
 * Instruction set: {@code -Dsae4j.isa} or {@code SAE4J_ISA} = portable | avx2 | avx512 (default:
 * the best this CPU has).
 */
public final class CpuBackend implements Backend {
    private final Set<AutoCloseable> open = Collections.newSetFromMap(new IdentityHashMap<>());

    /** Small native outputs reused by every call (no allocation per training step); lock to use. */
    private static final class Small {
        final FloatPointer losses = new FloatPointer(2);
        final LongPointer index = new LongPointer(1);
    }

    private final Small small = new Small();

    public CpuBackend() {
        this(configuredThreads(), configuredIsa());
    }

    public CpuBackend(int threads, int isa) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        check(NativeCpu.setThreads(threads), "sae4j_cpu_set_threads");
        int status = NativeCpu.setIsa(isa);
        if (status == NativeCpu.ERR_UNSUPPORTED)
            throw new IllegalArgumentException("this CPU does not support instruction set " + isaName(isa));
        check(status, "sae4j_cpu_set_isa");
    }

    /** Instruction sets this CPU can run, best last (ISA_PORTABLE .. ISA_AVX512). */
    public static boolean supports(int isa) {
        return NativeCpu.cpuSupports(isa) == 1;
    }

    public static String isaName(int isa) {
        return switch (isa) {
            case NativeCpu.ISA_AUTO -> "auto";
            case NativeCpu.ISA_PORTABLE -> "portable";
            case NativeCpu.ISA_AVX2 -> "avx2";
            case NativeCpu.ISA_AVX512 -> "avx512";
            default -> "unknown(" + isa + ")";
        };
    }

    static int configuredThreads() {
        String v = setting("sae4j.threads", "SAE4J_THREADS");
        if (v == null) return Runtime.getRuntime().availableProcessors();
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("sae4j.threads / SAE4J_THREADS: expected an integer, got '" + v + "'");
        }
    }

    static int configuredIsa() {
        String v = setting("sae4j.isa", "SAE4J_ISA");
        if (v == null) return NativeCpu.ISA_AUTO;
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> NativeCpu.ISA_AUTO;
            case "portable" -> NativeCpu.ISA_PORTABLE;
            case "avx2" -> NativeCpu.ISA_AVX2;
            case "avx512" -> NativeCpu.ISA_AVX512;
            default -> throw new IllegalArgumentException(
                    "sae4j.isa / SAE4J_ISA: expected auto, portable, avx2 or avx512, got '" + v + "'");
        };
    }

    private static String setting(String property, String env) {
        String v = System.getProperty(property);
        return v != null ? v : System.getenv(env);
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String describe() {
        return "cpu: " + isaName(NativeCpu.getIsa()) + ", " + NativeCpu.getThreads() + " threads, OpenBLAS core "
                + NativeCpu.blasCore();
    }

    // ---- buffers ----

    final class Buf implements FloatBuf {
        final FloatPointer ptr;
        private final long length;
        private final boolean owner;
        private final Buf root; // the allocation a slice views; closing it invalidates every slice

        Buf(FloatPointer ptr, long length, Buf parent) {
            this.ptr = ptr;
            this.length = length;
            this.owner = parent == null;
            this.root = parent == null ? this : parent.root;
        }

        boolean closed() {
            return root.ptr.isNull();
        }

        @Override
        public long length() {
            return length;
        }

        @Override
        public FloatBuf slice(long offset, long len) {
            if (offset < 0 || len < 0 || offset + len > length)
                throw new IllegalArgumentException("slice [" + offset + ", " + (offset + len) + ") of a buffer of "
                        + length + " floats");
            FloatPointer view = ptr.getPointer(FloatPointer.class, offset);
            view.capacity(len).limit(len);
            return new Buf(view, len, this);
        }

        FloatBuffer nio() {
            return ptr.asBuffer();
        }

        @Override
        public void close() {
            if (!owner) return;
            synchronized (open) {
                if (!open.remove(this)) return;
            }
            ptr.close();
        }
    }

    @Override
    public FloatBuf allocate(long floats) {
        if (floats < 1) throw new IllegalArgumentException("allocate: need at least 1 float, got " + floats);
        FloatPointer p = new FloatPointer(floats);
        if (p.isNull()) throw new OutOfMemoryError("sae4j: could not allocate " + floats + " floats off-heap");
        Buf b = new Buf(p, floats, null);
        synchronized (open) {
            open.add(b);
        }
        return b;
    }

    static final class CpuCsr implements Csr {
        final long rows, capacity;
        final double maxDensity;
        long filledRows = -1, filledM = -1; // the (B, m) of the last epilogue
        final IntPointer rowNnz;
        final LongPointer rowPtr;
        final IntPointer col;
        final FloatPointer val;
        final LongPointer nnz = new LongPointer(1);
        final IntPointer ok = new IntPointer(1);

        private final Set<AutoCloseable> openRef;

        CpuCsr(long rows, long capacity, double maxDensity, Set<AutoCloseable> openRef) {
            this.openRef = openRef;
            this.maxDensity = maxDensity;
            this.rows = rows;
            this.capacity = capacity;
            rowNnz = new IntPointer(rows);
            rowPtr = capacity > 0 ? new LongPointer(rows + 1) : null;
            col = capacity > 0 ? new IntPointer(capacity) : null;
            val = capacity > 0 ? new FloatPointer(capacity) : null;
            nnz.put(0, 0);
            ok.put(0, 0);
        }

        @Override public long rows() { return rows; }
        @Override public long capacity() { return capacity; }
        @Override public double maxDensity() { return maxDensity; }
        @Override public long nnz() { return nnz.get(0); }
        @Override public boolean valid() { return ok.get(0) == 1; }

        @Override
        public void close() {
            synchronized (openRef) {
                openRef.remove(this);
            }
            rowNnz.close();
            nnz.close();
            ok.close();
            if (rowPtr != null) {
                rowPtr.close();
                col.close();
                val.close();
            }
        }
    }

    @Override
    public Csr allocateCsr(long rows, long capacity, double maxDensity) {
        if (rows < 1 || capacity < 0 || capacity > Integer.MAX_VALUE)
            throw new IllegalArgumentException("allocateCsr: rows must be >= 1 and capacity in [0, 2^31), got "
                    + rows + ", " + capacity);
        if (!(maxDensity >= 0 && maxDensity <= 1))
            throw new IllegalArgumentException("allocateCsr: maxDensity must be in [0, 1], got " + maxDensity);
        CpuCsr c = new CpuCsr(rows, capacity, maxDensity, open);
        synchronized (open) {
            open.add(c);
        }
        return c;
    }

    private static Buf buf(FloatBuf b, String what) {
        if (b == null) throw new IllegalArgumentException(what + ": buffer is null");
        if (!(b instanceof Buf cb)) throw new IllegalArgumentException(what + ": not a CPU buffer");
        if (cb.closed()) throw new IllegalArgumentException(what + ": buffer was closed");
        return cb;
    }

    private static FloatPointer ptr(FloatBuf b, long needed, String what) {
        Buf cb = buf(b, what);
        cb.require(needed, what);
        return cb.ptr;
    }

    private static CpuCsr csr(Csr c, long rows) {
        if (c == null) return null;
        if (!(c instanceof CpuCsr cc)) throw new IllegalArgumentException("csr: not a CPU CSR");
        if (cc.rows < rows) throw new IllegalArgumentException("csr: has " + cc.rows + " rows, batch has " + rows);
        return cc;
    }

    /** The CSR when it is valid for exactly this (B, m), null for the dense path; a mismatch is an error. */
    private static CpuCsr sparse(Csr c, long B, long m, String what) {
        CpuCsr cc = csr(c, B);
        if (cc == null || !cc.valid()) return null;
        if (cc.filledRows != B || cc.filledM != m)
            throw new IllegalArgumentException(what + ": csr was filled for (" + cc.filledRows + ", " + cc.filledM
                    + ") latents, used with (" + B + ", " + m + ")");
        return cc;
    }

    @Override
    public void upload(float[] src, int srcOffset, FloatBuf dst, long dstOffset, int n) {
        Buf d = buf(dst, "upload dst");
        checkRange(dstOffset, n, d.length, "upload dst");
        FloatBuffer nb = d.nio();
        nb.position(Math.toIntExact(dstOffset));
        nb.put(src, srcOffset, n);
    }

    @Override
    public void upload(FloatBuffer src, FloatBuf dst, long dstOffset) {
        Buf d = buf(dst, "upload dst");
        checkRange(dstOffset, src.remaining(), d.length, "upload dst");
        FloatBuffer nb = d.nio();
        nb.position(Math.toIntExact(dstOffset));
        nb.put(src.duplicate());
    }

    @Override
    public void download(FloatBuf src, long srcOffset, float[] dst, int dstOffset, int n) {
        Buf s = buf(src, "download src");
        checkRange(srcOffset, n, s.length, "download src");
        FloatBuffer nb = s.nio();
        nb.position(Math.toIntExact(srcOffset));
        nb.get(dst, dstOffset, n);
    }

    private static void checkRange(long offset, long n, long length, String what) {
        if (offset < 0 || n < 0 || offset + n > length)
            throw new IllegalArgumentException(what + ": range [" + offset + ", " + (offset + n)
                    + ") outside a buffer of " + length + " floats");
    }

    private static void check(int status, String fn) {
        switch (status) {
            case NativeCpu.OK -> {}
            case NativeCpu.ERR_ARG -> throw new IllegalArgumentException(fn + ": invalid size or argument");
            case NativeCpu.ERR_UNSUPPORTED -> throw new UnsupportedOperationException(fn + ": unsupported on this CPU");
            default -> throw new IllegalStateException(fn + ": status " + status);
        }
    }

    private static void positive(String what, long... v) {
        for (long x : v)
            if (x < 1) throw new IllegalArgumentException(what + ": sizes must be >= 1, got " + x);
    }

    // ---- kernels ----

    @Override
    public void gemm(boolean transA, boolean transB, long M, long N, long K, float alpha, FloatBuf A, long lda,
                     FloatBuf B, long ldb, float beta, FloatBuf C, long ldc) {
        positive("gemm", M, N, K);
        long aRows = transA ? K : M, bRows = transB ? N : K;
        if (lda < (transA ? M : K) || ldb < (transB ? K : N) || ldc < N)
            throw new IllegalArgumentException("gemm: leading dimensions too small");
        check(NativeCpu.gemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, alpha,
                ptr(A, (aRows - 1) * lda + (transA ? M : K), "gemm A"), lda,
                ptr(B, (bRows - 1) * ldb + (transB ? K : N), "gemm B"), ldb, beta,
                ptr(C, (M - 1) * ldc + N, "gemm C"), ldc), "sae4j_cpu_gemm");
    }

    @Override
    public void centerRows(long rows, long d, FloatBuf x, FloatBuf b, FloatBuf out, String what) {
        positive("centerRows", rows, d);
        synchronized (small) {
            LongPointer bad = small.index;
            int status = NativeCpu.centerRows(rows, d, ptr(x, rows * d, "centerRows x"), ptr(b, d, "centerRows b"),
                    ptr(out, rows * d, "centerRows out"), bad);
            if (status == NativeCpu.ERR_NONFINITE) throw new NonFiniteInputException(what, bad.get() / d, bad.get() % d);
            check(status, "sae4j_cpu_center_rows");
        }
    }

    @Override
    public void rowNorms(long rows, long cols, FloatBuf A, FloatBuf norms) {
        positive("rowNorms", rows, cols);
        check(NativeCpu.rowNorms(rows, cols, ptr(A, rows * cols, "rowNorms A"), ptr(norms, rows, "rowNorms norms")),
                "sae4j_cpu_row_norms");
    }

    @Override
    public long reluEpilogue(long B, long m, FloatBuf pre, FloatBuf bEnc, FloatBuf f, Csr csr) {
        positive("reluEpilogue", B, m);
        CpuCsr c = csr(csr, B);
        if (c == null) throw new IllegalArgumentException("reluEpilogue: csr is null (allocate one, capacity may be 0)");
        long cap = Math.min(c.capacity, (long) Math.floor(c.maxDensity * B * m));
        c.filledRows = c.filledM = -1;
        check(NativeCpu.reluEpilogue(B, m, ptr(pre, B * m, "reluEpilogue pre"), ptr(bEnc, m, "reluEpilogue b_enc"),
                ptr(f, B * m, "reluEpilogue f"), c.rowNnz, cap, c.rowPtr, c.col, c.val, c.nnz, c.ok),
                "sae4j_cpu_relu_epilogue");
        c.filledRows = B;
        c.filledM = m;
        return c.nnz.get(0);
    }

    @Override
    public void decode(long B, long m, long d, FloatBuf f, Csr csr, FloatBuf wDec, FloatBuf bDec, FloatBuf xhat) {
        positive("decode", B, m, d);
        CpuCsr c = sparse(csr, B, m, "decode");
        boolean sparse = c != null;
        check(NativeCpu.decode(B, m, d, sparse ? null : ptr(f, B * m, "decode f"), sparse ? c.rowPtr : null,
                sparse ? c.col : null, sparse ? c.val : null, ptr(wDec, m * d, "decode W_dec"),
                ptr(bDec, d, "decode b_dec"), ptr(xhat, B * d, "decode xhat")), "sae4j_cpu_decode");
    }

    @Override
    public void countActive(long B, long m, FloatBuf f, Csr csr, FloatBuf counts) {
        positive("countActive", B, m);
        CpuCsr c = sparse(csr, B, m, "countActive");
        boolean sparse = c != null;
        check(NativeCpu.countActive(B, m, sparse ? null : ptr(f, B * m, "countActive f"), sparse ? c.rowPtr : null,
                sparse ? c.col : null, ptr(counts, m, "countActive counts")), "sae4j_cpu_count_active");
    }

    @Override
    public Losses reluL1Backward(long B, long d, long m, FloatBuf x, FloatBuf xc, FloatBuf f, Csr csr, FloatBuf xhat,
                                 FloatBuf wEncT, FloatBuf wDec, FloatBuf decNorms, float lambda,
                                 FloatBuf gWEncT, FloatBuf gbEnc, FloatBuf gWDec, FloatBuf gbDec,
                                 FloatBuf err, FloatBuf dpre, FloatBuf scratch) {
        positive("reluL1Backward", B, d, m);
        if (!(lambda >= 0) || Float.isInfinite(lambda))
            throw new IllegalArgumentException("reluL1Backward: lambda must be finite and >= 0, got " + lambda);
        CpuCsr c = sparse(csr, B, m, "reluL1Backward");
        boolean sparse = c != null;
        synchronized (small) {
            FloatPointer losses = small.losses;
            check(NativeCpu.reluL1Backward(B, d, m, ptr(x, B * d, "backward x"), ptr(xc, B * d, "backward xc"),
                    sparse ? null : ptr(f, B * m, "backward f"), sparse ? c.rowPtr : null, sparse ? c.col : null,
                    sparse ? c.val : null, ptr(xhat, B * d, "backward xhat"), ptr(wEncT, m * d, "backward W_encT"),
                    ptr(wDec, m * d, "backward W_dec"), ptr(decNorms, m, "backward dec_norms"), lambda,
                    ptr(gWEncT, m * d, "backward gW_encT"), ptr(gbEnc, m, "backward gb_enc"),
                    ptr(gWDec, m * d, "backward gW_dec"), ptr(gbDec, d, "backward gb_dec"), losses,
                    ptr(err, B * d, "backward err"), ptr(dpre, sparse ? c.nnz() : B * m, "backward dpre"),
                    ptr(scratch, reluL1BackwardScratch(B, m), "backward scratch")), "sae4j_cpu_relu_l1_backward");
            return new Losses(losses.get(0), losses.get(1));
        }
    }

    @Override
    public long reluL1BackwardScratch(long B, long m) {
        positive("reluL1BackwardScratch", B, m);
        return NativeCpu.reluL1BackwardScratch(B, m);
    }

    @Override
    public void adamStep(long n, FloatBuf p, FloatBuf g, FloatBuf m1, FloatBuf m2, float lr, float beta1, float beta2,
                         float eps, long t) {
        positive("adamStep", n, t);
        check(NativeCpu.adamStep(n, ptr(p, n, "adam params"), ptr(g, n, "adam grads"), ptr(m1, n, "adam m1"),
                ptr(m2, n, "adam m2"), lr, beta1, beta2, eps, t), "sae4j_cpu_adam_step");
    }

    @Override
    public CosineMax cosineMax(long n1, long n2, long d, FloatBuf A, boolean aColumns, FloatBuf B, boolean bColumns,
                               boolean center) {
        positive("cosineMax", n1, n2, d);
        if (n1 > Integer.MAX_VALUE - 8 || n2 > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("cosineMax: too many vectors for Java result arrays");
        long ws = NativeCpu.cosineMaxWorkspace(n1, n2, d);
        if (ws < 0) throw new IllegalArgumentException("cosineMax: invalid sizes " + n1 + ", " + n2 + ", " + d);
        try (FloatPointer work = new FloatPointer(ws);
             FloatPointer rowMax = new FloatPointer(n1); IntPointer rowArg = new IntPointer(n1);
             FloatPointer colMax = new FloatPointer(n2); IntPointer colArg = new IntPointer(n2)) {
            check(NativeCpu.cosineMax(n1, n2, d, ptr(A, n1 * d, "cosineMax A"), aColumns ? 1 : 0,
                    ptr(B, n2 * d, "cosineMax B"), bColumns ? 1 : 0, center ? 1 : 0, rowMax, rowArg, colMax, colArg,
                    work), "sae4j_cpu_cosine_max");
            float[] rm = new float[(int) n1], cm = new float[(int) n2];
            int[] ra = new int[(int) n1], ca = new int[(int) n2];
            rowMax.get(rm);
            rowArg.get(ra);
            colMax.get(cm);
            colArg.get(ca);
            return new CosineMax(rm, ra, cm, ca);
        }
    }

    @Override
    public float[] cosineMatrix(long n1, long n2, long d, FloatBuf A, boolean aColumns, FloatBuf B, boolean bColumns,
                                boolean center) {
        positive("cosineMatrix", n1, n2, d);
        if (n1 * n2 > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("cosineMatrix: " + n1 + " x " + n2 + " is too large for one array");
        try (FloatPointer work = new FloatPointer((n1 + n2) * d); FloatPointer c = new FloatPointer(n1 * n2)) {
            check(NativeCpu.cosineBlock(n1, n2, d, ptr(A, n1 * d, "cosineMatrix A"), aColumns ? 1 : 0,
                    ptr(B, n2 * d, "cosineMatrix B"), bColumns ? 1 : 0, center ? 1 : 0, 0, n1, c, work),
                    "sae4j_cpu_cosine_block");
            float[] out = new float[(int) (n1 * n2)];
            c.get(out);
            return out;
        }
    }

    @Override
    public void close() {
        synchronized (small) {
            small.losses.close();
            small.index.close();
        }
        AutoCloseable[] all;
        synchronized (open) {
            all = open.toArray(new AutoCloseable[0]);
        }
        for (AutoCloseable c : all) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing native memory does not fail
            }
        }
    }
}
