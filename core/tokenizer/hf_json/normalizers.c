/* normalizers.c — tokenizer.json normalizers (Precompiled, Replace, NFC/NFD/NFKC/NFKD,
 * Lowercase, Strip, Prepend; Sequence flattened) over aligned strings, as the Rust library. */
#include "hf_json.h"
#include "txi.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---------------------------------------------------------------------------------------- */
/* Parsing                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* The value of a base64 digit, or -1. */
static int b64_val(int ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

/* Standard base64 (padding optional); returns an owned buffer or NULL when malformed. */
static char *b64_decode(const char *s, size_t n, size_t *out_len)
{
    char *out = malloc(n / 4 * 3 + 3);
    if (!out) return NULL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=') break;
        int v = b64_val((unsigned char)s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    *out_len = o;
    return out;
}

/* A normalizer's own fields from o; *skip: it does nothing and is left out. */
typedef tx_status (*norm_parse_fn)(const struct tok_jctx *c, json_t *o, const char *where,
                                   struct jnorm *n, int *skip);

/* Precompiled: the base64 charsmap (skipped when null or empty). */
static tx_status parse_precompiled(const struct tok_jctx *c, json_t *o, const char *where,
                                   struct jnorm *n, int *skip)
{
    json_t *b = json_object_get(o, "precompiled_charsmap");
    if (json_is_null(b) || (json_is_string(b) && json_string_length(b) == 0)) {
        *skip = 1;
        return TX_OK;
    }
    if (!json_is_string(b))
        return tok_jctx_bad(c, where, "precompiled_charsmap is not a base64 string");
    size_t len;
    n->blob = b64_decode(json_string_value(b), json_string_length(b), &len);
    if (!n->blob) return tok_jctx_bad(c, where, "precompiled_charsmap is not valid base64");
    char what[256];
    snprintf(what, sizeof what, "%s: %s.precompiled_charsmap", c->path, where);
    tx_status st = tok_charsmap_init(&n->cm, n->blob, len, what, c->err);
    if (st) {
        free(n->blob);
        n->blob = NULL;
    }
    return st;
}

/* Replace: a string or " {N,}" pattern and content. */
static tx_status parse_replace(const struct tok_jctx *c, json_t *o, const char *where,
                               struct jnorm *n, int *skip)
{
    (void)skip;
    tx_status st = tok_json_read_pattern(c, o, where, &n->from, &n->from_len, &n->min_spaces);
    if (st) return st;
    json_t *content = json_object_get(o, "content");
    if (!json_is_string(content)) st = tok_jctx_bad(c, where, "Replace without \"content\"");
    if (!st) {
        n->to_len = json_string_length(content);
        n->to = tok_json_strdup(json_string_value(content), n->to_len);
        if (!n->to) st = tok_jctx_oom(c);
    }
    if (st) {
        free(n->from);
        n->from = NULL;
    }
    n->type = n->from ? N_REPLACE : N_REPLACE_SPACES;
    return st;
}

/* Strip: strip_left, strip_right (default true). */
static tx_status parse_strip(const struct tok_jctx *c, json_t *o, const char *where,
                             struct jnorm *n, int *skip)
{
    (void)c, (void)where, (void)skip;
    n->left = !json_is_false(json_object_get(o, "strip_left"));
    n->right = !json_is_false(json_object_get(o, "strip_right"));
    return TX_OK;
}

/* Prepend: the string put before non-empty text. */
static tx_status parse_prepend(const struct tok_jctx *c, json_t *o, const char *where,
                               struct jnorm *n, int *skip)
{
    (void)skip;
    json_t *p = json_object_get(o, "prepend");
    if (!json_is_string(p)) return tok_jctx_bad(c, where, "Prepend without \"prepend\"");
    n->to_len = json_string_length(p);
    n->to = tok_json_strdup(json_string_value(p), n->to_len);
    return n->to ? TX_OK : tok_jctx_oom(c);
}

static const struct norm_kind {
    const char *name;
    int type;
    norm_parse_fn parse; /* NULL: no fields */
} norm_kinds[] = {
    {"Precompiled", N_PRECOMPILED, parse_precompiled},
    {"Replace", N_REPLACE, parse_replace},
    {"NFC", N_NFC, NULL},
    {"NFD", N_NFD, NULL},
    {"NFKC", N_NFKC, NULL},
    {"NFKD", N_NFKD, NULL},
    {"Lowercase", N_LOWERCASE, NULL},
    {"Strip", N_STRIP, parse_strip},
    {"Prepend", N_PREPEND, parse_prepend},
};

/* Sequence: each of "normalizers" in order. */
static tx_status add_sequence(const struct tok_jctx *c, struct tok_json *j, json_t *o,
                              const char *where)
{
    json_t *list = json_object_get(o, "normalizers");
    if (!json_is_array(list)) return tok_jctx_bad(c, where, "Sequence without \"normalizers\"");
    for (size_t i = 0; i < json_array_size(list); i++) {
        char sub[200];
        snprintf(sub, sizeof sub, "%s.normalizers[%zu]", where, i);
        tx_status st = tok_jnorm_add(c, j, json_array_get(list, i), sub);
        if (st) return st;
    }
    return TX_OK;
}

tx_status tok_jnorm_add(const struct tok_jctx *c, struct tok_json *j, json_t *o, const char *where)
{
    const char *t = tok_json_type(o);
    if (!t) return tok_jctx_bad(c, where, "no \"type\"");
    if (!strcmp(t, "Sequence")) return add_sequence(c, j, o, where);
    struct jnorm *nn = realloc(j->norms, (size_t)(j->n_norms + 1) * sizeof *nn);
    if (!nn) return tok_jctx_oom(c);
    j->norms = nn;
    struct jnorm *n = &j->norms[j->n_norms];
    memset(n, 0, sizeof *n);
    for (size_t k = 0; k < sizeof norm_kinds / sizeof norm_kinds[0]; k++) {
        if (strcmp(t, norm_kinds[k].name)) continue;
        int skip = 0;
        n->type = norm_kinds[k].type;
        tx_status st = norm_kinds[k].parse ? norm_kinds[k].parse(c, o, where, n, &skip) : TX_OK;
        if (st || skip) return st;
        j->n_norms++;
        return TX_OK;
    }
    char what[96];
    snprintf(what, sizeof what, "normalizer type \"%.60s\"", t);
    return tok_jctx_unsupported(c, where, what);
}

void tok_jnorm_free(struct jnorm *nm)
{
    free(nm->blob);
    free(nm->from);
    free(nm->to);
}

/* ---------------------------------------------------------------------------------------- */
/* Running                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* Length of the extended grapheme cluster at s (utf8proc's segmentation). */
static size_t grapheme_len(const char *s, size_t n)
{
    utf8proc_int32_t state = 0;
    uint32_t prev;
    int l = txi_utf8_decode(s, n, &prev);
    if (l <= 0) return 1;
    size_t i = (size_t)l;
    while (i < n) {
        uint32_t cp;
        int m = txi_utf8_decode(s + i, n - i, &cp);
        if (m <= 0) break;
        if (utf8proc_grapheme_break_stateful((utf8proc_int32_t)prev, (utf8proc_int32_t)cp, &state))
            break;
        prev = cp;
        i += (size_t)m;
    }
    return i;
}

/* The rule of the shortest prefix of s[0..n) that has one (its length), or 0. */
static size_t cm_first_prefix(const struct tok_charsmap *cm, const char *s, size_t n,
                              const char **rep, size_t *rep_len)
{
    /* shortest match: try growing prefixes through the longest-match search */
    for (size_t k = 1; k <= n; k++) {
        size_t m = tok_charsmap_match(cm, s, k, rep, rep_len);
        if (m) return m;
    }
    return 0;
}

/* Each character of grapheme in[i, i + g) by its own rule, or copied. */
static int precompiled_chars(const struct jnorm *nm, const struct nstr *in, size_t i, size_t g,
                             struct nstr *out)
{
    for (size_t k = i; k < i + g;) {
        const char *rep;
        size_t rl, cl = tok_char_len_at(in->s + k, i + g - k);
        if (cm_first_prefix(&nm->cm, in->s + k, cl, &rep, &rl)) {
            if (tok_ns_put(out, rep, rl, in->ob[k], in->oe[k + cl - 1])) return -1;
        } else if (tok_ns_copy(out, in, k, k + cl)) {
            return -1;
        }
        k += cl;
    }
    return 0;
}

/* Precompiled, as spm_precompiled: a grapheme under 6 bytes is replaced as a whole by the rule
 * of its shortest prefix that has one; otherwise each character by its own rule. */
static int norm_precompiled(const struct jnorm *nm, const struct nstr *in, struct nstr *out)
{
    for (size_t i = 0; i < in->n;) {
        size_t g = grapheme_len(in->s + i, in->n - i);
        const char *rep;
        size_t rl;
        if (g < 6 && cm_first_prefix(&nm->cm, in->s + i, g, &rep, &rl)) {
            uint32_t ob, oe;
            tok_ns_span(in, i, i + g, &ob, &oe);
            if (tok_ns_put(out, rep, rl, ob, oe)) return -1;
        } else if (precompiled_chars(nm, in, i, g, out)) {
            return -1;
        }
        i += g;
    }
    return 0;
}

/* NFC/NFD/NFKC/NFKD, one grapheme at a time (its span kept). */
static int norm_unicode(const struct jnorm *nm, const struct nstr *in, struct nstr *out)
{
    utf8proc_option_t opt = UTF8PROC_STABLE;
    if (nm->type == N_NFC)
        opt |= UTF8PROC_COMPOSE;
    else if (nm->type == N_NFD)
        opt |= UTF8PROC_DECOMPOSE;
    else if (nm->type == N_NFKC)
        opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    else
        opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    for (size_t i = 0; i < in->n;) {
        size_t g = grapheme_len(in->s + i, in->n - i);
        uint32_t ob, oe;
        tok_ns_span(in, i, i + g, &ob, &oe);
        if (g == 1 && (unsigned char)in->s[i] < 0x80) { /* ASCII is its own normal form */
            if (tok_ns_copy(out, in, i, i + 1)) return -1;
        } else {
            utf8proc_uint8_t *dst = NULL;
            utf8proc_ssize_t r =
                utf8proc_map((const utf8proc_uint8_t *)in->s + i, (utf8proc_ssize_t)g, &dst, opt);
            int rc = r < 0 ? tok_ns_copy(out, in, i, i + g)
                           : tok_ns_put(out, (const char *)dst, (size_t)r, ob, oe);
            free(dst);
            if (rc) return -1;
        }
        i += g;
    }
    return 0;
}

/* Lowercase: utf8proc's simple mapping, U+0130 as Rust's full one. */
static int norm_lowercase(const struct jnorm *nm, const struct nstr *in, struct nstr *out)
{
    (void)nm;
    for (size_t i = 0; i < in->n;) {
        uint32_t cp;
        int l = txi_utf8_decode(in->s + i, in->n - i, &cp);
        if (l <= 0) l = 1, cp = (unsigned char)in->s[i];
        char buf[8];
        size_t bl;
        if (cp == 0x130) { /* full lowercase mapping of U+0130: "i" + U+0307 */
            memcpy(buf, "i\xCC\x87", 3);
            bl = 3;
        } else {
            bl = (size_t)txi_utf8_encode((uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), buf);
        }
        if (tok_ns_put(out, buf, bl, in->ob[i], in->oe[i + (size_t)l - 1])) return -1;
        i += (size_t)l;
    }
    return 0;
}

/* Bytes of the match of a Replace at in[i..): the string, or a run of >= min_spaces ' '. */
static size_t replace_match(const struct jnorm *nm, const struct nstr *in, size_t i)
{
    size_t m = 0;
    if (nm->type == N_REPLACE) {
        if (i + nm->from_len <= in->n && !memcmp(in->s + i, nm->from, nm->from_len))
            m = nm->from_len;
    } else {
        while (i + m < in->n && in->s[i + m] == ' ')
            m++;
        if (m < (size_t)nm->min_spaces) m = 0;
    }
    return m;
}

/* Replace: each match becomes the content, spanning what it replaced. */
static int norm_replace(const struct jnorm *nm, const struct nstr *in, struct nstr *out)
{
    for (size_t i = 0; i < in->n;) {
        size_t m = replace_match(nm, in, i);
        if (m) {
            uint32_t ob, oe;
            tok_ns_span(in, i, i + m, &ob, &oe);
            if (tok_ns_put(out, nm->to, nm->to_len, ob, oe)) return -1;
            i += m;
        } else {
            if (tok_ns_copy(out, in, i, i + 1)) return -1;
            i++;
        }
    }
    return 0;
}

/* Strip: White_Space at the left and/or right end. */
static int norm_strip(const struct jnorm *nm, const struct nstr *in, struct nstr *out)
{
    size_t b = 0, e = in->n;
    uint32_t cp;
    int l;
    while (nm->left && b < e && (l = txi_utf8_decode(in->s + b, e - b, &cp)) > 0 &&
           txi_utf8_is_white_space(cp))
        b += (size_t)l;
    while (nm->right && e > b) {
        size_t k = e - 1;
        while (k > b && ((unsigned char)in->s[k] & 0xC0) == 0x80)
            k--;
        if (txi_utf8_decode(in->s + k, e - k, &cp) <= 0 || !txi_utf8_is_white_space(cp)) break;
        e = k;
    }
    return tok_ns_copy(out, in, b, e);
}

/* Prepend: the string before non-empty text, with the empty span of its first byte. */
static int norm_prepend(const struct jnorm *nm, const struct nstr *in, struct nstr *out)
{
    if (in->n > 0) {
        uint32_t ob = in->ob[0];
        if (tok_ns_put(out, nm->to, nm->to_len, ob, ob)) return -1;
    }
    return tok_ns_copy(out, in, 0, in->n);
}

/* The runner of each N_* type, in enum order. */
static int (*const norm_run[])(const struct jnorm *, const struct nstr *, struct nstr *) = {
    [N_PRECOMPILED] = norm_precompiled,
    [N_REPLACE] = norm_replace,
    [N_REPLACE_SPACES] = norm_replace,
    [N_NFC] = norm_unicode,
    [N_NFD] = norm_unicode,
    [N_NFKC] = norm_unicode,
    [N_NFKD] = norm_unicode,
    [N_LOWERCASE] = norm_lowercase,
    [N_STRIP] = norm_strip,
    [N_PREPEND] = norm_prepend,
};

int tok_jnorm_apply(const struct jnorm *nm, const struct nstr *in, struct nstr *out)
{
    out->n = 0;
    if (tok_ns_reserve(out, in->n)) return -1;
    return norm_run[nm->type](nm, in, out);
}
