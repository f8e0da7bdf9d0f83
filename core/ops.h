/* ops.h — dense tensor operations on row-major F32 arrays (OpenBLAS-backed where it pays). */
#ifndef ATTNSERVE_OPS_H
#define ATTNSERVE_OPS_H

#include <stddef.h>

#include "model.h"

/* y (n, l->n_out) = x (n, l->n_in) W^T + b  (torch.nn.Linear). One sgemm for all n rows. */
void txi_linear_fwd(const struct txi_linear *l, const float *x, int n, float *y);

/* C (m, n) = alpha * A (m, k) B^T + beta * C, with B given as (n, k) rows; leading dims given.
 * One row: sgemv. Up to 16 rows (a decode step): a kernel that reads B once (AVX2+FMA when the
 * CPU has them, else txi_small_m_nt_blas). More rows: sgemm. */
void txi_matmul_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc);

/* The portable few-rows product: per block of B rows, one sgemv per row of A (the block stays
 * in cache between them). Exposed for tests; txi_matmul_nt picks it when AVX2 is missing. */
void txi_small_m_nt_blas(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                         int ldb, float beta, float *c, int ldc);

/* C (m, n) = alpha * A (m, k) B + beta * C, with B (k, n). */
void txi_matmul_nn(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc);

/* out (n, d) = LayerNorm(x) with weight w and bias b (biased variance, as torch); out may be x. */
void txi_layernorm(const float *x, int n, int d, const float *w, const float *b, float eps,
                   float *out);

/* out (n, d) = w * x / sqrt(mean(x^2) + eps)  (T5LayerNorm: no mean, no bias); out may be x. */
void txi_rmsnorm(const float *x, int n, int d, const float *w, float eps, float *out);

/* Applies a norm: LayerNorm when n->b, else RMSNorm. */
void txi_norm_fwd(const struct txi_norm *nm, const float *x, int n, int d, float eps, float *out);

/* In-place activation over n values. */
void txi_activation(float *x, size_t n, txi_act act);

/* y[i] += x[i] */
void txi_add(float *y, const float *x, size_t n);

/* out (n) = log_softmax(x (n)); out may be x. */
void txi_log_softmax(const float *x, int n, float *out);

/* The k-th largest value (k in 1..n) of x (n); tmp (n) is scratch. */
float txi_kth_largest(const float *x, int n, int k, float *tmp);

#endif
