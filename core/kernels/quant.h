/* quant.h — reduced-precision weights: int8 (symmetric per-row quantization) and F16 (IEEE
 * half, as F16 checkpoints store them), and the products that read them (converted to F32 in
 * registers, accumulated in F32). Internal to the core. */
#ifndef ATTNSERVE_QUANT_H
#define ATTNSERVE_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "ops.h"

/* Rows of an int8 matrix dequantized at a time for products of more than a few rows (see
 * txi_q8_matmul_nt). */
#define TXI_Q8_BLOCK 64

/* Floats of scratch an int8 (m, n, k) product needs on top of txi_gemm_ws_floats(m, n, k)
 * (the same suffices for smaller m, n, k, and with n and k swapped): a block of dequantized
 * weight rows; 0 for m <= 16, which the few-rows kernel takes without scratch. */
size_t txi_q8_ws_floats(int m, int n, int k);

/* q (rows, cols) and scale (rows) from w (rows, cols): scale[j] = max |w[j][.]| / 127 (1 for
 * an all-zero row), q = round-half-away(w / scale) in [-127, 127]. */
void txi_q8_quantize(const float *w, int rows, int cols, int8_t *q, float *scale);

/* out (cols) = factor * scale[j] * q[j][.]: row j of a quantized matrix as F32. */
void txi_q8_row(const int8_t *q, const float *scale, int cols, int j, float factor, float *out);

/* C (m, n) = alpha * A (m, k) W^T + beta * C [+ bias (n) on every row], W = q * scale (n, k)
 * row-major. Up to 16 rows: a kernel that reads each int8 weight row once and converts it in
 * registers (AVX-512F, else AVX2+FMA, else portable). More rows: blocks of TXI_Q8_BLOCK weight
 * rows dequantized into the end of ws (which holds txi_gemm_ws_floats(m, n, k) +
 * txi_q8_ws_floats(m, n, k); with less, 16 rows at a time through the few-rows kernel), each
 * block multiplied with txi_matmul_nt_ws. */
void txi_q8_matmul_nt(int m, int n, int k, float alpha, const float *a, int lda, const int8_t *q,
                      const float *scale, float beta, const float *bias, float *c, int ldc,
                      const struct txi_gemm_ws *ws);

/* The portable few-rows int8 product (what txi_q8_matmul_nt runs without AVX2), exposed for
 * tests; same contract for m <= 16. */
void txi_q8_small_m_portable(int m, int n, int k, float alpha, const float *a, int lda,
                             const int8_t *q, const float *scale, float beta, const float *bias,
                             float *c, int ldc);

/* How a reduced-precision matrix is stored: int8 with a float scale per row, F16, or BF16 (as
 * BF16 checkpoints store it; converted exactly, as F16 is); TXI_W_Q8A8
 * is int8 whose products also quantize the activations (w8a8, below): q holds the (n, k) int8
 * values packed for the VNNI kernel only (txi_w8a8_pack; no row-major copy: txi_lp_row reads a
 * row out of the packing), and the scale array 2 n floats: the n scales, then each row's sum of
 * q (exact in a float). The loader makes TXI_W_Q8A8 matrices only where txi_w8a8_available()
 * and k <= TXI_W8A8_MAX_K (elsewhere TXI_W_Q8); txi_lp_matmul_nt still multiplies one
 * anywhere (a scalar loop with the kernel's arithmetic where the kernel cannot run). */
typedef enum { TXI_W_Q8 = 1, TXI_W_F16 = 2, TXI_W_Q8A8 = 3, TXI_W_BF16 = 4 } txi_wfmt;

/* Whether this CPU runs the w8a8 products (AVX-512 VNNI and BW); elsewhere the loader stores
 * dtype w8a8's matrices as TXI_W_Q8 (F32 activations). */
int txi_w8a8_available(void);

/* The w8a8 product, exposed for tests (txi_lp_matmul_nt runs it for TXI_W_Q8A8 where
 * available). Each row of A is quantized on its own: s_r = max |a[r][.]| / 127 (1 for a zero
 * row), a_q = round-to-nearest-even(a / s_r) in [-127, 127]; the integer dot products with q
 * are exact (int32, with vpdpbusd); C[r][j] = alpha * ((float)dot * (s_r * scale[j])) + beta C
 * [+ bias[j]]. A row's result depends on that row alone, whatever m. Returns 0, computing
 * nothing, when the CPU lacks VNNI or k > TXI_W8A8_MAX_K. */
#define TXI_W8A8_MAX_K 8192

/* Bytes of the packed copy of an (n, k) int8 matrix, and the packing: blocks of 64 rows (n padded
 * with zero rows), each a run of k/4 lines (k padded with zeros) of 4 x 64 bytes: line g of
 * block b, vector v, holds k = 4g .. 4g+3 of rows 64b + 16v .. 64b + 16v + 15, row-interleaved
 * (byte 4i + u = row 16v + i, k 4g + u). */
size_t txi_w8a8_packed_bytes(int n, int k);
void txi_w8a8_pack(const int8_t *q, int n, int k, int8_t *packed);
/* packed: the matrix as txi_w8a8_pack writes it. */
int txi_w8a8_matmul_nt(int m, int n, int k, float alpha, const float *a, int lda,
                       const int8_t *packed, const float *scale_sums, float beta,
                       const float *bias, float *c, int ldc);

/* IEEE half <-> float: h2f is exact; f2h rounds to nearest, ties to even (overflow -> inf). */
float txi_h2f(uint16_t h);
/* bfloat16 -> float (exact: the upper 16 bits of a float) and float -> bfloat16 (round to
 * nearest, ties to even; NaN stays NaN). */
static inline float txi_bf2f(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    __builtin_memcpy(&f, &u, sizeof f);
    return f;
}
uint16_t txi_f2bf(float f);
uint16_t txi_f2h(float f);
/* h[i] = txi_f2h(w[i]) for i < n. */
void txi_f16_convert(const float *w, size_t n, uint16_t *h);

/* The txi_q8_* functions for either format (scale is ignored, and may be NULL, for F16);
 * txi_lp_ws_floats is txi_q8_ws_floats. */
void txi_lp_row(txi_wfmt f, const void *w, const float *scale, int cols, int j, float factor,
                float *out);
void txi_lp_matmul_nt(txi_wfmt f, int m, int n, int k, float alpha, const float *a, int lda,
                      const void *w, const float *scale, float beta, const float *bias, float *c,
                      int ldc, const struct txi_gemm_ws *ws);
void txi_lp_small_m_portable(txi_wfmt f, int m, int n, int k, float alpha, const float *a, int lda,
                             const void *w, const float *scale, float beta, const float *bias,
                             float *c, int ldc);

/* Tests: which few-rows kernel the products use (the best the CPU has by default; a path the
 * CPU lacks falls back to the next one down). Not thread-safe: set it before products run. */
enum { TXI_LP_PATH_BEST = 0, TXI_LP_PATH_AVX512, TXI_LP_PATH_AVX2, TXI_LP_PATH_PORTABLE };
void txi_lp_force_path(int path);

#endif
