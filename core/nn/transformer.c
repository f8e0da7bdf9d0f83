/* transformer.c — encoder and incremental decoder of the Marian/BART/mBART/T5 family, as
 * transformers 4.35.2 computes them (modeling_marian.py, modeling_bart.py, modeling_mbart.py,
 * modeling_t5.py). Activations are row-major (tokens, features); every projection and
 * feed-forward layer is one matrix product over all rows of the step (all sources, batch rows,
 * beams): ops.h picks sgemm, the few-rows kernel or the row-panel kernel, whose scratch the
 * encoder and the decoder state take from the arena. */
#include "transformer.h"
#include "attention.h"
#include "positions.h"
#include "quant.h"
#include "ops.h"
#include "txi.h"

#include <string.h>

/* x (n, d) = embed[ids] * embed_scale + position (pos0 + i % period) [+ layernorm_embedding]:
 * `period` tokens per sequence, laid end to end. */
static void embed_tokens(const tx_model *m, const struct txi_stack *s, const int32_t *ids, int n,
                         int pos0, int period, float *x)
{
    const struct txi_config *c = &m->cfg;
    int d = c->d_model;
    for (int i = 0; i < n; i++) {
        float *xi = x + (size_t)i * d;
        if (s->embed_q) {
            txi_q8_row(s->embed_q, s->embed_scale, d, ids[i], c->embed_scale, xi);
        } else {
            const float *e = s->embed + (size_t)ids[i] * d;
            for (int j = 0; j < d; j++)
                xi[j] = e[j] * c->embed_scale;
        }
        if (s->pos) txi_pos_add_learned(xi, 1, d, s->pos, pos0 + i % period, c->pos_offset);
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

tx_status txi_encode(const tx_model *m, struct txi_arena *a, const struct txi_enc_job *job,
                     struct tx_error *err)
{
    const struct txi_config *c = &m->cfg;
    const struct txi_stack *s = &m->enc;
    int n = job->n_tok, d = c->d_model, inner = c->inner, H = c->n_heads;
    int max_s = 0;
    for (int b = 0; b < job->n_src; b++)
        if (job->src_len[b] > max_s) max_s = job->src_len[b];
    float *x = job->hidden;
    float *h = txi_arena_alloc(a, (size_t)n, (size_t)d * sizeof(float));
    float *q = txi_arena_alloc(a, (size_t)n, (size_t)inner * sizeof(float));
    float *k = txi_arena_alloc(a, (size_t)n, (size_t)inner * sizeof(float));
    float *v = txi_arena_alloc(a, (size_t)n, (size_t)inner * sizeof(float));
    float *ctx = txi_arena_alloc(a, (size_t)n, (size_t)inner * sizeof(float));
    float *f = txi_arena_alloc(a, (size_t)n, (size_t)c->enc_ffn * sizeof(float));
    float *g = c->gated_ffn ? txi_arena_alloc(a, (size_t)n, (size_t)c->enc_ffn * sizeof(float)) : f;
    float *scores = txi_arena_alloc(a, (size_t)max_s, (size_t)max_s * sizeof(float));
    /* scratch of the row-panel products: the widest is d_model against max(inner, ffn) */
    struct txi_gemm_ws ws = {0};
    ws.n_floats = txi_gemm_ws_floats(n, inner > c->enc_ffn ? inner : c->enc_ffn, d);
    if (m->enc.embed_q) /* int8 weights: a block of dequantized rows too */
        ws.n_floats += txi_q8_ws_floats(n, inner > c->enc_ffn ? inner : c->enc_ffn, d);
    ws.buf = ws.n_floats ? txi_arena_alloc(a, ws.n_floats, sizeof(float)) : NULL;
    float *rel = NULL;
    struct txi_rel_bias bias = {0};
    if (s->rel_bias) {
        /* T5: one bias per relative distance, shared by every layer of the stack */
        bias.n_rel = 2 * max_s - 1;
        bias.r_min = -(max_s - 1);
        rel = txi_arena_alloc(a, (size_t)H, (size_t)bias.n_rel * sizeof(float));
        if (rel)
            txi_rel_bias_table(s->rel_bias, H, c->n_buckets, c->max_distance, 1, bias.r_min,
                               bias.n_rel, rel);
        bias.table = rel;
    }
    if (!h || !q || !k || !v || !ctx || !f || !g || !scores || (ws.n_floats && !ws.buf) ||
        (s->rel_bias && !rel))
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (encoder, %d tokens)", n);

    for (int b = 0; b < job->n_src; b++) {
        int off = job->src_off[b], len = job->src_len[b];
        embed_tokens(m, s, job->ids + off, len, 0, len, x + (size_t)off * d);
    }

    size_t att_layer = (size_t)H * max_s * max_s;
    for (int l = 0; l < s->n_layers; l++) {
        const struct txi_layer *L = &s->layers[l];
        const float *in = sub_in(m, &L->self_norm, x, n, h);
        txi_linear_fwd(&L->self_attn.q, in, n, q, &ws);
        txi_linear_fwd(&L->self_attn.k, in, n, k, &ws);
        txi_linear_fwd(&L->self_attn.v, in, n, v, &ws);
        for (int b = 0; b < job->n_src; b++) {
            size_t off = (size_t)job->src_off[b] * inner;
            struct txi_mha_args ma = {.q = q + off,
                                      .ld_q = inner,
                                      .k = k + off,
                                      .ld_k = inner,
                                      .v = v + off,
                                      .ld_v = inner,
                                      .n_q = job->src_len[b],
                                      .n_k = job->src_len[b],
                                      .n_heads = H,
                                      .d_head = c->d_head,
                                      .scale = c->attn_scale,
                                      .mask = NULL,
                                      .bias = rel ? &bias : NULL,
                                      .out = ctx + off,
                                      .ld_out = inner,
                                      .probs = job->att ? job->att + (size_t)l * att_layer : NULL,
                                      .scratch = scores,
                                      .ws = &ws};
            txi_mha(&ma);
        }
        txi_linear_fwd(&L->self_attn.o, ctx, n, h, &ws);
        sub_out(m, &L->self_norm, x, h, n);
        ffn_block(m, L, x, n, h, f, g, &ws);
    }
    if (s->final_norm.w) txi_norm_fwd(&s->final_norm, x, n, d, c->norm_eps, x);
    return TX_OK;
}

tx_status txi_dec_init(const tx_model *m, struct txi_arena *a, struct txi_dec_state *st,
                       const float *enc_hidden, const int *src_off, const int *src_len, int n_src,
                       int n_slots, int max_len, int max_rows, int with_reorder,
                       struct tx_error *err)
{
    const struct txi_config *c = &m->cfg;
    int nl = c->n_dec_layers, inner = c->inner, d = c->d_model;
    memset(st, 0, sizeof *st);
    st->n_slots = n_slots;
    st->max_len = max_len;
    st->max_rows = max_rows;
    st->src_off = src_off;
    st->src_len = src_len;
    int n_src_tok = 0;
    for (int b = 0; b < n_src; b++) {
        n_src_tok += src_len[b];
        if (src_len[b] > st->max_src) st->max_src = src_len[b];
    }
    size_t slot_size = (size_t)max_len * inner;
    st->k_self = txi_arena_alloc(a, (size_t)nl, sizeof(float *));
    st->v_self = txi_arena_alloc(a, (size_t)nl, sizeof(float *));
    st->k_cross = txi_arena_alloc(a, (size_t)nl, sizeof(float *));
    st->v_cross = txi_arena_alloc(a, (size_t)nl, sizeof(float *));
    if (!st->k_self || !st->v_self || !st->k_cross || !st->v_cross) goto nomem;
    for (int l = 0; l < nl; l++) {
        st->k_self[l] = txi_arena_alloc(a, (size_t)n_slots, slot_size * sizeof(float));
        st->v_self[l] = txi_arena_alloc(a, (size_t)n_slots, slot_size * sizeof(float));
        st->k_cross[l] = txi_arena_alloc(a, (size_t)n_src_tok, (size_t)inner * sizeof(float));
        st->v_cross[l] = txi_arena_alloc(a, (size_t)n_src_tok, (size_t)inner * sizeof(float));
        if (!st->k_self[l] || !st->v_self[l] || !st->k_cross[l] || !st->v_cross[l]) goto nomem;
    }
    int ffn = c->dec_ffn;
    int width = max_len > st->max_src ? max_len : st->max_src;
    st->x = txi_arena_alloc(a, (size_t)max_rows, (size_t)d * sizeof(float));
    st->h = txi_arena_alloc(a, (size_t)max_rows, (size_t)d * sizeof(float));
    st->q = txi_arena_alloc(a, (size_t)max_rows, (size_t)inner * sizeof(float));
    st->kv = txi_arena_alloc(a, (size_t)max_rows, (size_t)inner * sizeof(float));
    st->ctx = txi_arena_alloc(a, (size_t)max_rows, (size_t)inner * sizeof(float));
    st->ffn = txi_arena_alloc(a, (size_t)max_rows, (size_t)ffn * sizeof(float));
    st->gate =
        c->gated_ffn ? txi_arena_alloc(a, (size_t)max_rows, (size_t)ffn * sizeof(float)) : st->ffn;
    st->scores = txi_arena_alloc(a, (size_t)max_rows, (size_t)width * sizeof(float));
    /* row-panel scratch for the step products and the cross keys/values of all sources */
    st->ws.n_floats = txi_gemm_ws_floats(max_rows > n_src_tok ? max_rows : n_src_tok,
                                         inner > ffn ? inner : ffn, d > inner ? d : inner);
    if (m->dec.embed_q) /* int8 weights: a block of dequantized rows too */
        st->ws.n_floats += txi_q8_ws_floats(max_rows > n_src_tok ? max_rows : n_src_tok,
                                            inner > ffn ? inner : ffn, d > inner ? d : inner);
    st->ws.buf = st->ws.n_floats ? txi_arena_alloc(a, st->ws.n_floats, sizeof(float)) : NULL;
    if (!st->x || !st->h || !st->q || !st->kv || !st->ctx || !st->ffn || !st->gate || !st->scores ||
        (st->ws.n_floats && !st->ws.buf))
        goto nomem;
    if (with_reorder) {
        st->reorder = txi_arena_alloc(a, (size_t)n_slots, slot_size * sizeof(float));
        st->needed = txi_arena_alloc(a, (size_t)n_slots, 1);
        if (!st->reorder || !st->needed) goto nomem;
    }
    if (m->dec.rel_bias) {
        /* causal buckets for r = -(max_len - 1) .. 0 */
        st->rel_bias = txi_arena_alloc(a, (size_t)c->n_heads, (size_t)max_len * sizeof(float));
        if (!st->rel_bias) goto nomem;
        txi_rel_bias_table(m->dec.rel_bias, c->n_heads, c->n_buckets, c->max_distance, 0,
                           -(max_len - 1), max_len, st->rel_bias);
    }
    /* Cross-attention keys and values: once per source, for all layers. */
    for (int l = 0; l < nl; l++) {
        const struct txi_layer *L = &m->dec.layers[l];
        txi_linear_fwd(&L->cross_attn.k, enc_hidden, n_src_tok, st->k_cross[l], &st->ws);
        txi_linear_fwd(&L->cross_attn.v, enc_hidden, n_src_tok, st->v_cross[l], &st->ws);
    }
    return TX_OK;
nomem:
    return txi_fail(err, TX_ERR_NOMEM,
                    "session arena exhausted (decoder state for %d rows x %d positions)", n_slots,
                    max_len);
}

void txi_decode(const tx_model *m, struct txi_dec_state *st, const struct txi_dec_job *job)
{
    const struct txi_config *c = &m->cfg;
    const struct txi_stack *s = &m->dec;
    int d = c->d_model, inner = c->inner, H = c->n_heads, V = c->dec_vocab;
    int n_new = job->n_new, past = job->past, n = job->n_rows * n_new, n_k = past + n_new;
    size_t slot_size = (size_t)st->max_len * inner;
    float *x = st->x, *h = st->h;

    embed_tokens(m, s, job->ids, n, past, n_new, x);

    struct txi_attn_mask causal = {.causal = 1, .q_pos0 = past, .window = -1, .key_valid = NULL};
    struct txi_rel_bias bias = {st->rel_bias, st->max_len, -(st->max_len - 1)};
    for (int l = 0; l < s->n_layers; l++) {
        const struct txi_layer *L = &s->layers[l];
        /* self-attention: new keys/values join each row's cache, queries see the prefix */
        const float *in = sub_in(m, &L->self_norm, x, n, h);
        txi_linear_fwd(&L->self_attn.q, in, n, st->q, &st->ws);
        float *kc = st->k_self[l], *vc = st->v_self[l];
        txi_linear_fwd(&L->self_attn.k, in, n, st->kv, &st->ws);
        for (int r = 0; r < job->n_rows; r++)
            memcpy(kc + job->slot[r] * slot_size + (size_t)past * inner,
                   st->kv + (size_t)r * n_new * inner, (size_t)n_new * inner * sizeof(float));
        txi_linear_fwd(&L->self_attn.v, in, n, st->kv, &st->ws);
        for (int r = 0; r < job->n_rows; r++)
            memcpy(vc + job->slot[r] * slot_size + (size_t)past * inner,
                   st->kv + (size_t)r * n_new * inner, (size_t)n_new * inner * sizeof(float));
        for (int r = 0; r < job->n_rows; r++) {
            size_t off = (size_t)r * n_new * inner;
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
        txi_linear_fwd(&L->self_attn.o, st->ctx, n, h, &st->ws);
        sub_out(m, &L->self_norm, x, h, n);

        /* cross-attention over the row's source (keys/values computed once in dec_init) */
        in = sub_in(m, &L->cross_norm, x, n, h);
        txi_linear_fwd(&L->cross_attn.q, in, n, st->q, &st->ws);
        for (int r = 0; r < job->n_rows; r++) {
            size_t off = (size_t)r * n_new * inner;
            int b = job->src[r], n_s = st->src_len[b];
            size_t soff = (size_t)st->src_off[b] * inner;
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
                .probs = job->cross_att ? job->cross_att + (size_t)l * H * n_new * n_s : NULL,
                .scratch = st->scores};
            txi_mha(&ma);
        }
        txi_linear_fwd(&L->cross_attn.o, st->ctx, n, h, &st->ws);
        sub_out(m, &L->cross_norm, x, h, n);

        ffn_block(m, L, x, n, h, st->ffn, st->gate, &st->ws);
    }

    /* output projection of the rows that need logits (T5 tied: scaled by d_model^-0.5) */
    int n_out = job->all_positions ? n : job->n_rows;
    for (int r = 0; r < n_out; r++) {
        int src_row = job->all_positions ? r : r * n_new + n_new - 1;
        const float *xi = x + (size_t)src_row * d;
        float *hi = h + (size_t)r * d;
        if (s->final_norm.w)
            txi_norm_fwd(&s->final_norm, xi, 1, d, c->norm_eps, hi);
        else
            memcpy(hi, xi, (size_t)d * sizeof(float));
        if (c->lm_head_scale != 1.0f)
            for (int j = 0; j < d; j++)
                hi[j] *= c->lm_head_scale;
    }
    if (m->lm_head_q)
        txi_q8_matmul_nt(n_out, V, d, 1.0f, h, d, m->lm_head_q, m->lm_head_scale, 0.0f, NULL,
                         job->logits, V, &st->ws);
    else
        txi_matmul_nt(n_out, V, d, 1.0f, h, d, m->lm_head, d, 0.0f, job->logits, V);
    if (m->final_logits_bias)
        for (int r = 0; r < n_out; r++)
            txi_add(job->logits + (size_t)r * V, m->final_logits_bias, (size_t)V);
}

void txi_dec_reorder(const tx_model *m, struct txi_dec_state *st, const int *from, int len)
{
    size_t slot_size = (size_t)st->max_len * m->cfg.inner;
    size_t bytes = (size_t)len * m->cfg.inner * sizeof(float);
    memset(st->needed, 0, (size_t)st->n_slots);
    int moves = 0;
    for (int r = 0; r < st->n_slots; r++)
        if (from[r] != r) {
            st->needed[from[r]] = 1;
            moves = 1;
        }
    if (!moves) return;
    for (int l = 0; l < m->cfg.n_dec_layers; l++) {
        float *caches[2] = {st->k_self[l], st->v_self[l]};
        for (int kv = 0; kv < 2; kv++) {
            float *cache = caches[kv];
            /* save every slot that is copied elsewhere, then overwrite the moved slots */
            for (int r = 0; r < st->n_slots; r++)
                if (st->needed[r])
                    memcpy(st->reorder + r * slot_size, cache + r * slot_size, bytes);
            for (int r = 0; r < st->n_slots; r++)
                if (from[r] != r)
                    memcpy(cache + r * slot_size, st->reorder + from[r] * slot_size, bytes);
        }
    }
}
