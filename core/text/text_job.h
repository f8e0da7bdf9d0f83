/* text_job.h — the phases of the text pipeline, shared by tx_text_generate (pipeline.c) and
 * the continuous text batch (batch.c) (internal). */
#ifndef ATTNSERVE_TEXT_JOB_H
#define ATTNSERVE_TEXT_JOB_H

#include "tx.h"

#include <stdint.h>

/* One unit of generation: a whole text, or one sentence of it. */
struct segment {
    int item;           /* index of the input text */
    uint32_t start, end; /* byte span in that text */
    int32_t *ids;       /* source ids after truncation (owned) */
    int n_ids;
    int n_ids_original;
    int truncated;
    struct tx_hypothesis *hyps; /* (n_return) copies: ids owned */
};

/* The segments of one call and where each input text's run of them lies. */
struct text_job {
    struct segment *segs; /* (cap_segs) the first n_segs in use */
    int n_segs, cap_segs;
    int *first, *count; /* (n_texts) text i is segs[first[i] .. first[i] + count[i] - 1] */
    int *order;         /* (n_segs) segment indices, shortest first */
    int n_return;       /* hypotheses per segment */
};

/* Phase 1: checks the arguments, allocates an empty result of n_texts items (*out, owned) and
 * splits and tokenizes every text into job's segments (job->segs[i].ids, n_ids). On error
 * nothing is left allocated. */
tx_status txi_text_begin(const tx_model *m, const tx_tokenizer *tok, const char *const *texts,
                         const size_t *lens, int n_texts, const struct tx_text_params *params,
                         struct text_job *job, struct tx_text_result **out, struct tx_error *err);

/* Phase 2, one segment at a time: copies input `input`'s hypotheses of go into segment seg. */
tx_status txi_text_keep(struct text_job *job, int seg, const struct tx_gen_out *go, int input,
                        struct tx_error *err);

/* Phase 3: decodes and assembles every item of res from the segments' hypotheses; with
 * TX_WANT_ATTENTION, runs s (a session free for tx_forward) to capture the maps. */
tx_status txi_text_end(tx_session *s, const tx_tokenizer *tok, const char *const *texts,
                       const struct text_job *job, const struct tx_text_params *params,
                       struct tx_text_result *res, struct tx_error *err);

/* Appends n bytes of src to the growing NUL-terminated string *s (*len bytes, *cap allocated).
 * Returns 0, or -1 out of memory (*s unchanged). */
int txi_text_append(char **s, size_t *len, size_t *cap, const char *src, size_t n);

/* Frees what job owns (not job itself). */
void txi_text_job_free(struct text_job *job);

#endif
