/* test_cli_tokenize.c — attnserve-cli tokenize / detokenize end to end: the program of the same
 * build tree (found next to this test's folder) run on small inputs. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* Path of build/cli/attnserve-cli for the build tree holding this test binary. */
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

/* Runs "cli args < input", returns stdout (owned) and sets *status. */
static char *run(const char *args, const char *input, size_t input_len, int *status)
{
    char in_path[64], out_path[64], cmd[PATH_MAX + 640];
    snprintf(in_path, sizeof in_path, "/tmp/tok_cli_in_%d", (int)getpid());
    snprintf(out_path, sizeof out_path, "/tmp/tok_cli_out_%d", (int)getpid());
    FILE *f = fopen(in_path, "wb");
    cr_assert(f);
    fwrite(input, 1, input_len, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s %s < %s > %s 2>/dev/null", cli_path(), args, in_path, out_path);
    int rc = system(cmd);
    *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    size_t len;
    char *out = tu_read_file(out_path, &len);
    unlink(in_path);
    unlink(out_path);
    cr_assert(out);
    return out;
}

Test(cli_tokenize, prints_ids_and_pieces_per_line)
{
    int status;
    const char *in = "A man in a red suit.\nhello</s>world\n";
    char *out = run("tokenize --model tests/fixtures/tokenizers/t5", in, strlen(in), &status);
    cr_expect_eq(status, 0);
    /* ids from tests/fixtures/tokenizers/t5/cases.jsonl ("hello</s>world": [203, 211, 1252, 1,
     * 437, 1]) */
    cr_expect(strstr(out, "{\"ids\":[203,211,1252,1,437,1],\"pieces\":["), "%s", out);
    cr_expect_eq(strchr(strchr(out, '\n') + 1, '\n') - out + 1, (long)strlen(out), "two lines");
    free(out);
}

Test(cli_tokenize, target_uses_the_marian_target_vocabulary)
{
    /* ids from tests/fixtures/tokenizers/marian-en-de/cases.jsonl ("side": "target", i.e.
     * transformers' tokenizer(text_target=...)) */
    int status;
    const char *in = "Ein flauschiger wei\xc3\x9f"
                     "er Hund springt hoch und f\xc3\xa4ngt ein "
                     "Spielzeug.\n";
    char *out = run("tokenize --model tests/fixtures/tokenizers/marian-en-de --target", in,
                    strlen(in), &status);
    cr_expect_eq(status, 0);
    cr_expect(strstr(out, "{\"ids\":[8000,12968,175,8369,8050,8114,8171,7999,9624,8007,8538,2,0],"
                          "\"pieces\":["),
              "%s", out);
    free(out);
    /* the same text on the source side (source.spm, English pieces) gives other ids */
    out = run("tokenize --model tests/fixtures/tokenizers/marian-en-de", in, strlen(in), &status);
    cr_expect_eq(status, 0);
    cr_expect_null(strstr(out, "[8000,12968,175,"), "%s", out);
    cr_expect(strstr(out, "{\"ids\":["), "%s", out);
    free(out);
}

Test(cli_tokenize, case_folding_t5_model_without_sentinels)
{
    /* tests/fixtures/tokenizers/t5-cf/cases.jsonl: "HELLO WORLD" and "hElLo WoRlD" both
     * [126, 41, 143, 248, 1] (Python sentencepiece + </s>) */
    int status;
    const char *in = "HELLO WORLD\nhElLo WoRlD\n";
    char *out = run("tokenize --model tests/fixtures/tokenizers/t5-cf", in, strlen(in), &status);
    cr_expect_eq(status, 0);
    const char *want = "{\"ids\":[126,41,143,248,1],\"pieces\":[";
    char *second = strchr(out, '\n');
    cr_assert(second, "%s", out);
    cr_expect_eq(strncmp(out, want, strlen(want)), 0, "%s", out);
    cr_expect_eq(strncmp(second + 1, want, strlen(want)), 0, "%s", out);
    free(out);
    out = run("detokenize --model tests/fixtures/tokenizers/t5-cf", "126 41 143 248 1\n", 17,
              &status);
    cr_expect_eq(status, 0);
    cr_expect_str_eq(out, "hello world\n");
    free(out);
}

Test(cli_tokenize, marks_invalid_utf8_lines_and_fails)
{
    int status;
    const char in[] = "ok\n\xff\xfe\nok\n";
    char *out = run("tokenize --model tests/fixtures/tokenizers/t5", in, sizeof in - 1, &status);
    cr_expect_eq(status, 1);
    cr_expect(strstr(out, "{\"error\":\"line 2: invalid UTF-8 at byte 0\"}"), "%s", out);
    free(out);
}

Test(cli_tokenize, detokenize_reads_lists_arrays_and_tokenize_output)
{
    int status;
    const char *in = "203, 211, 1252, 1, 437, 1\n203 211 1252\n[437, 1]\n{\"ids\": [437]}\n";
    char *out = run("detokenize --model tests/fixtures/tokenizers/t5", in, strlen(in), &status);
    cr_expect_eq(status, 0);
    cr_expect_str_eq(out, "hello world\nhello\nworld\nworld\n");
    free(out);
    out = run("detokenize --model tests/fixtures/tokenizers/t5 --keep-special --json", "437 1\n", 6,
              &status);
    cr_expect_eq(status, 0);
    cr_expect_str_eq(out, "\"world</s>\"\n");
    free(out);
}

Test(cli_tokenize, bad_ids_are_reported_with_their_line)
{
    int status;
    const char *in = "1 2\n1 x\n99999\n";
    char *out = run("detokenize --model tests/fixtures/tokenizers/t5", in, strlen(in), &status);
    cr_expect_eq(status, 1);
    cr_expect_str_eq(out, "\n\n\n"); /* one (empty) output line per input line */
    free(out);
}

Test(cli_tokenize, usage_errors_exit_2)
{
    int status;
    char *out = run("tokenize", "", 0, &status);
    cr_expect_eq(status, 2);
    free(out);
    out = run("detokenize --model tests/fixtures/tokenizers/t5 --bogus", "", 0, &status);
    cr_expect_eq(status, 2);
    free(out);
}
