// Run-time choice of the instruction set for vecops.cpp's leaf loops, from cpuid; overridable
// with sae4j_cpu_set_isa (tests run every supported path against the same reference).
#include <atomic>

#include "internal.h"

extern "C" char* openblas_get_corename(void);

namespace sae4j {
namespace {

int best_isa() {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return SAE4J_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SAE4J_ISA_AVX2;
    return SAE4J_ISA_PORTABLE;
}

std::atomic<int>& current_isa() {
    static std::atomic<int> isa(best_isa());
    return isa;
}

}  // namespace

const VecOps& vec() { return vec_for(current_isa().load(std::memory_order_relaxed)); }

}  // namespace sae4j

extern "C" int sae4j_cpu_cpu_supports(int isa) {
    return isa >= SAE4J_ISA_PORTABLE && isa <= sae4j::best_isa() ? 1 : 0;
}

extern "C" int sae4j_cpu_set_isa(int isa) {
    if (isa == SAE4J_ISA_AUTO) isa = sae4j::best_isa();
    if (isa < SAE4J_ISA_PORTABLE || isa > SAE4J_ISA_AVX512) return SAE4J_ERR_ARG;
    if (!sae4j_cpu_cpu_supports(isa)) return SAE4J_ERR_UNSUPPORTED;
    sae4j::current_isa().store(isa);
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_get_isa(void) { return sae4j::current_isa().load(); }

extern "C" const char* sae4j_cpu_blas_core(void) { return openblas_get_corename(); }
