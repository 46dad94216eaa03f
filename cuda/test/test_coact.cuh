// test_coact.cuh: the exact activation correlation (sae4j_cuda.h, coactivation section) over several
// batches of sparse latents made by the ReLU epilogue, against a double reference that adds in token
// order as the CPU library does: S and the sums must match bit for bit, and so must the maxima and
// their indices. Designed latents: never firing, one value on every token (no variance), firing only
// on tokens where the other side is silent (never co-active), and exact duplicates (ties in r, which
// must go to the smaller index).
#pragma once

#include "test_util.cuh"

namespace kt {

// Latents (rows B, m) for one side (a: side A's latents of the same rows when making side B): column 0
// never fires; 1 fires with 0.5 on every row; on A, 3 fires only on rows % 7 == 3, where B is silent
// (all zero but its constant latent 1), and 7 is zero there; B's 7 copies A's 7 (r = 1). Exact
// duplicates straddle the maxima kernels' thread strides, so that a reduction that does not compare
// indices picks the larger one: A's 10 and 18 copy A's 5 and 7 (row lanes y = 2 of 8, before 5 and 7),
// B's 258 copies B's 7 where m > 258 (column thread 2 of 256, before 7). The rest: random at about 30%.
// zero: the whole side silent in this batch (no entries at all).
inline std::vector<float> coact_latents(Rng& r, int64_t B, int64_t m, int64_t row0, const std::vector<float>* a,
                                        int64_t ma, bool zero) {
    std::vector<float> f((size_t)(B * m), 0.f);
    if (zero) return f;
    const bool side_b = a != nullptr;
    for (int64_t b = 0; b < B; ++b) {
        const bool silent = (row0 + b) % 7 == 3;
        for (int64_t i = 0; i < m; ++i) {
            float v = 0.f;
            if (i == 1) v = 0.5f;
            else if (side_b && silent) v = 0.f;
            else if (i == 3) v = side_b ? 0.f : (silent ? 0.25f + (float)(b % 3) : 0.f);
            else if (i == 7 && side_b) v = ma > 7 ? (*a)[b * ma + 7] : 0.f;
            else if (i == 7 && silent) v = 0.f;
            else if (!side_b && (i == 10 || i == 18)) v = f[b * m + (i == 10 ? 5 : 7)];
            else if (side_b && i == 258) v = f[b * m + 7];
            else if (i != 0 && r.uniform() < 0.3) v = r.range(0.05, 2.0);  // full mantissas: sums round, order shows
            f[b * m + i] = v;
        }
    }
    return f;
}

// The reference maxima of sae4j_cpu_coact_maxima from S and the sums (double, the CPU's expression).
inline void coact_reference(int64_t m1, int64_t m2, double n, const std::vector<double>& S, const std::vector<double>* sums,
                            std::vector<float>& rmax, std::vector<int32_t>& rarg, std::vector<float>& cmax,
                            std::vector<int32_t>& carg) {
    std::vector<double> mu[2], inv[2];
    for (int side = 0; side < 2; ++side) {
        const int64_t m = side == 0 ? m1 : m2;
        mu[side].resize(m);
        inv[side].resize(m);
        for (int64_t i = 0; i < m; ++i) {
            const double mean = sums[2 * side][i] / n, meansq = sums[2 * side + 1][i] / n, var = meansq - mean * mean;
            mu[side][i] = mean;
            inv[side][i] = var > 1e-12 * meansq && var > 0 ? 1 / std::sqrt(var) : 0;
        }
    }
    rmax.assign(m1, -INFINITY);
    rarg.assign(m1, -1);
    cmax.assign(m2, -INFINITY);
    carg.assign(m2, -1);
    for (int64_t i = 0; i < m1; ++i)
        for (int64_t j = 0; j < m2; ++j) {
            if (inv[0][i] == 0 || inv[1][j] == 0) continue;
            const double r = (S[i * m2 + j] / n - mu[0][i] * mu[1][j]) * inv[0][i] * inv[1][j];
            const float rf = (float)std::max(-1.0, std::min(1.0, r));
            if (rf > rmax[i]) rmax[i] = rf, rarg[i] = (int32_t)j;
            if (rf > cmax[j]) cmax[j] = rf, carg[j] = (int32_t)i;
        }
}

// One batch: its rows, and which side (if any) is entirely silent in it (0 none, 1 A, 2 B).
struct CoactBatch {
    int64_t B;
    int zero;
};

// errors: also the calls that must be refused (ERR_ARG: nothing enqueued, so safe under the sanitizers too).
inline void test_coact(int64_t m1, int64_t m2, const std::vector<CoactBatch>& batches, const char* name, uint64_t seed,
                       bool errors) {
    int64_t rows = 1;
    bool silent_batch = false;
    for (const CoactBatch& cb : batches) rows = std::max(rows, cb.B + 1), silent_batch |= cb.zero != 0;
    const int64_t d = 4;
    int st = 0;
    sae4j_cuda_batch* ba = sae4j_cuda_batch_create(g_ctx, rows, d, m1 + 2, SAE4J_CUDA_LATENTS_SPARSE, 0.5, 0, &st);
    if (!ba) die("sae4j_cuda_batch_create", st);
    sae4j_cuda_batch* bb = sae4j_cuda_batch_create(g_ctx, rows, d, m2 + 3, SAE4J_CUDA_LATENTS_SPARSE, 0.5, 0, &st);
    if (!bb) die("sae4j_cuda_batch_create", st);
    sae4j_cuda_coact* acc = sae4j_cuda_coact_create(g_ctx, m1, m2, rows, &st);
    if (!acc) die("sae4j_cuda_coact_create", st);
    DBuf<float> zeros_a(m1), zeros_b(m2);
    zeros_a.set(std::vector<float>((size_t)m1, 0.f));
    zeros_b.set(std::vector<float>((size_t)m2, 0.f));
    DBuf<int32_t> nnz(1);
    Rng r(seed);
    std::vector<double> S((size_t)(m1 * m2), 0.0), sums[4] = {std::vector<double>(m1, 0.0), std::vector<double>(m1, 0.0),
                                                              std::vector<double>(m2, 0.0), std::vector<double>(m2, 0.0)};
    int64_t row0 = 0;
    for (const CoactBatch& cb : batches) {
        const int64_t B = cb.B;
        std::vector<float> fa = coact_latents(r, B, m1, row0, nullptr, 0, cb.zero == 1);
        std::vector<float> fb = coact_latents(r, B, m2, row0, &fa, m1, cb.zero == 2);
        ul(sae4j_cuda_batch_f(ba), fa);
        ul(sae4j_cuda_batch_f(bb), fb);
        OK(sae4j_cuda_sae_epilogue(g_ctx, ba, B, m1, zeros_a.d, SAE4J_CUDA_ACT_RELU, 0, nullptr, nnz.d, nullptr,
                                   SAE4J_CUDA_PATH_AUTO));
        OK(sae4j_cuda_sae_epilogue(g_ctx, bb, B, m2, zeros_b.d, SAE4J_CUDA_ACT_RELU, 0, nullptr, nnz.d, nullptr,
                                   SAE4J_CUDA_PATH_AUTO));
        OK(sae4j_cuda_coact_add(g_ctx, acc, ba, bb, B));
        for (int64_t b = 0; b < B; ++b) {  // token order, as the CPU library adds
            for (int64_t j = 0; j < m2; ++j)
                if (fb[b * m2 + j] > 0) sums[2][j] += fb[b * m2 + j], sums[3][j] += (double)fb[b * m2 + j] * fb[b * m2 + j];
            for (int64_t i = 0; i < m1; ++i) {
                const double v = fa[b * m1 + i];
                if (v <= 0) continue;
                sums[0][i] += v;
                sums[1][i] += v * v;
                for (int64_t j = 0; j < m2; ++j)
                    if (fb[b * m2 + j] > 0) S[i * m2 + j] += v * fb[b * m2 + j];
            }
        }
        row0 += B;
    }
    char tag[112];
    snprintf(tag, sizeof tag, "coact %s m1=%lld m2=%lld batches=%zu tokens=%lld", name, (long long)m1, (long long)m2,
             batches.size(), (long long)row0);
    const std::string t(tag);
    report_exact(t + " tokens", sae4j_cuda_coact_tokens(acc) != row0);
    const double *dS, *dsum[4];
    OK(sae4j_cuda_coact_view(acc, &dS, &dsum[0], &dsum[1], &dsum[2], &dsum[3]));
    std::vector<double> gotS = dl(dS, m1 * m2);
    int64_t bad = 0, coactive = 0;
    for (int64_t q = 0; q < m1 * m2; ++q) bad += memcmp(&gotS[q], &S[q], 8) != 0, coactive += S[q] != 0;
    report_exact(t + " S bit for bit (" + std::to_string(coactive) + " co-active pairs)", bad);
    bad = 0;
    for (int k = 0; k < 4; ++k) {
        std::vector<double> got = dl(dsum[k], (int64_t)sums[k].size());
        for (size_t i = 0; i < got.size(); ++i) bad += memcmp(&got[i], &sums[k][i], 8) != 0;
    }
    report_exact(t + " sums of f and f^2 bit for bit", bad);

    std::vector<float> rmax, cmax;
    std::vector<int32_t> rarg, carg;
    coact_reference(m1, m2, (double)row0, S, sums, rmax, rarg, cmax, carg);
    DBuf<float> RM(m1), CM(m2);
    DBuf<int32_t> RA(m1), CA(m2);
    OK(sae4j_cuda_coact_maxima(g_ctx, acc, RM.d, RA.d, CM.d, CA.d));
    std::vector<float> grm = RM.get(), gcm = CM.get();
    std::vector<int32_t> gra = RA.get(), gca = CA.get();
    bad = 0;
    for (int64_t i = 0; i < m1; ++i) bad += !same_bits(grm[i], rmax[i]) + (gra[i] != rarg[i]);
    for (int64_t j = 0; j < m2; ++j) bad += !same_bits(gcm[j], cmax[j]) + (gca[j] != carg[j]);
    report_exact(t + " maxima and indices equal the reference's", bad);
    // the designed latents: dead ones in no maximum; without silent batches, constant ones in none either,
    // a never co-active latent still has one (r = -mu_i mu_j / (s_i s_j) < 0), and the copies of A's 7
    // tie at r = 1 (B's 7 and 258 for row 7, A's 7 and 18 for column 7): the smaller index wins
    bad = (gra[0] != -1) + (gca[0] != -1);
    if (!silent_batch) {
        bad += (gra[1] != -1) + (gca[1] != -1) + !(grm[3] < 0.f && gra[3] >= 0);
        bad += !(same_bits(grm[7], 1.f) && gra[7] == 7 && same_bits(gcm[7], 1.f) && gca[7] == 7);
    }
    for (int64_t i = 0; i < m1; ++i) bad += gra[i] == 258;
    for (int64_t j = 0; j < m2; ++j) bad += gca[j] == 10 || gca[j] == 18;
    report_exact(t + " designed latents: dead/constant ones -inf, never co-active one negative, ties to the smaller index", bad);
    report_exact(t + " guards", RM.guard_bad() + RA.guard_bad() + CM.guard_bad() + CA.guard_bad());

    if (errors) {
        expect_status(t + ": add with B other than the encodes'", sae4j_cuda_coact_add(g_ctx, acc, ba, bb, batches.back().B - 1),
                      SAE4J_CUDA_ERR_ARG);
        expect_status(t + ": add with the sides swapped (m1 != m2)",
                      m1 == m2 ? SAE4J_CUDA_ERR_ARG : sae4j_cuda_coact_add(g_ctx, acc, bb, ba, batches.back().B),
                      SAE4J_CUDA_ERR_ARG);
        sae4j_cuda_coact* empty = sae4j_cuda_coact_create(g_ctx, m1, m2, rows, &st);
        if (!empty) die("sae4j_cuda_coact_create", st);
        expect_status(t + ": maxima before any add", sae4j_cuda_coact_maxima(g_ctx, empty, RM.d, RA.d, CM.d, CA.d),
                      SAE4J_CUDA_ERR_ARG);
        sae4j_cuda_coact_destroy(empty);
        expect_status(t + ": create with max_rows 0", sae4j_cuda_coact_create(g_ctx, m1, m2, 0, &st) == nullptr ? st : 0,
                      SAE4J_CUDA_ERR_ARG);
    }
    sae4j_cuda_coact_destroy(acc);
    sae4j_cuda_batch_destroy(bb);
    sae4j_cuda_batch_destroy(ba);
}

}  // namespace kt
