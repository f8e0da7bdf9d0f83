/* tok_api.h — the tx_tokenizer object shared by the tokenizer modules (internal). */
#ifndef ATTNSERVE_TOK_API_H
#define ATTNSERVE_TOK_API_H

#include <stddef.h>
#include <stdint.h>

#include "tok_added.h"
#include "tok_bpe.h"
#include "tok_spm.h"
#include "containers.h"
#include "tx.h"

struct tok_json; /* tokenizer.json pipeline (tok_json.c) */

struct tx_tokenizer {
    tx_tokenizer_kind kind;
    int32_t n_ids;          /* valid ids: [0, n_ids) */
    struct txi_buf pool;    /* piece strings, NUL-separated */
    size_t *piece_off;      /* (n_ids) offset in pool, or SIZE_MAX for an id without piece */
    uint32_t *piece_len;    /* (n_ids) */
    unsigned char *special; /* (n_ids) 1 = one of transformers' all_special_ids */
    int32_t *added_of_id;   /* (n_ids) index into added.tokens, or -1 */
    int32_t eos_id, pad_id, bos_id, unk_id;
    int clean_up;           /* clean_up_tokenization_spaces */
    int byte_level_display; /* display pieces through the byte-level alphabet */
    struct tok_added added;

    /* TX_TOKENIZER_MARIAN, _T5, _SPM */
    struct tok_spm spm;     /* Marian: source.spm; T5/SPM: the model */
    struct tok_spm spm_tgt; /* Marian: target.spm */
    int has_spm, has_spm_tgt;
    struct txi_strmap vocab;     /* Marian vocab.json (source side) */
    struct txi_strmap tgt_vocab; /* Marian target_vocab.json when separate_vocabs */
    int separate_vocabs;
    int32_t *map_src, *map_tgt; /* token id of each piece id of spm / spm_tgt (precomputed) */
    int32_t vocab_size; /* the tokenizer's vocab_size property (T5: sp size, w/o extra ids) */

    /* TX_TOKENIZER_BYTE_BPE */
    struct tok_bpe bpe;
    int has_bpe;
    int add_prefix_space;
    int wrap_cls_sep; /* RoBERTa/BART: <s> ... </s> */
    int add_bos;      /* GPT-2 add_bos_token */

    /* TX_TOKENIZER_JSON */
    struct tok_json *json;
};

/* Grows the per-id tables to n_ids (> tok->n_ids); new ids have no piece. -1 on OOM. */
int tok_grow_ids(struct tx_tokenizer *tok, int32_t n_ids);
/* Sets the piece of id (copied into the pool); grows nothing: ids must be < n_ids. */
int tok_set_piece(struct tx_tokenizer *tok, int32_t id, const char *s, size_t n);
/* Allocates the per-id tables for n_ids ids (pieces absent, nothing special). */
int tok_alloc_ids(struct tx_tokenizer *tok, int32_t n_ids);
/* clean_up_tokenization of transformers: appends the cleaned copy of s to out. */
int tok_clean_up_spaces(const char *s, size_t n, struct txi_buf *out);

/* tokenizer.json (tok_json.c) */
tx_status tok_json_load(struct tx_tokenizer *tok, const char *path, const char *config_path,
                        struct tx_error *err);
void tok_json_free(struct tok_json *j);
/* Encodes text as the Rust tokenizers library: ids/offsets appended through push. */
tx_status tok_json_encode(const struct tx_tokenizer *tok, const char *text, size_t len,
                          int32_t **ids, uint32_t **offs, size_t *n, size_t *cap,
                          struct tx_error *err);
tx_status tok_json_decode(const struct tx_tokenizer *tok, const int32_t *ids, int n_ids,
                          int skip_special, struct txi_buf *out, struct tx_error *err);

#endif
