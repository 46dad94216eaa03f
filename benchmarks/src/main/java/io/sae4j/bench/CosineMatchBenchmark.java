package io.sae4j.bench;

import io.sae4j.backend.CosineMax;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.cpu.CpuBackend;
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
 * MMCS of two dictionaries (m1 x d and m2 x d): the blockwise cosine-max kernel (normalise, GEMM
 * blocks, running row/column maxima), beside its baseline in the same run: the plain sgemm of the
 * same m1 x m2 x d product into a preallocated matrix (2 m1 m2 d flops), the floor any method pays.
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

    private CpuBackend backend;
    private FloatBuf a, b, c;

    @Setup(Level.Trial)
    public void setup() {
        backend = new CpuBackend();
        System.out.println("# " + backend.describe());
        SplittableRandom r = new SplittableRandom(2);
        a = backend.upload(random(r, m1 * d));
        b = backend.upload(random(r, m2 * d));
        c = backend.allocate((long) m1 * m2);
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }

    @Benchmark
    public CosineMax cosineMax() {
        return backend.cosineMax(m1, m2, d, a, false, b, false, false);
    }

    @Benchmark
    public FloatBuf sgemmBaseline() {
        backend.gemm(false, true, m1, m2, d, 1f, a, d, b, d, 0f, c, m2);
        return c;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }
}
