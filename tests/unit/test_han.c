/* test_han.c — the han architecture (hierarchical attention network with a sentence-salience
 * head) against its PyTorch reference (tools/train/han.py; fixture by
 * tools/train/make_han_fixtures.py): salience logits, sentence attention and every sentence's
 * word attention within 1e-4; bad input and the wrong model type are errors, and a han model
 * refuses to generate. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_cases.h"
#include "testutil.h"
#include "tx.h"

#define HAN_DIR "tests/fixtures/han/tiny"
#define TOL 1e-4

Test(han, salience_and_both_attention_levels_match_the_pytorch_reference)
{
    tx_model *m = tu_load_model(HAN_DIR, TX_DTYPE_AUTO);
    cr_assert_eq(tx_model_get_info(m)->arch, TX_ARCH_HAN);
    tx_session *s;
    struct tx_error e = {0};
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    json_error_t je;
    json_t *root = json_load_file(HAN_DIR "/cases.json", 0, &je);
    cr_assert_not_null(root, "%s", je.text);
    size_t k;
    const json_t *c;
    json_array_foreach(json_object_get(root, "cases"), k, c)
    {
        const json_t *sents = json_object_get(c, "sentences");
        int n = (int)json_array_size(sents);
        int32_t *ids[8];
        int n_tok[8];
        for (int i = 0; i < n; i++)
            ids[i] = fx_ints(json_array_get(sents, (size_t)i), &n_tok[i]);
        struct tx_salience_out o;
        cr_assert_eq(tx_salience(s, (const int32_t *const *)ids, n_tok, n, &o, &e), TX_OK, "%s",
                     e.message);
        cr_assert_eq(o.n_sent, n);
        static const char *const fields[] = {"scores", "sentence_attention", "word_attention"};
        const float *got[] = {o.scores, o.sentence_attention, o.word_attention};
        for (int f = 0; f < 3; f++) {
            size_t nv;
            double *want = fx_numbers(json_object_get(c, fields[f]), &nv);
            char what[96];
            snprintf(what, sizeof what, "case %zu %s", k, fields[f]);
            fx_assert_close(got[f], want, nv, TOL, what);
            free(want);
        }
        for (int i = 0; i < n; i++)
            free(ids[i]);
    }
    json_decref(root);
    tx_session_free(s);
    tx_model_free(m);
}

Test(han, bad_documents_and_wrong_uses_are_errors)
{
    tx_model *m = tu_load_model(HAN_DIR, TX_DTYPE_AUTO);
    tx_session *s;
    struct tx_error e = {0};
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    int32_t good[] = {3, 4, 0}, bad[] = {3, 99, 0};
    const int32_t *doc[2] = {good, bad};
    int n_tok[2] = {3, 3};
    struct tx_salience_out o;
    cr_assert_eq(tx_salience(s, doc, n_tok, 2, &o, &e), TX_ERR_INVALID);
    cr_assert(strstr(e.message, "sentence 1"), "%s", e.message);
    n_tok[1] = 0;
    cr_assert_eq(tx_salience(s, doc, n_tok, 2, &o, &e), TX_ERR_INVALID);
    cr_assert(strstr(e.message, "empty"), "%s", e.message);
    cr_assert_eq(tx_salience(s, doc, n_tok, 0, &o, &e), TX_ERR_INVALID);
    /* not a generator */
    const int32_t *srcs[1] = {good};
    int n = 3;
    struct tx_gen_out g;
    cr_assert_eq(tx_generate(s, srcs, &n, 1, NULL, &g, &e), TX_ERR_UNSUPPORTED);
    cr_assert(strstr(e.message, "han"), "%s", e.message);
    tx_session_free(s);
    tx_model_free(m);
    /* tx_salience on a model of another type */
    m = tu_load_model("tests/fixtures/rnn/lstm-additive", TX_DTYPE_AUTO);
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    n_tok[1] = 3;
    cr_assert_eq(tx_salience(s, doc, n_tok, 1, &o, &e), TX_ERR_UNSUPPORTED);
    cr_assert(strstr(e.message, "rnn_seq2seq"), "%s", e.message);
    tx_session_free(s);
    tx_model_free(m);
}
