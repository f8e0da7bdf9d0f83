/* beam_search.c — beam search and beam sampling (transformers 4.35.2 generation/utils.py
 * beam_search and beam_sample with beam_search.py's BeamSearchScorer), as named steps over one
 * struct beam_state. A step: gather the rows of unfinished inputs, run the decoder, then per
 * input score every (beam, token) candidate, select the top 2·beams, let the scorer keep
 * finished hypotheses and pick the next beams; then reorder the rows (and the KV cache) to
 * their new beams. At the end the scorer's finalize adds the running beams. */
#include "beam.h"
#include "gen.h"
#include "sampling.h"
#include "txi.h"

#include <string.h>

/* The search's state: K beams per input, rows b * K + k; all from the session arena. */
struct beam_state {
    int K;                      /* num_beams */
    int B;                      /* inputs */
    int R;                      /* rows: B * K */
    int ML;                     /* max_length: row stride and longest hypothesis */
    int n_cand;                 /* candidates selected per input and step: 2 * K */
    int min_keep;               /* tokens the warpers keep: 1 + (number of eos tokens) */
    int cur_len;                /* tokens per row so far, incl. the decoder start token */
    int32_t *seq;               /* (R, ML) tokens of each beam */
    int32_t *seq_next;          /* (R, ML) reorder target, swapped with seq after each step */
    float *lp;                  /* (R, ML) processed log-prob of each generated token */
    float *lp_next;             /* (R, ML) reorder target, swapped with lp after each step */
    float *beam_scores;         /* (R) running sum of processed log-probs of each beam */
    float *next_scores;         /* (R) the chosen continuations' summed scores */
    float *next_lp;             /* (R) the chosen continuations' processed log-probs */
    int32_t *next_tok;          /* (R) the chosen continuations' tokens */
    int *from;                  /* (R) the row each new row continues (beam_idx) */
    float *cand;                /* (K, V) of the input being scored: log-prob + beam score */
    float *cand_lp;             /* (K, V) of the input being scored: processed log-probs */
    float *probs;               /* (K, V) softmax(cand) when sampling, else cand itself */
    int *top;                   /* (n_cand) selected indices into cand, best first */
    int *best;                  /* (K) finalize: pool indices of one input, best first */
    struct txi_beam_hyps *hy;   /* (B) each input's finished hypotheses */
    struct txi_rng *rng;        /* (B) beam sampling: one generator per input */
    struct tx_hypothesis *hyps; /* (B, num_return_sequences) the result */
};

/* Takes bs's buffers from the arena (the decode loop allocates nothing). */
static tx_status beam_alloc(struct txi_gen *g, struct beam_state *bs, struct tx_error *err)
{
    struct txi_arena *a = g->a;
    size_t R = (size_t)bs->R, ML = (size_t)bs->ML, KV = (size_t)bs->K * g->V;
    bs->seq = txi_arena_alloc(a, R, ML * sizeof(int32_t));
    bs->seq_next = txi_arena_alloc(a, R, ML * sizeof(int32_t));
    bs->lp = txi_arena_alloc(a, R, ML * sizeof(float));
    bs->lp_next = txi_arena_alloc(a, R, ML * sizeof(float));
    bs->beam_scores = txi_arena_alloc(a, R, sizeof(float));
    bs->next_scores = txi_arena_alloc(a, R, sizeof(float));
    bs->next_lp = txi_arena_alloc(a, R, sizeof(float));
    bs->next_tok = txi_arena_alloc(a, R, sizeof(int32_t));
    bs->from = txi_arena_alloc(a, R, sizeof(int));
    bs->cand = txi_arena_alloc(a, KV, sizeof(float));
    bs->cand_lp = txi_arena_alloc(a, KV, sizeof(float));
    bs->probs = g->p.do_sample ? txi_arena_alloc(a, KV, sizeof(float)) : bs->cand;
    bs->top = txi_arena_alloc(a, (size_t)bs->n_cand, sizeof(int));
    bs->best = txi_arena_alloc(a, (size_t)bs->K, sizeof(int));
    bs->hy = txi_arena_alloc(a, (size_t)bs->B, sizeof *bs->hy);
    bs->hyps = txi_arena_alloc(a, (size_t)bs->B * g->p.num_return_sequences, sizeof *bs->hyps);
    bs->rng = txi_arena_alloc(a, (size_t)bs->B, sizeof(struct txi_rng));
    if (!bs->seq || !bs->seq_next || !bs->lp || !bs->lp_next || !bs->beam_scores ||
        !bs->next_scores || !bs->next_lp || !bs->next_tok || !bs->from || !bs->cand ||
        !bs->cand_lp || !bs->probs || !bs->top || !bs->best || !bs->hy || !bs->hyps || !bs->rng)
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (beam search buffers)");
    return TX_OK;
}

/* Sets up bs for g: buffers, each input's hypotheses and generator, and every beam at the
 * decoder start token. Beam search starts from beam 0 only (the others at -1e9, as HF);
 * beam sampling from all beams. */
static tx_status beam_init(struct txi_gen *g, struct beam_state *bs, struct tx_error *err)
{
    const struct tx_gen_params *p = &g->p;
    memset(bs, 0, sizeof *bs);
    bs->K = p->num_beams;
    bs->B = g->n_inputs;
    bs->R = g->rows;
    bs->ML = g->max_length;
    bs->n_cand = 2 * bs->K;
    bs->min_keep = p->eos_token_id >= 0 ? 2 : 1; /* HF min_tokens_to_keep */
    bs->cur_len = 1;
    tx_status st = beam_alloc(g, bs, err);
    if (st != TX_OK) return st;
    size_t hb = txi_beam_hyps_bytes(bs->K, bs->ML);
    for (int b = 0; b < bs->B; b++) {
        void *storage = txi_arena_alloc(g->a, hb, 1);
        if (!storage) return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (hypotheses)");
        txi_beam_hyps_init(&bs->hy[b], bs->K, p->length_penalty, p->early_stopping, bs->ML,
                           storage);
        txi_rng_seed(&bs->rng[b], p->seed, 0);
    }
    for (int r = 0; r < bs->R; r++) {
        bs->seq[(size_t)r * bs->ML] = p->decoder_start_token_id;
        bs->beam_scores[r] = (r % bs->K == 0 || p->do_sample) ? 0.0f : -1e9f;
    }
    return TX_OK;
}

/* Step 1, gather rows: the beams of every unfinished input become the step's rows (finished
 * inputs leave the step). Returns how many. */
static int gather_rows(struct txi_gen *g, const struct beam_state *bs)
{
    int n = 0;
    for (int b = 0; b < bs->B; b++) {
        if (bs->hy[b].done) continue;
        for (int k = 0; k < bs->K; k++) {
            int r = b * bs->K + k;
            g->slot[n] = r;
            g->src[n] = b;
            g->step_ids[n] = bs->seq[(size_t)r * bs->ML + bs->cur_len - 1];
            n++;
        }
    }
    return n;
}

/* A finished input's rows stay as they are: each continues itself with the pad token. */
static void hold_finished(const struct txi_gen *g, struct beam_state *bs, int b)
{
    for (int k = 0; k < bs->K; k++) {
        int r = b * bs->K + k;
        bs->from[r] = r;
        bs->next_tok[r] = g->p.pad_token_id >= 0 ? g->p.pad_token_id : 0;
        bs->next_scores[r] = 0.0f;
        bs->next_lp[r] = 0.0f;
    }
}

/* Step 3, score candidates: for input b, whose logits are the step's rows ai * K .. ai * K +
 * K - 1, the score of every (beam, token): log_softmax, processors (not renormalised),
 * [warpers,] plus the running beam score, in float32 as torch adds them. Writes cand_lp and
 * cand. */
static void score_candidates(struct txi_gen *g, struct beam_state *bs, int b, int ai)
{
    const struct tx_gen_params *p = &g->p;
    int K = bs->K, V = g->V;
    for (int k = 0; k < K; k++) {
        int r = b * K + k;
        const float *raw = g->logits + (size_t)(ai * K + k) * V;
        float *row = bs->cand_lp + (size_t)k * V;
        txi_log_softmax(raw, V, row);
        txi_logits_process(p, bs->ML, bs->seq + (size_t)r * bs->ML, bs->cur_len, row, V, g->seen);
        if (p->do_sample) txi_logits_warp(p, bs->min_keep, row, V, g->tmp, g->pairs);
        float beam_score = bs->beam_scores[r];
        float *c = bs->cand + (size_t)k * V;
        for (int t = 0; t < V; t++)
            c[t] = row[t] + beam_score;
    }
}

/* torch.topk(cand, 2K) into top: best first; the lower (beam, token) index first on ties.
 * Returns how many (2K, or K * V when smaller). */
static int select_top(const struct beam_state *bs, size_t n)
{
    const float *cand = bs->cand;
    int *top = bs->top, n_cand = bs->n_cand, got = 0;
    for (size_t c = 0; c < n; c++) {
        float v = cand[c];
        if (got == n_cand && !(v > cand[top[got - 1]])) continue;
        int j = got < n_cand ? got++ : n_cand - 1;
        while (j > 0 && v > cand[top[j - 1]]) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = (int)c;
    }
    return got;
}

/* Fewer than 2K candidates with a nonzero probability (e.g. the step where forced_eos leaves
 * only eos): torch.multinomial without replacement then still returns 2K indices, the rest from
 * the zero-probability candidates (their scores are -inf or underflowed), which fill the beams;
 * so do we, appending to top the best-scored of them, the lowest index on ties. Returns the new
 * count. */
static int fill_unsampled(const struct beam_state *bs, size_t n, int got)
{
    const float *cand = bs->cand;
    int *top = bs->top;
    while (got < bs->n_cand) {
        int pick = -1;
        for (size_t c = 0; c < n; c++) {
            if (pick >= 0 && !(cand[c] > cand[pick])) continue;
            int taken = 0;
            for (int i = 0; i < got && !taken; i++)
                taken = top[i] == (int)c;
            if (!taken) pick = (int)c;
        }
        if (pick < 0) break;
        top[got++] = pick;
    }
    return got;
}

/* Beam sampling's selection: torch.multinomial(softmax over all beams' tokens, 2K) into top
 * with input b's generator, then sorted by score, descending (stable). Returns how many. */
static int select_sampled(struct beam_state *bs, size_t n, int b)
{
    const float *cand = bs->cand;
    int *top = bs->top;
    txi_softmax(cand, (int)n, bs->probs);
    int got = txi_sample_without_replacement(bs->probs, (int)n, bs->n_cand, &bs->rng[b], top);
    got = fill_unsampled(bs, n, got);
    for (int i = 1; i < got; i++) {
        int v = top[i], j = i;
        while (j > 0 && cand[top[j - 1]] < cand[v]) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = v;
    }
    return got;
}

/* Step 4, select the top 2·beams candidates of input b into bs->top. Returns how many. */
static int select_candidates(const struct txi_gen *g, struct beam_state *bs, int b)
{
    size_t n = (size_t)bs->K * g->V;
    return g->p.do_sample ? select_sampled(bs, n, b) : select_top(bs, n);
}

/* Step 5, BeamSearchScorer.process for input b over its got selected candidates, best first:
 * an eos among the first K closes a hypothesis; the first K others become the next beams
 * (next_*, from); then the input is done when BeamHypotheses.is_done says so.
 * TX_ERR_INVALID when fewer than K continuations remain. */
static tx_status scorer_process(const struct txi_gen *g, struct beam_state *bs, int b, int got,
                                struct tx_error *err)
{
    int K = bs->K, V = g->V, nb = 0;
    for (int rank = 0; rank < got && nb < K; rank++) {
        int c = bs->top[rank], r = b * K + c / V;
        int32_t tok = (int32_t)(c % V);
        if (tok == g->p.eos_token_id) {
            if (rank >= K) continue;
            txi_beam_hyps_add(&bs->hy[b], bs->seq + (size_t)r * bs->ML, bs->lp + (size_t)r * bs->ML,
                              bs->cur_len, bs->cand[c], tok, bs->cand_lp[c]);
        } else {
            int dst = b * K + nb++;
            bs->next_scores[dst] = bs->cand[c];
            bs->next_tok[dst] = tok;
            bs->next_lp[dst] = bs->cand_lp[c];
            bs->from[dst] = r;
        }
    }
    if (nb < K)
        return txi_fail(err, TX_ERR_INVALID,
                        "input %d: beam search found only %d continuations for %d beams "
                        "(too many tokens are banned)",
                        b, nb, K);
    if (got > 0 && txi_beam_hyps_is_done(&bs->hy[b], bs->cand[bs->top[0]], bs->cur_len + 1))
        bs->hy[b].done = 1;
    return TX_OK;
}

/* Step 6, reorder: input_ids = cat(input_ids[beam_idx], next tokens), the log-probs and beam
 * scores likewise; one copy per row into the *_next buffers, which then become the current
 * ones. cur_len grows by one. (The KV cache follows in txi_dec_reorder.) */
static void reorder_rows(struct beam_state *bs)
{
    size_t ML = (size_t)bs->ML;
    int cur_len = bs->cur_len;
    for (int r = 0; r < bs->R; r++) {
        int f = bs->from[r];
        memcpy(bs->seq_next + r * ML, bs->seq + f * ML, (size_t)cur_len * sizeof *bs->seq);
        memcpy(bs->lp_next + r * ML, bs->lp + f * ML, (size_t)(cur_len - 1) * sizeof *bs->lp);
        bs->seq_next[r * ML + cur_len] = bs->next_tok[r];
        bs->lp_next[r * ML + cur_len - 1] = bs->next_lp[r];
        bs->beam_scores[r] = bs->next_scores[r];
    }
    int32_t *ts = bs->seq;
    bs->seq = bs->seq_next;
    bs->seq_next = ts;
    float *tl = bs->lp;
    bs->lp = bs->lp_next;
    bs->lp_next = tl;
    bs->cur_len++;
}

/* One step of the search: steps 1 to 6 (gather rows, decoder step, score candidates, select,
 * scorer update, reorder). TX_ERR_INVALID from scorer_process. */
static tx_status beam_step(struct txi_gen *g, struct beam_state *bs, struct tx_error *err)
{
    int n = gather_rows(g, bs);
    txi_gen_decode(g, n, bs->cur_len - 1); /* step 2, decoder step: g->logits (n, V) */
    int ai = 0;                            /* input b's place among the step's inputs */
    for (int b = 0; b < bs->B; b++) {
        if (bs->hy[b].done) {
            hold_finished(g, bs, b);
            continue;
        }
        score_candidates(g, bs, b, ai++);
        int got = select_candidates(g, bs, b);
        tx_status st = scorer_process(g, bs, b, got, err);
        if (st != TX_OK) return st;
    }
    reorder_rows(bs);
    return TX_OK;
}

/* Nonzero when every input is done. */
static int all_done(const struct beam_state *bs)
{
    for (int b = 0; b < bs->B; b++)
        if (!bs->hy[b].done) return 0;
    return 1;
}

/* Step 7, BeamSearchScorer.finalize: unfinished inputs add their running beams; each input
 * returns its num_return_sequences best hypotheses (zeroed where it has fewer). */
static void finalize(const struct txi_gen *g, struct beam_state *bs, struct tx_gen_out *out)
{
    int K = bs->K, n_ret = g->p.num_return_sequences;
    for (int b = 0; b < bs->B; b++) {
        if (bs->hy[b].done) continue;
        for (int r = b * K; r < (b + 1) * K; r++)
            txi_beam_hyps_add(&bs->hy[b], bs->seq + (size_t)r * bs->ML, bs->lp + (size_t)r * bs->ML,
                              bs->cur_len, bs->beam_scores[r], -1, 0.0f);
    }
    for (int b = 0; b < bs->B; b++) {
        int n_best = txi_beam_hyps_best(&bs->hy[b], bs->best);
        for (int j = 0; j < n_ret; j++) {
            struct tx_hypothesis *h = &bs->hyps[b * n_ret + j];
            memset(h, 0, sizeof *h);
            if (j >= n_best) continue;
            const struct txi_beam_hyp *e = &bs->hy[b].pool[bs->best[j]];
            h->ids = e->tokens;
            h->n_ids = e->len + e->eos;
            h->score = (float)e->score;
            h->token_logprobs = NULL;
            h->token_scores = e->scores;
        }
    }
    out->n_inputs = bs->B;
    out->n_return = n_ret;
    out->hyps = bs->hyps;
}

tx_status txi_beam_search_run(struct txi_gen *g, struct tx_gen_out *out, struct tx_error *err)
{
    struct beam_state bs;
    tx_status st = beam_init(g, &bs, err);
    if (st != TX_OK) return st;
    for (;;) {
        st = beam_step(g, &bs, err);
        if (st != TX_OK) return st;
        if (all_done(&bs) || bs.cur_len >= bs.ML) break;
        txi_dec_reorder(g->m, &g->ds, bs.from, bs.cur_len - 1);
        if (txi_gen_cancelled(g))
            return txi_fail(err, TX_ERR_CANCELLED, "generation cancelled after %d tokens",
                            bs.cur_len - 1);
    }
    finalize(g, &bs, out);
    return TX_OK;
}
