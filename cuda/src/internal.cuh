// internal.cuh: private definitions shared by the sources of the sae4j CUDA library (nothing here
// is part of the contract, which is include/sae4j_cuda.h):
//  - struct sae4j_cuda_ctx and struct sae4j_cuda_batch;
//  - error recording: every failing CUDA call is written as "file:line: call: cudaErrorName:
//    message" into a thread-local string (the only global state of the library) and turned into
//    a status; invalid arguments are recorded the same way with the failed condition;
//  - launch checks (cudaGetLastError after every launch), grid sizing and warp reductions.
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

#include "sae4j_cuda.h"

// Objects are compiled with -fvisibility=hidden; only the entry points are exported.
#define SAE4J_EXPORT extern "C" __attribute__((visibility("default")))

// One backend instance: a device and a non-blocking stream of its own. A context and its
// batches are used by one host thread at a time (batch scratch is reused in stream order).
struct sae4j_cuda_ctx {
    int device;
    cudaStream_t stream;
    int sm_count;
    // uploads: two pinned staging buffers used in turn; staged[k] is recorded after the copy
    // out of staging[k], so the host refills a buffer only once its previous copy has left
    void* staging[2];
    size_t staging_bytes[2];
    cudaEvent_t staged[2];
    int next_staging;
};

// Per-batch device memory, allocated once by sae4j_cuda_batch_create (batch.cu). Shapes give the
// allocated size; after an encode f, dpre are used as compact (B, m) matrices (leading dim m).
struct sae4j_cuda_batch {
    sae4j_cuda_ctx* ctx;
    int64_t rows, d, max_m;
    int storage;         // SAE4J_CUDA_LATENTS_*
    double max_density;  // AUTO: sparse when the last known density is at most this
    int training;
    int64_t max_chunks;  // ceil(rows / CHUNK_ROWS)

    float* x;            // (rows, d) input, written by the caller
    float* xc;           // (rows, d) x - b_dec
    float* f;            // (rows, max_m) pre-activations, then latents
    float* xhat;         // (rows, d)
    float* norms;        // (max_m) ||W_dec,i||, filled by the caller (row_norms)
    int32_t* row_nnz;    // (rows) nonzero latents per row
    unsigned long long* nnz_dev;  // (1) nonzero latents of the last encode (64-bit: dense B m may pass 2^31)
    double* ssd_part;    // (SCRATCH_DOUBLES) per-block partials of sum_sq_dev

    // training only
    float* err;          // (rows, d) 2/B (xhat - x)
    float* dpre;         // (rows, max_m) dL/dpre
    double* row_sq;      // (rows) ||xhat_b - x_b||^2
    double* row_l1;      // (rows) sum_i f_bi n_i
    float* fsum;         // (max_m) column sums of f (dense path)
    float* part;         // (max_chunks, max(max_m, d)) column-sum partials

    // sparse storage (AUTO or SPARSE): CSR of f for every latent of every row
    int32_t* row_ptr;    // (rows + 1)
    int32_t* col;        // (rows * max_m) latent index, ascending within a row
    float* val;          // (rows * max_m) f value
    void* cub_temp;      // CUB scan temp storage, sized for max(rows, max_m) items
    size_t cub_temp_bytes;

    // sparse storage and training: per-latent (CSC) view for the deterministic gradients
    int32_t* chunk_cnt;  // (max_chunks, max_m) nonzeros of latent i in rows chunk*32 .. +32
    int32_t* chunk_off;  // (max_chunks, max_m) exclusive offsets of those within latent i
    int32_t* lat_cnt;    // (max_m) nonzeros per latent
    int32_t* lat_ptr;    // (max_m + 1)
    int32_t* csc_row;    // (rows * max_m) row index, ascending within a latent

    // AUTO: density of an earlier encode, read back without a sync
    unsigned long long* pinned_nnz;  // (1) pinned host word, target of an async copy of nnz_dev
    cudaEvent_t nnz_event;  // recorded after that copy
    bool copy_pending;      // a copy was enqueued and not yet consumed
    int64_t pend_B, pend_m; // the batch shape the pending copy belongs to
    bool have_density;
    double density;         // nnz / (B m) of the latest completed read-back

    // the last sae_epilogue
    int last_sparse;        // 1 sparse, 0 dense, -1 none (or it failed)
    int64_t enc_B, enc_m;
    bool dpre_sparse_done;  // sae_dpre_sparse ran after that epilogue
};

namespace sae4j_cuda {

constexpr int SCRATCH_DOUBLES = 1024;  // batch->ssd_part size
constexpr int CHUNK_ROWS = 32;         // rows per block in column sweeps

// ---- errors (context.cu) ----
int fail_cuda(const char* file, int line, const char* call, cudaError_t e);
int fail_nomem(const char* file, int line, const char* what, int64_t bytes);
int fail_arg(const char* file, int line, const char* cond);
int fail_unsupported(const char* file, int line, const char* what);
// cudaMalloc of `bytes`; ERR_NOMEM (bytes asked and free recorded) or ERR_CUDA on failure.
int dev_malloc(void** p, int64_t bytes, const char* what, const char* file, int line);
// Makes ctx's device current on this thread.
int enter(sae4j_cuda_ctx* ctx);

// ---- CUB scan (batch.cu): ptr (n + 1) = [0, inclusive sums of counts (n)], on ctx's stream ----
int scan_counts(sae4j_cuda_batch* b, const int32_t* counts, int32_t* ptr, int64_t n);

// ---- launch helpers ----
inline unsigned grid_x(int64_t blocks) {  // gridDim.x limit 2^31 - 1 (kernels loop beyond)
    if (blocks < 1) return 1;
    return blocks > 0x7fffffffLL ? 0x7fffffffu : (unsigned)blocks;
}
inline unsigned grid_y(int64_t blocks) {  // gridDim.y limit 65535 (kernels loop beyond)
    if (blocks < 1) return 1;
    return blocks > 65535 ? 65535u : (unsigned)blocks;
}
__host__ __device__ inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
// Threads for a block that covers `width` columns with `per_thread` columns each: a multiple
// of 32 in [32, 256].
inline int threads_for_width(int64_t width, int per_thread) {
    int64_t t = ceil_div(ceil_div(width, per_thread), 32) * 32;
    return t < 32 ? 32 : (t > 256 ? 256 : (int)t);
}

// ---- device helpers: butterfly reductions leave the same value in every lane, and the same
// order of additions for every call, so results are deterministic ----
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ int warp_sum(int v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum of v over the block, valid in thread 0; sh holds 32 doubles of shared memory. Every thread
// of the block must call it (it has barriers). Fixed order: deterministic.
__device__ __forceinline__ double block_sum(double v, double* sh) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    double t = 0.0;
    if (threadIdx.x == 0)
        for (int w = 0; w < warps; ++w) t += sh[w];
    __syncthreads();  // sh may be reused
    return t;
}

}  // namespace sae4j_cuda

// A CUDA runtime call that must succeed: on failure record file:line, the call and the error,
// and return SAE4J_CUDA_ERR_CUDA (SAE4J_CUDA_ERR_NOMEM for cudaErrorMemoryAllocation).
#define CUDA_CHECK(call)                                                               \
    do {                                                                               \
        cudaError_t e_ = (call);                                                       \
        if (e_ != cudaSuccess) return sae4j_cuda::fail_cuda(__FILE__, __LINE__, #call, e_); \
    } while (0)

// After every kernel launch; `name` is a string literal naming the kernel.
#define LAUNCH_CHECK(name)                                                               \
    do {                                                                                 \
        cudaError_t e_ = cudaGetLastError();                                             \
        if (e_ != cudaSuccess) return sae4j_cuda::fail_cuda(__FILE__, __LINE__, "launch " name, e_); \
    } while (0)

// An argument condition: on failure record it and return SAE4J_CUDA_ERR_ARG (nothing enqueued).
#define REQUIRE(cond)                                                        \
    do {                                                                     \
        if (!(cond)) return sae4j_cuda::fail_arg(__FILE__, __LINE__, #cond); \
    } while (0)

// Device allocation of `bytes` into `ptr` (any pointer type), recorded under `what`.
#define DEV_MALLOC(ptr, bytes, what) \
    sae4j_cuda::dev_malloc((void**)&(ptr), (int64_t)(bytes), what, __FILE__, __LINE__)

// A status-returning internal call.
#define STATUS_CHECK(call)                 \
    do {                                   \
        int s_ = (call);                   \
        if (s_ != SAE4J_CUDA_OK) return s_; \
    } while (0)
