// auxk.cu: the kernels of AuxK (Gao et al. 2024, appendix A.2), TopK training's loss on dead
// latents, which the Java backend composes with cuBLAS as the header's AuxK section says; the
// maths is native/src/auxk.cpp's. Dense products over the dead latents' rows gathered into (n, d)
// blocks replace the CPU kernel's per-row sparse loops: n is at most a few thousand, and cuBLAS
// keeps every sum deterministic. The kernels here:
//  - gather_rows_kernel: a block per dead latent copies its W_encT and W_dec rows and b_enc entry
//    (-inf for a latent that has fired since the list was made: it is then never selected). The
//    list is device memory, so it is not refused when wrong: an entry out of range or not above
//    the one before gets a zero row and bias -inf, and scatter_add_kernel skips it, so that a bad
//    list never reaches memory outside the SAE (one that repeats an entry further apart still
//    gives an undefined result);
//  - residual_kernel: a block per row: g = 2 alpha/B (ehat + (B/2) err), and ||ehat - e||^2 in
//    double into the batch's row_sq (free once the main backward's losses are written);
//  - mask_colsum_kernel: a thread per dead latent walks the rows (coalesced across threads),
//    zeroing dL/da where a = 0 and summing the rest in double in row order;
//  - scatter_add_kernel: a block per dead latent adds its gradient row (and entry) to the SAE's;
//  - loss_kernel: one block, the row sums in double in a fixed order.
#include "internal.cuh"

namespace sae4j_cuda {
namespace {

constexpr int ROW_THREADS = 128;

// Entry j of the dead list is a latent index in range and above entry j - 1.
__device__ __forceinline__ bool listed_ok(const int32_t* dead, int64_t j, int64_t m) {
    return dead[j] >= 0 && dead[j] < m && (j == 0 || dead[j] > dead[j - 1]);
}

__global__ void gather_rows_kernel(int64_t n, int64_t d, int64_t m, const int32_t* __restrict__ dead,
                                   const int32_t* __restrict__ firing, const float* __restrict__ params,
                                   float* __restrict__ W_enc_dead,
                                   float* __restrict__ W_dec_dead, float* __restrict__ b_dead) {
    const float* W_encT = params;
    const float* b_enc = params + m * d;
    const float* W_dec = params + m * d + m;
    for (int64_t j = blockIdx.x; j < n; j += gridDim.x) {
        const int64_t i = dead[j];
        const bool ok = listed_ok(dead, j, m);
        for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
            W_enc_dead[j * d + c] = ok ? W_encT[i * d + c] : 0.f;
            W_dec_dead[j * d + c] = ok ? W_dec[i * d + c] : 0.f;
        }
        if (threadIdx.x == 0) b_dead[j] = !ok || (firing && firing[i] > 0) ? -INFINITY : b_enc[i];
    }
}

// G (B, d) holds ehat; err = 2/B (xhat - x), so e = x - xhat = -(B/2) err and ehat - e = G + (B/2) err.
__global__ void residual_kernel(int64_t B, int64_t d, const float* __restrict__ err, float half_B,
                                float g_scale, float* __restrict__ G, double* __restrict__ row_sq) {
    __shared__ double sh[32];
    for (int64_t b = blockIdx.x; b < B; b += gridDim.x) {
        double acc = 0.0;
        for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
            const float r = G[b * d + c] + half_B * err[b * d + c];
            G[b * d + c] = g_scale * r;
            acc += (double)r * (double)r;
        }
        const double t = block_sum(acc, sh);
        if (threadIdx.x == 0) row_sq[b] = t;
    }
}

__global__ void mask_colsum_kernel(int64_t B, int64_t n, const float* __restrict__ A, float* __restrict__ dA,
                                   float* __restrict__ col_sum) {
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += (int64_t)gridDim.x * blockDim.x) {
        double acc = 0.0;
        for (int64_t b = 0; b < B; ++b) {
            const float v = A[b * n + j] > 0.f ? dA[b * n + j] : 0.f;
            dA[b * n + j] = v;
            acc += v;
        }
        col_sum[j] = (float)acc;
    }
}

__global__ void scatter_add_kernel(int64_t n, int64_t d, int64_t m, const int32_t* __restrict__ dead,
                                   const float* __restrict__ src, float* __restrict__ dst,
                                   const float* __restrict__ src_vec, float* __restrict__ dst_vec) {
    for (int64_t j = blockIdx.x; j < n; j += gridDim.x) {
        if (!listed_ok(dead, j, m)) continue;  // block-uniform
        const int64_t i = dead[j];
        for (int64_t c = threadIdx.x; c < d; c += blockDim.x) dst[i * d + c] += src[j * d + c];
        if (threadIdx.x == 0 && src_vec) dst_vec[i] += src_vec[j];
    }
}

__global__ void loss_kernel(int64_t B, const double* __restrict__ row_sq, float scale, float* __restrict__ loss) {
    __shared__ double sh[32];
    double acc = 0.0;
    for (int64_t b = threadIdx.x; b < B; b += blockDim.x) acc += row_sq[b];
    const double t = block_sum(acc, sh);
    if (threadIdx.x == 0) *loss = (float)(scale * t);
}

}  // namespace
}  // namespace sae4j_cuda

using namespace sae4j_cuda;

SAE4J_EXPORT int sae4j_cuda_auxk_gather(sae4j_cuda_ctx* ctx, int64_t n, int64_t d, int64_t m,
                                        const int32_t* dead, const int32_t* firing, const float* params,
                                        float* W_enc_dead, float* W_dec_dead, float* b_dead) {
    REQUIRE(ctx != nullptr && n >= 1 && d >= 1 && m >= n);
    REQUIRE(dead != nullptr && params != nullptr && W_enc_dead != nullptr && W_dec_dead != nullptr &&
            b_dead != nullptr);
    STATUS_CHECK(enter(ctx));
    gather_rows_kernel<<<grid_x(n), ROW_THREADS, 0, ctx->stream>>>(n, d, m, dead, firing, params,
                                                                   W_enc_dead, W_dec_dead, b_dead);
    LAUNCH_CHECK("gather_rows_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_auxk_residual(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B,
                                          float alpha, float* G) {
    REQUIRE(ctx != nullptr && batch != nullptr && batch->ctx == ctx && batch->training);
    REQUIRE(B >= 1 && B <= batch->rows && G != nullptr && alpha >= 0.f && alpha < INFINITY);
    STATUS_CHECK(enter(ctx));
    residual_kernel<<<grid_x(B), ROW_THREADS, 0, ctx->stream>>>(
        B, batch->d, batch->err, 0.5f * (float)B, 2.f * alpha / (float)B, G, batch->row_sq);
    LAUNCH_CHECK("residual_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_auxk_mask_colsum(sae4j_cuda_ctx* ctx, int64_t B, int64_t n, const float* A,
                                             float* dA, float* col_sum) {
    REQUIRE(ctx != nullptr && B >= 1 && n >= 1 && A != nullptr && dA != nullptr && col_sum != nullptr);
    STATUS_CHECK(enter(ctx));
    mask_colsum_kernel<<<grid_x(ceil_div(n, 256)), 256, 0, ctx->stream>>>(B, n, A, dA, col_sum);
    LAUNCH_CHECK("mask_colsum_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_scatter_add_rows(sae4j_cuda_ctx* ctx, int64_t n, int64_t d, int64_t m,
                                             const int32_t* dead, const float* src, float* dst,
                                             const float* src_vec, float* dst_vec) {
    REQUIRE(ctx != nullptr && n >= 1 && d >= 1 && m >= n && dead != nullptr && src != nullptr && dst != nullptr);
    REQUIRE((src_vec == nullptr) == (dst_vec == nullptr));
    STATUS_CHECK(enter(ctx));
    scatter_add_kernel<<<grid_x(n), ROW_THREADS, 0, ctx->stream>>>(n, d, m, dead, src, dst, src_vec, dst_vec);
    LAUNCH_CHECK("scatter_add_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_auxk_loss(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B, float alpha,
                                      float* loss) {
    REQUIRE(ctx != nullptr && batch != nullptr && batch->ctx == ctx && batch->training);
    REQUIRE(B >= 1 && B <= batch->rows && loss != nullptr);
    STATUS_CHECK(enter(ctx));
    loss_kernel<<<1, 256, 0, ctx->stream>>>(B, batch->row_sq, alpha / (float)B, loss);
    LAUNCH_CHECK("loss_kernel");
    return SAE4J_CUDA_OK;
}
