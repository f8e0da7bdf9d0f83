/* test_default_models.c — regression test of the shipped default models: fixed inputs through
 * models/marian-en-de, models/marian-headlines and models/marian-mul (all 12 directions) give
 * exactly the token ids (tokenizer, greedy and 4-beam generation) and texts that Hugging Face
 * transformers computed on the same weights (tests/fixtures/default-models.json, written by
 * tools/train/make_regression_fixture.py). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tx.h"

#define FIXTURE "tests/fixtures/default-models.json"
#define MAX_NEW_TOKENS 64

static json_t *load_fixture(void)
{
    json_error_t jerr;
    json_t *root = json_load_file(FIXTURE, 0, &jerr);
    cr_assert(root, "%s: %s (line %d)", FIXTURE, jerr.text, jerr.line);
    return root;
}

static void expect_ids(const int32_t *got, int n_got, const json_t *want, const char *what,
                       const char *text)
{
    size_t n = json_array_size(want);
    int same = (size_t)n_got == n;
    for (size_t i = 0; same && i < n; i++)
        same = got[i] == (int32_t)json_integer_value(json_array_get(want, i));
    if (!same) {
        char buf[2048];
        size_t off = 0;
        for (int i = 0; i < n_got && off < sizeof buf - 16; i++)
            off += (size_t)snprintf(buf + off, sizeof buf - off, "%d ", got[i]);
        buf[off] = '\0';
        char *w = json_dumps(want, JSON_COMPACT);
        cr_expect(0, "%s of \"%s\": got [%s], transformers gave %s", what, text, buf, w);
        free(w);
    }
}

/* Runs every case of one task: encode, greedy, beam 4, decode. With prefix_key, the input
 * starts with the checkpoint's task prefix (task_specific_params[prefix_key].prefix, none when
 * absent), which must be the one the fixture's reference run used. A case with its own
 * "prefix" (the multilingual model's target token, ">>fr<< ") starts with that. */
static void check_model(const char *dir, const char *task, const char *prefix_key)
{
    json_t *root = load_fixture();
    const json_t *cases = json_object_get(root, task);
    cr_assert(json_array_size(cases) > 0, "%s: no %s cases", FIXTURE, task);

    struct tx_error err = {0};
    tx_model *model = NULL;
    tx_tokenizer *tok = NULL;
    tx_session *s = NULL;
    cr_assert_eq(tx_model_load(dir, &model, &err), TX_OK, "%s", err.message);
    const char *prefix = NULL;
    if (prefix_key) {
        const char *want = json_string_value(json_object_get(root, "summarize_prefix"));
        prefix = tx_model_task_prefix(model, prefix_key);
        if (!prefix) prefix = ""; /* a checkpoint without one: the text goes in as it is */
        cr_assert(want && strcmp(prefix, want) == 0,
                  "task prefix from config.json: got \"%s\", fixture says \"%s\"", prefix,
                  want ? want : "(none)");
    }
    cr_assert_eq(tx_tokenizer_load(dir, &tok, &err), TX_OK, "%s", err.message);
    cr_assert_eq(tx_session_new(model, 0, &s, &err), TX_OK, "%s", err.message);

    size_t i;
    const json_t *c;
    json_array_foreach(cases, i, c) {
        const char *text = json_string_value(json_object_get(c, "text"));
        const char *own = json_string_value(json_object_get(c, "prefix"));
        char input[4096];
        snprintf(input, sizeof input, "%s%s", own ? own : prefix ? prefix : "", text);

        struct tx_encoding enc = {0};
        cr_assert_eq(tx_tokenizer_encode(tok, input, strlen(input), TX_SIDE_SOURCE, &enc, &err),
                     TX_OK, "%s", err.message);
        expect_ids(enc.ids, enc.n_ids, json_object_get(c, "input_ids"), "input ids", text);

        static const struct {
            const char *key, *text_key;
            int beams;
        } modes[] = {{"greedy", "greedy_text", 1}, {"beam4", "beam4_text", 4}};
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            struct tx_gen_params p = tx_model_gen_params(model);
            p.num_beams = modes[m].beams;
            p.num_return_sequences = 1;
            p.max_new_tokens = MAX_NEW_TOKENS;
            struct tx_gen_out out;
            const int32_t *src = enc.ids;
            cr_assert_eq(tx_generate(s, &src, &enc.n_ids, 1, &p, &out, &err), TX_OK, "%s",
                         err.message);
            const struct tx_hypothesis *h = &out.hyps[0];
            expect_ids(h->ids, h->n_ids, json_object_get(c, modes[m].key), modes[m].key, text);

            char *decoded = NULL;
            cr_assert_eq(tx_tokenizer_decode(tok, h->ids, h->n_ids, 1, &decoded, &err), TX_OK,
                         "%s", err.message);
            const char *want = json_string_value(json_object_get(c, modes[m].text_key));
            cr_expect_str_eq(decoded, want, "%s text of \"%s\"", modes[m].key, text);
            free(decoded);
        }
        tx_encoding_free(&enc);
    }
    tx_session_free(s);
    tx_tokenizer_free(tok);
    tx_model_free(model);
    json_decref(root);
}

Test(default_models, translator_matches_transformers_on_fixed_sentences)
{
    check_model("models/marian-en-de", "translate", NULL);
}

Test(default_models, summarizer_matches_transformers_with_its_config_prefix)
{
    check_model("models/marian-headlines", "summarize", "summarization");
}

Test(default_models, multilingual_translator_matches_transformers_in_all_12_directions)
{
    check_model("models/marian-mul", "translate_multilingual", NULL);
}

Test(default_models, are_float16_and_small)
{
    static const char *dirs[] = {"models/marian-en-de", "models/marian-headlines",
                                 "models/marian-mul"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        struct tx_error err = {0};
        tx_model *model = NULL;
        cr_assert_eq(tx_model_load(dirs[i], &model, &err), TX_OK, "%s", err.message);
        char path[256];
        snprintf(path, sizeof path, "%s/model.safetensors", dirs[i]);
        FILE *f = fopen(path, "rb");
        cr_assert(f, "%s: cannot open", path);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fclose(f);
        cr_expect_lt(size, 25L * 1024 * 1024, "%s is %ld bytes (limit 25 MB)", path, size);
        const struct tx_model_info *mi = tx_model_get_info(model);
        cr_expect_str_eq(mi->dtype, "F16", "%s: weights stored as %s", dirs[i], mi->dtype);
        tx_model_free(model);
    }
}
