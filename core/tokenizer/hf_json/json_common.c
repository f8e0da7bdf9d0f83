/* json_common.c — what every tokenizer.json component shares: error messages naming the file
 * and the JSON path, small field readers, and the aligned strings the pipeline transforms. */
#include "hf_json.h"
#include "txi.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tx_status tok_jctx_unsupported(const struct tok_jctx *c, const char *where, const char *what)
{
    return txi_fail(c->err, TX_ERR_UNSUPPORTED, "%s: %s: %s is not supported", c->path, where,
                    what);
}

tx_status tok_jctx_bad(const struct tok_jctx *c, const char *where, const char *what)
{
    return txi_fail(c->err, TX_ERR_FORMAT, "%s: %s: %s", c->path, where, what);
}

tx_status tok_jctx_oom(const struct tok_jctx *c)
{
    return txi_fail(c->err, TX_ERR_NOMEM, "%s: out of memory", c->path);
}

const char *tok_json_type(json_t *o)
{
    json_t *t = json_object_get(o, "type");
    return json_is_string(t) ? json_string_value(t) : NULL;
}

int tok_json_read_char(json_t *o, const char *key, const char *def, char out[5], size_t *len)
{
    json_t *v = json_object_get(o, key);
    const char *s = json_is_string(v) ? json_string_value(v) : def;
    size_t n = json_is_string(v) ? json_string_length(v) : strlen(def);
    uint32_t cp;
    if (n == 0 || n > 4 || txi_utf8_decode(s, n, &cp) != (int)n) return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    *len = n;
    return 0;
}

char *tok_json_strdup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

/* " {N,}": a run of at least N spaces; 0 for any other regular expression. */
static int space_run_regex(const char *r)
{
    int n;
    char tail[4];
    if (sscanf(r, " {%d,}%3s", &n, tail) == 1 && n >= 1 && n < 1000 && r[0] == ' ') return n;
    return 0;
}

tx_status tok_json_read_pattern(const struct tok_jctx *c, json_t *o, const char *where, char **str,
                                size_t *len, int *min_spaces)
{
    json_t *p = json_object_get(o, "pattern");
    json_t *s = json_object_get(p, "String"), *r = json_object_get(p, "Regex");
    *str = NULL;
    *min_spaces = 0;
    if (json_is_string(s)) {
        *len = json_string_length(s);
        if (*len == 0) return tok_jctx_bad(c, where, "empty Replace pattern");
        *str = tok_json_strdup(json_string_value(s), *len);
        return *str ? TX_OK : tok_jctx_oom(c);
    }
    if (json_is_string(r)) {
        *min_spaces = space_run_regex(json_string_value(r));
        if (*min_spaces) return TX_OK;
        char what[160];
        snprintf(what, sizeof what, "the regular expression \"%.80s\"", json_string_value(r));
        return tok_jctx_unsupported(c, where, what);
    }
    return tok_jctx_bad(c, where, "pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

/* ---------------------------------------------------------------------------------------- */
/* Aligned strings                                                                           */
/* ---------------------------------------------------------------------------------------- */

int tok_ns_reserve(struct nstr *x, size_t extra)
{
    if (x->n + extra + 1 <= x->cap) return 0;
    size_t cap = x->cap ? x->cap : 64;
    while (cap < x->n + extra + 1)
        cap *= 2;
    char *s = realloc(x->s, cap);
    if (!s) return -1;
    x->s = s;
    uint32_t *a = realloc(x->ob, cap * sizeof *a);
    if (!a) return -1;
    x->ob = a;
    uint32_t *b = realloc(x->oe, cap * sizeof *b);
    if (!b) return -1;
    x->oe = b;
    x->cap = cap;
    return 0;
}

int tok_ns_put(struct nstr *x, const char *p, size_t n, uint32_t ob, uint32_t oe)
{
    if (tok_ns_reserve(x, n)) return -1;
    memcpy(x->s + x->n, p, n);
    for (size_t i = 0; i < n; i++) {
        x->ob[x->n + i] = ob;
        x->oe[x->n + i] = oe;
    }
    x->n += n;
    x->s[x->n] = '\0';
    return 0;
}

int tok_ns_copy(struct nstr *x, const struct nstr *src, size_t b, size_t e)
{
    if (e <= b) return tok_ns_reserve(x, 0);
    if (tok_ns_reserve(x, e - b)) return -1;
    memcpy(x->s + x->n, src->s + b, e - b);
    memcpy(x->ob + x->n, src->ob + b, (e - b) * sizeof *x->ob);
    memcpy(x->oe + x->n, src->oe + b, (e - b) * sizeof *x->oe);
    x->n += e - b;
    x->s[x->n] = '\0';
    return 0;
}

void tok_ns_free(struct nstr *x)
{
    free(x->s);
    free(x->ob);
    free(x->oe);
    memset(x, 0, sizeof *x);
}

void tok_ns_span(const struct nstr *x, size_t b, size_t e, uint32_t *ob, uint32_t *oe)
{
    if (e > b) {
        *ob = x->ob[b];
        *oe = x->oe[e - 1];
        if (*oe < *ob) *oe = *ob;
    } else {
        *ob = *oe = b < x->n ? x->ob[b] : (x->n ? x->oe[x->n - 1] : 0);
    }
}

size_t tok_char_len_at(const char *s, size_t n)
{
    size_t l = (size_t)txi_utf8_lead_len((unsigned char)s[0]);
    return l < n ? l : n;
}

int tok_pc_add(struct pieces *p, size_t b, size_t e)
{
    if (e <= b) return 0; /* empty splits are dropped */
    if (txi_grow((void **)&p->r, &p->cap, p->n + 1, sizeof *p->r)) return -1;
    p->r[p->n].b = b;
    p->r[p->n].e = e;
    p->n++;
    return 0;
}

void tok_pc_free(struct pieces *p)
{
    tok_ns_free(&p->pool);
    free(p->r);
    memset(p, 0, sizeof *p);
}
