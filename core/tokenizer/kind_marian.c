/* kind_marian.c — MarianTokenizer: source.spm/target.spm SentencePiece models, vocab.json (and
 * target_vocab.json when separate_vocabs), >>lang<< codes, as transformers 4.35 does. */
#include "kind_slow.h"
#include "tok_config.h"
#include "txi.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SPACE_SYMBOL "\xE2\x96\x81" /* U+2581, SentencePiece's whitespace mark */

struct marian {
    struct tok_spm spm;     /* source.spm */
    struct tok_spm spm_tgt; /* target.spm */
    int has_spm, has_spm_tgt;
    struct txi_strmap vocab;     /* vocab.json (source side) */
    struct txi_strmap tgt_vocab; /* target_vocab.json when separate_vocabs */
    int separate_vocabs;
    int32_t *map_src, *map_tgt; /* token id of each piece id of spm / spm_tgt (precomputed) */
};

/* Releases a struct marian (NULL allowed). */
static void marian_free(void *impl)
{
    struct marian *m = impl;
    if (!m) return;
    if (m->has_spm) tok_spm_free(&m->spm);
    if (m->has_spm_tgt) tok_spm_free(&m->spm_tgt);
    txi_strmap_free(&m->vocab);
    txi_strmap_free(&m->tgt_vocab);
    free(m->map_src);
    free(m->map_tgt);
    free(m);
}

/* ---------------------------------------------------------------------------------------- */
/* Loading                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* Reads a vocab.json (piece -> id) into map; *max_id gets the largest id; *root_out the
 * document (owned: the keys of map's pieces are copied, the inversion reads it later). */
static tx_status load_piece_ids(const char *path, struct txi_strmap *map, int32_t *max_id,
                                json_t **root_out, struct tx_error *err)
{
    json_t *root;
    tx_status st = tok_load_json_file(path, &root, err);
    if (st) return st;
    if (!root) return txi_fail(err, TX_ERR_IO, "%s: no such file", path);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= TOK_MAX_ID) {
            txi_fail(err, TX_ERR_FORMAT, "%s: the id of \"%.64s\" is not an integer in [0, 2^22)",
                     path, key);
            json_decref(root); /* key belongs to root */
            return TX_ERR_FORMAT;
        }
        int32_t id = (int32_t)json_integer_value(v);
        if (txi_strmap_put(map, key, strlen(key), id, 1)) {
            json_decref(root);
            return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", path);
        }
        if (id > *max_id) *max_id = id;
    }
    *root_out = root;
    return TX_OK;
}

/* id -> piece for an inverted vocabulary file ({v: k for k, v in vocab.items()}: the last key
 * of an id wins). */
static int invert_vocab(struct tx_tokenizer *tok, json_t *root)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        int32_t id = (int32_t)json_integer_value(v);
        if (id < tok->n_ids && tok_set_piece(tok, id, key, strlen(key))) return -1;
    }
    return 0;
}

/* source.spm and target.spm. */
static tx_status load_spms(struct marian *m, const char *dir, struct tx_error *err)
{
    char path[4096];
    if (txi_path_join(path, sizeof path, dir, "source.spm"))
        return txi_fail(err, TX_ERR_INVALID, "%s: path too long", dir);
    tx_status st = tok_spm_load(&m->spm, path, err);
    if (st) return st;
    m->has_spm = 1;
    txi_path_join(path, sizeof path, dir, "target.spm");
    st = tok_spm_load(&m->spm_tgt, path, err);
    if (st) return st;
    m->has_spm_tgt = 1;
    return TX_OK;
}

/* vocab.json, and the target vocabulary when separate_vocabs; roots[0..1] get the documents. */
static tx_status load_vocabs(struct marian *m, const struct tok_source *src, int32_t *max_id,
                             json_t *roots[2], struct tx_error *err)
{
    char path[4096];
    txi_path_join(path, sizeof path, src->dir, "vocab.json");
    tx_status st = load_piece_ids(path, &m->vocab, max_id, &roots[0], err);
    if (st) return st;
    m->separate_vocabs = tok_cfg_bool(src->cfg, "separate_vocabs", 0);
    if (!m->separate_vocabs) return TX_OK;
    const char *name = "target_vocab.json";
    json_t *tv = json_object_get(src->cfg, "target_vocab_file");
    if (json_is_string(tv) && !strchr(json_string_value(tv), '/')) name = json_string_value(tv);
    txi_path_join(path, sizeof path, src->dir, name);
    return load_piece_ids(path, &m->tgt_vocab, max_id, &roots[1], err);
}

/* The special tokens in SPECIAL_TOKENS_ATTRIBUTES order (eos, unk, pad): their vocabulary id,
 * or the next id after the vocabulary. *unk gets the unk token. */
static tx_status add_specials(struct tx_tokenizer *tok, const struct marian *m,
                              const struct tok_source *src, struct tok_special *unk,
                              struct tx_error *err)
{
    struct tok_special eos, pad;
    tok_read_special(src->cfg, "eos_token", "</s>", &eos);
    tok_read_special(src->cfg, "unk_token", "<unk>", unk);
    tok_read_special(src->cfg, "pad_token", "<pad>", &pad);
    if (tok_vocab_id(&m->vocab, unk->content) < 0 || tok_vocab_id(&m->vocab, pad.content) < 0)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: vocab.json lacks the unk token \"%s\" or the pad "
                        "token \"%s\"",
                        src->dir, unk->content, pad.content);
    int32_t next = (int32_t)m->vocab.n;
    tx_status st = tok_apply_added_tokens_decoder(tok, src->cfg, src->cfg_path, err);
    if (st) return st;
    const struct tok_special *specs[3] = {&eos, unk, &pad};
    int32_t ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = specs[i]->present
                     ? tok_add_special(tok, specs[i], tok_vocab_id(&m->vocab, specs[i]->content),
                                       &next, 0)
                     : -2;
        if (ids[i] == -1) return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", src->dir);
    }
    tok->eos_id = ids[0] >= 0 ? ids[0] : -1;
    tok->unk_id = ids[1] >= 0 ? ids[1] : -1;
    tok->pad_id = ids[2] >= 0 ? ids[2] : -1;
    return TX_OK;
}

/* Marian's decoder: the inverted (target) vocabulary; ids without a piece decode as the unk
 * token, as _convert_id_to_token's default does. Then the added tokens and the piece maps. */
static int fill_pieces(struct tx_tokenizer *tok, struct marian *m, const char *unk, json_t *root)
{
    for (int32_t id = 0; id < tok->n_ids; id++)
        if (tok_set_piece(tok, id, unk, strlen(unk))) return -1;
    if (invert_vocab(tok, root) || tok_finish_added(tok)) return -1;
    m->map_src = tok_sp_piece_map(tok, &m->spm, &m->vocab);
    m->map_tgt = tok_sp_piece_map(tok, &m->spm_tgt, m->separate_vocabs ? &m->tgt_vocab : &m->vocab);
    return m->map_src && m->map_tgt ? 0 : -1;
}

/* MarianTokenizer.__init__: the two models, the vocabularies, the special tokens, the
 * inverted (target) vocabulary as pieces, and the piece maps. */
static tx_status marian_load(struct tx_tokenizer *tok, const struct tok_source *src,
                             struct tx_error *err)
{
    struct marian *m = calloc(1, sizeof *m);
    if (!m) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    tok->impl = m;
    json_t *roots[2] = {NULL, NULL};
    int32_t max_id = -1;
    struct tok_special unk;
    tx_status st = load_spms(m, src->dir, err);
    if (!st) st = load_vocabs(m, src, &max_id, roots, err);
    if (!st) st = add_specials(tok, m, src, &unk, err);
    if (!st) {
        tok->vocab_size = (int32_t)m->vocab.n;
        if (tok_alloc_ids(tok, tok_added_end(tok, max_id + 1)) ||
            fill_pieces(tok, m, unk.content, m->separate_vocabs ? roots[1] : roots[0]))
            st = txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", src->dir);
    }
    json_decref(roots[0]);
    json_decref(roots[1]);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding                                                                                  */
/* ---------------------------------------------------------------------------------------- */

struct marian_scratch {
    struct tok_spm_encoding enc;
    char *tmp; /* segment text without language codes */
    uint32_t *tmp_off;
    size_t tmp_cap, tmp_off_cap;
};

/* Finds the end of the line at s[i..n) and the position of its last "<<" (SIZE_MAX: none). */
static void scan_line(const char *s, size_t i, size_t n, size_t *line_end, size_t *last_ll)
{
    size_t e = i;
    while (e < n && s[e] != '\n')
        e++;
    *line_end = e == i ? i + 1 : e;
    *last_ll = SIZE_MAX;
    for (size_t k = i; k + 1 < e; k++)
        if (s[k] == '<' && s[k + 1] == '<') *last_ll = k;
}

/* MarianTokenizer.remove_language_code: re.match(">>.+<<") at the start gives a code token;
 * re.sub removes every match (greedy, "." excludes "\n"). Writes the remaining text to sc->tmp
 * (*rest_len bytes) and the code's length at the start to *code_len (0 = none). -1 on OOM. */
static int strip_language_codes(const char *s, const uint32_t *off, size_t n,
                                struct marian_scratch *sc, size_t *rest_len, size_t *code_len)
{
    *code_len = 0;
    if (txi_grow((void **)&sc->tmp, &sc->tmp_cap, n + 1, 1) ||
        txi_grow((void **)&sc->tmp_off, &sc->tmp_off_cap, n + 1, sizeof *sc->tmp_off))
        return -1;
    size_t w = 0, i = 0;
    size_t line_end = 0, last_ll = SIZE_MAX; /* end of i's line and its last "<<" */
    while (i < n) {
        if (i >= line_end || line_end == 0) /* once per line: linear overall */
            scan_line(s, i, n, &line_end, &last_ll);
        if (i + 1 < n && s[i] == '>' && s[i + 1] == '>' && last_ll != SIZE_MAX &&
            last_ll >= i + 3 && last_ll + 2 <= line_end) {
            if (i == 0) *code_len = last_ll + 2;
            i = last_ll + 2;
            continue;
        }
        sc->tmp[w] = s[i];
        sc->tmp_off[w] = off[i];
        w++;
        i++;
    }
    *rest_len = w;
    return 0;
}

/* One text segment: a leading >>lang<< code as its own token, the rest through the source
 * or target model and vocabulary. */
static tx_status marian_segment(const struct tx_tokenizer *tok, void *state, tx_side side,
                                const char *s, const uint32_t *off, size_t n, struct tok_ids *o,
                                struct tx_error *err)
{
    const struct marian *m = tok->impl;
    struct marian_scratch *sc = state;
    int tgt = side == TX_SIDE_TARGET;
    const struct txi_strmap *vocab = tgt && m->separate_vocabs ? &m->tgt_vocab : &m->vocab;
    size_t rest, code;
    if (strip_language_codes(s, off, n, sc, &rest, &code))
        return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    if (code) {
        uint32_t ob, oe;
        tok_map_span(off, 0, (uint32_t)code, &ob, &oe);
        if (tok_ids_push(o, tok_sp_piece_id(tok, NULL, vocab, s, code), ob, oe))
            return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    return tok_sp_encode_text(tok, tgt ? &m->spm_tgt : &m->spm, vocab,
                              tgt ? m->map_tgt : m->map_src, sc->tmp, rest, sc->tmp_off, &sc->enc,
                              o, err);
}

/* Pieces, then </s> (build_inputs_with_special_tokens). */
static tx_status marian_encode(const struct tx_tokenizer *tok, const char *text, size_t len,
                               tx_side side, struct tok_ids *out, struct tx_error *err)
{
    struct marian_scratch sc;
    memset(&sc, 0, sizeof sc);
    tx_status st = tok_slow_encode(tok, text, len, 0, side, marian_segment, &sc, out, err);
    tok_spm_encoding_free(&sc.enc);
    free(sc.tmp);
    free(sc.tmp_off);
    if (!st && tok_ids_push(out, tok->eos_id, (uint32_t)len, (uint32_t)len))
        st = txi_fail(err, TX_ERR_NOMEM, "out of memory encoding %zu bytes", len);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Appends s[0..n) with every U+2581 as a space, Python-stripped. */
static int append_spaced_stripped(const char *s, size_t n, struct txi_buf *out)
{
    struct txi_buf r = {0};
    if (txi_buf_reserve(&r, n)) return -1;
    for (size_t i = 0; i < n;) {
        if (i + 3 <= n && !memcmp(s + i, SPACE_SYMBOL, 3)) {
            r.data[r.len++] = ' ';
            i += 3;
        } else {
            r.data[r.len++] = s[i++];
        }
    }
    size_t b = 0, e = r.len;
    tok_py_strip(r.data, &b, &e);
    int rc = txi_buf_append(out, r.data + b, e - b);
    txi_buf_free(&r);
    return rc;
}

/* MarianTokenizer.convert_tokens_to_string: target.spm decodes; special tokens are copied with
 * a space after; remaining U+2581 become spaces; then strip(). */
static tx_status marian_to_string(const struct tx_tokenizer *tok, const struct spm_bytes *t,
                                  size_t n, struct txi_buf *out, struct tx_error *err)
{
    const struct marian *m = tok->impl;
    struct txi_buf s = {0};
    struct tok_piece_list cur = {0};
    tx_status st = TX_OK;
    int nomem = txi_buf_reserve(&s, 0);
    for (size_t i = 0; i < n && !st && !nomem; i++) {
        if (!tok_is_special_string(tok, t[i].data, t[i].size)) {
            nomem = tok_piece_list_push(&cur, t[i].data, t[i].size);
            continue;
        }
        st = tok_spm_decode_pieces(&m->spm_tgt, cur.v, cur.n, &s, err);
        nomem = !st && (txi_buf_append(&s, t[i].data, t[i].size) || txi_buf_putc(&s, ' '));
        cur.n = 0;
    }
    if (!st && !nomem) st = tok_spm_decode_pieces(&m->spm_tgt, cur.v, cur.n, &s, err);
    if (!st && !nomem) nomem = append_spaced_stripped(s.data, s.len, out);
    if (nomem) st = txi_fail(err, TX_ERR_NOMEM, "out of memory decoding");
    txi_buf_free(&s);
    free(cur.v);
    return st;
}

/* PreTrainedTokenizer._decode with MarianTokenizer.convert_tokens_to_string. */
static tx_status marian_decode(const struct tx_tokenizer *tok, const int32_t *ids, int n_ids,
                               int skip_special, struct txi_buf *out, struct tx_error *err)
{
    return tok_slow_decode(tok, ids, n_ids, skip_special, marian_to_string, out, err);
}

const struct tok_kind_ops tok_marian_ops = {
    .kind = TX_TOKENIZER_MARIAN,
    .reads_legacy_files = 1,
    .load = marian_load,
    .encode = marian_encode,
    .decode = marian_decode,
    .free = marian_free,
};
