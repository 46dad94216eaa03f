package example;

import io.sae4j.Encoded;
import io.sae4j.Sae;
import io.sae4j.data.SyntheticData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Train two SAEs on activations in memory, save one, load it back, encode, and compare. */
public final class QuickStart {
    public static void main(String[] args) throws Exception {
        int d = 32, rows = 20_000;
        float[] acts = new float[rows * d]; // stand-in for a model's activations, (rows, d) row-major
        new SyntheticData(SyntheticData.Spec.of(d, 96, 1)).next(acts, rows);

        Path dir = Files.createTempDirectory("sae4j-example");
        try (Sae a = Sae.train(acts, rows, d).ratio(4).steps(400).batchSize(1024)
                     .listener(records -> System.out.printf("step %d  FVU %.3f  L0 %.1f%n",
                             records.get(0).step(), records.get(0).fvu(), records.get(0).l0()))
                     .run();
             Sae b = Sae.train(acts, rows, d).ratio(4).seed(7).steps(400).batchSize(1024).run()) {
            a.save(dir.resolve("a"));
            try (Sae loaded = Sae.load(dir.resolve("a"))) {
                Encoded f = loaded.encode(acts, 100);
                System.out.printf("latents of 100 rows: mean L0 %.2f, row 0 fires %s%n", f.meanL0(),
                        java.util.Arrays.toString(f.indices(0)));
            }
            Map<String, Object> c = Sae.compare(acts, rows, a, b);
            System.out.printf("two seeds: MMCS %.3f, Hungarian mean %.3f, activation correlation %.3f%n",
                    c.get("mmcs_ab"), c.get("hungarian_mean"), c.get("corr_ab"));
        }
        try (var files = Files.walk(dir)) { // leave no temporary files behind
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
