// kernel_test.cpp: the native test program of the sae4j CPU kernel library (no JVM), built and run
// under AddressSanitizer and UndefinedBehaviorSanitizer by native/test/run.sh (and so by
// `mvn verify`). Every entry point of include/sae4j_cpu.h is checked against a double-precision
// reference on fresh random inputs of odd sizes, on every instruction set this CPU has (2 threads)
// and on the best one at 1, 3 and 7 threads. Outputs are poisoned (NaN) and followed by guard
// elements that must stay untouched, so unwritten and out-of-bounds elements both fail.
// One line per check; exit status 0 when all pass, 1 otherwise.
//
//   bash native/test/run.sh OPENBLAS_DIR OUT_DIR     (OPENBLAS_DIR: the preset's linux-x86_64 dir)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sae4j_cpu.h"

namespace {

int g_checks = 0, g_failed = 0;
std::string g_tag;  // the configuration under test, prefixed to every line
constexpr int64_t GUARD = 37;
constexpr float SENTINEL = 7777.125f;

void report(const std::string& name, double err, double bound) {
    const bool ok = err <= bound;  // NaN fails
    std::printf("%-18s %-58s err %9.2e bound %7.1e %s\n", g_tag.c_str(), name.c_str(), err, bound,
                ok ? "PASS" : "FAIL");
    ++g_checks;
    g_failed += !ok;
}

void report_exact(const std::string& name, int64_t mismatches) {
    report(name + " (mismatches)", (double)mismatches, 0);
}

float poison() { return std::numeric_limits<float>::quiet_NaN(); }

// A host buffer of n values, poisoned, with GUARD sentinel values after it.
template <typename T>
struct Out {
    std::vector<T> v;
    int64_t n;
    explicit Out(int64_t n_, T fill = (T)poison()) : v(n_ + GUARD, (T)SENTINEL), n(n_) {
        std::fill(v.begin(), v.begin() + n, fill);
    }
    T* p() { return v.data(); }
    T& operator[](int64_t i) { return v[i]; }
    int64_t guards_changed() const {
        int64_t bad = 0;
        for (int64_t i = n; i < n + GUARD; ++i) bad += std::memcmp(&v[i], &kSentinel, sizeof(T)) != 0;
        return bad;
    }
    static inline const T kSentinel = (T)SENTINEL;
};

// max |got - ref| / max |ref|: relative to the reference's scale, never absolute.
double rel_err(const std::vector<double>& ref, const float* got) {
    double scale = 0, worst = 0;
    for (double r : ref) scale = std::max(scale, std::fabs(r));
    for (size_t i = 0; i < ref.size(); ++i) {
        const double e = std::fabs((double)got[i] - ref[i]);
        if (!(e <= worst)) worst = e;  // NaN (an unwritten element) sticks
    }
    return worst / (scale > 0 ? scale : 1);
}

std::vector<float> randn(std::mt19937_64& rng, int64_t n, double scale) {
    std::normal_distribution<double> g(0, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = (float)g(rng);
    return v;
}

void ok(int status, const char* what) {
    if (status != SAE4J_OK) {
        std::printf("%s %s returned %d FAIL\n", g_tag.c_str(), what, status);
        ++g_checks;
        ++g_failed;
    }
}

// ---- GEMM ----
void test_gemm(sae4j_cpu_ctx* ctx, std::mt19937_64& rng) {
    const int64_t sizes[][3] = {{1, 1, 1}, {37, 53, 48}, {211, 197, 100}, {97, 230, 101}};
    for (const auto& size : sizes)
        for (int ta = 0; ta < 2; ++ta)
            for (int tb = 0; tb < 2; ++tb) {
                const int64_t M = size[0], N = size[1], K = size[2];
                const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 5;
                auto A = randn(rng, (ta ? K : M) * lda, 1), B = randn(rng, (tb ? N : K) * ldb, 1);
                auto C0 = randn(rng, M * ldc, 1);
                Out<float> C(M * ldc);
                std::copy(C0.begin(), C0.end(), C.p());
                ok(sae4j_cpu_gemm(ctx, ta, tb, M, N, K, 0.5f, A.data(), lda, B.data(), ldb, 2.f, C.p(), ldc), "gemm");
                std::vector<double> ref(M * ldc);
                for (int64_t i = 0; i < M; ++i)
                    for (int64_t j = 0; j < ldc; ++j) {
                        double s = 0;
                        for (int64_t k = 0; j < N && k < K; ++k)
                            s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
                        ref[i * ldc + j] = j < N ? 0.5 * s + 2.0 * C0[i * ldc + j] : C0[i * ldc + j];
                    }
                const std::string name = "gemm " + std::to_string(M) + "x" + std::to_string(N) + "x" +
                                         std::to_string(K) + " ta" + std::to_string(ta) + " tb" + std::to_string(tb);
                report(name, rel_err(ref, C.p()), 2e-5 * std::sqrt((double)K));
                report_exact(name + " guards", C.guards_changed());
            }
    float a = 1, b = 1, c = 0;
    report_exact("gemm refuses lda < K", sae4j_cpu_gemm(ctx, 0, 0, 1, 1, 2, 1, &a, 1, &b, 1, 0, &c, 1) != SAE4J_ERR_ARG);
}

// ---- elementwise ----
void test_elementwise(sae4j_cpu_ctx* ctx, std::mt19937_64& rng) {
    const int64_t rows = 67, d = 45;
    auto x = randn(rng, rows * d, 2), b = randn(rng, d, 1);
    Out<float> out(rows * d), norms(rows);
    ok(sae4j_cpu_center_rows(ctx, rows, d, x.data(), b.data(), out.p()), "center_rows");
    ok(sae4j_cpu_row_norms(ctx, rows, d, x.data(), norms.p()), "row_norms");
    std::vector<double> ref(rows * d), nref(rows);
    for (int64_t r = 0; r < rows; ++r) {
        double ss = 0;
        for (int64_t k = 0; k < d; ++k) {
            ref[r * d + k] = (double)x[r * d + k] - b[k];
            ss += (double)x[r * d + k] * x[r * d + k];
        }
        nref[r] = std::sqrt(ss);
    }
    report("center_rows", rel_err(ref, out.p()), 1e-6);
    report_exact("center_rows guards", out.guards_changed());
    report("row_norms", rel_err(nref, norms.p()), 1e-5);
    report_exact("row_norms guards", norms.guards_changed());

    // TopK training's unit-norm decoder: the gradient's radial part removed, then rows rescaled;
    // row 3 of W is zero and must be left as it is (as must its gradient row)
    auto g0 = randn(rng, rows * d, 1);
    Out<float> w(rows * d), g(rows * d);
    std::copy(x.begin(), x.end(), w.p());
    std::fill(w.p() + 3 * d, w.p() + 4 * d, 0.f);
    std::copy(g0.begin(), g0.end(), g.p());
    ok(sae4j_cpu_remove_radial(ctx, rows, d, w.p(), g.p()), "remove_radial");
    ok(sae4j_cpu_normalize_rows(ctx, rows, d, w.p()), "normalize_rows");
    std::vector<double> gref(rows * d), wref(rows * d);
    for (int64_t r = 0; r < rows; ++r) {
        double ww = 0, gw = 0;
        for (int64_t k = 0; k < d; ++k) {
            const double wk = r == 3 ? 0 : x[r * d + k];
            ww += wk * wk;
            gw += wk * g0[r * d + k];
        }
        for (int64_t k = 0; k < d; ++k) {
            const double wk = r == 3 ? 0 : x[r * d + k];
            gref[r * d + k] = ww > 0 ? g0[r * d + k] - gw / ww * wk : g0[r * d + k];
            wref[r * d + k] = ww > 0 ? wk / std::sqrt(ww) : 0;
        }
    }
    report("remove_radial", rel_err(gref, g.p()), 1e-5);
    report("normalize_rows", rel_err(wref, w.p()), 1e-6);
    report_exact("remove_radial, normalize_rows guards", g.guards_changed() + w.guards_changed());
}

// ---- Adam ----
void test_adam(sae4j_cpu_ctx* ctx, std::mt19937_64& rng) {
    const int64_t n = 40013;  // odd, more than one chunk per thread
    auto p0 = randn(rng, n, 1), g = randn(rng, n, 1), m10 = randn(rng, n, 0.1), m2r = randn(rng, n, 0.1);
    std::vector<float> m20(n);
    for (int64_t i = 0; i < n; ++i) m20[i] = m2r[i] * m2r[i];
    Out<float> p(n), m1(n), m2(n);
    std::copy(p0.begin(), p0.end(), p.p());
    std::copy(m10.begin(), m10.end(), m1.p());
    std::copy(m20.begin(), m20.end(), m2.p());
    // the reference takes the parameters as the kernel gets them (float), computes in double
    const double lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    const int64_t t = 7;
    ok(sae4j_cpu_adam_step(ctx, n, p.p(), g.data(), m1.p(), m2.p(), (float)lr, (float)b1, (float)b2, (float)eps, t), "adam");
    std::vector<double> rp(n), r1(n), r2(n), step(n);
    for (int64_t i = 0; i < n; ++i) {
        r1[i] = b1 * m10[i] + (1 - b1) * g[i];
        r2[i] = b2 * m20[i] + (1 - b2) * (double)g[i] * g[i];
        const double mh = r1[i] / (1 - std::pow(b1, t)), vh = r2[i] / (1 - std::pow(b2, t));
        step[i] = lr * mh / (std::sqrt(vh) + eps);
        rp[i] = p0[i] - step[i];
    }
    std::vector<float> moved(n);
    for (int64_t i = 0; i < n; ++i) moved[i] = p0[i] - p[i];
    report("adam step (p0 - p)", rel_err(step, moved.data()), 1e-5);
    report("adam m1", rel_err(r1, m1.p()), 1e-6);
    report("adam m2", rel_err(r2, m2.p()), 1e-6);
    report_exact("adam guards", p.guards_changed() + m1.guards_changed() + m2.guards_changed());
}

// ---- SAE: encode, decode, backward, sum_sq_dev ----
struct Sae {
    int64_t d, m;
    std::vector<float> flat;  // [W_encT (m, d) | b_enc (m) | W_dec (m, d) | b_dec (d)]
    const float* W_encT() const { return flat.data(); }
    const float* b_enc() const { return flat.data() + m * d; }
    const float* W_dec() const { return flat.data() + m * d + m; }
    const float* b_dec() const { return flat.data() + 2 * m * d + m; }
};

Sae make_sae(std::mt19937_64& rng, int64_t d, int64_t m, double bias) {
    Sae s{d, m, {}};
    auto we = randn(rng, m * d, 1 / std::sqrt((double)d)), be = randn(rng, m, 0.2),
         wd = randn(rng, m * d, 1 / std::sqrt((double)d)), bd = randn(rng, d, 0.1);
    for (auto& v : be) v += (float)bias;
    s.flat.insert(s.flat.end(), we.begin(), we.end());
    s.flat.insert(s.flat.end(), be.begin(), be.end());
    s.flat.insert(s.flat.end(), wd.begin(), wd.end());
    s.flat.insert(s.flat.end(), bd.begin(), bd.end());
    return s;
}

// One encode + decode + backward of the first B rows of x on a batch of `storage` with room to
// spare (rows + 3, m + 5), checked against double references computed from the latents the kernel
// produced (so a float rounding that flips a ReLU mask cannot fail the comparison).
void test_sae(sae4j_cpu_ctx* ctx, std::mt19937_64& rng, int64_t B, int64_t d, int64_t m, double bias,
              int storage, int expect_sparse, const std::string& what, bool skew = false) {
    const Sae s = make_sae(rng, d, m, bias);
    auto x = randn(rng, B * d, 1);
    if (skew)  // a few dense rows among silent ones: the first row segment overflows its CSR share
        for (int64_t r = 0; r < B; ++r)
            for (int64_t k = 0; k < d; ++k) x[r * d + k] *= r < 5 ? 40.f : 0.f;
    int st = -1;
    sae4j_cpu_batch* b = sae4j_cpu_batch_create(ctx, B + 3, d, m + 5, storage, 0.12, 1, &st);
    if (!b) return ok(st, "batch_create");
    std::copy(x.begin(), x.end(), sae4j_cpu_batch_x(b));
    Out<int32_t> nnz(1, -5), firing(m, 3);
    ok(sae4j_cpu_sae_encode(ctx, b, B, m, s.flat.data(), SAE4J_ACT_RELU, 0, nullptr, nnz.p(), firing.p()), "encode");
    const float* f = sae4j_cpu_batch_f(b);
    // reference pre-activations, and the kernel's latents against relu of them
    std::vector<double> fref(B * m), xc(B * d);
    for (int64_t r = 0; r < B; ++r)
        for (int64_t k = 0; k < d; ++k) xc[r * d + k] = (double)x[r * d + k] - s.b_dec()[k];
    for (int64_t r = 0; r < B; ++r)
        for (int64_t i = 0; i < m; ++i) {
            double pre = s.b_enc()[i];
            for (int64_t k = 0; k < d; ++k) pre += xc[r * d + k] * s.W_encT()[i * d + k];
            fref[r * m + i] = pre > 0 ? pre : 0;
        }
    report(what + " latents", rel_err(fref, f), 1e-5);
    int64_t count = 0, firing_bad = 0;
    std::vector<int64_t> fired(m, 0);
    for (int64_t r = 0; r < B; ++r)
        for (int64_t i = 0; i < m; ++i) {
            count += f[r * m + i] != 0;
            fired[i] += f[r * m + i] != 0;
        }
    for (int64_t i = 0; i < m; ++i) firing_bad += firing[i] != 3 + fired[i];
    report_exact(what + " nnz = nonzero latents", nnz[0] != count);
    report_exact(what + " firing += per-latent counts", firing_bad + firing.guards_changed() + nnz.guards_changed());
    if (expect_sparse >= 0) report_exact(what + " path", sae4j_cpu_batch_sparse(b) != expect_sparse);

    ok(sae4j_cpu_sae_decode(ctx, b, B, m, s.flat.data()), "decode");
    std::vector<double> xh(B * d), err(B * d);
    for (int64_t r = 0; r < B; ++r)
        for (int64_t k = 0; k < d; ++k) {
            double v = s.b_dec()[k];
            for (int64_t i = 0; i < m; ++i) v += (double)f[r * m + i] * s.W_dec()[i * d + k];
            xh[r * d + k] = v;
            err[r * d + k] = 2.0 / B * (v - x[r * d + k]);
        }
    report(what + " reconstruction", rel_err(xh, sae4j_cpu_batch_xhat(b)), 2e-5);

    const double lambda = 0.7;
    const int64_t n = 2 * m * d + m + d;
    Out<float> grads(n), losses(2);
    ok(sae4j_cpu_sae_backward(ctx, b, B, m, s.flat.data(), SAE4J_ACT_RELU, 0, nullptr, (float)lambda, grads.p(),
                              losses.p()),
       "backward");
    std::vector<double> norms(m), gref(n, 0.0), fsum(m, 0.0);
    for (int64_t i = 0; i < m; ++i) {
        double ss = 0;
        for (int64_t k = 0; k < d; ++k) ss += (double)s.W_dec()[i * d + k] * s.W_dec()[i * d + k];
        norms[i] = std::sqrt(ss);
    }
    double mse = 0, l1 = 0;
    double *gWe = gref.data(), *gbe = gWe + m * d, *gWd = gbe + m, *gbd = gWd + m * d;
    for (int64_t r = 0; r < B; ++r) {
        for (int64_t k = 0; k < d; ++k) {
            const double e = xh[r * d + k] - x[r * d + k];
            mse += e * e;
            gbd[k] += err[r * d + k];
        }
        for (int64_t i = 0; i < m; ++i) {
            const double fv = f[r * m + i];
            if (fv <= 0) continue;
            l1 += fv * norms[i];
            fsum[i] += fv;
            double dp = lambda / B * norms[i];
            for (int64_t k = 0; k < d; ++k) dp += err[r * d + k] * s.W_dec()[i * d + k];
            gbe[i] += dp;
            for (int64_t k = 0; k < d; ++k) {
                gWd[i * d + k] += fv * err[r * d + k];
                gWe[i * d + k] += dp * xc[r * d + k];
            }
        }
    }
    for (int64_t i = 0; i < m; ++i)
        for (int64_t k = 0; k < d; ++k) {
            if (norms[i] > 0) gWd[i * d + k] += lambda / B * fsum[i] * s.W_dec()[i * d + k] / norms[i];
            gbd[k] -= gbe[i] * s.W_encT()[i * d + k];
        }
    const char* names[] = {"gW_encT", "gb_enc", "gW_dec", "gb_dec"};
    const int64_t offs[] = {0, m * d, m * d + m, 2 * m * d + m, n};
    for (int t = 0; t < 4; ++t) {
        std::vector<double> ref(gref.begin() + offs[t], gref.begin() + offs[t + 1]);
        report(what + " " + names[t], rel_err(ref, grads.p() + offs[t]), 1e-4);
    }
    report_exact(what + " gradient guards", grads.guards_changed());
    report(what + " loss mse", std::fabs(losses[0] - mse / B) / (mse / B), 1e-5);
    report(what + " loss l1", l1 > 0 ? std::fabs(losses[1] - l1 / B) / (l1 / B) : std::fabs(losses[1]), 1e-5);

    Out<float> ssd(1);
    ok(sae4j_cpu_sum_sq_dev(ctx, b, B, ssd.p()), "sum_sq_dev");
    double total = 0;
    for (int64_t k = 0; k < d; ++k) {
        double mean = 0, ss = 0;
        for (int64_t r = 0; r < B; ++r) mean += x[r * d + k];
        mean /= B;
        for (int64_t r = 0; r < B; ++r) ss += (x[r * d + k] - mean) * (x[r * d + k] - mean);
        total += ss;
    }
    report(what + " sum_sq_dev", total > 0 ? std::fabs(ssd[0] - total) / total : std::fabs(ssd[0]), 1e-5);
    report_exact(what + " sum_sq_dev guards", ssd.guards_changed());
    sae4j_cpu_batch_destroy(b);
}

// TopK and JumpReLU encodes (inference: SAEs read from other libraries) against double references:
// the k largest of relu(pre) (ties to the lower index: latents 0..2 are made identical), and
// relu(pre) where pre > threshold_i with thresholds of both signs; then the decode of those latents.
void test_sae_activations(sae4j_cpu_ctx* ctx, std::mt19937_64& rng, int storage, const std::string& where) {
    const int64_t B = 37, d = 24, m = 70;
    Sae s = make_sae(rng, d, m, 0.1);
    for (int64_t i = 1; i < 3; ++i) {  // latents 1 and 2 copy latent 0: exact ties
        std::copy(s.flat.begin(), s.flat.begin() + d, s.flat.begin() + i * d);
        s.flat[m * d + i] = s.flat[m * d];
    }
    // latents 40.. have no encoder row, so pre is b_enc exactly: 0.25, 0.5 or 1 (above most of a
    // row), ties across many latents whatever the GEMM's rounding, and spread so that the kept
    // ties are neither the first nor the last of them
    for (int64_t i = 40; i < m; ++i) {
        std::fill(s.flat.begin() + i * d, s.flat.begin() + (i + 1) * d, 0.f);
        s.flat[m * d + i] = 0.25f * (float)(1 << (i % 3));
    }
    auto x = randn(rng, B * d, 1);
    std::vector<double> pre(B * m);
    for (int64_t r = 0; r < B; ++r)
        for (int64_t i = 0; i < m; ++i) {
            double v = s.b_enc()[i];
            for (int64_t k = 0; k < d; ++k) v += ((double)x[r * d + k] - s.b_dec()[k]) * s.W_encT()[i * d + k];
            pre[r * m + i] = v;
        }
    auto threshold = randn(rng, m, 0.3);
    for (const int64_t k : {int64_t{1}, int64_t{2}, int64_t{7}, m, int64_t{-1}}) {
        const bool jump = k < 0;
        const std::string what = where + (jump ? " jumprelu" : " topk k " + std::to_string(k));
        std::vector<double> fref(B * m, 0.0);
        for (int64_t r = 0; r < B; ++r) {
            const double* p = pre.data() + r * m;
            if (jump) {
                for (int64_t i = 0; i < m; ++i) fref[r * m + i] = p[i] > 0 && p[i] > threshold[i] ? p[i] : 0;
                continue;
            }
            std::vector<int64_t> order(m);
            for (int64_t i = 0; i < m; ++i) order[i] = i;
            std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
            for (int64_t j = 0; j < k; ++j)
                if (p[order[j]] > 0) fref[r * m + order[j]] = p[order[j]];
        }
        int st = -1;
        sae4j_cpu_batch* b = sae4j_cpu_batch_create(ctx, B + 3, d, m + 5, storage, 0.5, 0, &st);
        if (!b) return ok(st, "batch_create");
        std::copy(x.begin(), x.end(), sae4j_cpu_batch_x(b));
        Out<int32_t> nnz(1, -5), firing(m, 3);
        ok(sae4j_cpu_sae_encode(ctx, b, B, m, s.flat.data(), jump ? SAE4J_ACT_JUMPRELU : SAE4J_ACT_TOPK, jump ? 0 : k,
                                jump ? threshold.data() : nullptr, nnz.p(), firing.p()),
           "encode");
        const float* f = sae4j_cpu_batch_f(b);
        report(what + " latents", rel_err(fref, f), 1e-5);
        int64_t count = 0, firing_bad = 0, mask_bad = 0;
        for (int64_t i = 0; i < m; ++i) {
            int64_t fired = 0;
            for (int64_t r = 0; r < B; ++r) {
                fired += f[r * m + i] != 0;
                mask_bad += (f[r * m + i] != 0) != (fref[r * m + i] != 0);
            }
            count += fired;
            firing_bad += firing[i] != 3 + fired;
        }
        report_exact(what + " which latents fire", mask_bad);
        report_exact(what + " nnz and firing counts", (nnz[0] != count) + firing_bad + firing.guards_changed());
        ok(sae4j_cpu_sae_decode(ctx, b, B, m, s.flat.data()), "decode");
        std::vector<double> xh(B * d);
        for (int64_t r = 0; r < B; ++r)
            for (int64_t c = 0; c < d; ++c) {
                double v = s.b_dec()[c];
                for (int64_t i = 0; i < m; ++i) v += fref[r * m + i] * s.W_dec()[i * d + c];
                xh[r * d + c] = v;
            }
        report(what + " reconstruction", rel_err(xh, sae4j_cpu_batch_xhat(b)), 2e-5);
        sae4j_cpu_batch_destroy(b);
    }
}

void test_sae_errors(sae4j_cpu_ctx* ctx, std::mt19937_64& rng) {
    const Sae s = make_sae(rng, 6, 9, 0);
    int st = -1;
    sae4j_cpu_batch* inference = sae4j_cpu_batch_create(ctx, 4, 6, 9, SAE4J_LATENTS_AUTO, 0.12, 0, &st);
    sae4j_cpu_batch* training = sae4j_cpu_batch_create(ctx, 4, 6, 9, SAE4J_LATENTS_AUTO, 0.12, 1, &st);
    std::vector<float> g(2 * 9 * 6 + 9 + 6), losses(2);
    int32_t nnz;
    report_exact("batch_create refuses rows * max_m >= 2^31",
                 sae4j_cpu_batch_create(ctx, 1 << 16, 4, 1 << 15, SAE4J_LATENTS_AUTO, 0.1, 0, &st) != nullptr ||
                     st != SAE4J_ERR_ARG);
    report_exact("decode before any encode", sae4j_cpu_sae_decode(ctx, training, 4, 9, s.flat.data()) != SAE4J_ERR_ARG);
    ok(sae4j_cpu_sae_encode(ctx, training, 4, 9, s.flat.data(), SAE4J_ACT_RELU, 0, nullptr, &nnz, nullptr), "encode");
    report_exact("backward before decode", sae4j_cpu_sae_backward(ctx, training, 4, 9, s.flat.data(), SAE4J_ACT_RELU, 0,
                                                                  nullptr, 0.1f, g.data(), losses.data()) != SAE4J_ERR_ARG);
    report_exact("decode with another m", sae4j_cpu_sae_decode(ctx, training, 4, 8, s.flat.data()) != SAE4J_ERR_ARG);
    report_exact("encode of BatchTopK (not built)",
                 sae4j_cpu_sae_encode(ctx, training, 4, 9, s.flat.data(), SAE4J_ACT_BATCHTOPK, 2, nullptr, &nnz, nullptr) !=
                     SAE4J_ERR_UNSUPPORTED);
    report_exact("encode of TopK with k 0 or k > m, JumpReLU without a threshold: ERR_ARG",
                 (sae4j_cpu_sae_encode(ctx, training, 4, 9, s.flat.data(), SAE4J_ACT_TOPK, 0, nullptr, &nnz, nullptr) !=
                  SAE4J_ERR_ARG) +
                     (sae4j_cpu_sae_encode(ctx, training, 4, 9, s.flat.data(), SAE4J_ACT_TOPK, 10, nullptr, &nnz, nullptr) !=
                      SAE4J_ERR_ARG) +
                     (sae4j_cpu_sae_encode(ctx, training, 4, 9, s.flat.data(), SAE4J_ACT_JUMPRELU, 0, nullptr, &nnz,
                                           nullptr) != SAE4J_ERR_ARG));
    ok(sae4j_cpu_sae_encode(ctx, training, 4, 9, s.flat.data(), SAE4J_ACT_TOPK, 2, nullptr, &nnz, nullptr), "encode topk");
    ok(sae4j_cpu_sae_decode(ctx, training, 4, 9, s.flat.data()), "decode topk");
    report_exact("backward of TopK with lambda != 0 (TopK has no penalty): ERR_ARG",
                 sae4j_cpu_sae_backward(ctx, training, 4, 9, s.flat.data(), SAE4J_ACT_TOPK, 2, nullptr, 0.1f, g.data(),
                                        losses.data()) != SAE4J_ERR_ARG);
    ok(sae4j_cpu_sae_backward(ctx, training, 4, 9, s.flat.data(), SAE4J_ACT_TOPK, 2, nullptr, 0.f, g.data(), losses.data()),
       "backward topk");
    std::vector<float> threshold(9, 0.1f);
    report_exact("backward of JumpReLU (sae4j does not train it): ERR_UNSUPPORTED",
                 sae4j_cpu_sae_backward(ctx, training, 4, 9, s.flat.data(), SAE4J_ACT_JUMPRELU, 0, threshold.data(), 0.1f,
                                        g.data(), losses.data()) != SAE4J_ERR_UNSUPPORTED);
    {  // AuxK (its values: AuxKTest against a double reference): scratch of exactly the size asked, so
       // that ASan sees a write past it; unsorted lists refused; afterwards the batch holds no encode
        const int32_t dead[] = {1, 4, 8}, unsorted[] = {4, 1};
        std::vector<float> work(sae4j_cpu_auxk_workspace(4, 6, 3, 2));
        float aux = -1.f;
        report_exact("auxk refuses a dead list not strictly ascending",
                     sae4j_cpu_auxk_backward(ctx, training, 4, 9, s.flat.data(), unsorted, 2, nullptr, 2, 1.f, work.data(), g.data(),
                                             &aux) != SAE4J_ERR_ARG);
        ok(sae4j_cpu_auxk_backward(ctx, training, 4, 9, s.flat.data(), dead, 3, nullptr, 2, 1.f, work.data(), g.data(), &aux),
           "auxk");
        report_exact("auxk loss finite and >= 0", !(aux >= 0.f && std::isfinite(aux)));
        report_exact("auxk again without an encode: ERR_ARG",
                     sae4j_cpu_auxk_backward(ctx, training, 4, 9, s.flat.data(), dead, 3, nullptr, 2, 1.f, work.data(), g.data(),
                                             &aux) != SAE4J_ERR_ARG);
    }
    ok(sae4j_cpu_sae_encode(ctx, inference, 4, 9, s.flat.data(), SAE4J_ACT_RELU, 0, nullptr, &nnz, nullptr), "encode");
    ok(sae4j_cpu_sae_decode(ctx, inference, 4, 9, s.flat.data()), "decode");
    report_exact("backward on an inference batch", sae4j_cpu_sae_backward(ctx, inference, 4, 9, s.flat.data(), SAE4J_ACT_RELU,
                                                                          0, nullptr, 0.1f, g.data(), losses.data()) != SAE4J_ERR_ARG);
    sae4j_cpu_batch_destroy(inference);
    sae4j_cpu_batch_destroy(training);
}

// ---- cosine matching ----
// The kernels' layout of n logical vectors v (n, d): rows as they are, or columns (d, n).
std::vector<float> layout(const std::vector<float>& v, int64_t n, int64_t d, bool columns) {
    if (!columns) return v;
    std::vector<float> t(n * d);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < d; ++k) t[k * n + i] = v[i * d + k];
    return t;
}

// Ties: duplicated vectors give bitwise-equal cosines in the fused AVX-512 kernel (every lane runs
// the same code), so the smaller index must win there; an sgemm may round two equal products
// differently by an ulp (seen with OpenBLAS's Haswell kernels), so elsewhere any maximum is right.
void test_cosine(sae4j_cpu_ctx* ctx, std::mt19937_64& rng, int64_t n1, int64_t n2, int64_t d, bool a_cols,
                 bool b_cols, bool center) {
    auto a = randn(rng, n1 * d, 1), b = randn(rng, n2 * d, 1);  // logical rows (n, d)
    if (n1 > 3 && n2 > 40) {
        std::copy(a.begin() + 3 * d, a.begin() + 4 * d, b.begin() + 7 * d);   // a_3 == b_7 == b_40:
        std::copy(a.begin() + 3 * d, a.begin() + 4 * d, b.begin() + 40 * d);  // row 3 must pick 7
        std::fill(a.begin() + 1 * d, a.begin() + 2 * d, 0.f);                // zero (constant) vector
    }
    auto unit = [&](const std::vector<float>& v, int64_t n) {
        std::vector<double> u(n * d);
        for (int64_t i = 0; i < n; ++i) {
            double mean = 0, ss = 0;
            if (center) {
                for (int64_t k = 0; k < d; ++k) mean += v[i * d + k];
                mean /= d;
            }
            for (int64_t k = 0; k < d; ++k) ss += (v[i * d + k] - mean) * (v[i * d + k] - mean);
            const double inv = ss > 1e-30 ? 1 / std::sqrt(ss) : center ? NAN : 0.0;
            for (int64_t k = 0; k < d; ++k) u[i * d + k] = (v[i * d + k] - mean) * inv;
        }
        return u;
    };
    const auto ua = unit(a, n1), ub = unit(b, n2);
    std::vector<double> c(n1 * n2);
    for (int64_t i = 0; i < n1; ++i)
        for (int64_t j = 0; j < n2; ++j) {
            double s = 0;
            for (int64_t k = 0; k < d; ++k) s += ua[i * d + k] * ub[j * d + k];
            c[i * n2 + j] = s;
        }
    const auto A = layout(a, n1, d, a_cols), Bv = layout(b, n2, d, b_cols);
    Out<float> rmax(n1), cmax(n2);
    Out<int32_t> rarg(n1, -77), carg(n2, -77);
    std::vector<float> work(sae4j_cpu_cosine_max_workspace(ctx, n1, n2, d));
    ok(sae4j_cpu_cosine_max(ctx, n1, n2, d, A.data(), a_cols, Bv.data(), b_cols, center, rmax.p(), rarg.p(), cmax.p(),
                            carg.p(), work.data()),
       "cosine_max");
    std::vector<double> rref(n1, -INFINITY), cref(n2, -INFINITY);
    for (int64_t i = 0; i < n1; ++i)
        for (int64_t j = 0; j < n2; ++j)
            if (!std::isnan(c[i * n2 + j])) {
                rref[i] = std::max(rref[i], c[i * n2 + j]);
                cref[j] = std::max(cref[j], c[i * n2 + j]);
            }
    const std::string what = "cosine " + std::to_string(n1) + "x" + std::to_string(n2) + "x" + std::to_string(d) +
                             (a_cols ? " acol" : "") + (b_cols ? " bcol" : "") + (center ? " centred" : "");
    double worst = 0;
    int64_t bad_args = 0;
    const double tol = 2e-5;
    for (int64_t i = 0; i < n1; ++i) {
        if (std::isinf(rref[i])) {
            bad_args += rarg[i] != -1 || !(rmax[i] == -INFINITY);
            continue;
        }
        worst = std::max(worst, std::fabs(rmax[i] - rref[i]));
        bad_args += rarg[i] < 0 || rarg[i] >= n2 || std::fabs(c[i * n2 + rarg[i]] - rref[i]) > 2 * tol;
    }
    for (int64_t j = 0; j < n2; ++j) {
        if (std::isinf(cref[j])) {
            bad_args += carg[j] != -1;
            continue;
        }
        worst = std::max(worst, std::fabs(cmax[j] - cref[j]));
        bad_args += carg[j] < 0 || carg[j] >= n1 || std::fabs(c[carg[j] * n2 + j] - cref[j]) > 2 * tol;
    }
    report(what + " maxima", worst, tol);
    report_exact(what + " argmax", bad_args);
    if (n1 > 3 && n2 > 40 && sae4j_cpu_ctx_isa(ctx) == SAE4J_ISA_AVX512)
        report_exact(what + " tie to the smaller index", rarg[3] != 7);
    report_exact(what + " guards", rmax.guards_changed() + cmax.guards_changed() + rarg.guards_changed() +
                                       carg.guards_changed());
    // one block of the matrix
    const int64_t i0 = n1 / 3, i1 = std::min(n1, i0 + 5);
    Out<float> block((i1 - i0) * n2);
    std::vector<float> bwork((n1 + n2) * d);
    ok(sae4j_cpu_cosine_block(ctx, n1, n2, d, A.data(), a_cols, Bv.data(), b_cols, center, i0, i1, block.p(),
                              bwork.data()),
       "cosine_block");
    std::vector<double> bref(c.begin() + i0 * n2, c.begin() + i1 * n2);
    int64_t nan_bad = 0;
    for (size_t k = 0; k < bref.size(); ++k)
        if (std::isnan(bref[k])) {
            nan_bad += !std::isnan(block[k]);
            bref[k] = 0;
            block[k] = 0;
        }
    report(what + " block", rel_err(bref, block.p()), tol);
    report_exact(what + " block NaNs and guards", nan_bad + block.guards_changed());
}

// Top-k lists of rows and columns against the double matrix: every listed entry is what it
// claims, lists are ordered, and nothing left out ranks above a list's last entry (beyond the
// float rounding of a cosine); zero vectors make exact ties, which go to the smaller index.
void test_cosine_topk(sae4j_cpu_ctx* ctx, std::mt19937_64& rng, int64_t n1, int64_t n2, int64_t d, bool a_cols,
                      bool b_cols, bool absolute, int64_t k_row, int64_t k_col) {
    auto a = randn(rng, n1 * d, 1), b = randn(rng, n2 * d, 1);  // logical rows (n, d)
    const bool ties = n1 > 2 && n2 > 2;
    if (ties) {
        std::fill(a.begin() + 2 * d, a.begin() + 3 * d, 0.f);  // row 2 is all zeros
        std::fill(b.begin() + 1 * d, b.begin() + 2 * d, 0.f);  // column 1 is all zeros
    }
    std::vector<double> c(n1 * n2);
    std::vector<double> na(n1), nb(n2);
    for (int64_t i = 0; i < n1; ++i)
        for (int64_t k = 0; k < d; ++k) na[i] += (double)a[i * d + k] * a[i * d + k];
    for (int64_t j = 0; j < n2; ++j)
        for (int64_t k = 0; k < d; ++k) nb[j] += (double)b[j * d + k] * b[j * d + k];
    for (int64_t i = 0; i < n1; ++i)
        for (int64_t j = 0; j < n2; ++j) {
            double s = 0;
            for (int64_t k = 0; k < d; ++k) s += (double)a[i * d + k] * b[j * d + k];
            c[i * n2 + j] = na[i] > 0 && nb[j] > 0 ? s / std::sqrt(na[i] * nb[j]) : 0;
        }
    const auto A = layout(a, n1, d, a_cols), Bv = layout(b, n2, d, b_cols);
    Out<float> rval(n1 * k_row), cval(n2 * k_col);
    Out<int32_t> ridx(n1 * k_row, -77), cidx(n2 * k_col, -77);
    std::vector<float> work(sae4j_cpu_cosine_topk_workspace(ctx, n1, n2, d, k_row, k_col));
    ok(sae4j_cpu_cosine_topk(ctx, n1, n2, d, A.data(), a_cols, Bv.data(), b_cols, absolute, k_row, rval.p(), ridx.p(),
                             k_col, cval.p(), cidx.p(), work.data()),
       "cosine_topk");
    const double tol = 2e-5;
    auto key = [&](double v) { return absolute ? std::fabs(v) : v; };
    double worst = 0, worst_left_out = 0;
    int64_t bad = 0, tie_bad = 0;
    // one list: vector `v` of `n` with `other` candidates; entry(v, o) is the matrix element
    auto check = [&](const Out<float>& val, const Out<int32_t>& idx, int64_t n, int64_t other, int64_t k,
                     auto entry, int64_t zero_vector) {
        std::vector<char> listed(other);
        for (int64_t v = 0; v < n && k > 0; ++v) {
            std::fill(listed.begin(), listed.end(), 0);
            for (int64_t r = 0; r < k; ++r) {
                const int32_t o = idx.v[v * k + r];
                if (o < 0 || o >= other || listed[o]) {
                    ++bad;
                    continue;
                }
                listed[o] = 1;
                worst = std::max(worst, std::fabs(val.v[v * k + r] - entry(v, o)));
                if (r > 0 && key(val.v[v * k + r]) > key(val.v[v * k + r - 1])) ++bad;  // order
            }
            const double last = key(val.v[v * k + k - 1]);
            for (int64_t o = 0; o < other; ++o)
                if (!listed[o]) worst_left_out = std::max(worst_left_out, key(entry(v, o)) - last);
            if (v == zero_vector)  // all entries 0: the first k indices
                for (int64_t r = 0; r < k; ++r) tie_bad += idx.v[v * k + r] != r;
        }
    };
    check(rval, ridx, n1, n2, k_row, [&](int64_t i, int64_t j) { return c[i * n2 + j]; }, ties ? 2 : -1);
    check(cval, cidx, n2, n1, k_col, [&](int64_t j, int64_t i) { return c[i * n2 + j]; }, ties ? 1 : -1);
    const std::string what = "topk " + std::to_string(n1) + "x" + std::to_string(n2) + "x" + std::to_string(d) +
                             " k " + std::to_string(k_row) + "/" + std::to_string(k_col) + (a_cols ? " acol" : "") +
                             (b_cols ? " bcol" : "") + (absolute ? " abs" : "");
    report(what + " values", worst, tol);
    report(what + " nothing left out above the last", std::max(0.0, worst_left_out), tol);
    report_exact(what + " indices, order", bad);
    if (ties) report_exact(what + " ties to the smaller index", tie_bad);
    report_exact(what + " guards", rval.guards_changed() + ridx.guards_changed() + cval.guards_changed() +
                                       cidx.guards_changed());
}

void test_cosine_topk_errors(sae4j_cpu_ctx* ctx) {
    std::vector<float> A(12, 1.f), work(1 << 16);
    Out<float> val(8);
    Out<int32_t> idx(8, -77);
    int64_t bad = 0;
    bad += sae4j_cpu_cosine_topk_workspace(ctx, 3, 4, 3, 5, 0) != -1;  // k_row > n2
    bad += sae4j_cpu_cosine_topk_workspace(ctx, 3, 4, 3, 0, 4) != -1;  // k_col > n1
    bad += sae4j_cpu_cosine_topk_workspace(ctx, 3, 4, 3, 0, 0) != -1;  // nothing asked
    bad += sae4j_cpu_cosine_topk(ctx, 3, 4, 3, A.data(), 0, A.data(), 0, 0, 5, val.p(), idx.p(), 0, nullptr, nullptr,
                                 work.data()) != SAE4J_ERR_ARG;
    bad += sae4j_cpu_cosine_topk(ctx, 3, 4, 3, A.data(), 0, A.data(), 0, 0, 2, nullptr, idx.p(), 0, nullptr, nullptr,
                                 work.data()) != SAE4J_ERR_ARG;
    bad += sae4j_cpu_cosine_topk(ctx, 3, 4, 3, A.data(), 0, A.data(), 0, 0, 0, nullptr, nullptr, 2, val.p(), nullptr,
                                 work.data()) != SAE4J_ERR_ARG;
    report_exact("topk bad arguments refused", bad);
    // a NaN vector: its cosines enter no list; its own list is all -inf / -1 (2 owners: the merge path)
    {
        const int64_t n1 = 3, n2 = 1100, d = 2;
        std::vector<float> a(n1 * d, 1.f), b(n2 * d, 0.5f), w(sae4j_cpu_cosine_topk_workspace(ctx, n1, n2, d, 2, 2));
        a[1 * d] = std::numeric_limits<float>::quiet_NaN();
        Out<float> rv(n1 * 2), cv(n2 * 2);
        Out<int32_t> ri(n1 * 2, -77), ci(n2 * 2, -77);
        ok(sae4j_cpu_cosine_topk(ctx, n1, n2, d, a.data(), 0, b.data(), 0, 0, 2, rv.p(), ri.p(), 2, cv.p(), ci.p(), w.data()),
           "cosine_topk (NaN)");
        int64_t nan_bad = (ri[2] != -1) + (ri[3] != -1) + !(rv[2] == -INFINITY) + (ri[0] < 0) + (ri[4] < 0);
        for (int64_t j = 0; j < n2; ++j) nan_bad += ci[j * 2] == 1 || ci[j * 2 + 1] == 1;  // row 1 in no column list
        report_exact("topk: a NaN vector is in no list and its own is empty", nan_bad + rv.guards_changed() + ri.guards_changed());
    }
    report_exact("topk bad arguments: nothing written", val.guards_changed() + idx.guards_changed() +
                                                            (int64_t)std::count_if(idx.v.begin(), idx.v.begin() + 8,
                                                                                   [](int32_t x) { return x != -77; }));
}

// Exact correlation from sparse latents, accumulated over two encodes of one batch (37 + 20 rows),
// against Pearson r of double reference latents over all 57 rows: latents that never fire, one of
// a single value on every row (both excluded: -inf / -1), one that fires on every row with varying
// values, and many pairs never co-active.
void test_coactivation(sae4j_cpu_ctx* ctx, std::mt19937_64& rng) {
    const int64_t d = 12, m1 = 40, m2 = 29, rows[2] = {37, 20}, N = 57;
    Sae sa = make_sae(rng, d, m1, -1.2), sb = make_sae(rng, d, m2, -1.0);
    auto set_bias = [](Sae& s, int64_t i, float v) { s.flat[s.m * s.d + i] = v; };
    set_bias(sa, 0, -100.f);                                                  // A0 never fires
    std::fill(sa.flat.begin() + 1 * d, sa.flat.begin() + 2 * d, 0.f);          // A1: W_enc column 0 ...
    set_bias(sa, 1, 0.7f);                                                    // ... so f = 0.7 on every row
    set_bias(sa, 2, 100.f);                                                   // A2 fires on every row
    set_bias(sb, 4, -100.f);                                                  // B4 never fires
    const auto x = randn(rng, N * d, 1);
    auto ref_latents = [&](const Sae& s) {
        std::vector<double> f(N * s.m);
        for (int64_t r = 0; r < N; ++r)
            for (int64_t i = 0; i < s.m; ++i) {
                double pre = s.b_enc()[i];
                for (int64_t k = 0; k < d; ++k) pre += (x[r * d + k] - (double)s.b_dec()[k]) * s.W_encT()[i * d + k];
                f[r * s.m + i] = std::max(0.0, pre);
            }
        return f;
    };
    const auto fa = ref_latents(sa), fb = ref_latents(sb);
    int st = 0;
    sae4j_cpu_batch* ba = sae4j_cpu_batch_create(ctx, 40, d, m1, SAE4J_LATENTS_SPARSE, 1.0, 0, &st);
    sae4j_cpu_batch* bb = sae4j_cpu_batch_create(ctx, 40, d, m2, SAE4J_LATENTS_SPARSE, 1.0, 0, &st);
    if (!ba || !bb) return ok(st ? st : SAE4J_ERR_NOMEM, "batch_create (coactivation)");
    sae4j_cpu_coact* acc = sae4j_cpu_coact_create(m1, m2, &st);
    if (!acc) return ok(st, "coact_create");
    // the same rows through another thread count: the stage (40 entries a side at these sizes)
    // fills many times within a batch, and its flushes split the latents differently
    sae4j_cpu_ctx* other_ctx = sae4j_cpu_ctx_create(sae4j_cpu_ctx_threads(ctx) == 1 ? 3 : 1, SAE4J_ISA_AUTO, &st);
    sae4j_cpu_coact* other = other_ctx ? sae4j_cpu_coact_create(m1, m2, &st) : nullptr;
    if (!other) {
        sae4j_cpu_ctx_destroy(other_ctx);
        sae4j_cpu_coact_destroy(acc);
        sae4j_cpu_batch_destroy(ba);
        sae4j_cpu_batch_destroy(bb);
        return ok(st ? st : SAE4J_ERR_NOMEM, "coact_create (other thread count)");
    }
    int32_t nnz;
    std::vector<double> S_ref(m1 * m2, 0.0);
    for (int64_t part = 0, r0 = 0; part < 2; r0 += rows[part++]) {
        std::copy(x.begin() + r0 * d, x.begin() + (r0 + rows[part]) * d, sae4j_cpu_batch_x(ba));
        std::copy(x.begin() + r0 * d, x.begin() + (r0 + rows[part]) * d, sae4j_cpu_batch_x(bb));
        ok(sae4j_cpu_sae_encode(ctx, ba, rows[part], m1, sa.flat.data(), SAE4J_ACT_RELU, 0, nullptr, &nnz, nullptr),
           "encode a");
        ok(sae4j_cpu_sae_encode(ctx, bb, rows[part], m2, sb.flat.data(), SAE4J_ACT_RELU, 0, nullptr, &nnz, nullptr),
           "encode b");
        ok(sae4j_cpu_coact_add(ctx, acc, ba, bb, rows[part]), "coact_add");
        ok(sae4j_cpu_coact_add(other_ctx, other, ba, bb, rows[part]), "coact_add (other thread count)");
        // S as token-by-token accumulation would make it: the products of each row's nonzero latents
        // (f in column order, as the sparse latents hold them), in row order. At these sizes the sums
        // are exact in double, so this checks the entries, not their order.
        const float *fa_enc = sae4j_cpu_batch_f(ba), *fb_enc = sae4j_cpu_batch_f(bb);
        for (int64_t r = 0; r < rows[part]; ++r)
            for (int64_t i = 0; i < m1; ++i)
                for (int64_t j = 0; j < m2; ++j)
                    if (fa_enc[r * m1 + i] != 0 && fb_enc[r * m2 + j] != 0)
                        S_ref[i * m2 + j] += (double)fa_enc[r * m1 + i] * fb_enc[r * m2 + j];
    }
    int64_t s_differ = 0;
    std::vector<double> row(m2), other_row(m2);
    for (int64_t i = 0; i < m1; ++i) {
        ok(sae4j_cpu_coact_row(ctx, acc, i, row.data()), "coact_row");
        ok(sae4j_cpu_coact_row(other_ctx, other, i, other_row.data()), "coact_row (other thread count)");
        for (int64_t j = 0; j < m2; ++j)
            s_differ += std::memcmp(&row[j], &S_ref[i * m2 + j], sizeof(double)) != 0 ||
                        std::memcmp(&other_row[j], &S_ref[i * m2 + j], sizeof(double)) != 0;
    }
    report_exact("coact S bit-identical to token order, at both thread counts", s_differ);
    report_exact("coact: rows counted", sae4j_cpu_coact_tokens(acc) != N);
    Out<float> rmax(m1), cmax(m2);
    Out<int32_t> rarg(m1, -77), carg(m2, -77);
    ok(sae4j_cpu_coact_maxima(ctx, acc, rmax.p(), rarg.p(), cmax.p(), carg.p()), "coact_maxima");
    std::vector<double> suma(m1), sumb(m2);
    ok(sae4j_cpu_coact_sums(ctx, acc, suma.data(), sumb.data()), "coact_sums");
    double worst_sum = 0;
    for (int64_t i = 0; i < m1; ++i) {
        double ref = 0;
        for (int64_t r = 0; r < N; ++r) ref += fa[r * m1 + i];
        worst_sum = std::max(worst_sum, std::fabs(suma[i] - ref) / std::max(1.0, ref));
    }
    report("coact sums of a", worst_sum, 1e-6);
    // reference Pearson r in double over all rows; NaN where a latent has no variance
    auto column = [&](const std::vector<double>& f, int64_t m, int64_t i) {
        std::vector<double> c(N);
        for (int64_t r = 0; r < N; ++r) c[r] = f[r * m + i];
        return c;
    };
    auto pearson = [&](const std::vector<double>& u, const std::vector<double>& v) {
        double mu = 0, mv = 0, suv = 0, suu = 0, svv = 0;
        for (int64_t r = 0; r < N; ++r) mu += u[r], mv += v[r];
        mu /= N, mv /= N;
        for (int64_t r = 0; r < N; ++r) {
            suv += (u[r] - mu) * (v[r] - mv);
            suu += (u[r] - mu) * (u[r] - mu);
            svv += (v[r] - mv) * (v[r] - mv);
        }
        return suu > 1e-20 && svv > 1e-20 ? suv / std::sqrt(suu * svv) : NAN;
    };
    std::vector<double> R(m1 * m2);
    int64_t never_coactive = 0;
    for (int64_t i = 0; i < m1; ++i)
        for (int64_t j = 0; j < m2; ++j) {
            const auto u = column(fa, m1, i), v = column(fb, m2, j);
            R[i * m2 + j] = pearson(u, v);
            bool co = false;
            for (int64_t r = 0; r < N; ++r) co |= u[r] > 0 && v[r] > 0;
            never_coactive += !co && !std::isnan(R[i * m2 + j]);
        }
    double worst = 0;
    int64_t bad = 0;
    for (int side = 0; side < 2; ++side) {
        const int64_t n = side ? m2 : m1, other = side ? m1 : m2;
        for (int64_t v = 0; v < n; ++v) {
            double best = -INFINITY;
            for (int64_t o = 0; o < other; ++o) {
                const double r = side ? R[o * m2 + v] : R[v * m2 + o];
                if (!std::isnan(r)) best = std::max(best, r);
            }
            const float got = side ? cmax[v] : rmax[v];
            const int32_t arg = side ? carg[v] : rarg[v];
            if (std::isinf(best)) {
                bad += !(got == -INFINITY && arg == -1);
                continue;
            }
            worst = std::max(worst, std::fabs(got - best));
            const double at = arg < 0 || arg >= other ? NAN : side ? R[arg * m2 + v] : R[v * m2 + arg];
            bad += !(std::fabs(at - best) <= 2e-6) || std::fabs(got) > 1.f;
        }
    }
    bad += rarg[0] != -1 || rarg[1] != -1 || rarg[2] < 0 || carg[4] != -1;
    report("correlation maxima over 2 batches (57 rows)", worst, 1e-6);
    report_exact("correlation argmax, exclusions, [-1, 1]", bad);
    report_exact("correlation: some pairs are never co-active", never_coactive == 0);
    std::vector<float> omax(m1 + m2);
    std::vector<int32_t> oarg(m1 + m2);
    std::vector<double> osum(m1 + m2);
    ok(sae4j_cpu_coact_maxima(other_ctx, other, omax.data(), oarg.data(), omax.data() + m1, oarg.data() + m1),
       "coact_maxima (other thread count)");
    ok(sae4j_cpu_coact_sums(other_ctx, other, osum.data(), osum.data() + m1), "coact_sums (other thread count)");
    int64_t differ = 0;
    for (int64_t i = 0; i < m1 + m2; ++i) {
        const bool a_side = i < m1;
        const float got = a_side ? rmax[i] : cmax[i - m1];
        differ += std::memcmp(&got, &omax[i], sizeof got) != 0 || (a_side ? rarg[i] : carg[i - m1]) != oarg[i] ||
                  (a_side ? suma[i] : sumb[i - m1]) != osum[i];
    }
    report_exact("correlation bit-identical at another thread count", differ);
    sae4j_cpu_coact_destroy(other);
    sae4j_cpu_ctx_destroy(other_ctx);
    report_exact("correlation guards", rmax.guards_changed() + cmax.guards_changed() + rarg.guards_changed() +
                                           carg.guards_changed());
    // a dense encode is refused: the sums need the sparse latents; so are other shapes and sizes
    sae4j_cpu_batch* dense = sae4j_cpu_batch_create(ctx, 40, d, m1, SAE4J_LATENTS_DENSE, 1.0, 0, &st);
    ok(sae4j_cpu_sae_encode(ctx, dense, 10, m1, sa.flat.data(), SAE4J_ACT_RELU, 0, nullptr, &nnz, nullptr), "encode");
    int status = 0;
    report_exact("coactivation of a dense encode, of other shapes, bad sizes: ERR_ARG",
                 (sae4j_cpu_coact_add(ctx, acc, dense, bb, 10) != SAE4J_ERR_ARG) +
                     (sae4j_cpu_coact_add(ctx, acc, ba, bb, 19) != SAE4J_ERR_ARG) +
                     (sae4j_cpu_coact_create(0, 5, &status) != nullptr || status != SAE4J_ERR_ARG) +
                     (sae4j_cpu_coact_maxima(ctx, acc, nullptr, rarg.p(), cmax.p(), carg.p()) != SAE4J_ERR_ARG) +
                     (sae4j_cpu_coact_tokens(acc) != N));
    sae4j_cpu_batch_destroy(dense);
    sae4j_cpu_coact_destroy(acc);
    sae4j_cpu_batch_destroy(ba);
    sae4j_cpu_batch_destroy(bb);
}

void test_dispatch() {
    // the leaf 1 ECX, leaf 7 EBX, leaf 0x80000001 ECX bits of a full x86-64-v4 CPU
    const uint32_t l1 = (1u << 0) | (1u << 9) | (1u << 12) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 22) |
                        (1u << 23) | (1u << 27) | (1u << 28) | (1u << 29);
    const uint32_t l7 = (1u << 3) | (1u << 5) | (1u << 8) | (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
    const uint32_t e1 = 1u | (1u << 5);
    report_exact("dispatch: full v4", sae4j_cpu_isa_for_features(l1, l7, e1, 0xe6) != SAE4J_ISA_AVX512);
    report_exact("dispatch: BMI2 hidden -> portable", sae4j_cpu_isa_for_features(l1, l7 & ~(1u << 8), e1, 0xe6) !=
                                                         SAE4J_ISA_PORTABLE);
    report_exact("dispatch: AVX512CD hidden -> avx2", sae4j_cpu_isa_for_features(l1, l7 & ~(1u << 28), e1, 0xe6) !=
                                                          SAE4J_ISA_AVX2);
}

void run_all(int threads, int isa, bool full) {
    int st = -1;
    sae4j_cpu_ctx* ctx = sae4j_cpu_ctx_create(threads, isa, &st);
    const char* isa_name[] = {"auto", "portable", "avx2", "avx512"};
    g_tag = std::string(isa_name[isa]) + "/" + std::to_string(threads) + "t";
    if (!ctx) return ok(st, "ctx_create");
    std::mt19937_64 rng(1000 * threads + isa);
    test_gemm(ctx, rng);
    test_elementwise(ctx, rng);
    test_adam(ctx, rng);
    test_sae(ctx, rng, 33, 48, 150, -1.9, SAE4J_LATENTS_AUTO, 1, "sae sparse AUTO");
    test_sae(ctx, rng, 33, 48, 150, -1.9, SAE4J_LATENTS_SPARSE, 1, "sae SPARSE");
    test_sae(ctx, rng, 41, 24, 64, 1.0, SAE4J_LATENTS_AUTO, 0, "sae dense AUTO");
    test_sae(ctx, rng, 41, 24, 64, -0.6, SAE4J_LATENTS_DENSE, 0, "sae DENSE");
    test_sae(ctx, rng, 64, 24, 100, -1.9, SAE4J_LATENTS_AUTO, 1, "sae skewed AUTO", true);
    test_sae(ctx, rng, 1, 1, 1, 0.3, SAE4J_LATENTS_AUTO, -1, "sae 1x1x1");
    test_sae_activations(ctx, rng, SAE4J_LATENTS_AUTO, "sae AUTO");
    test_sae_activations(ctx, rng, SAE4J_LATENTS_DENSE, "sae DENSE");
    if (full) test_sae_errors(ctx, rng);
    test_cosine(ctx, rng, 70, 61, 24, false, false, false);
    if (full)
        for (int cols = 0; cols < 4; ++cols) test_cosine(ctx, rng, 45, 83, 17, cols & 1, cols & 2, true);
    test_cosine(ctx, rng, 19, 300, 1024, false, false, false);  // several column groups of the fused path
    test_cosine_topk(ctx, rng, 300, 1100, 24, false, false, false, 5, 7);  // 2 x 3 tiles, 2+ owners
    test_cosine_topk(ctx, rng, 300, 1100, 24, false, false, true, 9, 3);
    if (full) {
        test_cosine_topk(ctx, rng, 45, 83, 17, true, true, true, 83, 0);  // whole rows
        test_cosine_topk(ctx, rng, 45, 83, 17, false, true, false, 0, 45);
        test_cosine_topk(ctx, rng, 1, 1, 1, false, false, false, 1, 1);
        test_cosine_topk_errors(ctx);
    }
    test_coactivation(ctx, rng);
    sae4j_cpu_ctx_destroy(ctx);
}

}  // namespace

int main() {
    test_dispatch();
    int best = SAE4J_ISA_PORTABLE;
    for (int isa = SAE4J_ISA_PORTABLE; isa <= SAE4J_ISA_AVX512; ++isa)
        if (sae4j_cpu_cpu_supports(isa)) {
            run_all(2, isa, true);
            best = isa;
        }
    for (int threads : {1, 3, 7}) run_all(threads, best, false);
    std::printf("%d checks, %d failed (blas core %s)\n", g_checks, g_failed, sae4j_cpu_blas_core());
    return g_failed ? 1 : 0;
}
