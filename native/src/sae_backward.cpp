// Loss and gradients of the ReLU SAE with decoder-norm-weighted L1 (SAELens "standard"):
//   L = 1/B sum_b ( ||xhat_b - x_b||^2 + lambda sum_i f_bi n_i ),  n_i = ||W_dec,i||
//   err = 2/B (xhat - x)                           dL/dxhat (B, d)
//   dpre_bi = [f_bi > 0] (err_b . W_dec,i + lambda n_i / B)
//   gW_dec,i = sum_b f_bi err_b + lambda/B (sum_b f_bi) W_dec,i / n_i
//   gW_encT,i = sum_b dpre_bi xc_b,  gb_enc = sum_b dpre_b,  gb_dec = sum_b err_b - gb_enc W_encT
// TopK (Gao et al. 2024) is the same with lambda = 0: f > 0 marks the kept latents.
// The decode of a training batch has already left err, its squared norms and (sparse path) the
// products err_b . W_dec,i at every nonzero. Sparse path (the encoder left a CSR): every product
// touches only the nonzero latents, B * L0 * d work each; threads own latent ranges, so the gradient
// rows need no atomics and their sums run in row order whatever the thread count. Dense path: GEMMs.
#include <algorithm>
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
inline void add_norm_grad(const VecOps& v, int64_t i, int64_t d, float l1_scale, const float* fsum,
                          const float* W_dec, const float* norms, float* gW_dec) {
    if (norms[i] > 0.f && fsum[i] != 0.f)
        v.axpy(l1_scale * fsum[i] / norms[i], W_dec + i * d, gW_dec + i * d, d);
}

}  // namespace

void sae4j::subtract_weighted_rows(sae4j_cpu_ctx* ctx, int64_t n, int64_t d, const float* coef,
                                   const float* rows, float* parts, float* out) {
    const VecOps& v = ctx->vec();
    const int64_t chunks = std::min(ROW_BLOCKS, n);
    ctx->parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            float* part = parts + c * d;
            std::memset(part, 0, sizeof(float) * d);
            for (int64_t i = n * c / chunks; i < n * (c + 1) / chunks; ++i)
                if (coef[i] != 0.f) v.axpy(coef[i], rows + i * d, part, d);
        }
    });
    ctx->parallel_for(d, 64, [&](int64_t k0, int64_t k1) {
        for (int64_t c = 0; c < chunks; ++c)
            for (int64_t k = k0; k < k1; ++k) out[k] -= parts[c * d + k];
    });
}

extern "C" int sae4j_cpu_sae_backward(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* b, int64_t B, int64_t m,
                                      const float* params, int act, int64_t topk,
                                      const float* threshold, float lambda, float* grads,
                                      float* losses) {
    (void)topk;
    (void)threshold;
    if (!ctx || !b || !params || !grads || !losses || !b->training || !encoded_as(b, B, m) ||
        !b->decoded || !(lambda >= 0.f) || std::isinf(lambda))
        return SAE4J_ERR_ARG;
    if (act != SAE4J_ACT_RELU && act != SAE4J_ACT_TOPK) return SAE4J_ERR_UNSUPPORTED;
    // TopK's mask is f > 0 too (the kept positive pre-activations); it has no L1 term
    if (act == SAE4J_ACT_TOPK && lambda != 0.f) return SAE4J_ERR_ARG;
    const int64_t d = b->d;
    SaeTensors<const float> p(params, d, m);
    SaeTensors<float> g(grads, d, m);
    const float *xc = b->xc, *f = b->f, *val = b->val, *err = b->err;
    const float *W_encT = p.W_encT, *W_dec = p.W_dec;
    float *gW_encT = g.W_encT, *gb_enc = g.b_enc, *gW_dec = g.W_dec, *gb_dec = g.b_dec;
    float *dpre = b->dpre, *norms = b->norms, *fsum = b->fsum;
    const VecOps& v = ctx->vec();
    const float l1_scale = lambda / (float)B;
    sae4j_cpu_row_norms(ctx, m, d, W_dec, norms);

    if (b->sparse == 1) {
        // Threads own latent ranges, each scanning all nonzeros in row order (so sums run in row
        // order whatever the thread count) and adding to its latents' gradient rows. Tried and
        // slower at B=4096, d=512, m=4096, 1%: latent by latent through a CSC (30 vs 15 ms: random
        // reads of err and xc rows), and column blocks kept in L2 (33 ms: latency of short rows).
        const int64_t* row_ptr = b->row_ptr;
        const int32_t* col = b->col;
        ctx->parallel_for(m, 64, [&](int64_t i0, int64_t i1) {
            // a row's nonzeros are sorted by latent: this thread's are one run of them
            auto run = [&](int64_t r, int64_t& k0, int64_t& k1) {
                const int32_t* lo = std::lower_bound(col + row_ptr[r], col + row_ptr[r + 1], (int32_t)i0);
                k0 = lo - col;
                k1 = std::lower_bound(lo, col + row_ptr[r + 1], (int32_t)i1) - col;
            };
            for (int64_t i = i0; i < i1; ++i) gb_enc[i] = fsum[i] = 0.f;
            for (int64_t r = 0, k0, k1; r < B; ++r) {
                run(r, k0, k1);
                for (int64_t k = k0; k < k1; ++k) {
                    const int64_t i = col[k];
                    gb_enc[i] += dpre[k] + l1_scale * norms[i];  // dL/dpre at this nonzero
                    fsum[i] += val[k];
                }
            }
            // the gradient rows start from the L1 term's pull on the decoder norms (and zero)
            for (int64_t i = i0; i < i1; ++i) {
                const bool pull = norms[i] > 0.f && fsum[i] != 0.f;
                v.scale(pull ? l1_scale * fsum[i] / norms[i] : 0.f, W_dec + i * d, gW_dec + i * d, d);
            }
            std::memset(gW_encT + i0 * d, 0, sizeof(float) * (i1 - i0) * d);
            // One gradient tensor at a time: the random row updates then hit half as many rows
            // (backward 12 -> 10 ms at B=4096, d=512, m=4096, 1%; finer latent sub-ranges were
            // slower, their passes re-reading the source rows).
            for (int tensor = 0; tensor < 2; ++tensor) {
                const float* src = tensor == 0 ? err : xc;
                float* dst = tensor == 0 ? gW_dec : gW_encT;
                for (int64_t r = 0, k0, k1; r < B; ++r) {
                    run(r, k0, k1);
                    for (int64_t k = k0; k < k1; ++k) {
                        const int64_t i = col[k];
                        if (k + 1 < k1) prefetch_row(dst + col[k + 1] * d, d, true);
                        const float coef = tensor == 0 ? val[k] : dpre[k] + l1_scale * norms[i];
                        v.axpy(coef, src + r * d, dst + i * d, d);
                    }
                }
            }
        });
    } else {
        // dpre (B, m) = (err W_dec^T + lambda n / B) masked by f > 0
        sae4j_cpu_gemm(ctx, 0, 1, B, m, d, 1.f, err, d, W_dec, d, 0.f, dpre, m);
        // ... with gb_enc and fsum as column sums in the same pass: per row block, then in order
        const int64_t blocks = std::min(ROW_BLOCKS, B);
        float* parts = b->col_parts;
        ctx->parallel_for(blocks, 1, [&](int64_t s0, int64_t s1) {
            for (int64_t s = s0; s < s1; ++s) {
                float *dsum = parts + s * 2 * m, *fs = dsum + m;
                std::memset(dsum, 0, sizeof(float) * 2 * m);
                for (int64_t r = B * s / blocks; r < B * (s + 1) / blocks; ++r)
                    v.mask_grad(f + r * m, norms, l1_scale, dpre + r * m, dsum, fs, m);
            }
        });
        ctx->parallel_for(m, 256, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) gb_enc[i] = fsum[i] = 0.f;
            for (int64_t s = 0; s < blocks; ++s)
                for (int64_t i = i0; i < i1; ++i) {
                    gb_enc[i] += parts[s * 2 * m + i];
                    fsum[i] += parts[s * 2 * m + m + i];
                }
        });
        sae4j_cpu_gemm(ctx, 1, 0, m, d, B, 1.f, f, m, err, d, 0.f, gW_dec, d);
        sae4j_cpu_gemm(ctx, 1, 0, m, d, B, 1.f, dpre, m, xc, d, 0.f, gW_encT, d);
        ctx->parallel_for(m, 64, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) add_norm_grad(v, i, d, l1_scale, fsum, W_dec, norms, gW_dec);
        });
    }

    // gb_dec (d) = sum_b err_b - sum_i gb_enc_i W_encT,i  (b_dec enters both xhat and the encoder input)
    column_sums(ctx, B, d, err, gb_dec);
    subtract_weighted_rows(ctx, m, d, gb_enc, W_encT, b->col_parts, gb_dec);

    // losses: the squared error per row and the weighted L1 sum_i n_i sum_b f_bi, each in double
    double sq = 0, l1 = 0;
    for (int64_t r = 0; r < B; ++r) sq += b->row_sq[r];
    for (int64_t i = 0; i < m; ++i) l1 += (double)fsum[i] * norms[i];
    losses[0] = (float)(sq / B);
    losses[1] = (float)(l1 / B);
    return SAE4J_OK;
}
