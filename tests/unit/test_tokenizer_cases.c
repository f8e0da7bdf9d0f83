/* test_tokenizer_cases.c — every case of the reference cases.jsonl (HF transformers 4.35.2 slow
 * tokenizers): identical ids from tx_tokenizer_encode and identical text from
 * tx_tokenizer_decode(expected ids, skip_special_tokens=True). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "tx.h"

#define MARIAN_DIR "tests/fixtures/tokenizers/marian-en-de"
#define T5_DIR "tests/fixtures/tokenizers/t5"
#define T5_CF_DIR "tests/fixtures/tokenizers/t5-cf"
#define BART_CASES "tests/fixtures/tokenizers/bart/cases.jsonl"

struct tally {
    int n_cases, id_fail, text_fail;
};

static void print_ids(const char *label, const int32_t *ids, int n)
{
    fprintf(stderr, "  %s [", label);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s%d", i ? ", " : "", ids[i]);
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
        if (json_object_get(c, "decode_ids")) { /* a decoding case */
            json_t *di = json_object_get(c, "decode_ids");
            int nd = (int)json_array_size(di);
            int32_t *dids = malloc(sizeof(int32_t) * (size_t)(nd + 1));
            for (int i = 0; i < nd; i++)
                dids[i] = (int32_t)json_integer_value(json_array_get(di, (size_t)i));
            char *got = NULL;
            struct tx_error derr = {0};
            int skip = json_is_true(json_object_get(c, "skip"));
            cr_assert_eq(tx_tokenizer_decode(tok, dids, nd, skip, &got, &derr), TX_OK, "%s",
                         derr.message);
            const char *want = json_string_value(json_object_get(c, "decoded"));
            t.n_cases++;
            if (strcmp(got, want) != 0) {
                if (t.text_fail < 12) {
                    fprintf(stderr,
                            "decode(skip=%d) differs for %s\n  want \"%s\"\n  got  \"%s\"\n", skip,
                            cases_path, want, got);
                    print_ids("ids", dids, nd);
                }
                t.text_fail++;
            }
            free(got);
            free(dids);
            json_decref(c);
            continue;
        }
        const char *text = json_string_value(json_object_get(c, "text"));
        size_t text_len = json_string_length(json_object_get(c, "text"));
        const char *want_text = json_string_value(json_object_get(c, "decoded"));
        json_t *want = json_object_get(c, "ids");
        const char *side = json_string_value(json_object_get(c, "side"));
        cr_assert(text && json_is_array(want));
        int n_want = (int)json_array_size(want);
        int32_t *want_ids = malloc(sizeof(int32_t) * (size_t)(n_want + 1));
        for (int i = 0; i < n_want; i++)
            want_ids[i] = (int32_t)json_integer_value(json_array_get(want, (size_t)i));
        t.n_cases++;

        struct tx_encoding enc;
        struct tx_error err = {0};
        tx_status st = tx_tokenizer_encode(
            tok, text, text_len, side && !strcmp(side, "target") ? TX_SIDE_TARGET : TX_SIDE_SOURCE,
            &enc, &err);
        cr_assert_eq(st, TX_OK, "encode failed on %.60s: %s", text, err.message);
        int same = enc.n_ids == n_want;
        for (int i = 0; same && i < n_want; i++)
            same = enc.ids[i] == want_ids[i];
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
        if (!want_text) { /* an encoding-only case */
            free(want_ids);
            json_decref(c);
            continue;
        }
        st = tx_tokenizer_decode(tok, want_ids, n_want, 1, &got_text, &err);
        cr_assert_eq(st, TX_OK, "decode failed on %.60s: %s", text, err.message);
        if (strcmp(got_text, want_text) != 0) {
            if (t.text_fail < 12)
                fprintf(
                    stderr,
                    "decoded text differs for %s text \"%.120s\"\n  want \"%s\"\n  got  \"%s\"\n",
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

/* Only the lines of path whose "add_prefix_space" is (or is not) true, to a temporary file. */
static char *filter_lines(const char *path, int prefix_space)
{
    size_t len;
    char *all = tu_read_file(path, &len);
    cr_assert(all);
    static char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/tok_cases_%d_%d.jsonl", (int)getpid(), prefix_space);
    FILE *f = fopen(tmp, "w");
    cr_assert(f);
    char *save = NULL;
    for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int has = strstr(line, "\"add_prefix_space\": true") != NULL;
        if (has == prefix_space) fprintf(f, "%s\n", line);
    }
    fclose(f);
    free(all);
    return tmp;
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

/* The default summarizer's kind of tokenizer: a spiece.model trained with the case-folding rule
 * nmt_nfkc_cf and "extra_ids": 0 (tests/fixtures/tokenizers/make_t5_cf.py; ids from Python's
 * sentencepiece + </s>, decoded text from transformers' T5Tokenizer). */
Test(tokenizer_cases, t5_case_folding_model_without_sentinels_matches_sentencepiece)
{
    tx_tokenizer *tok = load(T5_CF_DIR);
    cr_assert_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_T5);
    struct tally t = run_cases(tok, T5_CF_DIR "/cases.jsonl");
    cr_expect_eq(t.n_cases, 239, "expected 239 cases, read %d", t.n_cases);
    cr_expect_eq(t.id_fail, 0, "%d of %d cases give other ids", t.id_fail, t.n_cases);
    cr_expect_eq(t.text_fail, 0, "%d of %d cases decode to other text", t.text_fail, t.n_cases);
    /* extra_ids 0: the vocabulary is the 2000 pieces, no <extra_id_N> is added or recognised */
    cr_expect_eq(tx_tokenizer_vocab_size(tok), 2000);
    cr_expect_eq(tx_tokenizer_eos_id(tok), 1);
    cr_expect_eq(tx_tokenizer_pad_id(tok), 0);
    cr_expect_eq(tx_tokenizer_unk_id(tok), 2);
    cr_expect_null(tx_tokenizer_id_to_piece(tok, 2000));
    struct tx_encoding enc;
    struct tx_error err = {0};
    const char *s = "<extra_id_0>";
    cr_assert_eq(tx_tokenizer_encode(tok, s, strlen(s), TX_SIDE_SOURCE, &enc, &err), TX_OK, "%s",
                 err.message);
    cr_expect_gt(enc.n_ids, 2, "<extra_id_0> must be plain text here, got %d ids", enc.n_ids);
    for (int i = 0; i < enc.n_ids; i++)
        cr_expect_lt(enc.ids[i], 2000);
    tx_encoding_free(&enc);
    /* folding: every casing of a text gives the same ids */
    const char *forms[] = {"OIL PRICES RISE", "Oil Prices Rise", "oil prices rise",
                           "\xef\xbc\xaf\xef\xbc\xa9\xef\xbc\xac prices rise"}; /* full-width OIL */
    struct tx_encoding first;
    cr_assert_eq(tx_tokenizer_encode(tok, forms[0], strlen(forms[0]), TX_SIDE_SOURCE, &first, &err),
                 TX_OK);
    for (size_t k = 1; k < sizeof forms / sizeof forms[0]; k++) {
        cr_assert_eq(
            tx_tokenizer_encode(tok, forms[k], strlen(forms[k]), TX_SIDE_SOURCE, &enc, &err),
            TX_OK);
        cr_expect(enc.n_ids == first.n_ids &&
                      !memcmp(enc.ids, first.ids, (size_t)enc.n_ids * sizeof *enc.ids),
                  "\"%s\" and \"%s\" give other ids", forms[0], forms[k]);
        tx_encoding_free(&enc);
    }
    tx_encoding_free(&first);
    tx_tokenizer_free(tok);
}

Test(tokenizer_cases, bart_cases_match_transformers)
{
    const char *shared = tu_shared_fixtures();
    if (!shared)
        TU_SKIP("SKIP: ../shared/fixtures is absent (the BART vocab.json/merges.txt "
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

Test(tokenizer_cases, t5_sentinels_glued_to_words_and_random_decodes_match_transformers)
{
    tx_tokenizer *tok = load(T5_DIR);
    struct tally t = run_cases(tok, T5_DIR "/hf_extra.jsonl");
    cr_expect_eq(t.n_cases, 330, "read %d cases", t.n_cases);
    cr_expect_eq(t.id_fail, 0, "%d of %d cases give other ids", t.id_fail, t.n_cases);
    cr_expect_eq(t.text_fail, 0, "%d of %d decodes differ", t.text_fail, t.n_cases);
    tx_tokenizer_free(tok);
}

Test(tokenizer_cases, marian_language_codes_specials_and_random_decodes_match_transformers)
{
    tx_tokenizer *tok = load(MARIAN_DIR);
    struct tally t = run_cases(tok, MARIAN_DIR "/hf_extra.jsonl");
    cr_expect_eq(t.n_cases, 352, "read %d cases", t.n_cases);
    cr_expect_eq(t.id_fail, 0, "%d of %d cases give other ids", t.id_fail, t.n_cases);
    cr_expect_eq(t.text_fail, 0, "%d of %d decodes differ", t.text_fail, t.n_cases);
    tx_tokenizer_free(tok);
}

Test(tokenizer_cases, bart_mask_stripping_and_random_decodes_match_transformers)
{
    const char *shared = tu_shared_fixtures();
    if (!shared) TU_SKIP("SKIP: ../shared/fixtures is absent (BART vocab.json/merges.txt)");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tokenizers/bart", shared);
    tx_tokenizer *tok = load(dir);
    char *cases = filter_lines("tests/fixtures/tokenizers/bart/hf_extra.jsonl", 0);
    struct tally t = run_cases(tok, cases);
    unlink(cases);
    cr_expect_eq(t.n_cases, 330, "read %d cases", t.n_cases);
    cr_expect_eq(t.id_fail, 0, "%d of %d cases give other ids", t.id_fail, t.n_cases);
    cr_expect_eq(t.text_fail, 0, "%d of %d decodes differ", t.text_fail, t.n_cases);
    tx_tokenizer_free(tok);
}

Test(tokenizer_cases, bart_with_add_prefix_space_matches_transformers)
{
    const char *shared = tu_shared_fixtures();
    if (!shared) TU_SKIP("SKIP: ../shared/fixtures is absent (BART vocab.json/merges.txt)");
    /* a folder with the shared vocabulary and a config that turns add_prefix_space on */
    char dir[64], path[600], target[600];
    snprintf(dir, sizeof dir, "/tmp/tok_bart_ps_%d", (int)getpid());
    cr_assert_eq(mkdir(dir, 0700), 0);
    const char *names[2] = {"vocab.json", "merges.txt"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        cr_assert(realpath(shared, target));
        strncat(target, "/tokenizers/bart/", sizeof target - strlen(target) - 1);
        strncat(target, names[i], sizeof target - strlen(target) - 1);
        cr_assert_eq(symlink(target, path), 0);
    }
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("{\"tokenizer_class\": \"BartTokenizer\", \"add_prefix_space\": true}\n", f);
    fclose(f);
    tx_tokenizer *tok = load(dir);
    char *cases = filter_lines("tests/fixtures/tokenizers/bart/hf_extra.jsonl", 1);
    struct tally t = run_cases(tok, cases);
    unlink(cases);
    cr_expect_eq(t.n_cases, 27, "read %d cases", t.n_cases);
    cr_expect_eq(t.id_fail, 0, "%d of %d cases give other ids", t.id_fail, t.n_cases);
    tx_tokenizer_free(tok);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    unlink(path);
    rmdir(dir);
}

Test(tokenizer_cases, t5_sentinel_flags_come_from_tokenizer_json_when_the_config_has_none)
{
    /* spiece.model + tokenizer.json + a tokenizer_config.json without added_tokens_decoder, as
     * the published t5 checkpoints: transformers takes the added tokens from tokenizer.json */
    char dir[64], path[256], target[4096];
    snprintf(dir, sizeof dir, "/tmp/tok_t5_legacy_%d", (int)getpid());
    cr_assert_eq(mkdir(dir, 0700), 0);
    const char *src[2] = {T5_DIR "/spiece.model",
                          "tests/fixtures/tokenizers/t5-json/tokenizer.json"};
    const char *names[3] = {"spiece.model", "tokenizer.json", "tokenizer_config.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        cr_assert(realpath(src[i], target));
        cr_assert_eq(symlink(target, path), 0);
    }
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("{\"tokenizer_class\": \"T5Tokenizer\", \"extra_ids\": 100}\n", f);
    fclose(f);
    tx_tokenizer *tok = load(dir);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    cr_assert_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_T5);
    struct tally t = run_cases(tok, T5_DIR "/hf_legacy_tokjson.jsonl");
    cr_expect_eq(t.n_cases, 24, "read %d cases", t.n_cases);
    cr_expect_eq(t.id_fail, 0, "%d of %d cases give other ids", t.id_fail, t.n_cases);
    tx_tokenizer_free(tok);
}

/* The cases read from tests/fixtures must be the shared reference ones, line for line. */
Test(tokenizer_cases, case_files_are_the_shared_reference)
{
    const char *shared = tu_shared_fixtures();
    if (!shared)
        TU_SKIP("SKIP: ../shared/fixtures is absent; the copies are used as they are");
    static const char *names[] = {"marian-en-de", "t5", "bart"};
    for (size_t i = 0; i < 3; i++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/tokenizers/%s/cases.jsonl", shared, names[i]);
        snprintf(b, sizeof b, "tests/fixtures/tokenizers/%s/cases.jsonl", names[i]);
        size_t na, nb;
        char *x = tu_read_file(a, &na), *y = tu_read_file(b, &nb);
        cr_assert(x && y, "%s / %s", a, b);
        cr_expect(na == nb && !memcmp(x, y, na), "%s differs from %s", b, a);
        free(x);
        free(y);
    }
    static const char *model_files[] = {"marian-en-de/source.spm", "marian-en-de/target.spm",
                                        "marian-en-de/vocab.json", "t5/spiece.model"};
    for (size_t i = 0; i < sizeof model_files / sizeof model_files[0]; i++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/tokenizers/%s", shared, model_files[i]);
        snprintf(b, sizeof b, "tests/fixtures/tokenizers/%s", model_files[i]);
        size_t na, nb;
        char *x = tu_read_file(a, &na), *y = tu_read_file(b, &nb);
        cr_assert(x && y, "%s / %s", a, b);
        cr_expect(na == nb && !memcmp(x, y, na), "%s differs from %s", b, a);
        free(x);
        free(y);
    }
}
