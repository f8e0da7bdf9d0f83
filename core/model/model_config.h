/* model_config.h — config.json / generation_config.json of a Hugging Face checkpoint, resolved
 * into the architecture facts the model code needs (HF 4.35.2 semantics and defaults). */
#ifndef ATTNSERVE_MODEL_CONFIG_H
#define ATTNSERVE_MODEL_CONFIG_H

#include <jansson.h>

#include "ops.h"
#include "tx.h"

typedef enum { TXI_POS_NONE = 0, TXI_POS_SINUSOIDAL, TXI_POS_LEARNED } txi_pos_kind;

typedef enum { TXI_RNN_LSTM = 0, TXI_RNN_GRU } txi_rnn_cell;
typedef enum { TXI_ATT_ADDITIVE = 0, TXI_ATT_DOT, TXI_ATT_GENERAL } txi_att_kind;

/* rnn_seq2seq (docs/rnn_seq2seq.md): the fields of its config.json. */
struct txi_rnn_config {
    txi_rnn_cell cell;
    int emb;          /* embedding_size */
    int hidden;       /* hidden_size: the decoder's width and the encoder's output width */
    int enc_dir;      /* per-direction encoder width: hidden / 2 when bidirectional */
    int bidir;        /* bidirectional_encoder */
    int enc_layers, dec_layers;
    txi_att_kind att;
    int input_feeding; /* Luong variants: the previous attentional state joins the input */
    int window;        /* local_window: |source position - target position| <= window; -1 off */
    int top_k;         /* attention_top_k: only the top_k scores keep probability; 0 off */
};

/* han (tools/train/han.py): the fields of its config.json. */
struct txi_han_config {
    int emb;           /* embedding_size */
    int word_hidden;   /* per direction of the word GRU */
    int sent_hidden;   /* per direction of the sentence GRU */
    int max_positions; /* sentence positions with their own bias */
};

struct txi_config {
    tx_arch arch;
    struct txi_han_config han; /* TX_ARCH_HAN only */
    struct txi_rnn_config rnn; /* TX_ARCH_RNN only */
    char model_type[16];
    int d_model;
    int n_heads; /* encoder and decoder (must agree) */
    int d_head;  /* per-head width (T5 d_kv; else d_model / n_heads) */
    int inner;   /* n_heads * d_head: width of q/k/v */
    int n_enc_layers, n_dec_layers;
    int enc_ffn, dec_ffn;
    int vocab;     /* rows of the (encoder) embedding */
    int dec_vocab; /* rows of the decoder embedding and of the output projection */
    int max_pos;   /* max_position_embeddings; 0 = unbounded (T5) */
    txi_act act;
    int gated_ffn; /* T5 gated-*: act(wi_0 x) * (wi_1 x) */
    int pre_norm;  /* mBART and T5: norm before each sub-layer, plus a final stack norm */
    int rms_norm;  /* T5: RMSNorm without bias; else LayerNorm with bias */
    float norm_eps;
    float embed_scale; /* sqrt(d_model) when scale_embedding, else 1 */
    float attn_scale;  /* d_head^-0.5 (Marian/BART), 1 (T5) */
    txi_pos_kind pos;
    int pos_offset;       /* BART learned positions: row p + 2 */
    int emb_layernorm;    /* BART/mBART layernorm_embedding */
    int share_embeddings; /* Marian share_encoder_decoder_embeddings */
    int tie_word_embeddings;
    float lm_head_scale;         /* T5 tied: d_model^-0.5 applied to the decoder output */
    int linear_bias;             /* Marian/BART linears have biases; T5 none */
    int n_buckets, max_distance; /* T5 relative attention */
};

/* Parses config.json (already loaded as JSON) into *c. `file` names the file in messages.
 * Errors name the field: TX_ERR_FORMAT for a missing/mistyped field, TX_ERR_UNSUPPORTED for a
 * model_type or option this library does not implement. */
tx_status txi_config_parse(const json_t *root, const char *file, struct txi_config *c,
                           struct tx_error *err);

/* Reads generation settings from a generation_config.json (or config.json) object over
 * tx_gen_default_params(), as transformers' GenerationConfig does, then resolves
 * decoder_start_token_id (falls back to bos) and pad_token_id (falls back to eos). A
 * generation option this library does not implement, set to other than its default, gives
 * TX_ERR_UNSUPPORTED naming it. */
tx_status txi_gen_config_parse(const json_t *root, const char *file, int vocab,
                               struct tx_gen_params *g, struct tx_error *err);

/* Loads a JSON file with a message naming it and the position of a syntax error. Owned. */
tx_status txi_json_load(const char *path, const char *display, json_t **out, struct tx_error *err);

#endif
