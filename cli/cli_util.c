/* cli_util.c — option parsing, model and tokenizer loading, and JSON output for the
 * subcommands. */
#include "cli_util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_is_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

const char *cli_opt(int argc, char **argv, int *i, const char *flag, int *missing)
{
    size_t n = strlen(flag);
    const char *a = argv[*i];
    if (strncmp(a, flag, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

void cli_bad_option(const char *cmd, const char *arg, int missing)
{
    fprintf(stderr, "attnserve-cli %s: %s '%s'\n", cmd,
            missing ? "missing value for" : "unknown option", arg);
}

int cli_parse_int(const char *cmd, const char *flag, const char *v, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "attnserve-cli %s: %s needs an integer in [%ld, %ld], got '%s'\n", cmd,
                flag, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cli_parse_float(const char *cmd, const char *flag, const char *v, double lo, double hi,
                    float *out)
{
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || !(x >= lo && x <= hi)) {
        fprintf(stderr, "attnserve-cli %s: %s needs a number in [%g, %g], got '%s'\n", cmd, flag,
                lo, hi, v);
        return -1;
    }
    *out = (float)x;
    return 0;
}

int cli_parse_ids(const char *cmd, const char *flag, const char *v, int32_t **ids, int *n)
{
    size_t cap = strlen(v) / 2 + 1, k = 0;
    int32_t *out = malloc(cap * sizeof *out);
    if (!out) {
        fprintf(stderr, "attnserve-cli %s: out of memory\n", cmd);
        return -1;
    }
    const char *p = v;
    while (*p == ' ' || *p == '[')
        p++;
    while (*p && *p != ']') {
        char *end = NULL;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < INT32_MIN || x > INT32_MAX || k >= cap) {
            fprintf(stderr,
                    "attnserve-cli %s: %s needs a list of token ids like 5,17,1; got '%s'\n", cmd,
                    flag, v);
            free(out);
            return -1;
        }
        out[k++] = (int32_t)x;
        p = end;
        while (*p == ' ' || *p == ',')
            p++;
    }
    if (*p == ']') p++;
    while (*p == ' ')
        p++;
    if (*p || k == 0) {
        fprintf(stderr, "attnserve-cli %s: %s needs a list of token ids like 5,17,1; got '%s'\n",
                cmd, flag, v);
        free(out);
        return -1;
    }
    *ids = out;
    *n = (int)k;
    return 0;
}

int cli_parse_model_flags(int argc, char **argv, const struct cli_flag *flags, int n_flags,
                          const char **model_dir, void (*usage)(FILE *f))
{
    const char *cmd = argv[0];
    *model_dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            *model_dir = argv[++i];
            continue;
        }
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return -1;
        }
        int k = 0;
        while (k < n_flags && strcmp(argv[i], flags[k].name))
            k++;
        if (k == n_flags) {
            fprintf(stderr, "attnserve-cli %s: unknown or incomplete option '%s'\n", cmd, argv[i]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
        *flags[k].value = 1;
    }
    if (!*model_dir) {
        fprintf(stderr, "attnserve-cli %s: --model DIR is required\n", cmd);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int cli_load_tokenizer(const char *cmd, const char *model_dir, tx_tokenizer **tok)
{
    struct tx_error err = {0};
    *tok = NULL;
    if (tx_tokenizer_load(model_dir, tok, &err) == TX_OK) return 0;
    fprintf(stderr, "attnserve-cli %s: %s\n", cmd, err.message);
    return -1;
}

void cli_report(const char *cmd, const struct tx_error *e)
{
    fprintf(stderr, "attnserve-cli %s: %s: %s\n", cmd, tx_status_name(e->status), e->message);
}

int cli_parse_dtype(const char *cmd, const char *v, tx_dtype *out)
{
    static const struct {
        const char *name;
        tx_dtype dtype;
    } names[] = {{"auto", TX_DTYPE_AUTO}, {"int8", TX_DTYPE_INT8}, {"w8a8", TX_DTYPE_W8A8},
                 {"f16", TX_DTYPE_F16},   {"f32", TX_DTYPE_F32}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(v, names[i].name)) {
            *out = names[i].dtype;
            return 0;
        }
    fprintf(stderr, "attnserve-cli %s: --dtype must be auto, int8, w8a8, f16 or f32, got '%s'\n",
            cmd, v);
    return -1;
}

int cli_set_threads(const char *cmd, tx_session *s, int threads)
{
    struct tx_error e = {0};
    tx_blas_set_threads(1);
    if (tx_session_set_threads(s, threads, &e) == TX_OK) return 0;
    cli_report(cmd, &e);
    return -1;
}

int cli_load_engine(const char *cmd, const char *model_dir, int threads, tx_dtype dtype,
                    tx_model **m, tx_session **s)
{
    struct tx_error e = {0};
    struct tx_load_params lp = tx_load_default_params();
    lp.dtype = dtype;
    if (tx_model_load_ex(model_dir, &lp, m, &e) != TX_OK ||
        tx_session_new(*m, 0, s, &e) != TX_OK) {
        cli_report(cmd, &e);
        return -1;
    }
    return cli_set_threads(cmd, *s, threads);
}

void cli_put_float(FILE *f, float x)
{
    if (isfinite(x))
        fprintf(f, "%.7g", (double)x);
    else
        fputs("null", f);
}

void cli_put_tensor(FILE *f, const float *x, const int *dims, int n_dims)
{
    if (n_dims == 1) {
        fputc('[', f);
        for (int i = 0; i < dims[0]; i++) {
            if (i) fputc(',', f);
            cli_put_float(f, x[i]);
        }
        fputc(']', f);
        return;
    }
    size_t inner = 1;
    for (int d = 1; d < n_dims; d++)
        inner *= (size_t)dims[d];
    fputc('[', f);
    for (int i = 0; i < dims[0]; i++) {
        if (i) fputc(',', f);
        cli_put_tensor(f, x + (size_t)i * inner, dims + 1, n_dims - 1);
    }
    fputc(']', f);
}

void cli_put_ids(FILE *f, const int32_t *ids, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, i ? ",%d" : "%d", (int)ids[i]);
    fputc(']', f);
}
