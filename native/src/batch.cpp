// The batch workspace: every buffer one batch needs through the encoder, decoder and backward
// pass, allocated once (64-byte aligned, so the double scratch and SIMD loads never depend on
// luck) and reused by every step. The sparse/dense policy lives here: AUTO keeps a CSR of up to
// max_density of the batch's latents, and the encoder takes the sparse path when they fit.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "internal.h"

namespace {

template <typename T>
T* alloc(int64_t n, bool& ok) {
    if (!ok || n <= 0) return nullptr;
    const size_t bytes = ((size_t)n * sizeof(T) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (!p) ok = false;
    return static_cast<T*>(p);
}

}  // namespace

extern "C" sae4j_cpu_batch* sae4j_cpu_batch_create(sae4j_cpu_ctx* ctx, int64_t rows, int64_t d,
                                                   int64_t max_m, int storage, double max_density,
                                                   int training, int* status) {
    int unused;
    if (!status) status = &unused;
    *status = SAE4J_ERR_ARG;
    if (!ctx || rows < 1 || d < 1 || max_m < 1 || rows > INT32_MAX || d > INT32_MAX ||
        max_m > INT32_MAX || rows * max_m > INT32_MAX || rows * d > INT64_MAX / 8)
        return nullptr;
    if (storage < SAE4J_LATENTS_AUTO || storage > SAE4J_LATENTS_SPARSE ||
        !(max_density >= 0 && max_density <= 1))
        return nullptr;
    auto* b = new (std::nothrow) sae4j_cpu_batch();
    if (!b) {
        *status = SAE4J_ERR_NOMEM;
        return nullptr;
    }
    b->rows = rows;
    b->d = d;
    b->max_m = max_m;
    b->storage = storage;
    b->max_density = max_density;
    b->training = training != 0;
    b->sparse = -1;
    b->filled_rows = b->filled_m = -1;
    const int64_t bm = rows * max_m;
    b->csr_cap = storage == SAE4J_LATENTS_DENSE   ? 0
                 : storage == SAE4J_LATENTS_SPARSE ? bm
                                                   : (int64_t)std::ceil(bm * max_density);
    bool ok = true;
    b->x = alloc<float>(rows * d, ok);
    b->xc = alloc<float>(rows * d, ok);
    b->f = alloc<float>(bm, ok);
    b->xhat = alloc<float>(rows * d, ok);
    b->row_nnz = alloc<int32_t>(rows, ok);
    b->seg_cap = std::min<int64_t>(rows, 4 * (int64_t)ctx->threads);
    b->seg_fill = alloc<int64_t>(b->seg_cap, ok);
    b->seg_firing = alloc<int32_t>(b->seg_cap * max_m, ok);
    b->col_mean = alloc<double>(d, ok);
    b->col_ss = alloc<double>(d, ok);
    if (b->csr_cap > 0) {
        b->row_ptr = alloc<int64_t>(rows + 1, ok);
        b->col = alloc<int32_t>(b->csr_cap, ok);
        b->val = alloc<float>(b->csr_cap, ok);
    }
    if (b->training) {
        b->err = alloc<float>(rows * d, ok);
        // (B, m) on the dense path; beside each CSR entry (at most csr_cap <= rows * max_m) on the
        // sparse one
        b->dpre = alloc<float>(bm, ok);
        b->norms = alloc<float>(max_m, ok);
        b->fsum = alloc<float>(max_m, ok);
        b->col_parts = alloc<float>(sae4j::ROW_BLOCKS * 2 * std::max(max_m, d), ok);
        b->row_sq = alloc<double>(rows, ok);
    }
    if (!ok) {
        sae4j_cpu_batch_destroy(b);
        *status = SAE4J_ERR_NOMEM;
        return nullptr;
    }
    *status = SAE4J_OK;
    return b;
}

extern "C" void sae4j_cpu_batch_destroy(sae4j_cpu_batch* b) {
    if (!b) return;
    for (void* p : {(void*)b->x, (void*)b->xc, (void*)b->f, (void*)b->xhat, (void*)b->err,
                    (void*)b->dpre, (void*)b->norms, (void*)b->fsum, (void*)b->col_parts, (void*)b->row_sq,
                     (void*)b->col_mean, (void*)b->col_ss, (void*)b->row_nnz,
                    (void*)b->row_ptr, (void*)b->seg_fill, (void*)b->seg_firing, (void*)b->col, (void*)b->val})
        std::free(p);
    delete b;
}

extern "C" float* sae4j_cpu_batch_x(sae4j_cpu_batch* b) { return b ? b->x : nullptr; }
extern "C" float* sae4j_cpu_batch_xc(sae4j_cpu_batch* b) { return b ? b->xc : nullptr; }
extern "C" float* sae4j_cpu_batch_f(sae4j_cpu_batch* b) { return b ? b->f : nullptr; }
extern "C" float* sae4j_cpu_batch_xhat(sae4j_cpu_batch* b) { return b ? b->xhat : nullptr; }
extern "C" int sae4j_cpu_batch_sparse(const sae4j_cpu_batch* b) { return b ? b->sparse : -1; }
