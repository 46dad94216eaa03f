// The k largest cosines of every row and every column of the n1 x n2 cosine matrix between two
// vector sets, without storing the matrix (131072^2 floats would be 64 GiB): the candidate edges
// of exact one-to-one matching (java: io.sae4j.metrics.Matching). Each pool thread owns a
// contiguous range of B's vectors and walks all of A past it in (TILE_ROWS x TILE_COLS) tiles of
// cosines made by a single-threaded sgemm into its own scratch: it keeps the column lists of its
// range itself and its own list for every row, merged across threads at the end. Almost every
// cosine fails both lists' entry thresholds; a vector compare (VecOps::topk_hits) returns the few
// positions that pass. 16384 x 16384 x 512, k 32, 2 Zen 5 cores: 58-62% of the sgemm rate (tiles
// by sgemm alone 81%; the rest is the ~10M list insertions, most in the first rows and columns).
#include <algorithm>
#include <cmath>
#include <limits>

#include "internal.h"

using namespace sae4j;

namespace {

constexpr int64_t TILE_ROWS = 128, TILE_COLS = 2048;
constexpr int64_t MAX_OWNERS = 64;  // merge_rows keeps one list head per owner on its stack
constexpr float NEG_INF = -std::numeric_limits<float>::infinity();
constexpr float POS_INF = std::numeric_limits<float>::infinity();

// Lists are ordered by key descending, then index ascending; the key is the cosine, or its
// absolute value when ranking by |cos|. Values are stored signed. Empty slots have index -1.
struct List {
    float* val;
    int32_t* idx;
    int64_t k;
    bool absolute;

    float key(float v) const { return absolute ? std::fabs(v) : v; }
    // The key a newcomer must exceed: -inf while the list has room.
    float threshold() const { return idx[k - 1] < 0 ? NEG_INF : key(val[k - 1]); }
    // Inserts (v, i), which beats the last entry. Indices arrive in ascending order, so an entry
    // with an equal key is older and smaller and stays ahead.
    void insert(float v, int32_t i) const {
        const float kv = key(v);
        int64_t p = k - 1;
        while (p > 0 && (idx[p - 1] < 0 || key(val[p - 1]) < kv)) {
            val[p] = val[p - 1];
            idx[p] = idx[p - 1];
            --p;
        }
        val[p] = v;
        idx[p] = i;
    }
};

bool sizes_ok(int64_t n1, int64_t n2, int64_t d, int64_t k_row, int64_t k_col) {
    return n1 >= 1 && n2 >= 1 && d >= 1 && n1 <= INT32_MAX && n2 <= INT32_MAX && d <= INT32_MAX &&
           k_row >= 0 && k_col >= 0 && k_row <= n2 && k_col <= n1 && k_row + k_col >= 1;
}

int64_t owners(const sae4j_cpu_ctx* ctx, int64_t n2) {
    return std::max<int64_t>(1, std::min<int64_t>({(int64_t)ctx->threads, MAX_OWNERS, (n2 + TILE_COLS - 1) / TILE_COLS}));
}

// Folds one row of cosines c[0 .. cols) (columns j0 ..) into row i's list and the column lists.
// col_thr holds each column list's threshold (+inf without column lists); hits has cols slots.
void fold_row(const VecOps& vec, const float* c, int64_t cols, int32_t i, int64_t j0, bool absolute,
              const List& row, float* col_thr, float* col_val, int32_t* col_idx, int64_t k_col, int32_t* hits) {
    float row_thr = row.k ? row.threshold() : POS_INF;
    const int32_t n = vec.topk_hits(c, col_thr + j0, row_thr, absolute, cols, hits);
    for (int32_t h = 0; h < n; ++h) {  // against the thresholds as they are now
        const int64_t j = hits[h];
        const float kv = absolute ? std::fabs(c[j]) : c[j];
        if (kv > row_thr) {
            row.insert(c[j], (int32_t)(j0 + j));
            row_thr = row.threshold();
        }
        if (kv > col_thr[j0 + j]) {
            const List col{col_val + (j0 + j) * k_col, col_idx + (j0 + j) * k_col, k_col, absolute};
            col.insert(c[j], i);
            col_thr[j0 + j] = col.threshold();
        }
    }
}

// The row lists of the T owners, each sorted, into one: owner t's indices all precede owner t+1's,
// so taking the earlier owner on equal keys keeps indices ascending among ties.
void merge_rows(sae4j_cpu_ctx* ctx, int64_t n1, int64_t k, int64_t T, bool absolute, const float* part_val,
                const int32_t* part_idx, float* row_val, int32_t* row_idx) {
    ctx->parallel_for(n1, 256, [&](int64_t i0, int64_t i1) {
        int64_t head[MAX_OWNERS];
        for (int64_t i = i0; i < i1; ++i) {
            std::fill(head, head + T, 0);
            for (int64_t out = 0; out < k; ++out) {
                int64_t best = -1;
                float best_key = NEG_INF;
                for (int64_t t = 0; t < T; ++t) {
                    const int64_t at = (t * n1 + i) * k + head[t];
                    if (head[t] >= k || part_idx[at] < 0) continue;
                    const float kv = absolute ? std::fabs(part_val[at]) : part_val[at];
                    if (best < 0 || kv > best_key) {
                        best = t;
                        best_key = kv;
                    }
                }
                if (best < 0) {  // fewer than k comparable cosines: NaN input (NaN enters no list)
                    row_val[i * k + out] = NEG_INF;
                    row_idx[i * k + out] = -1;
                    continue;
                }
                const int64_t at = (best * n1 + i) * k + head[best]++;
                row_val[i * k + out] = part_val[at];
                row_idx[i * k + out] = part_idx[at];
            }
        }
    });
}

}  // namespace

extern "C" int64_t sae4j_cpu_cosine_topk_workspace(const sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d,
                                                   int64_t k_row, int64_t k_col) {
    if (!ctx || !sizes_ok(n1, n2, d, k_row, k_col)) return -1;
    const int64_t T = owners(ctx, n2);
    // unit vectors, a tile per owner, each owner's row lists (values and indices), column thresholds
    return (n1 + n2) * d + T * TILE_ROWS * TILE_COLS + 2 * T * n1 * k_row + n2 + T * TILE_COLS;
}

extern "C" int sae4j_cpu_cosine_topk(sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d, const float* A,
                                     int32_t a_columns, const float* B, int32_t b_columns, int32_t absolute,
                                     int64_t k_row, float* row_val, int32_t* row_idx, int64_t k_col,
                                     float* col_val, int32_t* col_idx, float* work) {
    if (!ctx || !sizes_ok(n1, n2, d, k_row, k_col) || !A || !B || !work || (k_row && (!row_val || !row_idx)) ||
        (k_col && (!col_val || !col_idx)))
        return SAE4J_ERR_ARG;
    const int64_t T = owners(ctx, n2);
    const bool abs_rank = absolute != 0;
    float* An = work;
    float* Bn = An + n1 * d;
    float* tiles = Bn + n2 * d;
    float* part_val = tiles + T * TILE_ROWS * TILE_COLS;  // (T, n1, k_row)
    int32_t* part_idx = reinterpret_cast<int32_t*>(part_val + T * n1 * k_row);
    float* col_thr = reinterpret_cast<float*>(part_idx + T * n1 * k_row);
    int32_t* hits = reinterpret_cast<int32_t*>(col_thr + n2);  // (T, TILE_COLS)
    normalise(ctx, n1, d, A, a_columns, false, An);
    normalise(ctx, n2, d, B, b_columns, false, Bn);
    std::fill(part_val, part_val + T * n1 * k_row, NEG_INF);
    std::fill(part_idx, part_idx + T * n1 * k_row, -1);
    std::fill(col_thr, col_thr + n2, k_col ? NEG_INF : POS_INF);
    if (k_col) {
        std::fill(col_val, col_val + n2 * k_col, NEG_INF);
        std::fill(col_idx, col_idx + n2 * k_col, -1);
    }
    ctx->parallel_for(T, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t lo = n2 * t / T, hi = n2 * (t + 1) / T;
            float* tile = tiles + t * TILE_ROWS * TILE_COLS;
            for (int64_t i0 = 0; i0 < n1; i0 += TILE_ROWS) {
                const int64_t rows = std::min(TILE_ROWS, n1 - i0);
                for (int64_t j0 = lo; j0 < hi; j0 += TILE_COLS) {
                    const int64_t cols = std::min(TILE_COLS, hi - j0);
                    // inside a pool thread this is one single-threaded sgemm
                    sae4j_cpu_gemm(ctx, 0, 1, rows, cols, d, 1.f, An + i0 * d, d, Bn + j0 * d, d, 0.f, tile, cols);
                    for (int64_t r = 0; r < rows; ++r) {
                        const int64_t i = i0 + r;
                        const List row{part_val + (t * n1 + i) * k_row, part_idx + (t * n1 + i) * k_row, k_row,
                                       abs_rank};
                        fold_row(ctx->vec(), tile + r * cols, cols, (int32_t)i, j0, abs_rank, row, col_thr, col_val,
                                 col_idx, k_col, hits + t * TILE_COLS);
                    }
                }
            }
        }
    });
    if (k_row) merge_rows(ctx, n1, k_row, T, abs_rank, part_val, part_idx, row_val, row_idx);
    return SAE4J_OK;
}
