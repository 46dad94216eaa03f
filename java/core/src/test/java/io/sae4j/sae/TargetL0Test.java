package io.sae4j.sae;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.data.SyntheticData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training at a target L0: lambda adapts, from either side, until the SAE's L0 meets the target. */
class TargetL0Test {
    static final SyntheticData.Spec SPEC = new SyntheticData.Spec(16, 64, 3, 0.98, 0, 1, 0.01, 5);

    @Test
    void lambdaWaitsWhileL0IsFallingOnItsOwn() {
        assertEquals(1.0, Trainer.lambdaFactor(200, 300, 32), "L0 above the target, already falling 33% a record: held");
        assertEquals(1.25, Trainer.lambdaFactor(200, 210, 32), "falling 5% a record: raised, at most 1.25x");
        assertEquals(1.25, Trainer.lambdaFactor(200, Double.NaN, 32), "no record before: raised");
        assertEquals(Math.sqrt(33 / 32.0), Trainer.lambdaFactor(33, 34, 32), 1e-12, "near the target, settling: sqrt(L0 / target)");
        assertEquals(Math.sqrt(24 / 32.0), Trainer.lambdaFactor(24, 40, 32), 1e-12, "below the target: lowered, falling or not");
        assertEquals(0.8, Trainer.lambdaFactor(0, 5, 32), "nothing fires: lowered by the most");
    }

    /**
     * Every lambda change in a run's log follows {@link Trainer#lambdaFactor} of the record before
     * and the one before that, across a crash and resume too (the checkpoint restores the previous
     * record), and the run both waits and adapts, so that this checks the wiring of each.
     */
    @Test
    void loggedLambdaFollowsTheControllerAcrossAResume(@TempDir Path tmp) throws Exception {
        TrainConfig tc = TrainConfig.builder().setSteps(300).optBatchSize(256).optLr(5e-3).optLogEvery(10).optCheckpointEvery(50).build();
        SaeConfig cfg = SaeConfig.builder().setDIn(16).setRatio(4).optL1Coefficient(0.01).optTargetL0(6).build();
        TrainingRun run = new TrainingRun(tmp, List.of("r4"), List.of(cfg), tc, "synthetic");
        try (CpuBackend be = new CpuBackend(2, 0)) {
            assertThrows(IllegalStateException.class, () -> run.run(be, new SyntheticData(SPEC), records -> {
                if (records.get(0).step() == 170) throw new IllegalStateException("simulated crash");
            }));
            assertEquals(150, Checkpoint.step(Checkpoint.find(tmp)));
            run.run(be, new SyntheticData(SPEC), Trainer.Listener.NONE);
        }
        List<String[]> rows = Files.readAllLines(tmp.resolve(TrainingRun.LOG)).stream().skip(1).map(l -> l.split(",")).toList();
        assertEquals(30, rows.size(), "one record per 10 steps, the replayed ones once");
        int held = 0, moved = 0;
        for (int k = 2; k < rows.size(); k++) {
            long step = Long.parseLong(rows.get(k - 1)[0]);
            if (step <= tc.l1WarmupSteps()) continue; // lambda still warming up, not adapted
            double expected = Trainer.lambdaFactor(Double.parseDouble(rows.get(k - 1)[9]), Double.parseDouble(rows.get(k - 2)[9]), 6);
            double actual = Double.parseDouble(rows.get(k)[5]) / Double.parseDouble(rows.get(k - 1)[5]);
            assertEquals(expected, actual, 1e-4 * expected, "lambda after the record of step " + step);
            if (expected == 1) held++;
            else moved++;
        }
        assertTrue(held > 0 && moved > 0, "the run waited " + held + " times and adapted " + moved + " times");
    }

    /** The records a checkpoint restores must be one per SAE, in order, at its step: the controller reads them. */
    @Test
    void restoredRecordsMustLineUpWithTheSaes() {
        TrainConfig tc = TrainConfig.builder().setSteps(100).optBatchSize(16).optLogEvery(10).build();
        try (CpuBackend be = new CpuBackend(1, 0);
             SparseAutoencoder sae = SparseAutoencoder.initialize(SaeConfig.builder().setDIn(4).setRatio(2).build(), be);
             Trainer t = new Trainer(List.of(sae), tc)) {
            Trainer.SaeState st = t.state(0);
            Trainer.Record at20 = new Trainer.Record(20, 320, 1e-3, 0.3, 0, 1, 1, 1, 3, 0.5, 0);
            t.restore(20, List.of(st), List.of()); // none: a checkpoint from before records were kept
            t.restore(20, List.of(st), List.of(at20));
            for (Trainer.Record bad : new Trainer.Record[] {new Trainer.Record(10, 160, 1e-3, 0.3, 0, 1, 1, 1, 3, 0.5, 0),
                    new Trainer.Record(20, 320, 1e-3, 0.3, 1, 1, 1, 1, 3, 0.5, 0)})
                assertThrows(IllegalArgumentException.class, () -> t.restore(20, List.of(st), List.of(bad)), bad.toString());
            assertThrows(IllegalArgumentException.class, () -> t.restore(20, List.of(st), List.of(at20, at20)));
        }
    }

    @Test
    void lambdaAdaptsUntilL0MeetsTheTarget() throws Exception {
        TrainConfig tc = TrainConfig.builder().setSteps(500).optBatchSize(256).optLr(5e-3).optLogEvery(10).build();
        try (CpuBackend be = new CpuBackend(2, 0)) {
            List<SparseAutoencoder> saes = new ArrayList<>();
            // same SAE three times: lambda fixed, and adapting to L0 6 from far too low and far too high a lambda
            saes.add(SparseAutoencoder.initialize(SaeConfig.builder().setDIn(16).setRatio(4).optL1Coefficient(0.3).build(), be));
            saes.add(SparseAutoencoder.initialize(SaeConfig.builder().setDIn(16).setRatio(4).optL1Coefficient(0.01)
                    .optTargetL0(6).build(), be));
            saes.add(SparseAutoencoder.initialize(SaeConfig.builder().setDIn(16).setRatio(4).optL1Coefficient(3)
                    .optTargetL0(6).build(), be));
            try (Trainer t = new Trainer(saes, tc); SyntheticData src = new SyntheticData(SPEC)) {
                List<Trainer.Record> last = new ArrayList<>();
                t.run(src, records -> { last.clear(); last.addAll(records); });
                assertEquals(1.0, t.l1Factor(0), "a fixed lambda stays");
                assertTrue(t.l1Factor(1) > 3, "lambda rose from 0.01: factor " + t.l1Factor(1));
                assertTrue(t.l1Factor(2) < 1 / 3.0, "lambda fell from 3: factor " + t.l1Factor(2));
                for (int i = 1; i <= 2; i++)
                    assertEquals(6, last.get(i).l0(), 1.2, "SAE " + i + " ends near L0 6: " + last.get(i));
                assertEquals(0.01 * t.l1Factor(1), last.get(1).l1Coefficient(), 1e-12, "records give the adapted lambda");
            } finally {
                saes.forEach(SparseAutoencoder::close);
            }
        }
    }
}
