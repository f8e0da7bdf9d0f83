/* forward.c — tx_forward (one teacher-forced pass with attention capture) and
 * txi_forward_batch_first_step (padded-batch encoder + first decoder step, for parity tests). */
#include "forward.h"
#include "model.h"
#include "session.h"
#include "transformer.h"
#include "txi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Empties the session arena for a new call. */
static tx_status arena_start(tx_session *s, struct tx_error *err)
{
    if (txi_arena_reset(&s->arena, 0) != 0)
        return txi_fail(err, TX_ERR_NOMEM, "out of memory growing the session arena");
    return TX_OK;
}

/* Checks tx_forward's source and decoder ids: non-empty, within the position limits, in the
 * vocabularies. */
static tx_status check_pair(const tx_model *m, const int32_t *input_ids, int n_src,
                            const int32_t *decoder_ids, int n_tgt, struct tx_error *err)
{
    const struct txi_config *c = &m->cfg;
    tx_status st = txi_check_source(m, "input_ids", input_ids, n_src, err);
    if (st != TX_OK) return st;
    if (!decoder_ids || n_tgt <= 0) return txi_fail(err, TX_ERR_INVALID, "decoder_ids is empty");
    if (c->max_pos && n_tgt > c->max_pos)
        return txi_fail(err, TX_ERR_TOO_LONG,
                        "decoder_ids has %d tokens; the model accepts at most %d "
                        "(max_position_embeddings)",
                        n_tgt, c->max_pos);
    return txi_check_ids("decoder_ids", decoder_ids, n_tgt, c->dec_vocab, err);
}

/* Checks every source of a batch ("input_ids[2]" in errors) and writes the longest's length. */
static tx_status check_batch(const tx_model *m, const int32_t *const *input_ids, const int *n_src,
                             int n_batch, int *max_src, struct tx_error *err)
{
    *max_src = 0;
    for (int b = 0; b < n_batch; b++) {
        char what[32];
        snprintf(what, sizeof what, "input_ids[%d]", b);
        tx_status st = txi_check_source(m, what, input_ids[b], n_src[b], err);
        if (st != TX_OK) return st;
        if (n_src[b] > *max_src) *max_src = n_src[b];
    }
    return TX_OK;
}

tx_status tx_forward(tx_session *s, const int32_t *input_ids, int n_src, const int32_t *decoder_ids,
                     int n_tgt, unsigned flags, struct tx_forward_out *out, struct tx_error *err)
{
    if (!s || !out) return txi_fail(err, TX_ERR_INVALID, "tx_forward: NULL argument");
    const tx_model *m = s->model;
    const struct txi_config *c = &m->cfg;
    if (c->arch == TX_ARCH_HAN)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "model_type han scores sentences (tx_salience); it has no decoder");
    tx_status st = check_pair(m, input_ids, n_src, decoder_ids, n_tgt, err);
    if (st != TX_OK) return st;
    st = arena_start(s, err);
    if (st != TX_OK) return st;

    struct txi_arena *a = &s->arena;
    int L_e = c->n_enc_layers, L_d = c->n_dec_layers, H = c->n_heads;
    int want_att = (flags & TX_FORWARD_ATTENTIONS) != 0;
    float *hidden = txi_arena_alloc(a, (size_t)n_src, (size_t)c->d_model * sizeof(float));
    float *logits = txi_arena_alloc(a, (size_t)n_tgt, (size_t)c->dec_vocab * sizeof(float));
    float *enc_att = NULL, *dec_att = NULL, *cross_att = NULL;
    if (want_att) {
        /* rnn_seq2seq has no self-attention: its decoder map stays all zeros (and is reported
         * absent by tx_model_info.self_attention) */
        enc_att = txi_arena_alloc(a, (size_t)L_e * H, (size_t)n_src * n_src * sizeof(float));
        dec_att = txi_arena_calloc(a, (size_t)L_d * H, (size_t)n_tgt * n_tgt * sizeof(float));
        cross_att = txi_arena_alloc(a, (size_t)L_d * H, (size_t)n_tgt * n_src * sizeof(float));
    }
    if (!hidden || !logits || (want_att && (!enc_att || !dec_att || !cross_att)))
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (forward of %d x %d tokens)",
                        n_src, n_tgt);
    int zero = 0;
    struct txi_enc_job ej = {.ids = input_ids,
                             .src_off = &zero,
                             .src_len = &n_src,
                             .n_src = 1,
                             .n_tok = n_src,
                             .hidden = hidden,
                             .att = enc_att,
                             .pool = s->pool};
    st = txi_encode(m, a, &ej, err);
    if (st != TX_OK) return st;
    struct txi_dec_state ds;
    st = txi_dec_init(m, a, &ds, hidden, &zero, &n_src, 1, 1, n_tgt, n_tgt, 0, s->pool, err);
    if (st != TX_OK) return st;
    struct txi_dec_job dj = {.n_rows = 1,
                             .n_new = n_tgt,
                             .past = 0,
                             .slot = &zero,
                             .src = &zero,
                             .ids = decoder_ids,
                             .logits = logits,
                             .all_positions = 1,
                             .self_att = dec_att,
                             .cross_att = cross_att};
    txi_decode(m, &ds, &dj);

    memset(out, 0, sizeof *out);
    out->n_src = n_src;
    out->n_tgt = n_tgt;
    out->vocab = c->dec_vocab;
    out->d_model = c->d_model;
    out->n_enc_layers = L_e;
    out->n_dec_layers = L_d;
    out->n_heads = H;
    out->logits = logits;
    out->encoder_hidden = (flags & TX_FORWARD_HIDDEN) ? hidden : NULL;
    out->encoder_attentions = enc_att;
    out->decoder_attentions = dec_att;
    out->cross_attentions = cross_att;
    return TX_OK;
}

tx_status txi_forward_batch_first_step(tx_session *s, const int32_t *const *input_ids,
                                      const int *n_src, int n_batch,
                                      struct tx_batch_forward_out *out, struct tx_error *err)
{
    if (!s || !out || !input_ids || !n_src)
        return txi_fail(err, TX_ERR_INVALID, "txi_forward_batch_first_step: NULL argument");
    if (n_batch <= 0) return txi_fail(err, TX_ERR_INVALID, "n_batch is %d", n_batch);
    const tx_model *m = s->model;
    const struct txi_config *c = &m->cfg;
    int max_src;
    tx_status st = check_batch(m, input_ids, n_src, n_batch, &max_src, err);
    if (st != TX_OK) return st;
    int start = m->gen.decoder_start_token_id;
    if (start < 0 || start >= c->dec_vocab)
        return txi_fail(err, TX_ERR_INVALID, "the model has no usable decoder_start_token_id");
    st = arena_start(s, err);
    if (st != TX_OK) return st;
    struct txi_arena *a = &s->arena;
    int32_t *ids;
    int *off, *len, n_tok;
    st = txi_pack_sources(a, input_ids, n_src, n_batch, &ids, &off, &len, &n_tok, err);
    if (st != TX_OK) return st;
    int d = c->d_model;
    float *hidden = txi_arena_alloc(a, (size_t)n_tok, (size_t)d * sizeof(float));
    float *padded = txi_arena_calloc(a, (size_t)n_batch * max_src, (size_t)d * sizeof(float));
    float *logits = txi_arena_alloc(a, (size_t)n_batch, (size_t)c->dec_vocab * sizeof(float));
    int *rows = txi_arena_alloc(a, (size_t)n_batch, sizeof(int));
    int32_t *start_ids = txi_arena_alloc(a, (size_t)n_batch, sizeof(int32_t));
    if (!hidden || !padded || !logits || !rows || !start_ids)
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (batch of %d)", n_batch);
    struct txi_enc_job ej = {.ids = ids,
                             .src_off = off,
                             .src_len = len,
                             .n_src = n_batch,
                             .n_tok = n_tok,
                             .hidden = hidden,
                             .att = NULL,
                             .pool = s->pool};
    st = txi_encode(m, a, &ej, err);
    if (st != TX_OK) return st;
    struct txi_dec_state ds;
    st = txi_dec_init(m, a, &ds, hidden, off, len, n_batch, n_batch, 1, n_batch, 0, s->pool, err);
    if (st != TX_OK) return st;
    for (int b = 0; b < n_batch; b++) {
        rows[b] = b;
        start_ids[b] = start;
        memcpy(padded + (size_t)b * max_src * d, hidden + (size_t)off[b] * d,
               (size_t)len[b] * d * sizeof(float));
    }
    struct txi_dec_job dj = {.n_rows = n_batch,
                             .n_new = 1,
                             .past = 0,
                             .slot = rows,
                             .src = rows,
                             .ids = start_ids,
                             .logits = logits,
                             .all_positions = 0};
    txi_decode(m, &ds, &dj);
    out->n_batch = n_batch;
    out->max_src = max_src;
    out->vocab = c->dec_vocab;
    out->d_model = d;
    out->encoder_hidden = padded;
    out->first_step_logits = logits;
    return TX_OK;
}
