/* greedy.c — greedy search and multinomial sampling (transformers 4.35.2 greedy_search, sample):
 * n_per rows per input (returned samples), each extended by one token a step until it emits eos
 * or reaches max_length. */
#include "gen.h"
#include "sampling.h"
#include "txi.h"

#include <math.h>
#include <string.h>

/* The search's state: one row per returned sequence, all from the session arena. */
struct greedy_state {
    int R;                      /* rows: n_inputs * n_per */
    int ML;                     /* row stride: max(max_length, 2) */
    int cur_len;                /* tokens per row so far, incl. the decoder start token */
    int32_t *seq;               /* (R, ML) tokens */
    float *raw_lp;              /* (R, ML) log_softmax(raw logits) of each generated token */
    float *proc_lp;             /* (R, ML) log_softmax(processed scores) of each generated token */
    float *proc;                /* (V) the row being scored: processed (and warped) logits */
    uint8_t *finished;          /* (R) 1 once the row emitted eos */
    double *sum;                /* (R) sum of proc_lp: the sequence score */
    struct txi_rng *rng;        /* (R) one stream per returned sample */
    struct tx_hypothesis *hyps; /* (R) the result */
};

/* log-sum-exp of x (n) in double. */
static double log_sum_exp(const float *x, int n)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx) mx = x[i];
    if (mx == -INFINITY) return -INFINITY;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += expf(x[i] - mx);
    return mx + log(s);
}

/* Allocates gs's buffers and starts every row at the decoder start token. */
static tx_status greedy_init(struct txi_gen *g, struct greedy_state *gs, struct tx_error *err)
{
    struct txi_arena *a = g->a;
    /* generate() runs at least one step, also for max_length 1: rows hold >= 2 tokens */
    int R = g->rows, ML = g->max_length > 2 ? g->max_length : 2;
    memset(gs, 0, sizeof *gs);
    gs->R = R;
    gs->ML = ML;
    gs->cur_len = 1;
    gs->seq = txi_arena_alloc(a, (size_t)R, (size_t)ML * sizeof(int32_t));
    gs->raw_lp = txi_arena_alloc(a, (size_t)R, (size_t)ML * sizeof(float));
    gs->proc_lp = txi_arena_alloc(a, (size_t)R, (size_t)ML * sizeof(float));
    gs->proc = txi_arena_alloc(a, (size_t)g->V, sizeof(float));
    gs->finished = txi_arena_calloc(a, (size_t)R, 1);
    gs->sum = txi_arena_calloc(a, (size_t)R, sizeof(double));
    gs->rng = txi_arena_alloc(a, (size_t)R, sizeof(struct txi_rng));
    gs->hyps = txi_arena_alloc(a, (size_t)R, sizeof *gs->hyps);
    if (!gs->seq || !gs->raw_lp || !gs->proc_lp || !gs->proc || !gs->finished || !gs->sum ||
        !gs->rng || !gs->hyps)
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (generation buffers)");
    for (int r = 0; r < R; r++) {
        gs->seq[(size_t)r * ML] = g->p.decoder_start_token_id;
        /* stream = index of the sample within its input: an input draws the same alone or in
         * a batch */
        txi_rng_seed(&gs->rng[r], g->p.seed, (uint64_t)(r % g->n_per));
    }
    return TX_OK;
}

/* Gathers the unfinished rows into the step's row lists; returns how many. */
static int gather_rows(struct txi_gen *g, const struct greedy_state *gs)
{
    int n = 0;
    for (int r = 0; r < gs->R; r++) {
        if (gs->finished[r]) continue;
        g->slot[n] = r;
        g->src[n] = r / g->n_per;
        g->step_ids[n] = gs->seq[(size_t)r * gs->ML + gs->cur_len - 1];
        n++;
    }
    return n;
}

/* The next token of row r from its processed scores gs->proc: a draw from the warped softmax
 * when sampling, else the argmax (the lowest id on ties, as torch.argmax). */
static int pick_token(struct txi_gen *g, struct greedy_state *gs, int r)
{
    const struct tx_gen_params *p = &g->p;
    int V = g->V;
    float *proc = gs->proc;
    if (p->do_sample) {
        txi_logits_warp(p, 1, proc, V, g->tmp, g->pairs);
        txi_softmax(proc, V, g->tmp);
        int tok = txi_sample_categorical(g->tmp, V, &gs->rng[r]);
        return tok < 0 ? 0 : tok; /* every token filtered: cannot happen with min_keep 1 */
    }
    int tok = 0;
    for (int t = 1; t < V; t++)
        if (proc[t] > proc[tok]) tok = t;
    return tok;
}

/* Extends row r, whose logits are raw (V), by one token and records its log-probabilities. */
static void extend_row(struct txi_gen *g, struct greedy_state *gs, int r, const float *raw)
{
    int V = g->V, cur_len = gs->cur_len;
    size_t at = (size_t)r * gs->ML;
    int32_t *sr = gs->seq + at;
    memcpy(gs->proc, raw, (size_t)V * sizeof *gs->proc);
    txi_logits_process(&g->p, g->max_length, sr, cur_len, gs->proc, V, g->seen);
    int tok = pick_token(g, gs, r);
    sr[cur_len] = tok;
    gs->raw_lp[at + cur_len - 1] = (float)(raw[tok] - log_sum_exp(raw, V));
    float plp = (float)(gs->proc[tok] - log_sum_exp(gs->proc, V));
    gs->proc_lp[at + cur_len - 1] = plp;
    gs->sum[r] += plp;
    if (tok == g->p.eos_token_id) gs->finished[r] = 1;
}

/* Nonzero while some row has not emitted eos. */
static int any_unfinished(const struct greedy_state *gs)
{
    for (int r = 0; r < gs->R; r++)
        if (!gs->finished[r]) return 1;
    return 0;
}

/* Writes the rows as hypotheses, each cut after its first eos. */
static void greedy_finalize(const struct txi_gen *g, struct greedy_state *gs,
                            struct tx_gen_out *out)
{
    for (int r = 0; r < gs->R; r++) {
        size_t at = (size_t)r * gs->ML;
        const int32_t *sr = gs->seq + at;
        int len = 1;
        while (len < gs->cur_len) {
            len++;
            if (sr[len - 1] == g->p.eos_token_id) break;
        }
        gs->hyps[r].ids = sr;
        gs->hyps[r].n_ids = len;
        gs->hyps[r].score = (float)gs->sum[r];
        gs->hyps[r].token_logprobs = gs->raw_lp + at;
        gs->hyps[r].token_scores = gs->proc_lp + at;
    }
    out->n_inputs = g->n_inputs;
    out->n_return = g->n_per;
    out->hyps = gs->hyps;
}

tx_status txi_greedy_run(struct txi_gen *g, struct tx_gen_out *out, struct tx_error *err)
{
    struct greedy_state gs;
    tx_status st = greedy_init(g, &gs, err);
    if (st != TX_OK) return st;
    for (;;) {
        int n = gather_rows(g, &gs);
        txi_gen_decode(g, n, gs.cur_len - 1);
        for (int i = 0; i < n; i++)
            extend_row(g, &gs, g->slot[i], g->logits + (size_t)i * g->V);
        gs.cur_len++;
        if (!any_unfinished(&gs) || gs.cur_len >= g->max_length) break;
        if (txi_gen_cancelled(g))
            return txi_fail(err, TX_ERR_CANCELLED, "generation cancelled after %d tokens",
                            gs.cur_len - 1);
    }
    greedy_finalize(g, &gs, out);
    return TX_OK;
}
