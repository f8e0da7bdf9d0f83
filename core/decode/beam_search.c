/* beam_search.c — beam search and beam sampling (transformers 4.35.2 generation/utils.py
 * beam_search and beam_sample with beam_search.py's BeamSearchScorer), as named steps over one
 * struct beam_state. Per member of a decode group: its K beams are K rows of
 * the group's step; after the decoder pass, score every (beam, token) candidate, select the top
 * 2·beams, let the scorer keep finished hypotheses and pick the next beams; then reorder the rows
 * (and the KV cache) to their new beams. At the end the scorer's finalize adds the running
 * beams. */
#include "beam.h"
#include "gen.h"
#include "sampling.h"
#include "txi.h"

#include <string.h>

void txi_beam_start(struct tx_group *g, struct txi_member *mb)
{
    const struct tx_gen_params *p = &mb->p;
    int K = mb->n_rows;
    mb->cur_len = 1;
    txi_beam_hyps_init(&mb->hy, K, p->length_penalty, p->early_stopping, p->max_length,
                       mb->hy_storage);
    txi_rng_seed(&mb->brng, p->seed, 0);
    /* Beam search starts from beam 0 only (the others at -1e9, as HF); beam sampling from all */
    for (int k = 0; k < K; k++) {
        txi_slot_seq(g, mb->slots[k])[0] = p->decoder_start_token_id;
        mb->beam_scores[k] = (k == 0 || p->do_sample) ? 0.0f : -1e9f;
    }
}

int txi_beam_step_rows(const struct txi_member *mb)
{
    return mb->cur_len == 1 ? 1 : mb->n_rows;
}

/* Step 3, score candidates: for every beam k, whose logits are row k of logits, the score of
 * every (beam, token): log_softmax, processors (not renormalised), [warpers,] plus the running
 * beam score, in float32 as torch adds them. Writes g->cand_lp and g->cand. */
static void score_candidates(struct tx_group *g, struct txi_member *mb, const float *logits)
{
    const struct tx_gen_params *p = &mb->p;
    int K = mb->n_rows, V = g->V;
    int min_keep = p->eos_token_id >= 0 ? 2 : 1; /* HF min_tokens_to_keep */
    /* fewer rows ran than beams (the first step): row 0 stands for every beam */
    size_t stride = txi_beam_step_rows(mb) < K ? 0 : (size_t)V;
    for (int k = 0; k < K; k++) {
        const float *raw = logits + (size_t)k * stride;
        float *row = g->cand_lp + (size_t)k * V;
        txi_log_softmax(raw, V, row);
        txi_logits_process(p, p->max_length, txi_slot_seq(g, mb->slots[k]), mb->cur_len, row, V,
                           g->seen);
        if (p->do_sample) txi_logits_warp(p, min_keep, row, V, g->tmp, g->pairs);
        float beam_score = mb->beam_scores[k];
        float *c = g->cand + (size_t)k * V;
        for (int t = 0; t < V; t++)
            c[t] = row[t] + beam_score;
    }
}

/* torch.topk(cand, 2K) into top: best first; the lower (beam, token) index first on ties.
 * Returns how many (2K, or K * V when smaller). */
static int select_top(const struct tx_group *g, int n_cand, size_t n)
{
    const float *cand = g->cand;
    int *top = g->top, got = 0;
    for (size_t c = 0; c < n; c++) {
        /* once full, only a candidate above the lowest kept one enters: jump to the next */
        if (got == n_cand && (c = txi_first_above(cand, c, n, cand[top[got - 1]])) == n) break;
        float v = cand[c];
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
static int fill_unsampled(const struct tx_group *g, int n_cand, size_t n, int got)
{
    const float *cand = g->cand;
    int *top = g->top;
    while (got < n_cand) {
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
 * with the member's generator, then sorted by score, descending (stable). Returns how many. */
static int select_sampled(struct tx_group *g, struct txi_member *mb, int n_cand, size_t n)
{
    const float *cand = g->cand;
    int *top = g->top;
    txi_softmax(cand, (int)n, g->probs);
    int got = txi_sample_without_replacement(g->probs, (int)n, n_cand, &mb->brng, top);
    got = fill_unsampled(g, n_cand, n, got);
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

/* Step 5, BeamSearchScorer.process over the got selected candidates, best first: an eos among
 * the first K closes a hypothesis; the first K others become the next beams (next_*, from);
 * then the member is done when BeamHypotheses.is_done says so. TX_ERR_INVALID when fewer than
 * K continuations remain. */
static tx_status scorer_process(struct tx_group *g, struct txi_member *mb, int got,
                                struct tx_error *err)
{
    int K = mb->n_rows, V = g->V, nb = 0;
    for (int rank = 0; rank < got && nb < K; rank++) {
        int c = g->top[rank], k = c / V;
        int32_t tok = (int32_t)(c % V);
        if (tok == mb->p.eos_token_id) {
            if (rank >= K) continue;
            int slot = mb->slots[k];
            txi_beam_hyps_add(&mb->hy, txi_slot_seq(g, slot), g->lp + (size_t)slot * g->ML,
                              mb->cur_len, g->cand[c], tok, g->cand_lp[c]);
        } else {
            mb->next_scores[nb] = g->cand[c];
            mb->next_tok[nb] = tok;
            mb->next_lp[nb] = g->cand_lp[c];
            mb->from[nb] = k;
            nb++;
        }
    }
    if (nb < K)
        return txi_fail(err, TX_ERR_INVALID,
                        "beam search found only %d continuations for %d beams "
                        "(too many tokens are banned)",
                        nb, K);
    if (got > 0 && txi_beam_hyps_is_done(&mb->hy, g->cand[g->top[0]], mb->cur_len + 1))
        mb->hy.done = 1;
    return TX_OK;
}

/* Step 6, reorder: input_ids = cat(input_ids[beam_idx], next tokens), the log-probs and beam
 * scores likewise, through the group's copies; then the KV cache. cur_len grows by one. */
static void reorder_rows(struct tx_group *g, struct txi_member *mb)
{
    size_t ML = (size_t)g->ML;
    int K = mb->n_rows, cur_len = mb->cur_len;
    for (int k = 0; k < K; k++) {
        size_t at = (size_t)mb->slots[k] * ML;
        memcpy(g->seq_tmp + k * ML, g->seq + at, (size_t)cur_len * sizeof *g->seq);
        memcpy(g->lp_tmp + k * ML, g->lp + at, (size_t)(cur_len - 1) * sizeof *g->lp);
    }
    for (int k = 0; k < K; k++) {
        size_t at = (size_t)mb->slots[k] * ML, f = (size_t)mb->from[k] * ML;
        memcpy(g->seq + at, g->seq_tmp + f, (size_t)cur_len * sizeof *g->seq);
        memcpy(g->lp + at, g->lp_tmp + f, (size_t)(cur_len - 1) * sizeof *g->lp);
        g->seq[at + cur_len] = mb->next_tok[k];
        g->lp[at + cur_len - 1] = mb->next_lp[k];
        mb->beam_scores[k] = mb->next_scores[k];
    }
    mb->cur_len++;
}

tx_status txi_beam_advance(struct tx_group *g, struct txi_member *mb, const float *logits,
                           struct tx_error *err)
{
    int K = mb->n_rows, n_cand = 2 * K;
    size_t n = (size_t)K * g->V;
    score_candidates(g, mb, logits);
    int got = mb->p.do_sample ? select_sampled(g, mb, n_cand, n) : select_top(g, n_cand, n);
    tx_status st = scorer_process(g, mb, got, err);
    if (st != TX_OK) return st;
    int shared = txi_beam_step_rows(mb) < K; /* before reorder_rows moves cur_len on */
    reorder_rows(g, mb);
    if (mb->hy.done || mb->cur_len >= mb->p.max_length) {
        mb->state = TX_MEMBER_DONE;
        return TX_OK;
    }
    /* when only beam 0's row ran (txi_beam_step_rows), only its slot holds the cache: every beam
     * continues from it, whichever beam from names (they were the same row); top is free now */
    const int *src = mb->from;
    if (shared) {
        memset(g->top, 0, (size_t)K * sizeof *g->top);
        src = g->top;
    }
    txi_dec_reorder_slots(g->m, &g->ds, mb->slots, src, K, mb->cur_len - 1);
    return TX_OK;
}

/* Step 7, BeamSearchScorer.finalize: an unfinished member adds its running beams; the result
 * is its num_return_sequences best hypotheses (zeroed where it has fewer). */
void txi_beam_result(struct tx_group *g, struct txi_member *mb)
{
    int K = mb->n_rows, n_ret = mb->n_return;
    if (!mb->hy.done)
        for (int k = 0; k < K; k++) {
            int slot = mb->slots[k];
            txi_beam_hyps_add(&mb->hy, txi_slot_seq(g, slot), g->lp + (size_t)slot * g->ML,
                              mb->cur_len, mb->beam_scores[k], -1, 0.0f);
        }
    mb->hy.done = 1; /* finalized once */
    int n_best = txi_beam_hyps_best(&mb->hy, g->best);
    for (int j = 0; j < n_ret; j++) {
        struct tx_hypothesis *h = &mb->hyps[j];
        memset(h, 0, sizeof *h);
        if (j >= n_best) continue;
        const struct txi_beam_hyp *e = &mb->hy.pool[g->best[j]];
        h->ids = e->tokens;
        h->n_ids = e->len + e->eos;
        h->score = (float)e->score;
        h->token_logprobs = NULL;
        h->token_scores = e->scores;
    }
}
