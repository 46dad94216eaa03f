// cosine_topk.cu: the top-k lists of sae4j_cpu_cosine_topk (exact matching's candidate edges) from
// blocks of the cosine matrix, which the Java backend makes with cuBLAS from unit vectors
// (sae4j_cuda_normalise) and hands over block by block, so the n1 x n2 matrix is never stored.
//  - rows: one warp per row; each lane keeps a sorted list of the best k of its columns (lane,
//    lane + 32, ...) in local memory, then k rounds of a warp argmax merge the 32 lists.
//  - columns: one thread per column walks the block's rows (coalesced across the warp) against
//    its list's entry threshold, kept in a register; the list itself stays in global memory and
//    is touched only on the rare insertion. Blocks come in ascending row order, so an equal key
//    never displaces an earlier (smaller) row.
// Ranking key: the cosine, or |cosine| when `absolute`; values are stored signed; ties go to the
// smaller index, empty slots have index -1.
#include <math.h>

#include "internal.cuh"

namespace sae4j_cuda {
namespace {

__device__ __forceinline__ float rank_key(float v, bool absolute) { return absolute ? fabsf(v) : v; }

__global__ void topk_rows_kernel(int64_t rows, int64_t n2, const float* __restrict__ block, bool absolute, int k,
                                 float* __restrict__ row_val, int32_t* __restrict__ row_idx) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    float val[SAE4J_CUDA_TOPK_MAX];
    int32_t idx[SAE4J_CUDA_TOPK_MAX];
    for (int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; r < rows; r += warps) {
        const float* c = block + r * n2;
        int n = 0;               // entries in this lane's list
        float thr = -INFINITY;   // key to beat once the list is full (NaN never does)
        for (int64_t j = lane; j < n2; j += 32) {
            const float v = c[j], kv = rank_key(v, absolute);
            if (!(kv > thr)) continue;
            int p = n < k ? n++ : k - 1;
            while (p > 0 && rank_key(val[p - 1], absolute) < kv) {
                val[p] = val[p - 1];
                idx[p] = idx[p - 1];
                --p;
            }
            val[p] = v;
            idx[p] = (int32_t)j;
            if (n == k) thr = rank_key(val[k - 1], absolute);
        }
        int head = 0;
        for (int out = 0; out < k; ++out) {
            const bool have = head < n;
            float best = have ? rank_key(val[head], absolute) : -INFINITY;
            int32_t at = have ? idx[head] : INT32_MAX;
            for (int o = 16; o > 0; o >>= 1) {  // argmax: key descending, index ascending
                const float ob = __shfl_xor_sync(0xffffffffu, best, o);
                const int32_t oa = __shfl_xor_sync(0xffffffffu, at, o);
                if (ob > best || (ob == best && oa < at)) {
                    best = ob;
                    at = oa;
                }
            }
            if (have && idx[head] == at) {  // indices are distinct: exactly one lane wins
                row_val[r * k + out] = val[head];
                row_idx[r * k + out] = at;
                ++head;
            } else if (at == INT32_MAX && lane == 0) {  // fewer than k comparable entries (NaN input)
                row_val[r * k + out] = -INFINITY;
                row_idx[r * k + out] = -1;
            }
        }
    }
}

__global__ void topk_cols_kernel(int64_t rows, int64_t n2, const float* __restrict__ block, int64_t row0,
                                 bool absolute, int k, float* __restrict__ col_val, int32_t* __restrict__ col_idx) {
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n2; j += (int64_t)gridDim.x * blockDim.x) {
        float* val = col_val + j * k;
        int32_t* idx = col_idx + j * k;
        if (row0 == 0)
            for (int p = 0; p < k; ++p) {
                val[p] = -INFINITY;
                idx[p] = -1;
            }
        float thr = idx[k - 1] < 0 ? -INFINITY : rank_key(val[k - 1], absolute);
        for (int64_t r = 0; r < rows; ++r) {
            const float v = block[r * n2 + j], kv = rank_key(v, absolute);
            if (!(kv > thr)) continue;
            int p = k - 1;
            while (p > 0 && (idx[p - 1] < 0 || rank_key(val[p - 1], absolute) < kv)) {
                val[p] = val[p - 1];
                idx[p] = idx[p - 1];
                --p;
            }
            val[p] = v;
            idx[p] = (int32_t)(row0 + r);
            thr = idx[k - 1] < 0 ? -INFINITY : rank_key(val[k - 1], absolute);
        }
    }
}

}  // namespace
}  // namespace sae4j_cuda

using namespace sae4j_cuda;

SAE4J_EXPORT int sae4j_cuda_topk_rows(sae4j_cuda_ctx* ctx, int64_t rows, int64_t n2, const float* block,
                                      int32_t absolute, int64_t k, float* row_val, int32_t* row_idx) {
    REQUIRE(ctx != nullptr);
    REQUIRE(rows >= 1 && n2 >= 1 && n2 <= INT32_MAX);
    REQUIRE(k >= 1 && k <= SAE4J_CUDA_TOPK_MAX && k <= n2);
    REQUIRE(block != nullptr && row_val != nullptr && row_idx != nullptr);
    STATUS_CHECK(enter(ctx));
    const int threads = 256;
    topk_rows_kernel<<<grid_x(ceil_div(rows, threads / 32)), threads, 0, ctx->stream>>>(
        rows, n2, block, absolute != 0, (int)k, row_val, row_idx);
    LAUNCH_CHECK("topk_rows_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_topk_cols(sae4j_cuda_ctx* ctx, int64_t rows, int64_t n2, const float* block,
                                      int64_t row0, int32_t absolute, int64_t k, float* col_val,
                                      int32_t* col_idx) {
    REQUIRE(ctx != nullptr);
    REQUIRE(rows >= 1 && n2 >= 1 && row0 >= 0 && row0 + rows <= INT32_MAX);
    REQUIRE(k >= 1 && k <= SAE4J_CUDA_TOPK_MAX);
    REQUIRE(block != nullptr && col_val != nullptr && col_idx != nullptr);
    STATUS_CHECK(enter(ctx));
    const int threads = 256;
    topk_cols_kernel<<<grid_x(ceil_div(n2, threads)), threads, 0, ctx->stream>>>(rows, n2, block, row0,
                                                                                 absolute != 0, (int)k, col_val,
                                                                                 col_idx);
    LAUNCH_CHECK("topk_cols_kernel");
    return SAE4J_CUDA_OK;
}
