/* attnview.h — views of a stored attention result: selected layers/heads (or the mean/max
 * over heads) as JSON arrays, one 2-D slice as JSON or an SVG heatmap, and alignments. All
 * values are probabilities written with 4 decimals. */
#ifndef ATTNSERVE_SRV_ATTNVIEW_H
#define ATTNSERVE_SRV_ATTNVIEW_H

#include "attnstore.h"
#include "jsonw.h"
#include "request.h"

/* Shape of one kind (SRV_KIND_*): layers, rows, columns; and its row/column labels. */
void srv_attn_shape(const struct srv_attn_entry *e, unsigned kind, int *n_layers, int *rows,
                    int *cols);
char *const *srv_attn_row_labels(const struct srv_attn_entry *e, unsigned kind);
char *const *srv_attn_col_labels(const struct srv_attn_entry *e, unsigned kind);
/* Name of a kind ("cross", "encoder", "decoder"). */
const char *srv_attn_kind_name(unsigned kind);
/* The 422 for asking a cross-attention-only entry (rnn_seq2seq) for self-attention kind. */
int srv_attn_fail_cross_only(const struct srv_attn_entry *e, unsigned kind, struct srv_err *err);

/* One (rows, cols) matrix of layer `layer`: head `head` when agg is SRV_AGG_NONE, else the
 * mean or max over all heads. out has rows*cols floats. layer/head must be in range. */
void srv_attn_slice(const struct srv_attn_entry *e, unsigned kind, int layer, int head, int agg,
                    float *out);

/* Writes [layer][head][row][col] for the given layers (n_layers 0 = all) and heads
 * (n_heads 0 = all; with agg one pseudo-head). Indices must have been validated. */
void srv_attn_write_maps(struct srv_buf *b, const struct srv_attn_entry *e, unsigned kind,
                         const int *layers, int n_layers, const int *heads, int n_heads, int agg);

/* Writes one target row of cross-attention as [layer][head][source] with the selection and
 * aggregation srv_attn_write_maps applies to whole maps (the same arithmetic, so a row equals
 * the corresponding row of the maps it writes): element (l, h, s) of the row is
 * row[(l * n_heads_all + h) * head_stride + s], s < n_src. Streaming /attention's events. */
void srv_attn_write_row(struct srv_buf *b, const float *row, size_t head_stride, int n_src,
                        int n_layers_all, int n_heads_all, const int *layers, int n_layers,
                        const int *heads, int n_heads, int agg);

/* Writes a matrix of rows x cols floats as [[...],...]. */
void srv_attn_write_matrix(struct srv_buf *b, const float *m, int rows, int cols);

/* Writes the alignment [{"target":t,"source":[s,...]},...]: cross-attention averaged over
 * every decoder layer and head; for each target token the most attended source token (special
 * tokens such as </s> excluded while others exist), plus any other source token with at
 * least half of that weight. */
void srv_attn_write_alignment(struct srv_buf *b, const struct srv_attn_entry *e);

/* Validates a layer/head selection against the entry: layers must exist in every selected
 * kind. Returns 0 or -1 (422) with err. */
int srv_attn_check_selection(const struct srv_attn_entry *e, unsigned kinds, const int *layers,
                             int n_layers, const int *heads, int n_heads, struct srv_err *err);

/* An SVG heatmap of one slice with token labels, title and colour legend. */
void srv_attn_write_svg(struct srv_buf *b, const struct srv_attn_entry *e, unsigned kind, int layer,
                        int head, int agg);

#endif
