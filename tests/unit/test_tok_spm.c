/* test_tok_spm.c — the SentencePiece processor against sentencepiece 0.1.97 itself, on small
 * models that cover BPE, byte fallback, user-defined/control symbols, custom normalization rules
 * (longest match), case folding, no dummy prefix, whitespace-as-suffix and a denormalizer
 * (tests/fixtures/tokenizers/spm, made by tools/tok_fixtures/make_spm_cases.py). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tok_spm.h"

#define SPM_DIR "tests/fixtures/tokenizers/spm"

static void check_model(const char *name, int want_cases)
{
    char path[256];
    snprintf(path, sizeof path, SPM_DIR "/%s.model", name);
    struct tok_spm m;
    struct tx_error err = {0};
    cr_assert_eq(tok_spm_load(&m, path, &err), TX_OK, "%s", err.message);
    snprintf(path, sizeof path, SPM_DIR "/%s.cases.jsonl", name);
    size_t len;
    char *all = tu_read_file(path, &len);
    cr_assert(all, "cannot read %s", path);
    struct tok_spm_encoding enc;
    memset(&enc, 0, sizeof enc);
    int n = 0, id_fail = 0, piece_fail = 0, text_fail = 0;
    char *save = NULL;
    for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *c = json_loads(line, JSON_ALLOW_NUL, &je);
        cr_assert(c, "%s: %s", path, je.text);
        json_t *jt = json_object_get(c, "text"), *ids = json_object_get(c, "ids");
        json_t *pieces = json_object_get(c, "pieces");
        const char *text = json_string_value(jt);
        const char *want_text = json_string_value(json_object_get(c, "decoded"));
        size_t want_len = json_string_length(json_object_get(c, "decoded"));
        n++;
        cr_assert_eq(tok_spm_encode(&m, text, json_string_length(jt), &enc, &err), TX_OK, "%s",
                     err.message);
        int same = enc.n_pieces == json_array_size(ids), same_pieces = same;
        for (size_t i = 0; same && i < enc.n_pieces; i++) {
            same = enc.pieces[i].id == json_integer_value(json_array_get(ids, i));
            char tmp[8];
            size_t pl;
            const char *p = tok_spm_piece_text(&enc, i, tmp, &pl);
            json_t *wp = json_array_get(pieces, i);
            same_pieces = same_pieces && pl == json_string_length(wp) &&
                          memcmp(p, json_string_value(wp), pl) == 0;
        }
        if (!same && id_fail++ < 5) fprintf(stderr, "%s: ids differ for \"%.100s\"\n", name, text);
        if (same && !same_pieces && piece_fail++ < 5)
            fprintf(stderr, "%s: pieces differ for \"%.100s\"\n", name, text);

        /* decode(ids) = Decode(IdToPiece(ids)) */
        size_t n_ids = json_array_size(ids);
        struct spm_bytes *pv = malloc((n_ids + 1) * sizeof *pv);
        for (size_t i = 0; i < n_ids; i++)
            pv[i] = tok_spm_id_to_piece(&m, (int32_t)json_integer_value(json_array_get(ids, i)));
        struct txi_buf out = {0};
        cr_assert_eq(tok_spm_decode_pieces(&m, pv, n_ids, &out, &err), TX_OK, "%s", err.message);
        if ((out.len != want_len || memcmp(out.data ? out.data : "", want_text, out.len)) &&
            text_fail++ < 5)
            fprintf(stderr, "%s: decode differs for \"%.100s\": want \"%s\" got \"%.*s\"\n", name,
                    text, want_text, (int)out.len, out.data ? out.data : "");
        txi_buf_free(&out);
        free(pv);
        json_decref(c);
    }
    cr_expect_eq(n, want_cases, "%s: read %d cases", name, n);
    cr_expect_eq(id_fail, 0, "%s: %d of %d texts give other ids", name, id_fail, n);
    cr_expect_eq(piece_fail, 0, "%s: %d of %d texts give other pieces", name, piece_fail, n);
    cr_expect_eq(text_fail, 0, "%s: %d of %d id lists decode to other text", name, text_fail, n);
    tok_spm_encoding_free(&enc);
    tok_spm_free(&m);
    free(all);
}

#define N_TEXTS 458

Test(tok_spm, unigram_with_byte_fallback_user_symbols_and_case_folding_matches_sentencepiece)
{
    check_model("uni_bf", N_TEXTS);
}

Test(tok_spm, bpe_with_custom_rules_control_and_user_symbols_matches_sentencepiece)
{
    check_model("bpe_rules", N_TEXTS);
}

Test(tok_spm, unigram_without_dummy_prefix_or_whitespace_removal_matches_sentencepiece)
{
    check_model("uni_raw", N_TEXTS);
}

Test(tok_spm, bpe_with_byte_fallback_matches_sentencepiece)
{
    check_model("bpe_bf", N_TEXTS);
}

Test(tok_spm, whitespace_as_suffix_and_denormalizer_match_sentencepiece)
{
    check_model("uni_suffix", N_TEXTS);
}
