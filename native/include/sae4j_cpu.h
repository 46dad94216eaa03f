/*
 * sae4j_cpu.h: every entry point of the sae4j CPU kernel library (sources in native/src).
 *
 * Conventions
 *  - Row-major float32 buffers; shapes in comments as (rows, cols). B = batch rows, d = d_in,
 *    m = d_sae. "=" means the kernel overwrites an output, "+=" that it accumulates.
 *  - Every kernel takes the context of one backend instance (its thread pool and instruction set;
 *    contexts are independent) and returns a status (SAE4J_OK or an SAE4J_ERR_*); sizes are
 *    validated first and nothing is written when a size is invalid. Kernels allocate nothing:
 *    per-batch memory lives in a batch workspace (sae4j_cpu_batch) created once.
 *  - An SAE's parameters, and its gradients, are one flat buffer ("SAE tensors") laid out as
 *        [ W_encT (m, d) | b_enc (m) | W_dec (m, d) | b_dec (d) ]     (2 m d + m + d floats)
 *    The encoder is kept transposed (PyTorch/sparsify layout) so that the sparse backward pass
 *    updates contiguous rows; files use W_enc (d, m) and are transposed on I/O.
 *  - Contexts run OpenBLAS single-threaded inside their own pools (sae4j_cpu_gemm splits C over
 *    the pool) and sets OpenBLAS's process-wide thread count to 1.
 */
#ifndef SAE4J_CPU_H
#define SAE4J_CPU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SAE4J_OK 0
#define SAE4J_ERR_ARG 1         /* a size, pointer or option is invalid */
#define SAE4J_ERR_NOMEM 2       /* a workspace could not be allocated */
#define SAE4J_ERR_UNSUPPORTED 3 /* the CPU lacks the instruction set, or the activation is not built */

#define SAE4J_ISA_AUTO 0
#define SAE4J_ISA_PORTABLE 1
#define SAE4J_ISA_AVX2 2
#define SAE4J_ISA_AVX512 3

/* Activation functions (DESIGN.md); the kernels take one with its parameters (k, threshold). */
#define SAE4J_ACT_RELU 0
#define SAE4J_ACT_TOPK 1
#define SAE4J_ACT_BATCHTOPK 2
#define SAE4J_ACT_JUMPRELU 3

/* How a batch workspace holds the latents after the encoder. */
#define SAE4J_LATENTS_AUTO 0   /* sparse (CSR) when the batch's density is at most max_density */
#define SAE4J_LATENTS_DENSE 1  /* always dense; no sparse storage is allocated */
#define SAE4J_LATENTS_SPARSE 2 /* always sparse; storage for every latent of every row */

typedef struct sae4j_cpu_ctx sae4j_cpu_ctx;     /* one backend instance: thread pool + ISA */
typedef struct sae4j_cpu_batch sae4j_cpu_batch; /* one batch workspace */

/* ---- instruction sets and contexts (dispatch.cpp, threads.cpp) ---- */
int sae4j_cpu_cpu_supports(int isa);   /* 1 if this CPU can run isa, else 0 */
/* The best isa for these cpuid words (leaf 1 ECX, leaf 7.0 EBX, leaf 0x80000001 ECX, XCR0): AVX512
 * needs every x86-64-v4 feature, AVX2 every x86-64-v3 feature, as the compiled paths may use them. */
int sae4j_cpu_isa_for_features(uint32_t leaf1_ecx, uint32_t leaf7_ebx, uint32_t ext1_ecx,
                               uint64_t xcr0);
const char* sae4j_cpu_blas_core(void); /* openblas_get_corename(), e.g. "Haswell" */
/* A context with `threads` (1..4096) pool threads and leaf loops in `isa` (AUTO: the best this CPU
 * has). *status = SAE4J_ERR_UNSUPPORTED when the CPU lacks isa. NULL on failure. */
sae4j_cpu_ctx* sae4j_cpu_ctx_create(int threads, int isa, int* status);
void sae4j_cpu_ctx_destroy(sae4j_cpu_ctx* ctx);
int sae4j_cpu_ctx_threads(const sae4j_cpu_ctx* ctx);
int sae4j_cpu_ctx_isa(const sae4j_cpu_ctx* ctx); /* never AUTO */

/* ---- dense GEMM over OpenBLAS (elementwise.cpp) ----
 * C (M, N) = alpha * op(A) op(B) + beta * C; op(A) is (M, K), op(B) is (K, N). */
int sae4j_cpu_gemm(sae4j_cpu_ctx* ctx, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                   float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                   float beta, float* C, int64_t ldc);

/* ---- elementwise (elementwise.cpp) ---- */
/* out (B, d) = x (B, d) - b (d). */
int sae4j_cpu_center_rows(sae4j_cpu_ctx* ctx, int64_t B, int64_t d, const float* x,
                          const float* b, float* out);
/* norms (rows) = ||A_r|| for A (rows, cols). */
int sae4j_cpu_row_norms(sae4j_cpu_ctx* ctx, int64_t rows, int64_t cols, const float* A,
                        float* norms);

/* Unit-norm decoder rows (TopK training, DESIGN.md), for W (rows, cols) and its gradient G (rows,
 * cols); rows with W_r = 0 are left as they are. remove_radial: G_r -= (G_r . W_r / ||W_r||^2) W_r
 * (before the optimiser step); normalize_rows: W_r /= ||W_r|| (after it). */
int sae4j_cpu_remove_radial(sae4j_cpu_ctx* ctx, int64_t rows, int64_t cols, const float* W,
                            float* G);
int sae4j_cpu_normalize_rows(sae4j_cpu_ctx* ctx, int64_t rows, int64_t cols, float* W);

/* ---- batch workspace (batch.cpp) ----
 * Memory for batches of up to `rows` tokens through SAEs of up to `max_m` latents and width d:
 * x (rows, d) the input (written by the caller), xc (rows, d) = x - b_dec, f (rows, max_m) the
 * pre-activations then latents, xhat (rows, d); with `training`, also the backward scratch.
 * `storage` is SAE4J_LATENTS_*; max_density in [0, 1] applies to AUTO. NULL on failure. */
sae4j_cpu_batch* sae4j_cpu_batch_create(sae4j_cpu_ctx* ctx, int64_t rows, int64_t d,
                                        int64_t max_m, int storage, double max_density,
                                        int training, int* status);
void sae4j_cpu_batch_destroy(sae4j_cpu_batch* batch);
float* sae4j_cpu_batch_x(sae4j_cpu_batch* batch);    /* (rows, d) */
float* sae4j_cpu_batch_xc(sae4j_cpu_batch* batch);   /* (rows, d) */
float* sae4j_cpu_batch_f(sae4j_cpu_batch* batch);    /* (rows, max_m); (B, m) after an encode */
float* sae4j_cpu_batch_xhat(sae4j_cpu_batch* batch); /* (rows, d) */
/* 1 when the last encode left the latents sparse (decode and backward then take the sparse paths;
 * f is dense either way), 0 when dense, -1 before any encode. */
int sae4j_cpu_batch_sparse(const sae4j_cpu_batch* batch);
/* *out (=) = sum_r ||x_r - mean(x)||^2 over the batch's first B input rows: the FVU denominator. */
int sae4j_cpu_sum_sq_dev(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* batch, int64_t B, float* out);

/* ---- SAE forward (sae_forward.cpp) ---- */
/* Encoder for the batch's first B rows: xc = x - b_dec; f (B, m) = act(xc W_enc + b_enc) with
 * activation `act`: RELU; TOPK (1 <= k <= m: the k largest of relu(pre), ties to the lower index);
 * JUMPRELU (threshold (m): relu(pre) where pre > threshold_i); BATCHTOPK is SAE4J_ERR_UNSUPPORTED
 * (the backward takes RELU and TOPK: sae4j trains those; JumpReLU SAEs are read). The latents are then
 * kept sparse or dense as the batch's storage says. Outputs: *nnz (=) the batch's nonzero latents;
 * firing (m) += the number of rows on which each latent is nonzero (firing may be NULL). */
int sae4j_cpu_sae_encode(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* batch, int64_t B, int64_t m,
                         const float* params, int act, int64_t k, const float* threshold,
                         int32_t* nnz, int32_t* firing);
/* Decoder. xhat (B, d) = f W_dec + b_dec from the last encode's latents (sparse: B * L0 * d work;
 * dense: one GEMM). A training batch also keeps what the backward needs of each row while it is in
 * cache: err = 2/B (xhat - x), ||xhat - x||^2 and, on the sparse path, err . W_dec,i at each
 * nonzero. */
int sae4j_cpu_sae_decode(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* batch, int64_t B, int64_t m,
                         const float* params);

/* ---- SAE loss and gradients (sae_backward.cpp) ----
 * Decoder-norm-weighted L1 loss per token ||x - xhat||^2 + lambda sum_i f_i ||W_dec,i||, mean over
 * the batch, after sae4j_cpu_sae_encode and sae4j_cpu_sae_decode of the same B rows and params.
 * act RELU or TOPK (same k as the encode); TOPK has no penalty: lambda must be 0 (its gradient is
 * then ReLU's through the kept latents, as the others are 0 and do not move under a small change).
 * grads (=): the flat SAE tensors of the gradients; b_dec's includes its path through the encoder
 * input. losses (=): [0] mean squared error summed over d, [1] mean weighted L1 (before lambda).
 * The batch must have been created with `training`; SAE4J_ERR_ARG when the encode was not decoded. */
int sae4j_cpu_sae_backward(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* batch, int64_t B, int64_t m,
                           const float* params, int act, int64_t k, const float* threshold,
                           float lambda, float* grads, float* losses);

/* ---- AuxK, the dead latents' auxiliary loss of TopK training (auxk.cpp) ----
 * Gao et al. 2024, appendix A.2. After sae4j_cpu_sae_backward of the same batch: the k_aux
 * largest relu(pre) among the dead latents (dead: n_dead strictly ascending indices < m) reconstruct
 * the residual e = x - xhat of the main reconstruction, held fixed, without b_dec:
 *   L_aux = alpha/B sum_b ||sum_{kept j} a_bj W_dec,dead_j - e_b||^2     (k_aux > n_dead: all)
 * alpha weighs it against the main loss as sparsify's auxk_alpha does (both over the same batch
 * scale). grads (+=): its gradient, added to the backward's; *loss (=): L_aux (alpha included).
 * The dead latents' pre-activations are made in the batch's latents, which then count as not
 * encoded. firing (m, may be NULL): listed latents with firing > 0 (fired since the list was
 * made) take no part. n_dead 0 adds nothing (loss 0). work holds sae4j_cpu_auxk_workspace(B, d, n_dead or more, k_aux)
 * floats (-1 for sizes < 1). */
int64_t sae4j_cpu_auxk_workspace(int64_t B, int64_t d, int64_t max_dead, int64_t k_aux);
int sae4j_cpu_auxk_backward(sae4j_cpu_ctx* ctx, sae4j_cpu_batch* batch, int64_t B, int64_t m,
                            const float* params, const int32_t* dead, int64_t n_dead,
                            const int32_t* firing, int64_t k_aux, float alpha, float* work,
                            float* grads, float* loss);

/* ---- Adam (adam.cpp) ----
 * In place over n parameters: m1 = b1 m1 + (1-b1) g; m2 = b2 m2 + (1-b2) g^2;
 * p -= lr * (m1 / (1 - b1^t)) / (sqrt(m2 / (1 - b2^t)) + eps). t >= 1 is the step number. */
int sae4j_cpu_adam_step(sae4j_cpu_ctx* ctx, int64_t n, float* p, const float* g, float* m1,
                        float* m2, float lr, float beta1, float beta2, float eps, int64_t t);

/* ---- batched cosine matching (cosine_match.cpp) ----
 * Vectors a_i (n1 of them) and b_j (n2), each of length d. A is (n1, d), or (d, n1) when
 * a_columns != 0 (vectors are columns, e.g. activations (tokens, features)); likewise B.
 * With center != 0 each vector's mean is removed first (cosine becomes Pearson r), and a constant
 * vector (r undefined, e.g. a feature that never fired) takes part in no maximum: its own maximum
 * is -inf with index -1, and it is skipped in the other side's maxima.
 * Outputs (=): row_max (n1) = max_j cos(a_i, b_j), row_arg (n1) its j; col_max (n2), col_arg (n2)
 * likewise over i. Ties (equal computed cosines) pick the smallest index; on the AVX-512 path
 * duplicated vectors always tie, an sgemm may round their products an ulp apart. Without centring,
 * a zero vector has cosine 0 with everything.
 * Never forms the n1 x n2 matrix: with AVX-512 each 8 x 32 tile of cosines is folded from registers
 * (vectors packed once into `work`); otherwise blocks of it are made by GEMM in `work`. The size of
 * `work` in floats, for this context (its ISA and threads): sae4j_cpu_cosine_max_workspace. */
int64_t sae4j_cpu_cosine_max_workspace(const sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d);
int sae4j_cpu_cosine_max(sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d, const float* A,
                         int32_t a_columns, const float* B, int32_t b_columns, int32_t center,
                         float* row_max, int32_t* row_arg, float* col_max, int32_t* col_arg,
                         float* work);
/* Block of the cosine matrix: C (i1 - i0, n2) = cos(a_i, b_j) for i in [i0, i1); used by exact
 * (Hungarian) matching on modest sizes. Same layouts as sae4j_cpu_cosine_max; work holds
 * (n1 + n2) d floats. */
int sae4j_cpu_cosine_block(sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d, const float* A,
                           int32_t a_columns, const float* B, int32_t b_columns, int32_t center,
                           int64_t i0, int64_t i1, float* C, float* work);

/* ---- top-k cosines (cosine_topk.cpp) ----
 * The candidate edges of exact one-to-one matching at any size. Vectors as for
 * sae4j_cpu_cosine_max (no centring). Ranking key: cos(a_i, b_j), or |cos| when absolute != 0;
 * stored values are the signed cosines.
 * Outputs (=): row_val, row_idx (n1, k_row): row i's k_row entries of largest key, by key
 * descending, ties to the smaller j; col_val, col_idx (n2, k_col) likewise for column j over i.
 * 0 <= k_row <= n2, 0 <= k_col <= n1, at least one of them >= 1; a side with k 0 is not computed
 * and its pointers may be NULL. A NaN cosine (NaN input) enters no list; a list short of k comparable
 * entries ends in -inf / -1. Every entry outside row i's list has key <= that of its last entry
 * (up to float rounding of the cosines, about sqrt(d) ulps). The matrix is never stored: each pool
 * thread makes tiles of it by sgemm in `work`, which holds
 * sae4j_cpu_cosine_topk_workspace(ctx, n1, n2, d, k_row, k_col) floats (-1 for invalid sizes). */
int64_t sae4j_cpu_cosine_topk_workspace(const sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d,
                                        int64_t k_row, int64_t k_col);
int sae4j_cpu_cosine_topk(sae4j_cpu_ctx* ctx, int64_t n1, int64_t n2, int64_t d, const float* A,
                          int32_t a_columns, const float* B, int32_t b_columns, int32_t absolute,
                          int64_t k_row, float* row_val, int32_t* row_idx, int64_t k_col,
                          float* col_val, int32_t* col_idx, float* work);

/* ---- exact activation correlation (coactivation.cpp) ----
 * An accumulator of the sums behind the exact Pearson correlation of two SAEs' latents over any
 * number of tokens: S (m1, m2) = sum_t f_i(t) g_j(t) (co-active pairs only: B L0_a L0_b work per
 * batch), and per latent the sums of f and f^2, in double; S takes 8 m1 m2 bytes (in transparent
 * huge pages where the system allows), and a stage of max(min(m1 m2 / 64, 4M), m1, m2) entries a
 * side, 36 bytes an entry (at most ~150 MB), and 256 m1 bytes for its sort by latent: `add` fills
 * it; S takes it when full and at `maxima`.
 * Results do not depend on the thread count or on where batches and stages end.
 * create: *status SAE4J_ERR_ARG or SAE4J_ERR_NOMEM on failure (NULL).
 * add: the last encode of the same B rows in batch a (m1 latents) and b (m2), both held sparse
 *   (SAE4J_LATENTS_SPARSE, or AUTO that chose sparse); ERR_ARG otherwise.
 * sums: sum_a (m1), sum_b (m2) (=) each latent's activation sum so far (0: never fired).
 * row: out (m2) (=) row i of S (the sums of f_i g_j over the rows added so far), in double.
 * maxima: row_max (m1) (=) max_j r_ij with row_arg its j, col_max (m2), col_arg likewise over i;
 *   r_ij = (S_ij / N - mu_i mu_j) / (s_i s_j) with population moments over the N rows added,
 *   clamped to [-1, 1]. A latent with no variance (never fired, or one value on every row) takes
 *   part in no maximum: its own is -inf with index -1. Ties pick the smaller index. */
typedef struct sae4j_cpu_coact sae4j_cpu_coact;
sae4j_cpu_coact* sae4j_cpu_coact_create(int64_t m1, int64_t m2, int* status);
void sae4j_cpu_coact_destroy(sae4j_cpu_coact* acc);
int sae4j_cpu_coact_add(sae4j_cpu_ctx* ctx, sae4j_cpu_coact* acc, const sae4j_cpu_batch* a,
                        const sae4j_cpu_batch* b, int64_t B);
int64_t sae4j_cpu_coact_tokens(const sae4j_cpu_coact* acc); /* rows added so far */
int sae4j_cpu_coact_sums(sae4j_cpu_ctx* ctx, sae4j_cpu_coact* acc, double* sum_a, double* sum_b);
int sae4j_cpu_coact_row(sae4j_cpu_ctx* ctx, sae4j_cpu_coact* acc, int64_t i, double* out);
int sae4j_cpu_coact_maxima(sae4j_cpu_ctx* ctx, sae4j_cpu_coact* acc, float* row_max,
                           int32_t* row_arg, float* col_max, int32_t* col_arg);

#ifdef __cplusplus
}
#endif
#endif /* SAE4J_CPU_H */
