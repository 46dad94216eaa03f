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
            if (be.name().equals("cpu"))
                assertTrue(auto.notes().stream().anyMatch(n -> n.contains("cpu")), auto.notes().toString());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.select("tpu"));
        assertTrue(e.getMessage().contains("expected auto, "), e.getMessage());
    }
}
