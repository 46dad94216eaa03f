package io.sae4j.sae;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.backend.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

/** AuxK in the trainer: TopK SAEs' dead latents get a gradient and fire again; its loss is logged. */
class AuxKTrainingTest {
    static final int D = TopKTrainingTest.D, B = 64, K = 3, STARVED = 16;

    /**
     * Latents 0..15 start with encoder rows a hundredth of the others', so TopK hardly ever selects
     * them: without AuxK few ever get a gradient; with it they learn the residual and fire. Returns how
     * many of them fire on held-out rows after training.
     */
    static int starvedLatentsFiring(double auxK, List<Trainer.Record> records) {
        SaeConfig cfg = SaeConfig.builder().setDIn(D).setRatio(4).optTopK(K).optSeed(3).build();
        TrainConfig tc = TrainConfig.builder().setSteps(600).optBatchSize(B).optLr(1e-2).optLogEvery(10)
                .optDeadWindowTokens(10L * B).optAuxK(auxK).build();
        try (CpuBackend be = new CpuBackend(2, 0); SparseAutoencoder sae = SparseAutoencoder.initialize(cfg, be);
             Trainer t = new Trainer(List.of(sae), tc)) {
            float[] p = be.download(sae.parameters());
            for (int i = 0; i < STARVED * D; i++) p[i] *= 0.01f; // W_encT rows of latents 0..15
            sae.setParameters(p);
            for (int s = 0; s < tc.steps(); s++) {
                t.step(TopKTrainingTest.batch(B, 100 + s), "batch " + s);
                if ((s + 1) % tc.logEvery() == 0) records.addAll(t.drainRecords());
            }
            float[] f = sae.run(TopKTrainingTest.batch(4096, 7), 4096).latents();
            int fired = 0;
            for (int i = 0; i < STARVED; i++)
                for (int r = 0; r < 4096; r++)
                    if (f[r * cfg.dSae() + i] > 0) {
                        fired++;
                        break;
                    }
            return fired;
        }
    }

    @Test
    void revivesLatentsTopKNeverSelects() {
        List<Trainer.Record> without = new java.util.ArrayList<>(), with = new java.util.ArrayList<>();
        // measured: 3 without, 16 with
        int off = starvedLatentsFiring(0, without), on = starvedLatentsFiring(1.0 / 32, with);
        assertTrue(off <= STARVED / 4, "without AuxK " + off + " of " + STARVED + " starved latents fire");
        assertTrue(on >= 3 * STARVED / 4, "with AuxK " + on + " of " + STARVED + " starved latents fire");
        for (Trainer.Record r : without) assertEquals(r.mse(), r.loss(), 1e-9 * r.mse(), "TopK's loss is the MSE alone");
        Trainer.Record early = with.get(2); // step 30: the starved latents are dead, AuxK's loss is part of the total
        assertTrue(early.loss() > early.mse(), "loss " + early.loss() + " includes AuxK's beside the MSE " + early.mse());
    }

    @Test
    void isRefusedForReluSaes() {
        SaeConfig relu = SaeConfig.builder().setDIn(D).setRatio(2).build();
        TrainConfig tc = TrainConfig.builder().setSteps(10).optBatchSize(B).optAuxK(1.0 / 32).build();
        try (CpuBackend be = new CpuBackend(1, 0); SparseAutoencoder sae = SparseAutoencoder.initialize(relu, be)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(List.of(sae), tc));
            assertTrue(e.getMessage().contains("AuxK is TopK training's loss on dead latents; SAE 0 is relu"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> TrainConfig.builder().setSteps(1).optAuxK(-1).build());
        assertThrows(IllegalArgumentException.class, () -> TrainConfig.builder().setSteps(1).optAuxK(Double.POSITIVE_INFINITY).build());
    }
}
