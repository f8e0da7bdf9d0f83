/* tok_added.h — added/special tokens found literally in input text, split out before the model
 * tokenizes the rest: transformers' slow-tokenizer semantics (PreTrainedTokenizer.tokenize with
 * AddedToken lstrip/rstrip/single_word), or the Rust tokenizers' AddedVocabulary semantics. */
#ifndef ATTNSERVE_TOK_ADDED_H
#define ATTNSERVE_TOK_ADDED_H

#include <stddef.h>
#include <stdint.h>

#include "tok_trie.h"
#include "containers.h"
#include "tx.h"

struct tok_added_token {
    char *content; /* owned, NUL-terminated */
    size_t len;
    int32_t id;
    int lstrip, rstrip, single_word, special, normalized;
    int additional; /* one of additional_special_tokens (set by the caller) */
};

struct tok_added {
    struct tok_added_token *tokens; /* (n) */
    int n;
    size_t cap;
    struct tok_trie trie; /* content -> index into tokens */
};

/* Adds a token (content copied); a content already present is replaced. Call tok_added_finish
 * after the last add. TX_ERR_NOMEM on failure. */
tx_status tok_added_add(struct tok_added *a, const char *content, size_t len, int32_t id,
                        int lstrip, int rstrip, int single_word, int special);
tx_status tok_added_finish(struct tok_added *a);
void tok_added_free(struct tok_added *a);
/* Index of the token whose content is s[0..n), or -1. */
int tok_added_find(const struct tok_added *a, const char *s, size_t n);
/* Index of the token with this id, or -1 (linear; for decoding use a per-id table). */
int tok_added_find_id(const struct tok_added *a, int32_t id);

/* The input cut into segments. Text lives in a pool of bytes, each with its offset in the
 * original input, so segments may be trimmed and joined like the Python strings they model. */
struct tok_split {
    char *bytes;   /* (pool_len) */
    uint32_t *off; /* (pool_len) offset of each byte in the original input */
    size_t pool_len, pool_cap, off_cap;
    struct tok_segment {
        int added;       /* index into tokens, or -1 for text */
        size_t pos, len; /* bytes[pos, pos + len) */
        uint32_t ob, oe; /* original span (for added tokens and empty segments) */
    } * segs;
    size_t n_segs, segs_cap;
};

/* Splits text[0..len) (valid UTF-8) as transformers' slow tokenizers do: leftmost-longest
 * literal matches of the added tokens, then each match's lstrip/rstrip (strip Unicode
 * whitespace from the neighbouring text) and single_word (a match glued to a neighbour that does
 * not end/start with a space is merged into that neighbour as plain text). Empty segments are
 * dropped. prefix_space: a " " (offset 0, empty span) is put before text first (BART's
 * add_prefix_space). */
tx_status tok_added_split_slow(const struct tok_added *a, const char *text, size_t len,
                               int prefix_space, struct tok_split *out, struct tx_error *err);

/* Splits as the Rust tokenizers' AddedVocabulary: leftmost-longest matches; a single_word token
 * only matches between word boundaries; lstrip/rstrip make the match swallow neighbouring
 * whitespace. */
tx_status tok_added_split_fast(const struct tok_added *a, const char *text, size_t len,
                               struct tok_split *out, struct tx_error *err);

void tok_split_free(struct tok_split *s);

/* Original span of bytes [pos, pos + n) of the pool: [off[pos], off[pos+n-1] + 1). */
static inline void tok_split_span(const struct tok_split *s, size_t pos, size_t n, uint32_t *ob,
                                  uint32_t *oe)
{
    if (n == 0) {
        *ob = *oe = pos < s->pool_len ? s->off[pos] : 0;
        return;
    }
    *ob = s->off[pos];
    *oe = s->off[pos + n - 1] + 1;
    if (*oe < *ob) *oe = *ob;
}

#endif
