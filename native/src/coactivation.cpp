// Exact Pearson correlation between two SAEs' latents over any number of tokens, from the sparse
// latents of each batch, with memory independent of the token count (DESIGN.md, Metrics):
//   sums (per latent) of f and f^2, and S_ij = sum_t f_i(t) g_j(t), nonzero only for co-active
//   pairs: N * L0_a * L0_b work per N tokens instead of the N * m1 * m2 of a dense product;
//   r_ij = (S_ij / N - mu_i mu_j) / (s_i s_j), for never co-active pairs -mu_i mu_j / (s_i s_j).
// S is dense (m1, m2) in double, in transparent huge pages: every r_ij, co-active or not, is read
// off it in one pass at the end.
// Accumulation, batch by batch: each pool thread owns a range of A's latents (rows of S), walks the
// batch's tokens and adds only its own, so no two threads write one element and the sums do not
// depend on the thread count. The updates are random writes into S (2 GiB at 16384^2) and bound by
// memory: 16384 x 16384 latents, L0 ~43 each, 1M tokens (1.9e9 updates), 2 Zen 5 cores: 23 s.
// Staging 131072 tokens and adding them latent by latent (row i of S kept in cache) measured no
// faster (27 s): the scattered reads of the other side's rows then take the misses instead.
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "internal.h"

using namespace sae4j;

namespace {

constexpr float NEG_INF = -std::numeric_limits<float>::infinity();

// Zeroed pages from the system, huge where it allows (S of 16384^2 doubles faulted in 4 KiB pages
// cost 7 s on this project's VMs).
double* map_zeroed(int64_t count) {
    const size_t bytes = (size_t)count * sizeof(double);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    madvise(p, bytes, MADV_HUGEPAGE);  // advice only: 4 KiB pages still work
    return static_cast<double*>(p);
}

// Mean and 1 / standard deviation (population) of a latent from its sums over n tokens; the
// inverse is 0 for a latent whose variance vanishes (never fired, or one value on every token):
// r is undefined there and the latent takes part in no maximum.
void moments(int64_t m, double n, const double* sum, const double* sq, std::vector<double>& mu,
             std::vector<double>& inv_sd) {
    mu.resize(m);
    inv_sd.resize(m);
    for (int64_t i = 0; i < m; ++i) {
        const double mean = sum[i] / n, var = sq[i] / n - mean * mean;
        mu[i] = mean;
        // relative cut: a constant latent leaves only the rounding of sq/n - mean^2
        inv_sd[i] = var > 1e-12 * (sq[i] / n) && var > 0 ? 1 / std::sqrt(var) : 0;
    }
}

}  // namespace

struct sae4j_cpu_coact {
    int64_t m1, m2, tokens = 0;
    double* S = nullptr;  // (m1, m2)
    std::vector<double> sum_a, sq_a, sum_b, sq_b;
};

namespace {

bool sparse_encode_of(const sae4j_cpu_batch* b, int64_t B, int64_t m) {
    return b && encoded_as(b, B, m) && b->sparse == 1;
}

}  // namespace

extern "C" sae4j_cpu_coact* sae4j_cpu_coact_create(int64_t m1, int64_t m2, int* status) {
    int unused;
    if (!status) status = &unused;
    if (m1 < 1 || m2 < 1 || m1 > INT32_MAX || m2 > INT32_MAX || m1 > INT64_MAX / 8 / m2) {
        *status = SAE4J_ERR_ARG;
        return nullptr;
    }
    sae4j_cpu_coact* c = new (std::nothrow) sae4j_cpu_coact();
    if (c) {
        c->m1 = m1;
        c->m2 = m2;
        c->S = map_zeroed(m1 * m2);
    }
    if (!c || !c->S) {
        delete c;
        *status = SAE4J_ERR_NOMEM;
        return nullptr;
    }
    try {
        c->sum_a.assign(m1, 0);
        c->sq_a.assign(m1, 0);
        c->sum_b.assign(m2, 0);
        c->sq_b.assign(m2, 0);
    } catch (const std::bad_alloc&) {
        munmap(c->S, (size_t)(m1 * m2) * sizeof(double));
        delete c;
        *status = SAE4J_ERR_NOMEM;
        return nullptr;
    }
    *status = SAE4J_OK;
    return c;
}

extern "C" void sae4j_cpu_coact_destroy(sae4j_cpu_coact* c) {
    if (!c) return;
    munmap(c->S, (size_t)(c->m1 * c->m2) * sizeof(double));
    delete c;
}

extern "C" int sae4j_cpu_coact_add(sae4j_cpu_ctx* ctx, sae4j_cpu_coact* c, const sae4j_cpu_batch* a,
                                   const sae4j_cpu_batch* b, int64_t B) {
    if (!ctx || !c || B < 1) return SAE4J_ERR_ARG;
    if (!sparse_encode_of(a, B, c->m1) || !sparse_encode_of(b, B, c->m2)) return SAE4J_ERR_ARG;
    const int64_t m1 = c->m1, m2 = c->m2, parts = std::min<int64_t>(ctx->threads, m1);
    ctx->parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
            const int32_t i0 = (int32_t)(m1 * p / parts), i1 = (int32_t)(m1 * (p + 1) / parts);
            for (int64_t r = 0; r < B; ++r) {
                // this part's latents of A in row r (columns ascending within a row)
                const int32_t* ca = a->col + a->row_ptr[r];
                const int32_t* cb = b->col + b->row_ptr[r];
                const float* va = a->val + a->row_ptr[r];
                const float* vb = b->val + b->row_ptr[r];
                const int64_t na = a->row_ptr[r + 1] - a->row_ptr[r], nb = b->row_ptr[r + 1] - b->row_ptr[r];
                for (int64_t e = std::lower_bound(ca, ca + na, i0) - ca; e < na && ca[e] < i1; ++e) {
                    const double fa = va[e];
                    double* Si = c->S + (int64_t)ca[e] * m2;
                    for (int64_t q = 0; q < nb; ++q) Si[cb[q]] += fa * vb[q];
                    c->sum_a[ca[e]] += fa;
                    c->sq_a[ca[e]] += fa * fa;
                }
                if (p == 0)
                    for (int64_t q = 0; q < nb; ++q) {
                        c->sum_b[cb[q]] += vb[q];
                        c->sq_b[cb[q]] += (double)vb[q] * vb[q];
                    }
            }
        }
    });
    c->tokens += B;
    return SAE4J_OK;
}

extern "C" int64_t sae4j_cpu_coact_tokens(const sae4j_cpu_coact* c) { return c ? c->tokens : -1; }

extern "C" int sae4j_cpu_coact_sums(sae4j_cpu_ctx* ctx, sae4j_cpu_coact* c, double* sum_a, double* sum_b) {
    if (!ctx || !c || !sum_a || !sum_b) return SAE4J_ERR_ARG;
    std::copy(c->sum_a.begin(), c->sum_a.end(), sum_a);
    std::copy(c->sum_b.begin(), c->sum_b.end(), sum_b);
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_coact_maxima(sae4j_cpu_ctx* ctx, sae4j_cpu_coact* c, float* row_max, int32_t* row_arg,
                                      float* col_max, int32_t* col_arg) {
    if (!ctx || !c || c->tokens < 1 || !row_max || !row_arg || !col_max || !col_arg) return SAE4J_ERR_ARG;
    const int64_t m1 = c->m1, m2 = c->m2;
    const double n = (double)c->tokens;
    std::vector<double> mu_a, is_a, mu_b, is_b;
    moments(m1, n, c->sum_a.data(), c->sq_a.data(), mu_a, is_a);
    moments(m2, n, c->sum_b.data(), c->sq_b.data(), mu_b, is_b);
    const int64_t parts = std::min<int64_t>(ctx->threads, m1);
    // each part's column maxima over its rows, merged in part (= row) order
    std::vector<float> part_max(parts * m2, NEG_INF);
    std::vector<int32_t> part_arg(parts * m2, -1);
    ctx->parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
            float* cm = part_max.data() + p * m2;
            int32_t* ca = part_arg.data() + p * m2;
            for (int64_t i = m1 * p / parts; i < m1 * (p + 1) / parts; ++i) {
                row_max[i] = NEG_INF;
                row_arg[i] = -1;
                if (is_a[i] == 0) continue;
                const double* Si = c->S + i * m2;
                for (int64_t j = 0; j < m2; ++j) {
                    if (is_b[j] == 0) continue;
                    const double r = (Si[j] / n - mu_a[i] * mu_b[j]) * is_a[i] * is_b[j];
                    const float rf = (float)std::max(-1.0, std::min(1.0, r));  // rounding can pass 1
                    if (rf > row_max[i]) {
                        row_max[i] = rf;
                        row_arg[i] = (int32_t)j;
                    }
                    if (rf > cm[j]) {
                        cm[j] = rf;
                        ca[j] = (int32_t)i;
                    }
                }
            }
        }
    });
    for (int64_t j = 0; j < m2; ++j) {
        col_max[j] = NEG_INF;
        col_arg[j] = -1;
        for (int64_t p = 0; p < parts; ++p)
            if (part_max[p * m2 + j] > col_max[j]) {
                col_max[j] = part_max[p * m2 + j];
                col_arg[j] = part_arg[p * m2 + j];
            }
    }
    return SAE4J_OK;
}
