// Times each kernel of one CPU training step (encode, decode, backward, Adam) beside the encoder
// GEMM of the same shape, so that a change to one kernel shows where the step's time goes.
// Build and run: bash native/bench/profile.sh step [B d m density threads reps]
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

#define CHECK(call)                                                          \
    do {                                                                     \
        int s_ = (call);                                                     \
        if (s_ != SAE4J_OK) {                                                \
            std::fprintf(stderr, "%s:%d: %s -> %d\n", __FILE__, __LINE__, #call, s_); \
            std::exit(1);                                                    \
        }                                                                    \
    } while (0)
}  // namespace

int main(int argc, char** argv) {
    const int64_t B = argc > 1 ? std::atol(argv[1]) : 4096, d = argc > 2 ? std::atol(argv[2]) : 512,
                  m = argc > 3 ? std::atol(argv[3]) : 4096;
    const double density = argc > 4 ? std::atof(argv[4]) : 0.01;
    const int threads = argc > 5 ? std::atoi(argv[5]) : 2, reps = argc > 6 ? std::atoi(argv[6]) : 10;
    int st;
    sae4j_cpu_ctx* ctx = sae4j_cpu_ctx_create(threads, SAE4J_ISA_AUTO, &st);
    CHECK(st);
    sae4j_cpu_batch* b = sae4j_cpu_batch_create(ctx, B, d, m, SAE4J_LATENTS_AUTO, 0.12, 1, &st);
    CHECK(st);
    const int64_t n = 2 * m * d + m + d;
    std::vector<float> p(n), g(n), m1(n, 0.f), m2(n, 0.f), pre(B * m);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    const float w = 1.f / std::sqrt((float)d);
    for (auto& v : p) v = u(rng) * w;
    float* x = sae4j_cpu_batch_x(b);
    for (int64_t i = 0; i < B * d; ++i) x[i] = u(rng);
    float* b_enc = p.data() + m * d;
    float* b_dec = p.data() + 2 * m * d + m;
    std::fill(b_dec, b_dec + d, 0.f);
    // b_enc = -(1 - density) quantile of the pre-activations: about `density` of latents fire
    std::fill(b_enc, b_enc + m, 0.f);
    CHECK(sae4j_cpu_gemm(ctx, 0, 1, B, m, d, 1.f, x, d, p.data(), d, 0.f, pre.data(), m));
    if (density < 1) {
        std::vector<float> s(pre);
        const int64_t q = (int64_t)((1 - density) * (double)s.size());
        std::nth_element(s.begin(), s.begin() + q, s.end());
        std::fill(b_enc, b_enc + m, -s[q]);
    }
    int32_t nnz;
    std::vector<int32_t> firing(m, 0);
    float losses[2];
    double t_gemm = 1e30, t_enc = 1e30, t_dec = 1e30, t_bwd = 1e30, t_adam = 1e30, t_step = 1e30;
    for (int r = 0; r < reps; ++r) {
        auto t = clk::now();
        CHECK(sae4j_cpu_gemm(ctx, 0, 1, B, m, d, 1.f, x, d, p.data(), d, 0.f, pre.data(), m));
        t_gemm = std::min(t_gemm, ms_since(t));
        auto t0 = clk::now();
        CHECK(sae4j_cpu_sae_encode(ctx, b, B, m, p.data(), SAE4J_ACT_RELU, 0, nullptr, &nnz, firing.data()));
        t_enc = std::min(t_enc, ms_since(t0));
        t = clk::now();
        CHECK(sae4j_cpu_sae_decode(ctx, b, B, m, p.data()));
        t_dec = std::min(t_dec, ms_since(t));
        t = clk::now();
        CHECK(sae4j_cpu_sae_backward(ctx, b, B, m, p.data(), SAE4J_ACT_RELU, 0, nullptr, 1e-3f, g.data(), losses));
        t_bwd = std::min(t_bwd, ms_since(t));
        t = clk::now();
        CHECK(sae4j_cpu_adam_step(ctx, n, p.data(), g.data(), m1.data(), m2.data(), 1e-7f, 0.9f, 0.999f, 1e-8f, r + 1));
        t_adam = std::min(t_adam, ms_since(t));
        t_step = std::min(t_step, ms_since(t0));
    }
    // The GEMMs a dense step runs (sae_forward.cpp, sae_backward.cpp), each timed alone: the floor
    // of the dense step.
    std::vector<float> dm(B * m), bd(B * d), md(m * d);
    for (auto& v : dm) v = u(rng);
    for (auto& v : bd) v = u(rng);
    double t_dense[5] = {1e30, 1e30, 1e30, 1e30, 1e30};
    for (int r = 0; r < std::max(2, reps / 2); ++r) {
        auto time = [&](int i, auto&& call) {
            auto t = clk::now();
            CHECK(call());
            t_dense[i] = std::min(t_dense[i], ms_since(t));
        };
        time(0, [&] { return sae4j_cpu_gemm(ctx, 0, 1, B, m, d, 1.f, bd.data(), d, md.data(), d, 0.f, dm.data(), m); });
        time(1, [&] { return sae4j_cpu_gemm(ctx, 0, 0, B, d, m, 1.f, dm.data(), m, md.data(), d, 1.f, bd.data(), d); });
        time(2, [&] { return sae4j_cpu_gemm(ctx, 0, 1, B, m, d, 1.f, bd.data(), d, md.data(), d, 0.f, dm.data(), m); });
        time(3, [&] { return sae4j_cpu_gemm(ctx, 1, 0, m, d, B, 1.f, dm.data(), m, bd.data(), d, 0.f, md.data(), d); });
        time(4, [&] { return sae4j_cpu_gemm(ctx, 1, 0, m, d, B, 1.f, dm.data(), m, bd.data(), d, 0.f, md.data(), d); });
    }
    const double gemms = t_dense[0] + t_dense[1] + t_dense[2] + t_dense[3] + t_dense[4];
    std::printf("B=%ld d=%ld m=%ld threads=%d blas=%s density=%.4f sparse=%d (best of %d, ms)\n", (long)B,
                (long)d, (long)m, threads, sae4j_cpu_blas_core(), (double)nnz / (B * m),
                sae4j_cpu_batch_sparse(b), reps);
    std::printf("gemm %.2f | encode %.2f decode %.2f backward %.2f adam %.2f | step %.2f = %.2fx gemm\n", t_gemm,
                t_enc, t_dec, t_bwd, t_adam, t_step, t_step / t_gemm);
    std::printf("dense step's 5 GEMMs alone: %.1f + %.1f + %.1f + %.1f + %.1f = %.1f ms; step / their sum %.2fx\n",
                t_dense[0], t_dense[1], t_dense[2], t_dense[3], t_dense[4], gemms, t_step / gemms);
    sae4j_cpu_batch_destroy(b);
    sae4j_cpu_ctx_destroy(ctx);
}
