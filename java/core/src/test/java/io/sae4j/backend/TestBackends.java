package io.sae4j.backend;

import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.backend.cpu.NativeCpu;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;

/**
 * The backend configurations every kernel test runs on: each instruction set this CPU supports
 * (2 threads), the best one at 1, 3 and 7 threads (uneven chunking, more threads than cores), and CUDA, which is skipped
 * visibly, with the reason, where no GPU or CUDA library is present.
 */
public final class TestBackends {
    private TestBackends() {}

    /**
     * @param tolerance scale of the error bounds (1 for the CPU; looser where summation orders
     *                  differ more, as on the GPU)
     */
    public record Config(String name, Supplier<Backend> factory, String unavailable, double tolerance) {
        /**
         * A new backend, or a skipped test where this one cannot run here; with SAE4J_REQUIRE_CUDA=1
         * (the GPU check script) an unavailable CUDA backend fails instead of skipping.
         */
        public Backend open() {
            if (unavailable != null && name.equals("cuda") && "1".equals(System.getenv("SAE4J_REQUIRE_CUDA")))
                throw new AssertionError("cuda required (SAE4J_REQUIRE_CUDA=1) but unavailable: " + unavailable);
            Assumptions.assumeTrue(unavailable == null, name + " skipped: " + unavailable);
            return factory.get();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    public static List<Config> all() {
        List<Config> out = new ArrayList<>();
        int best = NativeCpu.ISA_PORTABLE;
        for (int isa : IntStream.of(NativeCpu.ISA_PORTABLE, NativeCpu.ISA_AVX2, NativeCpu.ISA_AVX512)
                .filter(CpuBackend::supports).toArray()) {
            out.add(new Config("cpu-" + CpuBackend.isaName(isa) + "-2t", () -> new CpuBackend(2, isa), null, 1));
            best = isa;
        }
        int b = best;
        out.add(new Config("cpu-" + CpuBackend.isaName(b) + "-1t", () -> new CpuBackend(1, b), null, 1));
        out.add(new Config("cpu-" + CpuBackend.isaName(b) + "-3t", () -> new CpuBackend(3, b), null, 1));
        out.add(new Config("cpu-" + CpuBackend.isaName(b) + "-7t", () -> new CpuBackend(7, b), null, 1));
        out.add(cuda());
        return out;
    }

    private static volatile boolean told;

    static Config cuda() {
        String why = "no cuda provider on the class path";
        for (BackendProvider p : Backends.providers())
            if (p.name().equals("cuda")) {
                BackendProvider.Availability a = p.probe();
                if (a.available()) return new Config("cuda", p::create, null, 5);
                why = a.reason();
            }
        if (!told) { // once per run, where the build log shows it, not only in the XML reports
            told = true;
            System.err.println("sae4j tests: the CUDA cases are skipped: " + why);
        }
        return new Config("cuda", null, why, 5);
    }
}
