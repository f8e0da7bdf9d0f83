/* quantize.c — reduced-precision weights at load (tx_load_params.dtype TX_DTYPE_INT8, W8A8 or
 * F16; TX_DTYPE_AUTO adopts F16 and BF16 matrices as stored): every linear layer of both
 * stacks, the token embeddings and the output projection become int8 with one symmetric scale
 * per output row, or F16 (quant.h). F16/BF16 tensors are read from the file mapping a row at a
 * time, never widened whole, so loading a half-precision checkpoint as int8 needs no F32 copy. Norms,
 * biases, position tables and T5's relative position bias stay F32: they are a few thousand
 * values, and the norms set the scale of every activation. The F32 originals are given back
 * (see release). */
#include "model.h"
#include "quant.h"
#include "txi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Drops the whole pages inside [p, p + bytes) of a read-only file mapping (MADV_DONTNEED: they
 * would be read from the file again if touched, and are not). */
static void drop_pages(const void *p, size_t bytes)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)p + bytes) & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* Source bytes converted between two drops of their file pages (see quantize). */
#define DROP_BYTES ((size_t)256 << 10)

/* Whether p is a buffer the model owns (a widened copy), not file-mapped memory. */
static int owned(const tx_model *m, const void *p)
{
    for (int i = 0; i < m->n_owned; i++)
        if (m->owned[i] == p) return 1;
    return 0;
}

/* Bytes of one stored weight of a mapped matrix of format f. */
static size_t stored_size(txi_wfmt f)
{
    return f == TXI_W_Q8 ? 1 : sizeof(uint16_t);
}

/* Gives back the memory of the n weights at p, which nothing reads any more (its converted copy
 * replaces it): frees it when the model owns it (a widened copy); else it lies in a read-only
 * file mapping (F32, or the stored values behind a key of mapped), whose whole pages the
 * kernel may drop. Converting read every page, which made them resident. */
static void release(tx_model *m, const float *p, size_t n)
{
    txi_wfmt f;
    const void *stored = txi_model_mapped(m, p, &f, NULL);
    if (stored) {
        drop_pages(stored, n * stored_size(f));
        return;
    }
    for (int i = 0; i < m->n_owned; i++)
        if (m->owned[i] == p) {
            free(m->owned[i]);
            m->owned[i] = NULL;
            return;
        }
    drop_pages(p, n * sizeof *p);
}

/* Converts rows x cols at w into model-owned buffers of format f (int8: q and a scale per
 * row; F16: q only, *scale_out NULL); *fmt_out gets the format. A matrix bound in place from
 * F16/BF16/int8 (a key of mapped) is adopted as it is when adopt or when f is its format (no
 * copy; *adopted set), else converted a row at a time from its stored values (int8 to w8a8:
 * the same int8 rows and scales, copied). */
static tx_status quantize(tx_model *m, txi_wfmt f, int adopt, const float *w, int rows, int cols,
                          const void **q_out, const float **scale_out, txi_wfmt *fmt_out,
                          int *adopted, struct tx_error *err)
{
    size_t n = (size_t)rows * (size_t)cols;
    if (f == TXI_W_Q8A8 && (!txi_w8a8_available() || cols > TXI_W8A8_MAX_K))
        f = TXI_W_Q8; /* the kernel cannot run: int8 weights, F32 activations */
    txi_wfmt half_fmt = TXI_W_F16; /* the stored format of a mapped matrix */
    const float *stored_scale = NULL;
    const void *mapped = txi_model_mapped(m, w, &half_fmt, &stored_scale);
    *adopted = 0;
    if (mapped && (adopt || f == half_fmt)) { /* already in that form, in the mapping */
        *q_out = mapped;
        *scale_out = stored_scale;
        *fmt_out = half_fmt;
        *adopted = 1;
        return TX_OK;
    }
    float *row = NULL; /* a stored row widened for the conversion */
    if (mapped && !(row = malloc((size_t)cols * sizeof *row)))
        return txi_fail(err, TX_ERR_NOMEM, "out of memory converting the weights");
    int q8 = f == TXI_W_Q8 || f == TXI_W_Q8A8;
    /* w8a8 keeps only the packed copy: the int8 rows are made in a buffer of their own, packed
     * into q, and freed (one matrix's rows at a time) */
    void *q = malloc(f == TXI_W_Q8A8 ? txi_w8a8_packed_bytes(rows, cols)
                                     : n * (q8 ? 1 : sizeof(uint16_t)));
    int8_t *rm = f == TXI_W_Q8A8 ? malloc(n ? n : 1) : q; /* the row-major values */
    /* w8a8: the row sums of q follow the scales */
    float *scale = q8 ? malloc((size_t)rows * (f == TXI_W_Q8A8 ? 2 : 1) * sizeof *scale) : NULL;
    if (!q || !rm || txi_model_own(m, q)) {
        if (rm != q) free(rm);
        free(q);
        free(scale);
        free(row);
        return txi_fail(err, TX_ERR_NOMEM, "out of memory converting the weights to %s",
                        q8 ? "int8" : "F16");
    }
    if (q8 && (!scale || txi_model_own(m, scale))) {
        if (rm != q) free(rm);
        free(scale);
        free(row);
        return txi_fail(err, TX_ERR_NOMEM, "out of memory quantizing the weights to int8");
    }
    /* a row at a time (int8: each row has its own scale); the file pages of the rows done are
     * dropped every few hundred KB, so a large matrix (a 58k-token embedding) is never resident
     * twice, as its source and its conversion */
    size_t elem = mapped ? stored_size(half_fmt) : sizeof(float);
    const unsigned char *src = mapped ? (const void *)mapped : (const void *)w, *dropped = src;
    int file_backed = mapped || !owned(m, w);
    for (int j = 0; j < rows; j++) {
        if (mapped && half_fmt == TXI_W_Q8 && q8) { /* int8 to w8a8: the same rows */
            memcpy(rm + (size_t)j * cols, (const int8_t *)mapped + (size_t)j * cols,
                   (size_t)cols);
            scale[j] = stored_scale[j];
        } else {
            const float *x = w + (size_t)j * cols;
            if (mapped) {
                txi_lp_row(half_fmt, mapped, stored_scale, cols, j, 1.0f, row);
                x = row;
            }
            if (q8)
                txi_q8_quantize(x, 1, cols, rm + (size_t)j * cols, scale + j);
            else
                txi_f16_convert(x, (size_t)cols, (uint16_t *)q + (size_t)j * cols);
        }
        const unsigned char *done = src + (size_t)(j + 1) * cols * elem;
        if (file_backed && (size_t)(done - dropped) >= DROP_BYTES) {
            drop_pages(dropped, (size_t)(done - dropped));
            dropped = done;
        }
    }
    if (f == TXI_W_Q8A8) {
        for (int j = 0; j < rows; j++) {
            const int8_t *qj = rm + (size_t)j * cols;
            int32_t sum = 0;
            for (int t = 0; t < cols; t++)
                sum += qj[t];
            scale[rows + j] = (float)sum; /* |sum| <= 127 cols: exact */
        }
        txi_w8a8_pack(rm, rows, cols, q);
        free(rm);
    }
    free(row);
    *q_out = q;
    *scale_out = scale;
    *fmt_out = f;
    return TX_OK;
}

static tx_status quantize_linear(tx_model *m, txi_wfmt f, int adopt_only, struct txi_linear *l,
                                 struct tx_error *err)
{
    if (!l->w) return TX_OK; /* absent (decoder-only cross attention, ungated FFN) */
    if (adopt_only && !txi_model_mapped(m, l->w, NULL, NULL)) return TX_OK;
    txi_wfmt got;
    int adopted;
    tx_status st =
        quantize(m, f, adopt_only, l->w, l->n_out, l->n_in, &l->q, &l->scale, &got, &adopted, err);
    if (st != TX_OK) return st;
    l->q_f16 = got == TXI_W_F16;
    l->q_bf16 = got == TXI_W_BF16;
    l->q_a8 = got == TXI_W_Q8A8;
    if (!adopted) release(m, l->w, (size_t)l->n_out * (size_t)l->n_in);
    l->w = NULL;
    return TX_OK;
}

static tx_status quantize_stack(tx_model *m, txi_wfmt f, int adopt_only, struct txi_stack *s,
                                struct tx_error *err)
{
    for (int i = 0; i < s->n_layers; i++) {
        struct txi_layer *L = &s->layers[i];
        struct txi_linear *all[] = {&L->self_attn.q,  &L->self_attn.k,  &L->self_attn.v,
                                    &L->self_attn.o,  &L->cross_attn.q, &L->cross_attn.k,
                                    &L->cross_attn.v, &L->cross_attn.o, &L->fc1,
                                    &L->fc1_gate,     &L->fc2};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
            tx_status st = quantize_linear(m, f, adopt_only, all[k], err);
            if (st != TX_OK) return st;
        }
    }
    return TX_OK;
}

/* One embedding or output matrix *w (rows, d): converted (or adopted, see txi_model_reduce)
 * into *q / *scale / *fmt when wanted. */
static tx_status reduce_matrix(tx_model *m, txi_wfmt f, int adopt_only, const float *w, int rows,
                               const void **q, const float **scale, txi_wfmt *fmt,
                               struct tx_error *err)
{
    if (!w || (adopt_only && !txi_model_mapped(m, w, NULL, NULL))) return TX_OK;
    int adopted;
    return quantize(m, f, adopt_only, w, rows, m->cfg.d_model, q, scale, fmt, &adopted, err);
}

/* rnn_seq2seq: every linear layer of the recurrent model (embeddings stay F32: a lookup reads
 * one row per token). */
static tx_status reduce_rnn(tx_model *m, txi_wfmt f, int adopt_only, struct tx_error *err)
{
    struct txi_rnn_weights *w = &m->rnn;
    const struct txi_rnn_config *c = &m->cfg.rnn;
    struct txi_linear *one[] = {&w->bridge, &w->key_proj, &w->query_proj,
                                &w->attn_w, &w->combine,  &w->lm_head};
    for (size_t k = 0; k < sizeof one / sizeof one[0]; k++) {
        if (!one[k]->w) continue;
        tx_status st = quantize_linear(m, f, adopt_only, one[k], err);
        if (st != TX_OK) return st;
    }
    struct txi_rnn_layer *sets[3] = {w->enc_fw, w->enc_bw, w->dec};
    int counts[3] = {c->enc_layers, w->enc_bw ? c->enc_layers : 0, c->dec_layers};
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < counts[s]; k++) {
            tx_status st = quantize_linear(m, f, adopt_only, &sets[s][k].ih, err);
            if (st == TX_OK) st = quantize_linear(m, f, adopt_only, &sets[s][k].hh, err);
            if (st != TX_OK) return st;
        }
    return TX_OK;
}

/* Whether q, the reduced form of w, is w's own 16-bit data in the mapping (adopted). */
static int in_use(const tx_model *m, const float *w, const void *q)
{
    return q == (const void *)txi_model_mapped(m, w, NULL, NULL);
}

tx_status txi_model_reduce(tx_model *m, txi_wfmt f, int adopt_only, struct tx_error *err)
{
    if (m->cfg.arch == TX_ARCH_RNN) return reduce_rnn(m, f, adopt_only, err);
    if (m->cfg.arch == TX_ARCH_HAN) return TX_OK; /* all F32 (bind_han): a small model */
    size_t d = (size_t)m->cfg.d_model;
    tx_status st = quantize_stack(m, f, adopt_only, &m->enc, err);
    if (st == TX_OK) st = quantize_stack(m, f, adopt_only, &m->dec, err);
    if (st != TX_OK) return st;
    /* embeddings and output projection: tied tensors are converted once and stay tied */
    const float *enc = m->enc.embed, *dec = m->dec.embed, *head = m->lm_head;
    struct txi_stack *E = &m->enc, *D = &m->dec;
    st = reduce_matrix(m, f, adopt_only, enc, E->n_embed, &E->embed_q, &E->embed_scale,
                       &E->embed_fmt, err);
    if (st != TX_OK) return st;
    if (dec == enc)
        D->embed_q = E->embed_q, D->embed_scale = E->embed_scale, D->embed_fmt = E->embed_fmt;
    else if ((st = reduce_matrix(m, f, adopt_only, dec, D->n_embed, &D->embed_q, &D->embed_scale,
                                 &D->embed_fmt, err)) != TX_OK)
        return st;
    if (head == dec)
        m->lm_head_q = D->embed_q, m->lm_head_scale = D->embed_scale, m->lm_head_fmt = D->embed_fmt;
    else if (head == enc)
        m->lm_head_q = E->embed_q, m->lm_head_scale = E->embed_scale, m->lm_head_fmt = E->embed_fmt;
    else if ((st = reduce_matrix(m, f, adopt_only, head, m->cfg.dec_vocab, &m->lm_head_q,
                                 &m->lm_head_scale, &m->lm_head_fmt, err)) != TX_OK)
        return st;
    /* the converted ones are read only through their new form from now on */
    if (E->embed_q && !in_use(m, enc, E->embed_q)) release(m, enc, (size_t)E->n_embed * d);
    if (D->embed_q && dec != enc && !in_use(m, dec, D->embed_q))
        release(m, dec, (size_t)D->n_embed * d);
    if (m->lm_head_q && head != enc && head != dec && !in_use(m, head, m->lm_head_q))
        release(m, head, (size_t)m->cfg.dec_vocab * d);
    if (E->embed_q) E->embed = NULL;
    if (D->embed_q) D->embed = NULL;
    if (m->lm_head_q) m->lm_head = NULL;
    return TX_OK;
}
