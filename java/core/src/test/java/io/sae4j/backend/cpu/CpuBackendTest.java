package io.sae4j.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.backend.Backend;
import io.sae4j.backend.BackendProvider;
import io.sae4j.backend.Backends;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.Matrix;
import io.sae4j.backend.NonFiniteInputException;
import org.junit.jupiter.api.Test;

/** What is particular to the CPU backend: independent contexts, ownership checks, selection. */
class CpuBackendTest {
    @Test
    void aSecondBackendChangesNothingOfTheFirst() {
        try (CpuBackend one = new CpuBackend(1, NativeCpu.ISA_PORTABLE)) {
            String before = one.describe();
            try (CpuBackend two = new CpuBackend(3, NativeCpu.ISA_AUTO)) {
                assertEquals(3, two.threads());
                assertEquals(1, one.threads());
                assertEquals(NativeCpu.ISA_PORTABLE, one.isa());
                assertEquals(before, one.describe());
                // both compute, each with its own settings, interleaved
                try (FloatBuf a = one.upload(new float[] {1, 2, 3, 4}); FloatBuf b = two.upload(new float[] {1, 2, 3, 4});
                     FloatBuf ca = one.allocate(4); FloatBuf cb = two.allocate(4)) {
                    one.gemm(1, Matrix.of(a, 2, 2), Matrix.of(a, 2, 2), 0, Matrix.of(ca, 2, 2));
                    two.gemm(1, Matrix.of(b, 2, 2), Matrix.of(b, 2, 2), 0, Matrix.of(cb, 2, 2));
                    float[] expected = {7, 10, 15, 22};
                    assertArrayEquals(expected, one.download(ca));
                    assertArrayEquals(expected, two.download(cb));
                }
            }
            assertEquals(1, one.threads(), "closing the second backend left the first alone");
        }
    }

    /** Two backends with different thread counts computing at once, from two threads, stay correct. */
    @Test
    void twoBackendsComputeConcurrently() throws Exception {
        int n = 301;
        float[] a = new float[n * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) Math.sin(i);
        double[] ref = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) s += (double) a[i * n + k] * a[k * n + j];
                ref[i * n + j] = s;
            }
        try (CpuBackend one = new CpuBackend(1, NativeCpu.ISA_PORTABLE); CpuBackend three = new CpuBackend(3, NativeCpu.ISA_AUTO)) {
            java.util.concurrent.Callable<Double> job1 = () -> worst(one, a, n, ref), job3 = () -> worst(three, a, n, ref);
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 5; round++) {
                    var f1 = pool.submit(job1);
                    var f3 = pool.submit(job3);
                    assertTrue(f1.get() < 1e-4 && f3.get() < 1e-4, "relative errors " + f1.get() + ", " + f3.get());
                }
            } finally {
                pool.shutdown();
            }
            assertEquals(1, one.threads());
            assertEquals(3, three.threads());
        }
    }

    /** Largest error of A A (20 times) against ref, relative to the largest reference entry. */
    private static double worst(CpuBackend be, float[] a, int n, double[] ref) {
        double scale = 0, worst = 0;
        for (double v : ref) scale = Math.max(scale, Math.abs(v));
        try (FloatBuf A = be.upload(a); FloatBuf C = be.allocate((long) n * n)) {
            for (int rep = 0; rep < 20; rep++) {
                be.gemm(1, Matrix.of(A, n, n), Matrix.of(A, n, n), 0, Matrix.of(C, n, n));
                float[] c = be.download(C);
                for (int i = 0; i < c.length; i++) worst = Math.max(worst, Math.abs(c[i] - ref[i]) / scale);
            }
        }
        return worst;
    }

    @Test
    void aBufferIsUsableOnlyOnItsOwnBackendAndWhileOpen() {
        try (CpuBackend one = new CpuBackend(1, NativeCpu.ISA_AUTO); CpuBackend two = new CpuBackend(1, NativeCpu.ISA_AUTO)) {
            FloatBuf a = one.upload(new float[] {1, 2});
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> two.download(a));
            assertTrue(e.getMessage().contains("belongs to"), e.getMessage());
            FloatBuf slice = a.slice(1, 1);
            a.close();
            e = assertThrows(IllegalArgumentException.class, () -> one.download(slice));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
        Backend closed = new CpuBackend(1, NativeCpu.ISA_AUTO);
        FloatBuf leftOpen = closed.allocate(3);
        closed.close();
        assertThrows(IllegalArgumentException.class, () -> leftOpen.pointer(closed, 1, "x"),
                "closing the backend frees its buffers");
    }

    @Test
    void nonFiniteInputIsLocatedOnTheHost() {
        int B = 29, d = 67;
        float[] x = new float[B * d];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i);
        NonFiniteInputException.requireFinite(x, B, d, "acts");
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] y = x.clone();
            y[20 * d + 5] = bad;
            y[25 * d + 1] = bad;
            NonFiniteInputException e = assertThrows(NonFiniteInputException.class,
                    () -> NonFiniteInputException.requireFinite(y, B, d, "acts.npy rows 0..29"));
            assertEquals(20, e.row());
            assertEquals(5, e.column());
            assertTrue(e.getMessage().contains("acts.npy"), e.getMessage());
        }
        float[] y = x.clone();
        y[B * d - 1] = Float.MAX_VALUE; // finite extremes pass
        y[0] = -Float.MAX_VALUE;
        y[1] = Float.MIN_VALUE;
        NonFiniteInputException.requireFinite(y, B, d, "acts");
    }

    @Test
    void theCpuProviderIsFoundAndAutoFallsBackToIt() {
        BackendProvider cpu = Backends.provider("cpu");
        assertTrue(cpu.probe().available(), cpu.probe().reason());
        try (Backend be = Backends.select("cpu").backend()) {
            assertEquals("cpu", be.name());
        }
        Backends.Selection auto = Backends.select("auto");
        try (Backend be = auto.backend()) {
            BackendProvider.Availability cuda = Backends.provider("cuda").probe();
            assertEquals(cuda.available() ? "cuda" : "cpu", be.name(), "auto takes CUDA exactly when it can run");
            if (!cuda.available())
                assertTrue(auto.notes().contains("device auto: cuda not available: " + cuda.reason()),
                        "auto says why CUDA was passed over: " + auto.notes());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.select("tpu"));
        assertTrue(e.getMessage().contains("expected auto, "), e.getMessage());
    }

    /** Reported by a user of an earlier version: a second backend changed the first one's settings. */
    @Test
    void aSecondBackendLeavesTheFirstAsItWas() {
        int best = CpuBackend.supports(NativeCpu.ISA_AVX2) ? NativeCpu.ISA_AVX2 : NativeCpu.ISA_PORTABLE;
        try (CpuBackend first = new CpuBackend(2, best)) {
            String before = first.describe();
            float[] a = new float[64 * 48], b = new float[48 * 40];
            for (int i = 0; i < a.length; i++) a[i] = (float) Math.sin(i);
            for (int i = 0; i < b.length; i++) b[i] = (float) Math.cos(i);
            float[] c1 = product(first, a, b);
            try (CpuBackend second = new CpuBackend(1, NativeCpu.ISA_PORTABLE)) {
                assertTrue(second.describe().contains("portable") && second.describe().contains("1 threads"), second.describe());
                assertEquals(before, first.describe(), "the first backend's instruction set and threads");
                assertArrayEquals(c1, product(first, a, b), "the first backend's results, bit for bit");
            }
        }
    }

    private static float[] product(CpuBackend be, float[] a, float[] b) {
        try (FloatBuf ab = be.upload(a); FloatBuf bb = be.upload(b); FloatBuf c = be.allocate(64 * 40)) {
            be.gemm(1f, Matrix.of(ab, 64, 48), Matrix.of(bb, 48, 40), 0f, Matrix.of(c, 64, 40));
            return be.download(c);
        }
    }

    @Test
    void javacppsOffHeapLimitIsExplained() {
        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> CpuBackend.offHeap(() -> {
            throw new OutOfMemoryError("Cannot allocate new FloatPointer(1000): totalBytes = 4K, physicalBytes = 90M");
        }, 4000, "allocate 1000 floats"));
        assertTrue(e.getMessage().contains("allocate 1000 floats") && e.getMessage().contains("maxBytes")
                && e.getMessage().contains("-Xmx") && e.getMessage().contains("SAE4J_JAVA_OPTS"), e.getMessage());
    }
}
