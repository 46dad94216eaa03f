// Run-time choice of the instruction set for vecops.cpp's leaf loops, from cpuid; a context may
// ask for a lower one (tests run every supported path against the same reference).
#include <cpuid.h>

#include "internal.h"

extern "C" char* openblas_get_corename(void);

namespace sae4j {

// cpuid + xgetbv directly: __builtin_cpu_supports needs libgcc's __cpu_model, which the shared
// libgcc_s that OpenBLAS's jar ships does not export.
int best_isa() {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return SAE4J_ISA_PORTABLE;
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27);
    if (!osxsave) return SAE4J_ISA_PORTABLE;
    unsigned xcr0_lo, xcr0_hi;
    __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    const bool os_ymm = (xcr0_lo & 0x6) == 0x6, os_zmm = (xcr0_lo & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return SAE4J_ISA_PORTABLE;
    const bool avx2 = b & (1u << 5), avx512f = b & (1u << 16), avx512dq = b & (1u << 17),
               avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
    if (os_zmm && avx2 && fma && avx512f && avx512dq && avx512bw && avx512vl) return SAE4J_ISA_AVX512;
    if (os_ymm && avx2 && fma) return SAE4J_ISA_AVX2;
    return SAE4J_ISA_PORTABLE;
}

}  // namespace sae4j

extern "C" int sae4j_cpu_cpu_supports(int isa) {
    return isa >= SAE4J_ISA_PORTABLE && isa <= sae4j::best_isa() ? 1 : 0;
}

extern "C" const char* sae4j_cpu_blas_core(void) { return openblas_get_corename(); }
