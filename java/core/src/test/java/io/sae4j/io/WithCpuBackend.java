package io.sae4j.io;

import io.sae4j.backend.cpu.CpuBackend;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** A CPU backend for the whole test class and a temporary folder per test: the format tests' fixture. */
abstract class WithCpuBackend {
    static CpuBackend backend;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startBackend() {
        backend = new CpuBackend();
    }

    @AfterAll
    static void stopBackend() {
        backend.close();
    }
}
