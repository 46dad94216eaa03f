package io.sae4j.bench;

import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.Matrix;
import io.sae4j.metrics.ActivationPass;
import io.sae4j.sae.SaeConfig;
import io.sae4j.sae.SparseAutoencoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.Pointer;

/**
 * Exact activation correlation (both directions) of two m-latent SAEs over N tokens of width d in
 * one streamed pass ({@link ActivationPass}), beside the floor it cannot go under: the two encoder
 * GEMMs (N, d) x (d, m), timed on one block on the same backend and scaled. Tokens are Gaussian,
 * made block by block from a seed (no file); the encoders' biases give L0 about 40 at m = 16384,
 * and b's encoder is a's plus noise, so the two share features. The time spent making tokens is
 * left out of the pass's. Not JMH: one size, minutes.
 *
 * <pre>java -cp ... io.sae4j.bench.LargeCorrelation N D M OUT.json   (device from -Dsae4j.device)</pre>
 */
public final class LargeCorrelation {
    public static void main(String[] args) throws IOException {
        long n = Long.parseLong(args[0]);
        int d = Integer.parseInt(args[1]), m = Integer.parseInt(args[2]);
        Path out = Path.of(args[3]);
        try (Backend be = Backends.create()) {
            System.out.println(be.describe());
            float[][] enc = encoders(d, m);
            float[] bias = new float[m];
            java.util.Arrays.fill(bias, -2.8f); // P(N(0,1) > 2.8) = 0.26%: L0 ~ 40 of 16384
            SaeConfig cfg = SaeConfig.builder().setDIn(d).setDSae(m).build();
            try (SparseAutoencoder a = SparseAutoencoder.fromWeights(cfg, be, enc[0], bias, transpose(enc[0], d, m), new float[d]);
                 SparseAutoencoder b = SparseAutoencoder.fromWeights(cfg, be, enc[1], bias, transpose(enc[1], d, m), new float[d])) {
                double floor = 2 * encoderGemmSeconds(be, n, d, m);
                long[] reading = {0};
                long t0 = System.nanoTime();
                ActivationPass p = ActivationPass.run(a, b, (start, count, into) -> {
                    long r0 = System.nanoTime();
                    tokens(start, count, into);
                    reading[0] += System.nanoTime() - r0;
                }, n, "gaussian tokens", null);
                double s = (System.nanoTime() - t0 - reading[0]) / 1e9; // making the tokens is not the pass's work
                String json = String.format(Locale.ROOT, "{\"backend\": \"%s\", \"tokens\": %d, \"d\": %d, \"m\": %d, "
                                + "\"two_encoder_gemms_s\": %.1f, \"pass_s\": %.1f, \"ratio\": %.2f, \"token_generation_s\": %.1f, \"corr_ab\": %.6f, \"corr_ba\": %.6f, "
                                + "\"l0_a\": %.2f, \"l0_b\": %.2f, \"dead_a\": %d, \"dead_b\": %d, \"native_physical_mb\": %d}%n",
                        be.describe(), n, d, m, floor, s, s / floor, reading[0] / 1e9, p.correlation().corrAB(), p.correlation().corrBA(),
                        p.a().l0(), p.b().l0(), p.a().dead(), p.b().dead(), Pointer.physicalBytes() >> 20);
                System.out.print(json);
                Files.writeString(out, json);
            }
        }
    }

    /** Row block [start, start + count): Gaussian, from a seed per block of 2048 rows. */
    static void tokens(long start, int count, float[] into) {
        int d = into.length / ActivationPass.BLOCK_ROWS;
        SplittableRandom r = new SplittableRandom(1000 + start);
        for (int q = 0; q < count * d; q++) into[q] = (float) gaussian(r);
    }

    /** W_enc (d, m) of a with unit-variance pre-activations for unit Gaussian x, and b = a + noise. */
    static float[][] encoders(int d, int m) {
        SplittableRandom r = new SplittableRandom(7);
        float[] a = new float[Math.multiplyExact(d, m)], b = new float[a.length];
        double s = 1 / Math.sqrt(d);
        for (int q = 0; q < a.length; q++) {
            a[q] = (float) (s * gaussian(r));
            b[q] = (float) (a[q] * 0.9 + 0.44 * s * gaussian(r));
        }
        return new float[][] {a, b};
    }

    static float[] transpose(float[] w, int rows, int cols) {
        float[] t = new float[w.length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j];
        return t;
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    /** One encoder GEMM (n, d) x (d, m), timed on a block of 2048 rows and scaled. */
    static double encoderGemmSeconds(Backend be, long n, int d, int m) {
        int rows = ActivationPass.BLOCK_ROWS;
        try (FloatBuf x = be.allocate((long) rows * d); FloatBuf w = be.allocate((long) m * d); FloatBuf c = be.allocate((long) rows * m)) {
            be.fill(x, 0.5f);
            be.fill(w, 0.25f);
            be.gemm(1f, Matrix.of(x, rows, d), Matrix.of(w, m, d).t(), 0f, Matrix.of(c, rows, m));
            be.sync();
            long t0 = System.nanoTime();
            int reps = 5;
            for (int i = 0; i < reps; i++) be.gemm(1f, Matrix.of(x, rows, d), Matrix.of(w, m, d).t(), 0f, Matrix.of(c, rows, m));
            be.sync();
            return (System.nanoTime() - t0) / 1e9 / reps * ((double) n / rows);
        }
    }
}
