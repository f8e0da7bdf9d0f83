/* quantize.c — reduced-precision weights at load (tx_load_params.dtype TX_DTYPE_INT8 or
 * TX_DTYPE_F16): every linear layer of both stacks, the token embeddings and the output
 * projection become int8 with one symmetric scale per output row, or F16 (quant.h). Norms,
 * biases, position tables and T5's relative position bias stay F32: they are a few thousand
 * values, and the norms set the scale of every activation. The F32 originals are given back
 * (see release). */
#include "model.h"
#include "quant.h"
#include "txi.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Gives back the memory of n F32 values at p, which nothing reads any more: frees it when the
 * model owns it (a widened copy); else it lies in a read-only file mapping, whose whole pages
 * inside it the kernel may drop (MADV_DONTNEED: they would be read from the file again if
 * touched, and are not). Quantizing read every page, which made them resident. */
static void release(tx_model *m, const float *p, size_t n)
{
    if (txi_model_f16_mapped(m, p)) return; /* a key, not floats: its F16 data is in use */
    for (int i = 0; i < m->n_owned; i++)
        if (m->owned[i] == p) {
            free(m->owned[i]);
            m->owned[i] = NULL;
            return;
        }
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)(p + n)) & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* Converts rows x cols at w into model-owned buffers of format f (int8: q and a scale per
 * row; F16: q only, *scale_out NULL). */
static tx_status quantize(tx_model *m, txi_wfmt f, const float *w, int rows, int cols,
                          const void **q_out, const float **scale_out, struct tx_error *err)
{
    size_t n = (size_t)rows * (size_t)cols;
    const uint16_t *mapped = txi_model_f16_mapped(m, w);
    if (mapped && f == TXI_W_F16) { /* already F16, in the mapping */
        *q_out = mapped;
        *scale_out = NULL;
        return TX_OK;
    }
    int q8 = f == TXI_W_Q8 || f == TXI_W_Q8A8;
    size_t packed = f == TXI_W_Q8A8 ? txi_w8a8_packed_bytes(rows, cols) : 0;
    void *q = malloc(n * (q8 ? 1 : sizeof(uint16_t)) + packed);
    /* w8a8: the row sums of q follow the scales */
    float *scale = q8 ? malloc((size_t)rows * (f == TXI_W_Q8A8 ? 2 : 1) * sizeof *scale) : NULL;
    if (!q || txi_model_own(m, q)) {
        free(q);
        free(scale);
        return txi_fail(err, TX_ERR_NOMEM, "out of memory converting the weights to %s",
                        q8 ? "int8" : "F16");
    }
    if (q8) {
        if (!scale || txi_model_own(m, scale)) {
            free(scale);
            return txi_fail(err, TX_ERR_NOMEM, "out of memory quantizing the weights to int8");
        }
        txi_q8_quantize(w, rows, cols, q, scale);
        if (f == TXI_W_Q8A8)
            for (int j = 0; j < rows; j++) {
                const int8_t *qj = (const int8_t *)q + (size_t)j * cols;
                int32_t sum = 0;
                for (int t = 0; t < cols; t++)
                    sum += qj[t];
                scale[rows + j] = (float)sum; /* |sum| <= 127 cols: exact */
            }
        if (f == TXI_W_Q8A8) txi_w8a8_pack(q, rows, cols, (int8_t *)q + n);
    } else {
        txi_f16_convert(w, n, q);
    }
    *q_out = q;
    *scale_out = scale;
    return TX_OK;
}

static tx_status quantize_linear(tx_model *m, txi_wfmt f, int adopt_only, struct txi_linear *l,
                                 struct tx_error *err)
{
    if (!l->w) return TX_OK; /* absent (decoder-only cross attention, ungated FFN) */
    if (adopt_only && !txi_model_f16_mapped(m, l->w)) return TX_OK;
    tx_status st = quantize(m, f, l->w, l->n_out, l->n_in, &l->q, &l->scale, err);
    if (st != TX_OK) return st;
    l->q_f16 = f == TXI_W_F16;
    l->q_a8 = f == TXI_W_Q8A8;
    release(m, l->w, (size_t)l->n_out * (size_t)l->n_in);
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
    if (!w || (adopt_only && !txi_model_f16_mapped(m, w))) return TX_OK;
    tx_status st = quantize(m, f, w, rows, m->cfg.d_model, q, scale, err);
    if (st == TX_OK) *fmt = f;
    return st;
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
    if (E->embed_q) release(m, enc, (size_t)E->n_embed * d);
    if (D->embed_q && dec != enc) release(m, dec, (size_t)D->n_embed * d);
    if (m->lm_head_q && head != enc && head != dec) release(m, head, (size_t)m->cfg.dec_vocab * d);
    if (E->embed_q) E->embed = NULL;
    if (D->embed_q) D->embed = NULL;
    if (m->lm_head_q) m->lm_head = NULL;
    return TX_OK;
}
