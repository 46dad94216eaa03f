// Loss and gradients of the ReLU SAE with decoder-norm-weighted L1 (SAELens "standard"):
//   L = 1/B sum_b ( ||xhat_b - x_b||^2 + lambda sum_i f_bi n_i ),  n_i = ||W_dec,i||
//   err = 2/B (xhat - x)                           dL/dxhat (B, d)
//   dpre_bi = [f_bi > 0] (err_b . W_dec,i + lambda n_i / B)
//   gW_dec,i = sum_b f_bi err_b + lambda/B (sum_b f_bi) W_dec,i / n_i
//   gW_encT,i = sum_b dpre_bi xc_b,  gb_enc = sum_b dpre_b,  gb_dec = sum_b err_b - gb_enc W_encT
// Sparse path (the encoder left a CSR): every product touches only the nonzero latents, B * L0 * d work each;
// threads own disjoint feature ranges so the row accumulations need no atomics. Dense path: GEMMs.
#include <cmath>
#include <cstring>

#include "internal.h"

using namespace sae4j;

namespace {

// sum over rows of A (rows, cols) into out (cols), parallel over column blocks.
void column_sums(sae4j_cpu_ctx* ctx, int64_t rows, int64_t cols, const float* A, float* out) {
    ctx->parallel_for(cols, 256, [&](int64_t c0, int64_t c1) {
        std::memset(out + c0, 0, sizeof(float) * (c1 - c0));
        for (int64_t r = 0; r < rows; ++r) {
            const float* a = A + r * cols;
            for (int64_t c = c0; c < c1; ++c) out[c] += a[c];
        }
    });
}

// gW_dec,i += lambda/B * fsum_i * W_dec,i / n_i (the L1 term's pull on the decoder norm).
void add_norm_grad(sae4j_cpu_ctx* ctx, int64_t m, int64_t d, float scale, const float* fsum,
                   const float* W_dec, const float* norms, float* gW_dec) {
    const VecOps& v = ctx->vec();
    ctx->parallel_for(m, 64, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
            if (norms[i] > 0.f && fsum[i] != 0.f)
                v.axpy(scale * fsum[i] / norms[i], W_dec + i * d, gW_dec + i * d, d);
    });
}

}  // namespace

extern "C" int sae4j_cpu_sae_backward(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* b, int64_t B, int64_t m,
                                      const float* params, int act, int64_t topk,
                                      const float* threshold, float lambda, float* grads,
                                      float* losses) {
    (void)topk;
    (void)threshold;
    if (!ctx || !b || !params || !grads || !losses || !b->training || !encoded_as(b, B, m) ||
        !(lambda >= 0.f) || std::isinf(lambda))
        return SAE4J_ERR_ARG;
    if (act != SAE4J_ACT_RELU) return SAE4J_ERR_UNSUPPORTED;
    const int64_t d = b->d;
    SaeTensors<const float> p(params, d, m);
    SaeTensors<float> g(grads, d, m);
    const float *x = b->x, *xc = b->xc, *f = b->f, *xhat = b->xhat, *val = b->val;
    const float *W_encT = p.W_encT, *W_dec = p.W_dec;
    const int64_t* row_ptr = b->row_ptr;
    const int32_t* col = b->col;
    float *gW_encT = g.W_encT, *gb_enc = g.b_enc, *gW_dec = g.W_dec, *gb_dec = g.b_dec;
    float *err = b->err, *dpre = b->dpre, *norms = b->norms, *fsum = b->fsum;
    double *row_sq = b->row_sq, *row_l1 = b->row_l1;
    const bool sparse = b->sparse == 1;
    sae4j_cpu_row_norms(ctx, m, d, W_dec, norms);
    const VecOps& v = ctx->vec();
    const float scale = 2.f / (float)B, l1_scale = lambda / (float)B;

    // err and the squared error, per row (kept in double, added in row order: deterministic).
    ctx->parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            row_sq[r] = v.scaled_diff(xhat + r * d, x + r * d, scale, err + r * d, d);
    });

    if (sparse) {
        // dpre at the nonzeros, stored beside the CSR entries.
        ctx->parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                double l1 = 0;
                for (int64_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
                    const int64_t i = col[k];
                    dpre[k] = v.dot(err + r * d, W_dec + i * d, d) + l1_scale * norms[i];
                    l1 += (double)val[k] * norms[i];
                }
                row_l1[r] = l1;
            }
        });
        // Per-feature accumulations: each thread owns features [i0, i1) and scans all entries.
        ctx->parallel_for(m, 64, [&](int64_t i0, int64_t i1) {
            std::memset(gW_dec + i0 * d, 0, sizeof(float) * (i1 - i0) * d);
            std::memset(gW_encT + i0 * d, 0, sizeof(float) * (i1 - i0) * d);
            for (int64_t i = i0; i < i1; ++i) gb_enc[i] = fsum[i] = 0.f;
            for (int64_t r = 0; r < B; ++r) {
                for (int64_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
                    const int64_t i = col[k];
                    if (i < i0 || i >= i1) continue;
                    v.axpy(val[k], err + r * d, gW_dec + i * d, d);
                    v.axpy(dpre[k], xc + r * d, gW_encT + i * d, d);
                    gb_enc[i] += dpre[k];
                    fsum[i] += val[k];
                }
            }
        });
    } else {
        // dpre (B, m) = (err W_dec^T + lambda n / B) masked by f > 0
        sae4j_cpu_gemm(ctx, 0, 1, B, m, d, 1.f, err, d, W_dec, d, 0.f, dpre, m);
        ctx->parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const float* fr = f + r * m;
                float* dp = dpre + r * m;
                double l1 = 0;
                for (int64_t i = 0; i < m; ++i) {
                    dp[i] = fr[i] > 0.f ? dp[i] + l1_scale * norms[i] : 0.f;
                    l1 += (double)fr[i] * norms[i];
                }
                row_l1[r] = l1;
            }
        });
        column_sums(ctx, B, m, dpre, gb_enc);
        column_sums(ctx, B, m, f, fsum);
        sae4j_cpu_gemm(ctx, 1, 0, m, d, B, 1.f, f, m, err, d, 0.f, gW_dec, d);
        sae4j_cpu_gemm(ctx, 1, 0, m, d, B, 1.f, dpre, m, xc, d, 0.f, gW_encT, d);
    }
    add_norm_grad(ctx, m, d, l1_scale, fsum, W_dec, norms, gW_dec);

    // gb_dec = sum_b err_b - sum_i gb_enc_i W_encT,i  (b_dec enters both xhat and the encoder input)
    column_sums(ctx, B, d, err, gb_dec);
    for (int64_t i = 0; i < m; ++i)
        if (gb_enc[i] != 0.f) v.axpy(-gb_enc[i], W_encT + i * d, gb_dec, d);

    double sq = 0, l1 = 0;
    for (int64_t r = 0; r < B; ++r) {
        sq += row_sq[r];
        l1 += row_l1[r];
    }
    losses[0] = (float)(sq / B);
    losses[1] = (float)(l1 / B);
    return SAE4J_OK;
}
