/* test_generate.c — generation against transformers 4.35.2 (hf-tiny fixtures): greedy and beam
 * token ids exactly (all 4 returned beams), per-step log-probs and beam scores within 1e-4, and
 * a padded batch whose rows equal what each gives alone. */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture_cases.h"
#include "tx.h"

#define TOL 1e-4

struct fx {
    tx_model *m;
    tx_session *s;
    json_t *root;
};

static void fx_open(struct fx *f, const char *model)
{
    char dir[256];
    snprintf(dir, sizeof dir, FIXTURE_DIR "/%s", model);
    struct tx_error e = {0};
    cr_assert_eq(tx_model_load(dir, &f->m, &e), TX_OK, "%s: %s", dir, e.message);
    cr_assert_eq(tx_session_new(f->m, 0, &f->s, &e), TX_OK, "%s", e.message);
    f->root = fx_load_cases(model);
}

static void fx_close(struct fx *f)
{
    json_decref(f->root);
    tx_session_free(f->s);
    tx_model_free(f->m);
}

/* The fixtures' generate() arguments over the checkpoint's generation config. */
static struct tx_gen_params args(const tx_model *m, int beam)
{
    struct tx_gen_params p = tx_model_gen_params(m);
    p.max_new_tokens = 20;
    p.do_sample = 0;
    p.num_beams = beam ? 4 : 1;
    p.num_return_sequences = beam ? 4 : 1;
    return p;
}

static void assert_ids(const struct tx_hypothesis *h, const json_t *want, const char *what)
{
    int n;
    int32_t *w = fx_ints(want, &n);
    char got[512] = "", exp[512] = "";
    for (int i = 0; i < h->n_ids; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%d ", (int)h->ids[i]);
    for (int i = 0; i < n; i++)
        snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%d ", (int)w[i]);
    cr_assert_eq(h->n_ids, n, "%s: got [%s], want [%s]", what, got, exp);
    cr_assert_eq(memcmp(h->ids, w, (size_t)n * sizeof *w), 0, "%s: got [%s], want [%s]", what,
                 got, exp);
    free(w);
}

static void check_greedy(const struct tx_hypothesis *h, const json_t *g, const char *what)
{
    assert_ids(h, json_object_get(g, "sequence"), what);
    size_t n;
    double *want = fx_numbers(json_object_get(g, "logprobs"), &n);
    cr_assert_eq(n, (size_t)h->n_ids - 1);
    char w[160];
    snprintf(w, sizeof w, "%s logprobs", what);
    fx_assert_close(h->token_logprobs, want, n, TOL, w);
    free(want);
    want = fx_numbers(json_object_get(g, "logprobs_after_processors"), &n);
    snprintf(w, sizeof w, "%s logprobs_after_processors", what);
    fx_assert_close(h->token_scores, want, n, TOL, w);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += want[i];
    cr_assert(fabs(h->score - sum) <= 1e-3, "%s: score %g, sum of processed log-probs %g", what,
              (double)h->score, sum);
    free(want);
}

static void check_beam(const struct tx_hypothesis *hyps, int n_ret, const json_t *bm,
                       const char *what)
{
    const json_t *seqs = json_object_get(bm, "sequences");
    cr_assert_eq(json_array_size(seqs), (size_t)n_ret);
    size_t n;
    double *scores = fx_numbers(json_object_get(bm, "sequences_scores"), &n);
    cr_assert_eq(n, (size_t)n_ret);
    for (int j = 0; j < n_ret; j++) {
        char w[160];
        snprintf(w, sizeof w, "%s beam %d", what, j);
        assert_ids(&hyps[j], json_array_get(seqs, (size_t)j), w);
        cr_assert(fabs(hyps[j].score - scores[j]) <= TOL, "%s: score %.7g, want %.7g", w,
                  (double)hyps[j].score, scores[j]);
    }
    free(scores);
    assert_ids(&hyps[0], json_object_get(bm, "sequence"), what);
    double best = json_number_value(json_object_get(bm, "sequence_score"));
    cr_assert(fabs(hyps[0].score - best) <= TOL);
}

static void run_cases(const char *model, int beam)
{
    struct fx f;
    fx_open(&f, model);
    struct tx_gen_params p = args(f.m, beam);
    const json_t *cases = json_object_get(f.root, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        char what[128];
        snprintf(what, sizeof what, "%s/%s %s", model,
                 json_string_value(json_object_get(c, "name")), beam ? "beam" : "greedy");
        int n;
        int32_t *src = fx_ints(json_object_get(c, "input_ids"), &n);
        const int32_t *srcs[1] = {src};
        struct tx_gen_out o;
        struct tx_error e = {0};
        cr_assert_eq(tx_generate(f.s, srcs, &n, 1, &p, &o, &e), TX_OK, "%s: %s", what,
                     e.message);
        cr_assert_eq(o.n_inputs, 1);
        cr_assert_eq(o.n_return, beam ? 4 : 1);
        if (beam)
            check_beam(o.hyps, 4, json_object_get(c, "beam"), what);
        else
            check_greedy(&o.hyps[0], json_object_get(c, "greedy"), what);
        free(src);
    }
    fx_close(&f);
}

/* The padded batch, decoded together: every row must give the fixture's (= alone) result. */
static void run_batch(const char *model, int beam)
{
    struct fx f;
    fx_open(&f, model);
    struct tx_gen_params p = args(f.m, beam);
    const json_t *b = json_object_get(f.root, "batch");
    const json_t *ids = json_object_get(b, "input_ids"), *mask = json_object_get(b, "attention_mask");
    int n_rows = (int)json_array_size(ids);
    const int32_t *rows[4];
    int32_t *owned[4];
    int lens[4];
    cr_assert(n_rows >= 2 && n_rows <= 4);
    for (int r = 0; r < n_rows; r++) {
        int n, nm;
        owned[r] = fx_ints(json_array_get(ids, r), &n);
        int32_t *m = fx_ints(json_array_get(mask, r), &nm);
        lens[r] = 0;
        for (int i = 0; i < nm; i++) lens[r] += m[i];
        free(m);
        rows[r] = owned[r];
    }
    struct tx_gen_out o;
    struct tx_error e = {0};
    cr_assert_eq(tx_generate(f.s, rows, lens, n_rows, &p, &o, &e), TX_OK, "%s", e.message);
    cr_assert_eq(o.n_inputs, n_rows);
    const json_t *want = json_object_get(b, beam ? "beam" : "greedy");
    for (int r = 0; r < n_rows; r++) {
        char what[128];
        snprintf(what, sizeof what, "%s batch row %d %s", model, r, beam ? "beam" : "greedy");
        if (beam)
            check_beam(o.hyps + r * o.n_return, 4, json_array_get(want, (size_t)r), what);
        else
            check_greedy(&o.hyps[r], json_array_get(want, (size_t)r), what);
    }
    for (int r = 0; r < n_rows; r++) free(owned[r]);
    fx_close(&f);
}

Test(greedy, marian_matches_transformers) { run_cases("marian", 0); }
Test(greedy, marian_f16_matches_transformers) { run_cases("marian-f16", 0); }
Test(greedy, bart_matches_transformers_with_min_length_ngram_and_forced_tokens)
{
    run_cases("bart", 0);
}
Test(greedy, t5_matches_transformers) { run_cases("t5", 0); }

Test(beam, marian_returns_all_four_hypotheses_and_scores) { run_cases("marian", 1); }
Test(beam, marian_f16_returns_all_four_hypotheses_and_scores) { run_cases("marian-f16", 1); }
Test(beam, bart_with_length_penalty_2_and_early_stopping) { run_cases("bart", 1); }
Test(beam, t5_scores_beams_that_run_out_of_length_with_their_full_length)
{
    run_cases("t5", 1);
}

Test(batch, marian_greedy_rows_equal_their_single_results) { run_batch("marian", 0); }
Test(batch, marian_f16_greedy_rows_equal_their_single_results) { run_batch("marian-f16", 0); }
Test(batch, bart_greedy_rows_equal_their_single_results) { run_batch("bart", 0); }
Test(batch, t5_greedy_rows_equal_their_single_results) { run_batch("t5", 0); }
Test(batch, marian_beam_rows_equal_their_single_results) { run_batch("marian", 1); }
Test(batch, marian_f16_beam_rows_equal_their_single_results) { run_batch("marian-f16", 1); }
Test(batch, bart_beam_rows_equal_their_single_results) { run_batch("bart", 1); }
Test(batch, t5_beam_rows_equal_their_single_results) { run_batch("t5", 1); }
