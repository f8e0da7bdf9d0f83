/* kind_json.c — tokenizer.json (the Hugging Face tokenizers format): loads the pipeline of
 * hf_json/ and runs it, added tokens, normalizers, pre-tokenizers, model, post-processor and
 * decoders, as the Rust tokenizers library (0.15) does. */
#include "hf_json/hf_json.h"
#include "txi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_JSON_BYTES ((size_t)1 << 30)

/* Releases a struct tok_json (NULL allowed). */
static void json_kind_free(void *impl)
{
    struct tok_json *j = impl;
    if (!j) return;
    for (int i = 0; i < j->n_norms; i++)
        tok_jnorm_free(&j->norms[i]);
    free(j->norms);
    free(j->pres);
    for (int i = 0; i < j->n_decs; i++)
        tok_jdec_free(&j->decs[i]);
    free(j->decs);
    tok_added_free(&j->raw_added);
    tok_added_free(&j->norm_added);
    tok_trie_free(&j->trie);
    free(j->scores);
    tok_bpe_free(&j->bpe);
    tok_bpe_free(&j->bytes);
    free(j->cont_prefix);
    free(j->eow_suffix);
    free(j->pre_ids);
    free(j->post_ids);
    free(j);
}

/* ---------------------------------------------------------------------------------------- */
/* Loading                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* The parsed tokenizer.json (owned by the caller). */
static tx_status read_document(const char *path, json_t **root, struct tx_error *err)
{
    json_error_t je;
    char *text = NULL;
    size_t size;
    tx_status st = txi_read_file(path, MAX_JSON_BYTES, &text, &size, err);
    if (st) return st;
    *root = json_loadb(text, size, 0, &je);
    free(text);
    if (!*root)
        return txi_fail(err, TX_ERR_FORMAT, "%s: line %d column %d: %s", path, je.line, je.column,
                        je.text);
    return TX_OK;
}

/* "model": Unigram or BPE (the type inferred from the vocabulary when absent). */
static tx_status load_model(const struct tok_jctx *c, struct tx_tokenizer *tok, struct tok_json *j,
                            json_t *root)
{
    static const struct tok_jmodel_ops *const models[] = {&tok_jmodel_unigram, &tok_jmodel_bpe};
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(model)) return tok_jctx_bad(c, "model", "missing");
    const char *mt = tok_json_type(model);
    if (!mt)
        mt = json_is_array(json_object_get(model, "vocab")) ? "Unigram"
             : json_object_get(model, "merges")             ? "BPE"
                                                            : "?";
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        if (strcmp(mt, models[k]->type)) continue;
        j->model = models[k];
        return models[k]->load(c, tok, j, model);
    }
    char what[96];
    snprintf(what, sizeof what, "model type \"%.60s\"", mt);
    return tok_jctx_unsupported(c, "model.type", what);
}

/* The optional pipeline components, each parsed by its module. */
static tx_status load_components(const struct tok_jctx *c, struct tok_json *j, json_t *root)
{
    static const struct {
        const char *key;
        tx_status (*add)(const struct tok_jctx *, struct tok_json *, json_t *, const char *);
    } parts[] = {{"normalizer", tok_jnorm_add},
                 {"pre_tokenizer", tok_jpre_add},
                 {"decoder", tok_jdec_add},
                 {"post_processor", tok_jpost_add}};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        json_t *o = json_object_get(root, parts[k].key);
        if (!o || json_is_null(o)) continue;
        if (parts[k].add == tok_jdec_add) j->has_decoder = 1;
        tx_status st = parts[k].add(c, j, o, parts[k].key);
        if (st) return st;
    }
    return TX_OK;
}

/* One entry of "added_tokens": into the raw or normalized list of the pipeline, and into the
 * tokenizer's own list (for id -> piece and special flags). */
static tx_status load_added_one(const struct tok_jctx *c, struct tx_tokenizer *tok,
                                struct tok_json *j, json_t *a, size_t i)
{
    json_t *id = json_object_get(a, "id"), *content = json_object_get(a, "content");
    char where[64];
    snprintf(where, sizeof where, "added_tokens[%zu]", i);
    if (!json_is_integer(id) || json_integer_value(id) < 0 ||
        json_integer_value(id) >= TOK_MAX_ID || !json_is_string(content) ||
        json_string_length(content) == 0)
        return tok_jctx_bad(c, where, "needs an integer id in [0, 2^22) and a non-empty content");
    int normalized = json_is_true(json_object_get(a, "normalized"));
    struct tok_added *dst = normalized ? &j->norm_added : &j->raw_added;
    int special = json_is_true(json_object_get(a, "special"));
    const char *s = json_string_value(content);
    size_t n = json_string_length(content);
    int32_t tid = (int32_t)json_integer_value(id);
    if (tok_added_add(dst, s, n, tid, json_is_true(json_object_get(a, "lstrip")),
                      json_is_true(json_object_get(a, "rstrip")),
                      json_is_true(json_object_get(a, "single_word")), special) ||
        tok_added_add(&tok->added, s, n, tid, 0, 0, 0, special))
        return tok_jctx_oom(c);
    return TX_OK;
}

/* "added_tokens" (null or a list); finishes the pipeline's two lists. */
static tx_status load_added(const struct tok_jctx *c, struct tx_tokenizer *tok, struct tok_json *j,
                            json_t *list)
{
    if (!list || json_is_null(list)) return TX_OK;
    if (!json_is_array(list)) return tok_jctx_bad(c, "added_tokens", "not a list");
    for (size_t i = 0; i < json_array_size(list); i++) {
        tx_status st = load_added_one(c, tok, j, json_array_get(list, i), i);
        if (st) return st;
    }
    if (tok_added_finish(&j->raw_added) || tok_added_finish(&j->norm_added)) return tok_jctx_oom(c);
    return TX_OK;
}

/* Ids of added tokens may lie past the model's vocabulary: grows the per-id tables, checks the
 * post-processor's ids against them and records the added tokens. */
static tx_status finish_ids(const struct tok_jctx *c, struct tx_tokenizer *tok,
                            const struct tok_json *j)
{
    int32_t n_ids = tok_added_end(tok, tok->n_ids);
    for (int k = 0; k < j->n_pre + j->n_post; k++) {
        int32_t id = k < j->n_pre ? j->pre_ids[k] : j->post_ids[k - j->n_pre];
        if (id < 0 || id >= n_ids)
            return tok_jctx_bad(c, "post_processor",
                                "a special token id lies outside the vocabulary");
    }
    if (n_ids > tok->n_ids && tok_grow_ids(tok, n_ids)) return tok_jctx_oom(c);
    if (tok_finish_added(tok)) return tok_jctx_oom(c);
    tok->vocab_size = tok->n_ids;
    return TX_OK;
}

/* tokenizer_config.json names the special tokens; fall back to the usual strings. */
static void find_special_ids(struct tx_tokenizer *tok, const struct tok_json *j, json_t *cfg)
{
    static const char *const keys[4] = {"eos_token", "pad_token", "bos_token", "unk_token"};
    static const char *const defs[4] = {"</s>", "<pad>", "<s>", "<unk>"};
    int32_t *dst[4] = {&tok->eos_id, &tok->pad_id, &tok->bos_id, &tok->unk_id};
    for (int k = 0; k < 4; k++) {
        json_t *v = json_object_get(cfg, keys[k]);
        if (json_is_object(v)) v = json_object_get(v, "content");
        const char *name = json_is_string(v) ? json_string_value(v) : defs[k];
        int a = tok_added_find(&tok->added, name, strlen(name));
        int32_t id = a >= 0 ? tok->added.tokens[a].id : j->model->token_id(j, name, strlen(name));
        if (id >= 0 || json_is_string(v)) *dst[k] = id;
    }
}

/* dir/tokenizer.json: the model, the pipeline, the added tokens; special ids from the
 * config; the byte-level alphabet for display when a ByteLevel decoder is there. */
static tx_status json_kind_load(struct tx_tokenizer *tok, const struct tok_source *src,
                                struct tx_error *err)
{
    char path[4096];
    if (txi_path_join(path, sizeof path, src->dir, "tokenizer.json"))
        return txi_fail(err, TX_ERR_INVALID, "%s: path too long", src->dir);
    struct tok_jctx c = {path, err};
    json_t *root;
    tx_status st = read_document(path, &root, err);
    if (st) return st;
    struct tok_json *j = calloc(1, sizeof *j);
    if (!j) {
        json_decref(root);
        return tok_jctx_oom(&c);
    }
    tok->impl = j;
    j->bpe_unk_id = -1;
    if (tok_bpe_init_byte_level(&j->bytes)) st = tok_jctx_oom(&c);
    if (!st) st = load_model(&c, tok, j, root);
    if (!st) st = load_components(&c, j, root);
    if (!st) st = load_added(&c, tok, j, json_object_get(root, "added_tokens"));
    if (!st) st = finish_ids(&c, tok, j);
    if (!st) {
        find_special_ids(tok, j, src->cfg);
        for (int k = 0; k < j->n_decs; k++)
            if (j->decs[k].type == D_BYTE_LEVEL) tok->byte_level = &j->bytes;
    }
    json_decref(root);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Runs the pre-tokenizers over pool bytes [b, e) of x; the pieces end in sc->p. -1 on OOM. */
static int pre_tokenize(const struct tok_json *j, const struct nstr *x, size_t b, size_t e,
                        struct jscratch *sc)
{
    sc->p.n = 0;
    sc->p.pool.n = 0;
    if (tok_ns_copy(&sc->p.pool, x, b, e) || tok_pc_add(&sc->p, 0, e - b)) return -1;
    for (int k = 0; k < j->n_pres; k++) {
        if (tok_jpre_apply(&j->pres[k], &j->bytes, &sc->p, &sc->q, &sc->first_split)) return -1;
        struct pieces t = sc->p;
        sc->p = sc->q;
        sc->q = t;
    }
    return 0;
}

/* One segment of normalized text: an added token, or pre-tokens through the model. */
static tx_status encode_segment(const struct tok_json *j, const struct nstr *x,
                                const struct tok_segment *g, struct jscratch *sc, struct tok_ids *o,
                                struct tx_error *err)
{
    size_t b = g->pos, e = g->pos + g->len;
    if (g->added >= 0) {
        uint32_t ob, oe;
        tok_ns_span(x, b, e, &ob, &oe);
        return tok_ids_push(o, j->norm_added.tokens[g->added].id, ob, oe) ? TX_ERR_NOMEM : TX_OK;
    }
    if (pre_tokenize(j, x, b, e, sc)) return TX_ERR_NOMEM;
    tx_status st = TX_OK;
    for (size_t k = 0; k < sc->p.n && !st; k++)
        st = j->model->encode(j, &sc->p.pool, sc->p.r[k].b, sc->p.r[k].e, sc, o, err);
    return st;
}

/* Normalized text piece: second added-token pass, pre-tokenization, model. */
static tx_status encode_text(const struct tok_json *j, const struct nstr *x, struct jscratch *sc,
                             struct tok_ids *o, struct tx_error *err)
{
    tx_status st = tok_added_split_fast(&j->norm_added, x->s, x->n, &sc->split, err);
    if (st) return st;
    /* the split works on a copy; copy the segment list because the pools are reused below */
    size_t n_seg = sc->split.n_segs;
    struct tok_segment *segs = malloc((n_seg ? n_seg : 1) * sizeof *segs);
    if (!segs) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    if (n_seg) memcpy(segs, sc->split.segs, n_seg * sizeof *segs);
    for (size_t s = 0; s < n_seg && !st; s++)
        st = encode_segment(j, x, &segs[s], sc, o, err);
    free(segs);
    if (st == TX_ERR_NOMEM) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    return st;
}

/* Raw segment g of the split: each byte keeps its character's original span, then the
 * normalizers run; the result ends in sc->a. -1 on OOM. */
static int normalize(const struct tok_json *j, const struct tok_split *raw,
                     const struct tok_segment *g, struct jscratch *sc)
{
    sc->a.n = 0;
    for (size_t i = g->pos; i < g->pos + g->len;) {
        size_t cl = tok_char_len_at(raw->bytes + i, g->pos + g->len - i);
        if (tok_ns_put(&sc->a, raw->bytes + i, cl, raw->off[i], raw->off[i] + (uint32_t)cl))
            return -1;
        i += cl;
    }
    for (int k = 0; k < j->n_norms; k++) {
        if (tok_jnorm_apply(&j->norms[k], &sc->a, &sc->b)) return -1;
        struct nstr t = sc->a;
        sc->a = sc->b;
        sc->b = t;
    }
    return 0;
}

/* Releases the buffers of an encode call's scratch. */
static void jscratch_free(struct jscratch *sc)
{
    tok_ns_free(&sc->a);
    tok_ns_free(&sc->b);
    tok_pc_free(&sc->p);
    tok_pc_free(&sc->q);
    tok_split_free(&sc->split);
    tok_unigram_scratch_free(&sc->uni);
    tok_bpe_scratch_free(&sc->bpe);
    free(sc->syms);
    free(sc->sym_len);
}

/* Pieces of the raw split (non-normalized added tokens, normalized text) into o; *nomem set
 * (and TX_ERR_NOMEM returned) when appending runs out of memory. */
static tx_status encode_raw(const struct tok_json *j, const struct tok_split *raw,
                            struct jscratch *sc, struct tok_ids *o, int *nomem,
                            struct tx_error *err)
{
    for (size_t s = 0; s < raw->n_segs; s++) {
        const struct tok_segment *g = &raw->segs[s];
        if (g->added >= 0 ? tok_ids_push(o, j->raw_added.tokens[g->added].id, g->ob, g->oe)
                          : normalize(j, raw, g, sc)) {
            *nomem = 1;
            return TX_ERR_NOMEM;
        }
        if (g->added >= 0) continue;
        tx_status st = encode_text(j, &sc->a, sc, o, err);
        if (st) return st;
    }
    return TX_OK;
}

/* The post-processor's ids around the sequence; first the non-normalized added tokens on the
 * raw text, then each piece between them normalized and encoded. */
static tx_status json_kind_encode(const struct tx_tokenizer *tok, const char *text, size_t len,
                                  tx_side side, struct tok_ids *out, struct tx_error *err)
{
    const struct tok_json *j = tok->impl;
    struct jscratch sc;
    memset(&sc, 0, sizeof sc);
    sc.first_split = 1;
    struct tok_split raw = {0};
    tx_status st = TX_OK;
    int nomem = 0;
    (void)side;
    for (int k = 0; k < j->n_pre && !nomem; k++)
        nomem = tok_ids_push(out, j->pre_ids[k], 0, 0);
    if (!nomem) st = tok_added_split_fast(&j->raw_added, text, len, &raw, err);
    if (!nomem && !st) st = encode_raw(j, &raw, &sc, out, &nomem, err);
    for (int k = 0; k < j->n_post && !nomem && !st; k++)
        nomem = tok_ids_push(out, j->post_ids[k], (uint32_t)len, (uint32_t)len);
    if (nomem) st = txi_fail(err, TX_ERR_NOMEM, "out of memory encoding %zu bytes", len);
    tok_split_free(&raw);
    jscratch_free(&sc);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Appends the tokens of a, joined with spaces when the tokenizer has no decoder. -1 on OOM. */
static int join_tokens(const struct toks *a, int spaced, struct txi_buf *out)
{
    for (size_t i = 0; i < a->n; i++)
        if ((spaced && i && txi_buf_putc(out, ' ')) ||
            txi_buf_append(out, a->text.data + a->t[i][0], a->t[i][1]))
            return -1;
    return 0;
}

/* The pieces of the ids (id_to_token gives nothing for an id without one) through the decoder
 * chain. */
static tx_status json_kind_decode(const struct tx_tokenizer *tok, const int32_t *ids, int n_ids,
                                  int skip_special, struct txi_buf *out, struct tx_error *err)
{
    const struct tok_json *j = tok->impl;
    struct toks a = {0}, b = {0};
    int rc = 0;
    for (int i = 0; i < n_ids && !rc; i++) {
        int32_t id = ids[i];
        if (skip_special && tok->special[id]) continue;
        if (tok->piece_off[id] == SIZE_MAX) continue;
        rc = tok_toks_add(&a, tok->pool.data + tok->piece_off[id], tok->piece_len[id]);
    }
    for (int k = 0; k < j->n_decs && j->has_decoder && !rc; k++) {
        rc = tok_jdec_apply(j, &j->decs[k], &a, &b);
        struct toks t = a;
        a = b;
        b = t;
    }
    if (!rc) rc = join_tokens(&a, !j->has_decoder, out);
    tok_toks_free(&a);
    tok_toks_free(&b);
    return rc ? txi_fail(err, TX_ERR_NOMEM, "out of memory decoding") : TX_OK;
}

const struct tok_kind_ops tok_json_ops = {
    .kind = TX_TOKENIZER_JSON,
    .reads_legacy_files = 0,
    .load = json_kind_load,
    .encode = json_kind_encode,
    .decode = json_kind_decode,
    .free = json_kind_free,
};
