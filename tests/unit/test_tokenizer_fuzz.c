/* test_tokenizer_fuzz.c — random bytes, random valid UTF-8 (with special-token text mixed in)
 * and random id lists through every tokenizer, with fixed seeds: no crash, no sanitizer report,
 * errors only where they belong (invalid UTF-8 at the first bad byte, ids outside the vocabulary),
 * and outputs that keep their invariants (ids in range, offsets inside the text, UTF-8 text). */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "testutil.h"
#include "tok_spm.h"
#include "tx.h"

/* First invalid byte according to utf8proc (an independent decoder), or n. */
static size_t first_invalid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t l =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (l <= 0) return i;
        i += (size_t)l;
    }
    return n;
}

static int is_utf8(const char *s, size_t n)
{
    return first_invalid(s, n) == n;
}

/* Random code point from a mix of scripts, marks, controls, spaces and odd planes. */
static uint32_t rand_cp(uint64_t *rng)
{
    static const uint32_t ranges[][2] = {
        {0x20, 0x7E},       {0x00, 0x1F},        {0x7F, 0xFF},       {0x300, 0x36F},
        {0x370, 0x3FF},     {0x400, 0x4FF},      {0x590, 0x6FF},     {0x900, 0x97F},
        {0xE00, 0xE7F},     {0x1100, 0x11FF},    {0x2000, 0x206F},   {0x2100, 0x22FF},
        {0x2580, 0x259F},   {0x3000, 0x30FF},    {0x4E00, 0x4FFF},   {0xAC00, 0xACFF},
        {0xE000, 0xE0FF},   {0xFB00, 0xFB4F},    {0xFE00, 0xFE0F},   {0xFF00, 0xFFEF},
        {0xFFF0, 0xFFFF},   {0x1D400, 0x1D4FF},  {0x1F300, 0x1F6FF}, {0x1F900, 0x1F9FF},
        {0xE0000, 0xE007F}, {0x10FFF0, 0x10FFFF}};
    size_t k = tu_rand_u64(rng) % (sizeof ranges / sizeof ranges[0]);
    if (tu_rand_u64(rng) % 3 == 0) k = 0; /* plenty of ASCII */
    uint32_t cp = ranges[k][0] + (uint32_t)(tu_rand_u64(rng) % (ranges[k][1] - ranges[k][0] + 1));
    return cp;
}

static size_t rand_text(uint64_t *rng, char *buf, size_t cap)
{
    static const char *specials[] = {
        "</s>",   "<unk>",        "<pad>",        "<s>", "<mask>", "<extra_id_0>", "<extra_id_99>",
        ">>de<<", "\xE2\x96\x81", "<0x41>",       "  ",  "\n",     "\t",           "'s",
        "Hello",  "\xC4\xA0",     "<extra_id_5>x"};
    size_t n = 0, target = tu_rand_u64(rng) % 120;
    while (n < target && n + 16 < cap) {
        if (tu_rand_u64(rng) % 8 == 0) {
            const char *s = specials[tu_rand_u64(rng) % (sizeof specials / sizeof specials[0])];
            size_t l = strlen(s);
            if (n + l >= cap) break;
            memcpy(buf + n, s, l);
            n += l;
            continue;
        }
        utf8proc_int32_t cp = (utf8proc_int32_t)rand_cp(rng);
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        n += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)buf + n);
    }
    return n;
}

static void check_encoding(const tx_tokenizer *tok, const char *text, size_t len,
                           const struct tx_encoding *enc)
{
    int vocab = tx_tokenizer_vocab_size(tok);
    for (int i = 0; i < enc->n_ids; i++) {
        cr_assert(enc->ids[i] >= 0 && enc->ids[i] < vocab, "id %d outside [0, %d) for \"%.40s\"",
                  enc->ids[i], vocab, text);
        cr_assert_leq(enc->offsets[2 * i], enc->offsets[2 * i + 1]);
        cr_assert_leq(enc->offsets[2 * i + 1], len);
    }
}

static void fuzz_tokenizer(const tx_tokenizer *tok, uint64_t seed, int iters)
{
    uint64_t rng = seed;
    char buf[2048];
    struct tx_error err = {0};
    for (int it = 0; it < iters; it++) {
        /* random bytes: OK exactly when valid UTF-8, else the first bad byte is named */
        size_t n = tu_rand_u64(&rng) % 200;
        for (size_t i = 0; i < n; i++) {
            uint64_t r = tu_rand_u64(&rng);
            buf[i] = (char)(r % 4 == 0   ? 0x80 + r % 0x80
                            : r % 3 == 0 ? 0xC0 + r % 0x40
                                         : 0x20 + r % 0x60);
        }
        struct tx_encoding enc;
        size_t bad = first_invalid(buf, n);
        tx_side side = (tx_side)(it & 1);
        tx_status st = tx_tokenizer_encode(tok, buf, n, side, &enc, &err);
        if (bad == n) {
            cr_assert_eq(st, TX_OK, "valid UTF-8 rejected: %s", err.message);
            check_encoding(tok, buf, n, &enc);
            tx_encoding_free(&enc);
        } else {
            char want[64];
            snprintf(want, sizeof want, "at byte %zu", bad);
            cr_assert_eq(st, TX_ERR_ENCODING);
            cr_assert(strstr(err.message, want), "'%s' should name byte %zu", err.message, bad);
        }

        /* random valid UTF-8 with special-token text: encodes; its ids decode to UTF-8 */
        n = rand_text(&rng, buf, sizeof buf);
        st = tx_tokenizer_encode(tok, buf, n, side, &enc, &err);
        cr_assert_eq(st, TX_OK, "%s", err.message);
        check_encoding(tok, buf, n, &enc);
        for (int skip = 0; skip < 2; skip++) {
            char *text = NULL;
            cr_assert_eq(tx_tokenizer_decode(tok, enc.ids, enc.n_ids, skip, &text, &err), TX_OK,
                         "%s", err.message);
            cr_assert(is_utf8(text, strlen(text)));
            free(text);
        }
        tx_encoding_free(&enc);

        /* random id lists decode to UTF-8; one id out of range is an error */
        int32_t ids[40];
        int m = (int)(tu_rand_u64(&rng) % 40);
        int vocab = tx_tokenizer_vocab_size(tok);
        for (int i = 0; i < m; i++)
            ids[i] = (int32_t)(tu_rand_u64(&rng) % (uint64_t)vocab);
        char *text = NULL;
        cr_assert_eq(tx_tokenizer_decode(tok, ids, m, (int)(it % 2), &text, &err), TX_OK, "%s",
                     err.message);
        cr_assert(is_utf8(text, strlen(text)));
        free(text);
        char piece[64];
        for (int i = 0; i < m; i++) {
            size_t need = tx_tokenizer_display_piece(tok, ids[i], piece, sizeof piece);
            cr_assert(strlen(piece) < sizeof piece && strlen(piece) <= need);
            cr_assert(is_utf8(piece, strlen(piece)), "display piece of %d is not UTF-8", ids[i]);
        }
        if (m > 0) {
            ids[tu_rand_u64(&rng) % (uint64_t)m] = (it & 1) ? vocab : -1;
            cr_assert_eq(tx_tokenizer_decode(tok, ids, m, 1, &text, &err), TX_ERR_INVALID);
        }
    }
}

static tx_tokenizer *load(const char *dir)
{
    tx_tokenizer *tok = NULL;
    struct tx_error err = {0};
    cr_assert_eq(tx_tokenizer_load(dir, &tok, &err), TX_OK, "%s: %s", dir, err.message);
    return tok;
}

#define ITERS 1500

Test(tokenizer_fuzz, marian_survives_random_input)
{
    tx_tokenizer *tok = load("tests/fixtures/tokenizers/marian-en-de");
    fuzz_tokenizer(tok, 0x1234, ITERS);
    tx_tokenizer_free(tok);
}

Test(tokenizer_fuzz, t5_survives_random_input)
{
    tx_tokenizer *tok = load("tests/fixtures/tokenizers/t5");
    fuzz_tokenizer(tok, 0x5678, ITERS);
    tx_tokenizer_free(tok);
}

Test(tokenizer_fuzz, case_folding_t5_without_sentinels_survives_random_input)
{
    tx_tokenizer *tok = load("tests/fixtures/tokenizers/t5-cf");
    fuzz_tokenizer(tok, 0x7777, ITERS);
    tx_tokenizer_free(tok);
}

Test(tokenizer_fuzz, t5_tokenizer_json_survives_random_input)
{
    tx_tokenizer *tok = load("tests/fixtures/tokenizers/t5-json");
    fuzz_tokenizer(tok, 0x9abc, ITERS);
    tx_tokenizer_free(tok);
}

Test(tokenizer_fuzz, bart_survives_random_input)
{
    const char *shared = tu_shared_fixtures();
    if (!shared) TU_SKIP("SKIP: ../shared/fixtures is absent (BART vocab.json/merges.txt)");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tokenizers/bart", shared);
    tx_tokenizer *tok = load(dir);
    fuzz_tokenizer(tok, 0xdef0, ITERS);
    tx_tokenizer_free(tok);
}

Test(tokenizer_fuzz, sentencepiece_models_survive_random_input)
{
    static const char *names[] = {"uni_bf", "bpe_rules", "uni_raw", "bpe_bf", "uni_suffix"};
    uint64_t rng = 0x4242;
    char buf[2048];
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char path[128];
        snprintf(path, sizeof path, "tests/fixtures/tokenizers/spm/%s.model", names[k]);
        struct tok_spm m;
        struct tx_error err = {0};
        cr_assert_eq(tok_spm_load(&m, path, &err), TX_OK, "%s", err.message);
        struct tok_spm_encoding enc;
        memset(&enc, 0, sizeof enc);
        for (int it = 0; it < 600; it++) {
            size_t n = rand_text(&rng, buf, sizeof buf);
            cr_assert_eq(tok_spm_encode(&m, buf, n, &enc, &err), TX_OK, "%s", err.message);
            struct spm_bytes pieces[512];
            size_t np = enc.n_pieces < 512 ? enc.n_pieces : 512;
            for (size_t i = 0; i < np; i++) {
                cr_assert(enc.pieces[i].id >= 0 && enc.pieces[i].id < tok_spm_n_pieces(&m));
                cr_assert_leq(enc.pieces[i].oe, n);
                pieces[i] = tok_spm_id_to_piece(&m, enc.pieces[i].id);
            }
            struct txi_buf out = {0};
            cr_assert_eq(tok_spm_decode_pieces(&m, pieces, np, &out, &err), TX_OK);
            cr_assert(is_utf8(out.data ? out.data : "", out.len));
            txi_buf_free(&out);
        }
        tok_spm_encoding_free(&enc);
        tok_spm_free(&m);
    }
}

Test(tokenizer_fuzz, huge_input_is_refused_before_it_is_read)
{
    tx_tokenizer *tok = load("tests/fixtures/tokenizers/t5");
    struct tx_encoding enc;
    struct tx_error err = {0};
    char small[8] = "abc";
    /* the length alone exceeds the limit: nothing of it may be touched */
    cr_assert_eq(tx_tokenizer_encode(tok, small, (size_t)1 << 40, TX_SIDE_SOURCE, &enc, &err),
                 TX_ERR_TOO_LONG);
    cr_assert(strstr(err.message, "exceeds"), "%s", err.message);
    tx_tokenizer_free(tok);
}

Test(tokenizer_fuzz, a_megabyte_without_spaces_encodes)
{
    static const char *dirs[] = {"tests/fixtures/tokenizers/marian-en-de",
                                 "tests/fixtures/tokenizers/t5",
                                 "tests/fixtures/tokenizers/t5-json"};
    size_t n = (size_t)1 << 20;
    char *s = malloc(n);
    for (size_t i = 0; i < n; i++)
        s[i] = "abcdefghij"[i % 10];
    for (size_t k = 0; k < 3; k++) {
        tx_tokenizer *tok = load(dirs[k]);
        struct tx_encoding enc;
        struct tx_error err = {0};
        cr_assert_eq(tx_tokenizer_encode(tok, s, n, TX_SIDE_SOURCE, &enc, &err), TX_OK, "%s",
                     err.message);
        cr_assert_gt(enc.n_ids, 1000);
        check_encoding(tok, s, n, &enc);
        tx_encoding_free(&enc);
        tx_tokenizer_free(tok);
    }
    free(s);
}

/* ---- very long input in linear time ------------------------------------------------------ */

static double thread_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* n random lower-case letters: one word with no space, the worst case for segmentation (one
 * lattice / one BPE merge sequence over the whole input). */
static char *long_word(size_t n)
{
    char *s = malloc(n);
    cr_assert_not_null(s);
    uint64_t rng = 0xabcdef;
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + tu_rand_u64(&rng) % 26);
    return s;
}

/* Best-of-two thread CPU seconds to encode s (n bytes) with tok, or with the bare
 * SentencePiece model spm when tok is NULL. */
static double encode_seconds(const tx_tokenizer *tok, const struct tok_spm *spm, const char *s,
                             size_t n)
{
    double best = 1e30;
    for (int r = 0; r < 2; r++) {
        struct tx_error err = {0};
        double t0 = thread_cpu_s();
        if (tok) {
            struct tx_encoding enc;
            cr_assert_eq(tx_tokenizer_encode(tok, s, n, TX_SIDE_SOURCE, &enc, &err), TX_OK, "%s",
                         err.message);
            double t = thread_cpu_s() - t0;
            cr_assert_gt(enc.n_ids, (int)(n / 64));
            tx_encoding_free(&enc);
            if (t < best) best = t;
        } else {
            struct tok_spm_encoding enc;
            memset(&enc, 0, sizeof enc);
            cr_assert_eq(tok_spm_encode(spm, s, n, &enc, &err), TX_OK, "%s", err.message);
            double t = thread_cpu_s() - t0;
            tok_spm_encoding_free(&enc);
            if (t < best) best = t;
        }
    }
    return best;
}

/* A 16x longer single word may take at most 64x the time: linear (16x) or n log n (~20x) pass,
 * a quadratic algorithm (256x) fails by a wide margin even on a loaded machine. */
static void assert_linear(const char *what, const tx_tokenizer *tok, const struct tok_spm *spm)
{
    size_t small = (size_t)1 << 15, large = (size_t)1 << 19;
    char *s = long_word(large);
    encode_seconds(tok, spm, s, small); /* warm caches */
    double ts = encode_seconds(tok, spm, s, small), tl = encode_seconds(tok, spm, s, large);
    double floor_s = 2e-4; /* a clock-resolution floor for the short input */
    double ratio = tl / (ts > floor_s ? ts : floor_s);
    fprintf(stderr, "linear time: %s: %zu bytes %.2f ms, %zu bytes %.2f ms (x%.1f)\n", what, small,
            ts * 1e3, large, tl * 1e3, ratio);
    cr_expect_lt(ratio, 64.0, "%s: 16x the input took %.0fx the time (%.2f ms -> %.2f ms)", what,
                 ratio, ts * 1e3, tl * 1e3);
    free(s);
}

/* The test measures the tokenizers' algorithms, not the kernel: with glibc's defaults, buffers
 * over 128 KB are mmap'd and given back at free, so every encode of the large input faults its
 * pages in again, which in some sandboxes costs 7x the encoding itself (measured: t5 512 KB in
 * 114 ms this way, 20 ms with the thresholds below; 32 KB in 1.2 ms either way). Keeping freed
 * memory in the process makes both sizes pay the same per byte. */
static void keep_freed_memory(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

Test(tokenizer_fuzz, a_long_single_word_encodes_in_linear_time, .timeout = 300,
     .init = keep_freed_memory)
{
    static const char *dirs[] = {
        "tests/fixtures/tokenizers/marian-en-de", "tests/fixtures/tokenizers/t5",
        "tests/fixtures/tokenizers/t5-json", "tests/fixtures/tokenizers/t5-cf"};
    for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
        tx_tokenizer *tok = load(dirs[k]);
        assert_linear(dirs[k], tok, NULL);
        tx_tokenizer_free(tok);
    }
    /* byte-level BPE (BART) and SentencePiece BPE: merges over one long word */
    static const char *bpe[] = {"tests/fixtures/tokenizers/spm/bpe_bf.model",
                                "tests/fixtures/tokenizers/spm/bpe_rules.model"};
    for (size_t k = 0; k < 2; k++) {
        struct tok_spm m;
        struct tx_error err = {0};
        cr_assert_eq(tok_spm_load(&m, bpe[k], &err), TX_OK, "%s", err.message);
        assert_linear(bpe[k], NULL, &m);
        tok_spm_free(&m);
    }
    const char *shared = tu_shared_fixtures();
    if (!shared) {
        fprintf(stderr, "SKIP: BART part (../shared/fixtures is absent)\n");
        return;
    }
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tokenizers/bart", shared);
    tx_tokenizer *tok = load(dir);
    assert_linear("bart (byte-level BPE)", tok, NULL);
    tx_tokenizer_free(tok);
}
