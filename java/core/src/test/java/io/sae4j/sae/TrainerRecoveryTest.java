package io.sae4j.sae;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.data.SyntheticData;
import io.sae4j.metrics.DecoderSimilarity;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The trainer recovers the ground-truth features of a small synthetic problem. */
class TrainerRecoveryTest {
    @Test
    void multiSaeTrainingRecoversGroundTruth() throws Exception {
        SyntheticData.Spec spec = new SyntheticData.Spec(48, 96, 4, 0.99, 0, 1, 0, 7);
        TrainConfig tc = TrainConfig.builder().setSteps(1500).optBatchSize(256).optLr(3e-3)
                .optLogEvery(250).build();
        double l1 = 0.3;
        try (CpuBackend be = new CpuBackend(); SyntheticData data = new SyntheticData(spec)) {
            List<SparseAutoencoder> saes = new ArrayList<>();
            for (int ratio : new int[] {2, 4})
                saes.add(SparseAutoencoder.initialize(SaeConfig.builder().setDIn(48).setRatio(ratio)
                        .optL1Coefficient(l1).build(), be));
            List<Trainer.Record> last = new ArrayList<>();
            try (Trainer t = new Trainer(saes, tc)) {
                t.run(data, new Trainer.Listener() {
                    @Override
                    public void record(List<Trainer.Record> records) {
                        last.clear();
                        last.addAll(records);
                    }
                });
                assertEquals(tc.steps(), t.step());
            }
            float[] truth = data.features();
            for (SparseAutoencoder sae : saes) {
                double recovery = DecoderSimilarity.groundTruthRecovery(truth, 96, sae);
                System.out.printf("ratio %.0f: truth->learned MMCS %.4f%n", sae.config().ratio(), recovery);
                assertTrue(recovery >= 0.9, "ground-truth recovery MMCS " + recovery + " < 0.9 at ratio " + sae.config().ratio());
                // the same score for an untrained SAE of the same shape stays far below
                try (SparseAutoencoder random = DecoderSimilarity.randomLike(sae, 1234)) {
                    double base = DecoderSimilarity.groundTruthRecovery(truth, 96, random);
                    assertTrue(base < 0.6, "random-init baseline recovery " + base);
                }
            }
            for (Trainer.Record r : last) {
                assertTrue(r.fvu() < 0.2, "FVU " + r.fvu());
                assertTrue(r.l0() > 1 && r.l0() < 20, "L0 " + r.l0());
            }
        }
    }
}
