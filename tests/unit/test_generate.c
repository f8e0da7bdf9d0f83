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

static void fx_open(struct fx *f, const char *dir)
{
    struct tx_error e = {0};
    cr_assert_eq(tx_model_load(dir, &f->m, &e), TX_OK, "%s: %s", dir, e.message);
    cr_assert_eq(tx_session_new(f->m, 0, &f->s, &e), TX_OK, "%s", e.message);
    f->root = fx_load_cases(dir);
}

static void fx_close(struct fx *f)
{
    json_decref(f->root);
    tx_session_free(f->s);
    tx_model_free(f->m);
}

/* generate() arguments of a mode from cases.json ("generate_args"), over the checkpoint's
 * generation config, as transformers merges them. */
static struct tx_gen_params args(const tx_model *m, const json_t *root, const char *mode)
{
    struct tx_gen_params p = tx_model_gen_params(m);
    const json_t *ga = json_object_get(json_object_get(root, "generate_args"), mode);
    cr_assert_not_null(ga, "no generate_args for %s", mode);
    if (json_object_get(ga, "args")) ga = json_object_get(ga, "args");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)ga, key, v)
    {
        if (!strcmp(key, "max_new_tokens"))
            p.max_new_tokens = (int)json_integer_value(v);
        else if (!strcmp(key, "num_beams"))
            p.num_beams = (int)json_integer_value(v);
        else if (!strcmp(key, "num_return_sequences"))
            p.num_return_sequences = (int)json_integer_value(v);
        else if (!strcmp(key, "do_sample"))
            p.do_sample = json_is_true(v);
        else if (!strcmp(key, "length_penalty"))
            p.length_penalty = (float)json_number_value(v);
        else if (!strcmp(key, "repetition_penalty"))
            p.repetition_penalty = (float)json_number_value(v);
        else if (!strcmp(key, "no_repeat_ngram_size"))
            p.no_repeat_ngram_size = (int)json_integer_value(v);
        else if (!strcmp(key, "min_length"))
            p.min_length = (int)json_integer_value(v);
        else if (!strcmp(key, "early_stopping"))
            p.early_stopping = json_is_string(v) ? 2 : json_is_true(v);
        else if (!strcmp(key, "bad_words_ids")) {
            p.n_bad_words = (int)json_array_size(v);
            for (int w = 0; w < p.n_bad_words; w++) {
                const json_t *bw = json_array_get(v, (size_t)w);
                p.bad_words_len[w] = (int)json_array_size(bw);
                for (int j = 0; j < p.bad_words_len[w]; j++)
                    p.bad_words[w][j] = (int32_t)json_integer_value(json_array_get(bw, (size_t)j));
            }
        } else
            cr_assert(!strcmp(key, "output_scores") || !strcmp(key, "return_dict_in_generate"),
                      "generate argument %s not handled by the test", key);
    }
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
    cr_assert_eq(memcmp(h->ids, w, (size_t)n * sizeof *w), 0, "%s: got [%s], want [%s]", what, got,
                 exp);
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
    for (size_t i = 0; i < n; i++)
        sum += want[i];
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

/* Every case of a fixture folder generated with `mode`'s arguments, against its results. */
static void run_cases(const char *dir, const char *mode)
{
    const char *model = strrchr(dir, '/') + 1;
    struct fx f;
    fx_open(&f, dir);
    struct tx_gen_params p = args(f.m, f.root, mode);
    int beam = p.num_beams > 1;
    const json_t *cases = json_object_get(f.root, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        char what[128];
        snprintf(what, sizeof what, "%s/%s %s", model,
                 json_string_value(json_object_get(c, "name")), mode);
        int n;
        int32_t *src = fx_ints(json_object_get(c, "input_ids"), &n);
        const int32_t *srcs[1] = {src};
        struct tx_gen_out o;
        struct tx_error e = {0};
        cr_assert_eq(tx_generate(f.s, srcs, &n, 1, &p, &o, &e), TX_OK, "%s: %s", what, e.message);
        cr_assert_eq(o.n_inputs, 1);
        cr_assert_eq(o.n_return, p.num_return_sequences);
        if (beam)
            check_beam(o.hyps, o.n_return, json_object_get(c, mode), what);
        else
            check_greedy(&o.hyps[0], json_object_get(c, mode), what);
        free(src);
    }
    fx_close(&f);
}

/* The padded batch, decoded together: every row must give the fixture's (= alone) result. */
static void run_batch(const char *model, int beam)
{
    struct fx f;
    char dir[256];
    snprintf(dir, sizeof dir, FIXTURE_DIR "/%s", model);
    fx_open(&f, dir);
    struct tx_gen_params p = args(f.m, f.root, beam ? "beam" : "greedy");
    const json_t *b = json_object_get(f.root, "batch");
    const json_t *ids = json_object_get(b, "input_ids"),
                 *mask = json_object_get(b, "attention_mask");
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
        for (int i = 0; i < nm; i++)
            lens[r] += m[i];
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
    for (int r = 0; r < n_rows; r++)
        free(owned[r]);
    fx_close(&f);
}

Test(greedy, marian_matches_transformers)
{
    run_cases(FIXTURE_DIR "/marian", "greedy");
}
Test(greedy, marian_f16_matches_transformers)
{
    run_cases(FIXTURE_DIR "/marian-f16", "greedy");
}
Test(greedy, bart_matches_transformers_with_min_length_ngram_and_forced_tokens)
{
    run_cases(FIXTURE_DIR "/bart", "greedy");
}
Test(greedy, t5_matches_transformers)
{
    run_cases(FIXTURE_DIR "/t5", "greedy");
}

Test(beam, marian_returns_all_four_hypotheses_and_scores)
{
    run_cases(FIXTURE_DIR "/marian", "beam");
}
Test(beam, marian_f16_returns_all_four_hypotheses_and_scores)
{
    run_cases(FIXTURE_DIR "/marian-f16", "beam");
}
Test(beam, bart_with_length_penalty_2_and_early_stopping)
{
    run_cases(FIXTURE_DIR "/bart", "beam");
}
Test(beam, t5_scores_beams_that_run_out_of_length_with_their_full_length)
{
    run_cases(FIXTURE_DIR "/t5", "beam");
}

/* Architecture variants (tests/fixtures/variants, made with transformers 4.35.2). */
static const char *const variants[] = {VARIANTS_DIR "/mbart", VARIANTS_DIR "/t5-gated",
                                       VARIANTS_DIR "/marian-sep", VARIANTS_DIR "/marian-6-3",
                                       VARIANTS_DIR "/t5-4-2"};
#define N_VARIANTS (int)(sizeof variants / sizeof variants[0])

Test(variants, greedy_matches_transformers)
{
    for (int i = 0; i < N_VARIANTS; i++)
        run_cases(variants[i], "greedy");
}
Test(variants, greedy_with_repetition_penalty_ngram_bad_words_and_min_length_matches)
{
    for (int i = 0; i < N_VARIANTS; i++)
        run_cases(variants[i], "greedy_penalised");
}
Test(variants, beam_with_length_penalty_matches_transformers)
{
    for (int i = 0; i < N_VARIANTS; i++)
        run_cases(variants[i], "beam");
}
Test(variants, beam_with_early_stopping_never_matches_transformers)
{
    for (int i = 0; i < N_VARIANTS; i++)
        run_cases(variants[i], "beam_never");
}

Test(batch, marian_greedy_rows_equal_their_single_results)
{
    run_batch("marian", 0);
}
Test(batch, marian_f16_greedy_rows_equal_their_single_results)
{
    run_batch("marian-f16", 0);
}
Test(batch, bart_greedy_rows_equal_their_single_results)
{
    run_batch("bart", 0);
}
Test(batch, t5_greedy_rows_equal_their_single_results)
{
    run_batch("t5", 0);
}
Test(batch, marian_beam_rows_equal_their_single_results)
{
    run_batch("marian", 1);
}
Test(batch, marian_f16_beam_rows_equal_their_single_results)
{
    run_batch("marian-f16", 1);
}
Test(batch, bart_beam_rows_equal_their_single_results)
{
    run_batch("bart", 1);
}
Test(batch, t5_beam_rows_equal_their_single_results)
{
    run_batch("t5", 1);
}
