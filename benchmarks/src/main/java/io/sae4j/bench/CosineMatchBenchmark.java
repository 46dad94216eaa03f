package io.sae4j.bench;

import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import io.sae4j.backend.CosineMaxima;
import io.sae4j.backend.CosineTopK;
import io.sae4j.backend.Matrix;
import io.sae4j.backend.VectorSet;
import io.sae4j.backend.FloatBuf;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * MMCS of two dictionaries (m1 x d and m2 x d): the cosine-max kernel (both directions with argmax;
 * the matrix is never formed), beside its baseline in the same run: the plain sgemm of the same
 * m1 x m2 x d product into a preallocated matrix (2 m1 m2 d flops), the floor any method pays.
 * {@code cosineTop1} is the other design for the same answer: the matching's top-k kernel with
 * k = 1 (GEMM blocks written out, then list kernels over them), for deciding between the two.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CosineMatchBenchmark {
    @Param({"16384"})
    public int m1;

    @Param({"16384"})
    public int m2;

    @Param({"512"})
    public int d;

    /** Backend: cpu or cuda (GPU kernels are asynchronous: each invocation ends with a sync). */
    @Param({"cpu"})
    public String device;

    private Backend backend;
    private FloatBuf a, b, c;
    private CosineMaxima maxima;
    private CosineTopK top1;

    @Setup(Level.Trial)
    public void setup() {
        backend = Backends.select(device).backend();
        System.out.println("# " + backend.describe());
        SplittableRandom r = new SplittableRandom(2);
        a = backend.upload(random(r, m1 * d));
        b = backend.upload(random(r, m2 * d));
        c = backend.allocate((long) m1 * m2);
        maxima = new CosineMaxima(backend, m1, m2);
        top1 = new CosineTopK(backend, m1, m2, 1, 1);
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }

    @Benchmark
    public CosineMaxima cosineMax() {
        backend.cosineMax(VectorSet.rows(a, m1, d), VectorSet.rows(b, m2, d), false, maxima);
        backend.sync();
        return maxima;
    }

    @Benchmark
    public CosineTopK cosineTop1() {
        backend.cosineTopK(VectorSet.rows(a, m1, d), VectorSet.rows(b, m2, d), false, top1);
        backend.sync();
        return top1;
    }

    @Benchmark
    public FloatBuf sgemmBaseline() {
        backend.gemm(1f, Matrix.of(a, m1, d), Matrix.of(b, m2, d).t(), 0f, Matrix.of(c, m1, m2));
        backend.sync();
        return c;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        top1.close();
        maxima.close();
        backend.close();
    }
}
