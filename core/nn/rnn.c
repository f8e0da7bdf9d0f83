/* rnn.c — rnn_seq2seq: encoder, decoder step, attention (see rnn.h and docs/rnn_seq2seq.md;
 * the arithmetic is tools/train/rnn.py's, which is the parity oracle of tests/unit/test_rnn.c). */
#include "rnn.h"

#include "attention.h"
#include "model.h"
#include "ops.h"
#include "txi.h"

#include <math.h>
#include <string.h>

/* A decoder's recurrent state. Slot s is slots + s * slot_floats: h (L, H), then c (L, H) for
 * LSTMs, then the input-feeding vector feed (H). */
struct txi_rnn_dec {
    int L, H, G, in0;   /* decoder layers, width, gates per unit, layer 0's input width */
    size_t slot_floats; /* 2 L H + H */
    float *slots;       /* (n_slots, slot_floats) */
    float *keys, *vals; /* (n_src_tok, H): attention keys and encoder states of the sources */
    float *h, *c;       /* (L, max_rows, H): the step's rows' states, updated in place */
    float *x;           /* (max_rows, in0) layer 0's input */
    float *gi, *gh;     /* (max_rows, G H) input and recurrent gate products */
    float *q;           /* (max_rows, H) additive: projected queries */
    float *ctx;         /* (max_rows, H) context vectors */
    float *cat;         /* (max_rows, 2 H) [h_top; ctx] */
    float *att;         /* (max_rows, H) attentional states tanh(combine(cat)) */
    float *probs;       /* (max_src) one row's attention */
    float *tmp;         /* (max_src + H) top-k scratch, the mean of a source */
    float *reorder;     /* (reorder_slots, slot_floats) */
    uint8_t *needed;    /* (reorder_slots) */
    int32_t *ids;       /* (max_rows) the step's tokens */
    int *pos;           /* (max_rows) their positions */
};

static float sigm(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* One cell update of n units, PyTorch's arithmetic: gi = W_ih x + b_ih, gh = W_hh h + b_hh;
 * LSTM gates i, f, g, o: c = s(f) c + s(i) tanh(g), h = s(o) tanh(c); GRU gates r, z, n:
 * n = tanh(gi_n + s(gi_r + gh_r) gh_n), h = (1 - z) n + z h. h and c in place. */
void txi_rnn_cell_step(txi_rnn_cell kind, int n, const float *gi, const float *gh, float *h, float *c)
{
    if (kind == TXI_RNN_LSTM) {
        for (int u = 0; u < n; u++) {
            float i = sigm(gi[u] + gh[u]), f = sigm(gi[n + u] + gh[n + u]);
            float g = tanhf(gi[2 * n + u] + gh[2 * n + u]), o = sigm(gi[3 * n + u] + gh[3 * n + u]);
            c[u] = f * c[u] + i * g;
            h[u] = o * tanhf(c[u]);
        }
        return;
    }
    for (int u = 0; u < n; u++) {
        float r = sigm(gi[u] + gh[u]), z = sigm(gi[n + u] + gh[n + u]);
        float nn = tanhf(gi[2 * n + u] + r * gh[2 * n + u]);
        h[u] = (1.0f - z) * nn + z * h[u];
    }
}

/* Scratch of the products: the panel kernel's, and for int8/F16 weights a block of converted
 * rows. */
static tx_status alloc_ws(struct txi_arena *a, struct txi_gemm_ws *ws, int rows, int n, int k,
                          struct txi_pool *pool, struct tx_error *err)
{
    if (txi_gemm_ws_alloc(ws, a, txi_gemm_ws_floats(rows, n, k) + txi_q8_ws_floats(rows, n, k),
                          pool))
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (product scratch)");
    return TX_OK;
}

/* ----------------------------------------------------------------------------------- encoder */

void txi_rnn_direction(txi_rnn_cell kind, int e, const struct txi_rnn_layer *ly, const float *x,
                       int n, int reverse, float *out, int ld_out, int col, float *pre, float *gh,
                       float *h, float *c, const struct txi_gemm_ws *ws)
{
    int G = kind == TXI_RNN_LSTM ? 4 : 3;
    txi_linear_fwd(&ly->ih, x, n, pre, ws);
    memset(h, 0, (size_t)e * sizeof *h);
    memset(c, 0, (size_t)e * sizeof *c);
    for (int s = 0; s < n; s++) {
        int t = reverse ? n - 1 - s : s;
        txi_linear_fwd(&ly->hh, h, 1, gh, ws);
        txi_rnn_cell_step(kind, e, pre + (size_t)t * G * e, gh, h, c);
        memcpy(out + (size_t)t * ld_out + col, h, (size_t)e * sizeof *h);
    }
}

tx_status txi_rnn_encode(const tx_model *m, struct txi_arena *a, const struct txi_enc_job *job,
                         struct tx_error *err)
{
    const struct txi_rnn_config *rc = &m->cfg.rnn;
    const struct txi_rnn_weights *w = &m->rnn;
    int D = rc->bidir ? 2 : 1, e = rc->enc_dir, H = rc->hidden, E = rc->emb;
    int G = rc->cell == TXI_RNN_LSTM ? 4 : 3, in_max = E > H ? E : H;
    int max_s = 0;
    for (int b = 0; b < job->n_src; b++)
        if (job->src_len[b] > max_s) max_s = job->src_len[b];
    float *x = txi_arena_alloc(a, (size_t)max_s, (size_t)in_max * sizeof(float));
    float *y = txi_arena_alloc(a, (size_t)max_s, (size_t)H * sizeof(float));
    float *pre = txi_arena_alloc(a, (size_t)max_s, (size_t)G * e * sizeof(float));
    float *gh = txi_arena_alloc(a, (size_t)G * e, sizeof(float));
    float *h = txi_arena_alloc(a, (size_t)e, sizeof(float));
    float *c = txi_arena_alloc(a, (size_t)e, sizeof(float));
    if (!x || !y || !pre || !gh || !h || !c)
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (encoder, %d tokens)", max_s);
    struct txi_gemm_ws ws = {0};
    tx_status st = alloc_ws(a, &ws, max_s, G * e, in_max, job->pool, err);
    if (st != TX_OK) return st;
    for (int b = 0; b < job->n_src; b++) {
        int n = job->src_len[b];
        const int32_t *ids = job->ids + job->src_off[b];
        for (int t = 0; t < n; t++)
            memcpy(x + (size_t)t * E, w->enc_embed + (size_t)ids[t] * E, (size_t)E * sizeof *x);
        for (int k = 0; k < rc->enc_layers; k++) {
            txi_rnn_direction(rc->cell, e, &w->enc_fw[k], x, n, 0, y, D * e, 0, pre, gh, h, c, &ws);
            if (rc->bidir)
                txi_rnn_direction(rc->cell, e, &w->enc_bw[k], x, n, 1, y, D * e, e, pre, gh, h, c,
                                  &ws);
            memcpy(x, y, (size_t)n * D * e * sizeof *x); /* the next layer's input */
        }
        memcpy(job->hidden + (size_t)job->src_off[b] * H, y, (size_t)n * H * sizeof *y);
    }
    return TX_OK;
}

/* ----------------------------------------------------------------------------------- decoder */

static tx_status rnn_dec_alloc(const tx_model *m, struct txi_arena *a, struct txi_dec_state *st,
                               int max_len, struct tx_error *err)
{
    (void)max_len; /* a slot holds a state, not positions */
    const struct txi_rnn_config *rc = &m->cfg.rnn;
    int n_slots = st->n_slots, max_rows = st->max_rows, n_src_tok = st->n_src_tok;
    int max_src = st->max_src, reorder_slots = st->reorder_slots;
    struct txi_rnn_dec *r = txi_arena_calloc(a, 1, sizeof *r);
    if (!r) return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (decoder state)");
    st->rnn = r;
    int H = rc->hidden, L = rc->dec_layers, G = rc->cell == TXI_RNN_LSTM ? 4 : 3;
    int fed = rc->att == TXI_ATT_ADDITIVE || rc->input_feeding;
    r->L = L, r->H = H, r->G = G, r->in0 = rc->emb + (fed ? H : 0);
    r->slot_floats = (size_t)2 * L * H + H;
    size_t rows = (size_t)max_rows;
    r->slots = txi_arena_calloc(a, (size_t)n_slots, r->slot_floats * sizeof(float));
    r->keys = txi_arena_alloc(a, (size_t)n_src_tok, (size_t)H * sizeof(float));
    r->vals = txi_arena_alloc(a, (size_t)n_src_tok, (size_t)H * sizeof(float));
    r->h = txi_arena_alloc(a, (size_t)L * rows, (size_t)H * sizeof(float));
    r->c = txi_arena_alloc(a, (size_t)L * rows, (size_t)H * sizeof(float));
    r->x = txi_arena_alloc(a, rows, (size_t)r->in0 * sizeof(float));
    r->gi = txi_arena_alloc(a, rows, (size_t)G * H * sizeof(float));
    r->gh = txi_arena_alloc(a, rows, (size_t)G * H * sizeof(float));
    r->q = txi_arena_alloc(a, rows, (size_t)H * sizeof(float));
    r->ctx = txi_arena_alloc(a, rows, (size_t)H * sizeof(float));
    r->cat = txi_arena_alloc(a, rows, (size_t)2 * H * sizeof(float));
    r->att = txi_arena_alloc(a, rows, (size_t)H * sizeof(float));
    r->probs = txi_arena_alloc(a, (size_t)max_src + 1, sizeof(float));
    r->tmp = txi_arena_alloc(a, (size_t)max_src + H + 1, sizeof(float));
    r->reorder = txi_arena_alloc(a, (size_t)reorder_slots + 1, r->slot_floats * sizeof(float));
    r->needed = txi_arena_alloc(a, (size_t)reorder_slots + 1, 1);
    r->ids = txi_arena_alloc(a, rows, sizeof(int32_t));
    r->pos = txi_arena_alloc(a, rows, sizeof(int));
    if (!r->slots || !r->keys || !r->vals || !r->h || !r->c || !r->x || !r->gi || !r->gh ||
        !r->q || !r->ctx || !r->cat || !r->att || !r->probs || !r->tmp || !r->reorder ||
        !r->needed || !r->ids || !r->pos)
        return txi_fail(err, TX_ERR_NOMEM,
                        "session arena exhausted (recurrent decoder state for %d rows)", n_slots);
    int widest_in = r->in0 > 2 * H ? r->in0 : 2 * H;
    int widest_out = G * H > m->cfg.dec_vocab ? G * H : m->cfg.dec_vocab;
    int most_rows = max_rows > max_src ? max_rows : max_src;
    return alloc_ws(a, &st->ws, most_rows, widest_out, widest_in, st->ws.pool, err);
}

void txi_rnn_set_source(const tx_model *m, struct txi_dec_state *st, const float *enc_hidden,
                        int off, int len, const struct txi_gemm_ws *ws)
{
    const struct txi_rnn_config *rc = &m->cfg.rnn;
    struct txi_rnn_dec *r = st->rnn;
    size_t at = (size_t)off * r->H;
    memcpy(r->vals + at, enc_hidden, (size_t)len * r->H * sizeof(float));
    if (rc->att == TXI_ATT_ADDITIVE)
        txi_linear_fwd(&m->rnn.key_proj, enc_hidden, len, r->keys + at, ws);
    else if (rc->att == TXI_ATT_GENERAL)
        txi_linear_fwd(&m->rnn.attn_w, enc_hidden, len, r->keys + at, ws);
    else
        memcpy(r->keys + at, enc_hidden, (size_t)len * r->H * sizeof(float));
}

/* A slot's state for a row at position 0: h = tanh(bridge(mean of the source's states)) in
 * every layer, c = 0, feed = 0. */
static void init_slot(const tx_model *m, struct txi_dec_state *st, int slot, int src)
{
    struct txi_rnn_dec *r = st->rnn;
    int H = r->H, n = st->src_len[src];
    const float *v = r->vals + (size_t)st->src_off[src] * H;
    float *mean = r->tmp + st->max_src + 1; /* (H) after the top-k part */
    for (int a = 0; a < H; a++)
        mean[a] = 0.0f;
    for (int j = 0; j < n; j++)
        for (int a = 0; a < H; a++)
            mean[a] += v[(size_t)j * H + a];
    for (int a = 0; a < H; a++)
        mean[a] /= (float)n;
    float *s = r->slots + (size_t)slot * r->slot_floats;
    txi_linear_fwd(&m->rnn.bridge, mean, 1, s, &st->ws);
    for (int a = 0; a < H; a++)
        s[a] = tanhf(s[a]);
    for (int l = 1; l < r->L; l++)
        memcpy(s + (size_t)l * H, s, (size_t)H * sizeof *s);
    memset(s + (size_t)r->L * H, 0, ((size_t)r->L * H + H) * sizeof *s);
}

/* Attention of one row at target position t over source src: query q (H; additive: already
 * projected) -> ctx (H), probabilities in r->probs (src_len). */
static void attend(const tx_model *m, struct txi_dec_state *st, int src, int t, const float *q,
                   float *ctx)
{
    const struct txi_rnn_config *rc = &m->cfg.rnn;
    struct txi_rnn_dec *r = st->rnn;
    int H = r->H, n = st->src_len[src];
    const float *K = r->keys + (size_t)st->src_off[src] * H;
    const float *V = r->vals + (size_t)st->src_off[src] * H;
    float *p = r->probs;
    for (int j = 0; j < n; j++) {
        const float *k = K + (size_t)j * H;
        float s = 0.0f;
        if (rc->att == TXI_ATT_ADDITIVE) {
            const float *v = m->rnn.v;
            for (int a = 0; a < H; a++)
                s += v[a] * tanhf(q[a] + k[a]);
        } else {
            for (int a = 0; a < H; a++)
                s += q[a] * k[a];
        }
        p[j] = s;
    }
    struct txi_attn_mask mask = {.causal = 0, .q_pos0 = t, .window = rc->window, .key_valid = NULL};
    txi_attn_softmax(p, 1, n, &mask, rc->top_k, r->tmp);
    txi_attn_context(p, 1, n, V, H, H, ctx, H);
}

/* One target position for n rows: row i reads token ids[i] at position pos[i] from slot
 * slot[i] over source src[i]; logits (n, V) rows at stride ld_logits; cross attention of row 0
 * into cap (src_len) when cap is set, of row i into rows[i] where rows and rows[i] are set. */
static void step(const tx_model *m, struct txi_dec_state *st, int n, const int32_t *ids,
                 const int *pos, const int *slot, const int *src, float *logits, size_t ld_logits,
                 float *cap, float *const *rows)
{
    const struct txi_rnn_config *rc = &m->cfg.rnn;
    const struct txi_rnn_weights *w = &m->rnn;
    struct txi_rnn_dec *r = st->rnn;
    int H = r->H, L = r->L, E = rc->emb, G = r->G;
    size_t LH = (size_t)L * H;
    for (int i = 0; i < n; i++) {
        if (pos[i] == 0) init_slot(m, st, slot[i], src[i]);
        const float *s = r->slots + (size_t)slot[i] * r->slot_floats;
        for (int l = 0; l < L; l++) {
            memcpy(r->h + ((size_t)l * n + i) * H, s + (size_t)l * H, (size_t)H * sizeof(float));
            memcpy(r->c + ((size_t)l * n + i) * H, s + LH + (size_t)l * H,
                   (size_t)H * sizeof(float));
        }
        memcpy(r->x + (size_t)i * r->in0, w->dec_embed + (size_t)ids[i] * E,
               (size_t)E * sizeof(float));
    }
    float *top = r->h + (size_t)(L - 1) * n * H;
    if (rc->att == TXI_ATT_ADDITIVE) { /* Bahdanau: the previous state asks, the context feeds */
        txi_linear_fwd(&w->query_proj, top, n, r->q, &st->ws);
        for (int i = 0; i < n; i++) {
            attend(m, st, src[i], pos[i], r->q + (size_t)i * H, r->ctx + (size_t)i * H);
            float *ci = cap && i == 0 ? cap : rows ? rows[i] : NULL;
            if (ci) memcpy(ci, r->probs, (size_t)st->src_len[src[i]] * sizeof *ci);
            memcpy(r->x + (size_t)i * r->in0 + E, r->ctx + (size_t)i * H, (size_t)H * sizeof(float));
        }
    } else if (rc->input_feeding) {
        for (int i = 0; i < n; i++)
            memcpy(r->x + (size_t)i * r->in0 + E, r->slots + (size_t)slot[i] * r->slot_floats + 2 * LH,
                   (size_t)H * sizeof(float));
    }
    for (int l = 0; l < L; l++) {
        float *hl = r->h + (size_t)l * n * H, *cl = r->c + (size_t)l * n * H;
        txi_linear_fwd(&w->dec[l].ih, l ? hl - (size_t)n * H : r->x, n, r->gi, &st->ws);
        txi_linear_fwd(&w->dec[l].hh, hl, n, r->gh, &st->ws);
        for (int i = 0; i < n; i++)
            txi_rnn_cell_step(rc->cell, H, r->gi + (size_t)i * G * H, r->gh + (size_t)i * G * H,
                 hl + (size_t)i * H, cl + (size_t)i * H);
    }
    for (int i = 0; i < n; i++) {
        if (rc->att != TXI_ATT_ADDITIVE) { /* Luong: the new state asks */
            attend(m, st, src[i], pos[i], top + (size_t)i * H, r->ctx + (size_t)i * H);
            float *ci = cap && i == 0 ? cap : rows ? rows[i] : NULL;
            if (ci) memcpy(ci, r->probs, (size_t)st->src_len[src[i]] * sizeof *ci);
        }
        memcpy(r->cat + (size_t)i * 2 * H, top + (size_t)i * H, (size_t)H * sizeof(float));
        memcpy(r->cat + (size_t)i * 2 * H + H, r->ctx + (size_t)i * H, (size_t)H * sizeof(float));
    }
    txi_linear_fwd(&w->combine, r->cat, n, r->att, &st->ws);
    for (size_t k = 0; k < (size_t)n * H; k++)
        r->att[k] = tanhf(r->att[k]);
    if (ld_logits == (size_t)m->cfg.dec_vocab) {
        txi_linear_fwd(&w->lm_head, r->att, n, logits, &st->ws);
    } else {
        for (int i = 0; i < n; i++)
            txi_linear_fwd(&w->lm_head, r->att + (size_t)i * H, 1, logits + (size_t)i * ld_logits,
                           &st->ws);
    }
    for (int i = 0; i < n; i++) { /* the rows' new states back to their slots */
        float *s = r->slots + (size_t)slot[i] * r->slot_floats;
        for (int l = 0; l < L; l++) {
            memcpy(s + (size_t)l * H, r->h + ((size_t)l * n + i) * H, (size_t)H * sizeof(float));
            memcpy(s + LH + (size_t)l * H, r->c + ((size_t)l * n + i) * H,
                   (size_t)H * sizeof(float));
        }
        memcpy(s + 2 * LH, r->att + (size_t)i * H, (size_t)H * sizeof(float));
    }
}

void txi_rnn_decode(const tx_model *m, struct txi_dec_state *st, const struct txi_dec_job *job)
{
    /* the rows' tokens one position at a time (teacher forcing has one row of n_new tokens) */
    struct txi_rnn_dec *r = st->rnn;
    int n = job->n_rows, V = m->cfg.dec_vocab;
    for (int t = 0; t < job->n_new; t++) {
        for (int i = 0; i < n; i++) {
            r->ids[i] = job->ids[(size_t)i * job->n_new + t];
            r->pos[i] = (job->pasts ? job->pasts[i] : job->past) + t;
        }
        float *lg = job->logits;
        size_t ld = (size_t)V;
        if (job->all_positions) {
            lg += (size_t)t * V;
            ld = (size_t)job->n_new * V;
        }
        float *cap = job->cross_att ? job->cross_att + (size_t)t * st->src_len[job->src[0]] : NULL;
        step(m, st, n, r->ids, r->pos, job->slot, job->src, lg, ld, cap, job->cross_rows);
    }
}

/* Slot slots[i] (i itself when slots is NULL) takes old slot slots[from[i]], for i < n. */
static void reorder(struct txi_dec_state *st, const int *slots, const int *from, int n)
{
    struct txi_rnn_dec *r = st->rnn;
    size_t bytes = r->slot_floats * sizeof(float);
    int moves = 0;
    for (int i = 0; i < n; i++)
        r->needed[i] = 0;
    for (int i = 0; i < n; i++)
        if (from[i] != i) {
            r->needed[from[i]] = 1;
            moves = 1;
        }
    if (!moves) return;
    for (int i = 0; i < n; i++)
        if (r->needed[i])
            memcpy(r->reorder + i * r->slot_floats,
                   r->slots + (slots ? slots[i] : i) * r->slot_floats, bytes);
    for (int i = 0; i < n; i++)
        if (from[i] != i)
            memcpy(r->slots + (slots ? slots[i] : i) * r->slot_floats,
                   r->reorder + from[i] * r->slot_floats, bytes);
}

static void rnn_reorder_slots(const tx_model *m, struct txi_dec_state *st, const int *slots,
                              const int *from, int n, int len)
{
    (void)m;
    (void)len;
    reorder(st, slots, from, n);
}

static void rnn_reorder(const tx_model *m, struct txi_dec_state *st, const int *from, int len)
{
    (void)m;
    (void)len;
    reorder(st, NULL, from, st->n_slots);
}

const struct txi_arch_ops txi_rnn_ops = {
    .encode = txi_rnn_encode,
    .dec_alloc = rnn_dec_alloc,
    .set_source = txi_rnn_set_source,
    .decode = txi_rnn_decode,
    .reorder = rnn_reorder,
    .reorder_slots = rnn_reorder_slots,
};
