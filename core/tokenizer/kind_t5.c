/* kind_t5.c — T5Tokenizer: spiece.model with <extra_id_N> sentinels (legacy=True), as
 * transformers 4.35 does. */
#include "kind_slow.h"
#include "tok_config.h"
#include "txi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPACE_SYMBOL "\xE2\x96\x81" /* U+2581, SentencePiece's whitespace mark */

struct t5 {
    struct tok_spm spm;
    int has_spm;
    int32_t *map; /* token id of each piece id (precomputed) */
};

/* Releases a struct t5 (NULL allowed). */
static void t5_free(void *impl)
{
    struct t5 *t = impl;
    if (!t) return;
    if (t->has_spm) tok_spm_free(&t->spm);
    free(t->map);
    free(t);
}

/* ---------------------------------------------------------------------------------------- */
/* Loading                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* get_vocab(): the SentencePiece id of s, or -1 (piece_to_id gives unk for unknown strings,
 * but the vocabulary dict only holds real pieces). */
static int32_t spm_vocab_id(const struct tok_spm *spm, const char *s)
{
    size_t n = strlen(s);
    int32_t sid = tok_spm_piece_to_id(spm, s, n);
    struct spm_bytes pc = tok_spm_id_to_piece(spm, sid);
    return pc.size == n && !memcmp(pc.data, s, n) ? sid : -1;
}

/* Reads element e of additional_special_tokens (a string or an AddedToken dict). */
static void read_additional(json_t *e, struct tok_special *s)
{
    memset(s, 0, sizeof *s);
    tok_read_special_value(e, s);
}

/* The number of sentinels: extra_ids, or the <extra_id_N> tokens additional_special_tokens
 * already holds (which must then agree with extra_ids when both are given). */
static tx_status count_sentinels(const struct tok_source *src, long extra_ids, long *n_sentinels,
                                 struct tx_error *err)
{
    json_t *add = json_object_get(src->cfg, "additional_special_tokens");
    *n_sentinels = extra_ids;
    if (!json_is_array(add)) return TX_OK;
    long n_extra = 0;
    size_t i;
    json_t *e;
    json_array_foreach(add, i, e)
    {
        struct tok_special s;
        read_additional(e, &s);
        if (s.present && strstr(s.content, "<extra_id_")) n_extra++;
    }
    if (n_extra > 0 && extra_ids > 0 && n_extra != extra_ids)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: extra_ids (%ld) and the %ld <extra_id_N> "
                        "tokens of additional_special_tokens disagree",
                        src->cfg_path, extra_ids, n_extra);
    if (n_extra > 0) *n_sentinels = n_extra;
    return TX_OK;
}

/* T5Tokenizer.__init__: additional_special_tokens either already hold the sentinels or get
 * them appended; sentinel i has id len(sp) - 1 + extra_ids - i. */
static tx_status add_sentinels(struct tx_tokenizer *tok, const struct tok_source *src, int32_t sp_n,
                               struct tx_error *err)
{
    json_t *v = json_object_get(src->cfg, "extra_ids");
    long extra_ids = json_is_integer(v) ? (long)json_integer_value(v) : 100;
    if (extra_ids < 0 || extra_ids > 100000)
        return txi_fail(err, TX_ERR_FORMAT, "%s: extra_ids %ld is out of range", src->cfg_path,
                        extra_ids);
    if (tok_cfg_bool(src->cfg, "legacy", 1) == 0)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "%s: legacy=false T5 tokenization is not supported", src->cfg_path);
    long n_sentinels;
    tx_status st = count_sentinels(src, extra_ids, &n_sentinels, err);
    if (st) return st;
    for (long i = 0; i < n_sentinels; i++) {
        char name[32];
        snprintf(name, sizeof name, "<extra_id_%ld>", i);
        if (tok_added_add(&tok->added, name, strlen(name), (int32_t)(sp_n - 1 + extra_ids - i), 1,
                          1, 1, 1))
            return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", src->dir);
        tok->added.tokens[tok->added.n - 1].additional = 1;
    }
    return TX_OK;
}

/* eos, unk, pad (SPECIAL_TOKENS_ATTRIBUTES order), then the other additional_special_tokens
 * (not sentinels), marked additional. -1 on OOM. */
static int add_specials(struct tx_tokenizer *tok, const struct t5 *t, json_t *cfg, int32_t next)
{
    static const char *const keys[3] = {"eos_token", "unk_token", "pad_token"};
    static const char *const defs[3] = {"</s>", "<unk>", "<pad>"};
    int32_t ids[3];
    for (int i = 0; i < 3; i++) {
        struct tok_special s;
        tok_read_special(cfg, keys[i], defs[i], &s);
        ids[i] =
            s.present ? tok_add_special(tok, &s, spm_vocab_id(&t->spm, s.content), &next, 0) : -2;
        if (ids[i] == -1) return -1;
    }
    tok->eos_id = ids[0] >= 0 ? ids[0] : -1;
    tok->unk_id = ids[1] >= 0 ? ids[1] : -1;
    tok->pad_id = ids[2] >= 0 ? ids[2] : -1;
    json_t *add = json_object_get(cfg, "additional_special_tokens");
    size_t i;
    json_t *e;
    json_array_foreach(add, i, e)
    {
        struct tok_special s;
        read_additional(e, &s);
        if (!s.present || strstr(s.content, "<extra_id_")) continue;
        int32_t aid = tok_add_special(tok, &s, spm_vocab_id(&t->spm, s.content), &next, 0);
        if (aid < 0) return -1;
        for (int k = 0; k < tok->added.n; k++)
            if (tok->added.tokens[k].id == aid) tok->added.tokens[k].additional = 1;
    }
    return 0;
}

/* The SentencePiece pieces, the added tokens over them, and the piece map. -1 on OOM. */
static int fill_pieces(struct tx_tokenizer *tok, struct t5 *t, int32_t sp_n)
{
    if (tok_alloc_ids(tok, tok_added_end(tok, sp_n))) return -1;
    for (int32_t id = 0; id < sp_n; id++) {
        struct spm_bytes pc = tok_spm_id_to_piece(&t->spm, id);
        if (tok_set_piece(tok, id, pc.data, pc.size)) return -1;
    }
    if (tok_finish_added(tok)) return -1;
    t->map = tok_sp_piece_map(tok, &t->spm, NULL);
    return t->map ? 0 : -1;
}

/* T5Tokenizer.__init__: spiece.model, sentinels, added_tokens_decoder, special tokens,
 * pieces and the piece map. */
static tx_status t5_load(struct tx_tokenizer *tok, const struct tok_source *src,
                         struct tx_error *err)
{
    struct t5 *t = calloc(1, sizeof *t);
    if (!t) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    tok->impl = t;
    char path[4096];
    txi_path_join(path, sizeof path, src->dir, "spiece.model");
    tx_status st = tok_spm_load(&t->spm, path, err);
    if (st) return st;
    t->has_spm = 1;
    int32_t sp_n = tok_spm_n_pieces(&t->spm);
    tok->vocab_size = sp_n;
    st = add_sentinels(tok, src, sp_n, err);
    if (!st) st = tok_apply_added_tokens_decoder(tok, src->cfg, src->cfg_path, err);
    if (st) return st;
    if (add_specials(tok, t, src->cfg, sp_n + (int32_t)tok->added.n) || fill_pieces(tok, t, sp_n))
        return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", src->dir);
    return TX_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding and decoding                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* One text segment through spiece.model. */
static tx_status t5_segment(const struct tx_tokenizer *tok, void *state, tx_side side,
                            const char *s, const uint32_t *off, size_t n, struct tok_ids *o,
                            struct tx_error *err)
{
    const struct t5 *t = tok->impl;
    (void)side;
    return tok_sp_encode_text(tok, &t->spm, NULL, t->map, s, n, off, state, o, err);
}

/* Pieces, then </s> unless the text already ends with it (_add_eos_if_not_present). */
static tx_status t5_encode(const struct tx_tokenizer *tok, const char *text, size_t len,
                           tx_side side, struct tok_ids *out, struct tx_error *err)
{
    struct tok_spm_encoding enc;
    memset(&enc, 0, sizeof enc);
    tx_status st = tok_slow_encode(tok, text, len, 0, side, t5_segment, &enc, out, err);
    tok_spm_encoding_free(&enc);
    if (!st && (out->n == 0 || out->ids[out->n - 1] != tok->eos_id) &&
        tok_ids_push(out, tok->eos_id, (uint32_t)len, (uint32_t)len))
        st = txi_fail(err, TX_ERR_NOMEM, "out of memory encoding %zu bytes", len);
    return st;
}

/* Appends piece t (the first one without its leading U+2581s) to s: special tokens are not
 * decoded by SentencePiece and get a space before them. */
static tx_status add_token(const struct tx_tokenizer *tok, const struct t5 *t5, struct spm_bytes t,
                           int first, struct tok_piece_list *cur, int *prev_special,
                           struct txi_buf *s, struct tx_error *err)
{
    if (first)
        while (t.size >= 3 && !memcmp(t.data, SPACE_SYMBOL, 3))
            t.data += 3, t.size -= 3;
    if (!tok_is_special_string(tok, t.data, t.size)) {
        *prev_special = 0;
        return tok_piece_list_push(cur, t.data, t.size) ? TX_ERR_NOMEM : TX_OK;
    }
    if (!*prev_special && txi_buf_putc(s, ' ')) return TX_ERR_NOMEM;
    tx_status st = tok_spm_decode_pieces(&t5->spm, cur->v, cur->n, s, err);
    if (st) return st;
    if (txi_buf_append(s, t.data, t.size)) return TX_ERR_NOMEM;
    *prev_special = 1;
    cur->n = 0;
    return TX_OK;
}

/* T5Tokenizer.convert_tokens_to_string, then strip(). */
static tx_status t5_to_string(const struct tx_tokenizer *tok, const struct spm_bytes *t, size_t n,
                              struct txi_buf *out, struct tx_error *err)
{
    const struct t5 *t5 = tok->impl;
    struct txi_buf s = {0};
    struct tok_piece_list cur = {0};
    int prev_special = 0;
    tx_status st = txi_buf_reserve(&s, 0) ? TX_ERR_NOMEM : TX_OK;
    for (size_t i = 0; i < n && !st; i++)
        st = add_token(tok, t5, t[i], i == 0, &cur, &prev_special, &s, err);
    if (!st) st = tok_spm_decode_pieces(&t5->spm, cur.v, cur.n, &s, err);
    if (!st) {
        size_t b = 0, e = s.len;
        tok_py_strip(s.data, &b, &e);
        if (txi_buf_append(out, s.data + b, e - b)) st = TX_ERR_NOMEM;
    }
    if (st == TX_ERR_NOMEM) st = txi_fail(err, TX_ERR_NOMEM, "out of memory decoding");
    txi_buf_free(&s);
    free(cur.v);
    return st;
}

/* PreTrainedTokenizer._decode with T5Tokenizer.convert_tokens_to_string. */
static tx_status t5_decode(const struct tx_tokenizer *tok, const int32_t *ids, int n_ids,
                           int skip_special, struct txi_buf *out, struct tx_error *err)
{
    return tok_slow_decode(tok, ids, n_ids, skip_special, t5_to_string, out, err);
}

const struct tok_kind_ops tok_t5_ops = {
    .kind = TX_TOKENIZER_T5,
    .reads_legacy_files = 1,
    .load = t5_load,
    .encode = t5_encode,
    .decode = t5_decode,
    .free = t5_free,
};
