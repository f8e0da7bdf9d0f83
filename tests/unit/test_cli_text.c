/* test_cli_text.c — attnserve-cli translate / summarize end to end, text in and text out, against
 * transformers 4.35.2 (tests/fixtures/text-tiny, made by its make.py: tokenizer, generate() with
 * the checkpoint's generation config and with 4 beams / 2 returned sequences, decode): the plain
 * output line, --json's text, generated ids, score and alternatives; T5's task prefix from
 * task_specific_params; a case-folding spiece.model (nmt_nfkc_cf) with "extra_ids": 0. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define TEXT_DIR "tests/fixtures/text-tiny"

static const char *cli_path(void)
{
    static char path[PATH_MAX + 32];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert_gt(n, 0);
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    cr_assert(slash);
    *slash = '\0'; /* .../build/tests */
    snprintf(path, sizeof path, "%s/../cli/attnserve-cli", exe);
    if (access(path, X_OK) != 0) TU_SKIP("SKIP: %s was not built", path);
    return path;
}

/* Runs "cli args < input" (input may be NULL: no stdin); returns stdout (owned), *status. The
 * CLI's stderr goes to the test log (sanitizer reports included). */
static char *run(const char *args, const char *input, int *status)
{
    char in_path[64], out_path[64], cmd[PATH_MAX + 2048];
    snprintf(in_path, sizeof in_path, "/tmp/text_cli_in_%d", (int)getpid());
    snprintf(out_path, sizeof out_path, "/tmp/text_cli_out_%d", (int)getpid());
    FILE *f = fopen(in_path, "wb");
    cr_assert(f);
    if (input) fputs(input, f);
    fclose(f);
    cr_assert_lt(snprintf(cmd, sizeof cmd, "%s %s < %s > %s", cli_path(), args, in_path, out_path),
                 (int)sizeof cmd);
    int rc = system(cmd);
    *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    size_t len;
    char *out = tu_read_file(out_path, &len);
    unlink(in_path);
    unlink(out_path);
    cr_assert(out);
    return out;
}

static json_t *load_cases(const char *model)
{
    char path[256];
    snprintf(path, sizeof path, TEXT_DIR "/%s/cases.json", model);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    cr_assert_not_null(root, "%s: %s", path, e.text);
    return root;
}

/* Single-quotes text for the shell (the fixture texts have no single quote). */
static const char *quoted(const char *text)
{
    static char buf[1024];
    cr_assert_null(strchr(text, '\''));
    snprintf(buf, sizeof buf, "'%s'", text);
    return buf;
}

/* One --json line against a generate() result: text, ids = sequence without the decoder start
 * token, score; alternatives when there are several. */
static void check_json_line(const char *line, const json_t *want, const char *what)
{
    json_error_t e;
    json_t *got = json_loads(line, 0, &e);
    cr_assert_not_null(got, "%s: not JSON (%s): %s", what, e.text, line);
    const json_t *texts = json_object_get(want, "texts"),
                 *seqs = json_object_get(want, "sequences");
    const json_t *scores = json_object_get(want, "scores");
    cr_expect_str_eq(json_string_value(json_object_get(got, "text")),
                     json_string_value(json_array_get(texts, 0)), "%s: text", what);
    const json_t *ids = json_object_get(got, "ids"), *seq = json_array_get(seqs, 0);
    cr_assert_eq(json_array_size(ids) + 1, json_array_size(seq), "%s: %zu ids, want %zu", what,
                 json_array_size(ids), json_array_size(seq) - 1);
    for (size_t i = 0; i < json_array_size(ids); i++)
        cr_expect_eq(json_integer_value(json_array_get(ids, i)),
                     json_integer_value(json_array_get(seq, i + 1)), "%s: ids[%zu]", what, i);
    double s = json_number_value(json_object_get(got, "score"));
    double ws = json_number_value(json_array_get(scores, 0));
    cr_expect(fabs(s - ws) <= 1e-4, "%s: score %.7g, want %.7g", what, s, ws);
    const json_t *tokens = json_object_get(got, "tokens");
    cr_expect_eq(json_array_size(tokens), json_array_size(ids), "%s: one token per id", what);
    size_t n_alt = json_array_size(texts);
    const json_t *alts = json_object_get(got, "alternatives");
    if (n_alt > 1) {
        cr_assert_eq(json_array_size(alts), n_alt, "%s: alternatives", what);
        for (size_t k = 0; k < n_alt; k++) {
            const json_t *a = json_array_get(alts, k);
            cr_expect_str_eq(json_string_value(json_object_get(a, "text")),
                             json_string_value(json_array_get(texts, k)), "%s: alternative %zu",
                             what, k);
            double as = json_number_value(json_object_get(a, "score"));
            double was = json_number_value(json_array_get(scores, k));
            cr_expect(fabs(as - was) <= 1e-4, "%s: alternative %zu score %.7g, want %.7g", what, k,
                      as, was);
        }
    } else {
        cr_expect_null(alts, "%s: no alternatives for one returned sequence", what);
    }
    json_decref(got);
}

/* Every case of a text-tiny model through `cmd` (translate / summarize): as an argument (plain
 * and --json, default options and 4 beams / 2 returned), and all texts as stdin lines. */
static void check_model(const char *model, const char *cmd)
{
    json_t *root = load_cases(model);
    const json_t *cases = json_object_get(root, "cases");
    cr_assert_gt(json_array_size(cases), 1);
    char args[2048], *all_in = calloc(1, 8192), *all_want = calloc(1, 8192);
    cr_assert(all_in && all_want);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        const char *text = json_string_value(json_object_get(c, "text"));
        const json_t *def = json_object_get(c, "default"), *beam = json_object_get(c, "beam4_ret2");
        const char *want_text = json_string_value(json_array_get(json_object_get(def, "texts"), 0));
        char what[160];
        snprintf(what, sizeof what, "%s %s \"%s\"", model, cmd, text);
        int st;
        snprintf(args, sizeof args, "%s --model " TEXT_DIR "/%s %s", cmd, model, quoted(text));
        char *out = run(args, NULL, &st);
        cr_expect_eq(st, 0, "%s: exit %d", what, st);
        size_t n = strlen(out);
        cr_assert(n > 0 && out[n - 1] == '\n', "%s: one line expected: \"%s\"", what, out);
        out[n - 1] = '\0';
        cr_expect_str_eq(out, want_text, "%s: plain output", what);
        free(out);

        snprintf(args, sizeof args, "%s --model " TEXT_DIR "/%s --json %s", cmd, model,
                 quoted(text));
        out = run(args, NULL, &st);
        cr_expect_eq(st, 0, "%s --json: exit %d", what, st);
        check_json_line(out, def, what);
        json_t *j = json_loads(out, 0, NULL);
        cr_expect_eq(json_integer_value(json_object_get(j, "input_tokens")),
                     (json_int_t)json_array_size(json_object_get(c, "input_ids")),
                     "%s: input_tokens (prefix and </s> included)", what);
        json_decref(j);
        free(out);

        snprintf(args, sizeof args,
                 "%s --model " TEXT_DIR "/%s --json --num-beams 4 --num-return-sequences 2 %s", cmd,
                 model, quoted(text));
        out = run(args, NULL, &st);
        cr_expect_eq(st, 0, "%s beams: exit %d", what, st);
        check_json_line(out, beam, what);
        free(out);

        strncat(all_in, text, 8191 - strlen(all_in));
        strncat(all_in, "\n", 8191 - strlen(all_in));
        strncat(all_want, want_text, 8191 - strlen(all_want));
        strncat(all_want, "\n", 8191 - strlen(all_want));
    }
    /* stdin: one output line per input line, in order */
    int st;
    snprintf(args, sizeof args, "%s --model " TEXT_DIR "/%s", cmd, model);
    char *out = run(args, all_in, &st);
    cr_expect_eq(st, 0);
    cr_expect_str_eq(out, all_want, "%s %s on stdin", model, cmd);
    free(out);
    free(all_in);
    free(all_want);
    json_decref(root);
}

Test(cli_text, translate_prints_the_text_ids_and_scores_of_transformers)
{
    check_model("marian", "translate");
}

Test(cli_text, summarize_with_the_config_prefix_and_a_case_folding_tokenizer_matches_transformers)
{
    check_model("t5-cf", "summarize");
}

Test(cli_text, case_folding_gives_the_same_summary_for_every_casing)
{
    /* cases.json: "OIL PRICES RISE AS OPEC CUTS OUTPUT" and "Oil prices rise as Opec cuts
     * output" are one text after nmt_nfkc_cf; transformers gives both the same summary */
    json_t *root = load_cases("t5-cf");
    const json_t *c0 = json_array_get(json_object_get(root, "cases"), 0);
    const json_t *c1 = json_array_get(json_object_get(root, "cases"), 1);
    cr_assert(json_equal(json_object_get(c0, "input_ids"), json_object_get(c1, "input_ids")));
    int st;
    char *a = run("summarize --model " TEXT_DIR "/t5-cf 'OIL PRICES RISE AS OPEC CUTS OUTPUT'",
                  NULL, &st);
    cr_expect_eq(st, 0);
    char *b = run("summarize --model " TEXT_DIR "/t5-cf 'oIL pRICES rISE aS oPEC cUTS oUTPUT'",
                  NULL, &st);
    cr_expect_eq(st, 0);
    cr_expect_str_eq(a, b);
    free(a);
    free(b);
    json_decref(root);
}

Test(cli_text, an_explicit_prefix_replaces_the_config_prefix)
{
    /* without the "summarize: " prefix the source differs, so must the summary's ids */
    int st;
    char *a = run("summarize --model " TEXT_DIR "/t5-cf --json 'Bank of Japan keeps rates steady'",
                  NULL, &st);
    cr_expect_eq(st, 0);
    char *b = run("summarize --model " TEXT_DIR
                  "/t5-cf --json --prefix '' 'Bank of Japan keeps rates steady'",
                  NULL, &st);
    cr_expect_eq(st, 0);
    json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
    cr_assert(ja && jb, "%s / %s", a, b);
    cr_expect_eq(json_integer_value(json_object_get(ja, "input_tokens")),
                 json_integer_value(json_object_get(jb, "input_tokens")) + 9,
                 "\"summarize: \" is 9 tokens of this spiece.model");
    json_decref(ja);
    json_decref(jb);
    free(a);
    free(b);
}

Test(cli_text, invalid_utf8_input_fails_that_line_only)
{
    int st;
    char *out = run("translate --model " TEXT_DIR "/marian --json",
                    "Two dogs play in the snow.\n\xff\xfe\nTwo dogs play in the snow.\n", &st);
    cr_expect_eq(st, 1);
    char *l2 = strchr(out, '\n');
    cr_assert(l2, "%s", out);
    char *l3 = strchr(l2 + 1, '\n');
    cr_assert(l3, "%s", out);
    cr_expect(strstr(l2 + 1, "{\"error\":{\"code\":\"encoding\"") == l2 + 1, "%s", out);
    cr_expect_eq(strncmp(out, l3 + 1, (size_t)(l2 - out)), 0, "lines 1 and 3 differ: %s", out);
    free(out);
}

Test(cli_text, usage_errors_exit_2)
{
    int st;
    free(run("translate", NULL, &st));
    cr_expect_eq(st, 2);
    free(run("summarize --model " TEXT_DIR "/t5-cf --num-beams 0 x", NULL, &st));
    cr_expect_eq(st, 2);
    free(run("translate --model /nonexistent x", NULL, &st));
    cr_expect_eq(st, 1);
}
