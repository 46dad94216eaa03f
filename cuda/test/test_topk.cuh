// test_topk.cuh: checks of sae4j_cuda_topk_rows / _cols. The kernels only select and order, so
// the lists must equal a stable host sort (key descending, index ascending) exactly, values and
// indices; the matrix is random with exact ties planted (a row and a column of one value, sign
// pairs for |cos|), fed in uneven row blocks (the column lists merge across blocks).
#pragma once

#include <algorithm>
#include <functional>
#include <numeric>

#include "test_util.cuh"

namespace kt {

// The first k of `n` candidates by (key(value) descending, index ascending).
inline std::vector<int32_t> ref_topk(int64_t n, int64_t k, bool absolute, const std::function<float(int64_t)>& value) {
    std::vector<int32_t> order((size_t)n);
    std::iota(order.begin(), order.end(), 0);
    auto key = [&](int64_t i) { return absolute ? std::fabs(value(i)) : value(i); };
    std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return key(x) > key(y); });
    order.resize((size_t)k);
    return order;
}

inline void test_topk(int64_t n1, int64_t n2, int64_t k_row, int64_t k_col, bool absolute, uint64_t seed) {
    Rng r(seed);
    std::vector<float> m = r.vec(n1 * n2, -1, 1);
    if (n1 > 3)
        for (int64_t j = 0; j < n2; ++j) m[3 * n2 + j] = 0.25f;  // row 3: all tied
    if (n2 > 2)
        for (int64_t i = 0; i < n1; ++i) m[i * n2 + 2] = -0.5f;  // column 2: all tied
    if (n2 > 40 && n1 > 1) {  // row 1: +0.99 at 40 ties -0.99 at 9 under |cos|
        m[1 * n2 + 40] = 0.99f;
        m[1 * n2 + 9] = -0.99f;
    }
    char tag[128];
    snprintf(tag, sizeof tag, "topk %lldx%lld k %lld/%lld%s", (long long)n1, (long long)n2, (long long)k_row,
             (long long)k_col, absolute ? " abs" : "");
    DBuf<float> rv(n1 * k_row), cv(n2 * k_col);
    DBuf<int32_t> ri(n1 * k_row), ci(n2 * k_col);
    const int64_t cuts[] = {0, std::min<int64_t>(n1, 100), std::min<int64_t>(n1, 101), n1};
    for (int b = 0; b < 3; ++b) {
        const int64_t r0 = cuts[b], rows = cuts[b + 1] - r0;
        if (rows == 0) continue;
        DBuf<float> block(rows * n2);
        block.set(std::vector<float>(m.begin() + r0 * n2, m.begin() + (r0 + rows) * n2));
        OK(sae4j_cuda_topk_rows(g_ctx, rows, n2, block.d, absolute, k_row, rv.d + r0 * k_row, ri.d + r0 * k_row));
        OK(sae4j_cuda_topk_cols(g_ctx, rows, n2, block.d, r0, absolute, k_col, cv.d, ci.d));
        OK(sae4j_cuda_sync(g_ctx));  // the block is freed next
    }
    const std::vector<float> hrv = rv.get(), hcv = cv.get();
    const std::vector<int32_t> hri = ri.get(), hci = ci.get();
    int64_t bad = 0;
    for (int64_t i = 0; i < n1; ++i) {
        const auto want = ref_topk(n2, k_row, absolute, [&](int64_t j) { return m[i * n2 + j]; });
        for (int64_t p = 0; p < k_row; ++p)
            bad += hri[i * k_row + p] != want[p] || !same_bits(hrv[i * k_row + p], m[i * n2 + want[p]]);
    }
    for (int64_t j = 0; j < n2; ++j) {
        const auto want = ref_topk(n1, k_col, absolute, [&](int64_t i) { return m[i * n2 + j]; });
        for (int64_t p = 0; p < k_col; ++p)
            bad += hci[j * k_col + p] != want[p] || !same_bits(hcv[j * k_col + p], m[want[p] * n2 + j]);
    }
    report_exact(std::string(tag) + " lists equal the stable sort", bad);
    report_exact(std::string(tag) + " guards", rv.guard_bad() + ri.guard_bad() + cv.guard_bad() + ci.guard_bad());
}

inline void test_topk_errors() {
    DBuf<float> block(12), val(8);
    DBuf<int32_t> idx(8);
    int64_t bad = 0;
    bad += sae4j_cuda_topk_rows(g_ctx, 3, 4, block.d, 0, 5, val.d, idx.d) != SAE4J_CUDA_ERR_ARG;  // k > n2
    bad += sae4j_cuda_topk_rows(g_ctx, 1, 100, block.d, 0, SAE4J_CUDA_TOPK_MAX + 1, val.d, idx.d) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_topk_rows(g_ctx, 3, 4, block.d, 0, 0, val.d, idx.d) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_topk_rows(g_ctx, 3, 4, nullptr, 0, 2, val.d, idx.d) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_topk_cols(g_ctx, 3, 4, block.d, -1, 0, 2, val.d, idx.d) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_topk_cols(g_ctx, 3, 4, block.d, 0, 0, SAE4J_CUDA_TOPK_MAX + 1, val.d, idx.d) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_topk_cols(g_ctx, 3, 4, block.d, 0, 0, 2, val.d, nullptr) != SAE4J_CUDA_ERR_ARG;
    OK(sae4j_cuda_sync(g_ctx));
    report_exact("topk bad arguments: ERR_ARG", bad);
    report_exact("topk bad arguments: nothing written",
                 untouched(val.d, 0, 8, poison_f()) + untouched(idx.d, 0, 8, POISON_I) + val.guard_bad() +
                     idx.guard_bad());
}

}  // namespace kt
