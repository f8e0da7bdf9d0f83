/* genopts.c — the decoding-option table as data, and its parsing, checking and rendering. */
#include "genopts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CFG_GEN_KIND_INT CFG_GEN_INT
#define CFG_GEN_KIND_NUM CFG_GEN_NUM
#define CFG_GEN_KIND_BOOL CFG_GEN_BOOL
#define CFG_GEN_KIND_SEED CFG_GEN_SEED
#define CFG_GEN_KIND_EARLY CFG_GEN_EARLY

const struct cfg_gen_option cfg_gen_option_table[CFG_GEN_N_OPTIONS] = {
#define X(ID, key, kind, lo, lo_open, hi, srv_lo, srv_hi, surf, help)                              \
    {#key,                                                                                         \
     CFG_OPT_##ID,                                                                                 \
     CFG_GEN_KIND_##kind,                                                                          \
     offsetof(struct cfg_gen_options, key),                                                        \
     lo,                                                                                           \
     hi,                                                                                           \
     lo_open,                                                                                      \
     srv_lo,                                                                                       \
     srv_hi,                                                                                       \
     surf,                                                                                         \
     help},
    CFG_GEN_OPTIONS(X)
#undef X
};
#define N_OPTS CFG_GEN_N_OPTIONS
#define opts cfg_gen_option_table

const char *cfg_gen_option_flag(const struct cfg_gen_option *op, char *buf, size_t buf_size)
{
    snprintf(buf, buf_size, "--%s", op->key);
    for (char *c = buf; *c; c++)
        if (*c == '_') *c = '-';
    return buf;
}

const struct cfg_gen_option *cfg_gen_option_by_flag(const char *flag)
{
    if (strncmp(flag, "--", 2)) return NULL;
    for (size_t i = 0; i < N_OPTS; i++) {
        const char *k = opts[i].key, *f = flag + 2;
        while (*k && *f == (*k == '_' ? '-' : *k)) {
            k++;
            f++;
        }
        if (!*k && !*f) return &opts[i];
    }
    return NULL;
}

double cfg_gen_option_srv_hi(const struct cfg_gen_option *op, int max_output_tokens)
{
    if (op->srv_hi == CFG_HI_OUT) return (double)max_output_tokens;
    if (op->srv_hi == CFG_HI_OUT_1) return (double)max_output_tokens + 1;
    return op->srv_hi;
}

const char *cfg_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "a list";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

const char *cfg_json_describe(const json_t *v, char *buf, size_t buf_size)
{
    if (!buf_size) return buf;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        snprintf(buf, buf_size, "an object");
        break;
    case JSON_ARRAY:
        snprintf(buf, buf_size, "a list");
        break;
    case JSON_INTEGER:
        snprintf(buf, buf_size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        snprintf(buf, buf_size, "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        snprintf(buf, buf_size, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, buf_size, "false");
        break;
    case JSON_NULL:
        snprintf(buf, buf_size, "null");
        break;
    case JSON_STRING: {
        /* quoted, control characters and quotes escaped, cut at 40 bytes (on a UTF-8
         * boundary) so a huge or hostile value cannot flood a message */
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), o = 0;
        if (buf_size < 8) {
            snprintf(buf, buf_size, "\"\"");
            break;
        }
        buf[o++] = '"';
        size_t i = 0;
        for (; i < n && i < 40; i++) {
            unsigned char c = (unsigned char)s[i];
            if (i >= 36 && (c & 0xC0) != 0x80 && n > 40) break;
            char esc[8];
            size_t el;
            if (c == '"' || c == '\\') {
                esc[0] = '\\';
                esc[1] = (char)c;
                el = 2;
            } else if (c < 0x20 || c == 0x7f) {
                el = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
            } else {
                esc[0] = (char)c;
                el = 1;
            }
            if (o + el + 5 >= buf_size) break;
            memcpy(buf + o, esc, el);
            o += el;
        }
        if (i < n && o + 4 < buf_size) {
            memcpy(buf + o, "...", 3);
            o += 3;
        }
        buf[o++] = '"';
        buf[o] = '\0';
        break;
    }
    }
    return buf;
}

/* Writes "<path>.<key> <rest>" and returns -1. */
static int fail(char *msg, size_t msg_size, const char *path, const char *key, const char *rest)
{
    if (msg_size) snprintf(msg, msg_size, "%s.%s %s", path, key, rest);
    return -1;
}

/* Formats a range bound without trailing zeros: 1, 0.01, 9007199254740991. */
static void fmt_bound(char *buf, size_t n, double v)
{
    if (v == floor(v) && fabs(v) < 1e16)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%g", v);
}

static size_t value_size(cfg_gen_kind k)
{
    return k == CFG_GEN_NUM ? sizeof(double) : k == CFG_GEN_SEED ? sizeof(uint64_t) : sizeof(int);
}

static int parse_one(const struct cfg_gen_option *op, const json_t *v, const char *path,
                     int max_out, struct cfg_gen_options *out, char *msg, size_t msg_size)
{
    char got[64], rest[256], lo[32], hi[32];
    double lo_v = op->srv_lo, hi_v = cfg_gen_option_srv_hi(op, max_out);
    cfg_json_describe(v, got, sizeof got);
    fmt_bound(lo, sizeof lo, lo_v);
    fmt_bound(hi, sizeof hi, hi_v);
    char *field = (char *)out + op->off;
    switch (op->kind) {
    case CFG_GEN_BOOL:
    case CFG_GEN_EARLY:
        if (!json_is_boolean(v)) {
            snprintf(rest, sizeof rest, "must be true or false, got %s", got);
            return fail(msg, msg_size, path, op->key, rest);
        }
        *(int *)(void *)field = json_is_true(v);
        return 0;
    case CFG_GEN_INT:
    case CFG_GEN_SEED:
        if (!json_is_integer(v) || (double)json_integer_value(v) < lo_v ||
            (double)json_integer_value(v) > hi_v) {
            snprintf(rest, sizeof rest, "must be an integer between %s and %s, got %s", lo, hi,
                     got);
            return fail(msg, msg_size, path, op->key, rest);
        }
        if (op->kind == CFG_GEN_SEED)
            *(uint64_t *)(void *)field = (uint64_t)json_integer_value(v);
        else
            *(int *)(void *)field = (int)json_integer_value(v);
        return 0;
    case CFG_GEN_NUM: {
        double d = json_number_value(v);
        if (!json_is_number(v) || !isfinite(d) || d > hi_v || d < lo_v ||
            (op->lo_open && d <= lo_v)) {
            if (op->lo_open)
                snprintf(rest, sizeof rest,
                         "must be a number greater than %s and at most %s, got %s", lo, hi, got);
            else
                snprintf(rest, sizeof rest, "must be a number between %s and %s, got %s", lo, hi,
                         got);
            return fail(msg, msg_size, path, op->key, rest);
        }
        *(double *)(void *)field = d;
        return 0;
    }
    }
    return -1;
}

int cfg_gen_options_parse(const json_t *obj, const char *path, int max_output_tokens,
                          struct cfg_gen_options *out, char *msg, size_t msg_size)
{
    memset(out, 0, sizeof *out);
    if (!obj) return 0;
    if (!json_is_object(obj)) {
        char got[64];
        if (msg_size)
            snprintf(msg, msg_size, "%s must be an object, got %s", path,
                     cfg_json_describe(obj, got, sizeof got));
        return -1;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        const struct cfg_gen_option *op = NULL;
        for (size_t i = 0; i < N_OPTS; i++)
            if ((opts[i].surfaces & CFG_GEN_SRV) && !strcmp(opts[i].key, key)) op = &opts[i];
        if (!op) {
            char k[64], known[512];
            size_t o = 0;
            known[0] = '\0';
            for (size_t i = 0; i < N_OPTS && o < sizeof known; i++)
                if (opts[i].surfaces & CFG_GEN_SRV)
                    o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", o ? ", " : "",
                                          opts[i].key);
            json_t *ks = json_string(key);
            cfg_json_describe(ks, k, sizeof k);
            json_decref(ks);
            if (msg_size)
                snprintf(msg, msg_size, "%s has an unknown option %s (known: %s)", path, k, known);
            return -1;
        }
        if (parse_one(op, v, path, max_output_tokens, out, msg, msg_size)) return -1;
        out->set |= op->bit;
    }
    return 0;
}

int cfg_gen_option_parse_text(const struct cfg_gen_option *op, const char *value,
                              struct cfg_gen_options *out, char *msg, size_t msg_size)
{
    char flag[64], lo[32], hi[32];
    cfg_gen_option_flag(op, flag, sizeof flag);
    fmt_bound(lo, sizeof lo, op->lo);
    fmt_bound(hi, sizeof hi, op->hi);
    char *field = (char *)out + op->off, *end = NULL;
    errno = 0;
    switch (op->kind) {
    case CFG_GEN_BOOL:
        *(int *)(void *)field = 1;
        break;
    case CFG_GEN_EARLY: {
        int v = !strcmp(value, "true")    ? 1
                : !strcmp(value, "false") ? 0
                : !strcmp(value, "never") ? 2
                                          : -1;
        if (v < 0) {
            snprintf(msg, msg_size, "%s needs true, false or never, got '%s'", flag, value);
            return -1;
        }
        *(int *)(void *)field = v;
        break;
    }
    case CFG_GEN_INT: {
        long x = strtol(value, &end, 10);
        if (!*value || *end || errno || (double)x < op->lo || (double)x > op->hi) {
            snprintf(msg, msg_size, "%s needs an integer in [%s, %s], got '%s'", flag, lo, hi,
                     value);
            return -1;
        }
        *(int *)(void *)field = (int)x;
        break;
    }
    case CFG_GEN_SEED: {
        unsigned long long u = strtoull(value, &end, 10);
        if (!*value || *end || errno || value[0] == '-') {
            snprintf(msg, msg_size, "%s needs a non-negative integer, got '%s'", flag, value);
            return -1;
        }
        *(uint64_t *)(void *)field = (uint64_t)u;
        break;
    }
    case CFG_GEN_NUM: {
        double d = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(d) || d > op->hi || d < op->lo ||
            (op->lo_open && d <= op->lo)) {
            snprintf(msg, msg_size, "%s needs a number in %s%s, %s], got '%s'", flag,
                     op->lo_open ? "(" : "[", lo, hi, value);
            return -1;
        }
        *(double *)(void *)field = d;
        break;
    }
    }
    out->set |= op->bit;
    return 0;
}

void cfg_gen_options_overlay(struct cfg_gen_options *base, const struct cfg_gen_options *top)
{
    unsigned len = CFG_OPT_MAX_LENGTH | CFG_OPT_MAX_NEW_TOKENS;
    if (top->set & len) base->set &= ~len;
    for (size_t i = 0; i < N_OPTS; i++) {
        if (!(top->set & opts[i].bit)) continue;
        memcpy((char *)base + opts[i].off, (const char *)top + opts[i].off,
               value_size(opts[i].kind));
        base->set |= opts[i].bit;
    }
}

/* "options.min_length" or, for CLI flags (path ""), "--min-length". */
static const char *name_of(const char *path, size_t idx, char *buf, size_t n)
{
    if (*path)
        snprintf(buf, n, "%s.%s", path, opts[idx].key);
    else
        cfg_gen_option_flag(&opts[idx], buf, n);
    return buf;
}

int cfg_gen_options_check(const struct cfg_gen_options *o, const char *path, char *msg,
                          size_t msg_size)
{
    char a[96], b[96];
    if ((o->set & CFG_OPT_MAX_LENGTH) && (o->set & CFG_OPT_MAX_NEW_TOKENS)) {
        snprintf(msg, msg_size,
                 "%s and %s mean the same limit (max_length counts the decoder start token: "
                 "max_length = max_new_tokens + 1); give one",
                 name_of(path, CFG_OPT_IDX_MAX_LENGTH, a, sizeof a),
                 name_of(path, CFG_OPT_IDX_MAX_NEW_TOKENS, b, sizeof b));
        return -1;
    }
    /* both lengths counted as transformers does, the decoder start token included */
    int max = (o->set & CFG_OPT_MAX_NEW_TOKENS) ? o->max_new_tokens + 1
              : (o->set & CFG_OPT_MAX_LENGTH)   ? o->max_length
                                                : -1;
    if ((o->set & CFG_OPT_MIN_LENGTH) && max >= 0 && o->min_length > max) {
        snprintf(msg, msg_size,
                 "%s (%d) must not exceed the maximum length (%d, counting the decoder start "
                 "token as transformers does)",
                 name_of(path, CFG_OPT_IDX_MIN_LENGTH, a, sizeof a), o->min_length, max);
        return -1;
    }
    int sample = (o->set & CFG_OPT_DO_SAMPLE) && o->do_sample;
    int beams = (o->set & CFG_OPT_NUM_BEAMS) ? o->num_beams : 1;
    if ((o->set & CFG_OPT_NUM_RETURN_SEQUENCES) && !sample && o->num_return_sequences > beams) {
        snprintf(msg, msg_size, "%s (%d) must not exceed %s (%d) unless do_sample is true",
                 name_of(path, CFG_OPT_IDX_NUM_RETURN_SEQUENCES, a, sizeof a),
                 o->num_return_sequences, name_of(path, CFG_OPT_IDX_NUM_BEAMS, b, sizeof b), beams);
        return -1;
    }
    return 0;
}

int cfg_gen_options_check_limit(const struct cfg_gen_options *o, const char *path,
                                int max_output_tokens, char *msg, size_t msg_size)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (!(o->set & opts[i].bit) || opts[i].kind != CFG_GEN_INT) continue;
        if (opts[i].srv_hi != CFG_HI_OUT && opts[i].srv_hi != CFG_HI_OUT_1) continue;
        int v = *(const int *)(const void *)((const char *)o + opts[i].off);
        double hi = cfg_gen_option_srv_hi(&opts[i], max_output_tokens);
        if (v > hi) {
            snprintf(msg, msg_size, "%s.%s (%d) exceeds limits.max_output_tokens%s (%.0f)", path,
                     opts[i].key, v, opts[i].srv_hi == CFG_HI_OUT_1 ? " + 1" : "", hi);
            return -1;
        }
    }
    return 0;
}

json_t *cfg_gen_options_to_json(const struct cfg_gen_options *o)
{
    json_t *j = json_object();
    if (!j) return NULL;
    for (size_t i = 0; i < N_OPTS; i++) {
        if (!(o->set & opts[i].bit)) continue;
        const char *f = (const char *)o + opts[i].off;
        json_t *v = NULL;
        switch (opts[i].kind) {
        case CFG_GEN_INT:
            v = json_integer(*(const int *)(const void *)f);
            break;
        case CFG_GEN_SEED:
            v = json_integer((json_int_t) * (const uint64_t *)(const void *)f);
            break;
        case CFG_GEN_NUM:
            v = json_real(*(const double *)(const void *)f);
            break;
        case CFG_GEN_BOOL:
        case CFG_GEN_EARLY:
            v = json_boolean(*(const int *)(const void *)f);
            break;
        }
        if (!v || json_object_set_new(j, opts[i].key, v)) {
            json_decref(j);
            return NULL;
        }
    }
    return j;
}

/* A bound as a JSON number: an integer when it is one. */
static json_t *bound_json(double v)
{
    if (v == floor(v) && fabs(v) < 1e16) return json_integer((json_int_t)v);
    return json_real(v);
}

json_t *cfg_gen_options_schema(int max_output_tokens)
{
    json_t *props = json_object();
    if (!props) return NULL;
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct cfg_gen_option *op = &opts[i];
        if (!(op->surfaces & CFG_GEN_SRV)) continue;
        json_t *p = json_object();
        int bad = !p;
        if (op->kind == CFG_GEN_BOOL || op->kind == CFG_GEN_EARLY) {
            bad = bad || json_object_set_new(p, "type", json_string("boolean"));
        } else {
            int is_int = op->kind != CFG_GEN_NUM;
            bad = bad || json_object_set_new(p, "type", json_string(is_int ? "integer" : "number"));
            bad = bad || json_object_set_new(p, op->lo_open ? "exclusiveMinimum" : "minimum",
                                             bound_json(op->srv_lo));
            bad = bad ||
                  json_object_set_new(p, "maximum",
                                      bound_json(cfg_gen_option_srv_hi(op, max_output_tokens)));
        }
        bad = bad || json_object_set_new(p, "description", json_string(op->help));
        if (bad || json_object_set_new(props, op->key, p)) {
            json_decref(props);
            return NULL;
        }
    }
    return props;
}

void cfg_gen_options_print_help(FILE *f, unsigned surface, int max_output_tokens)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct cfg_gen_option *op = &opts[i];
        if (!(op->surfaces & surface)) continue;
        char name[64], lo[32], hi[32], range[96] = "";
        int srv = surface == CFG_GEN_SRV;
        double lo_v = srv ? op->srv_lo : op->lo;
        double hi_v = srv ? cfg_gen_option_srv_hi(op, max_output_tokens) : op->hi;
        fmt_bound(lo, sizeof lo, lo_v);
        fmt_bound(hi, sizeof hi, hi_v);
        switch (op->kind) {
        case CFG_GEN_BOOL:
            snprintf(range, sizeof range, srv ? "true|false" : "(a flag)");
            break;
        case CFG_GEN_EARLY:
            snprintf(range, sizeof range, srv ? "true|false" : "true|false|never");
            break;
        case CFG_GEN_SEED:
            snprintf(range, sizeof range, srv ? "integer %s..%s" : "integer >= %s", lo, hi);
            break;
        case CFG_GEN_INT:
            snprintf(range, sizeof range, "integer %s..%s", lo, hi);
            break;
        case CFG_GEN_NUM:
            snprintf(range, sizeof range, "number %s%s..%s", op->lo_open ? ">" : "", lo, hi);
            break;
        }
        if (srv)
            snprintf(name, sizeof name, "%s", op->key);
        else
            cfg_gen_option_flag(op, name, sizeof name);
        fprintf(f, "  %-29s %s\n", name, range);
        /* the help sentence, wrapped at 100 columns under the range */
        const char *h = op->help;
        while (*h) {
            size_t n = strlen(h);
            if (n > 66) {
                n = 66;
                while (n > 0 && h[n] != ' ')
                    n--;
                if (!n) n = 66;
            }
            fprintf(f, "  %-29s   %.*s\n", "", (int)n, h);
            h += n;
            while (*h == ' ')
                h++;
        }
    }
}
