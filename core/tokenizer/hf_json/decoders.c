/* decoders.c — tokenizer.json decoders (Metaspace, ByteLevel, ByteFallback, Fuse, Strip,
 * Replace; Sequence flattened) over lists of token strings, as the Rust library. */
#include "hf_json.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tok_toks_add(struct toks *x, const char *s, size_t n)
{
    if (txi_grow((void **)&x->t, &x->cap, x->n + 1, sizeof *x->t)) return -1;
    x->t[x->n][0] = x->text.len;
    x->t[x->n][1] = n;
    if (txi_buf_append(&x->text, s, n)) return -1;
    x->n++;
    return 0;
}

void tok_toks_free(struct toks *x)
{
    txi_buf_free(&x->text);
    free(x->t);
    memset(x, 0, sizeof *x);
}

/* ---------------------------------------------------------------------------------------- */
/* Parsing                                                                                   */
/* ---------------------------------------------------------------------------------------- */

typedef tx_status (*dec_parse_fn)(const struct tok_jctx *c, json_t *o, const char *where,
                                  struct jdec *d);

/* Metaspace: replacement, add_prefix_space (or prepend_scheme of tokenizers >= 0.19). */
static tx_status parse_metaspace(const struct tok_jctx *c, json_t *o, const char *where,
                                 struct jdec *d)
{
    if (tok_json_read_char(o, "replacement", "\xE2\x96\x81", d->repl, &d->repl_len))
        return tok_jctx_bad(c, where, "replacement must be one character");
    d->add_prefix_space = !json_is_false(json_object_get(o, "add_prefix_space"));
    json_t *ps = json_object_get(o, "prepend_scheme");
    if (!json_object_get(o, "add_prefix_space") && json_is_string(ps))
        d->add_prefix_space = strcmp(json_string_value(ps), "never") != 0;
    return TX_OK;
}

/* Strip: content (one character), start and stop counts. */
static tx_status parse_strip(const struct tok_jctx *c, json_t *o, const char *where, struct jdec *d)
{
    if (tok_json_read_char(o, "content", " ", d->repl, &d->repl_len))
        return tok_jctx_bad(c, where, "content must be one character");
    json_t *a = json_object_get(o, "start"), *b = json_object_get(o, "stop");
    d->start = json_is_integer(a) ? (int)json_integer_value(a) : 0;
    d->stop = json_is_integer(b) ? (int)json_integer_value(b) : 0;
    if (d->start < 0 || d->stop < 0) return tok_jctx_bad(c, where, "negative start/stop");
    return TX_OK;
}

/* Replace: a string pattern (regular expressions are not supported) and content. */
static tx_status parse_replace(const struct tok_jctx *c, json_t *o, const char *where,
                               struct jdec *d)
{
    int spaces;
    tx_status st = tok_json_read_pattern(c, o, where, &d->from, &d->from_len, &spaces);
    if (st) return st;
    if (!d->from)
        return tok_jctx_unsupported(c, where, "a Replace decoder with a regular expression");
    json_t *content = json_object_get(o, "content");
    if (!json_is_string(content)) st = tok_jctx_bad(c, where, "Replace without \"content\"");
    if (!st) {
        d->to_len = json_string_length(content);
        d->to = tok_json_strdup(json_string_value(content), d->to_len);
        if (!d->to) st = tok_jctx_oom(c);
    }
    if (st) {
        free(d->from);
        d->from = NULL;
    }
    return st;
}

static const struct dec_kind {
    const char *name;
    int type;
    dec_parse_fn parse; /* NULL: no fields */
} dec_kinds[] = {
    {"Metaspace", D_METASPACE, parse_metaspace},
    {"ByteLevel", D_BYTE_LEVEL, NULL},
    {"ByteFallback", D_BYTE_FALLBACK, NULL},
    {"Fuse", D_FUSE, NULL},
    {"Strip", D_STRIP, parse_strip},
    {"Replace", D_REPLACE, parse_replace},
};

/* Sequence: each of "decoders" in order. */
static tx_status add_sequence(const struct tok_jctx *c, struct tok_json *j, json_t *o,
                              const char *where)
{
    json_t *list = json_object_get(o, "decoders");
    if (!json_is_array(list)) return tok_jctx_bad(c, where, "Sequence without \"decoders\"");
    for (size_t i = 0; i < json_array_size(list); i++) {
        char sub[200];
        snprintf(sub, sizeof sub, "%s.decoders[%zu]", where, i);
        tx_status st = tok_jdec_add(c, j, json_array_get(list, i), sub);
        if (st) return st;
    }
    return TX_OK;
}

tx_status tok_jdec_add(const struct tok_jctx *c, struct tok_json *j, json_t *o, const char *where)
{
    const char *t = tok_json_type(o);
    if (!t) return tok_jctx_bad(c, where, "no \"type\"");
    if (!strcmp(t, "Sequence")) return add_sequence(c, j, o, where);
    struct jdec *nd = realloc(j->decs, (size_t)(j->n_decs + 1) * sizeof *nd);
    if (!nd) return tok_jctx_oom(c);
    j->decs = nd;
    struct jdec *d = &j->decs[j->n_decs];
    memset(d, 0, sizeof *d);
    for (size_t k = 0; k < sizeof dec_kinds / sizeof dec_kinds[0]; k++) {
        if (strcmp(t, dec_kinds[k].name)) continue;
        d->type = dec_kinds[k].type;
        tx_status st = dec_kinds[k].parse ? dec_kinds[k].parse(c, o, where, d) : TX_OK;
        if (!st) j->n_decs++;
        return st;
    }
    char what[96];
    snprintf(what, sizeof what, "decoder type \"%.60s\"", t);
    return tok_jctx_unsupported(c, where, what);
}

void tok_jdec_free(struct jdec *d)
{
    free(d->from);
    free(d->to);
}

/* ---------------------------------------------------------------------------------------- */
/* Running                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* One decoder from in to out; cur is scratch. -1 on OOM. */
typedef int (*dec_run_fn)(const struct tok_json *j, const struct jdec *d, const struct toks *in,
                          struct toks *out, struct txi_buf *cur);

/* The text of token i of x (borrowed). */
static const char *tok_text(const struct toks *x, size_t i)
{
    return x->text.data + x->t[i][0];
}

/* Fuse: all tokens as one. */
static int dec_fuse(const struct tok_json *j, const struct jdec *d, const struct toks *in,
                    struct toks *out, struct txi_buf *cur)
{
    (void)j, (void)d, (void)cur;
    return tok_toks_add(out, in->text.data ? in->text.data : "", in->text.len);
}

/* Each token with every occurrence of from replaced by to; Metaspace's replacement becomes a
 * space, except at the start of the first token when it added a prefix space. */
static int replace_all(const struct toks *in, size_t i, const char *from, size_t from_len,
                       const char *to, size_t to_len, struct txi_buf *cur)
{
    const char *s = tok_text(in, i);
    size_t n = in->t[i][1];
    int rc = 0;
    cur->len = 0;
    for (size_t k = 0; k < n && !rc;) {
        if (k + from_len <= n && !memcmp(s + k, from, from_len)) {
            rc = txi_buf_append(cur, to, to_len);
            k += from_len;
        } else {
            rc = txi_buf_putc(cur, s[k++]);
        }
    }
    return rc;
}

/* Metaspace: each replacement becomes a space, except in the first token when a prefix
 * space was added. */
static int dec_metaspace(const struct tok_json *j, const struct jdec *d, const struct toks *in,
                         struct toks *out, struct txi_buf *cur)
{
    (void)j;
    int rc = 0;
    for (size_t i = 0; i < in->n && !rc; i++) {
        /* Metaspace drops every replacement of the first token when it added the prefix */
        size_t to_len = i == 0 && d->add_prefix_space ? 0 : 1;
        rc = replace_all(in, i, d->repl, d->repl_len, " ", to_len, cur);
        if (!rc) rc = tok_toks_add(out, cur->data ? cur->data : "", cur->len);
    }
    return rc;
}

/* Replace: every occurrence of from becomes to, token by token. */
static int dec_replace(const struct tok_json *j, const struct jdec *d, const struct toks *in,
                       struct toks *out, struct txi_buf *cur)
{
    (void)j;
    int rc = 0;
    for (size_t i = 0; i < in->n && !rc; i++) {
        rc = replace_all(in, i, d->from, d->from_len, d->to, d->to_len, cur);
        if (!rc) rc = tok_toks_add(out, cur->data ? cur->data : "", cur->len);
    }
    return rc;
}

/* Strip: up to start copies of content from the front, stop from the back of each token. */
static int dec_strip(const struct tok_json *j, const struct jdec *d, const struct toks *in,
                     struct toks *out, struct txi_buf *cur)
{
    (void)j, (void)cur;
    int rc = 0;
    for (size_t i = 0; i < in->n && !rc; i++) {
        const char *s = tok_text(in, i);
        size_t n = in->t[i][1], b = 0, e = n;
        for (int k = 0;
             k < d->start && b + d->repl_len <= e && !memcmp(s + b, d->repl, d->repl_len); k++)
            b += d->repl_len;
        for (int k = 0; k < d->stop && e >= b + d->repl_len &&
                        !memcmp(s + e - d->repl_len, d->repl, d->repl_len);
             k++)
            e -= d->repl_len;
        rc = tok_toks_add(out, s + b, e - b);
    }
    return rc;
}

/* The byte of a <0xNN> piece, or -1. */
static int byte_piece(const char *s, size_t n)
{
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    unsigned v;
    char hex[3] = {s[3], s[4], 0};
    if (!strchr("0123456789abcdefABCDEF", hex[0]) || !strchr("0123456789abcdefABCDEF", hex[1]) ||
        !hex[0] || !hex[1] || sscanf(hex, "%2x", &v) != 1)
        return -1;
    return (int)v;
}

/* ByteFallback: runs of <0xNN> become their UTF-8 text, or one U+FFFD per byte when invalid. */
static int dec_byte_fallback(const struct tok_json *j, const struct jdec *d, const struct toks *in,
                             struct toks *out, struct txi_buf *cur)
{
    (void)j, (void)d;
    int rc = 0;
    for (size_t i = 0; i < in->n && !rc;) {
        if (byte_piece(tok_text(in, i), in->t[i][1]) < 0) {
            rc = tok_toks_add(out, tok_text(in, i), in->t[i][1]);
            i++;
            continue;
        }
        cur->len = 0;
        int b;
        while (!rc && i < in->n && (b = byte_piece(tok_text(in, i), in->t[i][1])) >= 0) {
            rc = txi_buf_putc(cur, (char)b);
            i++;
        }
        if (rc) break;
        if (txi_utf8_validate(cur->data, cur->len) == cur->len)
            rc = tok_toks_add(out, cur->data, cur->len);
        else
            for (size_t q = 0; q < cur->len && !rc; q++)
                rc = tok_toks_add(out, "\xEF\xBF\xBD", 3);
    }
    return rc;
}

/* Does every character of s[0..n) belong to the byte-level alphabet? */
static int all_byte_chars(const struct tok_bpe *bytes, const char *s, size_t n)
{
    int all = 1;
    for (size_t k = 0; k < n && all;) {
        uint32_t cp;
        int l = txi_utf8_decode(s + k, n - k, &cp);
        all = l > 0 && cp < 512 && bytes->char_byte[cp] >= 0;
        k += l > 0 ? (size_t)l : 1;
    }
    return all;
}

/* String::from_utf8_lossy of s[0..n) appended to out. */
static int append_lossy(const char *s, size_t n, struct txi_buf *out)
{
    int rc = 0;
    for (size_t k = 0; k < n && !rc;) {
        uint32_t cp;
        int l = txi_utf8_decode_replace(s + k, n - k, &cp);
        rc = cp == 0xFFFD && !(l == 3 && !memcmp(s + k, "\xEF\xBF\xBD", 3))
                 ? txi_buf_append(out, "\xEF\xBF\xBD", 3)
                 : txi_buf_append(out, s + k, (size_t)l);
        k += (size_t)l;
    }
    return rc;
}

/* ByteLevel: every token whose characters are all byte-level ones becomes those bytes, others
 * stay as they are; then String::from_utf8_lossy of the whole, as one token. */
static int dec_byte_level(const struct tok_json *j, const struct jdec *d, const struct toks *in,
                          struct toks *out, struct txi_buf *cur)
{
    (void)d;
    int rc = 0;
    for (size_t i = 0; i < in->n && !rc; i++) {
        const char *s = tok_text(in, i);
        size_t n = in->t[i][1];
        rc = all_byte_chars(&j->bytes, s, n) ? tok_bpe_unbyte(&j->bytes, s, n, cur)
                                             : txi_buf_append(cur, s, n);
    }
    struct txi_buf lossy = {0};
    if (!rc) rc = append_lossy(cur->data, cur->len, &lossy);
    if (!rc) rc = tok_toks_add(out, lossy.data ? lossy.data : "", lossy.len);
    txi_buf_free(&lossy);
    return rc;
}

static const dec_run_fn dec_run[] = {
    [D_METASPACE] = dec_metaspace, [D_BYTE_LEVEL] = dec_byte_level,
    [D_REPLACE] = dec_replace,     [D_BYTE_FALLBACK] = dec_byte_fallback,
    [D_FUSE] = dec_fuse,           [D_STRIP] = dec_strip,
};

int tok_jdec_apply(const struct tok_json *j, const struct jdec *d, const struct toks *in,
                   struct toks *out)
{
    out->n = 0;
    out->text.len = 0;
    struct txi_buf cur = {0};
    int rc = dec_run[d->type](j, d, in, out, &cur);
    txi_buf_free(&cur);
    return rc;
}
