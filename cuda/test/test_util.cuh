// test_util.cuh: the harness of the kernel test program (kernel_test.cu): one line per check,
// device buffers with poisoned contents and a guard tail, error metrics against double
// references, a deterministic RNG, and the naive GEMM that stands in for cuBLAS.
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "sae4j_cuda.h"

namespace kt {

inline int g_checks = 0, g_failed = 0;
inline sae4j_cuda_ctx* g_ctx = nullptr;

constexpr int64_t GUARD = 67;  // guard elements after every output buffer
inline float poison_f() {      // a NaN with a payload of its own: unwritten elements show up
    uint32_t b = 0x7fc0dead;
    float f;
    memcpy(&f, &b, 4);
    return f;
}
inline float sentinel_f() { return 7777.125f; }
constexpr int32_t POISON_I = 0x5a5a5a5a;
constexpr int32_t SENTINEL_I = 0x3eadbeef;

inline bool same_bits(float a, float b) { return memcmp(&a, &b, 4) == 0; }
inline bool same_bits(int32_t a, int32_t b) { return a == b; }
template <typename T> T poison_of();
template <> inline float poison_of<float>() { return poison_f(); }
template <> inline int32_t poison_of<int32_t>() { return POISON_I; }
template <typename T> T sentinel_of();
template <> inline float sentinel_of<float>() { return sentinel_f(); }
template <> inline int32_t sentinel_of<int32_t>() { return SENTINEL_I; }

// One line per check: name, max relative error, bound, PASS/FAIL. NaN errors fail.
inline void report(const std::string& name, double err, double bound) {
    const bool ok = err <= bound;
    printf("%-76s max rel err %9.2e  bound %7.1e  %s\n", name.c_str(), err, bound,
           ok ? "PASS" : "FAIL");
    ++g_checks;
    if (!ok) ++g_failed;
}
// An exact check: the number of mismatches must be 0.
inline void report_exact(const std::string& name, int64_t mismatches) {
    printf("%-76s mismatches %10lld  exact          %s\n", name.c_str(), (long long)mismatches,
           mismatches == 0 ? "PASS" : "FAIL");
    ++g_checks;
    if (mismatches != 0) ++g_failed;
}
inline void expect_status(const std::string& name, int got, int want) {
    printf("%-76s status %d, expected %d              %s\n", name.c_str(), got, want,
           got == want ? "PASS" : "FAIL");
    ++g_checks;
    if (got != want) ++g_failed;
}

inline void die(const char* what, int st) {
    printf("FATAL: %s returned %d: %s\n", what, st, sae4j_cuda_last_error());
    exit(3);
}
#define OK(call)                                      \
    do {                                              \
        int st_ = (call);                             \
        if (st_ != SAE4J_CUDA_OK) kt::die(#call, st_); \
    } while (0)

// Host <-> device through the library (synchronous).
template <typename T>
std::vector<T> dl(const T* d, int64_t n) {
    std::vector<T> h((size_t)n);
    if (n > 0) OK(sae4j_cuda_download(g_ctx, h.data(), d, n * (int64_t)sizeof(T)));
    return h;
}
template <typename T>
void ul(T* d, const std::vector<T>& h) {
    if (!h.empty()) OK(sae4j_cuda_upload(g_ctx, d, h.data(), (int64_t)(h.size() * sizeof(T))));
}
// Fills d (n) with the poison pattern.
template <typename T>
void poison(T* d, int64_t n) {
    ul(d, std::vector<T>((size_t)n, poison_of<T>()));
}
// Elements [from, to) of d still hold `value`, bitwise: the number that do not.
template <typename T>
int64_t untouched(const T* d, int64_t from, int64_t to, T value) {
    std::vector<T> h = dl(d + from, to - from);
    int64_t bad = 0;
    for (const T& v : h) bad += !same_bits(v, value);
    return bad;
}

// A device buffer of n elements followed by GUARD sentinel elements.
template <typename T>
struct DBuf {
    T* d = nullptr;
    int64_t n = 0;
    explicit DBuf(int64_t n_) : n(n_) {
        int st = 0;
        d = (T*)sae4j_cuda_malloc(g_ctx, (n + GUARD) * (int64_t)sizeof(T), &st);
        if (!d) die("sae4j_cuda_malloc", st);
        poison_all();
    }
    ~DBuf() { sae4j_cuda_free(g_ctx, d); }
    DBuf(const DBuf&) = delete;
    DBuf& operator=(const DBuf&) = delete;
    void set(const std::vector<T>& h) {  // contents h (n), guard sentinel
        std::vector<T> all(h);
        all.resize((size_t)(n + GUARD), sentinel_of<T>());
        ul(d, all);
    }
    void poison_all() { set(std::vector<T>((size_t)n, poison_of<T>())); }
    std::vector<T> get() const { return dl(d, n); }
    int64_t guard_bad() const { return untouched(d, n, n + GUARD, sentinel_of<T>()); }
};

// Deterministic RNG (splitmix64).
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform() { return (double)(next() >> 11) * (1.0 / 9007199254740992.0); }
    float range(double lo, double hi) { return (float)(lo + (hi - lo) * uniform()); }
    std::vector<float> vec(int64_t n, double lo, double hi) {
        std::vector<float> v((size_t)n);
        for (auto& x : v) x = range(lo, hi);
        return v;
    }
};

// max_i |got_i - ref_i| / scale, scale = max_i mag_i (mag = |ref| when not given). A NaN ref
// must be matched by a NaN; any other non-finite got is an infinite error. An all-zero scale
// demands exact zeros.
inline double rel_err(const float* got, const double* ref, int64_t n, const double* mag = nullptr) {
    double scale = 0.0, worst = 0.0;
    for (int64_t i = 0; i < n; ++i) scale = std::max(scale, mag ? mag[i] : std::fabs(ref[i]));
    if (scale == 0.0) scale = 1e-300;
    for (int64_t i = 0; i < n; ++i) {
        if (std::isnan(ref[i])) {
            if (!std::isnan(got[i])) return INFINITY;
            continue;
        }
        if (!std::isfinite(got[i])) return INFINITY;
        worst = std::max(worst, std::fabs((double)got[i] - ref[i]) / scale);
    }
    return worst;
}
inline double rel_err(const std::vector<float>& got, const std::vector<double>& ref,
                      const std::vector<double>* mag = nullptr) {
    if (got.size() != ref.size()) return INFINITY;
    return rel_err(got.data(), ref.data(), (int64_t)ref.size(), mag ? mag->data() : nullptr);
}

// The CPU kernel's TopK rule on one row: v_i = pre_i + bias_i (summed in float, as both kernels do);
// the k largest positive v kept (ties at the k-th to the lower index), everything else 0.
inline std::vector<float> topk_relu_row(const float* pre, const float* bias, int64_t n, int64_t k) {
    std::vector<float> v((size_t)n), want((size_t)n, 0.f);
    std::vector<int64_t> pos;
    for (int64_t i = 0; i < n; ++i) {
        v[i] = pre[i] + bias[i];
        if (v[i] > 0.f) pos.push_back(i);
    }
    std::stable_sort(pos.begin(), pos.end(), [&](int64_t x, int64_t y) { return v[x] > v[y]; });
    if ((int64_t)pos.size() > k) pos.resize((size_t)k);
    for (int64_t i : pos) want[i] = v[i];
    return want;
}

// C (M, N) = alpha op(A) op(B) + beta C, row-major, double accumulation: the test's stand-in for
// the cuBLAS calls of the Java backend. beta == 0 never reads C.
__global__ void naive_gemm_kernel(int ta, int tb, int M, int N, int K, float alpha, const float* A,
                                  int lda, const float* B, int ldb, float beta, float* C, int ldc) {
    const int i = blockIdx.y * blockDim.y + threadIdx.y, j = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= M || j >= N) return;
    double s = 0.0;
    for (int k = 0; k < K; ++k) {
        const double a = ta ? A[(int64_t)k * lda + i] : A[(int64_t)i * lda + k];
        const double b = tb ? B[(int64_t)j * ldb + k] : B[(int64_t)k * ldb + j];
        s += a * b;
    }
    float* c = C + (int64_t)i * ldc + j;
    *c = beta == 0.f ? (float)(alpha * s) : (float)(alpha * s + (double)beta * (double)*c);
}
inline void gemm(int ta, int tb, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
    dim3 block(16, 16), grid((N + 15) / 16, (M + 15) / 16);
    naive_gemm_kernel<<<grid, block, 0, (cudaStream_t)sae4j_cuda_ctx_stream(g_ctx)>>>(
        ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) {
        printf("FATAL: naive_gemm_kernel: %s\n", cudaGetErrorString(e));
        exit(3);
    }
}

}  // namespace kt
