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
            int best = NativeCpu.ISA_PORTABLE;
            for (int i = NativeCpu.ISA_AVX512; i > NativeCpu.ISA_PORTABLE; i--)
                if (CpuBackend.supports(i)) {
                    best = i;
                    break;
                }
            return Availability.yes(System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors()
                    + " processors, best instruction set " + CpuBackend.isaName(best) + ", OpenBLAS core "
                    + NativeCpu.blasCore().getString() + "; " + settings(best));
        } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError: remember why, fall back
            return Availability.no("the native CPU library did not load (" + t + "); sae4j-core runs on Linux x86-64");
        }
    }

    /** What a new backend will use (SAE4J_THREADS, SAE4J_ISA), or why those settings are refused. */
    private static String settings(int best) {
        try {
            int threads = CpuBackend.configuredThreads(), isa = CpuBackend.configuredIsa();
            if (threads < 1) return "SAE4J_THREADS / sae4j.threads must be >= 1, got " + threads;
            if (isa != NativeCpu.ISA_AUTO && !CpuBackend.supports(isa))
                return "SAE4J_ISA / sae4j.isa asks for " + CpuBackend.isaName(isa) + ", which this CPU lacks";
            return "runs with " + threads + (threads == 1 ? " thread" : " threads") + " and "
                    + CpuBackend.isaName(isa == NativeCpu.ISA_AUTO ? best : isa);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    @Override
    public Backend create() {
        return new CpuBackend();
    }
}
