/* tok_json.c — tokenizer.json (the Hugging Face tokenizers format): Unigram and BPE models with
 * the normalizers, pre-tokenizers, post-processors and decoders that T5-, Marian- and BART-like
 * exports use, following the Rust tokenizers library (0.15). */
#include "tok_api.h"
#include "tok_trie.h"
#include "tok_unigram.h"
#include "txi.h"
#include "utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define MAX_JSON_BYTES ((size_t)1 << 30)

enum {
    N_PRECOMPILED,
    N_REPLACE,
    N_REPLACE_SPACES,
    N_NFC,
    N_NFD,
    N_NFKC,
    N_NFKD,
    N_LOWERCASE,
    N_STRIP,
    N_PREPEND
};
enum { P_METASPACE, P_WHITESPACE_SPLIT, P_BYTE_LEVEL };
enum { D_METASPACE, D_BYTE_LEVEL, D_REPLACE, D_BYTE_FALLBACK, D_FUSE, D_STRIP };
enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };
enum { M_UNIGRAM, M_BPE };

struct jnorm {
    int type;
    char *blob; /* Precompiled: the decoded charsmap (owned) */
    struct tok_charsmap cm;
    char *from, *to; /* Replace / Prepend */
    size_t from_len, to_len;
    int min_spaces;  /* N_REPLACE_SPACES: runs of at least this many ' ' */
    int left, right; /* Strip */
};

struct jpre {
    int type;
    char repl[5];
    size_t repl_len;
    int add_prefix_space;
    int prepend_scheme;
    int use_regex;
    int no_split; /* Metaspace "split": false */
};

struct jdec {
    int type;
    char repl[5]; /* Metaspace replacement / Strip content */
    size_t repl_len;
    int add_prefix_space;
    char *from, *to; /* Replace */
    size_t from_len, to_len;
    int start, stop; /* Strip */
};

struct tok_json {
    struct jnorm *norms;
    int n_norms;
    struct jpre *pres;
    int n_pres;
    struct jdec *decs;
    int n_decs, has_decoder;
    int model;
    struct tok_added raw_added, norm_added;
    /* Unigram */
    struct tok_trie trie;
    double *scores;
    struct tok_unigram uni;
    int byte_fallback;
    int32_t byte_id[256];
    struct tok_bpe bytes; /* only its byte-level alphabet tables (ByteLevel pre-tokenizer) */
    /* BPE */
    struct tok_bpe bpe;
    int32_t bpe_unk_sym;
    char *cont_prefix, *eow_suffix;
    int fuse_unk;
    int32_t bpe_unk_id;
    /* post-processor */
    int32_t *pre_ids, *post_ids;
    int n_pre, n_post;
};

/* ---------------------------------------------------------------------------------------- */
/* Loading                                                                                   */
/* ---------------------------------------------------------------------------------------- */

struct ctx {
    const char *path;
    struct tx_error *err;
};

static tx_status unsupported(struct ctx *c, const char *where, const char *what)
{
    return txi_fail(c->err, TX_ERR_UNSUPPORTED, "%s: %s: %s is not supported", c->path, where,
                    what);
}

static tx_status bad(struct ctx *c, const char *where, const char *what)
{
    return txi_fail(c->err, TX_ERR_FORMAT, "%s: %s: %s", c->path, where, what);
}

static tx_status oom(struct ctx *c)
{
    return txi_fail(c->err, TX_ERR_NOMEM, "%s: out of memory", c->path);
}

static const char *type_of(json_t *o)
{
    json_t *t = json_object_get(o, "type");
    return json_is_string(t) ? json_string_value(t) : NULL;
}

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

/* A one-character string field (Metaspace replacement, Strip content). */
static int read_char(json_t *o, const char *key, const char *def, char out[5], size_t *len)
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

/* Replace's pattern: {"String": s} or {"Regex": r}; only the regexes " {N,}" (runs of spaces,
 * what transformers' SentencePiece converters write) are understood. */
static tx_status read_pattern(struct ctx *c, json_t *o, const char *where, char **str, size_t *len,
                              int *min_spaces)
{
    json_t *p = json_object_get(o, "pattern");
    json_t *s = json_object_get(p, "String"), *r = json_object_get(p, "Regex");
    *str = NULL;
    *min_spaces = 0;
    if (json_is_string(s)) {
        *len = json_string_length(s);
        if (*len == 0) return bad(c, where, "empty Replace pattern");
        *str = malloc(*len + 1);
        if (!*str) return oom(c);
        memcpy(*str, json_string_value(s), *len + 1);
        return TX_OK;
    }
    if (json_is_string(r)) {
        int n;
        char tail[4];
        if (sscanf(json_string_value(r), " {%d,}%3s", &n, tail) == 1 && n >= 1 && n < 1000 &&
            json_string_value(r)[0] == ' ') {
            *min_spaces = n;
            return TX_OK;
        }
        char what[160];
        snprintf(what, sizeof what, "the regular expression \"%.80s\"", json_string_value(r));
        return unsupported(c, where, what);
    }
    return bad(c, where, "pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

static tx_status add_norm(struct ctx *c, struct tok_json *j, json_t *o, const char *where)
{
    const char *t = type_of(o);
    if (!t) return bad(c, where, "no \"type\"");
    if (!strcmp(t, "Sequence")) {
        json_t *list = json_object_get(o, "normalizers");
        if (!json_is_array(list)) return bad(c, where, "Sequence without \"normalizers\"");
        for (size_t i = 0; i < json_array_size(list); i++) {
            char sub[200];
            snprintf(sub, sizeof sub, "%s.normalizers[%zu]", where, i);
            tx_status st = add_norm(c, j, json_array_get(list, i), sub);
            if (st) return st;
        }
        return TX_OK;
    }
    struct jnorm *nn = realloc(j->norms, (size_t)(j->n_norms + 1) * sizeof *nn);
    if (!nn) return oom(c);
    j->norms = nn;
    struct jnorm *n = &j->norms[j->n_norms];
    memset(n, 0, sizeof *n);
    tx_status st = TX_OK;
    if (!strcmp(t, "Precompiled")) {
        json_t *b = json_object_get(o, "precompiled_charsmap");
        if (json_is_null(b) || (json_is_string(b) && json_string_length(b) == 0)) return TX_OK;
        if (!json_is_string(b)) return bad(c, where, "precompiled_charsmap is not a base64 string");
        size_t len;
        n->blob = b64_decode(json_string_value(b), json_string_length(b), &len);
        if (!n->blob) return bad(c, where, "precompiled_charsmap is not valid base64");
        char what[256];
        snprintf(what, sizeof what, "%s: %s.precompiled_charsmap", c->path, where);
        st = tok_charsmap_init(&n->cm, n->blob, len, what, c->err);
        if (st) {
            free(n->blob);
            return st;
        }
        n->type = N_PRECOMPILED;
    } else if (!strcmp(t, "Replace")) {
        st = read_pattern(c, o, where, &n->from, &n->from_len, &n->min_spaces);
        if (st) return st;
        json_t *content = json_object_get(o, "content");
        if (!json_is_string(content)) {
            free(n->from);
            return bad(c, where, "Replace without \"content\"");
        }
        n->to_len = json_string_length(content);
        n->to = malloc(n->to_len + 1);
        if (!n->to) {
            free(n->from);
            return oom(c);
        }
        memcpy(n->to, json_string_value(content), n->to_len + 1);
        n->type = n->from ? N_REPLACE : N_REPLACE_SPACES;
    } else if (!strcmp(t, "NFC"))
        n->type = N_NFC;
    else if (!strcmp(t, "NFD"))
        n->type = N_NFD;
    else if (!strcmp(t, "NFKC"))
        n->type = N_NFKC;
    else if (!strcmp(t, "NFKD"))
        n->type = N_NFKD;
    else if (!strcmp(t, "Lowercase"))
        n->type = N_LOWERCASE;
    else if (!strcmp(t, "Strip")) {
        n->type = N_STRIP;
        n->left = !json_is_false(json_object_get(o, "strip_left"));
        n->right = !json_is_false(json_object_get(o, "strip_right"));
    } else if (!strcmp(t, "Prepend")) {
        json_t *p = json_object_get(o, "prepend");
        if (!json_is_string(p)) return bad(c, where, "Prepend without \"prepend\"");
        n->to_len = json_string_length(p);
        n->to = malloc(n->to_len + 1);
        if (!n->to) return oom(c);
        memcpy(n->to, json_string_value(p), n->to_len + 1);
        n->type = N_PREPEND;
    } else {
        char what[96];
        snprintf(what, sizeof what, "normalizer type \"%.60s\"", t);
        return unsupported(c, where, what);
    }
    j->n_norms++;
    return TX_OK;
}

static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static tx_status add_pre(struct ctx *c, struct tok_json *j, json_t *o, const char *where)
{
    const char *t = type_of(o);
    if (!t) return bad(c, where, "no \"type\"");
    if (!strcmp(t, "Sequence")) {
        json_t *list = json_object_get(o, "pretokenizers");
        if (!json_is_array(list)) return bad(c, where, "Sequence without \"pretokenizers\"");
        for (size_t i = 0; i < json_array_size(list); i++) {
            char sub[200];
            snprintf(sub, sizeof sub, "%s.pretokenizers[%zu]", where, i);
            tx_status st = add_pre(c, j, json_array_get(list, i), sub);
            if (st) return st;
        }
        return TX_OK;
    }
    struct jpre *np = realloc(j->pres, (size_t)(j->n_pres + 1) * sizeof *np);
    if (!np) return oom(c);
    j->pres = np;
    struct jpre *p = &j->pres[j->n_pres];
    memset(p, 0, sizeof *p);
    if (!strcmp(t, "Metaspace")) {
        p->type = P_METASPACE;
        if (read_char(o, "replacement", "\xE2\x96\x81", p->repl, &p->repl_len))
            return bad(c, where, "replacement must be one character");
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
                return bad(c, where, "unknown prepend_scheme");
        }
        /* tokenizers >= 0.19 write prepend_scheme and "split" instead of add_prefix_space */
        if (!json_object_get(o, "add_prefix_space"))
            p->add_prefix_space = p->prepend_scheme != PREPEND_NEVER;
        p->no_split = json_is_false(json_object_get(o, "split"));
    } else if (!strcmp(t, "WhitespaceSplit")) {
        p->type = P_WHITESPACE_SPLIT;
    } else if (!strcmp(t, "ByteLevel")) {
        p->type = P_BYTE_LEVEL;
        p->add_prefix_space = !json_is_false(json_object_get(o, "add_prefix_space"));
        p->use_regex = !json_is_false(json_object_get(o, "use_regex"));
    } else if (!strcmp(t, "Split")) {
        /* only the GPT-2 pattern, isolated, as a ByteLevel without the byte mapping */
        json_t *r = json_object_get(json_object_get(o, "pattern"), "Regex");
        json_t *beh = json_object_get(o, "behavior");
        if (!json_is_string(r) || strcmp(json_string_value(r), GPT2_PATTERN) ||
            !json_is_string(beh) || strcmp(json_string_value(beh), "Isolated") ||
            json_is_true(json_object_get(o, "invert")))
            return unsupported(c, where, "a Split pre-tokenizer other than the GPT-2 pattern");
        p->type = P_BYTE_LEVEL;
        p->use_regex = 1;
        p->add_prefix_space = -1; /* marks "split only, no byte mapping" */
    } else {
        char what[96];
        snprintf(what, sizeof what, "pre-tokenizer type \"%.60s\"", t);
        return unsupported(c, where, what);
    }
    j->n_pres++;
    return TX_OK;
}

static tx_status add_dec(struct ctx *c, struct tok_json *j, json_t *o, const char *where)
{
    const char *t = type_of(o);
    if (!t) return bad(c, where, "no \"type\"");
    if (!strcmp(t, "Sequence")) {
        json_t *list = json_object_get(o, "decoders");
        if (!json_is_array(list)) return bad(c, where, "Sequence without \"decoders\"");
        for (size_t i = 0; i < json_array_size(list); i++) {
            char sub[200];
            snprintf(sub, sizeof sub, "%s.decoders[%zu]", where, i);
            tx_status st = add_dec(c, j, json_array_get(list, i), sub);
            if (st) return st;
        }
        return TX_OK;
    }
    struct jdec *nd = realloc(j->decs, (size_t)(j->n_decs + 1) * sizeof *nd);
    if (!nd) return oom(c);
    j->decs = nd;
    struct jdec *d = &j->decs[j->n_decs];
    memset(d, 0, sizeof *d);
    if (!strcmp(t, "Metaspace")) {
        d->type = D_METASPACE;
        if (read_char(o, "replacement", "\xE2\x96\x81", d->repl, &d->repl_len))
            return bad(c, where, "replacement must be one character");
        d->add_prefix_space = !json_is_false(json_object_get(o, "add_prefix_space"));
        json_t *ps = json_object_get(o, "prepend_scheme");
        if (!json_object_get(o, "add_prefix_space") && json_is_string(ps))
            d->add_prefix_space = strcmp(json_string_value(ps), "never") != 0;
    } else if (!strcmp(t, "ByteLevel")) {
        d->type = D_BYTE_LEVEL;
    } else if (!strcmp(t, "ByteFallback")) {
        d->type = D_BYTE_FALLBACK;
    } else if (!strcmp(t, "Fuse")) {
        d->type = D_FUSE;
    } else if (!strcmp(t, "Strip")) {
        d->type = D_STRIP;
        if (read_char(o, "content", " ", d->repl, &d->repl_len))
            return bad(c, where, "content must be one character");
        json_t *a = json_object_get(o, "start"), *b = json_object_get(o, "stop");
        d->start = json_is_integer(a) ? (int)json_integer_value(a) : 0;
        d->stop = json_is_integer(b) ? (int)json_integer_value(b) : 0;
        if (d->start < 0 || d->stop < 0) return bad(c, where, "negative start/stop");
    } else if (!strcmp(t, "Replace")) {
        int spaces;
        tx_status st = read_pattern(c, o, where, &d->from, &d->from_len, &spaces);
        if (st) return st;
        if (!d->from) return unsupported(c, where, "a Replace decoder with a regular expression");
        json_t *content = json_object_get(o, "content");
        if (!json_is_string(content)) {
            free(d->from);
            return bad(c, where, "Replace without \"content\"");
        }
        d->to_len = json_string_length(content);
        d->to = malloc(d->to_len + 1);
        if (!d->to) {
            free(d->from);
            return oom(c);
        }
        memcpy(d->to, json_string_value(content), d->to_len + 1);
        d->type = D_REPLACE;
    } else {
        char what[96];
        snprintf(what, sizeof what, "decoder type \"%.60s\"", t);
        return unsupported(c, where, what);
    }
    j->n_decs++;
    return TX_OK;
}

static int32_t model_token_id(const struct tok_json *j, const char *s, size_t n)
{
    int32_t id;
    if (j->model == M_UNIGRAM) return tok_trie_get(&j->trie, s, n);
    return txi_strmap_get(&j->bpe.vocab, s, n, &id) ? id : -1;
}

static tx_status load_unigram(struct ctx *c, struct tx_tokenizer *tok, struct tok_json *j,
                              json_t *m)
{
    json_t *vocab = json_object_get(m, "vocab");
    if (!json_is_array(vocab))
        return bad(c, "model.vocab", "Unigram vocab must be a list of [piece, score]");
    size_t n = json_array_size(vocab);
    if (n == 0 || n >= INT32_MAX) return bad(c, "model.vocab", "empty or too large");
    struct tok_trie_key *keys = malloc(n * sizeof *keys);
    j->scores = malloc(n * sizeof *j->scores);
    if (!keys || !j->scores || tok_alloc_ids(tok, (int32_t)n)) {
        free(keys);
        return oom(c);
    }
    j->uni.min_score64 = 1e300;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(vocab, i);
        json_t *p = json_array_get(e, 0), *s = json_array_get(e, 1);
        if (!json_is_string(p) || !json_is_number(s) || json_string_length(p) == 0) {
            free(keys);
            char where[64];
            snprintf(where, sizeof where, "model.vocab[%zu]", i);
            return bad(c, where, "expected [non-empty piece, score]");
        }
        keys[i] = (struct tok_trie_key){json_string_value(p), json_string_length(p), (int32_t)i};
        j->scores[i] = json_number_value(s);
        if (j->scores[i] < j->uni.min_score64) j->uni.min_score64 = j->scores[i];
        if (tok_set_piece(tok, (int32_t)i, json_string_value(p), json_string_length(p))) {
            free(keys);
            return oom(c);
        }
    }
    tx_status st = tok_trie_build(&j->trie, keys, n);
    free(keys);
    if (st) return oom(c);
    json_t *unk = json_object_get(m, "unk_id");
    j->uni.unk_id = json_is_integer(unk) ? (int32_t)json_integer_value(unk) : -1;
    if (j->uni.unk_id >= (int32_t)n) return bad(c, "model.unk_id", "outside the vocabulary");
    j->uni.trie = &j->trie;
    j->uni.scores64 = j->scores;
    j->uni.n_pieces = (int32_t)n;
    j->byte_fallback = json_is_true(json_object_get(m, "byte_fallback"));
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        j->byte_id[b] = tok_trie_get(&j->trie, name, 6);
    }
    tok->unk_id = j->uni.unk_id;
    return TX_OK;
}

static tx_status load_bpe(struct ctx *c, struct tx_tokenizer *tok, struct tok_json *j, json_t *m)
{
    json_t *vocab = json_object_get(m, "vocab"), *merges = json_object_get(m, "merges");
    if (!json_is_object(vocab) || !json_is_array(merges))
        return bad(c, "model", "BPE needs a \"vocab\" object and a \"merges\" list");
    if (json_is_number(json_object_get(m, "dropout")) &&
        json_number_value(json_object_get(m, "dropout")) > 0)
        return unsupported(c, "model.dropout", "BPE dropout (not deterministic)");
    const char *key;
    json_t *v;
    int32_t max_id = -1;
    json_object_foreach(vocab, key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= INT32_MAX) {
            char where[128];
            snprintf(where, sizeof where, "model.vocab[\"%.60s\"]", key);
            return bad(c, where, "id is not an integer in [0, 2^31)");
        }
        int32_t id = (int32_t)json_integer_value(v);
        if (txi_strmap_put(&j->bpe.vocab, key, strlen(key), id, 1)) return oom(c);
        if (tok_bpe_symbol(&j->bpe, key, strlen(key)) < 0) return oom(c);
        if (id > max_id) max_id = id;
    }
    j->bpe.max_id = max_id;
    j->bpe.rust_order = 1;
    for (size_t i = 0; i < json_array_size(merges); i++) {
        json_t *e = json_array_get(merges, i);
        const char *l, *r;
        size_t ll, rl;
        char where[64];
        snprintf(where, sizeof where, "model.merges[%zu]", i);
        if (json_is_string(e)) { /* "left right" */
            const char *s = json_string_value(e);
            const char *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' ')) return bad(c, where, "expected \"left right\"");
            l = s, ll = (size_t)(sp - s), r = sp + 1, rl = strlen(sp + 1);
        } else if (json_is_array(e) && json_array_size(e) == 2 &&
                   json_is_string(json_array_get(e, 0)) && json_is_string(json_array_get(e, 1))) {
            l = json_string_value(json_array_get(e, 0));
            ll = json_string_length(json_array_get(e, 0));
            r = json_string_value(json_array_get(e, 1));
            rl = json_string_length(json_array_get(e, 1));
        } else {
            return bad(c, where, "expected \"left right\" or [left, right]");
        }
        int32_t id;
        char *cat = malloc(ll + rl + 1);
        if (!cat) return oom(c);
        memcpy(cat, l, ll);
        memcpy(cat + ll, r, rl);
        int ok = txi_strmap_get(&j->bpe.vocab, l, ll, &id) &&
                 txi_strmap_get(&j->bpe.vocab, r, rl, &id) &&
                 txi_strmap_get(&j->bpe.vocab, cat, ll + rl, &id);
        free(cat);
        if (!ok) return bad(c, where, "a merge part or its result is not in the vocabulary");
        if (tok_bpe_add_merge(&j->bpe, l, ll, r, rl, (int32_t)i)) return oom(c);
    }
    if (tok_bpe_finish(&j->bpe)) return oom(c);
    if (tok_alloc_ids(tok, max_id + 1)) return oom(c);
    for (size_t i = 0; i < j->bpe.vocab.n; i++) {
        const struct txi_strmap_entry *e = &j->bpe.vocab.entries[i];
        if (tok_set_piece(tok, e->value, txi_strmap_key(&j->bpe.vocab, i), e->len)) return oom(c);
    }
    json_t *unk = json_object_get(m, "unk_token");
    j->bpe_unk_id = -1;
    if (json_is_string(unk)) {
        int32_t id;
        if (!txi_strmap_get(&j->bpe.vocab, json_string_value(unk), json_string_length(unk), &id))
            return bad(c, "model.unk_token", "not in the vocabulary");
        j->bpe_unk_id = id;
        tok->unk_id = id;
        txi_strmap_get(&j->bpe.syms, json_string_value(unk), json_string_length(unk),
                       &j->bpe_unk_sym);
    }
    json_t *cp = json_object_get(m, "continuing_subword_prefix"),
           *ew = json_object_get(m, "end_of_word_suffix");
    if (json_is_string(cp) && json_string_length(cp) > 0 &&
        !(j->cont_prefix = strdup(json_string_value(cp))))
        return oom(c);
    if (json_is_string(ew) && json_string_length(ew) > 0 &&
        !(j->eow_suffix = strdup(json_string_value(ew))))
        return oom(c);
    j->fuse_unk = json_is_true(json_object_get(m, "fuse_unk"));
    j->byte_fallback = json_is_true(json_object_get(m, "byte_fallback"));
    for (int b = 0; b < 256; b++) {
        char name[8];
        int32_t id;
        snprintf(name, sizeof name, "<0x%02X>", b);
        j->byte_id[b] = txi_strmap_get(&j->bpe.vocab, name, 6, &id) ? id : -1;
    }
    return TX_OK;
}

/* Post-processors: the special tokens around a single sequence. */
static tx_status load_post(struct ctx *c, struct tok_json *j, json_t *o, const char *where)
{
    const char *t = type_of(o);
    if (!t) return bad(c, where, "no \"type\"");
    if (!strcmp(t, "Sequence")) {
        json_t *list = json_object_get(o, "processors");
        for (size_t i = 0; i < json_array_size(list); i++) {
            char sub[200];
            snprintf(sub, sizeof sub, "%s.processors[%zu]", where, i);
            tx_status st = load_post(c, j, json_array_get(list, i), sub);
            if (st) return st;
        }
        return TX_OK;
    }
    if (!strcmp(t, "ByteLevel")) return TX_OK; /* offsets trimming only */
    if (!strcmp(t, "RobertaProcessing") || !strcmp(t, "BertProcessing")) {
        json_t *cls = json_object_get(o, "cls"), *sep = json_object_get(o, "sep");
        if (!json_is_integer(json_array_get(cls, 1)) || !json_is_integer(json_array_get(sep, 1)))
            return bad(c, where, "cls/sep must be [token, id]");
        free(j->pre_ids);
        free(j->post_ids);
        j->pre_ids = malloc(sizeof *j->pre_ids);
        j->post_ids = malloc(sizeof *j->post_ids);
        if (!j->pre_ids || !j->post_ids) return oom(c);
        j->pre_ids[0] = (int32_t)json_integer_value(json_array_get(cls, 1));
        j->post_ids[0] = (int32_t)json_integer_value(json_array_get(sep, 1));
        j->n_pre = j->n_post = 1;
        return TX_OK;
    }
    if (!strcmp(t, "TemplateProcessing")) {
        json_t *single = json_object_get(o, "single"),
               *specials = json_object_get(o, "special_tokens");
        if (!json_is_array(single)) return bad(c, where, "TemplateProcessing without \"single\"");
        int seen_seq = 0;
        for (size_t i = 0; i < json_array_size(single); i++) {
            json_t *piece = json_array_get(single, i);
            json_t *sp = json_object_get(piece, "SpecialToken");
            if (json_object_get(piece, "Sequence")) {
                seen_seq = 1;
                continue;
            }
            if (!sp) return bad(c, where, "template piece is neither Sequence nor SpecialToken");
            json_t *name = json_object_get(sp, "id");
            json_t *entry =
                json_is_string(name) ? json_object_get(specials, json_string_value(name)) : NULL;
            json_t *ids = json_object_get(entry, "ids");
            if (!json_is_array(ids))
                return bad(c, where, "special token missing from special_tokens");
            for (size_t k = 0; k < json_array_size(ids); k++) {
                int32_t **arr = seen_seq ? &j->post_ids : &j->pre_ids;
                int *cnt = seen_seq ? &j->n_post : &j->n_pre;
                int32_t *na = realloc(*arr, (size_t)(*cnt + 1) * sizeof **arr);
                if (!na) return oom(c);
                *arr = na;
                na[(*cnt)++] = (int32_t)json_integer_value(json_array_get(ids, k));
            }
        }
        return TX_OK;
    }
    char what[96];
    snprintf(what, sizeof what, "post-processor type \"%.60s\"", t);
    return unsupported(c, where, what);
}

static tx_status load_added(struct ctx *c, struct tx_tokenizer *tok, struct tok_json *j,
                            json_t *list)
{
    if (!list || json_is_null(list)) return TX_OK;
    if (!json_is_array(list)) return bad(c, "added_tokens", "not a list");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *a = json_array_get(list, i);
        json_t *id = json_object_get(a, "id"), *content = json_object_get(a, "content");
        char where[64];
        snprintf(where, sizeof where, "added_tokens[%zu]", i);
        if (!json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) >= INT32_MAX || !json_is_string(content) ||
            json_string_length(content) == 0)
            return bad(c, where, "needs an integer id and a non-empty content");
        int normalized = json_is_true(json_object_get(a, "normalized"));
        struct tok_added *dst = normalized ? &j->norm_added : &j->raw_added;
        int special = json_is_true(json_object_get(a, "special"));
        if (tok_added_add(dst, json_string_value(content), json_string_length(content),
                          (int32_t)json_integer_value(id),
                          json_is_true(json_object_get(a, "lstrip")),
                          json_is_true(json_object_get(a, "rstrip")),
                          json_is_true(json_object_get(a, "single_word")), special))
            return oom(c);
        /* also in the tokenizer's own list, for id -> piece and special flags */
        if (tok_added_add(&tok->added, json_string_value(content), json_string_length(content),
                          (int32_t)json_integer_value(id), 0, 0, 0, special))
            return oom(c);
    }
    if (tok_added_finish(&j->raw_added) || tok_added_finish(&j->norm_added)) return oom(c);
    return TX_OK;
}

tx_status tok_json_load(struct tx_tokenizer *tok, const char *path, const char *config_path,
                        struct tx_error *err)
{
    struct ctx c = {path, err};
    json_error_t je;
    json_t *root = NULL, *cfg = NULL;
    char *text = NULL;
    size_t size;
    tx_status st = txi_read_file(path, MAX_JSON_BYTES, &text, &size, err);
    if (st) return st;
    root = json_loadb(text, size, 0, &je);
    free(text);
    if (!root)
        return txi_fail(err, TX_ERR_FORMAT, "%s: line %d column %d: %s", path, je.line, je.column,
                        je.text);
    struct tok_json *j = calloc(1, sizeof *j);
    if (!j) {
        json_decref(root);
        return oom(&c);
    }
    tok->json = j;
    j->bpe_unk_id = -1;
    if (tok_bpe_init_byte_level(&j->bytes)) {
        st = oom(&c);
        goto done;
    }

    json_t *model = json_object_get(root, "model");
    if (!json_is_object(model)) {
        st = bad(&c, "model", "missing");
        goto done;
    }
    const char *mt = type_of(model);
    if (!mt)
        mt = json_is_array(json_object_get(model, "vocab")) ? "Unigram"
             : json_object_get(model, "merges")             ? "BPE"
                                                            : "?";
    if (!strcmp(mt, "Unigram")) {
        j->model = M_UNIGRAM;
        st = load_unigram(&c, tok, j, model);
    } else if (!strcmp(mt, "BPE")) {
        j->model = M_BPE;
        st = load_bpe(&c, tok, j, model);
    } else {
        char what[96];
        snprintf(what, sizeof what, "model type \"%.60s\"", mt);
        st = unsupported(&c, "model.type", what);
    }
    if (st) goto done;
    json_t *o;
    if ((o = json_object_get(root, "normalizer")) && !json_is_null(o) &&
        (st = add_norm(&c, j, o, "normalizer")))
        goto done;
    if ((o = json_object_get(root, "pre_tokenizer")) && !json_is_null(o) &&
        (st = add_pre(&c, j, o, "pre_tokenizer")))
        goto done;
    if ((o = json_object_get(root, "decoder")) && !json_is_null(o)) {
        j->has_decoder = 1;
        if ((st = add_dec(&c, j, o, "decoder"))) goto done;
    }
    if ((o = json_object_get(root, "post_processor")) && !json_is_null(o) &&
        (st = load_post(&c, j, o, "post_processor")))
        goto done;
    st = load_added(&c, tok, j, json_object_get(root, "added_tokens"));
    if (st) goto done;

    /* Ids of added tokens may lie past the model's vocabulary: grow the per-id tables. */
    int32_t n_ids = tok->n_ids;
    for (int i = 0; i < tok->added.n; i++)
        if (tok->added.tokens[i].id >= n_ids) n_ids = tok->added.tokens[i].id + 1;
    for (int k = 0; k < j->n_pre + j->n_post; k++) {
        int32_t id = k < j->n_pre ? j->pre_ids[k] : j->post_ids[k - j->n_pre];
        if (id < 0 || id >= n_ids) {
            st = bad(&c, "post_processor", "a special token id lies outside the vocabulary");
            goto done;
        }
    }
    if (n_ids > tok->n_ids && tok_grow_ids(tok, n_ids)) {
        st = oom(&c);
        goto done;
    }
    if (tok_added_finish(&tok->added)) {
        st = oom(&c);
        goto done;
    }
    for (int i = 0; i < tok->added.n; i++) {
        const struct tok_added_token *t = &tok->added.tokens[i];
        tok->added_of_id[t->id] = i;
        if (t->special) tok->special[t->id] = 1;
        if (tok_set_piece(tok, t->id, t->content, t->len)) {
            st = oom(&c);
            goto done;
        }
    }
    tok->vocab_size = tok->n_ids;

    /* tokenizer_config.json names the special tokens; fall back to the usual strings. */
    st = TX_OK;
    if (config_path && txi_file_exists(config_path)) {
        cfg = json_load_file(config_path, 0, &je);
        if (!cfg) {
            st = txi_fail(err, TX_ERR_FORMAT, "%s: line %d column %d: %s", config_path, je.line,
                          je.column, je.text);
            goto done;
        }
    }
    static const char *const keys[4] = {"eos_token", "pad_token", "bos_token", "unk_token"};
    static const char *const defs[4] = {"</s>", "<pad>", "<s>", "<unk>"};
    int32_t *dst[4] = {&tok->eos_id, &tok->pad_id, &tok->bos_id, &tok->unk_id};
    for (int k = 0; k < 4; k++) {
        json_t *v = cfg ? json_object_get(cfg, keys[k]) : NULL;
        if (json_is_object(v)) v = json_object_get(v, "content");
        const char *name = json_is_string(v) ? json_string_value(v) : defs[k];
        int a = tok_added_find(&tok->added, name, strlen(name));
        int32_t id = a >= 0 ? tok->added.tokens[a].id : model_token_id(j, name, strlen(name));
        if (id >= 0 || json_is_string(v)) *dst[k] = id;
    }
    if (cfg) {
        json_t *cu = json_object_get(cfg, "clean_up_tokenization_spaces");
        if (json_is_boolean(cu)) tok->clean_up = json_is_true(cu);
    }
    for (int k = 0; k < j->n_decs; k++)
        if (j->decs[k].type == D_BYTE_LEVEL) tok->byte_level_display = 1;
    if (tok->byte_level_display && tok_bpe_init_byte_level(&tok->bpe) == 0) tok->has_bpe = 1;
done:
    json_decref(root);
    json_decref(cfg);
    return st;
}

void tok_json_free(struct tok_json *j)
{
    if (!j) return;
    for (int i = 0; i < j->n_norms; i++) {
        free(j->norms[i].blob);
        free(j->norms[i].from);
        free(j->norms[i].to);
    }
    free(j->norms);
    free(j->pres);
    for (int i = 0; i < j->n_decs; i++) {
        free(j->decs[i].from);
        free(j->decs[i].to);
    }
    free(j->decs);
    tok_added_free(&j->raw_added);
    tok_added_free(&j->norm_added);
    tok_trie_free(&j->trie);
    free(j->scores);
    tok_bpe_free(&j->bpe);
    tok_bpe_free(&j->bytes);
    free(j->cont_prefix);
    free(j->eow_suffix);
    free(j->pre_ids);
    free(j->post_ids);
    free(j);
}

/* ---------------------------------------------------------------------------------------- */
/* Aligned strings                                                                           */
/* ---------------------------------------------------------------------------------------- */

/* A string whose every byte knows the original span [ob, oe) it came from. */
struct nstr {
    char *s;
    uint32_t *ob, *oe;
    size_t n, cap;
};

static int ns_reserve(struct nstr *x, size_t extra)
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

static int ns_put(struct nstr *x, const char *p, size_t n, uint32_t ob, uint32_t oe)
{
    if (ns_reserve(x, n)) return -1;
    memcpy(x->s + x->n, p, n);
    for (size_t i = 0; i < n; i++) {
        x->ob[x->n + i] = ob;
        x->oe[x->n + i] = oe;
    }
    x->n += n;
    x->s[x->n] = '\0';
    return 0;
}

/* Copies bytes [b, e) of src with their spans. */
static int ns_copy(struct nstr *x, const struct nstr *src, size_t b, size_t e)
{
    if (e <= b) return ns_reserve(x, 0);
    if (ns_reserve(x, e - b)) return -1;
    memcpy(x->s + x->n, src->s + b, e - b);
    memcpy(x->ob + x->n, src->ob + b, (e - b) * sizeof *x->ob);
    memcpy(x->oe + x->n, src->oe + b, (e - b) * sizeof *x->oe);
    x->n += e - b;
    x->s[x->n] = '\0';
    return 0;
}

static void ns_free(struct nstr *x)
{
    free(x->s);
    free(x->ob);
    free(x->oe);
    memset(x, 0, sizeof *x);
}

/* Span of src bytes [b, e); an empty range is the empty span where it stands. */
static void ns_span(const struct nstr *x, size_t b, size_t e, uint32_t *ob, uint32_t *oe)
{
    if (e > b) {
        *ob = x->ob[b];
        *oe = x->oe[e - 1];
        if (*oe < *ob) *oe = *ob;
    } else {
        *ob = *oe = b < x->n ? x->ob[b] : (x->n ? x->oe[x->n - 1] : 0);
    }
}

static size_t char_len_at(const char *s, size_t n)
{
    size_t l = (size_t)txi_utf8_lead_len((unsigned char)s[0]);
    return l < n ? l : n;
}

/* ---------------------------------------------------------------------------------------- */
/* Normalizers                                                                               */
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

/* Precompiled, as spm_precompiled: a grapheme under 6 bytes is replaced as a whole by the rule
 * of its shortest prefix that has one; otherwise each character by its own rule. */
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

static int norm_precompiled(const struct jnorm *nm, const struct nstr *in, struct nstr *out)
{
    for (size_t i = 0; i < in->n;) {
        size_t g = grapheme_len(in->s + i, in->n - i);
        const char *rep;
        size_t rl;
        if (g < 6 && cm_first_prefix(&nm->cm, in->s + i, g, &rep, &rl)) {
            uint32_t ob, oe;
            ns_span(in, i, i + g, &ob, &oe);
            if (ns_put(out, rep, rl, ob, oe)) return -1;
        } else {
            for (size_t k = i; k < i + g;) {
                size_t cl = char_len_at(in->s + k, i + g - k);
                if (cm_first_prefix(&nm->cm, in->s + k, cl, &rep, &rl)) {
                    if (ns_put(out, rep, rl, in->ob[k], in->oe[k + cl - 1])) return -1;
                } else if (ns_copy(out, in, k, k + cl)) {
                    return -1;
                }
                k += cl;
            }
        }
        i += g;
    }
    return 0;
}

static int norm_unicode(int type, const struct nstr *in, struct nstr *out)
{
    utf8proc_option_t opt = UTF8PROC_STABLE;
    if (type == N_NFC)
        opt |= UTF8PROC_COMPOSE;
    else if (type == N_NFD)
        opt |= UTF8PROC_DECOMPOSE;
    else if (type == N_NFKC)
        opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    else
        opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    for (size_t i = 0; i < in->n;) {
        size_t g = grapheme_len(in->s + i, in->n - i);
        uint32_t ob, oe;
        ns_span(in, i, i + g, &ob, &oe);
        if (g == 1 && (unsigned char)in->s[i] < 0x80) { /* ASCII is its own normal form */
            if (ns_copy(out, in, i, i + 1)) return -1;
        } else {
            utf8proc_uint8_t *dst = NULL;
            utf8proc_ssize_t r =
                utf8proc_map((const utf8proc_uint8_t *)in->s + i, (utf8proc_ssize_t)g, &dst, opt);
            int rc = r < 0 ? ns_copy(out, in, i, i + g)
                           : ns_put(out, (const char *)dst, (size_t)r, ob, oe);
            free(dst);
            if (rc) return -1;
        }
        i += g;
    }
    return 0;
}

static int norm_lowercase(const struct nstr *in, struct nstr *out)
{
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
        if (ns_put(out, buf, bl, in->ob[i], in->oe[i + (size_t)l - 1])) return -1;
        i += (size_t)l;
    }
    return 0;
}

static int apply_norm(const struct jnorm *nm, const struct nstr *in, struct nstr *out)
{
    out->n = 0;
    if (ns_reserve(out, in->n)) return -1;
    switch (nm->type) {
    case N_PRECOMPILED:
        return norm_precompiled(nm, in, out);
    case N_NFC:
    case N_NFD:
    case N_NFKC:
    case N_NFKD:
        return norm_unicode(nm->type, in, out);
    case N_LOWERCASE:
        return norm_lowercase(in, out);
    case N_REPLACE:
    case N_REPLACE_SPACES:
        for (size_t i = 0; i < in->n;) {
            size_t m = 0;
            if (nm->type == N_REPLACE) {
                if (i + nm->from_len <= in->n && !memcmp(in->s + i, nm->from, nm->from_len))
                    m = nm->from_len;
            } else {
                while (i + m < in->n && in->s[i + m] == ' ')
                    m++;
                if (m < (size_t)nm->min_spaces) m = 0;
            }
            if (m) {
                uint32_t ob, oe;
                ns_span(in, i, i + m, &ob, &oe);
                if (ns_put(out, nm->to, nm->to_len, ob, oe)) return -1;
                i += m;
            } else {
                if (ns_copy(out, in, i, i + 1)) return -1;
                i++;
            }
        }
        return 0;
    case N_STRIP: {
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
        return ns_copy(out, in, b, e);
    }
    case N_PREPEND:
        if (in->n > 0) {
            uint32_t ob = in->ob[0];
            if (ns_put(out, nm->to, nm->to_len, ob, ob)) return -1;
        }
        return ns_copy(out, in, 0, in->n);
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Pre-tokenized state: pieces (byte ranges) of one aligned pool. */
struct pieces {
    struct nstr pool;
    struct range {
        size_t b, e;
    } * r;
    size_t n, cap;
};

static int pc_add(struct pieces *p, size_t b, size_t e)
{
    if (e <= b) return 0; /* empty splits are dropped */
    if (txi_grow((void **)&p->r, &p->cap, p->n + 1, sizeof *p->r)) return -1;
    p->r[p->n].b = b;
    p->r[p->n].e = e;
    p->n++;
    return 0;
}

static void pc_free(struct pieces *p)
{
    ns_free(&p->pool);
    free(p->r);
    memset(p, 0, sizeof *p);
}

struct jscratch {
    struct nstr a, b;
    struct pieces p, q;
    struct tok_split split;
    struct tok_unigram_scratch uni;
    struct tok_bpe_scratch bpe;
    int32_t *syms;
    uint32_t *sym_len;
    size_t syms_cap, sym_len_cap;
    int first_split;
};

static int pre_tokenize_one(const struct jpre *pt, const struct tok_bpe *byte_chars,
                            const struct pieces *in, struct pieces *out, int *first_split)
{
    out->n = 0;
    out->pool.n = 0;
    for (size_t k = 0; k < in->n; k++) {
        size_t b = in->r[k].b, e = in->r[k].e;
        const struct nstr *src = &in->pool;
        switch (pt->type) {
        case P_WHITESPACE_SPLIT: {
            size_t start = out->pool.n;
            if (ns_copy(&out->pool, src, b, e)) return -1;
            size_t run = start;
            for (size_t i = start; i < out->pool.n;) {
                uint32_t cp;
                int l = txi_utf8_decode(out->pool.s + i, out->pool.n - i, &cp);
                if (l <= 0) l = 1, cp = 0;
                if (txi_utf8_is_white_space(cp)) {
                    if (pc_add(out, run, i)) return -1;
                    run = i + (size_t)l;
                }
                i += (size_t)l;
            }
            if (pc_add(out, run, out->pool.n)) return -1;
            break;
        }
        case P_METASPACE: {
            /* ' ' -> replacement, maybe a replacement in front, then split before each one */
            size_t start = out->pool.n;
            /* (the check looks at the text after ' ' became the replacement) */
            int starts_with =
                (e > b && src->s[b] == ' ') ||
                (e - b >= pt->repl_len && !memcmp(src->s + b, pt->repl, pt->repl_len));
            if (pt->add_prefix_space && !starts_with) {
                if (pt->prepend_scheme == PREPEND_ALWAYS ||
                    (pt->prepend_scheme == PREPEND_FIRST && *first_split)) {
                    uint32_t ob, oe;
                    ns_span(src, b, b, &ob, &oe);
                    if (ns_put(&out->pool, pt->repl, pt->repl_len, ob, ob)) return -1;
                }
                if (pt->prepend_scheme == PREPEND_FIRST) *first_split = 0;
            } else {
                *first_split = 0;
            }
            for (size_t i = b; i < e; i++) {
                if (src->s[i] == ' ') {
                    if (ns_put(&out->pool, pt->repl, pt->repl_len, src->ob[i], src->oe[i]))
                        return -1;
                } else if (ns_copy(&out->pool, src, i, i + 1)) {
                    return -1;
                }
            }
            size_t run = start;
            for (size_t i = start; i < out->pool.n && !pt->no_split;) {
                if (i > run && i + pt->repl_len <= out->pool.n &&
                    !memcmp(out->pool.s + i, pt->repl, pt->repl_len)) {
                    if (pc_add(out, run, i)) return -1;
                    run = i;
                }
                i += char_len_at(out->pool.s + i, out->pool.n - i);
            }
            if (pc_add(out, run, out->pool.n)) return -1;
            break;
        }
        case P_BYTE_LEVEL: {
            /* optional leading space, GPT-2 pattern split, then bytes -> byte characters */
            struct nstr tmp = {0};
            if (pt->add_prefix_space == 1 && !(e > b && src->s[b] == ' ')) {
                uint32_t ob, oe;
                ns_span(src, b, b, &ob, &oe);
                if (ns_put(&tmp, " ", 1, ob, ob)) {
                    ns_free(&tmp);
                    return -1;
                }
            }
            if (ns_copy(&tmp, src, b, e)) {
                ns_free(&tmp);
                return -1;
            }
            for (size_t i = 0; i < tmp.n;) {
                size_t m = pt->use_regex ? tok_gpt2_pretok_next(tmp.s + i, tmp.n - i) : tmp.n - i;
                size_t start = out->pool.n;
                for (size_t k2 = i; k2 < i + m; k2++) {
                    unsigned char byte = (unsigned char)tmp.s[k2];
                    int rc = pt->add_prefix_space == -1
                                 ? ns_copy(&out->pool, &tmp, k2, k2 + 1)
                                 : ns_put(&out->pool, byte_chars->byte_char[byte],
                                          byte_chars->byte_char_len[byte], tmp.ob[k2], tmp.oe[k2]);
                    if (rc) {
                        ns_free(&tmp);
                        return -1;
                    }
                }
                if (pc_add(out, start, out->pool.n)) {
                    ns_free(&tmp);
                    return -1;
                }
                i += m;
            }
            ns_free(&tmp);
            break;
        }
        }
    }
    return 0;
}

struct ids_out {
    int32_t **ids;
    uint32_t **offs;
    size_t *n, *cap;
};

static int push_id(struct ids_out *o, int32_t id, uint32_t ob, uint32_t oe)
{
    if (*o->n + 1 > *o->cap) {
        size_t cap = *o->cap ? *o->cap * 2 : 64;
        int32_t *ids = realloc(*o->ids, cap * sizeof *ids);
        if (!ids) return -1;
        *o->ids = ids;
        uint32_t *offs = realloc(*o->offs, cap * 2 * sizeof *offs);
        if (!offs) return -1;
        *o->offs = offs;
        *o->cap = cap;
    }
    (*o->ids)[*o->n] = id;
    (*o->offs)[2 * *o->n] = ob;
    (*o->offs)[2 * *o->n + 1] = oe;
    (*o->n)++;
    return 0;
}

/* Unigram::tokenize of one pre-token (pool bytes [b, e)). */
static tx_status model_unigram(const struct tok_json *j, const struct nstr *x, size_t b, size_t e,
                               struct jscratch *sc, struct ids_out *o, struct tx_error *err)
{
    tx_status st = tok_unigram_encode(&j->uni, x->s + b, e - b, &sc->uni, err);
    if (st) return st;
    /* fuse runs of unknown pieces, then look each string up (byte fallback for unknown ones) */
    for (size_t k = 0; k < sc->uni.n_segs;) {
        size_t s0 = sc->uni.segs[k].begin, s1 = sc->uni.segs[k].end;
        int32_t id = sc->uni.segs[k].id;
        size_t k2 = k + 1;
        if (id == j->uni.unk_id) {
            while (k2 < sc->uni.n_segs && sc->uni.segs[k2].id == j->uni.unk_id)
                s1 = sc->uni.segs[k2++].end;
            id = tok_trie_get(&j->trie, x->s + b + s0, s1 - s0);
        }
        uint32_t ob, oe;
        ns_span(x, b + s0, b + s1, &ob, &oe);
        if (id < 0) {
            int all = j->byte_fallback;
            for (size_t q = s0; all && q < s1; q++)
                all = j->byte_id[(unsigned char)x->s[b + q]] >= 0;
            if (all) {
                for (size_t q = s0; q < s1; q++)
                    if (push_id(o, j->byte_id[(unsigned char)x->s[b + q]], ob, oe)) goto nomem;
                k = k2;
                continue;
            }
            if (j->uni.unk_id < 0)
                return txi_fail(err, TX_ERR_INVALID,
                                "tokenizer.json: text has characters the "
                                "Unigram model does not know and it has no unk_id");
            id = j->uni.unk_id;
        }
        if (push_id(o, id, ob, oe)) goto nomem;
        k = k2;
    }
    return TX_OK;
nomem:
    return txi_fail(err, TX_ERR_NOMEM, "out of memory");
}

/* BPE::tokenize of one pre-token, as the Rust model: characters (with the subword prefix /
 * word suffix) looked up in the vocabulary, unknown ones as bytes or (fused) unk, then merges by
 * (rank, position). */
static tx_status model_bpe(const struct tok_json *j, const struct nstr *x, size_t b, size_t e,
                           struct jscratch *sc, struct ids_out *o, struct tx_error *err)
{
    size_t n_sym = 0;
    int32_t unk_pending = -1;
    size_t unk_len = 0;
    struct txi_buf tmp = {0};
    /* sym_len[k]: bytes of the piece symbol k covers; syms hold symbol indices of tok_bpe */
    for (size_t i = b; i < e;) {
        size_t cl = char_len_at(x->s + i, e - i);
        tmp.len = 0;
        if (i > b && j->cont_prefix && txi_buf_append(&tmp, j->cont_prefix, strlen(j->cont_prefix)))
            goto nomem;
        if (txi_buf_append(&tmp, x->s + i, cl)) goto nomem;
        if (i + cl >= e && j->eow_suffix &&
            txi_buf_append(&tmp, j->eow_suffix, strlen(j->eow_suffix)))
            goto nomem;
        int32_t id, sym = -1;
        int known = txi_strmap_get(&j->bpe.vocab, tmp.data, tmp.len, &id);
        if (known) txi_strmap_get(&j->bpe.syms, tmp.data, tmp.len, &sym);
        if (txi_grow((void **)&sc->syms, &sc->syms_cap, n_sym + cl + 2, sizeof *sc->syms) ||
            txi_grow((void **)&sc->sym_len, &sc->sym_len_cap, n_sym + cl + 2, sizeof *sc->sym_len))
            goto nomem;
        if (known) {
            if (unk_pending >= 0) {
                sc->syms[n_sym] = unk_pending;
                sc->sym_len[n_sym++] = (uint32_t)unk_len;
                unk_pending = -1;
            }
            sc->syms[n_sym] = sym;
            sc->sym_len[n_sym++] = (uint32_t)cl;
        } else {
            int all = j->byte_fallback;
            for (size_t q = 0; all && q < tmp.len; q++)
                all = j->byte_id[(unsigned char)tmp.data[q]] >= 0;
            if (all) {
                for (size_t q = 0; q < tmp.len; q++) {
                    char name[8];
                    snprintf(name, sizeof name, "<0x%02X>", (unsigned)(unsigned char)tmp.data[q]);
                    txi_strmap_get(&j->bpe.syms, name, 6, &sym);
                    if (txi_grow((void **)&sc->syms, &sc->syms_cap, n_sym + 2, sizeof *sc->syms) ||
                        txi_grow((void **)&sc->sym_len, &sc->sym_len_cap, n_sym + 2,
                                 sizeof *sc->sym_len))
                        goto nomem;
                    sc->syms[n_sym] = sym;
                    sc->sym_len[n_sym++] = q == 0 ? (uint32_t)cl : 0;
                }
            } else if (j->bpe_unk_id >= 0) {
                int32_t usym = j->bpe_unk_sym;
                if (unk_pending >= 0 && j->fuse_unk) {
                    unk_len += cl;
                } else {
                    if (unk_pending >= 0) {
                        sc->syms[n_sym] = unk_pending;
                        sc->sym_len[n_sym++] = (uint32_t)unk_len;
                    }
                    unk_pending = usym;
                    unk_len = cl;
                }
            }
            /* no unk token: the character is dropped, as the Rust model does */
        }
        i += cl;
    }
    if (unk_pending >= 0) {
        sc->syms[n_sym] = unk_pending;
        sc->sym_len[n_sym++] = (uint32_t)unk_len;
    }
    txi_buf_free(&tmp);
    if (tok_bpe_merge(&j->bpe, &sc->bpe, sc->syms, n_sym))
        return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    /* byte offset of each initial symbol */
    size_t *start = malloc((n_sym + 1) * sizeof *start);
    if (!start) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    start[0] = b;
    for (size_t k = 0; k < n_sym; k++)
        start[k + 1] = start[k] + sc->sym_len[k];
    for (size_t k = 0; k < sc->bpe.n_out; k++) {
        const struct tok_bpe_out *r = &sc->bpe.out[k];
        int32_t id = j->bpe.sym_id[r->sym];
        uint32_t ob, oe;
        ns_span(x, start[r->start], start[r->end], &ob, &oe);
        if (id < 0 || push_id(o, id, ob, oe)) {
            free(start);
            return id < 0 ? txi_fail(err, TX_ERR_FORMAT,
                                     "tokenizer.json: BPE produced a token "
                                     "outside the vocabulary")
                          : txi_fail(err, TX_ERR_NOMEM, "out of memory");
        }
    }
    free(start);
    return TX_OK;
nomem:
    txi_buf_free(&tmp);
    return txi_fail(err, TX_ERR_NOMEM, "out of memory");
}

/* Normalized text piece: second added-token pass, pre-tokenization, model. */
static tx_status encode_text(const struct tx_tokenizer *tok, const struct nstr *x,
                             struct jscratch *sc, struct ids_out *o, struct tx_error *err)
{
    const struct tok_json *j = tok->json;
    tx_status st = tok_added_split_fast(&j->norm_added, x->s, x->n, &sc->split, err);
    if (st) return st;
    /* the split works on a copy; copy the segment list because the pools are reused below */
    size_t n_seg = sc->split.n_segs;
    struct tok_segment *segs = malloc((n_seg ? n_seg : 1) * sizeof *segs);
    if (!segs) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    if (n_seg) memcpy(segs, sc->split.segs, n_seg * sizeof *segs);
    for (size_t s = 0; s < n_seg && !st; s++) {
        size_t b = segs[s].pos, e = segs[s].pos + segs[s].len;
        if (segs[s].added >= 0) {
            uint32_t ob, oe;
            ns_span(x, b, e, &ob, &oe);
            if (push_id(o, j->norm_added.tokens[segs[s].added].id, ob, oe)) st = TX_ERR_NOMEM;
            continue;
        }
        sc->p.n = 0;
        sc->p.pool.n = 0;
        if (ns_copy(&sc->p.pool, x, b, e) || pc_add(&sc->p, 0, e - b)) {
            st = TX_ERR_NOMEM;
            break;
        }
        for (int k = 0; k < j->n_pres; k++) {
            if (pre_tokenize_one(&j->pres[k], &j->bytes, &sc->p, &sc->q, &sc->first_split)) {
                st = TX_ERR_NOMEM;
                break;
            }
            struct pieces t = sc->p;
            sc->p = sc->q;
            sc->q = t;
        }
        if (st) break;
        for (size_t k = 0; k < sc->p.n && !st; k++) {
            if (j->model == M_UNIGRAM)
                st = model_unigram(j, &sc->p.pool, sc->p.r[k].b, sc->p.r[k].e, sc, o, err);
            else
                st = model_bpe(j, &sc->p.pool, sc->p.r[k].b, sc->p.r[k].e, sc, o, err);
        }
    }
    free(segs);
    if (st == TX_ERR_NOMEM) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    return st;
}

tx_status tok_json_encode(const struct tx_tokenizer *tok, const char *text, size_t len,
                          int32_t **ids, uint32_t **offs, size_t *n, size_t *cap,
                          struct tx_error *err)
{
    const struct tok_json *j = tok->json;
    struct ids_out o = {ids, offs, n, cap};
    struct jscratch sc;
    memset(&sc, 0, sizeof sc);
    sc.first_split = 1;
    struct tok_split raw = {0};
    tx_status st = TX_OK;
    for (int k = 0; k < j->n_pre; k++)
        if (push_id(&o, j->pre_ids[k], 0, 0)) goto nomem;
    /* 1. non-normalized added tokens on the raw text */
    st = tok_added_split_fast(&j->raw_added, text, len, &raw, err);
    if (st) goto done;
    for (size_t s = 0; s < raw.n_segs; s++) {
        const struct tok_segment *g = &raw.segs[s];
        if (g->added >= 0) {
            if (push_id(&o, j->raw_added.tokens[g->added].id, g->ob, g->oe)) goto nomem;
            continue;
        }
        /* 2. normalize this piece (each byte keeps its character's original span) */
        sc.a.n = 0;
        for (size_t i = g->pos; i < g->pos + g->len;) {
            size_t cl = char_len_at(raw.bytes + i, g->pos + g->len - i);
            if (ns_put(&sc.a, raw.bytes + i, cl, raw.off[i], raw.off[i] + (uint32_t)cl)) goto nomem;
            i += cl;
        }
        for (int k = 0; k < j->n_norms; k++) {
            if (apply_norm(&j->norms[k], &sc.a, &sc.b)) goto nomem;
            struct nstr t = sc.a;
            sc.a = sc.b;
            sc.b = t;
        }
        st = encode_text(tok, &sc.a, &sc, &o, err);
        if (st) goto done;
    }
    for (int k = 0; k < j->n_post; k++)
        if (push_id(&o, j->post_ids[k], (uint32_t)len, (uint32_t)len)) goto nomem;
    goto done;
nomem:
    st = txi_fail(err, TX_ERR_NOMEM, "out of memory encoding %zu bytes", len);
done:
    tok_split_free(&raw);
    ns_free(&sc.a);
    ns_free(&sc.b);
    pc_free(&sc.p);
    pc_free(&sc.q);
    tok_split_free(&sc.split);
    tok_unigram_scratch_free(&sc.uni);
    tok_bpe_scratch_free(&sc.bpe);
    free(sc.syms);
    free(sc.sym_len);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Token strings of a decoder chain: one txi_buf of NUL-free text plus (start, len) pairs. */
struct toks {
    struct txi_buf text;
    size_t (*t)[2];
    size_t n, cap;
};

static int toks_add(struct toks *x, const char *s, size_t n)
{
    if (txi_grow((void **)&x->t, &x->cap, x->n + 1, sizeof *x->t)) return -1;
    x->t[x->n][0] = x->text.len;
    x->t[x->n][1] = n;
    if (txi_buf_append(&x->text, s, n)) return -1;
    x->n++;
    return 0;
}

static void toks_free(struct toks *x)
{
    txi_buf_free(&x->text);
    free(x->t);
    memset(x, 0, sizeof *x);
}

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

static int apply_dec(const struct tx_tokenizer *tok, const struct jdec *d, const struct toks *in,
                     struct toks *out)
{
    out->n = 0;
    out->text.len = 0;
    struct txi_buf cur = {0};
    int rc = 0;
    switch (d->type) {
    case D_FUSE:
        rc = toks_add(out, in->text.data ? in->text.data : "", in->text.len);
        break;
    case D_METASPACE:
        for (size_t i = 0; i < in->n && !rc; i++) {
            const char *s = in->text.data + in->t[i][0];
            size_t n = in->t[i][1];
            cur.len = 0;
            for (size_t k = 0; k < n && !rc;) {
                if (k + d->repl_len <= n && !memcmp(s + k, d->repl, d->repl_len)) {
                    if (!(i == 0 && d->add_prefix_space)) rc = txi_buf_putc(&cur, ' ');
                    k += d->repl_len;
                } else {
                    rc = txi_buf_putc(&cur, s[k++]);
                }
            }
            if (!rc) rc = toks_add(out, cur.data ? cur.data : "", cur.len);
        }
        break;
    case D_REPLACE:
        for (size_t i = 0; i < in->n && !rc; i++) {
            const char *s = in->text.data + in->t[i][0];
            size_t n = in->t[i][1];
            cur.len = 0;
            for (size_t k = 0; k < n && !rc;) {
                if (k + d->from_len <= n && !memcmp(s + k, d->from, d->from_len)) {
                    rc = txi_buf_append(&cur, d->to, d->to_len);
                    k += d->from_len;
                } else {
                    rc = txi_buf_putc(&cur, s[k++]);
                }
            }
            if (!rc) rc = toks_add(out, cur.data ? cur.data : "", cur.len);
        }
        break;
    case D_STRIP:
        for (size_t i = 0; i < in->n && !rc; i++) {
            const char *s = in->text.data + in->t[i][0];
            size_t n = in->t[i][1], b = 0, e = n;
            for (int k = 0;
                 k < d->start && b + d->repl_len <= e && !memcmp(s + b, d->repl, d->repl_len); k++)
                b += d->repl_len;
            for (int k = 0; k < d->stop && e >= b + d->repl_len &&
                            !memcmp(s + e - d->repl_len, d->repl, d->repl_len);
                 k++)
                e -= d->repl_len;
            rc = toks_add(out, s + b, e - b);
        }
        break;
    case D_BYTE_FALLBACK: {
        /* runs of <0xNN> become their UTF-8 text, or one U+FFFD per byte when invalid */
        for (size_t i = 0; i < in->n && !rc;) {
            const char *s = in->text.data + in->t[i][0];
            if (byte_piece(s, in->t[i][1]) < 0) {
                rc = toks_add(out, s, in->t[i][1]);
                i++;
                continue;
            }
            cur.len = 0;
            size_t k = i;
            while (k < in->n && byte_piece(in->text.data + in->t[k][0], in->t[k][1]) >= 0 && !rc)
                rc = txi_buf_putc(&cur, (char)byte_piece(in->text.data + in->t[k][0], in->t[k][1])),
                k++;
            if (rc) break;
            if (txi_utf8_validate(cur.data, cur.len) == cur.len) {
                rc = toks_add(out, cur.data, cur.len);
            } else {
                for (size_t q = 0; q < cur.len && !rc; q++)
                    rc = toks_add(out, "\xEF\xBF\xBD", 3);
            }
            i = k;
        }
        break;
    }
    case D_BYTE_LEVEL: {
        /* every token whose characters are all byte-level ones becomes those bytes, others stay
         * as they are; then String::from_utf8_lossy */
        for (size_t i = 0; i < in->n && !rc; i++) {
            const char *s = in->text.data + in->t[i][0];
            size_t n = in->t[i][1];
            int all = 1;
            for (size_t k = 0; k < n && all;) {
                uint32_t cp;
                int l = txi_utf8_decode(s + k, n - k, &cp);
                all = l > 0 && cp < 512 && tok->bpe.char_byte[cp] >= 0;
                k += l > 0 ? (size_t)l : 1;
            }
            rc = all ? tok_bpe_unbyte(&tok->bpe, s, n, &cur) : txi_buf_append(&cur, s, n);
        }
        struct txi_buf lossy = {0};
        for (size_t k = 0; k < cur.len && !rc;) {
            uint32_t cp;
            int l = txi_utf8_decode_replace(cur.data + k, cur.len - k, &cp);
            rc = cp == 0xFFFD && !(l == 3 && !memcmp(cur.data + k, "\xEF\xBF\xBD", 3))
                     ? txi_buf_append(&lossy, "\xEF\xBF\xBD", 3)
                     : txi_buf_append(&lossy, cur.data + k, (size_t)l);
            k += (size_t)l;
        }
        if (!rc) rc = toks_add(out, lossy.data ? lossy.data : "", lossy.len);
        txi_buf_free(&lossy);
        break;
    }
    }
    txi_buf_free(&cur);
    return rc;
}

tx_status tok_json_decode(const struct tx_tokenizer *tok, const int32_t *ids, int n_ids,
                          int skip_special, struct txi_buf *out, struct tx_error *err)
{
    const struct tok_json *j = tok->json;
    struct toks a = {0}, b = {0};
    for (int i = 0; i < n_ids; i++) {
        int32_t id = ids[i];
        if (skip_special && tok->special[id]) continue;
        if (tok->piece_off[id] == SIZE_MAX) continue; /* id_to_token gives nothing */
        if (toks_add(&a, tok->pool.data + tok->piece_off[id], tok->piece_len[id])) goto nomem;
    }
    if (!j->has_decoder) { /* tokens joined with spaces */
        for (size_t i = 0; i < a.n; i++)
            if ((i && txi_buf_putc(out, ' ')) ||
                txi_buf_append(out, a.text.data + a.t[i][0], a.t[i][1]))
                goto nomem;
    } else {
        for (int k = 0; k < j->n_decs; k++) {
            if (apply_dec(tok, &j->decs[k], &a, &b)) goto nomem;
            struct toks t = a;
            a = b;
            b = t;
        }
        for (size_t i = 0; i < a.n; i++)
            if (txi_buf_append(out, a.text.data + a.t[i][0], a.t[i][1])) goto nomem;
    }
    toks_free(&a);
    toks_free(&b);
    return TX_OK;
nomem:
    toks_free(&a);
    toks_free(&b);
    return txi_fail(err, TX_ERR_NOMEM, "out of memory decoding");
}
