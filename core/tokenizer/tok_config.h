/* tok_config.h — tokenizer_config.json as transformers reads it: special tokens (strings or
 * AddedToken dicts), flags, added_tokens_decoder, and the legacy files older folders hold. */
#ifndef ATTNSERVE_TOK_CONFIG_H
#define ATTNSERVE_TOK_CONFIG_H

#include <stdint.h>

#include "tok_common.h"

#include <jansson.h>

/* A special token of the config: its content and its AddedToken flags when it had them. */
struct tok_special {
    char content[128];
    int present;
    int lstrip, rstrip, single_word, has_flags;
};

/* Reads cfg[key] (a string, or an AddedToken dict {"content": ..., ...}) into s; def (or NULL)
 * when the key is absent; not present when it is null. cfg may be NULL. */
void tok_read_special(json_t *cfg, const char *key, const char *def, struct tok_special *s);
/* Reads v (a string or an AddedToken dict) into s, which the caller zeroed; s stays not present
 * for anything else. */
void tok_read_special_value(json_t *v, struct tok_special *s);
/* cfg[key] when it is a boolean, else def. cfg may be NULL. */
int tok_cfg_bool(json_t *cfg, const char *key, int def);
/* Loads a JSON object file into *out (owned; NULL and TX_OK when the file does not exist).
 * TX_ERR_FORMAT with the line and column on bad JSON or a non-object. */
tx_status tok_load_json_file(const char *path, json_t **out, struct tx_error *err);
/* The id of s in vocab, or -1. */
int32_t tok_vocab_id(const struct txi_strmap *vocab, const char *s);
/* Adds a special token the way PreTrainedTokenizer._add_tokens does: an already added content
 * keeps its id; otherwise it keeps vocab_id (>= 0) or gets (*next_id)++. def_lstrip applies
 * when s carried no flags. Returns its id, -1 on OOM. */
int32_t tok_add_special(struct tx_tokenizer *tok, const struct tok_special *s, int32_t vocab_id,
                        int32_t *next_id, int def_lstrip);
/* Adds the entries of cfg's "added_tokens_decoder" (transformers >= 4.34: id -> AddedToken
 * dict) to tok->added. TX_ERR_FORMAT names path and the key. */
tx_status tok_apply_added_tokens_decoder(struct tx_tokenizer *tok, json_t *cfg, const char *path,
                                         struct tx_error *err);
/* transformers 4.35 _from_pretrained for a config without "added_tokens_decoder" (folders saved
 * by older versions): special_tokens_map.json overrides cfg's special tokens (their
 * additional_special_tokens are merged), and added_tokens.json and, when has_tokjson,
 * tokenizer.json's "added_tokens" become cfg's added_tokens_decoder. cfg is modified. */
tx_status tok_merge_legacy_files(json_t *cfg, const char *dir, int has_tokjson,
                                 struct tx_error *err);

#endif
