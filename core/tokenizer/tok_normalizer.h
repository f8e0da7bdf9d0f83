/* tok_normalizer.h — SentencePiece's normalizer: the precompiled charsmap (a Darts-clone double
 * array over UTF-8 bytes plus a blob of NUL-terminated replacement strings), user-defined symbols
 * kept verbatim, dummy prefix, extra-whitespace removal and U+2581 whitespace escaping. */
#ifndef ATTNSERVE_TOK_NORMALIZER_H
#define ATTNSERVE_TOK_NORMALIZER_H

#include <stddef.h>
#include <stdint.h>

#include "tok_trie.h"
#include "containers.h"
#include "tx.h"

/* The precompiled charsmap blob: <uint32 LE trie size><double array units><normalized strings>.
 * Borrowed from the model file. */
struct tok_charsmap {
    const unsigned char *units; /* (n_units) little-endian uint32 Darts units */
    size_t n_units;
    const char *norm; /* (norm_size) replacement strings, each ended by NUL */
    size_t norm_size;
};

/* Checks the blob's header and sizes (as Normalizer::DecodePrecompiledCharsMap); what names it
 * in errors. TX_ERR_FORMAT when broken. */
tx_status tok_charsmap_init(struct tok_charsmap *cm, const char *blob, size_t size,
                            const char *what, struct tx_error *err);

/* Longest rule matching a prefix of s[0..n) (Darts commonPrefixSearch, first 32 results as
 * SentencePiece): returns the matched length (0 = no rule) and the replacement. Corrupt
 * offsets inside the array end the search instead of reading out of bounds. */
size_t tok_charsmap_match(const struct tok_charsmap *cm, const char *s, size_t n, const char **rep,
                          size_t *rep_len);

struct tok_normalizer {
    int has_charsmap;
    struct tok_charsmap charsmap;
    int add_dummy_prefix;
    int remove_extra_whitespaces;
    int escape_whitespaces;
    int treat_whitespace_as_suffix;
    const struct tok_trie *user_symbols; /* borrowed; NULL or empty = none */
};

/* Normalizer::Normalize: writes the normalized bytes to out (replacing its content) and, in
 * *n2o (growable, *n2o_cap elements), out->len + 1 byte offsets into in (norm_to_orig).
 * Errors: TX_ERR_NOMEM, TX_ERR_TOO_LONG when the result would exceed 4 GiB. */
tx_status tok_normalize(const struct tok_normalizer *nm, const char *in, size_t len,
                        struct txi_buf *out, uint32_t **n2o, size_t *n2o_cap, struct tx_error *err);

#endif
