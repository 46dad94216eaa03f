package io.sae4j.bench;

import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import io.sae4j.backend.Matrix;
import io.sae4j.sae.SaeConfig;
import io.sae4j.sae.SparseAutoencoder;
import io.sae4j.sae.TrainConfig;
import io.sae4j.sae.Trainer;
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
 * One ReLU-L1 Adam step (forward, backward, optimiser) of an SAE with d_in = dIn and d_sae =
 * ratio * dIn on a batch of {@code batch} tokens, beside its baseline in the same run: the encoder
 * GEMM alone (2 B d m flops), the one product a sparse step cannot avoid. {@code density} sets the
 * fraction of latents that fire: "init" is a fresh SAE (about half fire, dense paths), "0.01" shifts
 * b_enc so that about 1% fire, as in a trained SAE (sparse paths). GFLOP/s of the whole step are
 * counted as 12 B d m (the dense step's flops) in RESULTS.md. {@code architecture} "topk32" makes it a
 * TopK step (k 32: the unit-norm decoder steps included; {@code density} then does not apply);
 * "topk32auxk" adds AuxK (coefficient 1/8) with every tenth latent dead: their encoder rows are
 * scaled by 1/100 so that TopK never selects them, and the dead list is refreshed every step.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TrainStepBenchmark {
    @Param({"4096"})
    public int batch;

    @Param({"512"})
    public int dIn;

    @Param({"8"})
    public int ratio;

    @Param({"init", "0.01"})
    public String density;

    /** "relu" (L1), "topk32" (TopK, k = 32) or "topk32auxk" (with AuxK on a tenth of the latents). */
    @Param({"relu"})
    public String architecture;

    /** Backend: cpu or cuda (GPU kernels are asynchronous: each invocation ends with a sync). */
    @Param({"cpu"})
    public String device;

    private Backend backend;
    private SparseAutoencoder sae;
    private Trainer trainer;
    private float[] x;
    private FloatBuf xb, pre;

    @Setup(Level.Trial)
    public void setup() {
        backend = Backends.select(device).backend();
        System.out.println("# " + backend.describe());
        SplittableRandom r = new SplittableRandom(1);
        x = new float[batch * dIn];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
        int m = ratio * dIn;
        boolean auxK = "topk32auxk".equals(architecture), topk = auxK || "topk32".equals(architecture);
        if (!topk && !"relu".equals(architecture))
            throw new IllegalArgumentException("architecture: relu, topk32 or topk32auxk, got " + architecture);
        SaeConfig.Builder cfg = SaeConfig.builder().setDIn(dIn).setDSae(m);
        sae = SparseAutoencoder.initialize((topk ? cfg.optTopK(32) : cfg.optL1Coefficient(1e-3)).build(), backend);
        if (!topk && !"init".equals(density)) Sparsify.toDensity(sae, x, batch, Double.parseDouble(density));
        TrainConfig.Builder tc = TrainConfig.builder().setSteps(Long.MAX_VALUE / 4 / batch).optBatchSize(batch).optLr(1e-7);
        if (auxK) {
            float[] p = backend.download(sae.parameters());
            for (int i = 0; i < m; i += 10)
                for (int c = 0; c < dIn; c++) p[i * dIn + c] *= 0.01f; // W_encT row i: never among the top 32
            sae.setParameters(p);
            tc.optAuxK(0.125).optDeadWindowTokens(batch).optLogEvery(1);
        }
        trainer = new Trainer(java.util.List.of(sae), tc.build());
        xb = backend.upload(x);
        pre = backend.allocate((long) batch * m);
    }

    /**
     * {@link #STEPS} steps, then a sync: a GPU backend runs ahead of the host (the next batch is
     * uploaded while the last one trains), so one sync per step would measure the round trip.
     */
    @Benchmark
    @OperationsPerInvocation(STEPS)
    public long trainStep() {
        for (int i = 0; i < STEPS; i++) {
            trainer.step(x, "benchmark batch");
            if (trainer.config().auxK()) trainer.drainRecords(); // AuxK's dead list from the step's firing counts
        }
        backend.sync();
        return trainer.step();
    }

    static final int STEPS = 4;

    @Benchmark
    public FloatBuf encoderGemmBaseline() {
        backend.gemm(1f, Matrix.of(xb, batch, dIn), Matrix.of(sae.wEncT(), sae.dSae(), dIn).t(), 0f,
                Matrix.of(pre, batch, sae.dSae()));
        backend.sync();
        return pre;
    }

    /** The host-to-device copy a step starts with, alone (for ProfileSteps). */
    void uploadBatch() {
        backend.upload(x, 0, xb, 0, x.length);
    }

    void sync() {
        backend.sync();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (trainer.config().auxK()) System.out.println("# AuxK dead latents at the last step: " + trainer.auxKDead(0));
        trainer.close();
        sae.close();
        backend.close();
    }
}
