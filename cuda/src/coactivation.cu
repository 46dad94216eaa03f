// coactivation.cu: the exact Pearson correlation of two SAEs' latents over any number of tokens,
// sae4j_cpu_coact_*'s maths (native/src/coactivation.cpp; DESIGN.md, Metrics) on the GPU:
//   per latent the sums of f and f^2, and S (m1, m2) = sum_t f_i(t) g_j(t) in double, nonzero only
//   for co-active pairs (B L0_a L0_b products a batch); r_ij = (S_ij / N - mu_i mu_j) / (s_i s_j).
// Each batch's CSR entries are grouped by latent in token order (CUB's radix sort is stable), and
// one warp owns each row i of S: it walks latent i's tokens in order and adds f_i times that
// token's B row, lanes over the row's distinct latents. So every element of S and every sum
// receives its terms in token order, as on the CPU: no float atomics, the same bits on every run,
// and (products of two floats being exact in double) the same S and sums as the CPU library's.
// The maxima read S twice, a block per row and a block per 32 columns; r is evaluated without
// contracted multiply-adds, as the C++ expression on the CPU is.
#include <cub/device/device_radix_sort.cuh>

#include <math.h>

#include <new>

#include "internal.cuh"

struct sae4j_cuda_coact {
    sae4j_cuda_ctx* ctx;
    int64_t m1, m2, max_rows, cap;  // cap: entries a batch side may hold (max_rows * max(m1, m2))
    int64_t tokens;
    double* S;                       // (m1, m2)
    double *sum_a, *sq_a, *sum_b, *sq_b;
    double *mu_a, *inv_a, *mu_b, *inv_b;  // moments for maxima
    int32_t *order_in, *keys_out, *order_out;  // (cap) the sort of one side's entries
    int32_t* ptr;                    // (max(m1, m2) + 1) each latent's range of the sorted entries
    int32_t* nnz_host;               // pinned: a batch's entry count, read back for the sort
    void* sort_temp;
    size_t sort_temp_bytes;
};

namespace sae4j_cuda {
namespace {

constexpr int WARPS_PER_BLOCK = 8;
constexpr int MAX_THREADS = 256;

__global__ void iota_kernel(int64_t n, int32_t* v) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        v[i] = (int32_t)i;
}

// ptr (m + 1): ptr[i] = the first position whose key is >= i, for keys (n) sorted ascending, all in [0, m).
__global__ void segment_starts_kernel(int64_t n, int64_t m, const int32_t* keys, int32_t* ptr) {
    for (int64_t p = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; p <= n; p += (int64_t)gridDim.x * blockDim.x) {
        const int64_t lo = p == 0 ? 0 : (int64_t)keys[p - 1] + 1, hi = p == n ? m : (int64_t)keys[p];
        for (int64_t i = lo; i <= hi; ++i) ptr[i] = (int32_t)p;
    }
}

// The token (CSR row) of entry e: the last r with row_ptr[r] <= e.
__device__ __forceinline__ int64_t row_of(const int32_t* row_ptr, int64_t B, int32_t e) {
    int64_t lo = 0, hi = B - 1;
    while (lo < hi) {
        const int64_t mid = (lo + hi + 1) / 2;
        if (row_ptr[mid] <= e) lo = mid; else hi = mid - 1;
    }
    return lo;
}

// A thread per latent of one side: its sums of f and f^2 over its sorted entries (token order).
__global__ void moments_add_kernel(int64_t m, const int32_t* ptr, const int32_t* order, const float* val, double* sum,
                                   double* sq) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m; i += (int64_t)gridDim.x * blockDim.x) {
        double s = sum[i], q = sq[i];
        for (int32_t k = ptr[i]; k < ptr[i + 1]; ++k) {
            const double v = val[order[k]];
            s += v;
            q += v * v;  // exact product of a float: no rounding to contract
        }
        sum[i] = s;
        sq[i] = q;
    }
}

// A warp per latent i of A: for each of its tokens in order, S[i, j] += f_i g_j over that token's B row.
__global__ void s_add_kernel(int64_t m1, int64_t m2, int64_t B, const int32_t* a_ptr, const int32_t* a_order,
                             const int32_t* a_row_ptr, const float* a_val, const int32_t* b_row_ptr,
                             const int32_t* b_col, const float* b_val, double* S) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t i = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); i < m1; i += warps) {
        double* Si = S + i * m2;
        for (int32_t k = a_ptr[i]; k < a_ptr[i + 1]; ++k) {
            const int32_t e = a_order[k];
            const double fa = a_val[e];
            const int64_t t = row_of(a_row_ptr, B, e);
            for (int32_t q = b_row_ptr[t] + lane; q < b_row_ptr[t + 1]; q += 32) Si[b_col[q]] += fa * (double)b_val[q];
            __syncwarp();  // the next token's lanes may add to the same elements
        }
    }
}

// mu, 1/sd (population) of each latent from its sums; 1/sd = 0 where the variance vanishes, as the CPU's moments().
__global__ void moments_final_kernel(int64_t m, double n, const double* sum, const double* sq, double* mu, double* inv) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m; i += (int64_t)gridDim.x * blockDim.x) {
        const double mean = __ddiv_rn(sum[i], n), meansq = __ddiv_rn(sq[i], n);
        const double var = __dsub_rn(meansq, __dmul_rn(mean, mean));
        mu[i] = mean;
        inv[i] = var > 1e-12 * meansq && var > 0 ? 1.0 / sqrt(var) : 0.0;
    }
}

// r_ij as the CPU evaluates (Si[j] / n - mu_a[i] mu_b[j]) * is_a[i] * is_b[j], clamped, in float.
__device__ __forceinline__ float pearson(double s, double n, double mu_i, double mu_j, double inv_i, double inv_j) {
    const double r = __dmul_rn(__dmul_rn(__dsub_rn(__ddiv_rn(s, n), __dmul_rn(mu_i, mu_j)), inv_i), inv_j);
    return (float)fmax(-1.0, fmin(1.0, r));
}

// Keeps (v, i) over (best, arg): larger value, ties to the smaller index.
__device__ __forceinline__ void keep_max(float v, int32_t i, float& best, int32_t& arg) {
    if (v > best || (v == best && i >= 0 && (arg < 0 || i < arg))) {
        best = v;
        arg = i;
    }
}

// A block per row i of S: row_max[i], row_arg[i].
__global__ void row_max_kernel(int64_t m1, int64_t m2, double n, const double* S, const double* mu_a,
                               const double* inv_a, const double* mu_b, const double* inv_b, float* row_max,
                               int32_t* row_arg) {
    __shared__ float sh_v[MAX_THREADS];
    __shared__ int32_t sh_i[MAX_THREADS];
    for (int64_t i = blockIdx.x; i < m1; i += gridDim.x) {
        float best = -INFINITY;
        int32_t arg = -1;
        if (inv_a[i] != 0)
            for (int64_t j = threadIdx.x; j < m2; j += blockDim.x)
                if (inv_b[j] != 0) keep_max(pearson(S[i * m2 + j], n, mu_a[i], mu_b[j], inv_a[i], inv_b[j]), (int32_t)j, best, arg);
        sh_v[threadIdx.x] = best;
        sh_i[threadIdx.x] = arg;
        __syncthreads();
        if (threadIdx.x == 0) {
            for (unsigned t = 1; t < blockDim.x; ++t) keep_max(sh_v[t], sh_i[t], best, arg);
            row_max[i] = best;
            row_arg[i] = arg;
        }
        __syncthreads();  // sh reused by the next row
    }
}

// A block of 32 x 8 threads per 32 columns: col_max[j], col_arg[j]; threads of a row read 32 adjacent doubles.
__global__ void col_max_kernel(int64_t m1, int64_t m2, double n, const double* S, const double* mu_a,
                               const double* inv_a, const double* mu_b, const double* inv_b, float* col_max,
                               int32_t* col_arg) {
    __shared__ float sh_v[8][32];
    __shared__ int32_t sh_i[8][32];
    for (int64_t j0 = blockIdx.x * 32LL; j0 < m2; j0 += gridDim.x * 32LL) {
        const int64_t j = j0 + threadIdx.x;
        float best = -INFINITY;
        int32_t arg = -1;
        if (j < m2 && inv_b[j] != 0)
            for (int64_t i = threadIdx.y; i < m1; i += blockDim.y)
                if (inv_a[i] != 0) keep_max(pearson(S[i * m2 + j], n, mu_a[i], mu_b[j], inv_a[i], inv_b[j]), (int32_t)i, best, arg);
        sh_v[threadIdx.y][threadIdx.x] = best;
        sh_i[threadIdx.y][threadIdx.x] = arg;
        __syncthreads();
        if (threadIdx.y == 0 && j < m2) {
            for (unsigned y = 1; y < blockDim.y; ++y) keep_max(sh_v[y][threadIdx.x], sh_i[y][threadIdx.x], best, arg);
            col_max[j] = best;
            col_arg[j] = arg;
        }
        __syncthreads();
    }
}

int bits_for(int64_t m) {  // radix bits that hold every latent index < m
    int b = 1;
    while (b < 31 && (1LL << b) < m) ++b;
    return b;
}

void free_all(sae4j_cuda_coact* c) {
    void* bufs[] = {c->S,  c->sum_a, c->sq_a,     c->sum_b,    c->sq_b,      c->mu_a, c->inv_a,
                    c->mu_b, c->inv_b, c->order_in, c->keys_out, c->order_out, c->ptr,  c->sort_temp};
    for (void* p : bufs)
        if (p) (void)cudaFree(p);
    if (c->nnz_host) (void)cudaFreeHost(c->nnz_host);
    (void)cudaGetLastError();
    delete c;
}

int allocate(sae4j_cuda_coact* c) {
    const int64_t mm = c->m1 > c->m2 ? c->m1 : c->m2;
    cudaStream_t s = c->ctx->stream;
    STATUS_CHECK(DEV_MALLOC(c->S, c->m1 * c->m2 * 8, "coactivation S (m1, m2) doubles"));
    CUDA_CHECK(cudaMemsetAsync(c->S, 0, (size_t)(c->m1 * c->m2) * 8, s));
    double** side_a[] = {&c->sum_a, &c->sq_a, &c->mu_a, &c->inv_a};
    double** side_b[] = {&c->sum_b, &c->sq_b, &c->mu_b, &c->inv_b};
    for (double** p : side_a) {
        STATUS_CHECK(DEV_MALLOC(*p, c->m1 * 8, "coactivation sums (m1)"));
        CUDA_CHECK(cudaMemsetAsync(*p, 0, (size_t)c->m1 * 8, s));
    }
    for (double** p : side_b) {
        STATUS_CHECK(DEV_MALLOC(*p, c->m2 * 8, "coactivation sums (m2)"));
        CUDA_CHECK(cudaMemsetAsync(*p, 0, (size_t)c->m2 * 8, s));
    }
    STATUS_CHECK(DEV_MALLOC(c->order_in, c->cap * 4, "coactivation sort (max_rows * max(m1, m2))"));
    STATUS_CHECK(DEV_MALLOC(c->keys_out, c->cap * 4, "coactivation sort keys"));
    STATUS_CHECK(DEV_MALLOC(c->order_out, c->cap * 4, "coactivation sort order"));
    STATUS_CHECK(DEV_MALLOC(c->ptr, (mm + 1) * 4, "coactivation latent offsets"));
    CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, c->sort_temp_bytes, (const int32_t*)nullptr, (int32_t*)nullptr,
                                               (const int32_t*)nullptr, (int32_t*)nullptr, (int)c->cap, 0,
                                               bits_for(mm), s));
    STATUS_CHECK(DEV_MALLOC(c->sort_temp, c->sort_temp_bytes, "coactivation sort temp"));
    CUDA_CHECK(cudaHostAlloc((void**)&c->nnz_host, sizeof(int32_t), cudaHostAllocDefault));
    iota_kernel<<<grid_x(ceil_div(c->cap, MAX_THREADS) < 4096 ? ceil_div(c->cap, MAX_THREADS) : 4096), MAX_THREADS, 0, s>>>(
        c->cap, c->order_in);
    LAUNCH_CHECK("iota_kernel");
    return SAE4J_CUDA_OK;
}

// Sorts one batch side's n CSR entries by latent (m latents), leaving keys_out, order_out and ptr.
int group_by_latent(sae4j_cuda_coact* c, const sae4j_cuda_batch* b, int64_t n, int64_t m) {
    cudaStream_t s = c->ctx->stream;
    if (n > 0) {
        size_t bytes = c->sort_temp_bytes;
        CUDA_CHECK(cub::DeviceRadixSort::SortPairs(c->sort_temp, bytes, (const int32_t*)b->col, c->keys_out,
                                                   (const int32_t*)c->order_in, c->order_out, (int)n, 0, bits_for(m), s));
    }
    const int64_t blocks = ceil_div(n + 1, MAX_THREADS);
    segment_starts_kernel<<<grid_x(blocks < 4096 ? blocks : 4096), MAX_THREADS, 0, s>>>(n, m, c->keys_out, c->ptr);
    LAUNCH_CHECK("segment_starts_kernel");
    return SAE4J_CUDA_OK;
}

// The entry count of a batch's last sparse encode of B rows, read back (the sort's size).
int entries(sae4j_cuda_coact* c, const sae4j_cuda_batch* b, int64_t B, int64_t* n) {
    CUDA_CHECK(cudaMemcpyAsync(c->nnz_host, b->row_ptr + B, sizeof(int32_t), cudaMemcpyDeviceToHost, c->ctx->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->ctx->stream));
    *n = *c->nnz_host;
    REQUIRE(*n >= 0 && *n <= c->cap);  // (the encode of B rows through m latents has at most B m <= cap)
    return SAE4J_CUDA_OK;
}

}  // namespace
}  // namespace sae4j_cuda

using namespace sae4j_cuda;

SAE4J_EXPORT sae4j_cuda_coact* sae4j_cuda_coact_create(sae4j_cuda_ctx* ctx, int64_t m1, int64_t m2, int64_t max_rows,
                                                       int* status) {
    int unused;
    if (!status) status = &unused;
    const int64_t mm = m1 > m2 ? m1 : m2;
    if (!ctx || m1 < 1 || m2 < 1 || max_rows < 1 || mm >= INT32_MAX || max_rows > INT32_MAX / mm ||
        m1 > INT64_MAX / 8 / m2) {
        *status = fail_arg(__FILE__, __LINE__, "ctx && 1 <= m1, m2 < 2^31 && 1 <= max_rows && max_rows * max(m1, m2) < 2^31");
        return nullptr;
    }
    if ((*status = enter(ctx)) != SAE4J_CUDA_OK) return nullptr;
    sae4j_cuda_coact* c = new (std::nothrow) sae4j_cuda_coact();
    if (!c) {
        *status = fail_nomem(__FILE__, __LINE__, "coactivation (host struct)", (int64_t)sizeof(sae4j_cuda_coact));
        return nullptr;
    }
    c->ctx = ctx;
    c->m1 = m1;
    c->m2 = m2;
    c->max_rows = max_rows;
    c->cap = max_rows * mm;
    if ((*status = allocate(c)) != SAE4J_CUDA_OK) {
        free_all(c);
        return nullptr;
    }
    return c;
}

SAE4J_EXPORT void sae4j_cuda_coact_destroy(sae4j_cuda_coact* c) {
    if (!c) return;
    if (enter(c->ctx) == SAE4J_CUDA_OK) (void)cudaStreamSynchronize(c->ctx->stream);
    free_all(c);
}

SAE4J_EXPORT int sae4j_cuda_coact_add(sae4j_cuda_ctx* ctx, sae4j_cuda_coact* c, const sae4j_cuda_batch* a,
                                      const sae4j_cuda_batch* b, int64_t B) {
    REQUIRE(ctx != nullptr && c != nullptr && c->ctx == ctx && a != nullptr && b != nullptr && a->ctx == ctx && b->ctx == ctx);
    REQUIRE(B >= 1 && B <= c->max_rows);
    REQUIRE(a->last_sparse == 1 && a->enc_B == B && a->enc_m == c->m1);
    REQUIRE(b->last_sparse == 1 && b->enc_B == B && b->enc_m == c->m2);
    STATUS_CHECK(enter(ctx));
    cudaStream_t s = ctx->stream;
    int64_t na, nb;
    STATUS_CHECK(entries(c, b, B, &nb));
    STATUS_CHECK(entries(c, a, B, &na));
    // B's sums first, then A's entries grouped by latent (one set of sort buffers)
    STATUS_CHECK(group_by_latent(c, b, nb, c->m2));
    moments_add_kernel<<<grid_x(ceil_div(c->m2, MAX_THREADS)), MAX_THREADS, 0, s>>>(c->m2, c->ptr, c->order_out, b->val,
                                                                                   c->sum_b, c->sq_b);
    LAUNCH_CHECK("moments_add_kernel");
    STATUS_CHECK(group_by_latent(c, a, na, c->m1));
    moments_add_kernel<<<grid_x(ceil_div(c->m1, MAX_THREADS)), MAX_THREADS, 0, s>>>(c->m1, c->ptr, c->order_out, a->val,
                                                                                   c->sum_a, c->sq_a);
    LAUNCH_CHECK("moments_add_kernel");
    if (na > 0 && nb > 0) {
        const int64_t blocks = ceil_div(c->m1, WARPS_PER_BLOCK);
        s_add_kernel<<<grid_x(blocks), WARPS_PER_BLOCK * 32, 0, s>>>(c->m1, c->m2, B, c->ptr, c->order_out, a->row_ptr,
                                                                    a->val, b->row_ptr, b->col, b->val, c->S);
        LAUNCH_CHECK("s_add_kernel");
    }
    c->tokens += B;
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int64_t sae4j_cuda_coact_tokens(const sae4j_cuda_coact* c) { return c ? c->tokens : -1; }

SAE4J_EXPORT int sae4j_cuda_coact_view(const sae4j_cuda_coact* c, const double** S, const double** sum_a,
                                       const double** sq_a, const double** sum_b, const double** sq_b) {
    REQUIRE(c != nullptr && S != nullptr && sum_a != nullptr && sq_a != nullptr && sum_b != nullptr && sq_b != nullptr);
    *S = c->S;
    *sum_a = c->sum_a;
    *sq_a = c->sq_a;
    *sum_b = c->sum_b;
    *sq_b = c->sq_b;
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_coact_maxima(sae4j_cuda_ctx* ctx, sae4j_cuda_coact* c, float* row_max, int32_t* row_arg,
                                         float* col_max, int32_t* col_arg) {
    REQUIRE(ctx != nullptr && c != nullptr && c->ctx == ctx && c->tokens >= 1);
    REQUIRE(row_max != nullptr && row_arg != nullptr && col_max != nullptr && col_arg != nullptr);
    STATUS_CHECK(enter(ctx));
    cudaStream_t s = ctx->stream;
    const double n = (double)c->tokens;
    moments_final_kernel<<<grid_x(ceil_div(c->m1, MAX_THREADS)), MAX_THREADS, 0, s>>>(c->m1, n, c->sum_a, c->sq_a, c->mu_a,
                                                                                     c->inv_a);
    LAUNCH_CHECK("moments_final_kernel");
    moments_final_kernel<<<grid_x(ceil_div(c->m2, MAX_THREADS)), MAX_THREADS, 0, s>>>(c->m2, n, c->sum_b, c->sq_b, c->mu_b,
                                                                                     c->inv_b);
    LAUNCH_CHECK("moments_final_kernel");
    row_max_kernel<<<grid_x(c->m1), MAX_THREADS, 0, s>>>(c->m1, c->m2, n, c->S, c->mu_a, c->inv_a, c->mu_b, c->inv_b,
                                                          row_max, row_arg);
    LAUNCH_CHECK("row_max_kernel");
    col_max_kernel<<<grid_x(ceil_div(c->m2, 32)), dim3(32, 8), 0, s>>>(c->m1, c->m2, n, c->S, c->mu_a, c->inv_a, c->mu_b,
                                                                       c->inv_b, col_max, col_arg);
    LAUNCH_CHECK("col_max_kernel");
    return SAE4J_CUDA_OK;
}
