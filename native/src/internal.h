// Private to native/src: the context of a backend instance (thread pool + leaf loops of one
// instruction set), the batch workspace and the ISA-dispatched leaf
// loops shared by the kernel files. Not part of the public header.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

#include "sae4j_cpu.h"

namespace sae4j {

// Leaf loops over one row, compiled once per instruction set (vecops.cpp); a context holds the
// table for its ISA.
struct VecOps {
    float (*dot)(const float* x, const float* y, int64_t n);
    void (*axpy)(float a, const float* x, float* y, int64_t n);   // y += a x
    void (*scale)(float a, const float* x, float* y, int64_t n);  // y = a x
    // f = max(pre + b, 0), returns the number of nonzeros written; firing (may be NULL) += f > 0
    int32_t (*relu_bias)(const float* pre, const float* b, float* f, int32_t* firing, int64_t n);
    // the nonzeros of f (n) appended to col/val; returns how many
    int32_t (*nonzeros)(const float* f, int64_t n, int32_t* col, float* val);
    // one row of the dense backward: dp = f > 0 ? dp + s norms : 0; dsum += dp; fsum += f
    void (*mask_grad)(const float* f, const float* norms, float s, float* dp, float* dsum,
                      float* fsum, int64_t n);
    void (*sub)(const float* x, const float* b, float* out, int64_t n);  // out = x - b
    // e = s (xhat - x); returns sum of (xhat - x)^2 in double
    double (*scaled_diff)(const float* xhat, const float* x, float s, float* e, int64_t n);
    double (*sumsq)(const float* x, int64_t n);
    void (*adam)(float* p, const float* g, float* m1, float* m2, int64_t n, float lr_t, float b1,
                 float b2, float eps_t);
    // running maxima of the column j of a block: colmax[j] = max(colmax[j], row[j]), colarg = i
    void (*col_max_update)(const float* row, float* colmax, int32_t* colarg, int32_t i, int64_t n);
    // the largest element of row that is > floor (NaN never is), or floor when none
    float (*max_above)(const float* row, int64_t n, float floor);
    // the positions j < n where key(row[j]) > min(row_thr, col_thr[j]), key = |x| when absolute,
    // else x; returns how many were written to hits (n at most)
    int32_t (*topk_hits)(const float* row, const float* col_thr, float row_thr, int absolute, int64_t n,
                         int32_t* hits);
};
const VecOps& vec_for(int isa);
int best_isa();

class Pool;  // threads.cpp

}  // namespace sae4j

struct sae4j_cpu_ctx {
    int threads;
    int isa;
    const sae4j::VecOps* ops;
    std::unique_ptr<sae4j::Pool> pool;

    const sae4j::VecOps& vec() const { return *ops; }
    // Runs fn(begin, end) over [0, n) split into contiguous chunks of at least `grain` items, one
    // per pool thread. Serial when n is small, when the pool has one thread, or when called
    // re-entrantly (a kernel's parallel loop inside another's).
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
};

// The batch workspace: allocated once by sae4j_cpu_batch_create (batch.cpp), 64-byte aligned.
struct sae4j_cpu_batch {
    int64_t rows, d, max_m;
    int storage;
    double max_density;
    bool training;
    float *x, *xc, *f, *xhat;          // (rows, d), (rows, d), (rows, max_m), (rows, d)
    float *err, *dpre;                 // training: (rows, d), (rows, max_m) or one per CSR entry
    float *norms, *fsum;               // training: (max_m) decoder row norms, per-latent f sums
    float* col_parts;                  // training: (ROW_BLOCKS, 2 max(max_m, d)) partial sums
    double* row_sq;                    // training: (rows) per-row squared error
    double *col_mean, *col_ss;         // (d) each: scratch of sae4j_cpu_sum_sq_dev
    int32_t* row_nnz;                  // (rows)
    int64_t csr_cap;                   // 0 for DENSE storage
    int64_t* row_ptr;                  // (rows + 1)
    int64_t seg_cap;                   // row segments of the encoder epilogue (4 per pool thread)
    int64_t* seg_fill;                 // (seg_cap) entries each segment collected
    int32_t* seg_firing;               // (seg_cap, max_m) each segment's firing counts
    int32_t* col;                      // (csr_cap)
    float* val;                        // (csr_cap)
    int sparse;                        // path of the last encode: 1 sparse, 0 dense, -1 none
    int decoded;                       // the last encode has been decoded
    int64_t filled_rows, filled_m;     // the (B, m) of the last encode
};

namespace sae4j {
// Row blocks whose partial column sums are added in block order: a fixed count, so that sums do
// not depend on the thread count.
constexpr int64_t ROW_BLOCKS = 16;
inline bool positive(int64_t v) { return v > 0; }

// Views of the flat SAE tensors [W_encT (m, d) | b_enc (m) | W_dec (m, d) | b_dec (d)].
template <typename T>
struct SaeTensors {
    T *W_encT, *b_enc, *W_dec, *b_dec;
    SaeTensors(T* flat, int64_t d, int64_t m)
        : W_encT(flat), b_enc(flat + m * d), W_dec(flat + m * d + m), b_dec(flat + 2 * m * d + m) {}
};
// Asks for a row of n floats ahead of its use (the rows of sparse kernels are random: the hardware
// prefetcher only catches on after a few of its lines).
inline void prefetch_row(const float* row, int64_t n, bool write) {
    for (int64_t i = 0; i < n; i += 16) {
        if (write) __builtin_prefetch(row + i, 1);
        else __builtin_prefetch(row + i, 0);
    }
}
// row (n) >= 0 with more than k positives: keeps its k largest (ties: the lower index) and zeroes
// the rest, adding the kept to firing (may be NULL); returns k (sae_forward.cpp).
int32_t keep_top_k(float* row, int64_t n, int64_t k, int32_t* firing);
// out (d) -= sum_i coef_i rows_i over the n rows of rows (n, d): partial sums over ROW_BLOCKS
// chunks of rows in parts (ROW_BLOCKS d floats), added in chunk order whatever the thread count
// (sae_backward.cpp).
void subtract_weighted_rows(sae4j_cpu_ctx* ctx, int64_t n, int64_t d, const float* coef, const float* rows,
                            float* parts, float* out);
// The batch holds the latents of an encode of exactly (B, m).
inline bool encoded_as(const sae4j_cpu_batch* b, int64_t B, int64_t m) {
    return b->sparse >= 0 && b->filled_rows == B && b->filled_m == m;
}
// out (n, d) = the unit vectors of src's n vectors (rows of (n, d), or columns of (d, n)), centred
// first when `center`; a zero vector stays zero, a constant one is NaN when centring
// (cosine_match.cpp).
void normalise(sae4j_cpu_ctx* ctx, int64_t n, int64_t d, const float* src, bool columns, bool center,
               float* out);
}  // namespace sae4j
