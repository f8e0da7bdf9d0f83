/* model.c — tx_model_load: config, generation defaults and every weight of a Hugging Face
 * checkpoint folder, bound by name and checked against the config (HF 4.35.2 layouts).
 * F32 weights are used straight from the read-only mapping; F16/BF16 weights (and any F32
 * tensor that a foreign writer left misaligned) are converted to F32 once here, into buffers the
 * model owns, since every kernel computes in F32. */
#include "model.h"
#include "positions.h"
#include "txi.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct loader {
    tx_model *m;
    const char *weights_name; /* "model.safetensors" or "model.safetensors.index.json" */
    json_t *weight_map;       /* sharded: name -> shard file name; else NULL */
    int dtype_seen[4]; /* by txi_dtype, TXI_DT_OTHER excluded */
    int keep_f16; /* F16/BF16/int8 weight matrices stay in the mapping (see tx_model.mapped) */
    int matrix;   /* the tensor being bound is a linear weight, an embedding or lm_head */
    struct tx_error *err;
};

const void *txi_model_mapped(const tx_model *m, const void *p, txi_wfmt *fmt,
                             const float **scale)
{
    for (int i = 0; i < m->n_mapped; i++)
        if ((const void *)m->mapped[i].key == p) {
            if (fmt) *fmt = m->mapped[i].fmt;
            if (scale) *scale = m->mapped[i].scale;
            return m->mapped[i].data;
        }
    return NULL;
}

/* Binds an F16, BF16 or int8 matrix in place (see tx_model.mapped); scale: int8's. */
static tx_status keep_mapped(struct loader *ld, const struct txi_st_tensor *t, const float *scale,
                             const float **out)
{
    tx_model *m = ld->m;
    if (m->n_mapped == m->cap_mapped) {
        int cap = m->cap_mapped ? 2 * m->cap_mapped : 64;
        struct txi_mapped *p = realloc(m->mapped, (size_t)cap * sizeof *p);
        if (!p) return txi_fail(ld->err, TX_ERR_NOMEM, "out of memory binding tensor %s", t->name);
        m->mapped = p;
        m->cap_mapped = cap;
    }
    /* a distinct key per tensor: each is at least 4 bytes long (checked by the caller) */
    uintptr_t key = (uintptr_t)t->data & ~(uintptr_t)(sizeof(float) - 1);
    struct txi_mapped *e = &m->mapped[m->n_mapped++];
    e->key = (const float *)key;
    e->data = t->data;
    e->scale = scale;
    e->fmt = t->dtype == TXI_DT_BF16 ? TXI_W_BF16 : t->dtype == TXI_DT_I8 ? TXI_W_Q8 : TXI_W_F16;
    *out = (const float *)key;
    return TX_OK;
}

static const struct txi_st_tensor *lookup(struct loader *ld, const char *name,
                                          const struct txi_st_file **file);

/* Suffix of the F32 tensor holding an int8 matrix's per-row scales (tools/quantize_int8.py). */
#define INT8_SCALE_SUFFIX ".attnserve_scale"

/* Binds int8 tensor t (rows, cols) of file f in place with its scales (name + suffix: F32,
 * (rows), 4-byte aligned). Errors name the file and the tensor. */
static tx_status keep_int8(struct loader *ld, const struct txi_st_file *f,
                           const struct txi_st_tensor *t, int n_dims, const float **out)
{
    if (!ld->matrix || n_dims != 2)
        return txi_fail(ld->err, TX_ERR_UNSUPPORTED,
                        "%s: tensor %s is int8; only weight matrices may be", f->name, t->name);
    if (!ld->keep_f16)
        return txi_fail(ld->err, TX_ERR_UNSUPPORTED,
                        "%s: tensor %s is int8 (an attnserve int8 checkpoint): load it with dtype "
                        "auto, int8 or w8a8, not f32",
                        f->name, t->name);
    char name[300];
    snprintf(name, sizeof name, "%s%s", t->name, INT8_SCALE_SUFFIX);
    const struct txi_st_file *sf = NULL;
    const struct txi_st_tensor *s = lookup(ld, name, &sf);
    if (!s || s->dtype != TXI_DT_F32 || s->n_dims != 1 || s->shape[0] != t->shape[0] ||
        (uintptr_t)s->data % sizeof(float) != 0)
        return txi_fail(ld->err, TX_ERR_FORMAT,
                        "%s: int8 tensor %s needs its scales %s: F32, (%lld), 4-byte aligned",
                        f->name, t->name, name, (long long)t->shape[0]);
    if (t->n_elems < 4)
        return txi_fail(ld->err, TX_ERR_FORMAT, "%s: int8 tensor %s is too small", f->name,
                        t->name);
    ld->m->info.weight_bytes += (int64_t)s->n_bytes;
    return keep_mapped(ld, t, (const float *)(const void *)s->data, out);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int txi_model_own(tx_model *m, void *p)
{
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? 2 * m->cap_owned : 64;
        void **n = realloc(m->owned, (size_t)cap * sizeof *n);
        if (!n) return -1;
        m->owned = n;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = p;
    return 0;
}

/* Finds `name` (for BART-family names "model.X" also as "X": checkpoints of the bare model
 * omit the prefix, and transformers accepts both). Sets *file to the shard holding it. */
static const struct txi_st_tensor *lookup(struct loader *ld, const char *name,
                                          const struct txi_st_file **file)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *n = name;
        if (attempt == 1) {
            if (strncmp(name, "model.", 6)) break;
            n = name + 6;
        }
        if (ld->weight_map) {
            const char *shard = json_string_value(json_object_get(ld->weight_map, n));
            if (!shard) continue;
            for (int i = 0; i < ld->m->n_files; i++)
                if (!strcmp(ld->m->files[i].name, shard)) {
                    *file = &ld->m->files[i];
                    return txi_st_find(*file, n);
                }
            continue;
        }
        const struct txi_st_tensor *t = txi_st_find(&ld->m->files[0], n);
        if (t) {
            *file = &ld->m->files[0];
            return t;
        }
    }
    return NULL;
}

static void shape_str(const int64_t *shape, int n, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    if (n == 0) snprintf(buf, size, "a scalar");
    for (int i = 0; i < n && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, i ? "x%lld" : "%lld", (long long)shape[i]);
}

/* Binds tensor `name` of shape (d0) [n_dims 1] or (d0, d1) [n_dims 2] as F32. When optional
 * and absent, *out = NULL and TX_OK. */
static tx_status bind(struct loader *ld, const char *name, int n_dims, int d0, int d1, int optional,
                      const float **out)
{
    tx_model *m = ld->m;
    const struct txi_st_file *f = NULL;
    const struct txi_st_tensor *t = lookup(ld, name, &f);
    if (!t) {
        *out = NULL;
        if (optional) return TX_OK;
        return txi_fail(ld->err, TX_ERR_FORMAT, "%s: tensor %s is missing", ld->weights_name, name);
    }
    int64_t want[2] = {d0, d1};
    int ok = t->n_dims == n_dims;
    for (int i = 0; ok && i < n_dims; i++)
        ok = t->shape[i] == want[i];
    if (!ok) {
        char got[96], exp[96];
        shape_str(t->shape, t->n_dims, got, sizeof got);
        shape_str(want, n_dims, exp, sizeof exp);
        return txi_fail(ld->err, TX_ERR_FORMAT, "%s: tensor %s is %s, config says %s", f->name,
                        t->name, got, exp);
    }
    if (t->dtype == TXI_DT_OTHER)
        return txi_fail(ld->err, TX_ERR_UNSUPPORTED,
                        "%s: tensor %s has dtype %s; only F32, F16, BF16 (and int8 weight "
                        "matrices) are supported",
                        f->name, t->name, t->dtype_name);
    ld->dtype_seen[t->dtype] = 1;
    m->info.n_params += t->n_elems;
    m->info.weight_bytes += (int64_t)t->n_bytes;
    if (t->dtype == TXI_DT_I8) return keep_int8(ld, f, t, n_dims, out);
    if (t->dtype == TXI_DT_F32 && (uintptr_t)t->data % sizeof(float) == 0) {
        *out = (const float *)(const void *)t->data;
        return TX_OK;
    }
    if (ld->keep_f16 && ld->matrix && n_dims == 2 &&
        (t->dtype == TXI_DT_F16 || t->dtype == TXI_DT_BF16) &&
        (uintptr_t)t->data % sizeof(uint16_t) == 0 && t->n_elems >= 2)
        return keep_mapped(ld, t, NULL, out);
    size_t n = (size_t)t->n_elems;
    float *buf = malloc(n ? n * sizeof *buf : 1);
    if (!buf || txi_model_own(m, buf)) {
        free(buf);
        return txi_fail(ld->err, TX_ERR_NOMEM, "%s: out of memory converting tensor %s", f->name,
                        t->name);
    }
    if (t->dtype == TXI_DT_F32) {
        memcpy(buf, t->data, n * sizeof *buf);
    } else {
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, t->data + 2 * i, 2); /* little-endian host */
            buf[i] = t->dtype == TXI_DT_F16 ? txi_f16_to_f32(h) : txi_bf16_to_f32(h);
        }
    }
    *out = buf;
    return TX_OK;
}

/* snprintf for tensor names (a name longer than the buffer is cut, then reported missing). */
static void name_fmt(char *buf, size_t size, const char *fmt, ...) TXI_PRINTF(3, 4);
static void name_fmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        tx_status st_ = (x);                                                                       \
        if (st_ != TX_OK) return st_;                                                              \
    } while (0)

static tx_status bind_linear(struct loader *ld, const char *base, int n_out, int n_in,
                             int with_bias, struct txi_linear *l)
{
    char name[256];
    name_fmt(name, sizeof name, "%s.weight", base);
    ld->matrix = 1;
    tx_status st = bind(ld, name, 2, n_out, n_in, 0, &l->w);
    ld->matrix = 0;
    if (st != TX_OK) return st;
    l->b = NULL;
    if (with_bias) {
        name_fmt(name, sizeof name, "%s.bias", base);
        TRY(bind(ld, name, 1, n_out, 0, 0, &l->b));
    }
    l->n_in = n_in;
    l->n_out = n_out;
    return TX_OK;
}

static tx_status bind_norm(struct loader *ld, const char *base, int d, int with_bias,
                           struct txi_norm *n)
{
    char name[256];
    name_fmt(name, sizeof name, "%s.weight", base);
    TRY(bind(ld, name, 1, d, 0, 0, &n->w));
    n->b = NULL;
    if (with_bias) {
        name_fmt(name, sizeof name, "%s.bias", base);
        TRY(bind(ld, name, 1, d, 0, 0, &n->b));
    }
    return TX_OK;
}

static tx_status bind_attn(struct loader *ld, const char *base, const char *const names[4],
                           struct txi_attn_weights *a)
{
    const struct txi_config *c = &ld->m->cfg;
    char name[256];
    struct txi_linear *l[4] = {&a->q, &a->k, &a->v, &a->o};
    for (int i = 0; i < 4; i++) {
        name_fmt(name, sizeof name, "%s.%s", base, names[i]);
        TRY(bind_linear(ld, name, i < 3 ? c->inner : c->d_model, i < 3 ? c->d_model : c->inner,
                        c->linear_bias, l[i]));
    }
    return TX_OK;
}

static tx_status alloc_layers(struct loader *ld, struct txi_stack *s, int n)
{
    s->n_layers = n;
    s->layers = calloc((size_t)n, sizeof *s->layers);
    if (!s->layers || txi_model_own(ld->m, s->layers)) {
        free(s->layers);
        s->layers = NULL;
        return txi_fail(ld->err, TX_ERR_NOMEM, "out of memory");
    }
    return TX_OK;
}

/* First of the names that exists, else a "missing" error naming the first. */
static tx_status bind_first(struct loader *ld, const char *const *names, int n, int rows, int cols,
                            const float **out)
{
    for (int i = 0; i < n; i++) {
        const struct txi_st_file *f;
        if (lookup(ld, names[i], &f)) return bind(ld, names[i], 2, rows, cols, 0, out);
    }
    return bind(ld, names[0], 2, rows, cols, 0, out);
}

/* One stacked cell layer of an nn.LSTM / nn.GRU named `base` (suffix "" or "_reverse"). */
static tx_status bind_rnn_layer(struct loader *ld, const char *base, int k, const char *suffix,
                                int gates, int n, int in, struct txi_rnn_layer *l)
{
    char w[256], b[256];
    struct txi_linear *lin[2] = {&l->ih, &l->hh};
    const char *kind[2] = {"ih", "hh"};
    for (int i = 0; i < 2; i++) {
        name_fmt(w, sizeof w, "%s.weight_%s_l%d%s", base, kind[i], k, suffix);
        name_fmt(b, sizeof b, "%s.bias_%s_l%d%s", base, kind[i], k, suffix);
        ld->matrix = 1;
        tx_status st = bind(ld, w, 2, gates * n, i ? n : in, 0, &lin[i]->w);
        ld->matrix = 0;
        if (st != TX_OK) return st;
        TRY(bind(ld, b, 1, gates * n, 0, 0, &lin[i]->b));
        lin[i]->n_out = gates * n;
        lin[i]->n_in = i ? n : in;
    }
    return TX_OK;
}

static tx_status alloc_rnn_layers(struct loader *ld, struct txi_rnn_layer **out, int n)
{
    *out = calloc((size_t)n, sizeof **out);
    if (!*out || txi_model_own(ld->m, *out)) {
        free(*out);
        *out = NULL;
        return txi_fail(ld->err, TX_ERR_NOMEM, "out of memory");
    }
    return TX_OK;
}

/* A bidirectional single-layer GRU of tools/train/han.py, widened to F32 (a small model). */
static tx_status bind_gru_bi(struct loader *ld, const char *base, int n, int in,
                             struct txi_rnn_layer *fw, struct txi_rnn_layer *bw)
{
    struct txi_rnn_layer *dir[2] = {fw, bw};
    for (int d = 0; d < 2; d++) {
        char w[256], b[256];
        struct txi_linear *lin[2] = {&dir[d]->ih, &dir[d]->hh};
        for (int i = 0; i < 2; i++) {
            name_fmt(w, sizeof w, "%s.weight_%s_l0%s", base, i ? "hh" : "ih", d ? "_reverse" : "");
            name_fmt(b, sizeof b, "%s.bias_%s_l0%s", base, i ? "hh" : "ih", d ? "_reverse" : "");
            TRY(bind(ld, w, 2, 3 * n, i ? n : in, 0, &lin[i]->w));
            TRY(bind(ld, b, 1, 3 * n, 0, 0, &lin[i]->b));
            lin[i]->n_out = 3 * n;
            lin[i]->n_in = i ? n : in;
        }
    }
    return TX_OK;
}

/* han (tools/train/han.py): PyTorch's own tensor names; every tensor widened to F32. */
static tx_status bind_han(struct loader *ld)
{
    const struct txi_han_config *c = &ld->m->cfg.han;
    struct txi_han_weights *w = &ld->m->han;
    int W = 2 * c->word_hidden, S = 2 * c->sent_hidden;
    const float *one;
    TRY(bind(ld, "embed_tokens.weight", 2, ld->m->cfg.vocab, c->emb, 0, &w->embed));
    TRY(bind_gru_bi(ld, "word_rnn", c->word_hidden, c->emb, &w->word_fw, &w->word_bw));
    TRY(bind(ld, "word_proj.weight", 2, W, W, 0, &w->word_proj.w));
    TRY(bind(ld, "word_proj.bias", 1, W, 0, 0, &w->word_proj.b));
    w->word_proj.n_in = w->word_proj.n_out = W;
    TRY(bind(ld, "word_context", 1, W, 0, 0, &w->word_context));
    TRY(bind_gru_bi(ld, "sent_rnn", c->sent_hidden, W, &w->sent_fw, &w->sent_bw));
    TRY(bind(ld, "sent_proj.weight", 2, S, S, 0, &w->sent_proj.w));
    TRY(bind(ld, "sent_proj.bias", 1, S, 0, 0, &w->sent_proj.b));
    w->sent_proj.n_in = w->sent_proj.n_out = S;
    TRY(bind(ld, "sent_context", 1, S, 0, 0, &w->sent_context));
    TRY(bind(ld, "content.weight", 2, 1, S, 0, &w->content));
    TRY(bind(ld, "salience.weight", 2, S, S, 0, &w->salience.w));
    w->salience.n_in = w->salience.n_out = S;
    TRY(bind(ld, "position.weight", 2, c->max_positions, 1, 0, &w->position));
    TRY(bind(ld, "bias", 1, 1, 0, 0, &one));
    w->bias = one;
    return TX_OK;
}

/* rnn_seq2seq (docs/rnn_seq2seq.md): PyTorch's own tensor names. */
static tx_status bind_rnn(struct loader *ld)
{
    const struct txi_rnn_config *c = &ld->m->cfg.rnn;
    struct txi_rnn_weights *w = &ld->m->rnn;
    int V = ld->m->cfg.vocab, H = c->hidden, G = c->cell == TXI_RNN_LSTM ? 4 : 3;
    TRY(bind(ld, "encoder.embed_tokens.weight", 2, V, c->emb, 0, &w->enc_embed));
    TRY(bind(ld, "decoder.embed_tokens.weight", 2, V, c->emb, 0, &w->dec_embed));
    TRY(alloc_rnn_layers(ld, &w->enc_fw, c->enc_layers));
    if (c->bidir) TRY(alloc_rnn_layers(ld, &w->enc_bw, c->enc_layers));
    for (int k = 0; k < c->enc_layers; k++) {
        int in = k ? (c->bidir ? 2 : 1) * c->enc_dir : c->emb;
        TRY(bind_rnn_layer(ld, "encoder.rnn", k, "", G, c->enc_dir, in, &w->enc_fw[k]));
        if (c->bidir)
            TRY(bind_rnn_layer(ld, "encoder.rnn", k, "_reverse", G, c->enc_dir, in, &w->enc_bw[k]));
    }
    TRY(alloc_rnn_layers(ld, &w->dec, c->dec_layers));
    int fed = c->att == TXI_ATT_ADDITIVE || c->input_feeding;
    for (int k = 0; k < c->dec_layers; k++)
        TRY(bind_rnn_layer(ld, "decoder.rnn", k, "", G, H, k ? H : c->emb + (fed ? H : 0),
                           &w->dec[k]));
    TRY(bind_linear(ld, "decoder.bridge", H, H, 1, &w->bridge));
    if (c->att == TXI_ATT_ADDITIVE) {
        TRY(bind_linear(ld, "decoder.attention.key_proj", H, H, 0, &w->key_proj));
        TRY(bind_linear(ld, "decoder.attention.query_proj", H, H, 0, &w->query_proj));
        TRY(bind(ld, "decoder.attention.v.weight", 2, 1, H, 0, &w->v));
    } else if (c->att == TXI_ATT_GENERAL) {
        TRY(bind_linear(ld, "decoder.attention.W", H, H, 0, &w->attn_w));
    }
    TRY(bind_linear(ld, "decoder.combine", H, 2 * H, 0, &w->combine));
    TRY(bind_linear(ld, "lm_head", V, H, 1, &w->lm_head));
    return TX_OK;
}

static tx_status bind_bart_like(struct loader *ld)
{
    tx_model *m = ld->m;
    const struct txi_config *c = &m->cfg;
    int d = c->d_model;
    char base[192];
    static const char *const attn_names[4] = {"q_proj", "k_proj", "v_proj", "out_proj"};

    /* Embeddings: shared tensors may be stored once under any of the tied names. */
    ld->matrix = 1; /* until lm_head */
    if (c->share_embeddings) {
        static const char *const shared[] = {"model.shared.weight",
                                             "model.encoder.embed_tokens.weight",
                                             "model.decoder.embed_tokens.weight"};
        TRY(bind_first(ld, shared, 3, c->vocab, d, &m->enc.embed));
        m->dec.embed = m->enc.embed;
    } else {
        TRY(bind(ld, "model.encoder.embed_tokens.weight", 2, c->vocab, d, 0, &m->enc.embed));
        TRY(bind(ld, "model.decoder.embed_tokens.weight", 2, c->dec_vocab, d, 0, &m->dec.embed));
    }
    m->enc.n_embed = c->vocab;
    m->dec.n_embed = c->dec_vocab;
    if (c->tie_word_embeddings)
        m->lm_head = m->dec.embed; /* MarianMTModel/BART tie lm_head to the decoder embedding */
    else
        TRY(bind(ld, "lm_head.weight", 2, c->dec_vocab, d, 0, &m->lm_head));
    ld->matrix = 0;
    TRY(bind(ld, "final_logits_bias", 2, 1, c->dec_vocab, 1, &m->final_logits_bias));

    struct txi_stack *stacks[2] = {&m->enc, &m->dec};
    const char *sname[2] = {"encoder", "decoder"};
    const float *computed_pos = NULL;
    for (int si = 0; si < 2; si++) {
        struct txi_stack *s = stacks[si];
        if (c->pos == TXI_POS_LEARNED) {
            name_fmt(base, sizeof base, "model.%s.embed_positions.weight", sname[si]);
            TRY(bind(ld, base, 2, c->max_pos + c->pos_offset, d, 0, &s->pos));
            s->n_pos = c->max_pos + c->pos_offset;
        } else if (c->pos == TXI_POS_SINUSOIDAL) {
            /* Not stored by save_pretrained (computed); older exports carry the same table, and
             * transformers then loads it, so a stored copy wins. */
            name_fmt(base, sizeof base, "model.%s.embed_positions.weight", sname[si]);
            TRY(bind(ld, base, 2, c->max_pos, d, 1, &s->pos));
            s->n_pos = c->max_pos;
            if (!s->pos && si == 1 && computed_pos) {
                s->pos = computed_pos; /* the same table serves both stacks */
            } else if (!s->pos) {
                float *tab = malloc((size_t)c->max_pos * (size_t)d * sizeof *tab);
                if (!tab || txi_model_own(m, tab)) {
                    free(tab);
                    return txi_fail(ld->err, TX_ERR_NOMEM, "out of memory");
                }
                txi_pos_sinusoidal(tab, c->max_pos, d, TXI_SINUSOID_SPLIT);
                s->pos = computed_pos = tab;
            }
        }
        if (c->emb_layernorm) {
            name_fmt(base, sizeof base, "model.%s.layernorm_embedding", sname[si]);
            TRY(bind_norm(ld, base, d, 1, &s->emb_norm));
        }
        if (c->pre_norm) {
            name_fmt(base, sizeof base, "model.%s.layer_norm", sname[si]);
            TRY(bind_norm(ld, base, d, 1, &s->final_norm));
        }
        int n_layers = si ? c->n_dec_layers : c->n_enc_layers;
        int ffn = si ? c->dec_ffn : c->enc_ffn;
        TRY(alloc_layers(ld, s, n_layers));
        for (int i = 0; i < n_layers; i++) {
            struct txi_layer *L = &s->layers[i];
            char name[192];
            name_fmt(base, sizeof base, "model.%s.layers.%d", sname[si], i);
            name_fmt(name, sizeof name, "%s.self_attn", base);
            TRY(bind_attn(ld, name, attn_names, &L->self_attn));
            name_fmt(name, sizeof name, "%s.self_attn_layer_norm", base);
            TRY(bind_norm(ld, name, d, 1, &L->self_norm));
            if (si) {
                name_fmt(name, sizeof name, "%s.encoder_attn", base);
                TRY(bind_attn(ld, name, attn_names, &L->cross_attn));
                name_fmt(name, sizeof name, "%s.encoder_attn_layer_norm", base);
                TRY(bind_norm(ld, name, d, 1, &L->cross_norm));
            }
            name_fmt(name, sizeof name, "%s.fc1", base);
            TRY(bind_linear(ld, name, ffn, d, 1, &L->fc1));
            name_fmt(name, sizeof name, "%s.fc2", base);
            TRY(bind_linear(ld, name, d, ffn, 1, &L->fc2));
            name_fmt(name, sizeof name, "%s.final_layer_norm", base);
            TRY(bind_norm(ld, name, d, 1, &L->ffn_norm));
        }
    }
    return TX_OK;
}

static tx_status bind_t5(struct loader *ld)
{
    tx_model *m = ld->m;
    const struct txi_config *c = &m->cfg;
    int d = c->d_model;
    static const char *const attn_names[4] = {"q", "k", "v", "o"};
    /* T5Stack receives the shared embedding module itself, so embed_tokens is always shared. */
    static const char *const shared[] = {"shared.weight", "encoder.embed_tokens.weight",
                                         "decoder.embed_tokens.weight"};
    ld->matrix = 1; /* embeddings and lm_head */
    TRY(bind_first(ld, shared, 3, c->vocab, d, &m->enc.embed));
    m->dec.embed = m->enc.embed;
    m->enc.n_embed = m->dec.n_embed = c->vocab;
    if (c->tie_word_embeddings)
        m->lm_head = m->enc.embed;
    else
        TRY(bind(ld, "lm_head.weight", 2, c->vocab, d, 0, &m->lm_head));
    ld->matrix = 0;

    struct txi_stack *stacks[2] = {&m->enc, &m->dec};
    const char *sname[2] = {"encoder", "decoder"};
    char name[192];
    for (int si = 0; si < 2; si++) {
        struct txi_stack *s = stacks[si];
        int n_layers = si ? c->n_dec_layers : c->n_enc_layers;
        TRY(alloc_layers(ld, s, n_layers));
        name_fmt(name, sizeof name,
                 "%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight", sname[si]);
        TRY(bind(ld, name, 2, c->n_buckets, c->n_heads, 0, &s->rel_bias));
        name_fmt(name, sizeof name, "%s.final_layer_norm", sname[si]);
        TRY(bind_norm(ld, name, d, 0, &s->final_norm));
        for (int i = 0; i < n_layers; i++) {
            struct txi_layer *L = &s->layers[i];
            int ff = si ? 2 : 1; /* index of the feed-forward sub-layer */
            name_fmt(name, sizeof name, "%s.block.%d.layer.0.SelfAttention", sname[si], i);
            TRY(bind_attn(ld, name, attn_names, &L->self_attn));
            name_fmt(name, sizeof name, "%s.block.%d.layer.0.layer_norm", sname[si], i);
            TRY(bind_norm(ld, name, d, 0, &L->self_norm));
            if (si) {
                name_fmt(name, sizeof name, "%s.block.%d.layer.1.EncDecAttention", sname[si], i);
                TRY(bind_attn(ld, name, attn_names, &L->cross_attn));
                name_fmt(name, sizeof name, "%s.block.%d.layer.1.layer_norm", sname[si], i);
                TRY(bind_norm(ld, name, d, 0, &L->cross_norm));
            }
            if (c->gated_ffn) {
                name_fmt(name, sizeof name, "%s.block.%d.layer.%d.DenseReluDense.wi_0", sname[si],
                         i, ff);
                TRY(bind_linear(ld, name, c->enc_ffn, d, 0, &L->fc1));
                name_fmt(name, sizeof name, "%s.block.%d.layer.%d.DenseReluDense.wi_1", sname[si],
                         i, ff);
                TRY(bind_linear(ld, name, c->enc_ffn, d, 0, &L->fc1_gate));
            } else {
                name_fmt(name, sizeof name, "%s.block.%d.layer.%d.DenseReluDense.wi", sname[si], i,
                         ff);
                TRY(bind_linear(ld, name, c->enc_ffn, d, 0, &L->fc1));
            }
            name_fmt(name, sizeof name, "%s.block.%d.layer.%d.DenseReluDense.wo", sname[si], i, ff);
            TRY(bind_linear(ld, name, d, c->enc_ffn, 0, &L->fc2));
            name_fmt(name, sizeof name, "%s.block.%d.layer.%d.layer_norm", sname[si], i, ff);
            TRY(bind_norm(ld, name, d, 0, &L->ffn_norm));
        }
    }
    return TX_OK;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static tx_status join(char *buf, size_t size, const char *dir, const char *name,
                      struct tx_error *err)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size) return txi_fail(err, TX_ERR_INVALID, "%s: path too long", dir);
    return TX_OK;
}

/* Opens model.safetensors, or every shard named by model.safetensors.index.json. */
static tx_status open_weights(struct loader *ld, const char *dir, json_t **index_root)
{
    tx_model *m = ld->m;
    char path[PATH_MAX];
    TRY(join(path, sizeof path, dir, "model.safetensors", ld->err));
    if (file_exists(path)) {
        ld->weights_name = "model.safetensors";
        m->files = calloc(1, sizeof *m->files);
        if (!m->files) return txi_fail(ld->err, TX_ERR_NOMEM, "out of memory");
        TRY(txi_st_open(path, "model.safetensors", &m->files[0], ld->err));
        m->n_files = 1;
        return TX_OK;
    }
    const char *iname = "model.safetensors.index.json";
    TRY(join(path, sizeof path, dir, iname, ld->err));
    if (!file_exists(path)) {
        char bin[PATH_MAX];
        TRY(join(bin, sizeof bin, dir, "pytorch_model.bin", ld->err));
        if (file_exists(bin))
            return txi_fail(ld->err, TX_ERR_UNSUPPORTED,
                            "%s: only pytorch_model.bin weights found; safetensors weights "
                            "(model.safetensors) are required",
                            dir);
        return txi_fail(ld->err, TX_ERR_IO,
                        "%s: no model.safetensors or model.safetensors.index.json", dir);
    }
    ld->weights_name = iname;
    TRY(txi_json_load(path, iname, index_root, ld->err));
    json_t *wm = json_object_get(*index_root, "weight_map");
    if (!json_is_object(wm))
        return txi_fail(ld->err, TX_ERR_FORMAT, "%s: no \"weight_map\" object", iname);
    /* Distinct shard names, in order of first appearance. */
    size_t n_entries = json_object_size(wm);
    m->files = calloc(n_entries ? n_entries : 1, sizeof *m->files);
    if (!m->files) return txi_fail(ld->err, TX_ERR_NOMEM, "out of memory");
    const char *key;
    json_t *v;
    json_object_foreach(wm, key, v)
    {
        const char *shard = json_string_value(v);
        if (!shard)
            return txi_fail(ld->err, TX_ERR_FORMAT, "%s: weight_map[\"%s\"] is not a file name",
                            iname, key);
        if (strchr(shard, '/') || !strcmp(shard, "..") || !strcmp(shard, "."))
            return txi_fail(ld->err, TX_ERR_FORMAT,
                            "%s: weight_map[\"%s\"] = \"%s\" is not a file in the folder", iname,
                            key, shard);
        int seen = 0;
        for (int i = 0; i < m->n_files && !seen; i++)
            seen = !strcmp(m->files[i].name, shard);
        if (seen) continue;
        TRY(join(path, sizeof path, dir, shard, ld->err));
        TRY(txi_st_open(path, shard, &m->files[m->n_files], ld->err));
        m->n_files++;
    }
    ld->weight_map = wm;
    /* Every name the index lists must be in the shard it names. */
    json_object_foreach(wm, key, v)
    {
        for (int i = 0; i < m->n_files; i++)
            if (!strcmp(m->files[i].name, json_string_value(v)) && !txi_st_find(&m->files[i], key))
                return txi_fail(ld->err, TX_ERR_FORMAT,
                                "%s: tensor %s is listed in %s but not stored there",
                                m->files[i].name, key, iname);
    }
    return TX_OK;
}

/* Generation defaults of a model config class (used when there is no generation_config.json,
 * like transformers' GenerationConfig.from_model_config). */
static void class_gen_defaults(const struct txi_config *c, struct tx_gen_params *g)
{
    switch (c->arch) {
    case TX_ARCH_BART:
        g->decoder_start_token_id = 2;
        /* fall through */
    case TX_ARCH_MBART:
        g->pad_token_id = 1;
        g->eos_token_id = 2;
        g->forced_eos_token_id = 2;
        break;
    case TX_ARCH_MARIAN:
        g->decoder_start_token_id = 58100;
        g->pad_token_id = 58100;
        g->eos_token_id = 0;
        g->forced_eos_token_id = 0;
        break;
    case TX_ARCH_T5:
        g->pad_token_id = 0;
        g->eos_token_id = 1;
        break;
    case TX_ARCH_RNN: /* no class defaults: config.json's token ids (docs/rnn_seq2seq.md) */
    case TX_ARCH_HAN:
        break;
    }
}

static tx_status load_gen_config(tx_model *m, const char *dir, struct tx_error *err)
{
    char path[PATH_MAX];
    TRY(join(path, sizeof path, dir, "generation_config.json", err));
    m->gen = tx_gen_default_params();
    json_t *g = NULL;
    if (file_exists(path)) TRY(txi_json_load(path, "generation_config.json", &g, err));
    /* A generation config that was itself derived from config.json is rebuilt from it by
     * generate() (4.35.2 utils.py, "_from_model_config"). */
    if (g && json_is_true(json_object_get(g, "_from_model_config"))) {
        json_decref(g);
        g = NULL;
    }
    tx_status st;
    if (g) {
        st = txi_gen_config_parse(g, "generation_config.json", m->cfg.dec_vocab, &m->gen, err);
        json_decref(g);
    } else {
        class_gen_defaults(&m->cfg, &m->gen);
        st = txi_gen_config_parse(m->config_json, "config.json", m->cfg.dec_vocab, &m->gen, err);
    }
    return st;
}

struct tx_load_params tx_load_default_params(void)
{
    struct tx_load_params p = {TX_DTYPE_AUTO};
    return p;
}

tx_status tx_model_load(const char *dir, tx_model **out, struct tx_error *err)
{
    struct tx_load_params p = tx_load_default_params();
    return tx_model_load_ex(dir, &p, out, err);
}

tx_status tx_model_load_ex(const char *dir, const struct tx_load_params *params, tx_model **out,
                           struct tx_error *err)
{
    double t0 = now_ms();
    if (!dir || !out || !params)
        return txi_fail(err, TX_ERR_INVALID, "tx_model_load: NULL argument");
    if (params->dtype != TX_DTYPE_AUTO && params->dtype != TX_DTYPE_INT8 &&
        params->dtype != TX_DTYPE_F16 && params->dtype != TX_DTYPE_F32 &&
        params->dtype != TX_DTYPE_W8A8)
        return txi_fail(err, TX_ERR_INVALID, "tx_model_load: unknown dtype %d", (int)params->dtype);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return txi_fail(err, TX_ERR_IO, "%s: not a model folder (%s)", dir,
                        errno ? strerror(errno) : "not a directory");
    tx_model *m = calloc(1, sizeof *m);
    if (!m) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    struct loader ld = {.m = m,
                        .err = err,
                        .keep_f16 = params->dtype != TX_DTYPE_F32};
    json_t *index_root = NULL;
    char path[PATH_MAX];
    tx_status st = join(path, sizeof path, dir, "config.json", err);
    if (st != TX_OK) goto fail;
    st = txi_json_load(path, "config.json", &m->config_json, err);
    if (st != TX_OK) goto fail;
    st = txi_config_parse(m->config_json, "config.json", &m->cfg, err);
    if (st != TX_OK) goto fail;
    st = load_gen_config(m, dir, err);
    if (st != TX_OK) goto fail;
    st = open_weights(&ld, dir, &index_root);
    if (st != TX_OK) goto fail;
    st = m->cfg.arch == TX_ARCH_T5    ? bind_t5(&ld)
         : m->cfg.arch == TX_ARCH_RNN ? bind_rnn(&ld)
         : m->cfg.arch == TX_ARCH_HAN ? bind_han(&ld)
                                      : bind_bart_like(&ld);
    if (st != TX_OK) goto fail;

    int kinds = ld.dtype_seen[0] + ld.dtype_seen[1] + ld.dtype_seen[2];
    strcpy(m->dtype, ld.dtype_seen[TXI_DT_I8] ? "int8" /* attnserve's int8 checkpoint */
                     : kinds > 1              ? "mixed"
                     : ld.dtype_seen[1]       ? "F16"
                     : ld.dtype_seen[2]       ? "BF16"
                                              : "F32");
    if (params->dtype == TX_DTYPE_AUTO) { /* F16/BF16 matrices as stored, in the mapping */
        st = txi_model_reduce(m, TXI_W_F16, 1, err);
        if (st != TX_OK) goto fail;
    } else if (params->dtype == TX_DTYPE_F32) {
        strcpy(m->dtype, "f32");
    } else {
        txi_wfmt f = params->dtype == TX_DTYPE_INT8   ? TXI_W_Q8
                     : params->dtype == TX_DTYPE_W8A8 ? TXI_W_Q8A8
                                                      : TXI_W_F16;
        st = txi_model_reduce(m, f, 0, err);
        if (st != TX_OK) goto fail;
        strcpy(m->dtype, f == TXI_W_Q8 ? "int8" : f == TXI_W_Q8A8 ? "w8a8" : "f16");
    }
    struct tx_model_info *in = &m->info;
    in->arch = m->cfg.arch;
    in->model_type = m->cfg.model_type;
    in->dtype = m->dtype;
    in->d_model = m->cfg.d_model;
    in->n_encoder_layers = m->cfg.n_enc_layers;
    in->n_decoder_layers = m->cfg.n_dec_layers;
    in->n_heads = m->cfg.n_heads;
    in->self_attention = m->cfg.arch != TX_ARCH_RNN && m->cfg.arch != TX_ARCH_HAN;
    in->attention = "scaled dot-product, multi-head";
    if (m->cfg.arch == TX_ARCH_RNN) {
        static const char *const att[] = {"additive (Bahdanau)", "dot (Luong)", "general (Luong)"};
        in->attention = att[m->cfg.rnn.att];
        in->cell = m->cfg.rnn.cell == TXI_RNN_LSTM ? "lstm" : "gru";
    } else if (m->cfg.arch == TX_ARCH_HAN) {
        in->attention = "hierarchical (word and sentence context vectors)";
        in->cell = "gru";
    }
    in->vocab_size = m->cfg.dec_vocab;
    in->max_source_positions = m->cfg.max_pos;
    in->max_target_positions = m->cfg.max_pos;
    json_decref(index_root);
    in->load_ms = now_ms() - t0;
    *out = m;
    return TX_OK;
fail:
    json_decref(index_root);
    tx_model_free(m);
    return st;
}

void tx_model_free(tx_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_files; i++)
        txi_st_close(&m->files[i]);
    free(m->files);
    for (int i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    free(m->mapped);
    json_decref(m->config_json);
    free(m);
}

const struct tx_model_info *tx_model_get_info(const tx_model *m)
{
    return &m->info;
}

const char *tx_model_task_prefix(const tx_model *m, const char *task)
{
    if (!m || !task) return NULL;
    const json_t *tsp = json_object_get(m->config_json, "task_specific_params");
    const json_t *t = json_object_get(tsp, task);
    return json_string_value(json_object_get(t, "prefix"));
}

struct tx_gen_params tx_model_gen_params(const tx_model *m)
{
    return m->gen;
}

tx_status tx_model_task_gen_params(const tx_model *m, const char *task, struct tx_gen_params *out,
                                   struct tx_error *err)
{
    if (!m || !task || !out)
        return txi_fail(err, TX_ERR_INVALID, "tx_model_task_gen_params: NULL argument");
    struct tx_gen_params g = m->gen;
    const json_t *tsp = json_object_get(m->config_json, "task_specific_params");
    const json_t *t = json_object_get(tsp, task);
    if (t && !json_is_object(t))
        return txi_fail(err, TX_ERR_FORMAT,
                        "config.json: task_specific_params.%.64s is not a JSON object", task);
    if (t) {
        char file[128];
        snprintf(file, sizeof file, "config.json task_specific_params.%.64s", task);
        tx_status st = txi_gen_config_parse(t, file, m->cfg.dec_vocab, &g, err);
        if (st != TX_OK) return st;
    }
    *out = g;
    return TX_OK;
}
