// Adam step over a flat parameter buffer (the SAE keeps all its tensors in one allocation, so one
// call updates everything). Bias corrections are folded into the step size and epsilon.
#include <cmath>

#include "internal.h"

using namespace sae4j;

extern "C" int sae4j_cpu_adam_step(sae4j_cpu_ctx* ctx, int64_t n, float* p, const float* g,
                                   float* m1, float* m2, float lr, float beta1, float beta2,
                                   float eps, int64_t t) {
    if (!ctx || n < 0 || t < 1 || !p || !g || !m1 || !m2) return SAE4J_ERR_ARG;
    if (!(beta1 >= 0.f && beta1 < 1.f && beta2 >= 0.f && beta2 < 1.f && eps > 0.f && lr >= 0.f))
        return SAE4J_ERR_ARG;
    const double bc1 = 1.0 - std::pow((double)beta1, (double)t);
    const double bc2 = std::sqrt(1.0 - std::pow((double)beta2, (double)t));
    // p -= lr/bc1 * m1 / (sqrt(m2)/bc2 + eps)  ==  p -= (lr bc2/bc1) m1 / (sqrt(m2) + eps bc2)
    const float lr_t = (float)(lr * bc2 / bc1), eps_t = (float)(eps * bc2);
    const VecOps& v = ctx->vec();
    ctx->parallel_for(n, 1 << 14, [&](int64_t i0, int64_t i1) {
        v.adam(p + i0, g + i0, m1 + i0, m2 + i0, i1 - i0, lr_t, beta1, beta2, eps_t);
    });
    return SAE4J_OK;
}
