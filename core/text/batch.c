/* batch.c — continuous batching of text jobs (tx.h: tx_text_batch_*). A job is split and
 * tokenized when it is added (the pipeline's phase 1); its segments then join one decode group
 * in order, after every segment of earlier jobs (FIFO: a job never overtakes one added before
 * it), as rows and source room free up; finished segments leave the group at once. When a job's
 * last segment ends, its items are decoded and assembled (phase 3) and the job waits to be
 * taken. A segment's hypotheses are those tx_generate gives it alone (the group's batch
 * invariance), so a job's result is tx_text_generate's whatever ran beside it. */
#include "text_job.h"
#include "tx.h"
#include "txi.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum bjob_state { BJOB_RUNNING = 0, BJOB_ENDED };

struct bjob {
    struct bjob *next;
    enum bjob_state state;
    void *user;
    const char *const *texts;
    const struct tx_text_params *params;
    struct tx_gen_params gen; /* params->gen without the cancel callback (asked per job) */
    struct text_job tj;
    struct tx_text_result *res;
    uint64_t *member; /* (n_segs) member id of each segment in the group, 0 when not there */
    void **cap;       /* (n_segs) TX_WANT_STEP_ATTENTION: each member's capture buffer, or NULL */
    int next_seg;     /* segments added to the group so far (in index order) */
    int n_done;       /* segments whose hypotheses were kept */
    double t0_ms;     /* when its first segment joined */
    int first_step;   /* 1 during the step after which its first tokens exist */
    int stepped;      /* it has been in a step */
    tx_status st;     /* BJOB_ENDED: TX_OK (res set) or the error */
    struct tx_error err;
};

struct tx_text_batch {
    tx_session *aux;
    const tx_tokenizer *tok;
    const tx_model *m;
    struct tx_group_params gp;
    tx_group *g;
    struct bjob *head, *tail; /* jobs not taken, in the order they were added */
    int n_jobs;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

tx_status tx_text_batch_new(tx_session *s, tx_session *aux, const tx_tokenizer *tok,
                            const struct tx_group_params *gp, tx_text_batch **out,
                            struct tx_error *err)
{
    if (!s || !tok || !gp || !out)
        return txi_fail(err, TX_ERR_INVALID, "tx_text_batch_new: NULL argument");
    if (aux && tx_session_get_model(aux) != tx_session_get_model(s))
        return txi_fail(err, TX_ERR_INVALID, "tx_text_batch_new: aux runs another model");
    tx_text_batch *b = calloc(1, sizeof *b);
    if (!b) return txi_fail(err, TX_ERR_NOMEM, "out of memory creating a text batch");
    b->aux = aux;
    b->tok = tok;
    b->m = tx_session_get_model(s);
    b->gp = *gp;
    tx_status st = tx_group_new(s, gp, &b->g, err);
    if (st != TX_OK) {
        free(b);
        return st;
    }
    *out = b;
    return TX_OK;
}

static void bjob_free(struct bjob *j)
{
    txi_text_job_free(&j->tj);
    tx_text_result_free(j->res);
    for (int i = 0; j->cap && i < j->tj.n_segs; i++)
        free(j->cap[i]);
    free(j->cap);
    free(j->member);
    free(j);
}

void tx_text_batch_free(tx_text_batch *b)
{
    if (!b) return;
    for (struct bjob *j = b->head, *n; j; j = n) {
        n = j->next;
        bjob_free(j);
    }
    tx_group_free(b->g);
    free(b);
}

/* Rows a segment with these parameters takes. */
static int rows_of(const struct tx_gen_params *p)
{
    if (p->num_beams > 1) return p->num_beams;
    return p->do_sample ? p->num_return_sequences : 1;
}

/* Checks that every segment of j can ever join the group (else it would wait forever). */
static tx_status check_fits(const tx_text_batch *b, const struct bjob *j, struct tx_error *err)
{
    const struct tx_gen_params *p = &j->gen;
    int max_length = p->max_new_tokens > 0 ? 1 + p->max_new_tokens : p->max_length;
    int rows = rows_of(p);
    if (max_length > b->gp.max_length)
        return txi_fail(err, TX_ERR_INVALID,
                        "max_length = %d exceeds what this batch was sized for (%d)", max_length,
                        b->gp.max_length);
    if (rows > b->gp.max_member_rows)
        return txi_fail(err, TX_ERR_INVALID,
                        "%d decoding rows (num_beams or sampled sequences) exceed what this "
                        "batch was sized for (%d)",
                        rows, b->gp.max_member_rows);
    for (int i = 0; i < j->tj.n_segs; i++)
        if (j->tj.segs[i].n_ids > b->gp.max_src_tokens)
            return txi_fail(err, TX_ERR_TOO_LONG,
                            "text[%d]: %d tokens exceed what this batch was sized for (%d)",
                            j->tj.segs[i].item, j->tj.segs[i].n_ids, b->gp.max_src_tokens);
    if ((j->params->want & TX_WANT_ATTENTION) && !b->aux)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "attention maps need a second session in this batch");
    return TX_OK;
}

/* 1 when j's members keep each step's cross-attention (TX_WANT_STEP_ATTENTION): attention
 * jobs of greedy search, one sample or beam search (tx_group_capture_cross). */
static int wants_capture(const struct bjob *j)
{
    unsigned w = j->params->want;
    return (w & TX_WANT_ATTENTION) && (w & TX_WANT_STEP_ATTENTION) &&
           (j->gen.num_beams > 1 || rows_of(&j->gen) == 1);
}

/* Removes segment i's member from the group and frees its capture buffer. */
static void drop_member(tx_text_batch *b, struct bjob *j, int i)
{
    tx_group_remove(b->g, j->member[i]);
    j->member[i] = 0;
    if (j->cap) {
        free(j->cap[i]);
        j->cap[i] = NULL;
    }
}

/* Segment i's member just joined: its capture buffer, when j wants one (malloc'd here, once
 * per segment; the steps allocate nothing). Capture is a view on the way: a segment whose
 * buffer is over params.step_attention_max_bytes or cannot be allocated runs without it. */
static tx_status start_capture(tx_text_batch *b, struct bjob *j, int i, struct tx_error *err)
{
    if (!j->cap) return TX_OK;
    size_t size = tx_group_capture_size(b->g, j->member[i]);
    size_t cap = j->params->step_attention_max_bytes;
    if (size == 0 || (cap && size > cap)) return TX_OK;
    j->cap[i] = malloc(size);
    if (!j->cap[i]) return TX_OK;
    return tx_group_capture_cross(b->g, j->member[i], j->cap[i], size, err);
}

tx_status tx_text_batch_add(tx_text_batch *b, const char *const *texts, const size_t *lens,
                            int n_texts, const struct tx_text_params *params, void *user,
                            struct tx_error *err)
{
    if (!b || !params) return txi_fail(err, TX_ERR_INVALID, "tx_text_batch_add: NULL argument");
    struct bjob *j = calloc(1, sizeof *j);
    if (!j) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    j->user = user;
    j->texts = texts;
    j->params = params;
    j->gen = params->gen;
    j->gen.cancel = NULL;
    j->gen.cancel_user = NULL;
    tx_status st =
        txi_text_begin(b->m, b->tok, texts, lens, n_texts, params, &j->tj, &j->res, err);
    if (st != TX_OK) {
        free(j);
        return st;
    }
    st = check_fits(b, j, err);
    if (st == TX_OK) {
        size_t n = (size_t)(j->tj.n_segs > 0 ? j->tj.n_segs : 1);
        j->member = calloc(n, sizeof *j->member);
        if (wants_capture(j)) j->cap = calloc(n, sizeof *j->cap);
        if (!j->member || (wants_capture(j) && !j->cap))
            st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    if (st != TX_OK) {
        bjob_free(j);
        return st;
    }
    if (b->tail)
        b->tail->next = j;
    else
        b->head = j;
    b->tail = j;
    b->n_jobs++;
    return TX_OK;
}

int tx_text_batch_waiting(const tx_text_batch *b)
{
    int n = 0;
    for (const struct bjob *j = b ? b->head : NULL; j; j = j->next)
        if (j->state == BJOB_RUNNING) n += j->tj.n_segs - j->next_seg;
    return n;
}

int tx_text_batch_jobs(const tx_text_batch *b)
{
    return b ? b->n_jobs : 0;
}

/* Ends job j: removes its members from the group; st TX_OK assembles its result. */
static void end_job(tx_text_batch *b, struct bjob *j, tx_status st, const struct tx_error *e)
{
    for (int i = 0; i < j->tj.n_segs; i++)
        if (j->member[i]) drop_member(b, j, i);
    if (st == TX_OK) {
        j->res->generate_ms = j->t0_ms > 0 ? now_ms() - j->t0_ms : 0;
        st = txi_text_end(b->aux, b->tok, j->texts, &j->tj, j->params, j->res, &j->err);
    } else if (e) {
        j->err = *e;
    }
    if (st != TX_OK) {
        tx_text_result_free(j->res);
        j->res = NULL;
    }
    j->st = st;
    j->state = BJOB_ENDED;
}

/* Segments join the group in order while they fit; the first that does not stops everyone
 * after it (FIFO). */
static void admit(tx_text_batch *b)
{
    for (struct bjob *j = b->head; j; j = j->next) {
        if (j->state != BJOB_RUNNING) continue;
        while (j->next_seg < j->tj.n_segs) {
            const struct segment *sg = &j->tj.segs[j->next_seg];
            if (!tx_group_fits(b->g, sg->n_ids, &j->gen)) return;
            struct tx_error e = {0};
            tx_status st = tx_group_add(b->g, sg->ids, sg->n_ids, &j->gen,
                                        &j->member[j->next_seg], &e);
            if (st == TX_OK) {
                st = start_capture(b, j, j->next_seg, &e);
                if (st != TX_OK) drop_member(b, j, j->next_seg);
            }
            if (st != TX_OK) {
                end_job(b, j, st, &e);
                break;
            }
            if (j->next_seg == 0) j->t0_ms = now_ms();
            j->next_seg++;
        }
    }
}

/* Collects j's finished segments; ends it when all are done, one failed, or it is cancelled. */
static void collect(tx_text_batch *b, struct bjob *j)
{
    for (int i = 0; i < j->next_seg; i++) {
        if (!j->member[i]) continue;
        tx_member_state ms = tx_group_state(b->g, j->member[i], NULL);
        if (ms != TX_MEMBER_DONE && ms != TX_MEMBER_FAILED) continue;
        struct tx_gen_out o;
        struct tx_error e = {0};
        tx_status st = tx_group_result(b->g, j->member[i], &o, &e);
        if (st == TX_OK) st = txi_text_keep(&j->tj, i, &o, 0, &e);
        drop_member(b, j, i);
        if (st != TX_OK) {
            end_job(b, j, st, &e);
            return;
        }
        j->n_done++;
    }
    if (j->n_done == j->tj.n_segs) {
        end_job(b, j, TX_OK, NULL);
        return;
    }
    const struct tx_gen_params *p = &j->params->gen;
    if (p->cancel && p->cancel(p->cancel_user)) {
        struct tx_error e = {0};
        txi_fail(&e, TX_ERR_CANCELLED, "generation cancelled");
        end_job(b, j, TX_ERR_CANCELLED, &e);
    }
}

tx_status tx_text_batch_step(tx_text_batch *b, int *n_rows, struct tx_error *err)
{
    if (!b) return txi_fail(err, TX_ERR_INVALID, "tx_text_batch_step: NULL argument");
    admit(b);
    int rows = 0;
    tx_status st = tx_group_step(b->g, &rows, err);
    if (n_rows) *n_rows = rows;
    if (st != TX_OK) return st;
    for (struct bjob *j = b->head; j; j = j->next) {
        j->first_step = 0;
        if (j->next_seg > 0 && !j->stepped && rows > 0) j->first_step = j->stepped = 1;
        if (j->state == BJOB_RUNNING) collect(b, j);
    }
    return TX_OK;
}

int tx_text_batch_first_tokens(const tx_text_batch *b, void **users, int max)
{
    int n = 0;
    for (const struct bjob *j = b ? b->head : NULL; j && n < max; j = j->next)
        if (j->first_step) users[n++] = j->user;
    return n;
}

int tx_text_batch_take(tx_text_batch *b, void **user, struct tx_text_result **res, tx_status *st,
                       struct tx_error *job_err)
{
    if (!b) return 0;
    for (struct bjob **pp = &b->head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
        struct bjob *j = *pp;
        if (j->state != BJOB_ENDED) continue;
        *pp = j->next;
        if (b->tail == j) b->tail = prev;
        b->n_jobs--;
        if (user) *user = j->user;
        if (st) *st = j->st;
        if (job_err) *job_err = j->err;
        if (res) {
            *res = j->res;
            j->res = NULL;
        }
        bjob_free(j);
        return 1;
    }
    return 0;
}

int tx_text_batch_users(const tx_text_batch *b, void **users, int max)
{
    int n = 0;
    for (const struct bjob *j = b ? b->head : NULL; j && n < max; j = j->next)
        if (j->state == BJOB_RUNNING && j->next_seg > 0) users[n++] = j->user;
    return n;
}

tx_status tx_text_batch_partial(const tx_text_batch *b, void *user, int item, char **text,
                                int *n_tokens, struct tx_error *err)
{
    if (!b || !text) return txi_fail(err, TX_ERR_INVALID, "tx_text_batch_partial: NULL argument");
    *text = NULL;
    const struct bjob *j = b->head;
    while (j && j->user != user) j = j->next;
    if (!j || j->state != BJOB_RUNNING || item < 0 || item >= j->res->n_items)
        return txi_fail(err, TX_ERR_INVALID, "no running job with item %d", item);
    char *out = NULL;
    size_t len = 0, cap = 0;
    int total = 0;
    if (txi_text_append(&out, &len, &cap, "", 0))
        return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    const struct segment *segs = j->tj.segs;
    int first = j->tj.first[item], count = j->tj.count[item];
    for (int i = first; i < first + count && i < j->next_seg; i++) {
        const int32_t *ids = NULL;
        int n = 0, running = j->member[i] != 0;
        if (running) {
            struct tx_error e = {0};
            if (tx_group_stable_tokens(b->g, j->member[i], &ids, &n, &e) != TX_OK) break;
        } else {
            ids = segs[i].hyps[0].ids;
            n = segs[i].hyps[0].n_ids;
        }
        int ng = n > 1 ? n - 1 : 0;
        char *piece = NULL;
        tx_status st = tx_tokenizer_decode(b->tok, ids + 1, ng, 1, &piece, err);
        if (st != TX_OK) {
            free(out);
            return st;
        }
        int bad = (i > first &&
                   txi_text_append(&out, &len, &cap, j->texts[item] + segs[i - 1].end,
                                   segs[i].start - segs[i - 1].end)) ||
                  txi_text_append(&out, &len, &cap, piece, strlen(piece));
        free(piece);
        if (bad) {
            free(out);
            return txi_fail(err, TX_ERR_NOMEM, "out of memory");
        }
        total += ng;
        if (running) break; /* the text so far ends in the first unfinished segment */
    }
    *text = out;
    if (n_tokens) *n_tokens = total;
    return TX_OK;
}

/* The running job tagged user and the member of its item's one segment (0 when that segment is
 * not in the group), or NULL. */
static const struct bjob *capture_job(const tx_text_batch *b, void *user, int item,
                                      uint64_t *member)
{
    const struct bjob *j = b ? b->head : NULL;
    while (j && j->user != user) j = j->next;
    if (!j || j->state != BJOB_RUNNING || item < 0 || item >= j->res->n_items) return NULL;
    int seg = j->tj.first[item];
    /* attention jobs have one segment per item (no sentence split) */
    *member = j->cap && j->tj.count[item] == 1 && seg < j->next_seg ? j->member[seg] : 0;
    return j;
}

tx_status tx_text_batch_partial_attention(const tx_text_batch *b, void *user, int item,
                                          int *n_rows, const int32_t **src_ids, int *n_src,
                                          struct tx_error *err)
{
    uint64_t member = 0;
    const struct bjob *j = capture_job(b, user, item, &member);
    if (!j || !n_rows) return txi_fail(err, TX_ERR_INVALID, "no running job with item %d", item);
    *n_rows = member ? tx_group_cross_ready(b->g, member) : 0;
    const struct segment *sg = j->tj.count[item] == 1 ? &j->tj.segs[j->tj.first[item]] : NULL;
    if (src_ids) *src_ids = sg ? sg->ids : NULL;
    if (n_src) *n_src = sg ? sg->n_ids : 0;
    return TX_OK;
}

tx_status tx_text_batch_attention_rows(const tx_text_batch *b, void *user, int item, int first,
                                       int n, float *cross, int32_t *tokens,
                                       struct tx_error *err)
{
    uint64_t member = 0;
    const struct bjob *j = capture_job(b, user, item, &member);
    if (!j || !member)
        return txi_fail(err, TX_ERR_INVALID, "no running job capturing item %d", item);
    tx_status st = tx_group_cross_rows(b->g, member, first, n, cross, err);
    if (st != TX_OK || !tokens) return st;
    const int32_t *ids = NULL;
    int n_ids = 0;
    st = tx_group_stable_tokens(b->g, member, &ids, &n_ids, err);
    if (st != TX_OK) return st;
    for (int t = first; t < first + n; t++) /* ready rows: tokens up to first + n are stable */
        tokens[t - first] = t + 1 < n_ids ? ids[t + 1] : -1;
    return TX_OK;
}
