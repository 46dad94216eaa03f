// elementwise.cu: row-wise kernels around the GEMMs: centring rows by a vector, broadcasting a
// vector into rows, row norms, and the sum of squared deviations from the mean (FVU denominator).
//
// All are memory-bound:
//  - center_rows / broadcast_rows: blocks of threads over columns (coalesced) and a few rows each,
//    the bias element loaded once per thread;
//  - row_norms, remove_radial, normalize_rows: one warp per row, float lanes and a butterfly sum;
//  - sum_sq_dev: a block per 32-column tile walks all rows (coalesced 128-byte rows), sums
//    (x - x_0) and (x - x_0)^2 in double (shifted by the first row, which keeps S2 - S1^2 / rows
//    free of cancellation when the mean is large), adds its tiles' deviations in a fixed order
//    into the batch's scratch; one thread then adds the per-block values in block order. The
//    result is deterministic (no atomics).
#include "internal.cuh"

namespace sae4j_cuda {
namespace {

constexpr int ROWS_PER_BLOCK = 4;

// out (B, d) = x (B, d) - b (d); with x == nullptr, out = b in every row.
__global__ void rows_minus_kernel(int64_t B, int64_t d, const float* __restrict__ x,
                                  const float* __restrict__ b, float* __restrict__ out) {
    const int64_t col = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= d) return;  // no barrier below
    const float bv = b[col];
    for (int64_t r0 = (int64_t)blockIdx.y * ROWS_PER_BLOCK; r0 < B;
         r0 += (int64_t)gridDim.y * ROWS_PER_BLOCK) {
#pragma unroll
        for (int k = 0; k < ROWS_PER_BLOCK; ++k) {
            const int64_t r = r0 + k;
            if (r < B) out[r * d + col] = x ? x[r * d + col] - bv : bv;
        }
    }
}

int rows_minus(sae4j_cuda_ctx* ctx, int64_t B, int64_t d, const float* x, const float* b,
               float* out) {
    STATUS_CHECK(enter(ctx));
    const int threads = threads_for_width(d, 1);
    dim3 grid(grid_x(ceil_div(d, threads)), grid_y(ceil_div(B, ROWS_PER_BLOCK)));
    rows_minus_kernel<<<grid, threads, 0, ctx->stream>>>(B, d, x, b, out);
    LAUNCH_CHECK("rows_minus_kernel");
    return SAE4J_CUDA_OK;
}

// norms (rows) = ||A_r|| for A (rows, cols): one warp per row.
__global__ void row_norms_kernel(int64_t rows, int64_t cols, const float* __restrict__ A,
                                 float* __restrict__ norms) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t r = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows;
         r += warps) {
        const float* a = A + r * cols;
        float s = 0.f;
        for (int64_t k = lane; k < cols; k += 32) s = fmaf(a[k], a[k], s);
        s = warp_sum(s);
        if (lane == 0) norms[r] = sqrtf(s);
    }
}

// The unit-norm decoder of TopK training, one warp per row of W (rows, cols): with G, G_r -= (G_r .
// W_r / ||W_r||^2) W_r; without, W_r /= ||W_r||. Zero rows are left as they are.
__global__ void unit_rows_kernel(int64_t rows, int64_t cols, float* __restrict__ W,
                                 float* __restrict__ G) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t r = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows;
         r += warps) {
        float* w = W + r * cols;
        float ww = 0.f, gw = 0.f;
        for (int64_t k = lane; k < cols; k += 32) {
            ww = fmaf(w[k], w[k], ww);
            if (G) gw = fmaf(G[r * cols + k], w[k], gw);
        }
        ww = warp_sum(ww);
        if (!(ww > 0.f)) continue;  // warp-uniform
        if (G) {
            const float c = -warp_sum(gw) / ww;
            for (int64_t k = lane; k < cols; k += 32) G[r * cols + k] = fmaf(c, w[k], G[r * cols + k]);
        } else {
            const float inv = 1.f / sqrtf(ww);
            for (int64_t k = lane; k < cols; k += 32) w[k] *= inv;
        }
    }
}

int unit_rows(sae4j_cuda_ctx* ctx, int64_t rows, int64_t cols, float* W, float* G) {
    REQUIRE(ctx != nullptr);
    REQUIRE(rows >= 0 && cols >= 1);
    if (rows == 0) return SAE4J_CUDA_OK;
    REQUIRE(W != nullptr);
    STATUS_CHECK(enter(ctx));
    const int threads = 256;  // 8 rows per block
    unit_rows_kernel<<<grid_x(ceil_div(rows, threads / 32)), threads, 0, ctx->stream>>>(rows, cols, W, G);
    LAUNCH_CHECK("unit_rows_kernel");
    return SAE4J_CUDA_OK;
}

// partial (gridDim.x) = sum over the block's 32-column tiles of sum_k (S2_k - S1_k^2 / rows).
__global__ void sum_sq_dev_partial_kernel(int64_t rows, int64_t d, const float* __restrict__ x,
                                          double* __restrict__ partial) {
    __shared__ double s1[8][32], s2[8][32];
    const int tx = threadIdx.x, ty = threadIdx.y;  // blockDim (32, 8): warp 0 is ty == 0
    const int64_t tiles = ceil_div(d, 32);
    double block_acc = 0.0;  // kept by thread (0, 0)
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        const int64_t col = t * 32 + tx;
        double a = 0.0, q = 0.0;
        if (col < d) {
            const double shift = (double)x[col];
            for (int64_t r = ty; r < rows; r += 8) {
                const double v = (double)x[r * d + col] - shift;
                a += v;
                q += v * v;
            }
        }
        s1[ty][tx] = a;
        s2[ty][tx] = q;
        __syncthreads();
        if (ty == 0) {
            double A = 0.0, Q = 0.0;
            for (int k = 0; k < 8; ++k) {
                A += s1[k][tx];
                Q += s2[k][tx];
            }
            double dev = col < d ? Q - A * A / (double)rows : 0.0;
            dev = warp_sum(dev > 0.0 ? dev : 0.0);
            if (tx == 0) block_acc += dev;
        }
        __syncthreads();
    }
    if (tx == 0 && ty == 0) partial[blockIdx.x] = block_acc;
}

// *out = sum of partial (n) in index order.
__global__ void sum_partials_kernel(int n, const double* __restrict__ partial,
                                    float* __restrict__ out) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    double s = 0.0;
    for (int i = 0; i < n; ++i) s += partial[i];
    *out = (float)s;
}

}  // namespace
}  // namespace sae4j_cuda

using namespace sae4j_cuda;

SAE4J_EXPORT int sae4j_cuda_center_rows(sae4j_cuda_ctx* ctx, int64_t B, int64_t d, const float* x,
                                        const float* b, float* out) {
    REQUIRE(ctx != nullptr);
    REQUIRE(B >= 0 && d >= 1);
    if (B == 0) return SAE4J_CUDA_OK;
    REQUIRE(x != nullptr && b != nullptr && out != nullptr);
    return rows_minus(ctx, B, d, x, b, out);
}

SAE4J_EXPORT int sae4j_cuda_broadcast_rows(sae4j_cuda_ctx* ctx, int64_t B, int64_t d,
                                           const float* b, float* out) {
    REQUIRE(ctx != nullptr);
    REQUIRE(B >= 0 && d >= 1);
    if (B == 0) return SAE4J_CUDA_OK;
    REQUIRE(b != nullptr && out != nullptr);
    return rows_minus(ctx, B, d, nullptr, b, out);
}

SAE4J_EXPORT int sae4j_cuda_row_norms(sae4j_cuda_ctx* ctx, int64_t rows, int64_t cols,
                                      const float* A, float* norms) {
    REQUIRE(ctx != nullptr);
    REQUIRE(rows >= 0 && cols >= 1);
    if (rows == 0) return SAE4J_CUDA_OK;
    REQUIRE(A != nullptr && norms != nullptr);
    STATUS_CHECK(enter(ctx));
    const int threads = 256;  // 8 rows per block
    row_norms_kernel<<<grid_x(ceil_div(rows, threads / 32)), threads, 0, ctx->stream>>>(
        rows, cols, A, norms);
    LAUNCH_CHECK("row_norms_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_remove_radial(sae4j_cuda_ctx* ctx, int64_t rows, int64_t cols,
                                         const float* W, float* G) {
    REQUIRE(G != nullptr || rows == 0);
    return unit_rows(ctx, rows, cols, const_cast<float*>(W), G);  // W is only read when G is given
}

SAE4J_EXPORT int sae4j_cuda_normalize_rows(sae4j_cuda_ctx* ctx, int64_t rows, int64_t cols, float* W) {
    return unit_rows(ctx, rows, cols, W, nullptr);
}

SAE4J_EXPORT int sae4j_cuda_sum_sq_dev(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B,
                                       float* out) {
    REQUIRE(ctx != nullptr && batch != nullptr && batch->ctx == ctx);
    REQUIRE(B >= 1 && B <= batch->rows);
    REQUIRE(out != nullptr);
    STATUS_CHECK(enter(ctx));
    const int64_t d = batch->d, tiles = ceil_div(d, 32);
    const int blocks = (int)(tiles < SCRATCH_DOUBLES ? tiles : SCRATCH_DOUBLES);
    sum_sq_dev_partial_kernel<<<blocks, dim3(32, 8), 0, ctx->stream>>>(B, d, batch->x,
                                                                       batch->ssd_part);
    LAUNCH_CHECK("sum_sq_dev_partial_kernel");
    sum_partials_kernel<<<1, 32, 0, ctx->stream>>>(blocks, batch->ssd_part, out);
    LAUNCH_CHECK("sum_partials_kernel");
    return SAE4J_CUDA_OK;
}
