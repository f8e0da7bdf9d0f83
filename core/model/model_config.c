/* model_config.c — config.json / generation_config.json into the facts the model code needs,
 * with transformers 4.35.2's defaults (MarianConfig, BartConfig, MBartConfig, T5Config,
 * GenerationConfig). Core dimensions are required: a checkpoint always states them, and a
 * silent default (BART's 1024) would only turn a broken file into a confusing shape error. */
#include "model_config.h"
#include "txi.h"

#include <math.h>
#include <string.h>

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

tx_status txi_json_load(const char *path, const char *display, json_t **out, struct tx_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jansson reports a file it cannot read with line -1 */
        if (jerr.line < 0) return txi_fail(err, TX_ERR_IO, "%s: %s", display, jerr.text);
        return txi_fail(err, TX_ERR_FORMAT, "%s: invalid JSON at line %d, column %d: %s", display,
                        jerr.line, jerr.column, jerr.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return txi_fail(err, TX_ERR_FORMAT, "%s: top level is not a JSON object", display);
    }
    *out = root;
    return TX_OK;
}

/* Integer field: missing (or null) -> def when !required; must lie in [lo, hi]. */
static tx_status get_int(const json_t *root, const char *file, const char *key, int required,
                         int def, int lo, int hi, int *out, struct tx_error *err)
{
    const json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        if (required)
            return txi_fail(err, TX_ERR_FORMAT, "%s: required field \"%s\" is missing", file, key);
        *out = def;
        return TX_OK;
    }
    if (!json_is_integer(v))
        return txi_fail(err, TX_ERR_FORMAT, "%s: field \"%s\" must be an integer, not %s", file,
                        key, json_type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return txi_fail(err, TX_ERR_FORMAT, "%s: field \"%s\" = %lld is out of range [%d, %d]",
                        file, key, (long long)x, lo, hi);
    *out = (int)x;
    return TX_OK;
}

static tx_status get_bool(const json_t *root, const char *file, const char *key, int def, int *out,
                          struct tx_error *err)
{
    const json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return TX_OK;
    }
    if (!json_is_boolean(v))
        return txi_fail(err, TX_ERR_FORMAT, "%s: field \"%s\" must be true or false, not %s", file,
                        key, json_type_name(v));
    *out = json_is_true(v);
    return TX_OK;
}

static tx_status get_float(const json_t *root, const char *file, const char *key, float def,
                           float *out, struct tx_error *err)
{
    const json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return TX_OK;
    }
    if (!json_is_number(v))
        return txi_fail(err, TX_ERR_FORMAT, "%s: field \"%s\" must be a number, not %s", file, key,
                        json_type_name(v));
    double x = json_number_value(v);
    if (!isfinite(x))
        return txi_fail(err, TX_ERR_FORMAT, "%s: field \"%s\" is not finite", file, key);
    *out = (float)x;
    return TX_OK;
}

/* String field; NULL (missing) -> def. */
static tx_status get_string(const json_t *root, const char *file, const char *key, const char *def,
                            const char **out, struct tx_error *err)
{
    const json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return TX_OK;
    }
    if (!json_is_string(v))
        return txi_fail(err, TX_ERR_FORMAT, "%s: field \"%s\" must be a string, not %s", file, key,
                        json_type_name(v));
    *out = json_string_value(v);
    return TX_OK;
}

static tx_status parse_act(const char *file, const char *key, const char *name, txi_act *out,
                           struct tx_error *err)
{
    if (!strcmp(name, "relu"))
        *out = TXI_ACT_RELU;
    else if (!strcmp(name, "gelu"))
        *out = TXI_ACT_GELU;
    else if (!strcmp(name, "gelu_new"))
        *out = TXI_ACT_GELU_NEW;
    else if (!strcmp(name, "silu") || !strcmp(name, "swish"))
        *out = TXI_ACT_SILU;
    else
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "%s: %s \"%s\" is not supported (relu, gelu, gelu_new, silu, swish)", file,
                        key, name);
    return TX_OK;
}

#define DIM_MAX 1000000
#define TRY(x)                                                                                     \
    do {                                                                                           \
        tx_status st_ = (x);                                                                       \
        if (st_ != TX_OK) return st_;                                                              \
    } while (0)

/* Marian, BART and mBART share BartConfig's field names. */
static tx_status parse_bart_like(const json_t *r, const char *f, struct txi_config *c,
                                 struct tx_error *err)
{
    int enc_heads = 0, dec_heads = 0, scale = 0, tie_ed = 0;
    TRY(get_int(r, f, "d_model", 1, 0, 1, DIM_MAX, &c->d_model, err));
    TRY(get_int(r, f, "encoder_layers", 1, 0, 1, 1000, &c->n_enc_layers, err));
    TRY(get_int(r, f, "decoder_layers", 1, 0, 1, 1000, &c->n_dec_layers, err));
    TRY(get_int(r, f, "encoder_attention_heads", 1, 0, 1, 4096, &enc_heads, err));
    TRY(get_int(r, f, "decoder_attention_heads", 1, 0, 1, 4096, &dec_heads, err));
    TRY(get_int(r, f, "encoder_ffn_dim", 1, 0, 1, DIM_MAX, &c->enc_ffn, err));
    TRY(get_int(r, f, "decoder_ffn_dim", 1, 0, 1, DIM_MAX, &c->dec_ffn, err));
    TRY(get_int(r, f, "vocab_size", 1, 0, 1, 100000000, &c->vocab, err));
    TRY(get_int(r, f, "max_position_embeddings", 1, 0, 1, DIM_MAX, &c->max_pos, err));
    TRY(get_bool(r, f, "scale_embedding", 0, &scale, err));
    TRY(get_bool(r, f, "tie_word_embeddings", 1, &c->tie_word_embeddings, err));
    TRY(get_bool(r, f, "tie_encoder_decoder", 0, &tie_ed, err));
    if (tie_ed)
        return txi_fail(err, TX_ERR_UNSUPPORTED, "%s: tie_encoder_decoder = true is not supported",
                        f);
    const char *act = NULL;
    TRY(get_string(r, f, "activation_function", "gelu", &act, err));
    TRY(parse_act(f, "activation_function", act, &c->act, err));
    if (enc_heads != dec_heads)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "%s: encoder_attention_heads (%d) differs from decoder_attention_heads "
                        "(%d); only equal head counts are supported",
                        f, enc_heads, dec_heads);
    if (c->d_model % enc_heads)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: d_model (%d) is not divisible by encoder_attention_heads (%d)", f,
                        c->d_model, enc_heads);
    c->n_heads = enc_heads;
    c->d_head = c->d_model / enc_heads;
    c->inner = c->d_model;
    c->embed_scale = scale ? sqrtf((float)c->d_model) : 1.0f;
    c->attn_scale = powf((float)c->d_head, -0.5f);
    c->norm_eps = 1e-5f; /* nn.LayerNorm default */
    c->linear_bias = 1;
    c->lm_head_scale = 1.0f;
    c->dec_vocab = c->vocab;
    return TX_OK;
}

static tx_status parse_t5(const json_t *r, const char *f, struct txi_config *c,
                          struct tx_error *err)
{
    int d_ff = 0;
    TRY(get_int(r, f, "d_model", 1, 0, 1, DIM_MAX, &c->d_model, err));
    TRY(get_int(r, f, "d_kv", 1, 0, 1, DIM_MAX, &c->d_head, err));
    TRY(get_int(r, f, "d_ff", 1, 0, 1, DIM_MAX, &d_ff, err));
    TRY(get_int(r, f, "num_layers", 1, 0, 1, 1000, &c->n_enc_layers, err));
    TRY(get_int(r, f, "num_decoder_layers", 0, c->n_enc_layers, 1, 1000, &c->n_dec_layers, err));
    TRY(get_int(r, f, "num_heads", 1, 0, 1, 4096, &c->n_heads, err));
    TRY(get_int(r, f, "vocab_size", 1, 0, 1, 100000000, &c->vocab, err));
    TRY(get_int(r, f, "relative_attention_num_buckets", 0, 32, 2, 100000, &c->n_buckets, err));
    TRY(get_int(r, f, "relative_attention_max_distance", 0, 128, 1, 10000000, &c->max_distance,
                err));
    TRY(get_float(r, f, "layer_norm_epsilon", 1e-6f, &c->norm_eps, err));
    TRY(get_bool(r, f, "tie_word_embeddings", 1, &c->tie_word_embeddings, err));
    int tie_ed = 0;
    TRY(get_bool(r, f, "tie_encoder_decoder", 0, &tie_ed, err));
    if (tie_ed)
        return txi_fail(err, TX_ERR_UNSUPPORTED, "%s: tie_encoder_decoder = true is not supported",
                        f);
    /* T5Config: feed_forward_proj is "ACT" or "gated-ACT"; "gated-gelu" means gelu_new. */
    const char *ffp = NULL;
    TRY(get_string(r, f, "feed_forward_proj", "relu", &ffp, err));
    const char *act = ffp;
    if (!strncmp(ffp, "gated-", 6)) {
        c->gated_ffn = 1;
        act = ffp + 6;
    }
    if (strchr(act, '-'))
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "%s: feed_forward_proj \"%s\" is not of the form ACT or gated-ACT", f, ffp);
    if (!strcmp(ffp, "gated-gelu")) act = "gelu_new";
    TRY(parse_act(f, "feed_forward_proj", act, &c->act, err));
    if ((long long)c->n_heads * c->d_head > DIM_MAX)
        return txi_fail(err, TX_ERR_FORMAT, "%s: num_heads x d_kv is too large", f);
    c->inner = c->n_heads * c->d_head;
    c->enc_ffn = c->dec_ffn = d_ff;
    c->dec_vocab = c->vocab;
    c->max_pos = 0;
    c->pre_norm = 1;
    c->rms_norm = 1;
    c->embed_scale = 1.0f;
    c->attn_scale = 1.0f; /* T5 folds the scaling into its initialisation */
    c->pos = TXI_POS_NONE;
    c->linear_bias = 0;
    c->share_embeddings = 1;
    c->lm_head_scale = c->tie_word_embeddings ? powf((float)c->d_model, -0.5f) : 1.0f;
    return TX_OK;
}

/* rnn_seq2seq: the recurrent fields, and the Transformer fields the shared code reads (one
 * attention "layer" of one head over hidden-wide encoder states; no position limit). */
static tx_status parse_rnn(const json_t *r, const char *f, struct txi_config *c,
                           struct tx_error *err)
{
    struct txi_rnn_config *n = &c->rnn;
    const char *cell = NULL, *att = NULL;
    TRY(get_string(r, f, "cell", "lstm", &cell, err));
    if (!strcmp(cell, "lstm"))
        n->cell = TXI_RNN_LSTM;
    else if (!strcmp(cell, "gru"))
        n->cell = TXI_RNN_GRU;
    else
        return txi_fail(err, TX_ERR_UNSUPPORTED, "%s: field \"cell\" = \"%.40s\" is not supported "
                        "(lstm, gru)", f, cell);
    TRY(get_string(r, f, "attention", "additive", &att, err));
    if (!strcmp(att, "additive"))
        n->att = TXI_ATT_ADDITIVE;
    else if (!strcmp(att, "dot"))
        n->att = TXI_ATT_DOT;
    else if (!strcmp(att, "general"))
        n->att = TXI_ATT_GENERAL;
    else
        return txi_fail(err, TX_ERR_UNSUPPORTED, "%s: field \"attention\" = \"%.40s\" is not "
                        "supported (additive, dot, general)", f, att);
    TRY(get_int(r, f, "vocab_size", 1, 0, 1, 100000000, &c->vocab, err));
    TRY(get_int(r, f, "embedding_size", 1, 0, 1, 65536, &n->emb, err));
    TRY(get_int(r, f, "hidden_size", 1, 0, 1, 65536, &n->hidden, err));
    TRY(get_int(r, f, "encoder_layers", 0, 1, 1, 64, &n->enc_layers, err));
    TRY(get_int(r, f, "decoder_layers", 0, 1, 1, 64, &n->dec_layers, err));
    TRY(get_bool(r, f, "bidirectional_encoder", 1, &n->bidir, err));
    TRY(get_bool(r, f, "input_feeding", 1, &n->input_feeding, err));
    TRY(get_int(r, f, "local_window", 0, -1, -1, 1000000, &n->window, err));
    TRY(get_int(r, f, "attention_top_k", 0, 0, 0, 1000000, &n->top_k, err));
    if (n->bidir && n->hidden % 2)
        return txi_fail(err, TX_ERR_FORMAT, "%s: field \"hidden_size\" = %d must be even with "
                        "\"bidirectional_encoder\": true", f, n->hidden);
    if (n->att == TXI_ATT_ADDITIVE) n->input_feeding = 0; /* Bahdanau feeds the context itself */
    n->enc_dir = n->bidir ? n->hidden / 2 : n->hidden;
    c->dec_vocab = c->vocab;
    c->d_model = c->d_head = c->inner = n->hidden;
    c->n_heads = 1;
    c->n_enc_layers = 0; /* no encoder self-attention */
    c->n_dec_layers = 1; /* one cross-attention */
    c->max_pos = 0;
    c->embed_scale = 1.0f;
    return TX_OK;
}

static tx_status parse_han(const json_t *r, const char *f, struct txi_config *c,
                           struct tx_error *err)
{
    struct txi_han_config *h = &c->han;
    TRY(get_int(r, f, "vocab_size", 1, 0, 1, 100000000, &c->vocab, err));
    TRY(get_int(r, f, "embedding_size", 1, 0, 1, 65536, &h->emb, err));
    TRY(get_int(r, f, "word_hidden", 1, 0, 1, 65536, &h->word_hidden, err));
    TRY(get_int(r, f, "sentence_hidden", 1, 0, 1, 65536, &h->sent_hidden, err));
    TRY(get_int(r, f, "max_positions", 1, 0, 1, 1000000, &h->max_positions, err));
    c->dec_vocab = c->vocab;
    c->d_model = 2 * h->sent_hidden;
    c->n_heads = 1;
    return TX_OK;
}

tx_status txi_config_parse(const json_t *root, const char *file, struct txi_config *c,
                           struct tx_error *err)
{
    memset(c, 0, sizeof *c);
    const char *mt = NULL;
    TRY(get_string(root, file, "model_type", NULL, &mt, err));
    if (!mt)
        return txi_fail(err, TX_ERR_FORMAT, "%s: required field \"model_type\" is missing", file);
    if (strlen(mt) >= sizeof c->model_type)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "%s: model_type \"%.40s\" is not supported (marian, bart, mbart, t5, rnn_seq2seq, han)", file,
                        mt);
    strcpy(c->model_type, mt);
    int enc_dec = 1;
    TRY(get_bool(root, file, "is_encoder_decoder", 1, &enc_dec, err));
    if (!enc_dec)
        return txi_fail(err, TX_ERR_UNSUPPORTED, "%s: is_encoder_decoder = false is not supported",
                        file);
    if (!strcmp(mt, "marian")) {
        c->arch = TX_ARCH_MARIAN;
        TRY(parse_bart_like(root, file, c, err));
        c->pos = TXI_POS_SINUSOIDAL;
        TRY(get_bool(root, file, "share_encoder_decoder_embeddings", 1, &c->share_embeddings, err));
        if (!c->share_embeddings)
            TRY(get_int(root, file, "decoder_vocab_size", 0, c->vocab, 1, 100000000, &c->dec_vocab,
                        err));
    } else if (!strcmp(mt, "bart") || !strcmp(mt, "mbart")) {
        c->arch = mt[0] == 'b' ? TX_ARCH_BART : TX_ARCH_MBART;
        TRY(parse_bart_like(root, file, c, err));
        c->pos = TXI_POS_LEARNED;
        c->pos_offset = 2;
        c->emb_layernorm = 1;
        c->share_embeddings = 1;
        c->pre_norm = c->arch == TX_ARCH_MBART;
    } else if (!strcmp(mt, "t5")) {
        c->arch = TX_ARCH_T5;
        TRY(parse_t5(root, file, c, err));
    } else if (!strcmp(mt, "han")) {
        c->arch = TX_ARCH_HAN;
        TRY(parse_han(root, file, c, err));
    } else if (!strcmp(mt, "rnn_seq2seq")) {
        c->arch = TX_ARCH_RNN;
        TRY(parse_rnn(root, file, c, err));
    } else {
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "%s: model_type \"%s\" is not supported (marian, bart, mbart, t5, rnn_seq2seq, han)", file,
                        mt);
    }
    return TX_OK;
}

/* A token id field: null/missing keeps *out; a list takes its single distinct value (several
 * different end tokens are not supported by this library's one-eos generation). */
static tx_status get_token(const json_t *root, const char *file, const char *key, int vocab,
                           int *out, struct tx_error *err)
{
    const json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return TX_OK;
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        if (n == 0) return TX_OK;
        const json_t *first = json_array_get(v, 0);
        for (size_t i = 1; i < n; i++)
            if (!json_equal(first, json_array_get(v, i)))
                return txi_fail(err, TX_ERR_UNSUPPORTED,
                                "%s: field \"%s\" lists several different tokens; only one is "
                                "supported",
                                file, key);
        v = first;
    }
    if (!json_is_integer(v))
        return txi_fail(err, TX_ERR_FORMAT, "%s: field \"%s\" must be a token id, not %s", file,
                        key, json_type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < 0 || x >= vocab)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: field \"%s\" = %lld is outside the vocabulary (size %d)", file, key,
                        (long long)x, vocab);
    *out = (int)x;
    return TX_OK;
}

static tx_status get_bad_words(const json_t *root, const char *file, int vocab,
                               struct tx_gen_params *g, struct tx_error *err)
{
    const json_t *v = json_object_get(root, "bad_words_ids");
    if (!v || json_is_null(v)) return TX_OK;
    if (!json_is_array(v))
        return txi_fail(err, TX_ERR_FORMAT, "%s: field \"bad_words_ids\" must be a list of lists",
                        file);
    if (json_array_size(v) > TX_MAX_BAD_WORDS)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "%s: bad_words_ids has %zu entries; at most %d are supported", file,
                        json_array_size(v), TX_MAX_BAD_WORDS);
    g->n_bad_words = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *w = json_array_get(v, i);
        size_t n = json_is_array(w) ? json_array_size(w) : 0;
        if (!n)
            return txi_fail(err, TX_ERR_FORMAT,
                            "%s: bad_words_ids[%zu] must be a non-empty list of token ids", file,
                            i);
        if (n > TX_MAX_BAD_WORD_LEN)
            return txi_fail(err, TX_ERR_UNSUPPORTED,
                            "%s: bad_words_ids[%zu] has %zu tokens; at most %d are supported", file,
                            i, n, TX_MAX_BAD_WORD_LEN);
        for (size_t j = 0; j < n; j++) {
            const json_t *t = json_array_get(w, j);
            if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) >= vocab)
                return txi_fail(err, TX_ERR_FORMAT,
                                "%s: bad_words_ids[%zu][%zu] is not a token id of the vocabulary "
                                "(size %d)",
                                file, i, j, vocab);
            g->bad_words[i][j] = (int32_t)json_integer_value(t);
        }
        g->bad_words_len[i] = (int)n;
        g->n_bad_words++;
    }
    return TX_OK;
}

/* Generation options of transformers 4.35.2 this library does not implement: a checkpoint that
 * sets one (to anything but its default) is refused rather than decoded differently. */
static tx_status check_unsupported_gen(const json_t *r, const char *f, struct tx_error *err)
{
    static const struct {
        const char *key;
        double def; /* numbers: the value that means "off" */
    } numbers[] = {{"num_beam_groups", 1}, {"diversity_penalty", 0},
                   {"typical_p", 1},       {"epsilon_cutoff", 0},
                   {"eta_cutoff", 0},      {"penalty_alpha", 0},
                   {"guidance_scale", 1},  {"encoder_repetition_penalty", 1},
                   {"min_new_tokens", 0},  {"encoder_no_repeat_ngram_size", 0}};
    static const char *const lists[] = {"suppress_tokens",
                                        "begin_suppress_tokens",
                                        "forced_decoder_ids",
                                        "sequence_bias",
                                        "exponential_decay_length_penalty",
                                        "force_words_ids",
                                        "constraints"};
    static const char *const flags[] = {"renormalize_logits", "remove_invalid_values"};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const json_t *v = json_object_get(r, numbers[i].key);
        if (v && json_is_number(v) && json_number_value(v) != numbers[i].def)
            return txi_fail(err, TX_ERR_UNSUPPORTED, "%s: %s = %g is not supported", f,
                            numbers[i].key, json_number_value(v));
    }
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        const json_t *v = json_object_get(r, lists[i]);
        if (v && !json_is_null(v) &&
            !((json_is_array(v) && json_array_size(v) == 0) ||
              (json_is_object(v) && json_object_size(v) == 0)))
            return txi_fail(err, TX_ERR_UNSUPPORTED, "%s: %s is not supported", f, lists[i]);
    }
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (json_is_true(json_object_get(r, flags[i])))
            return txi_fail(err, TX_ERR_UNSUPPORTED, "%s: %s = true is not supported", f, flags[i]);
    return TX_OK;
}

/* transformers' GenerationConfig defaults (the checkpoint's files override them). */
struct tx_gen_params tx_gen_default_params(void)
{
    struct tx_gen_params g;
    memset(&g, 0, sizeof g);
    g.max_length = 20;
    g.num_beams = 1;
    g.num_return_sequences = 1;
    g.length_penalty = 1.0f;
    g.repetition_penalty = 1.0f;
    g.temperature = 1.0f;
    g.top_k = 50;
    g.top_p = 1.0f;
    g.decoder_start_token_id = -1;
    g.eos_token_id = -1;
    g.pad_token_id = -1;
    g.forced_bos_token_id = -1;
    g.forced_eos_token_id = -1;
    return g;
}

tx_status txi_gen_config_parse(const json_t *r, const char *f, int vocab, struct tx_gen_params *g,
                               struct tx_error *err)
{
    TRY(check_unsupported_gen(r, f, err));
    int bos = -1;
    TRY(get_int(r, f, "max_length", 0, g->max_length, 1, 1000000, &g->max_length, err));
    TRY(get_int(r, f, "max_new_tokens", 0, g->max_new_tokens, 0, 1000000, &g->max_new_tokens, err));
    TRY(get_int(r, f, "min_length", 0, g->min_length, 0, 1000000, &g->min_length, err));
    TRY(get_int(r, f, "num_beams", 0, g->num_beams, 1, 1000, &g->num_beams, err));
    TRY(get_int(r, f, "num_return_sequences", 0, g->num_return_sequences, 1, 1000,
                &g->num_return_sequences, err));
    TRY(get_float(r, f, "length_penalty", g->length_penalty, &g->length_penalty, err));
    const json_t *es = json_object_get(r, "early_stopping");
    if (json_is_string(es) && !strcmp(json_string_value(es), "never"))
        g->early_stopping = 2;
    else
        TRY(get_bool(r, f, "early_stopping", g->early_stopping, &g->early_stopping, err));
    TRY(get_int(r, f, "no_repeat_ngram_size", 0, g->no_repeat_ngram_size, 0, 1000,
                &g->no_repeat_ngram_size, err));
    TRY(get_float(r, f, "repetition_penalty", g->repetition_penalty, &g->repetition_penalty, err));
    TRY(get_bool(r, f, "do_sample", g->do_sample, &g->do_sample, err));
    TRY(get_float(r, f, "temperature", g->temperature, &g->temperature, err));
    TRY(get_int(r, f, "top_k", 0, g->top_k, 0, 100000000, &g->top_k, err));
    TRY(get_float(r, f, "top_p", g->top_p, &g->top_p, err));
    TRY(get_token(r, f, "decoder_start_token_id", vocab, &g->decoder_start_token_id, err));
    TRY(get_token(r, f, "bos_token_id", vocab, &bos, err));
    TRY(get_token(r, f, "eos_token_id", vocab, &g->eos_token_id, err));
    TRY(get_token(r, f, "pad_token_id", vocab, &g->pad_token_id, err));
    TRY(get_token(r, f, "forced_bos_token_id", vocab, &g->forced_bos_token_id, err));
    TRY(get_token(r, f, "forced_eos_token_id", vocab, &g->forced_eos_token_id, err));
    /* BartConfig's legacy switch */
    int force_bos = 0;
    TRY(get_bool(r, f, "force_bos_token_to_be_generated", 0, &force_bos, err));
    if (force_bos && g->forced_bos_token_id < 0) g->forced_bos_token_id = bos;
    TRY(get_bad_words(r, f, vocab, g, err));
    /* generate(): the decoder starts with decoder_start_token_id, else bos; pad defaults to eos */
    if (g->decoder_start_token_id < 0) g->decoder_start_token_id = bos;
    if (g->pad_token_id < 0) g->pad_token_id = g->eos_token_id;
    return TX_OK;
}
