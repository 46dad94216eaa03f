package io.sae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.data.SyntheticData;
import io.sae4j.sae.Trainer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The user API as a user writes it: train from memory, save, load, encode, compare, listen. */
class SaeTest {
    private static final int D = 16, ROWS = 8192;

    @TempDir
    Path tmp;

    private static float[] activations() {
        float[] x = new float[ROWS * D];
        new SyntheticData(new SyntheticData.Spec(D, 48, 3, 0.98, 0, 1, 0.01, 5)).next(x, ROWS);
        return x;
    }

    @Test
    void trainSaveLoadEncodeCompare() throws IOException {
        float[] x = activations();
        List<Trainer.Record> seen = new ArrayList<>();
        try (CpuBackend be = new CpuBackend();
             Sae a = Sae.train(x, ROWS, D).ratio(2).steps(300).batchSize(512).backend(be).listener(seen::addAll).run();
             Sae b = Sae.train(FloatBuffer.wrap(x), D).ratio(2).seed(7).steps(300).batchSize(512).backend(be).run()) {
            assertTrue(seen.size() >= 3, "the lambda listener saw the records: " + seen.size());
            Trainer.Record last = seen.get(seen.size() - 1);
            assertTrue(last.fvu() < 0.5, "the default l1 and lr train: FVU " + last.fvu());
            assertEquals(2 * D, a.dSae());

            a.save(tmp.resolve("a"));
            try (Sae back = Sae.load(tmp.resolve("a"), be)) {
                float[] probe = java.util.Arrays.copyOf(x, 50 * D);
                Encoded f = back.encode(probe, 50);
                assertArrayEquals(a.encodeDense(probe, 50), f.dense(), "sparse = dense, and the reloaded SAE = the trained one");
                int nnz = 0;
                for (float v : f.dense()) nnz += v != 0 ? 1 : 0;
                assertEquals(nnz, f.rowStart()[50], "CSR holds exactly the nonzeros");
                assertEquals((double) nnz / 50, f.meanL0(), 1e-12);
                for (int r = 0; r < 50; r++) assertEquals(f.indices(r).length, f.l0(r));
            }
            Map<String, Object> directions = Sae.compare(a, b);
            assertTrue(directions.containsKey("mmcs_ab") && directions.containsKey("hungarian_mean"), directions.keySet().toString());
            Map<String, Object> withActs = Sae.compare(x, ROWS, a, b);
            assertEquals((long) ROWS, withActs.get("tokens"));
            assertTrue((double) withActs.get("corr_ab") > 0.3, "two seeds on the same data correlate: " + withActs.get("corr_ab"));
            Map<String, Object> three = Sae.compare(a, b, a);
            assertEquals(3, ((List<?>) three.get("pairs")).size(), "three SAEs: every pair");
        }
    }

    @Test
    void anUntrainedResultIsWarnedAbout() throws IOException {
        List<String> warnings = new ArrayList<>();
        Logger jul = Logger.getLogger("io.sae4j");
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                warnings.add(r.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        jul.addHandler(h);
        try (CpuBackend be = new CpuBackend();
             Sae s = Sae.train(activations(), ROWS, D).l1(500).steps(100).batchSize(512).backend(be).run()) {
            assertTrue(warnings.stream().anyMatch(w -> w.contains("untrained") && w.contains("FVU")), "warned: " + warnings);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sae.train(new float[10], 3, 3));
            assertTrue(e.getMessage().contains("3 x 3"), e.getMessage());
        } finally {
            jul.removeHandler(h);
        }
    }
}
