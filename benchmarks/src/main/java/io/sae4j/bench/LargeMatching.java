package io.sae4j.bench;

import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.Matrix;
import io.sae4j.backend.VectorSet;
import io.sae4j.metrics.ExactMatching;
import io.sae4j.metrics.LatentMatching;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.Pointer;

/**
 * Certified one-to-one matching of two n x d dictionaries (signed cosine, then |cos| on the same
 * candidates) at sizes where the n x n matrix cannot be formed, beside the time of one sgemm of
 * the same product on the same backend (timed on a block and scaled: the floor of any method that
 * looks at every cosine). The pair is SAE-like: half of b's rows are noisy copies of a's
 * (shuffled), the rest random. Not a JMH benchmark: one size, seconds to minutes.
 *
 * <pre>java -cp ... io.sae4j.bench.LargeMatching N D OUT.json [K]   (device from -Dsae4j.device)
 * java -cp ... io.sae4j.bench.LargeMatching N D OUT.json encdec</pre>
 *
 * {@code encdec} times what {@code compare} does instead: {@link LatentMatching#of} on decoder and
 * encoder directions (a second SAE-like pair), i.e. both decoder matchings and the signed encoder
 * matching behind {@code shared_frac_encdec}.
 */
public final class LargeMatching {
    public static void main(String[] args) throws IOException {
        int n = Integer.parseInt(args[0]), d = Integer.parseInt(args[1]);
        Path out = Path.of(args[2]);
        if (args.length > 3 && args[3].equals("encdec")) {
            encoderAndDecoder(n, d, out);
            return;
        }
        int k = args.length > 3 ? Integer.parseInt(args[3]) : ExactMatching.DEFAULT_K;
        try (Backend be = Backends.create()) {
            System.out.println(be.describe());
            float[][] ab = saeLikePair(n, d, 0.5, 5);
            try (FloatBuf a = be.upload(ab[0]); FloatBuf b = be.upload(ab[1])) {
                ab = null;
                VectorSet A = VectorSet.rows(a, n, d), B = VectorSet.rows(b, n, d);
                double gemmS = gemmSeconds(be, a, b, n, d);
                long t0 = System.nanoTime();
                ExactMatching em = ExactMatching.of(be, A, B, k);
                double candS = (System.nanoTime() - t0) / 1e9;
                t0 = System.nanoTime();
                ExactMatching.Matched signed = em.solve(false);
                double signedS = (System.nanoTime() - t0) / 1e9;
                t0 = System.nanoTime();
                ExactMatching.Matched abs = em.solve(true);
                double absS = (System.nanoTime() - t0) / 1e9;
                Runtime rt = Runtime.getRuntime();
                String json = String.format(Locale.ROOT, "{\"backend\": \"%s\", \"n\": %d, \"d\": %d, \"k\": %d, "
                                + "\"gemm_same_product_s\": %.2f, \"candidates_s\": %.2f, \"signed_s\": %.2f, \"abs_s\": %.2f, "
                                + "\"total_s\": %.2f, \"signed_solver_s\": %.2f, \"signed_certificate_s\": %.2f, \"signed_mean\": %.6f, "
                                + "\"signed_certified\": %b, \"signed_rounds\": %d, \"signed_full_rows\": %d, "
                                + "\"abs_mean\": %.6f, \"abs_certified\": %b, \"abs_rounds\": %d, \"full_rows\": %d, \"edges\": %d, "
                                + "\"heap_used_mb\": %d, \"native_physical_mb\": %d}%n",
                        be.describe(), n, d, k, gemmS, candS, signedS, absS, candS + signedS + absS, signed.solveSeconds(),
                        signed.certifySeconds(), signed.meanMatched(), signed.certified(), signed.rounds(), signed.fullRows(),
                        abs.meanMatched(), abs.certified(), abs.rounds(), abs.fullRows(),
                        abs.edges(), (rt.totalMemory() - rt.freeMemory()) >> 20, Pointer.physicalBytes() >> 20);
                System.out.print(json);
                Files.writeString(out, json);
                if (!signed.certified() || !abs.certified()) throw new IllegalStateException("not certified");
            }
        }
    }

    private static void encoderAndDecoder(int n, int d, Path out) throws IOException {
        try (Backend be = Backends.create()) {
            System.out.println(be.describe());
            float[][] dec = saeLikePair(n, d, 0.5, 5), enc = saeLikePair(n, d, 0.5, 6);
            try (FloatBuf da = be.upload(dec[0]); FloatBuf db = be.upload(dec[1]); FloatBuf ea = be.upload(enc[0]);
                    FloatBuf eb = be.upload(enc[1])) {
                dec = enc = null;
                long t0 = System.nanoTime();
                LatentMatching lm = LatentMatching.of(be, VectorSet.rows(da, n, d), VectorSet.rows(db, n, d),
                        VectorSet.rows(ea, n, d), VectorSet.rows(eb, n, d), 0.5);
                double totalS = (System.nanoTime() - t0) / 1e9;
                Runtime rt = Runtime.getRuntime();
                String json = String.format(Locale.ROOT, "{\"backend\": \"%s\", \"n\": %d, \"d\": %d, \"encdec_total_s\": %.2f, "
                                + "\"certified\": %b, \"hungarian_mean\": %.6f, \"pw_mcc\": %.6f, \"shared_frac_encdec\": %.6f, "
                                + "\"heap_used_mb\": %d, \"native_physical_mb\": %d}%n",
                        be.describe(), n, d, totalS, lm.certified(), lm.hungarianMean(), lm.pwMcc(), lm.sharedFracEncdec(),
                        (rt.totalMemory() - rt.freeMemory()) >> 20, Pointer.physicalBytes() >> 20);
                System.out.print(json);
                Files.writeString(out, json);
                if (!lm.certified()) throw new IllegalStateException("not certified");
            }
        }
    }

    /** Half of b's rows are noisy copies of a's, shuffled; the rest independent. Gaussian entries. */
    static float[][] saeLikePair(int n, int d, double noise, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[Math.multiplyExact(n, d)], b = new float[n * d];
        for (int i = 0; i < a.length; i++) a[i] = (float) gaussian(r);
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int j = 0; j < n; j++)
            for (int q = 0; q < d; q++)
                b[j * d + q] = j < n / 2 ? a[perm[j] * d + q] + (float) (noise * gaussian(r)) : (float) gaussian(r);
        return new float[][] {a, b};
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    /** One sgemm of the (n, d) x (d, n) product, timed on a block of 2048 columns and scaled. */
    static double gemmSeconds(Backend be, FloatBuf a, FloatBuf b, int n, int d) {
        int block = Math.min(n, 2048);
        try (FloatBuf c = be.allocate((long) n * block)) {
            Matrix am = Matrix.of(a, n, d), bm = Matrix.of(b.slice(0, (long) block * d), block, d).t();
            be.gemm(1f, am, bm, 0f, Matrix.of(c, n, block));
            be.sync();
            long t0 = System.nanoTime();
            be.gemm(1f, am, bm, 0f, Matrix.of(c, n, block));
            be.sync();
            return (System.nanoTime() - t0) / 1e9 * ((double) n / block);
        }
    }
}
