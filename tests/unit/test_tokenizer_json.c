/* test_tokenizer_json.c — tokenizer.json (HF tokenizers format) against the slow tokenizers'
 * reference cases: a T5 export of the project's test spiece.model (Unigram, Precompiled,
 * WhitespaceSplit + Metaspace, template), and a RoBERTa/BART export built at test time from the
 * shared BART vocab.json/merges.txt (BPE, ByteLevel, RobertaProcessing); plus errors that name
 * the JSON path of what is not supported. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "tx.h"

#define T5_JSON_DIR "tests/fixtures/tokenizers/t5-json"

struct tally {
    int n, id_fail, text_fail;
};

/* Python's str.strip() for the whitespace these texts contain. */
static void strip(char *s)
{
    size_t n = strlen(s), b = 0;
    while (b < n && strchr(" \t\n", s[b]))
        b++;
    while (n > b && strchr(" \t\n", s[n - 1]))
        n--;
    memmove(s, s + b, n - b);
    s[n - b] = '\0';
}

/* Known differences of a fast (Rust) T5 tokenizer from the slow one; returns the ids the fast
 * one gives for text, or NULL when it agrees with the slow reference. */
static const int32_t *t5_fast_ids(const char *text, int *n)
{
    /* the template always appends </s>; the slow tokenizer does not when the text ends in it */
    static const int32_t eos_twice[] = {1, 1};
    /* WhitespaceSplit splits at U+0085 (White_Space), which the charsmap keeps as a character
     * that the slow tokenizer turns into <unk> inside one word */
    static const int32_t nel[] = {130, 510, 306, 897, 579, 1};
    /* spm_precompiled replaces a grapheme under 6 bytes as a whole, longer ones character by
     * character: "a" + U+0308 + three more marks is not composed to "ä" (nor "g" + U+030C to
     * "ǧ") as SentencePiece's longest match does */
    static const int32_t zalgo[] = {6309, 2, 190, 2, 211, 2, 277, 2, 254, 2, 873, 1};
    if (!strncmp(text, "Z\xCC\xA4\xCD\x94", 5)) {
        *n = 12;
        return zalgo;
    }
    if (!strcmp(text, "</s>")) {
        *n = 2;
        return eos_twice;
    }
    if (!strcmp(text, "next\xC2\x85line C1 control")) {
        *n = 6;
        return nel;
    }
    return NULL;
}

static struct tally run_cases(const tx_tokenizer *tok, const char *cases_path, int t5_fast)
{
    struct tally t = {0, 0, 0};
    size_t len;
    char *all = tu_read_file(cases_path, &len);
    cr_assert(all, "cannot read %s", cases_path);
    char *save = NULL;
    for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *c = json_loads(line, 0, &je);
        cr_assert(c);
        json_t *jt = json_object_get(c, "text"), *want = json_object_get(c, "ids");
        const char *want_text = json_string_value(json_object_get(c, "decoded"));
        if (!jt || !json_is_array(want)) {
            json_decref(c);
            continue;
        }
        t.n++;
        struct tx_encoding enc;
        struct tx_error err = {0};
        cr_assert_eq(tx_tokenizer_encode(tok, json_string_value(jt), json_string_length(jt),
                                         TX_SIDE_SOURCE, &enc, &err),
                     TX_OK, "%s", err.message);
        int n_want = (int)json_array_size(want);
        int32_t *ids = malloc(sizeof(int32_t) * (size_t)(n_want + 8));
        for (int i = 0; i < n_want; i++)
            ids[i] = (int32_t)json_integer_value(json_array_get(want, (size_t)i));
        int n_fast;
        const int32_t *fast = t5_fast ? t5_fast_ids(json_string_value(jt), &n_fast) : NULL;
        if (fast) {
            memcpy(ids, fast, sizeof(int32_t) * (size_t)n_fast);
            n_want = n_fast;
            want_text = NULL; /* the decode check below uses the slow ids */
        }
        int same = enc.n_ids == n_want;
        for (int i = 0; same && i < n_want; i++)
            same = enc.ids[i] == ids[i];
        if (!same && t.id_fail++ < 10) {
            fprintf(stderr, "ids differ for \"%.100s\":\n  want", json_string_value(jt));
            for (int i = 0; i < n_want; i++)
                fprintf(stderr, " %d", ids[i]);
            fprintf(stderr, "\n  got ");
            for (int i = 0; i < enc.n_ids; i++)
                fprintf(stderr, " %d", enc.ids[i]);
            fprintf(stderr, "\n");
        }
        tx_encoding_free(&enc);
        if (want_text) {
            /* A fast decoder does not strip the text as T5Tokenizer.convert_tokens_to_string
             * does: compare stripped (T5), exactly (BART). */
            char *got = NULL, *want_copy = strdup(want_text);
            cr_assert_eq(tx_tokenizer_decode(tok, ids, n_want, 1, &got, &err), TX_OK, "%s",
                         err.message);
            if (t5_fast) {
                strip(got);
                strip(want_copy);
            }
            if (strcmp(got, want_copy) && t.text_fail++ < 10)
                fprintf(stderr, "decode differs for \"%.100s\":\n  want \"%s\"\n  got  \"%s\"\n",
                        json_string_value(jt), want_copy, got);
            free(got);
            free(want_copy);
        }
        free(ids);
        json_decref(c);
    }
    free(all);
    return t;
}

Test(tokenizer_json, t5_export_gives_the_slow_tokenizer_ids_and_text)
{
    tx_tokenizer *tok = NULL;
    struct tx_error err = {0};
    cr_assert_eq(tx_tokenizer_load(T5_JSON_DIR, &tok, &err), TX_OK, "%s", err.message);
    cr_assert_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_JSON);
    cr_expect_eq(tx_tokenizer_vocab_size(tok), 8100);
    cr_expect_eq(tx_tokenizer_eos_id(tok), 1);
    cr_expect_eq(tx_tokenizer_pad_id(tok), 0);
    struct tally t = run_cases(tok, "tests/fixtures/tokenizers/t5/cases.jsonl", 1);
    cr_expect_eq(t.n, 346);
    cr_expect_eq(t.id_fail, 0, "%d of %d cases give other ids", t.id_fail, t.n);
    cr_expect_eq(t.text_fail, 0, "%d of %d cases decode to other text", t.text_fail, t.n);
    tx_tokenizer_free(tok);
}

/* Writes dir/tokenizer.json as transformers' RobertaConverter exports a BART/RoBERTa tokenizer,
 * from the shared (third-party) vocab.json and merges.txt. */
static void write_bart_json(const char *shared, const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizers/bart/vocab.json", shared);
    json_error_t je;
    json_t *vocab = json_load_file(path, 0, &je);
    cr_assert(vocab, "%s: %s", path, je.text);
    snprintf(path, sizeof path, "%s/tokenizers/bart/merges.txt", shared);
    size_t len;
    char *text = tu_read_file(path, &len);
    cr_assert(text);
    json_t *merges = json_array();
    char *save = NULL;
    int first = 1;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (first) { /* "#version: 0.2" */
            first = 0;
            continue;
        }
        json_array_append_new(merges, json_string(line));
    }
    free(text);
    json_t *root = json_pack(
        "{s:s, s:n, s:n, s:[{s:i,s:s,s:b,s:b,s:b,s:b,s:b}, {s:i,s:s,s:b,s:b,s:b,s:b,s:b},"
        " {s:i,s:s,s:b,s:b,s:b,s:b,s:b}, {s:i,s:s,s:b,s:b,s:b,s:b,s:b}, "
        "{s:i,s:s,s:b,s:b,s:b,s:b,s:b}],"
        " s:n, s:{s:s,s:b,s:b,s:b}, s:{s:s,s:[s,i],s:[s,i],s:b,s:b}, s:{s:s,s:b,s:b,s:b},"
        " s:{s:s,s:n,s:n,s:s,s:s,s:b,s:o,s:o}}",
        "version", "1.0", "truncation", "padding", "added_tokens", "id", 0, "content", "<s>",
        "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 1, "special", 1, "id", 1,
        "content", "<pad>", "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 1, "special",
        1, "id", 2, "content", "</s>", "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 1,
        "special", 1, "id", 3, "content", "<unk>", "single_word", 0, "lstrip", 0, "rstrip", 0,
        "normalized", 1, "special", 1, "id", 50264, "content", "<mask>", "single_word", 0, "lstrip",
        1, "rstrip", 0, "normalized", 0, "special", 1, "normalizer", "pre_tokenizer", "type",
        "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1, "post_processor",
        "type", "RobertaProcessing", "sep", "</s>", 2, "cls", "<s>", 0, "trim_offsets", 1,
        "add_prefix_space", 0, "decoder", "type", "ByteLevel", "add_prefix_space", 1,
        "trim_offsets", 1, "use_regex", 1, "model", "type", "BPE", "dropout", "unk_token",
        "continuing_subword_prefix", "", "end_of_word_suffix", "", "fuse_unk", 0, "vocab", vocab,
        "merges", merges);
    cr_assert(root);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    cr_assert_eq(json_dump_file(root, path, 0), 0);
    json_decref(root);
}

Test(tokenizer_json, roberta_style_bpe_export_gives_the_slow_tokenizer_ids_and_text)
{
    const char *shared = tu_shared_fixtures();
    if (!shared) TU_SKIP("SKIP: ../shared/fixtures is absent (BART vocab.json/merges.txt)");
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/tok_bart_json_%d", (int)getpid());
    cr_assert_eq(mkdir(dir, 0700), 0);
    write_bart_json(shared, dir);
    tx_tokenizer *tok = NULL;
    struct tx_error err = {0};
    cr_assert_eq(tx_tokenizer_load(dir, &tok, &err), TX_OK, "%s", err.message);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    rmdir(dir);
    cr_assert_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_JSON);
    cr_expect_eq(tx_tokenizer_vocab_size(tok), 50265);
    struct tally t = run_cases(tok, "tests/fixtures/tokenizers/bart/cases.jsonl", 0);
    cr_expect_eq(t.n, 346);
    cr_expect_eq(t.id_fail, 0, "%d of %d cases give other ids", t.id_fail, t.n);
    cr_expect_eq(t.text_fail, 0, "%d of %d cases decode to other text", t.text_fail, t.n);
    tx_tokenizer_free(tok);
}

/* Loads a folder holding only tokenizer.json = text; returns the status and the message. */
static tx_status load_text(const char *text, char *msg, size_t msg_size)
{
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/tok_json_err_%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    tx_tokenizer *tok = NULL;
    struct tx_error err = {0};
    tx_status st = tx_tokenizer_load(dir, &tok, &err);
    if (st == TX_OK) tx_tokenizer_free(tok);
    snprintf(msg, msg_size, "%s", st ? err.message : "");
    unlink(path);
    rmdir(dir);
    return st;
}

#define TINY_UNIGRAM                                                                               \
    "\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0.0], [\"a\", "     \
    "-1.0]]}"

Test(tokenizer_json, a_minimal_unigram_file_loads)
{
    char msg[512];
    cr_assert_eq(load_text("{" TINY_UNIGRAM "}", msg, sizeof msg), TX_OK, "%s", msg);
}

Test(tokenizer_json, an_unsupported_model_type_is_named)
{
    char msg[512];
    tx_status st =
        load_text("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", msg, sizeof msg);
    cr_assert_eq(st, TX_ERR_UNSUPPORTED);
    cr_assert(strstr(msg, "model.type") && strstr(msg, "WordPiece"), "%s", msg);
}

Test(tokenizer_json, an_unsupported_normalizer_is_named_by_its_json_path)
{
    char msg[512];
    tx_status st =
        load_text("{" TINY_UNIGRAM ", \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": "
                  "[{\"type\": \"NFKC\"}, {\"type\": \"BertNormalizer\"}]}}",
                  msg, sizeof msg);
    cr_assert_eq(st, TX_ERR_UNSUPPORTED);
    cr_assert(strstr(msg, "normalizer.normalizers[1]") && strstr(msg, "BertNormalizer"), "%s", msg);
}

Test(tokenizer_json, an_unsupported_regex_is_named)
{
    char msg[512];
    tx_status st =
        load_text("{" TINY_UNIGRAM ", \"normalizer\": {\"type\": \"Replace\", \"pattern\": "
                  "{\"Regex\": \"[0-9]+\"}, \"content\": \"0\"}}",
                  msg, sizeof msg);
    cr_assert_eq(st, TX_ERR_UNSUPPORTED);
    cr_assert(strstr(msg, "normalizer") && strstr(msg, "[0-9]+"), "%s", msg);
}

Test(tokenizer_json, unsupported_pre_tokenizers_and_decoders_are_named)
{
    char msg[512];
    tx_status st = load_text("{" TINY_UNIGRAM ", \"pre_tokenizer\": {\"type\": \"Sequence\", "
                             "\"pretokenizers\": [{\"type\": \"Digits\"}]}}",
                             msg, sizeof msg);
    cr_assert_eq(st, TX_ERR_UNSUPPORTED);
    cr_assert(strstr(msg, "pre_tokenizer.pretokenizers[0]") && strstr(msg, "Digits"), "%s", msg);
    st = load_text("{" TINY_UNIGRAM ", \"decoder\": {\"type\": \"WordPiece\"}}", msg, sizeof msg);
    cr_assert_eq(st, TX_ERR_UNSUPPORTED);
    cr_assert(strstr(msg, "decoder") && strstr(msg, "WordPiece"), "%s", msg);
    st = load_text("{" TINY_UNIGRAM ", \"post_processor\": {\"type\": \"Foo\"}}", msg, sizeof msg);
    cr_assert_eq(st, TX_ERR_UNSUPPORTED);
    cr_assert(strstr(msg, "post_processor") && strstr(msg, "Foo"), "%s", msg);
}

Test(tokenizer_json, malformed_json_reports_line_and_column)
{
    char msg[512];
    tx_status st = load_text("{\"model\": {\"type\": \"Unigram\",\n  \"vocab\": [[\"a\" 1.0]]}}",
                             msg, sizeof msg);
    cr_assert_eq(st, TX_ERR_FORMAT);
    cr_assert(strstr(msg, "tokenizer.json") && strstr(msg, "line 2"), "%s", msg);
}

Test(tokenizer_json, a_merge_outside_the_vocabulary_is_named)
{
    char msg[512];
    tx_status st = load_text("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, "
                             "\"merges\": [\"a b\"]}}",
                             msg, sizeof msg);
    cr_assert_eq(st, TX_ERR_FORMAT);
    cr_assert(strstr(msg, "model.merges[0]"), "%s", msg);
}

Test(tokenizer_json, a_bad_charsmap_is_named)
{
    char msg[512];
    tx_status st = load_text("{" TINY_UNIGRAM ", \"normalizer\": {\"type\": \"Precompiled\", "
                             "\"precompiled_charsmap\": \"/////wAAAAA=\"}}",
                             msg, sizeof msg);
    cr_assert_eq(st, TX_ERR_FORMAT);
    cr_assert(strstr(msg, "precompiled_charsmap"), "%s", msg);
    st = load_text("{" TINY_UNIGRAM ", \"normalizer\": {\"type\": \"Precompiled\", "
                   "\"precompiled_charsmap\": \"not base64!\"}}",
                   msg, sizeof msg);
    cr_assert_eq(st, TX_ERR_FORMAT);
    cr_assert(strstr(msg, "base64"), "%s", msg);
}

Test(tokenizer_json, a_minimal_bpe_with_unknowns_and_byte_fallback_encodes)
{
    char msg[512];
    (void)msg;
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/tok_json_bpe_%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    /* "a b" -> "ab", "ab c" -> "abc"; <unk> fused; "é" has byte pieces */
    fputs("{\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true, "
          "\"byte_fallback\": true, \"vocab\": {\"<unk>\": 0, \"a\": 1, \"b\": 2, \"c\": 3, "
          "\"ab\": 4, "
          "\"abc\": 5, \"<0xC3>\": 6, \"<0xA9>\": 7}, \"merges\": [\"a b\", \"ab c\"]},"
          " \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"ByteFallback\"}, "
          "{\"type\": \"Fuse\"}]}}",
          f);
    fclose(f);
    tx_tokenizer *tok = NULL;
    struct tx_error err = {0};
    cr_assert_eq(tx_tokenizer_load(dir, &tok, &err), TX_OK, "%s", err.message);
    unlink(path);
    rmdir(dir);
    struct tx_encoding enc;
    const char *text = "abcab\xC3\xA9xyza";
    cr_assert_eq(tx_tokenizer_encode(tok, text, strlen(text), TX_SIDE_SOURCE, &enc, &err), TX_OK,
                 "%s", err.message);
    const int32_t want[] = {5, 4, 6, 7, 0, 1};
    cr_assert_eq(enc.n_ids, 6);
    for (int i = 0; i < 6; i++)
        cr_expect_eq(enc.ids[i], want[i], "ids[%d] = %d", i, enc.ids[i]);
    char *out = NULL;
    cr_assert_eq(tx_tokenizer_decode(tok, enc.ids, enc.n_ids, 1, &out, &err), TX_OK);
    cr_expect_str_eq(out, "abcab\xC3\xA9<unk>a");
    free(out);
    tx_encoding_free(&enc);
    tx_tokenizer_free(tok);
}

/* Encodes text with a folder holding only tokenizer.json = json; writes the ids to ids. */
static int encode_with(const char *json, const char *text, int32_t *ids, char *decoded,
                       size_t dsize)
{
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/tok_json_ms_%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(json, f);
    fclose(f);
    tx_tokenizer *tok = NULL;
    struct tx_error err = {0};
    cr_assert_eq(tx_tokenizer_load(dir, &tok, &err), TX_OK, "%s", err.message);
    unlink(path);
    rmdir(dir);
    struct tx_encoding enc;
    cr_assert_eq(tx_tokenizer_encode(tok, text, strlen(text), TX_SIDE_SOURCE, &enc, &err), TX_OK);
    int n = enc.n_ids;
    memcpy(ids, enc.ids, sizeof(int32_t) * (size_t)n);
    char *out = NULL;
    cr_assert_eq(tx_tokenizer_decode(tok, enc.ids, enc.n_ids, 1, &out, &err), TX_OK);
    snprintf(decoded, dsize, "%s", out);
    free(out);
    tx_encoding_free(&enc);
    tx_tokenizer_free(tok);
    return n;
}

#define MS_VOCAB                                                                                   \
    "\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0], "               \
    "[\"\\u2581a\", -1],"                                                                          \
    " [\"a\", -1], [\"\\u2581\", -2], [\"b\", -1], [\"\\u2581b\", -1]]}"

Test(tokenizer_json, metaspace_prepend_schemes_of_old_and_new_files)
{
    int32_t ids[16];
    char text[64];
    /* old files: add_prefix_space true -> "▁a▁b" */
    int n =
        encode_with("{" MS_VOCAB ", \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": "
                    "\"\\u2581\", \"add_prefix_space\": true}, \"decoder\": {\"type\": "
                    "\"Metaspace\", \"replacement\": \"\\u2581\", \"add_prefix_space\": true}}",
                    "a b", ids, text, sizeof text);
    cr_assert_eq(n, 2);
    cr_expect(ids[0] == 1 && ids[1] == 5);
    cr_expect_str_eq(text, "a b");
    /* new files: prepend_scheme never (no add_prefix_space key) -> "a▁b" */
    n = encode_with("{" MS_VOCAB ", \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": "
                    "\"\\u2581\", \"prepend_scheme\": \"never\", \"split\": true}, \"decoder\": "
                    "{\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": "
                    "\"never\", \"split\": true}}",
                    "a b", ids, text, sizeof text);
    cr_assert_eq(n, 2);
    cr_expect(ids[0] == 2 && ids[1] == 5);
    cr_expect_str_eq(text, "a b");
}

/* continuing_subword_prefix: a merge's result is left + right without the right part's prefix
 * ("h" + "##e" = "he"), as Hugging Face tokenizers' BPE builder makes it. Expected ids derived
 * by hand from the merge ranks: "hello" h ##e ##l ##l ##o -> he -> ##ll -> hell -> hello;
 * "well" w ##e ##l ##l -> we -> ##ll -> well; "hex" stops at he ##x. */
#define PREFIX_BPE(MERGE0)                                                                         \
    "{\"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, \"model\": {\"type\": \"BPE\", "         \
    "\"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": \"##\", \"vocab\": {\"[UNK]\": 0, "   \
    "\"h\": 1, \"w\": 2, \"##e\": 3, \"##l\": 4, \"##o\": 5, \"##x\": 6, \"he\": 7, \"##ll\": 8, "  \
    "\"hell\": 9, \"hello\": 10, \"we\": 11, \"well\": 12, \"h##e\": 13}, \"merges\": [" MERGE0     \
    ", \"##l ##l\", \"he ##ll\", \"hell ##o\", \"w ##e\", \"we ##ll\"]}}"

Test(tokenizer_json, merges_with_a_subword_prefix_join_without_it)
{
    int32_t ids[16];
    char decoded[64];
    int n = encode_with(PREFIX_BPE("\"h ##e\""), "hello well hex", ids, decoded, sizeof decoded);
    const int32_t want[] = {10, 12, 7, 6};
    cr_assert_eq(n, 4, "%d ids", n);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(ids[i], want[i], "ids[%d] = %d, expected %d", i, ids[i], want[i]);
    /* a file whose results keep the prefix ("h##e") does not describe Hugging Face's merges:
     * "he ##ll" then names a left part the first merge never makes; with "he" absent the
     * first merge itself is refused, naming it */
    char msg[512];
    const char *bad = "{\"model\": {\"type\": \"BPE\", \"continuing_subword_prefix\": \"##\", "
                      "\"vocab\": {\"h\": 0, \"##e\": 1, \"h##e\": 2}, \"merges\": [\"h ##e\"]}}";
    cr_assert_eq(load_text(bad, msg, sizeof msg), TX_ERR_FORMAT);
    cr_expect(strstr(msg, "model.merges[0]") && strstr(msg, "not in the vocabulary"), "%s", msg);
}
