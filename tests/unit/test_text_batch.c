/* test_text_batch.c — continuous batching of text jobs (tx_text_batch_*): every job's result is
 * tx_text_generate's for it (texts, ids, scores bit for bit, tokens, attention maps) while jobs
 * of different parameters and sizes join and leave; FIFO order; parameters that do not fit the
 * batch are refused naming them; cancellation ends one job and leaves the others. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tx.h"

#define SHIPPED "models/marian-en-de"

static tx_model *model;
static tx_tokenizer *tok;
static tx_session *sess, *aux, *ref;

static void setup(void)
{
    struct tx_error e = {0};
    model = tu_load_model(SHIPPED, TX_DTYPE_AUTO);
    cr_assert_eq(tx_tokenizer_load(SHIPPED, &tok, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(model, 0, &sess, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(model, 0, &aux, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(model, 0, &ref, &e), TX_OK, "%s", e.message);
}

static void teardown(void)
{
    tx_session_free(sess);
    tx_session_free(aux);
    tx_session_free(ref);
    tx_tokenizer_free(tok);
    tx_model_free(model);
}

TestSuite(text_batch, .init = setup, .fini = teardown);

static const char *TEXTS[] = {
    "A man in an orange hat starring at something.",
    "A Boston Terrier is running on lush green grass in front of a white fence.",
    "A girl in karate uniform breaking a stick with a front kick. Five people are watching.",
    "People are fixing the roof of a house.",
    "A group of people stand in front of an igloo. Two dogs play in the snow! The end.",
    "A little girl climbing into a wooden playhouse.",
    "Two men are at the stove preparing food.",
    "A black dog and a spotted dog are fighting",
};
#define N_TEXTS ((int)(sizeof TEXTS / sizeof TEXTS[0]))

struct job {
    const char *texts[3];
    size_t lens[3];
    int n;
    struct tx_text_params p;
    struct tx_text_result *want;
    int taken;
    int cancel_after; /* > 0: the cancel callback asks to stop on its n-th call */
    int calls;
};

static int cancel_cb(void *user)
{
    struct job *j = user;
    return j->cancel_after > 0 && ++j->calls >= j->cancel_after;
}

/* Jobs of 1-3 texts with greedy, beam (2, 4, 1 of 3 returned), sampling, sentence splitting. */
static int make_jobs(struct job *jobs, int max)
{
    int n = 0;
    for (int i = 0; i < max; i++) {
        struct job *j = &jobs[n++];
        memset(j, 0, sizeof *j);
        j->n = 1 + i % 3;
        for (int k = 0; k < j->n; k++) {
            j->texts[k] = TEXTS[(i * 3 + k) % N_TEXTS];
            j->lens[k] = strlen(j->texts[k]);
        }
        j->p.gen = tx_model_gen_params(model);
        j->p.gen.max_new_tokens = 40;
        j->p.truncate = 1;
        j->p.split_sentences = i % 2;
        switch (i % 4) {
        case 0:
            j->p.gen.num_beams = 1;
            break;
        case 1:
            j->p.gen.num_beams = 4;
            j->p.gen.num_return_sequences = 2;
            j->p.want = TX_WANT_TOKENS;
            break;
        case 2:
            j->p.gen.num_beams = 1;
            j->p.gen.do_sample = 1;
            j->p.gen.num_return_sequences = 2;
            j->p.gen.seed = 11 + (uint64_t)i;
            j->p.gen.top_k = 10;
            break;
        default:
            j->p.gen.num_beams = 2;
            break;
        }
    }
    return n;
}

static void assert_same_result(const struct tx_text_result *a, const struct tx_text_result *b,
                               int job)
{
    cr_assert_eq(a->n_items, b->n_items, "job %d", job);
    for (int i = 0; i < a->n_items; i++) {
        const struct tx_text_item *x = &a->items[i], *y = &b->items[i];
        cr_assert_eq(x->n_alternatives, y->n_alternatives, "job %d item %d", job, i);
        cr_assert_eq(x->n_input_tokens, y->n_input_tokens);
        cr_assert_eq(x->n_output_tokens, y->n_output_tokens);
        for (int k = 0; k < x->n_alternatives; k++) {
            const struct tx_text_alternative *u = &x->alternatives[k], *v = &y->alternatives[k];
            cr_assert_str_eq(u->text, v->text, "job %d item %d alt %d", job, i, k);
            cr_assert_eq(u->n_ids, v->n_ids);
            cr_assert_eq(memcmp(u->ids, v->ids, (size_t)u->n_ids * 4), 0);
            cr_assert_eq(memcmp(&u->score, &v->score, 4), 0, "job %d: score %.9g vs %.9g", job,
                         u->score, v->score);
            cr_assert_eq(!u->tokens, !v->tokens);
            for (int t = 0; u->tokens && t < u->n_ids; t++)
                cr_assert_str_eq(u->tokens[t], v->tokens[t]);
        }
    }
}

Test(text_batch, jobs_joining_and_leaving_get_what_tx_text_generate_gives_them)
{
    static struct job jobs[10];
    int n = make_jobs(jobs, 10);
    struct tx_error e = {0};
    for (int i = 0; i < n; i++)
        cr_assert_eq(tx_text_generate(ref, tok, jobs[i].texts, jobs[i].lens, jobs[i].n,
                                      &jobs[i].p, &jobs[i].want, &e),
                     TX_OK, "job %d: %s", i, e.message);
    struct tx_group_params gp = {.max_rows = 12,
                                 .max_member_rows = 4,
                                 .max_members = 8,
                                 .max_length = 64,
                                 .max_src_tokens = 256};
    tx_text_batch *b;
    cr_assert_eq(tx_text_batch_new(sess, NULL, tok, &gp, &b, &e), TX_OK, "%s", e.message);
    int added = 0, taken = 0, steps = 0, order[10], most = 0;
    while (taken < n) {
        /* a new job whenever nothing waits for rows, or every third step */
        if (added < n && (tx_text_batch_waiting(b) == 0 || steps % 3 == 0)) {
            cr_assert_eq(tx_text_batch_add(b, jobs[added].texts, jobs[added].lens, jobs[added].n,
                                           &jobs[added].p, &jobs[added], &e),
                         TX_OK, "%s", e.message);
            added++;
        }
        int rows = 0;
        cr_assert_eq(tx_text_batch_step(b, &rows, &e), TX_OK, "%s", e.message);
        if (rows > most) most = rows;
        void *firsts[10];
        int nf = tx_text_batch_first_tokens(b, firsts, 10);
        for (int k = 0; k < nf; k++) {
            struct job *fj = firsts[k];
            cr_assert_eq(fj->calls, 0, "job %d's first tokens reported twice", (int)(fj - jobs));
            fj->calls = 1;
        }
        cr_assert_lt(++steps, 5000);
        void *user;
        struct tx_text_result *res;
        tx_status st;
        while (tx_text_batch_take(b, &user, &res, &st, &e)) {
            struct job *j = user;
            cr_assert_eq(st, TX_OK, "%s", e.message);
            assert_same_result(res, j->want, (int)(j - jobs));
            order[taken++] = (int)(j - jobs);
            tx_text_result_free(res);
        }
    }
    cr_assert_gt(most, 4, "jobs ran together (most rows in a step: %d)", most);
    for (int i = 0; i < n; i++)
        cr_assert_eq(jobs[i].calls, 1, "job %d's first tokens were reported", i);
    cr_assert_eq(tx_text_batch_jobs(b), 0);
    (void)order;
    tx_text_batch_free(b);
    for (int i = 0; i < n; i++)
        tx_text_result_free(jobs[i].want);
}

Test(text_batch, attention_jobs_use_the_second_session_and_match)
{
    struct job j;
    memset(&j, 0, sizeof j);
    j.texts[0] = TEXTS[0];
    j.lens[0] = strlen(TEXTS[0]);
    j.n = 1;
    j.p.gen = tx_model_gen_params(model);
    j.p.gen.max_new_tokens = 30;
    j.p.truncate = 1;
    j.p.want = TX_WANT_TOKENS | TX_WANT_ATTENTION;
    struct tx_error e = {0};
    struct tx_text_result *want;
    cr_assert_eq(tx_text_generate(ref, tok, j.texts, j.lens, 1, &j.p, &want, &e), TX_OK);
    struct tx_group_params gp = {8, 4, 4, 64, 128};
    tx_text_batch *b;
    cr_assert_eq(tx_text_batch_new(sess, NULL, tok, &gp, &b, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_text_batch_add(b, j.texts, j.lens, 1, &j.p, &j, &e), TX_ERR_UNSUPPORTED);
    tx_text_batch_free(b);
    cr_assert_eq(tx_text_batch_new(sess, aux, tok, &gp, &b, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_text_batch_add(b, j.texts, j.lens, 1, &j.p, &j, &e), TX_OK, "%s", e.message);
    void *user;
    struct tx_text_result *res = NULL;
    tx_status st;
    int steps = 0;
    while (!tx_text_batch_take(b, &user, &res, &st, &e)) {
        cr_assert_eq(tx_text_batch_step(b, NULL, &e), TX_OK);
        cr_assert_lt(++steps, 100);
    }
    cr_assert_eq(st, TX_OK, "%s", e.message);
    assert_same_result(res, want, 0);
    const struct tx_attention_maps *x = res->items[0].attention, *y = want->items[0].attention;
    cr_assert(x && y);
    cr_assert_eq(x->n_tgt, y->n_tgt);
    size_t nc = (size_t)x->n_dec_layers * x->n_heads * x->n_tgt * x->n_src;
    cr_assert_eq(memcmp(x->cross, y->cross, nc * sizeof(float)), 0);
    tx_text_result_free(res);
    tx_text_result_free(want);
    tx_text_batch_free(b);
}

Test(text_batch, refuses_what_does_not_fit_and_cancels_one_job_alone)
{
    struct tx_group_params gp = {8, 2, 4, 32, 64};
    struct tx_error e = {0};
    tx_text_batch *b;
    cr_assert_eq(tx_text_batch_new(sess, NULL, tok, &gp, &b, &e), TX_OK, "%s", e.message);
    static struct job a, c;
    memset(&a, 0, sizeof a);
    a.texts[0] = TEXTS[1];
    a.lens[0] = strlen(TEXTS[1]);
    a.n = 1;
    a.p.gen = tx_model_gen_params(model); /* 4 beams: more than 2 rows a member */
    a.p.truncate = 1;
    a.p.gen.max_new_tokens = 20;
    cr_assert_eq(tx_text_batch_add(b, a.texts, a.lens, 1, &a.p, &a, &e), TX_ERR_INVALID);
    cr_assert(strstr(e.message, "4 decoding rows"), "%s", e.message);
    a.p.gen.num_beams = 2;
    a.p.gen.max_new_tokens = 100;
    cr_assert_eq(tx_text_batch_add(b, a.texts, a.lens, 1, &a.p, &a, &e), TX_ERR_INVALID);
    cr_assert(strstr(e.message, "max_length = 101"), "%s", e.message);
    a.p.gen.max_new_tokens = 30;
    a.p.gen.min_length = 31; /* runs its whole length */
    a.p.gen.cancel = cancel_cb;
    a.p.gen.cancel_user = &a;
    a.cancel_after = 3;
    c = a;
    c.p.gen.cancel_user = &c;
    c.cancel_after = 0;
    cr_assert_eq(tx_text_batch_add(b, a.texts, a.lens, 1, &a.p, &a, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_text_batch_add(b, c.texts, c.lens, 1, &c.p, &c, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_text_batch_jobs(b), 2);
    int steps = 0, got_a = 0, got_c = 0;
    while (!(got_a && got_c)) {
        cr_assert_eq(tx_text_batch_step(b, NULL, &e), TX_OK);
        cr_assert_lt(++steps, 100);
        void *user;
        struct tx_text_result *res;
        tx_status st;
        struct tx_error je = {0};
        while (tx_text_batch_take(b, &user, &res, &st, &je)) {
            if (user == &a) {
                cr_assert_eq(st, TX_ERR_CANCELLED, "%s", je.message);
                cr_assert_null(res);
                cr_assert_eq(steps, 3, "cancelled at its third step");
                got_a = 1;
            } else {
                cr_assert_eq(user, &c);
                cr_assert_eq(st, TX_OK, "%s", je.message);
                cr_assert_eq(res->items[0].n_output_tokens, 30);
                tx_text_result_free(res);
                got_c = 1;
            }
        }
    }
    tx_text_batch_free(b);
}

/* Streaming: after every step each running job's partial text (tx_text_batch_partial) holds at
 * least as many tokens as before (greedy: one more per step) and is a prefix of its final text,
 * for beam search too (the beams' common prefix); the sentences of a split text appear in order,
 * joined by the input's whitespace. */
Test(text_batch, partial_texts_grow_into_the_final_text)
{
    struct tx_group_params gp = {.max_rows = 8, .max_member_rows = 4, .max_members = 8,
                                 .max_length = 64, .max_src_tokens = 512};
    tx_text_batch *b;
    struct tx_error e = {0};
    cr_assert_eq(tx_text_batch_new(sess, NULL, tok, &gp, &b, &e), TX_OK, "%s", e.message);
    struct tx_text_params p[3];
    /* one sentence, greedy; three sentences, split, greedy; one sentence, 4 beams */
    const char *texts[3] = {TEXTS[1], TEXTS[4], TEXTS[2]};
    size_t lens[3] = {strlen(TEXTS[1]), strlen(TEXTS[4]), strlen(TEXTS[2])};
    int tag[3] = {0, 1, 2};
    for (int k = 0; k < 3; k++) {
        p[k].gen = tx_model_gen_params(model);
        p[k].gen.num_beams = k == 2 ? 4 : 1;
        p[k].gen.max_new_tokens = 40;
        p[k].prefix = NULL;
        p[k].max_input_tokens = 0;
        p[k].truncate = 1;
        p[k].split_sentences = k == 1;
        p[k].want = 0;
        cr_assert_eq(tx_text_batch_add(b, &texts[k], &lens[k], 1, &p[k], &tag[k], &e), TX_OK,
                     "%s", e.message);
    }
    char *seen[3][64] = {{0}};
    int n_seen[3] = {0, 0, 0}, last_tokens[3] = {0, 0, 0};
    struct tx_text_result *final[3] = {0};
    for (int step = 0; step < 200 && (!final[0] || !final[1] || !final[2]); step++) {
        cr_assert_eq(tx_text_batch_step(b, NULL, &e), TX_OK, "%s", e.message);
        void *users[4];
        int n = tx_text_batch_users(b, users, 4);
        for (int u = 0; u < n; u++) {
            int k = *(int *)users[u];
            char *t;
            int nt;
            cr_assert_eq(tx_text_batch_partial(b, users[u], 0, &t, &nt, &e), TX_OK, "%s",
                         e.message);
            cr_assert_geq(nt, last_tokens[k], "job %d: tokens never go back", k);
            if (k == 0) cr_assert_eq(nt, last_tokens[k] + 1, "one token per step");
            last_tokens[k] = nt;
            cr_assert_lt(n_seen[k], 64);
            seen[k][n_seen[k]++] = t;
        }
        void *user;
        struct tx_text_result *res;
        tx_status st;
        while (tx_text_batch_take(b, &user, &res, &st, &e)) {
            cr_assert_eq(st, TX_OK, "%s", e.message);
            final[*(int *)user] = res;
        }
    }
    char *t;
    cr_assert_eq(tx_text_batch_partial(b, &tag[0], 0, &t, NULL, &e), TX_ERR_INVALID);
    for (int k = 0; k < 3; k++) {
        cr_assert_not_null(final[k], "job %d ended", k);
        const char *want = final[k]->items[0].alternatives[0].text;
        cr_assert_gt(n_seen[k], 3, "job %d: %d partial texts", k, n_seen[k]);
        for (int i = 0; i < n_seen[k]; i++) {
            cr_assert_eq(strncmp(seen[k][i], want, strlen(seen[k][i])), 0,
                         "job %d step %d: \"%s\" is not a prefix of \"%s\"", k, i, seen[k][i], want);
            free(seen[k][i]);
        }
        tx_text_result_free(final[k]);
    }
    tx_text_batch_free(b);
}

/* Streaming attention: jobs with TX_WANT_STEP_ATTENTION (greedy, and 4 beams) read their ready
 * cross-attention rows after every step (tx_text_batch_partial_attention, _attention_rows):
 * the count never goes back, the tokens are the final output's, and every row equals row t of
 * the final result's teacher-forced maps within 1e-5; a job without the flag, and one whose
 * capture would exceed step_attention_max_bytes, report 0 rows and end with their maps. */
Test(text_batch, streamed_attention_rows_equal_the_final_maps)
{
    struct tx_group_params gp = {.max_rows = 8, .max_member_rows = 4, .max_members = 8,
                                 .max_length = 64, .max_src_tokens = 512};
    tx_text_batch *b;
    struct tx_error e = {0};
    cr_assert_eq(tx_text_batch_new(sess, aux, tok, &gp, &b, &e), TX_OK, "%s", e.message);
    struct tx_text_params p[4];
    const char *texts[4] = {TEXTS[1], TEXTS[2], TEXTS[3], TEXTS[5]};
    size_t lens[4] = {strlen(TEXTS[1]), strlen(TEXTS[2]), strlen(TEXTS[3]), strlen(TEXTS[5])};
    int tag[4] = {0, 1, 2, 3};
    memset(p, 0, sizeof p);
    for (int k = 0; k < 4; k++) {
        p[k].gen = tx_model_gen_params(model);
        p[k].gen.num_beams = k == 1 ? 4 : 1;
        p[k].gen.max_new_tokens = 40;
        p[k].prefix = NULL;
        p[k].max_input_tokens = 0;
        p[k].truncate = 1;
        p[k].split_sentences = 0;
        p[k].want = TX_WANT_TOKENS | TX_WANT_ATTENTION | (k != 2 ? TX_WANT_STEP_ATTENTION : 0);
        p[k].step_attention_max_bytes = k == 3 ? 1000 : 0; /* job 3: too little to capture */
        cr_assert_eq(tx_text_batch_add(b, &texts[k], &lens[k], 1, &p[k], &tag[k], &e), TX_OK,
                     "%s", e.message);
    }
    const struct tx_model_info *mi = tx_model_get_info(model);
    size_t LH = (size_t)mi->n_decoder_layers * (size_t)mi->n_heads;
    float *rows[2] = {malloc(64 * LH * 512 * sizeof(float)), malloc(64 * LH * 512 * sizeof(float))};
    int32_t toks[2][64];
    static int32_t src_seen[2][512];
    int n_read[2] = {0, 0}, n_src[2] = {0, 0}, running_rows[2] = {0, 0};
    cr_assert(rows[0] && rows[1]);
    struct tx_text_result *final[4] = {0};
    for (int step = 0; step < 200 && (!final[0] || !final[1] || !final[2] || !final[3]); step++) {
        cr_assert_eq(tx_text_batch_step(b, NULL, &e), TX_OK, "%s", e.message);
        void *users[4];
        int n = tx_text_batch_users(b, users, 4);
        for (int u = 0; u < n; u++) {
            int k = *(int *)users[u], ready, ns;
            const int32_t *src_ids = NULL;
            cr_assert_eq(tx_text_batch_partial_attention(b, users[u], 0, &ready, &src_ids, &ns, &e),
                         TX_OK, "%s", e.message);
            cr_assert_not_null(src_ids);
            if (k >= 2) {
                cr_assert_eq(ready, 0, "job %d: no capture", k);
                cr_assert_eq(tx_text_batch_attention_rows(b, users[u], 0, 0, 1, rows[0], NULL, &e),
                             TX_ERR_INVALID);
                continue;
            }
            cr_assert_geq(ready, n_read[k], "job %d: rows never go back", k);
            n_src[k] = ns;
            cr_assert_leq(ns, 512);
            memcpy(src_seen[k], src_ids, (size_t)ns * sizeof(int32_t));
            size_t w = LH * (size_t)ns;
            cr_assert_leq(ready, 64);
            cr_assert_eq(tx_text_batch_attention_rows(b, users[u], 0, n_read[k], ready - n_read[k],
                                                      rows[k] + (size_t)n_read[k] * w,
                                                      toks[k] + n_read[k], &e),
                         TX_OK, "%s", e.message);
            cr_assert_eq(tx_text_batch_attention_rows(b, users[u], 0, 0, ready + 1, rows[k],
                                                      NULL, &e),
                         TX_ERR_INVALID);
            n_read[k] = ready;
            running_rows[k] = ready;
        }
        void *user;
        struct tx_text_result *res;
        tx_status st;
        while (tx_text_batch_take(b, &user, &res, &st, &e)) {
            cr_assert_eq(st, TX_OK, "%s", e.message);
            final[*(int *)user] = res;
        }
    }
    int ready;
    cr_assert_eq(tx_text_batch_partial_attention(b, &tag[0], 0, &ready, NULL, NULL, &e),
                 TX_ERR_INVALID,
                 "an ended job has no partial attention");
    for (int k = 0; k < 4; k++) {
        cr_assert_not_null(final[k], "job %d ended", k);
        const struct tx_text_item *it = &final[k]->items[0];
        const struct tx_attention_maps *am = it->attention;
        cr_assert_not_null(am);
        if (k >= 2) continue;
        cr_assert_gt(running_rows[k], 3, "job %d: %d rows streamed", k, running_rows[k]);
        cr_assert_eq(am->n_src, n_src[k]);
        cr_assert_eq(it->n_source_tokens, n_src[k]);
        for (int t = 0; t < n_src[k]; t++)
            cr_assert_eq(src_seen[k][t], it->source_ids[t], "job %d source id %d", k, t);
        cr_assert_leq(n_read[k], am->n_tgt);
        size_t S = (size_t)am->n_src, T = (size_t)am->n_tgt;
        for (int t = 0; t < n_read[k]; t++) {
            cr_assert_eq(toks[k][t], it->alternatives[0].ids[t], "job %d row %d: token", k, t);
            for (size_t lh = 0; lh < LH; lh++)
                for (size_t s = 0; s < S; s++)
                    cr_assert_float_eq(rows[k][((size_t)t * LH + lh) * S + s],
                                       am->cross[(lh * T + (size_t)t) * S + s], 1e-5,
                                       "job %d row %d [%zu][%zu]", k, t, lh, s);
        }
    }
    for (int k = 0; k < 4; k++)
        tx_text_result_free(final[k]);
    free(rows[0]);
    free(rows[1]);
    tx_text_batch_free(b);
}
