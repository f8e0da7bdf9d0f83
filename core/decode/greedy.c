/* greedy.c — greedy search and multinomial sampling (transformers 4.35.2 greedy_search, sample):
 * n_per rows per input (returned samples), each extended by one token a step until it emits eos
 * or reaches max_length. */
#include "gen.h"
#include "sampling.h"
#include "txi.h"

#include <math.h>
#include <string.h>

void txi_greedy_start(struct tx_group *g, struct txi_member *mb)
{
    mb->cur_len = 1;
    for (int i = 0; i < mb->n_rows; i++) {
        txi_slot_seq(g, mb->slots[i])[0] = mb->p.decoder_start_token_id;
        mb->finished[i] = 0;
        mb->sum[i] = 0;
        /* stream = index of the sample within its input: an input draws the same alone or in
         * a batch */
        txi_rng_seed(&mb->rng[i], mb->p.seed, (uint64_t)i);
    }
}

int txi_greedy_row_active(const struct txi_member *mb, int i)
{
    return !mb->finished[i];
}

/* The next token of row i from its processed scores g->proc: a draw from the warped softmax
 * when sampling, else the argmax (the lowest id on ties, as torch.argmax). */
static int pick_token(struct tx_group *g, struct txi_member *mb, int i)
{
    const struct tx_gen_params *p = &mb->p;
    int V = g->V;
    float *proc = g->proc;
    if (p->do_sample) {
        txi_logits_warp(p, 1, proc, V, g->tmp, g->pairs);
        txi_softmax(proc, V, g->tmp);
        int tok = txi_sample_categorical(g->tmp, V, &mb->rng[i]);
        return tok < 0 ? 0 : tok; /* every token filtered: cannot happen with min_keep 1 */
    }
    return txi_argmax(proc, V);
}

/* Extends row i, whose logits are raw (V), by one token and records its log-probabilities. */
static void extend_row(struct tx_group *g, struct txi_member *mb, int i, const float *raw)
{
    int V = g->V, cur_len = mb->cur_len;
    size_t at = (size_t)mb->slots[i] * g->ML;
    int32_t *sr = g->seq + at;
    memcpy(g->proc, raw, (size_t)V * sizeof *g->proc);
    txi_logits_process(&mb->p, mb->p.max_length, sr, cur_len, g->proc, V, g->seen);
    int tok = pick_token(g, mb, i);
    sr[cur_len] = tok;
    g->raw_lp[at + cur_len - 1] = (float)(raw[tok] - txi_log_sum_exp(raw, V));
    float plp = (float)(g->proc[tok] - txi_log_sum_exp(g->proc, V));
    g->lp[at + cur_len - 1] = plp;
    mb->sum[i] += plp;
    if (tok == mb->p.eos_token_id) mb->finished[i] = 1;
}

void txi_greedy_advance(struct tx_group *g, struct txi_member *mb, const float *logits)
{
    int n = 0, unfinished = 0;
    for (int i = 0; i < mb->n_rows; i++) {
        if (mb->finished[i]) continue;
        extend_row(g, mb, i, logits + (size_t)n++ * g->V);
        unfinished |= !mb->finished[i];
    }
    mb->cur_len++;
    if (!unfinished || mb->cur_len >= mb->p.max_length) mb->state = TX_MEMBER_DONE;
}

void txi_greedy_result(struct tx_group *g, struct txi_member *mb)
{
    for (int i = 0; i < mb->n_rows; i++) {
        size_t at = (size_t)mb->slots[i] * g->ML;
        const int32_t *sr = g->seq + at;
        int len = 1;
        while (len < mb->cur_len) {
            len++;
            if (sr[len - 1] == mb->p.eos_token_id) break;
        }
        struct tx_hypothesis *h = &mb->hyps[i];
        h->ids = sr;
        h->n_ids = len;
        h->score = (float)mb->sum[i];
        h->token_logprobs = g->raw_lp + at;
        h->token_scores = g->lp + at;
    }
}
