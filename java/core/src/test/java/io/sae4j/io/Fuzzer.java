package io.sae4j.io;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;

/**
 * Mutation fuzzing of a parser, in process: valid files (seeds) are mutated (bit flips, byte
 * overwrites with boundary values, insertions, deletions, truncation, duplicated chunks, the 8- or
 * 2-byte length fields at a binary header's start set to edge values, digit runs changed) and
 * written over one file, then parsed. Only the exceptions the parser is allowed to throw (its own
 * format errors) may come out, and no parse may take a second. Shared by the parsers' fuzz tests
 * (core and CLI).
 *
 * <p>Iterations per parser: {@code sae4j.fuzz.iterations} (default 3000 in CI). The long mode, for
 * the counts in benchmarks/RESULTS.md: {@code -Dsae4j.fuzz.iterations=1000000}.
 */
public final class Fuzzer {
    public static final int ITERATIONS = Integer.getInteger("sae4j.fuzz.iterations", 3000);
    static final long HANG_NANOS = 1_000_000_000L;

    private Fuzzer() {}

    /** Parses whatever was written to the target (a file, or the directory around it). */
    public interface Parser {
        void parse() throws Exception;
    }

    /**
     * Writes ITERATIONS mutations of the seeds to {@code target} and parses each; a throwable the
     * predicate does not allow fails with the input kept beside the target. Returns the
     * allowed errors seen.
     */
    public static long run(String name, List<byte[]> seeds, Path target, Parser parser, Predicate<Throwable> allowed)
            throws IOException {
        Random rnd = new Random(name.hashCode());
        long errors = 0, slowest = 0;
        for (int it = 0; it < ITERATIONS; it++) {
            byte[] input = mutate(seeds.get(rnd.nextInt(seeds.size())), rnd);
            Files.write(target, input);
            long t0 = System.nanoTime();
            try {
                parser.parse();
            } catch (Throwable t) {
                if (!allowed.test(t)) {
                    Path keep = target.resolveSibling(name + "-crash-" + it);
                    Files.write(keep, input);
                    throw new AssertionError(name + ": iteration " + it + " threw " + t + " (input kept in " + keep + ")", t);
                }
                errors++;
            }
            long took = System.nanoTime() - t0;
            slowest = Math.max(slowest, took);
            assertTrue(took < HANG_NANOS, name + ": iteration " + it + " took " + took / 1e6 + " ms");
        }
        System.out.printf("fuzz %s: %d executions, %d format errors, 0 other exceptions, slowest %.1f ms%n", name,
                ITERATIONS, errors, slowest / 1e6);
        return errors;
    }

    public static byte[] mutate(byte[] seed, Random rnd) {
        byte[] b = seed.clone();
        int edits = 1 + rnd.nextInt(4);
        for (int e = 0; e < edits; e++) {
            if (b.length == 0) return new byte[] {(byte) rnd.nextInt(256)};
            int at = rnd.nextInt(b.length);
            switch (rnd.nextInt(9)) {
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
                case 7 -> { // a JSON value replaced: types and edge values, not only syntax
                    int colon = indexOf(b, (byte) ':', at);
                    if (colon < 0) break;
                    int end = colon + 1;
                    while (end < b.length && b[end] != ',' && b[end] != '}' && b[end] != ']') end++;
                    String[] values = {"null", "true", "-1", "0", "1e309", "-1e309", "NaN", "2147483648", "9223372036854775808",
                            "\"\"", "\"x\"", "[]", "{}", "[1, 2]", "0.5", "-0.0", "\"../../x\""};
                    b = splice(b, colon + 1, end - colon - 1, (" " + values[rnd.nextInt(values.length)]).getBytes());
                }
                default -> { // a digit run changed (shapes, offsets, lengths in text headers)
                    for (int k = at; k < b.length && Character.isDigit(b[k]); k++) b[k] = (byte) ('0' + rnd.nextInt(10));
                    if (rnd.nextBoolean()) b = splice(b, at, 0, "99999999999".getBytes());
                }
            }
        }
        return b;
    }

    private static int indexOf(byte[] b, byte c, int from) {
        for (int k = from; k < b.length; k++)
            if (b[k] == c) return k;
        return -1;
    }

    static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }
}
