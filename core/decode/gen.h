/* gen.h — what tx_generate's phases share: the call's state and its decoder step (internal). */
#ifndef ATTNSERVE_GEN_H
#define ATTNSERVE_GEN_H

#include "arena.h"
#include "logits_process.h"
#include "transformer.h"
#include "tx.h"

#include <stdint.h>

/* One generation call: the validated parameters, the encoded sources' decoder state and the
 * buffers every search uses. Everything lives in the session arena, allocated before the first
 * step (the decode loop allocates nothing). */
struct txi_gen {
    tx_session *s;
    const tx_model *m;
    struct tx_gen_params p; /* validated; max_length resolved (txi_gen_validate_params) */
    int V;                  /* decoder vocabulary */
    int n_inputs;           /* sources */
    int n_per;              /* decoding rows per source: beams, returned samples or 1 */
    int rows;               /* n_inputs * n_per */
    int max_length;         /* tokens per row incl. the decoder start token */
    struct txi_arena *a;
    struct txi_dec_state ds;
    float *logits;            /* (rows, V) the step's logits, one row per active row */
    int *slot, *src;          /* (rows) the step's active rows: cache slot, source index */
    int32_t *step_ids;        /* (rows) the step's input token of each active row */
    uint8_t *seen;            /* (V) zeroed, for the repetition penalty */
    float *tmp;               /* (V) warper scratch */
    struct txi_scored *pairs; /* (V) top-p scratch */
};

/* Validates p as GenerationConfig.validate() and the processors' constructors do, resolves
 * max_new_tokens into max_length and an unset pad_token_id to eos_token_id. On error p may have
 * max_length rewritten; err names the parameter and its value. */
tx_status txi_gen_validate_params(const tx_model *m, struct tx_gen_params *p, struct tx_error *err);

/* One decoder pass over the n rows gathered in g->slot, g->src and g->step_ids, each at position
 * `past`: writes g->logits (n, V). */
void txi_gen_decode(struct txi_gen *g, int n, int past);

/* Nonzero when the caller's cancel callback asks to stop. */
int txi_gen_cancelled(const struct txi_gen *g);

/* Greedy search and multinomial sampling (num_beams 1): writes out, whose hypotheses are
 * borrowed from the session arena. TX_ERR_NOMEM, TX_ERR_CANCELLED. */
tx_status txi_greedy_run(struct txi_gen *g, struct tx_gen_out *out, struct tx_error *err);

/* Beam search (do_sample 0) and beam sampling (do_sample 1): writes out, whose hypotheses are
 * borrowed from the session arena. TX_ERR_NOMEM, TX_ERR_CANCELLED, TX_ERR_INVALID when the
 * processors leave fewer continuations than beams. */
tx_status txi_beam_search_run(struct txi_gen *g, struct tx_gen_out *out, struct tx_error *err);

#endif
