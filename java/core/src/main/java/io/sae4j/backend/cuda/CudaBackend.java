package io.sae4j.backend.cuda;

import io.sae4j.backend.Activation;
import io.sae4j.backend.AdamState;
import io.sae4j.backend.AdamStep;
import io.sae4j.backend.AuxK;
import io.sae4j.backend.Allocations;
import io.sae4j.backend.Backend;
import io.sae4j.backend.BackendException;
import io.sae4j.backend.Buf;
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
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * {@link Backend} on one NVIDIA GPU: the cuda/ kernels for everything SAE-specific, cuBLAS (JavaCPP
 * CUDA presets) for dense GEMMs, all on this instance's own stream. Nothing here waits for the GPU
 * except downloads, {@link #sync()} and uploads above 64 MiB: a batch upload is staged in pinned
 * memory and copied in stream order, so the host prepares the next batch while the GPU trains. Device memory is allocated by buffers and workspaces
 * (once per trainer or comparison), never per step; out of memory is a {@link BackendException}
 * naming the bytes asked for. TF32 (tensor-core GEMMs and cosine products, ~1e-3 relative) is off
 * unless asked for ({@code -Dsae4j.cuda.tf32=true} or {@code SAE4J_CUDA_TF32=1}).
 */
public final class CudaBackend implements Backend {
    /** Latent density up to which the sparse paths run (decided per batch from the previous one). */
    public static final double MAX_SPARSE_DENSITY = 0.05;

    private final int device;
    private final boolean tf32;
    private final NativeCuda.Ctx ctx;
    private final cublasContext handle = new cublasContext();
    private final Allocations allocations = new Allocations();
    private final FloatBuf spareLosses; // outputs when the caller passes no stats
    private final IntBuf spareNnz;
    private final FloatPointer alphaHost = new FloatPointer(1), betaHost = new FloatPointer(1); // cuBLAS scalars
    private BytePointer staging = new BytePointer(1L << 20); // host side of copies; grows, lock to use
    private final String description;
    private volatile boolean closed;

    /** A backend on {@code device} (0-based), with TF32 allowed when {@code tf32}. */
    public CudaBackend(int device, boolean tf32) {
        String why = CudaBackendProvider.unavailableReason();
        if (why != null) throw new BackendException("cuda: not available: " + why);
        this.device = device;
        this.tf32 = tf32;
        try (IntPointer status = new IntPointer(1)) {
            NativeCuda.Ctx c = NativeCuda.ctxCreate(device, status);
            if (c == null || c.isNull())
                throw new BackendException("cuda: could not open device " + device + ": " + lastError());
            ctx = c;
        }
        int s = cublas.cublasCreate_v2(handle);
        if (s != cublas.CUBLAS_STATUS_SUCCESS) {
            NativeCuda.ctxDestroy(ctx);
            throw new BackendException("cuBLAS: cublasCreate failed: " + cublas.cublasGetStatusString(s).getString());
        }
        try {
            checkBlas(cublas.cublasSetStream_v2(handle, new CUstream_st(NativeCuda.ctxStream(ctx))), "cublasSetStream");
            checkBlas(cublas.cublasSetMathMode(handle, tf32 ? cublas.CUBLAS_TF32_TENSOR_OP_MATH : cublas.CUBLAS_DEFAULT_MATH),
                    "cublasSetMathMode");
            description = "cuda: device " + device + ", " + CudaBackendProvider.deviceSummary(device) + ", TF32 "
                    + (tf32 ? "on" : "off");
            spareLosses = allocate(2);
            spareNnz = allocateInts(1);
        } catch (RuntimeException e) { // release what the half-built backend holds
            allocations.closeAll();
            cublas.cublasDestroy_v2(handle);
            NativeCuda.ctxDestroy(ctx);
            throw e;
        }
    }

    public CudaBackend() {
        this(CudaBackendProvider.configuredDevice(), CudaBackendProvider.configuredTf32());
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String describe() {
        return description;
    }

    public int device() {
        return device;
    }

    @Override
    public boolean exactFloat32() {
        return !tf32;
    }

    public boolean tf32() {
        return tf32;
    }

    @Override
    public boolean supports(Activation.Kind kind) {
        return kind == Activation.Kind.RELU || kind == Activation.Kind.TOPK;
    }

    NativeCuda.Ctx live() {
        if (closed) throw new IllegalStateException("cuda backend is closed");
        return ctx;
    }

    Allocations allocations() {
        return allocations;
    }

    static String lastError() {
        return NativeCuda.lastError().getString();
    }

    static void check(int status, String fn) {
        switch (status) {
            case NativeCuda.OK -> {}
            case NativeCuda.ERR_ARG -> throw new IllegalArgumentException(fn + ": invalid size or argument");
            case NativeCuda.ERR_UNSUPPORTED -> throw new UnsupportedOperationException(fn + ": unsupported");
            case NativeCuda.ERR_NOMEM -> throw new BackendException("cuda: out of device memory in " + fn + ": " + lastError());
            default -> throw new BackendException("cuda: " + fn + " failed: " + lastError());
        }
    }

    private static void checkBlas(int status, String fn) {
        if (status != cublas.CUBLAS_STATUS_SUCCESS)
            throw new BackendException("cuBLAS: " + fn + " failed: " + cublas.cublasGetStatusString(status).getString());
    }

    // ---- memory ----

    private Pointer deviceAlloc(long bytes, String what) {
        try (IntPointer status = new IntPointer(1)) {
            Pointer p = NativeCuda.malloc(live(), bytes, status);
            if (p == null || p.isNull()) {
                check(status.get() == NativeCuda.OK ? NativeCuda.ERR_NOMEM : status.get(), what);
                throw new BackendException("cuda: " + what + ": no memory returned");
            }
            return p;
        }
    }

    @Override
    public FloatBuf allocate(long floats) {
        if (floats < 1) throw new IllegalArgumentException("allocate: need at least 1 float, got " + floats);
        Pointer p = deviceAlloc(Math.multiplyExact(floats, 4L), "allocate " + floats + " floats");
        FloatPointer fp = new FloatPointer(p);
        fp.capacity(floats).limit(floats);
        return FloatBuf.owning(this, fp, floats, allocations.register(() -> NativeCuda.free(ctx, p)));
    }

    @Override
    public IntBuf allocateInts(long ints) {
        if (ints < 1) throw new IllegalArgumentException("allocateInts: need at least 1 int, got " + ints);
        Pointer p = deviceAlloc(Math.multiplyExact(ints, 4L), "allocate " + ints + " ints");
        IntPointer ip = new IntPointer(p);
        ip.capacity(ints).limit(ints);
        return IntBuf.owning(this, ip, ints, allocations.register(() -> NativeCuda.free(ctx, p)));
    }

    /** The host staging buffer, at least {@code bytes} long; call with the lock on this. */
    private BytePointer staging(long bytes) {
        if (staging.capacity() < bytes) {
            staging.close();
            staging = new BytePointer(Math.max(bytes, staging.capacity() * 2));
            if (staging.isNull()) throw new OutOfMemoryError("cuda: could not allocate " + bytes + " bytes of host staging");
        }
        return staging;
    }

    @Override
    public synchronized void upload(float[] src, int srcOffset, FloatBuf dst, long dstOffset, int n) {
        Checks.arrayRange(srcOffset, n, src.length, "upload src");
        toDevice(n == 0 ? null : staging(4L * n).getPointer(FloatPointer.class).put(src, srcOffset, n), dst, dstOffset, n);
    }

    @Override
    public synchronized void upload(int[] src, int srcOffset, IntBuf dst, long dstOffset, int n) {
        Checks.arrayRange(srcOffset, n, src.length, "upload src");
        toDevice(n == 0 ? null : staging(4L * n).getPointer(IntPointer.class).put(src, srcOffset, n), dst, dstOffset, n);
    }

    @Override
    public synchronized void upload(FloatBuffer src, FloatBuf dst, long dstOffset) {
        int n = src.remaining();
        FloatPointer host = staging(4L * Math.max(1, n)).getPointer(FloatPointer.class);
        host.asBuffer().put(src.duplicate());
        toDevice(host, dst, dstOffset, n);
    }

    @Override
    public synchronized void download(FloatBuf src, long srcOffset, float[] dst, int dstOffset, int n) {
        Checks.arrayRange(dstOffset, n, dst.length, "download dst");
        FloatPointer host = staging(4L * Math.max(1, n)).getPointer(FloatPointer.class);
        if (toHost(src, srcOffset, host, n)) host.get(dst, dstOffset, n);
    }

    @Override
    public synchronized void download(IntBuf src, long srcOffset, int[] dst, int dstOffset, int n) {
        Checks.arrayRange(dstOffset, n, dst.length, "download dst");
        IntPointer host = staging(4L * Math.max(1, n)).getPointer(IntPointer.class);
        if (toHost(src, srcOffset, host, n)) host.get(dst, dstOffset, n);
    }

    /** n 4-byte elements from host (staging) memory into dst at dstOffset. */
    private void toDevice(Pointer host, Buf<?> dst, long dstOffset, int n) {
        Checks.range(dstOffset, n, dst.length(), "upload dst");
        if (n == 0) return;
        check(NativeCuda.upload(live(), dst.pointer(this, 0, "upload dst").getPointer(dstOffset), host, 4L * n),
                "sae4j_cuda_upload");
    }

    /** n 4-byte elements of src from srcOffset into host (staging) memory; false when n is 0. */
    private boolean toHost(Buf<?> src, long srcOffset, Pointer host, int n) {
        Checks.range(srcOffset, n, src.length(), "download src");
        if (n == 0) return false;
        check(NativeCuda.download(live(), host, src.pointer(this, 0, "download src").getPointer(srcOffset), 4L * n),
                "sae4j_cuda_download");
        return true;
    }

    @Override
    public void fill(FloatBuf dst, float value) {
        check(NativeCuda.fillF32(live(), dst.pointer(this, 0, "fill dst"), dst.length(), value), "sae4j_cuda_fill_f32");
    }

    @Override
    public void fill(IntBuf dst, int value) {
        check(NativeCuda.fillI32(live(), dst.pointer(this, 0, "fill dst"), dst.length(), value), "sae4j_cuda_fill_i32");
    }

    @Override
    public void sync() {
        check(NativeCuda.sync(live()), "sae4j_cuda_sync");
    }

    // ---- dense ----

    /**
     * Row-major C = alpha op(A) op(B) + beta C through column-major cuBLAS: the same memory read
     * column-major is C^T = op(B)^T op(A)^T, so the operands swap and the flags stay.
     */
    @Override
    public synchronized void gemm(float alpha, Matrix a, Matrix b, float beta, Matrix c) {
        long[] mnk = Checks.gemm(a, b, c);
        for (long v : new long[] {mnk[0], mnk[1], mnk[2], a.ld(), b.ld(), c.ld()})
            if (v > Integer.MAX_VALUE) throw new IllegalArgumentException("gemm: sizes above 2^31 - 1 are not supported");
        FloatPointer pa = a.buf().pointer(this, a.extent(), "gemm a"), pb = b.buf().pointer(this, b.extent(), "gemm b"),
                pc = c.buf().pointer(this, c.extent(), "gemm c");
        live();
        alphaHost.put(0, alpha); // read by cuBLAS before it returns (host pointer mode)
        betaHost.put(0, beta);
        checkBlas(cublas.cublasSgemm_v2(handle, b.transposed() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                a.transposed() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N, (int) mnk[1], (int) mnk[0], (int) mnk[2], alphaHost,
                pb, (int) b.ld(), pa, (int) a.ld(), betaHost, pc, (int) c.ld()), "cublasSgemm");
    }

    // ---- SAE kernels ----

    @Override
    public Workspace workspace(WorkspaceSpec spec) {
        return new CudaWorkspace(this, spec);
    }

    private CudaWorkspace cuda(Workspace ws) {
        if (!(ws instanceof CudaWorkspace w) || w.backend() != this)
            throw new IllegalArgumentException("workspace belongs to another backend");
        return w;
    }

    @Override
    public void sumSquaredDeviation(Workspace ws, long rows, FloatBuf out, long index) {
        CudaWorkspace w = cuda(ws);
        w.requireRows(rows, "sumSquaredDeviation");
        Checks.range(index, 1, out.length(), "sumSquaredDeviation out");
        check(NativeCuda.sumSqDev(live(), w.handle(), rows, out.slice(index, 1).pointer(this, 1, "sumSquaredDeviation out")),
                "sae4j_cuda_sum_sq_dev");
    }

    private static long count(SaeTensors p) {
        return SaeTensors.count(p.d(), p.m());
    }

    @Override
    public void encode(SaeTensors params, Activation act, Workspace ws, long rows, StepStats.Slot stats) {
        Checks.encoderActivation(this, act);
        CudaWorkspace w = cuda(ws);
        w.beginEncode(params, act, rows);
        long m = params.m(), d = params.d();
        params.all().require(count(params), "encode params");
        check(NativeCuda.centerRows(live(), rows, d, w.input().pointer(this, rows * d, "encode x"),
                params.bDec().pointer(this, d, "encode b_dec"), w.xc.pointer(this, rows * d, "encode xc")),
                "sae4j_cuda_center_rows");
        gemm(1f, Matrix.of(w.xc, rows, d), Matrix.of(params.wEncT(), m, d).t(), 0f, Matrix.of(w.latents(), rows, m));
        FloatPointer threshold = act.threshold() == null ? null : act.threshold().pointer(this, m, "threshold");
        IntPointer nnz = stats != null ? stats.nonzeros().pointer(this, 1, "encode stats nonzeros")
                : spareNnz.pointer(this, 1, "spare");
        IntPointer firing = stats != null ? stats.firing().pointer(this, m, "encode stats firing") : null;
        // several SAEs share a workspace: each one's own density (from its statistics) picks its path
        double density = stats != null ? stats.stats().density() : Double.NaN;
        int path = Double.isNaN(density) ? NativeCuda.PATH_AUTO
                : density <= MAX_SPARSE_DENSITY ? NativeCuda.PATH_SPARSE : NativeCuda.PATH_DENSE;
        check(NativeCuda.saeEpilogue(live(), w.handle(), rows, m, params.bEnc().pointer(this, m, "encode b_enc"),
                act.kind().code(), act.k(), threshold, nnz, firing, path), "sae4j_cuda_sae_epilogue");
        w.endEncode(params, rows);
    }

    @Override
    public void decode(SaeTensors params, Workspace ws, long rows) {
        CudaWorkspace w = cuda(ws);
        w.requireDecode(params, rows);
        long m = params.m(), d = params.d();
        if (w.sparse()) {
            check(NativeCuda.saeDecodeSparse(live(), w.handle(), rows, m, params.all().pointer(this, count(params),
                    "decode params")), "sae4j_cuda_sae_decode_sparse");
        } else {
            check(NativeCuda.broadcastRows(live(), rows, d, params.bDec().pointer(this, d, "decode b_dec"),
                    w.reconstruction().pointer(this, rows * d, "decode xhat")), "sae4j_cuda_broadcast_rows");
            gemm(1f, Matrix.of(w.latents(), rows, m), Matrix.of(params.wDec(), m, d), 1f,
                    Matrix.of(w.reconstruction(), rows, d));
        }
        w.endDecode();
    }

    @Override
    public void backward(SaeTensors params, Activation act, float lambda, SaeTensors grads, Workspace ws, long rows,
                         StepStats.Slot stats) {
        CudaWorkspace w = cuda(ws);
        w.requireBackward(params, act, lambda, grads, rows);
        long m = params.m(), d = params.d(), n = count(params);
        FloatPointer p = params.all().pointer(this, n, "backward params"), g = grads.all().pointer(this, n, "backward grads");
        NativeCuda.Ctx c = live();
        NativeCuda.Batch h = w.handle();
        check(NativeCuda.rowNorms(c, m, d, params.wDec().pointer(this, m * d, "backward W_dec"),
                w.norms.pointer(this, m, "norms")), "sae4j_cuda_row_norms");
        check(NativeCuda.saeErr(c, h, rows, d), "sae4j_cuda_sae_err");
        if (w.sparse()) {
            check(NativeCuda.saeDpreSparse(c, h, rows, m, p, lambda), "sae4j_cuda_sae_dpre_sparse");
            check(NativeCuda.saeGradsSparse(c, h, rows, m, p, lambda, g), "sae4j_cuda_sae_grads_sparse");
        } else {
            gemm(1f, Matrix.of(w.err, rows, d), Matrix.of(params.wDec(), m, d).t(), 0f, Matrix.of(w.dpre, rows, m));
            check(NativeCuda.saeDpreDense(c, h, rows, m, lambda), "sae4j_cuda_sae_dpre_dense");
            gemm(1f, Matrix.of(w.latents(), rows, m).t(), Matrix.of(w.err, rows, d), 0f, Matrix.of(grads.wDec(), m, d));
            gemm(1f, Matrix.of(w.dpre, rows, m).t(), Matrix.of(w.xc, rows, d), 0f, Matrix.of(grads.wEncT(), m, d));
            check(NativeCuda.saeGradsDense(c, h, rows, m, p, lambda, g), "sae4j_cuda_sae_grads_dense");
        }
        check(NativeCuda.saeBdecGradPartial(c, h, rows, m, g), "sae4j_cuda_sae_bdec_grad_partial");
        // gb_dec (1, d) -= gb_enc (1, m) W_encT (m, d): b_dec's path through the encoder input
        gemm(-1f, Matrix.of(grads.bEnc(), 1, m), Matrix.of(params.wEncT(), m, d), 1f, Matrix.of(grads.bDec(), 1, d));
        FloatPointer losses = stats != null ? stats.losses().pointer(this, 2, "backward stats losses")
                : spareLosses.pointer(this, 2, "spare");
        check(NativeCuda.saeLosses(c, h, rows, losses), "sae4j_cuda_sae_losses");
    }

    @Override
    public boolean supportsAuxK() {
        return true;
    }

    /**
     * [W_enc_dead | W_dec_dead | S] (n, d) each, b_dead and gb_dead (n) each, G (rows, d), for n up
     * to spec's latents; every block starts on 32 floats (128 bytes) for cuBLAS.
     */
    @Override
    public long auxKScratchFloats(WorkspaceSpec spec, long kAux) {
        if (kAux < 1) throw new IllegalArgumentException("auxKScratchFloats: k_aux must be >= 1, got " + kAux);
        long n = spec.maxLatents();
        return 3 * aligned(n * spec.d()) + 2 * aligned(n) + aligned(spec.rows() * spec.d());
    }

    private static long aligned(long floats) {
        return (floats + 31) / 32 * 32;
    }

    /**
     * As the header's AuxK section composes it: the dead latents' rows gathered into (n, d) blocks,
     * their selection in the batch's f and dL/da in its dpre, dense cuBLAS products over n. The dead
     * list is device memory and is not refused when wrong (that would cost a sync a step): entries
     * out of range or out of order take no part (the trainer builds it ascending).
     */
    @Override
    public void auxKBackward(SaeTensors params, AuxK aux, SaeTensors grads, Workspace ws, long rows, StepStats.Slot stats) {
        CudaWorkspace w = cuda(ws);
        long m = params.m(), d = params.d(), n = aux.deadCount();
        w.auxKScratchUsed(params, aux, rows);
        w.beginAuxK(params, grads, rows);
        FloatBuf loss = stats != null ? stats.auxLoss() : spareLosses.slice(0, 1);
        if (n == 0) {
            fill(loss, 0f);
            return;
        }
        NativeCuda.Ctx c = live();
        NativeCuda.Batch h = w.handle();
        long block = aligned(n * d), vec = aligned(n);
        FloatBuf s = aux.scratch(), wEnc = s.slice(0, n * d), wDec = s.slice(block, n * d), sum = s.slice(2 * block, n * d);
        FloatBuf bDead = s.slice(3 * block, n), gbDead = s.slice(3 * block + vec, n), g = s.slice(3 * block + 2 * vec, rows * d);
        IntPointer dead = aux.dead().pointer(this, n, "auxKBackward dead");
        Matrix a = Matrix.of(w.latents(), rows, n), dA = Matrix.of(w.dpre, rows, n), xc = Matrix.of(w.xc, rows, d);
        Matrix encDead = Matrix.of(wEnc, n, d), decDead = Matrix.of(wDec, n, d), gm = Matrix.of(g, rows, d), sm = Matrix.of(sum, n, d);
        check(NativeCuda.auxkGather(c, n, d, m, dead, aux.firing() == null ? null : aux.firing().pointer(this, m, "auxKBackward firing"),
                params.all().pointer(this, count(params), "auxKBackward params"), wEnc.pointer(this, n * d, "W_enc_dead"),
                wDec.pointer(this, n * d, "W_dec_dead"), bDead.pointer(this, n, "b_dead")), "sae4j_cuda_auxk_gather");
        gemm(1f, xc, encDead.t(), 0f, a);
        check(NativeCuda.topkRelu(c, rows, n, Math.min(aux.kAux(), n), bDead.pointer(this, n, "b_dead"),
                w.latents().pointer(this, rows * n, "auxKBackward latents")), "sae4j_cuda_topk_relu");
        gemm(1f, a, decDead, 0f, gm);
        check(NativeCuda.auxkResidual(c, h, rows, aux.alpha(), g.pointer(this, rows * d, "G")), "sae4j_cuda_auxk_residual");
        gemm(1f, gm, decDead.t(), 0f, dA);
        check(NativeCuda.auxkMaskColsum(c, rows, n, w.latents().pointer(this, rows * n, "auxKBackward latents"),
                w.dpre.pointer(this, rows * n, "auxKBackward dA"), gbDead.pointer(this, n, "gb_dead")), "sae4j_cuda_auxk_mask_colsum");
        gemm(1f, a.t(), gm, 0f, sm);
        check(NativeCuda.scatterAddRows(c, n, d, m, dead, sum.pointer(this, n * d, "S"), grads.wDec().pointer(this, m * d, "gW_dec"),
                null, null), "sae4j_cuda_scatter_add_rows");
        gemm(1f, dA.t(), xc, 0f, sm);
        check(NativeCuda.scatterAddRows(c, n, d, m, dead, sum.pointer(this, n * d, "S"), grads.wEncT().pointer(this, m * d, "gW_encT"),
                gbDead.pointer(this, n, "gb_dead"), grads.bEnc().pointer(this, m, "gb_enc")), "sae4j_cuda_scatter_add_rows");
        // gb_dec (1, d) -= gb_dead (1, n) W_enc_dead (n, d): b_dec's path through the encoder input
        gemm(-1f, Matrix.of(gbDead, 1, n), encDead, 1f, Matrix.of(grads.bDec(), 1, d));
        check(NativeCuda.auxkLoss(c, h, rows, aux.alpha(), loss.pointer(this, 1, "auxKBackward loss")), "sae4j_cuda_auxk_loss");
    }

    @Override
    public void adamStep(FloatBuf params, FloatBuf grads, AdamState moments, AdamStep s) {
        long n = params.length();
        check(NativeCuda.adamStep(live(), n, params.pointer(this, n, "adam params"), grads.pointer(this, n, "adam grads"),
                moments.m1().pointer(this, n, "adam m1"), moments.m2().pointer(this, n, "adam m2"), s.lr(), s.beta1(), s.beta2(), s.eps(),
                s.t()), "sae4j_cuda_adam_step");
    }

    /** TopK training holds the decoder rows at unit norm: the gradient's radial part goes. */
    @Override
    public void removeDecoderRadial(SaeTensors params, SaeTensors grads) {
        Checks.sameShape(params, grads, "removeDecoderRadial grads");
        long m = params.m(), d = params.d();
        check(NativeCuda.removeRadial(live(), m, d, params.wDec().pointer(this, m * d, "W_dec"),
                grads.wDec().pointer(this, m * d, "W_dec gradient")), "sae4j_cuda_remove_radial");
    }

    @Override
    public void normalizeDecoder(SaeTensors params) {
        long m = params.m(), d = params.d();
        check(NativeCuda.normalizeRows(live(), m, d, params.wDec().pointer(this, m * d, "W_dec")), "sae4j_cuda_normalize_rows");
    }

    // ---- exact activation correlation (cuda/src/coactivation.cu) ----

    @Override
    public boolean supportsCoactivation() {
        return true;
    }

    @Override
    public Coactivation coactivation(long m1, long m2) {
        live();
        return new CudaCoactivation(this, m1, m2);
    }

    @Override
    public void coactivate(Coactivation acc, Workspace a, Workspace b, long rows) {
        CudaCoactivation c = sums(acc);
        CudaWorkspace wa = cuda(a), wb = cuda(b);
        long capacity = NativeWorkspace.requireCoactivation(wa, wb, rows);
        int status = NativeCuda.coactAdd(live(), c.handle(capacity, rows), wa.handle(), wb.handle(), rows);
        if (status == NativeCuda.ERR_ARG) throw NativeWorkspace.notEncodedForCoactivation(rows, c.m1, c.m2);
        check(status, "sae4j_cuda_coact_add");
    }

    @Override
    public void correlationMaxima(Coactivation acc, CosineMaxima out) {
        CudaCoactivation c = sums(acc);
        if (c.tokens() < 1) throw new IllegalStateException("correlationMaxima: no rows accumulated");
        check(NativeCuda.coactMaxima(live(), c.handle(),
                out.rowMax().pointer(this, c.m1, "correlation rowMax"), out.rowArg().pointer(this, c.m1, "correlation rowArg"),
                out.colMax().pointer(this, c.m2, "correlation colMax"), out.colArg().pointer(this, c.m2, "correlation colArg")),
                "sae4j_cuda_coact_maxima");
    }

    private CudaCoactivation sums(Coactivation acc) {
        if (!(acc instanceof CudaCoactivation c) || c.backend() != this)
            throw new IllegalArgumentException("coactivation sums of another backend");
        return c;
    }

    // ---- matching ----

    @Override
    public void cosineMax(VectorSet a, VectorSet b, boolean center, CosineMaxima out) {
        Checks.cosine(a, b);
        long n1 = a.count(), n2 = b.count(), d = a.dim();
        long bytes = NativeCuda.cosineMaxWorkspace(n1, n2, d);
        if (bytes <= 0) throw new IllegalArgumentException("cosineMax: invalid sizes " + n1 + ", " + n2 + ", " + d);
        Pointer work = deviceAlloc(bytes, "cosineMax workspace of " + bytes + " bytes");
        try {
            check(NativeCuda.cosineMax(live(), n1, n2, d, a.data().pointer(this, n1 * d, "cosineMax a"), a.columns() ? 1 : 0,
                    b.data().pointer(this, n2 * d, "cosineMax b"), b.columns() ? 1 : 0, center ? 1 : 0,
                    tf32 ? NativeCuda.COSINE_TF32 : NativeCuda.COSINE_FP32,
                    out.rowMax().pointer(this, n1, "cosineMax rowMax"), out.rowArg().pointer(this, n1, "cosineMax rowArg"),
                    out.colMax().pointer(this, n2, "cosineMax colMax"), out.colArg().pointer(this, n2, "cosineMax colArg"),
                    work), "sae4j_cuda_cosine_max");
        } finally {
            NativeCuda.free(ctx, work); // cudaFree waits for the kernels that use it
        }
    }

    /**
     * Blocks of the cosine matrix by cuBLAS in FP32 whatever the TF32 setting (the lists bound
     * every entry left out, which exact matching relies on), folded into the lists block by block.
     */
    @Override
    public synchronized void cosineTopK(VectorSet a, VectorSet b, boolean absolute, CosineTopK out) { // holds the math mode
        Checks.cosineTopK(a, b, out);
        long n1 = a.count(), n2 = b.count(), d = a.dim();
        int kRow = out.kRow(), kCol = out.kCol();
        if (Math.max(kRow, kCol) > NativeCuda.TOPK_MAX)
            throw new IllegalArgumentException("cosineTopK: the CUDA backend keeps at most " + NativeCuda.TOPK_MAX
                    + " entries a list, got " + Math.max(kRow, kCol));
        long rowsPerBlock = Math.max(1, Math.min(n1, TOPK_BLOCK_FLOATS / n2));
        try (FloatBuf an = allocate(n1 * d); FloatBuf bn = allocate(n2 * d); FloatBuf block = allocate(rowsPerBlock * n2)) {
            check(NativeCuda.normalise(live(), n1, d, a.data().pointer(this, n1 * d, "cosineTopK a"), a.columns() ? 1 : 0,
                    0, an.pointer(this, n1 * d, "normalised a")), "sae4j_cuda_normalise");
            check(NativeCuda.normalise(live(), n2, d, b.data().pointer(this, n2 * d, "cosineTopK b"), b.columns() ? 1 : 0,
                    0, bn.pointer(this, n2 * d, "normalised b")), "sae4j_cuda_normalise");
            if (tf32) setMathMode(cublas.CUBLAS_DEFAULT_MATH);
            try {
                for (long i0 = 0; i0 < n1; i0 += rowsPerBlock) {
                    long rows = Math.min(rowsPerBlock, n1 - i0);
                    FloatBuf c = block.slice(0, rows * n2);
                    gemm(1f, Matrix.of(an.slice(i0 * d, rows * d), rows, d), Matrix.of(bn, n2, d).t(), 0f,
                            Matrix.of(c, rows, n2));
                    FloatPointer cp = c.pointer(this, rows * n2, "cosineTopK block");
                    if (kRow > 0)
                        check(NativeCuda.topkRows(live(), rows, n2, cp, absolute ? 1 : 0, kRow,
                                out.rowVal().slice(i0 * kRow, rows * kRow).pointer(this, rows * kRow, "cosineTopK rowVal"),
                                out.rowIdx().slice(i0 * kRow, rows * kRow).pointer(this, rows * kRow, "cosineTopK rowIdx")),
                                "sae4j_cuda_topk_rows");
                    if (kCol > 0)
                        check(NativeCuda.topkCols(live(), rows, n2, cp, i0, absolute ? 1 : 0, kCol,
                                out.colVal().pointer(this, n2 * kCol, "cosineTopK colVal"),
                                out.colIdx().pointer(this, n2 * kCol, "cosineTopK colIdx")), "sae4j_cuda_topk_cols");
                }
            } finally {
                if (tf32) setMathMode(cublas.CUBLAS_TF32_TENSOR_OP_MATH);
            }
            sync(); // the normalised copies and the block are freed on return
        }
    }

    /** Largest block of the cosine matrix cosineTopK makes at once (1 GiB). */
    private static final long TOPK_BLOCK_FLOATS = 1L << 28;

    private void setMathMode(int mode) {
        checkBlas(cublas.cublasSetMathMode(handle, mode), "cublasSetMathMode");
    }

    @Override
    public void cosineBlock(VectorSet a, VectorSet b, boolean center, long i0, long i1, FloatBuf out) {
        Checks.cosine(a, b);
        long n1 = a.count(), n2 = b.count(), d = a.dim();
        if (i0 < 0 || i1 > n1 || i0 >= i1)
            throw new IllegalArgumentException("cosineBlock: rows [" + i0 + ", " + i1 + ") of " + n1);
        out.require((i1 - i0) * n2, "cosineBlock out");
        try (FloatBuf an = allocate(n1 * d); FloatBuf bn = allocate(n2 * d)) {
            check(NativeCuda.normalise(live(), n1, d, a.data().pointer(this, n1 * d, "cosineBlock a"), a.columns() ? 1 : 0,
                    center ? 1 : 0, an.pointer(this, n1 * d, "normalised a")), "sae4j_cuda_normalise");
            check(NativeCuda.normalise(live(), n2, d, b.data().pointer(this, n2 * d, "cosineBlock b"), b.columns() ? 1 : 0,
                    center ? 1 : 0, bn.pointer(this, n2 * d, "normalised b")), "sae4j_cuda_normalise");
            gemm(1f, Matrix.of(an.slice(i0 * d, (i1 - i0) * d), i1 - i0, d), Matrix.of(bn, n2, d).t(), 0f,
                    Matrix.of(out, i1 - i0, n2));
            sync(); // the normalised copies are freed on return
        }
    }

    @Override
    public void close() {
        if (closed) return;
        try {
            NativeCuda.sync(ctx);
        } finally {
            allocations.closeAll();
            closed = true;
            cublas.cublasDestroy_v2(handle);
            NativeCuda.ctxDestroy(ctx);
            alphaHost.close();
            betaHost.close();
            staging.close();
        }
    }
}
