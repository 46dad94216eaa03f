// Times sae4j_cpu_cosine_max (both directions, with argmax) of two sets of n unit vectors of length
// d beside the plain sgemm of the same product into an n1 x n2 matrix: the floor it is measured
// against; with k > 0, sae4j_cpu_cosine_topk (k per row and per column, ranked by |cos|) instead.
// Build and run: bash native/bench/profile.sh cosine [n1 n2 d threads reps k]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
#include <algorithm>

#include "sae4j_cpu.h"

namespace {
using clk = std::chrono::steady_clock;
double ms_since(clk::time_point t) { return std::chrono::duration<double, std::milli>(clk::now() - t).count(); }
}  // namespace

int main(int argc, char** argv) {
    const int64_t n1 = argc > 1 ? std::atol(argv[1]) : 16384, n2 = argc > 2 ? std::atol(argv[2]) : 16384,
                  d = argc > 3 ? std::atol(argv[3]) : 512;
    const int threads = argc > 4 ? std::atoi(argv[4]) : 2, reps = argc > 5 ? std::atoi(argv[5]) : 3;
    const int64_t k = argc > 6 ? std::atol(argv[6]) : 0;
    int st;
    sae4j_cpu_ctx* ctx = sae4j_cpu_ctx_create(threads, SAE4J_ISA_AUTO, &st);
    if (!ctx) return 1;
    std::vector<float> A(n1 * d), B(n2 * d), rmax(n1), cmax(n2), C((size_t)n1 * n2);
    std::vector<int32_t> rarg(n1), carg(n2);
    std::mt19937 rng(1);
    std::normal_distribution<float> g;
    for (auto& v : A) v = g(rng);
    for (auto& v : B) v = g(rng);
    std::vector<float> work(k ? sae4j_cpu_cosine_topk_workspace(ctx, n1, n2, d, k, k)
                              : sae4j_cpu_cosine_max_workspace(ctx, n1, n2, d));
    std::vector<float> row_val(k * n1), col_val(k * n2);
    std::vector<int32_t> row_idx(k * n1), col_idx(k * n2);
    double t_gemm = 1e30, t_cos = 1e30;
    // each measured in a run of its own: this VM reclaims memory left cold for about a second (DAMON),
    // and the sgemm's 1 GiB output would be paged back in if the cosine runs came in between
    for (int r = 0; r < reps; ++r) {
        auto t = clk::now();
        if (sae4j_cpu_gemm(ctx, 0, 1, n1, n2, d, 1.f, A.data(), d, B.data(), d, 0.f, C.data(), n2)) return 1;
        t_gemm = std::min(t_gemm, ms_since(t));
    }
    for (int r = 0; r < reps; ++r) {
        auto t = clk::now();
        const int status =
            k ? sae4j_cpu_cosine_topk(ctx, n1, n2, d, A.data(), 0, B.data(), 0, 1, k, row_val.data(), row_idx.data(), k,
                                      col_val.data(), col_idx.data(), work.data())
              : sae4j_cpu_cosine_max(ctx, n1, n2, d, A.data(), 0, B.data(), 0, 0, rmax.data(), rarg.data(),
                                     cmax.data(), carg.data(), work.data());
        if (status) return 1;
        t_cos = std::min(t_cos, ms_since(t));
    }
    const double gflop = 2.0 * n1 * n2 * d / 1e9;
    std::printf("n1=%ld n2=%ld d=%ld threads=%d isa=%d blas=%s (best of %d)\n", (long)n1, (long)n2, (long)d,
                threads, sae4j_cpu_ctx_isa(ctx), sae4j_cpu_blas_core(), reps);
    std::printf("sgemm %.1f ms (%.0f GFLOP/s) | %s %.1f ms (%.0f GFLOP/s) = %.0f%% of the sgemm rate\n", t_gemm,
                gflop / t_gemm * 1e3, k ? "cosine_topk" : "cosine_max", t_cos, gflop / t_cos * 1e3,
                100 * t_gemm / t_cos);
    sae4j_cpu_ctx_destroy(ctx);
}
