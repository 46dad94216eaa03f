// Batched cosine matching between two sets of vectors (decoder rows, or activation columns for
// Pearson r): row and column maxima of the n1 x n2 cosine matrix, which is never formed, so memory
// stays O((n1 + n2) d) whatever n1 * n2 is. Two implementations of one contract:
//  - AVX-512 (cosine_max_fused): vectors are normalised straight into GEMM panels, and a register
//    tile of 8 x 32 cosines is folded into the maxima as soon as its dot products are done: no
//    cosine is ever stored, and the panels are packed once (an sgemm call re-packs its operands
//    and writes, zeroes and re-reads every block: 62-65% of the plain sgemm rate at 16384 x 16384
//    x 512 on 2 Zen 5 cores).
//  - other ISAs (cosine_max_blocked): normalised copies, then one (BLOCK_ROWS x BLOCK_COLS) block
//    at a time by sgemm, folded by row groups in parallel, each keeping its own column maxima,
//    merged in row order.
// Ties keep the smaller index in both.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "internal.h"

using namespace sae4j;

namespace {

constexpr int64_t BLOCK_ROWS = 512;
constexpr int64_t BLOCK_COLS = 4096;
constexpr int64_t MAX_GROUPS = 16;  // row groups per block, each with its own column maxima
constexpr int64_t MR = 8, NR = 32;  // the fused kernel's register tile: 8 x 32 cosines
// B panels a thread keeps while every A panel streams past (L2 and its share of L3). 16384 x 16384
// (x 8192 at d >= 1024) on 2 Zen 5 cores, % of the sgemm rate at d = 512 / 1024 / 2048 / 4096:
// 512 KB 93-110 / 91 / 76-80 / 62; 2 MB 101 / 98 / 101 / 93; 4 MB 103 / 100 / 100 / 95.
constexpr int64_t GROUP_BYTES = 4 << 20;
constexpr float NEG_INF = -std::numeric_limits<float>::infinity();

bool sizes_ok(int64_t n1, int64_t n2, int64_t d) {
    return n1 >= 1 && n2 >= 1 && d >= 1 && n1 <= INT32_MAX && n2 <= INT32_MAX && d <= INT32_MAX;
}

int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

bool fused(const sae4j_cpu_ctx* ctx) { return ctx->isa == SAE4J_ISA_AVX512; }

// Element k of vector i of src: rows of (n, d), or columns of (d, n).
inline float element(const float* src, int64_t n, int64_t d, bool columns, int64_t i, int64_t k) {
    return columns ? src[k * n + i] : src[i * d + k];
}

// Vector i's mean (0 unless centring) and the factor that makes it unit length. A zero vector gets
// 0 (cosine 0 with everything); when centring, a constant vector (Pearson r undefined) gets NaN so
// that it wins no maximum and takes part in none.
void unit_scale(const float* src, int64_t n, int64_t d, bool columns, bool center, int64_t i,
                double* mean, float* scale) {
    double mu = 0;
    if (center) {
        for (int64_t k = 0; k < d; ++k) mu += element(src, n, d, columns, i, k);
        mu /= (double)d;
    }
    double ss = 0;
    for (int64_t k = 0; k < d; ++k) {
        const double c = element(src, n, d, columns, i, k) - mu;
        ss += c * c;
    }
    *mean = mu;
    *scale = ss > 1e-30 ? (float)(1.0 / std::sqrt(ss))
             : center   ? std::numeric_limits<float>::quiet_NaN()
                        : 0.f;
}

// The maxima as exact dot products of the unit vectors found: a float dot product over d carries
// an error of about sqrt(d) ulps (a correlation of 1.0000011 was reported for equal vectors over
// many tokens); summed in double, the only error left is the unit vectors' own rounding (~1e-7),
// and the result is clamped to [-1, 1]. a(i, k), b(j, k): element k of unit vector i of A, j of B.
template <typename UnitA, typename UnitB>
void refine_maxima(sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d, UnitA a, UnitB b, float* row_max,
                   const int32_t* row_arg, float* col_max, const int32_t* col_arg) {
    ctx->parallel_for(n1 + n2, 64, [&](int64_t k0, int64_t k1) {
        for (int64_t t = k0; t < k1; ++t) {
            const bool row = t < n1;
            const int64_t i = row ? t : col_arg[t - n1], j = row ? row_arg[t] : t - n1;
            if (i < 0 || j < 0) continue;
            double dot = 0;
            for (int64_t k = 0; k < d; ++k) dot += (double)a(i, k) * (double)b(j, k);
            (row ? row_max[t] : col_max[t - n1]) = (float)std::max(-1.0, std::min(1.0, dot));
        }
    });
}


// The unit vectors of src packed as GEMM panels of `width` vectors: panel p holds, for k = 0..d-1,
// element k of vectors p*width .. p*width+width-1 (zeros past n). Returns whether any vector is
// NaN (constant, when centring).
bool pack_panels(sae4j_cpu_ctx* ctx, int64_t n, int64_t d, const float* src, bool columns,
                 bool center, int64_t width, float* out) {
    const int64_t panels = round_up(n, width) / width;
    std::atomic<bool> any_nan{false};
    ctx->parallel_for(panels, 4, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
            float* panel = out + p * width * d;
            for (int64_t l = 0; l < width; ++l) {
                const int64_t i = p * width + l;
                if (i >= n) {
                    for (int64_t k = 0; k < d; ++k) panel[k * width + l] = 0.f;
                    continue;
                }
                double mean;
                float scale;
                unit_scale(src, n, d, columns, center, i, &mean, &scale);
                if (std::isnan(scale)) any_nan = true;
                for (int64_t k = 0; k < d; ++k)
                    panel[k * width + l] = (float)((element(src, n, d, columns, i, k) - mean) * scale);
            }
        }
    });
    return any_nan;
}

// One 8 x 32 tile of cosines, a (d, 8) against b (d, 32) panels, folded into this thread's row
// maxima (rmax, rarg: rows i0..) and the column maxima (cmax, carg: columns j0.., this thread's
// own). Only `rows` x `cols` of the tile are real; with `sanitize`, NaN cosines (constant vectors)
// are dropped too. Strict '>' and the first equal index keep the smaller index on ties, as tiles
// come in increasing row and column order.
// GCC 12 warns inside its own intrinsic headers here (their "__Y = __Y" undefined vectors)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("arch=x86-64-v4"))) void fused_tile(
        const float* a, const float* b, int64_t d, int64_t i0, int64_t j0, int64_t rows,
        int64_t cols, bool sanitize, float* rmax, int32_t* rarg, float* cmax, int32_t* carg) {
    __m512 acc[2 * MR];
    for (int t = 0; t < 2 * MR; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t k = 0; k < d; ++k) {
        const __m512 b0 = _mm512_loadu_ps(b + k * NR), b1 = _mm512_loadu_ps(b + k * NR + 16);
        const float* ak = a + k * MR;
        for (int r = 0; r < MR; ++r) {
            const __m512 ar = _mm512_set1_ps(ak[r]);
            acc[2 * r] = _mm512_fmadd_ps(ar, b0, acc[2 * r]);
            acc[2 * r + 1] = _mm512_fmadd_ps(ar, b1, acc[2 * r + 1]);
        }
    }
    const __m512 neg_inf = _mm512_set1_ps(NEG_INF);
    const __mmask16 col_mask[2] = {
        (__mmask16)(cols >= 16 ? 0xffff : (1u << cols) - 1),
        (__mmask16)(cols >= 32 ? 0xffff : cols <= 16 ? 0 : (1u << (cols - 16)) - 1)};
    if (sanitize || rows < MR || cols < NR)
        for (int r = 0; r < MR; ++r)
            for (int h = 0; h < 2; ++h) {
                __m512& v = acc[2 * r + h];
                const __mmask16 keep = (r < rows ? col_mask[h] : 0) & ~_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                v = _mm512_mask_blend_ps(keep, neg_inf, v);
            }
    for (int r = 0; r < rows; ++r) {
        const float best = _mm512_reduce_max_ps(_mm512_max_ps(acc[2 * r], acc[2 * r + 1]));
        if (!(best > rmax[i0 + r])) continue;
        const __m512 bv = _mm512_set1_ps(best);
        const __mmask16 lo = _mm512_cmp_ps_mask(acc[2 * r], bv, _CMP_EQ_OQ);
        const int j = lo ? __builtin_ctz(lo) : 16 + __builtin_ctz(_mm512_cmp_ps_mask(acc[2 * r + 1], bv, _CMP_EQ_OQ));
        rmax[i0 + r] = best;
        rarg[i0 + r] = (int32_t)(j0 + j);
    }
    for (int h = 0; h < 2; ++h) {
        if (!col_mask[h]) continue;
        __m512 best = acc[h];
        for (int r = 1; r < MR; ++r) best = _mm512_max_ps(acc[2 * r + h], best);
        float* cm = cmax + j0 + 16 * h;
        const __mmask16 better =
            _mm512_cmp_ps_mask(best, _mm512_maskz_loadu_ps(col_mask[h], cm), _CMP_GT_OQ) & col_mask[h];
        if (!better) continue;
        __m512i row = _mm512_set1_epi32(MR - 1);
        for (int r = MR - 1; r >= 0; --r)  // the first row reaching the maximum
            row = _mm512_mask_mov_epi32(row, _mm512_cmp_ps_mask(acc[2 * r + h], best, _CMP_EQ_OQ),
                                        _mm512_set1_epi32(r));
        _mm512_mask_storeu_ps(cm, better, best);
        _mm512_mask_storeu_epi32(carg + j0 + 16 * h, better, _mm512_add_epi32(row, _mm512_set1_epi32((int32_t)i0)));
    }
}
#pragma GCC diagnostic pop

// The fused path: each pool thread takes a contiguous range of column groups (panels of B that
// together fit in L2), streams every A panel past them, and keeps its own row maxima in `parts`
// (merged in thread order = column order afterwards); column maxima are its own to write.
void cosine_max_fused(sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d, const float* Ap,
                      const float* Bp, bool sanitize, float* row_max, int32_t* row_arg,
                      float* col_max, int32_t* col_arg, float* parts) {
    const int64_t T = ctx->threads, a_panels = round_up(n1, MR) / MR, b_panels = round_up(n2, NR) / NR;
    // B panels of up to GROUP_BYTES per group, and a multiple of T groups so threads share evenly
    const int64_t fit = std::max<int64_t>(1, GROUP_BYTES / (NR * d * (int64_t)sizeof(float)));
    const int64_t rounds = (b_panels + T * fit - 1) / (T * fit);
    const int64_t per_group = (b_panels + T * rounds - 1) / (T * rounds);
    const int64_t groups = (b_panels + per_group - 1) / per_group;
    ctx->parallel_for(T, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            float* rmax = parts + t * 2 * n1;
            int32_t* rarg = reinterpret_cast<int32_t*>(rmax + n1);
            std::fill(rmax, rmax + n1, NEG_INF);
            std::fill(rarg, rarg + n1, -1);
            for (int64_t g = groups * t / T; g < groups * (t + 1) / T; ++g) {
                const int64_t q0 = g * per_group, q1 = std::min(b_panels, q0 + per_group);
                for (int64_t p = 0; p < a_panels; ++p)
                    for (int64_t q = q0; q < q1; ++q)
                        fused_tile(Ap + p * MR * d, Bp + q * NR * d, d, p * MR, q * NR,
                                   std::min(MR, n1 - p * MR), std::min(NR, n2 - q * NR), sanitize,
                                   rmax, rarg, col_max, col_arg);
            }
        }
    });
    ctx->parallel_for(n1, 1024, [&](int64_t i0, int64_t i1) {
        for (int64_t t = 0; t < T; ++t) {
            const float* rmax = parts + t * 2 * n1;
            const int32_t* rarg = reinterpret_cast<const int32_t*>(rmax + n1);
            for (int64_t i = i0; i < i1; ++i)
                if (rmax[i] > row_max[i]) {
                    row_max[i] = rmax[i];
                    row_arg[i] = rarg[i];
                }
        }
    });
}

// The sgemm path: normalised copies An, Bn in work, then blocks of the matrix in work after them.
void cosine_max_blocked(sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d, const float* An,
                        const float* Bn, float* row_max, int32_t* row_arg, float* col_max,
                        int32_t* col_arg, float* C) {
    const int64_t bc = std::min(n2, BLOCK_COLS);
    float* group_max = C + std::min(n1, BLOCK_ROWS) * bc;                     // (MAX_GROUPS, bc)
    int32_t* group_arg = reinterpret_cast<int32_t*>(group_max + MAX_GROUPS * bc);  // (MAX_GROUPS, bc)
    const VecOps& v = ctx->vec();
    for (int64_t j0 = 0; j0 < n2; j0 += BLOCK_COLS) {
        const int64_t cols = std::min(BLOCK_COLS, n2 - j0);
        for (int64_t i0 = 0; i0 < n1; i0 += BLOCK_ROWS) {
            const int64_t rows = std::min(BLOCK_ROWS, n1 - i0);
            const int64_t groups = std::min<int64_t>({MAX_GROUPS, (int64_t)ctx->threads, rows});
            // C (rows, cols) = An[i0 : i0 + rows] Bn[j0 : j0 + cols]^T
            sae4j_cpu_gemm(ctx, 0, 1, rows, cols, d, 1.f, An + i0 * d, d, Bn + j0 * d, d, 0.f, C, cols);
            ctx->parallel_for(groups, 1, [&](int64_t g0, int64_t g1) {
                for (int64_t g = g0; g < g1; ++g) {
                    float* gm = group_max + g * bc;
                    int32_t* ga = group_arg + g * bc;
                    std::fill(gm, gm + cols, NEG_INF);
                    std::fill(ga, ga + cols, -1);
                    for (int64_t r = rows * g / groups; r < rows * (g + 1) / groups; ++r) {
                        const float* c = C + r * cols;  // one row, in L1 for both folds
                        const int32_t i = (int32_t)(i0 + r);
                        v.col_max_update(c, gm, ga, i, cols);
                        const float best = v.max_above(c, cols, row_max[i]);
                        if (best > row_max[i]) {  // first (smallest) j reaching it
                            int64_t j = 0;
                            while (!(c[j] == best)) ++j;
                            row_max[i] = best;
                            row_arg[i] = (int32_t)(j0 + j);
                        }
                    }
                }
            });
            // merge in group (= row) order: strict '>' keeps the smaller row index on ties
            ctx->parallel_for(cols, 256, [&](int64_t c0, int64_t c1) {
                for (int64_t g = 0; g < groups; ++g)
                    for (int64_t j = c0; j < c1; ++j)
                        if (group_max[g * bc + j] > col_max[j0 + j]) {
                            col_max[j0 + j] = group_max[g * bc + j];
                            col_arg[j0 + j] = group_arg[g * bc + j];
                        }
            });
        }
    }
}

}  // namespace

void sae4j::normalise(sae4j_cpu_ctx* ctx, int64_t n, int64_t d, const float* src, bool columns,
                      bool center, float* out) {
    ctx->parallel_for(n, 64, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            double mean;
            float scale;
            unit_scale(src, n, d, columns, center, i, &mean, &scale);
            for (int64_t k = 0; k < d; ++k)
                out[i * d + k] = (float)((element(src, n, d, columns, i, k) - mean) * scale);
        }
    });
}

extern "C" int64_t sae4j_cpu_cosine_max_workspace(const sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2,
                                                  int64_t d) {
    if (!ctx || !sizes_ok(n1, n2, d)) return -1;
    if (fused(ctx))  // the panels, and each thread's row maxima and their indices
        return (round_up(n1, MR) + round_up(n2, NR)) * d + ctx->threads * 2 * n1;
    // normalised vectors, one block, and per-group column maxima and their indices
    return (n1 + n2) * d + std::min(n1, BLOCK_ROWS) * std::min(n2, BLOCK_COLS) +
           2 * MAX_GROUPS * std::min(n2, BLOCK_COLS);
}

extern "C" int sae4j_cpu_cosine_max(sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d, const float* A,
                                    int32_t a_columns, const float* B, int32_t b_columns,
                                    int32_t center, float* row_max, int32_t* row_arg,
                                    float* col_max, int32_t* col_arg, float* work) {
    if (!ctx || !sizes_ok(n1, n2, d) || !A || !B || !row_max || !row_arg || !col_max || !col_arg || !work)
        return SAE4J_ERR_ARG;
    std::fill(row_max, row_max + n1, NEG_INF);
    std::fill(row_arg, row_arg + n1, -1);
    std::fill(col_max, col_max + n2, NEG_INF);
    std::fill(col_arg, col_arg + n2, -1);
    if (fused(ctx)) {
        float* Ap = work;
        float* Bp = Ap + round_up(n1, MR) * d;
        const bool nan_a = pack_panels(ctx, n1, d, A, a_columns, center, MR, Ap);
        const bool nan_b = pack_panels(ctx, n2, d, B, b_columns, center, NR, Bp);
        cosine_max_fused(ctx, n1, n2, d, Ap, Bp, nan_a || nan_b, row_max, row_arg, col_max, col_arg,
                         Bp + round_up(n2, NR) * d);
        refine_maxima(
            ctx, n1, n2, d, [&](int64_t i, int64_t k) { return Ap[(i / MR) * MR * d + k * MR + i % MR]; },
            [&](int64_t j, int64_t k) { return Bp[(j / NR) * NR * d + k * NR + j % NR]; }, row_max, row_arg,
            col_max, col_arg);
    } else {
        float* An = work;
        float* Bn = An + n1 * d;
        normalise(ctx, n1, d, A, a_columns, center, An);
        normalise(ctx, n2, d, B, b_columns, center, Bn);
        cosine_max_blocked(ctx, n1, n2, d, An, Bn, row_max, row_arg, col_max, col_arg, Bn + n2 * d);
        refine_maxima(
            ctx, n1, n2, d, [&](int64_t i, int64_t k) { return An[i * d + k]; },
            [&](int64_t j, int64_t k) { return Bn[j * d + k]; }, row_max, row_arg, col_max, col_arg);
    }
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_cosine_block(sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d, const float* A,
                                      int32_t a_columns, const float* B, int32_t b_columns,
                                      int32_t center, int64_t i0, int64_t i1, float* C,
                                      float* work) {
    if (!ctx || !sizes_ok(n1, n2, d) || !A || !B || !C || !work || i0 < 0 || i1 > n1 || i0 >= i1)
        return SAE4J_ERR_ARG;
    float* An = work;
    float* Bn = An + n1 * d;
    normalise(ctx, n1, d, A, a_columns, center, An);
    normalise(ctx, n2, d, B, b_columns, center, Bn);
    sae4j_cpu_gemm(ctx, 0, 1, i1 - i0, n2, d, 1.f, An + i0 * d, d, Bn, d, 0.f, C, n2);
    return SAE4J_OK;
}
