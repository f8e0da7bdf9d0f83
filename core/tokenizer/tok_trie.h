/* tok_trie.h — a byte-wise double-array trie (base/check) for vocabulary prefix search. */
#ifndef ATTNSERVE_TOK_TRIE_H
#define ATTNSERVE_TOK_TRIE_H

#include <stddef.h>
#include <stdint.h>

#include "tx.h"

/* Node 0 is the root. The child of node s by byte c is t = base[s] + c when t < n and
 * check[t] == s. value[t] >= 0 when the bytes leading to t form a key. */
struct tok_trie {
    int32_t *base;  /* (n) */
    int32_t *check; /* (n): parent of each slot; -1 = unused slot */
    int32_t *value; /* (n): value of the key ending here, or -1 */
    size_t n;
    size_t n_keys;
    size_t max_key_len;
};

struct tok_trie_key {
    const char *s;
    size_t len;
    int32_t value; /* >= 0 */
};

/* Builds the trie of keys (n_keys of them; keys is reordered). Empty keys are ignored; of
 * equal keys the one given first keeps its value. Returns TX_OK or TX_ERR_NOMEM (the trie is
 * then empty). Free with tok_trie_free; read-only afterwards (thread-safe lookups). */
tx_status tok_trie_build(struct tok_trie *t, struct tok_trie_key *keys, size_t n_keys);
void tok_trie_free(struct tok_trie *t);

/* One transition: the child of node by byte c, or -1. */
static inline int32_t tok_trie_step(const struct tok_trie *t, int32_t node, unsigned char c)
{
    if (t->n == 0) return -1;
    size_t next = (size_t)t->base[node] + c;
    if (next < t->n && t->check[next] == node) return (int32_t)next;
    return -1;
}

/* Longest key that is a prefix of s[0..n): returns its length (0 = none) and its value. */
size_t tok_trie_longest_prefix(const struct tok_trie *t, const char *s, size_t n, int32_t *value);

/* Exact lookup: the value of key s[0..n), or -1. */
int32_t tok_trie_get(const struct tok_trie *t, const char *s, size_t n);

#endif
