// SAE forward pass: the encoder (centring, one GEMM, the activation epilogue with nonzero counts,
// firing counts and the sparse form of the latents) and the decoder, which is sparse when the
// latents are: a trained SAE has L0 of a few percent of m, so B * L0 * d row updates replace the
// 2 * B * m * d dense GEMM.
#include <cblas.h>

#include <cmath>
#include <cstring>

#include "internal.h"

using namespace sae4j;

namespace {

// f (B, m) = relu(f + b_enc) in place, row counts into row_nnz; returns the total.
int64_t relu_epilogue(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* b, int64_t B, int64_t m,
                      const float* b_enc) {
    const VecOps& v = ctx->vec();
    float* f = b->f;
    int32_t* row_nnz = b->row_nnz;
    ctx->parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) row_nnz[r] = v.relu_bias(f + r * m, b_enc, f + r * m, m);
    });
    int64_t total = 0;
    for (int64_t r = 0; r < B; ++r) total += row_nnz[r];
    return total;
}

bool take_sparse_path(const sae4j_cpu_batch* b, int64_t B, int64_t m, int64_t nnz) {
    switch (b->storage) {
        case SAE4J_LATENTS_DENSE: return false;
        case SAE4J_LATENTS_SPARSE: return true;  // capacity holds every latent
        default: return nnz <= b->csr_cap && nnz <= (int64_t)std::floor(b->max_density * B * m);
    }
}

// The CSR (row_ptr, col, val) of f (B, m), from the row counts.
void build_csr(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* b, int64_t B, int64_t m) {
    int64_t* row_ptr = b->row_ptr;
    row_ptr[0] = 0;
    for (int64_t r = 0; r < B; ++r) row_ptr[r + 1] = row_ptr[r] + b->row_nnz[r];
    ctx->parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* fr = b->f + r * m;
            int64_t k = row_ptr[r];
            for (int32_t i = 0; i < (int32_t)m; ++i) {
                if (fr[i] != 0.f) {
                    b->col[k] = i;
                    b->val[k] = fr[i];
                    ++k;
                }
            }
        }
    });
}

// firing (m) += rows on which each latent is nonzero; columns split over threads.
void count_firing(sae4j_cpu_ctx* ctx, const sae4j_cpu_batch* b, int64_t B, int64_t m,
                  int32_t* firing) {
    if (b->sparse == 1) {
        for (int64_t k = 0; k < b->row_ptr[B]; ++k) firing[b->col[k]] += 1;
        return;
    }
    ctx->parallel_for(m, 256, [&](int64_t c0, int64_t c1) {
        for (int64_t r = 0; r < B; ++r) {
            const float* fr = b->f + r * m;
            for (int64_t c = c0; c < c1; ++c) firing[c] += fr[c] > 0.f;
        }
    });
}

}  // namespace

extern "C" int sae4j_cpu_sae_encode(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* b, int64_t B, int64_t m,
                                    const float* params, int act, int64_t topk,
                                    const float* threshold, int32_t* nnz, int32_t* firing) {
    (void)topk;
    (void)threshold;
    if (!ctx || !b || !params || !nnz || B < 1 || B > b->rows || m < 1 || m > b->max_m)
        return SAE4J_ERR_ARG;
    if (act != SAE4J_ACT_RELU) return SAE4J_ERR_UNSUPPORTED;
    const int64_t d = b->d;
    SaeTensors<const float> p(params, d, m);
    b->sparse = -1;
    sae4j_cpu_center_rows(ctx, B, d, b->x, p.b_dec, b->xc);
    sae4j_cpu_gemm(ctx, 0, 1, B, m, d, 1.f, b->xc, d, p.W_encT, d, 0.f, b->f, m);
    const int64_t total = relu_epilogue(ctx, b, B, m, p.b_enc);
    const bool sparse = take_sparse_path(b, B, m, total);
    if (sparse) build_csr(ctx, b, B, m);
    b->sparse = sparse ? 1 : 0;
    b->filled_rows = B;
    b->filled_m = m;
    if (firing) count_firing(ctx, b, B, m, firing);
    *nnz = (int32_t)total;  // B * m < 2^31 (batch_create)
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_sae_decode(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* b, int64_t B, int64_t m,
                                    const float* params) {
    if (!ctx || !b || !params || !encoded_as(b, B, m)) return SAE4J_ERR_ARG;
    const int64_t d = b->d;
    SaeTensors<const float> p(params, d, m);
    const bool sparse = b->sparse == 1;
    const VecOps& v = ctx->vec();
    ctx->parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            float* out = b->xhat + r * d;
            std::memcpy(out, p.b_dec, sizeof(float) * d);
            if (!sparse) continue;
            for (int64_t e = b->row_ptr[r]; e < b->row_ptr[r + 1]; ++e)
                v.axpy(b->val[e], p.W_dec + (int64_t)b->col[e] * d, out, d);
        }
    });
    if (!sparse) sae4j_cpu_gemm(ctx, 0, 0, B, d, m, 1.f, b->f, m, p.W_dec, d, 1.f, b->xhat, d);
    return SAE4J_OK;
}
