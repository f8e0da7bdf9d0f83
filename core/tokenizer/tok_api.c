/* tok_api.c — tx_tokenizer: loading a model folder's tokenizer (Marian, T5, byte-level BPE,
 * plain SentencePiece, tokenizer.json), encoding and decoding as transformers 4.35's slow
 * tokenizers do. */
#include "tok_api.h"
#include "txi.h"
#include "utf8.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPACE_SYMBOL "\xE2\x96\x81" /* U+2581, SentencePiece's whitespace mark */
static int32_t *build_piece_map(const struct tx_tokenizer *tok, const struct tok_spm *sp,
                                const struct txi_strmap *vocab);

/* Longest input text accepted (offsets are 32-bit and normalization may expand text). */
#define MAX_TEXT_BYTES ((size_t)256 << 20)

/* ---------------------------------------------------------------------------------------- */
/* Per-id tables                                                                             */
/* ---------------------------------------------------------------------------------------- */

int tok_alloc_ids(struct tx_tokenizer *tok, int32_t n_ids)
{
    if (n_ids <= 0) n_ids = 1;
    tok->n_ids = n_ids;
    tok->piece_off = malloc((size_t)n_ids * sizeof *tok->piece_off);
    tok->piece_len = calloc((size_t)n_ids, sizeof *tok->piece_len);
    tok->special = calloc((size_t)n_ids, 1);
    tok->added_of_id = malloc((size_t)n_ids * sizeof *tok->added_of_id);
    if (!tok->piece_off || !tok->piece_len || !tok->special || !tok->added_of_id) return -1;
    for (int32_t i = 0; i < n_ids; i++) {
        tok->piece_off[i] = SIZE_MAX;
        tok->added_of_id[i] = -1;
    }
    return 0;
}

int tok_grow_ids(struct tx_tokenizer *tok, int32_t n_ids)
{
    size_t n = (size_t)n_ids, old = (size_t)tok->n_ids;
    size_t *po = realloc(tok->piece_off, n * sizeof *po);
    if (!po) return -1;
    tok->piece_off = po;
    uint32_t *pl = realloc(tok->piece_len, n * sizeof *pl);
    if (!pl) return -1;
    tok->piece_len = pl;
    unsigned char *sp = realloc(tok->special, n);
    if (!sp) return -1;
    tok->special = sp;
    int32_t *ao = realloc(tok->added_of_id, n * sizeof *ao);
    if (!ao) return -1;
    tok->added_of_id = ao;
    for (size_t i = old; i < n; i++) {
        po[i] = SIZE_MAX;
        pl[i] = 0;
        sp[i] = 0;
        ao[i] = -1;
    }
    tok->n_ids = n_ids;
    return 0;
}

int tok_set_piece(struct tx_tokenizer *tok, int32_t id, const char *s, size_t n)
{
    if (id < 0 || id >= tok->n_ids || n > UINT32_MAX) return -1;
    size_t off = tok->pool.len;
    if (txi_buf_append(&tok->pool, s, n) || txi_buf_putc(&tok->pool, '\0')) return -1;
    tok->piece_off[id] = off;
    tok->piece_len[id] = (uint32_t)n;
    return 0;
}

static const char *piece_of(const struct tx_tokenizer *tok, int32_t id, size_t *len)
{
    if (id < 0 || id >= tok->n_ids || tok->piece_off[id] == SIZE_MAX) return NULL;
    *len = tok->piece_len[id];
    return tok->pool.data + tok->piece_off[id];
}

/* ---------------------------------------------------------------------------------------- */
/* tokenizer_config.json                                                                     */
/* ---------------------------------------------------------------------------------------- */

struct special_spec {
    char content[128];
    int present;
    int lstrip, rstrip, single_word, has_flags;
};

/* A special token in a config: a string, or an AddedToken dict {"content": ..., ...}. */
static void read_special(json_t *cfg, const char *key, const char *def, struct special_spec *s)
{
    memset(s, 0, sizeof *s);
    if (def) {
        snprintf(s->content, sizeof s->content, "%s", def);
        s->present = 1;
    }
    json_t *v = cfg ? json_object_get(cfg, key) : NULL;
    if (!v) return;
    if (json_is_null(v)) {
        s->present = 0;
        return;
    }
    if (json_is_string(v)) {
        snprintf(s->content, sizeof s->content, "%s", json_string_value(v));
        s->present = 1;
    } else if (json_is_object(v) && json_is_string(json_object_get(v, "content"))) {
        snprintf(s->content, sizeof s->content, "%s",
                 json_string_value(json_object_get(v, "content")));
        s->present = 1;
        s->has_flags = 1;
        s->lstrip = json_is_true(json_object_get(v, "lstrip"));
        s->rstrip = json_is_true(json_object_get(v, "rstrip"));
        s->single_word = json_is_true(json_object_get(v, "single_word"));
    }
}

static int cfg_bool(json_t *cfg, const char *key, int def)
{
    json_t *v = cfg ? json_object_get(cfg, key) : NULL;
    if (json_is_boolean(v)) return json_is_true(v);
    return def;
}

static tx_status load_json_file(const char *path, json_t **out, struct tx_error *err)
{
    json_error_t je;
    *out = NULL;
    if (!txi_file_exists(path)) return TX_OK;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        return txi_fail(err, TX_ERR_FORMAT, "%s: line %d column %d: %s", path, je.line, je.column,
                        je.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return txi_fail(err, TX_ERR_FORMAT, "%s: not a JSON object", path);
    }
    *out = root;
    return TX_OK;
}

/* Adds a special token the way PreTrainedTokenizer._add_tokens does: it keeps the id it has in
 * the vocabulary (vocab_id >= 0), otherwise it gets the next free id. Returns its id, -1 on OOM. */
static int32_t add_special(struct tx_tokenizer *tok, const struct special_spec *s, int32_t vocab_id,
                           int32_t *next_id, int def_lstrip)
{
    int idx = -1;
    for (int i = 0; i < tok->added.n; i++)
        if (!strcmp(tok->added.tokens[i].content, s->content)) idx = i;
    if (idx >= 0) return tok->added.tokens[idx].id; /* already an added token: keep it */
    int32_t id = vocab_id >= 0 ? vocab_id : (*next_id)++;
    int lstrip = s->has_flags ? s->lstrip : def_lstrip;
    if (tok_added_add(&tok->added, s->content, strlen(s->content), id, lstrip, s->rstrip,
                      s->single_word, 1))
        return -1;
    return id;
}

/* Applies the "added_tokens_decoder" of a transformers >= 4.34 tokenizer_config.json: id ->
 * AddedToken dict; they replace what the class would add by default. */
static tx_status apply_added_tokens_decoder(struct tx_tokenizer *tok, json_t *cfg, const char *path,
                                            struct tx_error *err)
{
    json_t *atd = cfg ? json_object_get(cfg, "added_tokens_decoder") : NULL;
    if (!json_is_object(atd)) return TX_OK;
    const char *key;
    json_t *v;
    json_object_foreach(atd, key, v)
    {
        char *end;
        long id = strtol(key, &end, 10);
        json_t *c = json_object_get(v, "content");
        if (*end || id < 0 || id >= INT32_MAX || !json_is_string(c))
            return txi_fail(err, TX_ERR_FORMAT,
                            "%s: added_tokens_decoder.%s: expected an id and "
                            "an object with \"content\"",
                            path, key);
        const char *s = json_string_value(c);
        if (tok_added_add(&tok->added, s, strlen(s), (int32_t)id,
                          json_is_true(json_object_get(v, "lstrip")),
                          json_is_true(json_object_get(v, "rstrip")),
                          json_is_true(json_object_get(v, "single_word")),
                          !json_is_false(json_object_get(v, "special"))))
            return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    return TX_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Loading                                                                                   */
/* ---------------------------------------------------------------------------------------- */

struct paths {
    const char *dir;
    char buf[6][4096];
};

static const char *path_in(struct paths *p, int slot, const char *name)
{
    if (txi_path_join(p->buf[slot], sizeof p->buf[slot], p->dir, name)) return NULL;
    return p->buf[slot];
}

/* Reads a Marian vocab.json (piece -> id) into map; *max_id gets the largest id. */
static tx_status load_piece_ids(const char *path, struct txi_strmap *map, int32_t *max_id,
                                json_t **root_out, struct tx_error *err)
{
    json_t *root;
    tx_status st = load_json_file(path, &root, err);
    if (st) return st;
    if (!root) return txi_fail(err, TX_ERR_IO, "%s: no such file", path);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= INT32_MAX) {
            txi_fail(err, TX_ERR_FORMAT, "%s: the id of \"%.64s\" is not an integer in [0, 2^31)",
                     path, key);
            json_decref(root); /* key belongs to root */
            return TX_ERR_FORMAT;
        }
        int32_t id = (int32_t)json_integer_value(v);
        if (txi_strmap_put(map, key, strlen(key), id, 1)) {
            json_decref(root);
            return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", path);
        }
        if (id > *max_id) *max_id = id;
    }
    *root_out = root;
    return TX_OK;
}

/* id -> piece for an inverted vocabulary file ({v: k for k, v in vocab.items()}: the last key
 * of an id wins). */
static int invert_vocab(struct tx_tokenizer *tok, json_t *root)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        int32_t id = (int32_t)json_integer_value(v);
        if (id < tok->n_ids && tok_set_piece(tok, id, key, strlen(key))) return -1;
    }
    return 0;
}

static int finish_added(struct tx_tokenizer *tok)
{
    if (tok_added_finish(&tok->added)) return -1;
    for (int i = 0; i < tok->added.n; i++) {
        const struct tok_added_token *t = &tok->added.tokens[i];
        if (t->id < 0 || t->id >= tok->n_ids) continue;
        tok->added_of_id[t->id] = i;
        if (t->special) tok->special[t->id] = 1;
        if (tok_set_piece(tok, t->id, t->content, t->len)) return -1;
    }
    return 0;
}

static int32_t vocab_id(const struct txi_strmap *vocab, const char *s)
{
    int32_t id;
    return txi_strmap_get(vocab, s, strlen(s), &id) ? id : -1;
}

static tx_status load_marian(struct tx_tokenizer *tok, struct paths *p, json_t *cfg,
                             struct tx_error *err)
{
    json_t *src_root = NULL, *tgt_root = NULL;
    int32_t max_id = -1;
    tx_status st;
    const char *path = path_in(p, 1, "source.spm");
    if (!path) return txi_fail(err, TX_ERR_INVALID, "%s: path too long", p->dir);
    st = tok_spm_load(&tok->spm, path, err);
    if (st) return st;
    tok->has_spm = 1;
    path = path_in(p, 1, "target.spm");
    st = tok_spm_load(&tok->spm_tgt, path, err);
    if (st) return st;
    tok->has_spm_tgt = 1;
    st = load_piece_ids(path_in(p, 1, "vocab.json"), &tok->vocab, &max_id, &src_root, err);
    if (st) goto done;
    tok->separate_vocabs = cfg_bool(cfg, "separate_vocabs", 0);
    if (tok->separate_vocabs) {
        const char *name = "target_vocab.json";
        json_t *tv = cfg ? json_object_get(cfg, "target_vocab_file") : NULL;
        if (json_is_string(tv) && !strchr(json_string_value(tv), '/')) name = json_string_value(tv);
        st = load_piece_ids(path_in(p, 1, name), &tok->tgt_vocab, &max_id, &tgt_root, err);
        if (st) goto done;
    }
    tok->vocab_size = (int32_t)tok->vocab.n;

    struct special_spec eos, unk, pad;
    read_special(cfg, "eos_token", "</s>", &eos);
    read_special(cfg, "unk_token", "<unk>", &unk);
    read_special(cfg, "pad_token", "<pad>", &pad);
    if (vocab_id(&tok->vocab, unk.content) < 0 || vocab_id(&tok->vocab, pad.content) < 0) {
        st = txi_fail(err, TX_ERR_FORMAT,
                      "%s: vocab.json lacks the unk token \"%s\" or the pad "
                      "token \"%s\"",
                      p->dir, unk.content, pad.content);
        goto done;
    }
    /* Added tokens in SPECIAL_TOKENS_ATTRIBUTES order (eos, unk, pad): their vocabulary id, or
     * the next id after the vocabulary. */
    int32_t next = (int32_t)tok->vocab.n;
    st = apply_added_tokens_decoder(tok, cfg, p->buf[0], err);
    if (st) goto done;
    const struct special_spec *specs[3] = {&eos, &unk, &pad};
    int32_t ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = specs[i]->present ? add_special(tok, specs[i],
                                                 vocab_id(&tok->vocab, specs[i]->content), &next, 0)
                                   : -2;
        if (ids[i] == -1) goto oom;
    }
    tok->eos_id = ids[0] >= 0 ? ids[0] : -1;
    tok->unk_id = ids[1] >= 0 ? ids[1] : -1;
    tok->pad_id = ids[2] >= 0 ? ids[2] : -1;
    for (int i = 0; i < tok->added.n; i++)
        if (tok->added.tokens[i].id > max_id) max_id = tok->added.tokens[i].id;
    if (tok_alloc_ids(tok, max_id + 1)) goto oom;
    /* Marian's decoder: the inverted (target) vocabulary; ids without a piece decode as the unk
     * token, as _convert_id_to_token's default does. */
    for (int32_t id = 0; id < tok->n_ids; id++)
        if (tok_set_piece(tok, id, unk.content, strlen(unk.content))) goto oom;
    if (invert_vocab(tok, tok->separate_vocabs ? tgt_root : src_root)) goto oom;
    if (finish_added(tok)) goto oom;
    st = TX_OK;
    goto done;
oom:
    st = txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", p->dir);
done:
    json_decref(src_root);
    json_decref(tgt_root);
    return st;
}

static tx_status load_t5(struct tx_tokenizer *tok, struct paths *p, json_t *cfg,
                         struct tx_error *err)
{
    const char *path = path_in(p, 1, "spiece.model");
    tx_status st = tok_spm_load(&tok->spm, path, err);
    if (st) return st;
    tok->has_spm = 1;
    int32_t sp_n = tok_spm_n_pieces(&tok->spm);
    tok->vocab_size = sp_n;
    json_t *v = cfg ? json_object_get(cfg, "extra_ids") : NULL;
    long extra_ids = json_is_integer(v) ? (long)json_integer_value(v) : 100;
    if (extra_ids < 0 || extra_ids > 100000)
        return txi_fail(err, TX_ERR_FORMAT, "%s: extra_ids %ld is out of range", p->buf[0],
                        extra_ids);
    if (cfg_bool(cfg, "legacy", 1) == 0)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "%s: legacy=false T5 tokenization is not supported", p->buf[0]);

    /* T5Tokenizer.__init__: additional_special_tokens either already hold the sentinels or get
     * them appended; sentinel i has id len(sp) - 1 + extra_ids - i. */
    json_t *add = cfg ? json_object_get(cfg, "additional_special_tokens") : NULL;
    long n_sentinels = extra_ids;
    if (json_is_array(add)) {
        long n_extra = 0;
        size_t i;
        json_t *e;
        json_array_foreach(add, i, e)
        {
            struct special_spec s;
            json_t *wrap = json_pack("{s:O}", "t", e);
            read_special(wrap, "t", NULL, &s);
            json_decref(wrap);
            if (s.present && strstr(s.content, "<extra_id_")) n_extra++;
        }
        if (n_extra > 0 && extra_ids > 0 && n_extra != extra_ids)
            return txi_fail(err, TX_ERR_FORMAT,
                            "%s: extra_ids (%ld) and the %ld <extra_id_N> "
                            "tokens of additional_special_tokens disagree",
                            p->buf[0], extra_ids, n_extra);
        if (n_extra > 0) n_sentinels = n_extra;
    }
    for (long i = 0; i < n_sentinels; i++) {
        char name[32];
        snprintf(name, sizeof name, "<extra_id_%ld>", i);
        if (tok_added_add(&tok->added, name, strlen(name), (int32_t)(sp_n - 1 + extra_ids - i), 1,
                          1, 1, 1))
            goto oom;
        tok->added.tokens[tok->added.n - 1].additional = 1;
    }
    st = apply_added_tokens_decoder(tok, cfg, p->buf[0], err);
    if (st) return st;
    struct special_spec eos, unk, pad;
    read_special(cfg, "eos_token", "</s>", &eos);
    read_special(cfg, "unk_token", "<unk>", &unk);
    read_special(cfg, "pad_token", "<pad>", &pad);
    int32_t next = sp_n + (int32_t)tok->added.n;
    const struct special_spec *specs[3] = {&eos, &unk, &pad};
    int32_t ids[3];
    for (int i = 0; i < 3; i++) {
        int32_t vid = -1;
        if (specs[i]->present) {
            /* get_vocab(): SentencePiece ids (piece_to_id gives unk for unknown strings, but
             * the vocabulary dict only holds real pieces) */
            int32_t sid =
                tok_spm_piece_to_id(&tok->spm, specs[i]->content, strlen(specs[i]->content));
            struct spm_bytes pc = tok_spm_id_to_piece(&tok->spm, sid);
            if (pc.size == strlen(specs[i]->content) &&
                !memcmp(pc.data, specs[i]->content, pc.size))
                vid = sid;
        }
        ids[i] = specs[i]->present ? add_special(tok, specs[i], vid, &next, 0) : -2;
        if (ids[i] == -1) goto oom;
    }
    tok->eos_id = ids[0] >= 0 ? ids[0] : -1;
    tok->unk_id = ids[1] >= 0 ? ids[1] : -1;
    tok->pad_id = ids[2] >= 0 ? ids[2] : -1;
    /* other additional_special_tokens (not sentinels) */
    if (json_is_array(add)) {
        size_t i;
        json_t *e;
        json_array_foreach(add, i, e)
        {
            struct special_spec s;
            json_t *wrap = json_pack("{s:O}", "t", e);
            read_special(wrap, "t", NULL, &s);
            json_decref(wrap);
            if (!s.present || strstr(s.content, "<extra_id_")) continue;
            int32_t sid = tok_spm_piece_to_id(&tok->spm, s.content, strlen(s.content));
            struct spm_bytes pc = tok_spm_id_to_piece(&tok->spm, sid);
            int32_t vid =
                (pc.size == strlen(s.content) && !memcmp(pc.data, s.content, pc.size)) ? sid : -1;
            int32_t aid = add_special(tok, &s, vid, &next, 0);
            if (aid < 0) goto oom;
            for (int k = 0; k < tok->added.n; k++)
                if (tok->added.tokens[k].id == aid) tok->added.tokens[k].additional = 1;
        }
    }
    int32_t n_ids = sp_n;
    for (int i = 0; i < tok->added.n; i++)
        if (tok->added.tokens[i].id >= n_ids) n_ids = tok->added.tokens[i].id + 1;
    if (tok_alloc_ids(tok, n_ids)) goto oom;
    for (int32_t id = 0; id < sp_n; id++) {
        struct spm_bytes pc = tok_spm_id_to_piece(&tok->spm, id);
        if (tok_set_piece(tok, id, pc.data, pc.size)) goto oom;
    }
    if (finish_added(tok)) goto oom;
    return TX_OK;
oom:
    return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", p->dir);
}

static tx_status load_byte_bpe(struct tx_tokenizer *tok, struct paths *p, json_t *cfg,
                               const char *cls, struct tx_error *err)
{
    const char *vp = path_in(p, 1, "vocab.json"), *mp = path_in(p, 2, "merges.txt");
    tx_status st = tok_bpe_load_files(&tok->bpe, vp, mp, err);
    if (st) return st;
    tok->has_bpe = 1;
    tok->byte_level_display = 1;
    int gpt2 = cls && strstr(cls, "GPT2") != NULL;
    tok->add_prefix_space = cfg_bool(cfg, "add_prefix_space", 0);
    tok->wrap_cls_sep = !gpt2;
    tok->add_bos = gpt2 && cfg_bool(cfg, "add_bos_token", 0);

    st = apply_added_tokens_decoder(tok, cfg, p->buf[0], err);
    if (st) return st;
    /* SPECIAL_TOKENS_ATTRIBUTES order; BartTokenizer/RobertaTokenizer make <mask> lstrip. */
    static const char *const keys[7] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                        "pad_token", "cls_token", "mask_token"};
    const char *defs_bart[7] = {"<s>", "</s>", "<unk>", "</s>", "<pad>", "<s>", "<mask>"};
    const char *defs_gpt2[7] = {
        "<|endoftext|>", "<|endoftext|>", "<|endoftext|>", NULL, NULL, NULL, NULL};
    int32_t ids[7];
    int32_t next = tok->bpe.max_id + 1;
    for (int i = 0; i < 7; i++) {
        struct special_spec s;
        read_special(cfg, keys[i], gpt2 ? defs_gpt2[i] : defs_bart[i], &s);
        ids[i] = -1;
        if (!s.present) continue;
        ids[i] = add_special(tok, &s, vocab_id(&tok->bpe.vocab, s.content), &next, i == 6 && !gpt2);
        if (ids[i] < 0) goto oom;
    }
    tok->bos_id = tok->wrap_cls_sep ? ids[5] : ids[0]; /* cls for RoBERTa-style wrapping */
    tok->eos_id = tok->wrap_cls_sep ? ids[3] : ids[1]; /* sep */
    if (tok->bos_id < 0) tok->bos_id = ids[0];
    if (tok->eos_id < 0) tok->eos_id = ids[1];
    tok->unk_id = ids[2];
    tok->pad_id = ids[4];
    tok->bpe.unk_id = ids[2];
    int32_t n_ids = tok->bpe.max_id + 1;
    for (int i = 0; i < tok->added.n; i++)
        if (tok->added.tokens[i].id >= n_ids) n_ids = tok->added.tokens[i].id + 1;
    if (tok_alloc_ids(tok, n_ids)) goto oom;
    for (size_t i = 0; i < tok->bpe.vocab.n; i++) {
        const struct txi_strmap_entry *e = &tok->bpe.vocab.entries[i];
        if (tok_set_piece(tok, e->value, txi_strmap_key(&tok->bpe.vocab, i), e->len)) goto oom;
    }
    if (finish_added(tok)) goto oom;
    tok->vocab_size = (int32_t)tok->bpe.vocab.n;
    return TX_OK;
oom:
    return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", p->dir);
}

static tx_status load_plain_spm(struct tx_tokenizer *tok, const char *path, struct tx_error *err)
{
    tx_status st = tok_spm_load(&tok->spm, path, err);
    if (st) return st;
    tok->has_spm = 1;
    int32_t n = tok_spm_n_pieces(&tok->spm);
    tok->vocab_size = n;
    if (tok_alloc_ids(tok, n)) goto oom;
    for (int32_t id = 0; id < n; id++) {
        struct spm_bytes pc = tok_spm_id_to_piece(&tok->spm, id);
        if (tok_set_piece(tok, id, pc.data, pc.size)) goto oom;
        int type = tok_spm_type(&tok->spm, id);
        if (type == SPM_CONTROL || type == SPM_UNKNOWN) tok->special[id] = 1;
        if (type == SPM_UNKNOWN) tok->unk_id = id;
        if (type == SPM_CONTROL && pc.size == 4 && !memcmp(pc.data, "</s>", 4)) tok->eos_id = id;
        if (type == SPM_CONTROL && pc.size == 3 && !memcmp(pc.data, "<s>", 3)) tok->bos_id = id;
        if (type == SPM_CONTROL && pc.size == 5 && !memcmp(pc.data, "<pad>", 5)) tok->pad_id = id;
    }
    if (finish_added(tok)) goto oom;
    return TX_OK;
oom:
    return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", path);
}

/* A lone "*.model" file in dir (sentencepiece.bpe.model, spm.model, ...), or -1. */
static int find_model_file(const char *dir, char *out, size_t size)
{
    static const char *const names[] = {"spm.model", "sentencepiece.model",
                                        "sentencepiece.bpe.model", "tokenizer.model"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!txi_path_join(out, size, dir, names[i]) && txi_file_exists(out)) return 0;
    return -1;
}

/* transformers 4.35 _from_pretrained, when tokenizer_config.json has no "added_tokens_decoder"
 * (folders saved by older versions): special_tokens_map.json overrides the config's special
 * tokens (additional_special_tokens are merged), and added_tokens.json and tokenizer.json's
 * "added_tokens" (a slow tokenizer reads them from there) become the added_tokens_decoder. */
static tx_status merge_legacy_files(json_t *cfg, struct paths *p, int has_tokjson,
                                    struct tx_error *err)
{
    static const char *const attrs[8] = {
        "bos_token", "eos_token", "unk_token",  "sep_token",
        "pad_token", "cls_token", "mask_token", "additional_special_tokens"};
    json_t *stm = NULL, *atj = NULL, *tj = NULL, *atd = NULL;
    tx_status st = TX_OK;
    if (json_object_get(cfg, "added_tokens_decoder")) return TX_OK;
    if (!path_in(p, 5, "special_tokens_map.json"))
        return txi_fail(err, TX_ERR_INVALID, "%s: path too long", p->dir);
    st = load_json_file(p->buf[5], &stm, err);
    if (st) return st;
    if (stm) {
        const char *key;
        json_t *v;
        json_object_foreach(stm, key, v)
        {
            if (!strcmp(key, "additional_special_tokens") && json_is_array(v)) {
                json_t *list = json_object_get(cfg, key);
                if (!json_is_array(list)) {
                    list = json_array();
                    if (!list || json_object_set_new(cfg, key, list)) goto oom;
                }
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e)
                {
                    int dup = 0;
                    for (size_t k = 0; k < json_array_size(list); k++)
                        dup |= json_equal(json_array_get(list, k), e);
                    if (!dup && json_array_append(list, e)) goto oom;
                }
            } else if (json_object_set(cfg, key, v)) {
                goto oom;
            }
        }
    }
    if (!(atd = json_object())) goto oom;
    /* added_tokens.json: {"token": id}; special when it is one of the special tokens */
    if (!path_in(p, 5, "added_tokens.json")) {
        st = txi_fail(err, TX_ERR_INVALID, "%s: path too long", p->dir);
        goto done;
    }
    st = load_json_file(p->buf[5], &atj, err);
    if (st) goto done;
    if (atj) {
        const char *key;
        json_t *v;
        json_object_foreach(atj, key, v)
        {
            if (!json_is_integer(v)) {
                st = txi_fail(err, TX_ERR_FORMAT, "%s: the id of \"%.64s\" is not an integer",
                              p->buf[5], key);
                goto done;
            }
            int special = 0;
            for (int a = 0; a < 8; a++) {
                json_t *sv = json_object_get(cfg, attrs[a]);
                json_t *items = json_is_array(sv) ? sv : NULL;
                size_t n = items ? json_array_size(items) : 1;
                for (size_t i = 0; i < n; i++) {
                    json_t *e = items ? json_array_get(items, i) : sv;
                    if (json_is_object(e)) e = json_object_get(e, "content");
                    if (json_is_string(e) && !strcmp(json_string_value(e), key)) special = 1;
                }
            }
            char idbuf[32];
            snprintf(idbuf, sizeof idbuf, "%lld", (long long)json_integer_value(v));
            if (json_object_set_new(atd, idbuf,
                                    json_pack("{s:s,s:b}", "content", key, "special", special)))
                goto oom;
        }
    }
    /* tokenizer.json "added_tokens", with their flags */
    if (has_tokjson) {
        json_error_t je;
        if (!path_in(p, 5, "tokenizer.json")) {
            st = txi_fail(err, TX_ERR_INVALID, "%s: path too long", p->dir);
            goto done;
        }
        tj = json_load_file(p->buf[5], 0, &je);
        if (!tj) {
            st = txi_fail(err, TX_ERR_FORMAT, "%s: line %d column %d: %s", p->buf[5], je.line,
                          je.column, je.text);
            goto done;
        }
        json_t *list = json_object_get(tj, "added_tokens");
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e)
        {
            json_t *id = json_object_get(e, "id");
            if (!json_is_integer(id) || !json_is_string(json_object_get(e, "content"))) {
                st = txi_fail(err, TX_ERR_FORMAT, "%s: added_tokens[%zu] needs an id and content",
                              p->buf[5], i);
                goto done;
            }
            char idbuf[32];
            snprintf(idbuf, sizeof idbuf, "%lld", (long long)json_integer_value(id));
            json_t *copy = json_deep_copy(e);
            if (!copy) goto oom;
            json_object_del(copy, "id");
            if (json_object_set_new(atd, idbuf, copy)) goto oom;
        }
    }
    if (json_object_size(atd) > 0 && json_object_set(cfg, "added_tokens_decoder", atd)) goto oom;
    goto done;
oom:
    st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
done:
    json_decref(stm);
    json_decref(atj);
    json_decref(tj);
    json_decref(atd);
    return st;
}

tx_status tx_tokenizer_load(const char *dir, tx_tokenizer **out, struct tx_error *err)
{
    if (!dir || !out) return txi_fail(err, TX_ERR_INVALID, "tx_tokenizer_load: NULL argument");
    struct tx_tokenizer *tok = calloc(1, sizeof *tok);
    struct paths *p = calloc(1, sizeof *p);
    json_t *cfg = NULL;
    tx_status st;
    if (!tok || !p) {
        free(tok);
        free(p);
        return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    tok->eos_id = tok->pad_id = tok->bos_id = tok->unk_id = -1;
    tok->clean_up = 1;
    p->dir = dir;
    if (!path_in(p, 0, "tokenizer_config.json")) {
        st = txi_fail(err, TX_ERR_INVALID, "%s: path too long", dir);
        goto fail;
    }
    st = load_json_file(p->buf[0], &cfg, err);
    if (st) goto fail;
    if (!cfg && !(cfg = json_object())) goto oom;
    tok->clean_up = cfg_bool(cfg, "clean_up_tokenization_spaces", 1);
    json_t *clsv = cfg ? json_object_get(cfg, "tokenizer_class") : NULL;
    const char *cls = json_is_string(clsv) ? json_string_value(clsv) : NULL;

    char tmp[4096];
    int has_tokjson =
        !txi_path_join(tmp, sizeof tmp, dir, "tokenizer.json") && txi_file_exists(tmp);
    int has_marian = !txi_path_join(tmp, sizeof tmp, dir, "source.spm") && txi_file_exists(tmp);
    int has_spiece = !txi_path_join(tmp, sizeof tmp, dir, "spiece.model") && txi_file_exists(tmp);
    int has_merges = !txi_path_join(tmp, sizeof tmp, dir, "merges.txt") && txi_file_exists(tmp) &&
                     !txi_path_join(tmp, sizeof tmp, dir, "vocab.json") && txi_file_exists(tmp);
    enum { K_NONE, K_MARIAN, K_T5, K_BPE, K_JSON, K_SPM } k = K_NONE;
    if (cls) {
        if (strstr(cls, "Marian"))
            k = K_MARIAN;
        else if (strstr(cls, "T5"))
            k = has_spiece ? K_T5 : has_tokjson ? K_JSON : K_T5;
        else if (strstr(cls, "Bart") || strstr(cls, "Roberta") || strstr(cls, "GPT2"))
            k = strstr(cls, "MBart") ? (has_tokjson ? K_JSON : K_NONE)
                : has_merges         ? K_BPE
                : has_tokjson        ? K_JSON
                                     : K_BPE;
        else if (has_tokjson)
            k = K_JSON;
        if (k == K_NONE) {
            st = txi_fail(err, TX_ERR_UNSUPPORTED,
                          "%s: tokenizer_class \"%s\" is not supported "
                          "(and there is no tokenizer.json)",
                          p->buf[0], cls);
            goto fail;
        }
    } else if (has_marian) {
        k = K_MARIAN;
    } else if (has_spiece) {
        k = K_T5;
    } else if (has_merges) {
        k = K_BPE;
    } else if (has_tokjson) {
        k = K_JSON;
    } else if (!find_model_file(dir, tmp, sizeof tmp)) {
        k = K_SPM;
    } else {
        st = txi_fail(err, TX_ERR_IO,
                      "%s: no tokenizer files (source.spm, spiece.model, "
                      "vocab.json + merges.txt, tokenizer.json or *.model)",
                      dir);
        goto fail;
    }
    if (k == K_MARIAN || k == K_T5 || k == K_BPE) {
        st = merge_legacy_files(cfg, p, has_tokjson, err);
        if (st) goto fail;
    }
    switch (k) {
    case K_MARIAN:
        tok->kind = TX_TOKENIZER_MARIAN;
        st = load_marian(tok, p, cfg, err);
        break;
    case K_T5:
        tok->kind = TX_TOKENIZER_T5;
        st = load_t5(tok, p, cfg, err);
        break;
    case K_BPE:
        tok->kind = TX_TOKENIZER_BYTE_BPE;
        st = load_byte_bpe(tok, p, cfg, cls, err);
        break;
    case K_JSON:
        tok->kind = TX_TOKENIZER_JSON;
        if (!txi_path_join(tmp, sizeof tmp, dir, "tokenizer.json"))
            st = tok_json_load(tok, tmp, p->buf[0], err);
        break;
    case K_SPM:
        tok->kind = TX_TOKENIZER_SPM;
        st = load_plain_spm(tok, tmp, err);
        break;
    default:
        st = TX_ERR_UNSUPPORTED;
    }
    if (st) goto fail;
    if (tok->has_spm && tok->kind != TX_TOKENIZER_JSON) {
        tok->map_src =
            build_piece_map(tok, &tok->spm, tok->kind == TX_TOKENIZER_MARIAN ? &tok->vocab : NULL);
        if (!tok->map_src) goto oom;
    }
    if (tok->has_spm_tgt) {
        tok->map_tgt = build_piece_map(tok, &tok->spm_tgt,
                                       tok->separate_vocabs ? &tok->tgt_vocab : &tok->vocab);
        if (!tok->map_tgt) goto oom;
    }
    json_decref(cfg);
    free(p);
    *out = tok;
    return TX_OK;
oom:
    st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
fail:
    json_decref(cfg);
    free(p);
    tx_tokenizer_free(tok);
    return st;
}

void tx_tokenizer_free(tx_tokenizer *tok)
{
    if (!tok) return;
    txi_buf_free(&tok->pool);
    free(tok->piece_off);
    free(tok->piece_len);
    free(tok->special);
    free(tok->added_of_id);
    tok_added_free(&tok->added);
    if (tok->has_spm) tok_spm_free(&tok->spm);
    if (tok->has_spm_tgt) tok_spm_free(&tok->spm_tgt);
    txi_strmap_free(&tok->vocab);
    txi_strmap_free(&tok->tgt_vocab);
    free(tok->map_src);
    free(tok->map_tgt);
    if (tok->has_bpe) tok_bpe_free(&tok->bpe);
    tok_json_free(tok->json);
    free(tok);
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding                                                                                  */
/* ---------------------------------------------------------------------------------------- */

struct enc_out {
    int32_t *ids;
    uint32_t *offs; /* (n, 2) */
    size_t n, cap;
};

static int out_push(struct enc_out *o, int32_t id, uint32_t ob, uint32_t oe)
{
    if (o->n >= (size_t)INT_MAX - 1) return -1;
    if (o->n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        int32_t *ids = realloc(o->ids, cap * sizeof *ids);
        if (!ids) return -1;
        o->ids = ids;
        uint32_t *offs = realloc(o->offs, cap * 2 * sizeof *offs);
        if (!offs) return -1;
        o->offs = offs;
        o->cap = cap;
    }
    o->ids[o->n] = id;
    o->offs[2 * o->n] = ob;
    o->offs[2 * o->n + 1] = oe;
    o->n++;
    return 0;
}

/* Scratch reused across the segments of one call. */
struct enc_scratch {
    struct tok_split split;
    struct tok_spm_encoding spm;
    struct tok_bpe_scratch bpe;
    char *tmp; /* Marian: segment text without language codes */
    uint32_t *tmp_off;
    size_t tmp_cap, tmp_off_cap;
    int32_t *syms;
    size_t syms_cap;
};

static void enc_scratch_free(struct enc_scratch *s)
{
    tok_split_free(&s->split);
    tok_spm_encoding_free(&s->spm);
    tok_bpe_scratch_free(&s->bpe);
    free(s->tmp);
    free(s->tmp_off);
    free(s->syms);
}

/* Original span of bytes [b, e) of a text whose byte i came from offset off[i]. */
static void map_span(const uint32_t *off, uint32_t b, uint32_t e, uint32_t *ob, uint32_t *oe)
{
    *ob = off[b];
    *oe = e > b ? off[e - 1] + 1 : *ob;
    if (*oe < *ob) *oe = *ob;
}

/* The token id a piece string gets: an added token's id first
 * (_convert_token_to_id_with_added_voc), then the vocabulary of the kind. */
static int32_t piece_id(const struct tx_tokenizer *tok, const struct tok_spm *sp,
                        const struct txi_strmap *vocab, const char *s, size_t n)
{
    int a = tok_added_find(&tok->added, s, n);
    if (a >= 0) return tok->added.tokens[a].id;
    if (vocab) {
        int32_t id;
        return txi_strmap_get(vocab, s, n, &id) ? id : tok->unk_id;
    }
    return tok_spm_piece_to_id(sp, s, n);
}

/* SentencePiece-encodes text[0..len) (byte i from original offset off[i]) and appends the ids
 * of the pieces (looked up in vocab when given, else SentencePiece ids). */
/* The token id of every piece of sp, as piece_id gives it for the piece's own string: a piece
 * that is not an unknown one (whose text is raw input) can then skip the string lookups. */
static int32_t *build_piece_map(const struct tx_tokenizer *tok, const struct tok_spm *sp,
                                const struct txi_strmap *vocab)
{
    int32_t n = tok_spm_n_pieces(sp);
    int32_t *map = malloc((size_t)n * sizeof *map);
    if (!map) return NULL;
    for (int32_t id = 0; id < n; id++) {
        struct spm_bytes pc = tok_spm_id_to_piece(sp, id);
        map[id] = piece_id(tok, sp, vocab, pc.data, pc.size);
    }
    return map;
}

static tx_status encode_spm_text(const struct tx_tokenizer *tok, const struct tok_spm *sp,
                                 const struct txi_strmap *vocab, const int32_t *map,
                                 const char *text, size_t len, const uint32_t *off,
                                 struct enc_scratch *sc, struct enc_out *o, struct tx_error *err)
{
    if (len == 0) return TX_OK;
    tx_status st = tok_spm_encode(sp, text, len, &sc->spm, err);
    if (st) return st;
    for (size_t i = 0; i < sc->spm.n_pieces; i++) {
        char tmp[8];
        size_t pl;
        const struct tok_spm_piece *p = &sc->spm.pieces[i];
        int32_t id;
        if (map && tok_spm_type(sp, p->id) != SPM_UNKNOWN) {
            id = map[p->id];
        } else {
            const char *pc = tok_spm_piece_text(&sc->spm, i, tmp, &pl);
            id = piece_id(tok, sp, vocab, pc, pl);
        }
        uint32_t ob, oe;
        if (p->ob < len)
            map_span(off, p->ob, p->oe, &ob, &oe);
        else
            ob = oe = len ? off[len - 1] + 1 : 0;
        if (out_push(o, id, ob, oe)) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    return TX_OK;
}

/* MarianTokenizer.remove_language_code: re.match(">>.+<<") at the start gives a code token;
 * re.sub removes every match (greedy, "." excludes "\n"). Writes the remaining text to sc->tmp
 * and returns the code's length at the start (0 = none). */
static int strip_language_codes(const char *s, const uint32_t *off, size_t n,
                                struct enc_scratch *sc, size_t *rest_len, size_t *code_len)
{
    *code_len = 0;
    if (txi_grow((void **)&sc->tmp, &sc->tmp_cap, n + 1, 1) ||
        txi_grow((void **)&sc->tmp_off, &sc->tmp_off_cap, n + 1, sizeof *sc->tmp_off))
        return -1;
    size_t w = 0, i = 0;
    size_t line_end = 0, last_ll = SIZE_MAX; /* end of i's line and its last "<<" */
    while (i < n) {
        if (i >= line_end || line_end == 0) {
            /* find this line's end and its last "<<" (once per line: linear overall) */
            size_t e = i;
            while (e < n && s[e] != '\n')
                e++;
            line_end = e == i ? i + 1 : e;
            last_ll = SIZE_MAX;
            for (size_t k = i; k + 1 < e; k++)
                if (s[k] == '<' && s[k + 1] == '<') last_ll = k;
        }
        if (i + 1 < n && s[i] == '>' && s[i + 1] == '>' && last_ll != SIZE_MAX &&
            last_ll >= i + 3 && last_ll + 2 <= line_end) {
            if (i == 0) *code_len = last_ll + 2;
            i = last_ll + 2;
            continue;
        }
        sc->tmp[w] = s[i];
        sc->tmp_off[w] = off[i];
        w++;
        i++;
    }
    *rest_len = w;
    return 0;
}

static tx_status encode_segment(const struct tx_tokenizer *tok, tx_side side, const char *s,
                                const uint32_t *off, size_t n, struct enc_scratch *sc,
                                struct enc_out *o, struct tx_error *err)
{
    switch (tok->kind) {
    case TX_TOKENIZER_MARIAN: {
        int tgt = side == TX_SIDE_TARGET;
        const struct txi_strmap *vocab =
            tgt && tok->separate_vocabs ? &tok->tgt_vocab : &tok->vocab;
        size_t rest, code;
        if (strip_language_codes(s, off, n, sc, &rest, &code))
            return txi_fail(err, TX_ERR_NOMEM, "out of memory");
        if (code) {
            uint32_t ob, oe;
            map_span(off, 0, (uint32_t)code, &ob, &oe);
            if (out_push(o, piece_id(tok, NULL, vocab, s, code), ob, oe))
                return txi_fail(err, TX_ERR_NOMEM, "out of memory");
        }
        return encode_spm_text(tok, tgt ? &tok->spm_tgt : &tok->spm, vocab,
                               tgt ? tok->map_tgt : tok->map_src, sc->tmp, rest, sc->tmp_off, sc, o,
                               err);
    }
    case TX_TOKENIZER_T5:
    case TX_TOKENIZER_SPM:
        return encode_spm_text(tok, &tok->spm, NULL, tok->map_src, s, n, off, sc, o, err);
    case TX_TOKENIZER_BYTE_BPE:
        /* GPT2Tokenizer._tokenize: pattern chunks, bytes -> byte characters, bpe(), vocab */
        for (size_t i = 0; i < n;) {
            size_t m = tok_gpt2_pretok_next(s + i, n - i);
            if (txi_grow((void **)&sc->syms, &sc->syms_cap, m, sizeof *sc->syms))
                return txi_fail(err, TX_ERR_NOMEM, "out of memory");
            for (size_t k = 0; k < m; k++)
                sc->syms[k] = tok->bpe.byte_sym[(unsigned char)s[i + k]];
            if (tok_bpe_merge(&tok->bpe, &sc->bpe, sc->syms, m))
                return txi_fail(err, TX_ERR_NOMEM, "out of memory in BPE");
            for (size_t k = 0; k < sc->bpe.n_out; k++) {
                const struct tok_bpe_out *r = &sc->bpe.out[k];
                int32_t id = tok->bpe.sym_id[r->sym];
                const char *str = txi_strmap_key(&tok->bpe.syms, (size_t)r->sym);
                int a = tok_added_find(&tok->added, str, tok->bpe.syms.entries[r->sym].len);
                if (a >= 0) id = tok->added.tokens[a].id;
                if (id < 0) id = tok->unk_id;
                uint32_t ob, oe;
                map_span(off + i, r->start, r->end, &ob, &oe);
                if (out_push(o, id, ob, oe)) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
            }
            i += m;
        }
        return TX_OK;
    default:
        return txi_fail(err, TX_ERR_UNSUPPORTED, "tokenizer kind %d cannot encode segments",
                        tok->kind);
    }
}

tx_status tx_tokenizer_encode(const tx_tokenizer *tok, const char *text, size_t len, tx_side side,
                              struct tx_encoding *out, struct tx_error *err)
{
    if (!tok || !out || (!text && len))
        return txi_fail(err, TX_ERR_INVALID, "tx_tokenizer_encode: NULL argument");
    if (!text) text = "";
    if (len > MAX_TEXT_BYTES)
        return txi_fail(err, TX_ERR_TOO_LONG, "text of %zu bytes exceeds the %zu-byte limit", len,
                        MAX_TEXT_BYTES);
    size_t bad = txi_utf8_validate(text, len);
    if (bad != len) return txi_fail(err, TX_ERR_ENCODING, "invalid UTF-8 at byte %zu", bad);

    struct enc_out o = {0};
    struct enc_scratch sc;
    memset(&sc, 0, sizeof sc);
    tx_status st = TX_OK;

    if (tok->kind == TX_TOKENIZER_JSON) {
        size_t n = 0, cap = 0;
        st = tok_json_encode(tok, text, len, &o.ids, &o.offs, &n, &cap, err);
        o.n = n;
        if (st) goto done;
        goto finish;
    }

    /* RoBERTa/BART add_prefix_space: " " + text unless it starts with whitespace */
    int prefix = 0;
    if (tok->kind == TX_TOKENIZER_BYTE_BPE && tok->add_prefix_space && len > 0) {
        uint32_t cp;
        txi_utf8_decode(text, len, &cp);
        prefix = !txi_utf8_is_py_space(cp);
    }
    if (tok->kind == TX_TOKENIZER_BYTE_BPE && tok->wrap_cls_sep && out_push(&o, tok->bos_id, 0, 0))
        goto oom;
    if (tok->kind == TX_TOKENIZER_BYTE_BPE && !tok->wrap_cls_sep && tok->add_bos &&
        out_push(&o, tok->bos_id, 0, 0))
        goto oom;
    st = tok_added_split_slow(&tok->added, text, len, prefix, &sc.split, err);
    if (st) goto done;
    for (size_t i = 0; i < sc.split.n_segs; i++) {
        const struct tok_segment *g = &sc.split.segs[i];
        if (g->added >= 0) {
            if (out_push(&o, tok->added.tokens[g->added].id, g->ob, g->oe)) goto oom;
            continue;
        }
        st = encode_segment(tok, side, sc.split.bytes + g->pos, sc.split.off + g->pos, g->len, &sc,
                            &o, err);
        if (st) goto done;
    }
    /* build_inputs_with_special_tokens */
    switch (tok->kind) {
    case TX_TOKENIZER_MARIAN:
        if (out_push(&o, tok->eos_id, (uint32_t)len, (uint32_t)len)) goto oom;
        break;
    case TX_TOKENIZER_T5: /* _add_eos_if_not_present */
        if ((o.n == 0 || o.ids[o.n - 1] != tok->eos_id) &&
            out_push(&o, tok->eos_id, (uint32_t)len, (uint32_t)len))
            goto oom;
        break;
    case TX_TOKENIZER_BYTE_BPE:
        if (tok->wrap_cls_sep && out_push(&o, tok->eos_id, (uint32_t)len, (uint32_t)len)) goto oom;
        break;
    default:
        break;
    }
finish:
    if (o.n == 0) { /* keep the arrays non-NULL so callers may index them freely */
        if (out_push(&o, 0, 0, 0)) goto oom;
        o.n = 0;
    }
    out->ids = o.ids;
    out->offsets = o.offs;
    out->n_ids = (int)o.n;
    o.ids = NULL;
    o.offs = NULL;
    goto done;
oom:
    st = txi_fail(err, TX_ERR_NOMEM, "out of memory encoding %zu bytes", len);
done:
    free(o.ids);
    free(o.offs);
    enc_scratch_free(&sc);
    return st;
}

void tx_encoding_free(struct tx_encoding *enc)
{
    if (!enc) return;
    free(enc->ids);
    free(enc->offsets);
    enc->ids = NULL;
    enc->offsets = NULL;
    enc->n_ids = 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding                                                                                  */
/* ---------------------------------------------------------------------------------------- */

int tok_clean_up_spaces(const char *s, size_t n, struct txi_buf *out)
{
    /* clean_up_tokenization: ten str.replace passes, in this order. */
    static const char *const from[10] = {" .",   " ?",  " !",  " ,",   " ' ",
                                         " n't", " 'm", " 's", " 've", " 're"};
    static const char *const to[10] = {".", "?", "!", ",", "'", "n't", "'m", "'s", "'ve", "'re"};
    struct txi_buf a = {0}, b = {0};
    if (txi_buf_append(&a, s, n)) return -1;
    for (int r = 0; r < 10; r++) {
        size_t fl = strlen(from[r]), tl = strlen(to[r]);
        b.len = 0;
        if (txi_buf_reserve(&b, a.len)) goto oom;
        for (size_t i = 0; i < a.len;) {
            if (i + fl <= a.len && memcmp(a.data + i, from[r], fl) == 0) {
                if (txi_buf_append(&b, to[r], tl)) goto oom;
                i += fl;
            } else {
                if (txi_buf_putc(&b, a.data[i])) goto oom;
                i++;
            }
        }
        struct txi_buf t = a;
        a = b;
        b = t;
    }
    int rc = txi_buf_append(out, a.data ? a.data : "", a.len);
    txi_buf_free(&a);
    txi_buf_free(&b);
    return rc;
oom:
    txi_buf_free(&a);
    txi_buf_free(&b);
    return -1;
}

/* Python str.strip(): trims str.isspace() characters at both ends of [*b, *e). */
static void py_strip(const char *s, size_t *b, size_t *e)
{
    while (*b < *e) {
        uint32_t cp;
        int n = txi_utf8_decode(s + *b, *e - *b, &cp);
        if (n <= 0 || !txi_utf8_is_py_space(cp)) break;
        *b += (size_t)n;
    }
    while (*e > *b) {
        size_t k = *e - 1;
        while (k > *b && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        uint32_t cp;
        int n = txi_utf8_decode(s + k, *e - k, &cp);
        if (n <= 0 || !txi_utf8_is_py_space(cp)) break;
        *e = k;
    }
}

/* Is this token string one of all_special_tokens? */
static int is_special_string(const struct tx_tokenizer *tok, const char *s, size_t n)
{
    int a = tok_added_find(&tok->added, s, n);
    return a >= 0 && tok->added.tokens[a].special;
}

struct piece_list {
    struct spm_bytes *v;
    size_t n, cap;
};

static int list_push(struct piece_list *l, const char *s, size_t n)
{
    if (txi_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v)) return -1;
    l->v[l->n].data = s;
    l->v[l->n].size = n;
    l->n++;
    return 0;
}

/* convert_tokens_to_string of each slow tokenizer, appended to out. */
static tx_status tokens_to_string(const struct tx_tokenizer *tok, struct spm_bytes *t, size_t n,
                                  struct txi_buf *out, struct tx_error *err)
{
    struct txi_buf s = {0};
    struct piece_list cur = {0};
    tx_status st = TX_OK;
    if (txi_buf_reserve(&s, 0)) goto oom;
    switch (tok->kind) {
    case TX_TOKENIZER_T5: {
        /* T5Tokenizer: the first token loses its leading U+2581s; special tokens are not
         * decoded by SentencePiece and get a space before them. */
        int prev_special = 0;
        for (size_t i = 0; i < n; i++) {
            const char *p = t[i].data;
            size_t len = t[i].size;
            if (i == 0)
                while (len >= 3 && !memcmp(p, SPACE_SYMBOL, 3))
                    p += 3, len -= 3;
            if (is_special_string(tok, p, len)) {
                if (!prev_special && txi_buf_putc(&s, ' ')) goto oom;
                st = tok_spm_decode_pieces(&tok->spm, cur.v, cur.n, &s, err);
                if (st) goto done;
                if (txi_buf_append(&s, p, len)) goto oom;
                prev_special = 1;
                cur.n = 0;
            } else {
                if (list_push(&cur, p, len)) goto oom;
                prev_special = 0;
            }
        }
        st = tok_spm_decode_pieces(&tok->spm, cur.v, cur.n, &s, err);
        if (st) goto done;
        size_t b = 0, e = s.len;
        py_strip(s.data, &b, &e);
        if (txi_buf_append(out, s.data + b, e - b)) goto oom;
        break;
    }
    case TX_TOKENIZER_MARIAN: {
        /* MarianTokenizer: target.spm decodes; special tokens are copied with a space after;
         * remaining U+2581 become spaces; then strip(). */
        for (size_t i = 0; i < n; i++) {
            if (is_special_string(tok, t[i].data, t[i].size)) {
                st = tok_spm_decode_pieces(&tok->spm_tgt, cur.v, cur.n, &s, err);
                if (st) goto done;
                if (txi_buf_append(&s, t[i].data, t[i].size) || txi_buf_putc(&s, ' ')) goto oom;
                cur.n = 0;
            } else if (list_push(&cur, t[i].data, t[i].size)) {
                goto oom;
            }
        }
        st = tok_spm_decode_pieces(&tok->spm_tgt, cur.v, cur.n, &s, err);
        if (st) goto done;
        struct txi_buf r = {0};
        if (txi_buf_reserve(&r, s.len)) goto oom;
        for (size_t i = 0; i < s.len;) {
            if (i + 3 <= s.len && !memcmp(s.data + i, SPACE_SYMBOL, 3)) {
                r.data[r.len++] = ' ';
                i += 3;
            } else {
                r.data[r.len++] = s.data[i++];
            }
        }
        size_t b = 0, e = r.len;
        py_strip(r.data, &b, &e);
        int rc = txi_buf_append(out, r.data + b, e - b);
        txi_buf_free(&r);
        if (rc) goto oom;
        break;
    }
    case TX_TOKENIZER_SPM:
        st = tok_spm_decode_pieces(&tok->spm, t, n, out, err);
        break;
    case TX_TOKENIZER_BYTE_BPE: {
        /* bytearray(byte_decoder[c] for c in text).decode("utf-8", errors="replace") */
        for (size_t i = 0; i < n; i++)
            if (tok_bpe_unbyte(&tok->bpe, t[i].data, t[i].size, &s)) goto oom;
        for (size_t i = 0; i < s.len;) {
            uint32_t cp;
            int l = txi_utf8_decode_replace(s.data + i, s.len - i, &cp);
            int rc = cp == 0xFFFD && (l != 3 || memcmp(s.data + i, "\xEF\xBF\xBD", 3))
                         ? txi_buf_append(out, "\xEF\xBF\xBD", 3)
                         : txi_buf_append(out, s.data + i, (size_t)l);
            if (rc) goto oom;
            i += (size_t)l;
        }
        break;
    }
    default:
        st = txi_fail(err, TX_ERR_UNSUPPORTED, "tokenizer kind %d", tok->kind);
    }
    goto done;
oom:
    st = txi_fail(err, TX_ERR_NOMEM, "out of memory decoding");
done:
    txi_buf_free(&s);
    free(cur.v);
    return st;
}

tx_status tx_tokenizer_decode(const tx_tokenizer *tok, const int32_t *ids, int n_ids,
                              int skip_special, char **out_text, struct tx_error *err)
{
    if (!tok || !out_text || n_ids < 0 || (!ids && n_ids > 0))
        return txi_fail(err, TX_ERR_INVALID, "tx_tokenizer_decode: invalid argument");
    for (int i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= tok->n_ids)
            return txi_fail(err, TX_ERR_INVALID, "ids[%d] = %d is outside the vocabulary [0, %d)",
                            i, ids[i], tok->n_ids);
    struct txi_buf text = {0}, joined = {0};
    struct piece_list cur = {0};
    tx_status st = TX_OK;
    if (txi_buf_reserve(&text, 0)) goto oom;

    if (tok->kind == TX_TOKENIZER_JSON) {
        st = tok_json_decode(tok, ids, n_ids, skip_special, &text, err);
        if (st) goto done;
    } else {
        /* PreTrainedTokenizer._decode: tokens of "legacy added tokens" (added tokens that are
         * not special, and additional special tokens past vocab_size, e.g. T5's sentinels) are
         * kept apart from the text around them; the parts are joined with single spaces. */
        int first_part = 1;
        for (int i = 0; i < n_ids; i++) {
            int32_t id = ids[i];
            if (skip_special && tok->special[id]) continue;
            size_t len;
            const char *p = piece_of(tok, id, &len);
            if (!p) {
                st = txi_fail(err, TX_ERR_INVALID, "ids[%d] = %d has no token", i, id);
                goto done;
            }
            int a = tok->added_of_id[id];
            int legacy = a >= 0 && (!tok->added.tokens[a].special ||
                                    (tok->added.tokens[a].additional && id >= tok->vocab_size));
            if (legacy) {
                if (cur.n) {
                    size_t before = joined.len;
                    if (!first_part && txi_buf_putc(&joined, ' ')) goto oom;
                    size_t mark = joined.len;
                    st = tokens_to_string(tok, cur.v, cur.n, &joined, err);
                    if (st) goto done;
                    if (joined.len == mark)
                        joined.len = before; /* empty strings are dropped */
                    else
                        first_part = 0;
                    cur.n = 0;
                }
                if (!first_part && txi_buf_putc(&joined, ' ')) goto oom;
                if (txi_buf_append(&joined, p, len)) goto oom;
                first_part = 0;
            } else if (list_push(&cur, p, len)) {
                goto oom;
            }
        }
        if (cur.n) {
            if (!first_part && txi_buf_putc(&joined, ' ')) goto oom;
            st = tokens_to_string(tok, cur.v, cur.n, &joined, err);
            if (st) goto done;
        }
        if (txi_buf_append(&text, joined.data ? joined.data : "", joined.len)) goto oom;
    }
    if (tok->clean_up) {
        struct txi_buf c = {0};
        if (tok_clean_up_spaces(text.data, text.len, &c)) goto oom;
        txi_buf_free(&text);
        text = c;
        if (txi_buf_reserve(&text, 0)) goto oom;
    }
    *out_text = text.data;
    text.data = NULL;
    goto done;
oom:
    st = txi_fail(err, TX_ERR_NOMEM, "out of memory decoding %d ids", n_ids);
done:
    txi_buf_free(&text);
    txi_buf_free(&joined);
    free(cur.v);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* Accessors                                                                                 */
/* ---------------------------------------------------------------------------------------- */

tx_tokenizer_kind tx_tokenizer_get_kind(const tx_tokenizer *tok)
{
    return tok->kind;
}
int tx_tokenizer_vocab_size(const tx_tokenizer *tok)
{
    return tok->n_ids;
}
int32_t tx_tokenizer_eos_id(const tx_tokenizer *tok)
{
    return tok->eos_id;
}
int32_t tx_tokenizer_pad_id(const tx_tokenizer *tok)
{
    return tok->pad_id;
}
int32_t tx_tokenizer_bos_id(const tx_tokenizer *tok)
{
    return tok->bos_id;
}
int32_t tx_tokenizer_unk_id(const tx_tokenizer *tok)
{
    return tok->unk_id;
}

int tx_tokenizer_is_special(const tx_tokenizer *tok, int32_t id)
{
    return id >= 0 && id < tok->n_ids && tok->special[id];
}

const char *tx_tokenizer_id_to_piece(const tx_tokenizer *tok, int32_t id)
{
    size_t len;
    return piece_of(tok, id, &len);
}

static void put(char *buf, size_t size, size_t *n, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++, (*n)++)
        if (*n + 1 < size) buf[*n] = s[i];
}

size_t tx_tokenizer_display_piece(const tx_tokenizer *tok, int32_t id, char *buf, size_t buf_size)
{
    size_t n = 0, len;
    const char *p = piece_of(tok, id, &len);
    if (!p) p = "", len = 0;
    int added = id >= 0 && id < tok->n_ids && tok->added_of_id[id] >= 0;
    if (added) {
        put(buf, buf_size, &n, p, len);
    } else if (tok->byte_level_display) {
        /* byte-level characters back to bytes; bytes that do not form UTF-8 shown as <0xNN> */
        struct txi_buf bytes = {0};
        if (tok_bpe_unbyte(&tok->bpe, p, len, &bytes) == 0) {
            for (size_t i = 0; i < bytes.len;) {
                uint32_t cp;
                int l = txi_utf8_decode(bytes.data + i, bytes.len - i, &cp);
                if (l > 0) {
                    put(buf, buf_size, &n, bytes.data + i, (size_t)l);
                    i += (size_t)l;
                } else {
                    char hx[8];
                    snprintf(hx, sizeof hx, "<0x%02X>", (unsigned char)bytes.data[i]);
                    put(buf, buf_size, &n, hx, 6);
                    i++;
                }
            }
        }
        txi_buf_free(&bytes);
    } else {
        int b = -1;
        if (len == 6 && !memcmp(p, "<0x", 3) && p[5] == '>') {
            unsigned v;
            if (sscanf(p + 3, "%2X", &v) == 1) b = (int)v;
        }
        if (b >= 0x20 && b < 0x7F) {
            char c = (char)b;
            put(buf, buf_size, &n, &c, 1);
        } else {
            for (size_t i = 0; i < len;) {
                if (i + 3 <= len && !memcmp(p + i, SPACE_SYMBOL, 3)) {
                    put(buf, buf_size, &n, " ", 1);
                    i += 3;
                } else {
                    put(buf, buf_size, &n, p + i, 1);
                    i++;
                }
            }
        }
    }
    if (buf_size > 0) {
        /* NUL-terminate; when truncated, never leave half a UTF-8 character at the end */
        size_t m = n < buf_size ? n : buf_size - 1;
        if (m < n && m > 0) {
            size_t last = m - 1;
            while (last > 0 && ((unsigned char)buf[last] & 0xC0) == 0x80)
                last--;
            uint32_t cp;
            if (txi_utf8_decode(buf + last, m - last, &cp) != (int)(m - last)) m = last;
        }
        buf[m] = '\0';
    }
    return n;
}
