package io.sae4j.io;

import static org.junit.jupiter.api.Assertions.fail;

import io.sae4j.io.TorchFixture.TensorEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutated state-dict pickles (bytes flipped, set to opcode values, cut short, duplicated) inside
 * otherwise valid archives: every one is read or refused with a FormatException naming the file;
 * nothing else escapes (no NullPointerException, ClassCastException, ArithmeticException, out of
 * memory or stack). The count is {@link Fuzzer#ITERATIONS}, as for the other parsers (its own
 * mutations: a pickle's opcodes, inside a valid archive).
 */
class TorchZipFuzzTest {
    @TempDir
    Path tmp;

    private static final int[] OPCODES = {0x80, 0x2e, 0x63, 0x71, 0x72, 0x68, 0x6a, 0x29, 0x7d, 0x5d, 0x28, 0x74, 0x85, 0x86,
            0x87, 0x58, 0x4b, 0x4d, 0x4a, 0x8a, 0x4e, 0x88, 0x89, 0x47, 0x51, 0x52, 0x73, 0x75, 0x61, 0x65, 0x62, 0x00, 0xff};

    @Test
    void mutatedPicklesAreReadOrRefusedCleanly() throws IOException {
        Map<String, TensorEntry> sd = new LinkedHashMap<>();
        sd.put("encoder.weight", TensorEntry.transposedFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        sd.put("b", TensorEntry.floats(new float[] {0.5f, -1f, 2f}, 3));
        sd.put("k", TensorEntry.int32(3));
        byte[] pickle = TorchFixture.stateDict(sd, true);
        Map<String, byte[]> storages = new LinkedHashMap<>();
        int key = 0;
        for (TensorEntry t : sd.values()) storages.put("archive/data/" + key++, t.storage());

        int iterations = Fuzzer.ITERATIONS;
        SplittableRandom rng = new SplittableRandom(2026);
        int refused = 0;
        long slowest = 0;
        for (int it = 0; it < iterations; it++) {
            byte[] p = mutate(pickle, rng);
            Map<String, byte[]> records = new LinkedHashMap<>();
            records.put("archive/data.pkl", p);
            records.putAll(storages);
            Path f = TorchFixture.zip(tmp.resolve("f.pt"), records);
            long t0 = System.nanoTime();
            try {
                TorchZip.read(f);
            } catch (FormatException e) {
                refused++;
                if (!e.getMessage().contains(f.toString())) fail("iteration " + it + ": error without the file: " + e.getMessage());
            } catch (Throwable t) {
                fail("iteration " + it + ": " + t + " escaped for pickle " + java.util.HexFormat.of().formatHex(p), t);
            }
            long took = System.nanoTime() - t0; // the parse alone, not the archive's writing
            slowest = Math.max(slowest, took);
            if (took >= Fuzzer.HANG_NANOS) fail("iteration " + it + " took " + took / 1e6 + " ms");
            Files.delete(f);
        }
        if (refused == 0) fail("no mutation was refused: the fuzzer does not reach the parser");
        System.out.printf("fuzz torch-zip: %d executions, %d format errors, 0 other exceptions, slowest %.1f ms%n", iterations,
                refused, slowest / 1e6);
    }

    private static byte[] mutate(byte[] in, SplittableRandom rng) {
        byte[] p = in.clone();
        int edits = 1 + rng.nextInt(4);
        for (int e = 0; e < edits; e++) {
            switch (rng.nextInt(5)) {
                case 0 -> p[rng.nextInt(p.length)] ^= (byte) (1 << rng.nextInt(8));
                case 1 -> p[rng.nextInt(p.length)] = (byte) OPCODES[rng.nextInt(OPCODES.length)];
                case 2 -> p[rng.nextInt(p.length)] = (byte) rng.nextInt(256);
                case 3 -> p = java.util.Arrays.copyOf(p, 1 + rng.nextInt(p.length));
                default -> { // a span repeated
                    int from = rng.nextInt(p.length), len = 1 + rng.nextInt(Math.min(16, p.length - from));
                    byte[] q = new byte[p.length + len];
                    System.arraycopy(p, 0, q, 0, from + len);
                    System.arraycopy(p, from, q, from + len, p.length - from);
                    p = q;
                }
            }
        }
        return p;
    }
}
