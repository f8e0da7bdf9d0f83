/* tok_common.c — the per-id tables of a tx_tokenizer (pieces, special flags, added tokens) and
 * the growing id/offset list that encoders append to. */
#include "tok_common.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int tok_alloc_ids(struct tx_tokenizer *tok, int32_t n_ids)
{
    if (n_ids <= 0) n_ids = 1;
    tok->n_ids = n_ids;
    tok->piece_off = malloc((size_t)n_ids * sizeof *tok->piece_off);
    tok->piece_len = calloc((size_t)n_ids, sizeof *tok->piece_len);
    tok->special = calloc((size_t)n_ids, 1);
    tok->added_of_id = malloc((size_t)n_ids * sizeof *tok->added_of_id);
    if (!tok->piece_off || !tok->piece_len || !tok->special || !tok->added_of_id) return -1;
    for (int32_t i = 0; i < n_ids; i++) {
        tok->piece_off[i] = SIZE_MAX;
        tok->added_of_id[i] = -1;
    }
    return 0;
}

int tok_grow_ids(struct tx_tokenizer *tok, int32_t n_ids)
{
    size_t n = (size_t)n_ids, old = (size_t)tok->n_ids;
    size_t *po = realloc(tok->piece_off, n * sizeof *po);
    if (!po) return -1;
    tok->piece_off = po;
    uint32_t *pl = realloc(tok->piece_len, n * sizeof *pl);
    if (!pl) return -1;
    tok->piece_len = pl;
    unsigned char *sp = realloc(tok->special, n);
    if (!sp) return -1;
    tok->special = sp;
    int32_t *ao = realloc(tok->added_of_id, n * sizeof *ao);
    if (!ao) return -1;
    tok->added_of_id = ao;
    for (size_t i = old; i < n; i++) {
        po[i] = SIZE_MAX;
        pl[i] = 0;
        sp[i] = 0;
        ao[i] = -1;
    }
    tok->n_ids = n_ids;
    return 0;
}

int tok_set_piece(struct tx_tokenizer *tok, int32_t id, const char *s, size_t n)
{
    if (id < 0 || id >= tok->n_ids || n > UINT32_MAX) return -1;
    size_t off = tok->pool.len;
    if (txi_buf_append(&tok->pool, s, n) || txi_buf_putc(&tok->pool, '\0')) return -1;
    tok->piece_off[id] = off;
    tok->piece_len[id] = (uint32_t)n;
    return 0;
}

const char *tok_piece_of(const struct tx_tokenizer *tok, int32_t id, size_t *len)
{
    if (id < 0 || id >= tok->n_ids || tok->piece_off[id] == SIZE_MAX) return NULL;
    *len = tok->piece_len[id];
    return tok->pool.data + tok->piece_off[id];
}

int tok_finish_added(struct tx_tokenizer *tok)
{
    if (tok_added_finish(&tok->added)) return -1;
    for (int i = 0; i < tok->added.n; i++) {
        const struct tok_added_token *t = &tok->added.tokens[i];
        if (t->id < 0 || t->id >= tok->n_ids) continue;
        tok->added_of_id[t->id] = i;
        if (t->special) tok->special[t->id] = 1;
        if (tok_set_piece(tok, t->id, t->content, t->len)) return -1;
    }
    return 0;
}

int32_t tok_added_end(const struct tx_tokenizer *tok, int32_t n)
{
    for (int i = 0; i < tok->added.n; i++)
        if (tok->added.tokens[i].id >= n) n = tok->added.tokens[i].id + 1;
    return n;
}

int tok_is_special_string(const struct tx_tokenizer *tok, const char *s, size_t n)
{
    int a = tok_added_find(&tok->added, s, n);
    return a >= 0 && tok->added.tokens[a].special;
}

int tok_ids_push(struct tok_ids *o, int32_t id, uint32_t ob, uint32_t oe)
{
    if (o->n >= (size_t)INT_MAX - 1) return -1;
    if (o->n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        int32_t *ids = realloc(o->ids, cap * sizeof *ids);
        if (!ids) return -1;
        o->ids = ids;
        uint32_t *offs = realloc(o->offs, cap * 2 * sizeof *offs);
        if (!offs) return -1;
        o->offs = offs;
        o->cap = cap;
    }
    o->ids[o->n] = id;
    o->offs[2 * o->n] = ob;
    o->offs[2 * o->n + 1] = oe;
    o->n++;
    return 0;
}
