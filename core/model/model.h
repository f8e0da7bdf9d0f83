/* model.h — the loaded model: configuration plus pointers to every weight (internal). */
#ifndef ATTNSERVE_MODEL_H
#define ATTNSERVE_MODEL_H

#include <jansson.h>
#include <stdint.h>

#include "model_config.h"
#include "ops.h"
#include "quant.h"
#include "safetensors.h"
#include "tx.h"

struct txi_attn_weights {
    struct txi_linear q, k, v, o; /* q,k,v: (inner, d_model); o: (d_model, inner) */
};

struct txi_layer {
    struct txi_attn_weights self_attn;
    struct txi_norm self_norm;
    struct txi_attn_weights cross_attn; /* decoder layers only */
    struct txi_norm cross_norm;
    struct txi_linear fc1;      /* (ffn, d_model); T5 wi or wi_0 */
    struct txi_linear fc1_gate; /* T5 gated: wi_1; else w == NULL */
    struct txi_linear fc2;      /* (d_model, ffn) */
    struct txi_norm ffn_norm;
};

struct txi_stack {
    int n_layers;
    struct txi_layer *layers; /* (n_layers), owned by the model */
    const float *embed;       /* (n_embed, d_model) token embedding; NULL when int8/F16 */
    int n_embed;
    const void *embed_q;      /* (n_embed, d_model) int8 (with embed_scale) or F16, or NULL */
    const float *embed_scale; /*   (n_embed) per-row int8 scales (quant.h), or NULL */
    txi_wfmt embed_fmt;       /*   the format of embed_q */
    const float *pos;         /* (n_pos, d_model) position table (row p + pos_offset), or NULL */
    int n_pos;
    struct txi_norm emb_norm;   /* BART layernorm_embedding; w NULL when absent */
    struct txi_norm final_norm; /* mBART layer_norm / T5 final_layer_norm; w NULL when absent */
    const float *rel_bias;      /* T5: (n_buckets, n_heads) from layer 0; else NULL */
};

/* rnn_seq2seq weights (PyTorch names, docs/rnn_seq2seq.md). A cell layer: ih (G*n, in) with
 * bias_ih, hh (G*n, n) with bias_hh; G = 4 (LSTM gates i, f, g, o) or 3 (GRU r, z, n). */
struct txi_rnn_layer {
    struct txi_linear ih, hh;
};

struct txi_rnn_weights {
    const float *enc_embed, *dec_embed; /* (vocab, emb) */
    struct txi_rnn_layer *enc_fw;       /* (enc_layers) encoder.rnn.*_l<k> */
    struct txi_rnn_layer *enc_bw;       /* (enc_layers) encoder.rnn.*_l<k>_reverse, or NULL */
    struct txi_rnn_layer *dec;          /* (dec_layers) decoder.rnn.*_l<k> */
    struct txi_linear bridge;           /* (hidden, hidden) with bias: h0 = tanh(bridge(mean)) */
    struct txi_linear key_proj, query_proj; /* additive: (hidden, hidden), no bias */
    const float *v;                         /* additive: (hidden) */
    struct txi_linear attn_w;               /* general: (hidden, hidden), no bias */
    struct txi_linear combine;              /* (hidden, 2 hidden), no bias */
    struct txi_linear lm_head;              /* (vocab, hidden) with bias */
};

/* han weights (tools/train/han.py names), all F32. */
struct txi_han_weights {
    const float *embed;                 /* (vocab, emb) embed_tokens */
    struct txi_rnn_layer word_fw, word_bw; /* word_rnn GRU, gates r, z, n */
    struct txi_linear word_proj;        /* (2 wh, 2 wh) with bias */
    const float *word_context;          /* (2 wh) */
    struct txi_rnn_layer sent_fw, sent_bw;
    struct txi_linear sent_proj;        /* (2 sh, 2 sh) with bias */
    const float *sent_context;          /* (2 sh) */
    const float *content;               /* (2 sh) content.weight */
    struct txi_linear salience;         /* (2 sh, 2 sh), no bias */
    const float *position;              /* (max_positions) position.weight */
    const float *bias;                  /* (1) */
};

struct tx_model {
    struct txi_config cfg;
    struct txi_han_weights han; /* TX_ARCH_HAN only */
    struct txi_rnn_weights rnn; /* TX_ARCH_RNN only */
    struct txi_stack enc, dec;
    const float *lm_head;       /* (dec_vocab, d_model); NULL when int8/F16 */
    const void *lm_head_q;      /* (dec_vocab, d_model) int8 (with lm_head_scale) or F16 */
    const float *lm_head_scale; /*   (dec_vocab), int8 only */
    txi_wfmt lm_head_fmt;
    const float *final_logits_bias; /* (dec_vocab) or NULL (zeros) */
    struct tx_gen_params gen;       /* checkpoint defaults */
    struct tx_model_info info;
    json_t *config_json;       /* kept for task_specific_params */
    struct txi_st_file *files; /* (n_files) mapped safetensors */
    int n_files;
    void **owned; /* buffers the model owns (converted tensors, tables) */
    int n_owned, cap_owned;
    char dtype[8];
    /* Loading with any dtype but TX_DTYPE_F32: the F16, BF16 and int8 (attnserve's int8
     * checkpoints, tools/quantize_int8.py) weight matrices bound in place, unwidened. Their
     * "float" pointer is a key (the tensor's start rounded down to 4 bytes, so that the pointer
     * is aligned for its type; never read as floats) and data the stored values, which only
     * txi_model_reduce picks up (adopted as they are, or converted row by row: never widened
     * whole). Freed with the model. */
    struct txi_mapped {
        const float *key;
        const void *data;
        const float *scale; /* int8: (rows) F32 scales in the mapping; else NULL */
        txi_wfmt fmt;       /* TXI_W_F16, TXI_W_BF16 or TXI_W_Q8 */
    } * mapped;
    int n_mapped, cap_mapped;
};

/* The stored data behind a key of m->mapped (its format into *fmt and, for int8, its scales
 * into *scale, each when not NULL), or NULL when p is not one. */
const void *txi_model_mapped(const tx_model *m, const void *p, txi_wfmt *fmt,
                             const float **scale);

/* Adds p to the buffers the model frees (tx_model_free); -1 on OOM (p is then not owned). */
int txi_model_own(tx_model *m, void *p);

/* Replaces every linear layer, embedding and output projection by int8 (TXI_W_Q8, TXI_W_Q8A8)
 * or F16 (TXI_W_F16) weights (quantize.c). adopt_only (f ignored): only the matrices bound in
 * place from F16, BF16 or int8 tensors (mapped) switch to that form, without a copy; the others
 * stay F32. */
tx_status txi_model_reduce(tx_model *m, txi_wfmt f, int adopt_only, struct tx_error *err);

#endif
