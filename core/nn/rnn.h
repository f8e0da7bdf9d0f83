/* rnn.h — the rnn_seq2seq architecture (docs/rnn_seq2seq.md): a (bi)LSTM/GRU encoder and an
 * LSTM/GRU decoder with one attention over the encoder states, additive (Bahdanau et al. 2015)
 * or multiplicative (Luong et al. 2015: dot, general; input feeding; local window, top-k hard
 * attention) (internal). Reached only through transformer.h's entry points, which dispatch to
 * txi_rnn_ops (struct txi_arch_ops) for TX_ARCH_RNN, so that sessions, decode groups, beam search and attention capture run these
 * models unchanged: a decoder "cache slot" holds a row's recurrent state (h and c of every layer
 * and the input-feeding vector), the "cross K/V" of a source its encoder states and their
 * attention keys (computed once per source). */
#ifndef ATTNSERVE_RNN_H
#define ATTNSERVE_RNN_H

#include "transformer.h"

/* One cell update of n units (PyTorch's arithmetic): gi = W_ih x + b_ih, gh = W_hh h + b_hh;
 * LSTM gates i, f, g, o; GRU gates r, z, n. h and c (LSTM only) in place. */
void txi_rnn_cell_step(txi_rnn_cell kind, int n, const float *gi, const float *gh, float *h, float *c);

/* One direction of one recurrent layer of e units over n inputs x (n, ly->ih.n_in), from zero
 * state: h_t goes to columns [col, col + e) of out (n, ld_out). Scratch: pre (n, G e), gh (G e),
 * h and c (e). */
void txi_rnn_direction(txi_rnn_cell kind, int e, const struct txi_rnn_layer *ly, const float *x,
                       int n, int reverse, float *out, int ld_out, int col, float *pre, float *gh,
                       float *h, float *c, const struct txi_gemm_ws *ws);

/* The architecture's entry points (transformer.h dispatches to them). */
extern const struct txi_arch_ops txi_rnn_ops;

tx_status txi_rnn_encode(const tx_model *m, struct txi_arena *a, const struct txi_enc_job *job,
                         struct tx_error *err);
void txi_rnn_set_source(const tx_model *m, struct txi_dec_state *st, const float *enc_hidden,
                        int off, int len, const struct txi_gemm_ws *ws);
void txi_rnn_decode(const tx_model *m, struct txi_dec_state *st, const struct txi_dec_job *job);

#endif
