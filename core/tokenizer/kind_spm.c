/* kind_spm.c — a plain SentencePiece model (spm.model, sentencepiece.bpe.model, ...) without a
 * transformers class: its own pieces, control/unknown pieces special, no added wrapping. */
#include "kind_slow.h"
#include "txi.h"

#include <stdlib.h>
#include <string.h>

struct plain_spm {
    struct tok_spm spm;
    int has_spm;
    int32_t *map; /* token id of each piece id (precomputed) */
};

/* Releases a struct plain_spm (NULL allowed). */
static void plain_spm_free(void *impl)
{
    struct plain_spm *p = impl;
    if (!p) return;
    if (p->has_spm) tok_spm_free(&p->spm);
    free(p->map);
    free(p);
}

/* Is piece pc the control piece s? */
static int is_control(int type, struct spm_bytes pc, const char *s)
{
    size_t n = strlen(s);
    return type == SPM_CONTROL && pc.size == n && !memcmp(pc.data, s, n);
}

/* Piece id's string, special flag and special ids. -1 on OOM. */
static int add_piece(struct tx_tokenizer *tok, const struct tok_spm *spm, int32_t id)
{
    struct spm_bytes pc = tok_spm_id_to_piece(spm, id);
    if (tok_set_piece(tok, id, pc.data, pc.size)) return -1;
    int type = tok_spm_type(spm, id);
    if (type == SPM_CONTROL || type == SPM_UNKNOWN) tok->special[id] = 1;
    if (type == SPM_UNKNOWN) tok->unk_id = id;
    if (is_control(type, pc, "</s>")) tok->eos_id = id;
    if (is_control(type, pc, "<s>")) tok->bos_id = id;
    if (is_control(type, pc, "<pad>")) tok->pad_id = id;
    return 0;
}

/* The model file detection found; every piece is a token, control and unknown pieces are
 * special. */
static tx_status plain_spm_load(struct tx_tokenizer *tok, const struct tok_source *src,
                                struct tx_error *err)
{
    struct plain_spm *p = calloc(1, sizeof *p);
    if (!p) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    tok->impl = p;
    tx_status st = tok_spm_load(&p->spm, src->file_path, err);
    if (st) return st;
    p->has_spm = 1;
    int32_t n = tok_spm_n_pieces(&p->spm);
    tok->vocab_size = n;
    if (tok_alloc_ids(tok, n)) goto oom;
    for (int32_t id = 0; id < n; id++)
        if (add_piece(tok, &p->spm, id)) goto oom;
    if (tok_finish_added(tok)) goto oom;
    if (!(p->map = tok_sp_piece_map(tok, &p->spm, NULL)))
        return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    return TX_OK;
oom:
    return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", src->file_path);
}

/* One text segment through the model. */
static tx_status plain_spm_segment(const struct tx_tokenizer *tok, void *state, tx_side side,
                                   const char *s, const uint32_t *off, size_t n, struct tok_ids *o,
                                   struct tx_error *err)
{
    const struct plain_spm *p = tok->impl;
    (void)side;
    return tok_sp_encode_text(tok, &p->spm, NULL, p->map, s, n, off, state, o, err);
}

/* The pieces only: a plain model adds no special tokens. */
static tx_status plain_spm_encode(const struct tx_tokenizer *tok, const char *text, size_t len,
                                  tx_side side, struct tok_ids *out, struct tx_error *err)
{
    struct tok_spm_encoding enc;
    memset(&enc, 0, sizeof enc);
    tx_status st = tok_slow_encode(tok, text, len, 0, side, plain_spm_segment, &enc, out, err);
    tok_spm_encoding_free(&enc);
    return st;
}

/* SentencePiece's own decoding of the pieces. */
static tx_status plain_spm_to_string(const struct tx_tokenizer *tok, const struct spm_bytes *t,
                                     size_t n, struct txi_buf *out, struct tx_error *err)
{
    const struct plain_spm *p = tok->impl;
    return tok_spm_decode_pieces(&p->spm, t, n, out, err);
}

/* PreTrainedTokenizer._decode with SentencePiece's decoding. */
static tx_status plain_spm_decode(const struct tx_tokenizer *tok, const int32_t *ids, int n_ids,
                                  int skip_special, struct txi_buf *out, struct tx_error *err)
{
    return tok_slow_decode(tok, ids, n_ids, skip_special, plain_spm_to_string, out, err);
}

const struct tok_kind_ops tok_spm_ops = {
    .kind = TX_TOKENIZER_SPM,
    .reads_legacy_files = 0,
    .load = plain_spm_load,
    .encode = plain_spm_encode,
    .decode = plain_spm_decode,
    .free = plain_spm_free,
};
