/* attnview.c — slicing, aggregating and drawing stored attention maps. */
#include "attnview.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DECIMALS 4

const char *srv_attn_kind_name(unsigned kind)
{
    return kind == SRV_KIND_ENCODER ? "encoder" : kind == SRV_KIND_DECODER ? "decoder" : "cross";
}

int srv_attn_fail_cross_only(const struct srv_attn_entry *e, unsigned kind, struct srv_err *err)
{
    return srv_fail(err, SRV_E_INVALID_VALUE,
                    "model \"%s\" has no %s self-attention: its one attention is the %s "
                    "cross-attention (kind \"cross\")",
                    e->model, srv_attn_kind_name(kind),
                    e->attention_type ? e->attention_type : "decoder's");
}

void srv_attn_shape(const struct srv_attn_entry *e, unsigned kind, int *n_layers, int *rows,
                    int *cols)
{
    switch (kind) {
    case SRV_KIND_ENCODER:
        *n_layers = e->n_enc_layers, *rows = e->n_src, *cols = e->n_src;
        break;
    case SRV_KIND_DECODER:
        *n_layers = !e->cross_only ? e->n_dec_layers : 0, *rows = e->n_tgt, *cols = e->n_tgt;
        break;
    default:
        *n_layers = e->n_dec_layers, *rows = e->n_tgt, *cols = e->n_src;
    }
}

char *const *srv_attn_row_labels(const struct srv_attn_entry *e, unsigned kind)
{
    return kind == SRV_KIND_ENCODER ? e->src_tokens : e->tgt_tokens;
}

char *const *srv_attn_col_labels(const struct srv_attn_entry *e, unsigned kind)
{
    return kind == SRV_KIND_CROSS     ? e->src_tokens
           : kind == SRV_KIND_DECODER ? e->dec_tokens
                                      : e->src_tokens;
}

static const float *base_of(const struct srv_attn_entry *e, unsigned kind)
{
    return kind == SRV_KIND_ENCODER ? e->encoder : kind == SRV_KIND_DECODER ? e->decoder : e->cross;
}

/* out (n) = the mean or max (agg) over n_heads heads of n values each, head h at
 * L + h * head_stride: head 0, then each next head in order, then the division (one order for
 * whole maps and streamed rows, so a streamed row equals its map's row). */
static void combine_heads(const float *L, size_t head_stride, int n_heads, size_t n, int agg,
                          float *out)
{
    memcpy(out, L, n * sizeof *out);
    for (int h = 1; h < n_heads; h++) {
        const float *H = L + (size_t)h * head_stride;
        if (agg == SRV_AGG_MAX)
            for (size_t i = 0; i < n; i++)
                out[i] = H[i] > out[i] ? H[i] : out[i];
        else
            for (size_t i = 0; i < n; i++)
                out[i] += H[i];
    }
    if (agg == SRV_AGG_MEAN && n_heads > 0)
        for (size_t i = 0; i < n; i++)
            out[i] /= (float)n_heads;
}

void srv_attn_slice(const struct srv_attn_entry *e, unsigned kind, int layer, int head, int agg,
                    float *out)
{
    int nl, R, C;
    srv_attn_shape(e, kind, &nl, &R, &C);
    size_t rc = (size_t)R * (size_t)C;
    const float *L = base_of(e, kind) + (size_t)layer * (size_t)e->n_heads * rc;
    if (agg == SRV_AGG_NONE) {
        memcpy(out, L + (size_t)head * rc, rc * sizeof *out);
        return;
    }
    combine_heads(L, rc, e->n_heads, rc, agg, out);
}

void srv_attn_write_matrix(struct srv_buf *b, const float *m, int rows, int cols)
{
    srv_buf_putc(b, '[');
    for (int r = 0; r < rows; r++) {
        srv_buf_puts(b, r ? ",[" : "[");
        for (int c = 0; c < cols; c++) {
            if (c) srv_buf_putc(b, ',');
            srv_buf_json_fixed(b, m[(size_t)r * (size_t)cols + (size_t)c], DECIMALS);
        }
        srv_buf_putc(b, ']');
    }
    srv_buf_putc(b, ']');
}

void srv_attn_write_maps(struct srv_buf *b, const struct srv_attn_entry *e, unsigned kind,
                         const int *layers, int n_layers, const int *heads, int n_heads, int agg)
{
    int nl, R, C;
    srv_attn_shape(e, kind, &nl, &R, &C);
    size_t rc = (size_t)R * (size_t)C;
    float *tmp = agg != SRV_AGG_NONE ? malloc((rc ? rc : 1) * sizeof *tmp) : NULL;
    if (agg != SRV_AGG_NONE && !tmp) {
        b->oom = 1;
        return;
    }
    int L = n_layers ? n_layers : nl;
    srv_buf_putc(b, '[');
    for (int li = 0; li < L; li++) {
        int layer = n_layers ? layers[li] : li;
        srv_buf_puts(b, li ? ",[" : "[");
        if (agg != SRV_AGG_NONE) {
            srv_attn_slice(e, kind, layer, 0, agg, tmp);
            srv_attn_write_matrix(b, tmp, R, C);
        } else {
            int Hn = n_heads ? n_heads : e->n_heads;
            for (int hi = 0; hi < Hn; hi++) {
                int head = n_heads ? heads[hi] : hi;
                if (hi) srv_buf_putc(b, ',');
                const float *m =
                    base_of(e, kind) + ((size_t)layer * (size_t)e->n_heads + (size_t)head) * rc;
                srv_attn_write_matrix(b, m, R, C);
            }
        }
        srv_buf_putc(b, ']');
    }
    srv_buf_putc(b, ']');
    free(tmp);
}

void srv_attn_write_row(struct srv_buf *b, const float *row, size_t head_stride, int n_src,
                        int n_layers_all, int n_heads_all, const int *layers, int n_layers,
                        const int *heads, int n_heads, int agg)
{
    int L = n_layers ? n_layers : n_layers_all;
    float small[256], *comb = NULL; /* the combined heads of one layer */
    if (agg != SRV_AGG_NONE)
        comb = n_src <= 256 ? small : malloc((size_t)(n_src > 0 ? n_src : 1) * sizeof *comb);
    srv_buf_putc(b, '[');
    for (int li = 0; li < L; li++) {
        int layer = n_layers ? layers[li] : li;
        const float *lr = row + (size_t)layer * (size_t)n_heads_all * head_stride;
        srv_buf_puts(b, li ? ",[" : "[");
        if (agg != SRV_AGG_NONE) {
            if (!comb) {
                b->oom = 1;
                break;
            }
            combine_heads(lr, head_stride, n_heads_all, (size_t)n_src, agg, comb);
            srv_buf_putc(b, '[');
            for (int s = 0; s < n_src; s++) {
                if (s) srv_buf_putc(b, ',');
                srv_buf_json_fixed(b, comb[s], DECIMALS);
            }
            srv_buf_putc(b, ']');
        } else {
            int Hn = n_heads ? n_heads : n_heads_all;
            for (int hi = 0; hi < Hn; hi++) {
                int head = n_heads ? heads[hi] : hi;
                const float *hr = lr + (size_t)head * head_stride;
                srv_buf_puts(b, hi ? ",[" : "[");
                for (int s = 0; s < n_src; s++) {
                    if (s) srv_buf_putc(b, ',');
                    srv_buf_json_fixed(b, hr[s], DECIMALS);
                }
                srv_buf_putc(b, ']');
            }
        }
        srv_buf_putc(b, ']');
    }
    srv_buf_putc(b, ']');
    if (comb != small) free(comb);
}

void srv_attn_write_alignment(struct srv_buf *b, const struct srv_attn_entry *e)
{
    size_t S = (size_t)e->n_src, T = (size_t)e->n_tgt;
    size_t n_avg = S * T;
    float *avg = calloc(n_avg ? n_avg : 1, sizeof *avg);
    if (!avg) {
        b->oom = 1;
        return;
    }
    size_t per = (size_t)e->n_dec_layers * (size_t)e->n_heads;
    for (size_t k = 0; k < per; k++)
        for (size_t i = 0; i < S * T; i++)
            avg[i] += e->cross[k * S * T + i];
    if (per)
        for (size_t i = 0; i < S * T; i++)
            avg[i] /= (float)per;
    int any_plain = 0;
    for (size_t s = 0; s < S; s++)
        any_plain |= !(e->src_special && e->src_special[s]);
    srv_buf_putc(b, '[');
    for (size_t t = 0; t < T; t++) {
        const float *row = avg + t * S;
        float best = -1.0f;
        for (size_t s = 0; s < S; s++) {
            if (any_plain && e->src_special && e->src_special[s]) continue;
            if (row[s] > best) best = row[s];
        }
        srv_buf_printf(b, "%s{\"target\":%zu,\"source\":[", t ? "," : "", t);
        int first = 1;
        for (size_t s = 0; s < S; s++) {
            if (any_plain && e->src_special && e->src_special[s]) continue;
            if (row[s] >= 0.5f * best && best > 0.0f) {
                srv_buf_printf(b, "%s%zu", first ? "" : ",", s);
                first = 0;
            }
        }
        srv_buf_puts(b, "]}");
    }
    srv_buf_putc(b, ']');
    free(avg);
}

int srv_attn_check_selection(const struct srv_attn_entry *e, unsigned kinds, const int *layers,
                             int n_layers, const int *heads, int n_heads, struct srv_err *err)
{
    static const unsigned all[] = {SRV_KIND_CROSS, SRV_KIND_ENCODER, SRV_KIND_DECODER};
    for (int k = 0; k < 3; k++) {
        if (!(kinds & all[k])) continue;
        if (all[k] != SRV_KIND_CROSS && e->cross_only)
            return srv_attn_fail_cross_only(e, all[k], err);
        int nl, R, C;
        srv_attn_shape(e, all[k], &nl, &R, &C);
        for (int i = 0; i < n_layers; i++)
            if (layers[i] >= nl)
                return srv_fail(err, SRV_E_INVALID_VALUE,
                                "layers[%d] is %d, but the %s attention of model \"%s\" has %d "
                                "layers (0-%d)",
                                i, layers[i], srv_attn_kind_name(all[k]), e->model, nl, nl - 1);
    }
    for (int i = 0; i < n_heads; i++)
        if (heads[i] >= e->n_heads)
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "heads[%d] is %d, but model \"%s\" has %d heads (0-%d)", i, heads[i],
                            e->model, e->n_heads, e->n_heads - 1);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* SVG heatmap                                                                              */
/* ---------------------------------------------------------------------------------------- */

/* Viridis at 9 stops (matplotlib's), interpolated linearly: perceptually uniform and readable
 * in grey scale and by colour-blind readers. */
static void viridis(float t, int rgb[3])
{
    static const unsigned char stops[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                              {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                              {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
    if (!(t > 0.0f)) t = 0.0f;
    if (t > 1.0f) t = 1.0f;
    float x = t * 8.0f;
    int i = (int)x;
    if (i >= 8) i = 7;
    float f = x - (float)i;
    for (int c = 0; c < 3; c++)
        rgb[c] =
            (int)lrintf((float)stops[i][c] + f * ((float)stops[i + 1][c] - (float)stops[i][c]));
}

static void put_xml(struct srv_buf *b, const char *s)
{
    if (!s) return;
    char *clean = srv_utf8_sanitize(s, strlen(s));
    if (!clean) {
        b->oom = 1;
        return;
    }
    for (const unsigned char *p = (const unsigned char *)clean; *p; p++) {
        switch (*p) {
        case '<':
            srv_buf_puts(b, "&lt;");
            break;
        case '>':
            srv_buf_puts(b, "&gt;");
            break;
        case '&':
            srv_buf_puts(b, "&amp;");
            break;
        case '"':
            srv_buf_puts(b, "&quot;");
            break;
        case '\'':
            srv_buf_puts(b, "&#39;");
            break;
        default:
            if (*p < 0x20)
                srv_buf_putc(b, ' '); /* control characters are not XML */
            else
                srv_buf_putc(b, (char)*p);
        }
    }
    free(clean);
}

/* Characters of a label, counting UTF-8 code points, for layout. */
static int label_width(const char *s)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

void srv_attn_write_svg(struct srv_buf *b, const struct srv_attn_entry *e, unsigned kind, int layer,
                        int head, int agg)
{
    int nl, R, C;
    srv_attn_shape(e, kind, &nl, &R, &C);
    size_t rc = (size_t)R * (size_t)C;
    float *m = malloc((rc ? rc : 1) * sizeof *m);
    if (!m) {
        b->oom = 1;
        return;
    }
    srv_attn_slice(e, kind, layer, head, agg, m);
    float vmax = 0.0f;
    for (size_t i = 0; i < rc; i++)
        vmax = m[i] > vmax ? m[i] : vmax;
    char *const *rl = srv_attn_row_labels(e, kind);
    char *const *cl = srv_attn_col_labels(e, kind);
    int maxr = 1, maxc = 1;
    for (int r = 0; r < R; r++)
        maxr = label_width(rl[r]) > maxr ? label_width(rl[r]) : maxr;
    for (int c = 0; c < C; c++)
        maxc = label_width(cl[c]) > maxc ? label_width(cl[c]) : maxc;
    if (maxr > 24) maxr = 24;
    if (maxc > 24) maxc = 24;
    int cell = C > 0 ? 720 / C : 24;
    if (cell > 24) cell = 24;
    if (cell < 6) cell = 6;
    int left = 12 + maxr * 7, top = 44 + (int)(maxc * 7 * 0.72);
    int width = left + C * cell + 90, height = top + R * cell + 20;
    if (height < top + 160) height = top + 160;
    char headname[16];
    if (agg == SRV_AGG_MEAN)
        snprintf(headname, sizeof headname, "mean");
    else if (agg == SRV_AGG_MAX)
        snprintf(headname, sizeof headname, "max");
    else
        snprintf(headname, sizeof headname, "%d", head);

    srv_buf_printf(b,
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                   "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\" "
                   "role=\"img\">",
                   width, height, width, height);
    srv_buf_printf(b,
                   "<title>%s attention, layer %d, head %s</title>"
                   "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>"
                   "<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\">%s attention "
                   "&#183; layer %d &#183; head %s</text>",
                   srv_attn_kind_name(kind), layer, headname, srv_attn_kind_name(kind), layer,
                   headname);
    /* column labels, rotated */
    for (int c = 0; c < C; c++) {
        int x = left + c * cell + cell / 2 + 4;
        srv_buf_printf(b, "<text transform=\"translate(%d,%d) rotate(-60)\">", x, top - 4);
        put_xml(b, cl[c]);
        srv_buf_puts(b, "</text>");
    }
    /* row labels, right-aligned */
    for (int r = 0; r < R; r++) {
        srv_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 4,
                       top + r * cell + cell / 2 + 4);
        put_xml(b, rl[r]);
        srv_buf_puts(b, "</text>");
    }
    /* cells; each with a tooltip while the map is small enough to keep the file light */
    int tooltips = rc <= 20000;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            float v = m[(size_t)r * (size_t)C + (size_t)c];
            int rgb[3];
            viridis(vmax > 0.0f ? v / vmax : 0.0f, rgb);
            srv_buf_printf(b,
                           "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                           "fill=\"#%02x%02x%02x\" data-row=\"%d\" data-col=\"%d\">",
                           left + c * cell, top + r * cell, cell, cell, rgb[0], rgb[1], rgb[2], r,
                           c);
            if (tooltips) {
                srv_buf_puts(b, "<title>");
                put_xml(b, rl[r]);
                srv_buf_puts(b, " &#8594; ");
                put_xml(b, cl[c]);
                srv_buf_puts(b, ": ");
                srv_buf_json_fixed(b, v, DECIMALS);
                srv_buf_puts(b, "</title>");
            }
            srv_buf_puts(b, "</rect>");
        }
    /* legend: a vertical gradient from 0 to the largest value of this slice */
    int lx = left + C * cell + 24, ly = top, lh = 120;
    srv_buf_puts(b, "<defs><linearGradient id=\"scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
    for (int i = 0; i <= 8; i++) {
        int rgb[3];
        viridis((float)i / 8.0f, rgb);
        srv_buf_printf(b, "<stop offset=\"%d%%\" stop-color=\"#%02x%02x%02x\"/>", i * 100 / 8,
                       rgb[0], rgb[1], rgb[2]);
    }
    srv_buf_puts(b, "</linearGradient></defs>");
    srv_buf_printf(b,
                   "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"%d\" fill=\"url(#scale)\" "
                   "stroke=\"#888888\"/>",
                   lx, ly, lh);
    srv_buf_printf(b, "<text x=\"%d\" y=\"%d\">", lx + 16, ly + 10);
    srv_buf_json_fixed(b, vmax, DECIMALS);
    srv_buf_printf(b, "</text><text x=\"%d\" y=\"%d\">0</text>", lx + 16, ly + lh);
    srv_buf_puts(b, "</svg>\n");
    free(m);
}
