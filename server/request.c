/* request.c — request bodies to plain structs; every rejected value named with its path. */
#include "request.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonw.h"

/* ---------------------------------------------------------------------------------------- */
/* Content type and JSON                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Compares the media type of ct (before ';', trimmed, case-insensitive) with want. */
static int media_is(const char *ct, const char *want)
{
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n)) return 0;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* The charset parameter is absent or utf-8. */
static int charset_ok(const char *ct)
{
    const char *p = strchr(ct, ';');
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!strncasecmp(p, "charset=", 8)) {
            const char *v = p + 8;
            if (*v == '"') v++;
            if (strncasecmp(v, "utf-8", 5) && strncasecmp(v, "utf8", 4)) return 0;
        }
        p = strchr(p, ';');
    }
    return 1;
}

int srv_content_kind(const char *ct, int allow_form, struct srv_err *err)
{
    const char *want = allow_form ? "application/json (or application/x-www-form-urlencoded "
                                    "with LibreTranslate's fields)"
                                  : "application/json";
    if (!ct || !*ct)
        return srv_fail(err, SRV_E_UNSUPPORTED_MEDIA_TYPE, "Content-Type is missing; send %s",
                        want);
    char shown[64];
    size_t n = strlen(ct) < sizeof shown - 1 ? strlen(ct) : sizeof shown - 1;
    for (size_t i = 0; i < n; i++)
        shown[i] = isprint((unsigned char)ct[i]) ? ct[i] : '?';
    shown[n] = '\0';
    int kind = media_is(ct, "application/json")                                    ? SRV_BODY_JSON
               : (allow_form && media_is(ct, "application/x-www-form-urlencoded")) ? SRV_BODY_FORM
                                                                                   : 0;
    if (!kind)
        return srv_fail(err, SRV_E_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be %s, got %s", want,
                        shown);
    if (!charset_ok(ct))
        return srv_fail(err, SRV_E_UNSUPPORTED_MEDIA_TYPE,
                        "only charset=utf-8 is accepted, got Content-Type %s", shown);
    return kind;
}

json_t *srv_parse_json_object(const char *body, size_t len, struct srv_err *err)
{
    size_t k = 0;
    while (k < len && (body[k] == ' ' || body[k] == '\t' || body[k] == '\r' || body[k] == '\n'))
        k++;
    if (k == len) {
        srv_fail(err, SRV_E_INVALID_JSON, "the body is empty; send a JSON object");
        return NULL;
    }
    /* jansson validates UTF-8 and refuses \u0000 in strings (JSON_ALLOW_NUL not given) */
    json_error_t je;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        srv_fail(err, SRV_E_INVALID_JSON, "invalid JSON at line %d, column %d (byte %d): %s",
                 je.line, je.column, je.position, je.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        srv_fail(err, SRV_E_INVALID_VALUE, "the body must be a JSON object, got %s",
                 cfg_json_type_name(doc));
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* ---------------------------------------------------------------------------------------- */
/* Field helpers                                                                            */
/* ---------------------------------------------------------------------------------------- */

static int check_known(const json_t *obj, const char *const *known, size_t n_known,
                       const char *what, struct srv_err *err)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int ok = 0;
        for (size_t i = 0; i < n_known; i++)
            if (!strcmp(key, known[i])) ok = 1;
        if (!ok) {
            char shown[64];
            json_t *ks = json_string(key);
            cfg_json_describe(ks, shown, sizeof shown);
            json_decref(ks);
            char list[400];
            size_t o = 0;
            for (size_t i = 0; i < n_known && o < sizeof list - 40; i++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", known[i]);
            return srv_fail(err, SRV_E_UNKNOWN_FIELD, "unknown field %s in %s (known: %s)", shown,
                            what, list);
        }
    }
    return 0;
}

static int get_bool(const json_t *obj, const char *key, int dflt, int *out, struct srv_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v)) {
        char got[64];
        return srv_fail(err, SRV_E_INVALID_VALUE, "%s must be true or false, got %s", key,
                        cfg_json_describe(v, got, sizeof got));
    }
    *out = json_is_true(v);
    return 0;
}

/* An optional integer in [lo, hi]; absent -> 0. */
static int get_small_int(const json_t *obj, const char *key, int lo, int hi, int *out,
                         struct srv_err *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = 0;
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char got[64];
        return srv_fail(err, SRV_E_INVALID_VALUE, "%s must be an integer from %d to %d, got %s",
                        key, lo, hi, cfg_json_describe(v, got, sizeof got));
    }
    *out = (int)json_integer_value(v);
    return 0;
}

/* An optional short identifier string (model name, language code). */
static int get_name(const json_t *obj, const char *key, const char **out, struct srv_err *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    char got[64];
    if (!json_is_string(v))
        return srv_fail(err, SRV_E_INVALID_VALUE, "%s must be a string, got %s", key,
                        cfg_json_describe(v, got, sizeof got));
    size_t n = json_string_length(v);
    if (n == 0 || n > 64)
        return srv_fail(err, SRV_E_INVALID_VALUE, "%s must be 1 to 64 characters, got %s", key,
                        cfg_json_describe(v, got, sizeof got));
    *out = json_string_value(v);
    return 0;
}

/* Checks one text: non-empty, not only whitespace, within the byte limit. */
static int check_text(const char *s, size_t n, const char *path, const struct cfg_limits *lim,
                      struct srv_err *err)
{
    if (n == 0) return srv_fail(err, SRV_E_INVALID_VALUE, "%s must not be empty", path);
    if ((long long)n > lim->max_text_bytes)
        return srv_fail(err, SRV_E_INPUT_TOO_LONG,
                        "%s is %zu bytes; a text may have at most %d bytes", path, n,
                        lim->max_text_bytes);
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    if (i == n) return srv_fail(err, SRV_E_INVALID_VALUE, "%s holds only whitespace", path);
    return 0;
}

/* Reads `key` as a string or a non-empty list of strings into r->texts. */
static int get_texts(const json_t *obj, const char *key, const struct cfg_limits *lim,
                     struct srv_gen_request *r, struct srv_err *err)
{
    const json_t *v = json_object_get(obj, key);
    char got[64], path[48];
    if (!v)
        return srv_fail(err, SRV_E_MISSING_FIELD, "%s is required (a string, or a list of strings)",
                        key);
    if (json_is_string(v)) {
        r->texts = malloc(sizeof *r->texts);
        r->lens = malloc(sizeof *r->lens);
        if (!r->texts || !r->lens) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
        r->texts[0] = json_string_value(v);
        r->lens[0] = json_string_length(v);
        r->n_texts = 1;
        return check_text(r->texts[0], r->lens[0], key, lim, err);
    }
    if (!json_is_array(v))
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "%s must be a string or a list of strings, got %s", key,
                        cfg_json_describe(v, got, sizeof got));
    size_t n = json_array_size(v);
    if (n == 0) return srv_fail(err, SRV_E_INVALID_VALUE, "%s must hold at least one string", key);
    if (n > (size_t)lim->max_texts)
        return srv_fail(err, SRV_E_TOO_MANY_TEXTS, "%s holds %zu texts; at most %d are accepted",
                        key, n, lim->max_texts);
    r->texts = malloc(n * sizeof *r->texts);
    r->lens = malloc(n * sizeof *r->lens);
    if (!r->texts || !r->lens) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
    r->text_is_list = 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(v, i);
        snprintf(path, sizeof path, "%s[%zu]", key, i);
        if (!json_is_string(t))
            return srv_fail(err, SRV_E_INVALID_VALUE, "%s must be a string, got %s", path,
                            cfg_json_describe(t, got, sizeof got));
        r->texts[i] = json_string_value(t);
        r->lens[i] = json_string_length(t);
        r->n_texts = (int)i + 1;
        if (check_text(r->texts[i], r->lens[i], path, lim, err)) return -1;
    }
    return 0;
}

static int get_options(const json_t *obj, const struct cfg_limits *lim, struct cfg_gen_options *out,
                       struct srv_err *err)
{
    const json_t *o = json_object_get(obj, "options");
    char msg[SRV_MESSAGE_SIZE];
    if (o && json_is_null(o)) o = NULL;
    if (cfg_gen_options_parse(o, "options", lim->max_output_tokens, out, msg, sizeof msg)) {
        srv_fail(err, strstr(msg, "unknown option") ? SRV_E_UNKNOWN_FIELD : SRV_E_INVALID_VALUE,
                 "%s", msg);
        return -1;
    }
    /* num_return_sequences vs num_beams is checked once the model's defaults are known */
    struct cfg_gen_options partial = *out;
    partial.set &= ~(unsigned)CFG_OPT_NUM_RETURN_SEQUENCES;
    if (cfg_gen_options_check(&partial, "options", msg, sizeof msg)) {
        srv_fail(err, SRV_E_INVALID_VALUE, "%s", msg);
        return -1;
    }
    return 0;
}

static int get_api_key(const json_t *obj, const char **out, struct srv_err *err)
{
    const json_t *v = json_object_get(obj, "api_key");
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v))
        return srv_fail(err, SRV_E_INVALID_VALUE, "api_key must be a string, got %s",
                        cfg_json_type_name(v));
    *out = json_string_value(v);
    return 0;
}

void srv_gen_request_free(struct srv_gen_request *r)
{
    json_decref(r->doc);
    srv_form_free(&r->form);
    free(r->texts);
    free(r->lens);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------------------------------- */
/* LibreTranslate shape                                                                     */
/* ---------------------------------------------------------------------------------------- */

static int parse_libre_common(const char *source, const char *target, const char *format,
                              long long alternatives, int alt_given, struct srv_gen_request *r,
                              struct srv_err *err)
{
    r->libre = 1;
    if (!target || !*target)
        return srv_fail(err, SRV_E_MISSING_FIELD, "target is required (a language code)");
    if (strlen(target) > 64)
        return srv_fail(err, SRV_E_INVALID_VALUE, "target must be a language code");
    r->target_lang = target;
    if (!source || !*source || !strcmp(source, "auto")) {
        r->libre_auto = 1;
    } else {
        if (strlen(source) > 64)
            return srv_fail(err, SRV_E_INVALID_VALUE, "source must be a language code or auto");
        r->source_lang = source;
    }
    if (format && strcmp(format, "text") && strcmp(format, "html"))
        return srv_fail(err, SRV_E_INVALID_VALUE, "format must be text or html, got \"%.20s\"",
                        format);
    r->libre_html = format && !strcmp(format, "html");
    if (alt_given) {
        if (alternatives < 0 || alternatives > CFG_MAX_RETURN_SEQUENCES - 1)
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "alternatives must be an integer between 0 and %d, got %lld",
                            CFG_MAX_RETURN_SEQUENCES - 1, alternatives);
        r->libre_alternatives = (int)alternatives;
    }
    r->split_sentences = 1;
    return 0;
}

static int parse_libre_json(const json_t *doc, const struct cfg_limits *lim,
                            struct srv_gen_request *r, struct srv_err *err)
{
    /* LibreTranslate clients send a handful of extra fields; unknown ones are ignored here */
    r->libre = 1;
    if (json_object_get(doc, "text"))
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "give either text (attnserve's shape) or q (LibreTranslate's), not both");
    if (get_texts(doc, "q", lim, r, err)) return -1;
    const char *src = NULL, *tgt = NULL, *fmt = NULL;
    const char *keys[] = {"source", "target", "format"};
    const char **vals[] = {&src, &tgt, &fmt};
    for (int i = 0; i < 3; i++) {
        const json_t *v = json_object_get(doc, keys[i]);
        if (!v || json_is_null(v)) continue;
        if (!json_is_string(v))
            return srv_fail(err, SRV_E_INVALID_VALUE, "%s must be a string, got %s", keys[i],
                            cfg_json_type_name(v));
        *vals[i] = json_string_value(v);
    }
    const json_t *alt = json_object_get(doc, "alternatives");
    long long na = 0;
    if (alt && !json_is_null(alt)) {
        if (!json_is_integer(alt))
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "alternatives must be an integer between 0 and %d, got %s",
                            CFG_MAX_RETURN_SEQUENCES - 1, cfg_json_type_name(alt));
        na = json_integer_value(alt);
    }
    if (get_api_key(doc, &r->api_key, err)) return -1;
    return parse_libre_common(src, tgt, fmt, na, alt && !json_is_null(alt), r, err);
}

static int parse_libre_form(const char *body, size_t len, const struct cfg_limits *lim,
                            struct srv_gen_request *r, struct srv_err *err)
{
    r->libre = 1;
    size_t k = 0;
    while (k < len && isspace((unsigned char)body[k]))
        k++;
    if (k < len && (body[k] == '{' || body[k] == '['))
        return srv_fail(err, SRV_E_UNSUPPORTED_MEDIA_TYPE,
                        "the body looks like JSON but Content-Type is "
                        "application/x-www-form-urlencoded; send Content-Type: application/json");
    if (srv_form_parse(body, len, &r->form, err)) return -1;
    size_t ql;
    const char *q = srv_form_get(&r->form, "q", &ql);
    if (!q)
        return srv_fail(err, SRV_E_MISSING_FIELD,
                        "q is required (a form body is LibreTranslate's request shape)");
    r->texts = malloc(sizeof *r->texts);
    r->lens = malloc(sizeof *r->lens);
    if (!r->texts || !r->lens) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
    r->texts[0] = q;
    r->lens[0] = ql;
    r->n_texts = 1;
    if (check_text(q, ql, "q", lim, err)) return -1;
    const char *alt = srv_form_get(&r->form, "alternatives", NULL);
    long long na = 0;
    if (alt && *alt) {
        char *end;
        na = strtoll(alt, &end, 10);
        if (*end || end == alt)
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "alternatives must be an integer between 0 and %d",
                            CFG_MAX_RETURN_SEQUENCES - 1);
    }
    r->api_key = srv_form_get(&r->form, "api_key", NULL);
    return parse_libre_common(srv_form_get(&r->form, "source", NULL),
                              srv_form_get(&r->form, "target", NULL),
                              srv_form_get(&r->form, "format", NULL), na, alt && *alt, r, err);
}

/* ---------------------------------------------------------------------------------------- */
/* /translate and /summarize                                                                */
/* ---------------------------------------------------------------------------------------- */

int srv_parse_translate(const char *body, size_t len, srv_body_kind kind,
                        const struct cfg_limits *lim, struct srv_gen_request *out,
                        struct srv_err *err)
{
    memset(out, 0, sizeof *out);
    if (kind == SRV_BODY_FORM) return parse_libre_form(body, len, lim, out, err);
    out->doc = srv_parse_json_object(body, len, err);
    if (!out->doc) return -1;
    const json_t *doc = out->doc;
    if (json_object_get(doc, "q")) return parse_libre_json(doc, lim, out, err);
    static const char *const known[] = {"text",      "model",  "source_lang",     "target_lang",
                                        "options",   "scores", "tokens",          "alignment",
                                        "attention", "strict", "split_sentences", "api_key",
                                        "stream"};
    if (check_known(doc, known, sizeof known / sizeof known[0], "a /translate request", err))
        return -1;
    if (get_texts(doc, "text", lim, out, err)) return -1;
    if (get_name(doc, "model", &out->model, err) ||
        get_name(doc, "source_lang", &out->source_lang, err) ||
        get_name(doc, "target_lang", &out->target_lang, err))
        return -1;
    if (get_options(doc, lim, &out->options, err)) return -1;
    if (get_bool(doc, "scores", 0, &out->scores, err) ||
        get_bool(doc, "tokens", 0, &out->tokens, err) ||
        get_bool(doc, "alignment", 0, &out->alignment, err) ||
        get_bool(doc, "attention", 0, &out->attention, err) ||
        get_bool(doc, "strict", 0, &out->strict, err) ||
        get_bool(doc, "split_sentences", 1, &out->split_sentences, err) ||
        get_bool(doc, "stream", 0, &out->stream, err))
        return -1;
    return get_api_key(doc, &out->api_key, err);
}

const char *const srv_sum_mode_names[] = {NULL, "document", "abstractive", "extractive",
                                           "highlights"};

int srv_parse_summarize(const char *body, size_t len, const struct cfg_limits *lim,
                        struct srv_gen_request *out, struct srv_err *err)
{
    memset(out, 0, sizeof *out);
    out->doc = srv_parse_json_object(body, len, err);
    if (!out->doc) return -1;
    const json_t *doc = out->doc;
    static const char *const known[] = {"text",    "model",         "options", "scores",
                                        "strict",  "api_key",       "max_sentences",
                                        "mode",    "attention",     "alignment", "tokens",
                                        "stream"};
    if (check_known(doc, known, sizeof known / sizeof known[0], "a /summarize request", err))
        return -1;
    const json_t *mv = json_object_get(doc, "mode");
    if (mv && !json_is_null(mv)) {
        const char *m = json_string_value(mv);
        for (int k = 1; m && k <= SRV_MODE_HIGHLIGHTS; k++)
            if (!strcmp(m, srv_sum_mode_names[k])) out->mode = k;
        if (!out->mode) {
            char got[64];
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "mode must be \"document\", \"abstractive\", \"extractive\" or "
                            "\"highlights\", got %s",
                            cfg_json_describe(mv, got, sizeof got));
        }
    }
    if (get_texts(doc, "text", lim, out, err)) return -1;
    if (get_name(doc, "model", &out->model, err)) return -1;
    if (get_options(doc, lim, &out->options, err)) return -1;
    if (get_bool(doc, "scores", 0, &out->scores, err) ||
        get_bool(doc, "strict", 0, &out->strict, err) ||
        get_bool(doc, "tokens", 0, &out->tokens, err) ||
        get_bool(doc, "alignment", 0, &out->alignment, err) ||
        get_bool(doc, "attention", 0, &out->attention, err) ||
        get_bool(doc, "stream", 0, &out->stream, err) ||
        get_small_int(doc, "max_sentences", 1, 64, &out->max_sentences, err))
        return -1;
    return get_api_key(doc, &out->api_key, err);
}

/* ---------------------------------------------------------------------------------------- */
/* /attention                                                                               */
/* ---------------------------------------------------------------------------------------- */

void srv_attention_request_free(struct srv_attention_request *r)
{
    json_decref(r->doc);
    memset(r, 0, sizeof *r);
}

/* "task": "translate", "summarize", or absent/null (the model's task: -1). */
static int get_task(const json_t *doc, int *task, struct srv_err *err)
{
    char got[64];
    const json_t *v = json_object_get(doc, "task");
    if (!v || json_is_null(v)) return 0;
    const char *t = json_string_value(v);
    if (!t || (strcmp(t, "translate") && strcmp(t, "summarize")))
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "task must be \"translate\" or \"summarize\", got %s",
                        cfg_json_describe(v, got, sizeof got));
    *task = !strcmp(t, "translate") ? SRV_TASK_TRANSLATE : SRV_TASK_SUMMARIZE;
    return 0;
}

/* "text": one required string within the limits. */
static int get_attention_text(const json_t *doc, const struct cfg_limits *lim,
                              struct srv_attention_request *out, struct srv_err *err)
{
    char got[64];
    const json_t *v = json_object_get(doc, "text");
    if (!v) return srv_fail(err, SRV_E_MISSING_FIELD, "text is required (a string)");
    if (!json_is_string(v))
        return srv_fail(err, SRV_E_INVALID_VALUE, "text must be a string, got %s",
                        cfg_json_describe(v, got, sizeof got));
    out->text = json_string_value(v);
    out->len = json_string_length(v);
    return check_text(out->text, out->len, "text", lim, err);
}

int srv_parse_attention(const char *body, size_t len, const struct cfg_limits *lim,
                        struct srv_attention_request *out, struct srv_err *err)
{
    memset(out, 0, sizeof *out);
    out->task = -1;
    out->kinds = SRV_KIND_ALL;
    out->doc = srv_parse_json_object(body, len, err);
    if (!out->doc) return -1;
    const json_t *doc = out->doc;
    static const char *const known[] = {
        "task",   "text",  "model",   "source_lang", "target_lang", "options", "kinds",
        "layers", "heads", "rollout", "alignment",   "strict",      "api_key", "stream"};
    if (check_known(doc, known, sizeof known / sizeof known[0], "an /attention request", err))
        return -1;
    if (get_task(doc, &out->task, err) || get_attention_text(doc, lim, out, err)) return -1;
    if (get_name(doc, "model", &out->model, err) ||
        get_name(doc, "source_lang", &out->source_lang, err) ||
        get_name(doc, "target_lang", &out->target_lang, err))
        return -1;
    if (get_options(doc, lim, &out->options, err)) return -1;
    if (srv_attn_kinds_from_json(json_object_get(doc, "kinds"), &out->kinds, err) ||
        srv_attn_layers_from_json(json_object_get(doc, "layers"), out->layers, &out->n_layers,
                                  err) ||
        srv_attn_heads_from_json(json_object_get(doc, "heads"), out->heads, &out->n_heads,
                                 &out->head_agg, err))
        return -1;
    if (get_bool(doc, "rollout", 0, &out->rollout, err) ||
        get_bool(doc, "alignment", 0, &out->alignment, err) ||
        get_bool(doc, "strict", 0, &out->strict, err) ||
        get_bool(doc, "stream", 0, &out->stream, err))
        return -1;
    return get_api_key(doc, &out->api_key, err);
}
