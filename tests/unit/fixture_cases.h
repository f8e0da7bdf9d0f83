/* fixture_cases.h — reading the hf-tiny reference fixtures (cases.json) in engine tests:
 * nested JSON arrays flattened to float/int arrays, and closeness checks that report where. */
#ifndef ATTNSERVE_FIXTURE_CASES_H
#define ATTNSERVE_FIXTURE_CASES_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FIXTURE_DIR "tests/fixtures/hf-tiny"
#define VARIANTS_DIR "tests/fixtures/variants"

/* cases.json of a fixture folder; owned (json_decref). Fails the test when unreadable. */
static inline json_t *fx_load_cases(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/cases.json", dir);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    cr_assert_not_null(root, "%s: %s", path, e.text);
    return root;
}

static inline void fx_flatten(const json_t *v, double *out, size_t *n, size_t cap)
{
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            fx_flatten(json_array_get(v, i), out, n, cap);
        return;
    }
    cr_assert(json_is_number(v), "fixture value is not a number");
    cr_assert(*n < cap, "fixture array larger than expected");
    out[(*n)++] = json_number_value(v);
}

static inline size_t fx_count(const json_t *v)
{
    if (!json_is_array(v)) return 1;
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(v); i++)
        n += fx_count(json_array_get(v, i));
    return n;
}

/* Nested numeric array -> owned flat doubles (free). */
static inline double *fx_numbers(const json_t *v, size_t *n_out)
{
    cr_assert_not_null(v, "fixture field missing");
    size_t cap = fx_count(v), n = 0;
    double *out = malloc((cap ? cap : 1) * sizeof *out);
    cr_assert_not_null(out);
    fx_flatten(v, out, &n, cap);
    *n_out = n;
    return out;
}

/* Nested integer array -> owned flat int32 (free). */
static inline int32_t *fx_ints(const json_t *v, int *n_out)
{
    size_t n;
    double *d = fx_numbers(v, &n);
    int32_t *out = malloc((n ? n : 1) * sizeof *out);
    cr_assert_not_null(out);
    for (size_t i = 0; i < n; i++)
        out[i] = (int32_t)d[i];
    free(d);
    *n_out = (int)n;
    return out;
}

/* Asserts |got[i] - want[i]| <= tol for all i; reports the worst element. */
static inline void fx_assert_close(const float *got, const double *want, size_t n, double tol,
                                   const char *what)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= worst)) { /* also catches NaN */
            worst = d;
            at = i;
        }
    }
    cr_assert(worst <= tol, "%s: |diff| %.3g > %.1g at flat index %zu (got %.7g, want %.7g)", what,
              worst, tol, at, (double)got[at], want[at]);
}

#endif
