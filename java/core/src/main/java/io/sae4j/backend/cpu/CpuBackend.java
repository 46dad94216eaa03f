package io.sae4j.backend.cpu;

import io.sae4j.backend.Activation;
import io.sae4j.backend.AdamState;
import io.sae4j.backend.AdamStep;
import io.sae4j.backend.AuxK;
import io.sae4j.backend.Allocations;
import io.sae4j.backend.Backend;
import io.sae4j.backend.BackendException;
import io.sae4j.backend.Checks;
import io.sae4j.backend.Coactivation;
import io.sae4j.backend.CosineMaxima;
import io.sae4j.backend.CosineTopK;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.IntBuf;
import io.sae4j.backend.Matrix;
import io.sae4j.backend.NativeWorkspace;
import io.sae4j.backend.SaeTensors;
import io.sae4j.backend.StepStats;
import io.sae4j.backend.VectorSet;
import io.sae4j.backend.Workspace;
import io.sae4j.backend.WorkspaceSpec;
import java.nio.FloatBuffer;
import java.util.Locale;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

/**
 * {@link Backend} over OpenBLAS and the native/ kernels. The instance owns a native context (its
 * own thread pool and instruction set), so several CPU backends with different settings coexist.
 * Buffers are off-heap and freed when closed; closing the backend frees whatever is still open.
 * GEMMs run as single-threaded OpenBLAS calls on slabs of the output, one per pool thread, so
 * OpenBLAS's own (process-wide) thread count is set to 1 (native/src/threads.cpp says why).
 *
 * <p>Defaults: threads {@code -Dsae4j.threads} or {@code SAE4J_THREADS} (else all processors);
 * instruction set {@code -Dsae4j.isa} or {@code SAE4J_ISA} = portable | avx2 | avx512 (else the
 * best this CPU has).
 */
public final class CpuBackend implements Backend {
    /**
     * Up to this fraction of nonzero latents the sparse paths run. Measured on 2 Zen 5 cores
     * (B 4096, d 512, m 4096; decode + backward): sparse 68 / 154 / 227 / 318 ms at 1 / 4 / 8 / 12%
     * density against 390-415 ms dense, so the crossover is near 15%.
     */
    public static final double MAX_SPARSE_DENSITY = 0.12;

    private final NativeCpu.Ctx ctx;
    private final Allocations allocations = new Allocations();
    private final IntBuf spareNnz;      // outputs of encode/backward when the caller passes no stats
    private final FloatBuf spareLosses;
    private final Object scratchLock = new Object();
    private FloatPointer scratch; // the cosine kernels' workspace, kept between calls (under scratchLock)
    private volatile boolean closed;

    /**
     * Scratch memory kept between cosine calls up to this size: fresh memory is paged in at every
     * call (on these VMs 64 MB of it cost ~0.15 s, 20% of a 16384 x 16384 x 512 MMCS); larger
     * workspaces are freed after their call.
     */
    static final long KEEP_SCRATCH_BYTES = 256L << 20;

    public CpuBackend() {
        this(configuredThreads(), configuredIsa());
    }

    /** A backend with its own pool of {@code threads} threads and leaf loops in {@code isa} (NativeCpu.ISA_*). */
    public CpuBackend(int threads, int isa) {
        if (threads < 1 || threads > 4096) throw new IllegalArgumentException("threads must be in 1..4096, got " + threads);
        try (IntPointer status = new IntPointer(1)) {
            NativeCpu.Ctx c = NativeCpu.ctxCreate(threads, isa, status);
            if (c == null || c.isNull()) {
                if (status.get() == NativeCpu.ERR_UNSUPPORTED)
                    throw new IllegalArgumentException("this CPU does not support instruction set " + isaName(isa));
                throw new BackendException("cpu backend: could not create a context of " + threads + " threads (status "
                        + status.get() + ")");
            }
            ctx = c;
        }
        spareNnz = allocateInts(1);
        spareLosses = allocate(2);
    }

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

    public int threads() {
        return NativeCpu.ctxThreads(live());
    }

    public int isa() {
        return NativeCpu.ctxIsa(live());
    }

    @Override
    public String describe() {
        return "cpu: " + isaName(isa()) + ", " + threads() + " threads, OpenBLAS core " + NativeCpu.blasCore().getString();
    }

    @Override
    public boolean supports(Activation.Kind kind) { // the encoder's; the backward takes RELU and TOPK
        return kind != Activation.Kind.BATCHTOPK;
    }

    private NativeCpu.Ctx live() {
        if (closed) throw new IllegalStateException("cpu backend is closed");
        return ctx;
    }

    static void check(int status, String fn) {
        switch (status) {
            case NativeCpu.OK -> {}
            case NativeCpu.ERR_ARG -> throw new IllegalArgumentException(fn + ": invalid size or argument");
            case NativeCpu.ERR_UNSUPPORTED -> throw new UnsupportedOperationException(fn + ": unsupported");
            case NativeCpu.ERR_NOMEM -> throw new OutOfMemoryError(fn + ": out of memory");
            default -> throw new IllegalStateException(fn + ": status " + status);
        }
    }

    // ---- memory ----

    @Override
    public FloatBuf allocate(long floats) {
        if (floats < 1) throw new IllegalArgumentException("allocate: need at least 1 float, got " + floats);
        live();
        FloatPointer p = offHeap(() -> new FloatPointer(floats), 4 * floats, "allocate " + floats + " floats");
        return FloatBuf.owning(this, p, floats, allocations.register(p::close));
    }

    /**
     * An off-heap allocation, or an error that says what to change: JavaCPP refuses allocations past
     * its own limits (by default the -Xmx heap size) with a message that does not name them.
     */
    static <P extends org.bytedeco.javacpp.Pointer> P offHeap(java.util.function.Supplier<P> allocate, long bytes, String what) {
        P p;
        try {
            p = allocate.get();
        } catch (OutOfMemoryError e) {
            throw new OutOfMemoryError("sae4j: " + what + " (" + bytes + " bytes off-heap) was refused (" + e.getMessage()
                    + "). JavaCPP limits off-heap memory to -Dorg.bytedeco.javacpp.maxBytes (default: the -Xmx heap size) and"
                    + " the process to -Dorg.bytedeco.javacpp.maxPhysicalBytes: raise -Xmx, or set both to 0 for no limit"
                    + " (for ./sae4j in SAE4J_JAVA_OPTS)");
        }
        if (p == null || p.isNull()) throw new OutOfMemoryError("sae4j: " + what + ": the system has no " + bytes + " bytes to give");
        return p;
    }

    @Override
    public IntBuf allocateInts(long ints) {
        if (ints < 1) throw new IllegalArgumentException("allocateInts: need at least 1 int, got " + ints);
        live();
        IntPointer p = offHeap(() -> new IntPointer(ints), 4 * ints, "allocate " + ints + " ints");
        return IntBuf.owning(this, p, ints, allocations.register(p::close));
    }

    @Override
    public void upload(float[] src, int srcOffset, FloatBuf dst, long dstOffset, int n) {
        Checks.arrayRange(srcOffset, n, src.length, "upload src");
        Checks.range(dstOffset, n, dst.length(), "upload dst");
        dst.pointer(this, 0, "upload dst").getPointer(dstOffset).put(src, srcOffset, n);
    }

    @Override
    public void upload(FloatBuffer src, FloatBuf dst, long dstOffset) {
        Checks.range(dstOffset, src.remaining(), dst.length(), "upload dst");
        FloatBuffer nb = dst.pointer(this, 0, "upload dst").asBuffer();
        nb.position(Math.toIntExact(dstOffset));
        nb.put(src.duplicate());
    }

    @Override
    public void download(FloatBuf src, long srcOffset, float[] dst, int dstOffset, int n) {
        Checks.range(srcOffset, n, src.length(), "download src");
        Checks.arrayRange(dstOffset, n, dst.length, "download dst");
        src.pointer(this, 0, "download src").getPointer(srcOffset).get(dst, dstOffset, n);
    }

    @Override
    public void upload(int[] src, int srcOffset, IntBuf dst, long dstOffset, int n) {
        Checks.arrayRange(srcOffset, n, src.length, "upload src");
        Checks.range(dstOffset, n, dst.length(), "upload dst");
        dst.pointer(this, 0, "upload dst").getPointer(dstOffset).put(src, srcOffset, n);
    }

    @Override
    public void download(IntBuf src, long srcOffset, int[] dst, int dstOffset, int n) {
        Checks.range(srcOffset, n, src.length(), "download src");
        Checks.arrayRange(dstOffset, n, dst.length, "download dst");
        src.pointer(this, 0, "download src").getPointer(srcOffset).get(dst, dstOffset, n);
    }

    @Override
    public void fill(FloatBuf dst, float value) {
        FloatPointer p = dst.pointer(this, 0, "fill dst");
        float[] chunk = new float[(int) Math.min(dst.length(), FILL_CHUNK)];
        java.util.Arrays.fill(chunk, value);
        for (long off = 0; off < dst.length(); off += chunk.length)
            p.getPointer(off).put(chunk, 0, (int) Math.min(chunk.length, dst.length() - off));
    }

    @Override
    public void fill(IntBuf dst, int value) {
        IntPointer p = dst.pointer(this, 0, "fill dst");
        int[] chunk = new int[(int) Math.min(dst.length(), FILL_CHUNK)];
        java.util.Arrays.fill(chunk, value);
        for (long off = 0; off < dst.length(); off += chunk.length)
            p.getPointer(off).put(chunk, 0, (int) Math.min(chunk.length, dst.length() - off));
    }

    private static final int FILL_CHUNK = 1 << 16;

    @Override
    public void sync() {
        live(); // every CPU kernel has finished when it returns
    }

    // ---- dense ----

    @Override
    public void gemm(float alpha, Matrix a, Matrix b, float beta, Matrix c) {
        long[] mnk = Checks.gemm(a, b, c);
        check(NativeCpu.gemm(live(), a.transposed() ? 1 : 0, b.transposed() ? 1 : 0, mnk[0], mnk[1], mnk[2], alpha,
                a.buf().pointer(this, a.extent(), "gemm a"), a.ld(), b.buf().pointer(this, b.extent(), "gemm b"), b.ld(),
                beta, c.buf().pointer(this, c.extent(), "gemm c"), c.ld()), "sae4j_cpu_gemm");
    }

    // ---- SAE kernels ----

    @Override
    public Workspace workspace(WorkspaceSpec spec) {
        return new CpuWorkspace(this, spec);
    }

    NativeCpu.Ctx context() {
        return live();
    }

    Allocations allocations() {
        return allocations;
    }

    private CpuWorkspace cpu(Workspace ws) {
        if (!(ws instanceof CpuWorkspace w) || w.backend() != this)
            throw new IllegalArgumentException("workspace belongs to another backend");
        return w;
    }

    @Override
    public void sumSquaredDeviation(Workspace ws, long rows, FloatBuf out, long index) {
        CpuWorkspace w = cpu(ws);
        w.requireRows(rows, "sumSquaredDeviation");
        Checks.range(index, 1, out.length(), "sumSquaredDeviation out");
        check(NativeCpu.sumSqDev(live(), w.handle(), rows, out.slice(index, 1).pointer(this, 1, "sumSquaredDeviation out")),
                "sae4j_cpu_sum_sq_dev");
    }

    @Override
    public void encode(SaeTensors params, Activation act, Workspace ws, long rows, StepStats.Slot stats) {
        Checks.encoderActivation(this, act);
        CpuWorkspace w = cpu(ws);
        w.beginEncode(params, act, rows);
        FloatPointer p = params.all().pointer(this, SaeTensors.count(params.d(), params.m()), "encode params");
        FloatPointer threshold = act.threshold() == null ? null : act.threshold().pointer(this, params.m(), "threshold");
        check(NativeCpu.saeEncode(live(), w.handle(), rows, params.m(), p, act.kind().code(), act.k(), threshold,
                (stats != null ? stats.nonzeros() : spareNnz).pointer(this, 1, "encode stats nonzeros"),
                stats != null ? stats.firing().pointer(this, params.m(), "encode stats firing") : null),
                "sae4j_cpu_sae_encode");
        w.endEncode(params, rows);
    }

    @Override
    public void decode(SaeTensors params, Workspace ws, long rows) {
        CpuWorkspace w = cpu(ws);
        w.requireDecode(params, rows);
        check(NativeCpu.saeDecode(live(), w.handle(), rows, params.m(),
                params.all().pointer(this, SaeTensors.count(params.d(), params.m()), "decode params")), "sae4j_cpu_sae_decode");
        w.endDecode();
    }

    @Override
    public void backward(SaeTensors params, Activation act, float lambda, SaeTensors grads, Workspace ws, long rows,
                         StepStats.Slot stats) {
        CpuWorkspace w = cpu(ws);
        w.requireBackward(params, act, lambda, grads, rows);
        long n = SaeTensors.count(params.d(), params.m());
        FloatPointer p = params.all().pointer(this, n, "backward params"), g = grads.all().pointer(this, n, "backward grads");
        FloatPointer threshold = act.threshold() == null ? null : act.threshold().pointer(this, params.m(), "threshold");
        check(NativeCpu.saeBackward(live(), w.handle(), rows, params.m(), p, act.kind().code(), act.k(), threshold, lambda,
                g, (stats != null ? stats.losses() : spareLosses).pointer(this, 2, "backward stats losses")),
                "sae4j_cpu_sae_backward");
    }

    @Override
    public boolean supportsAuxK() {
        return true;
    }

    @Override
    public long auxKScratchFloats(WorkspaceSpec spec, long kAux) {
        long n = NativeCpu.auxkWorkspace(spec.rows(), spec.d(), spec.maxLatents(), kAux);
        if (n < 0) throw new IllegalArgumentException("auxKScratchFloats: invalid sizes " + spec + ", k_aux " + kAux);
        return n;
    }

    @Override
    public void auxKBackward(SaeTensors params, AuxK aux, SaeTensors grads, Workspace ws, long rows, StepStats.Slot stats) {
        CpuWorkspace w = cpu(ws);
        long m = params.m(), need = w.auxKScratchUsed(params, aux, rows);
        IntPointer dead = aux.dead().pointer(this, Math.max(1, aux.deadCount()), "auxKBackward dead");
        int[] list = new int[(int) aux.deadCount()]; // host memory: checked here, read in one call (not one per entry)
        dead.get(list);
        for (int j = 0, previous = -1; j < list.length; previous = list[j], j++)
            if (list[j] <= previous || list[j] >= m)
                throw new IllegalArgumentException("auxKBackward: the dead list must hold strictly ascending latent indices in"
                        + " 0.." + (m - 1) + "; entry " + j + " is " + list[j] + (j > 0 ? " after " + previous : ""));
        IntPointer firing = aux.firing() == null ? null : aux.firing().pointer(this, m, "auxKBackward firing");
        w.beginAuxK(params, grads, rows);
        long n = SaeTensors.count(params.d(), params.m());
        FloatPointer loss = (stats != null ? stats.auxLoss() : spareLosses).pointer(this, 1, "auxKBackward stats loss");
        check(NativeCpu.auxkBackward(live(), w.handle(), rows, m, params.all().pointer(this, n, "auxKBackward params"), dead,
                aux.deadCount(), firing, aux.kAux(), aux.alpha(), aux.scratch().pointer(this, need, "auxKBackward scratch"),
                grads.all().pointer(this, n, "auxKBackward grads"), loss), "sae4j_cpu_auxk_backward");
    }

    @Override
    public void adamStep(FloatBuf params, FloatBuf grads, AdamState moments, AdamStep s) {
        long n = params.length();
        check(NativeCpu.adamStep(live(), n, params.pointer(this, n, "adam params"), grads.pointer(this, n, "adam grads"),
                moments.m1().pointer(this, n, "adam m1"), moments.m2().pointer(this, n, "adam m2"), s.lr(), s.beta1(), s.beta2(), s.eps(), s.t()),
                "sae4j_cpu_adam_step");
    }

    @Override
    public void removeDecoderRadial(SaeTensors params, SaeTensors grads) {
        Checks.sameShape(params, grads, "removeDecoderRadial grads");
        long m = params.m(), d = params.d();
        check(NativeCpu.removeRadial(live(), m, d, params.wDec().pointer(this, m * d, "W_dec"),
                grads.wDec().pointer(this, m * d, "W_dec gradient")), "sae4j_cpu_remove_radial");
    }

    @Override
    public void normalizeDecoder(SaeTensors params) {
        long m = params.m(), d = params.d();
        check(NativeCpu.normalizeRows(live(), m, d, params.wDec().pointer(this, m * d, "W_dec")), "sae4j_cpu_normalize_rows");
    }

    // ---- matching ----

    @Override
    public void cosineMax(VectorSet a, VectorSet b, boolean center, CosineMaxima out) {
        Checks.cosine(a, b);
        long n1 = a.count(), n2 = b.count(), d = a.dim();
        long ws = NativeCpu.cosineMaxWorkspace(live(), n1, n2, d);
        if (ws < 0) throw new IllegalArgumentException("cosineMax: invalid sizes " + n1 + ", " + n2 + ", " + d);
        synchronized (scratchLock) {
            try {
                check(NativeCpu.cosineMax(live(), n1, n2, d, a.data().pointer(this, n1 * d, "cosineMax a"),
                        a.columns() ? 1 : 0, b.data().pointer(this, n2 * d, "cosineMax b"), b.columns() ? 1 : 0,
                        center ? 1 : 0, out.rowMax().pointer(this, n1, "cosineMax rowMax"),
                        out.rowArg().pointer(this, n1, "cosineMax rowArg"), out.colMax().pointer(this, n2, "cosineMax colMax"),
                        out.colArg().pointer(this, n2, "cosineMax colArg"), scratch(ws, "cosineMax")),
                        "sae4j_cpu_cosine_max");
            } finally {
                releaseLargeScratch();
            }
        }
    }

    @Override
    public void cosineTopK(VectorSet a, VectorSet b, boolean absolute, CosineTopK out) {
        Checks.cosineTopK(a, b, out);
        long n1 = a.count(), n2 = b.count(), d = a.dim();
        int kRow = out.kRow(), kCol = out.kCol();
        long ws = NativeCpu.cosineTopkWorkspace(live(), n1, n2, d, kRow, kCol);
        if (ws < 0) throw new IllegalArgumentException("cosineTopK: invalid sizes " + n1 + ", " + n2 + ", " + d);
        synchronized (scratchLock) {
            try {
                check(NativeCpu.cosineTopk(live(), n1, n2, d, a.data().pointer(this, n1 * d, "cosineTopK a"),
                        a.columns() ? 1 : 0, b.data().pointer(this, n2 * d, "cosineTopK b"), b.columns() ? 1 : 0,
                        absolute ? 1 : 0, kRow, kRow > 0 ? out.rowVal().pointer(this, n1 * kRow, "cosineTopK rowVal") : null,
                        kRow > 0 ? out.rowIdx().pointer(this, n1 * kRow, "cosineTopK rowIdx") : null, kCol,
                        kCol > 0 ? out.colVal().pointer(this, n2 * kCol, "cosineTopK colVal") : null,
                        kCol > 0 ? out.colIdx().pointer(this, n2 * kCol, "cosineTopK colIdx") : null,
                        scratch(ws, "cosineTopK")), "sae4j_cpu_cosine_topk");
            } finally {
                releaseLargeScratch();
            }
        }
    }

    @Override
    public boolean supportsCoactivation() {
        return true;
    }

    @Override
    public Coactivation coactivation(long m1, long m2) {
        live();
        return new CpuCoactivation(this, m1, m2);
    }

    @Override
    public void coactivate(Coactivation acc, Workspace a, Workspace b, long rows) {
        CpuCoactivation c = sums(acc);
        CpuWorkspace wa = cpu(a), wb = cpu(b);
        NativeWorkspace.requireCoactivation(wa, wb, rows);
        int status = NativeCpu.coactAdd(live(), c.handle(), wa.handle(), wb.handle(), rows);
        if (status == NativeCpu.ERR_ARG) throw NativeWorkspace.notEncodedForCoactivation(rows, c.m1, c.m2);
        check(status, "sae4j_cpu_coact_add");
    }

    @Override
    public void correlationMaxima(Coactivation acc, CosineMaxima out) {
        CpuCoactivation c = sums(acc);
        if (c.tokens() < 1) throw new IllegalStateException("correlationMaxima: no rows accumulated");
        check(NativeCpu.coactMaxima(live(), c.handle(),
                out.rowMax().pointer(this, c.m1, "correlation rowMax"), out.rowArg().pointer(this, c.m1, "correlation rowArg"),
                out.colMax().pointer(this, c.m2, "correlation colMax"), out.colArg().pointer(this, c.m2, "correlation colArg")),
                "sae4j_cpu_coact_maxima");
    }

    private CpuCoactivation sums(Coactivation acc) {
        if (!(acc instanceof CpuCoactivation c)) throw new IllegalArgumentException("coactivation sums of another backend");
        c.handle();
        return c;
    }

    /** At least n floats of scratch; the caller holds scratchLock. */
    private FloatPointer scratch(long n, String what) {
        if (scratch == null || scratch.capacity() < n) {
            if (scratch != null) scratch.close();
            scratch = null;
            FloatPointer p = new FloatPointer(n);
            if (p.isNull()) throw new OutOfMemoryError(what + ": could not allocate " + n + " floats of workspace");
            scratch = p;
        }
        return scratch;
    }

    private void releaseLargeScratch() {
        if (scratch != null && scratch.capacity() * Float.BYTES > KEEP_SCRATCH_BYTES) {
            scratch.close();
            scratch = null;
        }
    }

    @Override
    public void cosineBlock(VectorSet a, VectorSet b, boolean center, long i0, long i1, FloatBuf out) {
        Checks.cosine(a, b);
        long n1 = a.count(), n2 = b.count(), d = a.dim();
        if (i0 < 0 || i1 > n1 || i0 >= i1)
            throw new IllegalArgumentException("cosineBlock: rows [" + i0 + ", " + i1 + ") of " + n1);
        synchronized (scratchLock) {
            try {
                check(NativeCpu.cosineBlock(live(), n1, n2, d, a.data().pointer(this, n1 * d, "cosineBlock a"),
                        a.columns() ? 1 : 0, b.data().pointer(this, n2 * d, "cosineBlock b"), b.columns() ? 1 : 0,
                        center ? 1 : 0, i0, i1, out.pointer(this, (i1 - i0) * n2, "cosineBlock out"),
                        scratch((n1 + n2) * d, "cosineBlock")), "sae4j_cpu_cosine_block");
            } finally {
                releaseLargeScratch();
            }
        }
    }

    @Override
    public void close() {
        if (closed) return;
        allocations.closeAll();
        synchronized (scratchLock) {
            if (scratch != null) scratch.close();
            scratch = null;
        }
        closed = true;
        NativeCpu.ctxDestroy(ctx);
    }
}
