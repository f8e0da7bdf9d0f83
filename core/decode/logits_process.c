/* logits_process.c — transformers' logits processors and sampling warpers (HF 4.35.2,
 * generation/logits_process.py), applied to one hypothesis's row of scores. */
#include "logits_process.h"
#include "ops.h"

#include <math.h>
#include <string.h>

void txi_proc_repetition_penalty(float *scores, const int32_t *seq, int n, float penalty,
                                 uint8_t *seen)
{
    /* gather/scatter in HF: every occurrence computes from the original score, so a repeated
     * token is penalised once */
    for (int i = 0; i < n; i++) {
        int32_t t = seq[i];
        if (seen[t]) continue;
        seen[t] = 1;
        float s = scores[t];
        scores[t] = s < 0 ? s * penalty : s / penalty;
    }
    for (int i = 0; i < n; i++)
        seen[seq[i]] = 0;
}

void txi_proc_no_repeat_ngram(float *scores, const int32_t *seq, int n, int ngram)
{
    if (ngram <= 0 || n + 1 < ngram) return;
    /* the last ngram-1 tokens; every earlier occurrence bans the token that followed it */
    const int32_t *prefix = seq + n - (ngram - 1);
    for (int start = 0; start + ngram <= n; start++) {
        if (memcmp(seq + start, prefix, (size_t)(ngram - 1) * sizeof *seq) == 0)
            scores[seq[start + ngram - 1]] = -INFINITY;
    }
}

void txi_proc_bad_words(float *scores, const int32_t *seq, int n, const struct tx_gen_params *p)
{
    for (int w = 0; w < p->n_bad_words; w++) {
        int len = p->bad_words_len[w];
        const int32_t *bw = p->bad_words[w];
        if (len == 1 && bw[0] == p->eos_token_id) continue; /* HF filters [eos] out */
        if (len > n) continue; /* "the sequence is longer than the context, ignore" */
        if (len == 1 || memcmp(seq + n - (len - 1), bw, (size_t)(len - 1) * sizeof *seq) == 0)
            scores[bw[len - 1]] = -INFINITY;
    }
}

void txi_proc_min_length(float *scores, int cur_len, int min_length, int eos)
{
    if (eos >= 0 && cur_len < min_length) scores[eos] = -INFINITY;
}

void txi_proc_forced_bos(float *scores, int vocab, int cur_len, int bos)
{
    if (bos < 0 || cur_len != 1) return;
    for (int i = 0; i < vocab; i++)
        scores[i] = -INFINITY;
    scores[bos] = 0.0f;
}

void txi_proc_forced_eos(float *scores, int vocab, int cur_len, int max_length, int eos)
{
    if (eos < 0 || cur_len != max_length - 1) return;
    for (int i = 0; i < vocab; i++)
        scores[i] = -INFINITY;
    scores[eos] = 0.0f;
}

void txi_logits_process(const struct tx_gen_params *p, int max_length, const int32_t *seq,
                        int cur_len, float *scores, int vocab, uint8_t *seen)
{
    if (p->repetition_penalty != 1.0f)
        txi_proc_repetition_penalty(scores, seq, cur_len, p->repetition_penalty, seen);
    if (p->no_repeat_ngram_size > 0)
        txi_proc_no_repeat_ngram(scores, seq, cur_len, p->no_repeat_ngram_size);
    if (p->n_bad_words > 0) txi_proc_bad_words(scores, seq, cur_len, p);
    if (p->min_length > 0) txi_proc_min_length(scores, cur_len, p->min_length, p->eos_token_id);
    txi_proc_forced_bos(scores, vocab, cur_len, p->forced_bos_token_id);
    txi_proc_forced_eos(scores, vocab, cur_len, max_length, p->forced_eos_token_id);
}

void txi_warp_temperature(float *scores, int vocab, float temperature)
{
    for (int i = 0; i < vocab; i++)
        scores[i] = scores[i] / temperature;
}

void txi_warp_top_k(float *scores, int vocab, int top_k, int min_keep, float *tmp)
{
    int k = top_k > min_keep ? top_k : min_keep;
    if (k >= vocab) return;
    float kth = txi_kth_largest(scores, vocab, k, tmp);
    for (int i = 0; i < vocab; i++)
        if (scores[i] < kth) scores[i] = -INFINITY; /* ties with the k-th stay */
}

/* (v, i) ascending: the order top-p walks in. */
static int scored_less(const struct txi_scored *x, const struct txi_scored *y)
{
    return x->v < y->v || (x->v == y->v && x->i < y->i);
}

static void sift_down(struct txi_scored *a, int root, int n)
{
    for (;;) {
        int child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && scored_less(&a[child], &a[child + 1])) child++;
        if (!scored_less(&a[root], &a[child])) return;
        struct txi_scored t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

/* In-place heapsort: glibc's qsort may malloc a merge buffer for a vocabulary-sized array,
 * and this runs inside the decode loop. */
static void sort_scored(struct txi_scored *a, int n)
{
    for (int i = n / 2 - 1; i >= 0; i--)
        sift_down(a, i, n);
    for (int end = n - 1; end > 0; end--) {
        struct txi_scored t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

void txi_warp_top_p(float *scores, int vocab, float top_p, int min_keep, struct txi_scored *pairs)
{
    /* HF: sort ascending, cumulative softmax, drop tokens whose cumulative probability is
     * <= 1 - top_p, always keep the min_keep most probable */
    for (int i = 0; i < vocab; i++) {
        pairs[i].v = scores[i];
        pairs[i].i = i;
    }
    sort_scored(pairs, vocab);
    float mx = pairs[vocab - 1].v;
    if (mx == -INFINITY) return;
    double total = 0;
    for (int i = 0; i < vocab; i++)
        total += expf(pairs[i].v - mx);
    float limit = (float)(1.0 - (double)top_p);
    double cum = 0;
    for (int i = 0; i < vocab - min_keep; i++) {
        cum += (float)(expf(pairs[i].v - mx) / total);
        if ((float)cum <= limit) scores[pairs[i].i] = -INFINITY;
    }
}

void txi_logits_warp(const struct tx_gen_params *p, int min_keep, float *scores, int vocab,
                     float *tmp, struct txi_scored *pairs)
{
    if (p->temperature != 1.0f) txi_warp_temperature(scores, vocab, p->temperature);
    if (p->top_k != 0) txi_warp_top_k(scores, vocab, p->top_k, min_keep, tmp);
    if (p->top_p < 1.0f) txi_warp_top_p(scores, vocab, p->top_p, min_keep, pairs);
}
