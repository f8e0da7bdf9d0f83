/* test_cli_engine.c — attnserve-cli forward and generate end to end: the JSON they print matches
 * the reference fixtures, and usage errors exit with status 2 (runtime errors 1). Runs the
 * attnserve-cli built next to this test; skips visibly when it is not there. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture_cases.h"
#include "testutil.h"

static char cli[PATH_MAX];

/* build/tests/test_cli_engine -> build/cli/attnserve-cli */
static int find_cli(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 0;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) return 0;
    *slash = '\0';
    if (snprintf(cli, sizeof cli, "%s/../cli/attnserve-cli", self) >= (int)sizeof cli) return 0;
    return access(cli, X_OK) == 0;
}

/* Runs the CLI with `args`; returns its stdout parsed as JSON (NULL if not JSON) and the exit
 * status in *status. stderr passes through (sanitizer reports reach the test log). */
static json_t *run(const char *args, int *status, int quiet_stderr)
{
    if (!find_cli()) TU_SKIP("SKIP: attnserve-cli not built next to the tests (%s)", cli);
    char cmd[4096];
    cr_assert_lt(
        snprintf(cmd, sizeof cmd, "%s %s%s", cli, args, quiet_stderr ? " 2>/dev/null" : ""),
        (int)sizeof cmd);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    json_t *j = json_loads(buf, 0, NULL);
    free(buf);
    return j;
}

Test(cli, generate_prints_the_beam_sequences_and_scores_of_transformers)
{
    json_t *root = fx_load_cases(FIXTURE_DIR "/bart");
    const json_t *c = json_array_get(json_object_get(root, "cases"), 1);
    char ids[512] = "";
    const json_t *src = json_object_get(c, "input_ids");
    for (size_t i = 0; i < json_array_size(src); i++)
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), i ? ",%lld" : "%lld",
                 (long long)json_integer_value(json_array_get(src, i)));
    char args[1024];
    snprintf(args, sizeof args,
             "generate --model " FIXTURE_DIR "/bart --input-ids %s --max-new-tokens 20 "
             "--num-beams 4 --num-return-sequences 4",
             ids);
    int st;
    json_t *out = run(args, &st, 0);
    cr_assert_eq(st, 0);
    cr_assert_not_null(out, "output is not JSON");
    const json_t *beam = json_object_get(c, "beam");
    cr_assert(json_equal(json_object_get(out, "sequences"), json_object_get(beam, "sequences")),
              "sequences differ from the fixture");
    const json_t *scores = json_object_get(out, "scores");
    const json_t *want = json_object_get(beam, "sequences_scores");
    cr_assert_eq(json_array_size(scores), 4);
    for (size_t i = 0; i < 4; i++)
        cr_assert(fabs(json_number_value(json_array_get(scores, i)) -
                       json_number_value(json_array_get(want, i))) <= 1e-4);
    json_decref(out);
    json_decref(root);
}

Test(cli, generate_greedy_batch_prints_one_row_per_input)
{
    int st;
    json_t *out = run("generate --model " FIXTURE_DIR "/marian --input-ids "
                      "36,118,86,74,75,11,6,62,3,88,0 --input-ids 34,97,71,9,0 "
                      "--max-new-tokens 20 --num-beams 1",
                      &st, 0);
    cr_assert_eq(st, 0);
    json_t *root = fx_load_cases(FIXTURE_DIR "/marian");
    const json_t *g = json_object_get(json_object_get(root, "batch"), "greedy");
    const json_t *seqs = json_object_get(out, "sequences");
    cr_assert_eq(json_array_size(seqs), 2);
    for (size_t r = 0; r < 2; r++)
        cr_assert(
            json_equal(json_array_get(seqs, r), json_object_get(json_array_get(g, r), "sequence")),
            "row %zu differs", r);
    cr_assert_eq(json_array_size(json_object_get(out, "token_logprobs")), 2);
    json_decref(out);
    json_decref(root);
}

Test(cli, forward_prints_logits_and_attentions_of_transformers)
{
    json_t *root = fx_load_cases(FIXTURE_DIR "/t5");
    const json_t *c = json_array_get(json_object_get(root, "cases"), 1);
    char args[1024], src[256] = "", dec[256] = "";
    const json_t *s = json_object_get(c, "input_ids"), *d = json_object_get(c, "decoder_input_ids");
    for (size_t i = 0; i < json_array_size(s); i++)
        snprintf(src + strlen(src), sizeof src - strlen(src), i ? ",%lld" : "%lld",
                 (long long)json_integer_value(json_array_get(s, i)));
    for (size_t i = 0; i < json_array_size(d); i++)
        snprintf(dec + strlen(dec), sizeof dec - strlen(dec), i ? ",%lld" : "%lld",
                 (long long)json_integer_value(json_array_get(d, i)));
    snprintf(args, sizeof args,
             "forward --model " FIXTURE_DIR "/t5 --input-ids %s --decoder-ids %s --attentions", src,
             dec);
    int st;
    json_t *out = run(args, &st, 0);
    cr_assert_eq(st, 0);
    cr_assert_not_null(out);
    const char *fields[] = {"logits", "encoder_attentions", "decoder_attentions",
                            "cross_attentions"};
    for (int f = 0; f < 4; f++) {
        size_t n_got, n_want;
        double *got = fx_numbers(json_object_get(out, fields[f]), &n_got);
        double *want = fx_numbers(json_object_get(c, fields[f]), &n_want);
        cr_assert_eq(n_got, n_want, "%s size", fields[f]);
        for (size_t i = 0; i < n_got; i++)
            cr_assert(fabs(got[i] - want[i]) <= 1e-4, "%s[%zu]: %g vs %g", fields[f], i, got[i],
                      want[i]);
        free(got);
        free(want);
    }
    json_decref(out);
    json_decref(root);
}

Test(cli, forward_without_attentions_prints_only_the_logits)
{
    json_t *root = fx_load_cases(FIXTURE_DIR "/marian");
    const json_t *c = json_array_get(json_object_get(root, "cases"), 0);
    char args[1024], src[256] = "", dec[256] = "";
    const json_t *s = json_object_get(c, "input_ids"), *d = json_object_get(c, "decoder_input_ids");
    for (size_t i = 0; i < json_array_size(s); i++)
        snprintf(src + strlen(src), sizeof src - strlen(src), i ? ",%lld" : "%lld",
                 (long long)json_integer_value(json_array_get(s, i)));
    for (size_t i = 0; i < json_array_size(d); i++)
        snprintf(dec + strlen(dec), sizeof dec - strlen(dec), i ? ",%lld" : "%lld",
                 (long long)json_integer_value(json_array_get(d, i)));
    snprintf(args, sizeof args,
             "forward --model " FIXTURE_DIR "/marian --input-ids %s --decoder-ids %s", src, dec);
    int st;
    json_t *out = run(args, &st, 0);
    cr_assert_eq(st, 0);
    cr_assert_not_null(out);
    size_t n_got, n_want;
    double *got = fx_numbers(json_object_get(out, "logits"), &n_got);
    double *want = fx_numbers(json_object_get(c, "logits"), &n_want);
    cr_assert_eq(n_got, n_want);
    for (size_t i = 0; i < n_got; i++)
        cr_assert(fabs(got[i] - want[i]) <= 1e-4, "logits[%zu]: %g vs %g", i, got[i], want[i]);
    free(got);
    free(want);
    cr_expect_null(json_object_get(out, "encoder_attentions"));
    cr_expect_null(json_object_get(out, "decoder_attentions"));
    cr_expect_null(json_object_get(out, "cross_attentions"));
    json_decref(out);
    json_decref(root);
}

Test(cli, usage_errors_exit_2_and_runtime_errors_exit_1)
{
    int st;
    json_decref(run("generate --model " FIXTURE_DIR "/t5 --input-ids 5,x", &st, 1));
    cr_assert_eq(st, 2);
    json_decref(run("generate --model " FIXTURE_DIR "/t5", &st, 1));
    cr_assert_eq(st, 2);
    json_decref(run("generate --model " FIXTURE_DIR "/t5 --input-ids 5,1 --top-p 3", &st, 1));
    cr_assert_eq(st, 2);
    json_decref(run("forward --model " FIXTURE_DIR "/t5 --input-ids 5,1 --bogus", &st, 1));
    cr_assert_eq(st, 2);
    json_decref(run("forward --model " FIXTURE_DIR "/t5 --input-ids 5,1 --decoder-ids", &st, 1));
    cr_assert_eq(st, 2);
    json_decref(run("generate --model " FIXTURE_DIR "/t5 --input-ids 5,500", &st, 1));
    cr_assert_eq(st, 1);
    json_decref(run("forward --model /nonexistent --input-ids 5 --decoder-ids 0", &st, 1));
    cr_assert_eq(st, 1);
    json_t *h = run("generate --help", &st, 1);
    cr_assert_eq(st, 0);
    json_decref(h);
}
