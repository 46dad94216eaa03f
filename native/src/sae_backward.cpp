// Loss and gradients of the ReLU SAE with decoder-norm-weighted L1 (SAELens "standard"):
//   L = 1/B sum_b ( ||xhat_b - x_b||^2 + lambda sum_i f_bi n_i ),  n_i = ||W_dec,i||
//   err = 2/B (xhat - x)                           dL/dxhat (B, d)
//   dpre_bi = [f_bi > 0] (err_b . W_dec,i + lambda n_i / B)
//   gW_dec,i = sum_b f_bi err_b + lambda/B (sum_b f_bi) W_dec,i / n_i
//   gW_encT,i = sum_b dpre_bi xc_b,  gb_enc = sum_b dpre_b,  gb_dec = sum_b err_b - gb_enc W_encT
// Sparse path (CSR given): every product touches only the nonzero latents, B * L0 * d work each;
// threads own disjoint feature ranges so the row accumulations need no atomics. Dense path: GEMMs.
#include <cblas.h>

#include <cstring>

#include "internal.h"

using namespace sae4j;

namespace {

// sum over rows of A (rows, cols) into out (cols), parallel over column blocks.
void column_sums(int64_t rows, int64_t cols, const float* A, float* out) {
    parallel_for(cols, 256, [&](int64_t c0, int64_t c1) {
        std::memset(out + c0, 0, sizeof(float) * (c1 - c0));
        for (int64_t r = 0; r < rows; ++r) {
            const float* a = A + r * cols;
            for (int64_t c = c0; c < c1; ++c) out[c] += a[c];
        }
    });
}

// gW_dec,i += lambda/B * fsum_i * W_dec,i / n_i (the L1 term's pull on the decoder norm).
void add_norm_grad(int64_t m, int64_t d, float scale, const float* fsum, const float* W_dec,
                   const float* norms, float* gW_dec) {
    const VecOps& v = vec();
    parallel_for(m, 64, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
            if (norms[i] > 0.f && fsum[i] != 0.f)
                v.axpy(scale * fsum[i] / norms[i], W_dec + i * d, gW_dec + i * d, d);
    });
}

}  // namespace

extern "C" int64_t sae4j_cpu_relu_l1_backward_scratch(int64_t B, int64_t m) {
    if (B < 1 || m < 1) return -1;
    return 4 * B + m;  // row_sq (B doubles), row_l1 (B doubles), fsum (m floats)
}

extern "C" int sae4j_cpu_relu_l1_backward(int64_t B, int64_t d, int64_t m, const float* x,
                                          const float* xc, const float* f, const int64_t* row_ptr,
                                          const int32_t* col, const float* val, const float* xhat,
                                          const float* W_encT, const float* W_dec,
                                          const float* norms, float lambda, float* gW_encT,
                                          float* gb_enc, float* gW_dec, float* gb_dec,
                                          float* losses, float* err, float* dpre, float* scratch) {
    if (B < 1 || d < 1 || m < 1 || B > INT32_MAX || d > INT32_MAX || m > INT32_MAX) return SAE4J_ERR_ARG;
    if (!x || !xc || !xhat || !W_encT || !W_dec || !norms || !gW_encT || !gb_enc || !gW_dec ||
        !gb_dec || !losses || !err || !dpre || !scratch)
        return SAE4J_ERR_ARG;
    const bool sparse = row_ptr != nullptr;
    if (sparse ? (!col || !val) : !f) return SAE4J_ERR_ARG;
    const VecOps& v = vec();
    const float scale = 2.f / (float)B, l1_scale = lambda / (float)B;

    // per-row sums kept in double (then added in row order: deterministic), per-feature f sums
    double* row_sq = reinterpret_cast<double*>(scratch);
    double* row_l1 = row_sq + B;
    float* fsum = reinterpret_cast<float*>(row_l1 + B);

    // err and the squared error, per row.
    parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            row_sq[r] = v.scaled_diff(xhat + r * d, x + r * d, scale, err + r * d, d);
    });

    if (sparse) {
        // dpre at the nonzeros, stored beside the CSR entries.
        parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
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
        parallel_for(m, 64, [&](int64_t i0, int64_t i1) {
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
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)B, (blasint)m, (blasint)d,
                    1.f, err, (blasint)d, W_dec, (blasint)d, 0.f, dpre, (blasint)m);
        parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const float* fr = f + r * m;
                float* g = dpre + r * m;
                double l1 = 0;
                for (int64_t i = 0; i < m; ++i) {
                    g[i] = fr[i] > 0.f ? g[i] + l1_scale * norms[i] : 0.f;
                    l1 += (double)fr[i] * norms[i];
                }
                row_l1[r] = l1;
            }
        });
        column_sums(B, m, dpre, gb_enc);
        column_sums(B, m, f, fsum);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)m, (blasint)d, (blasint)B,
                    1.f, f, (blasint)m, err, (blasint)d, 0.f, gW_dec, (blasint)d);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)m, (blasint)d, (blasint)B,
                    1.f, dpre, (blasint)m, xc, (blasint)d, 0.f, gW_encT, (blasint)d);
    }
    add_norm_grad(m, d, l1_scale, fsum, W_dec, norms, gW_dec);

    // gb_dec = sum_b err_b - sum_i gb_enc_i W_encT,i  (b_dec enters both xhat and the encoder input)
    column_sums(B, d, err, gb_dec);
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
