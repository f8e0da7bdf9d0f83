/* config.c — configuration loading: defaults < JSON file < environment < command line. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_MAX_OUTPUT_TOKENS 256 /* limits.max_output_tokens */

#define ATTNSERVE_VERSION_STRING "0.1.0"
#define MAX_MODELS 64
#define MAX_API_KEY_LEN 256

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                   */
/* ---------------------------------------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
add_err(struct cfg_errors *e, const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **m = realloc(e->msgs, (size_t)(e->n + 1) * sizeof *m);
    if (!m) return; /* out of memory while reporting: the count still says something failed */
    e->msgs = m;
    e->msgs[e->n] = strdup(buf);
    if (e->msgs[e->n]) e->n++;
}

void cfg_errors_free(struct cfg_errors *e)
{
    for (int i = 0; i < e->n; i++)
        free(e->msgs[i]);
    free(e->msgs);
    e->msgs = NULL;
    e->n = 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Defaults and lifetime                                                                    */
/* ---------------------------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = dup_or_null(s);
}

void cfg_init(struct cfg_config *c)
{
    memset(c, 0, sizeof *c);
    c->host = strdup("0.0.0.0");
    c->port = 8080;
    c->http_threads = 4;
    c->workers = 1;
    c->blas_threads = 0;
    c->engine_threads = 1;
    c->queue_depth = 64;
    c->shutdown_timeout_ms = 30000;
    c->limits.max_body_bytes = 1 << 20;
    c->limits.max_texts = 64;
    c->limits.max_text_bytes = 65536;
    c->limits.max_input_tokens = 512;
    c->limits.max_output_tokens = DEFAULT_MAX_OUTPUT_TOKENS;
    c->limits.request_timeout_ms = 60000;
    c->limits.body_timeout_ms = 10000;
    c->limits.idle_timeout_s = 30;
    c->limits.header_timeout_ms = 10000;
    c->limits.max_connections = 512;
    c->limits.max_connections_per_ip = 0;
    c->limits.session_memory_mb = 2048;
    c->batching.max_rows = 32;
    c->batching.max_tokens = 0;
    c->attention_store.max_mb = 256;
    c->attention_store.max_entries = 1000;
    c->attention_store.ttl_s = 3600;
    c->log_level = CFG_LOG_INFO;
    c->log_format = CFG_LOG_JSON;
}

static void free_model(struct cfg_model *m)
{
    free(m->name);
    free(m->path);
    free(m->source_lang);
    free(m->target_lang);
    free(m->language);
    free(m->prefix);
    for (int i = 0; i < m->n_languages; i++)
        free(m->languages[i]);
    free(m->languages);
    memset(m, 0, sizeof *m);
}

static void free_list(char ***list, int *n)
{
    for (int i = 0; i < *n; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *n = 0;
}

void cfg_free(struct cfg_config *c)
{
    free(c->config_file);
    free(c->host);
    for (int i = 0; i < c->n_models; i++)
        free_model(&c->models[i]);
    free(c->models);
    free(c->api_keys_file);
    for (int i = 0; i < c->n_api_keys; i++) {
        /* keys are secrets: wipe before release */
        volatile char *p = c->api_keys[i];
        for (size_t k = 0; p[k]; k++)
            p[k] = 0;
        free(c->api_keys[i]);
    }
    free(c->api_keys);
    free_list(&c->cors_origins, &c->n_cors_origins);
    memset(c, 0, sizeof *c);
}

const char *cfg_task_name(cfg_task t)
{
    switch (t) {
    case CFG_TASK_TRANSLATE:
        return "translate";
    case CFG_TASK_SUMMARIZE:
        return "summarize";
    case CFG_TASK_AUTO:
        return "auto";
    }
    return "auto";
}

/* ---------------------------------------------------------------------------------------- */
/* The table of scalar settings: one row per key, shared by file, environment and flags     */
/* ---------------------------------------------------------------------------------------- */

enum stype { S_INT, S_LL, S_STR, S_PATH, S_LEVEL, S_FORMAT };

static const struct setting {
    const char *path; /* JSON key path */
    const char *env;  /* environment variable */
    const char *flag; /* command-line flag */
    enum stype type;
    size_t off;
    long long lo, hi;
    const char *help;
} settings[] = {
    {"listen.host", "ATTNSERVE_HOST", "--host", S_STR, offsetof(struct cfg_config, host), 0, 0,
     "address to listen on (0.0.0.0, ::, 127.0.0.1, localhost)"},
    {"listen.port", "ATTNSERVE_PORT", "--port", S_INT, offsetof(struct cfg_config, port), 0, 65535,
     "TCP port (0 = any free port)"},
    {"http_threads", "ATTNSERVE_HTTP_THREADS", "--http-threads", S_INT,
     offsetof(struct cfg_config, http_threads), 1, 256,
     "HTTP threads (epoll, each many connections)"},
    {"workers", "ATTNSERVE_WORKERS", "--workers", S_INT, offsetof(struct cfg_config, workers), 1,
     64, "inference workers"},
    {"blas_threads", "ATTNSERVE_BLAS_THREADS", "--blas-threads", S_INT,
     offsetof(struct cfg_config, blas_threads), 0, 256,
     "BLAS threads (0 = CPUs with 1 worker; must be 1 with several workers)"},
    {"engine_threads", "ATTNSERVE_ENGINE_THREADS", "--engine-threads", S_INT,
     offsetof(struct cfg_config, engine_threads), 1, 64,
     "threads of each worker that split its products (results identical; BLAS then runs 1)"},
    {"queue_depth", "ATTNSERVE_QUEUE_DEPTH", "--queue-depth", S_INT,
     offsetof(struct cfg_config, queue_depth), 1, 100000,
     "requests waiting for a worker before 503"},
    {"shutdown_timeout_ms", "ATTNSERVE_SHUTDOWN_TIMEOUT_MS", "--shutdown-timeout-ms", S_INT,
     offsetof(struct cfg_config, shutdown_timeout_ms), 0, 3600000,
     "longest wait for in-flight requests on SIGTERM"},
    {"limits.max_body_bytes", "ATTNSERVE_MAX_BODY_BYTES", "--max-body-bytes", S_LL,
     offsetof(struct cfg_config, limits.max_body_bytes), 256, 1LL << 30,
     "largest request body (413 beyond)"},
    {"limits.max_texts", "ATTNSERVE_MAX_TEXTS", "--max-texts", S_INT,
     offsetof(struct cfg_config, limits.max_texts), 1, 10000, "texts in one request"},
    {"limits.max_text_bytes", "ATTNSERVE_MAX_TEXT_BYTES", "--max-text-bytes", S_INT,
     offsetof(struct cfg_config, limits.max_text_bytes), 1, 1 << 30, "bytes of one text"},
    {"limits.max_input_tokens", "ATTNSERVE_MAX_INPUT_TOKENS", "--max-input-tokens", S_INT,
     offsetof(struct cfg_config, limits.max_input_tokens), 2, 100000,
     "tokens of one model input (also capped by the model)"},
    {"limits.max_output_tokens", "ATTNSERVE_MAX_OUTPUT_TOKENS", "--max-output-tokens", S_INT,
     offsetof(struct cfg_config, limits.max_output_tokens), 1, 100000,
     "largest max_new_tokens a request may ask for"},
    {"limits.request_timeout_ms", "ATTNSERVE_REQUEST_TIMEOUT_MS", "--request-timeout-ms", S_INT,
     offsetof(struct cfg_config, limits.request_timeout_ms), 10, 3600000,
     "deadline of a request, from arrival to answer (503 timeout beyond)"},
    {"limits.body_timeout_ms", "ATTNSERVE_BODY_TIMEOUT_MS", "--body-timeout-ms", S_INT,
     offsetof(struct cfg_config, limits.body_timeout_ms), 10, 3600000,
     "time allowed to send a request body (408 beyond)"},
    {"limits.idle_timeout_s", "ATTNSERVE_IDLE_TIMEOUT_S", "--idle-timeout-s", S_INT,
     offsetof(struct cfg_config, limits.idle_timeout_s), 1, 3600,
     "idle connections are closed after this"},
    {"limits.header_timeout_ms", "ATTNSERVE_HEADER_TIMEOUT_MS", "--header-timeout-ms", S_INT,
     offsetof(struct cfg_config, limits.header_timeout_ms), 10, 3600000,
     "a request header must arrive within this of the connection's start (or of the previous "
     "answer plus idle_timeout_s); the connection is closed beyond"},
    {"limits.max_connections", "ATTNSERVE_MAX_CONNECTIONS", "--max-connections", S_INT,
     offsetof(struct cfg_config, limits.max_connections), 1, 1000000,
     "open connections at once; more are closed at accept until some end"},
    {"limits.max_connections_per_ip", "ATTNSERVE_MAX_CONNECTIONS_PER_IP",
     "--max-connections-per-ip", S_INT, offsetof(struct cfg_config, limits.max_connections_per_ip),
     0, 1000000, "open connections from one client address (0 = no limit; keep 0 behind a proxy)"},
    {"limits.session_memory_mb", "ATTNSERVE_SESSION_MEMORY_MB", "--session-memory-mb", S_INT,
     offsetof(struct cfg_config, limits.session_memory_mb), 0, 1 << 20,
     "scratch memory cap of one worker per model (0 = none)"},
    {"batching.max_rows", "ATTNSERVE_BATCH_MAX_ROWS", "--batch-max-rows", S_INT,
     offsetof(struct cfg_config, batching.max_rows), 1, 4096,
     "decoding rows a worker runs together per model (requests join and leave between steps; "
     "beams and samples count one row each, and a request's rows are never split; 1 = no batching: one request at a time)"},
    {"batching.max_tokens", "ATTNSERVE_BATCH_MAX_TOKENS", "--batch-max-tokens", S_INT,
     offsetof(struct cfg_config, batching.max_tokens), 0, 1 << 30,
     "KV cache positions a worker holds per model (rows x max_output_tokens; fewer rows when "
     "it binds, never fewer than 16; 0 = no cap)"},
    {"attention_store.max_mb", "ATTNSERVE_ATTENTION_STORE_MB", "--attention-store-mb", S_INT,
     offsetof(struct cfg_config, attention_store.max_mb), 1, 1 << 20,
     "memory for kept /attention results (least recently used dropped first)"},
    {"attention_store.max_entries", "ATTNSERVE_ATTENTION_STORE_ENTRIES",
     "--attention-store-entries", S_INT, offsetof(struct cfg_config, attention_store.max_entries),
     1, 1000000, "kept /attention results"},
    {"attention_store.ttl_s", "ATTNSERVE_ATTENTION_STORE_TTL_S", "--attention-store-ttl-s", S_INT,
     offsetof(struct cfg_config, attention_store.ttl_s), 1, 7 * 86400,
     "seconds a kept /attention result lives"},
    {"api_keys_file", "ATTNSERVE_API_KEYS_FILE", "--api-keys-file", S_PATH,
     offsetof(struct cfg_config, api_keys_file), 0, 0,
     "file of API keys, one per line (unset = no authentication)"},
    {"log.level", "ATTNSERVE_LOG_LEVEL", "--log-level", S_LEVEL,
     offsetof(struct cfg_config, log_level), 0, 0, "debug, info, warn or error"},
    {"log.format", "ATTNSERVE_LOG_FORMAT", "--log-format", S_FORMAT,
     offsetof(struct cfg_config, log_format), 0, 0, "json or text"},
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"json", "text"};

/* Joins a relative path to base_dir ("" or NULL = as is). Owned. */
static char *resolve_path(const char *base_dir, const char *p)
{
    if (!base_dir || !*base_dir || p[0] == '/') return strdup(p);
    size_t n = strlen(base_dir) + strlen(p) + 2;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s/%s", base_dir, p);
    return out;
}

/* Quotes a user-supplied string for a message (cut, escaped). */
static const char *quote(const char *s, char *buf, size_t n)
{
    json_t *j = json_string(s);
    if (!j) { /* not UTF-8: describe it as such */
        snprintf(buf, n, "(a value that is not UTF-8)");
        return buf;
    }
    cfg_json_describe(j, buf, n);
    json_decref(j);
    return buf;
}

/* Parses a whole decimal integer (optional sign, no spaces, no junk). */
static int parse_ll(const char *s, long long *out)
{
    if (!s || !*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static int lookup_name(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

/* Sets one setting from a string (environment, flag, or a JSON string already extracted).
 * `what` names the source in messages. */
static int set_from_string(struct cfg_config *c, const struct setting *s, const char *v,
                           const char *what, const char *base_dir, struct cfg_errors *errs)
{
    char q[80];
    char *field = (char *)c + s->off;
    switch (s->type) {
    case S_INT:
    case S_LL: {
        long long x;
        if (parse_ll(v, &x) || x < s->lo || x > s->hi) {
            add_err(errs, "%s must be an integer between %lld and %lld, got %s", what, s->lo, s->hi,
                    quote(v, q, sizeof q));
            return 1;
        }
        if (s->type == S_INT)
            *(int *)(void *)field = (int)x;
        else
            *(long long *)(void *)field = x;
        return 0;
    }
    case S_STR:
        if (!*v || strlen(v) > 255) {
            add_err(errs, "%s must be a non-empty string of at most 255 bytes, got %s", what,
                    quote(v, q, sizeof q));
            return 1;
        }
        set_str((char **)(void *)field, v);
        return 0;
    case S_PATH: {
        char **dst = (char **)(void *)field;
        free(*dst);
        *dst = *v ? resolve_path(base_dir, v) : NULL; /* "" unsets */
        return 0;
    }
    case S_LEVEL: {
        int k = lookup_name(level_names, 4, v);
        if (k < 0) {
            add_err(errs, "%s must be one of debug, info, warn, error, got %s", what,
                    quote(v, q, sizeof q));
            return 1;
        }
        *(cfg_log_level *)(void *)field = (cfg_log_level)k;
        return 0;
    }
    case S_FORMAT: {
        int k = lookup_name(format_names, 2, v);
        if (k < 0) {
            add_err(errs, "%s must be json or text, got %s", what, quote(v, q, sizeof q));
            return 1;
        }
        *(cfg_log_format *)(void *)field = (cfg_log_format)k;
        return 0;
    }
    }
    return 0;
}

/* Sets one setting from a JSON value of the config file. */
static int set_from_json(struct cfg_config *c, const struct setting *s, const json_t *v,
                         const char *base_dir, struct cfg_errors *errs)
{
    char got[80];
    if (s->type == S_INT || s->type == S_LL) {
        if (!json_is_integer(v) || json_integer_value(v) < s->lo || json_integer_value(v) > s->hi) {
            add_err(errs, "%s must be an integer between %lld and %lld, got %s", s->path, s->lo,
                    s->hi, cfg_json_describe(v, got, sizeof got));
            return 1;
        }
        char num[32];
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return set_from_string(c, s, num, s->path, base_dir, errs);
    }
    if (s->type == S_PATH && json_is_null(v)) {
        char **dst = (char **)((char *)c + s->off);
        free(*dst);
        *dst = NULL;
        return 0;
    }
    if (!json_is_string(v)) {
        add_err(errs, "%s must be a string, got %s", s->path,
                cfg_json_describe(v, got, sizeof got));
        return 1;
    }
    if (s->type == S_PATH && !*json_string_value(v)) {
        add_err(errs, "%s must be a file name or null, got \"\"", s->path);
        return 1;
    }
    return set_from_string(c, s, json_string_value(v), s->path, base_dir, errs);
}

/* ---------------------------------------------------------------------------------------- */
/* Models                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static struct cfg_model *find_model(struct cfg_config *c, const char *name)
{
    for (int i = 0; i < c->n_models; i++)
        if (c->models[i].name && !strcmp(c->models[i].name, name)) return &c->models[i];
    return NULL;
}

static struct cfg_model *add_model(struct cfg_config *c)
{
    struct cfg_model *m = realloc(c->models, (size_t)(c->n_models + 1) * sizeof *m);
    if (!m) return NULL;
    c->models = m;
    memset(&m[c->n_models], 0, sizeof *m);
    return &m[c->n_models++];
}

static int parse_task(const char *s, cfg_task *out)
{
    if (!strcmp(s, "translate"))
        *out = CFG_TASK_TRANSLATE;
    else if (!strcmp(s, "summarize"))
        *out = CFG_TASK_SUMMARIZE;
    else if (!strcmp(s, "auto"))
        *out = CFG_TASK_AUTO;
    else
        return -1;
    return 0;
}

/* Appends a copy of code to m->languages (at most CFG_MAX_LANGUAGES + 1, so that one too many
 * is reported). Returns -1 on OOM. */
static int add_language(struct cfg_model *m, const char *code, size_t n)
{
    if (m->n_languages > CFG_MAX_LANGUAGES) return 0;
    char **v = realloc(m->languages, (size_t)(m->n_languages + 1) * sizeof *v);
    if (!v) return -1;
    m->languages = v;
    v[m->n_languages] = strndup(code, n);
    if (!v[m->n_languages]) return -1;
    m->n_languages++;
    return 0;
}

static void clear_languages(struct cfg_model *m)
{
    for (int i = 0; i < m->n_languages; i++)
        free(m->languages[i]);
    free(m->languages);
    m->languages = NULL;
    m->n_languages = 0;
}

/* Sets one key of a model from a string (flag/env syntax "key=value"). */
static int model_set_string(struct cfg_model *m, const char *key, const char *v, const char *what,
                            struct cfg_errors *errs)
{
    char q[80];
    if (!strcmp(key, "task")) {
        if (parse_task(v, &m->task)) {
            add_err(errs, "%s.task must be translate, summarize or auto, got %s", what,
                    quote(v, q, sizeof q));
            return 1;
        }
    } else if (!strcmp(key, "source_lang")) {
        set_str(&m->source_lang, v);
    } else if (!strcmp(key, "target_lang")) {
        set_str(&m->target_lang, v);
    } else if (!strcmp(key, "language")) {
        set_str(&m->language, v);
    } else if (!strcmp(key, "prefix")) {
        set_str(&m->prefix, v);
    } else if (!strcmp(key, "dtype")) {
        if (!strcmp(v, "auto"))
            m->dtype = CFG_DTYPE_AUTO;
        else if (!strcmp(v, "int8"))
            m->dtype = CFG_DTYPE_INT8;
        else if (!strcmp(v, "f16"))
            m->dtype = CFG_DTYPE_F16;
        else if (!strcmp(v, "f32"))
            m->dtype = CFG_DTYPE_F32;
        else if (!strcmp(v, "w8a8"))
            m->dtype = CFG_DTYPE_W8A8;
        else {
            add_err(errs, "%s.dtype must be auto, int8, w8a8, f16 or f32, got %s", what,
                    quote(v, q, sizeof q));
            return 1;
        }
    } else if (!strcmp(key, "languages")) { /* "en+de+fr" */
        clear_languages(m);
        for (const char *p = v; *p;) {
            const char *e = strchr(p, '+');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            if (add_language(m, p, n)) {
                add_err(errs, "%s.languages: out of memory", what);
                return 1;
            }
            p += n + (e != NULL);
        }
    } else {
        add_err(errs,
                "%s: unknown model key %s (known: task, source_lang, target_lang, "
                "languages, language, prefix, dtype)",
                what, quote(key, q, sizeof q));
        return 1;
    }
    return 0;
}

static int parse_model_json(struct cfg_config *c, const json_t *o, int idx, const char *base_dir,
                            struct cfg_errors *errs)
{
    char path[64], got[80];
    snprintf(path, sizeof path, "models[%d]", idx);
    if (!json_is_object(o)) {
        add_err(errs, "%s must be an object, got %s", path, cfg_json_describe(o, got, sizeof got));
        return 1;
    }
    struct cfg_model *m = add_model(c);
    if (!m) {
        add_err(errs, "%s: out of memory", path);
        return 1;
    }
    int bad = 0;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        if (key[0] == '_') continue; /* comments */
        if (!strcmp(key, "default_options")) {
            char msg[512], p2[96];
            snprintf(p2, sizeof p2, "%s.default_options", path);
            /* bounded by limits.max_output_tokens in cfg_validate, once every source is in */
            if (cfg_gen_options_parse(v, p2, 100000, &m->defaults, msg, sizeof msg)) {
                add_err(errs, "%s", msg);
                bad++;
            }
            continue;
        }
        if (!strcmp(key, "max_input_tokens")) {
            if (!json_is_integer(v) || json_integer_value(v) < 2 ||
                json_integer_value(v) > 100000) {
                add_err(errs, "%s.max_input_tokens must be an integer between 2 and 100000, got %s",
                        path, cfg_json_describe(v, got, sizeof got));
                bad++;
            } else {
                m->max_input_tokens = (int)json_integer_value(v);
            }
            continue;
        }
        if (!strcmp(key, "languages")) {
            size_t n = json_is_array(v) ? json_array_size(v) : 0;
            if (n < 2 || n > CFG_MAX_LANGUAGES) {
                add_err(errs, "%s.languages must be a list of 2 to %d language codes, got %s", path,
                        CFG_MAX_LANGUAGES, cfg_json_describe(v, got, sizeof got));
                bad++;
                continue;
            }
            clear_languages(m);
            for (size_t k = 0; k < n; k++) {
                const json_t *e = json_array_get(v, k);
                if (!json_is_string(e)) {
                    add_err(errs, "%s.languages[%zu] must be a language code, got %s", path, k,
                            cfg_json_describe(e, got, sizeof got));
                    bad++;
                    continue;
                }
                if (add_language(m, json_string_value(e), json_string_length(e))) {
                    add_err(errs, "%s.languages: out of memory", path);
                    bad++;
                }
            }
            continue;
        }
        static const char *const str_keys[] = {"name",        "task",     "path",   "source_lang",
                                               "target_lang", "language", "prefix", "dtype"};
        int known = 0;
        for (size_t k = 0; k < sizeof str_keys / sizeof str_keys[0]; k++)
            if (!strcmp(key, str_keys[k])) known = 1;
        if (!known) {
            add_err(errs,
                    "%s.%s: unknown key (known: name, task, path, source_lang, "
                    "target_lang, languages, language, prefix, dtype, max_input_tokens, "
                    "default_options)",
                    path, key);
            bad++;
            continue;
        }
        if (!json_is_string(v)) {
            add_err(errs, "%s.%s must be a string, got %s", path, key,
                    cfg_json_describe(v, got, sizeof got));
            bad++;
            continue;
        }
        const char *s = json_string_value(v);
        if (!strcmp(key, "name"))
            set_str(&m->name, s);
        else if (!strcmp(key, "path")) {
            free(m->path);
            m->path = *s ? resolve_path(base_dir, s) : NULL;
        } else
            bad += model_set_string(m, key, s, path, errs);
    }
    if (!m->name) {
        add_err(errs, "%s.name is required", path);
        bad++;
    }
    if (!m->path) {
        add_err(errs, "%s.path is required", path);
        bad++;
    }
    return bad;
}

/* "NAME=PATH[,key=value...]" from --model or ATTNSERVE_MODELS: overrides the model of that
 * name or adds one. Paths are taken as given (relative to the working directory). */
static int apply_model_spec(struct cfg_config *c, const char *spec, const char *what,
                            struct cfg_errors *errs)
{
    char q[80];
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1]) {
        add_err(errs, "%s must look like NAME=PATH[,key=value...], got %s", what,
                quote(spec, q, sizeof q));
        return 1;
    }
    char *copy = strdup(spec);
    if (!copy) return 1;
    copy[eq - spec] = '\0';
    const char *name = copy;
    char *rest = copy + (eq - spec) + 1;
    char *comma = strchr(rest, ',');
    if (comma) *comma = '\0';
    int bad = 0;
    struct cfg_model *m = find_model(c, name);
    if (!m) {
        m = add_model(c);
        if (!m) {
            free(copy);
            return 1;
        }
        m->name = strdup(name);
    }
    set_str(&m->path, rest);
    while (comma) {
        char *kv = comma + 1;
        comma = strchr(kv, ',');
        if (comma) *comma = '\0';
        char *e2 = strchr(kv, '=');
        if (!e2) {
            add_err(errs, "%s: %s is not key=value", what, quote(kv, q, sizeof q));
            bad++;
            continue;
        }
        *e2 = '\0';
        char w2[160];
        snprintf(w2, sizeof w2, "%s (model %s)", what, name);
        bad += model_set_string(m, kv, e2 + 1, w2, errs);
    }
    free(copy);
    return bad;
}

/* ---------------------------------------------------------------------------------------- */
/* File                                                                                     */
/* ---------------------------------------------------------------------------------------- */

static int set_cors_json(struct cfg_config *c, const json_t *v, struct cfg_errors *errs)
{
    char got[80];
    if (!json_is_array(v)) {
        add_err(errs, "cors_origins must be a list of strings, got %s",
                cfg_json_describe(v, got, sizeof got));
        return 1;
    }
    free_list(&c->cors_origins, &c->n_cors_origins);
    size_t i;
    const json_t *o;
    int bad = 0;
    c->cors_origins = calloc(json_array_size(v) + 1, sizeof *c->cors_origins);
    if (!c->cors_origins) return 1;
    json_array_foreach(v, i, o)
    {
        if (!json_is_string(o)) {
            add_err(errs, "cors_origins[%zu] must be a string, got %s", i,
                    cfg_json_describe(o, got, sizeof got));
            bad++;
            continue;
        }
        c->cors_origins[c->n_cors_origins++] = strdup(json_string_value(o));
    }
    return bad;
}

/* Walks one object of the file against the settings whose path starts with prefix. */
static int walk_object(struct cfg_config *c, const json_t *obj, const char *prefix,
                       const char *base_dir, struct cfg_errors *errs)
{
    int bad = 0;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (key[0] == '_' || key[0] == '$') continue; /* "_comment", "$schema" */
        char full[128];
        snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", key);
        if (!*prefix && !strcmp(key, "models")) {
            char got[80];
            if (!json_is_array(v)) {
                add_err(errs, "models must be a list, got %s",
                        cfg_json_describe(v, got, sizeof got));
                bad++;
                continue;
            }
            if (json_array_size(v) > MAX_MODELS) {
                add_err(errs, "models holds %zu models, at most %d are supported",
                        json_array_size(v), MAX_MODELS);
                bad++;
                continue;
            }
            size_t i;
            const json_t *m;
            json_array_foreach(v, i, m) bad += parse_model_json(c, m, (int)i, base_dir, errs);
            continue;
        }
        if (!*prefix && !strcmp(key, "cors_origins")) {
            bad += set_cors_json(c, v, errs);
            continue;
        }
        const struct setting *s = NULL;
        int is_group = 0;
        size_t fl = strlen(full);
        for (size_t i = 0; i < N_SETTINGS; i++) {
            if (!strcmp(settings[i].path, full))
                s = &settings[i];
            else if (!strncmp(settings[i].path, full, fl) && settings[i].path[fl] == '.')
                is_group = 1;
        }
        if (s) {
            bad += set_from_json(c, s, v, base_dir, errs);
        } else if (is_group) {
            if (!json_is_object(v)) {
                char got[80];
                add_err(errs, "%s must be an object, got %s", full,
                        cfg_json_describe(v, got, sizeof got));
                bad++;
            } else {
                bad += walk_object(c, v, full, base_dir, errs);
            }
        } else {
            add_err(errs, "%s: unknown key (see attnserve --help for every key)", full);
            bad++;
        }
    }
    return bad;
}

int cfg_load_json_text(struct cfg_config *c, const char *text, const char *base_dir,
                       struct cfg_errors *errs)
{
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        add_err(errs, "%s:%d:%d: %s", c->config_file ? c->config_file : "config", je.line,
                je.column, je.text);
        return 1;
    }
    int bad;
    if (!json_is_object(root)) {
        add_err(errs, "%s: the top level must be an object",
                c->config_file ? c->config_file : "config");
        bad = 1;
    } else {
        bad = walk_object(c, root, "", base_dir, errs);
    }
    json_decref(root);
    return bad;
}

int cfg_load_file(struct cfg_config *c, const char *path, struct cfg_errors *errs)
{
    set_str(&c->config_file, path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        add_err(errs, "%s: cannot open the config file: %s", path, strerror(errno));
        return 1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4097 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (16u << 20)) {
                free(text);
                fclose(f);
                add_err(errs, "%s: larger than 16 MiB; not a config file", path);
                return 1;
            }
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                add_err(errs, "%s: out of memory", path);
                return 1;
            }
            text = t;
        }
        size_t n = fread(text + len, 1, 4096, f);
        len += n;
        if (n < 4096) break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(text);
        add_err(errs, "%s: read error", path);
        return 1;
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        free(text);
        add_err(errs, "%s: contains a NUL byte; not a JSON config file", path);
        return 1;
    }
    /* relative paths inside the file are relative to the file's folder */
    char *dir = strdup(path);
    if (!dir) {
        free(text);
        return 1;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    int bad = cfg_load_json_text(c, text, slash ? (*dir ? dir : "/") : "", errs);
    free(dir);
    free(text);
    return bad;
}

/* ---------------------------------------------------------------------------------------- */
/* Environment and command line                                                             */
/* ---------------------------------------------------------------------------------------- */

static int set_cors_csv(struct cfg_config *c, const char *v)
{
    free_list(&c->cors_origins, &c->n_cors_origins);
    size_t n = 1;
    for (const char *p = v; *p; p++)
        n += *p == ',';
    c->cors_origins = calloc(n + 1, sizeof *c->cors_origins);
    if (!c->cors_origins) return 1;
    const char *p = v;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        while (l && isspace((unsigned char)*p))
            p++, l--;
        while (l && isspace((unsigned char)p[l - 1]))
            l--;
        if (l) c->cors_origins[c->n_cors_origins++] = strndup(p, l);
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

int cfg_apply_env(struct cfg_config *c, char *const *envp, struct cfg_errors *errs)
{
    int bad = 0;
    if (!envp) return 0;
    for (char *const *e = envp; *e; e++) {
        if (strncmp(*e, "ATTNSERVE_", 10)) continue;
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        size_t kl = (size_t)(eq - *e);
        const char *v = eq + 1;
        char key[96];
        if (kl >= sizeof key) continue;
        memcpy(key, *e, kl);
        key[kl] = '\0';
        if (!strcmp(key, "ATTNSERVE_CONFIG")) continue; /* read by cfg_load */
        if (!strcmp(key, "ATTNSERVE_CORS_ORIGINS")) {
            bad += set_cors_csv(c, v);
            continue;
        }
        if (!strcmp(key, "ATTNSERVE_MODELS")) {
            /* "name=path[,k=v];name2=path2" */
            char *copy = strdup(v), *save = NULL;
            if (!copy) continue;
            for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
                bad += apply_model_spec(c, tok, "ATTNSERVE_MODELS", errs);
            free(copy);
            continue;
        }
        const struct setting *s = NULL;
        for (size_t i = 0; i < N_SETTINGS; i++)
            if (!strcmp(settings[i].env, key)) s = &settings[i];
        if (!s) {
            add_err(errs, "%s: unknown environment variable (see attnserve --help)", key);
            bad++;
            continue;
        }
        bad += set_from_string(c, s, v, key, "", errs);
    }
    return bad;
}

int cfg_apply_args(struct cfg_config *c, int argc, char *const *argv, struct cfg_errors *errs)
{
    int bad = 0, cors_seen = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char q[80];
        if (!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "--version") ||
            !strcmp(a, "--check") || !strcmp(a, "--print-gen-options"))
            continue;
        if (strncmp(a, "--", 2)) {
            add_err(errs, "unexpected argument %s (flags start with --; see --help)",
                    quote(a, q, sizeof q));
            bad++;
            continue;
        }
        /* --flag=value or --flag value */
        char flag[64];
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        size_t fl = eq ? (size_t)(eq - a) : strlen(a);
        if (fl >= sizeof flag) fl = sizeof flag - 1;
        memcpy(flag, a, fl);
        flag[fl] = '\0';
        if (eq) val = eq + 1;
        const struct setting *s = NULL;
        for (size_t k = 0; k < N_SETTINGS; k++)
            if (!strcmp(settings[k].flag, flag)) s = &settings[k];
        int known = s || !strcmp(flag, "--config") || !strcmp(flag, "--model") ||
                    !strcmp(flag, "--cors-origin");
        if (!known) {
            add_err(errs, "unknown option %s (see --help)", quote(flag, q, sizeof q));
            bad++;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                add_err(errs, "%s needs a value", flag);
                bad++;
                continue;
            }
            val = argv[++i];
        }
        if (!strcmp(flag, "--config")) continue; /* read by cfg_load */
        if (!strcmp(flag, "--model")) {
            bad += apply_model_spec(c, val, "--model", errs);
        } else if (!strcmp(flag, "--cors-origin")) {
            /* the first --cors-origin replaces the file's list, later ones append */
            if (!cors_seen) free_list(&c->cors_origins, &c->n_cors_origins);
            cors_seen = 1;
            char **l = realloc(c->cors_origins, (size_t)(c->n_cors_origins + 2) * sizeof *l);
            if (!l) return bad + 1;
            c->cors_origins = l;
            l[c->n_cors_origins++] = strdup(val);
            l[c->n_cors_origins] = NULL;
        } else {
            bad += set_from_string(c, s, val, flag, "", errs);
        }
    }
    return bad;
}

/* ---------------------------------------------------------------------------------------- */
/* Validation                                                                               */
/* ---------------------------------------------------------------------------------------- */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-') return 0;
    return 1;
}

/* BCP-47-like language code: 2-3 lower-case letters, optional -Subtag parts. */
static int valid_lang(const char *s)
{
    size_t i = 0;
    while (s[i] >= 'a' && s[i] <= 'z')
        i++;
    if (i < 2 || i > 3) return 0;
    while (s[i]) {
        if (s[i] != '-' && s[i] != '_') return 0;
        size_t j = ++i;
        while (isalnum((unsigned char)s[i]))
            i++;
        if (i - j < 2 || i - j > 8) return 0;
    }
    return 1;
}

/* Reads source_lang/target_lang of a checkpoint's tokenizer_config.json (Marian has them). */
static void langs_from_tokenizer_config(struct cfg_model *m)
{
    size_t n = strlen(m->path) + 32;
    char *p = malloc(n);
    if (!p) return;
    snprintf(p, n, "%s/tokenizer_config.json", m->path);
    json_t *j = json_load_file(p, 0, NULL);
    free(p);
    if (!j) return;
    const char *s = json_string_value(json_object_get(j, "source_lang"));
    const char *t = json_string_value(json_object_get(j, "target_lang"));
    if (s && t) {
        if (!m->source_lang) m->source_lang = strdup(s);
        if (!m->target_lang) m->target_lang = strdup(t);
    }
    json_decref(j);
}

static int validate_model(struct cfg_config *c, int i, struct cfg_errors *errs)
{
    struct cfg_model *m = &c->models[i];
    char q[80];
    int bad = 0;
    const char *nm = m->name ? m->name : "?";
    if (m->name && !valid_name(m->name)) {
        add_err(errs, "models[%d].name must be 1-64 letters, digits, '.', '_' or '-', got %s", i,
                quote(m->name, q, sizeof q));
        bad++;
    }
    for (int k = 0; k < i; k++)
        if (m->name && c->models[k].name && !strcmp(m->name, c->models[k].name)) {
            add_err(errs, "models[%d].name %s is already used by models[%d]", i,
                    quote(m->name, q, sizeof q), k);
            bad++;
        }
    if (!m->path) return bad; /* reported at parse time */
    if (!is_dir(m->path)) {
        add_err(errs, "models[%d].path (model %s): no such directory: %s", i, nm, m->path);
        return bad + 1;
    }
    size_t n = strlen(m->path) + 16;
    char *cfgp = malloc(n);
    if (cfgp) {
        snprintf(cfgp, n, "%s/config.json", m->path);
        struct stat st;
        if (stat(cfgp, &st) != 0) {
            add_err(errs,
                    "models[%d].path (model %s): %s has no config.json; not a Hugging Face "
                    "checkpoint folder",
                    i, nm, m->path);
            bad++;
        }
        free(cfgp);
    }
    if (m->n_languages > 0) {
        /* a multilingual model: every ordered pair among its languages */
        if (m->source_lang || m->target_lang) {
            add_err(errs,
                    "models[%d] (model %s): give either languages or source_lang and "
                    "target_lang, not both",
                    i, nm);
            bad++;
        }
        if (m->task == CFG_TASK_SUMMARIZE) {
            add_err(errs, "models[%d].languages (model %s): only a translate model has languages",
                    i, nm);
            bad++;
        }
        m->task = CFG_TASK_TRANSLATE;
        if (m->n_languages < 2 || m->n_languages > CFG_MAX_LANGUAGES) {
            add_err(errs, "models[%d].languages (model %s) must list 2 to %d language codes", i, nm,
                    CFG_MAX_LANGUAGES);
            bad++;
        }
        for (int k = 0; k < m->n_languages && k < CFG_MAX_LANGUAGES; k++) {
            if (!valid_lang(m->languages[k])) {
                add_err(errs,
                        "models[%d].languages[%d] must be a language code such as \"en\" or "
                        "\"pt-BR\", got %s",
                        i, k, quote(m->languages[k], q, sizeof q));
                bad++;
            }
            for (int j = 0; j < k; j++)
                if (!strcmp(m->languages[j], m->languages[k])) {
                    add_err(errs, "models[%d].languages lists %s twice", i,
                            quote(m->languages[k], q, sizeof q));
                    bad++;
                }
        }
    }
    if (m->n_languages == 0 && (m->task == CFG_TASK_AUTO || m->task == CFG_TASK_TRANSLATE))
        langs_from_tokenizer_config(m);
    if (m->task == CFG_TASK_AUTO)
        m->task = (m->source_lang && m->target_lang) ? CFG_TASK_TRANSLATE : CFG_TASK_SUMMARIZE;
    if (m->task == CFG_TASK_TRANSLATE && m->n_languages == 0) {
        if (!m->source_lang || !m->target_lang) {
            add_err(errs,
                    "models[%d] (model %s): a translate model needs source_lang and "
                    "target_lang (not in its tokenizer_config.json either), or languages",
                    i, nm);
            bad++;
        }
    }
    const char *lang_keys[] = {"source_lang", "target_lang", "language"};
    const char *lang_vals[] = {m->source_lang, m->target_lang, m->language};
    for (int k = 0; k < 3; k++)
        if (lang_vals[k] && !valid_lang(lang_vals[k])) {
            add_err(errs,
                    "models[%d].%s must be a language code such as \"en\" or \"pt-BR\", "
                    "got %s",
                    i, lang_keys[k], quote(lang_vals[k], q, sizeof q));
            bad++;
        }
    /* default options: the same rules as a request's, bounded by the final limits */
    char path[64], msg[512];
    snprintf(path, sizeof path, "models[%d].default_options", i);
    const struct cfg_gen_options *o = &m->defaults;
    if (cfg_gen_options_check_limit(o, path, c->limits.max_output_tokens, msg, sizeof msg)) {
        add_err(errs, "%s", msg);
        bad++;
    }
    if (cfg_gen_options_check(o, path, msg, sizeof msg)) {
        add_err(errs, "%s", msg);
        bad++;
    }
    return bad;
}

static int load_api_keys(struct cfg_config *c, struct cfg_errors *errs)
{
    FILE *f = fopen(c->api_keys_file, "r");
    if (!f) {
        add_err(errs, "api_keys_file: cannot open %s: %s", c->api_keys_file, strerror(errno));
        return 1;
    }
    char line[1024];
    int lineno = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t l = strlen(line);
        if (l == sizeof line - 1 && line[l - 1] != '\n') {
            add_err(errs, "api_keys_file: line %d is longer than %d bytes", lineno,
                    MAX_API_KEY_LEN);
            bad++;
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n') {
            }
            continue;
        }
        while (l && isspace((unsigned char)line[l - 1]))
            line[--l] = '\0';
        char *s = line;
        while (isspace((unsigned char)*s))
            s++, l--;
        if (!*s || *s == '#') continue;
        int ok = l <= MAX_API_KEY_LEN;
        for (size_t k = 0; k < l; k++)
            if ((unsigned char)s[k] <= 0x20 || (unsigned char)s[k] >= 0x7f) ok = 0;
        if (!ok) {
            add_err(errs,
                    "api_keys_file: line %d: a key must be 1-%d printable ASCII characters "
                    "without spaces",
                    lineno, MAX_API_KEY_LEN);
            bad++;
            continue;
        }
        char **k2 = realloc(c->api_keys, (size_t)(c->n_api_keys + 1) * sizeof *k2);
        if (!k2) break;
        c->api_keys = k2;
        c->api_keys[c->n_api_keys] = strdup(s);
        if (c->api_keys[c->n_api_keys]) c->n_api_keys++;
    }
    fclose(f);
    if (!bad && c->n_api_keys == 0) {
        add_err(errs, "api_keys_file: %s holds no keys (one per line; # starts a comment)",
                c->api_keys_file);
        bad++;
    }
    return bad;
}

int cfg_validate(struct cfg_config *c, struct cfg_errors *errs)
{
    int bad = 0;
    char q[80];
    if (c->workers > 1 && c->blas_threads > 1) {
        add_err(errs,
                "blas_threads must be 0 or 1 when workers > 1 (got workers %d, "
                "blas_threads %d): BLAS parallelism is chosen once, either several "
                "single-threaded workers or one worker with several BLAS threads",
                c->workers, c->blas_threads);
        bad++;
    }
    if (c->engine_threads > 1 && c->blas_threads > 1) {
        add_err(errs,
                "blas_threads must be 0 or 1 when engine_threads > 1 (got engine_threads %d, "
                "blas_threads %d): a worker's products run either on its engine threads or on "
                "OpenBLAS threads, not both",
                c->engine_threads, c->blas_threads);
        bad++;
    }
    if (c->limits.max_text_bytes > c->limits.max_body_bytes) {
        add_err(errs, "limits.max_text_bytes (%d) must not exceed limits.max_body_bytes (%lld)",
                c->limits.max_text_bytes, c->limits.max_body_bytes);
        bad++;
    }
    for (const char *p = c->host; p && *p; p++)
        if (isspace((unsigned char)*p)) {
            add_err(errs, "listen.host must not contain spaces, got %s",
                    quote(c->host, q, sizeof q));
            bad++;
            break;
        }
    if (c->n_models == 0) {
        add_err(errs, "models: at least one model is required (in the config file, "
                      "ATTNSERVE_MODELS or --model NAME=PATH)");
        bad++;
    }
    for (int i = 0; i < c->n_models; i++)
        bad += validate_model(c, i, errs);
    for (int i = 0; i < c->n_cors_origins; i++) {
        const char *o = c->cors_origins[i];
        int ok = !strcmp(o, "*") || !strncmp(o, "http://", 7) || !strncmp(o, "https://", 8);
        size_t sl = strlen(o);
        if (ok && strcmp(o, "*") && (o[sl - 1] == '/' || strchr(o + 8, '/'))) ok = 0;
        for (const char *p = o; *p; p++)
            if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) ok = 0;
        if (!ok) {
            add_err(errs,
                    "cors_origins[%d] must be \"*\" or an origin such as "
                    "\"https://example.com:8443\" (no path), got %s",
                    i, quote(o, q, sizeof q));
            bad++;
        }
    }
    if (c->api_keys_file) bad += load_api_keys(c, errs);
    return bad;
}

/* ---------------------------------------------------------------------------------------- */
/* Whole load, help, dump                                                                   */
/* ---------------------------------------------------------------------------------------- */

int cfg_load(struct cfg_config *c, int argc, char *const *argv, char *const *envp, int *action,
             struct cfg_errors *errs)
{
    *action = CFG_RUN;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            *action = CFG_HELP;
        else if (!strcmp(argv[i], "--version"))
            *action = CFG_VERSION;
        else if (!strcmp(argv[i], "--print-gen-options"))
            *action = CFG_PRINT_GEN_OPTIONS;
        else if (!strcmp(argv[i], "--check") && *action == CFG_RUN)
            *action = CFG_CHECK;
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            file = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            file = argv[i] + 9;
    }
    if (*action == CFG_HELP || *action == CFG_VERSION || *action == CFG_PRINT_GEN_OPTIONS) return 0;
    if (!file && envp)
        for (char *const *e = envp; *e; e++)
            if (!strncmp(*e, "ATTNSERVE_CONFIG=", 17) && (*e)[17]) file = *e + 17;
    struct stat st;
    if (!file && stat("config/attnserve.json", &st) == 0) file = "config/attnserve.json";
    if (file) cfg_load_file(c, file, errs);
    cfg_apply_env(c, envp, errs);
    cfg_apply_args(c, argc, argv, errs);
    cfg_validate(c, errs); /* even after other errors: report every problem at once */
    return errs->n ? -1 : 0;
}

const char *cfg_version(void)
{
    return ATTNSERVE_VERSION_STRING;
}

const char *cfg_dtype_name(cfg_dtype d)
{
    return d == CFG_DTYPE_INT8  ? "int8"
           : d == CFG_DTYPE_F16 ? "f16"
           : d == CFG_DTYPE_F32 ? "f32"
           : d == CFG_DTYPE_W8A8 ? "w8a8"
                                : "auto";
}

void cfg_print_help(FILE *f, const char *prog)
{
    fprintf(
        f,
        "usage: %s [--config FILE] [--model NAME=PATH[,key=value...]]... [options]\n\n"
        "Serves Hugging Face encoder-decoder checkpoints over HTTP (see openapi.yaml).\n"
        "Sources, later ones winning: built-in defaults < JSON config file < ATTNSERVE_*\n"
        "environment variables < command-line flags. Every invalid value is reported with\n"
        "its key and the server does not start.\n\n"
        "  --config FILE                 JSON config (env ATTNSERVE_CONFIG; default\n"
        "                                ./config/attnserve.json when it exists)\n"
        "  --model NAME=PATH[,k=v...]    serve a checkpoint folder (or change the path of a\n"
        "                                configured model); keys: task (translate|summarize),\n"
        "                                source_lang, target_lang, language, prefix,\n"
        "                                dtype (auto: as stored, F16 kept as F16; int8:\n"
        "                                quantized at load; f16: all matrices as half\n"
        "                                precision; f32: all widened to F32),\n"
        "                                languages (a multilingual model, every pair among\n"
        "                                them, e.g. languages=en+de+fr; in a file a list:\n"
        "                                \"languages\": [\"en\", \"de\", \"fr\"])\n"
        "                                (env ATTNSERVE_MODELS=\"a=PATH;b=PATH,task=summarize\")\n"
        "  --cors-origin ORIGIN          allowed browser origin, repeatable; \"*\" = any\n"
        "                                (env ATTNSERVE_CORS_ORIGINS, comma-separated;\n"
        "                                key cors_origins)\n"
        "  --check                       validate the configuration, load the models, exit\n"
        "  --print-gen-options           print the decoding options as the JSON Schema\n"
        "                                properties openapi.yaml's GenerationOptions must have\n"
        "  --help, --version\n\n",
        prog);
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        char flag[64];
        snprintf(flag, sizeof flag, "%s %s", s->flag,
                 s->type == S_INT || s->type == S_LL ? "N"
                 : s->type == S_PATH                 ? "FILE"
                                                     : "VALUE");
        fprintf(f, "  %-29s %s\n  %-29s   key %s, env %s", flag, s->help, "", s->path, s->env);
        if (s->type == S_INT || s->type == S_LL) fprintf(f, ", %lld..%lld", s->lo, s->hi);
        fputc('\n', f);
    }
    fprintf(f, "\nDecoding options: a request's \"options\" and a model's default_options (config\n"
               "file key models[].default_options), with transformers' semantics: max_length and\n"
               "min_length count the decoder start token, max_new_tokens does not. Ranges for\n"
               "the built-in limits.max_output_tokens:\n");
    cfg_gen_options_print_help(f, CFG_GEN_SRV, DEFAULT_MAX_OUTPUT_TOKENS);
}

char *cfg_dump_json(const struct cfg_config *c)
{
    json_t *j = json_object();
    if (!j) return NULL;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        const char *field = (const char *)c + s->off;
        json_t *v = NULL;
        switch (s->type) {
        case S_INT:
            v = json_integer(*(const int *)(const void *)field);
            break;
        case S_LL:
            v = json_integer(*(const long long *)(const void *)field);
            break;
        case S_STR:
        case S_PATH: {
            const char *str = *(char *const *)(const void *)field;
            v = str ? json_string(str) : json_null();
            break;
        }
        case S_LEVEL:
            v = json_string(level_names[*(const cfg_log_level *)(const void *)field]);
            break;
        case S_FORMAT:
            v = json_string(format_names[*(const cfg_log_format *)(const void *)field]);
            break;
        }
        json_object_set_new(j, s->path, v ? v : json_null());
    }
    json_object_set_new(j, "api_keys", json_integer(c->n_api_keys));
    json_t *cors = json_array();
    for (int i = 0; i < c->n_cors_origins; i++)
        json_array_append_new(cors, json_string(c->cors_origins[i]));
    json_object_set_new(j, "cors_origins", cors);
    json_t *models = json_array();
    for (int i = 0; i < c->n_models; i++) {
        const struct cfg_model *m = &c->models[i];
        json_t *o =
            json_pack("{s:s?, s:s, s:s?, s:s?, s:s?, s:s?}", "name", m->name, "task",
                      cfg_task_name(m->task), "path", m->path, "source_lang", m->source_lang,
                      "target_lang", m->target_lang, "language", m->language);
        if (o && m->n_languages > 0) {
            json_t *l = json_array();
            for (int k = 0; k < m->n_languages; k++)
                json_array_append_new(l, json_string(m->languages[k]));
            json_object_set_new(o, "languages", l);
        }
        if (o) {
            json_object_set_new(o, "dtype", json_string(cfg_dtype_name(m->dtype)));
            json_object_set_new(o, "default_options", cfg_gen_options_to_json(&m->defaults));
            json_array_append_new(models, o);
        }
    }
    json_object_set_new(j, "models", models);
    char *out = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    return out;
}
