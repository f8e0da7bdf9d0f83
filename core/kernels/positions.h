/* positions.h — absolute position tables: the sinusoidal table (computed once at load) and
 * adding learned position rows. Pure arithmetic on float arrays; nothing here knows a model. */
#ifndef ATTNSERVE_POSITIONS_H
#define ATTNSERVE_POSITIONS_H

typedef enum {
    TXI_SINUSOID_SPLIT = 0,   /* Marian: sines in columns [0, d/2), cosines after */
    TXI_SINUSOID_INTERLEAVED, /* Vaswani et al.: sin at even columns, cos at odd */
} txi_sinusoid_layout;

/* table (n_pos, d): angle(p, j) = p / 10000^(2*floor(j/2)/d) over the column pair j, computed
 * in double and rounded once, as transformers' MarianSinusoidalPositionalEmbedding (numpy). */
void txi_pos_sinusoidal(float *table, int n_pos, int d, txi_sinusoid_layout layout);

/* x (n, d) += table rows pos0 + offset .. pos0 + offset + n - 1 (learned positions; BART uses
 * offset 2). */
void txi_pos_add_learned(float *x, int n, int d, const float *table, int pos0, int offset);

#endif
