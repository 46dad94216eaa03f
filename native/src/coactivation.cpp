// Exact Pearson correlation between two SAEs' latents over any number of tokens, from the sparse
// latents of each batch, with memory independent of the token count (DESIGN.md, Metrics):
//   sums (per latent) of f and f^2, and S_ij = sum_t f_i(t) g_j(t), nonzero only for co-active
//   pairs: N * L0_a * L0_b work per N tokens instead of the N * m1 * m2 of a dense product;
//   r_ij = (S_ij / N - mu_i mu_j) / (s_i s_j), for never co-active pairs -mu_i mu_j / (s_i s_j).
// S is dense (m1, m2) in double, in transparent huge pages: every r_ij, co-active or not, is read
// off it in one pass at the end.
// Accumulation is staged: `add` copies each batch's sparse latents into a fixed stage (A's entries
// with the offsets of their token's B row, B's rows), and a full stage is added latent by latent
// of A (a counting sort by latent, then for each latent i its tokens in order: row i of S stays in
// cache while the B rows come in by prefetch). Adding token by token instead makes every update a
// random write into S (2 GiB at 16384^2): 23 s per 1M tokens of L0 ~43 on 2 Zen 5 cores; staged,
// the whole pass (two encodes, decodes, S) took 16% less time in alternation with the old code
// (benchmarks/RESULTS.md, issue 15). Each pool thread owns a range of A's latents (rows of S) and
// adds each S element's products in token order, so the sums do not depend on the thread count or
// on where stages end.
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

// Pool parts a flush splits into (more threads share them): bounds the counting sort's table.
constexpr int64_t MAX_PARTS = 64;

// A fired with value fa on a token whose B row is b_col/b_val[b0, b1): an entry of the stage once
// sorted by latent (the latent is then implicit).
struct SortedEntry {
    float fa;
    int32_t b0, b1;
};
// The same as staged, in token order, with its latent.
struct StagedEntry {
    int32_t latent;
    SortedEntry entry;
};

}  // namespace

struct sae4j_cpu_coact {
    int64_t m1, m2, tokens = 0;
    double* S = nullptr;  // (m1, m2)
    std::vector<double> sum_a, sq_a, sum_b, sq_b;
    // the stage: capacity `stage_cap` entries a side; A entries in token order, B rows they point to
    int64_t stage_cap = 0, staged = 0, staged_b = 0;
    std::vector<StagedEntry> a_entries;
    std::vector<SortedEntry> by_latent;
    std::vector<int64_t> latent_start;  // (m1 + 1): by_latent's range of each latent
    std::vector<int32_t> part_offset;   // (MAX_PARTS, m1): each part's counts, then next slots
    int64_t part_first[MAX_PARTS + 1];  // each part's first latent in the adding pass
    std::vector<int32_t> b_col;
    std::vector<float> b_val;
};

namespace {

bool sparse_encode_of(const sae4j_cpu_batch* b, int64_t B, int64_t m) {
    return b && encoded_as(b, B, m) && b->sparse == 1;
}

// Adds CSR entries [from, to) of a batch to its latents' sums of f and f^2.
void add_moments(const sae4j_cpu_batch* b, int64_t from, int64_t to, std::vector<double>& sum,
                 std::vector<double>& sq) {
    for (int64_t e = from; e < to; ++e) {
        sum[b->col[e]] += b->val[e];
        sq[b->col[e]] += (double)b->val[e] * b->val[e];
    }
}

// Entries a side the stage holds: each flush streams S once (m1 m2 doubles) against L0_b updates an
// entry, so a stage of m1 m2 / 64 entries keeps that stream a small part of the work; at most 4M
// (~150 MB of stage at the cap), and at least one token's latents (m1 or m2).
int64_t stage_capacity(int64_t m1, int64_t m2) {
    return std::max(std::min<int64_t>(m1 * m2 / 64, 4 << 20), std::max(m1, m2));
}

// Adds the stage to S. First a stable counting sort by latent, in parallel: each part counts and
// then places one contiguous range of the stage (token order) at offsets that put its entries of a
// latent after those of the parts before it. Then each part adds the tokens of a range of latents
// (ranges of about equal entries; any split gives the same sums), prefetching B rows ahead.
void flush(sae4j_cpu_ctx* ctx, sae4j_cpu_coact* c) {
    if (c->staged == 0) return;
    const int64_t m1 = c->m1, m2 = c->m2, n = c->staged;
    const int64_t parts = std::min<int64_t>({ctx->threads, m1, MAX_PARTS});
    int32_t* offset = c->part_offset.data();  // (parts, m1): counts, then first slots
    ctx->parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
            int32_t* count = offset + p * m1;
            std::fill(count, count + m1, 0);
            const int64_t e1 = n * (p + 1) / parts;  // part p's token range of the stage
            for (int64_t e = n * p / parts; e < e1; ++e) ++count[c->a_entries[e].latent];
        }
    });
    std::vector<int64_t>& start = c->latent_start;
    int64_t total = 0;
    for (int64_t i = 0; i < m1; ++i) {
        start[i] = total;
        for (int64_t p = 0; p < parts; ++p) {
            const int32_t k = offset[p * m1 + i];
            offset[p * m1 + i] = (int32_t)total;
            total += k;
        }
    }
    start[m1] = total;
    int64_t* part_first = c->part_first;
    for (int64_t p = 0, i = 0; p < parts; ++p) {
        while (i < m1 && start[i] * parts < n * p) ++i;
        part_first[p] = i;
    }
    part_first[parts] = m1;
    ctx->parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
            int32_t* slot = offset + p * m1;
            const int64_t e1 = n * (p + 1) / parts;
            for (int64_t e = n * p / parts; e < e1; ++e) {
                const StagedEntry& s = c->a_entries[e];
                c->by_latent[slot[s.latent]++] = s.entry;
            }
        }
    });
    constexpr int64_t AHEAD = 16;  // entries: ~ the latency of a B row over the time of one entry
    ctx->parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
            const int32_t i0 = (int32_t)part_first[p], i1 = (int32_t)part_first[p + 1];
            const int64_t k1 = start[i1];
            const int32_t* bc = c->b_col.data();
            const float* bv = c->b_val.data();
            for (int32_t i = i0; i < i1; ++i) {
                double* Si = c->S + (int64_t)i * m2;
                for (int64_t k = start[i]; k < start[i + 1]; ++k) {
                    if (k + AHEAD < k1) {
                        const SortedEntry& ahead = c->by_latent[k + AHEAD];
                        prefetch_row(reinterpret_cast<const float*>(bc + ahead.b0), ahead.b1 - ahead.b0, false);
                        prefetch_row(bv + ahead.b0, ahead.b1 - ahead.b0, false);
                    }
                    const SortedEntry& s = c->by_latent[k];
                    const double fa = s.fa;
                    for (int32_t q = s.b0; q < s.b1; ++q) Si[bc[q]] += fa * bv[q];
                }
            }
        }
    });
    c->staged = c->staged_b = 0;
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
        c->stage_cap = stage_capacity(m1, m2);
        c->a_entries.resize(c->stage_cap);
        c->by_latent.resize(c->stage_cap);
        c->latent_start.resize(m1 + 1);
        c->part_offset.resize(MAX_PARTS * m1);
        c->b_col.resize(c->stage_cap);
        c->b_val.resize(c->stage_cap);
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
    for (int64_t r = 0; r < B; ++r) {
        const int64_t a0 = a->row_ptr[r], na = a->row_ptr[r + 1] - a0;
        const int64_t b0 = b->row_ptr[r], nb = b->row_ptr[r + 1] - b0;
        add_moments(b, b0, b0 + nb, c->sum_b, c->sq_b);
        add_moments(a, a0, a0 + na, c->sum_a, c->sq_a);
        if (na == 0 || nb == 0) continue;  // no co-active pair: nothing for S
        if (c->staged + na > c->stage_cap || c->staged_b + nb > c->stage_cap) flush(ctx, c);
        const int32_t sb0 = (int32_t)c->staged_b, sb1 = (int32_t)(c->staged_b + nb);
        std::copy(b->col + b0, b->col + b0 + nb, c->b_col.data() + sb0);
        std::copy(b->val + b0, b->val + b0 + nb, c->b_val.data() + sb0);
        c->staged_b += nb;
        for (int64_t e = a0; e < a0 + na; ++e) c->a_entries[c->staged++] = {a->col[e], {a->val[e], sb0, sb1}};
    }
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

extern "C" int sae4j_cpu_coact_row(sae4j_cpu_ctx* ctx, sae4j_cpu_coact* c, int64_t i, double* out) {
    if (!ctx || !c || !out || i < 0 || i >= c->m1) return SAE4J_ERR_ARG;
    flush(ctx, c);
    std::copy(c->S + i * c->m2, c->S + (i + 1) * c->m2, out);
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_coact_maxima(sae4j_cpu_ctx* ctx, sae4j_cpu_coact* c, float* row_max, int32_t* row_arg,
                                      float* col_max, int32_t* col_arg) {
    if (!ctx || !c || c->tokens < 1 || !row_max || !row_arg || !col_max || !col_arg) return SAE4J_ERR_ARG;
    flush(ctx, c);
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
