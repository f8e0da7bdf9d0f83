/* cli_util.h — what the subcommands share: option parsing, loading a tokenizer or a model with
 * its session (reporting failures the same way), and JSON number output. */
#ifndef ATTNSERVE_CLI_UTIL_H
#define ATTNSERVE_CLI_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include "tx.h"

/* Exit statuses of a subcommand. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILED = 1, CLI_EXIT_USAGE = 2 };

/* Most engine threads --threads accepts. */
#define CLI_MAX_THREADS TX_MAX_ENGINE_THREADS

/* The help line of --threads, shared by the commands that run a model. */
#define CLI_THREADS_HELP                                                                           \
    "  --threads N              engine threads: one request's products split between N\n"       \
    "                           threads (default 1; OpenBLAS runs one); results identical\n"

/* argv[i] asks for the subcommand's help (--help or -h). */
int cli_is_help(const char *arg);

/* The value of option argv[*i] ("--flag VALUE" or "--flag=VALUE") when it is `flag`; advances
 * *i past a separate value. Returns NULL when argv[*i] is another option; sets *missing when
 * the flag is given without a value. */
const char *cli_opt(int argc, char **argv, int *i, const char *flag, int *missing);

/* Reports an option that is unknown, or (missing) given without its value, on stderr. */
void cli_bad_option(const char *cmd, const char *arg, int missing);

/* Parse "--flag VALUE" values; each returns 0, or -1 with the reason on stderr. */
int cli_parse_int(const char *cmd, const char *flag, const char *v, long lo, long hi, long *out);
int cli_parse_float(const char *cmd, const char *flag, const char *v, double lo, double hi,
                    float *out);
/* "5,17,1", "5 17 1" or "[5, 17, 1]" -> owned int32 array (free), at least one id. */
int cli_parse_ids(const char *cmd, const char *flag, const char *v, int32_t **ids, int *n);

/* A boolean option of the tokenizer subcommands: set to 1 when given. */
struct cli_flag {
    const char *name;
    int *value;
};
/* The arguments of a subcommand that takes "--model DIR" and boolean flags (argv[0] is its
 * name): sets *model_dir and the flags. Returns -1 after printing usage to stdout for --help,
 * CLI_EXIT_USAGE after printing the problem and usage to stderr, or 0 to go on. */
int cli_parse_model_flags(int argc, char **argv, const struct cli_flag *flags, int n_flags,
                          const char **model_dir, void (*usage)(FILE *f));

/* Loads the tokenizer of a model or tokenizer folder into *tok (owned: tx_tokenizer_free).
 * Returns 0, or -1 with the reason on stderr. */
int cli_load_tokenizer(const char *cmd, const char *model_dir, tx_tokenizer **tok);
/* --dtype VALUE: auto, int8, w8a8, f16 or f32 into *out. Returns 0, or -1 with the reason on
 * stderr. */
int cli_parse_dtype(const char *cmd, const char *v, tx_dtype *out);
/* Runs OpenBLAS on one thread and gives the session `threads` engine threads. Returns 0, or -1
 * with the reason on stderr. */
int cli_set_threads(const char *cmd, tx_session *s, int threads);
/* Loads a model with its weights kept as dtype and opens a session on it with `threads` engine
 * threads (cli_set_threads; owned: tx_session_free, then tx_model_free; either may be set when
 * it fails). Returns 0, or -1 with the reason on stderr. */
int cli_load_engine(const char *cmd, const char *model_dir, int threads, tx_dtype dtype,
                    tx_model **m, tx_session **s);
/* Prints a core failure as "attnserve-cli CMD: STATUS: message". */
void cli_report(const char *cmd, const struct tx_error *e);

/* A float as JSON: 7 significant digits (float32 precision); non-finite values become null. */
void cli_put_float(FILE *f, float x);
/* Nested JSON arrays of a row-major float tensor with n_dims dimensions. */
void cli_put_tensor(FILE *f, const float *x, const int *dims, int n_dims);
void cli_put_ids(FILE *f, const int32_t *ids, int n);

#endif
