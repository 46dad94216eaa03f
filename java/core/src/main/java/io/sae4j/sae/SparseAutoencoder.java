package io.sae4j.sae;

import io.sae4j.backend.Activation;
import io.sae4j.backend.Backend;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.NonFiniteInputException;
import io.sae4j.backend.SaeTensors;
import io.sae4j.backend.Workspace;
import io.sae4j.backend.WorkspaceSpec;
import io.sae4j.data.SyntheticData;
import java.util.SplittableRandom;

/**
 * A sparse autoencoder on a {@link Backend}: pre = (x - b_dec) W_enc + b_enc, f = act(pre),
 * xhat = f W_dec + b_dec, with act ReLU or TopK (what sae4j trains, {@link SaeConfig#architecture})
 * or, for SAEs read from other libraries, JumpReLU ({@link EncoderActivation}). All parameters live in one backend buffer laid out as
 * [W_encT (m, d) | b_enc (m) | W_dec (m, d) | b_dec (d)], so one optimiser call updates them all; the
 * encoder is stored transposed (W_encT = W_enc^T) for the sparse backward pass, and transposed back
 * by {@link #encoderWeights()} for files, which use W_enc (d, m).
 */
public final class SparseAutoencoder implements AutoCloseable {
    private final SaeConfig config;
    private final Backend backend;
    private final SaeTensors tensors;
    private final FloatBuf params, wEncT, bEnc, wDec, bDec;
    private final EncoderActivation encoderActivation;
    private final Activation activation;
    private final FloatBuf threshold; // JumpReLU's, on the backend; else null

    private SparseAutoencoder(SaeConfig config, Backend backend) {
        this(config, backend, config.activation());
    }

    private SparseAutoencoder(SaeConfig config, Backend backend, EncoderActivation act) {
        if (!backend.supports(act.kind()))
            throw new IllegalArgumentException("the " + backend.name() + " backend runs no " + act.describe()
                    + " encoder (TopK and JumpReLU SAEs run on the cpu backend)");
        if (act.threshold() != null && act.threshold().length != config.dSae())
            throw new IllegalArgumentException("jumprelu threshold: expected (d_sae) = (" + config.dSae() + ") values, got "
                    + act.threshold().length);
        this.config = config;
        this.backend = backend;
        this.encoderActivation = act;
        this.threshold = act.threshold() == null ? null : backend.upload(act.threshold());
        this.activation = new Activation(act.kind(), act.k(), threshold);
        FloatBuf p;
        try {
            p = backend.allocate(parameterCount(config));
        } catch (RuntimeException | Error e) {
            if (threshold != null) threshold.close();
            throw e;
        }
        params = p;
        tensors = SaeTensors.view(params, config.dIn(), config.dSae());
        wEncT = tensors.wEncT();
        bEnc = tensors.bEnc();
        wDec = tensors.wDec();
        bDec = tensors.bDec();
    }

    /** Floats in the flat parameter buffer: 2 m d + m + d. */
    public static long parameterCount(SaeConfig c) {
        return SaeTensors.count(c.dIn(), c.dSae());
    }

    /**
     * A fresh SAE (SAELens "standard" init; TopK's as Gao et al.'s): W_dec rows in random directions
     * with norm {@code decoderInitNorm} (1 for topk), W_enc = W_dec^T, b_enc = 0, b_dec = 0 (the trainer sets it to the
     * data mean). Deterministic in {@code config.seed()}.
     */
    public static SparseAutoencoder initialize(SaeConfig config, Backend backend) {
        int m = config.dSae(), d = config.dIn();
        float[] wDec = new float[m * d];
        SplittableRandom rng = new SplittableRandom(config.seed());
        for (int i = 0; i < m; i++) {
            double ss = 0;
            for (int k = 0; k < d; k++) {
                double g = SyntheticData.gaussian(rng);
                wDec[i * d + k] = (float) g;
                ss += g * g;
            }
            float s = (float) (config.decoderInitNorm() / Math.sqrt(ss));
            for (int k = 0; k < d; k++) wDec[i * d + k] *= s;
        }
        SparseAutoencoder sae = new SparseAutoencoder(config, backend);
        backend.upload(wDec, 0, sae.wEncT, 0, wDec.length);
        backend.upload(wDec, 0, sae.wDec, 0, wDec.length);
        backend.upload(new float[m], 0, sae.bEnc, 0, m);
        backend.upload(new float[d], 0, sae.bDec, 0, d);
        return sae;
    }

    /** An SAE with the given weights in file layout: W_enc (d, m), b_enc (m), W_dec (m, d), b_dec (d). */
    public static SparseAutoencoder fromWeights(SaeConfig config, Backend backend, float[] wEnc, float[] bEnc,
                                                float[] wDec, float[] bDec) {
        return fromWeights(config, backend, wEnc, bEnc, wDec, bDec, config.activation());
    }

    /**
     * As {@link #fromWeights(SaeConfig, Backend, float[], float[], float[], float[])} with the
     * encoder activation given: the config's, TopK with a relu config (the SAE's config becomes
     * topk with that k), or JumpReLU (SAEs read from other libraries).
     */
    public static SparseAutoencoder fromWeights(SaeConfig config, Backend backend, float[] wEnc, float[] bEnc,
                                                float[] wDec, float[] bDec, EncoderActivation act) {
        if (act.kind() == Activation.Kind.TOPK && !config.topK()) // (the topk config checks k against d_sae)
            config = SaeConfig.builder().setDIn(config.dIn()).setDSae(config.dSae()).optSeed(config.seed()).optTopK(act.k()).build();
        if (config.topK() && !act.equals(config.activation()))
            throw new IllegalArgumentException("encoder " + act.describe() + " does not match the config's architecture "
                    + config.activation().describe());
        int m = config.dSae(), d = config.dIn();
        requireLength("W_enc", wEnc, (long) d * m, "(d_in, d_sae) = (" + d + ", " + m + ")");
        requireLength("b_enc", bEnc, m, "(d_sae) = (" + m + ")");
        requireLength("W_dec", wDec, (long) m * d, "(d_sae, d_in) = (" + m + ", " + d + ")");
        requireLength("b_dec", bDec, d, "(d_in) = (" + d + ")");
        float[] wEncT = transpose(wEnc, d, m);
        SparseAutoencoder sae = new SparseAutoencoder(config, backend, act);
        try {
            backend.upload(wEncT, 0, sae.wEncT, 0, wEncT.length);
            backend.upload(bEnc, 0, sae.bEnc, 0, m);
            backend.upload(wDec, 0, sae.wDec, 0, wDec.length);
            backend.upload(bDec, 0, sae.bDec, 0, d);
        } catch (RuntimeException e) {
            sae.close();
            throw e;
        }
        return sae;
    }

    /** A copy of this SAE's weights, encoder activation and config on another backend. */
    public SparseAutoencoder copyTo(Backend other) {
        return fromWeights(config, other, encoderWeights(), encoderBias(), decoderWeights(), decoderBias(), encoderActivation);
    }

    private static void requireLength(String name, float[] a, long n, String shape) {
        if (a == null || a.length != n)
            throw new IllegalArgumentException(name + ": expected shape " + shape + " = " + n + " values, got "
                    + (a == null ? "null" : a.length));
    }

    static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }

    public SaeConfig config() { return config; }
    public Backend backend() { return backend; }
    public int dIn() { return config.dIn(); }
    public int dSae() { return config.dSae(); }

    /** The flat parameter buffer (see the class comment for its layout). */
    public FloatBuf parameters() { return params; }
    /** The parameters as the backend's kernels take them. */
    public SaeTensors tensors() { return tensors; }
    /** The encoder's activation on the backend (relu unless read from another library's file). */
    public Activation activation() { return activation; }
    /** The encoder's activation as given (host copy of the threshold). */
    public EncoderActivation encoderActivation() { return encoderActivation; }
    public FloatBuf wEncT() { return wEncT; }
    public FloatBuf bEncBuf() { return bEnc; }
    public FloatBuf wDecBuf() { return wDec; }
    public FloatBuf bDecBuf() { return bDec; }

    /** W_enc (d, m), file layout. */
    public float[] encoderWeights() { return transpose(backend.download(wEncT), dSae(), dIn()); }
    /** W_dec (m, d): row i is feature i's direction. */
    public float[] decoderWeights() { return backend.download(wDec); }
    public float[] encoderBias() { return backend.download(bEnc); }
    public float[] decoderBias() { return backend.download(bDec); }

    /** Replaces all parameters with a flat buffer in this class's layout (as saved in checkpoints). */
    public void setParameters(float[] flat) {
        requireLength("parameters", flat, params.length(), "2 m d + m + d");
        backend.upload(flat, 0, params, 0, flat.length);
    }

    public void setDecoderBias(float[] b) {
        requireLength("b_dec", b, dIn(), "(d_in) = (" + dIn() + ")");
        backend.upload(b, 0, bDec, 0, b.length);
    }

    /** Encodes the first {@code n} rows of ws's input into its latents (see {@link Backend#encode}). */
    public void encode(Workspace ws, int n) {
        backend.encode(tensors, activation(), ws, n, null);
    }

    /** Decodes ws's latents of the first {@code n} rows into its reconstruction. */
    public void decode(Workspace ws, int n) {
        backend.decode(tensors, ws, n);
    }

    /** Result of running host activations through the SAE: f (rows, m), xhat (rows, d). */
    public record Output(float[] latents, float[] reconstruction, long nonzeros) {}

    /** Encodes and decodes {@code rows} activations x (rows, d) given on the host. */
    public Output run(float[] x, int rows) {
        if (x.length != (long) rows * dIn())
            throw new IllegalArgumentException("x: expected (" + rows + ", " + dIn() + ") = " + (long) rows * dIn()
                    + " values, got " + x.length);
        NonFiniteInputException.requireFinite(x, rows, dIn(), "input");
        try (Workspace ws = backend.workspace(WorkspaceSpec.inference(rows, dIn(), dSae()))) {
            backend.upload(x, 0, ws.input(), 0, x.length);
            encode(ws, rows);
            decode(ws, rows);
            float[] f = new float[rows * dSae()], xh = new float[rows * dIn()];
            backend.download(ws.latents(), 0, f, 0, f.length);
            backend.download(ws.reconstruction(), 0, xh, 0, xh.length);
            long nnz = 0;
            for (float v : f) if (v != 0) nnz++;
            return new Output(f, xh, nnz);
        }
    }

    @Override
    public void close() {
        params.close();
        if (threshold != null) threshold.close();
    }
}
