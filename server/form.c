/* form.c — urlencoded form decoding. */
#include "form.h"

#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) into a new string; -1 on a bad escape, -2 on a NUL byte. */
static int decode(const char *s, size_t n, char **out, size_t *out_len)
{
    char *d = malloc(n + 1);
    if (!d) return -3;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int a = i + 1 < n ? hexval(s[i + 1]) : -1;
            int b = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (a < 0 || b < 0) {
                free(d);
                return -1;
            }
            c = (char)(a * 16 + b);
            i += 2;
        }
        if (c == '\0') {
            free(d);
            return -2;
        }
        d[o++] = c;
    }
    d[o] = '\0';
    *out = d;
    *out_len = o;
    return 0;
}

void srv_form_free(struct srv_form *f)
{
    for (int i = 0; i < f->n; i++) {
        free(f->keys[i]);
        free(f->vals[i]);
    }
    free(f->keys);
    free(f->vals);
    free(f->lens);
    memset(f, 0, sizeof *f);
}

int srv_form_parse(const char *s, size_t n, struct srv_form *out, struct srv_err *err)
{
    memset(out, 0, sizeof *out);
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += s[i] == '&';
    out->keys = calloc(cap, sizeof *out->keys);
    out->vals = calloc(cap, sizeof *out->vals);
    out->lens = calloc(cap, sizeof *out->lens);
    if (!out->keys || !out->vals || !out->lens) {
        srv_form_free(out);
        return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
    }
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && s[e] != '&')
            e++;
        if (e > i) {
            size_t eq = i;
            while (eq < e && s[eq] != '=')
                eq++;
            char *k = NULL, *v = NULL;
            size_t kl = 0, vl = 0;
            int rk = decode(s + i, eq - i, &k, &kl);
            int rv = rk ? 0 : decode(eq < e ? s + eq + 1 : "", eq < e ? e - eq - 1 : 0, &v, &vl);
            if (rk || rv) {
                free(k);
                srv_form_free(out);
                int r = rk ? rk : rv;
                if (r == -3) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
                return srv_fail(err, SRV_E_INVALID_FORM,
                                r == -2 ? "form field %d contains a NUL byte (%%00)"
                                        : "form field %d has a malformed %%-escape",
                                out->n + 1);
            }
            if (srv_utf8_check(k, kl) != kl || srv_utf8_check(v, vl) != vl) {
                size_t bad = srv_utf8_check(v, vl);
                int key_bad = srv_utf8_check(k, kl) != kl;
                char *kk = key_bad ? NULL : strdup(k);
                free(k);
                free(v);
                srv_form_free(out);
                if (key_bad)
                    return srv_fail(err, SRV_E_INVALID_ENCODING, "a form field name is not UTF-8");
                srv_fail(err, SRV_E_INVALID_ENCODING,
                         "form field %.40s is not valid UTF-8 (byte %zu)", kk ? kk : "?", bad);
                free(kk);
                return -1;
            }
            out->keys[out->n] = k;
            out->vals[out->n] = v;
            out->lens[out->n] = vl;
            out->n++;
        }
        i = e + 1;
    }
    return 0;
}

const char *srv_form_get(const struct srv_form *f, const char *key, size_t *len)
{
    for (int i = f->n - 1; i >= 0; i--)
        if (!strcmp(f->keys[i], key)) {
            if (len) *len = f->lens[i];
            return f->vals[i];
        }
    return NULL;
}
