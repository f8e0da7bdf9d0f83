/* han.c — tx_salience: the hierarchical attention network (model_type "han"): word-level
 * bidirectional GRU and attention with a learned context vector make one vector per sentence;
 * a sentence-level bidirectional GRU and attention make the document vector; a SummaRuNNer-style
 * head scores each sentence (content, salience against the document, position). The arithmetic
 * is tools/train/han.py's, the parity oracle of tests/unit/test_han.c. Every buffer comes from
 * the session arena; the cells are rnn.c's. */
#include "attention.h"
#include "model.h"
#include "rnn.h"
#include "session.h"
#include "txi.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* pooled (d) = sum_t a_t h_t with a = softmax_t(tanh(proj(h_t)) . ctx); h (n, d); u (n, d) and
 * a (n) are scratch/out. */
static void pool(const struct txi_linear *proj, const float *ctx, const float *h, int n, int d,
                 float *u, float *a, float *pooled)
{
    txi_linear_fwd(proj, h, n, u, NULL);
    for (int t = 0; t < n; t++) {
        float s = 0.0f;
        for (int k = 0; k < d; k++)
            s += tanhf(u[(size_t)t * d + k]) * ctx[k];
        a[t] = s;
    }
    txi_attn_softmax(a, 1, n, NULL, 0, NULL);
    txi_attn_context(a, 1, n, h, d, d, pooled, d);
}

/* A bidirectional GRU of e units per direction over x (n, in) into out (n, 2 e). */
static void bigru(const struct txi_rnn_layer *fw, const struct txi_rnn_layer *bw, int e,
                  const float *x, int n, float *out, float *pre, float *gh, float *h, float *c)
{
    txi_rnn_direction(TXI_RNN_GRU, e, fw, x, n, 0, out, 2 * e, 0, pre, gh, h, c, NULL);
    txi_rnn_direction(TXI_RNN_GRU, e, bw, x, n, 1, out, 2 * e, e, pre, gh, h, c, NULL);
}

tx_status tx_salience(tx_session *s, const int32_t *const *sent_ids, const int *n_tok, int n_sent,
                      struct tx_salience_out *out, struct tx_error *err)
{
    if (!s || !out || (n_sent > 0 && (!sent_ids || !n_tok)))
        return txi_fail(err, TX_ERR_INVALID, "tx_salience: NULL argument");
    const tx_model *m = s->model;
    if (m->cfg.arch != TX_ARCH_HAN)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "tx_salience needs a han model, not model_type %s", m->cfg.model_type);
    if (n_sent < 1) return txi_fail(err, TX_ERR_INVALID, "the document has no sentences");
    size_t total = 0;
    int longest = 0;
    for (int i = 0; i < n_sent; i++) {
        char what[48];
        snprintf(what, sizeof what, "sentence %d", i);
        if (n_tok[i] < 1) return txi_fail(err, TX_ERR_INVALID, "sentence %d is empty", i);
        tx_status st = txi_check_ids(what, sent_ids[i], n_tok[i], m->cfg.vocab, err);
        if (st != TX_OK) return st;
        total += (size_t)n_tok[i];
        if (n_tok[i] > longest) longest = n_tok[i];
    }
    if (txi_arena_reset(&s->arena, 0) != 0)
        return txi_fail(err, TX_ERR_NOMEM, "out of memory growing the session arena");
    struct txi_arena *a = &s->arena;
    const struct txi_han_config *c = &m->cfg.han;
    const struct txi_han_weights *w = &m->han;
    int E = c->emb, wh = c->word_hidden, sh = c->sent_hidden, W = 2 * wh, S = 2 * sh;
    int widest = W > S ? W : S, units = wh > sh ? wh : sh;
    int rows = longest > n_sent ? longest : n_sent;
    float *x = txi_arena_alloc(a, (size_t)longest, (size_t)E * sizeof(float));
    float *h = txi_arena_alloc(a, (size_t)rows, (size_t)widest * sizeof(float));
    float *u = txi_arena_alloc(a, (size_t)rows, (size_t)widest * sizeof(float));
    float *pre = txi_arena_alloc(a, (size_t)rows, (size_t)3 * units * sizeof(float));
    float *gh = txi_arena_alloc(a, (size_t)3 * units, sizeof(float));
    float *hs = txi_arena_alloc(a, (size_t)units, sizeof(float));
    float *cs = txi_arena_alloc(a, (size_t)units, sizeof(float));
    float *sv = txi_arena_alloc(a, (size_t)n_sent, (size_t)W * sizeof(float));
    float *g = txi_arena_alloc(a, (size_t)n_sent, (size_t)S * sizeof(float));
    float *d = txi_arena_alloc(a, (size_t)S, sizeof(float));
    float *sal = txi_arena_alloc(a, (size_t)S, sizeof(float));
    float *scores = txi_arena_alloc(a, (size_t)n_sent, sizeof(float));
    float *satt = txi_arena_alloc(a, (size_t)n_sent, sizeof(float));
    float *watt = txi_arena_alloc(a, total, sizeof(float));
    if (!x || !h || !u || !pre || !gh || !hs || !cs || !sv || !g || !d || !sal || !scores ||
        !satt || !watt)
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (document of %d sentences)",
                        n_sent);
    size_t at = 0;
    for (int i = 0; i < n_sent; i++) { /* word level: one vector per sentence */
        int n = n_tok[i];
        for (int t = 0; t < n; t++)
            memcpy(x + (size_t)t * E, w->embed + (size_t)sent_ids[i][t] * E,
                   (size_t)E * sizeof(float));
        bigru(&w->word_fw, &w->word_bw, wh, x, n, h, pre, gh, hs, cs);
        pool(&w->word_proj, w->word_context, h, n, W, u, watt + at, sv + (size_t)i * W);
        at += (size_t)n;
    }
    bigru(&w->sent_fw, &w->sent_bw, sh, sv, n_sent, g, pre, gh, hs, cs); /* sentence level */
    pool(&w->sent_proj, w->sent_context, g, n_sent, S, u, satt, d);
    txi_linear_fwd(&w->salience, d, 1, sal, NULL);
    for (int i = 0; i < n_sent; i++) {
        const float *gi = g + (size_t)i * S;
        float content = 0.0f, salience = 0.0f;
        for (int k = 0; k < S; k++) {
            content += w->content[k] * gi[k];
            salience += gi[k] * sal[k];
        }
        int p = i < c->max_positions ? i : c->max_positions - 1;
        scores[i] = content + salience + w->position[p] + w->bias[0];
    }
    out->n_sent = n_sent;
    out->scores = scores;
    out->sentence_attention = satt;
    out->word_attention = watt;
    return TX_OK;
}
