// Run-time choice of the instruction set for vecops.cpp's leaf loops, from cpuid; a context may
// ask for a lower one (tests run every supported path against the same reference). The leaf loops
// are compiled for whole x86-64 levels (target "arch=x86-64-v3" / "-v4"), and the compiler may use
// any instruction of the level there, so a path is taken only when the CPU has every feature of
// its level: a VM that hides BMI2 while showing AVX2 must not get the v3 loops (SIGILL).
#include <cpuid.h>

#include "internal.h"

extern "C" char* openblas_get_corename(void);

namespace {

bool bit(unsigned reg, int b) { return (reg >> b) & 1u; }

}  // namespace

extern "C" int sae4j_cpu_isa_for_features(uint32_t leaf1_ecx, uint32_t leaf7_ebx,
                                          uint32_t ext1_ecx, uint64_t xcr0) {
    const unsigned c1 = leaf1_ecx, b7 = leaf7_ebx, e1 = ext1_ecx;
    // x86-64-v2: CMPXCHG16B, LAHF/SAHF, POPCNT, SSE3, SSE4.1, SSE4.2, SSSE3
    const bool v2 = bit(c1, 13) && bit(e1, 0) && bit(c1, 23) && bit(c1, 0) && bit(c1, 19) &&
                    bit(c1, 20) && bit(c1, 9);
    // x86-64-v3: + AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE, and the OS saving YMM state
    const bool os_ymm = bit(c1, 27) && (xcr0 & 0x6) == 0x6;
    const bool v3 = v2 && os_ymm && bit(c1, 28) && bit(b7, 5) && bit(b7, 3) && bit(b7, 8) &&
                    bit(c1, 29) && bit(c1, 12) && bit(e1, 5) && bit(c1, 22);
    // x86-64-v4: + AVX512F, AVX512BW, AVX512CD, AVX512DQ, AVX512VL, and the OS saving ZMM state
    const bool os_zmm = (xcr0 & 0xe6) == 0xe6;
    const bool v4 = v3 && os_zmm && bit(b7, 16) && bit(b7, 30) && bit(b7, 28) && bit(b7, 17) &&
                    bit(b7, 31);
    return v4 ? SAE4J_ISA_AVX512 : v3 ? SAE4J_ISA_AVX2 : SAE4J_ISA_PORTABLE;
}

namespace sae4j {

// cpuid + xgetbv directly: __builtin_cpu_supports needs libgcc's __cpu_model, which the shared
// libgcc_s that OpenBLAS's jar ships does not export.
int best_isa() {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return SAE4J_ISA_PORTABLE;
    const unsigned leaf1_ecx = c;
    uint64_t xcr0 = 0;
    if (bit(leaf1_ecx, 27)) {  // OSXSAVE: xgetbv is allowed
        unsigned lo, hi;
        __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = ((uint64_t)hi << 32) | lo;
    }
    const unsigned leaf7_ebx = __get_cpuid_count(7, 0, &a, &b, &c, &d) ? b : 0;
    const unsigned ext1_ecx = __get_cpuid(0x80000001, &a, &b, &c, &d) ? c : 0;
    return sae4j_cpu_isa_for_features(leaf1_ecx, leaf7_ebx, ext1_ecx, xcr0);
}

}  // namespace sae4j

extern "C" int sae4j_cpu_cpu_supports(int isa) {
    return isa >= SAE4J_ISA_PORTABLE && isa <= sae4j::best_isa() ? 1 : 0;
}

extern "C" const char* sae4j_cpu_blas_core(void) { return openblas_get_corename(); }
