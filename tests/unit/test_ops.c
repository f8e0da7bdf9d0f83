/* test_ops.c — the dense operations against naive double loops on random and edge shapes:
 * matrix products on every path (sgemv, the few-rows kernels, sgemm), LayerNorm, RMSNorm,
 * activations, log-softmax and k-th largest. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "quant.h"
#include "tx.h"
#include "testutil.h"

static uint64_t rng = 777;

static float *rnd(size_t n)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = tu_rand_uniform(&rng, -1, 1);
    return x;
}

typedef void (*matmul_fn)(int, int, int, float, const float *, int, const float *, int, float,
                          float *, int);

static void check_nt(matmul_fn fn, int m, int n, int k, float alpha, float beta)
{
    int lda = k + 1, ldb = k + 3, ldc = n + 2;
    float *a = rnd((size_t)m * lda), *b = rnd((size_t)n * ldb), *c = rnd((size_t)m * ldc);
    float *c0 = malloc((size_t)m * ldc * sizeof *c0);
    memcpy(c0, c, (size_t)m * ldc * sizeof *c);
    fn(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int t = 0; t < k; t++)
                s += (double)a[i * lda + t] * b[j * ldb + t];
            double want = alpha * s + (beta != 0 ? beta * c0[i * ldc + j] : 0);
            cr_assert(fabs(c[i * ldc + j] - want) <= 1e-5 * (1 + sqrt((double)k)),
                      "m=%d n=%d k=%d [%d][%d]: %g vs %g", m, n, k, i, j, (double)c[i * ldc + j],
                      want);
        }
    for (int i = 0; i < m; i++) /* the padding between rows is untouched */
        for (int j = n; j < ldc; j++)
            cr_assert_eq(c[i * ldc + j], c0[i * ldc + j]);
    free(a), free(b), free(c), free(c0);
}

static const int mnk[][3] = {{1, 1, 1},    {1, 300, 17},  {2, 8, 8},     {3, 40, 9},   {4, 101, 64},
                             {5, 64, 1},   {7, 33, 130},  {8, 200, 512}, {13, 64, 31}, {16, 65, 24},
                             {17, 70, 40}, {64, 96, 128}, {3, 2, 5}};

Test(matmul, nt_matches_a_naive_loop_on_every_path)
{
    for (size_t s = 0; s < sizeof mnk / sizeof mnk[0]; s++) {
        check_nt(txi_matmul_nt, mnk[s][0], mnk[s][1], mnk[s][2], 1.0f, 0.0f);
        check_nt(txi_matmul_nt, mnk[s][0], mnk[s][1], mnk[s][2], 0.5f, 0.0f);
        check_nt(txi_matmul_nt, mnk[s][0], mnk[s][1], mnk[s][2], 1.0f, 1.0f);
    }
}

Test(matmul, portable_few_rows_product_matches_a_naive_loop)
{
    for (size_t s = 0; s < sizeof mnk / sizeof mnk[0]; s++) {
        check_nt(txi_small_m_nt_blas, mnk[s][0], mnk[s][1], mnk[s][2], 1.0f, 0.0f);
        check_nt(txi_small_m_nt_blas, mnk[s][0], mnk[s][1], mnk[s][2], 2.0f, 1.0f);
    }
}

static void small_m_avx2(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                         int ldb, float beta, float *c, int ldc)
{
    cr_assert(txi_small_m_nt_avx2(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
}

/* txi_matmul_nt takes the AVX-512 kernel where the CPU has it; the AVX2 one still serves CPUs
 * without AVX-512, so it is checked on its own. */
Test(matmul, avx2_few_rows_product_matches_a_naive_loop)
{
    float probe = 0;
    if (!txi_small_m_nt_avx2(1, 1, 1, 1.0f, &probe, 1, &probe, 1, 0.0f, &probe, 1)) {
        TU_SKIP("no AVX2+FMA on this CPU");
        return;
    }
    for (size_t s = 0; s < sizeof mnk / sizeof mnk[0]; s++)
        if (mnk[s][0] <= 16) {
            check_nt(small_m_avx2, mnk[s][0], mnk[s][1], mnk[s][2], 1.0f, 0.0f);
            check_nt(small_m_avx2, mnk[s][0], mnk[s][1], mnk[s][2], 2.0f, 1.0f);
        }
}

Test(matmul, nn_matches_a_naive_loop)
{
    const int shapes[][3] = {{1, 5, 7}, {1, 1, 1}, {6, 9, 4}, {33, 17, 65}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = rnd((size_t)m * k), *b = rnd((size_t)k * n), *c = malloc((size_t)m * n * 4);
        txi_matmul_nn(m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double w = 0;
                for (int t = 0; t < k; t++)
                    w += (double)a[i * k + t] * b[t * n + j];
                cr_assert(fabs(c[i * n + j] - w) < 1e-5 * (1 + k));
            }
        free(a), free(b), free(c);
    }
}

Test(norms, layernorm_and_rmsnorm_match_the_definitions)
{
    const int dims[][2] = {{1, 1}, {3, 7}, {5, 512}};
    for (size_t s = 0; s < 3; s++) {
        int n = dims[s][0], d = dims[s][1];
        float *x = rnd((size_t)n * d), *w = rnd(d), *b = rnd(d);
        float *ln = malloc((size_t)n * d * 4), *rms = malloc((size_t)n * d * 4);
        txi_layernorm(x, n, d, w, b, 1e-5f, ln);
        txi_rmsnorm(x, n, d, w, 1e-6f, rms);
        for (int i = 0; i < n; i++) {
            double mean = 0, var = 0, ss = 0;
            for (int j = 0; j < d; j++)
                mean += x[i * d + j], ss += (double)x[i * d + j] * x[i * d + j];
            mean /= d;
            for (int j = 0; j < d; j++)
                var += (x[i * d + j] - mean) * (x[i * d + j] - mean);
            var /= d;
            for (int j = 0; j < d; j++) {
                double want_ln = (x[i * d + j] - mean) / sqrt(var + 1e-5) * w[j] + b[j];
                double want_rms = w[j] * x[i * d + j] / sqrt(ss / d + 1e-6);
                cr_assert(fabs(ln[i * d + j] - want_ln) < 1e-5, "layernorm [%d][%d]", i, j);
                cr_assert(fabs(rms[i * d + j] - want_rms) < 1e-5, "rmsnorm [%d][%d]", i, j);
            }
        }
        txi_layernorm(x, n, d, w, b, 1e-5f, x); /* in place gives the same */
        cr_assert_eq(memcmp(x, ln, (size_t)n * d * 4), 0);
        free(x), free(w), free(b), free(ln), free(rms);
    }
}

Test(activations, match_their_definitions)
{
    /* edge values, then random ones (vector lanes and the scalar tail) */
    float xs[203] = {-200.0f, -88.5f, -87.2f, -20.0f, -3.5f, -1.0f, -0.1f,  0.0f,  -0.0f,
                     0.3f,    1.0f,   2.5f,   15.0f,  87.5f, 88.7f, 200.0f, 1e-20f};
    for (int i = 17; i < 203; i++)
        xs[i] = tu_rand_uniform(&rng, -30, 30);
    const int n = 203;
    for (int act = TXI_ACT_RELU; act <= TXI_ACT_SILU; act++) {
        float y[203];
        memcpy(y, xs, sizeof xs);
        txi_activation(y, (size_t)n, (txi_act)act);
        for (int i = 0; i < n; i++) {
            double v = xs[i], want = 0;
            switch (act) {
            case TXI_ACT_RELU:
                want = v > 0 ? v : 0;
                break;
            case TXI_ACT_GELU:
                want = 0.5 * v * (1 + erf(v / sqrt(2.0)));
                break;
            case TXI_ACT_GELU_NEW:
                want = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
                break;
            case TXI_ACT_SILU:
                want = v / (1 + exp(-v));
                break;
            }
            cr_assert(fabs(y[i] - want) <= 1e-6 * (1 + fabs(want)), "act %d at %g: %g vs %g", act,
                      v, (double)y[i], want);
        }
    }
}

Test(softmax_ops, log_softmax_and_kth_largest)
{
    const float x[5] = {1.0f, -2.0f, 3.0f, 0.5f, -INFINITY};
    float out[5];
    txi_log_softmax(x, 5, out);
    double lse = log(exp(1.0) + exp(-2.0) + exp(3.0) + exp(0.5));
    for (int i = 0; i < 4; i++)
        cr_assert(fabs(out[i] - (x[i] - lse)) < 1e-6);
    cr_assert(isinf(out[4]) && out[4] < 0);
    float tmp[7];
    const float v[7] = {4, 9, 1, 9, 3, 7, 2};
    const float want[7] = {9, 9, 7, 4, 3, 2, 1};
    for (int k = 1; k <= 7; k++)
        cr_assert_eq(txi_kth_largest(v, 7, k, tmp), want[k - 1]);
}

Test(softmax_ops, log_softmax_and_log_sum_exp_of_vocabulary_sized_rows_match_a_double_reference)
{
    /* the vectorised path (8 lanes, a tail) on odd lengths, with banned tokens (-inf), a
     * spread of magnitudes (values far below the maximum underflow to 0), all-but-one banned,
     * and every value banned */
    uint64_t seed = 99;
    const int ns[] = {1, 7, 8, 9, 33, 1000, 8003, 58101};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        int n = ns[t];
        float *x = malloc((size_t)n * sizeof *x), *out = malloc((size_t)n * sizeof *out);
        cr_assert(x && out);
        for (int i = 0; i < n; i++)
            x[i] = tu_rand_uniform(&seed, -30, 12);
        for (int i = 3; i < n; i += 17)
            x[i] = -INFINITY;
        for (int pass = 0; pass < 3; pass++) {
            if (pass == 1) /* one possible token */
                for (int i = 0; i < n; i++)
                    x[i] = i == n / 2 ? 1.5f : -INFINITY;
            if (pass == 2) /* none */
                for (int i = 0; i < n; i++)
                    x[i] = -INFINITY;
            txi_log_softmax(x, n, out);
            double mx = -INFINITY, sum = 0;
            for (int i = 0; i < n; i++)
                mx = fmax(mx, x[i]);
            for (int i = 0; i < n; i++)
                sum += isinf(x[i]) ? 0 : exp((double)x[i] - mx);
            for (int i = 0; i < n; i++) {
                if (isinf(x[i])) {
                    cr_assert(isinf(out[i]) && out[i] < 0, "n=%d pass %d: out[%d] = %g", n, pass,
                              i, out[i]);
                    continue;
                }
                double want = (double)x[i] - mx - log(sum);
                cr_assert(fabs(out[i] - want) <= 4e-6 * (1 + fabs(want)),
                          "n=%d pass %d: out[%d] = %.9g, expected %.9g", n, pass, i, out[i], want);
            }
            /* the reduction alone (greedy search's score): the same log-sum-exp */
            double lse = txi_log_sum_exp(x, n);
            if (pass == 2)
                cr_assert(isinf(lse) && lse < 0, "n=%d: every value banned gives -inf", n);
            else
                cr_assert(fabs(lse - (mx + log(sum))) <= 4e-6 * (1 + fabs(mx + log(sum))),
                          "n=%d pass %d: log-sum-exp %.9g, expected %.9g", n, pass, lse,
                          mx + log(sum));
        }
        free(x), free(out);
    }
}

Test(softmax_ops, first_above_finds_the_first_value_over_the_threshold)
{
    uint64_t seed = 5;
    float x[203];
    for (int i = 0; i < 203; i++)
        x[i] = tu_rand_uniform(&seed, -1, 1);
    x[50] = NAN;
    const float thrs[] = {-2.0f, 0.0f, 0.9f, 0.99f, 2.0f};
    for (size_t t = 0; t < sizeof thrs / sizeof thrs[0]; t++)
        for (size_t from = 0; from <= 203; from += 7)
            for (size_t n = from; n <= 203; n += 13) {
                size_t want = n;
                for (size_t i = from; i < n; i++)
                    if (x[i] > thrs[t]) {
                        want = i;
                        break;
                    }
                cr_assert_eq(txi_first_above(x, from, n, thrs[t]), want,
                             "thr %g from %zu n %zu", thrs[t], from, n);
            }
}

/* txi_matmul_nt_ws through check_nt: scratch sized by txi_gemm_ws_floats for each product. */
static void nt_with_scratch(int m, int n, int k, float alpha, const float *a, int lda,
                            const float *b, int ldb, float beta, float *c, int ldc)
{
    struct txi_gemm_ws ws = {NULL, txi_gemm_ws_floats(m, n, k), 0, NULL};
    ws.buf = ws.n_floats ? malloc(ws.n_floats * sizeof(float)) : NULL;
    txi_matmul_nt_ws(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, &ws);
    free(ws.buf);
}

Test(matmul, nt_with_scratch_matches_a_naive_loop_on_the_row_panel_path)
{
    /* one BLAS thread: the row-panel kernel takes 17..384 rows (on a CPU with AVX-512F). Rows:
     * one tile, uneven tiles, two and three panels, past the panel range; columns: below, at
     * and past one register tile (6) with a remainder; inner sizes around the 16-wide blocks */
    tx_blas_set_threads(1);
    const int ms[] = {17, 31, 64, 65, 100, 128, 129, 200, 384, 400};
    const int nks[][2] = {{1, 1}, {5, 16}, {6, 17}, {7, 15}, {37, 64}, {96, 130}};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        for (size_t j = 0; j < sizeof nks / sizeof nks[0]; j++) {
            int m = ms[i], n = nks[j][0], k = nks[j][1];
            check_nt(nt_with_scratch, m, n, k, 1.0f, 0.0f);
            check_nt(nt_with_scratch, m, n, k, 0.5f, 0.0f);
            check_nt(nt_with_scratch, m, n, k, 1.0f, 1.0f);
        }
}

Test(matmul, nt_with_too_little_scratch_still_computes_the_product)
{
    tx_blas_set_threads(1);
    int m = 64, n = 40, k = 33;
    size_t need = txi_gemm_ws_floats(m, n, k);
    cr_assert_gt(need, 0);
    cr_assert_eq(txi_gemm_ws_floats(16, n, k), 0, "16 rows or fewer never take the panel kernel");
    float *a = rnd((size_t)m * k), *b = rnd((size_t)n * k);
    float *c = malloc((size_t)m * n * 4), *want = malloc((size_t)m * n * 4);
    struct txi_gemm_ws ws = {malloc(need * sizeof(float)), need - 1, 0, NULL}; /* one float short */
    txi_matmul_nt_ws(m, n, k, 1.0f, a, k, b, k, 0.0f, c, n, &ws);
    txi_matmul_nt(m, n, k, 1.0f, a, k, b, k, 0.0f, want, n);
    cr_assert_eq(memcmp(c, want, (size_t)m * n * 4), 0, "falls back to txi_matmul_nt");
    free(a), free(b), free(c), free(want), free(ws.buf);
}

Test(linear, adds_the_bias_as_torch_linear_on_every_path)
{
    tx_blas_set_threads(1);
    const int rows[] = {1, 5, 16, 17, 64, 150, 500};
    int n_in = 70, n_out = 45;
    float *w = rnd((size_t)n_out * n_in), *bias = rnd((size_t)n_out);
    for (int with_bias = 0; with_bias < 2; with_bias++)
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            int n = rows[r];
            struct txi_linear l = {w, with_bias ? bias : NULL, n_in, n_out, NULL, NULL, 0, 0, 0};
            float *x = rnd((size_t)n * n_in), *y = malloc((size_t)n * n_out * 4);
            struct txi_gemm_ws ws = {NULL, txi_gemm_ws_floats(n, n_out, n_in), 0, NULL};
            ws.buf = ws.n_floats ? malloc(ws.n_floats * sizeof(float)) : NULL;
            for (int use_ws = 0; use_ws < 2; use_ws++) {
                txi_linear_fwd(&l, x, n, y, use_ws ? &ws : NULL);
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n_out; j++) {
                        double s = with_bias ? bias[j] : 0.0;
                        for (int t = 0; t < n_in; t++)
                            s += (double)x[i * n_in + t] * w[j * n_in + t];
                        cr_assert(fabs(y[i * n_out + j] - s) < 1e-4, "n=%d ws=%d [%d][%d]", n,
                                  use_ws, i, j);
                    }
            }
            free(x), free(y), free(ws.buf);
        }
    free(w), free(bias);
}

Test(norms, residual_add_then_norm_equals_the_two_steps)
{
    /* widths below, at and past the 8-float vectors of the row kernels */
    const int dims[] = {1, 3, 8, 17, 512};
    for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
        int n = 3, d = dims[s];
        float *x = rnd((size_t)n * d), *y = rnd((size_t)n * d), *w = rnd(d), *b = rnd(d);
        float *fused = malloc((size_t)n * d * 4), *steps = malloc((size_t)n * d * 4);
        for (int kind = 0; kind < 2; kind++) { /* LayerNorm, then RMSNorm */
            struct txi_norm nm = {w, kind == 0 ? b : NULL};
            memcpy(fused, x, (size_t)n * d * 4);
            memcpy(steps, x, (size_t)n * d * 4);
            txi_add_norm_fwd(&nm, fused, y, n, d, 1e-5f);
            txi_add(steps, y, (size_t)n * d);
            txi_norm_fwd(&nm, steps, n, d, 1e-5f, steps);
            cr_assert_eq(memcmp(fused, steps, (size_t)n * d * 4), 0, "d=%d kind=%d", d, kind);
        }
        free(x), free(y), free(w), free(b), free(fused), free(steps);
    }
}

Test(softmax_ops, softmax_row_matches_the_definition_and_zeroes_minus_infinity)
{
    /* lengths below, at and past the 8-float vectors; a spread of magnitudes, -inf entries and
     * values far below the maximum (whose e^x underflows) */
    const int lens[] = {1, 2, 7, 8, 9, 64, 1000};
    for (size_t s = 0; s < sizeof lens / sizeof lens[0]; s++) {
        int n = lens[s];
        float *x = malloc((size_t)n * 4), *p = malloc((size_t)n * 4);
        for (int i = 0; i < n; i++)
            x[i] = tu_rand_uniform(&rng, -20, 20);
        if (n > 1) x[n / 2] = -INFINITY;
        if (n > 2) x[n - 1] = -150.0f;
        memcpy(p, x, (size_t)n * 4);
        txi_softmax_row(p, n);
        /* x - max is rounded to float first, as torch (and the function) computes it */
        float mx = -INFINITY;
        double sum = 0;
        for (int i = 0; i < n; i++)
            if (x[i] > mx) mx = x[i];
        for (int i = 0; i < n; i++)
            sum += exp((double)(x[i] - mx));
        for (int i = 0; i < n; i++) {
            double want = exp((double)(x[i] - mx)) / sum;
            cr_assert(fabs(p[i] - want) <= 1e-6 * want + 1e-30, "n=%d [%d]: %g vs %g", n, i,
                      (double)p[i], want);
            if (isinf(x[i])) cr_assert_eq(p[i], 0.0f, "-inf gives exactly 0");
        }
        free(x), free(p);
    }
}

/* Batch invariance (txi_gemm_ws.rowwise): every row of a product of m rows is bit for bit the
 * product of that row alone, for every m (within and past the 16-row kernel, across the
 * row-panel range), F32, int8 and F16 weights, with and without a bias. Without rowwise the
 * same check fails: a row alone goes through sgemv, 17+ rows through the panel kernel, whose
 * sums run in other orders (asserted below, so the check can fail). */
Test(linear, rowwise_products_give_each_row_what_it_gives_alone)
{
    tx_blas_set_threads(1);
    const int rows[] = {2, 3, 4, 5, 8, 15, 16, 17, 31, 40, 64, 100};
    int n_in = 200, n_out = 90;
    float *w = rnd((size_t)n_out * n_in), *bias = rnd((size_t)n_out);
    int8_t *q8 = malloc((size_t)n_out * n_in + txi_w8a8_packed_bytes(n_out, n_in));
    float *scale = malloc((size_t)n_out * sizeof(float));
    uint16_t *h16 = malloc((size_t)n_out * n_in * sizeof(uint16_t));
    txi_q8_quantize(w, n_out, n_in, q8, scale);
    txi_f16_convert(w, (size_t)n_out * n_in, h16);
    txi_w8a8_pack(q8, n_out, n_in, q8 + (size_t)n_out * n_in); /* w8a8 reads the packing */
    float *scale_sums = malloc((size_t)n_out * 2 * sizeof(float)); /* w8a8: scales, row sums */
    for (int j = 0; j < n_out; j++) {
        int sum = 0;
        for (int t = 0; t < n_in; t++)
            sum += q8[(size_t)j * n_in + t];
        scale_sums[j] = scale[j];
        scale_sums[n_out + j] = (float)sum;
    }
    int m_max = 100;
    size_t nws = txi_gemm_ws_floats(m_max, n_out, n_in) + txi_q8_ws_floats(m_max, n_out, n_in);
    float *buf = malloc(nws * sizeof(float));
    float *x = rnd((size_t)m_max * n_in), *y = malloc((size_t)m_max * n_out * 4);
    float *alone = malloc((size_t)n_out * 4);
    int differed_without = 0;
    for (int fmt = 0; fmt < 4; fmt++) /* F32, int8, F16, w8a8 */
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            struct txi_linear l = {fmt == 0 ? w : NULL, with_bias ? bias : NULL, n_in, n_out,
                                   fmt == 1             ? (const void *)q8
                                   : fmt == 3 ? (const void *)(q8 + (size_t)n_out * n_in)
                                   : fmt == 2           ? (const void *)h16
                                                        : NULL,
                                   fmt == 3 ? scale_sums : scale, fmt == 2, fmt == 3, 0};
            for (int rw = 1; rw >= 0; rw--)
                for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
                    int m = rows[r];
                    struct txi_gemm_ws ws = {buf, nws, rw, NULL};
                    txi_linear_fwd(&l, x, m, y, &ws);
                    for (int i = 0; i < m; i++) {
                        txi_linear_fwd(&l, x + (size_t)i * n_in, 1, alone, &ws);
                        int same = memcmp(alone, y + (size_t)i * n_out, (size_t)n_out * 4) == 0;
                        if (rw)
                            cr_assert(same, "fmt %d bias %d: row %d of %d differs from alone",
                                      fmt, with_bias, i, m);
                        else
                            differed_without |= !same;
                    }
                }
        }
    cr_assert(differed_without, "without rowwise some row should differ (the check can fail)");
    free(w), free(bias), free(q8), free(scale), free(h16), free(buf), free(x), free(y), free(alone);
    free(scale_sums);
}

/* A decode step's attention for one query row (txi_dot_rows, txi_axpy_rows): against double
 * loops, for head sizes on and off the vector widths and strided key/value rows; and each key's
 * score, each context, the same whatever the other keys (a row's numbers depend on its own
 * operands: the decode group's batch invariance). */
Test(attention_row, scores_and_context_match_double_loops_and_do_not_depend_on_the_other_keys)
{
    const int ds[] = {1, 7, 8, 16, 24, 64, 72, 128};
    for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
        int d = ds[di], n_k = 23, ld = d + 5;
        float *q = rnd((size_t)d), *k = rnd((size_t)n_k * ld), *v = rnd((size_t)n_k * ld);
        float *p = rnd((size_t)n_k), s[23], s_few[23], *out = malloc((size_t)d * sizeof *out);
        float *out_few = malloc((size_t)d * sizeof *out_few);
        txi_dot_rows(q, k, ld, n_k, d, 0.125f, s);
        for (int j = 0; j < n_k; j++) {
            double want = 0;
            for (int t = 0; t < d; t++)
                want += (double)q[t] * k[(size_t)j * ld + t];
            want *= 0.125;
            cr_assert(fabs(s[j] - want) <= 1e-5 * (1 + fabs(want)), "d %d key %d: %g vs %g", d, j,
                      s[j], want);
        }
        txi_dot_rows(q, k + 4 * (size_t)ld, ld, 6, d, 0.125f, s_few); /* keys 4..9 alone */
        cr_assert_eq(memcmp(s_few, s + 4, 6 * sizeof(float)), 0, "d %d", d);
        txi_axpy_rows(p, n_k, v, ld, d, out);
        for (int t = 0; t < d; t++) {
            double want = 0;
            for (int j = 0; j < n_k; j++)
                want += (double)p[j] * v[(size_t)j * ld + t];
            cr_assert(fabs(out[t] - want) <= 1e-5 * (1 + fabs(want)), "d %d out %d: %g vs %g", d,
                      t, out[t], want);
        }
        /* zero weights add nothing: the context of 3 keys padded with 20 zero-weight keys is
         * the context of the 3 keys, bit for bit */
        for (int j = 3; j < n_k; j++)
            p[j] = 0.0f;
        txi_axpy_rows(p, 3, v, ld, d, out_few);
        txi_axpy_rows(p, n_k, v, ld, d, out);
        cr_assert_eq(memcmp(out, out_few, (size_t)d * sizeof(float)), 0, "d %d", d);
        free(q), free(k), free(v), free(p), free(out), free(out_few);
    }
}

/* The AVX-512 loops (softmax, log-softmax, log-sum-exp, SiLU, one query's scores and context)
 * claim the AVX2 loops' bits exactly: both paths on the same inputs, compared with memcmp, on
 * lengths around the 8- and 16-lane blocks and a vocabulary, with -inf (banned tokens, masked
 * keys), values below e^-87 and large activations. Where the CPU lacks AVX-512 both runs take
 * the AVX2 path and the test only checks that forcing it changes nothing. */
Test(vector_paths, avx512_loops_give_the_avx2_loops_bits)
{
    if (!__builtin_cpu_supports("avx512f"))
        cr_log_info("no AVX-512 here: both runs take the AVX2 loops");
    uint64_t seed = 4242;
    const int ns[] = {1, 7, 8, 15, 16, 17, 24, 31, 33, 64, 100, 1000, 8003};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        int n = ns[t];
        float *x = malloc((size_t)n * sizeof *x), *a = malloc((size_t)n * sizeof *a),
              *b = malloc((size_t)n * sizeof *b);
        cr_assert(x && a && b);
        for (int i = 0; i < n; i++)
            x[i] = tu_rand_uniform(&seed, -120, 40);
        for (int i = 2; i < n; i += 13)
            x[i] = -INFINITY;
        for (int pass = 0; pass < 5; pass++) {
            for (int f = 0; f < 2; f++) {
                float *o = f ? b : a;
                txi_ops_force_avx2(f);
                memcpy(o, x, (size_t)n * sizeof *o);
                switch (pass) {
                case 0: txi_softmax_row(o, n); break;
                case 1: txi_log_softmax(x, n, o); break;
                case 2: { /* the reduction alone: its double in place of the row's first value */
                    double l = txi_log_sum_exp(x, n);
                    o[0] = (float)l;
                    o[n - 1] = (float)(l - (float)l) * 1e6f; /* and the digits float drops */
                    break;
                }
                case 3:
                    for (int i = 0; i < n; i++) /* finite: SiLU of activations */
                        o[i] = isinf(x[i]) ? 3.0f : x[i] * 0.5f;
                    txi_activation(o, (size_t)n, TXI_ACT_SILU);
                    break;
                case 4: txi_softmax_row(o, n); break; /* after -inf at the start */
                }
            }
            txi_ops_force_avx2(0);
            cr_assert(!memcmp(a, b, (size_t)n * sizeof *a), "n=%d pass %d: the two paths differ",
                      n, pass);
            x[0] = -INFINITY;
        }
        free(x), free(a), free(b);
    }
    /* one query row against 1..40 keys of 64, 72 and 200 values (head sizes, with tails) */
    const int ds[] = {64, 72, 200};
    for (size_t t = 0; t < sizeof ds / sizeof ds[0]; t++) {
        int d = ds[t], nk = 40, ld = d + 5;
        float *q = rnd((size_t)d), *k = rnd((size_t)nk * ld), *p = rnd((size_t)nk);
        float s0[40], s1[40], *c0 = malloc((size_t)d * sizeof *c0),
                              *c1 = malloc((size_t)d * sizeof *c1);
        for (int n_k = 1; n_k <= nk; n_k += 3) {
            txi_ops_force_avx2(1);
            txi_dot_rows(q, k, ld, n_k, d, 0.125f, s0);
            txi_axpy_rows(p, n_k, k, ld, d, c0);
            txi_ops_force_avx2(0);
            txi_dot_rows(q, k, ld, n_k, d, 0.125f, s1);
            txi_axpy_rows(p, n_k, k, ld, d, c1);
            cr_assert(!memcmp(s0, s1, (size_t)n_k * sizeof *s0), "d=%d n_k=%d: scores differ", d,
                      n_k);
            cr_assert(!memcmp(c0, c1, (size_t)d * sizeof *c0), "d=%d n_k=%d: contexts differ", d,
                      n_k);
        }
        free(q), free(k), free(p), free(c0), free(c1);
    }
}

/* txi_argmax against the scalar loop it replaces (`x[i] > x[best]` from best = 0): random
 * rows with ties of the maximum (the first wins), NaNs (passed over; at index 0 they give 0),
 * banned tokens (-inf), all banned, +inf, signed zeros, lengths around the vector blocks. */
Test(softmax_ops, argmax_is_the_first_largest_value_as_the_scalar_loop)
{
    uint64_t seed = 31;
    const int ns[] = {1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 8000};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        int n = ns[t];
        float *x = malloc((size_t)n * sizeof *x);
        cr_assert(x);
        for (int pass = 0; pass < 8; pass++) {
            for (int i = 0; i < n; i++)
                x[i] = (float)(int)tu_rand_uniform(&seed, -50, 50); /* integers: many ties */
            if (pass == 1)
                for (int i = 0; i < n; i += 3)
                    x[i] = NAN;
            if (pass == 2) x[0] = NAN;
            if (pass == 3)
                for (int i = 0; i < n; i++)
                    x[i] = -INFINITY;
            if (pass == 4) x[n - 1] = INFINITY, x[n / 2] = INFINITY;
            if (pass == 5)
                for (int i = 0; i < n; i++)
                    x[i] = i % 2 ? -0.0f : 0.0f;
            if (pass == 6)
                for (int i = 0; i < n; i++)
                    x[i] = i == n - 1 ? 1.0f : -INFINITY;
            if (pass == 7)
                for (int i = 0; i < n; i++)
                    x[i] = i % 5 ? NAN : -INFINITY;
            int best = 0;
            for (int i = 1; i < n; i++)
                if (x[i] > x[best]) best = i;
            int got = txi_argmax(x, n);
            cr_assert_eq(got, best, "n=%d pass %d: argmax %d, the scalar loop %d", n, pass, got,
                         best);
        }
        free(x);
    }
}
