package io.sae4j.bench;

import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import io.sae4j.backend.CosineMax;
import io.sae4j.backend.CosineMaxima;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.Matrix;
import io.sae4j.backend.VectorSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * MMCS of two n x d dictionaries at a size where the n x n matrix cannot be formed (131072^2
 * floats = 64 GiB), beside the GEMM rate of one (n, 16384) block of the same product on the same
 * backend: the dense product the blockwise kernel has to match. Not a JMH benchmark: one size, a
 * few seconds, run by cuda/gpu-check.sh.
 *
 * <pre>java -cp ... io.sae4j.bench.LargeCosine N D OUT.json   (device from -Dsae4j.device, default auto)</pre>
 */
public final class LargeCosine {
    public static void main(String[] args) throws IOException {
        int n = Integer.parseInt(args[0]), d = Integer.parseInt(args[1]);
        Path out = Path.of(args[2]);
        try (Backend be = Backends.create()) {
            System.out.println(be.describe());
            SplittableRandom r = new SplittableRandom(3);
            float[] host = new float[n * d];
            for (int i = 0; i < host.length; i++) host[i] = (float) (r.nextDouble() * 2 - 1);
            try (FloatBuf a = be.upload(host); FloatBuf b = be.upload(host); CosineMaxima maxima = new CosineMaxima(be, n, n)) {
                host = null;
                be.cosineMax(VectorSet.rows(a, n, d), VectorSet.rows(b, n, d), false, maxima); // warm up
                be.sync();
                long t0 = System.nanoTime();
                int reps = 3;
                for (int i = 0; i < reps; i++) be.cosineMax(VectorSet.rows(a, n, d), VectorSet.rows(b, n, d), false, maxima);
                be.sync();
                double cosineS = (System.nanoTime() - t0) / 1e9 / reps;
                CosineMax m = maxima.toHost();
                int self = 0; // a == b: every row's best match is itself
                for (int i = 0; i < n; i++) if (m.rowArg()[i] == i) self++;
                int block = 16384;
                double gemmS;
                try (FloatBuf c = be.allocate((long) n * block)) {
                    Matrix am = Matrix.of(a, n, d), bm = Matrix.of(b.slice(0, (long) block * d), block, d).t();
                    be.gemm(1f, am, bm, 0f, Matrix.of(c, n, block));
                    be.sync();
                    t0 = System.nanoTime();
                    for (int i = 0; i < reps; i++) be.gemm(1f, am, bm, 0f, Matrix.of(c, n, block));
                    be.sync();
                    gemmS = (System.nanoTime() - t0) / 1e9 / reps * ((double) n / block);
                }
                double flops = 2.0 * n * n * d;
                String json = String.format(Locale.ROOT, "{\"backend\": \"%s\", \"n\": %d, \"d\": %d, \"cosine_max_s\": %.4f, "
                                + "\"cosine_tflops\": %.1f, \"gemm_same_product_s\": %.4f, \"gemm_tflops\": %.1f, "
                                + "\"rate_vs_gemm\": %.3f, \"rows_matching_themselves\": %d}%n", be.describe(), n, d, cosineS,
                        flops / cosineS / 1e12, gemmS, flops / gemmS / 1e12, gemmS / cosineS, self);
                System.out.print(json);
                Files.writeString(out, json);
                if (self != n) throw new IllegalStateException((n - self) + " rows did not match themselves");
            }
        }
    }
}
