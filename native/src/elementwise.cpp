// Dense GEMM (OpenBLAS) and the row-wise elementwise kernels: centring, row norms, the batch's
// sum of squared deviations (the FVU denominator).
#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "internal.h"

using namespace sae4j;

extern "C" int sae4j_cpu_gemm(sae4j_cpu_ctx* ctx, int trans_a, int trans_b, int64_t M, int64_t N,
                              int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                              int64_t ldb, float beta, float* C, int64_t ldc) {
    if (!ctx || M < 0 || N < 0 || K < 0 || !A || !B || !C) return SAE4J_ERR_ARG;
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) return SAE4J_ERR_ARG;  // blasint
    if (lda < (trans_a ? M : K) || ldb < (trans_b ? K : N) || ldc < N || lda < 1 || ldb < 1 ||
        ldc < 1)
        return SAE4J_ERR_ARG;
    if (M == 0 || N == 0) return SAE4J_OK;
    // One single-threaded OpenBLAS call per pool thread, each on a slab of C along its longer side
    // (threads.cpp says why OpenBLAS's own threads stay idle). Every element of C is computed by
    // one call in the same order whatever the thread count, so results do not depend on it.
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
    const bool split_rows = M >= N;
    const int64_t extent = split_rows ? M : N;
    const double flops = 2.0 * (double)M * (double)N * (double)K;
    const int64_t slabs = flops < 4e6 ? 1 : std::min<int64_t>(ctx->threads, (extent + 63) / 64);
    ctx->parallel_for(slabs, 1, [&](int64_t s0, int64_t s1) {
        for (int64_t s = s0; s < s1; ++s) {
            // slab bounds on multiples of 16 (whole SIMD vectors and cache lines of C)
            const int64_t lo = std::min(extent, (extent * s / slabs + 15) / 16 * 16);
            const int64_t hi = s + 1 == slabs ? extent : std::min(extent, (extent * (s + 1) / slabs + 15) / 16 * 16);
            if (lo >= hi) continue;
            const float* a = A;
            const float* b = B;
            float* c = C;
            int64_t rows = M, cols = N;
            if (split_rows) {
                a += trans_a ? lo : lo * lda;
                c += lo * ldc;
                rows = hi - lo;
            } else {
                b += trans_b ? lo * ldb : lo;
                c += lo;
                cols = hi - lo;
            }
            cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                        trans_b ? CblasTrans : CblasNoTrans, (blasint)rows, (blasint)cols,
                        (blasint)K, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
        }
    });
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_center_rows(sae4j_cpu_ctx* ctx, int64_t B, int64_t d, const float* x,
                                     const float* b, float* out) {
    if (!ctx || B < 0 || d < 1 || !x || !b || !out) return SAE4J_ERR_ARG;
    const VecOps& v = ctx->vec();
    ctx->parallel_for(B, 64, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) v.sub(x + r * d, b, out + r * d, d);
    });
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_row_norms(sae4j_cpu_ctx* ctx, int64_t rows, int64_t cols, const float* A,
                                   float* norms) {
    if (!ctx || rows < 0 || cols < 1 || !A || !norms) return SAE4J_ERR_ARG;
    const VecOps& v = ctx->vec();
    ctx->parallel_for(rows, 256, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) norms[r] = (float)std::sqrt(v.sumsq(A + r * cols, cols));
    });
    return SAE4J_OK;
}

// Gao et al.'s unit-norm decoder for TopK training: the gradient's radial part is removed before
// the optimiser step and the rows are renormalised after it. A zero row has no direction: left as is.
extern "C" int sae4j_cpu_remove_radial(sae4j_cpu_ctx* ctx, int64_t rows, int64_t cols,
                                       const float* W, float* G) {
    if (!ctx || rows < 0 || cols < 1 || !W || !G) return SAE4J_ERR_ARG;
    const VecOps& v = ctx->vec();
    ctx->parallel_for(rows, 64, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* w = W + r * cols;
            float* g = G + r * cols;
            const double ww = v.sumsq(w, cols);
            if (ww > 0) v.axpy((float)(-(double)v.dot(g, w, cols) / ww), w, g, cols);
        }
    });
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_normalize_rows(sae4j_cpu_ctx* ctx, int64_t rows, int64_t cols, float* W) {
    if (!ctx || rows < 0 || cols < 1 || !W) return SAE4J_ERR_ARG;
    const VecOps& v = ctx->vec();
    ctx->parallel_for(rows, 64, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            float* w = W + r * cols;
            const double ss = v.sumsq(w, cols);
            if (!(ss > 0)) continue;
            const float inv = (float)(1 / std::sqrt(ss));
            for (int64_t c = 0; c < cols; ++c) w[c] *= inv;
        }
    });
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_sum_sq_dev(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* batch, int64_t B,
                                    float* out) {
    if (!ctx || !batch || B < 1 || B > batch->rows || !out) return SAE4J_ERR_ARG;
    // Each thread owns a range of columns: their means in double, then the squared deviations
    // (two passes, so a constant column gives exactly 0 where a one-pass sum of squares would
    // cancel catastrophically); columns are added in order, so the sum does not depend on threads.
    const int64_t d = batch->d;
    const float* x = batch->x;
    double* col_ss = batch->col_ss;
    ctx->parallel_for(d, 16, [&](int64_t c0, int64_t c1) {
        for (int64_t k = c0; k < c1; ++k) col_ss[k] = 0;
        double* mean = batch->col_mean;
        for (int64_t k = c0; k < c1; ++k) mean[k] = 0;
        for (int64_t r = 0; r < B; ++r)
            for (int64_t k = c0; k < c1; ++k) mean[k] += x[r * d + k];
        for (int64_t k = c0; k < c1; ++k) mean[k] /= (double)B;
        for (int64_t r = 0; r < B; ++r)
            for (int64_t k = c0; k < c1; ++k) {
                const double c = x[r * d + k] - mean[k];
                col_ss[k] += c * c;
            }
    });
    double total = 0;
    for (int64_t k = 0; k < d; ++k) total += col_ss[k];
    *out = (float)total;
    return SAE4J_OK;
}
