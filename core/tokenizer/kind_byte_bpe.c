/* kind_byte_bpe.c — byte-level BPE from vocab.json + merges.txt: GPT2Tokenizer and its
 * RoBERTa/BART descendants (<s> ... </s> wrapping, add_prefix_space), as transformers 4.35. */
#include "kind_slow.h"
#include "tok_config.h"
#include "txi.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

struct byte_bpe {
    struct tok_bpe bpe;
    int has_bpe;
    int add_prefix_space;
    int wrap_cls_sep; /* RoBERTa/BART: <s> ... </s> */
    int add_bos;      /* GPT-2 add_bos_token */
};

/* Releases a struct byte_bpe (NULL allowed). */
static void byte_bpe_free(void *impl)
{
    struct byte_bpe *b = impl;
    if (!b) return;
    if (b->has_bpe) tok_bpe_free(&b->bpe);
    free(b);
}

/* SPECIAL_TOKENS_ATTRIBUTES order; BartTokenizer/RobertaTokenizer make <mask> lstrip. Sets the
 * special ids. -1 on OOM. */
static int add_specials(struct tx_tokenizer *tok, struct byte_bpe *b, json_t *cfg, int gpt2)
{
    static const char *const keys[7] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                        "pad_token", "cls_token", "mask_token"};
    static const char *const defs_bart[7] = {"<s>",   "</s>", "<unk>", "</s>",
                                             "<pad>", "<s>",  "<mask>"};
    static const char *const defs_gpt2[7] = {
        "<|endoftext|>", "<|endoftext|>", "<|endoftext|>", NULL, NULL, NULL, NULL};
    int32_t ids[7];
    int32_t next = b->bpe.max_id + 1;
    for (int i = 0; i < 7; i++) {
        struct tok_special s;
        tok_read_special(cfg, keys[i], gpt2 ? defs_gpt2[i] : defs_bart[i], &s);
        ids[i] = -1;
        if (!s.present) continue;
        ids[i] = tok_add_special(tok, &s, tok_vocab_id(&b->bpe.vocab, s.content), &next,
                                 i == 6 && !gpt2);
        if (ids[i] < 0) return -1;
    }
    tok->bos_id = b->wrap_cls_sep ? ids[5] : ids[0]; /* cls for RoBERTa-style wrapping */
    tok->eos_id = b->wrap_cls_sep ? ids[3] : ids[1]; /* sep */
    if (tok->bos_id < 0) tok->bos_id = ids[0];
    if (tok->eos_id < 0) tok->eos_id = ids[1];
    tok->unk_id = ids[2];
    tok->pad_id = ids[4];
    b->bpe.unk_id = ids[2];
    return 0;
}

/* The vocabulary's pieces and the added tokens over them. -1 on OOM. */
static int fill_pieces(struct tx_tokenizer *tok, const struct byte_bpe *b)
{
    if (tok_alloc_ids(tok, tok_added_end(tok, b->bpe.max_id + 1))) return -1;
    for (size_t i = 0; i < b->bpe.vocab.n; i++) {
        const struct txi_strmap_entry *e = &b->bpe.vocab.entries[i];
        if (tok_set_piece(tok, e->value, txi_strmap_key(&b->bpe.vocab, i), e->len)) return -1;
    }
    return tok_finish_added(tok);
}

/* GPT2Tokenizer/BartTokenizer.__init__: vocab.json and merges.txt, the config's flags,
 * added_tokens_decoder, then the special tokens. */
static tx_status byte_bpe_load(struct tx_tokenizer *tok, const struct tok_source *src,
                               struct tx_error *err)
{
    struct byte_bpe *b = calloc(1, sizeof *b);
    if (!b) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    tok->impl = b;
    char vp[4096], mp[4096];
    txi_path_join(vp, sizeof vp, src->dir, "vocab.json");
    txi_path_join(mp, sizeof mp, src->dir, "merges.txt");
    tx_status st = tok_bpe_load_files(&b->bpe, vp, mp, err);
    if (st) return st;
    b->has_bpe = 1;
    tok->byte_level = &b->bpe;
    int gpt2 = src->cls && strstr(src->cls, "GPT2") != NULL;
    b->add_prefix_space = tok_cfg_bool(src->cfg, "add_prefix_space", 0);
    b->wrap_cls_sep = !gpt2;
    b->add_bos = gpt2 && tok_cfg_bool(src->cfg, "add_bos_token", 0);
    st = tok_apply_added_tokens_decoder(tok, src->cfg, src->cfg_path, err);
    if (st) return st;
    if (add_specials(tok, b, src->cfg, gpt2) || fill_pieces(tok, b))
        return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", src->dir);
    tok->vocab_size = (int32_t)b->bpe.vocab.n;
    return TX_OK;
}

/* Scratch of one encode call. */
struct bpe_scratch {
    struct tok_bpe_scratch bpe;
    int32_t *syms; /* (syms_cap) initial symbols of one pattern chunk */
    size_t syms_cap;
};

/* Appends the ids of the merged symbols of one chunk whose byte i came from offset off[i]. */
static int push_merged(const struct tx_tokenizer *tok, const struct tok_bpe *bpe,
                       const struct tok_bpe_scratch *sc, const uint32_t *off, struct tok_ids *o)
{
    for (size_t k = 0; k < sc->n_out; k++) {
        const struct tok_bpe_out *r = &sc->out[k];
        int32_t id = bpe->sym_id[r->sym];
        const char *str = txi_strmap_key(&bpe->syms, (size_t)r->sym);
        int a = tok_added_find(&tok->added, str, bpe->syms.entries[r->sym].len);
        if (a >= 0) id = tok->added.tokens[a].id;
        if (id < 0) id = tok->unk_id;
        uint32_t ob, oe;
        tok_map_span(off, r->start, r->end, &ob, &oe);
        if (tok_ids_push(o, id, ob, oe)) return -1;
    }
    return 0;
}

/* GPT2Tokenizer._tokenize: pattern chunks, bytes -> byte characters, bpe(), vocab. */
static tx_status byte_bpe_segment(const struct tx_tokenizer *tok, void *state, tx_side side,
                                  const char *s, const uint32_t *off, size_t n, struct tok_ids *o,
                                  struct tx_error *err)
{
    const struct byte_bpe *b = tok->impl;
    struct bpe_scratch *sc = state;
    (void)side;
    for (size_t i = 0; i < n;) {
        size_t m = tok_gpt2_pretok_next(s + i, n - i);
        if (txi_grow((void **)&sc->syms, &sc->syms_cap, m, sizeof *sc->syms))
            return txi_fail(err, TX_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < m; k++)
            sc->syms[k] = b->bpe.byte_sym[(unsigned char)s[i + k]];
        if (tok_bpe_merge(&b->bpe, &sc->bpe, sc->syms, m))
            return txi_fail(err, TX_ERR_NOMEM, "out of memory in BPE");
        if (push_merged(tok, &b->bpe, &sc->bpe, off + i, o))
            return txi_fail(err, TX_ERR_NOMEM, "out of memory");
        i += m;
    }
    return TX_OK;
}

/* [<s>] pieces [</s>]: RoBERTa/BART wrap every text; GPT-2 only prepends add_bos_token's bos. */
static tx_status byte_bpe_encode(const struct tx_tokenizer *tok, const char *text, size_t len,
                                 tx_side side, struct tok_ids *out, struct tx_error *err)
{
    const struct byte_bpe *b = tok->impl;
    /* RoBERTa/BART add_prefix_space: " " + text unless it starts with whitespace */
    int prefix = 0;
    if (b->add_prefix_space && len > 0) {
        uint32_t cp;
        txi_utf8_decode(text, len, &cp);
        prefix = !txi_utf8_is_py_space(cp);
    }
    if ((b->wrap_cls_sep || b->add_bos) && tok_ids_push(out, tok->bos_id, 0, 0))
        return txi_fail(err, TX_ERR_NOMEM, "out of memory encoding %zu bytes", len);
    struct bpe_scratch sc = {0};
    tx_status st = tok_slow_encode(tok, text, len, prefix, side, byte_bpe_segment, &sc, out, err);
    tok_bpe_scratch_free(&sc.bpe);
    free(sc.syms);
    if (!st && b->wrap_cls_sep && tok_ids_push(out, tok->eos_id, (uint32_t)len, (uint32_t)len))
        st = txi_fail(err, TX_ERR_NOMEM, "out of memory encoding %zu bytes", len);
    return st;
}

/* bytearray(byte_decoder[c] for c in text).decode("utf-8", errors="replace") */
static tx_status byte_bpe_to_string(const struct tx_tokenizer *tok, const struct spm_bytes *t,
                                    size_t n, struct txi_buf *out, struct tx_error *err)
{
    const struct byte_bpe *b = tok->impl;
    struct txi_buf s = {0};
    int rc = txi_buf_reserve(&s, 0);
    for (size_t i = 0; i < n && !rc; i++)
        rc = tok_bpe_unbyte(&b->bpe, t[i].data, t[i].size, &s);
    for (size_t i = 0; i < s.len && !rc;) {
        uint32_t cp;
        int l = txi_utf8_decode_replace(s.data + i, s.len - i, &cp);
        rc = cp == 0xFFFD && (l != 3 || memcmp(s.data + i, "\xEF\xBF\xBD", 3))
                 ? txi_buf_append(out, "\xEF\xBF\xBD", 3)
                 : txi_buf_append(out, s.data + i, (size_t)l);
        i += (size_t)l;
    }
    txi_buf_free(&s);
    return rc ? txi_fail(err, TX_ERR_NOMEM, "out of memory decoding") : TX_OK;
}

/* PreTrainedTokenizer._decode with the byte-level convert_tokens_to_string. */
static tx_status byte_bpe_decode(const struct tx_tokenizer *tok, const int32_t *ids, int n_ids,
                                 int skip_special, struct txi_buf *out, struct tx_error *err)
{
    return tok_slow_decode(tok, ids, n_ids, skip_special, byte_bpe_to_string, out, err);
}

const struct tok_kind_ops tok_byte_bpe_ops = {
    .kind = TX_TOKENIZER_BYTE_BPE,
    .reads_legacy_files = 1,
    .load = byte_bpe_load,
    .encode = byte_bpe_encode,
    .decode = byte_bpe_decode,
    .free = byte_bpe_free,
};
