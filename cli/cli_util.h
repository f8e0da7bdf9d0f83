/* cli_util.h — option parsing and JSON number output shared by the engine subcommands
 * (forward, generate). Header-only: each function is static inline. */
#ifndef ATTNSERVE_CLI_UTIL_H
#define ATTNSERVE_CLI_UTIL_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value of option argv[*i] ("--flag VALUE" or "--flag=VALUE") when it is `flag`; advances
 * *i past a separate value. Returns NULL when argv[*i] is another option; sets *missing when
 * the flag is given without a value. */
static inline const char *cli_opt(int argc, char **argv, int *i, const char *flag, int *missing)
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

static inline int cli_parse_int(const char *cmd, const char *flag, const char *v, long lo, long hi,
                                long *out)
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

static inline int cli_parse_float(const char *cmd, const char *flag, const char *v, double lo,
                                  double hi, float *out)
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

/* "5,17,1", "5 17 1" or "[5, 17, 1]" -> owned int32 array (free), at least one id. */
static inline int cli_parse_ids(const char *cmd, const char *flag, const char *v, int32_t **ids,
                                int *n)
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

/* A float as JSON: 7 significant digits (float32 precision); non-finite values become null. */
static inline void cli_put_float(FILE *f, float x)
{
    if (isfinite(x))
        fprintf(f, "%.7g", (double)x);
    else
        fputs("null", f);
}

/* Nested JSON arrays of a row-major float tensor with n_dims dimensions. */
static inline void cli_put_tensor(FILE *f, const float *x, const int *dims, int n_dims)
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

static inline void cli_put_ids(FILE *f, const int32_t *ids, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, i ? ",%d" : "%d", (int)ids[i]);
    fputc(']', f);
}

#endif
