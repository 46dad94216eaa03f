// sae_backward.cu: loss and gradients of the ReLU SAE with decoder-norm-weighted L1
// (SAELens "standard"; TopK is the same with lambda 0), the same maths as native/src/sae_backward.cpp:
//   L = 1/B sum_b ( ||xhat_b - x_b||^2 + lambda sum_i f_bi n_i ),  n_i = ||W_dec,i||
//   err = 2/B (xhat - x);  dpre_bi = [f_bi > 0] (err_b . W_dec,i + lambda n_i / B)
//   gW_dec,i = sum_b f_bi err_b + lambda/B (sum_b f_bi) W_dec,i / n_i
//   gW_encT,i = sum_b dpre_bi xc_b;  gb_enc = sum_b dpre_b;  gb_dec = sum_b err_b - gb_enc W_encT
// Every sum is deterministic: no float atomics, fixed reduction orders.
//  - sae_err_kernel / dpre_dense_kernel: a block per row; per-row sums in double into the scratch.
//  - dpre_sparse_kernel: a block per row, a warp per CSR entry (coalesced dot over d, butterfly).
//  - Sparse gradients bucket the nonzeros by latent (a CSC view): the epilogue counted each latent
//    per 32-row chunk; csc_offsets_kernel turns those into offsets (a thread per latent walks the
//    chunks), CUB scans the latent counts, and csc_fill_kernel (coalesced column sweeps of f)
//    writes each latent's rows in ascending order. latent_grads_kernel then runs a block per
//    latent with threads over d: a latent that fires often costs a longer loop, not contended
//    atomics; its f and dpre values are gathered into shared memory a chunk at a time.
//  - Column sums (gb_enc, fsum, gb_dec): float sums over 32-row chunks into partials (coalesced,
//    (cols/256) x (rows/32) blocks), then a double sum over the chunks in order per column.
//  - sae_losses: one block, double, fixed order.
#include "internal.cuh"

namespace sae4j_cuda {
namespace {

constexpr int LAT_V = 4;        // output columns per thread per pass (latent_grads_kernel)
constexpr int LAT_CHUNK = 256;  // entries staged in shared memory at a time
constexpr int COL_THREADS = 256;

// err (B, d) = scale (xhat - x); row_sq (B) = ||xhat_b - x_b||^2. A block per row.
__global__ void sae_err_kernel(int64_t B, int64_t d, const float* __restrict__ x,
                               const float* __restrict__ xhat, float scale,
                               float* __restrict__ err, double* __restrict__ row_sq) {
    __shared__ double sh[32];
    for (int64_t b = blockIdx.x; b < B; b += gridDim.x) {
        double acc = 0.0;
        for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
            const float r = xhat[b * d + c] - x[b * d + c];
            err[b * d + c] = scale * r;
            acc += (double)r * (double)r;
        }
        const double t = block_sum(acc, sh);
        if (threadIdx.x == 0) row_sq[b] = t;
    }
}

// For each CSR entry (b, i): dpre[b, i] = err_b . W_dec,i + l1_scale n_i (= at f > 0 only);
// row_l1 (B) = sum_i f_bi n_i. A block per row, a warp per entry.
__global__ void dpre_sparse_kernel(int64_t B, int64_t m, int64_t d,
                                   const int32_t* __restrict__ row_ptr,
                                   const int32_t* __restrict__ col, const float* __restrict__ val,
                                   const float* __restrict__ err, const float* __restrict__ W_dec,
                                   const float* __restrict__ norms, float l1_scale,
                                   float* __restrict__ dpre, double* __restrict__ row_l1) {
    __shared__ double sh[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int64_t b = blockIdx.x; b < B; b += gridDim.x) {
        const float* e = err + b * d;
        double l1 = 0.0;  // lane 0 of each warp
        for (int k = row_ptr[b] + warp; k < row_ptr[b + 1]; k += warps) {
            const int64_t i = col[k];
            const float* w = W_dec + i * d;
            float dot = 0.f;
            for (int64_t c = lane; c < d; c += 32) dot = fmaf(e[c], w[c], dot);
            dot = warp_sum(dot);
            if (lane == 0) {
                const float n = norms[i];
                dpre[b * m + i] = dot + l1_scale * n;
                l1 += (double)val[k] * (double)n;
            }
        }
        const double t = block_sum(l1, sh);
        if (threadIdx.x == 0) row_l1[b] = t;
    }
}

// chunk_off (chunks, m) = exclusive prefix over chunks of chunk_cnt; lat_cnt (m) = the totals.
__global__ void csc_offsets_kernel(int64_t chunks, int64_t m, const int32_t* __restrict__ chunk_cnt,
                                   int32_t* __restrict__ chunk_off, int32_t* __restrict__ lat_cnt) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= m) return;
    int32_t run = 0;
    for (int64_t ch = 0; ch < chunks; ++ch) {
        const int32_t c = chunk_cnt[ch * m + i];
        chunk_off[ch * m + i] = run;
        run += c;
    }
    lat_cnt[i] = run;
}

// csc_row[lat_ptr[i] ..] = rows b with f[b, i] > 0, ascending (=). Thread per column, block per
// (256 columns, 32-row chunk).
__global__ void csc_fill_kernel(int64_t B, int64_t m, const float* __restrict__ f,
                                const int32_t* __restrict__ lat_ptr,
                                const int32_t* __restrict__ chunk_off,
                                int32_t* __restrict__ csc_row) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= m) return;
    const int32_t end = lat_ptr[i + 1];
    const int64_t chunks = ceil_div(B, CHUNK_ROWS);
    for (int64_t ch = blockIdx.y; ch < chunks; ch += gridDim.y) {
        const int64_t r0 = ch * CHUNK_ROWS, r1 = r0 + CHUNK_ROWS < B ? r0 + CHUNK_ROWS : B;
        int32_t pos = lat_ptr[i] + chunk_off[ch * m + i];
        for (int64_t r = r0; r < r1; ++r)
            if (f[r * m + i] > 0.f && pos < end) csc_row[pos++] = (int32_t)r;
    }
}

// Per latent i (a block each): gW_dec,i = sum f err_b + coef W_dec,i, gW_encT,i = sum dpre xc_b,
// gb_enc,i = sum dpre (=), over the latent's rows in ascending order; zero rows when it never fired.
__global__ void latent_grads_kernel(int64_t m, int64_t d, const int32_t* __restrict__ lat_ptr,
                                    const int32_t* __restrict__ csc_row,
                                    const float* __restrict__ f, const float* __restrict__ dpre,
                                    const float* __restrict__ err, const float* __restrict__ xc,
                                    const float* __restrict__ W_dec,
                                    const float* __restrict__ norms, float l1_scale,
                                    float* __restrict__ gW_encT, float* __restrict__ gb_enc,
                                    float* __restrict__ gW_dec) {
    __shared__ int32_t s_row[LAT_CHUNK];
    __shared__ float s_f[LAT_CHUNK], s_dp[LAT_CHUNK];
    __shared__ float s_coef;
    const int tid = threadIdx.x, nt = blockDim.x, lane = tid & 31;
    for (int64_t i = blockIdx.x; i < m; i += gridDim.x) {
        const int e0 = lat_ptr[i], e1 = lat_ptr[i + 1];
        if (tid < 32) {  // warp 0: fsum_i and gb_enc,i in double, fixed order
            double fs = 0.0, gb = 0.0;
            for (int e = e0 + lane; e < e1; e += 32) {
                const int64_t at = (int64_t)csc_row[e] * m + i;
                fs += (double)f[at];
                gb += (double)dpre[at];
            }
            fs = warp_sum(fs);
            gb = warp_sum(gb);
            if (lane == 0) {
                gb_enc[i] = (float)gb;
                const float n = norms[i], fsf = (float)fs;
                s_coef = (n > 0.f && fsf != 0.f) ? l1_scale * fsf / n : 0.f;
            }
        }
        __syncthreads();
        const float coef = s_coef;
        for (int64_t c0 = 0; c0 < d; c0 += (int64_t)nt * LAT_V) {
            float gd[LAT_V], ge[LAT_V];
#pragma unroll
            for (int u = 0; u < LAT_V; ++u) gd[u] = ge[u] = 0.f;
            for (int ec = e0; ec < e1; ec += LAT_CHUNK) {
                const int n = e1 - ec < LAT_CHUNK ? e1 - ec : LAT_CHUNK;
                __syncthreads();  // the previous chunk has been read
                for (int t = tid; t < n; t += nt) {
                    const int32_t r = csc_row[ec + t];
                    const int64_t at = (int64_t)r * m + i;
                    s_row[t] = r;
                    s_f[t] = f[at];
                    s_dp[t] = dpre[at];
                }
                __syncthreads();
                for (int e = 0; e < n; ++e) {
                    const int64_t ro = (int64_t)s_row[e] * d;
                    const float a = s_f[e], p = s_dp[e];
#pragma unroll
                    for (int u = 0; u < LAT_V; ++u) {
                        const int64_t c = c0 + u * nt + tid;
                        if (c < d) {
                            gd[u] = fmaf(a, err[ro + c], gd[u]);
                            ge[u] = fmaf(p, xc[ro + c], ge[u]);
                        }
                    }
                }
            }
#pragma unroll
            for (int u = 0; u < LAT_V; ++u) {
                const int64_t c = c0 + u * nt + tid;
                if (c < d) {
                    gW_dec[i * d + c] = fmaf(coef, W_dec[i * d + c], gd[u]);
                    gW_encT[i * d + c] = ge[u];
                }
            }
        }
        __syncthreads();  // s_coef and the staging arrays are rewritten for the next latent
    }
}

// dpre (B, m) = [f > 0] (dpre + l1_scale n_i); row_l1 (B) = sum_i f_bi n_i. A block per row.
__global__ void dpre_dense_kernel(int64_t B, int64_t m, const float* __restrict__ f,
                                  const float* __restrict__ norms, float l1_scale,
                                  float* __restrict__ dpre, double* __restrict__ row_l1) {
    __shared__ double sh[32];
    for (int64_t b = blockIdx.x; b < B; b += gridDim.x) {
        double l1 = 0.0;
        for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
            const float fv = f[b * m + i], n = norms[i];
            dpre[b * m + i] = fv > 0.f ? dpre[b * m + i] + l1_scale * n : 0.f;
            l1 += (double)fv * (double)n;
        }
        const double t = block_sum(l1, sh);
        if (threadIdx.x == 0) row_l1[b] = t;
    }
}

// part (chunks, cols) = float sums of A (rows, cols) over each 32-row chunk.
__global__ void colsum_partial_kernel(int64_t rows, int64_t cols, const float* __restrict__ A,
                                      float* __restrict__ part) {
    const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    const int64_t chunks = ceil_div(rows, CHUNK_ROWS);
    for (int64_t ch = blockIdx.y; ch < chunks; ch += gridDim.y) {
        const int64_t r0 = ch * CHUNK_ROWS, r1 = r0 + CHUNK_ROWS < rows ? r0 + CHUNK_ROWS : rows;
        float s = 0.f;
        for (int64_t r = r0; r < r1; ++r) s += A[r * cols + c];
        part[ch * cols + c] = s;
    }
}

// out (cols) = sum over chunks of part, in chunk order, in double (=).
__global__ void colsum_final_kernel(int64_t chunks, int64_t cols, const float* __restrict__ part,
                                    float* __restrict__ out) {
    const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    double s = 0.0;
    for (int64_t ch = 0; ch < chunks; ++ch) s += (double)part[ch * cols + c];
    out[c] = (float)s;
}

// gW_dec,i += l1_scale fsum_i / n_i W_dec,i where n_i > 0 and fsum_i != 0. A block per latent.
__global__ void norm_term_kernel(int64_t m, int64_t d, float l1_scale,
                                 const float* __restrict__ fsum, const float* __restrict__ norms,
                                 const float* __restrict__ W_dec, float* __restrict__ gW_dec) {
    for (int64_t i = blockIdx.x; i < m; i += gridDim.x) {
        const float n = norms[i], fs = fsum[i];
        if (!(n > 0.f) || fs == 0.f) continue;  // block-uniform; no barrier in this kernel
        const float coef = l1_scale * fs / n;
        for (int64_t c = threadIdx.x; c < d; c += blockDim.x)
            gW_dec[i * d + c] = fmaf(coef, W_dec[i * d + c], gW_dec[i * d + c]);
    }
}

// losses[0] = sum row_sq / B, losses[1] = sum row_l1 / B (=). One block.
__global__ void losses_kernel(int64_t B, const double* __restrict__ row_sq,
                              const double* __restrict__ row_l1, float* __restrict__ losses) {
    __shared__ double sh[32];
    double sq = 0.0, l1 = 0.0;
    for (int64_t b = threadIdx.x; b < B; b += blockDim.x) {
        sq += row_sq[b];
        l1 += row_l1[b];
    }
    sq = block_sum(sq, sh);
    l1 = block_sum(l1, sh);
    if (threadIdx.x == 0) {
        losses[0] = (float)(sq / (double)B);
        losses[1] = (float)(l1 / (double)B);
    }
}

// out (cols) = column sums of A (rows, cols), through the batch's partials.
int column_sums(sae4j_cuda_batch* bt, int64_t rows, int64_t cols, const float* A, float* out) {
    cudaStream_t s = bt->ctx->stream;
    const int64_t chunks = ceil_div(rows, CHUNK_ROWS);
    dim3 grid(grid_x(ceil_div(cols, COL_THREADS)), grid_y(chunks));
    colsum_partial_kernel<<<grid, COL_THREADS, 0, s>>>(rows, cols, A, bt->part);
    LAUNCH_CHECK("colsum_partial_kernel");
    colsum_final_kernel<<<grid_x(ceil_div(cols, COL_THREADS)), COL_THREADS, 0, s>>>(
        chunks, cols, bt->part, out);
    LAUNCH_CHECK("colsum_final_kernel");
    return SAE4J_CUDA_OK;
}

// The checks every backward entry point shares.
int check_batch(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B) {
    REQUIRE(ctx != nullptr && batch != nullptr && batch->ctx == ctx);
    REQUIRE(batch->training);
    REQUIRE(B >= 1 && B <= batch->rows);
    return enter(ctx);
}

}  // namespace
}  // namespace sae4j_cuda

using namespace sae4j_cuda;

SAE4J_EXPORT int sae4j_cuda_sae_err(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B,
                                    int64_t d) {
    STATUS_CHECK(check_batch(ctx, batch, B));
    REQUIRE(d == batch->d);
    sae_err_kernel<<<grid_x(B), threads_for_width(d, 1), 0, ctx->stream>>>(
        B, d, batch->x, batch->xhat, 2.f / (float)B, batch->err, batch->row_sq);
    LAUNCH_CHECK("sae_err_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_sae_dpre_sparse(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch,
                                            int64_t B, int64_t m, const float* params,
                                            float lambda) {
    STATUS_CHECK(check_batch(ctx, batch, B));
    REQUIRE(m >= 1 && params != nullptr);
    REQUIRE(batch->last_sparse == 1 && B == batch->enc_B && m == batch->enc_m);
    const int64_t d = batch->d;
    const float* W_dec = params + m * d + m;  // (m, d)
    dpre_sparse_kernel<<<grid_x(B), 256, 0, ctx->stream>>>(
        B, m, d, batch->row_ptr, batch->col, batch->val, batch->err, W_dec, batch->norms,
        lambda / (float)B, batch->dpre, batch->row_l1);
    LAUNCH_CHECK("dpre_sparse_kernel");
    batch->dpre_sparse_done = true;
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_sae_grads_sparse(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch,
                                             int64_t B, int64_t m, const float* params,
                                             float lambda, float* grads) {
    STATUS_CHECK(check_batch(ctx, batch, B));
    REQUIRE(m >= 1 && params != nullptr && grads != nullptr);
    REQUIRE(batch->last_sparse == 1 && B == batch->enc_B && m == batch->enc_m);
    REQUIRE(batch->dpre_sparse_done);
    cudaStream_t s = ctx->stream;
    const int64_t d = batch->d, chunks = ceil_div(B, CHUNK_ROWS);
    const float* W_dec = params + m * d + m;  // (m, d)
    float* gW_encT = grads;                   // (m, d)
    float* gb_enc = grads + m * d;            // (m)
    float* gW_dec = grads + m * d + m;        // (m, d)

    csc_offsets_kernel<<<grid_x(ceil_div(m, 256)), 256, 0, s>>>(chunks, m, batch->chunk_cnt,
                                                                batch->chunk_off, batch->lat_cnt);
    LAUNCH_CHECK("csc_offsets_kernel");
    STATUS_CHECK(scan_counts(batch, batch->lat_cnt, batch->lat_ptr, m));
    dim3 grid(grid_x(ceil_div(m, 256)), grid_y(chunks));
    csc_fill_kernel<<<grid, 256, 0, s>>>(B, m, batch->f, batch->lat_ptr, batch->chunk_off,
                                         batch->csc_row);
    LAUNCH_CHECK("csc_fill_kernel");
    latent_grads_kernel<<<grid_x(m), threads_for_width(d, LAT_V), 0, s>>>(
        m, d, batch->lat_ptr, batch->csc_row, batch->f, batch->dpre, batch->err, batch->xc,
        W_dec, batch->norms, lambda / (float)B, gW_encT, gb_enc, gW_dec);
    LAUNCH_CHECK("latent_grads_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_sae_dpre_dense(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B,
                                           int64_t m, float lambda) {
    STATUS_CHECK(check_batch(ctx, batch, B));
    REQUIRE(m >= 1 && m <= batch->max_m);
    dpre_dense_kernel<<<grid_x(B), threads_for_width(m, 1), 0, ctx->stream>>>(
        B, m, batch->f, batch->norms, lambda / (float)B, batch->dpre, batch->row_l1);
    LAUNCH_CHECK("dpre_dense_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_sae_grads_dense(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch,
                                            int64_t B, int64_t m, const float* params,
                                            float lambda, float* grads) {
    STATUS_CHECK(check_batch(ctx, batch, B));
    REQUIRE(m >= 1 && m <= batch->max_m && params != nullptr && grads != nullptr);
    const int64_t d = batch->d;
    const float* W_dec = params + m * d + m;  // (m, d)
    float* gb_enc = grads + m * d;            // (m)
    float* gW_dec = grads + m * d + m;        // (m, d)
    STATUS_CHECK(column_sums(batch, B, m, batch->dpre, gb_enc));
    STATUS_CHECK(column_sums(batch, B, m, batch->f, batch->fsum));
    norm_term_kernel<<<grid_x(m), threads_for_width(d, 1), 0, ctx->stream>>>(
        m, d, lambda / (float)B, batch->fsum, batch->norms, W_dec, gW_dec);
    LAUNCH_CHECK("norm_term_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_sae_bdec_grad_partial(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch,
                                                  int64_t B, int64_t m, float* grads) {
    STATUS_CHECK(check_batch(ctx, batch, B));
    REQUIRE(m >= 1 && m <= batch->max_m && grads != nullptr);
    const int64_t d = batch->d;
    return column_sums(batch, B, d, batch->err, grads + 2 * m * d + m);  // gb_dec (d)
}

SAE4J_EXPORT int sae4j_cuda_sae_losses(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B,
                                       float* losses) {
    STATUS_CHECK(check_batch(ctx, batch, B));
    REQUIRE(losses != nullptr);
    losses_kernel<<<1, 256, 0, ctx->stream>>>(B, batch->row_sq, batch->row_l1, losses);
    LAUNCH_CHECK("losses_kernel");
    return SAE4J_CUDA_OK;
}
