/* group.c — decode groups (tx.h): members that join and leave between steps, one decoder pass
 * per step for the rows of all of them. A step: encode the waiting members' sources (one at a
 * time: a source's encoding never depends on the others), gather the rows of the running
 * members, one txi_decode over all rows (each at its own position), then each member's search
 * takes its rows' logits. Everything is allocated by tx_group_new; a step allocates nothing
 * (the encoder's scratch arena grows only when a longer source than any before arrives). */
#include "gen.h"
#include "model.h"
#include "session.h"
#include "txi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest sizes a group accepts (beyond them the arena sizes overflow long before). */
#define GROUP_MAX_ROWS (1 << 16)
#define GROUP_MAX_LENGTH 100000

static tx_status check_group_params(const tx_model *m, const struct tx_group_params *gp,
                                    struct tx_error *err)
{
    if (m->cfg.arch == TX_ARCH_HAN)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "model_type han scores sentences (tx_salience); it does not generate");
    if (gp->max_rows < 1 || gp->max_rows > GROUP_MAX_ROWS)
        return txi_fail(err, TX_ERR_INVALID, "max_rows = %d is out of range [1, %d]", gp->max_rows,
                        GROUP_MAX_ROWS);
    if (gp->max_member_rows < 1 || gp->max_member_rows > gp->max_rows)
        return txi_fail(err, TX_ERR_INVALID, "max_member_rows = %d is out of range [1, %d]",
                        gp->max_member_rows, gp->max_rows);
    if (gp->max_members < 1 || gp->max_members > GROUP_MAX_ROWS)
        return txi_fail(err, TX_ERR_INVALID, "max_members = %d is out of range [1, %d]",
                        gp->max_members, GROUP_MAX_ROWS);
    if (gp->max_length < 1 || gp->max_length > GROUP_MAX_LENGTH)
        return txi_fail(err, TX_ERR_INVALID, "max_length = %d is out of range [1, %d]",
                        gp->max_length, GROUP_MAX_LENGTH);
    if (m->cfg.max_pos && gp->max_length - 1 > m->cfg.max_pos)
        return txi_fail(err, TX_ERR_INVALID,
                        "max_length = %d needs %d decoder positions; the model has %d",
                        gp->max_length, gp->max_length - 1, m->cfg.max_pos);
    if (gp->max_src_tokens < 1 || gp->max_src_tokens > (1 << 28))
        return txi_fail(err, TX_ERR_INVALID, "max_src_tokens = %d is out of range [1, %d]",
                        gp->max_src_tokens, 1 << 28);
    return TX_OK;
}

/* The per-member arrays of place i, from the arena. Returns -1 when it is exhausted. */
static int alloc_member(struct tx_group *g, struct txi_member *mb)
{
    struct txi_arena *a = g->a;
    size_t MR = (size_t)g->MR;
    memset(mb, 0, sizeof *mb);
    mb->slots = txi_arena_alloc(a, MR, sizeof(int));
    mb->finished = txi_arena_alloc(a, MR, 1);
    mb->sum = txi_arena_alloc(a, MR, sizeof(double));
    mb->rng = txi_arena_alloc(a, MR, sizeof(struct txi_rng));
    mb->beam_scores = txi_arena_alloc(a, MR, sizeof(float));
    mb->next_scores = txi_arena_alloc(a, MR, sizeof(float));
    mb->next_lp = txi_arena_alloc(a, MR, sizeof(float));
    mb->next_tok = txi_arena_alloc(a, MR, sizeof(int32_t));
    mb->from = txi_arena_alloc(a, MR, sizeof(int));
    mb->hyps = txi_arena_alloc(a, MR, sizeof(struct tx_hypothesis));
    mb->hy_storage = txi_arena_alloc(a, txi_beam_hyps_bytes(g->MR, g->ML), 1);
    return mb->slots && mb->finished && mb->sum && mb->rng && mb->beam_scores &&
                   mb->next_scores && mb->next_lp && mb->next_tok && mb->from && mb->hyps &&
                   mb->hy_storage
               ? 0
               : -1;
}

/* Every buffer of the group, from the arena. Returns -1 when it is exhausted. */
static int alloc_group(struct tx_group *g)
{
    struct txi_arena *a = g->a;
    size_t R = (size_t)g->gp.max_rows, M = (size_t)g->gp.max_members, ML = (size_t)g->ML;
    size_t V = (size_t)g->V, MR = (size_t)g->MR;
    g->mem = txi_arena_alloc(a, M, sizeof *g->mem);
    g->src_off = txi_arena_alloc(a, M, sizeof(int));
    g->src_len = txi_arena_calloc(a, M, sizeof(int));
    g->src_ids = txi_arena_alloc(a, (size_t)g->gp.max_src_tokens, sizeof(int32_t));
    g->slot_used = txi_arena_calloc(a, R, 1);
    g->seq = txi_arena_alloc(a, R, ML * sizeof(int32_t));
    g->raw_lp = txi_arena_alloc(a, R, ML * sizeof(float));
    g->lp = txi_arena_alloc(a, R, ML * sizeof(float));
    g->logits = txi_arena_alloc(a, R, V * sizeof(float));
    g->row_slot = txi_arena_alloc(a, R, sizeof(int));
    g->row_src = txi_arena_alloc(a, R, sizeof(int));
    g->row_past = txi_arena_alloc(a, R, sizeof(int));
    g->row_ids = txi_arena_alloc(a, R, sizeof(int32_t));
    g->row_cap = txi_arena_alloc(a, R, sizeof(float *));
    g->step_first = txi_arena_alloc(a, M, sizeof(int));
    g->seen = txi_arena_calloc(a, V, 1);
    g->tmp = txi_arena_alloc(a, V, sizeof(float));
    g->proc = txi_arena_alloc(a, V, sizeof(float));
    g->pairs = txi_arena_alloc(a, V, sizeof(struct txi_scored));
    g->cand = txi_arena_alloc(a, MR, V * sizeof(float));
    g->cand_lp = txi_arena_alloc(a, MR, V * sizeof(float));
    g->probs = txi_arena_alloc(a, MR, V * sizeof(float));
    g->top = txi_arena_alloc(a, 2 * MR, sizeof(int));
    g->best = txi_arena_alloc(a, MR + 1, sizeof(int));
    g->seq_tmp = txi_arena_alloc(a, MR, ML * sizeof(int32_t));
    g->lp_tmp = txi_arena_alloc(a, MR, ML * sizeof(float));
    if (!g->mem || !g->src_off || !g->src_len || !g->src_ids || !g->slot_used || !g->seq ||
        !g->raw_lp || !g->lp || !g->logits || !g->row_slot || !g->row_src || !g->row_past ||
        !g->row_ids || !g->row_cap || !g->step_first || !g->seen || !g->tmp || !g->proc ||
        !g->pairs || !g->cand || !g->cand_lp || !g->probs || !g->top || !g->best || !g->seq_tmp ||
        !g->lp_tmp)
        return -1;
    for (size_t i = 0; i < M; i++)
        if (alloc_member(g, &g->mem[i])) return -1;
    return 0;
}

tx_status tx_group_new(tx_session *s, const struct tx_group_params *gp, tx_group **out,
                       struct tx_error *err)
{
    if (!s || !gp || !out) return txi_fail(err, TX_ERR_INVALID, "tx_group_new: NULL argument");
    tx_status st = check_group_params(s->model, gp, err);
    if (st != TX_OK) return st;
    if (txi_arena_reset(&s->arena, 0) != 0)
        return txi_fail(err, TX_ERR_NOMEM, "out of memory growing the session arena");
    /* the group itself lives in the arena too: a repeated call of the same shape allocates
     * nothing */
    tx_group *g = txi_arena_calloc(&s->arena, 1, sizeof *g);
    if (!g) return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (decode group)");
    g->s = s;
    g->m = s->model;
    g->a = &s->arena;
    g->gp = *gp;
    g->V = g->m->cfg.dec_vocab;
    g->ML = gp->max_length > 2 ? gp->max_length : 2;
    g->MR = gp->max_member_rows;
    g->next_id = 1;
    int max_src = g->m->cfg.max_pos && g->m->cfg.max_pos < gp->max_src_tokens
                      ? g->m->cfg.max_pos
                      : gp->max_src_tokens;
    int positions = gp->max_length > 1 ? gp->max_length - 1 : 1;
    if (alloc_group(g) != 0)
        return txi_fail(err, TX_ERR_NOMEM,
                        "session arena exhausted (decode group of %d rows, %d members)",
                        gp->max_rows, gp->max_members);
    st = txi_dec_alloc(g->m, g->a, &g->ds, gp->max_rows, positions, gp->max_rows,
                       gp->max_src_tokens, max_src, g->MR > 1 ? g->MR : 0, g->src_off,
                       g->src_len, 1, s->pool, err);
    if (st != TX_OK) return st;
    *out = g;
    return TX_OK;
}

void tx_group_free(tx_group *g)
{
    (void)g; /* everything is in the session arena, released by its next reset */
}

/* A member id: a serial number (from 1, never reused) over its place, so that finding a member
 * is one comparison (a stale id no longer matches its place). */
#define ID_PLACE_BITS 32

/* The place of member id, or NULL. */
static struct txi_member *find(const tx_group *g, uint64_t id)
{
    uint64_t place = id & ((1ull << ID_PLACE_BITS) - 1);
    if (id == 0 || place >= (uint64_t)g->gp.max_members || g->mem[place].id != id) return NULL;
    return &g->mem[place];
}

/* Rows a member with parameters p takes. */
static int rows_of(const struct tx_gen_params *p)
{
    if (p->num_beams > 1) return p->num_beams;
    return p->do_sample ? p->num_return_sequences : 1;
}

static int free_slots(const tx_group *g)
{
    int n = 0;
    for (int i = 0; i < g->gp.max_rows; i++)
        n += !g->slot_used[i];
    return n;
}

/* The lowest offset where len source tokens fit between the sources of the members, or -1. */
static int find_src_room(const tx_group *g, int len)
{
    int best = -1;
    for (int c = -1; c < g->gp.max_members; c++) {
        const struct txi_member *cm = c >= 0 ? &g->mem[c] : NULL;
        if (cm && !cm->id) continue;
        int at = cm ? g->src_off[c] + cm->src_len : 0;
        if (at + len > g->gp.max_src_tokens || (best >= 0 && at >= best)) continue;
        int clash = 0;
        for (int i = 0; i < g->gp.max_members && !clash; i++) {
            const struct txi_member *o = &g->mem[i];
            clash = o->id && at < g->src_off[i] + o->src_len && g->src_off[i] < at + len;
        }
        if (!clash) best = at;
    }
    return best;
}

/* The first free member place, or -1. */
static int free_place(const tx_group *g)
{
    for (int i = 0; i < g->gp.max_members; i++)
        if (!g->mem[i].id) return i;
    return -1;
}

int tx_group_fits(const tx_group *g, int n_src, const struct tx_gen_params *params)
{
    if (!g) return 0;
    const struct tx_gen_params *p = params ? params : &g->m->gen;
    int max_length = p->max_new_tokens > 0 ? 1 + p->max_new_tokens : p->max_length;
    int rows = rows_of(p);
    return max_length <= g->gp.max_length && rows <= g->MR && rows <= free_slots(g) &&
           free_place(g) >= 0 && n_src > 0 && find_src_room(g, n_src) >= 0;
}

tx_status tx_group_add(tx_group *g, const int32_t *input_ids, int n_src,
                       const struct tx_gen_params *params, uint64_t *id, struct tx_error *err)
{
    if (!g || !id) return txi_fail(err, TX_ERR_INVALID, "tx_group_add: NULL argument");
    struct tx_gen_params p = params ? *params : g->m->gen;
    tx_status st = txi_gen_validate_params(g->m, &p, err);
    if (st != TX_OK) return st;
    st = txi_check_source(g->m, "input_ids", input_ids, n_src, err);
    if (st != TX_OK) return st;
    int rows = rows_of(&p);
    if (p.max_length > g->gp.max_length)
        return txi_fail(err, TX_ERR_NOMEM, "max_length = %d exceeds the decode group's %d",
                        p.max_length, g->gp.max_length);
    if (rows > g->MR)
        return txi_fail(err, TX_ERR_NOMEM, "%d rows exceed the decode group's %d per member",
                        rows, g->MR);
    int place = free_place(g), room = find_src_room(g, n_src);
    if (place < 0 || room < 0 || rows > free_slots(g))
        return txi_fail(err, TX_ERR_NOMEM,
                        "the decode group is full (%d free rows of %d, %s)", free_slots(g),
                        g->gp.max_rows, place < 0 ? "no member place" : "no source room");
    struct txi_member *mb = &g->mem[place];
    mb->state = TX_MEMBER_WAITING;
    mb->id = (g->next_id++ << ID_PLACE_BITS) | (uint64_t)place;
    mb->p = p;
    mb->beam = p.num_beams > 1;
    mb->n_rows = rows;
    mb->n_return = p.num_return_sequences;
    if (!mb->beam) mb->n_return = rows;
    mb->cur_len = 1;
    mb->src_len = n_src;
    mb->cap = NULL;
    mb->cap_par = NULL;
    memset(&mb->err, 0, sizeof mb->err);
    g->src_off[place] = room;
    g->src_len[place] = n_src;
    memcpy(g->src_ids + room, input_ids, (size_t)n_src * sizeof(int32_t));
    for (int i = 0, s = 0; i < rows; s++)
        if (!g->slot_used[s]) {
            g->slot_used[s] = 1;
            mb->slots[i++] = s;
        }
    *id = mb->id;
    return TX_OK;
}

/* Ends a member with an error (its rows stay taken until it is removed). */
static void fail_member(struct txi_member *mb, const struct tx_error *e)
{
    mb->state = TX_MEMBER_FAILED;
    mb->err = *e;
}

/* Encodes the source of the member at place i alone, with the session's scratch arena, and
 * computes its cross-attention keys and values; starts its search. */
static void start_member(struct tx_group *g, int i)
{
    struct txi_member *mb = &g->mem[i];
    struct txi_arena *sa = &g->s->scratch;
    struct tx_error e = {0};
    int off = g->src_off[i], len = mb->src_len, d = g->m->cfg.d_model;
    static const int zero = 0;
    if (txi_arena_reset(sa, 0) != 0) {
        txi_fail(&e, TX_ERR_NOMEM, "out of memory growing the encoder's scratch");
        fail_member(mb, &e);
        return;
    }
    float *hidden = txi_arena_alloc(sa, (size_t)len, (size_t)d * sizeof(float));
    if (!hidden) {
        txi_fail(&e, TX_ERR_NOMEM, "scratch arena exhausted (encoder output)");
        fail_member(mb, &e);
        return;
    }
    struct txi_enc_job ej = {.ids = g->src_ids + off,
                             .src_off = &zero,
                             .src_len = &len,
                             .n_src = 1,
                             .n_tok = len,
                             .hidden = hidden,
                             .att = NULL,
                             .pool = g->s->pool};
    if (txi_encode(g->m, sa, &ej, &e) != TX_OK) {
        fail_member(mb, &e);
        return;
    }
    /* the cross K/V with the source-sized products (not row by row): they depend on this source
     * alone either way */
    struct txi_gemm_ws ws = g->ds.ws;
    ws.rowwise = 0;
    txi_dec_set_source(g->m, &g->ds, hidden, off, len, &ws);
    /* released now: a reset merges what this source made the arena grow by, so that sources no
     * longer than this one encode without allocating */
    txi_arena_reset(sa, 0);
    mb->state = TX_MEMBER_RUNNING;
    if (mb->beam)
        txi_beam_start(g, mb);
    else
        txi_greedy_start(g, mb);
}

/* Appends the running member at place i's active rows to the step. Returns the new count. */
static int gather(struct tx_group *g, int i, int n)
{
    struct txi_member *mb = &g->mem[i];
    g->step_first[i] = n;
    int rows = mb->beam ? txi_beam_step_rows(mb) : mb->n_rows;
    for (int r = 0; r < rows; r++) {
        if (!mb->beam && !txi_greedy_row_active(mb, r)) continue;
        int slot = mb->slots[r];
        g->row_slot[n] = slot;
        g->row_src[n] = i;
        g->row_past[n] = mb->cur_len - 1;
        g->row_ids[n] = txi_slot_seq(g, slot)[mb->cur_len - 1];
        /* capture: position cur_len - 1 of each beam, or of row 0 */
        g->row_cap[n] = mb->cap && (mb->beam || r == 0)
                            ? mb->cap + ((size_t)(mb->cur_len - 1) * (size_t)mb->cap_rows +
                                         (size_t)(mb->beam ? r : 0)) *
                                            mb->cap_floats
                            : NULL;
        n++;
    }
    return n;
}

/* After the decoder pass: the member at place i takes its rows' logits. */
static void advance(struct tx_group *g, int i)
{
    struct txi_member *mb = &g->mem[i];
    const float *logits = g->logits + (size_t)g->step_first[i] * g->V;
    if (mb->beam) {
        struct tx_error e = {0};
        if (mb->cap && txi_beam_step_rows(mb) < mb->n_rows) /* beam 0's row is every beam's */
            for (int r = 1; r < mb->n_rows; r++)
                memcpy(mb->cap + (size_t)r * mb->cap_floats, mb->cap,
                       mb->cap_floats * sizeof *mb->cap);
        if (txi_beam_advance(g, mb, logits, &e) != TX_OK) {
            fail_member(mb, &e);
            return;
        }
        if (mb->cap) /* the step at position cur_len - 2: which row each new row continues */
            memcpy(mb->cap_par + (size_t)(mb->cur_len - 2) * (size_t)mb->n_rows, mb->from,
                   (size_t)mb->n_rows * sizeof(int));
    } else {
        txi_greedy_advance(g, mb, logits);
    }
    if (mb->state == TX_MEMBER_DONE) {
        if (mb->beam)
            txi_beam_result(g, mb);
        else
            txi_greedy_result(g, mb);
        return;
    }
    if (mb->p.cancel && mb->p.cancel(mb->p.cancel_user)) {
        struct tx_error e = {0};
        txi_fail(&e, TX_ERR_CANCELLED, "generation cancelled after %d tokens", mb->cur_len - 1);
        fail_member(mb, &e);
    }
}

tx_status tx_group_step(tx_group *g, int *n_rows, struct tx_error *err)
{
    if (!g) return txi_fail(err, TX_ERR_INVALID, "tx_group_step: NULL argument");
    int M = g->gp.max_members;
    for (int i = 0; i < M; i++)
        if (g->mem[i].id && g->mem[i].state == TX_MEMBER_WAITING) start_member(g, i);
    int n = 0, capture = 0;
    for (int i = 0; i < M; i++) {
        g->step_first[i] = -1;
        if (g->mem[i].id && g->mem[i].state == TX_MEMBER_RUNNING) {
            n = gather(g, i, n);
            capture |= g->mem[i].cap != NULL;
        }
    }
    if (n_rows) *n_rows = n;
    if (n == 0) return TX_OK;
    struct txi_dec_job dj = {.n_rows = n,
                             .n_new = 1,
                             .past = 0,
                             .pasts = g->row_past,
                             .slot = g->row_slot,
                             .src = g->row_src,
                             .ids = g->row_ids,
                             .logits = g->logits,
                             .cross_rows = capture ? g->row_cap : NULL};
    txi_decode(g->m, &g->ds, &dj);
    for (int i = 0; i < M; i++)
        if (g->step_first[i] >= 0) advance(g, i);
    return TX_OK;
}

tx_member_state tx_group_state(const tx_group *g, uint64_t id, int *n_tokens)
{
    const struct txi_member *mb = g ? find(g, id) : NULL;
    if (n_tokens) *n_tokens = mb ? mb->cur_len - 1 : 0;
    return mb ? mb->state : TX_MEMBER_NONE;
}

tx_status tx_group_tokens(const tx_group *g, uint64_t id, const int32_t **ids, int *n_ids,
                          struct tx_error *err)
{
    const struct txi_member *mb = g ? find(g, id) : NULL;
    if (!mb || !ids || !n_ids)
        return txi_fail(err, TX_ERR_INVALID, "tx_group_tokens: no member %llu",
                        (unsigned long long)id);
    if (mb->state == TX_MEMBER_WAITING) {
        *ids = NULL;
        *n_ids = 0;
        return TX_OK;
    }
    *ids = txi_slot_seq(g, mb->slots[0]);
    *n_ids = mb->cur_len;
    return TX_OK;
}

tx_status tx_group_stable_tokens(const tx_group *g, uint64_t id, const int32_t **ids,
                                 int *n_ids, struct tx_error *err)
{
    const struct txi_member *mb = g ? find(g, id) : NULL;
    if (!mb || !ids || !n_ids)
        return txi_fail(err, TX_ERR_INVALID, "tx_group_stable_tokens: no member %llu",
                        (unsigned long long)id);
    if (mb->state == TX_MEMBER_DONE && mb->n_return > 0) {
        *ids = mb->hyps[0].ids;
        *n_ids = mb->hyps[0].n_ids;
        return TX_OK;
    }
    if (mb->state != TX_MEMBER_RUNNING) {
        *ids = NULL;
        *n_ids = 0;
        return TX_OK;
    }
    const int32_t *first = txi_slot_seq(g, mb->slots[0]);
    int n = mb->cur_len;
    if (mb->beam) { /* every future hypothesis continues a running beam or is a kept one */
        for (int r = 1; r < mb->n_rows; r++) {
            const int32_t *q = txi_slot_seq(g, mb->slots[r]);
            int k = 0;
            while (k < n && q[k] == first[k]) k++;
            n = k;
        }
        for (int h = 0; h < mb->hy.n; h++) {
            const struct txi_beam_hyp *bh = &mb->hy.pool[mb->hy.order[h]];
            int len = bh->len + (bh->eos ? 1 : 0), k = 0;
            while (k < n && k < len && bh->tokens[k] == first[k]) k++;
            n = k;
        }
    }
    *ids = first;
    *n_ids = n;
    return TX_OK;
}

tx_status tx_group_result(const tx_group *g, uint64_t id, struct tx_gen_out *out,
                          struct tx_error *err)
{
    const struct txi_member *mb = g ? find(g, id) : NULL;
    if (!mb || !out)
        return txi_fail(err, TX_ERR_INVALID, "tx_group_result: no member %llu",
                        (unsigned long long)id);
    if (mb->state == TX_MEMBER_FAILED) {
        if (err) *err = mb->err;
        return mb->err.status;
    }
    if (mb->state != TX_MEMBER_DONE)
        return txi_fail(err, TX_ERR_INVALID, "member %llu has not finished",
                        (unsigned long long)id);
    out->n_inputs = 1;
    out->n_return = mb->n_return;
    out->hyps = mb->hyps;
    return TX_OK;
}

void tx_group_remove(tx_group *g, uint64_t id)
{
    struct txi_member *mb = g ? find(g, id) : NULL;
    if (!mb) return;
    for (int i = 0; i < mb->n_rows; i++)
        g->slot_used[mb->slots[i]] = 0;
    g->src_len[mb - g->mem] = 0;
    mb->id = 0;
    mb->cap = NULL; /* the caller's buffer: free once removed */
    mb->cap_par = NULL;
    mb->src_len = 0;
    mb->state = TX_MEMBER_NONE;
}

/* ------------------------------------------------------------------ cross-attention capture */

/* Rows per position, positions and floats per row of member mb's capture. */
static void capture_shape(const tx_group *g, const struct txi_member *mb, size_t *rows,
                          size_t *positions, size_t *floats)
{
    *rows = mb->beam ? (size_t)mb->n_rows : 1;
    *positions = mb->p.max_length > 1 ? (size_t)mb->p.max_length - 1 : 1;
    *floats = (size_t)g->m->cfg.n_dec_layers * (size_t)g->m->cfg.n_heads * (size_t)mb->src_len;
}

size_t tx_group_capture_size(const tx_group *g, uint64_t id)
{
    const struct txi_member *mb = g ? find(g, id) : NULL;
    if (!mb) return 0;
    size_t rows, positions, floats;
    capture_shape(g, mb, &rows, &positions, &floats);
    /* floats <= 2^16 layers x heads x 2^28 tokens; positions x rows < 2^33: no overflow on
     * 64 bits, and SIZE_MAX / ... guards 32 */
    if (floats && positions * rows > SIZE_MAX / sizeof(float) / floats) return 0;
    size_t bytes = positions * rows * floats * sizeof(float);
    if (mb->beam) bytes += positions * (size_t)mb->n_rows * sizeof(int);
    return bytes;
}

tx_status tx_group_capture_cross(tx_group *g, uint64_t id, void *buf, size_t size,
                                 struct tx_error *err)
{
    struct txi_member *mb = g ? find(g, id) : NULL;
    if (!mb || !buf)
        return txi_fail(err, TX_ERR_INVALID, "tx_group_capture_cross: no member %llu",
                        (unsigned long long)id);
    if (mb->state != TX_MEMBER_WAITING)
        return txi_fail(err, TX_ERR_INVALID,
                        "tx_group_capture_cross: member %llu has already started",
                        (unsigned long long)id);
    if (!mb->beam && mb->n_rows != 1)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "cross-attention capture needs greedy search, one sample or beam "
                        "search (%d sampled sequences)",
                        mb->n_rows);
    size_t need = tx_group_capture_size(g, id);
    if (need == 0 || size < need)
        return txi_fail(err, TX_ERR_INVALID,
                        "tx_group_capture_cross: %zu bytes given, the capture needs %zu", size,
                        need);
    size_t rows, positions, floats;
    capture_shape(g, mb, &rows, &positions, &floats);
    mb->cap = buf;
    mb->cap_par = mb->beam ? (int *)(void *)(mb->cap + positions * rows * floats) : NULL;
    mb->cap_rows = (int)rows;
    mb->cap_floats = floats;
    return TX_OK;
}

/* Rows of member mb's capture that belong to its final result for sure: row t (decoder input
 * t, the step that chose token t + 1) once tokens 0 .. t + 1 are what its result will start
 * with. Running: its stable tokens (tx_group_stable_tokens); done: the tokens its best
 * hypothesis shares with row 0 (whose ancestry the capture follows). */
static int capture_ready(const tx_group *g, const struct txi_member *mb)
{
    if (!mb->cap || (mb->state != TX_MEMBER_RUNNING && mb->state != TX_MEMBER_DONE)) return 0;
    const int32_t *ids = NULL, *row0 = txi_slot_seq(g, mb->slots[0]);
    int n = 0;
    if (tx_group_stable_tokens(g, mb->id, &ids, &n, NULL) != TX_OK || !ids) return 0;
    if (mb->state == TX_MEMBER_DONE && ids != row0) {
        int k = 0;
        while (k < n && k < mb->cur_len && ids[k] == row0[k]) k++;
        n = k;
    }
    if (n > mb->cur_len) n = mb->cur_len; /* positions 0 .. cur_len - 2 were computed */
    return n > 1 ? n - 1 : 0;
}

int tx_group_cross_ready(const tx_group *g, uint64_t id)
{
    const struct txi_member *mb = g ? find(g, id) : NULL;
    return mb ? capture_ready(g, mb) : 0;
}

tx_status tx_group_cross_rows(const tx_group *g, uint64_t id, int first, int n, float *out,
                              struct tx_error *err)
{
    const struct txi_member *mb = g ? find(g, id) : NULL;
    if (!mb || !mb->cap || (n > 0 && !out))
        return txi_fail(err, TX_ERR_INVALID, "tx_group_cross_rows: no capturing member %llu",
                        (unsigned long long)id);
    int ready = capture_ready(g, mb);
    if (first < 0 || n < 0 || first + n > ready)
        return txi_fail(err, TX_ERR_INVALID,
                        "tx_group_cross_rows: rows [%d, %d) asked, %d are ready", first,
                        first + n, ready);
    size_t A = mb->cap_floats, K = (size_t)mb->cap_rows;
    if (!mb->beam) {
        memcpy(out, mb->cap + (size_t)first * A, (size_t)n * A * sizeof(float));
        return TX_OK;
    }
    /* beam search: follow row 0's ancestry back from the last step (cur_len - 2); positions in
     * [first, first + n) are copied on the way (linear in the distance to the last step) */
    int a = 0;
    for (int p = mb->cur_len - 2; p >= first; p--) {
        a = mb->cap_par[(size_t)p * K + (size_t)a];
        if (p < first + n)
            memcpy(out + (size_t)(p - first) * A, mb->cap + ((size_t)p * K + (size_t)a) * A,
                   A * sizeof(float));
    }
    return TX_OK;
}
