// Private to native/src: the thread pool, the ISA-dispatched leaf loops and argument checks
// shared by the kernel files. Not part of the public header.
#pragma once
#include <cstdint>
#include <functional>
#include "sae4j_cpu.h"

namespace sae4j {

// Runs fn(begin, end) over [0, n) split into contiguous chunks of at least `grain` items, one per
// pool thread. Serial when n is small, when the pool has one thread, or when called re-entrantly.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
int thread_count();

// Leaf loops over one row, compiled once per instruction set (vecops.cpp); kernels call them
// through vec(), which returns the table for the ISA selected at run time.
struct VecOps {
    float (*dot)(const float* x, const float* y, int64_t n);
    void (*axpy)(float a, const float* x, float* y, int64_t n);                 // y += a x
    // f = max(pre + b, 0), returns the number of nonzeros written
    int32_t (*relu_bias)(const float* pre, const float* b, float* f, int64_t n);
    // out = x - b; returns the index of the first non-finite x, or -1
    int64_t (*sub_checked)(const float* x, const float* b, float* out, int64_t n);
    // e = s (xhat - x); returns sum of (xhat - x)^2 in double
    double (*scaled_diff)(const float* xhat, const float* x, float s, float* e, int64_t n);
    double (*sumsq)(const float* x, int64_t n);
    void (*adam)(float* p, const float* g, float* m1, float* m2, int64_t n, float lr_t, float b1,
                 float b2, float eps_t);
    // running maxima of the column j of a block: colmax[j] = max(colmax[j], row[j]), colarg = i
    void (*col_max_update)(const float* row, float* colmax, int32_t* colarg, int32_t i, int64_t n);
    // the largest element of row that is > floor (NaN never is), or floor when none
    float (*max_above)(const float* row, int64_t n, float floor);
};
const VecOps& vec();
const VecOps& vec_for(int isa);

inline bool positive(int64_t v) { return v > 0; }

}  // namespace sae4j
