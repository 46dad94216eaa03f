// SAE forward pass: the encoder (centring, one GEMM, the activation epilogue with nonzero counts,
// firing counts and the sparse form of the latents) and the decoder, which is sparse when the
// latents are: a trained SAE has L0 of a few percent of m, so B * L0 * d row updates replace the
// 2 * B * m * d dense GEMM.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "internal.h"

using namespace sae4j;

// One pass in index order over a bounded heap of the best k so far, its worst on top: a later
// equal value never displaces an earlier one (ties go to the lower index), and on a row in random
// order only about k ln(n/k) values displace, so the pass is one compare per element. (Replaced a
// copy of the positives and nth_element: 40% of a TopK training step, B 4096, d 512, m 4096.)
int32_t sae4j::keep_top_k(float* row, int64_t n, int64_t k, int32_t* firing) {
    struct Kept {
        float value;
        int32_t index;
    };
    // as the heap's "less" this puts the worst kept value on top
    const auto better = [](const Kept& a, const Kept& b) {
        return a.value > b.value || (a.value == b.value && a.index < b.index);
    };
    thread_local std::vector<Kept> scratch;  // grows to the largest k once per thread
    if ((int64_t)scratch.size() < k) scratch.resize(k);
    Kept* heap = scratch.data();
    int64_t size = 0, i = 0;
    for (; size < k && i < n; ++i)  // the first k positives (the caller's row has more than k)
        if (row[i] > 0.f) heap[size++] = {row[i], (int32_t)i};
    std::make_heap(heap, heap + k, better);
    for (; i < n; ++i) {
        if (!(row[i] > heap[0].value)) continue;
        std::pop_heap(heap, heap + k, better);
        heap[k - 1] = {row[i], (int32_t)i};
        std::push_heap(heap, heap + k, better);
    }
    std::memset(row, 0, sizeof(float) * n);
    for (int64_t j = 0; j < k; ++j) {
        row[heap[j].index] = heap[j].value;
        if (firing) ++firing[heap[j].index];
    }
    return (int32_t)k;
}

namespace {

bool sparse_allowed(const sae4j_cpu_batch* b, int64_t B, int64_t m, int64_t nnz) {
    switch (b->storage) {
        case SAE4J_LATENTS_DENSE: return false;
        case SAE4J_LATENTS_SPARSE: return true;  // capacity holds every latent
        default: return nnz <= b->csr_cap && nnz <= (int64_t)std::floor(b->max_density * B * m);
    }
}

// The CSR (row_ptr, col, val) of f (B, m) from the row counts, scanning f again: the fallback
// when a row segment's share of the capacity overflowed in relu_epilogue.
void build_csr(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* b, int64_t B, int64_t m) {
    int64_t* row_ptr = b->row_ptr;
    row_ptr[0] = 0;
    for (int64_t r = 0; r < B; ++r) row_ptr[r + 1] = row_ptr[r] + b->row_nnz[r];
    ctx->parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* fr = b->f + r * m;
            int64_t k = row_ptr[r];
            for (int32_t i = 0; i < (int32_t)m; ++i) {
                if (fr[i] != 0.f) {
                    b->col[k] = i;
                    b->val[k] = fr[i];
                    ++k;
                }
            }
        }
    });
}

// The activation beyond ReLU, applied to a row f = relu(pre) in place (DESIGN.md): TopK keeps the
// k largest (ties: the lower index), JumpReLU keeps pre > threshold_i (relu(pre) [pre > t_i]: a
// negative threshold keeps what ReLU keeps). Adds the row's survivors to firing (may be NULL) and
// returns how many there are.
struct RowActivation {
    int act;
    int64_t k;
    const float* threshold;

    int32_t apply(float* fr, int64_t m, int32_t n, int32_t* firing) const {
        if (act == SAE4J_ACT_JUMPRELU) {
            n = 0;
            for (int64_t i = 0; i < m; ++i) {
                if (!(fr[i] > threshold[i])) fr[i] = 0.f;
                n += fr[i] != 0.f;
            }
        } else if (n > k) {
            return keep_top_k(fr, m, k, firing);
        }
        if (firing)
            for (int64_t i = 0; i < m; ++i) firing[i] += fr[i] != 0.f;
        return n;
    }
};

// f (B, m) = relu(f + b_enc) in place, then the rest of the activation (RowActivation), with the row counts and (when firing is not NULL) the firing
// counts, per segment then added in order; and, while each row is still in L1, its
// nonzeros appended to the CSR: row segment s writes into its share [cap s/S, cap (s+1)/S) of the
// capacity, and the shares are then packed in order. A share that overflows stops collecting (the
// batch is then dense, or build_csr rescans f). Returns the batch's nonzero count; *sparse says
// which path the latents take.
int64_t relu_epilogue(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* b, int64_t B, int64_t m,
                      const float* b_enc, const RowActivation& act, int32_t* firing, bool* sparse) {
    const VecOps& v = ctx->vec();
    float* f = b->f;
    int32_t* row_nnz = b->row_nnz;
    const int64_t cap = b->csr_cap;
    const int64_t segments = std::min<int64_t>(b->seg_cap, B);
    int64_t* seg_fill = b->seg_fill;  // entries collected, or -1 after an overflow
    ctx->parallel_for(segments, 1, [&](int64_t s0, int64_t s1) {
        for (int64_t s = s0; s < s1; ++s) {
            const int64_t base = cap * s / segments, limit = cap * (s + 1) / segments;
            int32_t* seg_firing = firing ? b->seg_firing + s * m : nullptr;
            if (seg_firing) std::memset(seg_firing, 0, sizeof(int32_t) * m);
            int64_t k = base;
            for (int64_t r = B * s / segments; r < B * (s + 1) / segments; ++r) {
                float* fr = f + r * m;
                int32_t n;
                if (act.act == SAE4J_ACT_RELU) {
                    n = v.relu_bias(fr, b_enc, fr, seg_firing, m);
                } else {  // firing counted after the activation has dropped what it drops
                    n = act.apply(fr, m, v.relu_bias(fr, b_enc, fr, nullptr, m), seg_firing);
                }
                row_nnz[r] = n;
                if (k < 0 || k + n > limit) {
                    k = -1;
                    continue;
                }
                k += v.nonzeros(fr, m, b->col + k, b->val + k);
            }
            seg_fill[s] = k < 0 ? -1 : k - base;
        }
    });
    if (firing)
        ctx->parallel_for(m, 256, [&](int64_t i0, int64_t i1) {
            for (int64_t s = 0; s < segments; ++s)
                for (int64_t i = i0; i < i1; ++i) firing[i] += b->seg_firing[s * m + i];
        });
    int64_t total = 0;
    bool collected = cap > 0;
    for (int64_t r = 0; r < B; ++r) total += row_nnz[r];
    for (int64_t s = 0; s < segments; ++s) collected = collected && seg_fill[s] >= 0;
    *sparse = sparse_allowed(b, B, m, total);
    if (!*sparse) return total;
    if (!collected) {
        build_csr(ctx, b, B, m);
        return total;
    }
    int64_t* row_ptr = b->row_ptr;
    row_ptr[0] = 0;
    for (int64_t r = 0; r < B; ++r) row_ptr[r + 1] = row_ptr[r] + row_nnz[r];
    for (int64_t s = 1, to = seg_fill[0]; s < segments; to += seg_fill[s], ++s) {
        const int64_t from = cap * s / segments;  // to <= from: earlier shares hold at most theirs
        std::memmove(b->col + to, b->col + from, sizeof(int32_t) * seg_fill[s]);
        std::memmove(b->val + to, b->val + from, sizeof(float) * seg_fill[s]);
    }
    return total;
}

}  // namespace

extern "C" int sae4j_cpu_sae_encode(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* b, int64_t B, int64_t m,
                                    const float* params, int act, int64_t topk,
                                    const float* threshold, int32_t* nnz, int32_t* firing) {
    if (!ctx || !b || !params || !nnz || B < 1 || B > b->rows || m < 1 || m > b->max_m)
        return SAE4J_ERR_ARG;
    if (act == SAE4J_ACT_BATCHTOPK) return SAE4J_ERR_UNSUPPORTED;
    if (act == SAE4J_ACT_TOPK ? topk < 1 || topk > m
                              : act == SAE4J_ACT_JUMPRELU ? threshold == nullptr : act != SAE4J_ACT_RELU)
        return SAE4J_ERR_ARG;
    const int64_t d = b->d;
    SaeTensors<const float> p(params, d, m);
    b->sparse = -1;
    b->decoded = 0;
    sae4j_cpu_center_rows(ctx, B, d, b->x, p.b_dec, b->xc);
    sae4j_cpu_gemm(ctx, 0, 1, B, m, d, 1.f, b->xc, d, p.W_encT, d, 0.f, b->f, m);
    bool sparse;
    const int64_t total = relu_epilogue(ctx, b, B, m, p.b_enc, RowActivation{act, topk, threshold}, firing, &sparse);
    b->sparse = sparse ? 1 : 0;
    b->filled_rows = B;
    b->filled_m = m;
    *nnz = (int32_t)total;  // B * m < 2^31 (batch_create)
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_sae_decode(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* b, int64_t B, int64_t m,
                                    const float* params) {
    if (!ctx || !b || !params || !encoded_as(b, B, m)) return SAE4J_ERR_ARG;
    const int64_t d = b->d;
    SaeTensors<const float> p(params, d, m);
    const bool sparse = b->sparse == 1;
    const VecOps& v = ctx->vec();
    const float scale = 2.f / (float)B;
    if (!sparse) {
        ctx->parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) std::memcpy(b->xhat + r * d, p.b_dec, sizeof(float) * d);
        });
        sae4j_cpu_gemm(ctx, 0, 0, B, d, m, 1.f, b->f, m, p.W_dec, d, 1.f, b->xhat, d);
    }
    // Sparse rows are decoded here; a training batch also gets the backward's per-row terms while
    // the row and its decoder rows are in cache: err = 2/B (xhat - x), its squared norm and, at
    // each nonzero, err . W_dec,i (the data part of dL/dpre).
    ctx->parallel_for(B, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            float* out = b->xhat + r * d;
            const int64_t e0 = sparse ? b->row_ptr[r] : 0, e1 = sparse ? b->row_ptr[r + 1] : 0;
            if (sparse) {
                std::memcpy(out, p.b_dec, sizeof(float) * d);
                for (int64_t e = e0; e < e1; ++e) {
                    if (e + 1 < e1) prefetch_row(p.W_dec + (int64_t)b->col[e + 1] * d, d, false);
                    v.axpy(b->val[e], p.W_dec + (int64_t)b->col[e] * d, out, d);
                }
            }
            if (!b->training) continue;
            float* err = b->err + r * d;
            b->row_sq[r] = v.scaled_diff(out, b->x + r * d, scale, err, d);
            for (int64_t e = e0; e < e1; ++e) b->dpre[e] = v.dot(err, p.W_dec + (int64_t)b->col[e] * d, d);
        }
    });
    b->decoded = 1;
    return SAE4J_OK;
}
