/* test_han.c — the han architecture (hierarchical attention network with a sentence-salience
 * head) against its PyTorch reference (tools/train/han.py; fixture by
 * tools/train/make_han_fixtures.py): salience logits, sentence attention and every sentence's
 * word attention within 1e-4; bad input and the wrong model type are errors, and a han model
 * refuses to generate. */
#include <criterion/criterion.h>
#include <ctype.h>
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

/* ---- the text layer: word weights (tx_text_extract) and condensing (tx_text_condense) ---- */

#define HAN_SHIPPED "models/han-cnndm"
#define HEADLINES "models/marian-headlines"

static const char DOC[] =
    "The city council voted on Tuesday to close the old bridge over the river for repairs. "
    "Engineers found cracks in two of its supports during an inspection last month. "
    "Traffic will be sent across the northern bridge, which adds about ten minutes to most "
    "journeys into the centre. "
    "The mayor said the repairs would take six months and cost about four million dollars. "
    "Local shop owners fear that fewer customers will come while the bridge is closed. "
    "A ferry service will run every twenty minutes during the day.";

/* The shipped han model, its tokenizer and a session. */
static void load_shipped(tx_model **m, tx_tokenizer **tok, tx_session **s)
{
    struct tx_error e = {0};
    *m = tu_load_model(HAN_SHIPPED, TX_DTYPE_AUTO);
    cr_assert_eq(tx_tokenizer_load(HAN_SHIPPED, tok, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(*m, 0, s, &e), TX_OK, "%s", e.message);
}

/* Every word weighs the word attention on the pieces that start in it (from tx_salience on
 * the same sentences); a sentence's words and end token share its attention. */
Test(han, word_weights_are_the_attention_on_the_pieces_of_each_word)
{
    tx_model *m;
    tx_tokenizer *tok;
    tx_session *s;
    struct tx_error e = {0};
    load_shipped(&m, &tok, &s);
    /* a long last sentence: pieces past TX_EXTRACT_MAX_PIECES are not read */
    char text[4096];
    int len = snprintf(text, sizeof text, "%s And then", DOC);
    for (int i = 0; i < 40; i++) len += snprintf(text + len, sizeof text - len, " more words");
    len += snprintf(text + len, sizeof text - len, ".");
    const char *texts[1] = {text};
    size_t lens[1] = {(size_t)len};
    struct tx_text_result *r;
    cr_assert_eq(tx_text_extract(s, tok, texts, lens, 1, 2, &r, &e), TX_OK, "%s", e.message);
    const struct tx_text_item *it = &r->items[0];
    cr_assert_eq(it->n_sentences, 7);
    /* the reference: the same sentences scored directly */
    struct tx_encoding enc[7];
    const int32_t *ids[7];
    int n_tok[7];
    for (int i = 0; i < 7; i++) {
        const struct tx_text_sentence *ts = &it->sentences[i];
        cr_assert_eq(tx_tokenizer_encode(tok, text + ts->start, ts->end - ts->start,
                                         TX_SIDE_SOURCE, &enc[i], &e),
                     TX_OK);
        n_tok[i] = enc[i].n_ids < TX_EXTRACT_MAX_PIECES ? enc[i].n_ids : TX_EXTRACT_MAX_PIECES;
        enc[i].ids[n_tok[i] - 1] = enc[i].ids[enc[i].n_ids - 1];
        ids[i] = enc[i].ids;
    }
    struct tx_salience_out o;
    cr_assert_eq(tx_salience(s, ids, n_tok, 7, &o, &e), TX_OK, "%s", e.message);
    const float *att = o.word_attention;
    for (int i = 0; i < 7; i++) {
        const struct tx_text_sentence *ts = &it->sentences[i];
        cr_assert_float_eq(ts->attention, o.sentence_attention[i], 1e-6);
        float sum = 0.0f;
        for (int w = 0; w < ts->n_words; w++) {
            const struct tx_text_word *wd = &it->words[ts->first_word + w];
            cr_assert(wd->start < wd->end && text[wd->start] != ' ' && text[wd->end - 1] != ' ');
            float want = 0.0f; /* the pieces read whose first non-space byte lies in it */
            for (int k = 0; k < n_tok[i] - 1; k++) {
                uint32_t p = ts->start + enc[i].offsets[2 * k];
                uint32_t q = ts->start + enc[i].offsets[2 * k + 1];
                while (p < q && text[p] == ' ') p++;
                if (p < q && p >= wd->start && p < wd->end) want += att[k];
            }
            cr_assert_float_eq(wd->weight, want, 1e-6, "sentence %d word %d", i, w);
            sum += wd->weight;
        }
        float end = att[n_tok[i] - 1];
        if (enc[i].n_ids <= TX_EXTRACT_MAX_PIECES)
            cr_assert_float_eq(sum + end, 1.0f, 1e-4, "sentence %d: %f + %f", i, sum, end);
        else { /* the long one: its last words were not read */
            cr_assert_lt(sum + end, 1.0f + 1e-4);
            cr_assert_float_eq(it->words[ts->first_word + ts->n_words - 1].weight, 0.0f, 0.0);
        }
        att += n_tok[i];
    }
    cr_assert_eq(it->sentences[6].n_words, 2 + 2 * 40);
    for (int i = 0; i < 7; i++) tx_encoding_free(&enc[i]);
    tx_text_result_free(r);
    tx_session_free(s);
    tx_tokenizer_free(tok);
    tx_model_free(m);
}

static int n_pieces(const tx_tokenizer *tok, const char *t)
{
    struct tx_encoding enc;
    struct tx_error e = {0};
    cr_assert_eq(tx_tokenizer_encode(tok, t, strlen(t), TX_SIDE_SOURCE, &enc, &e), TX_OK);
    int n = enc.n_ids;
    tx_encoding_free(&enc);
    return n;
}

/* Condensing for a small input: the result fits, holds the best sentence, is the kept
 * sentences in document order, and no sentence left out would still fit. */
Test(han, condensed_documents_fit_and_keep_the_best_sentences)
{
    tx_model *m = tu_load_model(HAN_SHIPPED, TX_DTYPE_AUTO);
    tx_tokenizer *htok, *tok;
    struct tx_error e = {0};
    cr_assert_eq(tx_tokenizer_load(HAN_SHIPPED, &htok, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_tokenizer_load(HEADLINES, &tok, &e), TX_OK, "%s", e.message);
    tx_session *s;
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    const char *texts[1] = {DOC};
    size_t lens[1] = {strlen(DOC)};
    static const int limits[] = {8, 40, 70, 1000};
    for (int li = 0; li < 4; li++) {
        struct tx_text_result *r;
        cr_assert_eq(tx_text_extract(s, htok, texts, lens, 1, 3, &r, &e), TX_OK, "%s", e.message);
        struct tx_text_item *it = &r->items[0];
        int best = 0;
        for (int i = 1; i < it->n_sentences; i++)
            if (it->sentences[i].score > it->sentences[best].score) best = i;
        char *out;
        size_t len;
        int used;
        cr_assert_eq(tx_text_condense(tok, NULL, DOC, it, limits[li], &out, &len, &used, &e),
                     TX_OK, "%s", e.message);
        cr_assert_eq(strlen(out), len);
        cr_assert(it->sentences[best].selected, "limit %d", limits[li]);
        char want[sizeof DOC], with[sizeof DOC];
        size_t at = 0;
        int kept = 0;
        for (int i = 0; i < it->n_sentences; i++) {
            const struct tx_text_sentence *ts = &it->sentences[i];
            if (!ts->selected) continue;
            at += (size_t)snprintf(want + at, sizeof want - at, "%s%.*s", at ? " " : "",
                                   (int)(ts->end - ts->start), DOC + ts->start);
            kept++;
        }
        cr_assert_eq(kept, used);
        cr_assert_str_eq(out, want);
        if (limits[li] == 8) { /* no sentence fits: the best alone, for the model to cut */
            cr_assert_eq(used, 1);
        } else {
            cr_assert_leq(n_pieces(tok, out), limits[li], "limit %d: %s", limits[li], out);
            for (int x = 0; x < it->n_sentences; x++) { /* maximal */
                if (it->sentences[x].selected) continue;
                size_t w = 0;
                for (int i = 0; i < it->n_sentences; i++) {
                    const struct tx_text_sentence *ts = &it->sentences[i];
                    if (!ts->selected && i != x) continue;
                    w += (size_t)snprintf(with + w, sizeof with - w, "%s%.*s", w ? " " : "",
                                          (int)(ts->end - ts->start), DOC + ts->start);
                }
                cr_assert_gt(n_pieces(tok, with), limits[li], "limit %d: sentence %d fits",
                             limits[li], x);
            }
        }
        if (limits[li] == 1000) cr_assert_eq(used, it->n_sentences);
        free(out);
        tx_text_result_free(r);
    }
    tx_session_free(s);
    tx_tokenizer_free(tok);
    tx_tokenizer_free(htok);
    tx_model_free(m);
}

/* Word trigrams of s[0, n) as strings "a b c" (ASCII letters and digits, lower-cased). */
static int tri_list(const char *s, size_t n, char out[][96], int cap)
{
    char w[64][32];
    int nw = 0;
    for (size_t p = 0; p < n && nw < 64;) {
        while (p < n && !(isalnum((unsigned char)s[p]) && (unsigned char)s[p] < 128)) p++;
        size_t q = p, k = 0;
        while (q < n && isalnum((unsigned char)s[q]) && (unsigned char)s[q] < 128) {
            if (k < 31) w[nw][k++] = (char)tolower((unsigned char)s[q]);
            q++;
        }
        if (q > p) w[nw++][k] = '\0';
        p = q;
    }
    int t = 0;
    for (int i = 0; i + 2 < nw && t < cap; i++) snprintf(out[t++], 96, "%.31s %.31s %.31s", w[i], w[i + 1], w[i + 2]);
    return t;
}

static int share_trigram(const char *text, const struct tx_text_sentence *a,
                         const struct tx_text_sentence *b)
{
    static char ta[64][96], tb[64][96];
    int na = tri_list(text + a->start, a->end - a->start, ta, 64);
    int nb = tri_list(text + b->start, b->end - b->start, tb, 64);
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            if (!strcmp(ta[i], tb[j])) return 1;
    return 0;
}

/* Trigram blocking: the chosen sentences share no word trigram, and every sentence scored above
 * a chosen one but left out shares a trigram with a better chosen one; with too few distinct
 * sentences, the best blocked ones fill the summary. */
Test(han, summaries_skip_sentences_that_repeat_a_chosen_trigram)
{
    tx_model *m;
    tx_tokenizer *tok;
    tx_session *s;
    struct tx_error e = {0};
    load_shipped(&m, &tok, &s);
    /* the first sentences restated: a model that likes early sentences picks repeats */
    const char *texts[2] = {
        "The city council voted on Tuesday to close the old bridge for repairs. "
        "The city council voted on Tuesday to close the bridge. "
        "On Tuesday the city council voted to close the old bridge for repairs. "
        "Engineers found cracks in two of its supports last month. "
        "Engineers found cracks in two of its supports. "
        "A ferry will run every twenty minutes during the day. "
        "Shop owners fear that fewer customers will come.",
        "The river rose again overnight. The river rose again in the north. "
        "The river rose again in the south. The river rose again at dawn."};
    size_t lens[2] = {strlen(texts[0]), strlen(texts[1])};
    struct tx_text_result *r;
    cr_assert_eq(tx_text_extract(s, tok, texts, lens, 2, 3, &r, &e), TX_OK, "%s", e.message);
    const struct tx_text_item *it = &r->items[0];
    int blocked = 0;
    for (int i = 0; i < it->n_sentences; i++) {
        const struct tx_text_sentence *a = &it->sentences[i];
        for (int j = 0; j < it->n_sentences; j++) {
            const struct tx_text_sentence *b = &it->sentences[j];
            if (i != j && a->selected && b->selected)
                cr_assert(!share_trigram(texts[0], a, b), "chosen %d and %d repeat", i, j);
        }
        if (a->selected) continue;
        float worst = 1e30f;
        for (int j = 0; j < it->n_sentences; j++)
            if (it->sentences[j].selected && it->sentences[j].score < worst)
                worst = it->sentences[j].score;
        if (a->score <= worst) continue;
        int why = 0;
        for (int j = 0; j < it->n_sentences; j++)
            why |= it->sentences[j].selected && it->sentences[j].score >= a->score &&
                   share_trigram(texts[0], a, &it->sentences[j]);
        cr_assert(why, "sentence %d (%f) left out without a repeat", i, a->score);
        blocked++;
    }
    cr_assert_gt(blocked, 0, "the document exercises blocking");
    int chosen = 0;
    for (int i = 0; i < it->n_sentences; i++) chosen += it->sentences[i].selected;
    cr_assert_eq(chosen, 3);
    /* every sentence repeats "the river rose": the 3 best, filled */
    it = &r->items[1];
    cr_assert_eq(it->n_sentences, 4);
    int low = 0;
    for (int i = 1; i < 4; i++)
        if (it->sentences[i].score < it->sentences[low].score) low = i;
    for (int i = 0; i < 4; i++) cr_assert_eq(it->sentences[i].selected, i != low, "sentence %d", i);
    tx_text_result_free(r);
    tx_session_free(s);
    tx_tokenizer_free(tok);
    tx_model_free(m);
}
