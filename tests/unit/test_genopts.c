/* test_genopts.c — decoding options: types, ranges, unknown keys, overlay, combinations. */
#include <criterion/criterion.h>
#include <string.h>

#include "genopts.h"
#include "genparams.h"

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
    /* lengths as transformers counts them: min_length and max_length include the decoder start
     * token, max_new_tokens does not (max_new_tokens 10 = max_length 11) */
    cr_assert_eq(parse("{\"min_length\":20,\"max_new_tokens\":10}", &o, msg, sizeof msg), 0);
    cr_assert_eq(cfg_gen_options_check(&o, "options", msg, sizeof msg), -1);
    cr_assert_str_eq(msg, "options.min_length (20) must not exceed the maximum length (11, "
                          "counting the decoder start token as transformers does)");
    cr_assert_eq(parse("{\"min_length\":11,\"max_new_tokens\":10}", &o, msg, sizeof msg), 0);
    cr_assert_eq(cfg_gen_options_check(&o, "options", msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(parse("{\"min_length\":11,\"max_length\":10}", &o, msg, sizeof msg), 0);
    cr_assert_eq(cfg_gen_options_check(&o, "options", msg, sizeof msg), -1);
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

Test(genopts, every_row_of_the_table_is_a_flag_and_a_key_of_its_surfaces)
{
    char flag[64];
    for (size_t i = 0; i < CFG_GEN_N_OPTIONS; i++) {
        const struct cfg_gen_option *op = &cfg_gen_option_table[i];
        cr_assert_eq(op->bit, 1u << i);
        cr_assert_eq(cfg_gen_option_by_flag(cfg_gen_option_flag(op, flag, sizeof flag)), op, "%s",
                     flag);
        cr_assert(op->help && *op->help, "%s", op->key);
        /* the server's range lies inside the core's: what HTTP accepts the CLI accepts */
        if (op->surfaces & CFG_GEN_SRV) {
            cr_assert_geq(op->srv_lo, op->lo, "%s", op->key);
            cr_assert_leq(cfg_gen_option_srv_hi(op, 99999), op->hi, "%s", op->key);
        }
    }
    cr_assert_str_eq(cfg_gen_option_flag(&cfg_gen_option_table[CFG_OPT_IDX_NO_REPEAT_NGRAM_SIZE],
                                         flag, sizeof flag),
                     "--no-repeat-ngram-size");
    cr_assert_null(cfg_gen_option_by_flag("--num_beams"));
    cr_assert_null(cfg_gen_option_by_flag("num-beams"));
}

Test(genopts, cli_text_values_use_the_cli_range_and_the_same_fields)
{
    struct cfg_gen_options o = {0};
    char msg[256] = "";
    const struct cfg_gen_option *beams = cfg_gen_option_by_flag("--num-beams");
    cr_assert_eq(cfg_gen_option_parse_text(beams, "64", &o, msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(o.num_beams, 64); /* above the server's 16: the CLI allows the core's 256 */
    cr_assert_eq(cfg_gen_option_parse_text(beams, "257", &o, msg, sizeof msg), -1);
    cr_assert_str_eq(msg, "--num-beams needs an integer in [1, 256], got '257'");
    const struct cfg_gen_option *early = cfg_gen_option_by_flag("--early-stopping");
    cr_assert_eq(cfg_gen_option_parse_text(early, "never", &o, msg, sizeof msg), 0);
    cr_assert_eq(o.early_stopping, 2);
    cr_assert_eq(cfg_gen_option_parse_text(early, "yes", &o, msg, sizeof msg), -1);
    const struct cfg_gen_option *rp = cfg_gen_option_by_flag("--repetition-penalty");
    cr_assert_eq(cfg_gen_option_parse_text(rp, "0", &o, msg, sizeof msg), -1);
    cr_assert_str_eq(msg, "--repetition-penalty needs a number in (0, 1000], got '0'");
    cr_assert_eq(
        cfg_gen_option_parse_text(cfg_gen_option_by_flag("--do-sample"), "", &o, msg, sizeof msg),
        0);
    cr_assert_eq(o.do_sample, 1);
    cr_assert_eq(o.set, CFG_OPT_NUM_BEAMS | CFG_OPT_EARLY_STOPPING | CFG_OPT_DO_SAMPLE);
}

Test(genopts, cli_only_rows_are_unknown_to_the_server)
{
    struct cfg_gen_options o;
    char msg[512] = "";
    cr_assert_eq(parse("{\"eos_token_id\":3}", &o, msg, sizeof msg), -1);
    cr_assert(strstr(msg, "options has an unknown option \"eos_token_id\""), "%s", msg);
    cr_assert(!strstr(msg, "eos_token_id,"), "%s", msg);
}

Test(genopts, a_layer_giving_one_length_replaces_the_other_below)
{
    struct cfg_gen_options base, top;
    char msg[256];
    cr_assert_eq(parse("{\"max_new_tokens\":100,\"num_beams\":4}", &base, msg, sizeof msg), 0);
    cr_assert_eq(parse("{\"max_length\":12}", &top, msg, sizeof msg), 0);
    cfg_gen_options_overlay(&base, &top);
    cr_assert_eq(base.set, CFG_OPT_MAX_LENGTH | CFG_OPT_NUM_BEAMS);
    cr_assert_eq(base.max_length, 12);
}

Test(genopts, options_map_onto_tx_gen_params_fields_of_the_same_name)
{
    struct cfg_gen_options o;
    char msg[512] = "";
    cr_assert_eq(parse("{\"num_beams\":3,\"max_length\":9,\"min_length\":4,"
                       "\"length_penalty\":0.5,\"no_repeat_ngram_size\":2,"
                       "\"repetition_penalty\":1.5,\"do_sample\":true,\"temperature\":0.7,"
                       "\"top_k\":5,\"top_p\":0.9,\"seed\":123,\"early_stopping\":true,"
                       "\"num_return_sequences\":2}",
                       &o, msg, sizeof msg),
                 0, "%s", msg);
    struct tx_gen_params p = tx_gen_default_params();
    p.max_new_tokens = 50; /* a checkpoint's: max_length alone replaces it */
    cfg_gen_options_to_params(&o, &p);
    cr_assert_eq(p.num_beams, 3);
    cr_assert_eq(p.max_length, 9); /* transformers' max_length, unchanged */
    cr_assert_eq(p.max_new_tokens, 0);
    cr_assert_eq(p.min_length, 4); /* transformers' min_length, unchanged */
    cr_assert_float_eq(p.length_penalty, 0.5f, 1e-7);
    cr_assert_eq(p.no_repeat_ngram_size, 2);
    cr_assert_float_eq(p.repetition_penalty, 1.5f, 1e-7);
    cr_assert_eq(p.do_sample, 1);
    cr_assert_float_eq(p.temperature, 0.7f, 1e-7);
    cr_assert_eq(p.top_k, 5);
    cr_assert_float_eq(p.top_p, 0.9f, 1e-7);
    cr_assert_eq(p.seed, 123);
    cr_assert_eq(p.early_stopping, 1);
    cr_assert_eq(p.num_return_sequences, 2);
    cr_assert_eq(parse("{\"max_new_tokens\":7}", &o, msg, sizeof msg), 0);
    cfg_gen_options_to_params(&o, &p);
    cr_assert_eq(p.max_new_tokens, 7);
}

Test(genopts, the_schema_dump_has_the_server_rows_and_ranges)
{
    json_t *s = cfg_gen_options_schema(64);
    cr_assert_not_null(s);
    json_t *ml = json_object_get(s, "max_length");
    cr_assert_eq(json_integer_value(json_object_get(ml, "maximum")), 65);
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(s, "max_new_tokens"), "maximum")), 64);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(s, "num_beams"), "maximum")),
                 CFG_MAX_BEAMS);
    cr_assert_not_null(json_object_get(json_object_get(s, "top_p"), "exclusiveMinimum"));
    cr_assert_null(json_object_get(s, "eos_token_id"));
    json_decref(s);
}

Test(genopts, json_type_names_are_for_messages)
{
    json_t *j = json_pack("[s, i, f, b, n, {}, []]", "x", 1, 1.5, 1);
    const char *want[] = {"a string", "a number",  "a number", "a boolean",
                          "null",     "an object", "a list"};
    for (size_t i = 0; i < 7; i++)
        cr_assert_str_eq(cfg_json_type_name(json_array_get(j, i)), want[i]);
    json_decref(j);
}
