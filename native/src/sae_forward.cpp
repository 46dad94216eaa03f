// SAE forward pass after the encoder GEMM: the ReLU epilogue (bias, ReLU, nonzero counts, CSR of
// the latents) and the decoder, which is sparse when the latents are: a trained SAE has L0 of a
// few percent of m, so B * L0 * d row updates replace the 2 * B * m * d dense GEMM.
#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "internal.h"

using namespace sae4j;

extern "C" int sae4j_cpu_relu_epilogue(int64_t B, int64_t m, const float* pre, const float* b_enc,
                                       float* f, int32_t* row_nnz, int64_t csr_cap,
                                       int64_t* row_ptr, int32_t* col, float* val, int64_t* nnz,
                                       int32_t* csr_ok) {
    if (B < 0 || m < 1 || m > INT32_MAX || csr_cap < 0 || !pre || !b_enc || !f || !row_nnz ||
        !nnz || !csr_ok)
        return SAE4J_ERR_ARG;
    if (csr_cap > 0 && (!row_ptr || !col || !val)) return SAE4J_ERR_ARG;
    const VecOps& v = vec();
    parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) row_nnz[r] = v.relu_bias(pre + r * m, b_enc, f + r * m, m);
    });
    int64_t total = 0;
    for (int64_t r = 0; r < B; ++r) total += row_nnz[r];
    *nnz = total;
    *csr_ok = csr_cap > 0 && total <= csr_cap;
    if (!*csr_ok) return SAE4J_OK;
    row_ptr[0] = 0;
    for (int64_t r = 0; r < B; ++r) row_ptr[r + 1] = row_ptr[r] + row_nnz[r];
    parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* fr = f + r * m;
            int64_t k = row_ptr[r];
            for (int32_t i = 0; i < (int32_t)m; ++i) {
                if (fr[i] != 0.f) {
                    col[k] = i;
                    val[k] = fr[i];
                    ++k;
                }
            }
        }
    });
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_decode(int64_t B, int64_t m, int64_t d, const float* f,
                                const int64_t* row_ptr, const int32_t* col, const float* val,
                                const float* W_dec, const float* b_dec, float* xhat) {
    if (B < 0 || m < 1 || d < 1 || !W_dec || !b_dec || !xhat) return SAE4J_ERR_ARG;
    bool sparse = row_ptr != nullptr;
    if (sparse ? (!col || !val) : !f) return SAE4J_ERR_ARG;
    if (!sparse && (m > INT32_MAX || d > INT32_MAX || B > INT32_MAX)) return SAE4J_ERR_ARG;
    const VecOps& v = vec();
    parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            float* out = xhat + r * d;
            std::memcpy(out, b_dec, sizeof(float) * d);
            if (!sparse) continue;
            for (int64_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k)
                v.axpy(val[k], W_dec + (int64_t)col[k] * d, out, d);
        }
    });
    if (!sparse && B > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)B, (blasint)d, (blasint)m,
                    1.f, f, (blasint)m, W_dec, (blasint)d, 1.f, xhat, (blasint)d);
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_count_active(int64_t B, int64_t m, const float* f, const int64_t* row_ptr,
                                      const int32_t* col, float* counts) {
    if (B < 0 || m < 1 || !counts || (row_ptr ? !col : !f)) return SAE4J_ERR_ARG;
    if (row_ptr) {
        for (int64_t k = 0; k < row_ptr[B]; ++k) counts[col[k]] += 1.f;
        return SAE4J_OK;
    }
    parallel_for(m, 256, [&](int64_t c0, int64_t c1) {
        for (int64_t r = 0; r < B; ++r) {
            const float* fr = f + r * m;
            for (int64_t c = c0; c < c1; ++c) counts[c] += fr[c] > 0.f ? 1.f : 0.f;
        }
    });
    return SAE4J_OK;
}
