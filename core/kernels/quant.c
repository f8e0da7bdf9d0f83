/* quant.c — reduced-precision weights (see quant.h): int8 with a scale per row, and F16. A
 * decode step is bandwidth-bound: it reads every weight once for a handful of rows, so reading
 * one or two bytes per weight instead of four is what makes it faster. Each weight is converted
 * in registers (int8: q * scale, one float32 product; F16: vcvtph2ps, exact) and multiplied
 * into F32 accumulators; the blocked path for many rows converts the same way into scratch
 * memory, so a weight has one F32 value whichever path reads it. The kernels are written once
 * over the format (W_FMT), a constant after inlining. */
#include "quant.h"

#include <math.h>
#include <string.h>

#define SMALL_M_MAX 16

float txi_h2f(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (e == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13); /* inf, NaN */
    } else if (e) {
        bits = sign | ((e + 112) << 23) | (mant << 13);
    } else if (mant) { /* subnormal: normalise */
        int sh = 0;
        while (!(mant & 0x400))
            mant <<= 1, sh++;
        bits = sign | ((uint32_t)(113 - sh) << 23) | ((mant & 0x3ff) << 13);
    } else {
        bits = sign;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t txi_f2h(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* inf, NaN (kept quiet) */
        return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 | ((ax >> 13) & 0x3ff) : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds past 65504: inf */
    if (ax < 0x38800000u) {                                  /* below 2^-14: subnormal or 0 */
        if (ax < 0x33000000u) return (uint16_t)sign;         /* below half the smallest */
        uint32_t e = ax >> 23, mant = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t v = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (v & 1))) v++;
        return (uint16_t)(sign | v);
    }
    uint32_t v = ((ax >> 13) - (112u << 10)), rem = ax & 0x1fff; /* rebias the exponent */
    if (rem > 0x1000 || (rem == 0x1000 && (v & 1))) v++;         /* nearest, ties to even */
    return (uint16_t)(sign | v);
}

void txi_f16_convert(const float *w, size_t n, uint16_t *h)
{
    for (size_t i = 0; i < n; i++)
        h[i] = txi_f2h(w[i]);
}

/* Weight t of row w (of format f, with the row's scale s for int8) as F32. */
static inline float wval(txi_wfmt f, const void *w, float s, int t)
{
    return f == TXI_W_Q8 ? (float)((const int8_t *)w)[t] * s : txi_h2f(((const uint16_t *)w)[t]);
}

/* Row j of an (n, k) matrix of format f. */
static inline const void *wrow(txi_wfmt f, const void *w, int k, int j)
{
    return f == TXI_W_Q8 ? (const void *)((const int8_t *)w + (size_t)j * k)
                         : (const void *)((const uint16_t *)w + (size_t)j * k);
}

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
#define HAVE_LOWP_KERNELS 1

/* 16 weights of row w from t as F32 (int8: times the row's scale sv). */
__attribute__((target("avx512f"), always_inline)) static inline __m512
load16(txi_wfmt f, const void *w, int t, __m512 sv)
{
    if (f == TXI_W_Q8) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)((const int8_t *)w + t));
        return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)), sv);
    }
    __m256i h = _mm256_loadu_si256((const __m256i *)(const void *)((const uint16_t *)w + t));
    return _mm512_cvtph_ps(h);
}

/* txi_lp_row's loop, 16 values at a time (same operations, same order per value). */
__attribute__((target("avx512f"))) static int row_avx512(txi_wfmt f, const void *w, float s,
                                                         float factor, int cols, float *out)
{
    __m512 sv = _mm512_set1_ps(s), fv = _mm512_set1_ps(factor);
    int t = 0;
    for (; t + 16 <= cols; t += 16)
        _mm512_storeu_ps(out + t, _mm512_mul_ps(load16(f, w, t, sv), fv));
    return t;
}
#endif

void txi_lp_row(txi_wfmt f, const void *w, const float *scale, int cols, int j, float factor,
                float *out)
{
    if (f == TXI_W_Q8A8) f = TXI_W_Q8; /* the same int8 rows */
    const void *wj = wrow(f, w, cols, j);
    float s = f == TXI_W_Q8 ? scale[j] : 1.0f;
    int t = 0;
#ifdef HAVE_LOWP_KERNELS
    if (__builtin_cpu_supports("avx512f")) t = row_avx512(f, wj, s, factor, cols, out);
#endif
    for (; t < cols; t++)
        out[t] = wval(f, wj, s, t) * factor;
}

void txi_q8_row(const int8_t *q, const float *scale, int cols, int j, float factor, float *out)
{
    txi_lp_row(TXI_W_Q8, q, scale, cols, j, factor, out);
}

/* Stores alpha * d (+ beta * c) (+ bias) into c. */
static inline void store(float *c, float d, float alpha, float beta, const float *bias, int j)
{
    float v = alpha * d + (beta != 0.0f ? beta * *c : 0.0f);
    *c = bias ? v + bias[j] : v;
}

void txi_lp_small_m_portable(txi_wfmt f, int m, int n, int k, float alpha, const float *a, int lda,
                             const void *w, const float *scale, float beta, const float *bias,
                             float *c, int ldc)
{
    for (int j = 0; j < n; j++) {
        const void *wj = wrow(f, w, k, j);
        float s = f == TXI_W_Q8 ? scale[j] : 1.0f;
        for (int r = 0; r < m; r++) {
            const float *x = a + (size_t)r * lda;
            float d = 0.0f;
            for (int t = 0; t < k; t++)
                d += wval(f, wj, s, t) * x[t];
            store(c + (size_t)r * ldc + j, d, alpha, beta, bias, j);
        }
    }
}

void txi_q8_small_m_portable(int m, int n, int k, float alpha, const float *a, int lda,
                             const int8_t *q, const float *scale, float beta, const float *bias,
                             float *c, int ldc)
{
    txi_lp_small_m_portable(TXI_W_Q8, m, n, k, alpha, a, lda, q, scale, beta, bias, c, ldc);
}

#ifdef HAVE_LOWP_KERNELS

/* Pointers to rows first .. first+3 of an n-row matrix; past the end repeat the last row. */
#define FOUR_ROWS(T, base, ld, first, n, out)                                                      \
    do {                                                                                           \
        int left_ = (n) - (first);                                                                 \
        for (int i_ = 0; i_ < 4; i_++)                                                             \
            (out)[i_] = (T)((base) + (size_t)((first) + (i_ < left_ ? i_ : left_ - 1)) * (ld));    \
    } while (0)

/* Row pointers of weight rows first .. first+3 (repeating the last past the end). */
static void four_wrows(txi_wfmt f, const void *w, int k, int first, int n, const void *out[4])
{
    int left = n - first;
    for (int i = 0; i < 4; i++)
        out[i] = wrow(f, w, k, first + (i < left ? i : left - 1));
}

/* acc[q][r] = sum_t W[q][t] * x[r][t] over t < k, for 4 weight rows and R rows of A (R and f
 * constants after inlining: the accumulators stay in registers). The next weight rows nx are
 * prefetched along the way. */
__attribute__((target("avx512f"), always_inline)) static inline void
tile512(txi_wfmt f, const void *const w[4], const float s[4], const float *const x[4], int R, int k,
        const void *const nx[4], float out[4][4])
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
    const int step = f == TXI_W_Q8 ? 64 : 32; /* weights per 64-byte line */
    for (int t = 0; t < kv; t += 16) {
        if (nx && (t & (step - 1)) == 0)
#pragma GCC unroll 4
            for (int qi = 0; qi < 4; qi++)
                _mm_prefetch((const char *)nx[qi] + (size_t)t * (f == TXI_W_Q8 ? 1 : 2),
                             _MM_HINT_T0);
        __m512 xv[4];
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            xv[r] = r < R ? _mm512_loadu_ps(x[r] + t) : _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int qi = 0; qi < 4; qi++) {
            __m512 wv = load16(f, w[qi], t, sv[qi]);
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
                d += wval(f, w[qi], s[qi], t) * x[r][t];
            out[qi][r] = d;
        }
}

#define TILE_FN(F, NAME, R)                                                                        \
    __attribute__((target("avx512f"))) static void NAME##_##R(                                     \
        const void *const w[4], const float s[4], const float *const x[4], int k,                  \
        const void *const nx[4], float out[4][4])                                                  \
    {                                                                                              \
        tile512(F, w, s, x, R, k, nx, out);                                                        \
    }
TILE_FN(TXI_W_Q8, q8_tile, 1)
TILE_FN(TXI_W_Q8, q8_tile, 2)
TILE_FN(TXI_W_Q8, q8_tile, 3)
TILE_FN(TXI_W_Q8, q8_tile, 4)
TILE_FN(TXI_W_F16, h16_tile, 1)
TILE_FN(TXI_W_F16, h16_tile, 2)
TILE_FN(TXI_W_F16, h16_tile, 3)
TILE_FN(TXI_W_F16, h16_tile, 4)

typedef void (*tile_fn)(const void *const w[4], const float s[4], const float *const x[4], int k,
                        const void *const nx[4], float out[4][4]);
/* [format][rows - 1] */
static const tile_fn tiles[2][4] = {{q8_tile_1, q8_tile_2, q8_tile_3, q8_tile_4},
                                    {h16_tile_1, h16_tile_2, h16_tile_3, h16_tile_4}};

/* The few-rows product with AVX-512F: blocks of 4 weight rows (read once, from memory, while
 * the next block is prefetched) against every group of up to 4 rows of A (in L1). */
__attribute__((target("avx512f"))) static void
small_m_avx512(txi_wfmt f, int m, int n, int k, float alpha, const float *a, int lda,
               const void *wm, const float *scale, float beta, const float *bias, float *c, int ldc)
{
    const tile_fn *tile = tiles[f == TXI_W_Q8 ? 0 : 1];
    for (int j0 = 0; j0 < n; j0 += 4) {
        int jj = n - j0 < 4 ? n - j0 : 4;
        const void *w[4], *nx[4];
        four_wrows(f, wm, k, j0, n, w);
        four_wrows(f, wm, k, j0 + 4 < n ? j0 + 4 : j0, n, nx);
        float s[4];
        for (int i = 0; i < 4; i++)
            s[i] = f == TXI_W_Q8 ? scale[j0 + (i < jj ? i : jj - 1)] : 1.0f;
        for (int r0 = 0; r0 < m; r0 += 4) {
            int rr = m - r0 < 4 ? m - r0 : 4;
            const float *x[4];
            FOUR_ROWS(const float *, a, lda, r0, m, x);
            float out[4][4];
            tile[rr - 1](w, s, x, k, r0 == 0 ? nx : NULL, out);
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

/* 8 weights of row w from t as F32 (F16C's vcvtph2ps: every AVX2 CPU has it). */
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline __m256
load8(txi_wfmt f, const void *w, int t, __m256 sv)
{
    if (f == TXI_W_Q8) {
        __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)((const int8_t *)w + t));
        return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)), sv);
    }
    return _mm256_cvtph_ps(
        _mm_loadu_si128((const __m128i *)(const void *)((const uint16_t *)w + t)));
}

/* The few-rows product with AVX2+FMA: each weight row, converted 8 at a time, against up to 4
 * rows of A (4 accumulator chains). */
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
small_m_avx2(txi_wfmt f, int m, int n, int k, float alpha, const float *a, int lda, const void *wm,
             const float *scale, float beta, const float *bias, float *c, int ldc)
{
    const int kv = k & ~7;
    for (int j = 0; j < n; j++) {
        const void *w = wrow(f, wm, k, j);
        float sj = f == TXI_W_Q8 ? scale[j] : 1.0f;
        __m256 sv = _mm256_set1_ps(sj);
        for (int r0 = 0; r0 < m; r0 += 4) {
            int rr = m - r0 < 4 ? m - r0 : 4;
            const float *x[4];
            FOUR_ROWS(const float *, a, lda, r0, m, x);
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (int t = 0; t < kv; t += 8) {
                __m256 wv = load8(f, w, t, sv);
                s0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[0] + t), s0);
                s1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[1] + t), s1);
                s2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[2] + t), s2);
                s3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[3] + t), s3);
            }
            float d[4] = {hsum256(s0), hsum256(s1), hsum256(s2), hsum256(s3)};
            for (int r = 0; r < rr; r++) {
                for (int t = kv; t < k; t++)
                    d[r] += wval(f, w, sj, t) * x[r][t];
                store(c + (size_t)(r0 + r) * ldc + j, d[r], alpha, beta, bias, j);
            }
        }
    }
}

__attribute__((target("avx2,fma,f16c"))) static void
small_m_avx2_q8(int m, int n, int k, float alpha, const float *a, int lda, const void *w,
                const float *scale, float beta, const float *bias, float *c, int ldc)
{
    small_m_avx2(TXI_W_Q8, m, n, k, alpha, a, lda, w, scale, beta, bias, c, ldc);
}

__attribute__((target("avx2,fma,f16c"))) static void
small_m_avx2_h16(int m, int n, int k, float alpha, const float *a, int lda, const void *w,
                 const float *scale, float beta, const float *bias, float *c, int ldc)
{
    small_m_avx2(TXI_W_F16, m, n, k, alpha, a, lda, w, scale, beta, bias, c, ldc);
}
#endif

/* Which few-rows kernel runs: the best the CPU has, unless a test forced one
 * (txi_lp_force_path). */
static int forced_path = TXI_LP_PATH_BEST;

void txi_lp_force_path(int path)
{
    forced_path = path;
}

/* The few-rows product, on the best kernel the CPU has (or the forced one). */
static void small_m(txi_wfmt f, int m, int n, int k, float alpha, const float *a, int lda,
                    const void *w, const float *scale, float beta, const float *bias, float *c,
                    int ldc)
{
#ifdef HAVE_LOWP_KERNELS
    int has512 = __builtin_cpu_supports("avx512f");
    int has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (has512 && (forced_path == TXI_LP_PATH_BEST || forced_path == TXI_LP_PATH_AVX512)) {
        small_m_avx512(f, m, n, k, alpha, a, lda, w, scale, beta, bias, c, ldc);
        return;
    }
    if (has2 && forced_path != TXI_LP_PATH_PORTABLE) {
        (f == TXI_W_Q8 ? small_m_avx2_q8 : small_m_avx2_h16)(m, n, k, alpha, a, lda, w, scale, beta,
                                                             bias, c, ldc);
        return;
    }
#endif
    txi_lp_small_m_portable(f, m, n, k, alpha, a, lda, w, scale, beta, bias, c, ldc);
}

void txi_lp_matmul_nt(txi_wfmt f, int m, int n, int k, float alpha, const float *a, int lda,
                      const void *w, const float *scale, float beta, const float *bias, float *c,
                      int ldc, const struct txi_gemm_ws *ws)
{
    if (m <= 0 || n <= 0) return;
    if (f == TXI_W_Q8A8) {
        if (txi_w8a8_matmul_nt(m, n, k, alpha, a, lda, w, scale, beta, bias, c, ldc)) return;
        f = TXI_W_Q8; /* no VNNI: int8 weights, F32 activations */
    }
    size_t block = (size_t)TXI_Q8_BLOCK * (size_t)k;
    if (m <= SMALL_M_MAX || !ws || !ws->buf || ws->n_floats < block || ws->rowwise) {
        /* few rows, no scratch or batch-invariant products (a row's sums then depend on that
         * row alone): a chunk of rows at a time (each chunk reads the weights once) */
        int chunk = ws && ws->rowwise ? txi_rowwise_chunk(k) : SMALL_M_MAX;
        for (int r0 = 0; r0 < m; r0 += chunk) {
            int mr = m - r0 < chunk ? m - r0 : chunk;
            small_m(f, mr, n, k, alpha, a + (size_t)r0 * lda, lda, w, scale, beta, bias,
                    c + (size_t)r0 * ldc, ldc);
        }
        return;
    }
    /* many rows: convert TXI_Q8_BLOCK weight rows at a time into the end of ws, and multiply
     * each block with the F32 kernels (the rest of ws is their scratch) */
    float *deq = ws->buf + (ws->n_floats - block);
    struct txi_gemm_ws rest = {ws->buf, ws->n_floats - block, 0};
    for (int j0 = 0; j0 < n; j0 += TXI_Q8_BLOCK) {
        int nb = n - j0 < TXI_Q8_BLOCK ? n - j0 : TXI_Q8_BLOCK;
        for (int j = 0; j < nb; j++)
            txi_lp_row(f, w, scale, k, j0 + j, 1.0f, deq + (size_t)j * k);
        txi_matmul_nt_ws(m, nb, k, alpha, a, lda, deq, k, beta, c + j0, ldc, &rest);
        if (bias)
            for (int i = 0; i < m; i++)
                txi_add(c + (size_t)i * ldc + j0, bias + j0, (size_t)nb);
    }
}

void txi_q8_matmul_nt(int m, int n, int k, float alpha, const float *a, int lda, const int8_t *q,
                      const float *scale, float beta, const float *bias, float *c, int ldc,
                      const struct txi_gemm_ws *ws)
{
    txi_lp_matmul_nt(TXI_W_Q8, m, n, k, alpha, a, lda, q, scale, beta, bias, c, ldc, ws);
}

/* ---- w8a8: int8 weights times int8 activations (AVX-512 VNNI) ----------------------------- *
 * vpdpbusd multiplies 64 unsigned bytes by 64 signed bytes and adds each group of 4 products
 * to one of 16 int32 lanes: a quarter of the instructions of F32 FMAs for the same products.
 * Activations are made unsigned by adding 128 (a_u = a_q + 128); the 128 * sum(q[j]) this adds
 * to every dot product is taken off with the row sums kept beside the scales. Integer sums are
 * exact, so the order of summation does not matter: any tiling gives the same numbers. */
#define W8A8_ROWS 16 /* rows of A quantized at a time (on the stack: 16 x 8 KB at most) */

int txi_w8a8_available(void)
{
#ifdef HAVE_LOWP_KERNELS
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

#ifdef HAVE_LOWP_KERNELS
/* xq (k64) = a (k) quantized, + 128, padded with 128 to k64; returns the row's scale. */
static float quantize_row(const float *a, int k, int k64, uint8_t *xq)
{
    float amax = 0.0f;
    for (int t = 0; t < k; t++) {
        float v = fabsf(a[t]);
        if (v > amax) amax = v;
    }
    float s = amax > 0.0f ? amax / 127.0f : 1.0f;
    float inv = 1.0f / s;
    for (int t = 0; t < k; t++) {
        float v = nearbyintf(a[t] * inv);
        v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
        xq[t] = (uint8_t)((int)v + 128);
    }
    for (int t = k; t < k64; t++)
        xq[t] = 128;
    return s;
}

/* dots[q][r] = sum_t x_u[r][t] * w[q][t] over t < k (w rows' tail masked to zero), for 4 weight
 * rows and R (1..4) quantized rows. */
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) static inline void
w8a8_tile(const int8_t *const w[4], const uint8_t *const x[4], int R, int k, int32_t out[4][4])
{
    const int kv = k & ~63;
    const __mmask64 tail = k - kv ? (~0ULL >> (64 - (k - kv))) : 0;
    __m512i acc[4][4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            acc[q][r] = _mm512_setzero_si512();
    for (int t = 0; t < kv; t += 64) {
        __m512i xv[4];
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            xv[r] = r < R ? _mm512_loadu_si512((const void *)(x[r] + t)) : _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            __m512i wv = _mm512_loadu_si512((const void *)(w[q] + t));
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++)
                if (r < R) acc[q][r] = _mm512_dpbusd_epi32(acc[q][r], xv[r], wv);
        }
    }
    if (tail) {
        __m512i xv[4];
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            xv[r] = r < R ? _mm512_loadu_si512((const void *)(x[r] + kv)) : _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            __m512i wv = _mm512_maskz_loadu_epi8(tail, (const void *)(w[q] + kv));
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++)
                if (r < R) acc[q][r] = _mm512_dpbusd_epi32(acc[q][r], xv[r], wv);
        }
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            if (r < R) out[q][r] = _mm512_reduce_add_epi32(acc[q][r]);
}

#define W8A8_TILE_FN(R)                                                                            \
    __attribute__((target("avx512f,avx512bw,avx512vnni"))) static void w8a8_tile_##R(             \
        const int8_t *const w[4], const uint8_t *const x[4], int k, int32_t out[4][4])           \
    {                                                                                              \
        w8a8_tile(w, x, R, k, out);                                                                \
    }
W8A8_TILE_FN(1)
W8A8_TILE_FN(2)
W8A8_TILE_FN(3)
W8A8_TILE_FN(4)
typedef void (*w8a8_tile_fn)(const int8_t *const w[4], const uint8_t *const x[4], int k,
                             int32_t out[4][4]);
static const w8a8_tile_fn w8a8_tiles[4] = {w8a8_tile_1, w8a8_tile_2, w8a8_tile_3, w8a8_tile_4};
#endif

int txi_w8a8_matmul_nt(int m, int n, int k, float alpha, const float *a, int lda, const int8_t *q,
                       const float *scale_sums, float beta, const float *bias, float *c, int ldc)
{
#ifdef HAVE_LOWP_KERNELS
    if (!txi_w8a8_available() || k > TXI_W8A8_MAX_K || k < 1) return 0;
    int k64 = (k + 63) & ~63;
    uint8_t xq[W8A8_ROWS][TXI_W8A8_MAX_K] __attribute__((aligned(64)));
    float xs[W8A8_ROWS];
    const float *scale = scale_sums, *sums = scale_sums + n;
    for (int r0 = 0; r0 < m; r0 += W8A8_ROWS) {
        int mr = m - r0 < W8A8_ROWS ? m - r0 : W8A8_ROWS;
        for (int r = 0; r < mr; r++)
            xs[r] = quantize_row(a + (size_t)(r0 + r) * lda, k, k64, xq[r]);
        for (int j0 = 0; j0 < n; j0 += 4) {
            int jj = n - j0 < 4 ? n - j0 : 4;
            const int8_t *w[4];
            for (int i = 0; i < 4; i++)
                w[i] = q + (size_t)(j0 + (i < jj ? i : jj - 1)) * k;
            for (int g = 0; g < mr; g += 4) {
                int rr = mr - g < 4 ? mr - g : 4;
                const uint8_t *x[4];
                for (int i = 0; i < 4; i++)
                    x[i] = xq[g + (i < rr ? i : rr - 1)];
                int32_t dot[4][4];
                w8a8_tiles[rr - 1](w, x, k, dot);
                for (int r = 0; r < rr; r++)
                    for (int i = 0; i < jj; i++) {
                        int j = j0 + i;
                        /* the +128 offset: 128 * sum(q[j]), exact in int32 */
                        int32_t d = dot[i][r] - 128 * (int32_t)sums[j];
                        store(c + (size_t)(r0 + g + r) * ldc + j,
                              (float)d * (xs[g + r] * scale[j]), alpha, beta, bias, j);
                    }
            }
        }
    }
    return 1;
#else
    (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)q, (void)scale_sums,
        (void)beta, (void)bias, (void)c, (void)ldc;
    return 0;
#endif
}
