// Dense GEMM (OpenBLAS) and the row-wise elementwise kernels: centring with a finite check,
// row norms.
#include <cblas.h>

#include <atomic>
#include <cmath>

#include "internal.h"

using namespace sae4j;

extern "C" int sae4j_cpu_gemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                              float alpha, const float* A, int64_t lda, const float* B,
                              int64_t ldb, float beta, float* C, int64_t ldc) {
    if (M < 0 || N < 0 || K < 0 || !A || !B || !C) return SAE4J_ERR_ARG;
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) return SAE4J_ERR_ARG;  // blasint
    if (lda < (trans_a ? M : K) || ldb < (trans_b ? K : N) || ldc < N || lda < 1 || ldb < 1 ||
        ldc < 1)
        return SAE4J_ERR_ARG;
    if (M == 0 || N == 0) return SAE4J_OK;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N, (blasint)K, alpha, A,
                (blasint)lda, B, (blasint)ldb, beta, C, (blasint)ldc);
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_center_rows(int64_t B, int64_t d, const float* x, const float* b,
                                     float* out, int64_t* bad_index) {
    if (B < 0 || d < 1 || !x || !b || !out || !bad_index) return SAE4J_ERR_ARG;
    std::atomic<int64_t> first_bad(INT64_MAX);
    const VecOps& v = vec();
    parallel_for(B, 64, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            int64_t j = v.sub_checked(x + r * d, b, out + r * d, d);
            if (j >= 0) {
                int64_t flat = r * d + j, cur = first_bad.load();
                while (flat < cur && !first_bad.compare_exchange_weak(cur, flat)) {
                }
                return;
            }
        }
    });
    int64_t bad = first_bad.load();
    *bad_index = bad == INT64_MAX ? -1 : bad;
    return bad == INT64_MAX ? SAE4J_OK : SAE4J_ERR_NONFINITE;
}

extern "C" int sae4j_cpu_row_norms(int64_t rows, int64_t cols, const float* A, float* norms) {
    if (rows < 0 || cols < 1 || !A || !norms) return SAE4J_ERR_ARG;
    const VecOps& v = vec();
    parallel_for(rows, 256, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) norms[r] = (float)std::sqrt(v.sumsq(A + r * cols, cols));
    });
    return SAE4J_OK;
}
