package io.sae4j.bench;

import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import io.sae4j.sae.SaeConfig;
import io.sae4j.sae.SparseAutoencoder;
import io.sae4j.sae.TrainConfig;
import io.sae4j.sae.Trainer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The study's ratio sweep: one trainer step of SAEs of ratios 1, 2, 4, 8, 16 and 32 on one batch
 * (one shared workspace, the study's mode), beside each ratio trained alone: the sweep should cost
 * no more than the sum of the single steps. Latents at trained-SAE sparsity ({@code density}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class SweepStepBenchmark {
    @Param({"4096"})
    public int batch;

    @Param({"512"})
    public int dIn;

    /** "sweep" (every ratio in one trainer) or a single ratio. */
    @Param({"sweep", "1", "2", "4", "8", "16", "32"})
    public String ratios;

    @Param({"0.01"})
    public double density;

    @Param({"cpu"})
    public String device;

    private Backend backend;
    private final List<SparseAutoencoder> saes = new ArrayList<>();
    private Trainer trainer;
    private float[] x;

    @Setup(Level.Trial)
    public void setup() {
        backend = Backends.select(device).backend();
        System.out.println("# " + backend.describe());
        SplittableRandom r = new SplittableRandom(1);
        x = new float[batch * dIn];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
        int[] sweep = "sweep".equals(ratios) ? new int[] {1, 2, 4, 8, 16, 32} : new int[] {Integer.parseInt(ratios)};
        for (int ratio : sweep) {
            SparseAutoencoder sae = SparseAutoencoder.initialize(
                    SaeConfig.builder().setDIn(dIn).setDSae(ratio * dIn).optL1Coefficient(1e-3).build(), backend);
            Sparsify.toDensity(sae, x, batch, density);
            saes.add(sae);
        }
        System.out.println("# ratios " + Arrays.toString(sweep));
        trainer = new Trainer(saes, TrainConfig.builder().setSteps(Long.MAX_VALUE / 4 / batch).optBatchSize(batch).optLr(1e-7).build());
    }

    @Benchmark
    @OperationsPerInvocation(STEPS)
    public long trainStep() {
        for (int i = 0; i < STEPS; i++) trainer.step(x, "benchmark batch");
        backend.sync();
        return trainer.step();
    }

    static final int STEPS = 2;

    @TearDown(Level.Trial)
    public void tearDown() {
        trainer.close();
        for (SparseAutoencoder sae : saes) sae.close();
        backend.close();
    }
}
