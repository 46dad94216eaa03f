package io.sae4j.cli;

import com.google.gson.GsonBuilder;
import io.sae4j.data.SyntheticData;
import io.sae4j.io.Npy;
import io.sae4j.io.NpyWriter;
import io.sae4j.io.SaeLensFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Writes synthetic activations with known features: acts.npy, truth.npy (features, d), synth.json. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Generate synthetic activations with ground-truth features (sparse_coding recipe).")
final class SynthCommand implements Callable<Integer> {
    @Option(names = "--d", required = true, description = "Activation width d.")
    int d;

    @Option(names = "--features", required = true, description = "Number of true features.")
    int features;

    @Option(names = "--tokens", required = true, description = "Rows (tokens) to generate.")
    long tokens;

    @Option(names = "--out", required = true, description = "Output directory.")
    Path out;

    @Option(names = "--mean-active", defaultValue = "5", description = "Mean active features per token (default ${DEFAULT-VALUE}).")
    double meanActive;

    @Option(names = "--decay", defaultValue = "0.99", description = "Per-feature geometric decay of firing probability (default ${DEFAULT-VALUE}).")
    double decay;

    @Option(names = "--correlation", defaultValue = "0", description = "Correlation of firing within a group, [0, 1) (default ${DEFAULT-VALUE}).")
    double correlation;

    @Option(names = "--groups", defaultValue = "1", description = "Number of correlated groups (default ${DEFAULT-VALUE}).")
    int groups;

    @Option(names = "--noise", defaultValue = "0", description = "Std of Gaussian noise added (default ${DEFAULT-VALUE}).")
    double noise;

    @Option(names = "--seed", defaultValue = "0", description = "Seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--float16", description = "Store activations as float16.")
    boolean float16;

    @Override
    public Integer call() throws Exception {
        // each option checked by its own name (SyntheticData.Spec would speak of its fields)
        if (tokens < 1) throw new IllegalArgumentException("--tokens must be >= 1, got " + tokens);
        if (d < 1) throw new IllegalArgumentException("--d must be >= 1, got " + d);
        if (features < 1) throw new IllegalArgumentException("--features must be >= 1, got " + features);
        if (tokens > Long.MAX_VALUE / (4L * d)) // the file's size (it printed -0.0 MB and started writing)
            throw new IllegalArgumentException("--tokens x --d = " + tokens + " x " + d + " floats: the file size overflows");
        if (!(meanActive > 0 && meanActive <= features))
            throw new IllegalArgumentException("--mean-active must be in (0, --features = " + features + "], got " + meanActive);
        if (!(decay > 0 && decay <= 1)) throw new IllegalArgumentException("--decay must be in (0, 1], got " + decay);
        if (!(correlation >= 0 && correlation < 1))
            throw new IllegalArgumentException("--correlation must be in [0, 1), got " + correlation);
        if (groups < 1 || groups > features)
            throw new IllegalArgumentException("--groups must be in 1..--features = " + features + ", got " + groups);
        if (!(noise >= 0) || Double.isInfinite(noise))
            throw new IllegalArgumentException("--noise must be a number >= 0, got " + noise);
        SyntheticData.Spec spec = new SyntheticData.Spec(d, features, meanActive, decay, correlation, groups, noise, seed);
        SyntheticData data = new SyntheticData(spec);
        Files.createDirectories(out);
        System.err.printf("sae4j synth: %d x %d activations (%s), %.1f MB%n", tokens, d, float16 ? "float16" : "float32",
                tokens * d * (float16 ? 2.0 : 4.0) / 1e6);
        int chunk = (int) Math.max(1, Math.min(tokens, (1 << 22) / d));
        float[] buf = new float[chunk * d];
        // interrupted (Ctrl-C, TERM): no acts.npy.tmp left behind (the hook is in place before the file exists)
        Path acts = out.resolve("acts.npy");
        AtomicBoolean published = new AtomicBoolean();
        Thread cleanup = new Thread(() -> {
            try {
                if (!published.get()) Files.deleteIfExists(NpyWriter.temporaryFile(acts));
            } catch (IOException ignored) { // exiting: nobody to tell
            }
        });
        Runtime.getRuntime().addShutdownHook(cleanup);
        NpyWriter w;
        try {
            w = NpyWriter.open(acts, d, float16 ? Npy.Dtype.F16 : Npy.Dtype.F32);
        } catch (IOException | RuntimeException e) {
            Runtime.getRuntime().removeShutdownHook(cleanup);
            throw e;
        }
        try (Progress p = new Progress("synth", tokens, "tokens")) {
            for (long done = 0; done < tokens; ) {
                int n = (int) Math.min(chunk, tokens - done);
                data.next(buf, n);
                w.append(buf, 0, n);
                done += n;
                p.update(done);
            }
            w.close(); // publishes acts.npy only once complete
            published.set(true);
        } catch (Exception | Error e) {
            w.abort();
            throw e;
        } finally {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
        NpyWriter.write(out.resolve("truth.npy"), data.features(), features, d, false);
        SaeLensFormat.writeAtomically(out.resolve("synth.json"),
                new GsonBuilder().setPrettyPrinting().create().toJson(spec) + "\n");
        System.out.println("wrote " + out.resolve("acts.npy") + " (" + tokens + " x " + d + "), "
                + out.resolve("truth.npy") + " (" + features + " x " + d + ")");
        return 0;
    }
}
