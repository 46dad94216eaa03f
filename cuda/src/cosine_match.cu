// cosine_match.cu: batched cosine matching. For vectors a_i (n1) and b_j (n2) of length d:
// row_max_i = max_j cos(a_i, b_j) with its argmax, col_max_j = max_i cos(a_i, b_j) likewise,
// without ever writing the n1 x n2 matrix (131072 x 131072 x 2048 runs in (n1 + n2) d floats).
//
//  1. normalise_rows_kernel / normalise_cols_kernel write unit vectors into `work`, padded with
//     zeros to (roundup(n, 128), roundup(d, 32)) so that the main loop has no bounds checks;
//     centring (Pearson r) turns a constant vector into NaN, a zero vector stays zero.
//     Rows: a warp per vector; columns: a block per 32 vectors, transposed through shared memory
//     so that reads and writes are both coalesced. Sums in double.
//  2. cosine_max_kernel: a 128 x 128 tile of the cosine matrix per block (8 warps, each 64 x 32 as
//     4 x 2 WMMA m16n16k8 TF32 fragments, FP32 accumulate); K in chunks of 32 through shared
//     memory, double-buffered with cp.async so that the next chunk loads while this one
//     multiplies. FP32 precision = 3xTF32: each operand is split into big = tf32(x) and
//     small = tf32(x - big) and the products small*big + big*small + big*big are accumulated
//     (float32-level accuracy at a third of the TF32 rate). Tiles are visited in groups of 8 row
//     tiles so that the B tiles a wave of blocks reads stay in L2.
//     Epilogue: the accumulators go to shared memory (over the staging buffers); 128 threads take
//     a column each and 128 a row each (staggered start: no bank conflicts) and reduce the tile
//     to (max, argmax) per row and column, skipping NaN; each result is merged into global state
//     with a 64-bit atomicMax on a packed key: high word an order-preserving encoding of the
//     float, low word 0xFFFFFFFF - index, so equal values keep the smallest index across tiles.
//  3. cosine_finish_kernel decodes the keys; a key never written means -inf and index -1.
//  4. refine_kernel recomputes each maximum found as a double dot product, clamped to [-1, 1].
// (dev/cosine_match.cu keeps the plain SIMT FP32 version this was compared with.)
#include <mma.h>
#include <string.h>

#include "internal.cuh"

namespace sae4j_cuda {
namespace {

using namespace nvcuda;

constexpr int BM = 128, BN = 128, BK = 32;  // block tile and K chunk
constexpr int LDS = BK + 4;                 // staging row stride (floats): 16-byte rows, padded
constexpr int LDC = BN + 4;                 // accumulator tile row stride (floats)
constexpr int THREADS = 256;                // 8 warps: 2 (rows) x 4 (columns), 64 x 32 each
constexpr int GROUP = 8;                    // row tiles per group in the tile order
constexpr int SMEM_STAGE = 2 * (BM + BN) * LDS * (int)sizeof(float);  // 73728
constexpr int SMEM_C = BM * LDC * (int)sizeof(float);                 // 67584
constexpr int SMEM_BYTES = SMEM_STAGE > SMEM_C ? SMEM_STAGE : SMEM_C;

typedef unsigned long long u64;
typedef wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> AFrag;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> BFrag;
typedef wmma::fragment<wmma::accumulator, 16, 16, 8, float> CFrag;

inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Order-preserving key: larger value wins, then the smaller index. -0 counts as +0.
__host__ __device__ inline u64 cos_key(float v, uint32_t idx) {
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    if ((b << 1) == 0u) b = 0u;
    const uint32_t u = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
    return ((u64)u << 32) | (u64)(0xFFFFFFFFu - idx);
}
__host__ __device__ inline float key_value(u64 key) {
    const uint32_t u = (uint32_t)(key >> 32);
    const uint32_t b = (u & 0x80000000u) ? (u & 0x7FFFFFFFu) : ~u;
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}
__host__ __device__ inline int32_t key_index(u64 key) {
    return (int32_t)(0xFFFFFFFFu - (uint32_t)(key & 0xFFFFFFFFu));
}

// Tile t of t1 x t2 in grouped order: GROUP row tiles sweep the column tiles together.
__host__ __device__ inline void tile_coords(int64_t t, int64_t t1, int64_t t2, int64_t* tm,
                                            int64_t* tn) {
    const int64_t per_group = (int64_t)GROUP * t2;
    const int64_t g = t / per_group, first = g * GROUP;
    const int64_t rows = t1 - first < GROUP ? t1 - first : GROUP;
    const int64_t w = t - g * per_group;
    *tm = first + w % rows;
    *tn = w / rows;
}

// out (n_out, ld) = unit vectors of src's rows (n, d); rows >= n and columns >= d are zero.
__global__ void normalise_rows_kernel(int64_t n, int64_t d, const float* __restrict__ src,
                                      int center, float* __restrict__ out, int64_t ld,
                                      int64_t n_out) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t i = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); i < n_out;
         i += warps) {
        float* o = out + i * ld;
        if (i >= n) {
            for (int64_t k = lane; k < ld; k += 32) o[k] = 0.f;
            continue;
        }
        const float* s = src + i * d;
        double mean = 0.0;
        if (center) {
            double a = 0.0;
            for (int64_t k = lane; k < d; k += 32) a += (double)s[k];
            mean = warp_sum(a) / (double)d;
        }
        double ss = 0.0;
        for (int64_t k = lane; k < d; k += 32) {
            const double c = (double)s[k] - mean;
            ss += c * c;
        }
        ss = warp_sum(ss);
        const bool nan_row = center && !(ss > 1e-30);
        const double inv = ss > 1e-30 ? 1.0 / sqrt(ss) : 0.0;
        for (int64_t k = lane; k < ld; k += 32)
            o[k] = k >= d ? 0.f : nan_row ? __int_as_float(0x7fc00000) : (float)(((double)s[k] - mean) * inv);
    }
}

// As normalise_rows_kernel for vectors that are the columns of src (d, n). Block (32, 8) per 32
// vectors; reads and writes coalesced through a transposing tile.
__global__ void normalise_cols_kernel(int64_t n, int64_t d, const float* __restrict__ src,
                                      int center, float* __restrict__ out, int64_t ld,
                                      int64_t n_out) {
    __shared__ double s_part[8][32];
    __shared__ double s_mean[32], s_inv[32];  // s_inv < 0: NaN vector
    __shared__ float tile[32][33];
    const int tx = threadIdx.x, ty = threadIdx.y;
    for (int64_t i0 = (int64_t)blockIdx.x * 32; i0 < n_out; i0 += (int64_t)gridDim.x * 32) {
        const int64_t i = i0 + tx;
        const bool valid = i < n;
        double a = 0.0;
        if (center && valid)
            for (int64_t k = ty; k < d; k += 8) a += (double)src[k * n + i];
        s_part[ty][tx] = a;
        __syncthreads();
        if (ty == 0) {
            double t = 0.0;
            for (int j = 0; j < 8; ++j) t += s_part[j][tx];
            s_mean[tx] = center ? t / (double)d : 0.0;
        }
        __syncthreads();
        const double mean = s_mean[tx];
        double q = 0.0;
        if (valid)
            for (int64_t k = ty; k < d; k += 8) {
                const double c = (double)src[k * n + i] - mean;
                q += c * c;
            }
        s_part[ty][tx] = q;
        __syncthreads();
        if (ty == 0) {
            double t = 0.0;
            for (int j = 0; j < 8; ++j) t += s_part[j][tx];
            s_inv[tx] = t > 1e-30 ? 1.0 / sqrt(t) : (center ? -1.0 : 0.0);
        }
        __syncthreads();
        for (int64_t k0 = 0; k0 < ld; k0 += 32) {
            for (int kk = ty; kk < 32; kk += 8) {
                const int64_t k = k0 + kk;
                tile[kk][tx] = (valid && k < d) ? src[k * n + i] : 0.f;
            }
            __syncthreads();
            for (int v = ty; v < 32; v += 8) {
                const int64_t iv = i0 + v, k = k0 + tx;
                if (iv >= n_out || k >= ld) continue;
                float r = 0.f;
                if (iv < n && k < d)
                    r = s_inv[v] < 0.0 ? __int_as_float(0x7fc00000)
                                       : (float)(((double)tile[tx][v] - s_mean[v]) * s_inv[v]);
                out[iv * ld + k] = r;
            }
            __syncthreads();
        }
    }
}

int normalise(sae4j_cuda_ctx* ctx, int64_t n, int64_t d, const float* src, bool columns,
              bool center, float* out, int64_t ld, int64_t n_out) {
    if (columns) {
        normalise_cols_kernel<<<grid_x(ceil_div(n_out, 32)), dim3(32, 8), 0, ctx->stream>>>(
            n, d, src, center, out, ld, n_out);
        LAUNCH_CHECK("normalise_cols_kernel");
    } else {
        normalise_rows_kernel<<<grid_x(ceil_div(n_out, 8)), 256, 0, ctx->stream>>>(
            n, d, src, center, out, ld, n_out);
        LAUNCH_CHECK("normalise_rows_kernel");
    }
    return SAE4J_CUDA_OK;
}

// cp.async (sm_80+): 16 bytes global -> shared without a register round trip. Every target of
// this library is sm_80 or newer; the plain copy is for other compilations of this file (a
// host emulation of the kernels).
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem) : "memory");
#else
    memcpy(smem, gmem, 16);
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

// Stage `st` of As, Bs (BM, BN rows of BK floats) = columns k0 .. k0 + BK of Ag, Bg (row stride dp).
__device__ __forceinline__ void load_stage(float* As, float* Bs, int st, const float* Ag,
                                           const float* Bg, int64_t dp, int64_t k0, int tid) {
    float* a = As + st * BM * LDS;
    float* b = Bs + st * BN * LDS;
#pragma unroll
    for (int q = 0; q < BM * BK / 4 / THREADS; ++q) {
        const int c = tid + q * THREADS, row = c >> 3, c4 = (c & 7) << 2;
        cp_async16(a + row * LDS + c4, Ag + row * dp + k0 + c4);
        cp_async16(b + row * LDS + c4, Bg + row * dp + k0 + c4);
    }
}

template <bool SPLIT, typename Frag>
__device__ __forceinline__ void to_tf32(Frag& big, Frag& small) {
#pragma unroll
    for (int e = 0; e < big.num_elements; ++e) {
        const float x = big.x[e], hi = wmma::__float_to_tf32(x);
        if (SPLIT) small.x[e] = wmma::__float_to_tf32(x - hi);
        big.x[e] = hi;
    }
}

// acc += the warp's 64 x 32 block of (a stage of A) (a stage of B)^T. The B fragments of a k-step
// are held while the A fragments are loaded one at a time (fewer live registers).
template <bool SPLIT>
__device__ __forceinline__ void mma_stage(const float* a, const float* b, int wm, int wn,
                                          CFrag (&acc)[4][2]) {
#pragma unroll
    for (int kk = 0; kk < BK; kk += 8) {
        BFrag bb[2], bs[2];
#pragma unroll
        for (int fn = 0; fn < 2; ++fn) {
            wmma::load_matrix_sync(bb[fn], b + (wn * 32 + fn * 16) * LDS + kk, LDS);
            to_tf32<SPLIT>(bb[fn], bs[fn]);
        }
#pragma unroll
        for (int fm = 0; fm < 4; ++fm) {
            AFrag ab, as;
            wmma::load_matrix_sync(ab, a + (wm * 64 + fm * 16) * LDS + kk, LDS);
            to_tf32<SPLIT>(ab, as);
#pragma unroll
            for (int fn = 0; fn < 2; ++fn) {
                if (SPLIT) {
                    wmma::mma_sync(acc[fm][fn], as, bb[fn], acc[fm][fn]);
                    wmma::mma_sync(acc[fm][fn], ab, bs[fn], acc[fm][fn]);
                }
                wmma::mma_sync(acc[fm][fn], ab, bb[fn], acc[fm][fn]);
            }
        }
    }
}

__device__ __forceinline__ void update_key(u64* p, u64 key) {
    if (*(volatile u64*)p < key) atomicMax(p, key);
}

// row_key (n1), col_key (n2): atomicMax of the packed (cosine, index) keys over every tile.
// An (roundup(n1,128), dp), Bn (roundup(n2,128), dp): unit vectors, zero padded; dp % 32 == 0.
template <bool SPLIT>
__global__ void __launch_bounds__(THREADS, 2)
    cosine_max_kernel(int64_t n1, int64_t n2, int64_t dp, const float* __restrict__ An,
                      const float* __restrict__ Bn, u64* __restrict__ row_key,
                      u64* __restrict__ col_key) {
    extern __shared__ __align__(128) float smem[];
    float* As = smem;                 // [2][BM][LDS]
    float* Bs = smem + 2 * BM * LDS;  // [2][BN][LDS]
    float* Cs = smem;                 // [BM][LDC], over the stages after the K loop
    const int tid = threadIdx.x, warp = tid >> 5, wm = warp >> 2, wn = warp & 3;
    const int64_t t1 = ceil_div(n1, BM), t2 = ceil_div(n2, BN), nk = dp / BK;
    for (int64_t t = blockIdx.x; t < t1 * t2; t += gridDim.x) {
        int64_t tm, tn;
        tile_coords(t, t1, t2, &tm, &tn);
        const int64_t i0 = tm * BM, j0 = tn * BN;
        const float* Ag = An + i0 * dp;
        const float* Bg = Bn + j0 * dp;
        CFrag acc[4][2];
#pragma unroll
        for (int fm = 0; fm < 4; ++fm)
#pragma unroll
            for (int fn = 0; fn < 2; ++fn) wmma::fill_fragment(acc[fm][fn], 0.f);

        load_stage(As, Bs, 0, Ag, Bg, dp, 0, tid);
        cp_async_commit();
        for (int64_t kt = 0; kt < nk; ++kt) {
            if (kt + 1 < nk) {
                load_stage(As, Bs, (int)((kt + 1) & 1), Ag, Bg, dp, (kt + 1) * BK, tid);
                cp_async_commit();
                cp_async_wait<1>();  // stage kt has landed, kt + 1 may be in flight
            } else {
                cp_async_wait<0>();
            }
            __syncthreads();
            const int st = (int)(kt & 1);
            mma_stage<SPLIT>(As + st * BM * LDS, Bs + st * BN * LDS, wm, wn, acc);
            __syncthreads();  // the stage is refilled by the next iteration (or Cs overwrites it)
        }

#pragma unroll
        for (int fm = 0; fm < 4; ++fm)
#pragma unroll
            for (int fn = 0; fn < 2; ++fn)
                wmma::store_matrix_sync(Cs + (wm * 64 + fm * 16) * LDC + wn * 32 + fn * 16,
                                        acc[fm][fn], LDC, wmma::mem_row_major);
        __syncthreads();
        if (tid < BN) {  // column j0 + tid: max over the tile's rows, ascending (first max kept)
            const int c = tid;
            if (j0 + c < n2) {
                const int rmax = (int)(n1 - i0 < BM ? n1 - i0 : BM);
                float best = -INFINITY;
                int bi = -1;
                for (int r = 0; r < rmax; ++r) {
                    const float v = Cs[r * LDC + c];
                    if (v > best) {  // false for NaN
                        best = v;
                        bi = r;
                    }
                }
                if (bi >= 0) update_key(col_key + j0 + c, cos_key(best, (uint32_t)(i0 + bi)));
            }
        } else {  // row i0 + r: max over the tile's columns, staggered start, ties to the smaller
            const int r = tid - BN;
            if (i0 + r < n1) {
                const int cmax = (int)(n2 - j0 < BN ? n2 - j0 : BN);
                float best = -INFINITY;
                int bc = -1;
                for (int s = 0; s < BN; ++s) {
                    const int c = (s + r) & (BN - 1);
                    if (c >= cmax) continue;
                    const float v = Cs[r * LDC + c];
                    if (v > best || (v == best && c < bc)) {
                        best = v;
                        bc = c;
                    }
                }
                if (bc >= 0) update_key(row_key + i0 + r, cos_key(best, (uint32_t)(j0 + bc)));
            }
        }
        __syncthreads();  // Cs is read before the next tile's loads overwrite it
    }
}

// max (n), arg (n) (=) from the keys; -inf and -1 where nothing was recorded.
__global__ void cosine_finish_kernel(int64_t n, const u64* __restrict__ key,
                                     float* __restrict__ max, int32_t* __restrict__ arg) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const u64 k = key[i];
        max[i] = k == 0 ? -INFINITY : key_value(k);
        arg[i] = k == 0 ? -1 : key_index(k);
    }
}

// The maxima as exact dot products of the unit vectors found (as the CPU library): a float
// accumulation over d (TF32 products, or 3xTF32's) drifts by up to ~sqrt(d) ulps or more, and
// a correlation of 1.0000011 was reported for equal vectors; summed in double, the only error left
// is the unit vectors' own rounding (~1e-7), and the result is clamped to [-1, 1]. One warp per
// maximum; own (n, dp) and other (., dp) are the padded unit vectors of the two sides.
__global__ void refine_kernel(int64_t n, int64_t dp, const float* __restrict__ own,
                              const float* __restrict__ other, const int32_t* __restrict__ arg,
                              float* __restrict__ max) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t i = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; i < n; i += warps) {
        const int32_t j = arg[i];
        if (j < 0) continue;  // warp-uniform
        double dot = 0;
        for (int64_t k = lane; k < dp; k += 32) dot += (double)own[i * dp + k] * (double)other[(int64_t)j * dp + k];
        dot = warp_sum(dot);
        if (lane == 0) max[i] = (float)fmax(-1.0, fmin(1.0, dot));
    }
}

bool sizes_ok(int64_t n1, int64_t n2, int64_t d) {
    return n1 >= 1 && n2 >= 1 && d >= 1 && n1 <= INT32_MAX && n2 <= INT32_MAX && d <= INT32_MAX;
}

// Bytes of work: An, Bn (padded) and the keys; -1 when it overflows.
int64_t workspace_bytes(int64_t n1, int64_t n2, int64_t d) {
    const int64_t vecs = round_up(n1, BM) + round_up(n2, BN), dp = round_up(d, BK);
    int64_t floats, bytes;
    if (__builtin_mul_overflow(vecs, dp, &floats) || __builtin_mul_overflow(floats, (int64_t)4, &bytes))
        return -1;
    if (__builtin_add_overflow(bytes, (int64_t)8 * (n1 + n2), &bytes)) return -1;
    return bytes;
}

}  // namespace
}  // namespace sae4j_cuda

using namespace sae4j_cuda;

SAE4J_EXPORT int64_t sae4j_cuda_cosine_max_workspace(int64_t n1, int64_t n2, int64_t d) {
    if (!sizes_ok(n1, n2, d)) return -1;
    return workspace_bytes(n1, n2, d);
}

SAE4J_EXPORT int sae4j_cuda_cosine_max(sae4j_cuda_ctx* ctx, int64_t n1, int64_t n2, int64_t d,
                                       const float* A, int32_t a_columns, const float* B,
                                       int32_t b_columns, int32_t center, int precision,
                                       float* row_max, int32_t* row_arg, float* col_max,
                                       int32_t* col_arg, void* work) {
    REQUIRE(ctx != nullptr);
    REQUIRE(sizes_ok(n1, n2, d) && workspace_bytes(n1, n2, d) > 0);
    REQUIRE(A != nullptr && B != nullptr && work != nullptr);
    REQUIRE(row_max != nullptr && row_arg != nullptr && col_max != nullptr && col_arg != nullptr);
    REQUIRE(precision == SAE4J_CUDA_COSINE_FP32 || precision == SAE4J_CUDA_COSINE_TF32);
    REQUIRE(((uintptr_t)work & 15) == 0);
    STATUS_CHECK(enter(ctx));
    cudaStream_t s = ctx->stream;
    const int64_t n1p = round_up(n1, BM), n2p = round_up(n2, BN), dp = round_up(d, BK);
    float* An = (float*)work;                  // (n1p, dp)
    float* Bn = An + n1p * dp;                 // (n2p, dp)
    u64* row_key = (u64*)(Bn + n2p * dp);      // (n1)
    u64* col_key = row_key + n1;               // (n2)
    STATUS_CHECK(normalise(ctx, n1, d, A, a_columns != 0, center != 0, An, dp, n1p));
    STATUS_CHECK(normalise(ctx, n2, d, B, b_columns != 0, center != 0, Bn, dp, n2p));
    CUDA_CHECK(cudaMemsetAsync(row_key, 0, (size_t)(n1 + n2) * sizeof(u64), s));
    const int64_t tiles = (n1p / BM) * (n2p / BN);
    if (precision == SAE4J_CUDA_COSINE_FP32) {
        CUDA_CHECK(cudaFuncSetAttribute(cosine_max_kernel<true>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_BYTES));
        cosine_max_kernel<true><<<grid_x(tiles), THREADS, SMEM_BYTES, s>>>(n1, n2, dp, An, Bn,
                                                                          row_key, col_key);
        LAUNCH_CHECK("cosine_max_kernel<3xTF32>");
    } else {
        CUDA_CHECK(cudaFuncSetAttribute(cosine_max_kernel<false>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_BYTES));
        cosine_max_kernel<false><<<grid_x(tiles), THREADS, SMEM_BYTES, s>>>(n1, n2, dp, An, Bn,
                                                                           row_key, col_key);
        LAUNCH_CHECK("cosine_max_kernel<TF32>");
    }
    cosine_finish_kernel<<<grid_x(ceil_div(n1, 256)), 256, 0, s>>>(n1, row_key, row_max, row_arg);
    LAUNCH_CHECK("cosine_finish_kernel");
    cosine_finish_kernel<<<grid_x(ceil_div(n2, 256)), 256, 0, s>>>(n2, col_key, col_max, col_arg);
    LAUNCH_CHECK("cosine_finish_kernel");
    refine_kernel<<<grid_x(ceil_div(n1, 8)), 256, 0, s>>>(n1, dp, An, Bn, row_arg, row_max);
    LAUNCH_CHECK("refine_kernel");
    refine_kernel<<<grid_x(ceil_div(n2, 8)), 256, 0, s>>>(n2, dp, Bn, An, col_arg, col_max);
    LAUNCH_CHECK("refine_kernel");
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_normalise(sae4j_cuda_ctx* ctx, int64_t n, int64_t d, const float* src,
                                      int32_t columns, int32_t center, float* out) {
    REQUIRE(ctx != nullptr);
    REQUIRE(n >= 1 && d >= 1 && n <= INT32_MAX && d <= INT32_MAX);
    REQUIRE(src != nullptr && out != nullptr);
    STATUS_CHECK(enter(ctx));
    return normalise(ctx, n, d, src, columns != 0, center != 0, out, d, n);
}
