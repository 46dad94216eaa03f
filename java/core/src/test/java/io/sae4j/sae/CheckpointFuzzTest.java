package io.sae4j.sae;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.data.SyntheticData;
import io.sae4j.io.FormatException;
import io.sae4j.io.Fuzzer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint's state.json under {@link Fuzzer}: resuming from a damaged one is refused with a
 * {@link FormatException} naming the file, never another exception, however the JSON is changed.
 */
class CheckpointFuzzTest {
    @TempDir
    Path tmp;

    /** What a resume reads: identity and step, the SAEs, then the trainer state. */
    private static void resume(Path checkpoint, CpuBackend be) throws Exception {
        Checkpoint.identity(checkpoint);
        Checkpoint.step(checkpoint);
        List<SparseAutoencoder> saes = Checkpoint.loadSaes(checkpoint, be);
        try (Trainer t = new Trainer(saes, TrainingRunResumeTest.TRAIN)) {
            Checkpoint.restore(t, checkpoint);
        } finally {
            for (SparseAutoencoder s : saes) s.close();
        }
    }

    @Test
    void damagedStateIsRefusedAsAFormatError() throws Exception {
        Path run = tmp.resolve("run");
        try (CpuBackend be = new CpuBackend(1, 0)) {
            assertThrows(IllegalStateException.class, () -> TrainingRunResumeTest.run(run).run(be,
                    new SyntheticData(TrainingRunResumeTest.SPEC), new Trainer.Listener() {
                        @Override
                        public void record(List<Trainer.Record> records) {
                            if (records.get(0).step() == 30) throw new IllegalStateException("simulated crash");
                        }
                    }));
            Path checkpoint = Checkpoint.find(run), state = checkpoint.resolve("state.json");
            resume(checkpoint, be); // the seed reads cleanly
            List<byte[]> seeds = new ArrayList<>(List.of(Files.readAllBytes(state)));
            long errors = Fuzzer.run("checkpoint-state", seeds, state, () -> resume(checkpoint, be),
                    t -> t instanceof FormatException && t.getMessage().contains(state.toString()));
            assertTrue(errors < Fuzzer.ITERATIONS, "every mutation was refused: the fuzzer does not get past the syntax");
        }
    }
}
