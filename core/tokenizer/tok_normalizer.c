/* tok_normalizer.c — SentencePiece normalization (normalizer.cc of sentencepiece 0.1.97). */
#include "tok_normalizer.h"
#include "txi.h"
#include "utf8.h"

#include <string.h>

#define SPACE_SYMBOL "\xE2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK */
#define MAX_TRIE_RESULTS 32         /* Normalizer::kMaxTrieResultsSize */

tx_status tok_charsmap_init(struct tok_charsmap *cm, const char *blob, size_t size,
                            const char *what, struct tx_error *err)
{
    memset(cm, 0, sizeof *cm);
    if (size <= 4)
        return txi_fail(err, TX_ERR_FORMAT, "%s: precompiled_charsmap of %zu bytes is too short",
                        what, size);
    const unsigned char *u = (const unsigned char *)blob;
    uint32_t trie_size =
        (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
    if (trie_size > size - 4)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: precompiled_charsmap says its trie has %u bytes, the blob has only "
                        "%zu after the header",
                        what, trie_size, size - 4);
    if (trie_size % 4 != 0 || trie_size == 0)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: precompiled_charsmap trie size %u is not a positive multiple of 4",
                        what, trie_size);
    cm->units = u + 4;
    cm->n_units = trie_size / 4;
    cm->norm = blob + 4 + trie_size;
    cm->norm_size = size - 4 - trie_size;
    return TX_OK;
}

static inline uint32_t unit_at(const struct tok_charsmap *cm, size_t i)
{
    const unsigned char *p = cm->units + 4 * i;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Darts-clone DoubleArrayUnit accessors. */
static inline int unit_has_leaf(uint32_t u)
{
    return (u >> 8) & 1;
}
static inline uint32_t unit_value(uint32_t u)
{
    return u & 0x7FFFFFFFu;
}
static inline uint32_t unit_label(uint32_t u)
{
    return u & (0x80000000u | 0xFFu);
}
static inline uint32_t unit_offset(uint32_t u)
{
    return (u >> 10) << ((u & (1u << 9)) >> 6);
}

size_t tok_charsmap_match(const struct tok_charsmap *cm, const char *s, size_t n, const char **rep,
                          size_t *rep_len)
{
    /* DoubleArrayImpl::commonPrefixSearch with an explicit length; NormalizePrefix keeps the
     * longest of the first MAX_TRIE_RESULTS results. */
    size_t best_len = 0;
    uint32_t best_value = 0;
    int n_results = 0;
    size_t node = 0;
    uint32_t unit = unit_at(cm, 0);
    node ^= unit_offset(unit);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        node ^= c;
        if (node >= cm->n_units) break;
        unit = unit_at(cm, node);
        if (unit_label(unit) != c) break;
        node ^= unit_offset(unit);
        if (node >= cm->n_units) break;
        if (unit_has_leaf(unit)) {
            if (n_results < MAX_TRIE_RESULTS) {
                best_len = i + 1; /* results come in increasing length */
                best_value = unit_value(unit_at(cm, node));
            }
            n_results++;
        }
    }
    if (best_len == 0) return 0;
    if (best_value >= cm->norm_size) return 0; /* corrupt offset: treat as no rule */
    const char *r = cm->norm + best_value;
    const char *end = memchr(r, '\0', cm->norm_size - best_value);
    *rep = r;
    *rep_len = end ? (size_t)(end - r) : cm->norm_size - best_value;
    return best_len;
}

/* Normalizer::NormalizePrefix: the normalized form of the longest prefix of in that one rule
 * (or one character) covers; returns the bytes consumed and sets out and out_len. */
static size_t normalize_prefix(const struct tok_normalizer *nm, const char *in, size_t n,
                               const char **out, size_t *out_len)
{
    if (nm->user_symbols && nm->user_symbols->n_keys) {
        size_t m = tok_trie_longest_prefix(nm->user_symbols, in, n, NULL);
        if (m) { /* user-defined symbols are passed through unnormalized */
            *out = in;
            *out_len = m;
            return m;
        }
    }
    if (nm->has_charsmap) {
        size_t m = tok_charsmap_match(&nm->charsmap, in, n, out, out_len);
        if (m) return m;
    }
    uint32_t cp;
    int len = txi_utf8_decode(in, n, &cp);
    if (len == 0) {
        /* Malformed UTF-8: one byte becomes U+FFFD (callers validate, this is for safety). */
        *out = "\xEF\xBF\xBD";
        *out_len = 3;
        return 1;
    }
    *out = in;
    *out_len = (size_t)len;
    return (size_t)len;
}

struct emit {
    struct txi_buf *out;
    uint32_t **n2o;
    size_t *n2o_cap;
};

static int emit_bytes(struct emit *e, const char *p, size_t n, uint32_t orig)
{
    if (e->out->len + n >= UINT32_MAX) return -2;
    if (txi_buf_append(e->out, p, n)) return -1;
    if (txi_grow((void **)e->n2o, e->n2o_cap, e->out->len + 1, sizeof **e->n2o)) return -1;
    for (size_t i = e->out->len - n; i < e->out->len; i++)
        (*e->n2o)[i] = orig;
    return 0;
}

/* Bytes of the leading characters that normalize to exactly one space (dropped). */
static size_t leading_spaces(const struct tok_normalizer *nm, const char *in, size_t len)
{
    size_t consumed = 0;
    while (consumed < len) {
        const char *p;
        size_t pl;
        size_t m = normalize_prefix(nm, in + consumed, len - consumed, &p, &pl);
        if (!(pl == 1 && p[0] == ' ')) break;
        consumed += m;
    }
    return consumed;
}

/* Emits the normalization of each prefix of in[*consumed..len); spaces that follow a piece
 * ending in a space are dropped (remove_extra_whitespaces). 0, -1 on OOM, -2 past 4 GiB. */
static int emit_body(const struct tok_normalizer *nm, const char *in, size_t len, struct emit *e,
                     size_t *consumed)
{
    int rc = 0;
    int is_prev_space = nm->remove_extra_whitespaces;
    while (!rc && *consumed < len) {
        const char *sp;
        size_t sp_len;
        size_t m = normalize_prefix(nm, in + *consumed, len - *consumed, &sp, &sp_len);
        while (is_prev_space && sp_len > 0 && sp[0] == ' ') {
            sp++;
            sp_len--;
        }
        for (size_t i = 0; i < sp_len && !rc; i++) {
            if (nm->escape_whitespaces && sp[i] == ' ')
                rc = emit_bytes(e, SPACE_SYMBOL, 3, (uint32_t)*consumed);
            else
                rc = emit_bytes(e, sp + i, 1, (uint32_t)*consumed);
        }
        if (sp_len > 0) is_prev_space = sp[sp_len - 1] == ' ';
        *consumed += m;
        if (!nm->remove_extra_whitespaces) is_prev_space = 0;
    }
    return rc;
}

/* Trailing space symbols are dropped; the end offset moves back with them. */
static void trim_trailing(struct txi_buf *out, const uint32_t *n2o, const char *space,
                          size_t space_len, size_t *consumed)
{
    while (out->len >= space_len &&
           memcmp(out->data + out->len - space_len, space, space_len) == 0) {
        out->len -= space_len;
        *consumed = n2o[out->len];
    }
    out->data[out->len] = '\0';
}

tx_status tok_normalize(const struct tok_normalizer *nm, const char *in, size_t len,
                        struct txi_buf *out, uint32_t **n2o, size_t *n2o_cap, struct tx_error *err)
{
    struct emit e = {out, n2o, n2o_cap};
    out->len = 0;
    if (txi_grow((void **)n2o, n2o_cap, 1, sizeof **n2o) || txi_buf_reserve(out, 0))
        return txi_fail(err, TX_ERR_NOMEM, "normalizer: out of memory");
    out->data[0] = '\0';
    (*n2o)[0] = 0;
    if (len == 0) return TX_OK;

    const char *space = nm->escape_whitespaces ? SPACE_SYMBOL : " ";
    size_t space_len = nm->escape_whitespaces ? 3 : 1;
    size_t consumed = nm->remove_extra_whitespaces ? leading_spaces(nm, in, len) : 0;
    int rc = 0;
    if (consumed == len) return TX_OK; /* only whitespace */

    if (!nm->treat_whitespace_as_suffix && nm->add_dummy_prefix)
        rc = emit_bytes(&e, space, space_len, (uint32_t)consumed);
    if (!rc) rc = emit_body(nm, in, len, &e, &consumed);
    if (!rc && nm->remove_extra_whitespaces) trim_trailing(out, *n2o, space, space_len, &consumed);
    if (!rc && nm->treat_whitespace_as_suffix && nm->add_dummy_prefix)
        rc = emit_bytes(&e, space, space_len, (uint32_t)consumed);
    if (!rc && txi_grow((void **)n2o, n2o_cap, out->len + 1, sizeof **n2o)) rc = -1;
    if (rc == -2)
        return txi_fail(err, TX_ERR_TOO_LONG, "normalizer: normalized text exceeds 4 GiB");
    if (rc) return txi_fail(err, TX_ERR_NOMEM, "normalizer: out of memory");
    (*n2o)[out->len] = (uint32_t)consumed;
    return TX_OK;
}
