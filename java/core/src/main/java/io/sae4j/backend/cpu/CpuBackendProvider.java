package io.sae4j.backend.cpu;

import io.sae4j.backend.Backend;
import io.sae4j.backend.BackendProvider;

/** The CPU backend: available wherever its native library loads (Linux x86-64). */
public final class CpuBackendProvider implements BackendProvider {
    private volatile Availability probed;

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public Availability probe() {
        Availability a = probed;
        if (a == null) probed = a = probeOnce();
        return a;
    }

    private static Availability probeOnce() {
        try {
            int isa = NativeCpu.ISA_PORTABLE;
            for (int i = NativeCpu.ISA_AVX512; i > NativeCpu.ISA_PORTABLE; i--)
                if (CpuBackend.supports(i)) {
                    isa = i;
                    break;
                }
            return Availability.yes(System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors()
                    + " processors, best instruction set " + CpuBackend.isaName(isa) + ", OpenBLAS core "
                    + NativeCpu.blasCore().getString());
        } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError: remember why, fall back
            return Availability.no("the native CPU library did not load (" + t + "); sae4j-core runs on Linux x86-64");
        }
    }

    @Override
    public Backend create() {
        return new CpuBackend();
    }
}
