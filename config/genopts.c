/* genopts.c — parsing, checking and rendering of decoding options. */
#include "genopts.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum kind { K_INT, K_NUM, K_BOOL, K_SEED };

/* One option: JSON key, its bit, how to read it and its closed range. `lo_open` makes the
 * lower bound exclusive (temperature, top_p, repetition_penalty must be > 0). A max of -1 on an
 * integer means "max_output_tokens". */
static const struct opt {
    const char *key;
    unsigned bit;
    enum kind kind;
    size_t off;
    double lo, hi;
    int lo_open;
} opts[] = {
    {"num_beams", CFG_OPT_NUM_BEAMS, K_INT, offsetof(struct cfg_gen_options, num_beams), 1,
     CFG_MAX_BEAMS, 0},
    {"num_return_sequences", CFG_OPT_NUM_RETURN_SEQUENCES, K_INT,
     offsetof(struct cfg_gen_options, num_return_sequences), 1, CFG_MAX_RETURN_SEQUENCES, 0},
    {"max_new_tokens", CFG_OPT_MAX_NEW_TOKENS, K_INT,
     offsetof(struct cfg_gen_options, max_new_tokens), 1, -1, 0},
    {"min_length", CFG_OPT_MIN_LENGTH, K_INT, offsetof(struct cfg_gen_options, min_length), 0, -1,
     0},
    {"max_length", CFG_OPT_MAX_LENGTH, K_INT, offsetof(struct cfg_gen_options, max_length), 1, -1,
     0},
    {"length_penalty", CFG_OPT_LENGTH_PENALTY, K_NUM,
     offsetof(struct cfg_gen_options, length_penalty), -10, 10, 0},
    {"no_repeat_ngram_size", CFG_OPT_NO_REPEAT_NGRAM_SIZE, K_INT,
     offsetof(struct cfg_gen_options, no_repeat_ngram_size), 0, CFG_MAX_NGRAM, 0},
    {"repetition_penalty", CFG_OPT_REPETITION_PENALTY, K_NUM,
     offsetof(struct cfg_gen_options, repetition_penalty), 0, 10, 1},
    {"do_sample", CFG_OPT_DO_SAMPLE, K_BOOL, offsetof(struct cfg_gen_options, do_sample), 0, 1, 0},
    {"temperature", CFG_OPT_TEMPERATURE, K_NUM, offsetof(struct cfg_gen_options, temperature), 0,
     10, 1},
    {"top_k", CFG_OPT_TOP_K, K_INT, offsetof(struct cfg_gen_options, top_k), 0, CFG_MAX_TOP_K, 0},
    {"top_p", CFG_OPT_TOP_P, K_NUM, offsetof(struct cfg_gen_options, top_p), 0, 1, 1},
    {"seed", CFG_OPT_SEED, K_SEED, offsetof(struct cfg_gen_options, seed), 0, (double)CFG_MAX_SEED,
     0},
    {"early_stopping", CFG_OPT_EARLY_STOPPING, K_BOOL,
     offsetof(struct cfg_gen_options, early_stopping), 0, 1, 0},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

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

static int parse_one(const struct opt *op, const json_t *v, const char *path, int max_out,
                     struct cfg_gen_options *out, char *msg, size_t msg_size)
{
    char got[64], rest[256], lo[32], hi[32];
    double hi_v = op->hi < 0 ? (double)max_out : op->hi;
    cfg_json_describe(v, got, sizeof got);
    fmt_bound(lo, sizeof lo, op->lo);
    fmt_bound(hi, sizeof hi, hi_v);
    char *field = (char *)out + op->off;
    switch (op->kind) {
    case K_BOOL:
        if (!json_is_boolean(v)) {
            snprintf(rest, sizeof rest, "must be true or false, got %s", got);
            return fail(msg, msg_size, path, op->key, rest);
        }
        *(int *)(void *)field = json_is_true(v);
        return 0;
    case K_INT:
    case K_SEED:
        if (!json_is_integer(v) || (double)json_integer_value(v) < op->lo ||
            (double)json_integer_value(v) > hi_v) {
            snprintf(rest, sizeof rest, "must be an integer between %s and %s, got %s", lo, hi,
                     got);
            return fail(msg, msg_size, path, op->key, rest);
        }
        if (op->kind == K_SEED)
            *(uint64_t *)(void *)field = (uint64_t)json_integer_value(v);
        else
            *(int *)(void *)field = (int)json_integer_value(v);
        return 0;
    case K_NUM: {
        double d = json_number_value(v);
        if (!json_is_number(v) || !isfinite(d) || d > hi_v || d < op->lo ||
            (op->lo_open && d <= op->lo)) {
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
        const struct opt *op = NULL;
        for (size_t i = 0; i < N_OPTS; i++)
            if (!strcmp(opts[i].key, key)) op = &opts[i];
        if (!op) {
            char k[64];
            json_t *ks = json_string(key);
            cfg_json_describe(ks, k, sizeof k);
            json_decref(ks);
            if (msg_size)
                snprintf(msg, msg_size,
                         "%s has an unknown option %s (known: num_beams, num_return_sequences, "
                         "max_new_tokens, min_length, max_length, length_penalty, "
                         "no_repeat_ngram_size, repetition_penalty, do_sample, temperature, "
                         "top_k, top_p, seed, early_stopping)",
                         path, k);
            return -1;
        }
        if (parse_one(op, v, path, max_output_tokens, out, msg, msg_size)) return -1;
        out->set |= op->bit;
    }
    return 0;
}

void cfg_gen_options_overlay(struct cfg_gen_options *base, const struct cfg_gen_options *top)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (!(top->set & opts[i].bit)) continue;
        size_t sz = opts[i].kind == K_NUM    ? sizeof(double)
                    : opts[i].kind == K_SEED ? sizeof(uint64_t)
                                             : sizeof(int);
        memcpy((char *)base + opts[i].off, (const char *)top + opts[i].off, sz);
        base->set |= opts[i].bit;
    }
}

int cfg_gen_options_check(const struct cfg_gen_options *o, const char *path, char *msg,
                          size_t msg_size)
{
    if ((o->set & CFG_OPT_MAX_LENGTH) && (o->set & CFG_OPT_MAX_NEW_TOKENS)) {
        snprintf(msg, msg_size, "%s.max_length and %s.max_new_tokens mean the same; give one", path,
                 path);
        return -1;
    }
    int max = (o->set & CFG_OPT_MAX_NEW_TOKENS) ? o->max_new_tokens
              : (o->set & CFG_OPT_MAX_LENGTH)   ? o->max_length
                                                : -1;
    if ((o->set & CFG_OPT_MIN_LENGTH) && max >= 0 && o->min_length > max) {
        snprintf(msg, msg_size, "%s.min_length (%d) must not exceed the maximum length (%d)", path,
                 o->min_length, max);
        return -1;
    }
    int sample = (o->set & CFG_OPT_DO_SAMPLE) && o->do_sample;
    int beams = (o->set & CFG_OPT_NUM_BEAMS) ? o->num_beams : 1;
    if ((o->set & CFG_OPT_NUM_RETURN_SEQUENCES) && !sample && o->num_return_sequences > beams) {
        snprintf(msg, msg_size,
                 "%s.num_return_sequences (%d) must not exceed %s.num_beams (%d) unless "
                 "do_sample is true",
                 path, o->num_return_sequences, path, beams);
        return -1;
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
        case K_INT:
            v = json_integer(*(const int *)(const void *)f);
            break;
        case K_SEED:
            v = json_integer((json_int_t) * (const uint64_t *)(const void *)f);
            break;
        case K_NUM:
            v = json_real(*(const double *)(const void *)f);
            break;
        case K_BOOL:
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
