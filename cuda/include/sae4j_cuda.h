/*
 * sae4j_cuda.h: every entry point of the sae4j CUDA kernel library (sources in cuda/src).
 *
 * Conventions (as native/include/sae4j_cpu.h, whose CPU kernels define the same maths)
 *  - Row-major float32 device buffers; shapes in comments as (rows, cols). B = batch rows,
 *    d = d_in, m = d_sae. "=" means the kernel overwrites an output, "+=" that it accumulates.
 *  - A context (sae4j_cuda_ctx) is one backend instance: a device and a stream of its own.
 *    Every kernel is enqueued on the context's stream and returns at once (no host sync) unless
 *    its comment says otherwise; errors come back as a status, never exit(). After
 *    SAE4J_CUDA_ERR_CUDA, sae4j_cuda_last_error() holds "file:line: call: name: message".
 *  - Kernels allocate nothing: per-batch memory lives in a batch workspace (sae4j_cuda_batch),
 *    and the cosine kernels take a caller-allocated `work` buffer.
 *  - An SAE's parameters, and its gradients, are one flat buffer ("SAE tensors") laid out as
 *        [ W_encT (m, d) | b_enc (m) | W_dec (m, d) | b_dec (d) ]     (2 m d + m + d floats)
 *  - Dense GEMMs are not here: the Java backend runs them through cuBLAS (JavaCPP CUDA presets)
 *    on the stream that sae4j_cuda_ctx_stream returns. The training step is composed as
 *        encode:   center_rows -> [GEMM pre = xc W_encT^T] -> sae_epilogue
 *        decode:   sparse: sae_decode_sparse;  dense: broadcast_rows(b_dec) -> [GEMM += f W_dec]
 *        backward: row_norms(W_dec) -> sae_err
 *                  sparse: sae_dpre_sparse -> sae_grads_sparse
 *                  dense:  [GEMM dpre = err W_dec^T] -> sae_dpre_dense -> [GEMM gW_dec = f^T err]
 *                          -> [GEMM gW_encT = dpre^T xc] -> sae_grads_dense
 *                  -> sae_bdec_grad_partial -> [GEMV gb_dec -= W_encT^T gb_enc] -> sae_losses
 *  - Loading this library never fails for want of a GPU (the CUDA runtime is linked statically);
 *    sae4j_cuda_probe reports why no device can be used.
 */
#ifndef SAE4J_CUDA_H
#define SAE4J_CUDA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SAE4J_CUDA_OK 0
#define SAE4J_CUDA_ERR_ARG 1         /* a size, pointer or option is invalid */
#define SAE4J_CUDA_ERR_NOMEM 2       /* device memory exhausted; last_error names the bytes asked */
#define SAE4J_CUDA_ERR_UNSUPPORTED 3 /* activation or path not built */
#define SAE4J_CUDA_ERR_CUDA 4        /* a CUDA runtime call failed; see sae4j_cuda_last_error */

/* Same values as the CPU library's SAE4J_ACT_* and SAE4J_LATENTS_*. */
#define SAE4J_CUDA_ACT_RELU 0
#define SAE4J_CUDA_ACT_TOPK 1
#define SAE4J_CUDA_ACT_BATCHTOPK 2
#define SAE4J_CUDA_ACT_JUMPRELU 3
#define SAE4J_CUDA_LATENTS_AUTO 0
#define SAE4J_CUDA_LATENTS_DENSE 1
#define SAE4J_CUDA_LATENTS_SPARSE 2

/* Arithmetic of the cosine-matching kernel's products. */
#define SAE4J_CUDA_COSINE_FP32 0 /* 3xTF32 split products: float32 accuracy on tensor cores */
#define SAE4J_CUDA_COSINE_TF32 1 /* one TF32 product: ~1e-3 relative, fastest */

typedef struct sae4j_cuda_ctx sae4j_cuda_ctx;
typedef struct sae4j_cuda_batch sae4j_cuda_batch;

/* ---- probing, errors and contexts (context.cu) ---- */
/* *device_count = usable devices; on failure returns SAE4J_CUDA_ERR_CUDA with *cuda_error the
 * cudaError_t (35 = no or too old a driver, 100 = no device), or SAE4J_CUDA_ERR_UNSUPPORTED
 * (*cuda_error 0) when no device has compute capability 8.0 or newer. Needs no context; cuda_error
 * may be NULL. */
int sae4j_cuda_probe(int* device_count, int* cuda_error);
const char* sae4j_cuda_error_name(int cuda_error);   /* "cudaErrorNoDevice" */
const char* sae4j_cuda_error_string(int cuda_error); /* its message */
/* *runtime and *driver as CUDA encodes them (13000 = 13.0); driver 0 when none. */
int sae4j_cuda_versions(int* runtime, int* driver);
/* name (NUL-terminated, at most len bytes), compute capability and memory of a device; every
 * output is required. */
int sae4j_cuda_device_info(int device, char* name, int len, int* cc_major, int* cc_minor,
                           int64_t* total_bytes);
const char* sae4j_cuda_last_error(void); /* this thread's last failure, "" when none */

/* A context on `device` with a new non-blocking stream. NULL on failure (*status says why:
 * ERR_ARG for a device index out of range, ERR_UNSUPPORTED below compute capability 8.0).
 * A context and its batches are used by one host thread at a time. */
sae4j_cuda_ctx* sae4j_cuda_ctx_create(int device, int* status);
void sae4j_cuda_ctx_destroy(sae4j_cuda_ctx* ctx); /* waits for the stream, then frees it */
void* sae4j_cuda_ctx_stream(sae4j_cuda_ctx* ctx); /* the cudaStream_t, for cuBLAS */
int sae4j_cuda_ctx_device(const sae4j_cuda_ctx* ctx);

/* ---- memory (context.cu) ---- */
/* Device memory of `bytes` (> 0); NULL with *status = SAE4J_CUDA_ERR_NOMEM when it does not fit
 * (last_error then gives the bytes asked for and the bytes free). */
void* sae4j_cuda_malloc(sae4j_cuda_ctx* ctx, int64_t bytes, int* status);
int sae4j_cuda_free(sae4j_cuda_ctx* ctx, void* ptr);
/* Host <-> device copies on the stream. upload returns as soon as host_src may be reused: up to
 * 64 MiB the bytes are staged in one of two pinned buffers of the context and copied
 * asynchronously in stream order (the GPU keeps working while the host prepares the next batch);
 * larger uploads wait for their copy. download waits for the work enqueued before it. */
int sae4j_cuda_upload(sae4j_cuda_ctx* ctx, void* dst, const void* host_src, int64_t bytes);
int sae4j_cuda_download(sae4j_cuda_ctx* ctx, void* host_dst, const void* src, int64_t bytes);
int sae4j_cuda_copy(sae4j_cuda_ctx* ctx, void* dst, const void* src, int64_t bytes); /* d2d, async */
int sae4j_cuda_fill_f32(sae4j_cuda_ctx* ctx, float* dst, int64_t n, float value);
int sae4j_cuda_fill_i32(sae4j_cuda_ctx* ctx, int32_t* dst, int64_t n, int32_t value);
int sae4j_cuda_sync(sae4j_cuda_ctx* ctx); /* waits for everything enqueued on the stream */

/* ---- batch workspace (batch.cu) ----
 * Device memory for batches of up to `rows` tokens through SAEs of up to `max_m` latents and
 * width d, allocated once: x (rows, d) the input (written by the caller), xc (rows, d), f (rows,
 * max_m) the pre-activations then latents, xhat (rows, d); with `training` also err (rows, d),
 * dpre (rows, max_m) and the backward scratch; with sparse storage (AUTO or SPARSE) a CSR for all
 * rows * max_m latents, so that the sparse path is correct at any density.
 * AUTO chooses per encode between the sparse and dense paths from the density of the previous
 * encode on this workspace (read back asynchronously: no sync per step); a batch above
 * max_density then takes the dense path. NULL on failure. */
sae4j_cuda_batch* sae4j_cuda_batch_create(sae4j_cuda_ctx* ctx, int64_t rows, int64_t d,
                                          int64_t max_m, int storage, double max_density,
                                          int training, int* status);
void sae4j_cuda_batch_destroy(sae4j_cuda_batch* batch); /* waits for the stream; before ctx_destroy */
float* sae4j_cuda_batch_x(sae4j_cuda_batch* batch);    /* (rows, d) */
float* sae4j_cuda_batch_xc(sae4j_cuda_batch* batch);   /* (rows, d) */
float* sae4j_cuda_batch_f(sae4j_cuda_batch* batch);    /* (rows, max_m); (B, m) after encode */
float* sae4j_cuda_batch_xhat(sae4j_cuda_batch* batch); /* (rows, d) */
float* sae4j_cuda_batch_err(sae4j_cuda_batch* batch);  /* (rows, d); training only, else NULL */
float* sae4j_cuda_batch_dpre(sae4j_cuda_batch* batch); /* (rows, max_m); training only */
float* sae4j_cuda_batch_norms(sae4j_cuda_batch* batch); /* (max_m): ||W_dec,i|| */
/* The path the last sae_epilogue chose (host-side, no sync): 1 sparse, 0 dense, -1 none yet. */
int sae4j_cuda_batch_sparse(const sae4j_cuda_batch* batch);
/* *out (device, =) = sum_r ||x_r - mean(x)||^2 over the batch's first B input rows (the FVU
 * denominator), with the batch's scratch (NOTE: takes the batch, not a raw x). Deterministic;
 * the kernel is in elementwise.cu. */
int sae4j_cuda_sum_sq_dev(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B, float* out);

/* ---- elementwise (elementwise.cu) ---- */
/* out (B, d) = x (B, d) - b (d). B = 0 (here, in broadcast_rows and row_norms) does nothing. */
int sae4j_cuda_center_rows(sae4j_cuda_ctx* ctx, int64_t B, int64_t d, const float* x,
                           const float* b, float* out);
/* out (B, d) = b (d) in every row. */
int sae4j_cuda_broadcast_rows(sae4j_cuda_ctx* ctx, int64_t B, int64_t d, const float* b,
                              float* out);
/* norms (rows) = ||A_r|| for A (rows, cols). */
int sae4j_cuda_row_norms(sae4j_cuda_ctx* ctx, int64_t rows, int64_t cols, const float* A,
                         float* norms);
/* Unit-norm decoder rows (TopK training), as the CPU library's: for W (rows, cols) and its gradient
 * G, rows with W_r = 0 left as they are. remove_radial: G_r -= (G_r . W_r / ||W_r||^2) W_r (before
 * the optimiser step); normalize_rows: W_r /= ||W_r|| (after it). */
int sae4j_cuda_remove_radial(sae4j_cuda_ctx* ctx, int64_t rows, int64_t cols, const float* W,
                             float* G);
int sae4j_cuda_normalize_rows(sae4j_cuda_ctx* ctx, int64_t rows, int64_t cols, float* W);

/* ---- SAE forward (sae_forward.cu) ---- */
/* Paths an epilogue may be told to take (AUTO storage only; DENSE and SPARSE storage decide alone).
 * Several SAEs share one workspace, so the caller, which knows each SAE's own density from its
 * statistics, gives the path; PATH_AUTO falls back to the workspace's read-back (the density of
 * the previous encode on this workspace, whichever SAE it was). */
#define SAE4J_CUDA_PATH_AUTO (-1)
#define SAE4J_CUDA_PATH_DENSE 0
#define SAE4J_CUDA_PATH_SPARSE 1

/* Encoder epilogue, after the caller's GEMM left pre (B, m) in the batch's f:
 * f = act(pre + b_enc) in place (ReLU; TopK with 1 <= k <= m: the k largest of relu(pre + b_enc),
 * ties to the lower index, as the CPU kernel; threshold (m) is JumpReLU's); row nonzero
 * counts; then the path for this batch is chosen (see batch_create) and, when sparse, the CSR
 * of f is built. *nnz (device, =) the batch's nonzeros; firing (device, m) += rows on which each
 * latent is nonzero (may be NULL). */
/* *nnz saturates at INT32_MAX (reachable only with dense storage and B m >= 2^31). BatchTopK and
 * JumpReLU return SAE4J_CUDA_ERR_UNSUPPORTED (not built yet). */
int sae4j_cuda_sae_epilogue(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B, int64_t m,
                            const float* b_enc, int act, int64_t k, const float* threshold,
                            int32_t* nnz, int32_t* firing, int path);
/* Sparse decoder: xhat (B, d) = b_dec + sum over each row's nonzeros of f_bi W_dec,i.
 * Only when sae4j_cuda_batch_sparse(batch) == 1, with the B and m of that epilogue (here and in
 * the sparse backward kernels; SAE4J_CUDA_ERR_ARG otherwise). */
int sae4j_cuda_sae_decode_sparse(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B,
                                 int64_t m, const float* params);

/* ---- SAE loss and gradients (sae_backward.cu), in the order given at the top ----
 * Loss per token ||x - xhat||^2 + lambda sum_i f_i n_i, n_i = ||W_dec,i|| (the batch's norms,
 * filled by the caller with row_norms), mean over the B rows. */
/* err (B, d) = 2/B (xhat - x); per-row squared errors into the batch scratch. */
int sae4j_cuda_sae_err(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B, int64_t d);
/* Sparse path: for each nonzero (b, i): dpre = err_b . W_dec,i + lambda n_i / B, written into
 * the batch's dpre at (b, i) (its other elements are left as they are); per-row weighted L1 into
 * the scratch. */
int sae4j_cuda_sae_dpre_sparse(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B, int64_t m,
                               const float* params, float lambda);
/* Sparse path, after sae_dpre_sparse: gW_dec,i = sum_b f_bi err_b + lambda/B (sum_b f_bi)
 * W_dec,i / n_i, gW_encT,i = sum_b dpre_bi xc_b, gb_enc,i = sum_b dpre_bi (= into grads).
 * Entries are bucketed by latent (a stable counting sort), so a frequently firing latent costs a
 * longer loop, not contended atomics, and the sums are deterministic. */
int sae4j_cuda_sae_grads_sparse(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B,
                                int64_t m, const float* params, float lambda, float* grads);
/* Dense path, after the caller's GEMM dpre (B, m) = err W_dec^T in the batch's dpre:
 * dpre = [f > 0] (dpre + lambda n_i / B); per-row weighted L1 into the scratch. */
int sae4j_cuda_sae_dpre_dense(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B, int64_t m,
                              float lambda);
/* Dense path, after the caller's GEMMs gW_dec = f^T err and gW_encT = dpre^T xc into grads:
 * gb_enc = column sums of dpre; gW_dec,i += lambda/B (sum_b f_bi) W_dec,i / n_i. */
int sae4j_cuda_sae_grads_dense(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B, int64_t m,
                               const float* params, float lambda, float* grads);
/* gb_dec (= into grads) = column sums of err; the caller then subtracts W_encT^T gb_enc (GEMV). */
int sae4j_cuda_sae_bdec_grad_partial(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B,
                                     int64_t m, float* grads);
/* losses (device, =): [0] mean over rows of the squared error, [1] mean weighted L1. */
int sae4j_cuda_sae_losses(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B,
                          float* losses);

/* ---- AuxK (auxk.cu): TopK training's loss on dead latents, sae4j_cpu_auxk_backward's maths ----
 * After the main backward of the same batch, for the n >= 1 dead latents `dead` (strictly ascending
 * indices < m) and k_aux (k = min(k_aux, n)), the caller composes, with cuBLAS on the stream:
 *   auxk_gather -> [GEMM A (B, n) = xc W_enc_dead^T, in the batch's f] -> topk_relu(A, b_dead, k)
 *   -> [GEMM G (B, d) = A W_dec_dead] -> auxk_residual(G)
 *   -> [GEMM dA (B, n) = G W_dec_dead^T, in the batch's dpre] -> auxk_mask_colsum(A, dA, gb_dead)
 *   -> [GEMM S (n, d) = A^T G] -> scatter_add_rows(S into gW_dec)
 *   -> [GEMM S = dA^T xc] -> scatter_add_rows(S into gW_encT, gb_dead into gb_enc)
 *   -> [GEMV gb_dec -= W_enc_dead^T gb_dead] -> auxk_loss
 * W_enc_dead, W_dec_dead (n, d) (=): rows dead_j of params' W_encT and W_dec; b_dead (n) (=): b_enc
 * there, or -inf where firing (m, may be NULL) is > 0: a latent that fired since the list was made
 * takes no part. The list is not checked (device memory): an entry out of [0, m) or not above the
 * one before takes no part either (zero rows, bias -inf; scatter_add_rows skips it), so a bad list
 * never reaches memory outside the SAE; one that repeats an entry further apart gives an undefined
 * result. */
int sae4j_cuda_auxk_gather(sae4j_cuda_ctx* ctx, int64_t n, int64_t d, int64_t m, const int32_t* dead,
                           const int32_t* firing, const float* params, float* W_enc_dead,
                           float* W_dec_dead, float* b_dead);
/* f (B, n) holding pre: f = relu(pre + bias) where it is among its row's k largest (ties to the lower
 * index, as the TopK epilogue), 0 elsewhere. 1 <= k <= n. */
int sae4j_cuda_topk_relu(sae4j_cuda_ctx* ctx, int64_t B, int64_t n, int64_t k, const float* bias,
                         float* f);
/* G (B, d) holding ehat: G = 2 alpha/B (ehat - e) with e = x - xhat = -(B/2) err of the batch, and
 * ||ehat_b - e_b||^2 into the batch's per-row scratch (the main backward's losses are written by
 * then). Training batch. */
int sae4j_cuda_auxk_residual(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B, float alpha,
                             float* G);
/* dA (B, n) = [A > 0] dA in place; col_sum (n) (=) its column sums, in double in row order. */
int sae4j_cuda_auxk_mask_colsum(sae4j_cuda_ctx* ctx, int64_t B, int64_t n, const float* A, float* dA,
                                float* col_sum);
/* dst (m, d) row dead_j += src (n, d) row j; with src_vec and dst_vec (both or neither) also
 * dst_vec[dead_j] += src_vec[j]; entries out of [0, m) or not above the one before are skipped. */
int sae4j_cuda_scatter_add_rows(sae4j_cuda_ctx* ctx, int64_t n, int64_t d, int64_t m,
                                const int32_t* dead, const float* src, float* dst,
                                const float* src_vec, float* dst_vec);
/* *loss (device, =) = alpha/B sum of auxk_residual's per-row squares (double, fixed order). */
int sae4j_cuda_auxk_loss(sae4j_cuda_ctx* ctx, sae4j_cuda_batch* batch, int64_t B, float alpha,
                         float* loss);

/* ---- Adam (adam.cu): the CPU library's formula, one launch over all n parameters ---- */
int sae4j_cuda_adam_step(sae4j_cuda_ctx* ctx, int64_t n, float* p, const float* g, float* m1,
                         float* m2, float lr, float beta1, float beta2, float eps, int64_t t);

/* ---- batched cosine matching (cosine_match.cu) ----
 * Same definitions as sae4j_cpu_cosine_max (layouts, centring, constant vectors excluded with
 * max -inf and index -1, ties to the smallest index). A tiled tensor-core kernel keeps running row
 * and column maxima with their argmax and never writes the n1 x n2 matrix; `precision` is
 * SAE4J_CUDA_COSINE_*. work: sae4j_cuda_cosine_max_workspace(n1, n2, d) bytes (-1 for invalid
 * sizes), 16-byte aligned: the normalised vectors padded to (roundup(n, 128), roundup(d, 32))
 * and 8 bytes of running maximum per vector. */
int64_t sae4j_cuda_cosine_max_workspace(int64_t n1, int64_t n2, int64_t d);
int sae4j_cuda_cosine_max(sae4j_cuda_ctx* ctx, int64_t n1, int64_t n2, int64_t d, const float* A,
                          int32_t a_columns, const float* B, int32_t b_columns, int32_t center,
                          int precision, float* row_max, int32_t* row_arg, float* col_max,
                          int32_t* col_arg, void* work);
/* out (n, d) = the unit vectors of src's n vectors (rows of (n, d) or columns of (d, n)), centred
 * first when `center`; a zero vector stays zero, a constant one becomes NaN when centring (as the
 * CPU library). The Java backend multiplies these with cuBLAS for blocks of the cosine matrix. */
int sae4j_cuda_normalise(sae4j_cuda_ctx* ctx, int64_t n, int64_t d, const float* src,
                         int32_t columns, int32_t center, float* out);

/* ---- top-k cosines (cosine_topk.cu) ----
 * The lists of sae4j_cpu_cosine_topk (ranking key cos or |cos| when absolute, signed values, key
 * descending, ties to the smaller index, empty slots index -1), from blocks of the cosine matrix
 * the caller makes (cuBLAS on sae4j_cuda_normalise's unit vectors): block (rows, n2) is rows
 * row0 .. row0 + rows - 1 of the matrix, row-major.
 * topk_rows: row_val, row_idx (rows, k) (=) the lists of the block's rows; 1 <= k <= min(n2, MAX).
 * topk_cols: col_val, col_idx (n2, k) the column lists, started afresh when row0 == 0 and merged
 * with each later block; pass blocks in ascending row order. 1 <= k <= MAX, and k <= the total
 * number of rows for the lists to be full. */
#define SAE4J_CUDA_TOPK_MAX 64
int sae4j_cuda_topk_rows(sae4j_cuda_ctx* ctx, int64_t rows, int64_t n2, const float* block,
                         int32_t absolute, int64_t k, float* row_val, int32_t* row_idx);
int sae4j_cuda_topk_cols(sae4j_cuda_ctx* ctx, int64_t rows, int64_t n2, const float* block,
                         int64_t row0, int32_t absolute, int64_t k, float* col_val, int32_t* col_idx);

/* ---- exact activation correlation (coactivation.cu): sae4j_cpu_coact_*'s maths on the device ----
 * An accumulator of the sums behind the exact Pearson correlation of two SAEs' latents over any
 * number of tokens: S (m1, m2) = sum_t f_i(t) g_j(t) (co-active pairs only) and per latent the sums
 * of f and f^2, in double, each element receiving its terms in token order (no float atomics): the
 * same bits on every run, and the same S and sums as the CPU library's. Device memory: 8 m1 m2
 * bytes for S, 32 (m1 + m2) for sums and moments, 12 max_rows max(m1, m2) for sorting a batch's
 * entries by latent, and the sort's temp storage; max_rows max(m1, m2) < 2^31.
 * create: NULL on failure, *status ERR_ARG or ERR_NOMEM (last_error names the buffer and bytes).
 * add: the last sparse encodes (sae_epilogue that took the sparse path) of the same B <= max_rows
 *   rows in batch a (m1 latents) and b (m2); ERR_ARG otherwise (nothing added). Waits for those
 *   encodes: the two entry counts are read back to size the sorts. After any other failure the
 *   sums are part-added: destroy the accumulator.
 * view: device pointers to S and the sums (for tests and diagnostics).
 * maxima: row_max (m1) (=) max_j r_ij with row_arg its j, col_max (m2), col_arg likewise over i;
 *   r_ij = (S_ij / N - mu_i mu_j) / (s_i s_j) with population moments over the N rows added,
 *   clamped to [-1, 1]. A latent with no variance (never fired, or one value on every row) takes
 *   part in no maximum: its own is -inf with index -1. Ties pick the smaller index. N >= 1. */
typedef struct sae4j_cuda_coact sae4j_cuda_coact;
sae4j_cuda_coact* sae4j_cuda_coact_create(sae4j_cuda_ctx* ctx, int64_t m1, int64_t m2, int64_t max_rows,
                                          int* status);
void sae4j_cuda_coact_destroy(sae4j_cuda_coact* acc); /* waits for the stream */
int sae4j_cuda_coact_add(sae4j_cuda_ctx* ctx, sae4j_cuda_coact* acc, const sae4j_cuda_batch* a,
                         const sae4j_cuda_batch* b, int64_t B);
int64_t sae4j_cuda_coact_tokens(const sae4j_cuda_coact* acc); /* rows added so far */
int sae4j_cuda_coact_view(const sae4j_cuda_coact* acc, const double** S, const double** sum_a,
                          const double** sq_a, const double** sum_b, const double** sq_b);
int sae4j_cuda_coact_maxima(sae4j_cuda_ctx* ctx, sae4j_cuda_coact* acc, float* row_max, int32_t* row_arg,
                            float* col_max, int32_t* col_arg);

#ifdef __cplusplus
}
#endif
#endif /* SAE4J_CUDA_H */
