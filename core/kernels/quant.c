/* quant.c — int8 weights (see quant.h). A decode step is bandwidth-bound: it reads every weight
 * once for a handful of rows, so reading one byte per weight instead of four is what makes it
 * faster. Each weight is dequantized in registers as q * scale (one float32 product, the value
 * the F32 path would read from the dequantized matrix) and multiplied into F32 accumulators;
 * the blocked path for many rows dequantizes the same way into scratch memory, so a weight has
 * one F32 value whichever path reads it. */
#include "quant.h"

#include <math.h>
#include <string.h>

#define SMALL_M_MAX 16

size_t txi_q8_ws_floats(int m, int n, int k)
{
    if (m <= SMALL_M_MAX || n < 1 || k < 1) return 0;
    return (size_t)TXI_Q8_BLOCK * (size_t)(n > k ? n : k);
}

void txi_q8_quantize(const float *w, int rows, int cols, int8_t *q, float *scale)
{
    for (int j = 0; j < rows; j++) {
        const float *wj = w + (size_t)j * cols;
        float mx = 0.0f;
        for (int t = 0; t < cols; t++)
            mx = fabsf(wj[t]) > mx ? fabsf(wj[t]) : mx;
        float s = mx > 0.0f ? mx / 127.0f : 1.0f;
        scale[j] = s;
        int8_t *qj = q + (size_t)j * cols;
        for (int t = 0; t < cols; t++) {
            long v = lroundf(wj[t] / s);
            qj[t] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* txi_q8_row's loop, 16 values at a time (same operations, same order per value). */
__attribute__((target("avx512f"))) static int q8_row_avx512(const int8_t *qj, float s,
                                                             float factor, int cols, float *out)
{
    __m512 sv = _mm512_set1_ps(s), fv = _mm512_set1_ps(factor);
    int t = 0;
    for (; t + 16 <= cols; t += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(qj + t));
        __m512 w = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)), sv);
        _mm512_storeu_ps(out + t, _mm512_mul_ps(w, fv));
    }
    return t;
}
#endif

void txi_q8_row(const int8_t *q, const float *scale, int cols, int j, float factor, float *out)
{
    const int8_t *qj = q + (size_t)j * cols;
    float s = scale[j];
    int t = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f")) t = q8_row_avx512(qj, s, factor, cols, out);
#endif
    for (; t < cols; t++)
        out[t] = ((float)qj[t] * s) * factor;
}

/* Stores alpha * d (+ beta * c) (+ bias) into c. */
static inline void store(float *c, float d, float alpha, float beta, const float *bias, int j)
{
    float v = alpha * d + (beta != 0.0f ? beta * *c : 0.0f);
    *c = bias ? v + bias[j] : v;
}

void txi_q8_small_m_portable(int m, int n, int k, float alpha, const float *a, int lda,
                             const int8_t *q, const float *scale, float beta, const float *bias,
                             float *c, int ldc)
{
    for (int j = 0; j < n; j++) {
        const int8_t *qj = q + (size_t)j * k;
        float s = scale[j];
        for (int r = 0; r < m; r++) {
            const float *x = a + (size_t)r * lda;
            float d = 0.0f;
            for (int t = 0; t < k; t++)
                d += ((float)qj[t] * s) * x[t];
            store(c + (size_t)r * ldc + j, d, alpha, beta, bias, j);
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_Q8_KERNELS 1

/* Pointers to rows first .. first+3 of an n-row matrix; past the end repeat the last row. */
#define FOUR_ROWS(T, base, ld, first, n, out)                                                     \
    do {                                                                                           \
        int left_ = (n) - (first);                                                                 \
        for (int i_ = 0; i_ < 4; i_++)                                                             \
            (out)[i_] = (T)((base) + (size_t)((first) + (i_ < left_ ? i_ : left_ - 1)) * (ld));    \
    } while (0)

/* acc[q][r] = sum_t (w[q][t] * s[q]) * x[r][t] over t < k, for 4 weight rows and R rows of A
 * (R a constant after inlining: the accumulators stay in registers). The next weight rows nx
 * are prefetched along the way. */
__attribute__((target("avx512f"), always_inline)) static inline void
q8_tile512(const int8_t *const w[4], const float s[4], const float *const x[4], int R, int k,
           const int8_t *const nx[4], float out[4][4])
{
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int qi = 0; qi < 4; qi++)
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            acc[qi][r] = _mm512_setzero_ps();
    __m512 sv[4];
#pragma GCC unroll 4
    for (int qi = 0; qi < 4; qi++)
        sv[qi] = _mm512_set1_ps(s[qi]);
    const int kv = k & ~15;
    for (int t = 0; t < kv; t += 16) {
        if (nx && (t & 63) == 0)
#pragma GCC unroll 4
            for (int qi = 0; qi < 4; qi++)
                _mm_prefetch((const char *)(nx[qi] + t), _MM_HINT_T0);
        __m512 xv[4];
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            xv[r] = r < R ? _mm512_loadu_ps(x[r] + t) : _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int qi = 0; qi < 4; qi++) {
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(w[qi] + t));
            __m512 wv = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)), sv[qi]);
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++)
                if (r < R) acc[qi][r] = _mm512_fmadd_ps(wv, xv[r], acc[qi][r]);
        }
    }
#pragma GCC unroll 4
    for (int qi = 0; qi < 4; qi++)
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            if (r >= R) continue;
            float d = _mm512_reduce_add_ps(acc[qi][r]);
            for (int t = kv; t < k; t++)
                d += ((float)w[qi][t] * s[qi]) * x[r][t];
            out[qi][r] = d;
        }
}

#define Q8_TILE_FN(R)                                                                              \
    __attribute__((target("avx512f"))) static void q8_tile512_##R(                                 \
        const int8_t *const w[4], const float s[4], const float *const x[4], int k,                \
        const int8_t *const nx[4], float out[4][4])                                                \
    {                                                                                              \
        q8_tile512(w, s, x, R, k, nx, out);                                                        \
    }
Q8_TILE_FN(1)
Q8_TILE_FN(2)
Q8_TILE_FN(3)
Q8_TILE_FN(4)

/* The few-rows product with AVX-512F: blocks of 4 weight rows (read once, from memory, while
 * the next block is prefetched) against every group of up to 4 rows of A (in L1). */
__attribute__((target("avx512f"))) static void q8_small_m_avx512(int m, int n, int k, float alpha,
                                                                 const float *a, int lda,
                                                                 const int8_t *q,
                                                                 const float *scale, float beta,
                                                                 const float *bias, float *c,
                                                                 int ldc)
{
    for (int j0 = 0; j0 < n; j0 += 4) {
        int jj = n - j0 < 4 ? n - j0 : 4;
        const int8_t *w[4], *nx[4];
        FOUR_ROWS(const int8_t *, q, k, j0, n, w);
        int next = j0 + 4 < n ? j0 + 4 : j0;
        FOUR_ROWS(const int8_t *, q, k, next, n, nx);
        float s[4];
        for (int i = 0; i < 4; i++)
            s[i] = scale[j0 + (i < jj ? i : jj - 1)];
        for (int r0 = 0; r0 < m; r0 += 4) {
            int rr = m - r0 < 4 ? m - r0 : 4;
            const float *x[4];
            FOUR_ROWS(const float *, a, lda, r0, m, x);
            float out[4][4];
            const int8_t *const *pf = r0 == 0 ? nx : NULL;
            if (rr == 4)
                q8_tile512_4(w, s, x, k, pf, out);
            else if (rr == 3)
                q8_tile512_3(w, s, x, k, pf, out);
            else if (rr == 2)
                q8_tile512_2(w, s, x, k, pf, out);
            else
                q8_tile512_1(w, s, x, k, pf, out);
            for (int r = 0; r < rr; r++)
                for (int qi = 0; qi < jj; qi++)
                    store(c + (size_t)(r0 + r) * ldc + j0 + qi, out[qi][r], alpha, beta, bias,
                          j0 + qi);
        }
    }
}

__attribute__((target("avx2,fma"))) static float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* The few-rows product with AVX2+FMA: each weight row, converted 8 at a time, against up to 4
 * rows of A (4 accumulator chains). */
__attribute__((target("avx2,fma"))) static void q8_small_m_avx2(int m, int n, int k, float alpha,
                                                               const float *a, int lda,
                                                               const int8_t *q, const float *scale,
                                                               float beta, const float *bias,
                                                               float *c, int ldc)
{
    const int kv = k & ~7;
    for (int j = 0; j < n; j++) {
        const int8_t *w = q + (size_t)j * k;
        __m256 sv = _mm256_set1_ps(scale[j]);
        for (int r0 = 0; r0 < m; r0 += 4) {
            int rr = m - r0 < 4 ? m - r0 : 4;
            const float *x[4];
            FOUR_ROWS(const float *, a, lda, r0, m, x);
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (int t = 0; t < kv; t += 8) {
                __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(w + t));
                __m256 wv = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)), sv);
                s0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[0] + t), s0);
                s1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[1] + t), s1);
                s2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[2] + t), s2);
                s3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[3] + t), s3);
            }
            float d[4] = {hsum256(s0), hsum256(s1), hsum256(s2), hsum256(s3)};
            for (int r = 0; r < rr; r++) {
                for (int t = kv; t < k; t++)
                    d[r] += ((float)w[t] * scale[j]) * x[r][t];
                store(c + (size_t)(r0 + r) * ldc + j, d[r], alpha, beta, bias, j);
            }
        }
    }
}
#endif

/* The few-rows product, on the best kernel the CPU has. */
static void q8_small_m(int m, int n, int k, float alpha, const float *a, int lda, const int8_t *q,
                       const float *scale, float beta, const float *bias, float *c, int ldc)
{
#ifdef HAVE_Q8_KERNELS
    if (__builtin_cpu_supports("avx512f")) {
        q8_small_m_avx512(m, n, k, alpha, a, lda, q, scale, beta, bias, c, ldc);
        return;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        q8_small_m_avx2(m, n, k, alpha, a, lda, q, scale, beta, bias, c, ldc);
        return;
    }
#endif
    txi_q8_small_m_portable(m, n, k, alpha, a, lda, q, scale, beta, bias, c, ldc);
}

void txi_q8_matmul_nt(int m, int n, int k, float alpha, const float *a, int lda, const int8_t *q,
                      const float *scale, float beta, const float *bias, float *c, int ldc,
                      const struct txi_gemm_ws *ws)
{
    if (m <= 0 || n <= 0) return;
    size_t block = (size_t)TXI_Q8_BLOCK * (size_t)k;
    if (m <= SMALL_M_MAX || !ws || !ws->buf || ws->n_floats < block) {
        /* few rows, or no scratch: 16 rows at a time (each group reads the weights once) */
        for (int r0 = 0; r0 < m; r0 += SMALL_M_MAX) {
            int mr = m - r0 < SMALL_M_MAX ? m - r0 : SMALL_M_MAX;
            q8_small_m(mr, n, k, alpha, a + (size_t)r0 * lda, lda, q, scale, beta, bias,
                       c + (size_t)r0 * ldc, ldc);
        }
        return;
    }
    /* many rows: dequantize TXI_Q8_BLOCK weight rows at a time into the end of ws, and multiply
     * each block with the F32 kernels (the rest of ws is their scratch) */
    float *deq = ws->buf + (ws->n_floats - block);
    struct txi_gemm_ws rest = {ws->buf, ws->n_floats - block};
    for (int j0 = 0; j0 < n; j0 += TXI_Q8_BLOCK) {
        int nb = n - j0 < TXI_Q8_BLOCK ? n - j0 : TXI_Q8_BLOCK;
        for (int j = 0; j < nb; j++)
            txi_q8_row(q, scale, k, j0 + j, 1.0f, deq + (size_t)j * k);
        txi_matmul_nt_ws(m, nb, k, alpha, a, lda, deq, k, beta, c + j0, ldc, &rest);
        if (bias)
            for (int i = 0; i < m; i++)
                txi_add(c + (size_t)i * ldc + j0, bias + j0, (size_t)nb);
    }
}
