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
    void *q = malloc(n * (f == TXI_W_Q8 ? 1 : sizeof(uint16_t)));
    float *scale = f == TXI_W_Q8 ? malloc((size_t)rows * sizeof *scale) : NULL;
    if (!q || txi_model_own(m, q)) {
        free(q);
        free(scale);
        return txi_fail(err, TX_ERR_NOMEM, "out of memory converting the weights to %s",
                        f == TXI_W_Q8 ? "int8" : "F16");
    }
    if (f == TXI_W_Q8) {
        if (!scale || txi_model_own(m, scale)) {
            free(scale);
            return txi_fail(err, TX_ERR_NOMEM, "out of memory quantizing the weights to int8");
        }
        txi_q8_quantize(w, rows, cols, q, scale);
    } else {
        txi_f16_convert(w, n, q);
    }
    *q_out = q;
    *scale_out = scale;
    return TX_OK;
}

static tx_status quantize_linear(tx_model *m, txi_wfmt f, struct txi_linear *l,
                                 struct tx_error *err)
{
    if (!l->w) return TX_OK; /* absent (decoder-only cross attention, ungated FFN) */
    tx_status st = quantize(m, f, l->w, l->n_out, l->n_in, &l->q, &l->scale, err);
    if (st != TX_OK) return st;
    l->q_f16 = f == TXI_W_F16;
    release(m, l->w, (size_t)l->n_out * (size_t)l->n_in);
    l->w = NULL;
    return TX_OK;
}

static tx_status quantize_stack(tx_model *m, txi_wfmt f, struct txi_stack *s, struct tx_error *err)
{
    for (int i = 0; i < s->n_layers; i++) {
        struct txi_layer *L = &s->layers[i];
        struct txi_linear *all[] = {&L->self_attn.q,  &L->self_attn.k,  &L->self_attn.v,
                                    &L->self_attn.o,  &L->cross_attn.q, &L->cross_attn.k,
                                    &L->cross_attn.v, &L->cross_attn.o, &L->fc1,
                                    &L->fc1_gate,     &L->fc2};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
            tx_status st = quantize_linear(m, f, all[k], err);
            if (st != TX_OK) return st;
        }
    }
    return TX_OK;
}

tx_status txi_model_reduce(tx_model *m, txi_wfmt f, struct tx_error *err)
{
    int d = m->cfg.d_model;
    tx_status st = quantize_stack(m, f, &m->enc, err);
    if (st == TX_OK) st = quantize_stack(m, f, &m->dec, err);
    if (st != TX_OK) return st;
    /* embeddings and output projection: tied tensors are converted once and stay tied */
    const float *enc = m->enc.embed, *dec = m->dec.embed, *head = m->lm_head;
    m->enc.embed_fmt = m->dec.embed_fmt = m->lm_head_fmt = f;
    st = quantize(m, f, enc, m->enc.n_embed, d, &m->enc.embed_q, &m->enc.embed_scale, err);
    if (st != TX_OK) return st;
    if (dec == enc) {
        m->dec.embed_q = m->enc.embed_q, m->dec.embed_scale = m->enc.embed_scale;
    } else {
        st = quantize(m, f, dec, m->dec.n_embed, d, &m->dec.embed_q, &m->dec.embed_scale, err);
        if (st != TX_OK) return st;
    }
    if (head == dec) {
        m->lm_head_q = m->dec.embed_q, m->lm_head_scale = m->dec.embed_scale;
    } else if (head == enc) {
        m->lm_head_q = m->enc.embed_q, m->lm_head_scale = m->enc.embed_scale;
    } else {
        st = quantize(m, f, head, m->cfg.dec_vocab, d, &m->lm_head_q, &m->lm_head_scale, err);
        if (st != TX_OK) return st;
    }
    release(m, enc, (size_t)m->enc.n_embed * (size_t)d);
    if (dec != enc) release(m, dec, (size_t)m->dec.n_embed * (size_t)d);
    if (head != enc && head != dec) release(m, head, (size_t)m->cfg.dec_vocab * (size_t)d);
    m->enc.embed = m->dec.embed = m->lm_head = NULL;
    return TX_OK;
}
