/* fuzz_tok.c — tokenizers: their files (tokenizer.json, a SentencePiece model protobuf,
 * vocab.json + merges.txt) fuzzed one at a time, and encode/decode of arbitrary bytes and ids
 * with the fixture tokenizers. Invariants: a failed load returns nothing and says why; every
 * encoding has ids inside the vocabulary and offsets inside the text, in order; encode fails
 * exactly on invalid UTF-8; decode fails exactly on ids outside the vocabulary; whatever
 * decodes is valid UTF-8. */
#include "fuzz.h"

#include <string.h>

#include "tx.h"

/* 1 when s[0..n) is valid UTF-8 (no overlongs, surrogates or code points over U+10FFFF). */
static int valid_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!k || i + k > n) return 0;
        uint32_t cp = k == 1 ? c : k == 2 ? c & 0x1F : k == 3 ? c & 0x0F : c & 0x07;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += k;
    }
    return 1;
}

/* Encodes and decodes text with tok, checking the invariants above. */
static void exercise(const tx_tokenizer *tok, const uint8_t *text, size_t n, tx_side side)
{
    struct tx_encoding enc;
    struct tx_error e;
    memset(&e, 0, sizeof e);
    tx_status st = tx_tokenizer_encode(tok, (const char *)text, n, side, &enc, &e);
    int utf8 = valid_utf8(text, n);
    FUZZ_CHECK((st == TX_ERR_ENCODING) == !utf8);
    if (st != TX_OK) {
        FUZZ_CHECK(e.message[0] != '\0');
        return;
    }
    int vocab = tx_tokenizer_vocab_size(tok);
    for (int i = 0; i < enc.n_ids; i++) {
        FUZZ_CHECK(enc.ids[i] >= 0 && enc.ids[i] < vocab);
        FUZZ_CHECK(enc.offsets[2 * i] <= enc.offsets[2 * i + 1] && enc.offsets[2 * i + 1] <= n);
    }
    char *out = NULL;
    for (int skip = 0; skip < 2; skip++) {
        FUZZ_CHECK(tx_tokenizer_decode(tok, enc.ids, enc.n_ids, skip, &out, &e) == TX_OK);
        FUZZ_CHECK(valid_utf8((const uint8_t *)out, strlen(out)));
        free(out);
    }
    tx_encoding_free(&enc);
}

/* Loads the tokenizer of fuzz_dir()/sub: a failure must say why; a success is exercised. */
static void load_and_exercise(const char *sub)
{
    char dir[512];
    fuzz_path(sub, dir, sizeof dir);
    tx_tokenizer *tok = NULL;
    struct tx_error e;
    memset(&e, 0, sizeof e);
    tx_status st = tx_tokenizer_load(dir, &tok, &e);
    FUZZ_CHECK((st == TX_OK) == (tok != NULL));
    if (st != TX_OK) {
        FUZZ_CHECK(e.status == st && e.message[0] != '\0');
        return;
    }
    static const char text[] = "Hello, world! Ünïcödé and <unk> </s> 12345 \xe2\x96\x81 ok.";
    exercise(tok, (const uint8_t *)text, sizeof text - 1, TX_SIDE_SOURCE);
    tx_tokenizer_free(tok);
}

int fuzz_tokenizer_json(const uint8_t *data, size_t size)
{
    FUZZ_CHECK(fuzz_write("tj/tokenizer.json", data, size) == 0);
    load_and_exercise("tj");
    return 0;
}

/* The model twice: as a T5 folder (spiece.model + tokenizer_config.json) and as a bare
 * spm.model with no tokenizer_config.json (the plain SentencePiece kind). */
int fuzz_spm_model(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) fuzz_copy("tests/fixtures/tokenizers/t5/tokenizer_config.json",
                          "spm/tokenizer_config.json"), ready = 1;
    FUZZ_CHECK(fuzz_write("spm/spiece.model", data, size) == 0);
    load_and_exercise("spm");
    FUZZ_CHECK(fuzz_write("spm-bare/spm.model", data, size) == 0);
    load_and_exercise("spm-bare");
    return 0;
}

/* vocab.json, a 0x00 byte, then merges.txt */
int fuzz_bpe_files(const uint8_t *data, size_t size)
{
    size_t n1, n2;
    const uint8_t *p2;
    fuzz_split(data, size, 0, &n1, &p2, &n2);
    FUZZ_CHECK(fuzz_write("bpe/vocab.json", data, n1) == 0);
    FUZZ_CHECK(fuzz_write("bpe/merges.txt", p2, n2) == 0);
    load_and_exercise("bpe");
    return 0;
}

/* The fixture tokenizers, loaded once. */
static const tx_tokenizer *fixture(int i)
{
    static const char *dirs[] = {"tests/fixtures/tokenizers/marian-en-de",
                                 "tests/fixtures/tokenizers/t5",
                                 "tests/fixtures/tokenizers/t5-json",
                                 "tests/fixtures/tokenizers/t5-cf"};
    static tx_tokenizer *toks[4];
    if (!toks[i]) {
        struct tx_error e;
        if (tx_tokenizer_load(dirs[i], &toks[i], &e) != TX_OK) {
            fprintf(stderr, "fuzz: %s: %s\n", dirs[i], e.message);
            abort();
        }
    }
    return toks[i];
}

/* byte 0: which tokenizer (and side); the rest: the text */
int fuzz_tokenize(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    exercise(fixture(data[0] % 4), data + 1, size - 1, (data[0] >> 2) & 1);
    return 0;
}

/* byte 0: which tokenizer and skip_special; the rest: little-endian int32 ids */
int fuzz_detokenize(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const tx_tokenizer *tok = fixture(data[0] % 4);
    int n = (int)((size - 1) / 4);
    int32_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    FUZZ_CHECK(ids != NULL);
    int in_range = 1, vocab = tx_tokenizer_vocab_size(tok);
    for (int i = 0; i < n; i++) {
        uint32_t u = (uint32_t)data[1 + 4 * i] | (uint32_t)data[2 + 4 * i] << 8 |
                     (uint32_t)data[3 + 4 * i] << 16 | (uint32_t)data[4 + 4 * i] << 24;
        ids[i] = (int32_t)u;
        in_range &= ids[i] >= 0 && ids[i] < vocab;
    }
    char *out = NULL;
    struct tx_error e;
    memset(&e, 0, sizeof e);
    tx_status st = tx_tokenizer_decode(tok, ids, n, (data[0] >> 2) & 1, &out, &e);
    FUZZ_CHECK((st == TX_OK) == in_range);
    if (st == TX_OK) {
        FUZZ_CHECK(valid_utf8((const uint8_t *)out, strlen(out)));
        free(out);
    } else {
        FUZZ_CHECK(st == TX_ERR_INVALID && e.message[0] != '\0');
    }
    free(ids);
    return 0;
}
