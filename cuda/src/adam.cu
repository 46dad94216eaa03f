// adam.cu: one Adam step over a flat parameter buffer (an SAE keeps all its tensors in one
// allocation, so one launch updates everything), the CPU library's formula:
//   m1 = b1 m1 + (1 - b1) g;  m2 = b2 m2 + (1 - b2) g^2;
//   p -= lr_t m1 / (sqrt(m2) + eps_t),  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),  eps_t = eps sqrt(1 - b2^t)
// (the bias corrections folded into the step size and epsilon, computed in double on the host).
// Memory-bound: a grid-stride loop, 4 loads and 3 stores per parameter, coalesced.
#include <math.h>

#include "internal.cuh"

namespace sae4j_cuda {
namespace {

__global__ void adam_kernel(int64_t n, float* __restrict__ p, const float* __restrict__ g,
                            float* __restrict__ m1, float* __restrict__ m2, float lr_t, float b1,
                            float b2, float eps_t) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const float gi = g[i];
        const float a = b1 * m1[i] + (1.f - b1) * gi;
        const float v = b2 * m2[i] + (1.f - b2) * gi * gi;
        m1[i] = a;
        m2[i] = v;
        p[i] -= lr_t * a / (sqrtf(v) + eps_t);
    }
}

}  // namespace
}  // namespace sae4j_cuda

using namespace sae4j_cuda;

SAE4J_EXPORT int sae4j_cuda_adam_step(sae4j_cuda_ctx* ctx, int64_t n, float* p, const float* g,
                                      float* m1, float* m2, float lr, float beta1, float beta2,
                                      float eps, int64_t t) {
    REQUIRE(ctx != nullptr);
    REQUIRE(n >= 0 && t >= 1);
    REQUIRE(p != nullptr && g != nullptr && m1 != nullptr && m2 != nullptr);
    REQUIRE(beta1 >= 0.f && beta1 < 1.f && beta2 >= 0.f && beta2 < 1.f && eps > 0.f && lr >= 0.f);
    if (n == 0) return SAE4J_CUDA_OK;
    STATUS_CHECK(enter(ctx));
    const double bc1 = 1.0 - pow((double)beta1, (double)t);
    const double bc2 = sqrt(1.0 - pow((double)beta2, (double)t));
    const float lr_t = (float)(lr * bc2 / bc1), eps_t = (float)(eps * bc2);
    const int threads = 256;
    int64_t blocks = ceil_div(n, threads), cap = (int64_t)ctx->sm_count * 16;
    adam_kernel<<<grid_x(blocks < cap ? blocks : cap), threads, 0, ctx->stream>>>(
        n, p, g, m1, m2, lr_t, beta1, beta2, eps_t);
    LAUNCH_CHECK("adam_kernel");
    return SAE4J_CUDA_OK;
}
