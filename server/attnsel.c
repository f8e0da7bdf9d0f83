/* attnsel.c — attention selections (kinds, layers, heads) from JSON bodies and query strings. */
#include "attnsel.h"

#include <string.h>

#include "config.h"

/* Largest layer or head index a JSON list may hold (no model comes near it). */
#define MAX_JSON_INDEX 1023
/* Longest decimal index accepted in a query string. */
#define MAX_QUERY_INDEX_DIGITS 6

unsigned srv_attn_kind_parse(const char *s)
{
    if (!s) return 0;
    if (!strcmp(s, "cross")) return SRV_KIND_CROSS;
    if (!strcmp(s, "encoder")) return SRV_KIND_ENCODER;
    if (!strcmp(s, "decoder")) return SRV_KIND_DECODER;
    return 0;
}

int srv_attn_agg_parse(const char *s)
{
    if (!s) return SRV_AGG_NONE;
    if (!strcmp(s, "mean")) return SRV_AGG_MEAN;
    if (!strcmp(s, "max")) return SRV_AGG_MAX;
    return SRV_AGG_NONE;
}

/* ---------------------------------------------------------------------------------------- */
/* JSON body                                                                                */
/* ---------------------------------------------------------------------------------------- */

int srv_attn_kinds_from_json(const json_t *v, unsigned *kinds, struct srv_err *err)
{
    char got[64];
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "kinds must be a non-empty list of \"cross\", \"encoder\", \"decoder\", "
                        "got %s",
                        cfg_json_describe(v, got, sizeof got));
    unsigned mask = 0;
    size_t i;
    const json_t *k;
    json_array_foreach(v, i, k)
    {
        const char *s = json_string_value(k);
        unsigned bit = srv_attn_kind_parse(s);
        if (!bit)
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "kinds[%zu] must be \"cross\", \"encoder\" or \"decoder\", got %s", i,
                            cfg_json_describe(k, got, sizeof got));
        if (mask & bit) return srv_fail(err, SRV_E_INVALID_VALUE, "kinds lists \"%s\" twice", s);
        mask |= bit;
    }
    *kinds = mask;
    return 0;
}

/* Reads a JSON list of distinct non-negative integers (layers or heads). */
static int get_index_list(const json_t *v, const char *key, int *out, int *n_out,
                          struct srv_err *err)
{
    char got[64];
    size_t n = json_array_size(v);
    if (n == 0) return srv_fail(err, SRV_E_INVALID_VALUE, "%s must hold at least one index", key);
    if (n > SRV_MAX_SELECT)
        return srv_fail(err, SRV_E_INVALID_VALUE, "%s holds %zu indices; at most %d", key, n,
                        SRV_MAX_SELECT);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
            json_integer_value(e) > MAX_JSON_INDEX)
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "%s[%zu] must be a non-negative integer index, got %s", key, i,
                            cfg_json_describe(e, got, sizeof got));
        out[i] = (int)json_integer_value(e);
        for (size_t k = 0; k < i; k++)
            if (out[k] == out[i])
                return srv_fail(err, SRV_E_INVALID_VALUE, "%s lists %d twice", key, out[i]);
    }
    *n_out = (int)n;
    return 0;
}

int srv_attn_layers_from_json(const json_t *v, int *layers, int *n_layers, struct srv_err *err)
{
    char got[64];
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v))
        return srv_fail(err, SRV_E_INVALID_VALUE, "layers must be a list of layer indices, got %s",
                        cfg_json_describe(v, got, sizeof got));
    return get_index_list(v, "layers", layers, n_layers, err);
}

int srv_attn_heads_from_json(const json_t *v, int *heads, int *n_heads, int *agg,
                             struct srv_err *err)
{
    char got[64];
    if (!v || json_is_null(v)) return 0;
    int a = srv_attn_agg_parse(json_string_value(v)); /* NULL for a non-string */
    if (a != SRV_AGG_NONE) {
        *agg = a;
        return 0;
    }
    if (json_is_array(v)) return get_index_list(v, "heads", heads, n_heads, err);
    return srv_fail(err, SRV_E_INVALID_VALUE,
                    "heads must be a list of head indices, \"mean\" or \"max\", got %s",
                    cfg_json_describe(v, got, sizeof got));
}

/* ---------------------------------------------------------------------------------------- */
/* Query string                                                                             */
/* ---------------------------------------------------------------------------------------- */

/* Parses a non-negative decimal integer query value. */
static int parse_index(const char *s, int *out)
{
    if (!s || !*s || strlen(s) > MAX_QUERY_INDEX_DIGITS) return -1;
    int v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}

static int check_query_keys(const struct srv_form *q, struct srv_err *err)
{
    static const char *const known[] = {"kind", "layer", "head", "format", "api_key"};
    for (int i = 0; i < q->n; i++) {
        const char *k = q->keys[i];
        size_t j = 0;
        while (j < sizeof known / sizeof known[0] && strcmp(k, known[j]))
            j++;
        if (j == sizeof known / sizeof known[0])
            return srv_fail(err, SRV_E_UNKNOWN_FIELD,
                            "unknown query parameter \"%.40s\" (known: kind, layer, head, format)",
                            k);
    }
    return 0;
}

/* head=: an index, "mean" or "max". */
static int query_head(const char *s, struct srv_attn_query *out, struct srv_err *err)
{
    out->agg = srv_attn_agg_parse(s);
    if (out->agg != SRV_AGG_NONE || parse_index(s, &out->head) == 0) return 0;
    return srv_fail(err, SRV_E_INVALID_VALUE,
                    "head must be a head index, mean or max, got \"%.40s\"", s);
}

/* format=: json or svg. */
static int query_format(const char *s, int *svg, struct srv_err *err)
{
    *svg = !strcmp(s, "svg");
    if (*svg || !strcmp(s, "json")) return 0;
    return srv_fail(err, SRV_E_INVALID_VALUE, "format must be json or svg, got \"%.40s\"", s);
}

int srv_attn_query_parse(const struct srv_form *q, struct srv_attn_query *out, struct srv_err *err)
{
    out->kind = SRV_KIND_CROSS;
    out->layer = -1;
    out->head = 0;
    out->agg = SRV_AGG_MEAN;
    out->svg = 0;
    if (check_query_keys(q, err)) return -1;
    const char *kind_s = srv_form_get(q, "kind", NULL);
    const char *layer_s = srv_form_get(q, "layer", NULL);
    const char *head_s = srv_form_get(q, "head", NULL);
    const char *format = srv_form_get(q, "format", NULL);
    if (kind_s && !(out->kind = srv_attn_kind_parse(kind_s)))
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "kind must be cross, encoder or decoder, got \"%.40s\"", kind_s);
    if (head_s && query_head(head_s, out, err)) return -1;
    if (layer_s && parse_index(layer_s, &out->layer))
        return srv_fail(err, SRV_E_INVALID_VALUE, "layer must be a layer index, got \"%.40s\"",
                        layer_s);
    if (format && query_format(format, &out->svg, err)) return -1;
    return 0;
}
