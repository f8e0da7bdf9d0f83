/* beam.c — transformers' BeamHypotheses (4.35.2): scores in double as Python computes them,
 * the worst-score bookkeeping and deletion order of `add`, and `is_done`'s three
 * early-stopping rules. */
#include "beam.h"

#include <math.h>
#include <string.h>

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

size_t txi_beam_hyps_bytes(int num_beams, int max_length)
{
    size_t k = (size_t)num_beams + 1;
    return align8(k * sizeof(int)) + align8(k * sizeof(struct txi_beam_hyp)) +
           k * (align8(((size_t)max_length + 1) * sizeof(int32_t)) +
                align8((size_t)max_length * sizeof(float)));
}

void txi_beam_hyps_init(struct txi_beam_hyps *h, int num_beams, float length_penalty,
                        int early_stopping, int max_length, void *storage)
{
    size_t k = (size_t)num_beams + 1;
    unsigned char *p = storage;
    memset(h, 0, sizeof *h);
    h->num_beams = num_beams;
    h->length_penalty = length_penalty;
    h->early_stopping = early_stopping;
    h->max_length = max_length;
    h->worst_score = 1e9;
    h->order = (int *)(void *)p;
    p += align8(k * sizeof(int));
    h->pool = (struct txi_beam_hyp *)(void *)p;
    p += align8(k * sizeof(struct txi_beam_hyp));
    for (size_t i = 0; i < k; i++) {
        h->pool[i].tokens = (int32_t *)(void *)p;
        p += align8(((size_t)max_length + 1) * sizeof(int32_t));
        h->pool[i].scores = (float *)(void *)p;
        p += align8((size_t)max_length * sizeof(float));
    }
}

void txi_beam_hyps_add(struct txi_beam_hyps *h, const int32_t *tokens, const float *tok_scores,
                       int len, float sum_logprobs, int eos, float eos_score)
{
    double score = (double)sum_logprobs / pow((double)len, (double)h->length_penalty);
    if (!(h->n < h->num_beams || score > h->worst_score)) return;
    /* a free pool entry: the pool has one more than can be kept */
    int slot = 0;
    for (int used = 1; used;) {
        used = 0;
        for (int j = 0; j < h->n; j++)
            if (h->order[j] == slot) {
                used = 1;
                slot++;
                break;
            }
    }
    struct txi_beam_hyp *e = &h->pool[slot];
    e->score = score;
    e->len = len;
    e->eos = eos >= 0;
    memcpy(e->tokens, tokens, (size_t)len * sizeof *tokens);
    if (len > 1) memcpy(e->scores, tok_scores, (size_t)(len - 1) * sizeof *tok_scores);
    if (eos >= 0) {
        e->tokens[len] = eos;
        e->scores[len - 1] = eos_score;
    }
    h->order[h->n++] = slot;
    if (h->n > h->num_beams) {
        /* delete the lowest (score, position); the new worst is the next lowest */
        int lo = 0;
        for (int j = 1; j < h->n; j++)
            if (h->pool[h->order[j]].score < h->pool[h->order[lo]].score) lo = j;
        memmove(h->order + lo, h->order + lo + 1, (size_t)(h->n - lo - 1) * sizeof *h->order);
        h->n--;
        double worst = INFINITY;
        for (int j = 0; j < h->n; j++)
            if (h->pool[h->order[j]].score < worst) worst = h->pool[h->order[j]].score;
        h->worst_score = worst;
    } else if (score < h->worst_score) {
        h->worst_score = score;
    }
}

int txi_beam_hyps_is_done(const struct txi_beam_hyps *h, float best_sum_logprobs, int cur_len)
{
    if (h->n < h->num_beams) return 0;
    if (h->early_stopping == 1) return 1;
    double lp = h->length_penalty;
    int len = (h->early_stopping == 2 && lp > 0.0) ? h->max_length : cur_len;
    double highest = (double)best_sum_logprobs / pow((double)len, lp);
    return h->worst_score >= highest;
}

int txi_beam_hyps_best(const struct txi_beam_hyps *h, int *out)
{
    /* stable insertion sort by score ascending, then reversed: finalize() pops from the end */
    int m = h->n;
    for (int j = 0; j < m; j++) {
        int v = h->order[j], k = j;
        while (k > 0 && h->pool[out[k - 1]].score > h->pool[v].score) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = v;
    }
    for (int a = 0, b = m - 1; a < b; a++, b--) {
        int t = out[a];
        out[a] = out[b];
        out[b] = t;
    }
    return m;
}
