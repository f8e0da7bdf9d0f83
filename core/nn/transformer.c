/* transformer.c — encoder and incremental decoder of the Marian/BART/mBART/T5 family, as
 * transformers 4.35.2 computes them (modeling_marian.py, modeling_bart.py, modeling_mbart.py,
 * modeling_t5.py). Activations are row-major (tokens, features); every projection and
 * feed-forward layer is one matrix product over all rows of the step (all sources, batch rows,
 * beams): ops.h picks sgemm, the few-rows kernel or the row-panel kernel, whose scratch the
 * encoder and the decoder state take from the arena. */
#include "transformer.h"
#include "rnn.h"
#include "attention.h"
#include "positions.h"
#include "quant.h"
#include "ops.h"
#include "txi.h"

#include <string.h>

/* x (n, d) = embed[ids] * embed_scale + position [+ layernorm_embedding]: `period` tokens per
 * sequence, laid end to end; token i is at position pos0 + i % period, or with pos0s set at
 * pos0s[i / period] + i % period. */
static void embed_tokens(const tx_model *m, const struct txi_stack *s, const int32_t *ids, int n,
                         int pos0, const int *pos0s, int period, float *x)
{
    const struct txi_config *c = &m->cfg;
    int d = c->d_model;
    for (int i = 0; i < n; i++) {
        float *xi = x + (size_t)i * d;
        if (s->embed_q) {
            txi_lp_row(s->embed_fmt, s->embed_q, s->embed_scale, d, ids[i], c->embed_scale, xi);
        } else {
            const float *e = s->embed + (size_t)ids[i] * d;
            for (int j = 0; j < d; j++)
                xi[j] = e[j] * c->embed_scale;
        }
        int pos = (pos0s ? pos0s[i / period] : pos0) + i % period;
        if (s->pos) txi_pos_add_learned(xi, 1, d, s->pos, pos, c->pos_offset);
    }
    if (s->emb_norm.w) txi_norm_fwd(&s->emb_norm, x, n, d, c->norm_eps, x);
}

/* Input of a sub-layer: the normed residual stream (pre-norm) or the stream itself. */
static const float *sub_in(const tx_model *m, const struct txi_norm *nm, const float *x, int n,
                           float *h)
{
    if (!m->cfg.pre_norm) return x;
    txi_norm_fwd(nm, x, n, m->cfg.d_model, m->cfg.norm_eps, h);
    return h;
}

/* Residual add of a sub-layer's output y, then the norm of post-norm models. */
static void sub_out(const tx_model *m, const struct txi_norm *nm, float *x, const float *y, int n)
{
    int d = m->cfg.d_model;
    if (m->cfg.pre_norm)
        txi_add(x, y, (size_t)n * d);
    else
        txi_add_norm_fwd(nm, x, y, n, d, m->cfg.norm_eps); /* one pass over x */
}

/* Feed-forward sub-layer on n rows of x: fc2(act(fc1 h)) or T5 gated fc2(act(wi_0 h) * wi_1 h). */
static void ffn_block(const tx_model *m, const struct txi_layer *L, float *x, int n, float *h,
                      float *f, float *g, const struct txi_gemm_ws *ws)
{
    const float *in = sub_in(m, &L->ffn_norm, x, n, h);
    txi_linear_fwd(&L->fc1, in, n, f, ws);
    txi_activation(f, (size_t)n * L->fc1.n_out, m->cfg.act);
    if (m->cfg.gated_ffn) { /* T5 v1.1: wi_1 (F32 or int8) */
        txi_linear_fwd(&L->fc1_gate, in, n, g, ws);
        for (size_t i = 0; i < (size_t)n * L->fc1.n_out; i++)
            f[i] *= g[i];
    }
    txi_linear_fwd(&L->fc2, f, n, h, ws);
    sub_out(m, &L->ffn_norm, x, h, n);
}

/* The encoder's scratch for n tokens in sources of at most max_s tokens, from the arena. */
struct enc_scratch {
    float *h;                 /* (n, d_model) sub-layer input and output */
    float *q, *k, *v, *ctx;   /* (n, inner) */
    float *f, *g;             /* (n, enc_ffn) feed-forward; g is f unless gated */
    float *scores;            /* (max_s, max_s) attention scores of one head */
    float *rel;               /* T5: (n_heads, 2 * max_s - 1) relative bias table, else NULL */
    struct txi_rel_bias bias; /* over rel */
    struct txi_gemm_ws ws;    /* row-panel product scratch */
};

/* Takes sc's buffers from the arena and fills the T5 bias table. TX_ERR_NOMEM. */
static tx_status enc_scratch_alloc(const tx_model *m, struct txi_arena *a, int n, int max_s,
                                   struct txi_pool *pool, struct enc_scratch *sc,
                                   struct tx_error *err)
{
    const struct txi_config *c = &m->cfg;
    const struct txi_stack *s = &m->enc;
    size_t d = (size_t)c->d_model, inner = (size_t)c->inner, ffn = (size_t)c->enc_ffn;
    memset(sc, 0, sizeof *sc);
    sc->h = txi_arena_alloc(a, (size_t)n, d * sizeof(float));
    sc->q = txi_arena_alloc(a, (size_t)n, inner * sizeof(float));
    sc->k = txi_arena_alloc(a, (size_t)n, inner * sizeof(float));
    sc->v = txi_arena_alloc(a, (size_t)n, inner * sizeof(float));
    sc->ctx = txi_arena_alloc(a, (size_t)n, inner * sizeof(float));
    sc->f = txi_arena_alloc(a, (size_t)n, ffn * sizeof(float));
    sc->g = c->gated_ffn ? txi_arena_alloc(a, (size_t)n, ffn * sizeof(float)) : sc->f;
    sc->scores = txi_arena_alloc(a, (size_t)max_s, (size_t)max_s * sizeof(float));
    /* scratch of the row-panel products: the widest is d_model against max(inner, ffn) */
    size_t ws_floats =
        txi_gemm_ws_floats(n, c->inner > c->enc_ffn ? c->inner : c->enc_ffn, c->d_model);
    if (m->enc.embed_q) /* int8/F16 weights: a block of converted rows too */
        ws_floats +=
            txi_q8_ws_floats(n, c->inner > c->enc_ffn ? c->inner : c->enc_ffn, c->d_model);
    int ws_failed = txi_gemm_ws_alloc(&sc->ws, a, ws_floats, pool);
    if (s->rel_bias) {
        /* T5: one bias per relative distance, shared by every layer of the stack */
        sc->bias.n_rel = 2 * max_s - 1;
        sc->bias.r_min = -(max_s - 1);
        sc->rel = txi_arena_alloc(a, (size_t)c->n_heads, (size_t)sc->bias.n_rel * sizeof(float));
        if (sc->rel)
            txi_rel_bias_table(s->rel_bias, c->n_heads, c->n_buckets, c->max_distance, 1,
                               sc->bias.r_min, sc->bias.n_rel, sc->rel);
        sc->bias.table = sc->rel;
    }
    if (!sc->h || !sc->q || !sc->k || !sc->v || !sc->ctx || !sc->f || !sc->g || !sc->scores ||
        ws_failed || (s->rel_bias && !sc->rel))
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (encoder, %d tokens)", n);
    return TX_OK;
}

/* Self-attention of encoder layer l, source by source: ctx = attention(q, k, v) (capturing the
 * probabilities in job->att when set). */
static void enc_self_attention(const tx_model *m, const struct txi_enc_job *job, int l, int max_s,
                               struct enc_scratch *sc)
{
    const struct txi_config *c = &m->cfg;
    int inner = c->inner, H = c->n_heads;
    size_t att_layer = (size_t)H * max_s * max_s;
    for (int b = 0; b < job->n_src; b++) {
        size_t off = (size_t)job->src_off[b] * inner;
        struct txi_mha_args ma = {.q = sc->q + off,
                                  .ld_q = inner,
                                  .k = sc->k + off,
                                  .ld_k = inner,
                                  .v = sc->v + off,
                                  .ld_v = inner,
                                  .n_q = job->src_len[b],
                                  .n_k = job->src_len[b],
                                  .n_heads = H,
                                  .d_head = c->d_head,
                                  .scale = c->attn_scale,
                                  .mask = NULL,
                                  .bias = sc->rel ? &sc->bias : NULL,
                                  .out = sc->ctx + off,
                                  .ld_out = inner,
                                  .probs = job->att ? job->att + (size_t)l * att_layer : NULL,
                                  .scratch = sc->scores,
                                  .ws = &sc->ws};
        txi_mha(&ma);
    }
}

static tx_status tf_encode(const tx_model *m, struct txi_arena *a, const struct txi_enc_job *job,
                           struct tx_error *err)
{
    const struct txi_config *c = &m->cfg;
    const struct txi_stack *s = &m->enc;
    int n = job->n_tok, d = c->d_model;
    int max_s = 0;
    for (int b = 0; b < job->n_src; b++)
        if (job->src_len[b] > max_s) max_s = job->src_len[b];
    float *x = job->hidden;
    struct enc_scratch sc;
    tx_status st = enc_scratch_alloc(m, a, n, max_s, job->pool, &sc, err);
    if (st != TX_OK) return st;

    for (int b = 0; b < job->n_src; b++) {
        int off = job->src_off[b], len = job->src_len[b];
        embed_tokens(m, s, job->ids + off, len, 0, NULL, len, x + (size_t)off * d);
    }

    for (int l = 0; l < s->n_layers; l++) {
        const struct txi_layer *L = &s->layers[l];
        const float *in = sub_in(m, &L->self_norm, x, n, sc.h);
        txi_linear_fwd(&L->self_attn.q, in, n, sc.q, &sc.ws);
        txi_linear_fwd(&L->self_attn.k, in, n, sc.k, &sc.ws);
        txi_linear_fwd(&L->self_attn.v, in, n, sc.v, &sc.ws);
        enc_self_attention(m, job, l, max_s, &sc);
        txi_linear_fwd(&L->self_attn.o, sc.ctx, n, sc.h, &sc.ws);
        sub_out(m, &L->self_norm, x, sc.h, n);
        ffn_block(m, L, x, n, sc.h, sc.f, sc.g, &sc.ws);
    }
    if (s->final_norm.w) txi_norm_fwd(&s->final_norm, x, n, d, c->norm_eps, x);
    return TX_OK;
}

/* Per-layer caches: self-attention K/V (n_slots, max_len, inner), cross-attention K/V
 * (n_src_tok, inner). Returns -1 when the arena is exhausted. */
static int dec_alloc_caches(const tx_model *m, struct txi_arena *a, struct txi_dec_state *st)
{
    int n_src_tok = st->n_src_tok;
    int nl = m->cfg.n_dec_layers, inner = m->cfg.inner;
    size_t slot_size = (size_t)st->max_len * inner;
    st->k_self = txi_arena_alloc(a, (size_t)nl, sizeof(float *));
    st->v_self = txi_arena_alloc(a, (size_t)nl, sizeof(float *));
    st->k_cross = txi_arena_alloc(a, (size_t)nl, sizeof(float *));
    st->v_cross = txi_arena_alloc(a, (size_t)nl, sizeof(float *));
    if (!st->k_self || !st->v_self || !st->k_cross || !st->v_cross) return -1;
    for (int l = 0; l < nl; l++) {
        st->k_self[l] = txi_arena_alloc(a, (size_t)st->n_slots, slot_size * sizeof(float));
        st->v_self[l] = txi_arena_alloc(a, (size_t)st->n_slots, slot_size * sizeof(float));
        st->k_cross[l] = txi_arena_alloc(a, (size_t)n_src_tok, (size_t)inner * sizeof(float));
        st->v_cross[l] = txi_arena_alloc(a, (size_t)n_src_tok, (size_t)inner * sizeof(float));
        if (!st->k_self[l] || !st->v_self[l] || !st->k_cross[l] || !st->v_cross[l]) return -1;
    }
    return 0;
}

/* A step's scratch for max_rows rows, and the row-panel scratch for the step products and the
 * cross keys/values of all n_src_tok source tokens. Returns -1 when the arena is exhausted. */
static int dec_alloc_scratch(const tx_model *m, struct txi_arena *a, struct txi_dec_state *st)
{
    int n_src_tok = st->max_src; /* cross K/V are computed a source at a time */
    const struct txi_config *c = &m->cfg;
    size_t rows = (size_t)st->max_rows;
    int d = c->d_model, inner = c->inner, ffn = c->dec_ffn;
    int width = st->max_len > st->max_src ? st->max_len : st->max_src;
    st->x = txi_arena_alloc(a, rows, (size_t)d * sizeof(float));
    st->h = txi_arena_alloc(a, rows, (size_t)d * sizeof(float));
    st->q = txi_arena_alloc(a, rows, (size_t)inner * sizeof(float));
    st->kv = txi_arena_alloc(a, rows, (size_t)inner * sizeof(float));
    st->ctx = txi_arena_alloc(a, rows, (size_t)inner * sizeof(float));
    st->ffn = txi_arena_alloc(a, rows, (size_t)ffn * sizeof(float));
    st->gate = c->gated_ffn ? txi_arena_alloc(a, rows, (size_t)ffn * sizeof(float)) : st->ffn;
    st->scores = txi_arena_alloc(a, rows, (size_t)width * sizeof(float));
    size_t ws_floats = txi_gemm_ws_floats(st->max_rows > n_src_tok ? st->max_rows : n_src_tok,
                                          inner > ffn ? inner : ffn, d > inner ? d : inner);
    if (m->dec.embed_q) /* int8/F16 weights: a block of converted rows too */
        ws_floats += txi_q8_ws_floats(st->max_rows > n_src_tok ? st->max_rows : n_src_tok,
                                      inner > ffn ? inner : ffn, d > inner ? d : inner);
    if (!st->x || !st->h || !st->q || !st->kv || !st->ctx || !st->ffn || !st->gate || !st->scores ||
        txi_gemm_ws_alloc(&st->ws, a, ws_floats, st->ws.pool))
        return -1;
    return 0;
}

/* What beam reordering needs (with_reorder) and the T5 causal bias table. Returns -1 when the
 * arena is exhausted. */
static int dec_alloc_extras(const tx_model *m, struct txi_arena *a, struct txi_dec_state *st,
                            int with_reorder)
{
    const struct txi_config *c = &m->cfg;
    int max_len = st->max_len;
    if (with_reorder) {
        size_t slot_size = (size_t)max_len * c->inner;
        size_t n_re = (size_t)(st->reorder_slots ? st->reorder_slots : st->n_slots);
        st->reorder = txi_arena_alloc(a, n_re, slot_size * sizeof(float));
        st->needed = txi_arena_alloc(a, (size_t)st->n_slots, 1);
        if (!st->reorder || !st->needed) return -1;
    }
    if (m->dec.rel_bias) {
        /* causal buckets for r = -(max_len - 1) .. 0 */
        st->rel_bias = txi_arena_alloc(a, (size_t)c->n_heads, (size_t)max_len * sizeof(float));
        if (!st->rel_bias) return -1;
        txi_rel_bias_table(m->dec.rel_bias, c->n_heads, c->n_buckets, c->max_distance, 0,
                           -(max_len - 1), max_len, st->rel_bias);
    }
    return 0;
}

static tx_status tf_dec_alloc(const tx_model *m, struct txi_arena *a, struct txi_dec_state *st,
                              int max_len, struct tx_error *err)
{
    st->max_len = max_len;
    if (dec_alloc_caches(m, a, st) || dec_alloc_scratch(m, a, st) ||
        dec_alloc_extras(m, a, st, st->reorder_slots > 0))
        return txi_fail(err, TX_ERR_NOMEM,
                        "session arena exhausted (decoder state for %d rows x %d positions)",
                        st->n_slots, max_len);
    return TX_OK;
}

static void tf_set_source(const tx_model *m, struct txi_dec_state *st, const float *enc_hidden,
                          int off, int len, const struct txi_gemm_ws *ws)
{
    size_t at = (size_t)off * m->cfg.inner;
    for (int l = 0; l < m->cfg.n_dec_layers; l++) {
        const struct txi_layer *L = &m->dec.layers[l];
        txi_linear_fwd(&L->cross_attn.k, enc_hidden, len, st->k_cross[l] + at, ws);
        txi_linear_fwd(&L->cross_attn.v, enc_hidden, len, st->v_cross[l] + at, ws);
    }
}

tx_status txi_dec_init(const tx_model *m, struct txi_arena *a, struct txi_dec_state *st,
                       const float *enc_hidden, const int *src_off, const int *src_len, int n_src,
                       int n_slots, int max_len, int max_rows, int with_reorder,
                       struct txi_pool *pool, struct tx_error *err)
{
    int n_src_tok = 0, max_src = 0;
    for (int b = 0; b < n_src; b++) {
        n_src_tok += src_len[b];
        if (src_len[b] > max_src) max_src = src_len[b];
    }
    tx_status ts = txi_dec_alloc(m, a, st, n_slots, max_len, max_rows, n_src_tok, max_src,
                                 with_reorder ? n_slots : 0, src_off, src_len, 0, pool, err);
    if (ts != TX_OK) return ts;
    /* Cross-attention keys and values: once per source, for all layers. */
    for (int b = 0; b < n_src; b++)
        txi_dec_set_source(m, st, enc_hidden + (size_t)src_off[b] * m->cfg.d_model, src_off[b],
                           src_len[b], &st->ws);
    return TX_OK;
}

/* Cached positions before row r's new tokens. */
#define ROW_PAST(job, r) ((job)->pasts ? (job)->pasts[r] : (job)->past)

/* Self-attention of decoder layer l: the rows' new keys/values join their cache slots, queries
 * see the prefix (causal, T5 bias); the attention output is added to the stream st->x. */
static void dec_self_attention(const tx_model *m, struct txi_dec_state *st,
                               const struct txi_dec_job *job, int l)
{
    const struct txi_config *c = &m->cfg;
    const struct txi_layer *L = &m->dec.layers[l];
    int inner = c->inner, H = c->n_heads, n_new = job->n_new;
    int n = job->n_rows * n_new;
    size_t slot_size = (size_t)st->max_len * inner;
    struct txi_rel_bias bias = {st->rel_bias, st->max_len, -(st->max_len - 1)};
    const float *in = sub_in(m, &L->self_norm, st->x, n, st->h);
    txi_linear_fwd(&L->self_attn.q, in, n, st->q, &st->ws);
    float *kc = st->k_self[l], *vc = st->v_self[l];
    txi_linear_fwd(&L->self_attn.k, in, n, st->kv, &st->ws);
    for (int r = 0; r < job->n_rows; r++)
        memcpy(kc + job->slot[r] * slot_size + (size_t)ROW_PAST(job, r) * inner,
               st->kv + (size_t)r * n_new * inner, (size_t)n_new * inner * sizeof(float));
    txi_linear_fwd(&L->self_attn.v, in, n, st->kv, &st->ws);
    for (int r = 0; r < job->n_rows; r++)
        memcpy(vc + job->slot[r] * slot_size + (size_t)ROW_PAST(job, r) * inner,
               st->kv + (size_t)r * n_new * inner, (size_t)n_new * inner * sizeof(float));
    for (int r = 0; r < job->n_rows; r++) {
        size_t off = (size_t)r * n_new * inner;
        int past = ROW_PAST(job, r), n_k = past + n_new;
        struct txi_attn_mask causal = {
            .causal = 1, .q_pos0 = past, .window = -1, .key_valid = NULL};
        struct txi_mha_args ma = {
            .q = st->q + off,
            .ld_q = inner,
            .k = kc + job->slot[r] * slot_size,
            .ld_k = inner,
            .v = vc + job->slot[r] * slot_size,
            .ld_v = inner,
            .n_q = n_new,
            .n_k = n_k,
            .n_heads = H,
            .d_head = c->d_head,
            .scale = c->attn_scale,
            .mask = &causal,
            .bias = st->rel_bias ? &bias : NULL,
            .out = st->ctx + off,
            .ld_out = inner,
            .probs = job->self_att ? job->self_att + (size_t)l * H * n_new * n_k : NULL,
            .scratch = st->scores};
        txi_mha(&ma);
    }
    txi_linear_fwd(&L->self_attn.o, st->ctx, n, st->h, &st->ws);
    sub_out(m, &L->self_norm, st->x, st->h, n);
}

/* Cross-attention of decoder layer l over each row's source (keys/values computed once in
 * txi_dec_init); the output is added to the stream st->x. */
static void dec_cross_attention(const tx_model *m, struct txi_dec_state *st,
                                const struct txi_dec_job *job, int l)
{
    const struct txi_config *c = &m->cfg;
    const struct txi_layer *L = &m->dec.layers[l];
    int inner = c->inner, H = c->n_heads, n_new = job->n_new, n = job->n_rows * n_new;
    const float *in = sub_in(m, &L->cross_norm, st->x, n, st->h);
    txi_linear_fwd(&L->cross_attn.q, in, n, st->q, &st->ws);
    for (int r = 0; r < job->n_rows; r++) {
        size_t off = (size_t)r * n_new * inner;
        int b = job->src[r], n_s = st->src_len[b];
        size_t soff = (size_t)st->src_off[b] * inner;
        float *cap = job->cross_att ? job->cross_att : job->cross_rows ? job->cross_rows[r] : NULL;
        struct txi_mha_args ma = {
            .q = st->q + off,
            .ld_q = inner,
            .k = st->k_cross[l] + soff,
            .ld_k = inner,
            .v = st->v_cross[l] + soff,
            .ld_v = inner,
            .n_q = n_new,
            .n_k = n_s,
            .n_heads = H,
            .d_head = c->d_head,
            .scale = c->attn_scale,
            .mask = NULL,
            .bias = NULL,
            .out = st->ctx + off,
            .ld_out = inner,
            .probs = cap ? cap + (size_t)l * H * n_new * n_s : NULL,
            .scratch = st->scores};
        txi_mha(&ma);
    }
    txi_linear_fwd(&L->cross_attn.o, st->ctx, n, st->h, &st->ws);
    sub_out(m, &L->cross_norm, st->x, st->h, n);
}

/* Output projection of the rows that need logits (every position, or each row's last): final
 * norm, T5's tied-head scale d_model^-0.5, lm_head, final_logits_bias. */
static void dec_logits(const tx_model *m, struct txi_dec_state *st, const struct txi_dec_job *job)
{
    const struct txi_config *c = &m->cfg;
    const struct txi_stack *s = &m->dec;
    int d = c->d_model, V = c->dec_vocab, n_new = job->n_new;
    int n_out = job->all_positions ? job->n_rows * n_new : job->n_rows;
    for (int r = 0; r < n_out; r++) {
        int src_row = job->all_positions ? r : r * n_new + n_new - 1;
        const float *xi = st->x + (size_t)src_row * d;
        float *hi = st->h + (size_t)r * d;
        if (s->final_norm.w)
            txi_norm_fwd(&s->final_norm, xi, 1, d, c->norm_eps, hi);
        else
            memcpy(hi, xi, (size_t)d * sizeof(float));
        if (c->lm_head_scale != 1.0f)
            for (int j = 0; j < d; j++)
                hi[j] *= c->lm_head_scale;
    }
    if (m->lm_head_q)
        txi_lp_matmul_nt(m->lm_head_fmt, n_out, V, d, 1.0f, st->h, d, m->lm_head_q,
                         m->lm_head_scale, 0.0f, NULL, job->logits, V, &st->ws);
    else
        txi_matmul_nt_ws(n_out, V, d, 1.0f, st->h, d, m->lm_head, d, 0.0f, job->logits, V,
                         &st->ws);
    if (m->final_logits_bias)
        for (int r = 0; r < n_out; r++)
            txi_add(job->logits + (size_t)r * V, m->final_logits_bias, (size_t)V);
}

static void tf_decode(const tx_model *m, struct txi_dec_state *st, const struct txi_dec_job *job)
{
    const struct txi_stack *s = &m->dec;
    int n = job->n_rows * job->n_new;
    embed_tokens(m, s, job->ids, n, job->past, job->pasts, job->n_new, st->x);
    for (int l = 0; l < s->n_layers; l++) {
        dec_self_attention(m, st, job, l);
        dec_cross_attention(m, st, job, l);
        ffn_block(m, &s->layers[l], st->x, n, st->h, st->ffn, st->gate, &st->ws);
    }
    dec_logits(m, st, job);
}

/* Marks in needed (n) the rows whose slot must be saved before the copies: a source of another
 * row's copy (from[i'] = i, i' != i) that is itself overwritten (from[i] != i). A source that
 * keeps its own contents is read in place. Returns whether any row moves. */
static int plan_reorder(const int *from, int n, uint8_t *needed)
{
    int moves = 0;
    memset(needed, 0, (size_t)n);
    for (int i = 0; i < n; i++)
        if (from[i] != i) {
            needed[from[i]] = 1;
            moves = 1;
        }
    for (int i = 0; i < n; i++)
        if (from[i] == i) needed[i] = 0;
    return moves;
}

/* Row i of every layer's self-attention K/V (slot slots[i], or i without slots) becomes row
 * from[i]'s first len positions, as plan_reorder planned: the saved sources into reorder
 * first, then each moved row from the saved copy or, for a source that is not overwritten,
 * from its slot. */
static void reorder_caches(const tx_model *m, struct txi_dec_state *st, const int *slots,
                           const int *from, int n, int len)
{
    size_t slot_size = (size_t)st->max_len * m->cfg.inner;
    size_t bytes = (size_t)len * m->cfg.inner * sizeof(float);
    for (int l = 0; l < m->cfg.n_dec_layers; l++) {
        float *caches[2] = {st->k_self[l], st->v_self[l]};
        for (int kv = 0; kv < 2; kv++) {
            float *cache = caches[kv];
            for (int i = 0; i < n; i++)
                if (st->needed[i])
                    memcpy(st->reorder + i * slot_size,
                           cache + (size_t)(slots ? slots[i] : i) * slot_size, bytes);
            for (int i = 0; i < n; i++) {
                if (from[i] == i) continue;
                int f = from[i];
                const float *src = st->needed[f]
                                       ? st->reorder + f * slot_size
                                       : cache + (size_t)(slots ? slots[f] : f) * slot_size;
                memcpy(cache + (size_t)(slots ? slots[i] : i) * slot_size, src, bytes);
            }
        }
    }
}

static void tf_reorder(const tx_model *m, struct txi_dec_state *st, const int *from, int len)
{
    if (plan_reorder(from, st->n_slots, st->needed) && len > 0)
        reorder_caches(m, st, NULL, from, st->n_slots, len);
}

static void tf_reorder_slots(const tx_model *m, struct txi_dec_state *st, const int *slots,
                             const int *from, int n, int len)
{
    if (plan_reorder(from, n, st->needed) && len > 0) reorder_caches(m, st, slots, from, n, len);
}

/* ------------------------------------------------------------------ the architecture's table */

static const struct txi_arch_ops tf_ops = {
    .encode = tf_encode,
    .dec_alloc = tf_dec_alloc,
    .set_source = tf_set_source,
    .decode = tf_decode,
    .reorder = tf_reorder,
    .reorder_slots = tf_reorder_slots,
};

static const struct txi_arch_ops *ops_of(const tx_model *m)
{
    return m->cfg.arch == TX_ARCH_RNN ? &txi_rnn_ops : &tf_ops;
}

tx_status txi_encode(const tx_model *m, struct txi_arena *a, const struct txi_enc_job *job,
                     struct tx_error *err)
{
    return ops_of(m)->encode(m, a, job, err);
}

tx_status txi_dec_alloc(const tx_model *m, struct txi_arena *a, struct txi_dec_state *st,
                        int n_slots, int max_len, int max_rows, int n_src_tok, int max_src,
                        int reorder_slots, const int *src_off, const int *src_len, int rowwise,
                        struct txi_pool *pool, struct tx_error *err)
{
    memset(st, 0, sizeof *st);
    st->ws.pool = pool; /* the architectures' dec_alloc size the scratch for its threads */
    st->n_slots = n_slots;
    st->max_rows = max_rows;
    st->n_src_tok = n_src_tok;
    st->max_src = max_src;
    st->reorder_slots = reorder_slots;
    st->src_off = src_off;
    st->src_len = src_len;
    tx_status ts = ops_of(m)->dec_alloc(m, a, st, max_len, err);
    st->ws.rowwise = rowwise;
    return ts;
}

void txi_dec_set_source(const tx_model *m, struct txi_dec_state *st, const float *enc_hidden,
                        int off, int len, const struct txi_gemm_ws *ws)
{
    ops_of(m)->set_source(m, st, enc_hidden, off, len, ws);
}

void txi_decode(const tx_model *m, struct txi_dec_state *st, const struct txi_dec_job *job)
{
    ops_of(m)->decode(m, st, job);
}

void txi_dec_reorder(const tx_model *m, struct txi_dec_state *st, const int *from, int len)
{
    ops_of(m)->reorder(m, st, from, len);
}

void txi_dec_reorder_slots(const tx_model *m, struct txi_dec_state *st, const int *slots,
                           const int *from, int n, int len)
{
    ops_of(m)->reorder_slots(m, st, slots, from, n, len);
}
