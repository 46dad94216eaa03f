package io.sae4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutation fuzzing of the file parsers, in process: valid files (seeds) are mutated (bit flips,
 * byte overwrites with boundary values, insertions, deletions, truncation, duplicated chunks, and
 * the 8- or 10-byte length fields set to edge values) and parsed; the only exception allowed is
 * the library's own {@link FormatException}, and no parse may take over a second.
 *
 * <p>CI runs {@code sae4j.fuzz.iterations} (default 3000) per parser. The long mode, for the counts
 * in the issue notes: {@code mvn -pl java/core verify -Dtest=ParserFuzzTest
 * -Dsae4j.fuzz.iterations=1000000 -DskipTests=false}.
 */
class ParserFuzzTest {
    static final int ITERATIONS = Integer.getInteger("sae4j.fuzz.iterations", 3000);
    static final long HANG_NANOS = 1_000_000_000L;

    @TempDir
    Path dir;

    interface Parser {
        void parse(Path file) throws IOException;
    }

    /** Runs the fuzzer over the seeds; returns the executions and the format errors seen. */
    private long[] fuzz(String name, List<byte[]> seeds, Parser parser) throws IOException {
        Random rnd = new Random(name.hashCode());
        Path f = dir.resolve(name);
        long formatErrors = 0, slowest = 0;
        for (int it = 0; it < ITERATIONS; it++) {
            byte[] input = mutate(seeds.get(rnd.nextInt(seeds.size())), rnd);
            Files.write(f, input);
            long t0 = System.nanoTime();
            try {
                parser.parse(f);
            } catch (FormatException e) {
                formatErrors++;
            } catch (Throwable t) {
                Path keep = dir.resolveSibling(name + "-crash-" + it);
                Files.write(keep, input);
                throw new AssertionError(name + ": iteration " + it + " threw " + t + " (input kept in " + keep + ")", t);
            }
            long took = System.nanoTime() - t0;
            slowest = Math.max(slowest, took);
            assertTrue(took < HANG_NANOS, name + ": iteration " + it + " took " + took / 1e6 + " ms");
        }
        System.out.printf("fuzz %s: %d executions, %d format errors, 0 other exceptions, slowest %.1f ms%n", name,
                ITERATIONS, formatErrors, slowest / 1e6);
        return new long[] {ITERATIONS, formatErrors};
    }

    static byte[] mutate(byte[] seed, Random rnd) {
        byte[] b = seed.clone();
        int edits = 1 + rnd.nextInt(4);
        for (int e = 0; e < edits; e++) {
            if (b.length == 0) return new byte[] {(byte) rnd.nextInt(256)};
            int at = rnd.nextInt(b.length);
            switch (rnd.nextInt(8)) {
                case 0 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[at] = (byte) new int[] {0, 0xff, 0x7f, 0x80, '"', '{', '[', ':', ',', '0', '9', '-'}[rnd.nextInt(12)];
                case 2 -> b = splice(b, at, 0, new byte[] {(byte) rnd.nextInt(256)});
                case 3 -> b = splice(b, at, Math.min(b.length - at, 1 + rnd.nextInt(8)), new byte[0]);
                case 4 -> b = java.util.Arrays.copyOf(b, at);
                case 5 -> {
                    int len = Math.min(b.length - at, 1 + rnd.nextInt(32));
                    b = splice(b, at, 0, java.util.Arrays.copyOfRange(b, at, at + len));
                }
                case 6 -> { // a length field at the start: safetensors u64 at 0, npy u16 at 8
                    long v = new long[] {0, 1, 7, 0xffff, 0x7fffffffL, -1L, 1L << 40}[rnd.nextInt(7)];
                    int off = rnd.nextBoolean() ? 0 : 8, width = off == 0 ? 8 : 2;
                    for (int k = 0; k < width && off + k < b.length; k++) b[off + k] = (byte) (v >>> (8 * k));
                }
                default -> { // a digit run changed (shapes, offsets, lengths in text headers)
                    for (int k = at; k < b.length && Character.isDigit(b[k]); k++) b[k] = (byte) ('0' + rnd.nextInt(10));
                    if (rnd.nextBoolean()) b = splice(b, at, 0, "99999999999".getBytes());
                }
            }
        }
        return b;
    }

    static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }

    private List<byte[]> npySeeds() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        Random r = new Random(1);
        float[] x = new float[7 * 5];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (boolean f16 : new boolean[] {false, true}) {
            Path p = dir.resolve("seed" + f16 + ".npy");
            NpyWriter.write(p, x, 7, 5, f16);
            seeds.add(Files.readAllBytes(p));
        }
        return seeds;
    }

    @Test
    void npyParserOnlyReportsFormatErrors() throws IOException {
        long[] counts = fuzz("fuzz.npy", npySeeds(), f -> {
            try (NpyReader r = NpyReader.open(f)) {
                if (r.rows() * r.cols() <= 1 << 20) r.readAll();
            }
        });
        assertEquals(ITERATIONS, counts[0]);
    }

    @Test
    void safetensorsParserOnlyReportsFormatErrors() throws IOException {
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        t.put("W_enc", Safetensors.Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        t.put("b_dec", Safetensors.Tensor.of(new float[] {0.5f, -1}, 2));
        Path p = dir.resolve("seed.safetensors");
        Safetensors.write(p, t);
        long[] counts = fuzz("fuzz.safetensors", List.of(Files.readAllBytes(p)), f -> Safetensors.read(f));
        assertEquals(ITERATIONS, counts[0]);
    }
}
