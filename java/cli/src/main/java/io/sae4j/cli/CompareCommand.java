package io.sae4j.cli;

import com.google.gson.GsonBuilder;
import io.sae4j.io.SaeFile;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.Backend;
import io.sae4j.io.NpyReader;
import io.sae4j.io.SaeFiles;
import io.sae4j.io.SaeLensFormat;
import io.sae4j.metrics.DecoderSimilarity;
import io.sae4j.metrics.Comparison;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Compares SAE directories. Two: decoder MMCS both ways, exact one-to-one matching at any size
 * (signed: hungarian_mean, shared_frac; |cos|: pw_mcc; decoder and encoder: shared_frac_encdec;
 * hungarian_certified, hungarian_gap; threshold_curve) and, given activations, MMCS over live
 * latents, activation correlation, dead latents, L0 and FVU of each. Prints a table; --json writes
 * those keys (mmcs_ab, mmcs_ba, hungarian_mean, shared_frac, threshold, pw_mcc, shared_frac_encdec,
 * hungarian_certified, hungarian_gap, threshold_curve; with --acts mmcs_ab_live, mmcs_ba_live,
 * corr_ab, corr_ba, dead_a, dead_b, l0_a, l0_b, fvu_a, fvu_b, tokens). The activation metrics come
 * from one streamed pass over the tokens (exact correlation from the sparse latents), so memory
 * does not grow with --tokens. Three or more: the same keys for
 * every pair ("pairs") and the fraction of the first SAE's latents whose decoder match reaches the
 * threshold in every other SAE ("matched_in_all_frac").
 */
@Command(name = "compare", mixinStandardHelpOptions = true, description = "Compare two or more SAEs of any format sae4j reads (sae4j/SAELens, sparsify, dictionary_learning, OpenAI .pt).")
final class CompareCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    DeviceOption device = new DeviceOption();

    @Parameters(arity = "2..*", description = "SAEs: directories (sae4j/SAELens, sparsify, dictionary_learning) or OpenAI .pt files.")
    List<Path> dirs;

    @Option(names = "--acts", description = "Activations .npy for live-latent MMCS, correlation, L0, FVU and dead latents.")
    Path acts;

    @Option(names = "--tokens", defaultValue = "65536", description = "Tokens of --acts to use, from its start, or 'all' "
            + "(default ${DEFAULT-VALUE}); streamed, so memory does not grow with it.")
    String tokens;

    @Option(names = "--threshold", defaultValue = "0.7", description = "Cosine at which a matched pair counts as shared (default ${DEFAULT-VALUE}).")
    double threshold;

    @Option(names = "--json", description = "Write the numbers to this JSON file.")
    Path json;

    @Option(names = "--truth", description = "Ground-truth features (features, d) .npy, e.g. from synth: also prints "
            + "each SAE's recovery (MMCS from the true features to its decoder rows); not part of the JSON.")
    Path truth;

    private Double recoveryA, recoveryB; // set by --truth (two SAEs)

    /**
     * The --json file can be written: its folder exists, and it is not a folder nor read-only (the
     * atomic write renames over it, which a read-only mode would not stop, not even for root).
     */
    static void requireReplaceable(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new FileSystemException(file.toString(), null, "is a directory");
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new NoSuchFileException(file.toString());
        if (Files.exists(file) && Files.getFileStore(file).supportsFileAttributeView("posix")
                && !Files.getPosixFilePermissions(file).contains(PosixFilePermission.OWNER_WRITE))
            throw new FileSystemException(file.toString(), null, "is read-only, so compare leaves it as it is (chmod u+w to replace it)");
    }

    @Override
    public Integer call() throws Exception {
        if (!(threshold >= -1 && threshold <= 1)) throw new IllegalArgumentException("--threshold must be in [-1, 1], got " + threshold);
        if (json != null) requireReplaceable(json); // before a comparison that may take minutes
        List<SaeFile> files = new ArrayList<>();
        for (Path dir : dirs) {
            SaeFile f = SaeFiles.read(dir);
            if (!files.isEmpty() && f.dIn() != files.get(0).dIn())
                throw new IllegalArgumentException(dir + " has d_in " + f.dIn() + " but " + dirs.get(0) + " has d_in "
                        + files.get(0).dIn());
            files.add(f);
        }
        if (truth != null && files.size() != 2) throw new IllegalArgumentException("--truth needs exactly two SAEs, got " + files.size());
        int d = files.get(0).dIn();
        Map<String, Object> res;
        Comparison.Options options = new Comparison.Options(threshold, null, note -> System.err.println("sae4j compare: " + note));
        try (Backend be = device.open(); NpyReader r = acts == null ? null : NpyReader.open(acts)) {
            Progress bar = null;
            if (r != null) {
                if (r.cols() != d) throw new IllegalArgumentException(acts + ": rows have width " + r.cols() + ", the SAEs d_in " + d);
                long n = tokenCount(r.rows());
                if (n < 2) throw new IllegalArgumentException(acts + ": needs at least 2 rows, has " + r.rows());
                bar = new Progress("activations", n * files.size() * (files.size() - 1) / 2, "tokens");
                options = options.withActivations(new Comparison.Activations((start, count, into) -> r.read(start, count, into, 0),
                        n, acts.toString(), bar::update));
            }
            try (Progress closing = bar) {
                res = Comparison.of(be, files, dirs.stream().map(Path::toString).toList(), options);
            }
            if (truth != null) recovery(be, files.get(0), files.get(1), d);
        }
        print(res);
        if (json != null) {
            // strict JSON: an undefined number (e.g. correlation with every feature dead) is null
            SaeLensFormat.writeAtomically(json, new GsonBuilder().setPrettyPrinting().serializeNulls().create()
                    .toJson(strict(res)) + "\n");
        }
        return 0;
    }

    /** The --tokens count for an activations file of `available` rows. */
    private long tokenCount(long available) {
        long n;
        if (tokens.equalsIgnoreCase("all")) n = available;
        else {
            try {
                n = Long.parseLong(tokens.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--tokens must be a whole number or 'all', got '" + tokens + "'");
            }
            if (n < 2) throw new IllegalArgumentException("--tokens must be >= 2 (or 'all'), got " + n);
        }
        return Math.min(n, available);
    }

    /** The result with non-finite numbers (also inside arrays, maps and lists) as null. */
    private static Object strict(Object v) {
        if (v instanceof Double dv) return Double.isFinite(dv) ? dv : null;
        if (v instanceof double[] arr) {
            List<Object> out = new ArrayList<>();
            for (double x : arr) out.add(strict(x));
            return out;
        }
        if (v instanceof Map<?, ?> map) {
            Map<Object, Object> out = new LinkedHashMap<>();
            map.forEach((k, x) -> out.put(k, strict(x)));
            return out;
        }
        if (v instanceof List<?> list) return list.stream().map(CompareCommand::strict).toList();
        return v;
    }

    private void recovery(Backend be, SaeFile a, SaeFile b, int d) throws Exception {
        try (NpyReader r = NpyReader.open(truth)) {
            if (r.cols() != d) throw new IllegalArgumentException(truth + ": features have width " + r.cols() + ", the SAEs d_in " + d);
            if (r.rows() > Integer.MAX_VALUE / d) throw new IllegalArgumentException(truth + ": too many features");
            int n = (int) r.rows();
            try (FloatBuf t = be.upload(r.readAll()); FloatBuf wa = be.upload(a.wDec()); FloatBuf wb = be.upload(b.wDec())) {
                recoveryA = DecoderSimilarity.mmcs(be, t, n, wa, a.dSae(), d).ab();
                recoveryB = DecoderSimilarity.mmcs(be, t, n, wb, b.dSae(), d).ab();
            }
        }
    }

    private void print(Map<String, Object> res) {
        if (res.containsKey("pairs")) {
            for (int i = 0; i < dirs.size(); i++) System.out.println((char) ('A' + Math.min(i, 25)) + ": " + dirs.get(i));
            System.out.printf(Locale.ROOT, "  latents of A matched at >= %.2f in every other SAE: %.4f%n", threshold,
                    (Double) res.get("matched_in_all_frac"));
            for (Object p : (List<?>) res.get("pairs")) {
                Map<?, ?> pair = (Map<?, ?>) p;
                System.out.println("pair " + pair.get("a") + " / " + pair.get("b") + ":");
                printKeys(pair);
            }
            return;
        }
        System.out.println("A: " + dirs.get(0));
        System.out.println("B: " + dirs.get(1));
        printKeys(res);
        if (recoveryA != null)
            System.out.printf(Locale.ROOT, "  ground-truth recovery (MMCS truth -> SAE): A %.4f, B %.4f%n", recoveryA, recoveryB);
    }

    private static void printKeys(Map<?, ?> res) {
        for (Map.Entry<?, ?> e : res.entrySet()) {
            Object v = e.getValue();
            if (e.getKey().equals("a") || e.getKey().equals("b")) continue;
            String s;
            if (v instanceof Double dv) s = String.format(Locale.ROOT, "%.4f", dv);
            else if (v instanceof Map<?, ?> curve) { // threshold_curve: one line per series
                double[] t = (double[]) curve.get("thresholds");
                StringBuilder b = new StringBuilder("at");
                for (double x : t) b.append(String.format(Locale.ROOT, " %.2f", x));
                for (String series : new String[] {"decoder", "shared_encdec"}) {
                    b.append(String.format(Locale.ROOT, "%n  %-16s %s", "  " + series, ""));
                    for (double x : (double[]) curve.get(series)) b.append(String.format(Locale.ROOT, " %.2f", x));
                }
                s = b.toString();
            } else s = String.valueOf(v);
            System.out.printf("  %-20s %s%n", e.getKey(), s);
        }
    }
}
