package io.sae4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The native libraries as they ship in the jar load on other machines: no RUNPATH into this build
 * machine's directories (only $ORIGIN) and no libstdc++.so of this machine's age (it is linked in).
 * Reads each library's ELF dynamic section (DT_NEEDED, DT_RPATH, DT_RUNPATH).
 */
class NativeLibraryPackagingTest {
    private static final int DT_NEEDED = 1, DT_RPATH = 15, DT_RUNPATH = 29, SHT_DYNAMIC = 6;

    record Dynamic(List<String> needed, List<String> paths) {}

    static Dynamic dynamic(byte[] elf) {
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x464c457f, b.getInt(0), "ELF magic");
        assertEquals(2, b.get(4), "64-bit ELF");
        long shoff = b.getLong(0x28);
        int shentsize = b.getShort(0x3a) & 0xffff, shnum = b.getShort(0x3c) & 0xffff;
        List<String> needed = new ArrayList<>(), paths = new ArrayList<>();
        for (int i = 0; i < shnum; i++) {
            int sh = (int) (shoff + (long) i * shentsize);
            if (b.getInt(sh + 4) != SHT_DYNAMIC) continue;
            long off = b.getLong(sh + 0x18), size = b.getLong(sh + 0x20);
            int strtab = (int) (shoff + (long) b.getInt(sh + 0x28) * shentsize);
            long strOff = b.getLong(strtab + 0x18);
            for (long e = off; e < off + size; e += 16) {
                long tag = b.getLong((int) e), val = b.getLong((int) e + 8);
                if (tag == DT_NEEDED) needed.add(string(elf, (int) (strOff + val)));
                if (tag == DT_RPATH || tag == DT_RUNPATH) paths.add(string(elf, (int) (strOff + val)));
            }
        }
        return new Dynamic(needed, paths);
    }

    private static String string(byte[] b, int at) {
        int end = at;
        while (b[end] != 0) end++;
        return new String(b, at, end - at, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static void check(String resource) throws IOException {
        byte[] elf;
        try (InputStream in = NativeLibraryPackagingTest.class.getClassLoader().getResourceAsStream(resource)) {
            Assumptions.assumeTrue(in != null, resource + " not built here (CUDA library without nvcc)");
            elf = in.readAllBytes();
        }
        Dynamic d = dynamic(elf);
        assertFalse(d.needed().isEmpty(), resource + ": the dynamic section was found");
        assertTrue(d.needed().contains("libc.so.6"), resource + ": " + d.needed());
        assertTrue(d.needed().stream().noneMatch(n -> n.startsWith("libstdc++")), resource + " needs " + d.needed());
        for (String p : d.paths())
            for (String entry : p.split(":"))
                assertTrue(entry.startsWith("$ORIGIN"), resource + " has a run path into this machine: " + p);
    }

    @Test
    void cpuLibrary() throws IOException {
        check("io/sae4j/backend/cpu/linux-x86_64/libjniNativeCpu.so");
    }

    @Test
    void cudaLibrary() throws IOException {
        check("io/sae4j/backend/cuda/linux-x86_64/libjniNativeCuda.so");
    }

    @Test
    void theReaderSeesWhatReadelfSees() throws IOException {
        // the JVM's own libjava.so: needs libc and carries a $ORIGIN run path
        java.nio.file.Path libjava = java.nio.file.Path.of(System.getProperty("java.home"), "lib", "libjava.so");
        Assumptions.assumeTrue(java.nio.file.Files.exists(libjava), "no " + libjava);
        Dynamic d = dynamic(java.nio.file.Files.readAllBytes(libjava));
        assertNotNull(d.needed());
        assertTrue(d.needed().contains("libc.so.6") || d.needed().contains("libjvm.so"), d.needed().toString());
    }
}
