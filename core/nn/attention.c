/* attention.c — attention primitives (see attention.h). Scores and contexts are matrix products
 * (ops.h: BLAS, or the row-panel kernel for the scores of 17+ queries when the caller passes its
 * scratch); a decode step's single query row uses direct loops (txi_dot_rows, txi_axpy_rows:
 * a BLAS call per head would cost more than its products). Masked keys get probability exactly 0,
 * as adding float32's minimum before the softmax does in transformers. */
#include "attention.h"
#include "ops.h"
#include "tx.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int txi_attn_visible(const struct txi_attn_mask *m, int i, int k)
{
    if (!m) return 1;
    int p = m->q_pos0 + i;
    if (m->causal && k > p) return 0;
    if (m->window >= 0 && abs(k - p) > m->window) return 0;
    if (m->key_valid && !m->key_valid[k]) return 0;
    return 1;
}

void txi_score_dot(const float *q, int ld_q, const float *k, int ld_k, int n_q, int n_k, int d,
                   float scale, float *scores)
{
    txi_matmul_nt(n_q, n_k, d, scale, q, ld_q, k, ld_k, 0.0f, scores, n_k);
}

void txi_score_general(const float *q, int n_q, int d_q, const float *k, int n_k, int d_k,
                       const float *w, float *tmp, float *scores)
{
    txi_matmul_nn(n_q, d_k, d_q, 1.0f, q, d_q, w, d_k, 0.0f, tmp, d_k); /* tmp = q W */
    txi_matmul_nt(n_q, n_k, d_k, 1.0f, tmp, d_k, k, d_k, 0.0f, scores, n_k);
}

void txi_score_additive(const float *q, int n_q, int d_q, const float *k, int n_k, int d_k,
                        const float *w_q, const float *w_k, const float *v, int d_a, float *tmp,
                        float *scores)
{
    float *qp = tmp;                     /* (n_q, d_a) = q W_q^T */
    float *kp = tmp + (size_t)n_q * d_a; /* (n_k, d_a) = k W_k^T */
    txi_matmul_nt(n_q, d_a, d_q, 1.0f, q, d_q, w_q, d_q, 0.0f, qp, d_a);
    txi_matmul_nt(n_k, d_a, d_k, 1.0f, k, d_k, w_k, d_k, 0.0f, kp, d_a);
    for (int i = 0; i < n_q; i++)
        for (int j = 0; j < n_k; j++) {
            const float *a = qp + (size_t)i * d_a, *b = kp + (size_t)j * d_a;
            double s = 0;
            for (int t = 0; t < d_a; t++)
                s += (double)v[t] * tanh((double)a[t] + b[t]);
            scores[(size_t)i * n_k + j] = (float)s;
        }
}

void txi_attn_softmax(float *scores, int n_q, int n_k, const struct txi_attn_mask *mask, int top_k,
                      float *tmp)
{
    for (int i = 0; i < n_q; i++) {
        float *row = scores + (size_t)i * n_k;
        int n_vis = mask ? 0 : n_k;
        for (int k = 0; mask && k < n_k; k++) {
            if (txi_attn_visible(mask, i, k))
                n_vis++;
            else
                row[k] = -INFINITY;
        }
        if (n_vis == 0) {
            for (int k = 0; k < n_k; k++)
                row[k] = 0.0f;
            continue;
        }
        if (top_k > 0 && top_k < n_vis) {
            /* keep scores >= the k-th largest visible one (as TopKLogitsWarper keeps ties) */
            float kth = txi_kth_largest(row, n_k, top_k, tmp);
            for (int k = 0; k < n_k; k++)
                if (row[k] < kth) row[k] = -INFINITY;
        }
        txi_softmax_row(row, n_k); /* invisible keys (-inf) get exactly 0 */
    }
}

void txi_attn_context(const float *probs, int n_q, int n_k, const float *v, int ld_v, int d,
                      float *out, int ld_out)
{
    txi_matmul_nn(n_q, d, n_k, 1.0f, probs, n_k, v, ld_v, 0.0f, out, ld_out);
}

void txi_mha(const struct txi_mha_args *a)
{
    size_t plane = (size_t)a->n_q * a->n_k;
    for (int h = 0; h < a->n_heads; h++) {
        float *s = a->probs ? a->probs + (size_t)h * plane : a->scratch;
        size_t col = (size_t)h * a->d_head;
        /* scores = scale * q_h k_h^T (txi_score_dot, with the row-panel scratch; one query row,
         * a decode step: direct loops) */
        if (a->n_q == 1)
            txi_dot_rows(a->q + col, a->k + col, a->ld_k, a->n_k, a->d_head, a->scale, s);
        else
            txi_matmul_nt_ws(a->n_q, a->n_k, a->d_head, a->scale, a->q + col, a->ld_q,
                             a->k + col, a->ld_k, 0.0f, s, a->n_k, a->ws);
        if (a->bias) {
            const float *tab = a->bias->table + (size_t)h * a->bias->n_rel;
            int q0 = a->mask ? a->mask->q_pos0 : 0;
            for (int i = 0; i < a->n_q; i++)
                for (int k = 0; k < a->n_k; k++)
                    if (txi_attn_visible(a->mask, i, k))
                        s[(size_t)i * a->n_k + k] += tab[k - (q0 + i) - a->bias->r_min];
        }
        txi_attn_softmax(s, a->n_q, a->n_k, a->mask, 0, NULL);
        if (a->n_q == 1)
            txi_axpy_rows(s, a->n_k, a->v + col, a->ld_v, a->d_head, a->out + col);
        else
            txi_attn_context(s, a->n_q, a->n_k, a->v + col, a->ld_v, a->d_head, a->out + col,
                             a->ld_out);
    }
}

int txi_t5_bucket(int r, int bidirectional, int n_buckets, int max_distance)
{
    int bucket = 0, n;
    if (bidirectional) {
        n_buckets /= 2;
        if (r > 0) bucket += n_buckets;
        n = abs(r);
    } else {
        n = r < 0 ? -r : 0;
    }
    int max_exact = n_buckets / 2;
    if (n < max_exact) return bucket + n;
    /* float32 arithmetic, in transformers' order: log(n / max_exact) / log(md / me) * (nb - me) */
    float t = logf((float)n / (float)max_exact);
    t = t / (float)log((double)max_distance / max_exact);
    t = t * (float)(n_buckets - max_exact);
    int large = max_exact + (int)t;
    if (large > n_buckets - 1) large = n_buckets - 1;
    return bucket + large;
}

void txi_rel_bias_table(const float *emb, int n_heads, int n_buckets, int max_distance,
                        int bidirectional, int r_min, int n_rel, float *out)
{
    for (int j = 0; j < n_rel; j++) {
        int b = txi_t5_bucket(r_min + j, bidirectional, n_buckets, max_distance);
        for (int h = 0; h < n_heads; h++)
            out[(size_t)h * n_rel + j] = emb[(size_t)b * n_heads + h];
    }
}

/* One rollout factor: A' = 0.5 A + 0.5 I with rows renormalised. */
static void rollout_factor(const float *att, int n, float *out)
{
    for (int i = 0; i < n; i++) {
        const float *row = att + (size_t)i * n;
        float *o = out + (size_t)i * n;
        double sum = 0;
        for (int j = 0; j < n; j++) {
            o[j] = 0.5f * row[j] + (i == j ? 0.5f : 0.0f);
            sum += o[j];
        }
        float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
        for (int j = 0; j < n; j++)
            o[j] *= inv;
    }
}

tx_status tx_attention_rollout(const float *att, int n_layers, int n, float *out)
{
    if (!att || !out || n_layers < 1 || n < 1) return TX_ERR_INVALID;
    if ((size_t)n > SIZE_MAX / sizeof(float) / (size_t)n) return TX_ERR_NOMEM;
    size_t nn = (size_t)n * n;
    float *r = malloc(nn * sizeof *r), *f = malloc(nn * sizeof *f);
    if (!r || !f) {
        free(r);
        free(f);
        return TX_ERR_NOMEM;
    }
    rollout_factor(att, n, r); /* R = A_1' */
    for (int l = 1; l < n_layers; l++) {
        rollout_factor(att + (size_t)l * nn, n, f);
        /* R = A_l' R, written to out then copied back */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, f, n, r, n, 0.0f, out,
                    n);
        memcpy(r, out, nn * sizeof *r);
    }
    memcpy(out, r, nn * sizeof *out);
    free(r);
    free(f);
    return TX_OK;
}
