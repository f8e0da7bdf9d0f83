/* test_config.c — configuration loading: file, environment, flags, validation messages. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char tmpdir[256];

/* A scratch folder with two fake checkpoint folders: "mt" (a tokenizer_config.json naming
 * en->de, as Marian's does) and "sum" (no languages). */
static void make_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/attnserve-cfgtest-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    char p[512];
    snprintf(p, sizeof p, "%s/mt", tmpdir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/mt/config.json", tmpdir);
    FILE *f = fopen(p, "w");
    fputs("{\"model_type\":\"marian\"}", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/mt/tokenizer_config.json", tmpdir);
    f = fopen(p, "w");
    fputs("{\"source_lang\":\"en\",\"target_lang\":\"de\"}", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/sum", tmpdir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/sum/config.json", tmpdir);
    f = fopen(p, "w");
    fputs("{\"model_type\":\"t5\"}", f);
    fclose(f);
}

static void rm_tmp(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(config, .init = make_tmp, .fini = rm_tmp);

static void write_file(const char *name, const char *text, char *path_out, size_t n)
{
    snprintf(path_out, n, "%s/%s", tmpdir, name);
    FILE *f = fopen(path_out, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* True when some message contains needle. */
static int has_msg(const struct cfg_errors *e, const char *needle)
{
    for (int i = 0; i < e->n; i++)
        if (strstr(e->msgs[i], needle)) return 1;
    return 0;
}

static void dump(const struct cfg_errors *e)
{
    for (int i = 0; i < e->n; i++)
        cr_log_info("msg: %s", e->msgs[i]);
}

Test(config, defaults_listen_on_8080_with_one_worker_and_no_models)
{
    struct cfg_config c;
    cfg_init(&c);
    cr_assert_eq(c.port, 8080);
    cr_assert_str_eq(c.host, "0.0.0.0");
    cr_assert_eq(c.workers, 1);
    cr_assert_eq(c.n_models, 0);
    cr_assert_eq(c.limits.max_body_bytes, 1 << 20);
    cfg_free(&c);
}

Test(config, a_file_sets_nested_keys_and_models_relative_to_its_folder)
{
    char path[512];
    write_file("a.json",
               "{\"listen\":{\"host\":\"127.0.0.1\",\"port\":9001},\"workers\":2,"
               "\"blas_threads\":1,\"limits\":{\"max_texts\":7},"
               "\"log\":{\"level\":\"debug\",\"format\":\"text\"},"
               "\"models\":[{\"name\":\"mt\",\"path\":\"mt\"},"
               "{\"name\":\"s\",\"path\":\"sum\",\"task\":\"summarize\","
               "\"default_options\":{\"num_beams\":3,\"max_new_tokens\":40}}],"
               "\"cors_origins\":[\"https://a.example\",\"*\"],\"_comment\":\"ignored\"}",
               path, sizeof path);
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cr_assert_eq(cfg_load_file(&c, path, &e), 0);
    cr_assert_eq(cfg_validate(&c, &e), 0);
    dump(&e);
    cr_assert_eq(e.n, 0);
    cr_assert_str_eq(c.host, "127.0.0.1");
    cr_assert_eq(c.port, 9001);
    cr_assert_eq(c.workers, 2);
    cr_assert_eq(c.limits.max_texts, 7);
    cr_assert_eq(c.log_level, CFG_LOG_DEBUG);
    cr_assert_eq(c.log_format, CFG_LOG_TEXT);
    cr_assert_eq(c.n_models, 2);
    char want[512];
    snprintf(want, sizeof want, "%s/mt", tmpdir);
    cr_assert_str_eq(c.models[0].path, want);
    /* the task and languages of "mt" come from its tokenizer_config.json */
    cr_assert_eq(c.models[0].task, CFG_TASK_TRANSLATE);
    cr_assert_str_eq(c.models[0].source_lang, "en");
    cr_assert_str_eq(c.models[0].target_lang, "de");
    cr_assert_eq(c.models[1].task, CFG_TASK_SUMMARIZE);
    cr_assert_eq(c.models[1].defaults.num_beams, 3);
    cr_assert(c.models[1].defaults.set & CFG_OPT_MAX_NEW_TOKENS);
    cr_assert_eq(c.n_cors_origins, 2);
    cr_assert_str_eq(c.cors_origins[1], "*");
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, every_invalid_value_in_a_file_is_reported_with_its_key_path)
{
    char path[512];
    write_file("bad.json",
               "{\"listen\":{\"port\":70000,\"hots\":\"x\"},\"workers\":\"2\",\"limits\":5,"
               "\"log\":{\"level\":\"loud\"},"
               "\"models\":[{\"name\":\"a\",\"path\":\"mt\",\"default_options\":{\"num_beams\":0}},"
               "{\"path\":\"sum\",\"colour\":\"red\"}]}",
               path, sizeof path);
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_load_file(&c, path, &e);
    dump(&e);
    cr_assert(has_msg(&e, "listen.port must be an integer between 0 and 65535, got 70000"));
    cr_assert(has_msg(&e, "listen.hots: unknown key"));
    cr_assert(has_msg(&e, "workers must be an integer between 1 and 64, got \"2\""));
    cr_assert(has_msg(&e, "limits must be an object, got 5"));
    cr_assert(has_msg(&e, "log.level must be one of debug, info, warn, error, got \"loud\""));
    cr_assert(has_msg(&e, "models[0].default_options.num_beams must be an integer between 1 "
                          "and 16, got 0"));
    cr_assert(has_msg(&e, "models[1].colour: unknown key"));
    cr_assert(has_msg(&e, "models[1].name is required"));
    cr_assert_eq(e.n, 8);
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, malformed_json_is_reported_with_line_and_column)
{
    char path[512];
    write_file("broken.json", "{\n  \"port\": 1,,\n}", path, sizeof path);
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cr_assert_eq(cfg_load_file(&c, path, &e), 1);
    cr_assert_eq(e.n, 1);
    cr_assert(strstr(e.msgs[0], "broken.json:2:"), "%s", e.msgs[0]);
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, a_missing_file_is_an_error_naming_it)
{
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cr_assert_eq(cfg_load_file(&c, "/nonexistent/attnserve.json", &e), 1);
    cr_assert(has_msg(&e, "/nonexistent/attnserve.json: cannot open"));
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, environment_overrides_the_file_and_flags_override_the_environment)
{
    char path[512], mt[512];
    write_file("c.json", "{\"listen\":{\"port\":9001},\"queue_depth\":5,\"workers\":3}", path,
               sizeof path);
    snprintf(mt, sizeof mt, "--model=mt=%s/mt", tmpdir);
    char *env[] = {"ATTNSERVE_PORT=9002", "ATTNSERVE_QUEUE_DEPTH=6", "HOME=/x",
                   "ATTNSERVE_LOG_FORMAT=text", NULL};
    char *argv[] = {"attnserve", "--config", path, "--port", "9003", mt, NULL};
    struct cfg_config c;
    struct cfg_errors e = {0};
    int action = -1;
    cfg_init(&c);
    int rc = cfg_load(&c, 6, argv, env, &action, &e);
    dump(&e);
    cr_assert_eq(rc, 0);
    cr_assert_eq(action, CFG_RUN);
    cr_assert_eq(c.port, 9003);     /* flag */
    cr_assert_eq(c.queue_depth, 6); /* environment */
    cr_assert_eq(c.workers, 3);     /* file */
    cr_assert_eq(c.log_format, CFG_LOG_TEXT);
    cr_assert_eq(c.n_models, 1);
    cr_assert_str_eq(c.models[0].name, "mt");
    cr_assert_str_eq(c.config_file, path);
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, invalid_environment_and_flag_values_name_their_source)
{
    char *env[] = {"ATTNSERVE_PORT=http", "ATTNSERVE_WORKRS=2", "ATTNSERVE_WORKERS=0", NULL};
    char *argv[] = {"attnserve",           "--max-texts", "-1",    "--frobnicate",
                    "--log-level=verbose", "stray",       "--port"};
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_apply_env(&c, env, &e);
    cfg_apply_args(&c, 7, argv, &e);
    dump(&e);
    cr_assert(has_msg(&e, "ATTNSERVE_PORT must be an integer between 0 and 65535, got \"http\""));
    cr_assert(has_msg(&e, "ATTNSERVE_WORKRS: unknown environment variable"));
    cr_assert(has_msg(&e, "ATTNSERVE_WORKERS must be an integer between 1 and 64, got \"0\""));
    cr_assert(has_msg(&e, "--max-texts must be an integer between 1 and 10000, got \"-1\""));
    cr_assert(has_msg(&e, "unknown option \"--frobnicate\""));
    cr_assert(has_msg(&e, "--log-level must be one of debug, info, warn, error, got \"verbose\""));
    cr_assert(has_msg(&e, "unexpected argument \"stray\""));
    cr_assert(has_msg(&e, "--port needs a value"));
    cr_assert_eq(e.n, 8);
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, model_flags_add_models_or_change_a_configured_ones_path)
{
    char path[512], spec1[512], spec2[512];
    write_file("d.json", "{\"models\":[{\"name\":\"en-de\",\"path\":\"nowhere\"}]}", path,
               sizeof path);
    snprintf(spec1, sizeof spec1, "en-de=%s/mt", tmpdir);
    snprintf(spec2, sizeof spec2,
             "news=%s/sum,task=summarize,language=en,prefix=summarize: ", tmpdir);
    char *argv[] = {"attnserve", "--model", spec1, "--model", spec2};
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_load_file(&c, path, &e);
    cfg_apply_args(&c, 5, argv, &e);
    cfg_validate(&c, &e);
    dump(&e);
    cr_assert_eq(e.n, 0);
    cr_assert_eq(c.n_models, 2);
    cr_assert_eq(c.models[0].task, CFG_TASK_TRANSLATE);
    cr_assert_eq(c.models[1].task, CFG_TASK_SUMMARIZE);
    cr_assert_str_eq(c.models[1].language, "en");
    cr_assert_str_eq(c.models[1].prefix, "summarize: ");
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, a_model_dtype_is_auto_or_int8_from_a_file_or_a_flag)
{
    char path[512], spec[512];
    write_file("q.json",
               "{\"models\":[{\"name\":\"a\",\"path\":\"x\",\"dtype\":\"int8\"},"
               "{\"name\":\"b\",\"path\":\"y\",\"dtype\":\"int4\"},"
               "{\"name\":\"c\",\"path\":\"z\",\"dtype\":8}]}",
               path, sizeof path);
    snprintf(spec, sizeof spec, "d=%s/w,dtype=int8", tmpdir);
    char *argv[] = {"attnserve", "--model", spec};
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_load_file(&c, path, &e);
    cfg_apply_args(&c, 3, argv, &e);
    dump(&e);
    cr_assert_eq(c.n_models, 4);
    cr_expect_eq(c.models[0].dtype, CFG_DTYPE_INT8);
    cr_expect_eq(c.models[3].dtype, CFG_DTYPE_INT8);
    cr_expect(has_msg(&e, "models[1].dtype must be auto, int8, w8a8, f16 or f32, got \"int4\""));
    cr_expect(has_msg(&e, "models[2].dtype must be a string"));
    cr_expect_eq(e.n, 2);
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, model_problems_are_found_at_validation)
{
    char spec[512], spec2[512];
    snprintf(spec, sizeof spec, "bad name=%s/mt", tmpdir);
    snprintf(spec2, sizeof spec2, "x=%s/sum,task=translate,source_lang=EN", tmpdir);
    char *argv[] = {"attnserve", "--model", "a=/definitely/not/here",
                    "--model",   spec,      "--model",
                    spec2,       "--model", "oops"};
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_apply_args(&c, 9, argv, &e);
    cfg_validate(&c, &e);
    dump(&e);
    cr_assert(has_msg(&e, "--model must look like NAME=PATH"));
    cr_assert(has_msg(&e, "models[0].path (model a): no such directory: /definitely/not/here"));
    cr_assert(has_msg(&e, "models[1].name must be 1-64 letters"));
    cr_assert(has_msg(&e, "models[2] (model x): a translate model needs source_lang and "
                          "target_lang"));
    cr_assert(has_msg(&e, "models[2].source_lang must be a language code"));
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, no_models_at_all_is_an_error)
{
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cr_assert_eq(cfg_validate(&c, &e), 1);
    cr_assert(has_msg(&e, "models: at least one model is required"));
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, several_workers_with_several_blas_threads_is_refused)
{
    char spec[512];
    snprintf(spec, sizeof spec, "mt=%s/mt", tmpdir);
    char *argv[] = {"attnserve", "--workers", "2", "--blas-threads", "4", "--model", spec};
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_apply_args(&c, 7, argv, &e);
    cr_assert_eq(cfg_validate(&c, &e), 1);
    cr_assert(has_msg(&e, "blas_threads must be 0 or 1 when workers > 1 (got workers 2, "
                          "blas_threads 4)"));
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, engine_threads_come_from_a_flag_and_exclude_blas_threads)
{
    char spec[512];
    snprintf(spec, sizeof spec, "mt=%s/mt", tmpdir);
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cr_expect_eq(c.engine_threads, 1);
    char *ok[] = {"attnserve", "--engine-threads", "2", "--model", spec};
    cfg_apply_args(&c, 5, ok, &e);
    cr_expect_eq(c.engine_threads, 2);
    cr_expect_eq(e.n, 0);
    char *both[] = {"attnserve", "--blas-threads", "2"};
    cfg_apply_args(&c, 3, both, &e);
    cr_assert_eq(cfg_validate(&c, &e), 1);
    cr_assert(has_msg(&e, "blas_threads must be 0 or 1 when engine_threads > 1 (got "
                          "engine_threads 2, blas_threads 2)"));
    cfg_errors_free(&e);
    cfg_free(&c);
    struct cfg_errors e2 = {0};
    cfg_init(&c);
    char *bad[] = {"attnserve", "--engine-threads", "65"};
    cfg_apply_args(&c, 3, bad, &e2);
    cr_assert_gt(e2.n, 0, "65 engine threads were accepted");
    cfg_errors_free(&e2);
    cfg_free(&c);
}

Test(config, default_options_are_bounded_by_the_final_output_limit)
{
    char path[512];
    write_file("e.json",
               "{\"limits\":{\"max_output_tokens\":50},\"models\":[{\"name\":\"m\",\"path\":"
               "\"sum\",\"default_options\":{\"max_new_tokens\":80,\"num_beams\":2,"
               "\"num_return_sequences\":3}}]}",
               path, sizeof path);
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_load_file(&c, path, &e);
    cfg_validate(&c, &e);
    dump(&e);
    cr_assert(has_msg(&e, "models[0].default_options.max_new_tokens (80) exceeds "
                          "limits.max_output_tokens (50)"));
    cr_assert(has_msg(&e, "models[0].default_options.num_return_sequences (3) must not exceed "
                          "models[0].default_options.num_beams (2)"));
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, api_keys_are_read_one_per_line_skipping_comments_and_blanks)
{
    char path[512], spec[512], keys[512];
    write_file("keys.txt", "# team keys\n\n  alpha-123  \nbeta_456\n", keys, sizeof keys);
    snprintf(spec, sizeof spec, "mt=%s/mt", tmpdir);
    char *argv[] = {"attnserve", "--api-keys-file", keys, "--model", spec};
    (void)path;
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_apply_args(&c, 5, argv, &e);
    cr_assert_eq(cfg_validate(&c, &e), 0);
    cr_assert_eq(c.n_api_keys, 2);
    cr_assert_str_eq(c.api_keys[0], "alpha-123");
    cr_assert_str_eq(c.api_keys[1], "beta_456");
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, an_api_keys_file_without_keys_is_refused)
{
    char keys[512], spec[512];
    write_file("nokeys.txt", "# nothing here\n\n", keys, sizeof keys);
    snprintf(spec, sizeof spec, "mt=%s/mt", tmpdir);
    char *argv[] = {"attnserve", "--api-keys-file", keys, "--model", spec};
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_apply_args(&c, 5, argv, &e);
    cr_assert_eq(cfg_validate(&c, &e), 1);
    cr_assert(has_msg(&e, "holds no keys"));
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, cors_origins_must_be_origins)
{
    char spec[512];
    snprintf(spec, sizeof spec, "mt=%s/mt", tmpdir);
    char *env[] = {"ATTNSERVE_CORS_ORIGINS=https://ok.example, ftp://no.example,"
                   "http://x.example/path",
                   NULL};
    char *argv[] = {"attnserve", "--model", spec};
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_apply_env(&c, env, &e);
    cfg_apply_args(&c, 3, argv, &e);
    cfg_validate(&c, &e);
    dump(&e);
    cr_assert_eq(c.n_cors_origins, 3);
    cr_assert_str_eq(c.cors_origins[1], "ftp://no.example");
    cr_assert(has_msg(&e, "cors_origins[1] must be \"*\" or an origin"));
    cr_assert(has_msg(&e, "cors_origins[2] must be \"*\" or an origin"));
    cr_assert_eq(e.n, 2);
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, help_and_version_flags_skip_loading)
{
    char *argv[] = {"attnserve", "--port", "nonsense", "--help"};
    struct cfg_config c;
    struct cfg_errors e = {0};
    int action = -1;
    cfg_init(&c);
    cr_assert_eq(cfg_load(&c, 4, argv, NULL, &action, &e), 0);
    cr_assert_eq(action, CFG_HELP);
    char *argv2[] = {"attnserve", "--version"};
    cr_assert_eq(cfg_load(&c, 2, argv2, NULL, &action, &e), 0);
    cr_assert_eq(action, CFG_VERSION);
    cfg_free(&c);
}

Test(config, help_text_lists_every_flag_with_its_environment_variable)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cfg_print_help(f, "attnserve");
    fclose(f);
    cr_assert(strstr(buf, "--port N"));
    cr_assert(strstr(buf, "ATTNSERVE_PORT"));
    cr_assert(strstr(buf, "limits.request_timeout_ms"));
    cr_assert(strstr(buf, "--model NAME=PATH"));
    free(buf);
}

Test(config, the_shipped_default_config_parses_without_errors)
{
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cr_assert_eq(cfg_load_file(&c, "config/attnserve.json", &e), 0);
    dump(&e);
    cr_assert_eq(e.n, 0);
    cr_assert_eq(c.n_models, 5);
    cr_assert_str_eq(c.models[0].name, "en-de");
    cr_assert_str_eq(c.models[1].name, "mul"); /* after en-de: en->de goes to the dedicated model */
    cr_assert_eq(c.models[1].n_languages, 4);
    cr_assert_str_eq(c.models[1].languages[3], "cs");
    cr_assert_str_eq(c.models[2].name, "headlines");
    cr_assert_str_eq(c.models[3].name, "extract"); /* after headlines: asked for by name */
    cr_assert_str_eq(c.models[4].name, "en-de-rnn"); /* after en-de: asked for by name */
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, dump_shows_the_effective_values_but_not_the_keys)
{
    struct cfg_config c;
    cfg_init(&c);
    c.port = 1234;
    c.api_keys = calloc(1, sizeof *c.api_keys);
    c.api_keys[0] = strdup("secret-key");
    c.n_api_keys = 1;
    char *j = cfg_dump_json(&c);
    cr_assert(strstr(j, "\"listen.port\":1234"));
    cr_assert(strstr(j, "\"api_keys\":1"));
    cr_assert_null(strstr(j, "secret-key"));
    free(j);
    cfg_free(&c);
}

Test(config, a_multilingual_model_lists_its_languages_in_a_file_or_a_flag)
{
    char path[512], spec[512];
    write_file(
        "mul.json",
        "{\"models\":[{\"name\":\"mul\",\"path\":\"mt\",\"languages\":[\"en\",\"de\",\"fr\"]}]}",
        path, sizeof path);
    snprintf(spec, sizeof spec, "flag=%s/mt,languages=en+cs", tmpdir);
    char *argv[] = {"attnserve", "--model", spec};
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_load_file(&c, path, &e);
    cfg_apply_args(&c, 3, argv, &e);
    cfg_validate(&c, &e);
    dump(&e);
    cr_assert_eq(e.n, 0);
    cr_assert_eq(c.models[0].task, CFG_TASK_TRANSLATE);
    cr_assert_eq(c.models[0].n_languages, 3);
    cr_assert_str_eq(c.models[0].languages[2], "fr");
    /* the checkpoint's own pair (tokenizer_config.json en->de) is not taken */
    cr_assert_null(c.models[0].source_lang);
    cr_assert_eq(c.models[1].n_languages, 2);
    cr_assert_str_eq(c.models[1].languages[1], "cs");
    char *d = cfg_dump_json(&c);
    cr_assert_not_null(strstr(d, "\"languages\":[\"en\",\"de\",\"fr\"]"), "%s", d);
    free(d);
    cfg_errors_free(&e);
    cfg_free(&c);
}

Test(config, invalid_languages_are_reported_with_their_key_path)
{
    char path[512];
    write_file("badmul.json",
               "{\"models\":["
               "{\"name\":\"a\",\"path\":\"mt\",\"languages\":\"en,de\"},"
               "{\"name\":\"b\",\"path\":\"mt\",\"languages\":[\"en\",7]},"
               "{\"name\":\"c\",\"path\":\"mt\",\"languages\":[\"en\",\"EN!\",\"en\"]},"
               "{\"name\":\"d\",\"path\":\"mt\",\"languages\":[\"en\",\"de\"],"
               "\"source_lang\":\"en\",\"target_lang\":\"de\"},"
               "{\"name\":\"e\",\"path\":\"sum\",\"task\":\"summarize\","
               "\"languages\":[\"en\",\"de\"]},"
               "{\"name\":\"f\",\"path\":\"mt\",\"languages\":[\"en\"]}]}",
               path, sizeof path);
    struct cfg_config c;
    struct cfg_errors e = {0};
    cfg_init(&c);
    cfg_load_file(&c, path, &e);
    cfg_validate(&c, &e);
    dump(&e);
    cr_assert(has_msg(&e, "models[0].languages must be a list of 2 to 32 language codes, got"));
    cr_assert(has_msg(&e, "models[1].languages[1] must be a language code, got 7"));
    cr_assert(has_msg(&e, "models[2].languages[1] must be a language code such as"));
    cr_assert(has_msg(&e, "models[2].languages lists \"en\" twice"));
    cr_assert(has_msg(&e, "models[3] (model d): give either languages or source_lang and "
                          "target_lang, not both"));
    cr_assert(has_msg(&e, "models[4].languages (model e): only a translate model has languages"));
    cr_assert(has_msg(&e, "models[5].languages must be a list of 2 to 32 language codes"));
    cfg_errors_free(&e);
    cfg_free(&c);
}
