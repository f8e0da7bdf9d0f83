/* test_tokenizer_api.c — what the tokenizer API tells about a loaded tokenizer: kind detection
 * from the files, special ids (as transformers' *_token_id), vocabulary sizes (len(tokenizer)),
 * pieces, display labels for the UI, and the plain SentencePiece kind. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "tx.h"

static tx_tokenizer *load(const char *dir)
{
    tx_tokenizer *tok = NULL;
    struct tx_error err = {0};
    cr_assert_eq(tx_tokenizer_load(dir, &tok, &err), TX_OK, "%s: %s", dir, err.message);
    return tok;
}

static const char *display(const tx_tokenizer *tok, int32_t id)
{
    static char buf[128];
    tx_tokenizer_display_piece(tok, id, buf, sizeof buf);
    return buf;
}

Test(tokenizer_api, marian_special_ids_and_pieces_follow_vocab_json)
{
    tx_tokenizer *tok = load("tests/fixtures/tokenizers/marian-en-de");
    cr_expect_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_MARIAN);
    cr_expect_eq(tx_tokenizer_vocab_size(tok), 15322);
    cr_expect_eq(tx_tokenizer_eos_id(tok), 0);
    cr_expect_eq(tx_tokenizer_unk_id(tok), 1);
    cr_expect_eq(tx_tokenizer_pad_id(tok), 15321);
    cr_expect_eq(tx_tokenizer_bos_id(tok), -1);
    cr_expect(tx_tokenizer_is_special(tok, 0) && tx_tokenizer_is_special(tok, 1) &&
              tx_tokenizer_is_special(tok, 15321));
    cr_expect(!tx_tokenizer_is_special(tok, 10) && !tx_tokenizer_is_special(tok, -1));
    cr_expect_str_eq(tx_tokenizer_id_to_piece(tok, 10), "\xE2\x96\x81"
                                                        "A");
    cr_expect_str_eq(tx_tokenizer_id_to_piece(tok, 15321), "<pad>");
    cr_expect_null(tx_tokenizer_id_to_piece(tok, 15322));
    cr_expect_null(tx_tokenizer_id_to_piece(tok, -1));
    cr_expect_str_eq(display(tok, 10), " A");
    cr_expect_str_eq(display(tok, 0), "</s>");
    tx_tokenizer_free(tok);
}

Test(tokenizer_api, t5_has_100_sentinels_above_the_sentencepiece_ids)
{
    tx_tokenizer *tok = load("tests/fixtures/tokenizers/t5");
    cr_expect_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_T5);
    cr_expect_eq(tx_tokenizer_vocab_size(tok), 8100);
    cr_expect_eq(tx_tokenizer_eos_id(tok), 1);
    cr_expect_eq(tx_tokenizer_pad_id(tok), 0);
    cr_expect_eq(tx_tokenizer_unk_id(tok), 2);
    cr_expect_eq(tx_tokenizer_bos_id(tok), -1);
    cr_expect_str_eq(tx_tokenizer_id_to_piece(tok, 8099), "<extra_id_0>");
    cr_expect_str_eq(tx_tokenizer_id_to_piece(tok, 8000), "<extra_id_99>");
    cr_expect(tx_tokenizer_is_special(tok, 8099) && tx_tokenizer_is_special(tok, 2));
    cr_expect(!tx_tokenizer_is_special(tok, 7999));
    tx_tokenizer_free(tok);
}

Test(tokenizer_api, bart_ids_and_byte_level_display)
{
    const char *shared = tu_shared_fixtures();
    if (!shared) TU_SKIP("SKIP: ../shared/fixtures is absent (BART vocab.json/merges.txt)");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tokenizers/bart", shared);
    tx_tokenizer *tok = load(dir);
    cr_expect_eq(tx_tokenizer_vocab_size(tok), 50265);
    cr_expect_eq(tx_tokenizer_bos_id(tok), 0);
    cr_expect_eq(tx_tokenizer_pad_id(tok), 1);
    cr_expect_eq(tx_tokenizer_eos_id(tok), 2);
    cr_expect_eq(tx_tokenizer_unk_id(tok), 3);
    cr_expect(tx_tokenizer_is_special(tok, 50264));
    cr_expect(!tx_tokenizer_is_special(tok, 50261)); /* madeupword0000: in the vocabulary only */
    cr_expect_str_eq(tx_tokenizer_id_to_piece(tok, 5), "\xC4\xA0the"); /* "Ġthe" */
    cr_expect_str_eq(display(tok, 5), " the");
    /* "âĢ" (17) is the first two bytes of a three-byte character */
    cr_expect_str_eq(display(tok, 17), "<0xE2><0x80>");
    cr_expect_str_eq(display(tok, 50264), "<mask>");
    tx_tokenizer_free(tok);
}

Test(tokenizer_api, display_labels_are_truncated_at_character_boundaries)
{
    tx_tokenizer *tok = load("tests/fixtures/tokenizers/marian-en-de");
    char buf[3];
    /* id 3 is "▁the": " the" needs 4 bytes */
    size_t need = tx_tokenizer_display_piece(tok, 3, buf, sizeof buf);
    cr_expect_eq(need, 4);
    cr_expect_str_eq(buf, " t");
    /* a piece whose first character takes two bytes: "ß" (id 8685) in a 2-byte buffer */
    cr_expect_str_eq(tx_tokenizer_id_to_piece(tok, 8685), "\xC3\x9F");
    char small[2];
    need = tx_tokenizer_display_piece(tok, 8685, small, sizeof small);
    cr_expect_eq(need, 2);
    cr_expect_str_eq(small, "");
    tx_tokenizer_free(tok);
}

/* A temporary folder holding links to the given files under new names. */
static char tmpdir[64];

static void link_files(const char *const *src, const char *const *names, int n)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tok_api_%d", (int)getpid());
    cr_assert_eq(mkdir(tmpdir, 0700), 0);
    for (int i = 0; i < n; i++) {
        char path[256], target[4096];
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        cr_assert(realpath(src[i], target), "%s", src[i]);
        cr_assert_eq(symlink(target, path), 0);
    }
}

static void unlink_files(const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

Test(tokenizer_api, the_kind_is_detected_from_files_without_a_config)
{
    const char *src[3] = {"tests/fixtures/tokenizers/marian-en-de/source.spm",
                          "tests/fixtures/tokenizers/marian-en-de/target.spm",
                          "tests/fixtures/tokenizers/marian-en-de/vocab.json"};
    const char *names[3] = {"source.spm", "target.spm", "vocab.json"};
    link_files(src, names, 3);
    tx_tokenizer *tok = load(tmpdir);
    cr_expect_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_MARIAN);
    tx_tokenizer_free(tok);
    unlink_files(names, 3);

    const char *src2[1] = {"tests/fixtures/tokenizers/t5/spiece.model"};
    const char *names2[1] = {"spiece.model"};
    link_files(src2, names2, 1);
    tok = load(tmpdir);
    cr_expect_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_T5);
    cr_expect_eq(tx_tokenizer_vocab_size(tok), 8100);
    tx_tokenizer_free(tok);
    unlink_files(names2, 1);
}

Test(tokenizer_api, a_lone_sentencepiece_model_is_the_plain_kind)
{
    const char *src[1] = {"tests/fixtures/tokenizers/spm/uni_bf.model"};
    const char *names[1] = {"spm.model"};
    link_files(src, names, 1);
    tx_tokenizer *tok = load(tmpdir);
    unlink_files(names, 1);
    cr_expect_eq(tx_tokenizer_get_kind(tok), TX_TOKENIZER_SPM);
    /* ids as SentencePiece gives them (first line of uni_bf.cases.jsonl), no specials added */
    size_t len;
    char *all = tu_read_file("tests/fixtures/tokenizers/spm/uni_bf.cases.jsonl", &len);
    cr_assert(all);
    const char *text = "A man in a suit and tie in a fancy building is speaking at the podium.";
    cr_assert(strstr(all, text));
    char *ids_at = strstr(all, "\"ids\": [") + 8;
    struct tx_encoding enc;
    struct tx_error err = {0};
    cr_assert_eq(tx_tokenizer_encode(tok, text, strlen(text), TX_SIDE_SOURCE, &enc, &err), TX_OK,
                 "%s", err.message);
    for (int i = 0; i < enc.n_ids; i++) {
        long want = strtol(ids_at, &ids_at, 10);
        cr_expect_eq(enc.ids[i], want, "ids[%d]", i);
        ids_at++; /* ',' or ']' */
    }
    cr_expect_eq(ids_at[-1], ']');
    char *back = NULL;
    cr_assert_eq(tx_tokenizer_decode(tok, enc.ids, enc.n_ids, 1, &back, &err), TX_OK);
    cr_expect_str_eq(back,
                     "a man in a suit and tie in a fancy building is speaking at the podium.");
    free(back);
    tx_encoding_free(&enc);
    /* byte pieces display as their character when it is printable ASCII */
    int32_t byte_a = -1;
    for (int32_t id = 0; id < tx_tokenizer_vocab_size(tok); id++)
        if (!strcmp(tx_tokenizer_id_to_piece(tok, id), "<0x41>")) byte_a = id;
    cr_assert_geq(byte_a, 0);
    cr_expect_str_eq(display(tok, byte_a), "A");
    free(all);
    tx_tokenizer_free(tok);
}

Test(tokenizer_api, offsets_point_into_the_text)
{
    tx_tokenizer *tok = load("tests/fixtures/tokenizers/t5");
    const char *text = "Hello </s> w\xC3\xB6rld";
    struct tx_encoding enc;
    struct tx_error err = {0};
    cr_assert_eq(tx_tokenizer_encode(tok, text, strlen(text), TX_SIDE_SOURCE, &enc, &err), TX_OK);
    /* the literal </s> is one id whose span is exactly those 4 bytes */
    int found = 0;
    for (int i = 0; i < enc.n_ids; i++)
        if (enc.ids[i] == 1 && enc.offsets[2 * i] == 6) {
            cr_expect_eq(enc.offsets[2 * i + 1], 10);
            found = 1;
        }
    cr_expect(found);
    /* the appended </s> is empty, at the end */
    cr_expect_eq(enc.ids[enc.n_ids - 1], 1);
    cr_expect_eq(enc.offsets[2 * (enc.n_ids - 1)], strlen(text));
    cr_expect_eq(enc.offsets[2 * (enc.n_ids - 1) + 1], strlen(text));
    /* the first piece covers "He" or more of "Hello", starting at 0 */
    cr_expect_eq(enc.offsets[0], 0);
    tx_encoding_free(&enc);
    tx_tokenizer_free(tok);
}

Test(tokenizer_api, empty_text_gives_only_the_added_special_tokens)
{
    tx_tokenizer *tok = load("tests/fixtures/tokenizers/marian-en-de");
    struct tx_encoding enc;
    struct tx_error err = {0};
    cr_assert_eq(tx_tokenizer_encode(tok, NULL, 0, TX_SIDE_SOURCE, &enc, &err), TX_OK);
    cr_assert_eq(enc.n_ids, 1);
    cr_expect_eq(enc.ids[0], 0);
    tx_encoding_free(&enc);
    char *text = NULL;
    cr_assert_eq(tx_tokenizer_decode(tok, NULL, 0, 1, &text, &err), TX_OK);
    cr_expect_str_eq(text, "");
    free(text);
    tx_tokenizer_free(tok);
}

/* ---- one tokenizer shared by several threads ---- */

struct worker {
    const tx_tokenizer *tok;
    const char *const *texts;
    int n_texts;
    int32_t sums[64]; /* per text: a checksum of its ids */
    int ok;
};

static int32_t checksum(const struct tx_encoding *e)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < e->n_ids; i++)
        h = (h ^ (uint32_t)e->ids[i]) * 16777619u;
    return (int32_t)(h & 0x7FFFFFFF);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    w->ok = 1;
    for (int round = 0; round < 50; round++)
        for (int i = 0; i < w->n_texts; i++) {
            struct tx_encoding e;
            if (tx_tokenizer_encode(w->tok, w->texts[i], strlen(w->texts[i]), TX_SIDE_SOURCE, &e,
                                    NULL)) {
                w->ok = 0;
                return NULL;
            }
            int32_t s = checksum(&e);
            if (round == 0)
                w->sums[i] = s;
            else if (w->sums[i] != s)
                w->ok = 0;
            char *text = NULL;
            if (tx_tokenizer_decode(w->tok, e.ids, e.n_ids, 1, &text, NULL)) w->ok = 0;
            free(text);
            tx_encoding_free(&e);
        }
    return NULL;
}

Test(tokenizer_api, one_tokenizer_serves_several_threads_at_once)
{
    tx_tokenizer *tok = load("tests/fixtures/tokenizers/t5");
    static const char *texts[] = {"A man in a red suit.", "Hello <extra_id_0> world</s>", "",
                                  "\xE6\x97\xA5\xE6\x9C\xAC caf\xC3\xA9", "   spaced   out   "};
    struct worker w[4];
    pthread_t th[4];
    for (int k = 0; k < 4; k++) {
        w[k] = (struct worker){tok, texts, 5, {0}, 0};
        cr_assert_eq(pthread_create(&th[k], NULL, work, &w[k]), 0);
    }
    for (int k = 0; k < 4; k++)
        pthread_join(th[k], NULL);
    for (int k = 0; k < 4; k++) {
        cr_expect(w[k].ok, "thread %d saw an error or a changing result", k);
        for (int i = 0; i < 5; i++)
            cr_expect_eq(w[k].sums[i], w[0].sums[i]);
    }
    tx_tokenizer_free(tok);
}
