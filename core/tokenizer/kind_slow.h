/* kind_slow.h — what the slow-tokenizer kinds (Marian, T5, byte-level BPE, plain SentencePiece)
 * share: transformers' PreTrainedTokenizer encode/decode skeleton and SentencePiece lookups. */
#ifndef ATTNSERVE_KIND_SLOW_H
#define ATTNSERVE_KIND_SLOW_H

#include <stddef.h>
#include <stdint.h>

#include "tok_common.h"
#include "tok_spm.h"

/* Encodes one text segment between added tokens: s[0..n), whose byte i came from the original
 * offset off[i]; appends to o. state is what the kind passed to tok_slow_encode. */
typedef tx_status (*tok_segment_fn)(const struct tx_tokenizer *tok, void *state, tx_side side,
                                    const char *s, const uint32_t *off, size_t n, struct tok_ids *o,
                                    struct tx_error *err);

/* PreTrainedTokenizer.tokenize + convert_tokens_to_ids: splits text[0..len) around the added
 * tokens (tok_added_split_slow; prefix_space puts a " " first), appends each added token's id
 * and encodes the text between them with fn. */
tx_status tok_slow_encode(const struct tx_tokenizer *tok, const char *text, size_t len,
                          int prefix_space, tx_side side, tok_segment_fn fn, void *state,
                          struct tok_ids *o, struct tx_error *err);

/* A kind's convert_tokens_to_string: appends the text of the pieces t[0..n) to out. */
typedef tx_status (*tok_to_string_fn)(const struct tx_tokenizer *tok, const struct spm_bytes *t,
                                      size_t n, struct txi_buf *out, struct tx_error *err);

/* PreTrainedTokenizer._decode: the pieces of ids (skipping special ones when asked), where the
 * "legacy added tokens" (added tokens that are not special, and additional special tokens past
 * vocab_size, e.g. T5's sentinels) stand apart from the text around them that fn converts;
 * the parts are joined with single spaces and appended to out (empty on entry). */
tx_status tok_slow_decode(const struct tx_tokenizer *tok, const int32_t *ids, int n_ids,
                          int skip_special, tok_to_string_fn fn, struct txi_buf *out,
                          struct tx_error *err);

/* A growing list of borrowed piece strings. */
struct tok_piece_list {
    struct spm_bytes *v; /* (cap) */
    size_t n, cap;
};
/* Appends s[0..n) (borrowed). -1 on OOM. */
int tok_piece_list_push(struct tok_piece_list *l, const char *s, size_t n);

/* Python str.strip(): trims str.isspace() characters at both ends of s[*b, *e). */
void tok_py_strip(const char *s, size_t *b, size_t *e);

/* Original span [*ob, *oe) of bytes [b, e) of a text whose byte i came from offset off[i]. */
void tok_map_span(const uint32_t *off, uint32_t b, uint32_t e, uint32_t *ob, uint32_t *oe);

/* The token id a piece string gets: an added token's id first
 * (_convert_token_to_id_with_added_voc), then vocab when given (its unk_id when absent), else
 * the SentencePiece id in sp. */
int32_t tok_sp_piece_id(const struct tx_tokenizer *tok, const struct tok_spm *sp,
                        const struct txi_strmap *vocab, const char *s, size_t n);
/* The token id of every piece of sp, as tok_sp_piece_id gives it for the piece's own string:
 * a piece that is not an unknown one (whose text is raw input) can then skip the string
 * lookups. Owned (free), NULL on OOM. */
int32_t *tok_sp_piece_map(const struct tx_tokenizer *tok, const struct tok_spm *sp,
                          const struct txi_strmap *vocab);
/* SentencePiece-encodes text[0..len) (byte i from original offset off[i]) and appends the ids
 * of the pieces: map[piece] for known pieces, else tok_sp_piece_id of the piece text. enc is
 * scratch reused across calls. */
tx_status tok_sp_encode_text(const struct tx_tokenizer *tok, const struct tok_spm *sp,
                             const struct txi_strmap *vocab, const int32_t *map, const char *text,
                             size_t len, const uint32_t *off, struct tok_spm_encoding *enc,
                             struct tok_ids *o, struct tx_error *err);

#endif
