/* ops.h — dense tensor operations on row-major F32 arrays (OpenBLAS-backed where it pays). */
#ifndef ATTNSERVE_OPS_H
#define ATTNSERVE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "threadpool.h"

/* Activation functions (config.json activation_function). */
typedef enum { TXI_ACT_RELU = 0, TXI_ACT_GELU, TXI_ACT_GELU_NEW, TXI_ACT_SILU } txi_act;

/* y = x W^T + b, as torch.nn.Linear. W is F32 (w), or reduced precision (q set, w NULL; see
 * quant.h): int8 with one scale per output row (W[j][t] = q[j][t] * scale[j]), F16 or BF16. */
struct txi_linear {
    const float *w; /* (n_out, n_in), row-major as stored by PyTorch; NULL when q is set */
    const float *b; /* (n_out) or NULL */
    int n_in, n_out;
    const void *q;       /* (n_out, n_in) int8 or F16 weights, or NULL */
    const float *scale;  /* (n_out) with int8 q */
    int q_f16;           /* q holds F16 (IEEE half) values; else int8 */
    int q_a8;            /* int8 q whose products quantize the activations too (TXI_W_Q8A8:
                            scale holds the scales, then the row sums) */
    int q_bf16;          /* q holds BF16 values (q_f16 0) */
};

/* LayerNorm (w, b) or RMSNorm (w, b == NULL). */
struct txi_norm {
    const float *w; /* (d_model) */
    const float *b; /* (d_model) or NULL */
};

/* Scratch memory of the row-panel product (see txi_matmul_nt_ws), from the caller's arena. */
struct txi_gemm_ws {
    float *buf;      /* (n_floats), 64-byte aligned; NULL = none */
    size_t n_floats; /* capacity; a product that needs more runs without the panel kernel */
    int rowwise;     /* 1: batch-invariant products. Every row of C is computed by the few-rows
                        kernels whatever m is (no sgemv, panel or sgemm path), so a row's result
                        depends only on that row of A, bit for bit: a sequence decoded alone and
                        in a batch with others gives the same numbers (see txi_matmul_nt_ws) */
    struct txi_pool *pool; /* NULL, or the session's engine threads: products with at least
                              TXI_SPLIT_MIN_WEIGHTS weights are split by output columns (whole
                              blocks of TXI_SPLIT_ALIGN), one range per thread, thread t using
                              buf + t * n_floats. Each output element is computed by the same
                              code on the same inputs, so results are bit-identical for any
                              number of threads. */
};

/* Splitting of products between engine threads (see txi_gemm_ws.pool). */
#define TXI_SPLIT_ALIGN 64            /* columns: whole 64-output blocks (the w8a8 packing) */
#define TXI_SPLIT_MIN_WEIGHTS 65536   /* n * k below which one thread does the product */

/* Sets up ws for products needing n_floats of scratch each: ws->pool = pool, and one slice of
 * n_floats (rounded up to 16 for alignment) per thread of the pool from the arena (rowwise set to
 * 0). Returns 0, or -1 when the arena is exhausted. */
int txi_gemm_ws_alloc(struct txi_gemm_ws *ws, struct txi_arena *a, size_t n_floats,
                      struct txi_pool *pool);

/* Whether an (m, n, k) product on ws is split between its pool's threads. */
int txi_gemm_ws_splits(const struct txi_gemm_ws *ws, int n, int k);

/* Thread t's scratch of ws: its slice, no pool (a part never splits again). */
struct txi_gemm_ws txi_gemm_ws_part(const struct txi_gemm_ws *ws, int t);

/* Floats of scratch the panel kernel needs for an (m, n, k) product (the same suffices for any
 * smaller m, n and k); 0 when it never takes m rows. */
size_t txi_gemm_ws_floats(int m, int n, int k);

/* y (n, l->n_out) = x (n, l->n_in) W^T + b  (torch.nn.Linear). One product for all n rows (the
 * panel kernel with the bias added as it writes y, when it applies; else sgemm, then the bias;
 * int8 weights: txi_q8_matmul_nt). ws may be NULL. */
void txi_linear_fwd(const struct txi_linear *l, const float *x, int n, float *y,
                    const struct txi_gemm_ws *ws);

/* C (m, n) = alpha * A (m, k) B^T + beta * C, with B given as (n, k) rows; leading dims given.
 * One row: sgemv. Up to 16 rows (a decode step): a kernel that reads B once (AVX-512F, else
 * AVX2+FMA when the CPU has them, else txi_small_m_nt_blas). More rows: sgemm. */
void txi_matmul_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc);

/* txi_matmul_nt with scratch: from 17 up to a few hundred rows (tokens of a source), when the
 * CPU has AVX-512F, BLAS runs one thread and ws holds txi_gemm_ws_floats(m, n, k), a row-panel
 * kernel that reads B in place, as it is stored (sgemm would first copy all of it, which costs as
 * much as the product at these sizes when B is a weight matrix coming from memory). Otherwise
 * exactly txi_matmul_nt. With ws->rowwise set: the few-rows kernel of the CPU (AVX-512F, else
 * AVX2+FMA, else one sgemv per row) for every m, 16 rows at a time; each row of C is then the
 * same function of its row of A whatever the other rows are (batch invariance). */
void txi_matmul_nt_ws(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                      int ldb, float beta, float *c, int ldc, const struct txi_gemm_ws *ws);

/* Rows of A a batch-invariant product takes per pass over the weights (k: the inner size): as
 * many as stay in L2 cache with their k floats, 16 to 128. Only speed depends on it. */
int txi_rowwise_chunk(int k);

/* The portable few-rows product: per block of B rows, one sgemv per row of A (the block stays
 * in cache between them). Exposed for tests; txi_matmul_nt picks it when AVX2 is missing. */
void txi_small_m_nt_blas(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                         int ldb, float beta, float *c, int ldc);

/* The AVX2+FMA few-rows kernel, exposed for tests (txi_matmul_nt prefers the AVX-512 one where
 * the CPU has it). Returns 0, computing nothing, on a CPU or compiler without AVX2+FMA. */
int txi_small_m_nt_avx2(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
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

/* x (n, d) = norm(x + y): the residual add and the norm of a post-norm sub-layer in one pass
 * (LayerNorm when nm->b, else RMSNorm); same numbers as txi_add, then txi_norm_fwd. */
void txi_add_norm_fwd(const struct txi_norm *nm, float *x, const float *y, int n, int d, float eps);

/* In-place activation over n values. */
void txi_activation(float *x, size_t n, txi_act act);

/* y[i] += x[i] */
void txi_add(float *y, const float *x, size_t n);

/* One query row against n_k key rows (a decode step's attention head): s[j] = scale * (q .
 * k[j]) over d values (key j at k + j ld_k); out (d) = sum over j of p[j] v[j] (value j at
 * v + j ld_v). Direct loops, not BLAS calls: each result depends only on its own operands, in
 * a fixed order (AVX2+FMA where the CPU has it). */
void txi_dot_rows(const float *q, const float *k, int ld_k, int n_k, int d, float scale,
                  float *s);
void txi_axpy_rows(const float *p, int n_k, const float *v, int ld_v, int d, float *out);

/* In place: x (n) = softmax(x), n >= 1, with at least one finite value; -inf gives exactly 0.
 * The sum runs in double; e^x within 2 ulp of expf where AVX2 is used (else expf). */
void txi_softmax_row(float *x, int n);

/* out (n) = log_softmax(x (n)); out may be x. The sum of exponentials runs in double (e^x
 * within 2 ulp of expf where AVX2 is used), so the result is within an ulp or two of the
 * exact one; -inf gives -inf; all -inf gives all -inf. */
void txi_log_softmax(const float *x, int n, float *out);

/* Tests and benchmarks: 1 keeps the vector loops above (softmax, log-softmax, log-sum-exp,
 * SiLU, the one-query attention loops) at AVX2 where the CPU has AVX-512; their AVX-512 loops
 * give the same bits, in fewer instructions. Not thread-safe: set it before they run. */
void txi_ops_force_avx2(int on);

/* log(sum of e^x) over x (n), n >= 1, in double: max + log(sum of e^(x - max)), the sum as
 * txi_log_softmax takes it (so x[i] - txi_log_sum_exp(x, n) is its value to an ulp); -inf when
 * every value is -inf. One row's reduction, for a score taken at one index (greedy search). */
double txi_log_sum_exp(const float *x, int n);

/* The first index i in [from, n) with x[i] > thr (a NaN is never above), or n. Eight values a
 * compare where AVX2 is present: a top-k scan skips most of a vocabulary with it. */
size_t txi_first_above(const float *x, size_t from, size_t n, float thr);

/* The index of the largest value of x (n), the first on ties (as torch.argmax); NaNs are
 * passed over as by `x[i] > x[best]` from best = 0 (so a NaN only at index 0 gives 0); 0 when
 * n < 1 or every value is -inf. A vector maximum, then a vector scan for its first place. */
int txi_argmax(const float *x, int n);

/* The k-th largest value (k in 1..n) of x (n); tmp (n) is scratch. */
float txi_kth_largest(const float *x, int n, int k, float *tmp);

#endif
