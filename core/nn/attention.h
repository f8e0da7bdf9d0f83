/* attention.h — attention primitives: scores (scaled dot, Luong general, Bahdanau additive),
 * masks (padding, causal, local window), softmax with optional hard/top-k selection, multi-head
 * attention, position encodings (sinusoidal, learned, T5 relative buckets) and rollout. The
 * encoder/decoder code is built from these; each is tested against a naive loop. */
#ifndef ATTNSERVE_ATTENTION_H
#define ATTNSERVE_ATTENTION_H

#include <stdint.h>

struct txi_gemm_ws;

/* Which keys a query may see. Query row i sits at absolute position q_pos0 + i; keys are at
 * positions 0..n_k-1. A key is visible when every enabled rule allows it. */
struct txi_attn_mask {
    int causal;               /* key position <= query position */
    int q_pos0;               /* absolute position of query row 0 */
    int window;               /* >= 0: local attention, |key - query| <= window; < 0: off */
    const uint8_t *key_valid; /* (n_k): 0 marks padding; NULL = all valid */
};

/* Additive bias that depends only on r = key position - query position (T5 relative bias):
 * score[h][i][k] += table[h * n_rel + (r - r_min)]. Must cover every visible (i, k). */
struct txi_rel_bias {
    const float *table; /* (n_heads, n_rel) */
    int n_rel;
    int r_min;
};

/* 1 when key k is visible from query row i. */
int txi_attn_visible(const struct txi_attn_mask *mask, int i, int k);

/* scores (n_q, n_k) = scale * q (n_q, d) k (n_k, d)^T: scaled dot-product / Luong "dot". */
void txi_score_dot(const float *q, int ld_q, const float *k, int ld_k, int n_q, int n_k, int d,
                   float scale, float *scores);

/* Luong "general": scores = q W k^T with W (d_q, d_k); tmp (n_q, d_k). */
void txi_score_general(const float *q, int n_q, int d_q, const float *k, int n_k, int d_k,
                       const float *w, float *tmp, float *scores);

/* Bahdanau additive: scores[i][j] = v . tanh(W_q q_i + W_k k_j) with W_q (d_a, d_q),
 * W_k (d_a, d_k), v (d_a); tmp ((n_q + n_k), d_a). */
void txi_score_additive(const float *q, int n_q, int d_q, const float *k, int n_k, int d_k,
                        const float *w_q, const float *w_k, const float *v, int d_a, float *tmp,
                        float *scores);

/* In place: scores (n_q, n_k) -> probabilities. Invisible keys get exactly 0. With top_k > 0,
 * only the top_k highest visible scores of a row survive (ties with the k-th survive too; top_k
 * = 1 is hard attention); tmp (n_k) is then needed, else may be NULL. A row with no visible key
 * becomes all zeros. */
void txi_attn_softmax(float *scores, int n_q, int n_k, const struct txi_attn_mask *mask, int top_k,
                      float *tmp);

/* out (n_q, d) = probs (n_q, n_k) v (n_k, d); ld_* are row strides. */
void txi_attn_context(const float *probs, int n_q, int n_k, const float *v, int ld_v, int d,
                      float *out, int ld_out);

/* Multi-head attention of one sequence: for each head h, columns [h*d_head, (h+1)*d_head) of
 * q/k/v rows: P = softmax(scale * q k^T + bias, mask), out = P v. */
struct txi_mha_args {
    const float *q;
    int ld_q; /* (n_q, >= n_heads * d_head) */
    const float *k;
    int ld_k; /* (n_k, ...) */
    const float *v;
    int ld_v; /* (n_k, ...) */
    int n_q, n_k, n_heads, d_head;
    float scale;
    const struct txi_attn_mask *mask; /* NULL = every key visible */
    const struct txi_rel_bias *bias;  /* NULL = none */
    float *out;
    int ld_out;     /* (n_q, ...) */
    float *probs;   /* (n_heads, n_q, n_k) probabilities are kept here when non-NULL */
    float *scratch; /* (n_q, n_k) used when probs == NULL */
    const struct txi_gemm_ws *ws; /* scratch of the score products (ops.h), or NULL */
};
void txi_mha(const struct txi_mha_args *a);

/* T5 bucket of relative position r = key - query (HF _relative_position_bucket, float32 log). */
int txi_t5_bucket(int r, int bidirectional, int n_buckets, int max_distance);

/* out (n_heads, n_rel): bias for r = r_min .. r_min + n_rel - 1 from emb (n_buckets, n_heads). */
void txi_rel_bias_table(const float *emb, int n_heads, int n_buckets, int max_distance,
                        int bidirectional, int r_min, int n_rel, float *out);

#endif
