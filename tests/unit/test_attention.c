/* test_attention.c — every attention primitive against a naive double-precision loop, on random
 * data and edge shapes (1, odd, large): scores (dot, Luong general, Bahdanau additive), masked
 * softmax (padding, causal, local window, hard/top-k), multi-head attention with strides and a
 * relative bias, position encodings, T5 buckets (against transformers' own table) and rollout. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "positions.h"
#include "ops.h"
#include "testutil.h"
#include "tx.h"

static uint64_t rng = 12345;

static float *rnd(size_t n, float lo, float hi)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    cr_assert_not_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = tu_rand_uniform(&rng, lo, hi);
    return x;
}

static void close_to(const float *got, const double *want, size_t n, double tol, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double t = tol * (1.0 + fabs(want[i]));
        cr_assert(fabs(got[i] - want[i]) <= t, "%s[%zu]: got %.8g, want %.8g", what, i,
                  (double)got[i], want[i]);
    }
}

static const int shapes[][3] = {{1, 1, 1},    {1, 7, 5},      {3, 1, 4},    {7, 13, 9},
                                {64, 70, 64}, {130, 257, 33}, {2, 300, 128}};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

Test(scores, dot_product_matches_a_naive_loop)
{
    for (size_t s = 0; s < N_SHAPES; s++) {
        int nq = shapes[s][0], nk = shapes[s][1], d = shapes[s][2], ld = d + 3;
        float *q = rnd((size_t)nq * ld, -1, 1), *k = rnd((size_t)nk * ld, -1, 1);
        float *got = malloc((size_t)nq * nk * sizeof *got);
        double *want = malloc((size_t)nq * nk * sizeof *want);
        float scale = 1.0f / sqrtf((float)d);
        txi_score_dot(q, ld, k, ld, nq, nk, d, scale, got);
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < nk; j++) {
                double a = 0;
                for (int t = 0; t < d; t++)
                    a += (double)q[i * ld + t] * k[j * ld + t];
                want[i * nk + j] = a * scale;
            }
        close_to(got, want, (size_t)nq * nk, 1e-5, "dot");
        free(q), free(k), free(got), free(want);
    }
}

Test(scores, luong_general_matches_a_naive_loop)
{
    for (size_t s = 0; s < N_SHAPES; s++) {
        int nq = shapes[s][0], nk = shapes[s][1], dq = shapes[s][2], dk = dq + 2;
        float *q = rnd((size_t)nq * dq, -1, 1), *k = rnd((size_t)nk * dk, -1, 1);
        float *w = rnd((size_t)dq * dk, -0.5f, 0.5f), *tmp = malloc((size_t)nq * dk * 4);
        float *got = malloc((size_t)nq * nk * 4);
        double *want = malloc((size_t)nq * nk * 8);
        txi_score_general(q, nq, dq, k, nk, dk, w, tmp, got);
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < nk; j++) {
                double a = 0;
                for (int x = 0; x < dq; x++)
                    for (int y = 0; y < dk; y++)
                        a += (double)q[i * dq + x] * w[x * dk + y] * k[j * dk + y];
                want[i * nk + j] = a;
            }
        close_to(got, want, (size_t)nq * nk, 3e-5, "general");
        free(q), free(k), free(w), free(tmp), free(got), free(want);
    }
}

Test(scores, bahdanau_additive_matches_a_naive_loop)
{
    for (size_t s = 0; s < 5; s++) {
        int nq = shapes[s][0], nk = shapes[s][1], dq = shapes[s][2], dk = dq + 1, da = 11;
        float *q = rnd((size_t)nq * dq, -1, 1), *k = rnd((size_t)nk * dk, -1, 1);
        float *wq = rnd((size_t)da * dq, -1, 1), *wk = rnd((size_t)da * dk, -1, 1);
        float *v = rnd(da, -1, 1), *tmp = malloc((size_t)(nq + nk) * da * 4);
        float *got = malloc((size_t)nq * nk * 4);
        double *want = malloc((size_t)nq * nk * 8);
        txi_score_additive(q, nq, dq, k, nk, dk, wq, wk, v, da, tmp, got);
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < nk; j++) {
                double a = 0;
                for (int t = 0; t < da; t++) {
                    double h = 0;
                    for (int x = 0; x < dq; x++)
                        h += (double)wq[t * dq + x] * q[i * dq + x];
                    for (int x = 0; x < dk; x++)
                        h += (double)wk[t * dk + x] * k[j * dk + x];
                    a += v[t] * tanh(h);
                }
                want[i * nk + j] = a;
            }
        close_to(got, want, (size_t)nq * nk, 1e-5, "additive");
        free(q), free(k), free(wq), free(wk), free(v), free(tmp), free(got), free(want);
    }
}

/* Naive masked (top-k) softmax of one row set, in double. */
static void naive_softmax(const float *scores, int nq, int nk, const struct txi_attn_mask *m,
                          int top_k, double *out)
{
    for (int i = 0; i < nq; i++) {
        int p = (m ? m->q_pos0 : 0) + i;
        double mx = -INFINITY;
        for (int j = 0; j < nk; j++) {
            int vis = !m || ((!m->causal || j <= p) && (m->window < 0 || abs(j - p) <= m->window) &&
                             (!m->key_valid || m->key_valid[j]));
            out[i * nk + j] = vis ? scores[i * nk + j] : -INFINITY;
        }
        if (top_k > 0) { /* keep values >= the k-th largest visible */
            for (int j = 0; j < nk; j++) {
                if (out[i * nk + j] == -INFINITY) continue;
                int greater = 0;
                for (int t = 0; t < nk; t++)
                    greater += out[i * nk + t] > out[i * nk + j];
                if (greater >= top_k) out[i * nk + j] = -INFINITY - 0.0;
            }
        }
        for (int j = 0; j < nk; j++)
            if (out[i * nk + j] > mx) mx = out[i * nk + j];
        double sum = 0;
        for (int j = 0; j < nk; j++) {
            out[i * nk + j] = mx == -INFINITY ? 0 : exp(out[i * nk + j] - mx);
            sum += out[i * nk + j];
        }
        for (int j = 0; j < nk; j++)
            out[i * nk + j] = sum > 0 ? out[i * nk + j] / sum : 0;
    }
}

static void check_softmax(int nq, int nk, const struct txi_attn_mask *m, int top_k,
                          const char *what)
{
    float *s = rnd((size_t)nq * nk, -4, 4), *tmp = malloc((size_t)nk * 4 + 4);
    double *want = malloc((size_t)nq * nk * 8);
    naive_softmax(s, nq, nk, m, top_k, want);
    txi_attn_softmax(s, nq, nk, m, top_k, tmp);
    close_to(s, want, (size_t)nq * nk, 2e-6, what);
    for (size_t i = 0; i < (size_t)nq * nk; i++)
        if (want[i] == 0) cr_assert_eq(s[i], 0.0f, "%s: hidden key %zu not exactly 0", what, i);
    free(s), free(tmp), free(want);
}

Test(softmax, padding_causal_and_window_masks_match_a_naive_loop)
{
    const int dims[][2] = {{1, 1}, {1, 9}, {5, 5}, {7, 12}, {64, 64}, {33, 200}};
    for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
        int nq = dims[s][0], nk = dims[s][1];
        uint8_t *valid = malloc((size_t)nk);
        for (int j = 0; j < nk; j++)
            valid[j] = j == 0 || (tu_rand_u64(&rng) % 4 != 0);
        struct txi_attn_mask none = {0, 0, -1, NULL};
        struct txi_attn_mask pad = {0, 0, -1, valid};
        struct txi_attn_mask causal = {1, nk - nq, -1, NULL}; /* queries are the last nq keys */
        struct txi_attn_mask causal_pad = {1, nk - nq, -1, valid};
        struct txi_attn_mask local = {0, 0, 2, NULL};
        struct txi_attn_mask local_causal = {1, nk - nq, 3, valid};
        check_softmax(nq, nk, NULL, 0, "no mask");
        check_softmax(nq, nk, &none, 0, "empty mask");
        check_softmax(nq, nk, &pad, 0, "padding");
        check_softmax(nq, nk, &causal, 0, "causal");
        check_softmax(nq, nk, &causal_pad, 0, "causal+padding");
        check_softmax(nq, nk, &local, 0, "local window");
        check_softmax(nq, nk, &local_causal, 0, "local causal+padding");
        free(valid);
    }
}

Test(softmax, hard_and_top_k_attention_match_a_naive_loop)
{
    const int dims[][2] = {{1, 1}, {3, 8}, {16, 31}, {40, 300}};
    for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
        int nq = dims[s][0], nk = dims[s][1];
        struct txi_attn_mask causal = {1, nk - nq, -1, NULL};
        check_softmax(nq, nk, NULL, 1, "hard");
        check_softmax(nq, nk, NULL, 3, "top-3");
        check_softmax(nq, nk, &causal, 2, "causal top-2");
        check_softmax(nq, nk, NULL, nk + 5, "top-k beyond n");
    }
    /* hard attention is one-hot on the argmax */
    float row[5] = {0.1f, 2.0f, -1.0f, 1.9f, 0.0f}, tmp[5];
    txi_attn_softmax(row, 1, 5, NULL, 1, tmp);
    const float want[5] = {0, 1, 0, 0, 0};
    for (int j = 0; j < 5; j++)
        cr_assert_eq(row[j], want[j]);
}

Test(softmax, row_without_visible_keys_is_all_zero)
{
    uint8_t valid[3] = {0, 0, 0};
    struct txi_attn_mask m = {0, 0, -1, valid};
    float s[3] = {1, 2, 3};
    txi_attn_softmax(s, 1, 3, &m, 0, NULL);
    for (int j = 0; j < 3; j++)
        cr_assert_eq(s[j], 0.0f);
}

/* Naive multi-head attention with strides, mask and relative bias. */
static void naive_mha(const struct txi_mha_args *a, double *out, double *probs)
{
    int nq = a->n_q, nk = a->n_k;
    float *sc = malloc((size_t)nq * nk * 4);
    double *p = malloc((size_t)nq * nk * 8);
    for (int h = 0; h < a->n_heads; h++) {
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < nk; j++) {
                double d = 0;
                for (int t = 0; t < a->d_head; t++)
                    d += (double)a->q[i * a->ld_q + h * a->d_head + t] *
                         a->k[j * a->ld_k + h * a->d_head + t];
                d *= a->scale;
                if (a->bias) {
                    int r = j - ((a->mask ? a->mask->q_pos0 : 0) + i);
                    int idx = r - a->bias->r_min;
                    if (idx >= 0 && idx < a->bias->n_rel)
                        d += a->bias->table[h * a->bias->n_rel + idx];
                }
                sc[i * nk + j] = (float)d;
            }
        naive_softmax(sc, nq, nk, a->mask, 0, p);
        memcpy(probs + (size_t)h * nq * nk, p, (size_t)nq * nk * 8);
        for (int i = 0; i < nq; i++)
            for (int t = 0; t < a->d_head; t++) {
                double o = 0;
                for (int j = 0; j < nk; j++)
                    o += p[i * nk + j] * a->v[j * a->ld_v + h * a->d_head + t];
                out[i * a->n_heads * a->d_head + h * a->d_head + t] = o;
            }
    }
    free(sc);
    free(p);
}

static void check_mha(int nq, int nk, int heads, int dh, int causal, int with_bias, int with_pad)
{
    int inner = heads * dh, ld = inner + 5;
    float *q = rnd((size_t)nq * ld, -1, 1), *k = rnd((size_t)nk * ld, -1, 1);
    float *v = rnd((size_t)nk * ld, -1, 1);
    int n_rel = 2 * (nk + nq);
    float *tab = rnd((size_t)heads * n_rel, -2, 2);
    uint8_t *valid = malloc((size_t)nk);
    for (int j = 0; j < nk; j++)
        valid[j] = j < nk - nk / 3;
    struct txi_attn_mask m = {causal, nk - nq, -1, with_pad ? valid : NULL};
    struct txi_rel_bias bias = {tab, n_rel, -(nk + nq)};
    float *out = calloc((size_t)nq * inner, 4), *out2 = calloc((size_t)nq * inner, 4);
    float *probs = malloc((size_t)heads * nq * nk * 4), *scratch = malloc((size_t)nq * nk * 4);
    struct txi_mha_args a = {.q = q,
                             .ld_q = ld,
                             .k = k,
                             .ld_k = ld,
                             .v = v,
                             .ld_v = ld,
                             .n_q = nq,
                             .n_k = nk,
                             .n_heads = heads,
                             .d_head = dh,
                             .scale = 1.0f / sqrtf((float)dh),
                             .mask = &m,
                             .bias = with_bias ? &bias : NULL,
                             .out = out,
                             .ld_out = inner,
                             .probs = probs,
                             .scratch = NULL};
    double *want = malloc((size_t)nq * inner * 8), *want_p = malloc((size_t)heads * nq * nk * 8);
    naive_mha(&a, want, want_p);
    txi_mha(&a);
    close_to(out, want, (size_t)nq * inner, 2e-5, "mha out");
    close_to(probs, want_p, (size_t)heads * nq * nk, 2e-5, "mha probs");
    a.probs = NULL; /* same result through the scratch buffer */
    a.scratch = scratch;
    a.out = out2;
    txi_mha(&a);
    cr_assert_eq(memcmp(out, out2, (size_t)nq * inner * 4), 0);
    free(q), free(k), free(v), free(tab), free(valid), free(out), free(out2), free(probs);
    free(scratch), free(want), free(want_p);
}

Test(mha, self_and_cross_attention_with_masks_and_bias_match_a_naive_loop)
{
    const int dims[][4] = {{1, 1, 1, 1},  {1, 9, 4, 16},   {5, 5, 2, 3},
                           {7, 19, 3, 8}, {64, 64, 8, 64}, {31, 97, 6, 32}};
    for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
        int nq = dims[s][0], nk = dims[s][1], h = dims[s][2], dh = dims[s][3];
        check_mha(nq, nk, h, dh, 0, 0, 0); /* cross-attention */
        check_mha(nq, nk, h, dh, 0, 0, 1); /* cross-attention over a padded source */
        check_mha(nq, nk, h, dh, 1, 0, 0); /* causal self-attention (queries = last keys) */
        check_mha(nq, nk, h, dh, 0, 1, 0); /* T5 encoder: bidirectional + relative bias */
        check_mha(nq, nk, h, dh, 1, 1, 0); /* T5 decoder: causal + relative bias */
    }
}

Test(mha, score_products_through_the_row_panel_scratch_match_a_naive_loop)
{
    /* the encoder passes its row-panel scratch (ops.h): with one BLAS thread the score products
     * of 17+ query rows run on the row-panel kernel */
    tx_blas_set_threads(1);
    const int dims[][4] = {{64, 64, 8, 64}, {31, 97, 6, 32}, {100, 100, 2, 24}, {17, 5, 3, 7}};
    for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
        int nq = dims[s][0], nk = dims[s][1], heads = dims[s][2], dh = dims[s][3];
        int inner = heads * dh, ld = inner + 3;
        float *q = rnd((size_t)nq * ld, -1, 1), *k = rnd((size_t)nk * ld, -1, 1);
        float *v = rnd((size_t)nk * ld, -1, 1);
        float *out = calloc((size_t)nq * inner, 4), *probs = malloc((size_t)heads * nq * nk * 4);
        struct txi_gemm_ws ws = {NULL, txi_gemm_ws_floats(nq, nk, dh), 0, NULL};
        ws.buf = malloc((ws.n_floats ? ws.n_floats : 1) * sizeof(float));
        struct txi_mha_args a = {.q = q,
                                 .ld_q = ld,
                                 .k = k,
                                 .ld_k = ld,
                                 .v = v,
                                 .ld_v = ld,
                                 .n_q = nq,
                                 .n_k = nk,
                                 .n_heads = heads,
                                 .d_head = dh,
                                 .scale = 1.0f / sqrtf((float)dh),
                                 .out = out,
                                 .ld_out = inner,
                                 .probs = probs,
                                 .ws = &ws};
        double *want = malloc((size_t)nq * inner * 8);
        double *want_p = malloc((size_t)heads * nq * nk * 8);
        naive_mha(&a, want, want_p);
        txi_mha(&a);
        close_to(out, want, (size_t)nq * inner, 2e-5, "mha out");
        close_to(probs, want_p, (size_t)heads * nq * nk, 2e-5, "mha probs");
        free(q), free(k), free(v), free(out), free(probs), free(ws.buf), free(want), free(want_p);
    }
}

Test(positions, sinusoidal_tables_match_the_formula_in_both_layouts)
{
    const int dims[][2] = {{1, 1}, {4, 7}, {64, 64}, {513, 512}};
    for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
        int np = dims[s][0], d = dims[s][1], half = (d + 1) / 2;
        float *split = malloc((size_t)np * d * 4), *inter = malloc((size_t)np * d * 4);
        txi_pos_sinusoidal(split, np, d, TXI_SINUSOID_SPLIT);
        txi_pos_sinusoidal(inter, np, d, TXI_SINUSOID_INTERLEAVED);
        for (int p = 0; p < np; p++)
            for (int j = 0; j < d; j++) {
                double angle = p / pow(10000.0, 2.0 * (j / 2) / d);
                float want = (float)(j % 2 ? cos(angle) : sin(angle));
                cr_assert_eq(inter[p * d + j], want, "interleaved [%d][%d]", p, j);
                int col = j % 2 ? half + j / 2 : j / 2; /* Marian: sines first, then cosines */
                cr_assert_eq(split[p * d + col], want, "split [%d][%d]", p, col);
            }
        for (int j = 0; j < d; j++) /* position 0: sin 0 = 0, cos 0 = 1 */
            cr_assert_eq(split[j], j < half ? 0.0f : 1.0f);
        free(split), free(inter);
    }
}

Test(positions, learned_positions_add_rows_with_an_offset)
{
    int d = 5, n = 3;
    float *tab = rnd(10 * (size_t)d, -1, 1), *x = rnd((size_t)n * d, -1, 1);
    float *x0 = malloc((size_t)n * d * 4);
    memcpy(x0, x, (size_t)n * d * 4);
    txi_pos_add_learned(x, n, d, tab, 4, 2); /* BART: position p uses row p + 2 */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            cr_assert_eq(x[i * d + j], x0[i * d + j] + tab[(6 + i) * d + j]);
    free(tab), free(x), free(x0);
}

Test(positions, t5_buckets_equal_transformers_for_every_distance)
{
    json_error_t e;
    json_t *root = json_load_file("tests/fixtures/t5_buckets.json", 0, &e);
    cr_assert_not_null(root, "%s", e.text);
    const json_t *tables = json_object_get(root, "tables");
    cr_assert_geq(json_array_size(tables), 8);
    for (size_t t = 0; t < json_array_size(tables); t++) {
        const json_t *tb = json_array_get(tables, t);
        int nb = (int)json_integer_value(json_object_get(tb, "num_buckets"));
        int md = (int)json_integer_value(json_object_get(tb, "max_distance"));
        int bidir = json_is_true(json_object_get(tb, "bidirectional"));
        int r_max = (int)json_integer_value(json_object_get(tb, "r_max"));
        const json_t *runs = json_object_get(tb, "runs");
        for (size_t k = 0; k < json_array_size(runs); k++) {
            const json_t *run = json_array_get(runs, k);
            int r0 = (int)json_integer_value(json_array_get(run, 0));
            int bucket = (int)json_integer_value(json_array_get(run, 1));
            int r1 = k + 1 < json_array_size(runs)
                         ? (int)json_integer_value(json_array_get(json_array_get(runs, k + 1), 0))
                         : r_max + 1;
            for (int r = r0; r < r1; r++)
                cr_assert_eq(txi_t5_bucket(r, bidir, nb, md), bucket,
                             "buckets %d, max_distance %d, %s, r = %d", nb, md,
                             bidir ? "bidirectional" : "causal", r);
        }
    }
    json_decref(root);
}

Test(positions, relative_bias_table_gathers_the_bucket_rows)
{
    int heads = 3, nb = 32, md = 128, n_rel = 41, r_min = -20;
    float *emb = rnd((size_t)nb * heads, -1, 1), *out = malloc((size_t)heads * n_rel * 4);
    txi_rel_bias_table(emb, heads, nb, md, 1, r_min, n_rel, out);
    for (int h = 0; h < heads; h++)
        for (int j = 0; j < n_rel; j++)
            cr_assert_eq(out[h * n_rel + j], emb[txi_t5_bucket(r_min + j, 1, nb, md) * heads + h]);
    free(emb), free(out);
}

/* Random row-stochastic maps (n_layers, n, n). */
static float *stochastic(int layers, int n)
{
    float *a = rnd((size_t)layers * n * n, 0, 1);
    for (int r = 0; r < layers * n; r++) {
        double s = 0;
        for (int j = 0; j < n; j++)
            s += a[r * n + j];
        for (int j = 0; j < n; j++)
            a[r * n + j] = (float)(a[r * n + j] / s);
    }
    return a;
}

Test(rollout, matches_a_naive_product_of_residual_maps)
{
    const int dims[][2] = {{1, 1}, {1, 6}, {3, 1}, {3, 5}, {6, 40}, {2, 129}};
    for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
        int L = dims[s][0], n = dims[s][1];
        float *att = stochastic(L, n), *got = malloc((size_t)n * n * 4);
        double *r = calloc((size_t)n * n, 8), *f = malloc((size_t)n * n * 8);
        double *t = malloc((size_t)n * n * 8);
        for (int l = 0; l < L; l++) {
            for (int i = 0; i < n; i++) {
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    f[i * n + j] = 0.5 * att[(l * n + i) * n + j] + (i == j ? 0.5 : 0);
                    sum += f[i * n + j];
                }
                for (int j = 0; j < n; j++)
                    f[i * n + j] /= sum;
            }
            if (l == 0) {
                memcpy(r, f, (size_t)n * n * 8);
                continue;
            }
            for (int i = 0; i < n; i++) /* R = A_l' R */
                for (int j = 0; j < n; j++) {
                    double a = 0;
                    for (int k = 0; k < n; k++)
                        a += f[i * n + k] * r[k * n + j];
                    t[i * n + j] = a;
                }
            memcpy(r, t, (size_t)n * n * 8);
        }
        cr_assert_eq(tx_attention_rollout(att, L, n, got), TX_OK);
        close_to(got, r, (size_t)n * n, 1e-5, "rollout");
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int j = 0; j < n; j++)
                sum += got[i * n + j];
            cr_assert_float_eq(sum, 1.0, 1e-4, "row %d sums to %g", i, sum);
        }
        free(att), free(got), free(r), free(f), free(t);
    }
}

Test(rollout, identity_attention_rolls_out_to_identity_and_bad_sizes_are_invalid)
{
    int n = 4;
    float att[2 * 16] = {0}, out[16];
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < n; i++)
            att[l * 16 + i * n + i] = 1;
    cr_assert_eq(tx_attention_rollout(att, 2, n, out), TX_OK);
    for (int i = 0; i < 16; i++)
        cr_assert_float_eq(out[i], (i % 5 == 0) ? 1.0f : 0.0f, 1e-7);
    cr_assert_eq(tx_attention_rollout(att, 0, n, out), TX_ERR_INVALID);
    cr_assert_eq(tx_attention_rollout(NULL, 2, n, out), TX_ERR_INVALID);
    cr_assert_eq(tx_attention_rollout(att, 2, 0, out), TX_ERR_INVALID);
}
