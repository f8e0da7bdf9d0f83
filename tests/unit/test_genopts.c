/* test_genopts.c — decoding options: types, ranges, unknown keys, overlay, combinations. */
#include <criterion/criterion.h>
#include <string.h>

#include "genopts.h"

static int parse(const char *text, struct cfg_gen_options *o, char *msg, size_t n)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    int rc = cfg_gen_options_parse(j, "options", 256, o, msg, n);
    json_decref(j);
    return rc;
}

Test(genopts, valid_options_are_read_and_marked_as_set)
{
    struct cfg_gen_options o;
    char msg[512] = "";
    cr_assert_eq(parse("{\"num_beams\":4,\"length_penalty\":0.6,\"do_sample\":false,"
                       "\"seed\":9007199254740991,\"top_p\":1,\"max_new_tokens\":256}",
                       &o, msg, sizeof msg),
                 0, "%s", msg);
    cr_assert_eq(o.num_beams, 4);
    cr_assert_float_eq(o.length_penalty, 0.6, 1e-12);
    cr_assert_eq(o.seed, 9007199254740991ULL);
    cr_assert_eq(o.set, CFG_OPT_NUM_BEAMS | CFG_OPT_LENGTH_PENALTY | CFG_OPT_DO_SAMPLE |
                            CFG_OPT_SEED | CFG_OPT_TOP_P | CFG_OPT_MAX_NEW_TOKENS);
}

Test(genopts, out_of_range_and_wrong_types_give_the_key_path_and_the_value)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"num_beams\":0}", "options.num_beams must be an integer between 1 and 16, got 0"},
        {"{\"num_beams\":17}", "options.num_beams must be an integer between 1 and 16, got 17"},
        {"{\"num_beams\":2.5}", "options.num_beams must be an integer between 1 and 16, got 2.5"},
        {"{\"num_beams\":\"4\"}",
         "options.num_beams must be an integer between 1 and 16, got \"4\""},
        {"{\"max_new_tokens\":257}",
         "options.max_new_tokens must be an integer between 1 and 256, got 257"},
        {"{\"max_new_tokens\":-5}",
         "options.max_new_tokens must be an integer between 1 and 256, got -5"},
        {"{\"temperature\":0}",
         "options.temperature must be a number greater than 0 and at most 10, got 0"},
        {"{\"top_p\":1.5}", "options.top_p must be a number greater than 0 and at most 1, got 1.5"},
        {"{\"length_penalty\":null}",
         "options.length_penalty must be a number between -10 and 10, got null"},
        {"{\"do_sample\":1}", "options.do_sample must be true or false, got 1"},
        {"{\"seed\":-1}", "options.seed must be an integer between 0 and 9007199254740991, got -1"},
        {"{\"top_k\":[1]}", "options.top_k must be an integer between 0 and 1000, got a list"},
        {"{\"beams\":2}", "options has an unknown option \"beams\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cfg_gen_options o;
        char msg[512] = "";
        cr_assert_eq(parse(cases[i].json, &o, msg, sizeof msg), -1, "%s", cases[i].json);
        cr_assert(strstr(msg, cases[i].msg), "%s: got '%s'", cases[i].json, msg);
    }
}

Test(genopts, a_non_object_is_refused)
{
    struct cfg_gen_options o;
    char msg[256];
    json_t *j = json_string("fast");
    cr_assert_eq(cfg_gen_options_parse(j, "options", 10, &o, msg, sizeof msg), -1);
    cr_assert_str_eq(msg, "options must be an object, got \"fast\"");
    json_decref(j);
    cr_assert_eq(cfg_gen_options_parse(NULL, "options", 10, &o, msg, sizeof msg), 0);
    cr_assert_eq(o.set, 0);
}

Test(genopts, overlay_copies_only_the_fields_set_on_top)
{
    struct cfg_gen_options base, top;
    char msg[256];
    cr_assert_eq(parse("{\"num_beams\":4,\"max_new_tokens\":100}", &base, msg, sizeof msg), 0);
    cr_assert_eq(parse("{\"num_beams\":1,\"seed\":7}", &top, msg, sizeof msg), 0);
    cfg_gen_options_overlay(&base, &top);
    cr_assert_eq(base.num_beams, 1);
    cr_assert_eq(base.max_new_tokens, 100);
    cr_assert_eq(base.seed, 7);
    cr_assert_eq(base.set, CFG_OPT_NUM_BEAMS | CFG_OPT_MAX_NEW_TOKENS | CFG_OPT_SEED);
}

Test(genopts, combinations_are_checked)
{
    struct cfg_gen_options o;
    char msg[512];
    cr_assert_eq(parse("{\"max_length\":10,\"max_new_tokens\":10}", &o, msg, sizeof msg), 0);
    cr_assert_eq(cfg_gen_options_check(&o, "options", msg, sizeof msg), -1);
    cr_assert(strstr(msg, "options.max_length and options.max_new_tokens mean the same"));
    cr_assert_eq(parse("{\"min_length\":20,\"max_new_tokens\":10}", &o, msg, sizeof msg), 0);
    cr_assert_eq(cfg_gen_options_check(&o, "options", msg, sizeof msg), -1);
    cr_assert_str_eq(msg, "options.min_length (20) must not exceed the maximum length (10)");
    cr_assert_eq(parse("{\"num_return_sequences\":3,\"num_beams\":2}", &o, msg, sizeof msg), 0);
    cr_assert_eq(cfg_gen_options_check(&o, "options", msg, sizeof msg), -1);
    cr_assert(
        strstr(msg, "options.num_return_sequences (3) must not exceed options.num_beams (2)"));
    /* sampling may return several sequences with one beam */
    cr_assert_eq(parse("{\"num_return_sequences\":3,\"do_sample\":true}", &o, msg, sizeof msg), 0);
    cr_assert_eq(cfg_gen_options_check(&o, "options", msg, sizeof msg), 0);
}

Test(genopts, rendering_to_json_round_trips)
{
    struct cfg_gen_options o, back;
    char msg[256];
    cr_assert_eq(
        parse("{\"num_beams\":3,\"top_p\":0.5,\"early_stopping\":true}", &o, msg, sizeof msg), 0);
    json_t *j = cfg_gen_options_to_json(&o);
    cr_assert_eq(json_object_size(j), 3);
    cr_assert_eq(cfg_gen_options_parse(j, "x", 10, &back, msg, sizeof msg), 0);
    cr_assert_eq(back.set, o.set);
    cr_assert_eq(back.num_beams, 3);
    cr_assert_float_eq(back.top_p, 0.5, 1e-12);
    cr_assert_eq(back.early_stopping, 1);
    json_decref(j);
}

Test(genopts, describe_cuts_and_escapes_long_strings)
{
    char buf[80];
    json_t *j = json_string("a\"b\nccccccccccccccccccccccccccccccccccccccccccccccccccc");
    cfg_json_describe(j, buf, sizeof buf);
    cr_assert_eq(strncmp(buf, "\"a\\\"b\\u000a", 11), 0, "%s", buf);
    cr_assert(strstr(buf, "...\""), "%s", buf);
    cr_assert_lt(strlen(buf), 60);
    json_decref(j);
}
