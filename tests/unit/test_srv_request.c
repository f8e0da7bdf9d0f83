/* test_srv_request.c — request bodies: content types, JSON errors, every field's checks and
 * messages, LibreTranslate's JSON and form shapes, /attention selections. */
#include <criterion/criterion.h>
#include <string.h>

#include "request.h"

static struct cfg_limits limits(void)
{
    struct cfg_limits l = {0};
    l.max_body_bytes = 1 << 20;
    l.max_texts = 3;
    l.max_text_bytes = 100;
    l.max_input_tokens = 512;
    l.max_output_tokens = 64;
    return l;
}

/* Parses body as /translate JSON and expects an error with `code` whose message contains msg. */
static void translate_fails(const char *body, srv_code code, const char *msg)
{
    struct cfg_limits l = limits();
    struct srv_gen_request r;
    struct srv_err e = {0};
    int rc = srv_parse_translate(body, strlen(body), 1, &l, &r, &e);
    cr_expect_eq(rc, -1, "accepted: %s", body);
    cr_expect_eq(e.code, code, "%s: code %s, want %s (%s)", body, srv_code_name(e.code),
                 srv_code_name(code), e.message);
    cr_expect(strstr(e.message, msg), "%s: message '%s' lacks '%s'", body, e.message, msg);
    srv_gen_request_free(&r);
}

Test(srv_request, content_types_are_checked)
{
    struct srv_err e;
    cr_assert_eq(srv_content_kind("application/json", 0, &e), SRV_BODY_JSON);
    cr_assert_eq(srv_content_kind("Application/JSON; charset=UTF-8", 0, &e), SRV_BODY_JSON);
    cr_assert_eq(srv_content_kind("application/x-www-form-urlencoded", 1, &e), SRV_BODY_FORM);
    cr_assert_eq(srv_content_kind("application/x-www-form-urlencoded", 0, &e), -1);
    cr_assert_eq(e.code, SRV_E_UNSUPPORTED_MEDIA_TYPE);
    cr_assert_eq(srv_content_kind(NULL, 0, &e), -1);
    cr_assert(strstr(e.message, "Content-Type is missing"));
    cr_assert_eq(srv_content_kind("text/plain", 0, &e), -1);
    cr_assert(strstr(e.message, "got text/plain"), "%s", e.message);
    cr_assert_eq(srv_content_kind("application/json; charset=latin1", 0, &e), -1);
    cr_assert(strstr(e.message, "charset=utf-8"));
    cr_assert_eq(srv_content_kind("application/jsonx", 0, &e), -1);
}

Test(srv_request, a_valid_translate_request_is_read)
{
    const char *body =
        "{\"text\":[\"Hello.\",\"World\"],\"model\":\"en-de\",\"options\":"
        "{\"num_beams\":2},\"scores\":true,\"tokens\":false,\"split_sentences\":false}";
    struct cfg_limits l = limits();
    struct srv_gen_request r;
    struct srv_err e = {0};
    cr_assert_eq(srv_parse_translate(body, strlen(body), 1, &l, &r, &e), 0, "%s", e.message);
    cr_assert_eq(r.n_texts, 2);
    cr_assert(r.text_is_list);
    cr_assert_str_eq(r.texts[1], "World");
    cr_assert_eq(r.lens[0], 6);
    cr_assert_str_eq(r.model, "en-de");
    cr_assert_eq(r.options.num_beams, 2);
    cr_assert(r.scores);
    cr_assert_not(r.split_sentences);
    cr_assert_not(r.libre);
    srv_gen_request_free(&r);
}

Test(srv_request, malformed_json_names_line_and_column)
{
    translate_fails("{\"text\": \"a\",}", SRV_E_INVALID_JSON, "invalid JSON at line 1, column");
    translate_fails("{\"text\": \"a\"", SRV_E_INVALID_JSON, "invalid JSON");
    translate_fails("", SRV_E_INVALID_JSON, "the body is empty");
    translate_fails("   \n", SRV_E_INVALID_JSON, "the body is empty");
    translate_fails("{\"text\":\"a\",\"text\":\"b\"}", SRV_E_INVALID_JSON, "duplicate");
    translate_fails("{\"text\":\"a\\u0000b\"}", SRV_E_INVALID_JSON, "invalid JSON");
    translate_fails("{\"text\":\"\xff\xfe\"}", SRV_E_INVALID_JSON, "invalid JSON");
    translate_fails("[\"text\"]", SRV_E_INVALID_VALUE, "must be a JSON object, got a list");
    translate_fails("\"text\"", SRV_E_INVALID_JSON, "invalid JSON");
}

Test(srv_request, a_nul_byte_inside_the_body_is_malformed_json)
{
    const char body[] = "{\"text\":\"a\"}\0{}";
    struct cfg_limits l = limits();
    struct srv_gen_request r;
    struct srv_err e = {0};
    cr_assert_eq(srv_parse_translate(body, sizeof body - 1, 1, &l, &r, &e), -1);
    cr_assert_eq(e.code, SRV_E_INVALID_JSON);
    srv_gen_request_free(&r);
}

Test(srv_request, texts_are_checked_one_by_one)
{
    translate_fails("{}", SRV_E_MISSING_FIELD, "text is required");
    translate_fails("{\"text\":5}", SRV_E_INVALID_VALUE,
                    "text must be a string or a list of strings, got 5");
    translate_fails("{\"text\":\"\"}", SRV_E_INVALID_VALUE, "text must not be empty");
    translate_fails("{\"text\":\" \\n\\t \"}", SRV_E_INVALID_VALUE, "text holds only whitespace");
    translate_fails("{\"text\":[]}", SRV_E_INVALID_VALUE, "text must hold at least one string");
    translate_fails("{\"text\":[\"a\",null]}", SRV_E_INVALID_VALUE,
                    "text[1] must be a string, got null");
    translate_fails("{\"text\":[\"a\",\"\"]}", SRV_E_INVALID_VALUE, "text[1] must not be empty");
    translate_fails("{\"text\":[\"a\",\"b\",\"c\",\"d\"]}", SRV_E_TOO_MANY_TEXTS,
                    "text holds 4 texts; at most 3 are accepted");
    char big[400];
    snprintf(big, sizeof big, "{\"text\":\"%0101d\"}", 0);
    translate_fails(big, SRV_E_INPUT_TOO_LONG, "text is 101 bytes; a text may have at most 100");
}

Test(srv_request, fields_and_options_are_checked)
{
    translate_fails("{\"text\":\"a\",\"colour\":1}", SRV_E_UNKNOWN_FIELD,
                    "unknown field \"colour\" in a /translate request");
    translate_fails("{\"text\":\"a\",\"model\":7}", SRV_E_INVALID_VALUE, "model must be a string");
    translate_fails("{\"text\":\"a\",\"model\":\"\"}", SRV_E_INVALID_VALUE,
                    "model must be 1 to 64 characters");
    translate_fails("{\"text\":\"a\",\"scores\":\"yes\"}", SRV_E_INVALID_VALUE,
                    "scores must be true or false, got \"yes\"");
    translate_fails("{\"text\":\"a\",\"options\":{\"num_beams\":0}}", SRV_E_INVALID_VALUE,
                    "options.num_beams must be an integer between 1 and 16, got 0");
    translate_fails("{\"text\":\"a\",\"options\":{\"max_new_tokens\":65}}", SRV_E_INVALID_VALUE,
                    "options.max_new_tokens must be an integer between 1 and 64, got 65");
    translate_fails("{\"text\":\"a\",\"options\":{\"nun_beams\":2}}", SRV_E_UNKNOWN_FIELD,
                    "options has an unknown option \"nun_beams\"");
    translate_fails("{\"text\":\"a\",\"options\":[1]}", SRV_E_INVALID_VALUE,
                    "options must be an object, got a list");
    translate_fails("{\"text\":\"a\",\"options\":{\"min_length\":9,\"max_new_tokens\":3}}",
                    SRV_E_INVALID_VALUE, "options.min_length (9) must not exceed");
    translate_fails("{\"text\":\"a\",\"api_key\":5}", SRV_E_INVALID_VALUE,
                    "api_key must be a string");
}

Test(srv_request, num_return_sequences_waits_for_the_models_beams)
{
    /* more sequences than the request's beams may still fit the model's default beams */
    const char *body = "{\"text\":\"a\",\"options\":{\"num_return_sequences\":3}}";
    struct cfg_limits l = limits();
    struct srv_gen_request r;
    struct srv_err e = {0};
    cr_assert_eq(srv_parse_translate(body, strlen(body), 1, &l, &r, &e), 0, "%s", e.message);
    cr_assert_eq(r.options.num_return_sequences, 3);
    srv_gen_request_free(&r);
}

Test(srv_request, libre_translate_json_shape_is_recognised_by_q)
{
    const char *body = "{\"q\":[\"Hi\",\"there\"],\"source\":\"auto\",\"target\":\"de\","
                       "\"format\":\"html\",\"alternatives\":2,\"api_key\":\"k\",\"secret\":1}";
    struct cfg_limits l = limits();
    struct srv_gen_request r;
    struct srv_err e = {0};
    cr_assert_eq(srv_parse_translate(body, strlen(body), 1, &l, &r, &e), 0, "%s", e.message);
    cr_assert(r.libre);
    cr_assert(r.libre_auto);
    cr_assert(r.libre_html);
    cr_assert_eq(r.libre_alternatives, 2);
    cr_assert_null(r.source_lang);
    cr_assert_str_eq(r.target_lang, "de");
    cr_assert_str_eq(r.api_key, "k");
    cr_assert_eq(r.n_texts, 2);
    srv_gen_request_free(&r);
    translate_fails("{\"q\":\"a\",\"source\":\"en\"}", SRV_E_MISSING_FIELD, "target is required");
    translate_fails("{\"q\":\"a\",\"target\":\"de\",\"format\":\"pdf\"}", SRV_E_INVALID_VALUE,
                    "format must be text or html");
    translate_fails("{\"q\":\"a\",\"target\":\"de\",\"alternatives\":-1}", SRV_E_INVALID_VALUE,
                    "alternatives must be an integer between 0 and 15, got -1");
    translate_fails("{\"q\":\"a\",\"text\":\"b\",\"target\":\"de\"}", SRV_E_INVALID_VALUE,
                    "either text");
}

Test(srv_request, libre_translate_form_shape_is_decoded)
{
    const char *body = "q=Hello+world%21&source=en&target=de&alternatives=1&api_key=abc";
    struct cfg_limits l = limits();
    struct srv_gen_request r;
    struct srv_err e = {0};
    cr_assert_eq(srv_parse_translate(body, strlen(body), 2, &l, &r, &e), 0, "%s", e.message);
    cr_assert(r.libre);
    cr_assert_str_eq(r.texts[0], "Hello world!");
    cr_assert_str_eq(r.source_lang, "en");
    cr_assert_eq(r.libre_alternatives, 1);
    cr_assert_str_eq(r.api_key, "abc");
    srv_gen_request_free(&r);

    const char *bad[] = {"source=en&target=de", "q=%zz&target=de", "q=a%00b&target=de",
                         "{\"q\":\"x\"}", "q=%ff&target=de"};
    srv_code want[] = {SRV_E_MISSING_FIELD, SRV_E_INVALID_FORM, SRV_E_INVALID_FORM,
                       SRV_E_UNSUPPORTED_MEDIA_TYPE, SRV_E_INVALID_ENCODING};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(srv_parse_translate(bad[i], strlen(bad[i]), 2, &l, &r, &e), -1, "%s", bad[i]);
        cr_expect_eq(e.code, want[i], "%s: %s", bad[i], e.message);
        srv_gen_request_free(&r);
    }
}

Test(srv_request, summarize_accepts_its_own_fields_only)
{
    const char *ok = "{\"text\":\"A story.\",\"strict\":true,\"options\":{\"max_length\":20}}";
    struct cfg_limits l = limits();
    struct srv_gen_request r;
    struct srv_err e = {0};
    cr_assert_eq(srv_parse_summarize(ok, strlen(ok), &l, &r, &e), 0, "%s", e.message);
    cr_assert(r.strict);
    cr_assert_eq(r.options.max_length, 20);
    srv_gen_request_free(&r);
    const char *bad = "{\"text\":\"A\",\"target_lang\":\"de\"}";
    cr_assert_eq(srv_parse_summarize(bad, strlen(bad), &l, &r, &e), -1);
    cr_assert_eq(e.code, SRV_E_UNKNOWN_FIELD);
    cr_assert(strstr(e.message, "in a /summarize request"));
    srv_gen_request_free(&r);
}

static int attention(const char *body, struct srv_attention_request *r, struct srv_err *e)
{
    struct cfg_limits l = limits();
    return srv_parse_attention(body, strlen(body), &l, r, e);
}

Test(srv_request, attention_selections_are_read)
{
    struct srv_attention_request r;
    struct srv_err e = {0};
    cr_assert_eq(
        attention("{\"task\":\"summarize\",\"text\":\"x\",\"kinds\":[\"cross\",\"decoder\"],"
                  "\"layers\":[1,0],\"heads\":\"max\",\"rollout\":true}",
                  &r, &e),
        0, "%s", e.message);
    cr_assert_eq(r.task, SRV_TASK_SUMMARIZE);
    cr_assert_eq(r.kinds, SRV_KIND_CROSS | SRV_KIND_DECODER);
    cr_assert_eq(r.n_layers, 2);
    cr_assert_eq(r.layers[0], 1);
    cr_assert_eq(r.head_agg, SRV_AGG_MAX);
    cr_assert(r.rollout);
    srv_attention_request_free(&r);
    cr_assert_eq(attention("{\"text\":\"x\",\"heads\":[3,1]}", &r, &e), 0);
    cr_assert_eq(r.task, -1);
    cr_assert_eq(r.kinds, SRV_KIND_CROSS | SRV_KIND_ENCODER | SRV_KIND_DECODER);
    cr_assert_eq(r.n_heads, 2);
    cr_assert_eq(r.heads[1], 1);
    srv_attention_request_free(&r);
}

Test(srv_request, attention_selections_are_checked)
{
    static const struct {
        const char *body, *msg;
        srv_code code;
    } cases[] = {
        {"{\"task\":\"tl\",\"text\":\"x\"}", "task must be \"translate\" or \"summarize\"",
         SRV_E_INVALID_VALUE},
        {"{\"task\":\"translate\"}", "text is required", SRV_E_MISSING_FIELD},
        {"{\"text\":[\"x\"]}", "text must be a string, got a list", SRV_E_INVALID_VALUE},
        {"{\"text\":\"x\",\"kinds\":[]}", "kinds must be a non-empty list", SRV_E_INVALID_VALUE},
        {"{\"text\":\"x\",\"kinds\":[\"self\"]}", "kinds[0] must be \"cross\"",
         SRV_E_INVALID_VALUE},
        {"{\"text\":\"x\",\"kinds\":[\"cross\",\"cross\"]}", "kinds lists \"cross\" twice",
         SRV_E_INVALID_VALUE},
        {"{\"text\":\"x\",\"layers\":[-1]}", "layers[0] must be a non-negative integer",
         SRV_E_INVALID_VALUE},
        {"{\"text\":\"x\",\"layers\":[0,0]}", "layers lists 0 twice", SRV_E_INVALID_VALUE},
        {"{\"text\":\"x\",\"layers\":2}", "layers must be a list", SRV_E_INVALID_VALUE},
        {"{\"text\":\"x\",\"heads\":\"avg\"}", "heads must be a list of head indices, \"mean\"",
         SRV_E_INVALID_VALUE},
        {"{\"text\":\"x\",\"heads\":[1.5]}", "heads[0] must be a non-negative integer index",
         SRV_E_INVALID_VALUE},
        {"{\"text\":\"x\",\"format\":\"svg\"}", "unknown field \"format\"", SRV_E_UNKNOWN_FIELD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_attention_request r;
        struct srv_err e = {0};
        cr_expect_eq(attention(cases[i].body, &r, &e), -1, "%s", cases[i].body);
        cr_expect_eq(e.code, cases[i].code, "%s: %s", cases[i].body, e.message);
        cr_expect(strstr(e.message, cases[i].msg), "%s: '%s'", cases[i].body, e.message);
        srv_attention_request_free(&r);
    }
}
