package io.sae4j;

import com.google.gson.JsonObject;
import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import io.sae4j.data.ActivationSource;
import io.sae4j.data.MatrixActivationSource;
import io.sae4j.data.NpyActivationSource;
import io.sae4j.io.NpyReader;
import io.sae4j.io.SaeFile;
import io.sae4j.io.SaeFiles;
import io.sae4j.io.SaeLensFormat;
import io.sae4j.metrics.Comparison;
import io.sae4j.sae.EncoderActivation;
import io.sae4j.sae.SaeConfig;
import io.sae4j.sae.SparseAutoencoder;
import io.sae4j.sae.TrainConfig;
import io.sae4j.sae.Trainer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * sae4j's user API: a sparse autoencoder on a backend, trained here or loaded from any format sae4j
 * reads.
 * <pre>{@code
 * try (Sae sae = Sae.train(acts, rows, d).ratio(8).steps(2000).run()) {
 *     sae.save(Path.of("my-sae"));
 *     Encoded f = sae.encode(x, n);             // sparse latents, per-row L0
 * }
 * try (Sae a = Sae.load(Path.of("my-sae")); Sae b = Sae.load(Path.of("other"))) {
 *     Map<String, Object> c = Sae.compare(a, b); // the keys `sae4j compare` prints
 * }
 * }</pre>
 * An Sae made without a backend creates one with {@link Backends#auto()} and closes it with itself;
 * the defaults are the CLI's ({@link SaeConfig#DEFAULT_L1}, {@link TrainConfig#DEFAULT_LR}).
 */
public final class Sae implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.sae4j");

    private final SparseAutoencoder model;
    private final Backend owned; // closed with this Sae, or null
    private final SaeFile file;  // how it was read, or null for one trained here

    private Sae(SparseAutoencoder model, Backend owned, SaeFile file) {
        this.model = model;
        this.owned = owned;
        this.file = file;
    }

    // ---- loading and saving ----

    /**
     * Loads an SAE (format detected: sae4j/SAELens, sparsify, dictionary_learning, OpenAI) on
     * {@link Backends#auto()}, or on the CPU backend when the auto one cannot run its encoder
     * (CUDA runs ReLU encoders only).
     */
    public static Sae load(Path path) throws IOException {
        SaeFile f = SaeFiles.read(path);
        Backend auto = Backends.auto();
        Backend be = auto;
        if (f.activation() != null && !auto.supports(f.activation().kind())) {
            auto.close();
            be = Backends.select("cpu").backend();
        }
        try {
            return new Sae(f.toModel(be), be, f);
        } catch (RuntimeException e) {
            be.close();
            throw e;
        }
    }

    /** Loads an SAE onto a backend the caller owns. */
    public static Sae load(Path path, Backend backend) throws IOException {
        SaeFile f = SaeFiles.read(path);
        return new Sae(f.toModel(backend), null, f);
    }

    /**
     * Writes this SAE as a SAELens directory (cfg.json + sae_weights.safetensors), replacing files
     * atomically; its encoder (relu, topk, jumprelu) is written as SAELens's architecture of that name.
     */
    public void save(Path dir) throws IOException {
        SaeLensFormat.write(model, dir, file == null ? null
                : java.util.Map.of(SaeLensFormat.READ_FROM, file.source() + " (" + file.format() + ")"));
    }

    // ---- training ----

    /** Training on activations x (rows, d), row-major. */
    public static Training train(float[] x, int rows, int d) {
        if ((long) rows * d != x.length)
            throw new IllegalArgumentException("activations: " + x.length + " values, not " + rows + " x " + d);
        return new Training(seed -> new MatrixActivationSource(FloatBuffer.wrap(x), d, seed, "activations"), d);
    }

    /** Training on activations given as rows. */
    public static Training train(float[][] x) {
        if (x.length == 0 || x[0].length == 0) throw new IllegalArgumentException("activations: no rows");
        return train(flatten(x, x[0].length), x.length, x[0].length);
    }

    /** The rows of x, each of d values, one after another; a row of another width is refused. */
    private static float[] flatten(float[][] x, int d) {
        float[] flat = new float[Math.multiplyExact(x.length, d)];
        for (int r = 0; r < x.length; r++) {
            if (x[r].length != d) throw new IllegalArgumentException("row " + r + " has " + x[r].length + " values, expected " + d);
            System.arraycopy(x[r], 0, flat, r * d, d);
        }
        return flat;
    }

    /** Training on activations in a buffer (rows of d from its position to its limit; read, not copied). */
    public static Training train(FloatBuffer x, int d) {
        return new Training(seed -> new MatrixActivationSource(x, d, seed, "activations"), d);
    }

    /** Training on a 2-D float32 .npy file (tokens, d), streamed. */
    public static Training train(Path npy) throws IOException {
        int d;
        try (NpyReader header = NpyReader.open(npy)) { // the width only: a source would allocate its chunk
            d = header.cols();
        }
        return new Training(seed -> new NpyActivationSource(npy, seed), d);
    }

    /** Opens the activations for a shuffle seed. */
    @FunctionalInterface
    interface Source {
        ActivationSource open(long seed) throws IOException;
    }

    /** Settings of one training; {@link #run()} trains. Unset values take the CLI's defaults. */
    public static final class Training {
        private final Source source;
        private final int d;
        private final SaeConfig.Builder sae;
        private final TrainConfig.Builder train = TrainConfig.builder();
        private long steps = 2000, dataSeed;
        private boolean sizeSet;
        private Backend backend;
        private Trainer.Listener listener = Trainer.Listener.NONE;

        private Training(Source source, int d) {
            this.source = source;
            this.d = d;
            this.sae = SaeConfig.builder().setDIn(d);
        }

        /** d_sae = ratio x d_in (default 8). */
        public Training ratio(double ratio) {
            sae.setRatio(ratio);
            sizeSet = true;
            return this;
        }

        public Training dSae(int m) {
            sae.setDSae(m);
            sizeSet = true;
            return this;
        }

        public Training l1(double lambda) { sae.optL1Coefficient(lambda); return this; }
        /** A TopK SAE keeping each token's k largest latents (no L1; unit-norm decoder rows). */
        public Training topK(int k) { sae.optTopK(k); return this; }
        /**
         * With {@link #topK}: AuxK (Gao et al. 2024) at this coefficient against the MSE (sparsify's
         * convention, default 1/32 there), so that latents that stopped firing (none in the last
         * million tokens) get a gradient again.
         */
        public Training auxK(double coefficient) { train.optAuxK(coefficient); return this; }
        public Training seed(long seed) { sae.optSeed(seed); return this; }
        public Training steps(long n) { steps = n; return this; }
        public Training batchSize(int tokens) { train.optBatchSize(tokens); return this; }
        public Training lr(double lr) { train.optLr(lr); return this; }
        public Training logEvery(int steps) { train.optLogEvery(steps); return this; }
        /** The seed of the data order (default 0). */
        public Training dataSeed(long seed) { dataSeed = seed; return this; }
        /** The backend to train on (default {@link Backends#auto()}, owned by the result). */
        public Training backend(Backend b) { backend = b; return this; }
        /** Receives each interval's records: {@code records -> ...}. */
        public Training listener(Trainer.Listener l) { listener = l; return this; }

        /**
         * Trains, then warns (System.Logger "io.sae4j") when the result looks untrained: FVU near 1
         * or most latents dead in the last interval.
         */
        public Sae run() throws IOException {
            if (!sizeSet) sae.setRatio(8);
            SaeConfig config = sae.build();
            TrainConfig tc = train.setSteps(steps).build();
            Backend be = backend != null ? backend : Backends.auto();
            SparseAutoencoder model = null;
            try (ActivationSource data = source.open(dataSeed)) {
                if (data.dIn() != d) throw new IllegalArgumentException("activations have d " + data.dIn() + ", expected " + d);
                model = SparseAutoencoder.initialize(config, be);
                List<Trainer.Record> last = new ArrayList<>();
                try (Trainer trainer = new Trainer(List.of(model), tc)) {
                    trainer.run(data, records -> {
                        last.clear();
                        last.addAll(records);
                        listener.record(records);
                    });
                }
                if (!last.isEmpty()) warnIfUntrained(last.get(0));
                return new Sae(model, backend == null ? be : null, null);
            } catch (IOException | RuntimeException e) {
                if (model != null) model.close();
                if (backend == null) be.close();
                throw e;
            }
        }

        private static void warnIfUntrained(Trainer.Record r) {
            if (r.fvu() > 0.9 || r.deadFraction() > 0.5)
                LOG.log(System.Logger.Level.WARNING, String.format(Locale.ROOT,
                        "the SAE looks untrained at step %d: FVU %.3f, %.0f%% of latents dead, L0 %.2f (try a smaller l1,"
                                + " a larger lr or more steps)", r.step(), r.fvu(), 100 * r.deadFraction(), r.l0()));
        }
    }

    // ---- encoding ----

    /** The first rows rows of x, or one line saying x is shorter. */
    private float[] firstRows(float[] x, int rows) {
        long n = (long) rows * dIn();
        if (rows < 1 || x.length < n)
            throw new IllegalArgumentException("x: " + x.length + " values hold fewer than rows = " + rows + " rows of d_in = " + dIn());
        return x.length == n ? x : java.util.Arrays.copyOf(x, (int) n);
    }

    /** Latents of the first {@code rows} rows of x (row-major, d_in wide), sparse. */
    public Encoded encode(float[] x, int rows) {
        return Encoded.of(encodeDense(x, rows), rows, dSae());
    }

    public Encoded encode(float[][] x) {
        return encode(flatten(x, dIn()), x.length);
    }

    /** Latents of the first {@code rows} rows of x as a dense (rows, d_sae) matrix. */
    public float[] encodeDense(float[] x, int rows) {
        return model.run(firstRows(x, rows), rows).latents();
    }

    /** Reconstruction xhat (rows, d_in) of the first {@code rows} rows of x. */
    public float[] reconstruct(float[] x, int rows) {
        return model.run(firstRows(x, rows), rows).reconstruction();
    }

    // ---- comparing ----

    /** Directions of two or more SAEs compared (threshold 0.7): the map `sae4j compare` prints. */
    public static Map<String, Object> compare(Sae... saes) throws IOException {
        if (saes.length < 2) throw new IllegalArgumentException("compare needs two or more SAEs, got " + saes.length);
        return compare(Comparison.Options.defaults(), saes);
    }

    /** As {@link #compare(Sae...)}, plus the activation keys over the rows of x (rows, d_in). */
    public static Map<String, Object> compare(float[] x, int rows, Sae... saes) throws IOException {
        if (saes.length < 2) throw new IllegalArgumentException("compare needs two or more SAEs, got " + saes.length);
        int d = saes[0].dIn();
        if ((long) rows * d != x.length) throw new IllegalArgumentException("activations: " + x.length + " values, not " + rows + " x " + d);
        Comparison.Activations acts = new Comparison.Activations(
                (start, count, into) -> System.arraycopy(x, (int) start * d, into, 0, count * d), rows, "activations", null);
        return compare(Comparison.Options.defaults().withActivations(acts), saes);
    }

    public static Map<String, Object> compare(Comparison.Options options, Sae... saes) throws IOException {
        List<SaeFile> files = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Sae s : saes) {
            files.add(s.asFile());
            names.add(s.describe());
        }
        return Comparison.of(saes[0].model.backend(), files, names, options);
    }

    private SaeFile asFile() {
        if (file != null) return file;
        return new SaeFile(Path.of("(trained in memory)"), "sae4j", new JsonObject(), "relu", dIn(), dSae(),
                EncoderActivation.RELU, model.encoderWeights(), model.encoderBias(), model.decoderWeights(), model.decoderBias(),
                null, List.of());
    }

    // ---- what it is ----

    public int dIn() { return model.dIn(); }
    public int dSae() { return model.dSae(); }
    /** The engine beneath: the model on its backend. */
    public SparseAutoencoder model() { return model; }

    /** "sae4j ReLU SAE 512 -> 4096" or the source path and format. */
    public String describe() {
        return file != null ? file.source() + " (" + file.format() + ")"
                : "sae4j ReLU SAE " + dIn() + " -> " + dSae() + " (trained in memory)";
    }

    @Override
    public void close() {
        model.close();
        if (owned != null) owned.close();
    }
}
