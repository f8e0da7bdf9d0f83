/* model_bpe.c — tokenizer.json's BPE model: vocabulary and ranked merges, subword prefix / word
 * suffix, byte fallback and (fused) unknown tokens, merged by (rank, position) as the Rust
 * library does. */
#include "hf_json.h"
#include "txi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Loading                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* model.vocab (token -> id) into j->bpe's vocabulary and symbols; *max_id its largest id. */
static tx_status read_vocab(const struct tok_jctx *c, struct tok_json *j, json_t *vocab,
                            int32_t *max_id)
{
    const char *key;
    json_t *v;
    json_object_foreach(vocab, key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= TOK_MAX_ID) {
            char where[128];
            snprintf(where, sizeof where, "model.vocab[\"%.60s\"]", key);
            return tok_jctx_bad(c, where, "id is not an integer in [0, 2^22)");
        }
        int32_t id = (int32_t)json_integer_value(v);
        if (txi_strmap_put(&j->bpe.vocab, key, strlen(key), id, 1)) return tok_jctx_oom(c);
        if (tok_bpe_symbol(&j->bpe, key, strlen(key)) < 0) return tok_jctx_oom(c);
        if (id > *max_id) *max_id = id;
    }
    return TX_OK;
}

/* The two parts of merge e: "left right" or [left, right]. -1 when it is neither. */
static int merge_parts(json_t *e, const char **l, size_t *ll, const char **r, size_t *rl)
{
    if (json_is_string(e)) {
        const char *s = json_string_value(e);
        const char *sp = strchr(s, ' ');
        if (!sp || strchr(sp + 1, ' ')) return -1;
        *l = s, *ll = (size_t)(sp - s), *r = sp + 1, *rl = strlen(sp + 1);
        return 0;
    }
    if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_string(json_array_get(e, 0)) ||
        !json_is_string(json_array_get(e, 1)))
        return -1;
    *l = json_string_value(json_array_get(e, 0));
    *ll = json_string_length(json_array_get(e, 0));
    *r = json_string_value(json_array_get(e, 1));
    *rl = json_string_length(json_array_get(e, 1));
    return 0;
}

/* Are l, r and the merged token (l, then r without its first strip bytes) in the vocabulary?
 * -1 on OOM. */
static int merge_in_vocab(const struct tok_bpe *bpe, const char *l, size_t ll, const char *r,
                          size_t rl, size_t strip)
{
    int32_t id;
    char *cat = malloc(ll + rl + 1);
    if (!cat) return -1;
    memcpy(cat, l, ll);
    memcpy(cat + ll, r + strip, rl - strip);
    int ok = txi_strmap_get(&bpe->vocab, l, ll, &id) && txi_strmap_get(&bpe->vocab, r, rl, &id) &&
             txi_strmap_get(&bpe->vocab, cat, ll + rl - strip, &id);
    free(cat);
    return ok;
}

/* model.merges, ranked by position. With a continuing_subword_prefix (prefix), a right part
 * starting with it joins without it: "h" + "##e" = "he" (Hugging Face tokenizers' BPE builder
 * strips the prefix's length from the right part). */
static tx_status read_merges(const struct tok_jctx *c, struct tok_json *j, json_t *merges,
                             const char *prefix)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    for (size_t i = 0; i < json_array_size(merges); i++) {
        const char *l, *r;
        size_t ll, rl;
        char where[64];
        snprintf(where, sizeof where, "model.merges[%zu]", i);
        json_t *e = json_array_get(merges, i);
        if (merge_parts(e, &l, &ll, &r, &rl))
            return tok_jctx_bad(c, where,
                                json_is_string(e) ? "expected \"left right\""
                                                  : "expected \"left right\" or [left, right]");
        size_t strip = plen && rl >= plen && !memcmp(r, prefix, plen) ? plen : 0;
        int ok = merge_in_vocab(&j->bpe, l, ll, r, rl, strip);
        if (ok < 0) return tok_jctx_oom(c);
        if (!ok)
            return tok_jctx_bad(c, where, "a merge part or its result is not in the vocabulary");
        if (tok_bpe_add_merge(&j->bpe, l, ll, r, rl, strip, (int32_t)i)) return tok_jctx_oom(c);
    }
    return TX_OK;
}

/* unk_token, continuing_subword_prefix, end_of_word_suffix, fuse_unk, byte_fallback. */
static tx_status read_options(const struct tok_jctx *c, struct tx_tokenizer *tok,
                              struct tok_json *j, json_t *m)
{
    json_t *unk = json_object_get(m, "unk_token");
    j->bpe_unk_id = -1;
    if (json_is_string(unk)) {
        int32_t id;
        if (!txi_strmap_get(&j->bpe.vocab, json_string_value(unk), json_string_length(unk), &id))
            return tok_jctx_bad(c, "model.unk_token", "not in the vocabulary");
        j->bpe_unk_id = id;
        tok->unk_id = id;
        txi_strmap_get(&j->bpe.syms, json_string_value(unk), json_string_length(unk),
                       &j->bpe_unk_sym);
    }
    json_t *cp = json_object_get(m, "continuing_subword_prefix"),
           *ew = json_object_get(m, "end_of_word_suffix");
    if (json_is_string(cp) && json_string_length(cp) > 0 &&
        !(j->cont_prefix = strdup(json_string_value(cp))))
        return tok_jctx_oom(c);
    if (json_is_string(ew) && json_string_length(ew) > 0 &&
        !(j->eow_suffix = strdup(json_string_value(ew))))
        return tok_jctx_oom(c);
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

/* BPE model object: vocabulary, merges (no dropout), pieces, options. */
static tx_status bpe_load(const struct tok_jctx *c, struct tx_tokenizer *tok, struct tok_json *j,
                          json_t *m)
{
    json_t *vocab = json_object_get(m, "vocab"), *merges = json_object_get(m, "merges");
    if (!json_is_object(vocab) || !json_is_array(merges))
        return tok_jctx_bad(c, "model", "BPE needs a \"vocab\" object and a \"merges\" list");
    if (json_is_number(json_object_get(m, "dropout")) &&
        json_number_value(json_object_get(m, "dropout")) > 0)
        return tok_jctx_unsupported(c, "model.dropout", "BPE dropout (not deterministic)");
    int32_t max_id = -1;
    tx_status st = read_vocab(c, j, vocab, &max_id);
    if (st) return st;
    j->bpe.max_id = max_id;
    j->bpe.rust_order = 1;
    json_t *cp = json_object_get(m, "continuing_subword_prefix");
    st = read_merges(c, j, merges, json_is_string(cp) ? json_string_value(cp) : NULL);
    if (st) return st;
    if (tok_bpe_finish(&j->bpe)) return tok_jctx_oom(c);
    if (tok_alloc_ids(tok, max_id + 1)) return tok_jctx_oom(c);
    for (size_t i = 0; i < j->bpe.vocab.n; i++) {
        const struct txi_strmap_entry *e = &j->bpe.vocab.entries[i];
        if (tok_set_piece(tok, e->value, txi_strmap_key(&j->bpe.vocab, i), e->len))
            return tok_jctx_oom(c);
    }
    return read_options(c, tok, j, m);
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* The initial symbols of one pre-token, built in the scratch. */
struct sym_builder {
    const struct tok_json *j;
    struct jscratch *sc;
    size_t n;            /* symbols so far: sc->syms[0..n), sc->sym_len[0..n) */
    int32_t unk_pending; /* symbol of a (fused) unknown run not yet added, or -1 */
    size_t unk_len;      /* its bytes */
    struct txi_buf tmp;  /* the string of the current character */
};

/* Adds symbol sym covering len bytes of the piece. -1 on OOM. */
static int sb_push(struct sym_builder *sb, int32_t sym, size_t len)
{
    struct jscratch *sc = sb->sc;
    if (txi_grow((void **)&sc->syms, &sc->syms_cap, sb->n + 1, sizeof *sc->syms) ||
        txi_grow((void **)&sc->sym_len, &sc->sym_len_cap, sb->n + 1, sizeof *sc->sym_len))
        return -1;
    sc->syms[sb->n] = sym;
    sc->sym_len[sb->n++] = (uint32_t)len;
    return 0;
}

/* Adds the pending unknown run, if any. -1 on OOM. */
static int sb_flush_unk(struct sym_builder *sb)
{
    if (sb->unk_pending < 0) return 0;
    int rc = sb_push(sb, sb->unk_pending, sb->unk_len);
    sb->unk_pending = -1;
    return rc;
}

/* An unknown character of cl bytes (sb->tmp): its bytes as <0xNN> symbols (byte fallback; the
 * first carries the span), else the unk symbol, fused with the run before when fuse_unk; with
 * no unk token the character is dropped, as the Rust model does. -1 on OOM. */
static int sb_unknown(struct sym_builder *sb, size_t cl)
{
    const struct tok_json *j = sb->j;
    int all = j->byte_fallback;
    for (size_t q = 0; all && q < sb->tmp.len; q++)
        all = j->byte_id[(unsigned char)sb->tmp.data[q]] >= 0;
    if (all) {
        int32_t sym = -1;
        for (size_t q = 0; q < sb->tmp.len; q++) {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", (unsigned)(unsigned char)sb->tmp.data[q]);
            txi_strmap_get(&j->bpe.syms, name, 6, &sym);
            if (sb_push(sb, sym, q == 0 ? cl : 0)) return -1;
        }
        return 0;
    }
    if (j->bpe_unk_id < 0) return 0;
    if (sb->unk_pending >= 0 && j->fuse_unk) {
        sb->unk_len += cl;
        return 0;
    }
    if (sb_flush_unk(sb)) return -1;
    sb->unk_pending = j->bpe_unk_sym;
    sb->unk_len = cl;
    return 0;
}

/* The character at x[i] (cl bytes) of pre-token [b, e): its string with the subword prefix
 * (not first) and word suffix (last), then its symbol. -1 on OOM. */
static int sb_char(struct sym_builder *sb, const struct nstr *x, size_t i, size_t cl, size_t b,
                   size_t e)
{
    const struct tok_json *j = sb->j;
    struct txi_buf *tmp = &sb->tmp;
    tmp->len = 0;
    if (i > b && j->cont_prefix && txi_buf_append(tmp, j->cont_prefix, strlen(j->cont_prefix)))
        return -1;
    if (txi_buf_append(tmp, x->s + i, cl)) return -1;
    if (i + cl >= e && j->eow_suffix && txi_buf_append(tmp, j->eow_suffix, strlen(j->eow_suffix)))
        return -1;
    int32_t id, sym = -1;
    if (!txi_strmap_get(&j->bpe.vocab, tmp->data, tmp->len, &id)) return sb_unknown(sb, cl);
    txi_strmap_get(&j->bpe.syms, tmp->data, tmp->len, &sym);
    if (sb_flush_unk(sb)) return -1;
    return sb_push(sb, sym, cl);
}

/* Merges the n initial symbols and appends the ids of the result, spans through the byte
 * offset of each initial symbol (from b). */
static tx_status emit_merged(const struct tok_json *j, const struct nstr *x, size_t b, size_t n,
                             struct jscratch *sc, struct tok_ids *o, struct tx_error *err)
{
    if (tok_bpe_merge(&j->bpe, &sc->bpe, sc->syms, n))
        return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    size_t *start = malloc((n + 1) * sizeof *start);
    if (!start) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    start[0] = b;
    for (size_t k = 0; k < n; k++)
        start[k + 1] = start[k] + sc->sym_len[k];
    tx_status st = TX_OK;
    for (size_t k = 0; k < sc->bpe.n_out && !st; k++) {
        const struct tok_bpe_out *r = &sc->bpe.out[k];
        int32_t id = j->bpe.sym_id[r->sym];
        uint32_t ob, oe;
        tok_ns_span(x, start[r->start], start[r->end], &ob, &oe);
        if (id < 0)
            st = txi_fail(err, TX_ERR_FORMAT,
                          "tokenizer.json: BPE produced a token "
                          "outside the vocabulary");
        else if (tok_ids_push(o, id, ob, oe))
            st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    free(start);
    return st;
}

/* BPE::tokenize of one pre-token (pool bytes [b, e)), as the Rust model: characters (with the
 * subword prefix / word suffix) looked up in the vocabulary, unknown ones as bytes or (fused)
 * unk, then merges by (rank, position). */
static tx_status bpe_encode(const struct tok_json *j, const struct nstr *x, size_t b, size_t e,
                            struct jscratch *sc, struct tok_ids *o, struct tx_error *err)
{
    struct sym_builder sb = {j, sc, 0, -1, 0, {0}};
    int rc = 0;
    for (size_t i = b; i < e && !rc;) {
        size_t cl = tok_char_len_at(x->s + i, e - i);
        rc = sb_char(&sb, x, i, cl, b, e);
        i += cl;
    }
    if (!rc) rc = sb_flush_unk(&sb);
    txi_buf_free(&sb.tmp);
    if (rc) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    return emit_merged(j, x, b, sb.n, sc, o, err);
}

/* The vocabulary id of s[0..n), or -1. */
static int32_t bpe_token_id(const struct tok_json *j, const char *s, size_t n)
{
    int32_t id;
    return txi_strmap_get(&j->bpe.vocab, s, n, &id) ? id : -1;
}

const struct tok_jmodel_ops tok_jmodel_bpe = {
    .type = "BPE",
    .load = bpe_load,
    .encode = bpe_encode,
    .token_id = bpe_token_id,
};
