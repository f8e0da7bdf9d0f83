/* gen.c — tx_generate: greedy search, sampling, beam search and beam sampling with
 * transformers 4.35.2's semantics (generation/utils.py: greedy_search, sample, beam_search,
 * beam_sample). All sources are encoded together; every decoding row of every input (beams,
 * returned samples) is a row of the same step's matrix products; finished inputs leave the
 * step. Every buffer is taken from the session arena before the first step, so the decode
 * loop allocates nothing. The searches themselves are greedy.c and beam_search.c. */
#include "gen.h"
#include "model.h"
#include "session.h"
#include "txi.h"

#include <stdio.h>
#include <string.h>

/* Most sources, and most decoding rows, of one call. */
#define MAX_GEN_ROWS (1 << 20)

/* The buffers every search uses (struct txi_gen), from the arena. */
static tx_status gen_alloc_common(struct txi_gen *g, struct tx_error *err)
{
    struct txi_arena *a = g->a;
    g->logits = txi_arena_alloc(a, (size_t)g->rows, (size_t)g->V * sizeof(float));
    g->slot = txi_arena_alloc(a, (size_t)g->rows, sizeof(int));
    g->src = txi_arena_alloc(a, (size_t)g->rows, sizeof(int));
    g->step_ids = txi_arena_alloc(a, (size_t)g->rows, sizeof(int32_t));
    g->seen = txi_arena_calloc(a, (size_t)g->V, 1);
    g->tmp = txi_arena_alloc(a, (size_t)g->V, sizeof(float));
    g->pairs = txi_arena_alloc(a, (size_t)g->V, sizeof(struct txi_scored));
    if (!g->logits || !g->slot || !g->src || !g->step_ids || !g->seen || !g->tmp || !g->pairs)
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (generation buffers)");
    return TX_OK;
}

int txi_gen_cancelled(const struct txi_gen *g)
{
    return g->p.cancel && g->p.cancel(g->p.cancel_user);
}

void txi_gen_decode(struct txi_gen *g, int n, int past)
{
    struct txi_dec_job dj = {.n_rows = n,
                             .n_new = 1,
                             .past = past,
                             .slot = g->slot,
                             .src = g->src,
                             .ids = g->step_ids,
                             .logits = g->logits};
    txi_decode(g->m, &g->ds, &dj);
}

/* Checks the arguments and every source; errors name the source ("input_ids[2]"). */
static tx_status check_inputs(const tx_model *m, const int32_t *const *input_ids, const int *n_src,
                              int n_inputs, struct tx_error *err)
{
    for (int b = 0; b < n_inputs; b++) {
        char what[32];
        snprintf(what, sizeof what, n_inputs > 1 ? "input_ids[%d]" : "input_ids", b);
        tx_status st = txi_check_source(m, what, input_ids[b], n_src[b], err);
        if (st != TX_OK) return st;
    }
    return TX_OK;
}

/* Encodes all sources together and prepares the decoder for g->rows rows over them. */
static tx_status gen_encode(struct txi_gen *g, const int32_t *const *input_ids, const int *n_src,
                            struct tx_error *err)
{
    int32_t *ids;
    int *off, *len, n_tok;
    tx_status st =
        txi_pack_sources(g->a, input_ids, n_src, g->n_inputs, &ids, &off, &len, &n_tok, err);
    if (st != TX_OK) return st;
    /* (n_tok, d_model) */
    float *hidden = txi_arena_alloc(g->a, (size_t)n_tok, (size_t)g->m->cfg.d_model * sizeof(float));
    if (!hidden) return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (encoder output)");
    struct txi_enc_job ej = {.ids = ids,
                             .src_off = off,
                             .src_len = len,
                             .n_src = g->n_inputs,
                             .n_tok = n_tok,
                             .hidden = hidden,
                             .att = NULL};
    st = txi_encode(g->m, g->a, &ej, err);
    if (st != TX_OK) return st;
    int positions = g->max_length > 1 ? g->max_length - 1 : 1;
    return txi_dec_init(g->m, g->a, &g->ds, hidden, off, len, g->n_inputs, g->rows, positions,
                        g->rows, g->p.num_beams > 1, err);
}

tx_status tx_generate(tx_session *s, const int32_t *const *input_ids, const int *n_src,
                      int n_inputs, const struct tx_gen_params *params, struct tx_gen_out *out,
                      struct tx_error *err)
{
    if (!s || !out || !input_ids || !n_src)
        return txi_fail(err, TX_ERR_INVALID, "tx_generate: NULL argument");
    if (n_inputs <= 0 || n_inputs > MAX_GEN_ROWS)
        return txi_fail(err, TX_ERR_INVALID, "n_inputs = %d is out of range", n_inputs);
    struct txi_gen g;
    memset(&g, 0, sizeof g);
    g.s = s;
    g.m = s->model;
    g.p = params ? *params : g.m->gen;
    g.V = g.m->cfg.dec_vocab;
    g.n_inputs = n_inputs;
    g.a = &s->arena;
    tx_status st = txi_gen_validate_params(g.m, &g.p, err);
    if (st != TX_OK) return st;
    st = check_inputs(g.m, input_ids, n_src, n_inputs, err);
    if (st != TX_OK) return st;
    int beam = g.p.num_beams > 1;
    g.n_per = beam ? g.p.num_beams : g.p.do_sample ? g.p.num_return_sequences : 1;
    if ((long long)n_inputs * g.n_per > MAX_GEN_ROWS)
        return txi_fail(err, TX_ERR_INVALID, "too many decoding rows (%d inputs x %d)", n_inputs,
                        g.n_per);
    g.rows = n_inputs * g.n_per;
    g.max_length = g.p.max_length;
    if (txi_arena_reset(g.a, 0) != 0)
        return txi_fail(err, TX_ERR_NOMEM, "out of memory growing the session arena");
    st = gen_encode(&g, input_ids, n_src, err);
    if (st != TX_OK) return st;
    st = gen_alloc_common(&g, err);
    if (st != TX_OK) return st;
    return beam ? txi_beam_search_run(&g, out, err) : txi_greedy_run(&g, out, err);
}
