/* ops.c — dense tensor operations on row-major F32 arrays (see ops.h). Reductions of norms and
 * softmax accumulate in double, then round once: closer to the exact value than PyTorch's
 * float accumulation, which keeps the difference to it at float32 rounding level. */
#include "ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void txi_matmul_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0) return;
    if (m == 1) {
        /* one row: a matrix-vector product reads B once (the decode step's common case) */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, 1, beta, c, 1);
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
        for (int i = 0; i < n; i++) txi_add(y + (size_t)i * l->n_out, l->b, (size_t)l->n_out);
}

void txi_layernorm(const float *x, int n, int d, const float *w, const float *b, float eps,
                   float *out)
{
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        float *oi = out + (size_t)i * d;
        double mean = 0, var = 0;
        for (int j = 0; j < d; j++) mean += xi[j];
        mean /= d;
        for (int j = 0; j < d; j++) var += (xi[j] - mean) * (xi[j] - mean);
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
        for (int j = 0; j < d; j++) ss += (double)xi[j] * xi[j];
        double inv = 1.0 / sqrt(ss / d + (double)eps);
        for (int j = 0; j < d; j++) oi[j] = w[j] * (float)(xi[j] * inv);
    }
}

void txi_norm_fwd(const struct txi_norm *nm, const float *x, int n, int d, float eps, float *out)
{
    if (nm->b)
        txi_layernorm(x, n, d, nm->w, nm->b, eps, out);
    else
        txi_rmsnorm(x, n, d, nm->w, eps, out);
}

void txi_activation(float *x, size_t n, txi_act act)
{
    switch (act) {
    case TXI_ACT_RELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case TXI_ACT_GELU: /* exact: x * Phi(x) */
        for (size_t i = 0; i < n; i++) {
            double v = x[i];
            x[i] = (float)(0.5 * v * (1.0 + erf(v * M_SQRT1_2)));
        }
        break;
    case TXI_ACT_GELU_NEW: /* tanh approximation (transformers NewGELUActivation) */
        for (size_t i = 0; i < n; i++) {
            double v = x[i];
            x[i] = (float)(0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))));
        }
        break;
    case TXI_ACT_SILU:
        for (size_t i = 0; i < n; i++) {
            double v = x[i];
            x[i] = (float)(v / (1.0 + exp(-v)));
        }
        break;
    }
}

void txi_add(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

void txi_log_softmax(const float *x, int n, float *out)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx) mx = x[i];
    if (mx == -INFINITY) { /* nothing possible: torch gives NaN; keep -inf */
        for (int i = 0; i < n; i++) out[i] = -INFINITY;
        return;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) sum += exp((double)x[i] - mx);
    float lse = (float)log(sum);
    for (int i = 0; i < n; i++) out[i] = (x[i] - mx) - lse;
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
            while (tmp[i] > pivot) i++;
            while (tmp[j] < pivot) j--;
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
