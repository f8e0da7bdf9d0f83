/* test_srv_libre.c — LibreTranslate's routes: error restyling, served languages, language
 * identification over the served source languages, source routing ("auto", attnserve's own
 * shape), and multipart /translate_file bodies. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "langroute.h"
#include "libre_api.h"
#include "route.h"

static struct cfg_config cfg;
static struct srv_app app;

#define DE_TEXT "Das Wetter ist heute sehr schön und wir gehen lange im Park spazieren."
#define EN_TEXT "The weather is very nice today and we are going for a long walk in the park."

/* en->de, de->en, en->fr and a summarizer, without weights; the identifier over en and de. */
static void setup(void)
{
    cfg_init(&cfg);
    cfg.limits.max_text_bytes = 1000;
    cfg.models = calloc(4, sizeof *cfg.models);
    cfg.n_models = 4;
    const char *names[] = {"en-de", "de-en", "en-fr", "news"};
    const char *src[] = {"en", "de", "en", NULL};
    const char *tgt[] = {"de", "en", "fr", NULL};
    for (int i = 0; i < 4; i++) {
        cfg.models[i].name = strdup(names[i]);
        cfg.models[i].task = src[i] ? CFG_TASK_TRANSLATE : CFG_TASK_SUMMARIZE;
        if (src[i]) {
            cfg.models[i].source_lang = strdup(src[i]);
            cfg.models[i].target_lang = strdup(tgt[i]);
        }
    }
    memset(&app, 0, sizeof app);
    app.cfg = &cfg;
    cr_assert_eq(srv_registry_init(&app.reg, &cfg), 0);
    cr_assert_eq(srv_langid_create(&app.reg, NULL, &app.langid), 0);
    cr_assert_not_null(app.langid, "libexttextcat fingerprints for en and de are installed");
    atomic_store(&app.ready, 1);
}

static void teardown(void)
{
    tx_langid_free(app.langid);
    srv_registry_free(&app.reg);
    cfg_free(&cfg);
}

/* A LibreTranslate JSON request over one text. */
static void libre_request(struct srv_gen_request *q, const char **text, size_t *len,
                          const char *src, const char *tgt)
{
    memset(q, 0, sizeof *q);
    q->libre = 1;
    q->texts = text;
    q->lens = len;
    q->n_texts = 1;
    q->target_lang = tgt;
    if (src)
        q->source_lang = src;
    else
        q->libre_auto = 1;
}

Test(srv_libre, routes_of_libretranslate_match_and_are_libre_shaped)
{
    const char *id = NULL;
    cr_assert_eq(srv_route_match("/detect", &id), SRV_R_DETECT);
    cr_assert_eq(srv_route_match("/frontend/settings", &id), SRV_R_FRONTEND_SETTINGS);
    cr_assert_eq(srv_route_match("/suggest", &id), SRV_R_SUGGEST);
    cr_assert_eq(srv_route_match("/translate_file", &id), SRV_R_TRANSLATE_FILE);
    cr_assert_eq(srv_route_match("/download_file/abc.notes.txt", &id), SRV_R_DOWNLOAD_FILE);
    cr_assert_str_eq(id, "abc.notes.txt");
    cr_assert_eq(srv_route_match("/download_file/a/b", &id), SRV_R_OTHER);
    cr_assert_eq(srv_route_match("/download_file/", &id), SRV_R_OTHER);
    cr_assert(srv_libre_route(SRV_R_DETECT) && srv_libre_route(SRV_R_LANGUAGES));
    cr_assert(!srv_libre_route(SRV_R_TRANSLATE) && !srv_libre_route(SRV_R_ATTENTION));
}

Test(srv_libre, errors_are_restyled_to_libretranslate_shape_and_status)
{
    static const struct {
        srv_code code;
        int status;
    } cases[] = {{SRV_E_INVALID_VALUE, 400},   {SRV_E_MISSING_FIELD, 400},
                 {SRV_E_MODEL_NOT_FOUND, 400}, {SRV_E_UNSUPPORTED_MEDIA_TYPE, 400},
                 {SRV_E_INPUT_TOO_LONG, 400},  {SRV_E_UNAUTHORIZED, 403},
                 {SRV_E_INTERNAL, 500},        {SRV_E_BUSY, 503}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_response r;
        memset(&r, 0, sizeof r);
        struct srv_err e;
        srv_fail(&e, cases[i].code, "what was \"wrong\" %zu", i);
        srv_response_error(&r, &e);
        srv_libre_restyle(&r);
        cr_assert_eq(r.status, cases[i].status, "%s", srv_code_name(cases[i].code));
        json_t *j = json_loadb(r.body, r.len, 0, NULL);
        cr_assert_eq(json_object_size(j), 1);
        cr_assert_str_eq(json_string_value(json_object_get(j, "error")), e.message);
        cr_assert_eq(r.www_authenticate, 0);
        json_decref(j);
        srv_libre_restyle(&r); /* idempotent */
        cr_assert_eq(r.status, cases[i].status);
        srv_response_free(&r);
    }
    struct srv_response ok;
    memset(&ok, 0, sizeof ok);
    srv_response_json(&ok, 200, strdup("{\"translatedText\":\"x\"}"), 22);
    srv_libre_restyle(&ok);
    cr_assert_eq(ok.status, 200);
    cr_assert_str_eq(ok.body, "{\"translatedText\":\"x\"}");
    srv_response_free(&ok);
}

Test(srv_libre, served_pairs_and_source_languages_follow_the_configuration, .init = setup,
     .fini = teardown)
{
    const char *langs[8];
    cr_assert_eq(srv_source_languages(&app.reg, NULL, langs, 8), 2);
    cr_assert_str_eq(langs[0], "en");
    cr_assert_str_eq(langs[1], "de");
    cr_assert_eq(srv_source_languages(&app.reg, "fr", langs, 8), 1);
    cr_assert_eq(srv_source_languages(&app.reg, "xx", langs, 8), 0);
    cr_assert(srv_model_serves(&app.reg.models[2], "en", "fr"));
    cr_assert(!srv_model_serves(&app.reg.models[2], "de", "fr"));
    cr_assert(srv_model_serves(&app.reg.models[1], NULL, "en"));
    cr_assert_eq(srv_model_n_pairs(&app.reg.models[3]), 0);
    cr_assert_eq(tx_langid_count(app.langid), 2);
}

Test(srv_libre, a_language_without_fingerprint_is_left_out_not_fatal)
{
    struct cfg_config c;
    cfg_init(&c);
    c.models = calloc(2, sizeof *c.models);
    c.n_models = 2;
    const char *src[] = {"en", "q1"}; /* q1: no libexttextcat fingerprint */
    for (int i = 0; i < 2; i++) {
        c.models[i].name = strdup(src[i]);
        c.models[i].task = CFG_TASK_TRANSLATE;
        c.models[i].source_lang = strdup(src[i]);
        c.models[i].target_lang = strdup("de");
    }
    struct srv_registry reg;
    cr_assert_eq(srv_registry_init(&reg, &c), 0);
    tx_langid *id = NULL;
    cr_assert_eq(srv_langid_create(&reg, NULL, &id), 0);
    cr_assert_not_null(id);
    cr_assert_eq(tx_langid_count(id), 1);
    cr_assert_str_eq(tx_langid_language(id, 0), "en");
    tx_langid_free(id);
    srv_registry_free(&reg);
    cfg_free(&c);
}

Test(srv_libre, detection_ranks_guesses_and_combines_a_batch, .init = setup, .fini = teardown)
{
    struct srv_detected d[3];
    int n = 0;
    struct srv_err e;
    const char *one[] = {DE_TEXT};
    size_t one_len[] = {strlen(DE_TEXT)};
    cr_assert_eq(srv_detect_texts(app.langid, one, one_len, 1, d, 3, &n, &e), 0);
    cr_assert(n >= 1);
    cr_assert_str_eq(d[0].lang, "de");
    cr_assert(d[0].confidence > 50 && d[0].confidence <= 100);
    for (int i = 1; i < n; i++)
        cr_assert(d[i].confidence <= d[i - 1].confidence);
    /* a batch: the longer German texts outweigh a short English one */
    const char *batch[] = {DE_TEXT, "Good morning.", DE_TEXT};
    size_t blen[] = {strlen(DE_TEXT), 13, strlen(DE_TEXT)};
    cr_assert_eq(srv_detect_texts(app.langid, batch, blen, 3, d, 3, &n, &e), 0);
    cr_assert_str_eq(d[0].lang, "de");
    const char *digits[] = {"12345 !!!"};
    size_t dlen[] = {9};
    cr_assert_eq(srv_detect_texts(app.langid, digits, dlen, 1, d, 3, &n, &e), 0);
    cr_assert_eq(n, 0, "no letters: undecided");
    const char *bad[] = {"ab\xff"};
    size_t badlen[] = {3};
    cr_assert_eq(srv_detect_texts(app.langid, bad, badlen, 1, d, 3, &n, &e), -1);
    cr_assert_eq(e.code, SRV_E_INVALID_ENCODING);
}

Test(srv_libre, auto_picks_the_identified_language_or_refuses_undecidable_text, .init = setup,
     .fini = teardown)
{
    struct srv_gen_request q;
    struct srv_err e;
    const char *t = DE_TEXT;
    size_t n = strlen(t);
    libre_request(&q, &t, &n, NULL, "en");
    cr_assert_eq(srv_langroute_resolve(&app, &q, &e), 0, "%s", e.message);
    cr_assert_str_eq(q.source_lang, "de");
    cr_assert_str_eq(q.detected_lang, "de");
    cr_assert(q.detected_confidence > 50);
    /* identified, but no model translates de into de */
    libre_request(&q, &t, &n, NULL, "de");
    cr_assert_eq(srv_langroute_resolve(&app, &q, &e), -1);
    cr_assert_str_eq(e.message,
                     "German (de) is not available as a target language from German (de)");
    const char *digits = "1234";
    size_t dn = 4;
    libre_request(&q, &digits, &dn, NULL, "de");
    cr_assert_eq(srv_langroute_resolve(&app, &q, &e), -1);
    cr_assert_eq(e.code, SRV_E_INVALID_VALUE);
    cr_assert_not_null(strstr(e.message, "cannot be identified"), "%s", e.message);
}

Test(srv_libre, libretranslate_messages_for_unknown_codes_and_pairs, .init = setup,
     .fini = teardown)
{
    struct srv_gen_request q;
    struct srv_err e;
    const char *t = "Hello";
    size_t n = 5;
    libre_request(&q, &t, &n, "en", "es");
    cr_assert_eq(srv_langroute_resolve(&app, &q, &e), -1);
    cr_assert_str_eq(e.message, "es is not supported");
    libre_request(&q, &t, &n, "xx", "de");
    cr_assert_eq(srv_langroute_resolve(&app, &q, &e), -1);
    cr_assert_str_eq(e.message, "xx is not supported");
    libre_request(&q, &t, &n, "de", "fr");
    cr_assert_eq(srv_langroute_resolve(&app, &q, &e), -1);
    cr_assert_str_eq(e.message,
                     "French (fr) is not available as a target language from German (de)");
    libre_request(&q, &t, &n, "en", "fr");
    cr_assert_eq(srv_langroute_resolve(&app, &q, &e), 0);
    cr_assert_str_eq(q.source_lang, "en");
}

Test(srv_libre, attnserve_shape_identifies_only_longer_texts_with_several_sources, .init = setup,
     .fini = teardown)
{
    struct srv_gen_request q;
    struct srv_err e;
    const char *t = DE_TEXT;
    size_t n = strlen(t);
    memset(&q, 0, sizeof q);
    q.texts = &t;
    q.lens = &n;
    q.n_texts = 1;
    cr_assert_eq(srv_langroute_resolve(&app, &q, &e), 0);
    cr_assert_str_eq(q.source_lang, "de");
    /* into fr only en is a source: nothing to decide */
    memset(&q, 0, sizeof q);
    q.texts = &t;
    q.lens = &n;
    q.n_texts = 1;
    q.target_lang = "fr";
    cr_assert_eq(srv_langroute_resolve(&app, &q, &e), 0);
    cr_assert_null(q.source_lang);
    /* a few words keep the first model */
    const char *s = "Log me.";
    size_t sn = 7;
    memset(&q, 0, sizeof q);
    q.texts = &s;
    q.lens = &sn;
    q.n_texts = 1;
    cr_assert_eq(srv_langroute_resolve(&app, &q, &e), 0);
    cr_assert_null(q.source_lang);
    /* a named model is never overridden */
    memset(&q, 0, sizeof q);
    q.texts = &t;
    q.lens = &n;
    q.n_texts = 1;
    q.model = "en-de";
    cr_assert_eq(srv_langroute_resolve(&app, &q, &e), 0);
    cr_assert_null(q.source_lang);
}

static const char MP_CT[] = "multipart/form-data; boundary=XyZ";

static int parse_file(const char *body, struct srv_gen_request *q, struct srv_err *e)
{
    return srv_libre_parse_file(&app, MP_CT, "example.org:8080", body, strlen(body), 1, q, e);
}

Test(srv_libre, translate_file_reads_a_multipart_text_file, .init = setup, .fini = teardown)
{
    const char *body = "--XyZ\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\nen\r\n"
                       "--XyZ\r\nContent-Disposition: form-data; name=\"target\"\r\n\r\nde\r\n"
                       "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                       "filename=\"../../etc/My Notes.txt\"\r\nContent-Type: text/plain\r\n\r\n"
                       "Hello.\r\nGood bye.\n\r\n--XyZ--\r\n";
    struct srv_gen_request q;
    struct srv_err e;
    cr_assert_eq(parse_file(body, &q, &e), 0, "%s", e.message);
    cr_assert(q.libre && q.libre_file && !q.libre_auto);
    cr_assert_eq(q.n_texts, 1);
    cr_assert_eq(q.lens[0], strlen("Hello.\r\nGood bye.\n"));
    cr_assert_eq(memcmp(q.texts[0], "Hello.\r\nGood bye.\n", q.lens[0]), 0);
    cr_assert_str_eq(q.source_lang, "en");
    cr_assert_str_eq(q.target_lang, "de");
    cr_assert_str_eq(srv_form_get(&q.form, "filename", NULL), "My_Notes.txt");
    cr_assert_str_eq(srv_form_get(&q.form, "host", NULL), "example.org:8080");
    srv_gen_request_free(&q);
}

Test(srv_libre, translate_file_refuses_what_libretranslate_refuses, .init = setup, .fini = teardown)
{
    static const struct {
        const char *body, *message;
    } cases[] = {
        {"--XyZ\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\nen\r\n--XyZ--\r\n",
         "missing file parameter"},
        {"--XyZ\r\nContent-Disposition: form-data; name=\"target\"\r\n\r\nde\r\n"
         "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nx\r\n"
         "--XyZ--\r\n",
         "missing source parameter"},
        {"--XyZ\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\nen\r\n"
         "--XyZ\r\nContent-Disposition: form-data; name=\"target\"\r\n\r\nde\r\n"
         "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\nx\r\n"
         "--XyZ--\r\n",
         "file format not supported"},
        {"--XyZ\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\nen\r\n"
         "--XyZ\r\nContent-Disposition: form-data; name=\"target\"\r\n\r\nde\r\n"
         "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n\xff"
         "\r\n--XyZ--\r\n",
         "not UTF-8"},
        {"--XyZ\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\nen\r\n",
         "not multipart/form-data"}, /* truncated */
        {"no boundary here", "not multipart/form-data"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_gen_request q;
        struct srv_err e;
        cr_assert_eq(parse_file(cases[i].body, &q, &e), -1, "case %zu", i);
        cr_assert_not_null(strstr(e.message, cases[i].message), "case %zu: %s", i, e.message);
        srv_gen_request_free(&q);
    }
}
