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

uint16_t txi_f2bf(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(u >> 16 | 0x40); /* quiet NaN */
    u += 0x7fffu + (u >> 16 & 1u); /* round to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

void txi_f16_convert(const float *w, size_t n, uint16_t *h)
{
    for (size_t i = 0; i < n; i++)
        h[i] = txi_f2h(w[i]);
}

/* Weight t of row w (of format f, with the row's scale s for int8) as F32. */
static inline float wval(txi_wfmt f, const void *w, float s, int t)
{
    return f == TXI_W_Q8     ? (float)((const int8_t *)w)[t] * s
           : f == TXI_W_BF16 ? txi_bf2f(((const uint16_t *)w)[t])
                             : txi_h2f(((const uint16_t *)w)[t]);
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
    if (f == TXI_W_BF16) /* the upper half of a float: widen to 32 bits, shift into place */
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
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

/* Byte t of row j in txi_w8a8_pack's layout (k4 lines of 4 k per 64-row block). */
static inline int8_t packed_at(const int8_t *packed, size_t k4, int j, int t)
{
    size_t b = (size_t)j / 64, v = ((size_t)j % 64) / 16, i = (size_t)j % 16;
    return packed[((b * k4 + (size_t)t / 4) * 4 + v) * 64 + i * 4 + (size_t)t % 4];
}

void txi_lp_row(txi_wfmt f, const void *w, const float *scale, int cols, int j, float factor,
                float *out)
{
    if (f == TXI_W_Q8A8) { /* out of the packing: the int8 row's values, as TXI_W_Q8 gives them */
        size_t k4 = ((size_t)cols + 3) / 4;
        /* row j's 4 bytes of each 256-byte line of its block (packed_at without the divisions) */
        const int8_t *p = (const int8_t *)w + (size_t)j / 64 * k4 * 256 +
                          ((size_t)j % 64) / 16 * 64 + (size_t)j % 16 * 4;
        for (int t = 0; t < cols; t++)
            out[t] = (float)p[(size_t)t / 4 * 256 + (size_t)t % 4] * scale[j] * factor;
        return;
    }
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
TILE_FN(TXI_W_BF16, bf16_tile, 1)
TILE_FN(TXI_W_BF16, bf16_tile, 2)
TILE_FN(TXI_W_BF16, bf16_tile, 3)
TILE_FN(TXI_W_BF16, bf16_tile, 4)

typedef void (*tile_fn)(const void *const w[4], const float s[4], const float *const x[4], int k,
                        const void *const nx[4], float out[4][4]);
/* [format][rows - 1] */
static const tile_fn tiles[3][4] = {{q8_tile_1, q8_tile_2, q8_tile_3, q8_tile_4},
                                    {h16_tile_1, h16_tile_2, h16_tile_3, h16_tile_4},
                                    {bf16_tile_1, bf16_tile_2, bf16_tile_3, bf16_tile_4}};

/* The few-rows product with AVX-512F: blocks of 4 weight rows (read once, from memory, while
 * the next block is prefetched) against every group of up to 4 rows of A (in L1). */
__attribute__((target("avx512f"))) static void
small_m_avx512(txi_wfmt f, int m, int n, int k, float alpha, const float *a, int lda,
               const void *wm, const float *scale, float beta, const float *bias, float *c, int ldc)
{
    const tile_fn *tile = tiles[f == TXI_W_Q8 ? 0 : f == TXI_W_F16 ? 1 : 2];
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
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)((const uint16_t *)w + t));
    if (f == TXI_W_BF16)
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
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

__attribute__((target("avx2,fma,f16c"))) static void
small_m_avx2_bf16(int m, int n, int k, float alpha, const float *a, int lda, const void *w,
                  const float *scale, float beta, const float *bias, float *c, int ldc)
{
    small_m_avx2(TXI_W_BF16, m, n, k, alpha, a, lda, w, scale, beta, bias, c, ldc);
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
        (f == TXI_W_Q8    ? small_m_avx2_q8
         : f == TXI_W_F16 ? small_m_avx2_h16
                          : small_m_avx2_bf16)(m, n, k, alpha, a, lda, w, scale, beta, bias, c, ldc);
        return;
    }
#endif
    txi_lp_small_m_portable(f, m, n, k, alpha, a, lda, w, scale, beta, bias, c, ldc);
}

static int w8a8_range(int m, int n, int j0, int j1, int k, float alpha, const float *a, int lda,
                      const int8_t *q, const float *scale_sums, float beta, const float *bias,
                      float *c, int ldc);
static void w8a8_portable(int m, int n, int j0, int j1, int k, float alpha, const float *a,
                          int lda, const int8_t *packed, const float *scale_sums, float beta,
                          const float *bias, float *c, int ldc);

/* Columns [jb, je) of txi_lp_matmul_nt's C (c points at column 0), on the calling thread. */
static void lp_range(txi_wfmt f, int m, int n, int jb, int je, int k, float alpha, const float *a,
                     int lda, const void *w, const float *scale, float beta, const float *bias,
                     float *c, int ldc, const struct txi_gemm_ws *ws)
{
    if (f == TXI_W_Q8A8) {
        if (!w8a8_range(m, n, jb, je, k, alpha, a, lda, w, scale, beta, bias, c, ldc))
            w8a8_portable(m, n, jb, je, k, alpha, a, lda, w, scale, beta, bias, c, ldc);
        return;
    }
    /* the rows [jb, je) of the weights as a matrix of their own */
    w = wrow(f, w, k, jb);
    if (scale) scale += jb;
    if (bias) bias += jb;
    c += jb;
    n = je - jb;
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
    struct txi_gemm_ws rest = {ws->buf, ws->n_floats - block, 0, NULL};
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

/* A reduced-precision product split between engine threads. */
struct lp_task {
    txi_wfmt f;
    int m, n, k, lda, ldc;
    float alpha, beta;
    const float *a, *scale, *bias;
    const void *w;
    float *c;
    const struct txi_gemm_ws *ws;
};

static void lp_part(void *ctx, int t, int j0, int j1)
{
    const struct lp_task *p = ctx;
    struct txi_gemm_ws ws = txi_gemm_ws_part(p->ws, t);
    lp_range(p->f, p->m, p->n, j0, j1, p->k, p->alpha, p->a, p->lda, p->w, p->scale, p->beta,
             p->bias, p->c, p->ldc, &ws);
}

void txi_lp_matmul_nt(txi_wfmt f, int m, int n, int k, float alpha, const float *a, int lda,
                      const void *w, const float *scale, float beta, const float *bias, float *c,
                      int ldc, const struct txi_gemm_ws *ws)
{
    if (m <= 0 || n <= 0) return;
    if (txi_gemm_ws_splits(ws, n, k)) {
        struct lp_task task = {f, m, n, k, lda, ldc, alpha, beta, a, scale, bias, w, c, ws};
        txi_pool_run(ws->pool, n, TXI_SPLIT_ALIGN, lp_part, &task);
        return;
    }
    lp_range(f, m, n, 0, n, k, alpha, a, lda, w, scale, beta, bias, c, ldc, ws);
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
__attribute__((target("avx512f,avx512bw"))) static float quantize_row(const float *a, int k,
                                                                     int k64, uint8_t *xq)
{
    __m512 mx = _mm512_setzero_ps();
    int t = 0;
    for (; t + 16 <= k; t += 16)
        mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_loadu_ps(a + t)));
    float amax = _mm512_reduce_max_ps(mx);
    for (; t < k; t++)
        if (fabsf(a[t]) > amax) amax = fabsf(a[t]);
    float s = amax > 0.0f ? amax / 127.0f : 1.0f;
    float inv = 1.0f / s;
    /* a * inv rounded to nearest even (the default rounding of cvtps and nearbyintf), clamped */
    __m512 iv = _mm512_set1_ps(inv);
    __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127), o = _mm512_set1_epi32(128);
    for (t = 0; t + 16 <= k; t += 16) {
        __m512i r = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(a + t), iv));
        r = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(r, lo), hi), o);
        _mm_storeu_si128((__m128i *)(void *)(xq + t), _mm512_cvtepi32_epi8(r));
    }
    for (; t < k; t++) {
        float v = nearbyintf(a[t] * inv);
        v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
        xq[t] = (uint8_t)((int)v + 128);
    }
    for (t = k; t < k64; t++)
        xq[t] = 128;
    return s;
}

/* The VNNI kernel reads the weights packed (txi_w8a8_pack): 64 output rows at a time, each
 * 64-byte line holding 4 consecutive k of 16 rows, so that one vpdpbusd adds 4 products to each
 * of 16 outputs (an x's 4 bytes broadcast): the dot products come out as vectors of outputs,
 * with no reduction. Tile: 4 vectors (64 outputs) x R rows of A (R <= 6: 24 accumulators). */
#define W8A8_RMAX 6

__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) static inline void
w8a8_tile(const int8_t *wp, int k4, const uint8_t *const x[W8A8_RMAX], int R, __m512i out[4][W8A8_RMAX])
{
    __m512i acc[4][W8A8_RMAX];
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++)
#pragma GCC unroll 6
        for (int r = 0; r < W8A8_RMAX; r++)
            acc[v][r] = _mm512_setzero_si512();
    for (int g = 0; g < k4; g++) {
        const int8_t *line = wp + (size_t)g * 256; /* 4 vectors of 64 bytes */
        _mm_prefetch((const char *)(line + 1024), _MM_HINT_T0);
        _mm_prefetch((const char *)(line + 1024 + 128), _MM_HINT_T0);
        __m512i wv[4];
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++)
            wv[v] = _mm512_loadu_si512((const void *)(line + 64 * v));
#pragma GCC unroll 6
        for (int r = 0; r < W8A8_RMAX; r++) {
            if (r >= R) continue;
            int32_t xb;
            memcpy(&xb, x[r] + 4 * g, 4);
            __m512i xv = _mm512_set1_epi32(xb);
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++)
                acc[v][r] = _mm512_dpbusd_epi32(acc[v][r], xv, wv[v]);
        }
    }
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++)
#pragma GCC unroll 6
        for (int r = 0; r < W8A8_RMAX; r++)
            if (r < R) out[v][r] = acc[v][r];
}

#define W8A8_TILE_FN(R)                                                                            \
    __attribute__((target("avx512f,avx512bw,avx512vnni"))) static void w8a8_tile_##R(             \
        const int8_t *wp, int k4, const uint8_t *const x[W8A8_RMAX], __m512i out[4][W8A8_RMAX])  \
    {                                                                                              \
        w8a8_tile(wp, k4, x, R, out);                                                              \
    }
W8A8_TILE_FN(1)
W8A8_TILE_FN(2)
W8A8_TILE_FN(3)
W8A8_TILE_FN(4)
W8A8_TILE_FN(5)
W8A8_TILE_FN(6)
typedef void (*w8a8_tile_fn)(const int8_t *wp, int k4, const uint8_t *const x[W8A8_RMAX],
                             __m512i out[4][W8A8_RMAX]);
static const w8a8_tile_fn w8a8_tiles[W8A8_RMAX] = {w8a8_tile_1, w8a8_tile_2, w8a8_tile_3,
                                                   w8a8_tile_4, w8a8_tile_5, w8a8_tile_6};

/* c row r, outputs j0 .. j0+15 (< n): alpha * ((float)(dot - 128 sum) * (xs * scale)) [+ beta c]
 * [+ bias], the scalar store()'s operations lane by lane. */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
w8a8_store16(__m512i dot, int j0, int n, float xs, const float *scale, const float *sums,
             float alpha, float beta, const float *bias, float *c)
{
    int nj = n - j0 < 16 ? n - j0 : 16;
    __mmask16 mk = (__mmask16)((1u << nj) - 1u);
    __m512 sv = _mm512_maskz_loadu_ps(mk, scale + j0);
    __m512 sumv = _mm512_maskz_loadu_ps(mk, sums + j0);
    __m512i off = _mm512_slli_epi32(_mm512_cvtps_epi32(sumv), 7); /* 128 sum */
    __m512 d = _mm512_cvtepi32_ps(_mm512_sub_epi32(dot, off));
    d = _mm512_mul_ps(d, _mm512_mul_ps(_mm512_set1_ps(xs), sv));
    __m512 v = alpha == 1.0f ? d : _mm512_mul_ps(_mm512_set1_ps(alpha), d); /* 1 d = d */
    v = _mm512_add_ps(v, beta != 0.0f ? _mm512_mul_ps(_mm512_set1_ps(beta),
                                                      _mm512_maskz_loadu_ps(mk, c + j0))
                                      : _mm512_setzero_ps());
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, bias + j0));
    _mm512_mask_storeu_ps(c + j0, mk, v);
}
#endif

size_t txi_w8a8_packed_bytes(int n, int k)
{
    size_t nb = ((size_t)n + 63) / 64, k4 = ((size_t)k + 3) / 4;
    return nb * k4 * 256;
}

void txi_w8a8_pack(const int8_t *q, int n, int k, int8_t *packed)
{
    size_t k4 = ((size_t)k + 3) / 4;
    size_t nb = ((size_t)n + 63) / 64;
    for (size_t b = 0; b < nb; b++)
        for (size_t g = 0; g < k4; g++)
            for (int v = 0; v < 4; v++)
                for (int i = 0; i < 16; i++)
                    for (int u = 0; u < 4; u++) {
                        size_t j = b * 64 + (size_t)v * 16 + (size_t)i, t = g * 4 + (size_t)u;
                        packed[((b * k4 + g) * 4 + (size_t)v) * 64 + (size_t)i * 4 + (size_t)u] =
                            j < (size_t)n && t < (size_t)k ? q[j * (size_t)k + t] : 0;
                    }
}

#ifdef HAVE_LOWP_KERNELS
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
w8a8_run(int m, int n, int jb, int je, int k, float alpha, const float *a, int lda,
         const int8_t *q, const float *scale_sums, float beta, const float *bias, float *c,
         int ldc)
{
    int k4 = (k + 3) / 4, kp = 4 * k4;
    const int8_t *packed = q;
    uint8_t xq[W8A8_ROWS][TXI_W8A8_MAX_K] __attribute__((aligned(64)));
    float xs[W8A8_ROWS];
    const float *scale = scale_sums, *sums = scale_sums + n;
    for (int r0 = 0; r0 < m; r0 += W8A8_ROWS) {
        int mr = m - r0 < W8A8_ROWS ? m - r0 : W8A8_ROWS;
        for (int r = 0; r < mr; r++)
            xs[r] = quantize_row(a + (size_t)(r0 + r) * lda, k, kp, xq[r]);
        for (int j0 = jb; j0 < je; j0 += 64) {
            const int8_t *wp = packed + (size_t)(j0 / 64) * k4 * 256;
            for (int g0 = 0; g0 < mr; g0 += W8A8_RMAX) {
                int rr = mr - g0 < W8A8_RMAX ? mr - g0 : W8A8_RMAX;
                const uint8_t *x[W8A8_RMAX];
                for (int i = 0; i < W8A8_RMAX; i++)
                    x[i] = xq[g0 + (i < rr ? i : rr - 1)];
                __m512i dot[4][W8A8_RMAX];
                w8a8_tiles[rr - 1](wp, k4, x, dot);
                for (int r = 0; r < rr; r++)
                    for (int v = 0; v < 4 && j0 + 16 * v < n; v++)
                        w8a8_store16(dot[v][r], j0 + 16 * v, n, xs[g0 + r], scale, sums, alpha,
                                     beta, bias, c + (size_t)(r0 + g0 + r) * ldc);
            }
        }
    }
}
#endif

/* Columns [j0, j1) of the w8a8 product (j0 a multiple of 64: whole packed blocks); 0 as
 * txi_w8a8_matmul_nt. */
static int w8a8_range(int m, int n, int j0, int j1, int k, float alpha, const float *a, int lda,
                      const int8_t *q, const float *scale_sums, float beta, const float *bias,
                      float *c, int ldc)
{
#ifdef HAVE_LOWP_KERNELS
    if (!txi_w8a8_available() || k > TXI_W8A8_MAX_K || k < 1) return 0;
    if (m > 0 && j1 > j0)
        w8a8_run(m, n, j0, j1, k, alpha, a, lda, q, scale_sums, beta, bias, c, ldc);
    return 1;
#else
    (void)m, (void)n, (void)j0, (void)j1, (void)k, (void)alpha, (void)a, (void)lda, (void)q,
        (void)scale_sums, (void)beta, (void)bias, (void)c, (void)ldc;
    return 0;
#endif
}

/* Columns [j0, j1) of the w8a8 product without the kernel (no VNNI, or k past
 * TXI_W8A8_MAX_K): the same quantized rows, exact integer dot products and store arithmetic,
 * a value at a time. For callers that hand txi_lp_matmul_nt a TXI_W_Q8A8 matrix where the
 * kernel cannot run: the loader makes none there. */
static void w8a8_portable(int m, int n, int j0, int j1, int k, float alpha, const float *a,
                          int lda, const int8_t *packed, const float *scale_sums, float beta,
                          const float *bias, float *c, int ldc)
{
    size_t k4 = ((size_t)k + 3) / 4;
    const float *scale = scale_sums; /* (the row sums are not needed: v q is summed directly) */
    (void)n;
    for (int r = 0; r < m; r++) {
        const float *ar = a + (size_t)r * lda;
        float amax = 0.0f;
        for (int t = 0; t < k; t++)
            if (fabsf(ar[t]) > amax) amax = fabsf(ar[t]);
        float xs = amax > 0.0f ? amax / 127.0f : 1.0f, inv = 1.0f / xs;
        float *cr = c + (size_t)r * ldc;
        for (int j = j0; j < j1; j++) {
            int64_t dot = 0; /* sum of (v + 128) q - 128 sum(q) = sum of v q (any k) */
            for (int t = 0; t < k; t++) {
                float v = nearbyintf(ar[t] * inv);
                v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
                dot += (int64_t)v * packed_at(packed, k4, j, t);
            }
            float d = (float)dot * (xs * scale[j]);
            float v = alpha == 1.0f ? d : alpha * d;
            v = v + (beta != 0.0f ? beta * cr[j] : 0.0f);
            cr[j] = bias ? v + bias[j] : v;
        }
    }
}

int txi_w8a8_matmul_nt(int m, int n, int k, float alpha, const float *a, int lda,
                       const int8_t *packed, const float *scale_sums, float beta,
                       const float *bias, float *c, int ldc)
{
    return w8a8_range(m, n, 0, n, k, alpha, a, lda, packed, scale_sums, beta, bias, c, ldc);
}
