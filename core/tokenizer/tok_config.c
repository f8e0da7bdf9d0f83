/* tok_config.c — tokenizer_config.json: special tokens, flags, added_tokens_decoder and the
 * legacy special_tokens_map.json / added_tokens.json / tokenizer.json merge of transformers. */
#include "tok_config.h"
#include "txi.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tok_read_special_value(json_t *v, struct tok_special *s)
{
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

void tok_read_special(json_t *cfg, const char *key, const char *def, struct tok_special *s)
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
    tok_read_special_value(v, s);
}

int tok_cfg_bool(json_t *cfg, const char *key, int def)
{
    json_t *v = cfg ? json_object_get(cfg, key) : NULL;
    if (json_is_boolean(v)) return json_is_true(v);
    return def;
}

tx_status tok_load_json_file(const char *path, json_t **out, struct tx_error *err)
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

int32_t tok_vocab_id(const struct txi_strmap *vocab, const char *s)
{
    int32_t id;
    return txi_strmap_get(vocab, s, strlen(s), &id) ? id : -1;
}

int32_t tok_add_special(struct tx_tokenizer *tok, const struct tok_special *s, int32_t vocab_id,
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

tx_status tok_apply_added_tokens_decoder(struct tx_tokenizer *tok, json_t *cfg, const char *path,
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
        if (*end || id < 0 || id >= TOK_MAX_ID || !json_is_string(c))
            return txi_fail(err, TX_ERR_FORMAT,
                            "%s: added_tokens_decoder.%s: expected an id in [0, 2^22) and "
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
/* Legacy files                                                                              */
/* ---------------------------------------------------------------------------------------- */

/* Appends to cfg[key] (created as a list when it is not one) the elements of v it lacks. */
static int merge_list(json_t *cfg, const char *key, json_t *v)
{
    json_t *list = json_object_get(cfg, key);
    if (!json_is_array(list)) {
        list = json_array();
        if (!list || json_object_set_new(cfg, key, list)) return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        int dup = 0;
        for (size_t k = 0; k < json_array_size(list); k++)
            dup |= json_equal(json_array_get(list, k), e);
        if (!dup && json_array_append(list, e)) return -1;
    }
    return 0;
}

/* special_tokens_map.json overrides cfg's keys; additional_special_tokens are merged. */
static tx_status merge_special_tokens_map(json_t *cfg, const char *dir, struct tx_error *err)
{
    char path[4096];
    json_t *stm;
    if (txi_path_join(path, sizeof path, dir, "special_tokens_map.json"))
        return txi_fail(err, TX_ERR_INVALID, "%s: path too long", dir);
    tx_status st = tok_load_json_file(path, &stm, err);
    if (st || !stm) return st;
    const char *key;
    json_t *v;
    json_object_foreach(stm, key, v)
    {
        int rc = !strcmp(key, "additional_special_tokens") && json_is_array(v)
                     ? merge_list(cfg, key, v)
                     : json_object_set(cfg, key, v);
        if (rc) {
            json_decref(stm);
            return txi_fail(err, TX_ERR_NOMEM, "out of memory");
        }
    }
    json_decref(stm);
    return TX_OK;
}

/* Is name the content of one of cfg's special tokens (additional ones included)? */
static int names_special_token(json_t *cfg, const char *name)
{
    static const char *const attrs[8] = {
        "bos_token", "eos_token", "unk_token",  "sep_token",
        "pad_token", "cls_token", "mask_token", "additional_special_tokens"};
    int special = 0;
    for (int a = 0; a < 8; a++) {
        json_t *sv = json_object_get(cfg, attrs[a]);
        json_t *items = json_is_array(sv) ? sv : NULL;
        size_t n = items ? json_array_size(items) : 1;
        for (size_t i = 0; i < n; i++) {
            json_t *e = items ? json_array_get(items, i) : sv;
            if (json_is_object(e)) e = json_object_get(e, "content");
            if (json_is_string(e) && !strcmp(json_string_value(e), name)) special = 1;
        }
    }
    return special;
}

/* added_tokens.json ({"token": id}) into atd; special when it is one of cfg's special tokens. */
static tx_status read_added_tokens_json(json_t *cfg, const char *dir, json_t *atd,
                                        struct tx_error *err)
{
    char path[4096];
    json_t *atj;
    if (txi_path_join(path, sizeof path, dir, "added_tokens.json"))
        return txi_fail(err, TX_ERR_INVALID, "%s: path too long", dir);
    tx_status st = tok_load_json_file(path, &atj, err);
    if (st || !atj) return st;
    const char *key;
    json_t *v;
    json_object_foreach(atj, key, v)
    {
        if (!json_is_integer(v)) {
            st = txi_fail(err, TX_ERR_FORMAT, "%s: the id of \"%.64s\" is not an integer", path,
                          key);
            break;
        }
        char idbuf[32];
        snprintf(idbuf, sizeof idbuf, "%lld", (long long)json_integer_value(v));
        json_t *entry =
            json_pack("{s:s,s:b}", "content", key, "special", names_special_token(cfg, key));
        if (json_object_set_new(atd, idbuf, entry)) {
            st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
            break;
        }
    }
    json_decref(atj);
    return st;
}

/* tokenizer.json's "added_tokens", with their flags, into atd. */
static tx_status read_tokenizer_json_added(const char *dir, json_t *atd, struct tx_error *err)
{
    char path[4096];
    json_error_t je;
    if (txi_path_join(path, sizeof path, dir, "tokenizer.json"))
        return txi_fail(err, TX_ERR_INVALID, "%s: path too long", dir);
    json_t *tj = json_load_file(path, 0, &je);
    if (!tj)
        return txi_fail(err, TX_ERR_FORMAT, "%s: line %d column %d: %s", path, je.line, je.column,
                        je.text);
    tx_status st = TX_OK;
    json_t *list = json_object_get(tj, "added_tokens");
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        json_t *id = json_object_get(e, "id");
        if (!json_is_integer(id) || !json_is_string(json_object_get(e, "content"))) {
            st = txi_fail(err, TX_ERR_FORMAT, "%s: added_tokens[%zu] needs an id and content", path,
                          i);
            break;
        }
        char idbuf[32];
        snprintf(idbuf, sizeof idbuf, "%lld", (long long)json_integer_value(id));
        json_t *copy = json_deep_copy(e);
        if (copy) json_object_del(copy, "id");
        if (!copy || json_object_set_new(atd, idbuf, copy)) {
            st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
            break;
        }
    }
    json_decref(tj);
    return st;
}

tx_status tok_merge_legacy_files(json_t *cfg, const char *dir, int has_tokjson,
                                 struct tx_error *err)
{
    if (json_object_get(cfg, "added_tokens_decoder")) return TX_OK;
    tx_status st = merge_special_tokens_map(cfg, dir, err);
    if (st) return st;
    json_t *atd = json_object();
    if (!atd) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    st = read_added_tokens_json(cfg, dir, atd, err);
    if (!st && has_tokjson) st = read_tokenizer_json_added(dir, atd, err);
    if (!st && json_object_size(atd) > 0 && json_object_set(cfg, "added_tokens_decoder", atd))
        st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
    json_decref(atd);
    return st;
}
