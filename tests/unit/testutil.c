/* testutil.c — helpers shared by the Criterion unit tests. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

const char *tu_shared_fixtures(void)
{
    static const char *path = "../shared/fixtures";
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return path;
    return NULL;
}

char *tu_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 65536 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 131072;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, 65536, f);
        len += n;
        if (n < 65536) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    if (len_out) *len_out = len;
    return buf;
}

uint64_t tu_rand_u64(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

float tu_rand_uniform(uint64_t *state, float lo, float hi)
{
    double u = (double)(tu_rand_u64(state) >> 11) / (double)(1ull << 53);
    return (float)(lo + (hi - lo) * u);
}

tx_model *tu_load_model(const char *dir, tx_dtype dtype)
{
    tx_model *m = NULL;
    struct tx_error e = {0};
    struct tx_load_params p = tx_load_default_params();
    p.dtype = dtype;
    cr_assert_eq(tx_model_load_ex(dir, &p, &m, &e), TX_OK, "%s: %s", dir, e.message);
    return m;
}
