/* config.h — attnserve's configuration: one plain struct filled from defaults, a JSON file,
 * ATTNSERVE_* environment variables and command-line flags (later sources win), validated
 * once, every invalid value reported with its key path. */
#ifndef ATTNSERVE_CONFIG_H
#define ATTNSERVE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "genopts.h"

typedef enum { CFG_TASK_AUTO = 0, CFG_TASK_TRANSLATE, CFG_TASK_SUMMARIZE } cfg_task;
typedef enum { CFG_LOG_DEBUG = 0, CFG_LOG_INFO, CFG_LOG_WARN, CFG_LOG_ERROR } cfg_log_level;
typedef enum { CFG_LOG_JSON = 0, CFG_LOG_TEXT } cfg_log_format;
/* How a model's weights are kept: as the checkpoint stores them (F32 and F16 matrices as they
 * are, BF16 widened), int8 (quantized at load: a quarter of the F32 bytes per decode step), F16
 * (every matrix as half precision) or F32 (every tensor widened). */
typedef enum {
    CFG_DTYPE_AUTO = 0,
    CFG_DTYPE_INT8,
    CFG_DTYPE_F16,
    CFG_DTYPE_F32,
    CFG_DTYPE_W8A8, /* int8 weights and int8 activations (AVX-512 VNNI) */
} cfg_dtype;

#define CFG_MAX_LANGUAGES 32 /* languages of one multilingual model */

struct cfg_model {
    char *name;           /* unique; [A-Za-z0-9._-], 1..64 bytes */
    cfg_task task;        /* after cfg_load: never CFG_TASK_AUTO */
    char *path;           /* checkpoint folder (relative paths in a file: to the file's folder) */
    char *source_lang;    /* translate: source language code (or from tokenizer_config.json) */
    char *target_lang;    /* translate: target language code */
    char *language;       /* summarize: language of texts and summaries (may be NULL) */
    char *prefix;         /* text prepended to every input; NULL = the checkpoint's own */
    int max_input_tokens; /* 0 = limits.max_input_tokens */
    cfg_dtype dtype;      /* "dtype": "auto" (default), "int8", "w8a8", "f16" or "f32" */
    struct cfg_gen_options defaults; /* default_options, over the checkpoint's defaults */

    /* translate, instead of source_lang/target_lang: a multilingual model (OPUS-MT style) that
     * serves every ordered pair among these codes (0, or 2..CFG_MAX_LANGUAGES of them), the
     * source text prefixed with the target's token ">>xx<<" */
    char **languages;
    int n_languages;
};

struct cfg_limits {
    long long max_body_bytes; /* request bodies larger than this: 413 */
    int max_texts;            /* items of a text list */
    int max_text_bytes;       /* bytes of one text */
    int max_input_tokens;     /* tokens of one model input (a sentence when split) */
    int max_output_tokens;    /* upper bound of max_new_tokens */
    int request_timeout_ms;   /* deadline from arrival to answer */
    int body_timeout_ms;      /* a body must arrive completely within this */
    int idle_timeout_s;       /* idle keep-alive connections are closed after this */
    int header_timeout_ms;    /* a request header must be complete within this (slowloris) */
    int max_connections;      /* open connections at once; more are refused at accept */
    int max_connections_per_ip; /* the same from one client address (0 = no limit) */
    int session_memory_mb;    /* cap of one worker session's arena per model (0 = none) */
};

/* Continuous batching: each worker decodes the requests it holds for a model as one batch,
 * requests joining and leaving between decode steps. */
struct cfg_batching {
    int max_rows;   /* decoding rows at once per worker and model (beams and samples count
                       each; at least a request's rows); 1 = no batching, one request at a time */
    int max_tokens; /* KV cache positions at once per worker and model (rows x positions per
                       row, positions = max_output_tokens); fewer rows when it binds; 0 = no cap */
};

struct cfg_attention_store {
    int max_mb;      /* bytes of attention results kept (LRU beyond) */
    int max_entries; /* results kept */
    int ttl_s;       /* a result is dropped this long after its creation */
};

struct cfg_config {
    char *config_file; /* the file read, or NULL */
    char *host;        /* listen address: IPv4/IPv6 literal, "localhost", "*" = all */
    int port;          /* 0 = an ephemeral port (logged at start) */
    int http_threads;
    int workers;             /* inference workers */
    int blas_threads;        /* BLAS threads (process-wide); 0 = number of CPUs when workers == 1
                                and engine_threads == 1, else 1 */
    int engine_threads;      /* threads per worker that split one step's products (1 = none) */
    int queue_depth;         /* requests waiting for a worker before 503 */
    int shutdown_timeout_ms; /* SIGTERM: longest wait for in-flight requests */
    struct cfg_limits limits;
    struct cfg_batching batching;
    struct cfg_attention_store attention_store;
    struct cfg_model *models;
    int n_models;
    char *api_keys_file; /* NULL = no authentication */
    char **api_keys;     /* keys read from api_keys_file */
    int n_api_keys;
    char **cors_origins; /* allowed Origin values; "*" = any */
    int n_cors_origins;
    cfg_log_level log_level;
    cfg_log_format log_format;
};

/* Messages collected while loading (owned by the struct; cfg_errors_free). */
struct cfg_errors {
    int n;
    char **msgs;
};
void cfg_errors_free(struct cfg_errors *e);

/* What cfg_load asks the caller to do besides serving. */
enum { CFG_RUN = 0, CFG_HELP, CFG_VERSION, CFG_CHECK, CFG_PRINT_GEN_OPTIONS };

/* Fills *c with the built-in defaults (no models). Owned strings: cfg_free. */
void cfg_init(struct cfg_config *c);
void cfg_free(struct cfg_config *c);

/* Loads the configuration: defaults, then the file (--config FILE, else $ATTNSERVE_CONFIG,
 * else ./config/attnserve.json when it exists), then the environment (envp: "KEY=VALUE"
 * strings, NULL-terminated; may be NULL), then argv (argv[0] is the program name). Validates
 * the result (ranges, model folders, languages, API keys file). Returns 0 with *action set
 * (CFG_RUN, or CFG_HELP/CFG_VERSION/CFG_CHECK/CFG_PRINT_GEN_OPTIONS for --help/--version/
 * --check/--print-gen-options), or -1 with every
 * problem in errs ("listen.port must be an integer between 0 and 65535, got 70000",
 * "models[1].path: no such directory: x"). Not thread-safe (call once at start-up). */
int cfg_load(struct cfg_config *c, int argc, char *const *argv, char *const *envp, int *action,
             struct cfg_errors *errs);

/* Individual steps of cfg_load, for tests. Each appends problems to errs and returns the
 * number it appended. */
int cfg_load_file(struct cfg_config *c, const char *path, struct cfg_errors *errs);
int cfg_load_json_text(struct cfg_config *c, const char *text, const char *base_dir,
                       struct cfg_errors *errs);
int cfg_apply_env(struct cfg_config *c, char *const *envp, struct cfg_errors *errs);
int cfg_apply_args(struct cfg_config *c, int argc, char *const *argv, struct cfg_errors *errs);
int cfg_validate(struct cfg_config *c, struct cfg_errors *errs);

/* Writes the --help text (every flag, its environment variable and JSON key). */
void cfg_print_help(FILE *f, const char *prog);

/* Name of a task ("translate", "summarize", "auto"). Static storage. */
/* "auto", "int8", "w8a8", "f16" or "f32". */
const char *cfg_dtype_name(cfg_dtype d);
const char *cfg_task_name(cfg_task t);

/* attnserve's version string. Static storage. */
const char *cfg_version(void);

/* The effective configuration as JSON (API keys replaced by their count). Owned. */
char *cfg_dump_json(const struct cfg_config *c);

#endif
