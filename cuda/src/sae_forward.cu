// sae_forward.cu: the SAE forward pass around the caller's encoder GEMM: the ReLU epilogue (bias,
// ReLU, counts, the sparse/dense choice and the CSR of the latents) and the sparse decoder.
//
//  - relu_epilogue_kernel: a block owns 256 columns x 32 rows (coalesced rows); each thread keeps
//    one column's count (firing, per-chunk counts for the CSC of the backward pass) and the warps
//    add per-row counts with a ballot + popc into shared memory, so there is one global atomic per
//    (block, row), per (block, column) and per warp. Integer atomics: the counts are exact.
//  - csr_fill_kernel: one warp per row; each 32-column step is a ballot, and a lane's slot is the
//    popc of the set lanes below it, so columns stay in ascending order without a second pass.
//  - topk_select_kernel (TopK only, before the epilogue): one block per row finds the k-th largest
//    positive pre + b_enc by a radix select over its float bits (positive floats order as their
//    bits: four 8-bit passes with a shared histogram), then marks the positives below it, and the
//    ties at it past the first ones in index order, with -inf so that the epilogue zeroes them.
//  - decode_sparse_kernel: one block per row; the row's (col, val) pairs are staged in shared
//    memory and every thread accumulates a few output columns over them in entry order; W_dec rows
//    are read coalesced. B * L0 * d work instead of the 2 B m d of the dense GEMM.
//
// The path choice needs no host sync: AUTO uses the density of an earlier encode whose nnz was
// copied asynchronously to a pinned word; a copy is only enqueued when the previous one has been
// consumed, so the word is never overwritten while it is read.
#include "internal.cuh"

namespace sae4j_cuda {
namespace {

constexpr int EPI_THREADS = 256;
constexpr int TOPK_THREADS = 256;
constexpr int FILL_UNROLL = 4;
constexpr int DEC_V = 4;        // output columns per thread per pass
constexpr int DEC_CHUNK = 256;  // CSR entries staged in shared memory at a time

// In place on f (B, m): f = max(f + b_enc, 0). row_nnz (B) += per-row nonzeros, *nnz_total +=
// all of them (both zeroed by the caller; 64-bit: B m may pass 2^31 with dense storage); firing (m) += per-column nonzeros when not null;
// chunk_cnt (ceil(B/32), m) = nonzeros of each column within each 32-row chunk when not null.
__global__ void __launch_bounds__(EPI_THREADS)
    relu_epilogue_kernel(int64_t B, int64_t m, const float* __restrict__ b_enc, float* f,
                         int32_t* __restrict__ row_nnz, unsigned long long* __restrict__ nnz_total,
                         int32_t* __restrict__ firing, int32_t* __restrict__ chunk_cnt) {
    __shared__ int s_row[CHUNK_ROWS];
    const int tid = threadIdx.x, lane = tid & 31;
    const int64_t col = (int64_t)blockIdx.x * EPI_THREADS + tid;
    const bool in = col < m;
    const float bias = in ? b_enc[col] : 0.f;
    const int64_t chunks = ceil_div(B, CHUNK_ROWS);
    for (int64_t ch = blockIdx.y; ch < chunks; ch += gridDim.y) {
        if (tid < CHUNK_ROWS) s_row[tid] = 0;
        __syncthreads();
        const int64_t r0 = ch * CHUNK_ROWS;
        const int rn = (int)(B - r0 < CHUNK_ROWS ? B - r0 : CHUNK_ROWS);  // block-uniform
        int cnt = 0;
#pragma unroll 8
        for (int r = 0; r < CHUNK_ROWS; ++r) {
            if (r >= rn) break;
            bool nz = false;
            if (in) {
                float* p = f + (r0 + r) * m + col;
                float v = *p + bias;
                v = v > 0.f ? v : 0.f;  // NaN -> 0, as the CPU kernel
                *p = v;
                nz = v > 0.f;
            }
            const unsigned bal = __ballot_sync(0xffffffffu, nz);
            if (lane == 0 && bal) atomicAdd(&s_row[r], __popc(bal));
            cnt += nz;
        }
        __syncthreads();
        if (tid < rn && s_row[tid] != 0) atomicAdd(row_nnz + r0 + tid, s_row[tid]);
        if (in) {
            if (firing && cnt) atomicAdd(firing + col, cnt);
            if (chunk_cnt) chunk_cnt[ch * m + col] = cnt;
        }
        const int wsum = warp_sum(cnt);
        if (lane == 0 && wsum) atomicAdd(nnz_total, (unsigned long long)wsum);
        __syncthreads();  // s_row is reset by the next chunk
    }
}

// For each row of f (B, m), holding pre: among v_i = pre_i + b_enc_i > 0, all but the k largest
// (ties: the lower index, as the CPU kernel) get pre_i = -inf, which the ReLU epilogue turns into 0.
// A row with at most k positives is left as it is. NaN is never positive, as in the epilogue.
__global__ void __launch_bounds__(TOPK_THREADS)
    topk_select_kernel(int64_t B, int64_t m, int64_t k, const float* __restrict__ b_enc, float* f) {
    __shared__ unsigned hist[256];
    __shared__ unsigned s_prefix, s_rank, s_count;
    __shared__ int s_warp[TOPK_THREADS / 32];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nt = blockDim.x;
    for (int64_t r = blockIdx.x; r < B; r += gridDim.x) {
        float* row = f + r * m;
        if (tid == 0) s_count = 0;
        __syncthreads();
        int pos = 0;
        for (int64_t i = tid; i < m; i += nt) pos += row[i] + b_enc[i] > 0.f;
        pos = warp_sum(pos);
        if (lane == 0 && pos) atomicAdd(&s_count, (unsigned)pos);
        __syncthreads();
        const bool keep_all = (int64_t)s_count <= k;  // block-uniform
        __syncthreads();  // every thread has read s_count before thread 0 resets it for the next row
        if (keep_all) continue;
        // the k-th largest positive's bits, 8 at a time from the top; rank = its rank among the
        // values that share the bits found so far
        unsigned prefix = 0, rank = (unsigned)k;
        for (int shift = 24; shift >= 0; shift -= 8) {
            const unsigned known = shift == 24 ? 0u : ~0u << (shift + 8);
            hist[tid] = 0;  // TOPK_THREADS == 256 bins
            __syncthreads();
            for (int64_t i = tid; i < m; i += nt) {
                const float v = row[i] + b_enc[i];
                const unsigned u = __float_as_uint(v);
                if (v > 0.f && (u & known) == prefix) atomicAdd(&hist[(u >> shift) & 255u], 1u);
            }
            __syncthreads();
            if (tid == 0) {
                unsigned above = 0;
                int bin = 255;
                while (above + hist[bin] < rank) above += hist[bin--];
                s_prefix = prefix | ((unsigned)bin << shift);
                s_rank = rank - above;
            }
            __syncthreads();
            prefix = s_prefix;
            rank = s_rank;
        }
        const float kth = __uint_as_float(prefix);
        // rank = how many values equal to kth are kept: the first ones in index order
        unsigned ties = 0;  // ties before this chunk (block-uniform)
        for (int64_t base = 0; base < m; base += nt) {
            const int64_t i = base + tid;
            const float v = i < m ? row[i] + b_enc[i] : 0.f;
            const bool tie = i < m && v == kth;
            const unsigned bal = __ballot_sync(0xffffffffu, tie);
            if (lane == 0) s_warp[warp] = __popc(bal);
            __syncthreads();
            unsigned before = ties + __popc(bal & ((1u << lane) - 1u)), chunk = 0;
            for (int w = 0; w < nt / 32; ++w) {
                before += w < warp ? s_warp[w] : 0;
                chunk += s_warp[w];
            }
            const bool keep = v > kth || (tie && before < rank);
            if (i < m && v > 0.f && !keep) row[i] = -INFINITY;
            ties += chunk;
            __syncthreads();  // s_warp is rewritten by the next chunk
        }
    }
}

// *nnz (=) the 64-bit count, saturated to int32.
__global__ void nnz_store_kernel(const unsigned long long* __restrict__ total,
                                 int32_t* __restrict__ nnz) {
    if (threadIdx.x == 0 && blockIdx.x == 0)
        *nnz = *total > (unsigned long long)INT32_MAX ? INT32_MAX : (int32_t)*total;
}

// CSR of f (B, m): col, val at row_ptr[b] .. row_ptr[b + 1] (=), columns ascending. One warp per row.
__global__ void csr_fill_kernel(int64_t B, int64_t m, const float* __restrict__ f,
                                const int32_t* __restrict__ row_ptr, int32_t* __restrict__ col,
                                float* __restrict__ val) {
    const int lane = threadIdx.x & 31;
    const unsigned below = (1u << lane) - 1u;
    const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t b = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); b < B;
         b += warps) {
        const float* fr = f + b * m;
        int base = row_ptr[b];
        for (int64_t c0 = 0; c0 < m; c0 += 32 * FILL_UNROLL) {
            float v[FILL_UNROLL];
#pragma unroll
            for (int u = 0; u < FILL_UNROLL; ++u) {
                const int64_t c = c0 + u * 32 + lane;
                v[u] = c < m ? fr[c] : 0.f;
            }
#pragma unroll
            for (int u = 0; u < FILL_UNROLL; ++u) {
                const bool nz = v[u] > 0.f;
                const unsigned bal = __ballot_sync(0xffffffffu, nz);
                if (nz) {
                    const int pos = base + __popc(bal & below);
                    col[pos] = (int32_t)(c0 + u * 32 + lane);
                    val[pos] = v[u];
                }
                base += __popc(bal);
            }
        }
    }
}

// xhat (B, d) = b_dec + sum over row b's CSR entries of val W_dec[col] (=). One block per row.
__global__ void decode_sparse_kernel(int64_t B, int64_t d, const int32_t* __restrict__ row_ptr,
                                     const int32_t* __restrict__ col,
                                     const float* __restrict__ val,
                                     const float* __restrict__ W_dec,
                                     const float* __restrict__ b_dec, float* __restrict__ xhat) {
    __shared__ int32_t s_col[DEC_CHUNK];
    __shared__ float s_val[DEC_CHUNK];
    const int tid = threadIdx.x, nt = blockDim.x;
    for (int64_t b = blockIdx.x; b < B; b += gridDim.x) {
        const int k0 = row_ptr[b], k1 = row_ptr[b + 1];
        for (int64_t c0 = 0; c0 < d; c0 += (int64_t)nt * DEC_V) {
            float acc[DEC_V];
#pragma unroll
            for (int u = 0; u < DEC_V; ++u) {
                const int64_t c = c0 + u * nt + tid;
                acc[u] = c < d ? b_dec[c] : 0.f;
            }
            for (int kc = k0; kc < k1; kc += DEC_CHUNK) {
                const int n = k1 - kc < DEC_CHUNK ? k1 - kc : DEC_CHUNK;
                __syncthreads();  // the previous chunk has been read
                for (int t = tid; t < n; t += nt) {
                    s_col[t] = col[kc + t];
                    s_val[t] = val[kc + t];
                }
                __syncthreads();
                for (int e = 0; e < n; ++e) {
                    const float* w = W_dec + (int64_t)s_col[e] * d;
                    const float a = s_val[e];
#pragma unroll
                    for (int u = 0; u < DEC_V; ++u) {
                        const int64_t c = c0 + u * nt + tid;
                        if (c < d) acc[u] = fmaf(a, w[c], acc[u]);
                    }
                }
            }
#pragma unroll
            for (int u = 0; u < DEC_V; ++u) {
                const int64_t c = c0 + u * nt + tid;
                if (c < d) xhat[b * d + c] = acc[u];
            }
        }
    }
}

// The path of this encode. AUTO storage: the caller's path when it gives one, else the density of
// the latest earlier encode whose async read-back has completed (cudaEventQuery, no sync); dense
// before any such information. The read-back is consumed either way, so it stays current.
int choose_sparse(sae4j_cuda_batch* b, int path, bool* sparse) {
    if (b->storage == SAE4J_CUDA_LATENTS_SPARSE) {
        *sparse = true;
        return SAE4J_CUDA_OK;
    }
    if (b->storage == SAE4J_CUDA_LATENTS_DENSE) {
        *sparse = false;
        return SAE4J_CUDA_OK;
    }
    if (b->copy_pending) {
        const cudaError_t q = cudaEventQuery(b->nnz_event);
        if (q == cudaSuccess) {
            b->density = (double)*(volatile unsigned long long*)b->pinned_nnz /
                         ((double)b->pend_B * (double)b->pend_m);
            b->have_density = true;
            b->copy_pending = false;
        } else if (q == cudaErrorNotReady) {
            if (cudaPeekAtLastError() == cudaErrorNotReady) (void)cudaGetLastError();
        } else {
            return fail_cuda(__FILE__, __LINE__, "cudaEventQuery(nnz_event)", q);
        }
    }
    *sparse = path == SAE4J_CUDA_PATH_AUTO ? b->have_density && b->density <= b->max_density
                                           : path == SAE4J_CUDA_PATH_SPARSE;
    return SAE4J_CUDA_OK;
}

// f (B, n) = relu(f + bias) where topk_select_kernel left f, 0 where it marked -inf (AuxK's
// selection among the dead latents: no counts, no CSR).
__global__ void relu_marked_kernel(int64_t B, int64_t n, const float* __restrict__ bias, float* f) {
    const int64_t total = B * n;
    for (int64_t at = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; at < total;
         at += (int64_t)gridDim.x * blockDim.x) {
        const float v = f[at] + bias[at % n];
        f[at] = v > 0.f ? v : 0.f;  // -inf + bias and NaN are not positive
    }
}

}  // namespace
}  // namespace sae4j_cuda

using namespace sae4j_cuda;

SAE4J_EXPORT int sae4j_cuda_sae_epilogue(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B,
                                         int64_t m, const float* b_enc, int act, int64_t k,
                                         const float* threshold, int32_t* nnz, int32_t* firing,
                                         int path) {
    REQUIRE(ctx != nullptr && batch != nullptr && batch->ctx == ctx);
    REQUIRE(B >= 1 && B <= batch->rows && m >= 1 && m <= batch->max_m);
    REQUIRE(b_enc != nullptr && nnz != nullptr);
    REQUIRE(path >= SAE4J_CUDA_PATH_AUTO && path <= SAE4J_CUDA_PATH_SPARSE);
    if (act == SAE4J_CUDA_ACT_BATCHTOPK || act == SAE4J_CUDA_ACT_JUMPRELU)
        return fail_unsupported(__FILE__, __LINE__, "activation other than ReLU and TopK in sae_epilogue");
    REQUIRE(act == SAE4J_CUDA_ACT_RELU || act == SAE4J_CUDA_ACT_TOPK);
    REQUIRE(act != SAE4J_CUDA_ACT_TOPK || (k >= 1 && k <= m));
    (void)threshold;  // JumpReLU's
    STATUS_CHECK(enter(ctx));
    batch->last_sparse = -1;
    batch->dpre_sparse_done = false;
    cudaStream_t s = ctx->stream;

    CUDA_CHECK(cudaMemsetAsync(batch->row_nnz, 0, (size_t)B * sizeof(int32_t), s));
    CUDA_CHECK(cudaMemsetAsync(batch->nnz_dev, 0, sizeof(unsigned long long), s));
    if (act == SAE4J_CUDA_ACT_TOPK) {
        topk_select_kernel<<<grid_x(B), TOPK_THREADS, 0, s>>>(B, m, k, b_enc, batch->f);
        LAUNCH_CHECK("topk_select_kernel");
    }
    dim3 grid(grid_x(ceil_div(m, EPI_THREADS)), grid_y(ceil_div(B, CHUNK_ROWS)));
    relu_epilogue_kernel<<<grid, EPI_THREADS, 0, s>>>(B, m, b_enc, batch->f, batch->row_nnz,
                                                      batch->nnz_dev, firing, batch->chunk_cnt);
    LAUNCH_CHECK("relu_epilogue_kernel");
    nnz_store_kernel<<<1, 32, 0, s>>>(batch->nnz_dev, nnz);
    LAUNCH_CHECK("nnz_store_kernel");

    bool sparse = false;
    STATUS_CHECK(choose_sparse(batch, path, &sparse));
    if (batch->storage == SAE4J_CUDA_LATENTS_AUTO && !batch->copy_pending) {
        CUDA_CHECK(cudaMemcpyAsync(batch->pinned_nnz, batch->nnz_dev, sizeof(unsigned long long),
                                   cudaMemcpyDeviceToHost, s));
        CUDA_CHECK(cudaEventRecord(batch->nnz_event, s));
        batch->copy_pending = true;
        batch->pend_B = B;
        batch->pend_m = m;
    }
    if (sparse) {
        STATUS_CHECK(scan_counts(batch, batch->row_nnz, batch->row_ptr, B));
        const int threads = 256;  // 8 rows per block
        csr_fill_kernel<<<grid_x(ceil_div(B, threads / 32)), threads, 0, s>>>(
            B, m, batch->f, batch->row_ptr, batch->col, batch->val);
        LAUNCH_CHECK("csr_fill_kernel");
    }
    batch->last_sparse = sparse ? 1 : 0;
    batch->enc_B = B;
    batch->enc_m = m;
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_sae_decode_sparse(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch,
                                              int64_t B, int64_t m, const float* params) {
    REQUIRE(ctx != nullptr && batch != nullptr && batch->ctx == ctx);
    REQUIRE(B >= 1 && m >= 1 && params != nullptr);
    REQUIRE(batch->last_sparse == 1 && B == batch->enc_B && m == batch->enc_m);
    STATUS_CHECK(enter(ctx));
    const int64_t d = batch->d;
    const float* W_dec = params + m * d + m;      // (m, d)
    const float* b_dec = params + 2 * m * d + m;  // (d)
    const int threads = threads_for_width(d, DEC_V);
    decode_sparse_kernel<<<grid_x(B), threads, 0, ctx->stream>>>(
        B, d, batch->row_ptr, batch->col, batch->val, W_dec, b_dec, batch->xhat);
    LAUNCH_CHECK("decode_sparse_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_topk_relu(sae4j_cuda_ctx* ctx, int64_t B, int64_t n, int64_t k,
                                      const float* bias, float* f) {
    REQUIRE(ctx != nullptr && B >= 1 && n >= 1 && k >= 1 && k <= n && bias != nullptr && f != nullptr);
    STATUS_CHECK(enter(ctx));
    cudaStream_t s = ctx->stream;
    topk_select_kernel<<<grid_x(B), TOPK_THREADS, 0, s>>>(B, n, k, bias, f);
    LAUNCH_CHECK("topk_select_kernel");
    relu_marked_kernel<<<grid_x(ceil_div(B * n, 256)), 256, 0, s>>>(B, n, bias, f);
    LAUNCH_CHECK("relu_marked_kernel");
    return SAE4J_CUDA_OK;
}
