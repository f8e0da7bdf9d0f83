/* kind_slow.c — the encode/decode skeleton of transformers' slow tokenizers (added tokens split
 * out, legacy added tokens decoded apart) and the SentencePiece piece lookups of Marian/T5/SPM. */
#include "kind_slow.h"
#include "txi.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

tx_status tok_slow_encode(const struct tx_tokenizer *tok, const char *text, size_t len,
                          int prefix_space, tx_side side, tok_segment_fn fn, void *state,
                          struct tok_ids *o, struct tx_error *err)
{
    struct tok_split split = {0};
    tx_status st = tok_added_split_slow(&tok->added, text, len, prefix_space, &split, err);
    for (size_t i = 0; !st && i < split.n_segs; i++) {
        const struct tok_segment *g = &split.segs[i];
        if (g->added < 0)
            st = fn(tok, state, side, split.bytes + g->pos, split.off + g->pos, g->len, o, err);
        else if (tok_ids_push(o, tok->added.tokens[g->added].id, g->ob, g->oe))
            st = txi_fail(err, TX_ERR_NOMEM, "out of memory encoding %zu bytes", len);
    }
    tok_split_free(&split);
    return st;
}

int tok_piece_list_push(struct tok_piece_list *l, const char *s, size_t n)
{
    if (txi_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v)) return -1;
    l->v[l->n].data = s;
    l->v[l->n].size = n;
    l->n++;
    return 0;
}

/* The parts of a decoded text as _decode joins them. */
struct parts {
    const struct tx_tokenizer *tok;
    tok_to_string_fn fn;
    struct txi_buf *out;
    struct tok_piece_list cur; /* pieces of the text part being gathered */
    int first;                 /* no part written yet */
    int n_ids;                 /* named in the out-of-memory error */
};

/* The out-of-memory error of a decode call. */
static tx_status parts_oom(const struct parts *p, struct tx_error *err)
{
    return txi_fail(err, TX_ERR_NOMEM, "out of memory decoding %d ids", p->n_ids);
}

/* Writes the gathered pieces as one part; drop_empty: a part that converts to "" is left out
 * with its separator (as _decode drops empty strings between legacy added tokens). */
static tx_status flush_part(struct parts *p, int drop_empty, struct tx_error *err)
{
    if (!p->cur.n) return TX_OK;
    size_t before = p->out->len;
    if (!p->first && txi_buf_putc(p->out, ' ')) return parts_oom(p, err);
    size_t mark = p->out->len;
    tx_status st = p->fn(p->tok, p->cur.v, p->cur.n, p->out, err);
    if (st) return st;
    if (drop_empty && p->out->len == mark) {
        p->out->len = before;
        p->out->data[before] = '\0';
    } else {
        p->first = 0;
    }
    p->cur.n = 0;
    return TX_OK;
}

/* Is id one of the legacy added tokens that _decode keeps apart? */
static int is_legacy_added(const struct tx_tokenizer *tok, int32_t id)
{
    int a = tok->added_of_id[id];
    return a >= 0 && (!tok->added.tokens[a].special ||
                      (tok->added.tokens[a].additional && id >= tok->vocab_size));
}

/* Adds the piece of one id: gathered for the current part, or written as a part of its own. */
static tx_status add_piece(struct parts *p, int32_t id, const char *s, size_t len,
                           struct tx_error *err)
{
    if (!is_legacy_added(p->tok, id))
        return tok_piece_list_push(&p->cur, s, len) ? parts_oom(p, err) : TX_OK;
    tx_status st = flush_part(p, 1, err);
    if (st) return st;
    if ((!p->first && txi_buf_putc(p->out, ' ')) || txi_buf_append(p->out, s, len))
        return parts_oom(p, err);
    p->first = 0;
    return TX_OK;
}

tx_status tok_slow_decode(const struct tx_tokenizer *tok, const int32_t *ids, int n_ids,
                          int skip_special, tok_to_string_fn fn, struct txi_buf *out,
                          struct tx_error *err)
{
    struct parts p = {tok, fn, out, {0}, 1, n_ids};
    tx_status st = TX_OK;
    for (int i = 0; i < n_ids && !st; i++) {
        int32_t id = ids[i];
        if (skip_special && tok->special[id]) continue;
        size_t len;
        const char *s = tok_piece_of(tok, id, &len);
        if (!s)
            st = txi_fail(err, TX_ERR_INVALID, "ids[%d] = %d has no token", i, id);
        else
            st = add_piece(&p, id, s, len, err);
    }
    if (!st) st = flush_part(&p, 0, err);
    free(p.cur.v);
    return st;
}

void tok_py_strip(const char *s, size_t *b, size_t *e)
{
    while (*b < *e) {
        uint32_t cp;
        int n = txi_utf8_decode(s + *b, *e - *b, &cp);
        if (n <= 0 || !txi_utf8_is_py_space(cp)) break;
        *b += (size_t)n;
    }
    while (*e > *b) {
        size_t k = *e - 1;
        while (k > *b && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        uint32_t cp;
        int n = txi_utf8_decode(s + k, *e - k, &cp);
        if (n <= 0 || !txi_utf8_is_py_space(cp)) break;
        *e = k;
    }
}

void tok_map_span(const uint32_t *off, uint32_t b, uint32_t e, uint32_t *ob, uint32_t *oe)
{
    *ob = off[b];
    *oe = e > b ? off[e - 1] + 1 : *ob;
    if (*oe < *ob) *oe = *ob;
}

/* ---------------------------------------------------------------------------------------- */
/* SentencePiece kinds                                                                       */
/* ---------------------------------------------------------------------------------------- */

int32_t tok_sp_piece_id(const struct tx_tokenizer *tok, const struct tok_spm *sp,
                        const struct txi_strmap *vocab, const char *s, size_t n)
{
    int a = tok_added_find(&tok->added, s, n);
    if (a >= 0) return tok->added.tokens[a].id;
    if (vocab) {
        int32_t id;
        return txi_strmap_get(vocab, s, n, &id) ? id : tok->unk_id;
    }
    return tok_spm_piece_to_id(sp, s, n);
}

int32_t *tok_sp_piece_map(const struct tx_tokenizer *tok, const struct tok_spm *sp,
                          const struct txi_strmap *vocab)
{
    int32_t n = tok_spm_n_pieces(sp);
    int32_t *map = malloc((size_t)n * sizeof *map);
    if (!map) return NULL;
    for (int32_t id = 0; id < n; id++) {
        struct spm_bytes pc = tok_spm_id_to_piece(sp, id);
        map[id] = tok_sp_piece_id(tok, sp, vocab, pc.data, pc.size);
    }
    return map;
}

tx_status tok_sp_encode_text(const struct tx_tokenizer *tok, const struct tok_spm *sp,
                             const struct txi_strmap *vocab, const int32_t *map, const char *text,
                             size_t len, const uint32_t *off, struct tok_spm_encoding *enc,
                             struct tok_ids *o, struct tx_error *err)
{
    if (len == 0) return TX_OK;
    tx_status st = tok_spm_encode(sp, text, len, enc, err);
    if (st) return st;
    for (size_t i = 0; i < enc->n_pieces; i++) {
        char tmp[8];
        size_t pl;
        const struct tok_spm_piece *p = &enc->pieces[i];
        int32_t id;
        if (map && tok_spm_type(sp, p->id) != SPM_UNKNOWN) {
            id = map[p->id];
        } else {
            const char *pc = tok_spm_piece_text(enc, i, tmp, &pl);
            id = tok_sp_piece_id(tok, sp, vocab, pc, pl);
        }
        uint32_t ob, oe;
        if (p->ob < len)
            tok_map_span(off, p->ob, p->oe, &ob, &oe);
        else
            ob = oe = off[len - 1] + 1;
        if (tok_ids_push(o, id, ob, oe)) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    return TX_OK;
}
