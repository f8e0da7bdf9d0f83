/* ops.c — dense tensor operations on row-major F32 arrays (see ops.h). Reductions of norms and
 * softmax accumulate in double, then round once: closer to the exact value than PyTorch's
 * float accumulation, which keeps the difference to it at float32 rounding level. Products run
 * on OpenBLAS or, chosen at run time by the CPU's features (no -march needed), on two kernels
 * of this file: few rows (AVX2) and row panels (AVX-512); norms, SiLU and softmax have AVX2
 * paths. */
#include "ops.h"
#include "quant.h"
#include "tx.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Few rows (a decode step's beams and batch rows) times a large weight matrix: sgemm would
 * copy ("pack") the whole weight matrix for a handful of rows, which costs more than the
 * product itself. These kernels stream each weight row once and reuse it for every row of A
 * (which stays in L1): the step then reads the weights once, at memory bandwidth. */
#define SMALL_M_MAX 16
#define SMALL_M_BLOCK 64 /* portable version: weight rows per block (kept in cache) */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_KERNEL 1

static int have_avx2_fma(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma"))) static float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* Pointers to rows first .. first+3 of a row-major matrix with n rows; rows past the end
 * repeat the last one (the few-rows kernels compute them and do not store the results). */
static inline void four_rows(const float *m, int ld, int first, int n, const float *r[4])
{
    int left = n - first;
    for (int i = 0; i < 4; i++)
        r[i] = m + (size_t)(first + (i < left ? i : left - 1)) * ld;
}

/* C (m, n) = alpha A B^T + beta C for m <= SMALL_M_MAX, AVX2 + FMA: each weight row is loaded
 * once from memory and used against every row of A, four rows at a time (the weight row stays
 * in L1 between the groups; A, at most 16 rows, stays in L1/L2). */
__attribute__((target("avx2,fma"))) static void small_m_nt_avx2(int m, int n, int k, float alpha,
                                                                const float *a, int lda,
                                                                const float *b, int ldb, float beta,
                                                                float *c, int ldc)
{
    for (int j = 0; j < n; j++) {
        const float *w = b + (size_t)j * ldb;
        for (int r0 = 0; r0 < m; r0 += 4) {
            int rr = m - r0 < 4 ? m - r0 : 4;
            const float *x[4];
            four_rows(a, lda, r0, m, x);
            const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            int t = 0;
            for (; t + 8 <= k; t += 8) {
                __m256 wv = _mm256_loadu_ps(w + t);
                s0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x0 + t), s0);
                s1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x1 + t), s1);
                s2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x2 + t), s2);
                s3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x3 + t), s3);
            }
            float d[4] = {hsum256(s0), hsum256(s1), hsum256(s2), hsum256(s3)};
            for (int r = 0; r < rr; r++) {
                for (int u = t; u < k; u++)
                    d[r] += w[u] * x[r][u];
                float *cj = c + (size_t)(r0 + r) * ldc + j;
                *cj = alpha * d[r] + (beta != 0.0f ? beta * *cj : 0.0f);
            }
        }
    }
}

/* acc[q][r] = sum_t W[q][t] * x[r][t] for 4 weight rows and R (1..4) rows of A, 16 lanes at a
 * time with k's tail read by masked loads, then one reduction per output: each output's order of
 * summation depends on k alone (not on R, nor on the rows beside it). With pf, the next block's
 * weights (4 rows from pf, stride ldb) are prefetched along the way. R is a constant after
 * inlining: the accumulators stay in registers and no FMA is spent on absent rows. */
__attribute__((target("avx512f"), always_inline)) static inline void
f32_tile(const float *const w[4], const float *const x[4], int R, int k, const char *pf,
         float out[4][4])
{
    const int kv = k & ~15;
    const __mmask16 tail = (__mmask16)((1u << (k - kv)) - 1u);
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            acc[q][r] = _mm512_setzero_ps();
    for (int t = 0; t < kv; t += 16) {
        if (pf) /* 4 rows of 16 floats read, 4 cache lines of the next block */
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++)
                _mm_prefetch(pf + (size_t)4 * 64 * (t / 16) + 64 * q, _MM_HINT_T0);
        __m512 xv[4];
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            xv[r] = r < R ? _mm512_loadu_ps(x[r] + t) : _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            __m512 wv = _mm512_loadu_ps(w[q] + t);
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++)
                if (r < R) acc[q][r] = _mm512_fmadd_ps(wv, xv[r], acc[q][r]);
        }
    }
    if (tail) {
        __m512 xv[4];
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            xv[r] = r < R ? _mm512_maskz_loadu_ps(tail, x[r] + kv) : _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            __m512 wv = _mm512_maskz_loadu_ps(tail, w[q] + kv);
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++)
                if (r < R) acc[q][r] = _mm512_fmadd_ps(wv, xv[r], acc[q][r]);
        }
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            if (r < R) out[q][r] = _mm512_reduce_add_ps(acc[q][r]);
}

#define F32_TILE_FN(R)                                                                             \
    __attribute__((target("avx512f"))) static void f32_tile_##R(                                   \
        const float *const w[4], const float *const x[4], int k, const char *pf, float out[4][4])  \
    {                                                                                              \
        f32_tile(w, x, R, k, pf, out);                                                             \
    }
F32_TILE_FN(1)
F32_TILE_FN(2)
F32_TILE_FN(3)
F32_TILE_FN(4)
typedef void (*f32_tile_fn)(const float *const w[4], const float *const x[4], int k,
                            const char *pf, float out[4][4]);
static const f32_tile_fn f32_tiles[4] = {f32_tile_1, f32_tile_2, f32_tile_3, f32_tile_4};

/* The same product with AVX-512: a block of 4 weight rows times up to 4 rows of A keeps up to
 * 16 independent accumulator chains in flight (the AVX2 kernel's 4 chains wait on the FMA
 * latency, which for 4 beams made the step compute-bound at ~1.7x the bandwidth bound). Weight
 * rows beyond n repeat the last one; their results are not stored. */
__attribute__((target("avx512f"))) static void small_m_nt_avx512(int m, int n, int k, float alpha,
                                                                  const float *a, int lda,
                                                                  const float *b, int ldb,
                                                                  float beta, float *c, int ldc)
{
    for (int j0 = 0; j0 < n; j0 += 4) {
        int jj = n - j0 < 4 ? n - j0 : 4;
        const float *w[4];
        four_rows(b, ldb, j0, n, w);
        /* the next block's weights, a block ahead of the loads (one pass over them per block) */
        const char *next = (const char *)(b + (size_t)(j0 + 4 < n ? j0 + 4 : j0) * ldb);
        for (int r0 = 0; r0 < m; r0 += 4) {
            int rr = m - r0 < 4 ? m - r0 : 4;
            const float *x[4];
            four_rows(a, lda, r0, m, x);
            float d[4][4];
            f32_tiles[rr - 1](w, x, k, r0 == 0 ? next : NULL, d);
            for (int r = 0; r < rr; r++)
                for (int q = 0; q < jj; q++) {
                    float *cj = c + (size_t)(r0 + r) * ldc + j0 + q;
                    *cj = alpha * d[q][r] + (beta != 0.0f ? beta * *cj : 0.0f);
                }
        }
    }
}
#endif

/* ---- Row panels: 17..PANEL_M_MAX rows times a weight matrix streamed from memory --------- *
 * sgemm copies ("packs") the whole weight matrix into its blocked layout before it computes, and
 * for a few dozen rows that copy costs as much as the product: the weights (12 MB per layer for
 * opus-mt-en-de) come from memory, and the packing waits for them without overlapping any
 * arithmetic. The panel kernel reads the weights in place instead. It computes the transposed
 * product C^T (n, m) = B (n, k) A^T: per k, a register tile of PANEL_NR rows of B times 64 rows
 * of A takes each B element as a broadcast and multiplies it into four 16-float vectors of a
 * transposed copy of A (Xt, (k, m), made once per call), so B is read once, sequentially, in its
 * own layout, while the next block of B rows is prefetched. The transposed result is turned back
 * into C with 16x16 register transposes, where alpha, beta and a bias are applied. The copies of
 * A and C are O(m (n + k)) against O(m n k) products: a few percent. Each output is one float32
 * fused multiply-add chain over k in order, whatever the shape, as sgemm's inner kernel does. */
#define PANEL_ROWS 128  /* rows of A per panel: Xt (k, 128) stays in L2 for k up to 2048 */
#define PANEL_M_MAX 384 /* from about 512 rows, sgemm's packing is amortised: as fast */
#define PANEL_NR 6      /* rows of B (outputs) per register tile */
#define PANEL_MV 4      /* 16-float vectors of A rows per register tile: 64 rows */

static int round16(int m)
{
    return (m + 15) & ~15;
}

size_t txi_gemm_ws_floats(int m, int n, int k)
{
    if (m <= SMALL_M_MAX || n < 1 || k < 1) return 0;
    /* Xt (k, rows) and C^T (n, rows); rows <= min(round16(m), PANEL_ROWS) for every m' <= m */
    size_t rows = m >= PANEL_ROWS ? PANEL_ROWS : (size_t)round16(m);
    return rows * ((size_t)n + (size_t)k);
}

#ifdef HAVE_AVX2_KERNEL
#define HAVE_PANEL_KERNEL 1

/* Rows of the panels m rows are split into (balanced, multiples of 16, at most PANEL_ROWS). */
static int panel_rows(int m)
{
    int n_panels = (m + PANEL_ROWS - 1) / PANEL_ROWS;
    return round16((m + n_panels - 1) / n_panels);
}

/* In place: r[i][j] <-> r[j][i] for sixteen 16-float rows. */
__attribute__((target("avx512f"))) static inline void transpose16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) { /* interleave pairs of rows: 2x2 blocks */
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) { /* 4x4 blocks within each 128-bit lane */
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) /* then the 128-bit lanes themselves */
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            t[8 * h + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + i + 4], 0x88);
            t[8 * h + i + 4] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + i + 4], 0xDD);
        }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    }
}

/* xt (k, mp) = a (m, k)^T with rows m..mp-1 of a read as zeros (mp a multiple of 16). */
__attribute__((target("avx512f"))) static void panel_pack_a(const float *a, int lda, int m, int k,
                                                            float *xt, int mp)
{
    for (int i0 = 0; i0 < mp; i0 += 16)
        for (int k0 = 0; k0 < k; k0 += 16) {
            int nk = k - k0 < 16 ? k - k0 : 16;
            __mmask16 mask = (__mmask16)((1u << nk) - 1);
            __m512 r[16];
#pragma GCC unroll 16
            for (int t = 0; t < 16; t++)
                r[t] = i0 + t < m ? _mm512_maskz_loadu_ps(mask, a + (size_t)(i0 + t) * lda + k0)
                                  : _mm512_setzero_ps();
            transpose16(r);
            for (int t = 0; t < nk; t++)
                _mm512_storeu_ps(xt + (size_t)(k0 + t) * mp + i0, r[t]);
        }
}

/* c (m, n) = alpha * ct (n, mp)^T [+ beta * c] [+ bias (n) on every row]. */
__attribute__((target("avx512f"))) static void panel_unpack_c(const float *ct, int mp, int m, int n,
                                                              float alpha, float beta,
                                                              const float *bias, float *c, int ldc)
{
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int j0 = 0; j0 < n; j0 += 16) {
        int nj = n - j0 < 16 ? n - j0 : 16;
        __mmask16 mask = (__mmask16)((1u << nj) - 1);
        __m512 bv = bias ? _mm512_maskz_loadu_ps(mask, bias + j0) : _mm512_setzero_ps();
        for (int i0 = 0; i0 < m; i0 += 16) {
            __m512 r[16];
#pragma GCC unroll 16
            for (int t = 0; t < 16; t++)
                r[t] =
                    t < nj ? _mm512_loadu_ps(ct + (size_t)(j0 + t) * mp + i0) : _mm512_setzero_ps();
            transpose16(r);
            int ni = m - i0 < 16 ? m - i0 : 16;
            for (int t = 0; t < ni; t++) {
                float *ci = c + (size_t)(i0 + t) * ldc + j0;
                __m512 v = _mm512_fmadd_ps(va, r[t], bv);
                if (beta != 0.0f) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, ci), v);
                _mm512_mask_storeu_ps(ci, mask, v);
            }
        }
    }
}

/* One register tile: ct[r][v*16 + l] = sum_t b[r][t] * xt[t][v*16 + l] for r < nr, v < mv,
 * with 16 * mv columns of xt (row stride mp) and nr rows of b (stride ldb). When pf is not NULL,
 * the nr rows at pf are prefetched along the way (the next tile's rows of b). Inlined with
 * constant mv and nr, the nr x mv accumulators live in registers. */
__attribute__((target("avx512f"), always_inline)) static inline void
panel_tile(const float *xt, int mp, const float *b, int ldb, int k, float *ct, int mv, int nr,
           const float *pf)
{
    /* loops run to the constant maxima and test the bounds, so that GCC unrolls them fully
     * and keeps acc and x in registers (the tests fold away when mv and nr are constants) */
    __m512 acc[PANEL_NR][PANEL_MV];
#pragma GCC unroll 8
    for (int r = 0; r < PANEL_NR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < PANEL_MV; v++)
            acc[r][v] = _mm512_setzero_ps();
    for (int t = 0; t < k; t++) {
        if (pf && (t & 15) == 0) /* one cache line of each next row per 16 steps */
#pragma GCC unroll 8
            for (int r = 0; r < PANEL_NR; r++)
                if (r < nr) _mm_prefetch((const char *)(pf + (size_t)r * ldb + t), _MM_HINT_T0);
        const float *xr = xt + (size_t)t * mp;
        __m512 x[PANEL_MV];
#pragma GCC unroll 4
        for (int v = 0; v < PANEL_MV; v++)
            x[v] = v < mv ? _mm512_loadu_ps(xr + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int r = 0; r < PANEL_NR; r++) {
            if (r >= nr) continue;
            __m512 bv = _mm512_set1_ps(b[(size_t)r * ldb + t]);
#pragma GCC unroll 4
            for (int v = 0; v < PANEL_MV; v++)
                if (v < mv) acc[r][v] = _mm512_fmadd_ps(bv, x[v], acc[r][v]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < PANEL_NR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < PANEL_MV; v++)
            if (r < nr && v < mv) _mm512_storeu_ps(ct + (size_t)r * mp + 16 * v, acc[r][v]);
}

/* The full-height tiles, one function per width (64, 48, 32 or 16 rows of A). */
#define PANEL_TILE_FN(MV)                                                                          \
    __attribute__((target("avx512f"))) static void panel_tile_##MV(                                \
        const float *xt, int mp, const float *b, int ldb, int k, float *ct, const float *pf)       \
    {                                                                                              \
        panel_tile(xt, mp, b, ldb, k, ct, MV, PANEL_NR, pf);                                       \
    }
PANEL_TILE_FN(1)
PANEL_TILE_FN(2)
PANEL_TILE_FN(3)
PANEL_TILE_FN(4)

/* The last rows of b (fewer than PANEL_NR): generic, run once per tile column. */
__attribute__((target("avx512f"))) static void
panel_tile_edge(const float *xt, int mp, const float *b, int ldb, int k, float *ct, int mv, int nr)
{
    panel_tile(xt, mp, b, ldb, k, ct, mv, nr, NULL);
}

/* C (m, n) = alpha A B^T + beta C + bias for one panel of m <= PANEL_ROWS rows; ws as
 * txi_gemm_ws_floats. */
__attribute__((target("avx512f"))) static void panel_nt(int m, int n, int k, float alpha,
                                                        const float *a, int lda, const float *b,
                                                        int ldb, float beta, const float *bias,
                                                        float *c, int ldc, float *ws)
{
    int mp = round16(m), n_vec = mp / 16;
    float *xt = ws;                  /* (k, mp) */
    float *ct = ws + (size_t)k * mp; /* (n, mp) */
    panel_pack_a(a, lda, m, k, xt, mp);
    /* column tiles of A rows: n_vec vectors split as evenly as possible into tiles of <= 4 */
    int n_tiles = (n_vec + PANEL_MV - 1) / PANEL_MV;
    for (int j0 = 0; j0 < n; j0 += PANEL_NR) {
        int nr = n - j0 < PANEL_NR ? n - j0 : PANEL_NR;
        const float *bj = b + (size_t)j0 * ldb;
        /* the next full block of b rows is prefetched while the first tile runs */
        const float *pf = j0 + 2 * PANEL_NR <= n ? bj + (size_t)PANEL_NR * ldb : NULL;
        for (int tile = 0, v0 = 0; tile < n_tiles; tile++) {
            int mv = n_vec / n_tiles + (tile < n_vec % n_tiles);
            const float *x = xt + 16 * v0;
            float *out = ct + (size_t)j0 * mp + 16 * v0;
            const float *p = tile == 0 ? pf : NULL;
            if (nr < PANEL_NR)
                panel_tile_edge(x, mp, bj, ldb, k, out, mv, nr);
            else if (mv == 4)
                panel_tile_4(x, mp, bj, ldb, k, out, p);
            else if (mv == 3)
                panel_tile_3(x, mp, bj, ldb, k, out, p);
            else if (mv == 2)
                panel_tile_2(x, mp, bj, ldb, k, out, p);
            else
                panel_tile_1(x, mp, bj, ldb, k, out, p);
            v0 += mv;
        }
    }
    panel_unpack_c(ct, mp, m, n, alpha, beta, bias, c, ldc);
}
#endif

#ifdef HAVE_PANEL_KERNEL
/* 1 when the panel kernel takes this product: its row range, the scratch it needs, a CPU with
 * AVX-512F, and single-threaded BLAS (the kernel runs on the calling thread only; with several
 * BLAS threads, sgemm splits the work between them). */
static int panel_applies(int m, int n, int k, const struct txi_gemm_ws *ws)
{
    if (m <= SMALL_M_MAX || m > PANEL_M_MAX || !ws || !ws->buf) return 0;
    size_t need = (size_t)panel_rows(m) * ((size_t)n + (size_t)k);
    return ws->n_floats >= need && __builtin_cpu_supports("avx512f") &&
           openblas_get_num_threads() == 1;
}

/* Runs the panel kernel over m rows, PANEL_ROWS at a time (each panel streams B once). */
static void panels_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                      int ldb, float beta, const float *bias, float *c, int ldc,
                      const struct txi_gemm_ws *ws)
{
    int rows = panel_rows(m);
    for (int i0 = 0; i0 < m; i0 += rows) {
        int mi = m - i0 < rows ? m - i0 : rows;
        panel_nt(mi, n, k, alpha, a + (size_t)i0 * lda, lda, b, ldb, beta, bias,
                 c + (size_t)i0 * ldc, ldc, ws->buf);
    }
}
#endif

int txi_small_m_nt_avx2(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                        int ldb, float beta, float *c, int ldc)
{
#ifdef HAVE_AVX2_KERNEL
    if (!have_avx2_fma()) return 0;
    small_m_nt_avx2(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return 1;
#else
    (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb, (void)beta,
        (void)c, (void)ldc;
    return 0;
#endif
}

void txi_small_m_nt_blas(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                         int ldb, float beta, float *c, int ldc)
{
    int block = 4 * SMALL_M_BLOCK;
    for (int j0 = 0; j0 < n; j0 += block) {
        int nb = n - j0 < block ? n - j0 : block;
        for (int r = 0; r < m; r++)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, nb, k, alpha, b + (size_t)j0 * ldb, ldb,
                        a + (size_t)r * lda, 1, beta, c + (size_t)r * ldc + j0, 1);
    }
}

void txi_matmul_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc)
{
    txi_matmul_nt_ws(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL);
}

int txi_rowwise_chunk(int k)
{
    /* rows of A kept in L2 (~256 KB) while every weight row passes them once */
    int rows = k > 0 ? (int)(((size_t)256 << 10) / ((size_t)k * sizeof(float))) : 128;
    rows &= ~3;
    return rows < SMALL_M_MAX ? SMALL_M_MAX : rows > 128 ? 128 : rows;
}

/* The batch-invariant product (ws->rowwise): the few-rows kernel over every row, in chunks of
 * txi_rowwise_chunk(k) rows (each chunk reads the weights once).
 * In each kernel a row's dot products are summed in an order fixed by k alone (AVX-512: 16
 * lanes, k in steps of 16, masked tail, one reduction; AVX2: 8 lanes, then a scalar tail; else
 * OpenBLAS sgemv for that row alone), so the rows around it change nothing. */
/* The few-rows product on the best kernel of the CPU: AVX-512F, else AVX2+FMA, else one sgemv
 * per row. */
static void small_m_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                       int ldb, float beta, float *c, int ldc)
{
#ifdef HAVE_AVX2_KERNEL
    if (__builtin_cpu_supports("avx512f")) {
        small_m_nt_avx512(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    if (have_avx2_fma()) {
        small_m_nt_avx2(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#endif
    txi_small_m_nt_blas(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void rowwise_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                       int ldb, float beta, float *c, int ldc)
{
    int chunk = txi_rowwise_chunk(k);
    for (int r0 = 0; r0 < m; r0 += chunk) {
        int mr = m - r0 < chunk ? m - r0 : chunk;
        small_m_nt(mr, n, k, alpha, a + (size_t)r0 * lda, lda, b, ldb, beta, c + (size_t)r0 * ldc,
                   ldc);
    }
}

int txi_gemm_ws_alloc(struct txi_gemm_ws *ws, struct txi_arena *a, size_t n_floats,
                      struct txi_pool *pool)
{
    ws->pool = pool;
    ws->rowwise = 0;
    ws->n_floats = (n_floats + 15) & ~(size_t)15;
    ws->buf = ws->n_floats ? txi_arena_alloc(a, ws->n_floats * (size_t)txi_pool_threads(pool),
                                             sizeof(float))
                           : NULL;
    return ws->n_floats && !ws->buf ? -1 : 0;
}

int txi_gemm_ws_splits(const struct txi_gemm_ws *ws, int n, int k)
{
    return ws && ws->pool && n >= 2 * TXI_SPLIT_ALIGN &&
           (size_t)n * (size_t)k >= TXI_SPLIT_MIN_WEIGHTS;
}

struct txi_gemm_ws txi_gemm_ws_part(const struct txi_gemm_ws *ws, int t)
{
    struct txi_gemm_ws part = {ws->buf ? ws->buf + (size_t)t * ws->n_floats : NULL, ws->n_floats,
                               ws->rowwise, NULL};
    return part;
}

/* The kernel an F32 product runs on, chosen once from the whole product's (m, n, k): the parts
 * of a split product run the same kernel on their columns. OpenBLAS's (sgemv, sgemm) are never
 * split, since their summation order may depend on the number of columns. */
typedef enum { NT_ROWWISE, NT_PANEL, NT_SGEMV, NT_SMALL, NT_SGEMM } nt_path;

static nt_path nt_path_of(int m, int n, int k, const struct txi_gemm_ws *ws)
{
    if (ws && ws->rowwise) return NT_ROWWISE;
#ifdef HAVE_PANEL_KERNEL
    if (panel_applies(m, n, k, ws)) return NT_PANEL;
#else
    (void)k, (void)ws;
#endif
    if (m == 1) return NT_SGEMV;
    if (m <= SMALL_M_MAX && n >= 4 * m) return NT_SMALL;
    return NT_SGEMM;
}

static int nt_path_splits(nt_path p)
{
    return p == NT_ROWWISE || p == NT_PANEL || p == NT_SMALL;
}

/* C (m, n) = alpha A B^T + beta C [+ bias on every row: NT_PANEL only, the others add none]
 * on the calling thread, with the kernel of path. */
static void nt_run(nt_path path, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, const float *bias, float *c, int ldc,
                   const struct txi_gemm_ws *ws)
{
    switch (path) {
    case NT_ROWWISE:
        rowwise_nt(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    case NT_PANEL:
#ifdef HAVE_PANEL_KERNEL
        panels_nt(m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc, ws);
        return;
#endif
    case NT_SGEMV: /* one row: a matrix-vector product reads B once */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, 1, beta, c, 1);
        return;
    case NT_SMALL:
        small_m_nt(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    case NT_SGEMM:
        break;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

/* An F32 product split between engine threads: part [j0, j1) of the output columns. */
struct nt_task {
    nt_path path;
    int m, k, lda, ldb, ldc;
    float alpha, beta;
    const float *a, *b;
    float *c;
    const struct txi_gemm_ws *ws;
};

static void nt_part(void *ctx, int t, int j0, int j1)
{
    const struct nt_task *p = ctx;
    struct txi_gemm_ws ws = txi_gemm_ws_part(p->ws, t);
    nt_run(p->path, p->m, j1 - j0, p->k, p->alpha, p->a, p->lda, p->b + (size_t)j0 * p->ldb,
           p->ldb, p->beta, NULL, p->c + j0, p->ldc, &ws);
}

void txi_matmul_nt_ws(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                      int ldb, float beta, float *c, int ldc, const struct txi_gemm_ws *ws)
{
    if (m <= 0 || n <= 0) return;
    nt_path path = nt_path_of(m, n, k, ws);
    if (nt_path_splits(path) && txi_gemm_ws_splits(ws, n, k)) {
        struct nt_task task = {path, m, k, lda, ldb, ldc, alpha, beta, a, b, c, ws};
        txi_pool_run(ws->pool, n, TXI_SPLIT_ALIGN, nt_part, &task);
        return;
    }
    nt_run(path, m, n, k, alpha, a, lda, b, ldb, beta, NULL, c, ldc, ws);
}

void txi_matmul_nn(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0) return;
    if (m == 1) {
        cblas_sgemv(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, a, 1, beta, c, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

/* Columns [j0, j0 + nj) of an F32 linear layer's output y (n, l->n_out), on the calling
 * thread, with the kernel of path (nt_path_of the whole layer). */
static void linear_f32(nt_path path, const struct txi_linear *l, int j0, int nj, const float *x,
                       int n, float *y, const struct txi_gemm_ws *ws)
{
    int ld = l->n_out;
    const float *w = l->w + (size_t)j0 * l->n_in, *bias = l->b ? l->b + j0 : NULL;
    /* the panel kernel adds the bias as it writes y; the others after */
    nt_run(path, n, nj, l->n_in, 1.0f, x, l->n_in, w, l->n_in, 0.0f, bias, y + j0, ld, ws);
    if (bias && path != NT_PANEL)
        for (int i = 0; i < n; i++)
            txi_add(y + (size_t)i * ld + j0, bias, (size_t)nj);
}

struct linear_task {
    nt_path path;
    const struct txi_linear *l;
    const float *x;
    int n;
    float *y;
    const struct txi_gemm_ws *ws;
};

static void linear_part(void *ctx, int t, int j0, int j1)
{
    const struct linear_task *p = ctx;
    struct txi_gemm_ws ws = txi_gemm_ws_part(p->ws, t);
    linear_f32(p->path, p->l, j0, j1 - j0, p->x, p->n, p->y, &ws);
}

void txi_linear_fwd(const struct txi_linear *l, const float *x, int n, float *y,
                    const struct txi_gemm_ws *ws)
{
    if (l->q) {
        txi_wfmt f = l->q_f16    ? TXI_W_F16
                     : l->q_bf16 ? TXI_W_BF16
                     : l->q_a8   ? TXI_W_Q8A8
                                 : TXI_W_Q8;
        txi_lp_matmul_nt(f, n, l->n_out, l->n_in, 1.0f, x, l->n_in, l->q, l->scale, 0.0f, l->b, y,
                         l->n_out, ws);
        return;
    }
    if (n <= 0) return;
    /* as before the split: a rowwise ws keeps its path; otherwise the panel kernel or, without
     * it, the products of txi_matmul_nt */
    nt_path path = nt_path_of(n, l->n_out, l->n_in, ws);
    if (nt_path_splits(path) && txi_gemm_ws_splits(ws, l->n_out, l->n_in)) {
        struct linear_task task = {path, l, x, n, y, ws};
        txi_pool_run(ws->pool, l->n_out, TXI_SPLIT_ALIGN, linear_part, &task);
        return;
    }
    linear_f32(path, l, 0, l->n_out, x, n, y, ws);
}

#ifdef HAVE_AVX2_KERNEL
/* Row kernels of the norms, AVX2. The sums run in double over four lanes (two vectors, for
 * independent additions), then add up: the order differs from a sequential loop only within
 * double rounding, far below the float32 rounding of the result. Each output element is computed
 * with the same operations, in the same precision, as the scalar loop. */

/* x (d) += y (d) when y is not NULL (float32 additions, as txi_add); returns sum x in double. */
__attribute__((target("avx2,fma"))) static double row_add_sum_avx2(float *x, const float *y, int d)
{
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    int j = 0;
    for (; j + 8 <= d; j += 8) {
        __m256 v = _mm256_loadu_ps(x + j);
        if (y) {
            v = _mm256_add_ps(v, _mm256_loadu_ps(y + j));
            _mm256_storeu_ps(x + j, v);
        }
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    double l[4];
    _mm256_storeu_pd(l, _mm256_add_pd(s0, s1));
    double sum = (l[0] + l[1]) + (l[2] + l[3]);
    for (; j < d; j++) {
        if (y) x[j] += y[j];
        sum += x[j];
    }
    return sum;
}

/* sum (x[j] - mean)^2 in double (mean = 0: the sum of squares). */
__attribute__((target("avx2,fma"))) static double row_sq_dev_avx2(const float *x, int d,
                                                                  double mean)
{
    __m256d m = _mm256_set1_pd(mean), s0 = _mm256_setzero_pd(), s1 = s0;
    int j = 0;
    for (; j + 8 <= d; j += 8) {
        __m256 v = _mm256_loadu_ps(x + j);
        __m256d a = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m);
        __m256d b = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m);
        s0 = _mm256_add_pd(s0, _mm256_mul_pd(a, a));
        s1 = _mm256_add_pd(s1, _mm256_mul_pd(b, b));
    }
    double l[4];
    _mm256_storeu_pd(l, _mm256_add_pd(s0, s1));
    double sum = (l[0] + l[1]) + (l[2] + l[3]);
    for (; j < d; j++)
        sum += (x[j] - mean) * (x[j] - mean);
    return sum;
}

/* o[j] = (float)((x[j] - mean) * inv) * w[j] + b[j] (b NULL: + 0); with rms set (no mean, no
 * bias) o[j] = w[j] * (float)(x[j] * inv): the scalar loops' expressions, element for element. */
__attribute__((target("avx2,fma"))) static void row_normalize_avx2(const float *x, int d,
                                                                   double mean, double inv,
                                                                   const float *w, const float *b,
                                                                   int rms, float *o)
{
    __m256d m = _mm256_set1_pd(mean), s = _mm256_set1_pd(inv);
    int j = 0;
    for (; j + 4 <= d; j += 4) {
        __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + j));
        __m128 f = _mm256_cvtpd_ps(_mm256_mul_pd(rms ? v : _mm256_sub_pd(v, m), s));
        f = _mm_mul_ps(f, _mm_loadu_ps(w + j));
        if (!rms) f = _mm_add_ps(f, b ? _mm_loadu_ps(b + j) : _mm_setzero_ps());
        _mm_storeu_ps(o + j, f);
    }
    for (; j < d; j++)
        o[j] = rms ? w[j] * (float)(x[j] * inv)
                   : (float)((x[j] - mean) * inv) * w[j] + (b ? b[j] : 0.0f);
}

#endif

/* One LayerNorm row: x (d) [+= y (d) first, when y is not NULL] -> o (d); o may be x. */
static void layernorm_row(float *x, const float *y, int d, const float *w, const float *b,
                          float eps, float *o)
{
#ifdef HAVE_AVX2_KERNEL
    if (have_avx2_fma()) {
        double mean = row_add_sum_avx2(x, y, d) / d;
        double var = row_sq_dev_avx2(x, d, mean) / d;
        row_normalize_avx2(x, d, mean, 1.0 / sqrt(var + (double)eps), w, b, 0, o);
        return;
    }
#endif
    if (y) txi_add(x, y, (size_t)d);
    double mean = 0, var = 0;
    for (int j = 0; j < d; j++)
        mean += x[j];
    mean /= d;
    for (int j = 0; j < d; j++)
        var += (x[j] - mean) * (x[j] - mean);
    var /= d;
    double inv = 1.0 / sqrt(var + (double)eps);
    for (int j = 0; j < d; j++)
        o[j] = (float)((x[j] - mean) * inv) * w[j] + (b ? b[j] : 0.0f);
}

/* One RMSNorm row, as layernorm_row. */
static void rmsnorm_row(float *x, const float *y, int d, const float *w, float eps, float *o)
{
#ifdef HAVE_AVX2_KERNEL
    if (have_avx2_fma()) {
        if (y) row_add_sum_avx2(x, y, d);
        double ss = row_sq_dev_avx2(x, d, 0.0);
        row_normalize_avx2(x, d, 0.0, 1.0 / sqrt(ss / d + (double)eps), w, NULL, 1, o);
        return;
    }
#endif
    if (y) txi_add(x, y, (size_t)d);
    double ss = 0;
    for (int j = 0; j < d; j++)
        ss += (double)x[j] * x[j];
    double inv = 1.0 / sqrt(ss / d + (double)eps);
    for (int j = 0; j < d; j++)
        o[j] = w[j] * (float)(x[j] * inv);
}

void txi_layernorm(const float *x, int n, int d, const float *w, const float *b, float eps,
                   float *out)
{
    /* the rows are only read (no residual is added), so casting const away is safe */
    for (int i = 0; i < n; i++)
        layernorm_row((float *)(uintptr_t)(x + (size_t)i * d), NULL, d, w, b, eps,
                      out + (size_t)i * d);
}

void txi_rmsnorm(const float *x, int n, int d, const float *w, float eps, float *out)
{
    for (int i = 0; i < n; i++)
        rmsnorm_row((float *)(uintptr_t)(x + (size_t)i * d), NULL, d, w, eps, out + (size_t)i * d);
}

void txi_norm_fwd(const struct txi_norm *nm, const float *x, int n, int d, float eps, float *out)
{
    if (nm->b)
        txi_layernorm(x, n, d, nm->w, nm->b, eps, out);
    else
        txi_rmsnorm(x, n, d, nm->w, eps, out);
}

void txi_add_norm_fwd(const struct txi_norm *nm, float *x, const float *y, int n, int d, float eps)
{
    for (int i = 0; i < n; i++) {
        float *xi = x + (size_t)i * d;
        const float *yi = y + (size_t)i * d;
        if (nm->b)
            layernorm_row(xi, yi, d, nm->w, nm->b, eps, xi);
        else
            rmsnorm_row(xi, yi, d, nm->w, eps, xi);
    }
}

#ifdef HAVE_AVX2_KERNEL
/* e^v for v in [-87, 88], eight lanes: Cody-Waite range reduction v = n ln2 + r and Cephes'
 * expf polynomial on |r| <= ln2 / 2 (within 2 ulp of expf), 2^n from the exponent bits. */
__attribute__((target("avx2,fma"))) static inline __m256 exp_avx2(__m256 v)
{
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 c1 = _mm256_set1_ps(0.693359375f), c2 = _mm256_set1_ps(-2.12194440e-4f);
    __m256 fn =
        _mm256_round_ps(_mm256_mul_ps(v, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fn, c1, v);
    r = _mm256_fnmadd_ps(fn, c2, r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 e = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    __m256i pow2 =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fn), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(e, _mm256_castsi256_ps(pow2));
}

/* SiLU x / (1 + e^-x) eight lanes at a time (exp_avx2). Inputs below -87 give 0 * x (as expf
 * underflows), above 88 give x. */
__attribute__((target("avx2,fma"))) static void silu_avx2(float *x, size_t n)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 lo = _mm256_set1_ps(-87.0f), hi = _mm256_set1_ps(88.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i);
        __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(), xv), lo), hi);
        __m256 e = exp_avx2(v); /* e^-x */
        _mm256_storeu_ps(x + i, _mm256_div_ps(xv, _mm256_add_ps(one, e)));
    }
    for (; i < n; i++)
        x[i] = x[i] / (1.0f + expf(-x[i]));
}

/* The maximum of x (n), eight lanes at a time (a NaN is skipped, as by the scalar comparison);
 * -inf when n is 0 or every value is -inf or NaN. */
__attribute__((target("avx2,fma"))) static float row_max_avx2(const float *x, int n)
{
    __m256 vm = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        vm = _mm256_max_ps(_mm256_loadu_ps(x + i), vm);
    float lanes[8], mx = -INFINITY;
    _mm256_storeu_ps(lanes, vm);
    for (int l = 0; l < 8; l++)
        if (lanes[l] > mx) mx = lanes[l];
    for (; i < n; i++)
        if (x[i] > mx) mx = x[i];
    return mx;
}

/* txi_softmax_row: the maximum, e = exp(x - max) by exp_avx2 (exactly 0 below e^-87, so -inf
 * gives 0, as expf underflows) summed in double over four lanes, then division by the sum.
 * softmax_exp_from_avx2 stores and sums the exponentials from i on into s0/s1 (as
 * sum_exp_from_avx2) and returns the sum. */
__attribute__((target("avx2,fma"))) static double
softmax_exp_from_avx2(float *x, int i, int n, float mx, const double acc[8])
{
    const __m256 vmx = _mm256_set1_ps(mx), lo = _mm256_set1_ps(-87.0f);
    __m256d s0 = _mm256_loadu_pd(acc), s1 = _mm256_loadu_pd(acc + 4);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_sub_ps(_mm256_loadu_ps(x + i), vmx);
        __m256 under = _mm256_cmp_ps(v, lo, _CMP_LT_OQ); /* masked keys (-inf) among them */
        __m256 e = _mm256_andnot_ps(under, exp_avx2(_mm256_max_ps(lo, v))); /* NaN stays NaN */
        _mm256_storeu_ps(x + i, e);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double l[4];
    _mm256_storeu_pd(l, _mm256_add_pd(s0, s1));
    double sum = (l[0] + l[1]) + (l[2] + l[3]);
    for (; i < n; i++) {
        x[i] = x[i] == -INFINITY ? 0.0f : expf(x[i] - mx);
        sum += x[i];
    }
    return sum;
}

__attribute__((target("avx2,fma"))) static void softmax_avx2(float *x, int n)
{
    float mx = row_max_avx2(x, n);
    static const double zero[8];
    double sum = softmax_exp_from_avx2(x, 0, n, mx, zero);
    __m256 vs = _mm256_set1_ps((float)sum);
    int i;
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_div_ps(_mm256_loadu_ps(x + i), vs));
    for (; i < n; i++)
        x[i] /= (float)sum;
}

/* The sum of exp(x - mx) over x (n), mx the maximum (finite): exp_avx2, 0 below e^-87, summed
 * in double over four lanes, the tail with expf. One order of summation for txi_log_softmax and
 * txi_log_sum_exp. sum_exp_from_avx2 runs the eight-lane loop from i on, adding into s0 (lanes
 * 0-3 of each eight) and s1 (lanes 4-7) that start at acc (s0's four lanes, then s1's), then
 * reduces: the AVX-512 loop hands it its lanes. */
__attribute__((target("avx2,fma"))) static double sum_exp_from_avx2(const float *x, int i, int n,
                                                                    float mx, const double acc[8])
{
    const __m256 vmx = _mm256_set1_ps(mx), lo = _mm256_set1_ps(-87.0f);
    __m256d s0 = _mm256_loadu_pd(acc), s1 = _mm256_loadu_pd(acc + 4);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_sub_ps(_mm256_loadu_ps(x + i), vmx);
        __m256 under = _mm256_cmp_ps(v, lo, _CMP_LT_OQ);
        __m256 e = _mm256_andnot_ps(under, exp_avx2(_mm256_max_ps(lo, v)));
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double l[4];
    _mm256_storeu_pd(l, _mm256_add_pd(s0, s1));
    double sum = (l[0] + l[1]) + (l[2] + l[3]);
    for (; i < n; i++)
        sum += expf(x[i] - mx);
    return sum;
}

/* ---- AVX-512 twins: the same operations lane for lane -------------------------------------- *
 * Where the CPU has AVX-512 (and a test has not forced AVX2: txi_ops_force_avx2), the vector
 * loops below take sixteen lanes at a time. Each lane does what the AVX2 loop's lane does, in
 * the same order, and every sum keeps the AVX2 loop's accumulators (a 512-bit register holding
 * its two 256-bit ones), so results are bit for bit the AVX2 path's: only the instruction count
 * halves. */
static int force_avx2;

void txi_ops_force_avx2(int on)
{
    force_avx2 = on;
}

static int use_avx512(void)
{
    return !force_avx2 && __builtin_cpu_supports("avx512f") && have_avx2_fma();
}

/* exp_avx2, sixteen lanes. */
__attribute__((target("avx512f,avx2,fma"))) static inline __m512 exp_avx512(__m512 v)
{
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 c1 = _mm512_set1_ps(0.693359375f), c2 = _mm512_set1_ps(-2.12194440e-4f);
    __m512 fn = _mm512_roundscale_ps(_mm512_mul_ps(v, log2e),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fn, c1, v);
    r = _mm512_fnmadd_ps(fn, c2, r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 e = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    __m512i pow2 =
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fn), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(e, _mm512_castsi512_ps(pow2));
}

/* e = exp(x[i..i+15] - mx), 0 below e^-87 (the AVX2 loops' andnot of the compare). */
__attribute__((target("avx512f,avx2,fma"))) static inline __m512 exp_shifted_avx512(const float *x,
                                                                                    __m512 vmx)
{
    const __m512 lo = _mm512_set1_ps(-87.0f);
    __m512 v = _mm512_sub_ps(_mm512_loadu_ps(x), vmx);
    __mmask16 under = _mm512_cmp_ps_mask(v, lo, _CMP_LT_OQ);
    return _mm512_maskz_mov_ps((__mmask16)~under, exp_avx512(_mm512_max_ps(lo, v)));
}

/* s (lanes 0-3: the AVX2 loop's s0, 4-7: its s1) += the eight values of e's half h, as the
 * AVX2 loop adds one block of eight. */
__attribute__((target("avx512f,avx2,fma"))) static inline __m512d add_half_pd(__m512d s, __m512 e,
                                                                              int h)
{
    __m256 half = h ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))
                    : _mm512_castps512_ps256(e);
    return _mm512_add_pd(s, _mm512_cvtps_pd(half));
}

__attribute__((target("avx512f,avx2,fma"))) static double sum_exp_avx512(const float *x, int n,
                                                                         float mx)
{
    const __m512 vmx = _mm512_set1_ps(mx);
    __m512d s = _mm512_setzero_pd();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp_shifted_avx512(x + i, vmx);
        s = add_half_pd(add_half_pd(s, e, 0), e, 1);
    }
    double acc[8];
    _mm512_storeu_pd(acc, s);
    return sum_exp_from_avx2(x, i, n, mx, acc);
}

/* The sum of exp(x - mx) on the widest vector loop the CPU has (the same bits on either). */
static double sum_exp_vec(const float *x, int n, float mx)
{
    static const double zero[8];
    if (use_avx512()) return sum_exp_avx512(x, n, mx);
    return sum_exp_from_avx2(x, 0, n, mx, zero);
}

/* silu_avx2, sixteen lanes first. */
__attribute__((target("avx512f,avx2,fma"))) static void silu_avx512(float *x, size_t n)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 lo = _mm512_set1_ps(-87.0f), hi = _mm512_set1_ps(88.0f);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 xv = _mm512_loadu_ps(x + i);
        __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), xv), lo), hi);
        _mm512_storeu_ps(x + i, _mm512_div_ps(xv, _mm512_add_ps(one, exp_avx512(v))));
    }
    silu_avx2(x + i, n - i);
}

/* softmax_avx2, sixteen lanes first: the exponentials stored and summed as there. */
__attribute__((target("avx512f,avx2,fma"))) static void softmax_avx512(float *x, int n)
{
    float mx = row_max_avx2(x, n);
    const __m512 vmx = _mm512_set1_ps(mx);
    __m512d s = _mm512_setzero_pd();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp_shifted_avx512(x + i, vmx);
        _mm512_storeu_ps(x + i, e);
        s = add_half_pd(add_half_pd(s, e, 0), e, 1);
    }
    double acc[8];
    _mm512_storeu_pd(acc, s);
    double sum = softmax_exp_from_avx2(x, i, n, mx, acc);
    __m512 vs = _mm512_set1_ps((float)sum);
    for (i = 0; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, _mm512_div_ps(_mm512_loadu_ps(x + i), vs));
    for (; i < n; i++)
        x[i] /= (float)sum;
}

/* out = (x - mx) - lse, eight lanes at a time: txi_log_softmax's scalar expression. */
__attribute__((target("avx2,fma"))) static void log_softmax_store_avx2(const float *x, int n,
                                                                       float mx, float lse,
                                                                       float *out)
{
    const __m256 vmx = _mm256_set1_ps(mx), vl = _mm256_set1_ps(lse);
    int i;
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx), vl));
    for (; i < n; i++)
        out[i] = (x[i] - mx) - lse;
}
#endif

#ifdef HAVE_AVX2_KERNEL
__attribute__((target("avx2"))) static size_t first_above_avx2(const float *x, size_t from,
                                                                 size_t n, float thr)
{
    const __m256 t = _mm256_set1_ps(thr);
    size_t i = from;
    for (; i + 8 <= n; i += 8) {
        int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), t, _CMP_GT_OQ));
        if (mask) return i + (size_t)__builtin_ctz((unsigned)mask);
    }
    for (; i < n; i++)
        if (x[i] > thr) return i;
    return n;
}
#endif

size_t txi_first_above(const float *x, size_t from, size_t n, float thr)
{
#ifdef HAVE_AVX2_KERNEL
    if (__builtin_cpu_supports("avx2")) return first_above_avx2(x, from, n, thr);
#endif
    for (size_t i = from; i < n; i++)
        if (x[i] > thr) return i;
    return n;
}

/* ---- one query row against a few keys (a decode step's attention, per head) -------------- *
 * A BLAS call per head and row costs more than its few thousand multiply-adds; these loops do
 * them in place. Each result depends on its own operands only (not on n_k or the row's
 * neighbours), so decode steps stay batch-invariant. */
#ifdef HAVE_AVX2_KERNEL
__attribute__((target("avx2,fma"))) static void dot_rows_avx2(const float *q, const float *k,
                                                              int ld_k, int n_k, int d,
                                                              float scale, float *s)
{
    int dv = d & ~15;
    for (int j = 0; j < n_k; j++) {
        const float *kj = k + (size_t)j * ld_k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        for (int t = 0; t < dv; t += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + t), _mm256_loadu_ps(kj + t), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + t + 8), _mm256_loadu_ps(kj + t + 8), a1);
        }
        float dot = hsum256(_mm256_add_ps(a0, a1));
        for (int t = dv; t < d; t++)
            dot += q[t] * kj[t];
        s[j] = scale * dot;
    }
}

__attribute__((target("avx2,fma"))) static void axpy_rows_avx2(const float *p, int n_k,
                                                               const float *v, int ld_v, int d,
                                                               float *out)
{
    int t0 = 0;
    for (; t0 + 64 <= d; t0 += 64) { /* 64 outputs in 8 registers across the keys */
        __m256 acc[8];
        for (int u = 0; u < 8; u++)
            acc[u] = _mm256_setzero_ps();
        for (int j = 0; j < n_k; j++) {
            const float *vj = v + (size_t)j * ld_v + t0;
            __m256 pj = _mm256_set1_ps(p[j]);
            for (int u = 0; u < 8; u++)
                acc[u] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8 * u), acc[u]);
        }
        for (int u = 0; u < 8; u++)
            _mm256_storeu_ps(out + t0 + 8 * u, acc[u]);
    }
    for (; t0 + 8 <= d; t0 += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (int j = 0; j < n_k; j++)
            acc = _mm256_fmadd_ps(_mm256_set1_ps(p[j]),
                                  _mm256_loadu_ps(v + (size_t)j * ld_v + t0), acc);
        _mm256_storeu_ps(out + t0, acc);
    }
    for (; t0 < d; t0++) {
        float acc = 0.0f;
        for (int j = 0; j < n_k; j++)
            acc = fmaf(p[j], v[(size_t)j * ld_v + t0], acc);
        out[t0] = acc;
    }
}
/* dot_rows_avx2, sixteen lanes: one register holds its a0 (lanes 0-7) and a1 (8-15). */
__attribute__((target("avx512f,avx2,fma"))) static void dot_rows_avx512(const float *q,
                                                                        const float *k, int ld_k,
                                                                        int n_k, int d,
                                                                        float scale, float *s)
{
    int dv = d & ~15;
    for (int j = 0; j < n_k; j++) {
        const float *kj = k + (size_t)j * ld_k;
        __m512 a = _mm512_setzero_ps();
        for (int t = 0; t < dv; t += 16)
            a = _mm512_fmadd_ps(_mm512_loadu_ps(q + t), _mm512_loadu_ps(kj + t), a);
        float dot = hsum256(_mm256_add_ps(_mm512_castps512_ps256(a),
                                          _mm256_castpd_ps(_mm512_extractf64x4_pd(
                                              _mm512_castps_pd(a), 1))));
        for (int t = dv; t < d; t++)
            dot += q[t] * kj[t];
        s[j] = scale * dot;
    }
}

/* axpy_rows_avx2, sixteen lanes: its 64-output blocks in four registers (each output the same
 * chain of multiply-adds over the keys); the rest by axpy_rows_avx2. */
__attribute__((target("avx512f,avx2,fma"))) static void axpy_rows_avx512(const float *p, int n_k,
                                                                         const float *v, int ld_v,
                                                                         int d, float *out)
{
    int t0 = 0;
    for (; t0 + 64 <= d; t0 += 64) {
        __m512 acc[4];
        for (int u = 0; u < 4; u++)
            acc[u] = _mm512_setzero_ps();
        for (int j = 0; j < n_k; j++) {
            const float *vj = v + (size_t)j * ld_v + t0;
            __m512 pj = _mm512_set1_ps(p[j]);
            for (int u = 0; u < 4; u++)
                acc[u] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + 16 * u), acc[u]);
        }
        for (int u = 0; u < 4; u++)
            _mm512_storeu_ps(out + t0 + 16 * u, acc[u]);
    }
    if (t0 < d) axpy_rows_avx2(p, n_k, v + t0, ld_v, d - t0, out + t0);
}
#endif

void txi_dot_rows(const float *q, const float *k, int ld_k, int n_k, int d, float scale,
                  float *s)
{
#ifdef HAVE_AVX2_KERNEL
    if (use_avx512()) {
        dot_rows_avx512(q, k, ld_k, n_k, d, scale, s);
        return;
    }
    if (have_avx2_fma()) {
        dot_rows_avx2(q, k, ld_k, n_k, d, scale, s);
        return;
    }
#endif
    for (int j = 0; j < n_k; j++) {
        const float *kj = k + (size_t)j * ld_k;
        float dot = 0.0f;
        for (int t = 0; t < d; t++)
            dot += q[t] * kj[t];
        s[j] = scale * dot;
    }
}

void txi_axpy_rows(const float *p, int n_k, const float *v, int ld_v, int d, float *out)
{
#ifdef HAVE_AVX2_KERNEL
    if (use_avx512()) {
        axpy_rows_avx512(p, n_k, v, ld_v, d, out);
        return;
    }
    if (have_avx2_fma()) {
        axpy_rows_avx2(p, n_k, v, ld_v, d, out);
        return;
    }
#endif
    for (int t = 0; t < d; t++) {
        float acc = 0.0f;
        for (int j = 0; j < n_k; j++)
            acc = fmaf(p[j], v[(size_t)j * ld_v + t], acc);
        out[t] = acc;
    }
}

void txi_softmax_row(float *x, int n)
{
#ifdef HAVE_AVX2_KERNEL
    if (use_avx512()) {
        softmax_avx512(x, n);
        return;
    }
    if (have_avx2_fma()) {
        softmax_avx2(x, n);
        return;
    }
#endif
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx) mx = x[i];
    double sum = 0;
    for (int i = 0; i < n; i++) {
        float e = x[i] == -INFINITY ? 0.0f : expf(x[i] - mx);
        x[i] = e;
        sum += e;
    }
    for (int i = 0; i < n; i++)
        x[i] /= (float)sum;
}

void txi_activation(float *x, size_t n, txi_act act)
{
    /* float32 arithmetic with the libm float functions, as torch evaluates these */
    switch (act) {
    case TXI_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case TXI_ACT_GELU: /* exact: x * Phi(x) */
        for (size_t i = 0; i < n; i++)
            x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
        break;
    case TXI_ACT_GELU_NEW: /* tanh approximation (transformers NewGELUActivation) */
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        }
        break;
    case TXI_ACT_SILU: /* x * sigmoid(x) */
#ifdef HAVE_AVX2_KERNEL
        if (use_avx512()) {
            silu_avx512(x, n);
            break;
        }
        if (have_avx2_fma()) {
            silu_avx2(x, n);
            break;
        }
#endif
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] / (1.0f + expf(-x[i]));
        break;
    }
}

void txi_add(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

/* The maximum of x (n) (NaNs passed over) and, when it is finite, *sum = the sum of
 * e^(x - max) in double (sum_exp_vec where the CPU has AVX2, else expf one at a time): the
 * reduction txi_log_softmax and txi_log_sum_exp share. */
static float max_and_sum_exp(const float *x, int n, double *sum)
{
    *sum = 0;
#ifdef HAVE_AVX2_KERNEL
    if (have_avx2_fma()) {
        float mx = row_max_avx2(x, n);
        if (mx != -INFINITY) *sum = sum_exp_vec(x, n, mx);
        return mx;
    }
#endif
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx) mx = x[i];
    if (mx == -INFINITY) return mx;
    for (int i = 0; i < n; i++)
        *sum += expf(x[i] - mx);
    return mx;
}

void txi_log_softmax(const float *x, int n, float *out)
{
    double sum;
    float mx = max_and_sum_exp(x, n, &sum);
    if (mx == -INFINITY) { /* nothing possible: torch gives NaN; keep -inf */
        for (int i = 0; i < n; i++)
            out[i] = -INFINITY;
        return;
    }
    float lse = (float)log(sum);
#ifdef HAVE_AVX2_KERNEL
    if (have_avx2_fma()) {
        log_softmax_store_avx2(x, n, mx, lse, out);
        return;
    }
#endif
    for (int i = 0; i < n; i++)
        out[i] = (x[i] - mx) - lse;
}

int txi_argmax(const float *x, int n)
{
    if (n < 1 || isnan(x[0])) return 0; /* the scalar loop never leaves a NaN at 0 */
#ifdef HAVE_AVX2_KERNEL
    if (have_avx2_fma()) {
        float mx = row_max_avx2(x, n); /* NaNs skipped */
        if (mx == -INFINITY) return 0;
        return (int)txi_first_above(x, 0, (size_t)n, nextafterf(mx, -INFINITY));
    }
#endif
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

double txi_log_sum_exp(const float *x, int n)
{
    double sum;
    float mx = max_and_sum_exp(x, n, &sum);
    return mx == -INFINITY ? -INFINITY : mx + log(sum);
}

float txi_kth_largest(const float *x, int n, int k, float *tmp)
{
    memcpy(tmp, x, (size_t)n * sizeof *tmp);
    /* quickselect for index k-1 in descending order */
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        float pivot = tmp[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (tmp[i] > pivot)
                i++;
            while (tmp[j] < pivot)
                j--;
            if (i <= j) {
                float t = tmp[i];
                tmp[i] = tmp[j];
                tmp[j] = t;
                i++;
                j--;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            break;
    }
    return tmp[want];
}

/* The process-wide BLAS thread count (tx.h). */
void tx_blas_set_threads(int n_threads)
{
    openblas_set_num_threads(n_threads > 0 ? n_threads : 1);
}
