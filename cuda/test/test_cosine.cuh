// test_cosine.cuh: checks of sae4j_cuda_normalise and sae4j_cuda_cosine_max against double
// references (Reference.java's definitions): both layouts of A and B, centring on and off, both
// precisions; each maximum equal to the cosine of its own pair to float precision and within
// [-1, 1] (recomputed in double, whatever the precision of the search); ties (duplicated vectors, within and across 128-wide tiles: the smallest index must
// win), constant vectors (excluded when centring: -inf / -1 and never an argmax) and zero vectors
// (cosine 0 without centring); and a case where every cosine is negative (n1 == 2).
#pragma once

#include "test_util.cuh"

namespace kt {

// Unit vectors of v (n, d) in double; NaN rows for constant vectors when centring.
inline std::vector<double> ref_unit(const std::vector<float>& v, int64_t n, int64_t d, bool center) {
    std::vector<double> u((size_t)(n * d));
    for (int64_t i = 0; i < n; ++i) {
        double mean = 0, ss = 0;
        for (int64_t k = 0; k < d; ++k) mean += v[i * d + k];
        mean = center ? mean / (double)d : 0.0;
        for (int64_t k = 0; k < d; ++k) ss += (v[i * d + k] - mean) * (v[i * d + k] - mean);
        const double inv = ss > 0 ? 1 / std::sqrt(ss) : center ? NAN : 0.0;
        for (int64_t k = 0; k < d; ++k) u[i * d + k] = (v[i * d + k] - mean) * inv;
    }
    return u;
}

// The device layout of n logical vectors v (n, d): rows as they are, or columns (d, n).
inline std::vector<float> layout(const std::vector<float>& v, int64_t n, int64_t d, bool columns) {
    if (!columns) return v;
    std::vector<float> t((size_t)(n * d));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < d; ++k) t[k * n + i] = v[i * d + k];
    return t;
}

// Random vectors with the special ones the checks look for (where the sizes allow).
inline void cosine_inputs(int64_t n1, int64_t n2, int64_t d, uint64_t seed, std::vector<float>& a,
                          std::vector<float>& b) {
    Rng r(seed);
    a = r.vec(n1 * d, -1, 1);
    b = r.vec(n2 * d, -1, 1);
    if (n1 == 2) {  // every cosine negative: zero padding must never win a maximum
        a = r.vec(n1 * d, -1, -0.1);
        b = r.vec(n2 * d, 0.1, 1);
        return;
    }
    auto copy = [d](std::vector<float>& dst, int64_t i, const std::vector<float>& src, int64_t j) {
        for (int64_t k = 0; k < d; ++k) dst[i * d + k] = src[j * d + k];
    };
    if (n1 > 3)
        for (int64_t k = 0; k < d; ++k) a[3 * d + k] = 0.7f;  // constant
    if (n1 > 4)
        for (int64_t k = 0; k < d; ++k) a[4 * d + k] = 0.f;  // zero
    if (n2 > 11)
        for (int64_t k = 0; k < d; ++k) b[11 * d + k] = -0.3f;
    if (n2 > 13)
        for (int64_t k = 0; k < d; ++k) b[13 * d + k] = 0.f;
    if (n2 > 300 && n1 > 2) {  // row 2 ties at columns 5, 7 (same tile) and 300 (third tile)
        copy(b, 7, b, 5);
        copy(b, 300, b, 5);
        copy(a, 2, b, 5);
    }
    if (n1 > 140 && n2 > 20) {  // column 20 ties at rows 10, 12 and 140 (second tile)
        copy(a, 12, a, 10);
        copy(a, 140, a, 10);
        copy(b, 20, a, 10);
    }
}

inline void test_normalise(int64_t n, int64_t d, bool columns, bool center) {
    std::vector<float> a, unused;
    cosine_inputs(n, 1, d, 5 + n + d, a, unused);
    DBuf<float> src(n * d), out(n * d);
    src.set(layout(a, n, d, columns));
    OK(sae4j_cuda_normalise(g_ctx, n, d, src.d, columns, center, out.d));
    char tag[96];
    snprintf(tag, sizeof tag, "normalise n=%lld d=%lld %s center=%d", (long long)n, (long long)d,
             columns ? "columns" : "rows", (int)center);
    report(tag, rel_err(out.get(), ref_unit(a, n, d, center)), 1e-6);
    report_exact(std::string(tag) + " guard", out.guard_bad());
}

inline void test_cosine(int64_t n1, int64_t n2, int64_t d, bool a_cols, bool b_cols, bool center,
                        int precision, uint64_t seed) {
    std::vector<float> a, b;
    cosine_inputs(n1, n2, d, seed, a, b);
    DBuf<float> A(n1 * d), Bv(n2 * d);
    A.set(layout(a, n1, d, a_cols));
    Bv.set(layout(b, n2, d, b_cols));
    char tag[128];
    snprintf(tag, sizeof tag, "cosine %lldx%lldx%lld A=%s B=%s center=%d %s", (long long)n1,
             (long long)n2, (long long)d, a_cols ? "cols" : "rows", b_cols ? "cols" : "rows",
             (int)center, precision == SAE4J_CUDA_COSINE_FP32 ? "FP32" : "TF32");
    const int64_t ws = sae4j_cuda_cosine_max_workspace(n1, n2, d);
    report_exact(std::string(tag) + " workspace >= (n1+n2)(4d+8)",
                 ws < (n1 + n2) * (4 * d + 8));
    DBuf<float> work((ws + 3) / 4), rmax(n1), cmax(n2);
    DBuf<int32_t> rarg(n1), carg(n2);
    OK(sae4j_cuda_cosine_max(g_ctx, n1, n2, d, A.d, a_cols, Bv.d, b_cols, center, precision,
                             rmax.d, rarg.d, cmax.d, carg.d, work.d));
    std::vector<float> rm = rmax.get(), cm = cmax.get();
    std::vector<int32_t> ra = rarg.get(), ca = carg.get();

    const std::vector<double> ua = ref_unit(a, n1, d, center), ub = ref_unit(b, n2, d, center);
    std::vector<double> C((size_t)(n1 * n2));
    double scale = 1e-300;
    for (int64_t i = 0; i < n1; ++i)
        for (int64_t j = 0; j < n2; ++j) {
            double s = 0;
            for (int64_t k = 0; k < d; ++k) s += ua[i * d + k] * ub[j * d + k];
            C[i * n2 + j] = s;
            if (!std::isnan(s)) scale = std::max(scale, std::fabs(s));
        }
    const double bound = precision == SAE4J_CUDA_COSINE_FP32 ? 2e-5 : 2e-3;
    double worst = 0, worst_at_arg = 0;
    int64_t bad = 0;
    // side 0: rows (max over j), side 1: columns (max over i)
    for (int side = 0; side < 2; ++side) {
        const int64_t n = side ? n2 : n1, other = side ? n1 : n2;
        const std::vector<float>& gm = side ? cm : rm;
        const std::vector<int32_t>& ga = side ? ca : ra;
        for (int64_t i = 0; i < n; ++i) {
            double best = -INFINITY;
            int64_t arg = -1;
            for (int64_t j = 0; j < other; ++j) {
                const double c = side ? C[j * n2 + i] : C[i * n2 + j];
                if (c > best) {  // NaN never; ties keep the first
                    best = c;
                    arg = j;
                }
            }
            if (arg < 0) {
                bad += !(std::isinf(gm[i]) && gm[i] < 0 && ga[i] == -1);
                continue;
            }
            if (ga[i] < 0 || ga[i] >= other) {
                ++bad;
                continue;
            }
            const double at = side ? C[(int64_t)ga[i] * n2 + i] : C[i * n2 + ga[i]];
            if (std::isnan(at) || at < best - 2 * bound * scale) ++bad;
            // the maximum is the cosine of its own pair to float precision (recomputed in double)
            worst_at_arg = std::max(worst_at_arg, std::isfinite(gm[i]) ? std::fabs(gm[i] - at) : INFINITY);
            if (std::fabs(gm[i]) > 1.f) ++bad;
            worst = std::max(worst, std::isfinite(gm[i]) ? std::fabs(gm[i] - best) / scale : INFINITY);
        }
    }
    // exact ties: the smallest index
    if (n2 > 300 && n1 > 2) bad += ra[2] != 5;
    if (n1 > 140 && n2 > 20) bad += ca[20] != 10;
    report(std::string(tag) + " maxima", worst, bound);
    report(std::string(tag) + " maxima = cosine at the argmax, in [-1, 1]", worst_at_arg, 2e-6);
    report_exact(std::string(tag) + " argmax, exclusions, ties", bad);
    report_exact(std::string(tag) + " guards",
                 rmax.guard_bad() + cmax.guard_bad() + rarg.guard_bad() + carg.guard_bad() +
                     work.guard_bad());
}

}  // namespace kt
