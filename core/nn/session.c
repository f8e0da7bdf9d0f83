/* session.c — sessions: creation, the arena of a call, checks and packing of sources. */
#include "session.h"
#include "model.h"
#include "transformer.h"
#include "txi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First arena: enough for short requests; it grows (before any decode loop) when needed. */
#define SESSION_INITIAL_ARENA ((size_t)1 << 20)

tx_status tx_session_new(const tx_model *model, size_t max_arena_bytes, tx_session **out,
                         struct tx_error *err)
{
    if (!model || !out) return txi_fail(err, TX_ERR_INVALID, "tx_session_new: NULL argument");
    tx_session *s = calloc(1, sizeof *s);
    if (!s) return txi_fail(err, TX_ERR_NOMEM, "out of memory creating a session");
    s->model = model;
    txi_arena_init(&s->arena, max_arena_bytes);
    txi_arena_init(&s->scratch, max_arena_bytes);
    if (txi_arena_reset(&s->arena, SESSION_INITIAL_ARENA) != 0) {
        txi_arena_free(&s->arena);
        free(s);
        return txi_fail(err, TX_ERR_NOMEM, "out of memory creating a session arena");
    }
    *out = s;
    return TX_OK;
}

void tx_session_free(tx_session *s)
{
    if (!s) return;
    txi_pool_free(s->pool);
    txi_arena_free(&s->arena);
    txi_arena_free(&s->scratch);
    free(s);
}

tx_status tx_session_set_threads(tx_session *s, int n_threads, struct tx_error *err)
{
    if (!s) return txi_fail(err, TX_ERR_INVALID, "tx_session_set_threads: NULL session");
    if (n_threads < 1 || n_threads > TX_MAX_ENGINE_THREADS)
        return txi_fail(err, TX_ERR_INVALID, "engine threads = %d is out of range [1, %d]",
                        n_threads, TX_MAX_ENGINE_THREADS);
    if (n_threads == txi_pool_threads(s->pool)) return TX_OK;
    struct txi_pool *p = NULL;
    if (n_threads > 1 && !(p = txi_pool_new(n_threads)))
        return txi_fail(err, TX_ERR_NOMEM, "cannot start %d engine threads", n_threads - 1);
    txi_pool_free(s->pool);
    s->pool = p;
    return TX_OK;
}

int tx_session_threads(const tx_session *s)
{
    return s ? txi_pool_threads(s->pool) : 1;
}

size_t tx_session_arena_size(const tx_session *s)
{
    return s ? txi_arena_size(&s->arena) + txi_arena_size(&s->scratch) : 0;
}

const tx_model *tx_session_get_model(const tx_session *s)
{
    return s ? s->model : NULL;
}

tx_status txi_check_ids(const char *what, const int32_t *ids, int n, int vocab,
                        struct tx_error *err)
{
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab)
            return txi_fail(err, TX_ERR_INVALID, "%s[%d] = %d is outside the vocabulary (0..%d)",
                            what, i, (int)ids[i], vocab - 1);
    return TX_OK;
}

tx_status txi_check_source(const tx_model *m, const char *what, const int32_t *ids, int n,
                           struct tx_error *err)
{
    if (!ids || n <= 0) return txi_fail(err, TX_ERR_INVALID, "%s is empty", what);
    if (m->cfg.max_pos && n > m->cfg.max_pos)
        return txi_fail(err, TX_ERR_TOO_LONG,
                        "%s has %d tokens; the model accepts at most %d (max_position_embeddings)",
                        what, n, m->cfg.max_pos);
    return txi_check_ids(what, ids, n, m->cfg.vocab, err);
}

tx_status txi_pack_sources(struct txi_arena *a, const int32_t *const *ids, const int *n_src, int n,
                           int32_t **ids_out, int **off, int **len, int *n_tok,
                           struct tx_error *err)
{
    long long total = 0;
    for (int b = 0; b < n; b++)
        total += n_src[b];
    if (total > 1 << 28) return txi_fail(err, TX_ERR_TOO_LONG, "sources are too long in total");
    *ids_out = txi_arena_alloc(a, (size_t)total, sizeof(int32_t));
    *off = txi_arena_alloc(a, (size_t)n, sizeof(int));
    *len = txi_arena_alloc(a, (size_t)n, sizeof(int));
    if (!*ids_out || !*off || !*len)
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (sources)");
    int o = 0;
    for (int b = 0; b < n; b++) {
        (*off)[b] = o;
        (*len)[b] = n_src[b];
        memcpy(*ids_out + o, ids[b], (size_t)n_src[b] * sizeof(int32_t));
        o += n_src[b];
    }
    *n_tok = o;
    return TX_OK;
}
