/* test_pipeline.c — tx_text_generate: text in, text out, against the lower-level calls it
 * composes (tokenizer, generate, decode, forward) on the serve-tiny models. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tx.h"

#define MARIAN "tests/fixtures/serve-tiny/marian"
#define T5 "tests/fixtures/serve-tiny/t5"

static tx_model *model;
static tx_tokenizer *tok;
static tx_session *sess;

static void open_model(const char *dir)
{
    struct tx_error e = {0};
    cr_assert_eq(tx_model_load(dir, &model, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_tokenizer_load(dir, &tok, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(model, 0, &sess, &e), TX_OK, "%s", e.message);
}
static void setup_marian(void)
{
    open_model(MARIAN);
}
static void setup_t5(void)
{
    open_model(T5);
}
static void teardown(void)
{
    tx_session_free(sess);
    tx_tokenizer_free(tok);
    tx_model_free(model);
    sess = NULL;
    tok = NULL;
    model = NULL;
}

static struct tx_text_params params(void)
{
    struct tx_text_params p;
    memset(&p, 0, sizeof p);
    p.gen = tx_model_gen_params(model);
    p.gen.max_new_tokens = 12;
    p.truncate = 1;
    return p;
}

/* What the pipeline should produce for one text, composed by hand from the lower-level
 * calls: encode -> tx_generate (best hypothesis) -> decode without special tokens. */
static char *by_hand(const char *text, const struct tx_text_params *p)
{
    struct tx_encoding enc = {0};
    struct tx_error e = {0};
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%s", p->prefix ? p->prefix : "", text);
    cr_assert_eq(tx_tokenizer_encode(tok, buf, strlen(buf), TX_SIDE_SOURCE, &enc, &e), TX_OK,
                 "%s", e.message);
    const int32_t *ids[1] = {enc.ids};
    int n[1] = {enc.n_ids};
    struct tx_gen_out go;
    cr_assert_eq(tx_generate(sess, ids, n, 1, &p->gen, &go, &e), TX_OK, "%s", e.message);
    char *out = NULL;
    cr_assert_eq(tx_tokenizer_decode(tok, go.hyps[0].ids + 1, go.hyps[0].n_ids - 1, 1, &out, &e),
                 TX_OK, "%s", e.message);
    tx_encoding_free(&enc);
    return out;
}

static struct tx_text_result *run(const char *const *texts, int n, const struct tx_text_params *p)
{
    size_t lens[16];
    for (int i = 0; i < n; i++) lens[i] = strlen(texts[i]);
    struct tx_text_result *r = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_text_generate(sess, tok, texts, lens, n, p, &r, &e), TX_OK, "%s", e.message);
    cr_assert_eq(r->n_items, n);
    return r;
}

TestSuite(pipeline, .init = setup_marian, .fini = teardown);

Test(pipeline, equals_encode_generate_decode_composed_by_hand)
{
    struct tx_text_params p = params();
    const char *texts[] = {"the dog runs in the park", "a man reads a book",
                           "children play near the river"};
    struct tx_text_result *r = run(texts, 3, &p);
    for (int i = 0; i < 3; i++) {
        char *want = by_hand(texts[i], &p);
        cr_assert_str_eq(r->items[i].alternatives[0].text, want, "text[%d]", i);
        cr_assert_gt(r->items[i].n_input_tokens, 1);
        cr_assert_eq(r->items[i].n_output_tokens, r->items[i].alternatives[0].n_ids);
        cr_assert_not(r->items[i].truncated);
        free(want);
    }
    tx_text_result_free(r);
}

Test(pipeline, attention_and_tokens_are_off_unless_asked_for)
{
    struct tx_text_params p = params();
    const char *texts[] = {"the dog runs in the park"};
    struct tx_text_result *r = run(texts, 1, &p);
    cr_assert_null(r->items[0].attention);
    cr_assert_null(r->items[0].alternatives[0].tokens);
    cr_assert_null(r->items[0].source_tokens);
    cr_assert_eq(r->attention_ms, 0.0);
    tx_text_result_free(r);
}

Test(pipeline, splits_sentences_and_rejoins_them_with_the_input_whitespace)
{
    struct tx_text_params p = params();
    p.split_sentences = 1;
    const char *text = "The dog runs.  A man reads a book!\nChildren play.";
    struct tx_text_result *r = run(&text, 1, &p);
    char *a = by_hand("The dog runs.", &p);
    char *b = by_hand("A man reads a book!", &p);
    char *c = by_hand("Children play.", &p);
    char want[2048];
    snprintf(want, sizeof want, "%s  %s\n%s", a, b, c);
    cr_assert_str_eq(r->items[0].alternatives[0].text, want);
    free(a);
    free(b);
    free(c);
    tx_text_result_free(r);
}

Test(pipeline, truncates_long_inputs_to_the_limit_keeping_eos)
{
    struct tx_text_params p = params();
    p.max_input_tokens = 5;
    p.want = TX_WANT_TOKENS;
    const char *text = "the dog runs in the park and the cat sleeps on the warm mat";
    struct tx_text_result *r = run(&text, 1, &p);
    const struct tx_text_item *it = &r->items[0];
    cr_assert(it->truncated);
    cr_assert_eq(it->n_input_tokens, 5);
    cr_assert_gt(it->n_input_tokens_original, 5);
    cr_assert_eq(it->n_source_tokens, 5);
    cr_assert_eq(it->source_ids[4], tx_tokenizer_eos_id(tok));
    tx_text_result_free(r);
}

Test(pipeline, strict_mode_refuses_long_inputs_naming_the_text)
{
    struct tx_text_params p = params();
    p.max_input_tokens = 5;
    p.truncate = 0;
    const char *texts[] = {"short", "the dog runs in the park and the cat sleeps on the mat"};
    size_t lens[] = {strlen(texts[0]), strlen(texts[1])};
    struct tx_text_result *r = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_text_generate(sess, tok, texts, lens, 2, &p, &r, &e), TX_ERR_TOO_LONG);
    cr_assert_null(r);
    cr_assert(strstr(e.message, "text[1]") && strstr(e.message, "at most 5"), "%s", e.message);
}

Test(pipeline, invalid_utf8_is_an_encoding_error_naming_the_text)
{
    struct tx_text_params p = params();
    const char *texts[] = {"fine", "bad \xff byte"};
    size_t lens[] = {4, 10};
    struct tx_text_result *r = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_text_generate(sess, tok, texts, lens, 2, &p, &r, &e), TX_ERR_ENCODING);
    cr_assert(strstr(e.message, "text[1]"), "%s", e.message);
}

Test(pipeline, returns_the_requested_alternatives_best_first)
{
    struct tx_text_params p = params();
    p.gen.num_beams = 4;
    p.gen.num_return_sequences = 3;
    const char *text = "a woman walks her dog";
    struct tx_text_result *r = run(&text, 1, &p);
    const struct tx_text_item *it = &r->items[0];
    cr_assert_eq(it->n_alternatives, 3);
    for (int k = 1; k < 3; k++)
        cr_assert_geq(it->alternatives[k - 1].score, it->alternatives[k].score);
    tx_text_result_free(r);
}

Test(pipeline, tokens_are_display_strings_one_per_id)
{
    struct tx_text_params p = params();
    p.want = TX_WANT_TOKENS;
    const char *text = "the dog";
    struct tx_text_result *r = run(&text, 1, &p);
    const struct tx_text_item *it = &r->items[0];
    cr_assert_not_null(it->alternatives[0].tokens);
    for (int i = 0; i < it->alternatives[0].n_ids; i++) {
        char buf[256];
        tx_tokenizer_display_piece(tok, it->alternatives[0].ids[i], buf, sizeof buf);
        cr_assert_str_eq(it->alternatives[0].tokens[i], buf);
    }
    cr_assert_eq(it->n_source_tokens, it->n_input_tokens);
    tx_text_result_free(r);
}

Test(pipeline, attention_maps_are_those_of_a_forward_pass_over_the_best_hypothesis)
{
    struct tx_text_params p = params();
    p.want = TX_WANT_ATTENTION | TX_WANT_TOKENS;
    p.split_sentences = 1; /* ignored when attention is wanted */
    const char *text = "The dog runs. A cat sleeps.";
    struct tx_text_result *r = run(&text, 1, &p);
    const struct tx_text_item *it = &r->items[0];
    const struct tx_attention_maps *m = it->attention;
    cr_assert_not_null(m);
    cr_assert_eq(m->n_src, it->n_input_tokens);
    cr_assert_eq(m->n_tgt, it->alternatives[0].n_ids);
    /* every row is a probability distribution, and the causal map has no future weight */
    for (int l = 0; l < m->n_dec_layers; l++)
        for (int h = 0; h < m->n_heads; h++)
            for (int t = 0; t < m->n_tgt; t++) {
                const float *row = m->cross + (((size_t)l * m->n_heads + h) * m->n_tgt + t) * m->n_src;
                double sum = 0;
                for (int s2 = 0; s2 < m->n_src; s2++) sum += row[s2];
                cr_assert(fabs(sum - 1.0) < 1e-4, "cross row sums to %f", sum);
                const float *drow = m->decoder + (((size_t)l * m->n_heads + h) * m->n_tgt + t) * m->n_tgt;
                for (int k = t + 1; k < m->n_tgt; k++) cr_assert_eq(drow[k], 0.0f);
            }
    /* the same numbers as a teacher-forced pass over start token + generated tokens */
    int32_t dec[64];
    dec[0] = tx_model_gen_params(model).decoder_start_token_id;
    for (int i = 0; i + 1 < m->n_tgt + 1 && i < 63; i++) dec[i + 1] = it->alternatives[0].ids[i];
    struct tx_forward_out fo;
    struct tx_error e = {0};
    cr_assert_eq(tx_forward(sess, it->source_ids, it->n_source_tokens, dec, m->n_tgt,
                            TX_FORWARD_ATTENTIONS, &fo, &e),
                 TX_OK, "%s", e.message);
    size_t nc = (size_t)m->n_dec_layers * m->n_heads * m->n_tgt * m->n_src;
    for (size_t i = 0; i < nc; i++) cr_assert_float_eq(m->cross[i], fo.cross_attentions[i], 1e-6);
    tx_text_result_free(r);
}

Test(pipeline, no_texts_give_an_empty_result)
{
    struct tx_text_params p = params();
    struct tx_text_result *r = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_text_generate(sess, tok, NULL, NULL, 0, &p, &r, &e), TX_OK, "%s", e.message);
    cr_assert_eq(r->n_items, 0);
    tx_text_result_free(r);
}

Test(pipeline, t5_prefix_comes_first_in_the_source)
{
    teardown();
    setup_t5();
    struct tx_text_params p = params();
    p.want = TX_WANT_TOKENS;
    const char *text = "the dog runs";
    struct tx_text_result *plain = run(&text, 1, &p);
    p.prefix = "summarize: ";
    struct tx_text_result *pre = run(&text, 1, &p);
    struct tx_encoding enc = {0};
    cr_assert_eq(tx_tokenizer_encode(tok, "summarize: the dog runs", 23, TX_SIDE_SOURCE, &enc, NULL),
                 TX_OK);
    cr_assert_eq(pre->items[0].n_input_tokens, enc.n_ids);
    cr_assert_gt(pre->items[0].n_input_tokens, plain->items[0].n_input_tokens);
    for (int i = 0; i < enc.n_ids; i++) cr_assert_eq(pre->items[0].source_ids[i], enc.ids[i]);
    char *want = by_hand(text, &p);
    cr_assert_str_eq(pre->items[0].alternatives[0].text, want);
    free(want);
    tx_encoding_free(&enc);
    tx_text_result_free(plain);
    tx_text_result_free(pre);
}
