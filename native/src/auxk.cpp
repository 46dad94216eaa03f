// AuxK (Gao et al. 2024, appendix A.2): the auxiliary loss that gives a TopK SAE's dead latents a
// gradient. After the main backward of the same batch, the k_aux largest relu(pre) among the dead
// latents reconstruct the main reconstruction's residual e = x - xhat, held fixed (no b_dec):
//   ehat_b = sum_{j kept} a_bj W_dec,dead_j     L_aux = alpha/B sum_b ||ehat_b - e_b||^2
//   g_b = 2 alpha/B (ehat_b - e_b)              dA_bj = g_b . W_dec,dead_j at each kept a_bj > 0
//   gW_dec,i += sum_b a_bi g_b    gW_encT,i += sum_b dA_bi xc_b    gb_enc,i += sum_b dA_bi
//   gb_dec -= sum_i (sum_b dA_bi) W_encT,i      (b_dec enters pre through xc = x - b_dec)
// e is -(B/2) err, which the decode left. The dead latents' pre-activations are made in the batch's
// f: its latents are not needed after the backward, and the batch then counts as not encoded. A
// listed latent that has fired since the list was made (firing > 0) takes no part: its bias is
// taken as -inf, so it is never selected.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "internal.h"

using namespace sae4j;

namespace {

// The scratch of one call, carved from `work` (sae4j_cpu_auxk_workspace floats).
struct AuxScratch {
    float *W_dead, *b_dead, *dA_sum;  // (n_dead, d) gathered encoder rows, (n_dead) each
    float *g;                         // (B, d) residual, then the gradient g_b
    int32_t *kept_n, *kept_j;         // (B), (B, k_aux): per row its kept dead indices j, ascending
    float *kept_a, *kept_dA;          // (B, k_aux) their activations and dL/da

    AuxScratch(float* work, int64_t B, int64_t d, int64_t max_dead, int64_t k_aux) {
        W_dead = work;
        b_dead = W_dead + max_dead * d;
        dA_sum = b_dead + max_dead;
        g = dA_sum + max_dead;
        kept_a = g + B * d;
        kept_dA = kept_a + B * k_aux;
        kept_j = reinterpret_cast<int32_t*>(kept_dA + B * k_aux);
        kept_n = kept_j + B * k_aux;
    }
    static int64_t floats(int64_t B, int64_t d, int64_t max_dead, int64_t k_aux) {
        return max_dead * d + 2 * max_dead + B * d + 3 * B * k_aux + B;
    }
};

}  // namespace

extern "C" int64_t sae4j_cpu_auxk_workspace(int64_t B, int64_t d, int64_t max_dead, int64_t k_aux) {
    if (B < 1 || d < 1 || max_dead < 1 || k_aux < 1) return -1;
    return AuxScratch::floats(B, d, max_dead, std::min(k_aux, max_dead));
}

extern "C" int sae4j_cpu_auxk_backward(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* b, int64_t B, int64_t m,
                                       const float* params, const int32_t* dead, int64_t n_dead,
                                       const int32_t* firing, int64_t k_aux, float alpha, float* work,
                                       float* grads, float* loss) {
    if (!ctx || !b || !params || !grads || !loss || !b->training || !encoded_as(b, B, m) || !b->decoded ||
        n_dead < 0 || n_dead > m || k_aux < 1 || !(alpha >= 0.f) || std::isinf(alpha) ||
        (n_dead > 0 && (!dead || !work)))
        return SAE4J_ERR_ARG;
    for (int64_t j = 0; j < n_dead; ++j)  // strictly ascending latent indices: kept lists sort by j
        if (dead[j] < 0 || dead[j] >= m || (j > 0 && dead[j] <= dead[j - 1])) return SAE4J_ERR_ARG;
    b->sparse = -1;  // f is overwritten below
    *loss = 0.f;
    if (n_dead == 0) return SAE4J_OK;
    const int64_t d = b->d, ka = std::min(k_aux, n_dead);
    SaeTensors<const float> p(params, d, m);
    SaeTensors<float> gr(grads, d, m);
    AuxScratch s(work, B, d, n_dead, ka);
    const VecOps& v = ctx->vec();

    ctx->parallel_for(n_dead, 64, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
            std::memcpy(s.W_dead + j * d, p.W_encT + (int64_t)dead[j] * d, sizeof(float) * d);
            s.b_dead[j] = firing && firing[dead[j]] > 0 ? -INFINITY : p.b_enc[dead[j]];
        }
    });
    float* pre = b->f;  // (B, n_dead)
    sae4j_cpu_gemm(ctx, 0, 1, B, n_dead, d, 1.f, b->xc, d, s.W_dead, d, 0.f, pre, n_dead);

    // per row: the kept dead latents, ehat - e, its squared norm and the gradient terms
    const float half_B = 0.5f * (float)B, g_scale = 2.f * alpha / (float)B;
    ctx->parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            float* row = pre + r * n_dead;
            const int32_t n = v.relu_bias(row, s.b_dead, row, nullptr, n_dead);
            if (n > ka) keep_top_k(row, n_dead, ka, nullptr);
            int32_t* kept_j = s.kept_j + r * ka;
            float *kept_a = s.kept_a + r * ka, *g = s.g + r * d;
            const int32_t kept = v.nonzeros(row, n_dead, kept_j, kept_a);
            s.kept_n[r] = kept;
            v.scale(half_B, b->err + r * d, g, d);  // -e
            for (int32_t q = 0; q < kept; ++q) v.axpy(kept_a[q], p.W_dec + (int64_t)dead[kept_j[q]] * d, g, d);
            b->row_sq[r] = v.sumsq(g, d);
            for (int64_t c = 0; c < d; ++c) g[c] *= g_scale;
            for (int32_t q = 0; q < kept; ++q)
                s.kept_dA[r * ka + q] = v.dot(g, p.W_dec + (int64_t)dead[kept_j[q]] * d, d);
        }
    });

    // Threads own ranges of the dead list and scan every row's kept run in row order, as the main
    // backward's sparse path does: no atomics, and sums whose order does not depend on the threads.
    ctx->parallel_for(n_dead, 16, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) s.dA_sum[j] = 0.f;
        for (int64_t r = 0; r < B; ++r) {
            const int32_t *row_j = s.kept_j + r * ka, *end = row_j + s.kept_n[r];
            for (const int32_t* q = std::lower_bound(row_j, end, (int32_t)j0); q < end && *q < j1; ++q) {
                const int64_t at = r * ka + (q - row_j), i = dead[*q];
                v.axpy(s.kept_a[at], s.g + r * d, gr.W_dec + i * d, d);
                v.axpy(s.kept_dA[at], b->xc + r * d, gr.W_encT + i * d, d);
                s.dA_sum[*q] += s.kept_dA[at];
            }
        }
        for (int64_t j = j0; j < j1; ++j) gr.b_enc[dead[j]] += s.dA_sum[j];
    });

    // gb_dec -= sum_j dA_sum_j W_encT,dead_j
    subtract_weighted_rows(ctx, n_dead, d, s.dA_sum, s.W_dead, b->col_parts, gr.b_dec);

    double sq = 0;
    for (int64_t r = 0; r < B; ++r) sq += b->row_sq[r];
    *loss = (float)(alpha * sq / B);
    return SAE4J_OK;
}
