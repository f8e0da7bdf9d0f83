/* tok_common.h — the tx_tokenizer object, the table of operations behind each tokenizer kind,
 * and the per-id tables every kind fills (internal). */
#ifndef ATTNSERVE_TOK_COMMON_H
#define ATTNSERVE_TOK_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "tok_added.h"
#include "tok_bpe.h"
#include "containers.h"
#include "tx.h"

#include <jansson.h>

struct tx_tokenizer;

/* What a kind's load reads: the model folder and its tokenizer_config.json. Borrowed for the
 * duration of the load call. */
struct tok_source {
    const char *dir;
    json_t *cfg;           /* tokenizer_config.json (merged with the legacy files), never NULL */
    const char *cfg_path;  /* dir/tokenizer_config.json (named in errors) */
    const char *cls;       /* its tokenizer_class, or NULL */
    const char *file_path; /* the one model file detection found (plain SentencePiece), or NULL */
};

/* Token ids and their original byte spans, grown by tok_ids_push. */
struct tok_ids {
    int32_t *ids;   /* (cap) */
    uint32_t *offs; /* (cap, 2) [begin, end) of each id in the input text */
    size_t n, cap;
};

/* One tokenizer kind (Marian, T5, byte-level BPE, plain SentencePiece, tokenizer.json). Every
 * operation is required; tokenizer.c dispatches through it and does the checks common to all
 * kinds (arguments, UTF-8, id range, clean-up of spaces) itself. */
struct tok_kind_ops {
    tx_tokenizer_kind kind;
    /* 1: transformers' slow-tokenizer loading, which first merges special_tokens_map.json,
     * added_tokens.json and tokenizer.json's added tokens into the config (tok_config.h). */
    int reads_legacy_files;
    /* Sets tok->impl (owned, released by free even when load fails), the per-id tables, the
     * special ids and vocab_size. Errors name the file and the fact. */
    tx_status (*load)(struct tx_tokenizer *tok, const struct tok_source *src, struct tx_error *err);
    /* Appends the ids (and spans) of text[0..len) (valid UTF-8), special tokens included. */
    tx_status (*encode)(const struct tx_tokenizer *tok, const char *text, size_t len, tx_side side,
                        struct tok_ids *out, struct tx_error *err);
    /* Appends the text of ids (each in [0, tok->n_ids)) before clean_up_tokenization. */
    tx_status (*decode)(const struct tx_tokenizer *tok, const int32_t *ids, int n_ids,
                        int skip_special, struct txi_buf *out, struct tx_error *err);
    /* Releases tok->impl (NULL allowed). */
    void (*free)(void *impl);
};

extern const struct tok_kind_ops tok_marian_ops;   /* kind_marian.c */
extern const struct tok_kind_ops tok_t5_ops;       /* kind_t5.c */
extern const struct tok_kind_ops tok_byte_bpe_ops; /* kind_byte_bpe.c */
extern const struct tok_kind_ops tok_spm_ops;      /* kind_spm.c */
extern const struct tok_kind_ops tok_json_ops;     /* kind_json.c */

/* What every kind shares; the rest lives in impl, which only its kind's file reads. */
struct tx_tokenizer {
    const struct tok_kind_ops *ops;
    void *impl;             /* the kind's state (owned through ops->free) */
    int32_t n_ids;          /* valid ids: [0, n_ids) */
    struct txi_buf pool;    /* piece strings, NUL-separated */
    size_t *piece_off;      /* (n_ids) offset in pool, or SIZE_MAX for an id without piece */
    uint32_t *piece_len;    /* (n_ids) */
    unsigned char *special; /* (n_ids) 1 = one of transformers' all_special_ids */
    int32_t *added_of_id;   /* (n_ids) index into added.tokens, or -1 */
    int32_t eos_id, pad_id, bos_id, unk_id;
    int32_t vocab_size; /* the tokenizer's vocab_size property (T5: sp size, w/o extra ids) */
    int clean_up;       /* clean_up_tokenization_spaces */
    /* display pieces through this byte-level alphabet (borrowed from impl), or NULL */
    const struct tok_bpe *byte_level;
    struct tok_added added;
};

/* Allocates the per-id tables for n_ids ids (pieces absent, nothing special). -1 on OOM. */
int tok_alloc_ids(struct tx_tokenizer *tok, int32_t n_ids);
/* Grows the per-id tables to n_ids (> tok->n_ids); new ids have no piece. -1 on OOM. */
int tok_grow_ids(struct tx_tokenizer *tok, int32_t n_ids);
/* Sets the piece of id (copied into the pool); grows nothing: ids must be < n_ids. -1 on OOM
 * or a bad id. */
int tok_set_piece(struct tx_tokenizer *tok, int32_t id, const char *s, size_t n);
/* The piece of id (borrowed from tok, *len bytes, NUL-terminated), or NULL when it has none. */
const char *tok_piece_of(const struct tx_tokenizer *tok, int32_t id, size_t *len);
/* Finishes tok->added and records each added token (inside [0, n_ids)) in the per-id tables:
 * its index, its special flag and its content as the piece. -1 on OOM. */
int tok_finish_added(struct tx_tokenizer *tok);
/* One past the largest id of the added tokens, at least n. */
int32_t tok_added_end(const struct tx_tokenizer *tok, int32_t n);
/* Is s[0..n) the content of an added token that is one of all_special_tokens? */
int tok_is_special_string(const struct tx_tokenizer *tok, const char *s, size_t n);

/* Appends (id, [ob, oe)) to o. -1 on OOM or past INT_MAX ids. */
int tok_ids_push(struct tok_ids *o, int32_t id, uint32_t ob, uint32_t oe);

#endif
