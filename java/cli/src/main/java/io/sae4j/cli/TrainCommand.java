package io.sae4j.cli;

import io.sae4j.backend.Backend;
import io.sae4j.data.Fingerprint;
import io.sae4j.data.NpyActivationSource;
import io.sae4j.sae.SaeConfig;
import io.sae4j.sae.TrainConfig;
import io.sae4j.sae.Trainer;
import io.sae4j.sae.TrainingRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Trains one SAE per (ratio, seed) on an activations file in a single pass over the data
 * (multi-SAE trainer), writing {@code <out>/ratio-R[-seed-S]/} SAELens directories and
 * {@code <out>/train_log.csv}; resumes from {@code <out>/checkpoint} when run again.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train SAEs (ReLU with L1, or TopK with --k) of several expansion ratios (and seeds) on one activations file.")
final class TrainCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    DeviceOption device = new DeviceOption();

    @Option(names = "--acts", required = true, description = "Activations .npy (tokens, d), float32 or float16.")
    Path acts;

    @Option(names = "--ratios", split = ",", defaultValue = "1,2,4,8", description = "Expansion ratios d_sae/d_in (default ${DEFAULT-VALUE}).")
    List<Double> ratios;

    @Option(names = "--seeds", split = ",", defaultValue = "42", description = "Initialisation seeds, one SAE per ratio and seed (default ${DEFAULT-VALUE}).")
    List<Long> seeds;

    @Option(names = "--l1", description = "L1 coefficient lambda on sum_i f_i ||W_dec,i|| of ReLU SAEs (default "
            + SaeConfig.DEFAULT_L1 + ").")
    Double l1;

    @Option(names = "--k", description = "Train TopK SAEs instead (Gao et al. 2024): each token keeps its k largest latents,"
            + " the loss is the MSE alone and W_dec's rows are held at unit norm; L0 is k by construction.")
    Integer k;

    @Option(names = "--auxk", defaultValue = "0", description = "With --k: AuxK (Gao et al. 2024) at this coefficient against"
            + " the MSE (sparsify's convention; 1/32 = 0.03125 is its default): each token's d_in/2 largest dead latents learn"
            + " to reconstruct what the SAE misses, so that dead latents come back; 0 = off (default ${DEFAULT-VALUE}).")
    double auxK;

    @Option(names = "--dead-window", defaultValue = "1000000", description = "A latent that has not fired in this many"
            + " tokens is dead: the logs' dead fraction, and AuxK's dead latents (default ${DEFAULT-VALUE}).")
    long deadWindow;

    @Option(names = "--steps", description = "Optimiser steps (default: one pass over the file).")
    Long steps;

    @Option(names = "--batch", description = "Tokens per step (default ${DEFAULT-VALUE}).")
    int batch = TrainConfig.DEFAULT_BATCH;

    @Option(names = "--lr", description = "Adam learning rate (default ${DEFAULT-VALUE}).")
    double lr = TrainConfig.DEFAULT_LR;

    @Option(names = "--lr-decay", description = "Fraction of the steps, at the end, over which the learning rate falls "
            + "linearly towards 0 (default ${DEFAULT-VALUE}).")
    double lrDecay = TrainConfig.DEFAULT_LR_DECAY;

    @Option(names = "--log-every", defaultValue = "100", description = "Steps between log records (default ${DEFAULT-VALUE}).")
    int logEvery;

    @Option(names = "--checkpoint-every", defaultValue = "1000", description = "Steps between checkpoints; 0: only at the end "
            + "(default ${DEFAULT-VALUE}).")
    long checkpointEvery;

    @Option(names = "--target-l0", defaultValue = "0", description = "Adapt lambda (from --l1) during training "
            + "until each SAE's L0 reaches this: SAEs at matched sparsity; 0 = lambda fixed (default ${DEFAULT-VALUE}). Lambda "
            + "changes at each log record (--log-every), by at most 1.25x, and does not rise while L0 is already falling by over a tenth a record.")
    double targetL0;

    @Option(names = "--resample-every", defaultValue = "0", description = "Resample dead latents (Anthropic 2023) every N steps "
            + "in the first half of training; 0 = never (default ${DEFAULT-VALUE}).")
    long resampleEvery;

    @Option(names = "--data-seed", defaultValue = "0", description = "Seed of the data shuffle (default ${DEFAULT-VALUE}).")
    long dataSeed;

    @Option(names = "--snapshot-at", split = ",", paramLabel = "STEP", description = "Also write every SAE as it is after these "
            + "steps (multiples of --log-every), into OUT/at-step-STEP/NAME, to see whether its figures still move.")
    List<Long> snapshotAt = new ArrayList<>();

    @Option(names = "--out", required = true, description = "Run directory.")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (ratios.isEmpty() || seeds.isEmpty()) throw new IllegalArgumentException("--ratios and --seeds must not be empty");
        if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        if (steps != null && steps < 1) throw new IllegalArgumentException("--steps must be >= 1, got " + steps);
        if (!(targetL0 >= 0)) throw new IllegalArgumentException("--target-l0 must be >= 0 (0: lambda fixed), got " + targetL0);
        if (resampleEvery < 0) throw new IllegalArgumentException("--resample-every must be >= 0 steps, got " + resampleEvery);
        if (Files.exists(out) && !Files.isDirectory(out))
            throw new IllegalArgumentException("--out " + out + ": exists and is not a directory");
        if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("--lr must be a positive number, got " + lr);
        if (k != null && (l1 != null || targetL0 != 0))
            throw new IllegalArgumentException("--k trains TopK SAEs, which have no L1 penalty: drop --l1 and --target-l0");
        if (k != null && k < 1) throw new IllegalArgumentException("--k must be >= 1, got " + k);
        if (!(auxK >= 0) || Double.isInfinite(auxK)) throw new IllegalArgumentException("--auxk must be a number >= 0, got " + auxK);
        if (auxK > 0 && k == null) throw new IllegalArgumentException("--auxk is TopK training's loss on dead latents: give --k too");
        if (deadWindow < 1) throw new IllegalArgumentException("--dead-window must be >= 1 token, got " + deadWindow);
        double lambda = l1 != null ? l1 : SaeConfig.DEFAULT_L1;
        if (!(lambda >= 0) || Double.isInfinite(lambda)) throw new IllegalArgumentException("--l1 must be a number >= 0, got " + l1);
        if (!(lrDecay >= 0 && lrDecay <= 1))
            throw new IllegalArgumentException("--lr-decay must be a fraction of the steps in [0, 1], got " + lrDecay);
        if (logEvery < 1) throw new IllegalArgumentException("--log-every must be >= 1, got " + logEvery);
        if (checkpointEvery < 0) throw new IllegalArgumentException("--checkpoint-every must be >= 0, got " + checkpointEvery);
        try (NpyActivationSource source = new NpyActivationSource(acts, dataSeed)) {
            int d = source.dIn();
            // one sample of the file: its content identity, and whether its rows vary at all
            Fingerprint content = Fingerprint.of(acts);
            if (!content.varies())
                throw new IllegalArgumentException(acts + ": all " + content.rows() + " rows sampled across the file are"
                        + " equal: the activations do not vary, so there is nothing to learn and the FVU is undefined");
            long nSteps = steps != null ? steps : Math.max(1, source.rows() / batch);
            List<String> names = new ArrayList<>();
            List<SaeConfig> configs = new ArrayList<>();
            for (double r : ratios)
                for (long s : seeds) {
                    int dSae;
                    try {
                        dSae = SaeConfig.dSaeFor(r, d);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("--ratios: " + e.getMessage());
                    }
                    names.add("ratio-" + fmt(r) + (seeds.size() > 1 ? "-seed-" + s : ""));
                    if (targetL0 > dSae)
                        throw new IllegalArgumentException("--target-l0 " + targetL0 + " exceeds the " + dSae
                                + " latents of ratio " + r + " (d_in " + d + ")");
                    if (k != null && k > dSae)
                        throw new IllegalArgumentException("--k " + k + " exceeds the " + dSae + " latents of ratio " + r
                                + " (d_in " + d + ")");
                    SaeConfig.Builder b = SaeConfig.builder().setDIn(d).setRatio(r).optSeed(s);
                    configs.add((k != null ? b.optTopK(k) : b.optL1Coefficient(lambda).optTargetL0(targetL0)).build());
                }
            // one batch and its latents live in single arrays and workspaces indexed by int
            long maxDSae = configs.stream().mapToLong(SaeConfig::dSae).max().orElse(1);
            if ((long) batch * d > Integer.MAX_VALUE || (long) batch * maxDSae > Integer.MAX_VALUE)
                throw new IllegalArgumentException("--batch " + batch + " is too large for d_in " + d + " and d_sae " + maxDSae
                        + ": batch x max(d_in, d_sae) must be at most " + Integer.MAX_VALUE + " (at most "
                        + Integer.MAX_VALUE / Math.max(d, maxDSae) + " here)");
            TrainConfig tc = TrainConfig.builder().setSteps(nSteps).optBatchSize(batch).optLr(lr).optLrDecayFraction(lrDecay)
                    .optLogEvery(logEvery).optCheckpointEvery(checkpointEvery).optResampleEvery(resampleEvery)
                    .optAuxK(auxK).optDeadWindowTokens(deadWindow).build();
            // the content, not only the path and size: a regenerated file must not pass as the old one
            String identity = acts.toAbsolutePath() + " (" + source.rows() + " x " + d + ", " + Files.size(acts)
                    + " bytes, " + content.id() + ", shuffle seed " + dataSeed + ")";
            TrainingRun run = new TrainingRun(out, names, configs, tc, identity);
            try {
                run.snapshotAt(snapshotAt.stream().mapToLong(Long::longValue).toArray());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--snapshot-at: " + e.getMessage());
            }
            if (run.finished()) {
                System.out.println(out + ": already trained (" + String.join(", ", names) + "); nothing to do");
                return 0;
            }
            System.err.printf(Locale.ROOT, "sae4j train: %s; %d SAE%s (%s), %d steps x %d tokens = %.2f epochs%n",
                    acts, names.size(), names.size() == 1 ? "" : "s", String.join(", ", names), nSteps, batch,
                    (double) nSteps * batch / source.rows());
            long resume = run.resumeStep();
            if (resume >= 0)
                System.err.println("sae4j train: resuming " + out + " from step " + resume + " (checkpoint written at "
                        + run.checkpointTime() + ")");
            List<Trainer.Record> last;
            // the device is opened once the arguments and files have been checked
            try (Backend backend = device.open(); Progress p = new Progress("train", nSteps, "steps")) {
                if (resume > 0) p.resumeAt(resume);
                last = run.run(backend, source, new Trainer.Listener() {
                    @Override
                    public void record(List<Trainer.Record> records) {
                        Trainer.Record r = records.get(records.size() - 1);
                        p.note(String.format(Locale.ROOT, "%s: mse %.4g L0 %.1f fvu %.3f dead %.1f%%",
                                names.get(r.sae()), r.mse(), r.l0(), r.fvu(), 100 * r.deadFraction()));
                        p.update(r.step());
                    }
                });
            }
            System.out.printf("%-22s %10s %8s %8s %8s%n", "sae", "mse", "fvu", "L0", "dead%");
            for (Trainer.Record r : last)
                System.out.printf(Locale.ROOT, "%-22s %10.4g %8.4f %8.2f %8.2f%n", names.get(r.sae()), r.mse(), r.fvu(), r.l0(),
                        100 * r.deadFraction());
            System.out.println("wrote " + out + "/{" + String.join(",", names) + "} and " + out.resolve(TrainingRun.LOG));
            return 0;
        }
    }

    static String fmt(double r) {
        return r == Math.rint(r) ? Long.toString((long) r) : Double.toString(r);
    }
}
