/* beam.h — the finished hypotheses of one beam-search input (transformers' BeamHypotheses,
 * 4.35.2 generation/beam_search.py), with storage allocated up front (internal). */
#ifndef ATTNSERVE_BEAM_H
#define ATTNSERVE_BEAM_H

#include <stddef.h>
#include <stdint.h>

struct txi_beam_hyp {
    double score;    /* sum_logprobs / len ** length_penalty */
    int len;         /* tokens incl. the decoder start token, excl. the eos */
    int eos;         /* 1 when finished by eos (then tokens[len] is it) */
    int32_t *tokens; /* (max_length + 1) */
    float *scores;   /* (max_length): processed log-prob of each generated token */
};

struct txi_beam_hyps {
    int num_beams, early_stopping, max_length;
    float length_penalty;
    int n;                     /* hypotheses kept, <= num_beams */
    int *order;                /* (num_beams + 1): pool indices in insertion order */
    struct txi_beam_hyp *pool; /* (num_beams + 1) */
    double worst_score;
    int done;
};

/* Bytes of storage txi_beam_hyps_init needs for one input. */
size_t txi_beam_hyps_bytes(int num_beams, int max_length);

/* Sets up h over `storage` (txi_beam_hyps_bytes, 8-byte aligned). early_stopping: 0 False,
 * 1 True, 2 "never". */
void txi_beam_hyps_init(struct txi_beam_hyps *h, int num_beams, float length_penalty,
                        int early_stopping, int max_length, void *storage);

/* BeamHypotheses.add: a hypothesis of len tokens (and the eos token `eos` when >= 0, with its
 * processed score eos_score) whose summed log-probability is sum_logprobs. */
void txi_beam_hyps_add(struct txi_beam_hyps *h, const int32_t *tokens, const float *tok_scores,
                       int len, float sum_logprobs, int eos, float eos_score);

/* BeamHypotheses.is_done for the best candidate sum of this step and cur_len (= sequence
 * length after this step). */
int txi_beam_hyps_is_done(const struct txi_beam_hyps *h, float best_sum_logprobs, int cur_len);

/* Writes the pool indices of every kept hypothesis, best first, in the order
 * BeamSearchScorer.finalize pops them (stable sort by score; among equal scores the later
 * added first). out holds num_beams entries. Returns how many were written (h->n). */
int txi_beam_hyps_best(const struct txi_beam_hyps *h, int *out);

#endif
