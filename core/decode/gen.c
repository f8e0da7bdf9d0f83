/* gen.c — tx_generate: greedy search, sampling, beam search and beam sampling with
 * transformers 4.35.2's semantics (generation/utils.py: greedy_search, sample, beam_search,
 * beam_sample), as a decode group (group.c) whose members are the inputs, all added before the
 * first step: every decoding row of every input (beams, returned samples) is a row of the same
 * step's matrix products; finished inputs leave the step. Every buffer is taken from the session
 * arena before the first step, so the decode loop allocates nothing. */
#include "gen.h"
#include "model.h"
#include "session.h"
#include "txi.h"

#include <stdio.h>
#include <string.h>

/* Most sources, and most decoding rows, of one call. */
#define MAX_GEN_ROWS (1 << 20)

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

/* Runs the group's steps until every member has finished; the first failure ends the call with
 * its error (naming the input when there are several). */
static tx_status run_all(tx_group *g, const uint64_t *ids, int n_inputs, struct tx_error *err)
{
    for (;;) {
        int n_rows = 0;
        tx_status st = tx_group_step(g, &n_rows, err);
        if (st != TX_OK) return st;
        for (int b = 0; b < n_inputs; b++) {
            if (tx_group_state(g, ids[b], NULL) != TX_MEMBER_FAILED) continue;
            struct tx_gen_out o;
            struct tx_error e = {0};
            st = tx_group_result(g, ids[b], &o, &e);
            if (n_inputs > 1 && st != TX_ERR_CANCELLED)
                return txi_fail(err, st, "input %d: %s", b, e.message);
            if (err) *err = e;
            return st;
        }
        if (n_rows == 0) return TX_OK;
    }
}

tx_status tx_generate(tx_session *s, const int32_t *const *input_ids, const int *n_src,
                      int n_inputs, const struct tx_gen_params *params, struct tx_gen_out *out,
                      struct tx_error *err)
{
    if (!s || !out || !input_ids || !n_src)
        return txi_fail(err, TX_ERR_INVALID, "tx_generate: NULL argument");
    if (n_inputs <= 0 || n_inputs > MAX_GEN_ROWS)
        return txi_fail(err, TX_ERR_INVALID, "n_inputs = %d is out of range", n_inputs);
    const tx_model *m = s->model;
    if (m->cfg.arch == TX_ARCH_HAN)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "model_type han scores sentences (tx_salience); it does not generate");
    struct tx_gen_params p = params ? *params : m->gen;
    tx_status st = txi_gen_validate_params(m, &p, err);
    if (st != TX_OK) return st;
    st = check_inputs(m, input_ids, n_src, n_inputs, err);
    if (st != TX_OK) return st;
    int n_per = p.num_beams > 1 ? p.num_beams : p.do_sample ? p.num_return_sequences : 1;
    if ((long long)n_inputs * n_per > MAX_GEN_ROWS)
        return txi_fail(err, TX_ERR_INVALID, "too many decoding rows (%d inputs x %d)", n_inputs,
                        n_per);
    long long n_tok = 0;
    for (int b = 0; b < n_inputs; b++)
        n_tok += n_src[b];
    if (n_tok > 1 << 28) return txi_fail(err, TX_ERR_TOO_LONG, "sources are too long in total");
    struct tx_group_params gp = {.max_rows = n_inputs * n_per,
                                 .max_member_rows = n_per,
                                 .max_members = n_inputs,
                                 .max_length = p.max_length,
                                 .max_src_tokens = (int)n_tok};
    tx_group *g;
    st = tx_group_new(s, &gp, &g, err);
    if (st != TX_OK) return st;
    uint64_t *ids = txi_arena_alloc(&s->arena, (size_t)n_inputs, sizeof *ids);
    int n_ret = p.num_beams > 1 ? p.num_return_sequences : n_per;
    struct tx_hypothesis *hyps =
        txi_arena_alloc(&s->arena, (size_t)n_inputs * n_ret, sizeof *hyps);
    if (!ids || !hyps) {
        tx_group_free(g);
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (generation results)");
    }
    for (int b = 0; b < n_inputs && st == TX_OK; b++)
        st = tx_group_add(g, input_ids[b], n_src[b], &p, &ids[b], err);
    if (st == TX_OK) st = run_all(g, ids, n_inputs, err);
    for (int b = 0; b < n_inputs && st == TX_OK; b++) {
        struct tx_gen_out o;
        st = tx_group_result(g, ids[b], &o, err);
        if (st == TX_OK) memcpy(hyps + (size_t)b * n_ret, o.hyps, (size_t)n_ret * sizeof *hyps);
    }
    tx_group_free(g); /* the hypotheses stay in the session arena until its next call */
    if (st != TX_OK) return st;
    out->n_inputs = n_inputs;
    out->n_return = n_ret;
    out->hyps = hyps;
    return TX_OK;
}
