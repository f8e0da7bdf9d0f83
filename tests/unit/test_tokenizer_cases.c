/* test_tokenizer_cases.c — every case of the reference cases.jsonl (HF transformers 4.35.2 slow
 * tokenizers): identical ids from tx_tokenizer_encode and identical text from
 * tx_tokenizer_decode(expected ids, skip_special_tokens=True). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tx.h"

#define MARIAN_DIR "tests/fixtures/tokenizers/marian-en-de"
#define T5_DIR "tests/fixtures/tokenizers/t5"
#define BART_CASES "tests/fixtures/tokenizers/bart/cases.jsonl"

struct tally {
    int n_cases, id_fail, text_fail;
};

static void print_ids(const char *label, const int32_t *ids, int n)
{
    fprintf(stderr, "  %s [", label);
    for (int i = 0; i < n; i++) fprintf(stderr, "%s%d", i ? ", " : "", ids[i]);
    fprintf(stderr, "]\n");
}

/* Runs every line of cases_path through tok; lines with "side": "target" use TX_SIDE_TARGET. */
static struct tally run_cases(const tx_tokenizer *tok, const char *cases_path)
{
    struct tally t = {0, 0, 0};
    size_t len;
    char *all = tu_read_file(cases_path, &len);
    cr_assert(all, "cannot read %s", cases_path);
    char *save = NULL;
    for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *c = json_loads(line, 0, &je);
        cr_assert(c, "%s: bad JSON line: %s", cases_path, je.text);
        const char *text = json_string_value(json_object_get(c, "text"));
        size_t text_len = json_string_length(json_object_get(c, "text"));
        const char *want_text = json_string_value(json_object_get(c, "decoded"));
        json_t *want = json_object_get(c, "ids");
        const char *side = json_string_value(json_object_get(c, "side"));
        cr_assert(text && want_text && json_is_array(want));
        int n_want = (int)json_array_size(want);
        int32_t *want_ids = malloc(sizeof(int32_t) * (size_t)(n_want + 1));
        for (int i = 0; i < n_want; i++) want_ids[i] = (int32_t)json_integer_value(json_array_get(want, (size_t)i));
        t.n_cases++;

        struct tx_encoding enc;
        struct tx_error err = {0};
        tx_status st = tx_tokenizer_encode(tok, text, text_len,
                                           side && !strcmp(side, "target") ? TX_SIDE_TARGET : TX_SIDE_SOURCE,
                                           &enc, &err);
        cr_assert_eq(st, TX_OK, "encode failed on %.60s: %s", text, err.message);
        int same = enc.n_ids == n_want;
        for (int i = 0; same && i < n_want; i++) same = enc.ids[i] == want_ids[i];
        if (!same) {
            if (t.id_fail < 12) {
                fprintf(stderr, "ids differ for %s text \"%.120s\"\n", cases_path, text);
                print_ids("want", want_ids, n_want);
                print_ids("got ", enc.ids, enc.n_ids);
            }
            t.id_fail++;
        }
        /* offsets stay inside the text and are ordered */
        for (int i = 0; i < enc.n_ids; i++) {
            cr_assert_leq(enc.offsets[2 * i], enc.offsets[2 * i + 1]);
            cr_assert_leq(enc.offsets[2 * i + 1], text_len);
        }
        tx_encoding_free(&enc);

        char *got_text = NULL;
        st = tx_tokenizer_decode(tok, want_ids, n_want, 1, &got_text, &err);
        cr_assert_eq(st, TX_OK, "decode failed on %.60s: %s", text, err.message);
        if (strcmp(got_text, want_text) != 0) {
            if (t.text_fail < 12)
                fprintf(stderr, "decoded text differs for %s text \"%.120s\"\n  want \"%s\"\n  got  \"%s\"\n",
                        cases_path, text, want_text, got_text);
            t.text_fail++;
        }
        free(got_text);
        free(want_ids);
        json_decref(c);
    }
    free(all);
    return t;
}

static tx_tokenizer *load(const char *dir)
{
    tx_tokenizer *tok = NULL;
    struct tx_error err = {0};
    tx_status st = tx_tokenizer_load(dir, &tok, &err);
    cr_assert_eq(st, TX_OK, "loading %s: %s", dir, err.message);
    return tok;
}

Test(tokenizer_cases, marian_source_and_target_cases_match_transformers)
{
    tx_tokenizer *tok = load(MARIAN_DIR);
    cr_assert_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_MARIAN);
    struct tally t = run_cases(tok, MARIAN_DIR "/cases.jsonl");
    cr_expect_eq(t.n_cases, 470, "expected 470 cases, read %d", t.n_cases);
    cr_expect_eq(t.id_fail, 0, "%d of %d cases give other ids", t.id_fail, t.n_cases);
    cr_expect_eq(t.text_fail, 0, "%d of %d cases decode to other text", t.text_fail, t.n_cases);
    tx_tokenizer_free(tok);
}

Test(tokenizer_cases, t5_cases_match_transformers)
{
    tx_tokenizer *tok = load(T5_DIR);
    cr_assert_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_T5);
    struct tally t = run_cases(tok, T5_DIR "/cases.jsonl");
    cr_expect_eq(t.n_cases, 346, "expected 346 cases, read %d", t.n_cases);
    cr_expect_eq(t.id_fail, 0, "%d of %d cases give other ids", t.id_fail, t.n_cases);
    cr_expect_eq(t.text_fail, 0, "%d of %d cases decode to other text", t.text_fail, t.n_cases);
    tx_tokenizer_free(tok);
}

Test(tokenizer_cases, bart_cases_match_transformers)
{
    const char *shared = tu_shared_fixtures();
    if (!shared) cr_skip_test("SKIP: ../shared/fixtures is absent (the BART vocab.json/merges.txt "
                              "are third-party files kept out of the repository)");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tokenizers/bart", shared);
    tx_tokenizer *tok = load(dir);
    cr_assert_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_BYTE_BPE);
    struct tally t = run_cases(tok, BART_CASES);
    cr_expect_eq(t.n_cases, 346, "expected 346 cases, read %d", t.n_cases);
    cr_expect_eq(t.id_fail, 0, "%d of %d cases give other ids", t.id_fail, t.n_cases);
    cr_expect_eq(t.text_fail, 0, "%d of %d cases decode to other text", t.text_fail, t.n_cases);
    tx_tokenizer_free(tok);
}
