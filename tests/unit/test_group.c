/* test_group.c — decode groups (tx_group_*): members that join and leave between steps give bit
 * for bit what they give alone (tokens, scores, per-token log-probs), under random arrival
 * schedules mixing greedy search, beam search, sampling and beam sampling, on the tiny fixture
 * models and on the shipped translator (F32 and int8, with more than 16 rows a step); and the
 * group's contract: capacity, errors, removal, cancellation, streaming tokens. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tx.h"

#define MAX_CASES 12
#define MAX_HYPS 4
#define MAX_IDS 64

/* One hypothesis, copied out of the session. */
struct hyp {
    int n_ids;
    int32_t ids[MAX_IDS];
    float score;
    int has_logprobs;
    float logprobs[MAX_IDS];
    float scores[MAX_IDS];
};

struct result {
    int n;
    struct hyp h[MAX_HYPS];
};

struct gen_case {
    int32_t src[40];
    int n_src;
    struct tx_gen_params p;
};

static void copy_out(const struct tx_gen_out *o, int input, struct result *r)
{
    r->n = o->n_return;
    cr_assert_leq(r->n, MAX_HYPS);
    for (int j = 0; j < r->n; j++) {
        const struct tx_hypothesis *h = &o->hyps[input * o->n_return + j];
        struct hyp *c = &r->h[j];
        memset(c, 0, sizeof *c);
        cr_assert_leq(h->n_ids, MAX_IDS);
        c->n_ids = h->n_ids;
        c->score = h->score;
        if (h->n_ids) memcpy(c->ids, h->ids, (size_t)h->n_ids * sizeof(int32_t));
        int n_gen = h->n_ids > 0 ? h->n_ids - 1 : 0;
        if (h->token_scores) memcpy(c->scores, h->token_scores, (size_t)n_gen * sizeof(float));
        c->has_logprobs = h->token_logprobs != NULL;
        if (h->token_logprobs)
            memcpy(c->logprobs, h->token_logprobs, (size_t)n_gen * sizeof(float));
    }
}

/* memcmp of everything: ids, the score's bits, per-token log-probs and scores. */
static void assert_same(const struct result *a, const struct result *b, const char *what, int i)
{
    cr_assert_eq(a->n, b->n, "%s case %d: hypothesis count", what, i);
    for (int j = 0; j < a->n; j++) {
        const struct hyp *x = &a->h[j], *y = &b->h[j];
        cr_assert_eq(x->n_ids, y->n_ids, "%s case %d hyp %d: length %d vs %d alone", what, i, j,
                     x->n_ids, y->n_ids);
        cr_assert_eq(memcmp(x->ids, y->ids, (size_t)x->n_ids * 4), 0, "%s case %d hyp %d: ids",
                     what, i, j);
        cr_assert_eq(memcmp(&x->score, &y->score, 4), 0, "%s case %d hyp %d: score %.9g vs %.9g",
                     what, i, j, x->score, y->score);
        int n_gen = x->n_ids > 0 ? x->n_ids - 1 : 0;
        cr_assert_eq(memcmp(x->scores, y->scores, (size_t)n_gen * 4), 0,
                     "%s case %d hyp %d: token scores", what, i, j);
        cr_assert_eq(memcmp(x->logprobs, y->logprobs, (size_t)n_gen * 4), 0,
                     "%s case %d hyp %d: token log-probs", what, i, j);
    }
}

/* Cases of every kind over random sources: greedy, beam search (3 and 5 beams, 2 returned),
 * sampling (top-k, top-p, 2 and 3 samples), beam sampling; some with processors on. */
static int make_cases(const tx_model *m, struct gen_case *cs, uint64_t seed, int max_new)
{
    int vocab = tx_model_get_info(m)->vocab_size;
    struct tx_gen_params base = tx_model_gen_params(m);
    int n = 0;
    for (int i = 0; i < MAX_CASES; i++) {
        struct gen_case *c = &cs[n++];
        c->n_src = 3 + (int)(tu_rand_u64(&seed) % 30);
        for (int t = 0; t < c->n_src - 1; t++)
            c->src[t] = 5 + (int32_t)(tu_rand_u64(&seed) % (uint64_t)(vocab - 10));
        c->src[c->n_src - 1] = base.eos_token_id >= 0 ? base.eos_token_id : 1;
        struct tx_gen_params p = base;
        p.max_new_tokens = 4 + (int)(tu_rand_u64(&seed) % (uint64_t)max_new);
        p.min_length = 0;
        switch (i % 6) {
        case 0: /* greedy */
            p.num_beams = 1, p.do_sample = 0, p.num_return_sequences = 1;
            break;
        case 1: /* beam search */
            p.num_beams = 3, p.do_sample = 0, p.num_return_sequences = 1;
            break;
        case 2: /* sampling, top-k */
            p.num_beams = 1, p.do_sample = 1, p.top_k = 20, p.top_p = 1.0f;
            p.num_return_sequences = 2, p.seed = 1000 + (uint64_t)i;
            break;
        case 3: /* beam search, 2 returned, processors */
            p.num_beams = 4, p.do_sample = 0, p.num_return_sequences = 2;
            p.no_repeat_ngram_size = 2, p.repetition_penalty = 1.3f;
            break;
        case 4: /* sampling, top-p */
            p.num_beams = 1, p.do_sample = 1, p.top_k = 0, p.top_p = 0.9f;
            p.temperature = 0.8f, p.num_return_sequences = 3, p.seed = 7 + (uint64_t)i;
            break;
        default: /* beam sampling */
            p.num_beams = 2, p.do_sample = 1, p.top_k = 30, p.top_p = 1.0f;
            p.num_return_sequences = 1, p.seed = 99 + (uint64_t)i;
            break;
        }
        c->p = p;
    }
    return n;
}

/* Each case alone: tx_generate with that one input. */
static void run_alone(tx_session *s, const struct gen_case *cs, int n, struct result *out)
{
    for (int i = 0; i < n; i++) {
        struct tx_gen_out o;
        struct tx_error e = {0};
        const int32_t *src = cs[i].src;
        cr_assert_eq(tx_generate(s, &src, &cs[i].n_src, 1, &cs[i].p, &o, &e), TX_OK,
                     "alone case %d: %s", i, e.message);
        copy_out(&o, 0, &out[i]);
    }
}

/* The cases through one group of max_rows rows: at each step the next waiting case joins with
 * probability 1/2 when it fits (in order: nobody overtakes), finished ones are read and removed.
 * Returns the most rows a step ran. */
static int run_scheduled(tx_session *s, const struct gen_case *cs, int n, int max_rows,
                         int max_members, int max_length, uint64_t seed, struct result *out)
{
    struct tx_group_params gp = {.max_rows = max_rows,
                                 .max_member_rows = 4,
                                 .max_members = max_members,
                                 .max_length = max_length,
                                 .max_src_tokens = 200};
    tx_group *g;
    struct tx_error e = {0};
    cr_assert_eq(tx_group_new(s, &gp, &g, &e), TX_OK, "%s", e.message);
    uint64_t ids[MAX_CASES] = {0};
    int next = 0, done = 0, most = 0, steps = 0;
    while (done < n) {
        while (next < n && tx_group_fits(g, cs[next].n_src, &cs[next].p) &&
               (tu_rand_u64(&seed) & 1)) {
            cr_assert_eq(tx_group_add(g, cs[next].src, cs[next].n_src, &cs[next].p, &ids[next], &e),
                         TX_OK, "add %d: %s", next, e.message);
            next++;
        }
        int rows = 0;
        cr_assert_eq(tx_group_step(g, &rows, &e), TX_OK, "%s", e.message);
        if (rows > most) most = rows;
        cr_assert_lt(++steps, 10000, "the schedule does not end");
        for (int i = 0; i < next; i++) {
            if (!ids[i]) continue;
            tx_member_state ms = tx_group_state(g, ids[i], NULL);
            cr_assert_neq(ms, TX_MEMBER_FAILED, "case %d failed", i);
            if (ms != TX_MEMBER_DONE) continue;
            struct tx_gen_out o;
            cr_assert_eq(tx_group_result(g, ids[i], &o, &e), TX_OK, "%s", e.message);
            copy_out(&o, 0, &out[i]);
            tx_group_remove(g, ids[i]);
            cr_assert_eq(tx_group_state(g, ids[i], NULL), TX_MEMBER_NONE);
            ids[i] = 0;
            done++;
        }
    }
    tx_group_free(g);
    return most;
}

static void check_invariance(const char *dir, tx_dtype dtype, int max_rows, int max_members,
                             int max_new, int want_rows)
{
    tx_model *m = tu_load_model(dir, dtype);
    tx_session *s;
    struct tx_error e = {0};
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    struct gen_case cs[MAX_CASES];
    static struct result alone[MAX_CASES], sched[MAX_CASES];
    int n = make_cases(m, cs, 42, max_new);
    run_alone(s, cs, n, alone);
    for (uint64_t sd = 1; sd <= 3; sd++) {
        int most = run_scheduled(s, cs, n, max_rows, max_members, max_new + 4, sd * 7919, sched);
        cr_assert_geq(most, want_rows, "%s: a step ran only %d rows together", dir, most);
        for (int i = 0; i < n; i++)
            assert_same(&sched[i], &alone[i], dir, i);
    }
    tx_session_free(s);
    tx_model_free(m);
}

Test(group, members_joining_and_leaving_give_what_they_give_alone_on_the_tiny_models)
{
    const char *dirs[] = {"tests/fixtures/hf-tiny/marian", "tests/fixtures/hf-tiny/bart",
                          "tests/fixtures/hf-tiny/t5", "tests/fixtures/hf-tiny/marian-f16"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        check_invariance(dirs[i], TX_DTYPE_AUTO, 12, 6, 20, 6);
}

Test(group, members_give_what_they_give_alone_on_the_shipped_translator_past_16_rows)
{
    /* d_model 256: the row-panel kernel would take the 17+ row steps without rowwise */
    check_invariance("models/marian-en-de", TX_DTYPE_AUTO, 32, 12, 12, 17);
    check_invariance("models/marian-en-de", TX_DTYPE_INT8, 32, 12, 12, 17);
    check_invariance("models/marian-en-de", TX_DTYPE_W8A8, 32, 12, 12, 17);
}

/* The contract around the steps. */
static tx_model *cm;
static tx_session *cs_;

static void open_marian(void)
{
    cm = tu_load_model("tests/fixtures/hf-tiny/marian", TX_DTYPE_AUTO);
    struct tx_error e = {0};
    cr_assert_eq(tx_session_new(cm, 0, &cs_, &e), TX_OK, "%s", e.message);
}

static void close_marian(void)
{
    tx_session_free(cs_);
    tx_model_free(cm);
}

static const int32_t SRC[] = {12, 40, 77, 3, 91, 15, 0};

Test(group_api, rejects_bad_sizes_and_parameters_naming_them, .init = open_marian,
     .fini = close_marian)
{
    struct tx_error e = {0};
    tx_group *g;
    struct tx_group_params gp = {4, 8, 2, 20, 50};
    cr_assert_eq(tx_group_new(cs_, &gp, &g, &e), TX_ERR_INVALID);
    cr_assert(strstr(e.message, "max_member_rows"), "%s", e.message);
    gp = (struct tx_group_params){4, 2, 2, 20, 0};
    cr_assert_eq(tx_group_new(cs_, &gp, &g, &e), TX_ERR_INVALID);
    cr_assert(strstr(e.message, "max_src_tokens"), "%s", e.message);
    gp = (struct tx_group_params){4, 2, 2, 20, 50};
    cr_assert_eq(tx_group_new(cs_, &gp, &g, &e), TX_OK, "%s", e.message);
    struct tx_gen_params p = tx_model_gen_params(cm);
    p.num_beams = 0;
    uint64_t id = 0;
    cr_assert_eq(tx_group_add(g, SRC, 7, &p, &id, &e), TX_ERR_INVALID);
    cr_assert(strstr(e.message, "num_beams"), "%s", e.message);
    p = tx_model_gen_params(cm);
    p.max_new_tokens = 5;
    int32_t bad[] = {12, 4000, 0};
    cr_assert_eq(tx_group_add(g, bad, 3, &p, &id, &e), TX_ERR_INVALID);
    cr_assert(strstr(e.message, "input_ids[1] = 4000"), "%s", e.message);
    p.num_beams = 3; /* more rows than a member may have */
    cr_assert_eq(tx_group_fits(g, 7, &p), 0);
    cr_assert_eq(tx_group_add(g, SRC, 7, &p, &id, &e), TX_ERR_NOMEM);
    p.num_beams = 1;
    p.max_new_tokens = 40; /* longer than the group's max_length */
    cr_assert_eq(tx_group_add(g, SRC, 7, &p, &id, &e), TX_ERR_NOMEM);
    cr_assert(strstr(e.message, "max_length"), "%s", e.message);
    cr_assert_eq(id, 0, "failed adds write no id");
    tx_group_free(g);
}

Test(group_api, full_groups_refuse_and_removal_makes_room, .init = open_marian,
     .fini = close_marian)
{
    struct tx_error e = {0};
    tx_group *g;
    struct tx_group_params gp = {6, 2, 4, 20, 16};
    cr_assert_eq(tx_group_new(cs_, &gp, &g, &e), TX_OK, "%s", e.message);
    struct tx_gen_params p = tx_model_gen_params(cm);
    p.max_new_tokens = 10;
    p.num_beams = 2;
    p.num_return_sequences = 1;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    cr_assert_eq(tx_group_add(g, SRC, 7, &p, &a, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_group_add(g, SRC, 7, &p, &b, &e), TX_OK, "%s", e.message);
    cr_assert_neq(a, b);
    /* 4 of 6 rows and 14 of 16 source tokens taken */
    cr_assert_eq(tx_group_fits(g, 3, &p), 0, "no room for a 3-token source");
    cr_assert_eq(tx_group_add(g, SRC, 3, &p, &c, &e), TX_ERR_NOMEM);
    cr_assert(strstr(e.message, "full") && strstr(e.message, "source"), "%s", e.message);
    cr_assert(tx_group_fits(g, 2, &p));
    cr_assert_eq(tx_group_add(g, SRC + 5, 2, &p, &c, &e), TX_OK, "%s", e.message);
    struct tx_gen_params one = p;
    one.num_beams = 1;
    cr_assert_eq(tx_group_fits(g, 1, &one), 0, "no free row");
    cr_assert_eq(tx_group_state(g, a, NULL), TX_MEMBER_WAITING);
    int rows = 0, n_tok = -1;
    cr_assert_eq(tx_group_step(g, &rows, &e), TX_OK);
    cr_assert_eq(rows, 3, "the first step runs beam 0 of each member (its beams are one row)");
    cr_assert_eq(tx_group_state(g, a, &n_tok), TX_MEMBER_RUNNING);
    cr_assert_eq(n_tok, 1);
    struct tx_gen_out o;
    cr_assert_eq(tx_group_result(g, a, &o, &e), TX_ERR_INVALID, "not finished yet");
    tx_group_remove(g, a); /* cancelled while running: its rows and source room are free */
    cr_assert_eq(tx_group_state(g, a, NULL), TX_MEMBER_NONE);
    cr_assert_eq(tx_group_result(g, a, &o, &e), TX_ERR_INVALID);
    cr_assert(tx_group_fits(g, 7, &one));
    cr_assert_eq(tx_group_add(g, SRC, 7, &one, &d, &e), TX_OK, "%s", e.message);
    cr_assert(d != a && d != b && d != c, "ids are never reused");
    cr_assert_eq(tx_group_step(g, &rows, &e), TX_OK);
    cr_assert_eq(rows, 5, "b's and c's two beams and d's row");
    tx_group_remove(g, 12345); /* unknown: ignored */
    tx_group_free(g);
}

static int cancel_after(void *user)
{
    int *left = user;
    return --*left < 0;
}

Test(group_api, a_cancelled_member_fails_alone_and_tokens_stream, .init = open_marian,
     .fini = close_marian)
{
    struct tx_error e = {0};
    tx_group *g;
    struct tx_group_params gp = {4, 1, 2, 30, 32};
    cr_assert_eq(tx_group_new(cs_, &gp, &g, &e), TX_OK, "%s", e.message);
    struct tx_gen_params p = tx_model_gen_params(cm);
    p.max_new_tokens = 20;
    p.num_beams = 1;
    p.do_sample = 0;
    p.num_return_sequences = 1;
    p.min_length = 21; /* no eos: runs to its length */
    struct tx_gen_params q = p;
    int left = 3;
    q.cancel = cancel_after;
    q.cancel_user = &left;
    uint64_t a = 0, b = 0;
    cr_assert_eq(tx_group_add(g, SRC, 7, &p, &a, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_group_add(g, SRC, 7, &q, &b, &e), TX_OK, "%s", e.message);
    const int32_t *toks;
    int n_toks = 0, steps = 0;
    while (tx_group_state(g, a, NULL) == TX_MEMBER_WAITING ||
           tx_group_state(g, a, NULL) == TX_MEMBER_RUNNING) {
        cr_assert_eq(tx_group_step(g, NULL, &e), TX_OK);
        steps++;
        cr_assert_eq(tx_group_tokens(g, a, &toks, &n_toks, &e), TX_OK);
        cr_assert_eq(n_toks, steps + 1, "one token a step, after the start token");
        cr_assert_eq(toks[0], p.decoder_start_token_id);
    }
    cr_assert_eq(tx_group_state(g, b, NULL), TX_MEMBER_FAILED);
    struct tx_gen_out o;
    cr_assert_eq(tx_group_result(g, b, &o, &e), TX_ERR_CANCELLED);
    cr_assert(strstr(e.message, "cancelled after 4 tokens"), "%s", e.message);
    cr_assert_eq(tx_group_result(g, a, &o, &e), TX_OK, "%s", e.message);
    cr_assert_eq(o.n_inputs, 1);
    cr_assert_eq(o.hyps[0].n_ids, 21);
    cr_assert_eq(memcmp(o.hyps[0].ids, toks, 21 * sizeof(int32_t)), 0,
                 "the streamed tokens are the result's");
    tx_group_free(g);
}

/* ------------------------------------------------------------------ streaming cross-attention */

/* One capturing member's rows as they were read during the run. */
struct streamed {
    uint64_t id;
    int capture; /* 0: a member without capture running beside the others */
    void *buf;
    float *rows; /* (max_length, A) rows read so far */
    int n_read;
};

/* Row t of the teacher-forced cross-attention (n_dec_layers, n_heads, n_tgt, n_src) into out
 * (n_dec_layers, n_heads, n_src). */
static void forward_row(const struct tx_forward_out *f, int t, float *out)
{
    size_t S = (size_t)f->n_src, T = (size_t)f->n_tgt;
    for (int lh = 0; lh < f->n_dec_layers * f->n_heads; lh++)
        memcpy(out + (size_t)lh * S, f->cross_attentions + ((size_t)lh * T + (size_t)t) * S,
               S * sizeof(float));
}

/* The cases of make_cases that can capture (greedy, beam search, beam sampling) run in one
 * group, each capturing or not by turns; at every step each capturing member's newly ready rows
 * are read. Checks: the results are what the cases give alone (capture changes nothing); rows
 * once ready never change; every streamed row equals the teacher-forced tx_forward row of the
 * best hypothesis within 1e-5; greedy streams every row of its result. */
static void check_capture(const char *dir, int *beam_rows_running)
{
    tx_model *m = tu_load_model(dir, TX_DTYPE_AUTO);
    const struct tx_model_info *mi = tx_model_get_info(m);
    tx_session *s, *ref;
    struct tx_error e = {0};
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(m, 0, &ref, &e), TX_OK, "%s", e.message);
    struct gen_case all[MAX_CASES], cs[MAX_CASES];
    int n_all = make_cases(m, all, 4242, 16), n = 0;
    for (int i = 0; i < n_all; i++)
        if (all[i].p.num_beams > 1 || all[i].p.num_return_sequences == 1) cs[n++] = all[i];
    static struct result alone[MAX_CASES];
    run_alone(s, cs, n, alone);
    struct tx_group_params gp = {.max_rows = 32,
                                 .max_member_rows = 4,
                                 .max_members = MAX_CASES,
                                 .max_length = 24,
                                 .max_src_tokens = 400};
    tx_group *g;
    cr_assert_eq(tx_group_new(s, &gp, &g, &e), TX_OK, "%s", e.message);
    struct streamed st[MAX_CASES];
    size_t A = (size_t)mi->n_decoder_layers * (size_t)mi->n_heads;
    for (int i = 0; i < n; i++) {
        memset(&st[i], 0, sizeof st[i]);
        cr_assert_eq(tx_group_add(g, cs[i].src, cs[i].n_src, &cs[i].p, &st[i].id, &e), TX_OK,
                     "%s", e.message);
        st[i].capture = i % 3 != 2;
        if (!st[i].capture) {
            cr_assert_eq(tx_group_cross_ready(g, st[i].id), 0);
            continue;
        }
        size_t size = tx_group_capture_size(g, st[i].id);
        cr_assert_gt(size, 0);
        st[i].buf = malloc(size);
        st[i].rows = malloc((size_t)gp.max_length * A * (size_t)cs[i].n_src * sizeof(float));
        cr_assert(st[i].buf && st[i].rows);
        cr_assert_eq(tx_group_capture_cross(g, st[i].id, st[i].buf, size - 1, &e),
                     TX_ERR_INVALID, "a short buffer is refused");
        cr_assert_eq(tx_group_capture_cross(g, st[i].id, st[i].buf, size, &e), TX_OK, "%s",
                     e.message);
    }
    int done = 0, steps = 0;
    while (done < n) {
        cr_assert_eq(tx_group_step(g, NULL, &e), TX_OK, "%s", e.message);
        cr_assert_lt(++steps, 100);
        for (int i = 0; i < n; i++) {
            if (!st[i].id) continue;
            tx_member_state ms = tx_group_state(g, st[i].id, NULL);
            cr_assert_neq(ms, TX_MEMBER_FAILED, "case %d failed", i);
            if (st[i].capture) {
                int ready = tx_group_cross_ready(g, st[i].id);
                cr_assert_geq(ready, st[i].n_read, "case %d: rows ready went back", i);
                size_t w = A * (size_t)cs[i].n_src;
                cr_assert_eq(tx_group_cross_rows(g, st[i].id, st[i].n_read, ready - st[i].n_read,
                                                 st[i].rows + (size_t)st[i].n_read * w, &e),
                             TX_OK, "%s", e.message);
                cr_assert_eq(tx_group_cross_rows(g, st[i].id, 0, ready + 1, st[i].rows, &e),
                             TX_ERR_INVALID, "rows not ready are refused");
                /* rows once ready stay what they were */
                float *again = malloc((size_t)(ready ? ready : 1) * w * sizeof(float));
                cr_assert(again);
                cr_assert_eq(tx_group_cross_rows(g, st[i].id, 0, ready, again, &e), TX_OK);
                cr_assert_eq(memcmp(again, st[i].rows, (size_t)ready * w * sizeof(float)), 0,
                             "case %d: a ready row changed", i);
                free(again);
                st[i].n_read = ready;
                if (ms == TX_MEMBER_RUNNING && cs[i].p.num_beams > 1) *beam_rows_running += ready;
            }
            if (ms != TX_MEMBER_DONE) continue;
            struct tx_gen_out o;
            struct result got;
            cr_assert_eq(tx_group_result(g, st[i].id, &o, &e), TX_OK, "%s", e.message);
            copy_out(&o, 0, &got);
            assert_same(&got, &alone[i], dir, i);
            if (st[i].capture) {
                const struct tx_hypothesis *h = &o.hyps[0];
                int n_tgt = h->n_ids - 1;
                cr_assert_leq(st[i].n_read, n_tgt);
                if (cs[i].p.num_beams == 1)
                    cr_assert_eq(st[i].n_read, n_tgt, "greedy streams every row");
                if (n_tgt > 0) {
                    struct tx_forward_out f;
                    cr_assert_eq(tx_forward(ref, cs[i].src, cs[i].n_src, h->ids, n_tgt,
                                            TX_FORWARD_ATTENTIONS, &f, &e),
                                 TX_OK, "%s", e.message);
                    size_t w = A * (size_t)cs[i].n_src;
                    float *want = malloc(w * sizeof(float));
                    cr_assert(want);
                    for (int t = 0; t < st[i].n_read; t++) {
                        forward_row(&f, t, want);
                        for (size_t k = 0; k < w; k++)
                            cr_assert_float_eq(st[i].rows[(size_t)t * w + k], want[k], 1e-5,
                                               "%s case %d (beams %d) row %d [%zu]: %.9g vs "
                                               "%.9g teacher-forced",
                                               dir, i, cs[i].p.num_beams, t, k,
                                               st[i].rows[(size_t)t * w + k], want[k]);
                    }
                    free(want);
                }
            }
            tx_group_remove(g, st[i].id);
            cr_assert_eq(tx_group_cross_ready(g, st[i].id), 0);
            free(st[i].buf);
            free(st[i].rows);
            st[i].id = 0;
            done++;
        }
    }
    tx_group_free(g);
    tx_session_free(ref);
    tx_session_free(s);
    tx_model_free(m);
}

Test(group_capture, streamed_cross_attention_rows_equal_the_teacher_forced_maps)
{
    const char *dirs[] = {"tests/fixtures/hf-tiny/marian", "tests/fixtures/hf-tiny/bart",
                          "tests/fixtures/hf-tiny/t5", "tests/fixtures/rnn/gru-additive-uni",
                          "tests/fixtures/rnn/lstm-dot-feed", "models/marian-en-de"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        int beam_rows = 0;
        check_capture(dirs[i], &beam_rows);
        cr_assert_gt(beam_rows, 0, "%s: no beam search row was ready before the end", dirs[i]);
    }
}

Test(group_capture, refuses_started_members_and_several_samples, .init = open_marian,
     .fini = close_marian)
{
    struct tx_error e = {0};
    tx_group *g;
    struct tx_group_params gp = {8, 4, 4, 30, 64};
    cr_assert_eq(tx_group_new(cs_, &gp, &g, &e), TX_OK, "%s", e.message);
    struct tx_gen_params p = tx_model_gen_params(cm);
    p.max_new_tokens = 6;
    p.num_beams = 1;
    p.do_sample = 1;
    p.num_return_sequences = 2;
    uint64_t a = 0, b = 0;
    static float buf[1 << 16];
    cr_assert_eq(tx_group_add(g, SRC, 7, &p, &a, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_group_capture_cross(g, a, buf, sizeof buf, &e), TX_ERR_UNSUPPORTED);
    cr_assert(strstr(e.message, "2 sampled sequences"), "%s", e.message);
    p.do_sample = 0;
    p.num_return_sequences = 1;
    cr_assert_eq(tx_group_add(g, SRC, 7, &p, &b, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_group_step(g, NULL, &e), TX_OK);
    cr_assert_eq(tx_group_capture_cross(g, b, buf, sizeof buf, &e), TX_ERR_INVALID);
    cr_assert(strstr(e.message, "already started"), "%s", e.message);
    cr_assert_eq(tx_group_capture_cross(g, 12345, buf, sizeof buf, &e), TX_ERR_INVALID);
    cr_assert_eq(tx_group_capture_size(g, 12345), 0);
    cr_assert_eq(tx_group_cross_rows(g, b, 0, 0, buf, &e), TX_ERR_INVALID, "not capturing");
    tx_group_free(g);
}
