/* ops.c — dense tensor operations on row-major F32 arrays (see ops.h). Reductions of norms and
 * softmax accumulate in double, then round once: closer to the exact value than PyTorch's
 * float accumulation, which keeps the difference to it at float32 rounding level. */
#include "ops.h"

#include <cblas.h>
#include <math.h>
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

__attribute__((target("avx2,fma"))) static float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
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
            /* rows beyond m repeat the last one; their results are not stored */
            const float *x0 = a + (size_t)r0 * lda;
            const float *x1 = rr > 1 ? x0 + lda : x0;
            const float *x2 = rr > 2 ? x1 + lda : x1;
            const float *x3 = rr > 3 ? x2 + lda : x2;
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
            const float *xs[4] = {x0, x1, x2, x3};
            for (int r = 0; r < rr; r++) {
                for (int u = t; u < k; u++)
                    d[r] += w[u] * xs[r][u];
                float *cj = c + (size_t)(r0 + r) * ldc + j;
                *cj = alpha * d[r] + (beta != 0.0f ? beta * *cj : 0.0f);
            }
        }
    }
}
#endif

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
    if (m <= 0 || n <= 0) return;
    if (m == 1) {
        /* one row: a matrix-vector product reads B once */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, 1, beta, c, 1);
        return;
    }
    if (m <= SMALL_M_MAX && n >= 4 * m) {
#ifdef HAVE_AVX2_KERNEL
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            small_m_nt_avx2(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
#endif
        txi_small_m_nt_blas(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
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

void txi_linear_fwd(const struct txi_linear *l, const float *x, int n, float *y)
{
    txi_matmul_nt(n, l->n_out, l->n_in, 1.0f, x, l->n_in, l->w, l->n_in, 0.0f, y, l->n_out);
    if (l->b)
        for (int i = 0; i < n; i++)
            txi_add(y + (size_t)i * l->n_out, l->b, (size_t)l->n_out);
}

void txi_layernorm(const float *x, int n, int d, const float *w, const float *b, float eps,
                   float *out)
{
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        float *oi = out + (size_t)i * d;
        double mean = 0, var = 0;
        for (int j = 0; j < d; j++)
            mean += xi[j];
        mean /= d;
        for (int j = 0; j < d; j++)
            var += (xi[j] - mean) * (xi[j] - mean);
        var /= d;
        double inv = 1.0 / sqrt(var + (double)eps);
        for (int j = 0; j < d; j++)
            oi[j] = (float)((xi[j] - mean) * inv) * w[j] + (b ? b[j] : 0.0f);
    }
}

void txi_rmsnorm(const float *x, int n, int d, const float *w, float eps, float *out)
{
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        float *oi = out + (size_t)i * d;
        double ss = 0;
        for (int j = 0; j < d; j++)
            ss += (double)xi[j] * xi[j];
        double inv = 1.0 / sqrt(ss / d + (double)eps);
        for (int j = 0; j < d; j++)
            oi[j] = w[j] * (float)(xi[j] * inv);
    }
}

void txi_norm_fwd(const struct txi_norm *nm, const float *x, int n, int d, float eps, float *out)
{
    if (nm->b)
        txi_layernorm(x, n, d, nm->w, nm->b, eps, out);
    else
        txi_rmsnorm(x, n, d, nm->w, eps, out);
}

#ifdef HAVE_AVX2_KERNEL
/* SiLU x / (1 + e^-x) eight lanes at a time. e^v by Cody-Waite range reduction v = n ln2 + r
 * and Cephes' expf polynomial on |r| <= ln2 / 2 (within 2 ulp of expf), 2^n from the exponent
 * bits. Inputs below -87 give 0 * x (as expf underflows), above 88 give x. */
__attribute__((target("avx2,fma"))) static void silu_avx2(float *x, size_t n)
{
    const __m256 one = _mm256_set1_ps(1.0f), log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 c1 = _mm256_set1_ps(0.693359375f), c2 = _mm256_set1_ps(-2.12194440e-4f);
    const __m256 lo = _mm256_set1_ps(-87.0f), hi = _mm256_set1_ps(88.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i);
        __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(), xv), lo), hi);
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
        __m256 e = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), one);
        __m256i pow2 =
            _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fn), _mm256_set1_epi32(127)), 23);
        e = _mm256_mul_ps(e, _mm256_castsi256_ps(pow2)); /* e^-x */
        _mm256_storeu_ps(x + i, _mm256_div_ps(xv, _mm256_add_ps(one, e)));
    }
    for (; i < n; i++)
        x[i] = x[i] / (1.0f + expf(-x[i]));
}
#endif

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
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
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

void txi_log_softmax(const float *x, int n, float *out)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx) mx = x[i];
    if (mx == -INFINITY) { /* nothing possible: torch gives NaN; keep -inf */
        for (int i = 0; i < n; i++)
            out[i] = -INFINITY;
        return;
    }
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += expf(x[i] - mx);
    float lse = (float)log(sum);
    for (int i = 0; i < n; i++)
        out[i] = (x[i] - mx) - lse;
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
