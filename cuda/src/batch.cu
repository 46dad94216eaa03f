// batch.cu: the batch workspace (every per-batch device buffer, allocated once and zeroed), its
// accessors, and the CUB prefix sum that turns per-row or per-latent counts into CSR/CSC offsets
// (the only place that instantiates CUB; its temp storage is sized here for the largest count).
//
// Memory, with N = rows * max_m: always x, xc, xhat (rows, d) and f (rows, max_m); training adds
// err (rows, d), dpre (rows, max_m) and O(rows + max_m + N/32) scratch; sparse storage (AUTO or
// SPARSE) adds the CSR (col, val: 2 N words), and with training the CSC row index (N words) and
// per-chunk counts (2 N/32 words). N < 2^31 is required with sparse storage (int32 offsets).
#include <cub/device/device_scan.cuh>

#include <new>

#include "internal.cuh"

namespace sae4j_cuda {

namespace {

void free_all(sae4j_cuda_batch* b) {
    void* bufs[] = {b->x,       b->xc,        b->f,         b->xhat,      b->norms,
                    b->row_nnz, b->nnz_dev,   b->ssd_part, b->err,       b->dpre,      b->row_sq,
                    b->row_l1,  b->fsum,      b->part,      b->row_ptr,   b->col,
                    b->val,     b->cub_temp,  b->chunk_cnt, b->chunk_off, b->lat_cnt,
                    b->lat_ptr, b->csc_row};
    for (void* p : bufs)
        if (p) (void)cudaFree(p);
    if (b->pinned_nnz) (void)cudaFreeHost(b->pinned_nnz);
    if (b->nnz_event) (void)cudaEventDestroy(b->nnz_event);
    (void)cudaGetLastError();
    delete b;
}

// Allocates and zeroes `count` elements of T into p (nothing when count == 0).
template <typename T>
int alloc_zero(sae4j_cuda_batch* b, T*& p, int64_t count, const char* what) {
    if (count <= 0) return SAE4J_CUDA_OK;
    STATUS_CHECK(DEV_MALLOC(p, count * (int64_t)sizeof(T), what));
    CUDA_CHECK(cudaMemsetAsync(p, 0, (size_t)count * sizeof(T), b->ctx->stream));
    return SAE4J_CUDA_OK;
}

int allocate(sae4j_cuda_batch* b) {
    const int64_t rows = b->rows, d = b->d, mm = b->max_m, N = rows * mm;
    const bool sparse = b->storage != SAE4J_CUDA_LATENTS_DENSE;
    STATUS_CHECK(alloc_zero(b, b->x, rows * d, "batch x (rows, d)"));
    STATUS_CHECK(alloc_zero(b, b->xc, rows * d, "batch xc (rows, d)"));
    STATUS_CHECK(alloc_zero(b, b->f, N, "batch f (rows, max_m)"));
    STATUS_CHECK(alloc_zero(b, b->xhat, rows * d, "batch xhat (rows, d)"));
    STATUS_CHECK(alloc_zero(b, b->norms, mm, "batch norms (max_m)"));
    STATUS_CHECK(alloc_zero(b, b->row_nnz, rows, "batch row_nnz (rows)"));
    STATUS_CHECK(alloc_zero(b, b->nnz_dev, 1, "batch nnz (1)"));
    STATUS_CHECK(alloc_zero(b, b->ssd_part, SCRATCH_DOUBLES, "batch sum_sq_dev partials"));
    if (b->training) {
        STATUS_CHECK(alloc_zero(b, b->err, rows * d, "batch err (rows, d)"));
        STATUS_CHECK(alloc_zero(b, b->dpre, N, "batch dpre (rows, max_m)"));
        STATUS_CHECK(alloc_zero(b, b->row_sq, rows, "batch row_sq (rows)"));
        STATUS_CHECK(alloc_zero(b, b->row_l1, rows, "batch row_l1 (rows)"));
        STATUS_CHECK(alloc_zero(b, b->fsum, mm, "batch fsum (max_m)"));
        STATUS_CHECK(alloc_zero(b, b->part, b->max_chunks * (mm > d ? mm : d),
                                "batch column-sum partials (rows/32, max(max_m, d))"));
    }
    if (sparse) {
        STATUS_CHECK(alloc_zero(b, b->row_ptr, rows + 1, "batch row_ptr (rows + 1)"));
        STATUS_CHECK(alloc_zero(b, b->col, N, "batch CSR col (rows * max_m)"));
        STATUS_CHECK(alloc_zero(b, b->val, N, "batch CSR val (rows * max_m)"));
        if (b->training) {
            STATUS_CHECK(alloc_zero(b, b->chunk_cnt, b->max_chunks * mm, "batch chunk counts"));
            STATUS_CHECK(alloc_zero(b, b->chunk_off, b->max_chunks * mm, "batch chunk offsets"));
            STATUS_CHECK(alloc_zero(b, b->lat_cnt, mm, "batch lat_cnt (max_m)"));
            STATUS_CHECK(alloc_zero(b, b->lat_ptr, mm + 1, "batch lat_ptr (max_m + 1)"));
            STATUS_CHECK(alloc_zero(b, b->csc_row, N, "batch CSC row (rows * max_m)"));
        }
        // CUB's temp storage grows with the item count: size it for the largest scan.
        size_t bytes = 0;
        const int items = (int)(rows > mm ? rows : mm);
        CUDA_CHECK(cub::DeviceScan::InclusiveSum(nullptr, bytes, (const int32_t*)nullptr,
                                                 (int32_t*)nullptr, items, b->ctx->stream));
        if (bytes < 256) bytes = 256;  // never a null pointer (CUB reads null as a size query)
        STATUS_CHECK(DEV_MALLOC(b->cub_temp, bytes, "CUB scan temp storage"));
        b->cub_temp_bytes = bytes;
    }
    if (b->storage == SAE4J_CUDA_LATENTS_AUTO) {
        CUDA_CHECK(cudaHostAlloc((void**)&b->pinned_nnz, sizeof(unsigned long long), cudaHostAllocDefault));
        *b->pinned_nnz = 0;
        CUDA_CHECK(cudaEventCreateWithFlags(&b->nnz_event, cudaEventDisableTiming));
    }
    CUDA_CHECK(cudaStreamSynchronize(b->ctx->stream));  // zeroed before first use
    return SAE4J_CUDA_OK;
}

int create_impl(sae4j_cuda_ctx* ctx, int64_t rows, int64_t d, int64_t max_m, int storage,
                double max_density, int training, sae4j_cuda_batch** out) {
    REQUIRE(ctx != nullptr);
    REQUIRE(rows >= 1 && d >= 1 && max_m >= 1);
    REQUIRE(rows <= INT32_MAX && d <= INT32_MAX && max_m <= INT32_MAX);
    REQUIRE(rows * d <= ((int64_t)1 << 60) && rows * max_m <= ((int64_t)1 << 60));
    REQUIRE(storage == SAE4J_CUDA_LATENTS_AUTO || storage == SAE4J_CUDA_LATENTS_DENSE ||
            storage == SAE4J_CUDA_LATENTS_SPARSE);
    REQUIRE(max_density >= 0.0 && max_density <= 1.0);
    if (storage != SAE4J_CUDA_LATENTS_DENSE) REQUIRE(rows * max_m < ((int64_t)1 << 31));
    STATUS_CHECK(enter(ctx));
    sae4j_cuda_batch* b = new (std::nothrow) sae4j_cuda_batch();  // value-initialised: all zero
    if (!b) return fail_nomem(__FILE__, __LINE__, "host memory for the batch", sizeof(sae4j_cuda_batch));
    b->ctx = ctx;
    b->rows = rows;
    b->d = d;
    b->max_m = max_m;
    b->storage = storage;
    b->max_density = max_density;
    b->training = training != 0;
    b->max_chunks = ceil_div(rows, CHUNK_ROWS);
    b->last_sparse = -1;
    int st = allocate(b);
    if (st != SAE4J_CUDA_OK) {
        (void)cudaStreamSynchronize(ctx->stream);
        free_all(b);
        return st;
    }
    *out = b;
    return SAE4J_CUDA_OK;
}

}  // namespace

int scan_counts(sae4j_cuda_batch* b, const int32_t* counts, int32_t* ptr, int64_t n) {
    cudaStream_t s = b->ctx->stream;
    CUDA_CHECK(cudaMemsetAsync(ptr, 0, sizeof(int32_t), s));
    size_t need = 0;
    CUDA_CHECK(cub::DeviceScan::InclusiveSum(nullptr, need, counts, ptr + 1, (int)n, s));
    if (need > b->cub_temp_bytes) {
        return fail_cuda(__FILE__, __LINE__, "CUB scan needs more temp storage than was sized",
                         cudaErrorInvalidValue);
    }
    size_t have = b->cub_temp_bytes;
    CUDA_CHECK(cub::DeviceScan::InclusiveSum(b->cub_temp, have, counts, ptr + 1, (int)n, s));
    return SAE4J_CUDA_OK;
}

}  // namespace sae4j_cuda

using namespace sae4j_cuda;

SAE4J_EXPORT sae4j_cuda_batch* sae4j_cuda_batch_create(sae4j_cuda_ctx* ctx, int64_t rows,
                                                       int64_t d, int64_t max_m, int storage,
                                                       double max_density, int training,
                                                       int* status) {
    sae4j_cuda_batch* b = nullptr;
    int st = create_impl(ctx, rows, d, max_m, storage, max_density, training, &b);
    if (status) *status = st;
    return st == SAE4J_CUDA_OK ? b : nullptr;
}

SAE4J_EXPORT void sae4j_cuda_batch_destroy(sae4j_cuda_batch* batch) {
    if (!batch) return;
    if (cudaSetDevice(batch->ctx->device) == cudaSuccess)
        (void)cudaStreamSynchronize(batch->ctx->stream);  // no kernel still uses the buffers
    free_all(batch);
}

SAE4J_EXPORT float* sae4j_cuda_batch_x(sae4j_cuda_batch* batch) { return batch ? batch->x : nullptr; }
SAE4J_EXPORT float* sae4j_cuda_batch_xc(sae4j_cuda_batch* batch) { return batch ? batch->xc : nullptr; }
SAE4J_EXPORT float* sae4j_cuda_batch_f(sae4j_cuda_batch* batch) { return batch ? batch->f : nullptr; }
SAE4J_EXPORT float* sae4j_cuda_batch_xhat(sae4j_cuda_batch* batch) {
    return batch ? batch->xhat : nullptr;
}
SAE4J_EXPORT float* sae4j_cuda_batch_err(sae4j_cuda_batch* batch) {
    return batch ? batch->err : nullptr;
}
SAE4J_EXPORT float* sae4j_cuda_batch_dpre(sae4j_cuda_batch* batch) {
    return batch ? batch->dpre : nullptr;
}
SAE4J_EXPORT float* sae4j_cuda_batch_norms(sae4j_cuda_batch* batch) {
    return batch ? batch->norms : nullptr;
}
SAE4J_EXPORT int sae4j_cuda_batch_sparse(const sae4j_cuda_batch* batch) {
    return batch ? batch->last_sparse : -1;
}
