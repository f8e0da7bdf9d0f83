/* test_srv_registry.c — choosing a request's model and its effective decoding parameters. */
#include <criterion/criterion.h>
#include <string.h>

#include "registry.h"
#include "request.h"

static struct cfg_config cfg;
static struct srv_registry reg;

/* Three models without weights: en->de, en->fr (beams 4 by configuration) and a summarizer. */
static void setup(void)
{
    cfg_init(&cfg);
    cfg.limits.max_output_tokens = 100;
    cfg.models = calloc(3, sizeof *cfg.models);
    cfg.n_models = 3;
    const char *names[] = {"en-de", "en-fr", "news"};
    const char *tgt[] = {"de", "fr", NULL};
    for (int i = 0; i < 3; i++) {
        cfg.models[i].name = strdup(names[i]);
        cfg.models[i].task = i < 2 ? CFG_TASK_TRANSLATE : CFG_TASK_SUMMARIZE;
        if (tgt[i]) {
            cfg.models[i].source_lang = strdup("en");
            cfg.models[i].target_lang = strdup(tgt[i]);
        }
    }
    cfg.models[1].defaults.set = CFG_OPT_NUM_BEAMS | CFG_OPT_MAX_NEW_TOKENS;
    cfg.models[1].defaults.num_beams = 4;
    cfg.models[1].defaults.max_new_tokens = 90;
    cr_assert_eq(srv_registry_init(&reg, &cfg), 0);
    for (int i = 0; i < 3; i++) {
        struct tx_gen_params *g = &reg.models[i].base;
        memset(g, 0, sizeof *g);
        g->max_length = 512; /* like opus-mt: larger than the server's output limit */
        g->num_beams = 1;
        g->num_return_sequences = 1;
        g->length_penalty = 1.0f;
        g->repetition_penalty = 1.0f;
        g->temperature = 1.0f;
        g->top_p = 1.0f;
        g->min_length = 0;
    }
    reg.models[2].max_new_tokens_cap = 40; /* as if its decoder had 41 positions */
}

static void teardown(void)
{
    srv_registry_free(&reg);
    cfg_free(&cfg);
}

TestSuite(srv_registry, .init = setup, .fini = teardown);

static const struct srv_model *pick(int task, const char *name, const char *src, const char *tgt,
                                    int autosrc, struct srv_err *e)
{
    const struct srv_model *m = NULL;
    if (srv_registry_pick(&reg, task, name, src, tgt, autosrc, &m, e)) return NULL;
    return m;
}

Test(srv_registry, models_are_picked_by_name_or_languages)
{
    struct srv_err e;
    cr_assert_str_eq(pick(SRV_TASK_TRANSLATE, "en-fr", NULL, NULL, 0, &e)->name, "en-fr");
    cr_assert_str_eq(pick(SRV_TASK_TRANSLATE, NULL, "en", "fr", 0, &e)->name, "en-fr");
    cr_assert_str_eq(pick(SRV_TASK_TRANSLATE, NULL, NULL, NULL, 0, &e)->name, "en-de");
    cr_assert_str_eq(pick(SRV_TASK_TRANSLATE, NULL, "xx", "fr", 1, &e)->name, "en-fr");
    cr_assert_str_eq(pick(SRV_TASK_SUMMARIZE, NULL, NULL, NULL, 0, &e)->name, "news");
    cr_assert_str_eq(pick(-1, "news", NULL, NULL, 0, &e)->name, "news");
}

Test(srv_registry, wrong_choices_say_what_exists)
{
    struct srv_err e;
    cr_assert_null(pick(SRV_TASK_TRANSLATE, "en-es", NULL, NULL, 0, &e));
    cr_assert_eq(e.code, SRV_E_MODEL_NOT_FOUND);
    cr_assert(strstr(e.message, "no model named \"en-es\" (available: en-de, en-fr)"), "%s",
              e.message);
    cr_assert_null(pick(SRV_TASK_TRANSLATE, NULL, "en", "es", 0, &e));
    cr_assert_eq(e.code, SRV_E_MODEL_NOT_FOUND);
    cr_assert(strstr(e.message, "no model translates en to es (available: en->de, en->fr)"), "%s",
              e.message);
    cr_assert_null(pick(SRV_TASK_TRANSLATE, "news", NULL, NULL, 0, &e));
    cr_assert_eq(e.code, SRV_E_WRONG_TASK);
    cr_assert(strstr(e.message, "use POST /summarize"));
    cr_assert_null(pick(SRV_TASK_SUMMARIZE, "en-de", NULL, NULL, 0, &e));
    cr_assert_eq(e.code, SRV_E_WRONG_TASK);
    cr_assert_null(pick(SRV_TASK_TRANSLATE, "en-de", "fr", NULL, 0, &e));
    cr_assert_eq(e.code, SRV_E_INVALID_VALUE);
    cr_assert(strstr(e.message, "translates from en, but source_lang is \"fr\""));
    cr_assert_null(pick(-1, NULL, NULL, NULL, 0, &e));
    cr_assert_eq(e.code, SRV_E_MISSING_FIELD);
}

Test(srv_registry, request_options_override_configured_and_checkpoint_defaults)
{
    struct tx_gen_params g;
    struct srv_err e;
    struct cfg_gen_options req = {0};
    /* en-fr: configured beams 4 and 90 tokens over the checkpoint's greedy 511 */
    cr_assert_eq(srv_effective_params(&reg.models[1], &req, &g, &e), 0, "%s", e.message);
    cr_assert_eq(g.num_beams, 4);
    cr_assert_eq(g.max_new_tokens, 90);
    cr_assert_eq(g.max_length, 91);
    req.set = CFG_OPT_NUM_BEAMS | CFG_OPT_MIN_LENGTH | CFG_OPT_SEED | CFG_OPT_LENGTH_PENALTY;
    req.num_beams = 2;
    req.min_length = 5;
    req.seed = 42;
    req.length_penalty = 0.5;
    cr_assert_eq(srv_effective_params(&reg.models[1], &req, &g, &e), 0, "%s", e.message);
    cr_assert_eq(g.num_beams, 2);
    cr_assert_eq(g.min_length, 5); /* transformers' min_length (counts the decoder start token) */
    cr_assert_eq(g.seed, 42);
    cr_assert_float_eq(g.length_penalty, 0.5f, 1e-6);
    cr_assert_null(g.cancel);
}

Test(srv_registry, checkpoint_lengths_are_capped_but_requested_ones_are_refused)
{
    struct tx_gen_params g;
    struct srv_err e;
    struct cfg_gen_options req = {0};
    /* en-de: checkpoint max_length 512 -> capped to the server's 100 */
    cr_assert_eq(srv_effective_params(&reg.models[0], &req, &g, &e), 0);
    cr_assert_eq(g.max_new_tokens, 100);
    /* news: the model can produce 40 */
    req.set = CFG_OPT_MAX_LENGTH;
    req.max_length = 60;
    cr_assert_eq(srv_effective_params(&reg.models[2], &req, &g, &e), -1);
    cr_assert(strstr(e.message, "options.max_length (60) exceeds what model \"news\" may "
                                "generate (40)"),
              "%s", e.message);
}

Test(srv_registry, more_sequences_than_beams_is_refused_unless_sampling)
{
    struct tx_gen_params g;
    struct srv_err e;
    struct cfg_gen_options req = {0};
    req.set = CFG_OPT_NUM_RETURN_SEQUENCES;
    req.num_return_sequences = 3;
    cr_assert_eq(srv_effective_params(&reg.models[1], &req, &g, &e), 0); /* 4 beams */
    cr_assert_eq(g.num_return_sequences, 3);
    cr_assert_eq(srv_effective_params(&reg.models[0], &req, &g, &e), -1); /* greedy */
    cr_assert(strstr(e.message, "options.num_return_sequences (3) must not exceed num_beams (1)"));
    req.set |= CFG_OPT_DO_SAMPLE;
    req.do_sample = 1;
    cr_assert_eq(srv_effective_params(&reg.models[0], &req, &g, &e), 0);
    cr_assert(g.do_sample);
}

Test(srv_registry, the_models_listing_shows_languages_and_defaults)
{
    reg.models[0].info.arch = TX_ARCH_MARIAN;
    reg.models[0].info.dtype = "F16";
    reg.models[0].info.n_params = 1234;
    reg.models[0].info.n_heads = 8;
    atomic_store(&reg.models[0].loaded, 1); /* as srv_registry_load publishes it */
    json_t *j = srv_model_to_json(&reg.models[0]);
    cr_assert_str_eq(json_string_value(json_object_get(j, "name")), "en-de");
    cr_assert_str_eq(json_string_value(json_object_get(j, "task")), "translate");
    cr_assert_str_eq(json_string_value(json_object_get(j, "target_lang")), "de");
    cr_assert_str_eq(json_string_value(json_object_get(j, "architecture")), "marian");
    cr_assert_eq(json_integer_value(json_object_get(j, "parameters")), 1234);
    json_t *d = json_object_get(j, "default_options");
    cr_assert_eq(json_integer_value(json_object_get(d, "max_new_tokens")), 100);
    cr_assert_eq(json_integer_value(json_object_get(d, "num_beams")), 1);
    json_decref(j);
}

Test(srv_registry, a_model_still_loading_is_listed_without_checkpoint_facts)
{
    /* the checkpoint was not read yet: a zeroed info must not pass for a Marian model with
     * nonsense default options */
    json_t *j = srv_model_to_json(&reg.models[2]);
    cr_assert_str_eq(json_string_value(json_object_get(j, "name")), "news");
    cr_assert_str_eq(json_string_value(json_object_get(j, "task")), "summarize");
    cr_assert_str_eq(json_string_value(json_object_get(j, "architecture")), "unknown");
    cr_assert_str_eq(json_string_value(json_object_get(j, "dtype")), "unknown");
    cr_assert_eq(json_integer_value(json_object_get(j, "parameters")), 0);
    cr_assert_null(json_object_get(j, "default_options"));
    cr_assert_null(json_object_get(j, "prefix"));
    json_decref(j);
}

/* A summarizer's decoding defaults are its checkpoint's task_specific_params.summarization over
 * its generation config, as transformers' pipeline("summarization") and attnserve-cli use them
 * (tests/fixtures/serve-tiny/t5: generation_config.json sets no lengths; config.json's
 * summarization entry says min_length 1). */
Test(srv_registry, a_summarizer_gets_its_checkpoint_task_options)
{
    struct cfg_model *cm = &cfg.models[2];
    cm->path = strdup("tests/fixtures/serve-tiny/t5");
    char msg[512] = "";
    cr_assert_eq(srv_registry_load(&reg, 2, &cfg, msg, sizeof msg), 0, "%s", msg);
    const struct srv_model *m = &reg.models[2];
    struct tx_gen_params plain = tx_model_gen_params(m->model);
    cr_assert_neq(plain.min_length, 1, "the fixture's generation config must differ");
    cr_expect_eq(m->base.min_length, 1);
    cr_expect_str_eq(m->prefix, "summarize: ");
}
