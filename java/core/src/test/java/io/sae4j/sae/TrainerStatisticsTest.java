package io.sae4j.sae;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.backend.cpu.NativeCpu;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The trainer's statistics stay on the backend and are read back in batches of slots: the records
 * must not depend on how often that happens, and a diverging SAE must be caught with its step.
 */
class TrainerStatisticsTest {
    static final int D = 12, B = 64;

    static float[] batch(SplittableRandom r, double scale) {
        float[] x = new float[B * D];
        for (int i = 0; i < x.length; i++) x[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return x;
    }

    static List<SparseAutoencoder> saes(CpuBackend be) {
        List<SparseAutoencoder> out = new ArrayList<>();
        for (int ratio : new int[] {1, 3})
            out.add(SparseAutoencoder.initialize(SaeConfig.builder().setDIn(D).setRatio(ratio).optL1Coefficient(0.2)
                    .optSeed(ratio).build(), be));
        return out;
    }

    /** The records of 23 steps logged every 10, with at most maxSlots steps held on the backend. */
    static List<Trainer.Record> records(CpuBackend be, int maxSlots) {
        TrainConfig tc = TrainConfig.builder().setSteps(23).optBatchSize(B).optLr(1e-2).optLogEvery(10).build();
        List<SparseAutoencoder> s = saes(be);
        List<Trainer.Record> all = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(5);
        try (Trainer t = new Trainer(s, tc, maxSlots)) {
            for (int step = 1; step <= 23; step++) {
                t.step(batch(r, 1), "batch " + step);
                if (step % 10 == 0 || step == 23) all.addAll(t.drainRecords());
            }
        } finally {
            s.forEach(SparseAutoencoder::close);
        }
        return all;
    }

    @Test
    void recordsDoNotDependOnHowOftenStatisticsAreReadBack() {
        try (CpuBackend be = new CpuBackend(2, NativeCpu.ISA_AUTO)) {
            List<Trainer.Record> every = records(be, 1), few = records(be, 3), all = records(be, 1000);
            assertEquals(6, all.size(), "3 records of 2 SAEs");
            assertEquals(all, every, "slots read back after every step");
            assertEquals(all, few, "slots read back every 3 steps (the slots fill up between records)");
            for (Trainer.Record rec : all) {
                assertTrue(rec.l0() > 0 && rec.mse() > 0 && rec.fvu() > 0 && rec.fvu() < 10, rec.toString());
            }
        }
    }

    @Test
    void aDivergingSaeStopsTheTrainerAndNamesItsStep() {
        try (CpuBackend be = new CpuBackend(1, NativeCpu.ISA_AUTO)) {
            List<SparseAutoencoder> s = saes(be);
            TrainConfig tc = TrainConfig.builder().setSteps(50).optBatchSize(B).optLogEvery(10).build();
            SplittableRandom r = new SplittableRandom(6);
            try (Trainer t = new Trainer(s, tc, 4)) {
                t.step(batch(r, 1), "good batch");
                t.step(batch(r, 1e30), "huge batch"); // finite input, squared error overflows: loss is inf
                t.step(batch(r, 1), "good batch");
                IllegalStateException e = assertThrows(IllegalStateException.class, t::drainRecords);
                assertTrue(e.getMessage().contains("diverged at step 2"), e.getMessage());
                assertTrue(e.getMessage().contains("SAE 0 (d_sae 12)"), e.getMessage());
                IllegalStateException again = assertThrows(IllegalStateException.class, () -> t.step(batch(r, 1), "next"));
                assertEquals(e.getMessage(), again.getMessage(), "the trainer stays stopped");
            } finally {
                s.forEach(SparseAutoencoder::close);
            }
        }
    }
}
