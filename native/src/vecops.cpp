// The leaf loops of every kernel, written once as always-inline bodies and compiled three times:
// for AVX-512 (x86-64-v4), AVX2+FMA (x86-64-v3) and portable x86-64. The compiler vectorises each
// body for its target; dispatch.cpp picks the table at run time from cpuid (never -march=native,
// so the jar runs on any x86-64). Row reductions accumulate in float lanes (rows are at most a few
// thousand long); callers add the per-row results in double.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <immintrin.h>

#include "internal.h"

// Float reductions may be reordered (vectorised) only in this file's leaf loops.
#pragma GCC optimize("O3", "associative-math", "no-signed-zeros", "no-trapping-math")

#define SAE4J_INLINE static inline __attribute__((always_inline))

namespace sae4j {
namespace body {

SAE4J_INLINE float dot(const float* __restrict x, const float* __restrict y, int64_t n) {
    float s = 0.f;
#pragma GCC ivdep
    for (int64_t i = 0; i < n; ++i) s += x[i] * y[i];
    return s;
}

SAE4J_INLINE void axpy(float a, const float* __restrict x, float* __restrict y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

SAE4J_INLINE void scale(float a, const float* __restrict x, float* __restrict y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = a * x[i];
}

SAE4J_INLINE int32_t relu_bias(const float* pre, const float* __restrict b, float* f,
                               int32_t* __restrict firing, int64_t n) {
    int32_t count = 0;
    for (int64_t i = 0; i < n; ++i) {
        float v = pre[i] + b[i];
        v = v > 0.f ? v : 0.f;
        f[i] = v;
        count += v > 0.f;
    }
    if (firing)
        for (int64_t i = 0; i < n; ++i) firing[i] += f[i] > 0.f;
    return count;
}

SAE4J_INLINE void mask_grad(const float* __restrict f, const float* __restrict norms, float s,
                            float* __restrict dp, float* __restrict dsum, float* __restrict fsum,
                            int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = f[i] > 0.f ? dp[i] + s * norms[i] : 0.f;
        dp[i] = g;
        dsum[i] += g;
        fsum[i] += f[i];
    }
}

SAE4J_INLINE void sub(const float* __restrict x, const float* __restrict b, float* __restrict out,
                      int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] - b[i];
}

SAE4J_INLINE double scaled_diff(const float* __restrict xhat, const float* __restrict x, float s,
                                float* __restrict e, int64_t n) {
    float acc = 0.f;  // one row (n <= ~10^4) in float lanes, then double across rows
    for (int64_t i = 0; i < n; ++i) {
        float r = xhat[i] - x[i];
        acc += r * r;
        e[i] = s * r;
    }
    return acc;
}

SAE4J_INLINE double sumsq(const float* __restrict x, int64_t n) {
    float acc = 0.f;
    for (int64_t i = 0; i < n; ++i) acc += x[i] * x[i];
    return acc;
}

SAE4J_INLINE void adam(float* __restrict p, const float* __restrict g, float* __restrict m1,
                       float* __restrict m2, int64_t n, float lr_t, float b1, float b2,
                       float eps_t) {
    // lr_t and eps_t fold in the bias corrections: lr * sqrt(1-b2^t)/(1-b1^t), eps * sqrt(1-b2^t)
    for (int64_t i = 0; i < n; ++i) {
        float gi = g[i];
        float a = b1 * m1[i] + (1.f - b1) * gi;
        float v = b2 * m2[i] + (1.f - b2) * gi * gi;
        m1[i] = a;
        m2[i] = v;
        p[i] -= lr_t * a / (std::sqrt(v) + eps_t);
    }
}

SAE4J_INLINE void col_max_update(const float* __restrict row, float* __restrict colmax,
                                 int32_t* __restrict colarg, int32_t i, int64_t n) {
    for (int64_t j = 0; j < n; ++j) {
        bool better = row[j] > colmax[j];
        colmax[j] = better ? row[j] : colmax[j];
        colarg[j] = better ? i : colarg[j];
    }
}

SAE4J_INLINE float max_above(const float* __restrict row, int64_t n, float floor) {
    // 16 independent lanes: an elementwise compare-and-select the compiler vectorises, where a
    // single running maximum with NaN-safe semantics would stay scalar.
    constexpr int L = 16;
    float lane[L];
    for (int l = 0; l < L; ++l) lane[l] = floor;
    int64_t j = 0;
    for (; j + L <= n; j += L)
        for (int l = 0; l < L; ++l) lane[l] = row[j + l] > lane[l] ? row[j + l] : lane[l];
    float m = floor;
    for (int l = 0; l < L; ++l) m = lane[l] > m ? lane[l] : m;
    for (; j < n; ++j) m = row[j] > m ? row[j] : m;
    return m;
}

}  // namespace body

#define SAE4J_VECOPS(NS, TARGET, NONZEROS, TOPK_HITS)                                                   \
    namespace NS {                                                                               \
    TARGET static float dot(const float* x, const float* y, int64_t n) { return body::dot(x, y, n); } \
    TARGET static void axpy(float a, const float* x, float* y, int64_t n) { body::axpy(a, x, y, n); } \
    TARGET static void scale(float a, const float* x, float* y, int64_t n) { body::scale(a, x, y, n); } \
    TARGET static int32_t relu_bias(const float* p, const float* b, float* f, int32_t* c,        \
                                    int64_t n) {                                                 \
        return body::relu_bias(p, b, f, c, n);                                                   \
    }                                                                                            \
    TARGET static void mask_grad(const float* f, const float* nr, float s, float* dp, float* ds,  \
                                 float* fs, int64_t n) {                                         \
        body::mask_grad(f, nr, s, dp, ds, fs, n);                                                \
    }                                                                                            \
    TARGET static void sub(const float* x, const float* b, float* o, int64_t n) {                \
        body::sub(x, b, o, n);                                                                   \
    }                                                                                            \
    TARGET static double scaled_diff(const float* xh, const float* x, float s, float* e, int64_t n) { \
        return body::scaled_diff(xh, x, s, e, n);                                                \
    }                                                                                            \
    TARGET static double sumsq(const float* x, int64_t n) { return body::sumsq(x, n); }          \
    TARGET static void adam(float* p, const float* g, float* m1, float* m2, int64_t n, float lr, \
                            float b1, float b2, float eps) {                                     \
        body::adam(p, g, m1, m2, n, lr, b1, b2, eps);                                            \
    }                                                                                            \
    TARGET static void col_max_update(const float* r, float* cm, int32_t* ca, int32_t i, int64_t n) { \
        body::col_max_update(r, cm, ca, i, n);                                                   \
    }                                                                                            \
    TARGET static float max_above(const float* r, int64_t n, float f) { return body::max_above(r, n, f); } \
    static const VecOps table = {dot, axpy, scale, relu_bias, NONZEROS, mask_grad, sub, scaled_diff, sumsq, adam,   \
                                 col_max_update, max_above, TOPK_HITS};                          \
    }

// The nonzeros of a row appended to (col, val), for the CSR of sparse latents. A compress is not
// something compilers vectorise (GCC 12 kept a portable loop scalar: 4% of a sparse step), so the
// SIMD versions are written with intrinsics; each ends with the scalar loop for the tail.
static int32_t nonzeros_from(const float* f, int64_t i, int64_t n, int32_t* col, float* val,
                             int32_t count) {
    for (; i < n; ++i)
        if (f[i] != 0.f) {
            col[count] = (int32_t)i;
            val[count++] = f[i];
        }
    return count;
}

static int32_t nonzeros_portable(const float* f, int64_t n, int32_t* col, float* val) {
    return nonzeros_from(f, 0, n, col, val, 0);
}

__attribute__((target("arch=x86-64-v3"))) static int32_t nonzeros_avx2(const float* f, int64_t n,
                                                                        int32_t* col, float* val) {
    int32_t count = 0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(f + i);
        unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NEQ_UQ));
        for (; mask; mask &= mask - 1) {
            const int l = __builtin_ctz(mask);
            col[count] = (int32_t)(i + l);
            val[count++] = f[i + l];
        }
    }
    return nonzeros_from(f, i, n, col, val, count);
}

__attribute__((target("arch=x86-64-v4"))) static int32_t nonzeros_avx512(const float* f, int64_t n,
                                                                          int32_t* col, float* val) {
    // compress in registers, then a masked store of exactly the kept lanes (a compress straight to
    // memory is microcoded on AMD Zen 4)
    int32_t count = 0;
    int64_t i = 0;
    __m512i index = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i sixteen = _mm512_set1_epi32(16);
    for (; i + 16 <= n; i += 16, index = _mm512_add_epi32(index, sixteen)) {
        const __m512 x = _mm512_loadu_ps(f + i);
        const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NEQ_UQ);
        if (!keep) continue;
        const int kept = __builtin_popcount(keep);
        const __mmask16 first = (__mmask16)((1u << kept) - 1);
        _mm512_mask_storeu_ps(val + count, first, _mm512_maskz_compress_ps(keep, x));
        _mm512_mask_storeu_epi32(col + count, first, _mm512_maskz_compress_epi32(keep, index));
        count += kept;
    }
    return nonzeros_from(f, i, n, col, val, count);
}

// Candidate positions of a row of cosines for the top-k lists (cosine_topk.cpp): almost all fail,
// so the test is one vector compare per 8 or 16 cosines and a bit scan of the few that pass.
static int32_t topk_hits_from(const float* row, const float* col_thr, float row_thr, int absolute, int64_t i,
                              int64_t n, int32_t* hits, int32_t count) {
    for (; i < n; ++i) {
        const float key = absolute ? std::fabs(row[i]) : row[i];
        if (key > row_thr || key > col_thr[i]) hits[count++] = (int32_t)i;
    }
    return count;
}

static int32_t topk_hits_portable(const float* row, const float* col_thr, float row_thr, int absolute, int64_t n,
                                  int32_t* hits) {
    return topk_hits_from(row, col_thr, row_thr, absolute, 0, n, hits, 0);
}

__attribute__((target("arch=x86-64-v3"))) static int32_t topk_hits_avx2(const float* row, const float* col_thr,
                                                                         float row_thr, int absolute, int64_t n,
                                                                         int32_t* hits) {
    int32_t count = 0;
    int64_t i = 0;
    const __m256 rt = _mm256_set1_ps(row_thr);
    const __m256 sign = _mm256_set1_ps(absolute ? -0.f : 0.f);  // andnot clears the sign bit
    for (; i + 8 <= n; i += 8) {
        const __m256 key = _mm256_andnot_ps(sign, _mm256_loadu_ps(row + i));
        const __m256 thr = _mm256_min_ps(rt, _mm256_loadu_ps(col_thr + i));
        for (unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(key, thr, _CMP_GT_OQ)); mask;
             mask &= mask - 1)
            hits[count++] = (int32_t)(i + __builtin_ctz(mask));
    }
    return topk_hits_from(row, col_thr, row_thr, absolute, i, n, hits, count);
}

__attribute__((target("arch=x86-64-v4"))) static int32_t topk_hits_avx512(const float* row, const float* col_thr,
                                                                           float row_thr, int absolute, int64_t n,
                                                                           int32_t* hits) {
    int32_t count = 0;
    int64_t i = 0;
    const __m512 rt = _mm512_set1_ps(row_thr);
    const __m512i sign = _mm512_set1_epi32(absolute ? 0x7fffffff : -1);
    for (; i + 16 <= n; i += 16) {
        const __m512 key = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(_mm512_loadu_ps(row + i)), sign));
        const __m512 thr = _mm512_mask_min_ps(rt, 0xffff, rt, _mm512_loadu_ps(col_thr + i));  // (the unmasked form trips a GCC 12 warning)
        for (unsigned mask = _mm512_cmp_ps_mask(key, thr, _CMP_GT_OQ); mask; mask &= mask - 1)
            hits[count++] = (int32_t)(i + __builtin_ctz(mask));
    }
    return topk_hits_from(row, col_thr, row_thr, absolute, i, n, hits, count);
}

SAE4J_VECOPS(portable, , nonzeros_portable, topk_hits_portable)
SAE4J_VECOPS(avx2, __attribute__((target("arch=x86-64-v3"))), nonzeros_avx2, topk_hits_avx2)
SAE4J_VECOPS(avx512, __attribute__((target("arch=x86-64-v4,prefer-vector-width=512"))), nonzeros_avx512,
             topk_hits_avx512)

const VecOps& vec_for(int isa) {
    switch (isa) {
        case SAE4J_ISA_AVX512: return avx512::table;
        case SAE4J_ISA_AVX2: return avx2::table;
        default: return portable::table;
    }
}

}  // namespace sae4j
