/* gen.h — a decode group (tx_group): its members, their rows and the step they share; and the
 * searches run on a member (internal). tx_generate is a group whose members all join at once. */
#ifndef ATTNSERVE_GEN_H
#define ATTNSERVE_GEN_H

#include "arena.h"
#include "beam.h"
#include "logits_process.h"
#include "sampling.h"
#include "transformer.h"
#include "tx.h"

#include <stdint.h>

/* One member: a source and its search. Row i of the member (0 <= i < n_rows) is cache slot
 * slots[i]; the slot also indexes the group's token and log-prob rows. */
struct txi_member {
    tx_member_state state;
    uint64_t id;            /* 0 while the place is free */
    struct tx_gen_params p; /* validated; max_length resolved */
    int beam;               /* beam search / beam sampling (num_beams > 1) */
    int n_rows;             /* beams, returned samples, or 1 */
    int n_return;           /* hypotheses in the result */
    int cur_len;            /* tokens per row so far, incl. the decoder start token */
    int src_len;            /* source tokens (at cross rows g->src_off[place] ..) */
    int *slots;             /* (max_member_rows) */
    /* greedy and sampling */
    uint8_t *finished;   /* (max_member_rows) 1 once the row emitted eos */
    double *sum;         /* (max_member_rows) sum of processed log-probs: the score */
    struct txi_rng *rng; /* (max_member_rows) one stream per returned sample */
    /* beam search */
    struct txi_beam_hyps hy; /* finished hypotheses (storage from the arena) */
    void *hy_storage;
    struct txi_rng brng;  /* beam sampling's generator */
    float *beam_scores;   /* (max_member_rows) running sum of processed log-probs of each beam */
    float *next_scores;   /* (max_member_rows) the chosen continuations' summed scores */
    float *next_lp;       /* (max_member_rows) the chosen continuations' processed log-probs */
    int32_t *next_tok;    /* (max_member_rows) the chosen continuations' tokens */
    int *from;            /* (max_member_rows) the member row each new row continues */
    struct tx_hypothesis *hyps; /* (max_member_rows) the result */
    struct tx_error err;        /* FAILED: why */
    /* cross-attention capture (tx_group_capture_cross), or NULL: the caller's buffer */
    float *cap;   /* (max_length - 1, cap_rows, cap_floats) position p's row of each member row */
    int *cap_par; /* beam search: (max_length - 1, n_rows) after the step at position p, the
                     member row at p that row k continues (beam_search.c's from) */
    int cap_rows;      /* rows captured per position: n_rows (beam search) or 1 (row 0) */
    size_t cap_floats; /* n_dec_layers * n_heads * src_len */
};

struct tx_group {
    tx_session *s;
    const tx_model *m;
    struct txi_arena *a; /* the session's arena: everything below */
    struct tx_group_params gp;
    int V;  /* decoder vocabulary */
    int ML; /* token row stride: max(max_length, 2) */
    int MR; /* max_member_rows */
    uint64_t next_id;
    struct txi_dec_state ds;
    struct txi_member *mem; /* (max_members) */
    int *src_off, *src_len; /* (max_members) cross rows of each place's source */
    int32_t *src_ids;       /* (max_src_tokens) sources at their cross rows */
    uint8_t *slot_used;     /* (max_rows) */
    int32_t *seq;           /* (max_rows, ML) tokens of the row in each slot */
    float *raw_lp;          /* (max_rows, ML) greedy: log_softmax(raw logits) of each token */
    float *lp;              /* (max_rows, ML) log-prob after processors of each token */
    /* the step: its rows, in member order */
    float *logits;     /* (max_rows, V) */
    int *row_slot;     /* (max_rows) */
    int *row_src;      /* (max_rows) place of the row's member (its source) */
    int *row_past;     /* (max_rows) cached positions of the row */
    int32_t *row_ids;  /* (max_rows) input token */
    float **row_cap;   /* (max_rows) where the row's cross-attention goes, or NULL (capture) */
    int *step_first;   /* (max_members) first step row of each place, -1 when not stepped */
    /* scoring scratch, one member at a time */
    uint8_t *seen;            /* (V) zeroed, for the repetition penalty */
    float *tmp;               /* (V) warper scratch */
    float *proc;              /* (V) greedy: the row being scored */
    struct txi_scored *pairs; /* (V) top-p scratch */
    float *cand;              /* (MR, V) beam: log-prob + beam score of every continuation */
    float *cand_lp;           /* (MR, V) beam: processed log-probs */
    float *probs;             /* (MR, V) beam sampling: softmax(cand) */
    int *top;                 /* (2 MR) selected candidates */
    int *best;                /* (MR) finalize: pool indices, best first */
    int32_t *seq_tmp;         /* (MR, ML) beam reordering */
    float *lp_tmp;            /* (MR, ML) beam reordering */
};

/* Validates p as GenerationConfig.validate() and the processors' constructors do, resolves
 * max_new_tokens into max_length and an unset pad_token_id to eos_token_id. On error p may have
 * max_length rewritten; err names the parameter and its value. */
tx_status txi_gen_validate_params(const tx_model *m, struct tx_gen_params *p, struct tx_error *err);

/* Token row of slot s (ML tokens) and its log-prob rows. */
static inline int32_t *txi_slot_seq(const struct tx_group *g, int s)
{
    return g->seq + (size_t)s * g->ML;
}

/* Greedy search and multinomial sampling (num_beams 1), per member (greedy.c):
 * start: every row at the decoder start token, generators seeded;
 * row_active: whether row i runs in the next step;
 * advance: extends each active row by one token from logits (the member's active rows, in row
 *          order, (n, V)); the member is DONE when every row has emitted eos or max_length is
 *          reached;
 * result: the rows as hypotheses in mb->hyps. */
void txi_greedy_start(struct tx_group *g, struct txi_member *mb);
int txi_greedy_row_active(const struct txi_member *mb, int i);
void txi_greedy_advance(struct tx_group *g, struct txi_member *mb, const float *logits);
void txi_greedy_result(struct tx_group *g, struct txi_member *mb);

/* Beam search and beam sampling, per member (beam_search.c):
 * step_rows: how many of its rows run in the next step: 1 at the first step, whose beams are
 *            all the same row (the start token on the same source; a row's numbers depend on its
 *            own operands only), else n_rows;
 * advance: logits are those step_rows rows; returns TX_ERR_INVALID when the processors leave
 *          fewer continuations than beams. After the first step every beam's cache is beam
 *          0's. */
int txi_beam_step_rows(const struct txi_member *mb);
void txi_beam_start(struct tx_group *g, struct txi_member *mb);
tx_status txi_beam_advance(struct tx_group *g, struct txi_member *mb, const float *logits,
                           struct tx_error *err);
void txi_beam_result(struct tx_group *g, struct txi_member *mb);

#endif
