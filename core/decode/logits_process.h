/* logits_process.h — transformers' logits processors and sampling warpers on one row of scores
 * (internal). Each follows the HF 4.35.2 class named in its comment. */
#ifndef ATTNSERVE_LOGITS_PROCESS_H
#define ATTNSERVE_LOGITS_PROCESS_H

#include <stdint.h>

#include "tx.h"

/* A (score, token) pair for sorting. */
struct txi_scored {
    float v;
    int32_t i;
};

/* RepetitionPenaltyLogitsProcessor: every token of seq (n) once: s < 0 ? s * penalty :
 * s / penalty. seen (vocab) must be all zero and is left all zero. */
void txi_proc_repetition_penalty(float *scores, const int32_t *seq, int n, float penalty,
                                 uint8_t *seen);

/* NoRepeatNGramLogitsProcessor: bans tokens that would repeat an n-gram of seq (n). */
void txi_proc_no_repeat_ngram(float *scores, const int32_t *seq, int n, int ngram);

/* NoBadWordsLogitsProcessor: bans single bad tokens always and a sequence's last token when seq
 * ends with its prefix (sequences longer than seq are ignored, [eos] is dropped, as HF). */
void txi_proc_bad_words(float *scores, const int32_t *seq, int n, const struct tx_gen_params *p);

/* MinLength, ForcedBOS, ForcedEOS processors (cur_len counts the decoder start token). */
void txi_proc_min_length(float *scores, int cur_len, int min_length, int eos);
void txi_proc_forced_bos(float *scores, int vocab, int cur_len, int bos);
void txi_proc_forced_eos(float *scores, int vocab, int cur_len, int max_length, int eos);

/* All processors enabled by p, in generate()'s order: repetition_penalty, no_repeat_ngram,
 * bad_words, min_length, forced_bos, forced_eos. seq (cur_len) is the hypothesis so far. */
void txi_logits_process(const struct tx_gen_params *p, int max_length, const int32_t *seq,
                        int cur_len, float *scores, int vocab, uint8_t *seen);

/* TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper (filtered scores -> -inf). */
void txi_warp_temperature(float *scores, int vocab, float temperature);
void txi_warp_top_k(float *scores, int vocab, int top_k, int min_keep, float *tmp);
void txi_warp_top_p(float *scores, int vocab, float top_p, int min_keep, struct txi_scored *pairs);

/* The enabled warpers in HF order: temperature, top-k, top-p. */
void txi_logits_warp(const struct tx_gen_params *p, int min_keep, float *scores, int vocab,
                     float *tmp, struct txi_scored *pairs);

#endif
