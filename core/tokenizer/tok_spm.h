/* tok_spm.h — a SentencePiece processor over a .model file: normalize, segment (unigram or BPE),
 * turn the result into pieces (merging unknown runs, byte fallback), and decode pieces back to
 * text — as sentencepiece 0.1.97's SentencePieceProcessor does. */
#ifndef ATTNSERVE_TOK_SPM_H
#define ATTNSERVE_TOK_SPM_H

#include <stddef.h>
#include <stdint.h>

#include "tok_normalizer.h"
#include "tok_spm_proto.h"
#include "tok_trie.h"
#include "tok_unigram.h"
#include "containers.h"
#include "tx.h"

struct tok_spm {
    char name[256]; /* file name used in errors */
    struct spm_model_proto proto;
    int32_t unk_id;
    struct txi_strmap pieces;   /* NORMAL, USER_DEFINED and UNUSED pieces -> id */
    struct txi_strmap reserved; /* CONTROL, UNKNOWN and BYTE pieces -> id */
    struct tok_trie trie;       /* the same keys as pieces (unigram lattice) */
    struct tok_trie user_symbols;
    float *scores;            /* (n_pieces) */
    unsigned char *uni_flags; /* (n_pieces) UNI_* */
    struct tok_unigram unigram;
    int32_t byte_id[256]; /* id of <0xNN>, or -1 */
    struct tok_normalizer normalizer;
    int has_denormalizer;
    struct tok_normalizer denormalizer;
};

/* Loads a .model file. Errors name the file and the field: TX_ERR_IO, TX_ERR_FORMAT (truncated
 * or malformed protobuf, duplicate pieces, no <unk>, missing byte pieces...),
 * TX_ERR_UNSUPPORTED (WORD/CHAR models). Read-only afterwards; thread-safe. */
tx_status tok_spm_load(struct tok_spm *m, const char *path, struct tx_error *err);
/* Same from a buffer the processor takes ownership of (malloc'd; freed also on failure). */
tx_status tok_spm_load_buffer(struct tok_spm *m, char *data, size_t size, const char *name,
                              struct tx_error *err);
void tok_spm_free(struct tok_spm *m);

static inline int tok_spm_n_pieces(const struct tok_spm *m)
{
    return m->proto.n_pieces;
}
static inline int tok_spm_type(const struct tok_spm *m, int32_t id)
{
    return m->proto.pieces[id].type;
}
static inline struct spm_bytes tok_spm_id_to_piece(const struct tok_spm *m, int32_t id)
{
    return m->proto.pieces[id].piece;
}
/* ModelInterface::PieceToId: reserved pieces first, then the normal ones, else unk_id. */
int32_t tok_spm_piece_to_id(const struct tok_spm *m, const char *piece, size_t len);

/* One output piece of tok_spm_encode. */
struct tok_spm_piece {
    int32_t id;
    uint32_t nb, ne; /* piece text = normalized[nb, ne) (empty for byte pieces) */
    int byte;        /* 0..255 for a byte-fallback piece "<0xNN>", else -1 */
    uint32_t ob, oe; /* span of the input text it came from */
};

/* Result and scratch of tok_spm_encode; reusable, free with tok_spm_encoding_free. */
struct tok_spm_encoding {
    struct txi_buf norm;
    uint32_t *n2o;
    size_t n2o_cap;
    struct tok_unigram_scratch uni;
    struct tok_spm_piece *pieces;
    size_t n_pieces, cap;
    void *bpe_scratch; /* owned, for BPE models */
};

/* SentencePieceProcessor::Encode of text[0..len) (valid UTF-8): fills enc->pieces. */
tx_status tok_spm_encode(const struct tok_spm *m, const char *text, size_t len,
                         struct tok_spm_encoding *enc, struct tx_error *err);
void tok_spm_encoding_free(struct tok_spm_encoding *enc);

/* The piece string of enc->pieces[i]: a span of the normalized text, or "<0xNN>" written to tmp.
 * Borrowed (from enc or tmp). */
const char *tok_spm_piece_text(const struct tok_spm_encoding *enc, size_t i, char tmp[8],
                               size_t *len);

/* SentencePieceProcessor::Decode(pieces): appends the text of n pieces to out. */
tx_status tok_spm_decode_pieces(const struct tok_spm *m, const struct spm_bytes *pieces, size_t n,
                                struct txi_buf *out, struct tx_error *err);

#endif
