// test_auxk.cuh: AuxK as the Java backend composes it (sae4j_cuda.h, AuxK section), with the naive
// GEMM in place of cuBLAS, against a double reference of sae4j_cpu_auxk_backward's maths: the loss,
// and the gradient added to gradients that already hold something. The batch's xc and err are set
// directly (the main step is test_sae.cuh's business); pre-activations lie on a grid of 1/32 so
// that ties in the k_aux selection occur, and the selection is compared from its own input.
#pragma once

#include "test_util.cuh"

namespace kt {

inline void test_auxk(int64_t B, int64_t d, int64_t m, int64_t n, int64_t k_aux, float alpha, const char* name,
                      uint64_t seed) {
    const int64_t rows = B + 2, max_m = m + 3, np = 2 * m * d + m + d, k = std::min(k_aux, n);
    int st = 0;
    sae4j_cuda_batch* bt = sae4j_cuda_batch_create(g_ctx, rows, d, max_m, SAE4J_CUDA_LATENTS_DENSE, 0.5, 1, &st);
    if (!bt) die("sae4j_cuda_batch_create", st);
    Rng r(seed);
    // params whose dead encoder rows give pre on a 1/8 grid: W_encT rows with one 1/8-step entry
    std::vector<float> params = r.vec(np, -0.5, 0.5), xc = r.vec(B * d, -1, 1), err = r.vec(B * d, -0.02, 0.02);
    for (auto& v : xc) v = std::round(v * 4) / 4;
    for (int64_t i = 0; i < m * d; ++i) params[i] = std::round(params[i] * 4) / 8;
    for (int64_t i = 0; i < m; ++i) params[m * d + i] = std::round(params[m * d + i] * 8) / 8;
    std::vector<int32_t> dead;
    for (int64_t i = 0; (int64_t)dead.size() < n; i += 1 + (int64_t)(r.next() % 2))
        dead.push_back((int32_t)std::min(i, m - n + (int64_t)dead.size()));
    std::vector<float> g0 = r.vec(np, -0.01, 0.01);  // below the increments: rounding of g0 + inc stays small
    float *f = sae4j_cuda_batch_f(bt), *dpre = sae4j_cuda_batch_dpre(bt);
    ul(sae4j_cuda_batch_xc(bt), xc);
    ul(sae4j_cuda_batch_err(bt), err);
    const float PZ = poison_f();
    poison(f, rows * max_m);
    poison(dpre, rows * max_m);
    DBuf<float> P(np), grads(np), Wenc(n * d), Wdec(n * d), bdead(n), G(B * d), S(n * d), gbd(n), loss(1);
    DBuf<int32_t> D(n);
    P.set(params);
    grads.set(g0);
    D.set(dead);
    float *gWencT = grads.d, *gbenc = grads.d + m * d, *gWdec = grads.d + m * d + m, *gbdec = grads.d + 2 * m * d + m;
    const float* xc_d = sae4j_cuda_batch_xc(bt);

    // latents fired since the list was made (every fifth listed one) must get b_dead = -inf
    std::vector<int32_t> fired((size_t)m, 0);
    for (int64_t j = 3; j < n; j += 5) fired[dead[j]] = 1;
    DBuf<int32_t> Fired(m);
    Fired.set(fired);
    OK(sae4j_cuda_auxk_gather(g_ctx, n, d, m, D.d, Fired.d, P.d, Wenc.d, Wdec.d, bdead.d));
    gemm(0, 1, (int)B, (int)n, (int)d, 1.f, xc_d, (int)d, Wenc.d, (int)d, 0.f, f, (int)n);
    std::vector<float> pre = dl(f, B * n);
    OK(sae4j_cuda_topk_relu(g_ctx, B, n, k, bdead.d, f));
    std::vector<float> A = dl(f, B * n);
    gemm(0, 0, (int)B, (int)d, (int)n, 1.f, f, (int)n, Wdec.d, (int)d, 0.f, G.d, (int)d);
    std::vector<float> ehat = G.get();
    OK(sae4j_cuda_auxk_residual(g_ctx, bt, B, alpha, G.d));
    std::vector<float> g_res = G.get();
    gemm(0, 1, (int)B, (int)n, (int)d, 1.f, G.d, (int)d, Wdec.d, (int)d, 0.f, dpre, (int)n);
    std::vector<float> dA_in = dl(dpre, B * n);
    OK(sae4j_cuda_auxk_mask_colsum(g_ctx, B, n, f, dpre, gbd.d));
    std::vector<float> dA = dl(dpre, B * n);
    gemm(1, 0, (int)n, (int)d, (int)B, 1.f, f, (int)n, G.d, (int)d, 0.f, S.d, (int)d);
    OK(sae4j_cuda_scatter_add_rows(g_ctx, n, d, m, D.d, S.d, gWdec, nullptr, nullptr));
    gemm(1, 0, (int)n, (int)d, (int)B, 1.f, dpre, (int)n, xc_d, (int)d, 0.f, S.d, (int)d);
    OK(sae4j_cuda_scatter_add_rows(g_ctx, n, d, m, D.d, S.d, gWencT, gbd.d, gbenc));
    gemm(0, 0, 1, (int)d, (int)n, -1.f, gbd.d, (int)n, Wenc.d, (int)d, 1.f, gbdec, (int)d);
    OK(sae4j_cuda_auxk_loss(g_ctx, bt, B, alpha, loss.d));

    char tag[112];
    snprintf(tag, sizeof tag, "auxk %s B=%lld d=%lld m=%lld n=%lld k=%lld", name, (long long)B, (long long)d,
             (long long)m, (long long)n, (long long)k);
    const std::string t(tag);
    // gather
    int64_t bad = 0;
    std::vector<float> we = Wenc.get(), wd = Wdec.get(), bdv = bdead.get();
    for (int64_t j = 0; j < n; ++j) {
        const int64_t i = dead[j];
        for (int64_t c = 0; c < d; ++c)
            bad += !same_bits(we[j * d + c], params[i * d + c]) + !same_bits(wd[j * d + c], params[m * d + m + i * d + c]);
        bad += !same_bits(bdv[j], fired[i] ? -INFINITY : params[m * d + i]);
    }
    report_exact(t + " gather", bad + Wenc.guard_bad() + Wdec.guard_bad() + bdead.guard_bad());
    // selection: from the GEMM's own output, exactly (ties to the lower index)
    bad = 0;
    for (int64_t b = 0; b < B; ++b) {
        const std::vector<float> want = topk_relu_row(pre.data() + b * n, bdv.data(), n, k);
        for (int64_t j = 0; j < n; ++j) bad += !same_bits(A[b * n + j], want[j]);
    }
    report_exact(t + " topk_relu", bad);
    // the case must test what it claims: rows where the selection cuts, a fired latent that would
    // have been selected (its bias was not -inf)
    int64_t cut = 0, fired_would = 0;
    for (int64_t b = 0; b < B; ++b) {
        int64_t pos = 0;
        for (int64_t j = 0; j < n; ++j) {
            const float v = pre[b * n + j] + bdv[j];
            pos += v > 0.f;
            fired_would += fired[dead[j]] && pre[b * n + j] + params[m * d + dead[j]] > 0.f;
        }
        cut += pos > k;
    }
    if (k < n) report_exact(t + " rows where the selection cuts: none", cut == 0);
    if (n > 3) report_exact(t + " fired latents that would take part: none", fired_would == 0);
    // residual and loss, from the GEMM's ehat
    std::vector<double> g_ref((size_t)(B * d));
    double sq = 0;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < d; ++c) {
            const double res = (double)ehat[b * d + c] + 0.5 * (double)B * err[b * d + c];
            g_ref[b * d + c] = 2.0 * alpha / B * res;
            sq += res * res;
        }
    report(t + " residual", rel_err(g_res, g_ref), 1e-6);
    report(t + " loss", rel_err(loss.get(), std::vector<double>{alpha * sq / B}), 1e-6);
    // mask and column sums, from the GEMM's dA
    bad = 0;
    std::vector<double> cs((size_t)n, 0.0);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < n; ++j) {
            const float want = A[b * n + j] > 0.f ? dA_in[b * n + j] : 0.f;
            bad += !same_bits(dA[b * n + j], want);
            cs[j] += want;
        }
    report_exact(t + " mask", bad + untouched(dpre, B * n, rows * max_m, PZ));
    report(t + " column sums", rel_err(gbd.get(), cs), 1e-6);
    // the whole gradient against the double chain rule from the inputs (the GEMMs round in float)
    std::vector<double> gr(g0.begin(), g0.end()), mag((size_t)np, 0.0);
    for (int64_t b = 0; b < B; ++b) {
        std::vector<double> g(d), dAb(n, 0.0);
        for (int64_t c = 0; c < d; ++c) {
            double e = 0.5 * (double)B * err[b * d + c];
            for (int64_t j = 0; j < n; ++j) e += (double)A[b * n + j] * wd[j * d + c];
            g[c] = 2.0 * alpha / B * e;
        }
        for (int64_t j = 0; j < n; ++j) {
            if (!(A[b * n + j] > 0.f)) continue;
            for (int64_t c = 0; c < d; ++c) dAb[j] += g[c] * wd[j * d + c];
        }
        for (int64_t j = 0; j < n; ++j) {
            const int64_t i = dead[j];
            gr[m * d + i] += dAb[j];
            for (int64_t c = 0; c < d; ++c) {
                gr[m * d + m + i * d + c] += A[b * n + j] * g[c];
                gr[i * d + c] += dAb[j] * xc[b * d + c];
                gr[2 * m * d + m + c] -= dAb[j] * we[j * d + c];
            }
        }
    }
    // errors relative to the largest aux increment of each tensor (g0 is not what is tested)
    std::vector<double> inc((size_t)np);
    for (int64_t i = 0; i < np; ++i) inc[i] = std::fabs(gr[i] - g0[i]);
    std::vector<float> got = grads.get();
    const int64_t bounds[5] = {0, m * d, m * d + m, 2 * m * d + m, np};
    const char* names[4] = {"gW_encT", "gb_enc", "gW_dec", "gb_dec"};
    for (int q = 0; q < 4; ++q) {
        const int64_t lo = bounds[q], len = bounds[q + 1] - lo;
        double scale = 0;
        for (int64_t i = lo; i < lo + len; ++i) scale = std::max(scale, inc[i]);
        std::fill(mag.begin() + lo, mag.begin() + lo + len, scale);
        report(t + " " + names[q] + " +=", rel_err(got.data() + lo, gr.data() + lo, len, mag.data() + lo), 1e-5);
    }
    report_exact(t + " guards", grads.guard_bad() + S.guard_bad() + gbd.guard_bad() + loss.guard_bad() + G.guard_bad() +
                                    untouched(f, B * n, rows * max_m, PZ));
    expect_status(t + " topk_relu k > n", sae4j_cuda_topk_relu(g_ctx, B, n, n + 1, bdead.d, f), SAE4J_CUDA_ERR_ARG);
    expect_status(t + " gather n > m", sae4j_cuda_auxk_gather(g_ctx, m + 1, d, m, D.d, nullptr, P.d, Wenc.d, Wdec.d, bdead.d),
                  SAE4J_CUDA_ERR_ARG);
    expect_status(t + " scatter with one vector", sae4j_cuda_scatter_add_rows(g_ctx, n, d, m, D.d, S.d, gWencT, gbd.d, nullptr),
                  SAE4J_CUDA_ERR_ARG);
    sae4j_cuda_batch_destroy(bt);
}

// A dead list that breaks its contract (device memory: not refused) must do no harm: entries out of
// range or not above the one before get zero rows and bias -inf, and the scatter skips them, so
// nothing outside the SAE is read or written (the emulation's ASan sees any access out of bounds).
inline void test_auxk_bad_list() {
    const int64_t d = 5, m = 9, n = 5, np = 2 * m * d + m + d;
    Rng r(45);
    std::vector<float> params = r.vec(np, -1, 1), src = r.vec(n * d, -1, 1), srcv = r.vec(n, -1, 1), g0 = r.vec(np, -1, 1);
    const std::vector<int32_t> dead = {4, 2, -1, 7, (int32_t)m};  // 4, and 7 (above the -1 before it)
    DBuf<float> P(np), grads(np), Wenc(n * d), Wdec(n * d), bdead(n), S(n * d), Sv(n);
    DBuf<int32_t> D(n);
    P.set(params);
    grads.set(g0);
    S.set(src);
    Sv.set(srcv);
    D.set(dead);
    OK(sae4j_cuda_auxk_gather(g_ctx, n, d, m, D.d, nullptr, P.d, Wenc.d, Wdec.d, bdead.d));
    OK(sae4j_cuda_scatter_add_rows(g_ctx, n, d, m, D.d, S.d, grads.d, Sv.d, grads.d + m * d));
    std::vector<float> we = Wenc.get(), bd = bdead.get(), got = grads.get();
    int64_t bad = 0;
    for (int64_t j = 0; j < n; ++j) {
        const bool ok = j == 0 || j == 3;
        for (int64_t c = 0; c < d; ++c) bad += !same_bits(we[j * d + c], ok ? params[dead[j] * d + c] : 0.f);
        bad += !same_bits(bd[j], ok ? params[m * d + dead[j]] : -INFINITY);
    }
    std::vector<float> want(g0);
    for (int64_t j : {0, 3}) {
        for (int64_t c = 0; c < d; ++c) want[dead[j] * d + c] += src[j * d + c];
        want[m * d + dead[j]] += srcv[j];
    }
    for (int64_t i = 0; i < np; ++i) bad += !same_bits(got[i], want[i]);
    report_exact("auxk dead list out of range and out of order: no part, no harm",
                 bad + grads.guard_bad() + Wenc.guard_bad() + Wdec.guard_bad() + bdead.guard_bad());
}

}  // namespace kt
