/* test_tokenizer_corrupt.c — corrupt, truncated and inconsistent tokenizer files: each gives a
 * clear error naming the file and what is wrong (never a crash): SentencePiece protobufs built
 * here field by field, truncations and bit flips of a real model, a garbage charsmap, broken
 * vocab.json / merges.txt / tokenizer_config.json, missing files. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "tok_spm.h"
#include "tx.h"

/* ---- a tiny protobuf writer ---- */

struct pb {
    unsigned char *d;
    size_t n, cap;
};

static void pb_byte(struct pb *p, unsigned char c)
{
    if (p->n + 1 > p->cap) {
        p->cap = p->cap ? p->cap * 2 : 256;
        p->d = realloc(p->d, p->cap);
        cr_assert(p->d);
    }
    p->d[p->n++] = c;
}

static void pb_varint(struct pb *p, uint64_t v)
{
    do {
        unsigned char c = v & 0x7F;
        v >>= 7;
        pb_byte(p, (unsigned char)(c | (v ? 0x80 : 0)));
    } while (v);
}

static void pb_key(struct pb *p, unsigned field, unsigned wt)
{
    pb_varint(p, (uint64_t)field << 3 | wt);
}

static void pb_bytes(struct pb *p, unsigned field, const void *s, size_t n)
{
    pb_key(p, field, 2);
    pb_varint(p, n);
    for (size_t i = 0; i < n; i++)
        pb_byte(p, ((const unsigned char *)s)[i]);
}

static void pb_str(struct pb *p, unsigned field, const char *s)
{
    pb_bytes(p, field, s, strlen(s));
}

static void pb_float(struct pb *p, unsigned field, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    pb_key(p, field, 5);
    for (int i = 0; i < 4; i++)
        pb_byte(p, (unsigned char)(u >> (8 * i)));
}

static void pb_int(struct pb *p, unsigned field, uint64_t v)
{
    pb_key(p, field, 0);
    pb_varint(p, v);
}

/* Appends a ModelProto.pieces entry. type 0 = leave the field out (NORMAL). */
static void add_piece(struct pb *m, const char *piece, float score, int type)
{
    struct pb sp = {0};
    pb_str(&sp, 1, piece);
    pb_float(&sp, 2, score);
    if (type) pb_int(&sp, 3, (uint64_t)type);
    pb_bytes(m, 1, sp.d, sp.n);
    free(sp.d);
}

/* A small valid unigram model: <unk>, <s>, </s>, then a few pieces. */
static struct pb base_model(void)
{
    struct pb m = {0};
    add_piece(&m, "<unk>", 0, SPM_UNKNOWN);
    add_piece(&m, "<s>", 0, SPM_CONTROL);
    add_piece(&m, "</s>", 0, SPM_CONTROL);
    add_piece(&m, "\xE2\x96\x81", -1.0f, 0);
    add_piece(&m, "a", -2.0f, 0);
    add_piece(&m, "b", -2.5f, 0);
    add_piece(&m,
              "\xE2\x96\x81"
              "ab",
              -3.0f, 0);
    return m;
}

/* Loads bytes as a model; returns status and message. Takes no ownership of p. */
static tx_status load_bytes(const unsigned char *d, size_t n, char *msg, size_t msg_size)
{
    char *copy = malloc(n ? n : 1);
    cr_assert(copy);
    if (n) memcpy(copy, d, n);
    struct tok_spm m;
    struct tx_error err = {0};
    tx_status st = tok_spm_load_buffer(&m, copy, n, "test.model", &err);
    if (st == TX_OK) {
        /* a model that loads must also encode without trouble */
        struct tok_spm_encoding enc;
        memset(&enc, 0, sizeof enc);
        const char *text = "ab ba  \xC3\xA9 \xE2\x96\x81x";
        cr_assert_eq(tok_spm_encode(&m, text, strlen(text), &enc, &err), TX_OK, "%s", err.message);
        tok_spm_encoding_free(&enc);
        tok_spm_free(&m);
    }
    snprintf(msg, msg_size, "%s", st ? err.message : "");
    return st;
}

static void expect_error(struct pb *m, tx_status want, const char *fragment)
{
    char msg[600];
    tx_status st = load_bytes(m->d, m->n, msg, sizeof msg);
    cr_assert_eq(st, want, "status %d, message: %s", st, msg);
    cr_assert(strstr(msg, "test.model"), "the file is not named: %s", msg);
    cr_assert(strstr(msg, fragment), "'%s' does not mention '%s'", msg, fragment);
    free(m->d);
}

Test(tok_corrupt, the_synthetic_base_model_loads_and_encodes)
{
    struct pb m = base_model();
    char msg[600];
    cr_assert_eq(load_bytes(m.d, m.n, msg, sizeof msg), TX_OK, "%s", msg);
    free(m.d);
}

Test(tok_corrupt, an_empty_file_is_not_a_model)
{
    struct pb m = {0};
    pb_byte(&m, 0);
    m.n = 0;
    expect_error(&m, TX_ERR_FORMAT, "empty");
}

Test(tok_corrupt, a_duplicate_piece_is_named)
{
    struct pb m = base_model();
    add_piece(&m, "a", -5.0f, 0);
    expect_error(&m, TX_ERR_FORMAT, "already defined");
}

Test(tok_corrupt, a_model_without_unk_is_refused)
{
    struct pb m = {0};
    add_piece(&m, "a", -1.0f, 0);
    expect_error(&m, TX_ERR_FORMAT, "unk is not defined");
}

Test(tok_corrupt, two_unknown_pieces_are_refused)
{
    struct pb m = base_model();
    add_piece(&m, "<unk2>", 0, SPM_UNKNOWN);
    expect_error(&m, TX_ERR_FORMAT, "unk is already defined");
}

Test(tok_corrupt, an_empty_piece_is_named)
{
    struct pb m = base_model();
    add_piece(&m, "", -1.0f, 0);
    expect_error(&m, TX_ERR_FORMAT, "pieces[7] is empty");
}

Test(tok_corrupt, a_piece_that_is_not_utf8_is_named)
{
    struct pb m = base_model();
    add_piece(&m, "\xC3", -1.0f, 0);
    expect_error(&m, TX_ERR_FORMAT, "pieces[7] is not valid UTF-8");
}

Test(tok_corrupt, a_byte_piece_needs_byte_fallback)
{
    struct pb m = base_model();
    add_piece(&m, "<0x41>", 0, SPM_BYTE);
    expect_error(&m, TX_ERR_FORMAT, "byte_fallback is false");
}

Test(tok_corrupt, byte_fallback_needs_all_256_byte_pieces)
{
    struct pb m = base_model();
    add_piece(&m, "<0x41>", 0, SPM_BYTE);
    struct pb t = {0};
    pb_int(&t, 35, 1); /* byte_fallback */
    pb_bytes(&m, 2, t.d, t.n);
    free(t.d);
    expect_error(&m, TX_ERR_FORMAT, "not 256");
}

Test(tok_corrupt, word_and_char_models_are_unsupported)
{
    struct pb m = base_model();
    struct pb t = {0};
    pb_int(&t, 3, SPM_MODEL_WORD);
    pb_bytes(&m, 2, t.d, t.n);
    free(t.d);
    expect_error(&m, TX_ERR_UNSUPPORTED, "WORD");
}

Test(tok_corrupt, a_field_with_the_wrong_wire_type_is_named)
{
    struct pb m = base_model();
    struct pb sp = {0};
    pb_int(&sp, 1, 7); /* piece as a varint */
    pb_bytes(&m, 1, sp.d, sp.n);
    free(sp.d);
    expect_error(&m, TX_ERR_FORMAT, "pieces[7].piece: unexpected wire type");
}

Test(tok_corrupt, a_varint_longer_than_ten_bytes_is_refused)
{
    struct pb m = base_model();
    pb_key(&m, 99, 0);
    for (int i = 0; i < 11; i++)
        pb_byte(&m, 0xFF);
    pb_byte(&m, 0);
    expect_error(&m, TX_ERR_FORMAT, "varint longer than 10 bytes");
}

Test(tok_corrupt, protobuf_groups_are_unsupported)
{
    struct pb m = base_model();
    pb_key(&m, 7, 3);
    expect_error(&m, TX_ERR_UNSUPPORTED, "groups");
}

Test(tok_corrupt, a_length_past_the_end_is_named_with_its_offset)
{
    struct pb m = base_model();
    size_t at = m.n;
    pb_key(&m, 1, 2);
    pb_varint(&m, 1000);
    pb_byte(&m, 'x');
    char want[64];
    snprintf(want, sizeof want, "byte %zu: pieces[7]: length 1000 runs past", at + 1);
    expect_error(&m, TX_ERR_FORMAT, want);
}

Test(tok_corrupt, a_charsmap_larger_than_its_blob_is_named)
{
    struct pb m = base_model();
    unsigned char blob[12] = {0xFF, 0xFF, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8};
    struct pb ns = {0};
    pb_bytes(&ns, 2, blob, sizeof blob);
    pb_bytes(&m, 3, ns.d, ns.n);
    free(ns.d);
    expect_error(&m, TX_ERR_FORMAT, "normalizer_spec.precompiled_charsmap");
}

Test(tok_corrupt, a_garbage_charsmap_never_reads_out_of_bounds)
{
    uint64_t rng = 77;
    for (int it = 0; it < 300; it++) {
        struct pb m = base_model();
        size_t units = 1 + tu_rand_u64(&rng) % 64, norm = tu_rand_u64(&rng) % 32;
        size_t size = 4 + 4 * units + norm;
        unsigned char *blob = malloc(size);
        uint32_t ts = (uint32_t)(4 * units);
        memcpy(blob, &ts, 4); /* little-endian hosts only, as the format itself */
        for (size_t i = 4; i < size; i++)
            blob[i] = (unsigned char)tu_rand_u64(&rng);
        struct pb ns = {0};
        pb_bytes(&ns, 2, blob, size);
        pb_bytes(&m, 3, ns.d, ns.n);
        free(ns.d);
        free(blob);
        char msg[600];
        tx_status st = load_bytes(m.d, m.n, msg, sizeof msg); /* encodes when it loads */
        cr_assert(st == TX_OK || st == TX_ERR_FORMAT, "%s", msg);
        free(m.d);
    }
}

Test(tok_corrupt, truncations_and_bit_flips_of_a_real_model_fail_cleanly)
{
    size_t n;
    char *data = tu_read_file("tests/fixtures/tokenizers/t5/spiece.model", &n);
    cr_assert(data);
    char msg[600];
    /* the last byte belongs to the last field: cutting it must be reported */
    cr_assert_eq(load_bytes((unsigned char *)data, n - 1, msg, sizeof msg), TX_ERR_FORMAT);
    cr_assert(strstr(msg, "runs past the end") || strstr(msg, "past the end"), "%s", msg);
    uint64_t rng = 99;
    for (int it = 0; it < 60; it++) {
        size_t cut = tu_rand_u64(&rng) % n;
        tx_status st = load_bytes((unsigned char *)data, cut, msg, sizeof msg);
        cr_assert(st == TX_OK || st == TX_ERR_FORMAT, "cut at %zu: %s", cut, msg);
    }
    unsigned char *copy = malloc(n);
    for (int it = 0; it < 60; it++) {
        memcpy(copy, data, n);
        for (int k = 0; k < 4; k++)
            copy[tu_rand_u64(&rng) % n] ^= (unsigned char)(1u << (tu_rand_u64(&rng) % 8));
        tx_status st = load_bytes(copy, n, msg, sizeof msg);
        cr_assert(st == TX_OK || st == TX_ERR_FORMAT || st == TX_ERR_UNSUPPORTED, "flip: %s", msg);
    }
    free(copy);
    free(data);
}

/* ---- tokenizer folders ---- */

static char dir_path[64];

static const char *make_dir(void)
{
    snprintf(dir_path, sizeof dir_path, "/tmp/tok_corrupt_%d", (int)getpid());
    mkdir(dir_path, 0700);
    return dir_path;
}

static void put_file(const char *name, const char *content, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir_path, name);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fwrite(content, 1, n, f);
    fclose(f);
}

static void copy_file(const char *src, const char *name)
{
    size_t n;
    char *d = tu_read_file(src, &n);
    cr_assert(d, "%s", src);
    put_file(name, d, n);
    free(d);
}

static void remove_dir(void)
{
    static const char *names[] = {"source.spm",
                                  "target.spm",
                                  "vocab.json",
                                  "merges.txt",
                                  "tokenizer_config.json",
                                  "spiece.model",
                                  "special_tokens_map.json"};
    char path[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir_path, names[i]);
        unlink(path);
    }
    rmdir(dir_path);
}

static tx_status load_dir(char *msg, size_t size)
{
    tx_tokenizer *tok = NULL;
    struct tx_error err = {0};
    tx_status st = tx_tokenizer_load(dir_path, &tok, &err);
    if (st == TX_OK) tx_tokenizer_free(tok);
    snprintf(msg, size, "%s", st ? err.message : "");
    return st;
}

#define MARIAN "tests/fixtures/tokenizers/marian-en-de/"

static void marian_dir(void)
{
    make_dir();
    copy_file(MARIAN "source.spm", "source.spm");
    copy_file(MARIAN "target.spm", "target.spm");
    copy_file(MARIAN "tokenizer_config.json", "tokenizer_config.json");
}

Test(tok_corrupt, a_folder_without_tokenizer_files_is_an_io_error)
{
    make_dir();
    char msg[600];
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_IO);
    cr_assert(strstr(msg, "no tokenizer files"), "%s", msg);
    remove_dir();
}

Test(tok_corrupt, a_missing_marian_file_is_named)
{
    marian_dir();
    char msg[600];
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_IO);
    cr_assert(strstr(msg, "vocab.json"), "%s", msg);
    remove_dir();
}

Test(tok_corrupt, a_vocab_json_that_is_not_json_reports_the_line)
{
    marian_dir();
    put_file("vocab.json", "{\n\"a\": 1,\n\"b\" 2}", 17);
    char msg[600];
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_FORMAT);
    cr_assert(strstr(msg, "vocab.json") && strstr(msg, "line 3"), "%s", msg);
    remove_dir();
}

Test(tok_corrupt, a_vocab_id_that_is_not_an_integer_is_named)
{
    marian_dir();
    const char *v = "{\"</s>\": 0, \"<unk>\": 1, \"x\": \"two\", \"<pad>\": 3}";
    put_file("vocab.json", v, strlen(v));
    char msg[600];
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_FORMAT);
    cr_assert(strstr(msg, "\"x\""), "%s", msg);
    remove_dir();
}

Test(tok_corrupt, a_marian_vocab_without_unk_is_refused)
{
    marian_dir();
    const char *v = "{\"</s>\": 0, \"<pad>\": 1}";
    put_file("vocab.json", v, strlen(v));
    char msg[600];
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_FORMAT);
    cr_assert(strstr(msg, "<unk>"), "%s", msg);
    remove_dir();
}

Test(tok_corrupt, a_broken_tokenizer_config_is_named)
{
    marian_dir();
    copy_file(MARIAN "vocab.json", "vocab.json");
    put_file("tokenizer_config.json", "{\"tokenizer_class\": ", 20);
    char msg[600];
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_FORMAT);
    cr_assert(strstr(msg, "tokenizer_config.json"), "%s", msg);
    remove_dir();
}

Test(tok_corrupt, a_corrupt_target_spm_is_named)
{
    marian_dir();
    copy_file(MARIAN "vocab.json", "vocab.json");
    put_file("target.spm", "\x0a\xff\xff\xff\x0f", 5);
    char msg[600];
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_FORMAT);
    cr_assert(strstr(msg, "target.spm"), "%s", msg);
    remove_dir();
}

Test(tok_corrupt, merges_that_are_not_utf8_are_named)
{
    make_dir();
    const char *v = "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3, \"a\": 4}";
    put_file("vocab.json", v, strlen(v));
    put_file("merges.txt", "#version: 0.2\na \xff\n", 17);
    char msg[600];
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_ENCODING);
    cr_assert(strstr(msg, "merges.txt") && strstr(msg, "byte 16"), "%s", msg);
    remove_dir();
}

Test(tok_corrupt, a_vocab_with_a_huge_id_is_refused_before_any_table_is_sized_by_it)
{
    /* fuzz_bpe_files's find: one id of 1,184,889,920 made the load allocate 9.5 GB of per-id
     * tables (byte-level BPE; the Marian vocabularies size theirs the same way) */
    make_dir();
    const char *v = "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3, \"a\": 1184889920}";
    put_file("vocab.json", v, strlen(v));
    put_file("merges.txt", "#version: 0.2\n", 14);
    char msg[600];
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_FORMAT);
    cr_assert(strstr(msg, "vocab.json") && strstr(msg, "\"a\"") && strstr(msg, "2^22"), "%s", msg);
    remove_dir();
    marian_dir();
    put_file("vocab.json", v, strlen(v));
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_FORMAT);
    cr_assert(strstr(msg, "\"a\"") && strstr(msg, "2^22"), "%s", msg);
    remove_dir();
    /* the same through tokenizer_config.json's added_tokens_decoder (23 GB before) */
    make_dir();
    const char *ok = "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3, \"a\": 4}";
    put_file("vocab.json", ok, strlen(ok));
    put_file("merges.txt", "#version: 0.2\n", 14);
    const char *cfg = "{\"tokenizer_class\": \"BartTokenizer\", \"added_tokens_decoder\": "
                      "{\"2000000000\": {\"content\": \"<x>\", \"special\": true}}}";
    put_file("tokenizer_config.json", cfg, strlen(cfg));
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_FORMAT);
    cr_assert(strstr(msg, "added_tokens_decoder.2000000000") && strstr(msg, "2^22"), "%s", msg);
    remove_dir();
}

Test(tok_corrupt, t5_sentinel_counts_that_disagree_are_refused)
{
    make_dir();
    copy_file("tests/fixtures/tokenizers/t5/spiece.model", "spiece.model");
    const char *c = "{\"tokenizer_class\": \"T5Tokenizer\", \"extra_ids\": 3, "
                    "\"additional_special_tokens\": [\"<extra_id_0>\"]}";
    put_file("tokenizer_config.json", c, strlen(c));
    char msg[600];
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_FORMAT);
    cr_assert(strstr(msg, "extra_ids"), "%s", msg);
    remove_dir();
}

Test(tok_corrupt, an_unknown_tokenizer_class_is_unsupported)
{
    make_dir();
    const char *c = "{\"tokenizer_class\": \"BertTokenizer\"}";
    put_file("tokenizer_config.json", c, strlen(c));
    char msg[600];
    cr_assert_eq(load_dir(msg, sizeof msg), TX_ERR_UNSUPPORTED);
    cr_assert(strstr(msg, "BertTokenizer"), "%s", msg);
    remove_dir();
}
