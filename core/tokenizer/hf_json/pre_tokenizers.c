/* pre_tokenizers.c — tokenizer.json pre-tokenizers (Metaspace, WhitespaceSplit, ByteLevel, the
 * GPT-2 Split; Sequence flattened) cutting aligned strings into pieces, as the Rust library. */
#include "hf_json.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Parsing                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* Metaspace: replacement, add_prefix_space / prepend_scheme, split. */
static tx_status parse_metaspace(const struct tok_jctx *c, json_t *o, const char *where,
                                 struct jpre *p)
{
    p->type = P_METASPACE;
    if (tok_json_read_char(o, "replacement", "\xE2\x96\x81", p->repl, &p->repl_len))
        return tok_jctx_bad(c, where, "replacement must be one character");
    p->add_prefix_space = !json_is_false(json_object_get(o, "add_prefix_space"));
    json_t *ps = json_object_get(o, "prepend_scheme");
    p->prepend_scheme = PREPEND_ALWAYS;
    if (json_is_string(ps)) {
        const char *v = json_string_value(ps);
        if (!strcmp(v, "first"))
            p->prepend_scheme = PREPEND_FIRST;
        else if (!strcmp(v, "never"))
            p->prepend_scheme = PREPEND_NEVER;
        else if (strcmp(v, "always"))
            return tok_jctx_bad(c, where, "unknown prepend_scheme");
    }
    /* tokenizers >= 0.19 write prepend_scheme and "split" instead of add_prefix_space */
    if (!json_object_get(o, "add_prefix_space"))
        p->add_prefix_space = p->prepend_scheme != PREPEND_NEVER;
    p->no_split = json_is_false(json_object_get(o, "split"));
    return TX_OK;
}

/* WhitespaceSplit: no fields. */
static tx_status parse_whitespace_split(const struct tok_jctx *c, json_t *o, const char *where,
                                        struct jpre *p)
{
    (void)c, (void)o, (void)where;
    p->type = P_WHITESPACE_SPLIT;
    return TX_OK;
}

/* ByteLevel: add_prefix_space, use_regex (both default true). */
static tx_status parse_byte_level(const struct tok_jctx *c, json_t *o, const char *where,
                                  struct jpre *p)
{
    (void)c, (void)where;
    p->type = P_BYTE_LEVEL;
    p->add_prefix_space = !json_is_false(json_object_get(o, "add_prefix_space"));
    p->use_regex = !json_is_false(json_object_get(o, "use_regex"));
    return TX_OK;
}

/* Only the GPT-2 pattern, isolated: a ByteLevel without the byte mapping. */
static tx_status parse_split(const struct tok_jctx *c, json_t *o, const char *where, struct jpre *p)
{
    json_t *r = json_object_get(json_object_get(o, "pattern"), "Regex");
    json_t *beh = json_object_get(o, "behavior");
    if (!json_is_string(r) || strcmp(json_string_value(r), GPT2_PATTERN) || !json_is_string(beh) ||
        strcmp(json_string_value(beh), "Isolated") || json_is_true(json_object_get(o, "invert")))
        return tok_jctx_unsupported(c, where, "a Split pre-tokenizer other than the GPT-2 pattern");
    p->type = P_BYTE_LEVEL;
    p->use_regex = 1;
    p->add_prefix_space = -1; /* marks "split only, no byte mapping" */
    return TX_OK;
}

static const struct pre_kind {
    const char *name;
    tx_status (*parse)(const struct tok_jctx *c, json_t *o, const char *where, struct jpre *p);
} pre_kinds[] = {
    {"Metaspace", parse_metaspace},
    {"WhitespaceSplit", parse_whitespace_split},
    {"ByteLevel", parse_byte_level},
    {"Split", parse_split},
};

/* Sequence: each of "pretokenizers" in order. */
static tx_status add_sequence(const struct tok_jctx *c, struct tok_json *j, json_t *o,
                              const char *where)
{
    json_t *list = json_object_get(o, "pretokenizers");
    if (!json_is_array(list)) return tok_jctx_bad(c, where, "Sequence without \"pretokenizers\"");
    for (size_t i = 0; i < json_array_size(list); i++) {
        char sub[200];
        snprintf(sub, sizeof sub, "%s.pretokenizers[%zu]", where, i);
        tx_status st = tok_jpre_add(c, j, json_array_get(list, i), sub);
        if (st) return st;
    }
    return TX_OK;
}

tx_status tok_jpre_add(const struct tok_jctx *c, struct tok_json *j, json_t *o, const char *where)
{
    const char *t = tok_json_type(o);
    if (!t) return tok_jctx_bad(c, where, "no \"type\"");
    if (!strcmp(t, "Sequence")) return add_sequence(c, j, o, where);
    struct jpre *np = realloc(j->pres, (size_t)(j->n_pres + 1) * sizeof *np);
    if (!np) return tok_jctx_oom(c);
    j->pres = np;
    struct jpre *p = &j->pres[j->n_pres];
    memset(p, 0, sizeof *p);
    for (size_t k = 0; k < sizeof pre_kinds / sizeof pre_kinds[0]; k++) {
        if (strcmp(t, pre_kinds[k].name)) continue;
        tx_status st = pre_kinds[k].parse(c, o, where, p);
        if (!st) j->n_pres++;
        return st;
    }
    char what[96];
    snprintf(what, sizeof what, "pre-tokenizer type \"%.60s\"", t);
    return tok_jctx_unsupported(c, where, what);
}

/* ---------------------------------------------------------------------------------------- */
/* Running                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* One pre-tokenizer over piece [b, e) of src, appending to out. -1 on OOM. */
typedef int (*pre_run_fn)(const struct jpre *pt, const struct tok_bpe *byte_chars,
                          const struct nstr *src, size_t b, size_t e, struct pieces *out,
                          int *first_split);

/* Splits on White_Space characters, which are dropped. */
static int pre_whitespace_split(const struct jpre *pt, const struct tok_bpe *byte_chars,
                                const struct nstr *src, size_t b, size_t e, struct pieces *out,
                                int *first_split)
{
    (void)pt, (void)byte_chars, (void)first_split;
    size_t start = out->pool.n;
    if (tok_ns_copy(&out->pool, src, b, e)) return -1;
    size_t run = start;
    for (size_t i = start; i < out->pool.n;) {
        uint32_t cp;
        int l = txi_utf8_decode(out->pool.s + i, out->pool.n - i, &cp);
        if (l <= 0) l = 1, cp = 0;
        if (txi_utf8_is_white_space(cp)) {
            if (tok_pc_add(out, run, i)) return -1;
            run = i + (size_t)l;
        }
        i += (size_t)l;
    }
    return tok_pc_add(out, run, out->pool.n);
}

/* Metaspace's leading replacement (prepend_scheme); the check looks at the text after ' '
 * became the replacement. */
static int metaspace_prefix(const struct jpre *pt, const struct nstr *src, size_t b, size_t e,
                            struct pieces *out, int *first_split)
{
    int starts_with = (e > b && src->s[b] == ' ') ||
                      (e - b >= pt->repl_len && !memcmp(src->s + b, pt->repl, pt->repl_len));
    if (!pt->add_prefix_space || starts_with) {
        *first_split = 0;
        return 0;
    }
    if (pt->prepend_scheme == PREPEND_ALWAYS ||
        (pt->prepend_scheme == PREPEND_FIRST && *first_split)) {
        uint32_t ob, oe;
        tok_ns_span(src, b, b, &ob, &oe);
        if (tok_ns_put(&out->pool, pt->repl, pt->repl_len, ob, ob)) return -1;
    }
    if (pt->prepend_scheme == PREPEND_FIRST) *first_split = 0;
    return 0;
}

/* ' ' -> replacement, maybe a replacement in front, then split before each replacement. */
static int pre_metaspace(const struct jpre *pt, const struct tok_bpe *byte_chars,
                         const struct nstr *src, size_t b, size_t e, struct pieces *out,
                         int *first_split)
{
    (void)byte_chars;
    size_t start = out->pool.n;
    if (metaspace_prefix(pt, src, b, e, out, first_split)) return -1;
    for (size_t i = b; i < e; i++) {
        int rc = src->s[i] == ' '
                     ? tok_ns_put(&out->pool, pt->repl, pt->repl_len, src->ob[i], src->oe[i])
                     : tok_ns_copy(&out->pool, src, i, i + 1);
        if (rc) return -1;
    }
    size_t run = start;
    for (size_t i = start; i < out->pool.n && !pt->no_split;) {
        if (i > run && i + pt->repl_len <= out->pool.n &&
            !memcmp(out->pool.s + i, pt->repl, pt->repl_len)) {
            if (tok_pc_add(out, run, i)) return -1;
            run = i;
        }
        i += tok_char_len_at(out->pool.s + i, out->pool.n - i);
    }
    return tok_pc_add(out, run, out->pool.n);
}

/* One GPT-2 chunk tmp[i, i + m) as a piece: its bytes as byte-level characters (or as they
 * are for the Split variant). */
static int byte_level_chunk(const struct jpre *pt, const struct tok_bpe *byte_chars,
                            const struct nstr *tmp, size_t i, size_t m, struct pieces *out)
{
    size_t start = out->pool.n;
    for (size_t k = i; k < i + m; k++) {
        unsigned char byte = (unsigned char)tmp->s[k];
        int rc = pt->add_prefix_space == -1
                     ? tok_ns_copy(&out->pool, tmp, k, k + 1)
                     : tok_ns_put(&out->pool, byte_chars->byte_char[byte],
                                  byte_chars->byte_char_len[byte], tmp->ob[k], tmp->oe[k]);
        if (rc) return -1;
    }
    return tok_pc_add(out, start, out->pool.n);
}

/* Optional leading space, GPT-2 pattern split, then bytes -> byte characters. */
static int pre_byte_level(const struct jpre *pt, const struct tok_bpe *byte_chars,
                          const struct nstr *src, size_t b, size_t e, struct pieces *out,
                          int *first_split)
{
    (void)first_split;
    struct nstr tmp = {0};
    int rc = 0;
    if (pt->add_prefix_space == 1 && !(e > b && src->s[b] == ' ')) {
        uint32_t ob, oe;
        tok_ns_span(src, b, b, &ob, &oe);
        rc = tok_ns_put(&tmp, " ", 1, ob, ob);
    }
    if (!rc) rc = tok_ns_copy(&tmp, src, b, e);
    for (size_t i = 0; i < tmp.n && !rc;) {
        size_t m = pt->use_regex ? tok_gpt2_pretok_next(tmp.s + i, tmp.n - i) : tmp.n - i;
        rc = byte_level_chunk(pt, byte_chars, &tmp, i, m, out);
        i += m;
    }
    tok_ns_free(&tmp);
    return rc;
}

static const pre_run_fn pre_run[] = {
    [P_METASPACE] = pre_metaspace,
    [P_WHITESPACE_SPLIT] = pre_whitespace_split,
    [P_BYTE_LEVEL] = pre_byte_level,
};

int tok_jpre_apply(const struct jpre *pt, const struct tok_bpe *byte_chars, const struct pieces *in,
                   struct pieces *out, int *first_split)
{
    out->n = 0;
    out->pool.n = 0;
    for (size_t k = 0; k < in->n; k++)
        if (pre_run[pt->type](pt, byte_chars, &in->pool, in->r[k].b, in->r[k].e, out, first_split))
            return -1;
    return 0;
}
