// test_sae.cuh: the SAE training step as the Java backend composes it (sae4j_cuda.h, top), with
// the naive GEMM in place of cuBLAS. Every entry point's output is checked against a double
// reference computed from the inputs that entry point actually received (downloaded from the
// device), so a float GEMM's rounding never flips a ReLU mask between the two sides; guards
// (batch rows beyond B, latents beyond m, GUARD elements after caller buffers) must be untouched.
#pragma once

#include "test_util.cuh"

namespace kt {

struct SaeHost {
    int64_t B, d, m;
    std::vector<float> params;  // [ W_encT (m, d) | b_enc (m) | W_dec (m, d) | b_dec (d) ]
    std::vector<float> x;       // (B, d)
    const float* WencT() const { return params.data(); }
    const float* benc() const { return params.data() + m * d; }
    const float* Wdec() const { return params.data() + m * d + m; }
    const float* bdec() const { return params.data() + 2 * m * d + m; }
};

// pre-activations ~ N(0, 1/9) + b_enc: b_enc = -0.2 gives ~27% density; shift +1.5 ~100%.
inline SaeHost make_sae(int64_t B, int64_t d, int64_t m, uint64_t seed, float benc_shift) {
    Rng r(seed);
    SaeHost h{B, d, m, {}, {}};
    const double w = 1.0 / std::sqrt((double)d);
    h.params = r.vec(m * d, -w, w);
    for (int64_t i = 0; i < m; ++i) h.params.push_back(r.range(-0.25, -0.15) + benc_shift);
    std::vector<float> Wd = r.vec(m * d, -w, w), bd = r.vec(d, -0.1, 0.1);
    h.params.insert(h.params.end(), Wd.begin(), Wd.end());
    h.params.insert(h.params.end(), bd.begin(), bd.end());
    h.x = r.vec(B * d, -1.0, 1.0);
    return h;
}

// One training step on batch bt (rows x max_m allocated). expect_sparse: the path the epilogue
// must take (0 dense, 1 sparse), or -1 for no expectation; path_hint: the caller's path
// (SAE4J_CUDA_PATH_*). Returns the path taken.
inline int sae_step(sae4j_cuda_batch* bt, int64_t rows, int64_t max_m, const SaeHost& h,
                    const std::string& tag, int expect_sparse, float lambda = 0.37f,
                    int path_hint = SAE4J_CUDA_PATH_AUTO) {
    const int64_t B = h.B, d = h.d, m = h.m, np = 2 * m * d + m + d;
    DBuf<float> P(np);
    P.set(h.params);
    const float* WencT = P.d;
    const float* benc = P.d + m * d;
    const float* Wdec = P.d + m * d + m;
    const float* bdec = P.d + 2 * m * d + m;
    float *x = sae4j_cuda_batch_x(bt), *xc = sae4j_cuda_batch_xc(bt), *f = sae4j_cuda_batch_f(bt);
    float *xhat = sae4j_cuda_batch_xhat(bt), *err = sae4j_cuda_batch_err(bt);
    float *dpre = sae4j_cuda_batch_dpre(bt), *norms = sae4j_cuda_batch_norms(bt);
    const float PZ = poison_f();

    // x: rows beyond B hold NaN, which no kernel may read.
    std::vector<float> xall(h.x);
    xall.resize((size_t)(rows * d), PZ);
    ul(x, xall);

    // center_rows: xc = x - b_dec
    poison(xc, rows * d);
    OK(sae4j_cuda_center_rows(g_ctx, B, d, x, bdec, xc));
    std::vector<float> xc_g = dl(xc, B * d);
    std::vector<double> ref((size_t)(B * d));
    for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < d; ++k) ref[b * d + k] = (double)h.x[b * d + k] - h.bdec()[k];
    report(tag + " center_rows", rel_err(xc_g, ref), 1e-6);
    report_exact(tag + " center_rows rows >= B untouched", untouched(xc, B * d, rows * d, PZ));

    // encoder GEMM, then the epilogue
    poison(f, rows * max_m);
    gemm(0, 1, (int)B, (int)m, (int)d, 1.f, xc, (int)d, WencT, (int)d, 0.f, f, (int)m);
    std::vector<float> pre = dl(f, B * m);
    DBuf<int32_t> nnz(1), firing(m);
    std::vector<int32_t> fire0((size_t)m);
    for (int64_t i = 0; i < m; ++i) fire0[i] = (int32_t)((i * 7) % 5);
    firing.set(fire0);
    OK(sae4j_cuda_sae_epilogue(g_ctx, bt, B, m, benc, SAE4J_CUDA_ACT_RELU, 0, nullptr, nnz.d,
                               firing.d, path_hint));
    const int path = sae4j_cuda_batch_sparse(bt);
    std::vector<float> f_g = dl(f, B * m);
    std::vector<double> fr((size_t)(B * m));
    int64_t nz = 0, mask_bad = 0, fire_bad = 0;
    std::vector<int32_t> cnt((size_t)m, 0);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < m; ++i) {
            const double v = (double)pre[b * m + i] + (double)h.benc()[i];
            fr[b * m + i] = v > 0 ? v : 0.0;
            nz += v > 0;
            cnt[i] += v > 0;
            mask_bad += (f_g[b * m + i] > 0.f) != (v > 0);
        }
    std::vector<int32_t> fire_g = firing.get();
    for (int64_t i = 0; i < m; ++i) fire_bad += fire_g[i] != fire0[i] + cnt[i];
    char dens[64];
    snprintf(dens, sizeof dens, " (density %.3f)", (double)nz / (double)(B * m));
    report(tag + " epilogue f = relu(pre + b_enc)" + dens, rel_err(f_g, fr), 1e-6);
    report_exact(tag + " epilogue nonzero mask", mask_bad);
    report_exact(tag + " epilogue *nnz", nnz.get()[0] != nz);
    report_exact(tag + " epilogue firing +=", fire_bad);
    report_exact(tag + " epilogue guards (f, nnz, firing)",
                 untouched(f, B * m, rows * max_m, PZ) + nnz.guard_bad() + firing.guard_bad());
    if (expect_sparse >= 0)
        report_exact(tag + " path chosen (" + std::to_string(expect_sparse) + ")",
                     path != expect_sparse);

    // decoder
    poison(xhat, rows * d);
    if (path == 1) {
        OK(sae4j_cuda_sae_decode_sparse(g_ctx, bt, B, m, P.d));
    } else {
        OK(sae4j_cuda_broadcast_rows(g_ctx, B, d, bdec, xhat));
        std::vector<float> bc = dl(xhat, B * d);
        std::vector<double> bref((size_t)(B * d));
        for (int64_t b = 0; b < B; ++b)
            for (int64_t k = 0; k < d; ++k) bref[b * d + k] = h.bdec()[k];
        report(tag + " broadcast_rows", rel_err(bc, bref), 0.0);
        gemm(0, 0, (int)B, (int)d, (int)m, 1.f, f, (int)m, Wdec, (int)d, 1.f, xhat, (int)d);
    }
    std::vector<float> xh_g = dl(xhat, B * d);
    std::vector<double> xr((size_t)(B * d)), xm((size_t)(B * d));
    for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < d; ++k) {
            double s = h.bdec()[k], a = std::fabs(s);
            for (int64_t i = 0; i < m; ++i) {
                const double t = (double)f_g[b * m + i] * h.Wdec()[i * d + k];
                s += t;
                a += std::fabs(t);
            }
            xr[b * d + k] = s;
            xm[b * d + k] = a;
        }
    report(tag + (path == 1 ? " sae_decode_sparse" : " dense decode (broadcast + GEMM)"),
           rel_err(xh_g, xr, &xm), 1e-5);
    report_exact(tag + " decode rows >= B untouched", untouched(xhat, B * d, rows * d, PZ));

    // row_norms(W_dec)
    poison(norms, max_m);
    OK(sae4j_cuda_row_norms(g_ctx, m, d, Wdec, norms));
    std::vector<float> n_g = dl(norms, m);
    std::vector<double> nr((size_t)m);
    for (int64_t i = 0; i < m; ++i) {
        double s = 0;
        for (int64_t k = 0; k < d; ++k) s += (double)h.Wdec()[i * d + k] * h.Wdec()[i * d + k];
        nr[i] = std::sqrt(s);
    }
    report(tag + " row_norms", rel_err(n_g, nr), 2e-6);
    report_exact(tag + " row_norms latents >= m untouched", untouched(norms, m, max_m, PZ));

    // sae_err
    poison(err, rows * d);
    OK(sae4j_cuda_sae_err(g_ctx, bt, B, d));
    std::vector<float> e_g = dl(err, B * d);
    std::vector<double> er((size_t)(B * d));
    for (int64_t j = 0; j < B * d; ++j) er[j] = 2.0 / (double)B * ((double)xh_g[j] - h.x[j]);
    report(tag + " sae_err", rel_err(e_g, er), 1e-6);
    report_exact(tag + " sae_err rows >= B untouched", untouched(err, B * d, rows * d, PZ));

    // dpre reference from the device's err and norms
    const double l1s = (double)(lambda / (float)B);
    std::vector<double> dr((size_t)(B * m), 0.0), dm((size_t)(B * m), 0.0);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < m; ++i) {
            if (!(f_g[b * m + i] > 0.f)) continue;
            double s = l1s * n_g[i], a = std::fabs(s);
            for (int64_t k = 0; k < d; ++k) {
                const double t = (double)e_g[b * d + k] * h.Wdec()[i * d + k];
                s += t;
                a += std::fabs(t);
            }
            dr[b * m + i] = s;
            dm[b * m + i] = a;
        }

    DBuf<float> G(np);
    poison(dpre, rows * max_m);
    if (path == 1) {
        OK(sae4j_cuda_sae_dpre_sparse(g_ctx, bt, B, m, P.d, lambda));
        std::vector<float> dp_g = dl(dpre, B * m), got;
        std::vector<double> want, mag;
        int64_t left = 0;
        for (int64_t j = 0; j < B * m; ++j) {
            if (f_g[j] > 0.f) {
                got.push_back(dp_g[j]);
                want.push_back(dr[j]);
                mag.push_back(dm[j]);
            } else {
                left += !same_bits(dp_g[j], PZ);
            }
        }
        report(tag + " sae_dpre_sparse at f > 0", rel_err(got, want, &mag), 1e-5);
        report_exact(tag + " sae_dpre_sparse leaves f == 0 and rows >= B alone",
                     left + untouched(dpre, B * m, rows * max_m, PZ));
        OK(sae4j_cuda_sae_grads_sparse(g_ctx, bt, B, m, P.d, lambda, G.d));
    } else {
        gemm(0, 1, (int)B, (int)m, (int)d, 1.f, err, (int)d, Wdec, (int)d, 0.f, dpre, (int)m);
        std::vector<float> dg = dl(dpre, B * m);
        OK(sae4j_cuda_sae_dpre_dense(g_ctx, bt, B, m, lambda));
        std::vector<float> dp_g = dl(dpre, B * m);
        std::vector<double> want((size_t)(B * m)), mag((size_t)(B * m));
        for (int64_t b = 0; b < B; ++b)
            for (int64_t i = 0; i < m; ++i) {
                const int64_t j = b * m + i;
                want[j] = f_g[j] > 0.f ? (double)dg[j] + l1s * n_g[i] : 0.0;
                mag[j] = std::fabs((double)dg[j]) + l1s * n_g[i];
            }
        report(tag + " sae_dpre_dense", rel_err(dp_g, want, &mag), 1e-6);
        report_exact(tag + " sae_dpre_dense rows >= B untouched",
                     untouched(dpre, B * m, rows * max_m, PZ));
        gemm(1, 0, (int)m, (int)d, (int)B, 1.f, f, (int)m, err, (int)d, 0.f, G.d + m * d + m,
             (int)d);                                                                // gW_dec
        gemm(1, 0, (int)m, (int)d, (int)B, 1.f, dpre, (int)m, xc, (int)d, 0.f, G.d, (int)d);  // gW_encT
        OK(sae4j_cuda_sae_grads_dense(g_ctx, bt, B, m, P.d, lambda, G.d));
    }
    OK(sae4j_cuda_sae_bdec_grad_partial(g_ctx, bt, B, m, G.d));
    std::vector<float> gbd_part = dl(G.d + 2 * m * d + m, d);
    {
        std::vector<double> want((size_t)d, 0.0), mag((size_t)d, 0.0);
        for (int64_t b = 0; b < B; ++b)
            for (int64_t k = 0; k < d; ++k) {
                want[k] += e_g[b * d + k];
                mag[k] += std::fabs((double)e_g[b * d + k]);
            }
        report(tag + " sae_bdec_grad_partial", rel_err(gbd_part, want, &mag), 1e-5);
    }
    // the caller's GEMV: gb_dec -= gb_enc W_encT
    gemm(0, 0, 1, (int)d, (int)m, -1.f, G.d + m * d, (int)m, WencT, (int)d, 1.f,
         G.d + 2 * m * d + m, (int)d);

    // gradient reference from the device's f, err, xc and norms
    std::vector<double> gr((size_t)np, 0.0), gm((size_t)np, 0.0);
    double* gWe = gr.data();
    double* gbe = gWe + m * d;
    double* gWd = gbe + m;
    double* gbd = gWd + m * d;
    double* mWe = gm.data();
    double* mbe = mWe + m * d;
    double* mWd = mbe + m;
    double* mbd = mWd + m * d;
    for (int64_t i = 0; i < m; ++i) {
        double fsum = 0;
        for (int64_t b = 0; b < B; ++b) {
            const double fv = f_g[b * m + i];
            if (!(fv > 0)) continue;
            fsum += fv;
            const double dp = dr[b * m + i], dmg = dm[b * m + i];
            gbe[i] += dp;
            mbe[i] += dmg;
            for (int64_t k = 0; k < d; ++k) {
                gWd[i * d + k] += fv * e_g[b * d + k];
                mWd[i * d + k] += std::fabs(fv * e_g[b * d + k]);
                gWe[i * d + k] += dp * xc_g[b * d + k];
                mWe[i * d + k] += dmg * std::fabs((double)xc_g[b * d + k]);
            }
        }
        if (n_g[i] > 0.f && fsum != 0)
            for (int64_t k = 0; k < d; ++k) {
                const double t = l1s * fsum / n_g[i] * h.Wdec()[i * d + k];
                gWd[i * d + k] += t;
                mWd[i * d + k] += std::fabs(t);
            }
    }
    for (int64_t k = 0; k < d; ++k) {
        for (int64_t b = 0; b < B; ++b) {
            gbd[k] += e_g[b * d + k];
            mbd[k] += std::fabs((double)e_g[b * d + k]);
        }
        for (int64_t i = 0; i < m; ++i) {
            gbd[k] -= gbe[i] * h.WencT()[i * d + k];
            mbd[k] += mbe[i] * std::fabs((double)h.WencT()[i * d + k]);
        }
    }
    std::vector<float> g = G.get();
    const char* how = path == 1 ? " sparse" : " dense";
    const int64_t off[5] = {0, m * d, m * d + m, 2 * m * d + m, np};
    const char* names[4] = {" gW_encT", " gb_enc", " gW_dec", " gb_dec"};
    for (int s = 0; s < 4; ++s)
        report(tag + how + names[s],
               rel_err(g.data() + off[s], gr.data() + off[s], off[s + 1] - off[s], gm.data() + off[s]),
               2e-5);
    report_exact(tag + how + " gradients guard", G.guard_bad());
    if (path == 1) {  // the sparse backward is deterministic: a second run gives the same bits
        DBuf<float> G2(np);
        OK(sae4j_cuda_sae_dpre_sparse(g_ctx, bt, B, m, P.d, lambda));
        OK(sae4j_cuda_sae_grads_sparse(g_ctx, bt, B, m, P.d, lambda, G2.d));
        std::vector<float> g2 = G2.get();
        int64_t diff = 0;
        for (int64_t j = 0; j < 2 * m * d + m; ++j) diff += !same_bits(g[j], g2[j]);
        report_exact(tag + " sparse gradients bitwise equal on a rerun", diff);
    }

    // losses
    DBuf<float> L(2);
    OK(sae4j_cuda_sae_losses(g_ctx, bt, B, L.d));
    std::vector<double> lr(2, 0.0);
    for (int64_t j = 0; j < B * d; ++j) {
        const double t = (double)xh_g[j] - h.x[j];
        lr[0] += t * t;
    }
    for (int64_t j = 0; j < B * m; ++j) lr[1] += (double)f_g[j] * n_g[j % m];
    lr[0] /= (double)B;
    lr[1] /= (double)B;
    report(tag + " sae_losses", rel_err(L.get(), lr), 1e-5);
    report_exact(tag + " sae_losses guard", L.guard_bad());

    // sum_sq_dev over the batch's first B rows (rows beyond hold NaN)
    DBuf<float> S(1);
    OK(sae4j_cuda_sum_sq_dev(g_ctx, bt, B, S.d));
    std::vector<double> sr(1, 0.0);
    for (int64_t k = 0; k < d; ++k) {
        double mean = 0;
        for (int64_t b = 0; b < B; ++b) mean += h.x[b * d + k];
        mean /= (double)B;
        for (int64_t b = 0; b < B; ++b) sr[0] += (h.x[b * d + k] - mean) * (h.x[b * d + k] - mean);
    }
    report(tag + " sum_sq_dev", rel_err(S.get(), sr), 1e-5);
    report_exact(tag + " sum_sq_dev guard", S.guard_bad());
    return path;
}

// TopK in the epilogue against the CPU kernel's rule: each row keeps the k largest positive
// pre + b_enc (summed in float, as both kernels do), ties at the k-th to the lower index. Values
// on a grid of 1/8 make ties common; row 0 is all ties, row 1 has fewer than k positives, row 2 a
// NaN and an infinity. f, the nonzero and firing counts and the guards are checked exactly.
inline void test_topk_epilogue(int64_t B, int64_t m, int64_t k, int storage, const char* name, uint64_t seed) {
    const int64_t rows = B + 2, max_m = m + 3;
    int st = 0;
    sae4j_cuda_batch* bt = sae4j_cuda_batch_create(g_ctx, rows, 4, max_m, storage, 0.5, 0, &st);
    if (!bt) die("sae4j_cuda_batch_create", st);
    Rng r(seed);
    std::vector<float> pre = r.vec(B * m, -2, 2), benc = r.vec(m, -0.5, 0.5);
    for (auto& v : pre) v = std::round(v * 8) / 8;
    for (auto& v : benc) v = std::round(v * 8) / 8;
    for (int64_t i = 0; i < m; ++i) pre[i] = 1.f - benc[i];  // row 0: every latent at 1
    if (B > 1)
        for (int64_t i = 0; i < m; ++i) pre[m + i] = i < k - 1 ? 1.f - benc[i] : -1.f - benc[i];
    if (B > 2 && m > 2) {
        pre[2 * m] = std::numeric_limits<float>::quiet_NaN();
        pre[2 * m + 1] = std::numeric_limits<float>::infinity();
    }
    float* f = sae4j_cuda_batch_f(bt);
    const float PZ = poison_f();
    poison(f, rows * max_m);
    ul(f, pre);
    DBuf<float> Benc(m);
    Benc.set(benc);
    DBuf<int32_t> nnz(1), firing(m);
    firing.set(std::vector<int32_t>((size_t)m, 3));
    OK(sae4j_cuda_sae_epilogue(g_ctx, bt, B, m, Benc.d, SAE4J_CUDA_ACT_TOPK, k, nullptr, nnz.d, firing.d,
                               SAE4J_CUDA_PATH_AUTO));
    std::vector<float> got = dl(f, B * m);
    int64_t bad = 0, total = 0, fire_bad = 0;
    std::vector<int32_t> cnt((size_t)m, 0);
    for (int64_t b = 0; b < B; ++b) {
        const std::vector<float> want = topk_relu_row(pre.data() + b * m, benc.data(), m, k);
        for (int64_t i = 0; i < m; ++i) {
            bad += !same_bits(got[b * m + i], want[i]);
            cnt[i] += want[i] > 0.f;
            total += want[i] > 0.f;
        }
    }
    std::vector<int32_t> fire_g = firing.get();
    for (int64_t i = 0; i < m; ++i) fire_bad += fire_g[i] != 3 + cnt[i];
    char tag[96];
    snprintf(tag, sizeof tag, "topk epilogue %s B=%lld m=%lld k=%lld", name, (long long)B, (long long)m, (long long)k);
    report_exact(std::string(tag) + " f = TopK(relu(pre + b_enc))", bad);
    report_exact(std::string(tag) + " *nnz, firing +=", (nnz.get()[0] != total) + fire_bad);
    report_exact(std::string(tag) + " guards", untouched(f, B * m, rows * max_m, PZ) + nnz.guard_bad() + firing.guard_bad());
    expect_status(std::string(tag) + " k = 0", sae4j_cuda_sae_epilogue(g_ctx, bt, B, m, Benc.d, SAE4J_CUDA_ACT_TOPK, 0,
                                                                        nullptr, nnz.d, nullptr, SAE4J_CUDA_PATH_AUTO),
                  SAE4J_CUDA_ERR_ARG);
    expect_status(std::string(tag) + " k > m", sae4j_cuda_sae_epilogue(g_ctx, bt, B, m, Benc.d, SAE4J_CUDA_ACT_TOPK, m + 1,
                                                                        nullptr, nnz.d, nullptr, SAE4J_CUDA_PATH_AUTO),
                  SAE4J_CUDA_ERR_ARG);
    sae4j_cuda_batch_destroy(bt);
}

// A training batch of `storage` with room beyond B and m (guards), two steps of different sizes.
inline void test_sae_storage(int64_t B, int64_t d, int64_t m, int storage, const char* name,
                             uint64_t seed, float shift = 0.f) {
    const int64_t rows = B + 3, max_m = m + 5;
    int st = 0;
    sae4j_cuda_batch* bt = sae4j_cuda_batch_create(g_ctx, rows, d, max_m, storage, 0.5, 1, &st);
    if (!bt) die("sae4j_cuda_batch_create", st);
    const int expect = storage == SAE4J_CUDA_LATENTS_SPARSE ? 1 : storage == SAE4J_CUDA_LATENTS_DENSE ? 0 : -1;
    char tag[96];
    snprintf(tag, sizeof tag, "sae %s B=%lld d=%lld m=%lld", name, (long long)B, (long long)d,
             (long long)m);
    sae_step(bt, rows, max_m, make_sae(B, d, m, seed, shift), tag, expect);
    const int64_t B2 = B > 2 ? B - 2 : 1, m2 = m > 4 ? m - 4 : 1;
    snprintf(tag, sizeof tag, "sae %s B=%lld d=%lld m=%lld (same batch)", name, (long long)B2,
             (long long)d, (long long)m2);
    sae_step(bt, rows, max_m, make_sae(B2, d, m2, seed + 1, shift), tag, expect);
    sae4j_cuda_batch_destroy(bt);
}

// AUTO: dense before any density is known, then the previous encode's density decides.
inline void test_sae_auto(int64_t B, int64_t d, int64_t m) {
    const int64_t rows = B + 3, max_m = m + 5;
    int st = 0;
    sae4j_cuda_batch* bt =
        sae4j_cuda_batch_create(g_ctx, rows, d, max_m, SAE4J_CUDA_LATENTS_AUTO, 0.5, 1, &st);
    if (!bt) die("sae4j_cuda_batch_create", st);
    report_exact("sae AUTO: no path before the first encode", sae4j_cuda_batch_sparse(bt) != -1);
    const SaeHost sp = make_sae(B, d, m, 71, 0.f), de = make_sae(B, d, m, 72, 1.5f);
    const struct {
        const SaeHost* h;
        int expect;
        const char* what;
    } steps[] = {{&sp, 0, "1st encode (nothing known): dense"},
                 {&sp, 1, "after a sparse batch: sparse"},
                 {&de, 1, "dense data after a sparse batch: sparse"},
                 {&de, 0, "after a dense batch: dense"},
                 {&sp, 0, "sparse data after a dense batch: dense"},
                 {&sp, 1, "after a sparse batch again: sparse"}};
    for (const auto& s : steps) {
        OK(sae4j_cuda_sync(g_ctx));  // the previous read-back has landed
        sae_step(bt, rows, max_m, *s.h, std::string("sae AUTO ") + s.what, s.expect);
    }
    // the caller's path wins over the workspace's read-back (another SAE's density), both ways,
    // and the read-back goes on underneath: the next unhinted encode follows the last batch
    OK(sae4j_cuda_sync(g_ctx));
    sae_step(bt, rows, max_m, sp, "sae AUTO told dense (sparse data)", 0, 0.37f, SAE4J_CUDA_PATH_DENSE);
    OK(sae4j_cuda_sync(g_ctx));
    sae_step(bt, rows, max_m, de, "sae AUTO told sparse (dense data)", 1, 0.37f, SAE4J_CUDA_PATH_SPARSE);
    OK(sae4j_cuda_sync(g_ctx));
    sae_step(bt, rows, max_m, sp, "sae AUTO after a dense batch, not told: dense", 0);
    sae4j_cuda_batch_destroy(bt);
}

}  // namespace kt
