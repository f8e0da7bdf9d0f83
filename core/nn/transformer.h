/* transformer.h — encoder and incremental decoder of the Marian/BART/mBART/T5 family, built on
 * the attention primitives (internal). */
#ifndef ATTNSERVE_TRANSFORMER_H
#define ATTNSERVE_TRANSFORMER_H

#include "arena.h"
#include "model.h"
#include "ops.h"

/* Encodes n_src sources laid end to end without padding (source b is tokens
 * [src_off[b], src_off[b] + src_len[b])): projections and feed-forward layers run as one
 * matrix product over all tokens, attention per source. Scratch comes from the arena. */
struct txi_enc_job {
    const int32_t *ids; /* (n_tok) */
    const int *src_off; /* (n_src) */
    const int *src_len; /* (n_src) */
    int n_src, n_tok;
    float *hidden; /* out: (n_tok, d_model) encoder output */
    float *att;    /* capture when non-NULL (n_src must be 1): (n_layers, n_heads, S, S) */
    struct txi_pool *pool; /* the session's engine threads, or NULL */
};
tx_status txi_encode(const tx_model *m, struct txi_arena *a, const struct txi_enc_job *job,
                     struct tx_error *err);

/* Decoder state: per-layer self-attention KV cache (one slot per decoding row), cross-attention
 * K/V computed once per source, and every scratch buffer a step needs, all allocated up front by
 * txi_dec_init or txi_dec_alloc (a step allocates nothing). */
struct txi_dec_state {
    int n_slots, max_len, max_rows, max_src;
    int n_src_tok;              /* capacity of the cross K/V, in source tokens */
    int reorder_slots;          /* slots txi_dec_reorder_slots can move at once */
    float **k_self, **v_self;   /* per layer: (n_slots, max_len, inner) */
    float **k_cross, **v_cross; /* per layer: (n_src_tok, inner) */
    const int *src_off, *src_len; /* source b is cross rows [src_off[b], + src_len[b]) */
    float *rel_bias; /* T5: (n_heads, max_len) for r = -(max_len - 1) .. 0 */
    float *x, *h, *q, *kv, *ctx, *ffn, *gate; /* (max_rows, ...) step scratch */
    float *scores;                            /* (max_rows, max(max_len, max_src)) */
    struct txi_gemm_ws ws;                    /* row-panel product scratch (see ops.h) */
    float *reorder;  /* (n_slots, max_len, inner) for txi_dec_reorder, or NULL */
    uint8_t *needed; /* (n_slots) */
    struct txi_rnn_dec *rnn; /* rnn_seq2seq models: their recurrent state instead (rnn.c) */
};

/* Prepares a decoder for sources already encoded in enc_hidden (n_src_tok, d_model) with the
 * given layout; n_slots cache slots of max_len positions; steps of at most max_rows token rows;
 * with_reorder allocates what beam reordering needs; pool (or NULL) runs the products. */
tx_status txi_dec_init(const tx_model *m, struct txi_arena *a, struct txi_dec_state *st,
                       const float *enc_hidden, const int *src_off, const int *src_len, int n_src,
                       int n_slots, int max_len, int max_rows, int with_reorder,
                       struct txi_pool *pool, struct tx_error *err);

/* A decoder for a changing set of sources (a decode group): caches of n_slots slots of max_len
 * positions, cross K/V for up to n_src_tok source tokens in all, sources of at most max_src
 * tokens, steps of at most max_rows rows, beam reordering of up to reorder_slots slots at once.
 * src_off/src_len are the caller's arrays (indexed by a row's src), filled as sources come;
 * rowwise makes every product batch-invariant (txi_gemm_ws.rowwise); pool (the session's
 * engine threads, or NULL) splits the products between threads (txi_gemm_ws.pool). */
tx_status txi_dec_alloc(const tx_model *m, struct txi_arena *a, struct txi_dec_state *st,
                        int n_slots, int max_len, int max_rows, int n_src_tok, int max_src,
                        int reorder_slots, const int *src_off, const int *src_len, int rowwise,
                        struct txi_pool *pool, struct tx_error *err);

/* Cross-attention keys and values of one encoded source (enc_hidden (len, d_model)) into cross
 * rows [off, off + len) of a txi_dec_alloc'd state; ws is the product scratch to use. */
void txi_dec_set_source(const tx_model *m, struct txi_dec_state *st, const float *enc_hidden,
                        int off, int len, const struct txi_gemm_ws *ws);

/* One decoder pass over n_rows rows, each adding n_new tokens at positions past..past+n_new-1
 * to its cache slot (teacher forcing: 1 row, n_new = T; generation: R rows, n_new = 1). With
 * pasts set, row r's tokens go to positions pasts[r].. instead (rows of different lengths). */
struct txi_dec_job {
    int n_rows, n_new, past;
    const int *pasts; /* (n_rows) or NULL */
    const int *slot;    /* (n_rows) cache slot of each row */
    const int *src;     /* (n_rows) source index of each row */
    const int32_t *ids; /* (n_rows, n_new) */
    float *logits;      /* out: (n_rows, n_new, dec_vocab) if all_positions, else (n_rows, V) */
    int all_positions;
    float *self_att;  /* capture (n_layers, n_heads, n_new, past + n_new); needs n_rows 1 */
    float *cross_att; /* capture (n_layers, n_heads, n_new, src_len) */
    /* per-row capture (decode groups' streaming attention), or NULL: row r's cross-attention
     * (n_layers, n_heads, n_new, src_len of its source) into cross_rows[r] where non-NULL
     * (rnn_seq2seq: n_new 1) */
    float *const *cross_rows; /* (n_rows) */
};
void txi_decode(const tx_model *m, struct txi_dec_state *st, const struct txi_dec_job *job);

/* Beam reordering: slot r takes the first `len` cached positions of old slot from[r]. */
void txi_dec_reorder(const tx_model *m, struct txi_dec_state *st, const int *from, int len);

/* Beam reordering among n slots (n <= st->reorder_slots): slot slots[i] takes the first `len`
 * cached positions of old slot slots[from[i]]. */
void txi_dec_reorder_slots(const tx_model *m, struct txi_dec_state *st, const int *slots,
                           const int *from, int n, int len);

/* The entry points above for one family of architectures: the Transformers' (transformer.c)
 * or the recurrent encoder-decoder's (rnn.c: txi_rnn_ops). txi_encode ... txi_dec_reorder_slots
 * call the model's table: one place knows which architecture runs (txi_config.arch). */
struct txi_arch_ops {
    tx_status (*encode)(const tx_model *m, struct txi_arena *a, const struct txi_enc_job *job,
                        struct tx_error *err);
    /* st's sizes and source arrays are set (txi_dec_alloc): allocate the rest */
    tx_status (*dec_alloc)(const tx_model *m, struct txi_arena *a, struct txi_dec_state *st,
                           int max_len, struct tx_error *err);
    void (*set_source)(const tx_model *m, struct txi_dec_state *st, const float *enc_hidden,
                       int off, int len, const struct txi_gemm_ws *ws);
    void (*decode)(const tx_model *m, struct txi_dec_state *st, const struct txi_dec_job *job);
    void (*reorder)(const tx_model *m, struct txi_dec_state *st, const int *from, int len);
    void (*reorder_slots)(const tx_model *m, struct txi_dec_state *st, const int *slots,
                          const int *from, int n, int len);
};

#endif
