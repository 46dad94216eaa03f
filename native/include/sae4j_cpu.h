/*
 * sae4j_cpu.h: every entry point of the sae4j CPU kernel library (sources in native/src).
 *
 * Conventions
 *  - Row-major float32 buffers; shapes in comments as (rows, cols). B = batch rows, d = d_in,
 *    m = d_sae. "=" means the kernel overwrites an output, "+=" that it accumulates.
 *  - The SAE keeps its encoder transposed, W_encT (m, d) (PyTorch/sparsify layout), so that the
 *    sparse backward pass updates contiguous rows; files use W_enc (d, m) and are transposed on I/O.
 *  - Every function returns a status (SAE4J_OK or an SAE4J_ERR_*); sizes are validated first and
 *    nothing is written when a size is invalid. Kernels allocate nothing; scratch comes from the
 *    caller. Work is split over the library's thread pool (sae4j_cpu_set_threads), whose thread
 *    count and the instruction set below are process-wide settings.
 *  - Leaf loops run in the instruction set picked at run time (AVX-512, AVX2+FMA or portable C++);
 *    sae4j_cpu_set_isa forces one, e.g. to test each against the same reference.
 */
#ifndef SAE4J_CPU_H
#define SAE4J_CPU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SAE4J_OK 0
#define SAE4J_ERR_ARG 1         /* a size, pointer or option is invalid */
#define SAE4J_ERR_NONFINITE 2   /* NaN or Inf found in an input; the index is reported */
#define SAE4J_ERR_UNSUPPORTED 3 /* the CPU lacks the requested instruction set */

#define SAE4J_ISA_AUTO 0
#define SAE4J_ISA_PORTABLE 1
#define SAE4J_ISA_AVX2 2
#define SAE4J_ISA_AVX512 3

/* ---- configuration (dispatch.cpp, threads.cpp) ---- */
int sae4j_cpu_set_threads(int n);              /* n >= 1; also sets OpenBLAS's thread count */
int sae4j_cpu_get_threads(void);
int sae4j_cpu_cpu_supports(int isa);           /* 1 if this CPU can run isa, else 0 */
int sae4j_cpu_set_isa(int isa);                /* SAE4J_ISA_*; AUTO picks the best supported */
int sae4j_cpu_get_isa(void);                   /* the ISA in use (never AUTO) */
const char* sae4j_cpu_blas_core(void);         /* openblas_get_corename(), e.g. "Haswell" */

/* ---- dense GEMM over OpenBLAS (elementwise.cpp) ----
 * C (M, N) = alpha * op(A) op(B) + beta * C; op(A) is (M, K), op(B) is (K, N). */
int sae4j_cpu_gemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                   float* C, int64_t ldc);

/* ---- elementwise (elementwise.cpp) ---- */
/* out (B, d) = x (B, d) - b (d). On the first NaN/Inf in x returns SAE4J_ERR_NONFINITE with
 * *bad_index = its flat index (out is then partly written); otherwise *bad_index = -1. */
int sae4j_cpu_center_rows(int64_t B, int64_t d, const float* x, const float* b, float* out,
                          int64_t* bad_index);
/* norms (rows) = ||A_r|| for A (rows, cols). */
int sae4j_cpu_row_norms(int64_t rows, int64_t cols, const float* A, float* norms);

/* ---- SAE forward (sae_forward.cpp) ---- */
/* ReLU encoder epilogue. f (B, m) = max(pre (B, m) + b_enc (m), 0); f may alias pre.
 * row_nnz (B) = nonzeros per row; *nnz = their total. When *nnz <= csr_cap, also writes f in CSR:
 * row_ptr (B + 1), col (nnz), val (nnz), and *csr_ok = 1; otherwise *csr_ok = 0 and the CSR
 * arrays hold nothing useful (the caller takes the dense path). csr_cap may be 0. */
int sae4j_cpu_relu_epilogue(int64_t B, int64_t m, const float* pre, const float* b_enc, float* f,
                            int32_t* row_nnz, int64_t csr_cap, int64_t* row_ptr, int32_t* col,
                            float* val, int64_t* nnz, int32_t* csr_ok);
/* Decoder. xhat (B, d) = f (B, m) W_dec (m, d) + b_dec (d). Sparse path (B * nnz/row * d work)
 * when row_ptr is not NULL (CSR from sae4j_cpu_relu_epilogue), else one dense GEMM. */
int sae4j_cpu_decode(int64_t B, int64_t m, int64_t d, const float* f, const int64_t* row_ptr,
                     const int32_t* col, const float* val, const float* W_dec, const float* b_dec,
                     float* xhat);

/* Firing counts: counts (m) += number of rows b with f[b, i] > 0, from the CSR when row_ptr is not
 * NULL (col holds row_ptr[B] entries), else from the dense f (B, m). */
int sae4j_cpu_count_active(int64_t B, int64_t m, const float* f, const int64_t* row_ptr,
                           const int32_t* col, float* counts);

/* ---- SAE loss and gradients (sae_backward.cpp) ----
 * ReLU SAE with decoder-norm-weighted L1, per token: ||x - xhat||^2 + lambda sum_i f_i ||W_dec,i||,
 * averaged over the batch. Inputs: x (B, d), xc = x - b_dec (B, d), f (B, m) with optional CSR,
 * xhat (B, d), W_encT (m, d), W_dec (m, d), dec_norms (m) = row norms of W_dec.
 * Outputs (=): gW_encT (m, d), gb_enc (m), gW_dec (m, d), gb_dec (d); losses[0] = mean squared
 * error summed over d (mean over tokens), losses[1] = mean weighted L1 (before lambda).
 * Scratch: err (B, d); dpre: (B, m) on the dense path, at least nnz floats on the sparse path;
 * scratch: sae4j_cpu_relu_l1_backward_scratch(B, m) floats (16-byte aligned).
 * Gradients of b_dec include its path through the encoder input (apply_b_dec_to_input). */
int64_t sae4j_cpu_relu_l1_backward_scratch(int64_t B, int64_t m);
int sae4j_cpu_relu_l1_backward(int64_t B, int64_t d, int64_t m, const float* x, const float* xc,
                               const float* f, const int64_t* row_ptr, const int32_t* col,
                               const float* val, const float* xhat, const float* W_encT,
                               const float* W_dec, const float* dec_norms, float lambda,
                               float* gW_encT, float* gb_enc, float* gW_dec, float* gb_dec,
                               float* losses, float* err, float* dpre, float* scratch);

/* ---- Adam (adam.cpp) ----
 * In place over n parameters: m1 = b1 m1 + (1-b1) g; m2 = b2 m2 + (1-b2) g^2;
 * p -= lr * (m1 / (1 - b1^t)) / (sqrt(m2 / (1 - b2^t)) + eps). t >= 1 is the step number. */
int sae4j_cpu_adam_step(int64_t n, float* p, const float* g, float* m1, float* m2, float lr,
                        float beta1, float beta2, float eps, int64_t t);

/* ---- batched cosine matching (cosine_match.cpp) ----
 * Vectors a_i (n1 of them) and b_j (n2), each of length d. A is (n1, d), or (d, n1) when
 * a_columns != 0 (vectors are columns, e.g. activations (tokens, features)); likewise B.
 * With center != 0 each vector's mean is removed first (cosine becomes Pearson r), and a constant
 * vector (r undefined, e.g. a feature that never fired) takes part in no maximum: its own maximum
 * is -inf with index -1, and it is skipped in the other side's maxima.
 * Outputs (=): row_max (n1) = max_j cos(a_i, b_j), row_arg (n1) its j; col_max (n2), col_arg (n2)
 * likewise over i. Ties pick the smallest index. Without centring, a zero vector has cosine 0
 * with everything.
 * Never forms the n1 x n2 matrix: blocks of it are made by GEMM in `work`, whose size in floats
 * sae4j_cpu_cosine_max_workspace returns. */
int64_t sae4j_cpu_cosine_max_workspace(int64_t n1, int64_t n2, int64_t d);
int sae4j_cpu_cosine_max(int64_t n1, int64_t n2, int64_t d, const float* A, int32_t a_columns,
                         const float* B, int32_t b_columns, int32_t center, float* row_max,
                         int32_t* row_arg, float* col_max, int32_t* col_arg, float* work);
/* Block of the cosine matrix: C (i1 - i0, n2) = cos(a_i, b_j) for i in [i0, i1); used by exact
 * (Hungarian) matching on modest sizes. Same layouts as sae4j_cpu_cosine_max; work as there. */
int sae4j_cpu_cosine_block(int64_t n1, int64_t n2, int64_t d, const float* A, int32_t a_columns,
                           const float* B, int32_t b_columns, int32_t center, int64_t i0,
                           int64_t i1, float* C, float* work);

#ifdef __cplusplus
}
#endif
#endif /* SAE4J_CPU_H */
