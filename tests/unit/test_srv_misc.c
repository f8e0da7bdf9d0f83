/* test_srv_misc.c — error table, JSON writer, API keys, routes, metrics, HTML runs. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "auth.h"
#include "errors.h"
#include "jsonw.h"
#include "libre.h"
#include "metrics.h"
#include "route.h"

Test(srv_errors, every_code_has_a_distinct_name_and_a_client_or_server_status)
{
    for (int i = 1; i < SRV_E_COUNT; i++) {
        int st = srv_code_status((srv_code)i);
        cr_assert(st >= 400 && st <= 599, "%s: %d", srv_code_name((srv_code)i), st);
        for (int k = 1; k < i; k++)
            cr_assert_str_neq(srv_code_name((srv_code)i), srv_code_name((srv_code)k));
    }
    cr_assert_eq(srv_code_status(SRV_E_INVALID_JSON), 400);
    cr_assert_eq(srv_code_status(SRV_E_UNAUTHORIZED), 401);
    cr_assert_eq(srv_code_status(SRV_E_MODEL_NOT_FOUND), 404);
    cr_assert_eq(srv_code_status(SRV_E_METHOD_NOT_ALLOWED), 405);
    cr_assert_eq(srv_code_status(SRV_E_PAYLOAD_TOO_LARGE), 413);
    cr_assert_eq(srv_code_status(SRV_E_UNSUPPORTED_MEDIA_TYPE), 415);
    cr_assert_eq(srv_code_status(SRV_E_INVALID_VALUE), 422);
    cr_assert_eq(srv_code_status(SRV_E_BUSY), 503);
    cr_assert_eq(srv_code_status(SRV_E_INTERNAL), 500);
}

Test(srv_errors, core_failures_never_leak_file_paths)
{
    struct tx_error txe = {TX_ERR_IO, "/secret/models/x/model.safetensors: cannot open"};
    struct srv_err e;
    srv_err_from_tx(TX_ERR_IO, &txe, &e);
    cr_assert_eq(e.code, SRV_E_INTERNAL);
    cr_assert_null(strstr(e.message, "/secret"));
    txe.status = TX_ERR_FORMAT;
    srv_err_from_tx(TX_ERR_FORMAT, &txe, &e);
    cr_assert_null(strstr(e.message, "/secret"));
    struct tx_error tl = {TX_ERR_TOO_LONG, "text[0]: 80 tokens, the model accepts at most 64"};
    srv_err_from_tx(TX_ERR_TOO_LONG, &tl, &e);
    cr_assert_eq(e.code, SRV_E_INPUT_TOO_LONG);
    cr_assert_str_eq(e.message, tl.message);
    srv_err_from_tx(TX_ERR_NOMEM, NULL, &e);
    cr_assert_eq(srv_code_status(e.code), 500);
}

Test(srv_errors, the_error_body_is_one_json_shape)
{
    struct srv_err e;
    srv_fail(&e, SRV_E_INVALID_VALUE, "options.num_beams must be between %d and %d, got %d", 1, 16,
             0);
    size_t len;
    char *body = srv_error_body(&e, &len);
    json_t *j = json_loadb(body, len, 0, NULL);
    cr_assert_not_null(j);
    json_t *err = json_object_get(j, "error");
    cr_assert_eq(json_object_size(j), 1);
    cr_assert_eq(json_object_size(err), 2);
    cr_assert_str_eq(json_string_value(json_object_get(err, "code")), "invalid_value");
    cr_assert_str_eq(json_string_value(json_object_get(err, "message")),
                     "options.num_beams must be between 1 and 16, got 0");
    json_decref(j);
    free(body);
}

Test(srv_jsonw, strings_are_escaped_and_always_valid_utf8)
{
    struct srv_buf b;
    srv_buf_init(&b);
    const char s[] =
        "a\"b\\c\n\t\x01\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80|\xff|\xc0\xaf|\xed\xa0\x80";
    srv_buf_json_string(&b, s, sizeof s - 1);
    json_error_t je;
    json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY, &je);
    cr_assert_not_null(j, "%s: %s", b.data, je.text);
    const char *v = json_string_value(j);
    cr_assert_eq(strncmp(v, "a\"b\\c\n\t\x01\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80|", 18), 0);
    /* 0xff, the overlong 0xc0 0xaf (two bytes) and the surrogate (three bytes) -> U+FFFD each byte
     */
    cr_assert(strstr(v, "|\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD|"), "%s", b.data);
    json_decref(j);
    srv_buf_free(&b);
}

Test(srv_jsonw, fixed_numbers_have_no_trailing_zeros)
{
    const struct {
        double v;
        const char *want;
    } cases[] = {{0, "0"},        {1, "1"},        {0.5, "0.5"},   {0.12345, "0.1235"},
                 {0.00004, "0"},  {-0.00004, "0"}, {0.99996, "1"}, {12.3, "12.3"},
                 {-1.25, "-1.25"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_buf b;
        srv_buf_init(&b);
        srv_buf_json_fixed(&b, cases[i].v, 4);
        cr_expect_str_eq(b.data, cases[i].want, "%g", cases[i].v);
        srv_buf_free(&b);
    }
}

Test(srv_jsonw, utf8_check_finds_the_first_bad_byte)
{
    cr_assert_eq(srv_utf8_check("abc", 3), 3);
    cr_assert_eq(srv_utf8_check("ab\xc3", 3), 2);
    cr_assert_eq(srv_utf8_check("\xf4\x90\x80\x80", 4), 0); /* above U+10FFFF */
    cr_assert_eq(srv_utf8_check("\xe2\x82\xac!", 4), 4);
}

Test(srv_auth, bearer_tokens_are_parsed)
{
    size_t n;
    const char *t = srv_auth_bearer("Bearer abc123", &n);
    cr_assert_not_null(t);
    cr_assert_eq(n, 6);
    cr_assert_eq(strncmp(t, "abc123", n), 0);
    t = srv_auth_bearer("  bearer   k  ", &n);
    cr_assert_eq(n, 1);
    cr_assert_null(srv_auth_bearer("Basic dXNlcg==", &n));
    cr_assert_null(srv_auth_bearer("Bearer", &n));
    cr_assert_null(srv_auth_bearer("Bearer   ", &n));
    cr_assert_null(srv_auth_bearer("Bearerx y", &n));
    cr_assert_null(srv_auth_bearer(NULL, &n));
}

Test(srv_auth, keys_match_exactly)
{
    char *keys[] = {"alpha-123", "beta"};
    cr_assert(srv_auth_check(keys, 2, "beta", 4));
    cr_assert(srv_auth_check(keys, 2, "alpha-123", 9));
    cr_assert_not(srv_auth_check(keys, 2, "alpha-12", 8));
    cr_assert_not(srv_auth_check(keys, 2, "alpha-1234", 10));
    cr_assert_not(srv_auth_check(keys, 2, "bet", 3));
    cr_assert_not(srv_auth_check(keys, 2, "", 0));
    cr_assert_not(srv_auth_check(keys, 0, "beta", 4));
    char longkey[400];
    memset(longkey, 'a', sizeof longkey);
    cr_assert_not(srv_auth_check(keys, 2, longkey, sizeof longkey));
}

Test(srv_route, paths_map_to_routes_and_ids)
{
    const char *id = NULL;
    cr_assert_eq(srv_route_match("/translate", &id), SRV_R_TRANSLATE);
    cr_assert_eq(srv_route_match("/healthz", &id), SRV_R_HEALTHZ);
    cr_assert_eq(srv_route_match("/openapi.yaml", &id), SRV_R_OPENAPI);
    cr_assert_eq(srv_route_match("/attention", &id), SRV_R_ATTENTION);
    cr_assert_eq(srv_route_match("/attention/abc", &id), SRV_R_ATTENTION_ID);
    cr_assert_str_eq(id, "abc");
    cr_assert_eq(srv_route_match("/attention/", &id), SRV_R_OTHER);
    cr_assert_eq(srv_route_match("/attention/a/b", &id), SRV_R_OTHER);
    cr_assert_eq(srv_route_match("/translate/", &id), SRV_R_OTHER);
    cr_assert_eq(srv_route_match("/", &id), SRV_R_OTHER);
    cr_assert_str_eq(srv_routes[SRV_R_TRANSLATE].allow, "POST, OPTIONS");
    cr_assert(srv_routes[SRV_R_SUMMARIZE].needs_key);
    cr_assert_not(srv_routes[SRV_R_HEALTHZ].needs_key);
}

Test(srv_metrics, counters_and_histograms_render_in_prometheus_format)
{
    const char *routes[] = {"/a", "/b"};
    const char *models[] = {"m1"};
    struct srv_metrics *m = srv_metrics_new(routes, 2, models, 1);
    srv_metrics_request(m, 0, 200, 0.003);
    srv_metrics_request(m, 0, 200, 0.2);
    srv_metrics_request(m, 1, 418, 0.2);
    srv_metrics_inference(m, 0, 0.5, 10, 7);
    srv_metrics_rejected(m);
    srv_metrics_model_loaded(m, 0, 1.25);
    struct srv_gauges g = {.queue_depth = 3, .queue_capacity = 8, .workers = 2, .ready = 1};
    size_t len;
    char *t = srv_metrics_render(m, &g, &len);
    cr_assert(strstr(t, "attnserve_http_requests_total{route=\"/a\",status=\"200\"} 2\n"));
    cr_assert(strstr(t, "attnserve_http_requests_total{route=\"/b\",status=\"other\"} 1\n"));
    cr_assert(
        strstr(t, "attnserve_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.005\"} 1\n"));
    cr_assert(
        strstr(t, "attnserve_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.25\"} 2\n"));
    cr_assert(
        strstr(t, "attnserve_http_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 2\n"));
    cr_assert(strstr(t, "attnserve_http_request_duration_seconds_count{route=\"/a\"} 2\n"));
    cr_assert(strstr(t, "attnserve_http_request_duration_seconds_sum{route=\"/a\"} 0.203000\n"));
    cr_assert(strstr(t, "attnserve_input_tokens_total{model=\"m1\"} 10\n"));
    cr_assert(strstr(t, "attnserve_output_tokens_total{model=\"m1\"} 7\n"));
    cr_assert(strstr(t, "attnserve_queue_depth 3\n"));
    cr_assert(strstr(t, "attnserve_queue_rejected_total 1\n"));
    cr_assert(strstr(t, "attnserve_model_load_seconds{model=\"m1\"} 1.250000\n"));
    cr_assert(strstr(t, "# TYPE attnserve_inference_seconds histogram\n"));
    /* every non-comment line is "name{labels} value" or "name value" */
    char *copy = strdup(t), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        char *sp = strrchr(line, ' ');
        cr_assert_not_null(sp, "%s", line);
        char *end;
        strtod(sp + 1, &end);
        cr_assert_eq(*end, '\0', "%s", line);
    }
    free(copy);
    free(t);
    srv_metrics_free(m);
}

Test(srv_libre, html_text_runs_exclude_tags_whitespace_and_scripts)
{
    const char *h = "<p class=\"a>b\">Hello <b>world</b>!</p> <script>x<y</script><!-- c -->End";
    struct srv_html_piece *p;
    int n = srv_html_split(h, strlen(h), &p);
    cr_assert_gt(n, 0);
    char got[8][32];
    int k = 0;
    size_t covered = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(p[i].start, covered); /* pieces tile the input */
        covered = p[i].end;
        if (p[i].is_text && k < 8) {
            snprintf(got[k++], 32, "%.*s", (int)(p[i].trail - p[i].lead), h + p[i].lead);
        }
    }
    cr_assert_eq(covered, strlen(h));
    cr_assert_eq(k, 4);
    cr_assert_str_eq(got[0], "Hello");
    cr_assert_str_eq(got[1], "world");
    cr_assert_str_eq(got[2], "!");
    cr_assert_str_eq(got[3], "End");
    free(p);
}

Test(srv_libre, language_names_fall_back_to_the_code)
{
    cr_assert_str_eq(srv_language_name("de"), "German");
    cr_assert_str_eq(srv_language_name("en"), "English");
    cr_assert_str_eq(srv_language_name("xx"), "xx");
}
