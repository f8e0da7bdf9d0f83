/* session.h — a session: the model it runs and the arena of its current call (internal). */
#ifndef ATTNSERVE_SESSION_H
#define ATTNSERVE_SESSION_H

#include "arena.h"
#include "threadpool.h"
#include "tx.h"

struct tx_session {
    const tx_model *model;
    struct txi_arena arena;   /* everything of the current call (or decode group) */
    struct txi_arena scratch; /* a decode group's encoder scratch: reset for every source it
                                 encodes, kept across calls so that a repeated request of the
                                 same shape allocates nothing */
    struct txi_pool *pool;    /* engine threads (tx_session_set_threads), or NULL */
};

/* Checks ids (n) against [0, vocab): errors name `what`, the position and the value. */
tx_status txi_check_ids(const char *what, const int32_t *ids, int n, int vocab,
                        struct tx_error *err);

/* Checks a source for tx_forward/tx_generate: non-empty, within the model's position limit,
 * ids in the vocabulary. `what` names it in errors ("input_ids" or "input_ids[2]"). */
tx_status txi_check_source(const tx_model *m, const char *what, const int32_t *ids, int n,
                           struct tx_error *err);

/* Lays n sources end to end in arena memory: *ids_out (sum n_src), *off (n), *len (n). */
tx_status txi_pack_sources(struct txi_arena *a, const int32_t *const *ids, const int *n_src, int n,
                           int32_t **ids_out, int **off, int **len, int *n_tok,
                           struct tx_error *err);

#endif
