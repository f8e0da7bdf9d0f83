/* tok_bpe.h — rank-ordered BPE merges (GPT-2 / RoBERTa / BART) with the byte-to-unicode
 * alphabet, the GPT-2 pre-tokenization pattern, and the vocabulary lookups around them. */
#ifndef ATTNSERVE_TOK_BPE_H
#define ATTNSERVE_TOK_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "containers.h"
#include "tx.h"

struct tok_bpe {
    struct txi_strmap vocab; /* token string -> id */
    struct txi_strmap syms;  /* every string a merge mentions (and the initial symbols) -> index */
    int32_t *sym_id;         /* (syms.n) vocabulary id of each symbol, or -1 */
    size_t sym_id_cap;
    struct txi_u64map merges; /* (left << 32 | right) -> (rank, merged symbol) */
    int byte_level;           /* 1: symbols start as the 256 byte characters */
    int rust_order;           /* 1: merge one occurrence at a time by (rank, position), as the
                                 Rust tokenizers do; 0: GPT-2's rounds (all occurrences of the
                                 best pair, then rescan) */
    int32_t byte_sym[256];    /* byte -> symbol of its byte-level character */
    char byte_char[256][2];   /* byte -> UTF-8 of its byte-level character (1 or 2 bytes) */
    unsigned char byte_char_len[256];
    int16_t char_byte[512]; /* byte-level code point (< 512) -> byte, or -1 */
    int32_t unk_id;         /* id for a symbol missing from the vocabulary, or -1 */
    int32_t max_id;
};

/* Interns a symbol string; returns its index or -1 on OOM. */
int32_t tok_bpe_symbol(struct tok_bpe *b, const char *s, size_t n);
/* Adds merge (left, right) with rank; a repeated pair takes the new rank (as a Python dict
 * built from the list would). The merged symbol is left followed by right without its first
 * strip bytes (tokenizer.json's continuing_subword_prefix: "h" + "##e" makes "he", as Hugging
 * Face tokenizers builds it; 0 otherwise). Returns 0 or -1 on OOM. */
int tok_bpe_add_merge(struct tok_bpe *b, const char *l, size_t ll, const char *r, size_t rl,
                      size_t strip, int32_t rank);
/* Sets up the byte-level alphabet (bytes_to_unicode of GPT-2) and its symbols. */
int tok_bpe_init_byte_level(struct tok_bpe *b);
/* Resolves every symbol's vocabulary id; call after the vocabulary and merges are complete. */
int tok_bpe_finish(struct tok_bpe *b);
void tok_bpe_free(struct tok_bpe *b);

/* Loads vocab.json and merges.txt as transformers' GPT2Tokenizer/BartTokenizer do (merges:
 * file split on "\n", first line and the part after the last newline dropped, each line split
 * on whitespace; lines that are not exactly two fields keep their rank but never match).
 * Errors name the file and the line/key. */
/* Token ids (vocabularies, added tokens) must be below this: the per-id tables are sized by the
 * largest id, so one stray huge id in a file would make loading allocate gigabytes (found by
 * fuzz_bpe_files: 1,184,889,920 -> 9.5 GB). The largest published vocabularies hold ~256k. */
#define TOK_MAX_ID (1 << 22)

tx_status tok_bpe_load_files(struct tok_bpe *b, const char *vocab_path, const char *merges_path,
                             struct tx_error *err);

/* Scratch for tok_bpe_merge, reusable; free with tok_bpe_scratch_free. */
struct tok_bpe_scratch {
    struct tok_bpe_sym {
        int32_t sym, prev, next;
        uint32_t start; /* index of its first initial symbol */
    } * s;
    size_t s_cap;
    struct tok_bpe_entry {
        int32_t rank, pos, left, right;
    } * heap, *batch;
    size_t heap_cap, n_heap, batch_cap;
    struct tok_bpe_out {
        int32_t sym;         /* final symbol */
        uint32_t start, end; /* its span in initial-symbol indices */
    } * out;
    size_t n_out, out_cap;
};
void tok_bpe_scratch_free(struct tok_bpe_scratch *sc);

/* Merges the initial symbols syms[0..n) by rank exactly as GPT-2's bpe(): each round applies
 * the lowest-ranked pair present at all its non-overlapping occurrences, left to right.
 * O(n log n). Result in sc->out[0..n_out). Returns 0 or -1 on OOM. */
int tok_bpe_merge(const struct tok_bpe *b, struct tok_bpe_scratch *sc, const int32_t *syms,
                  size_t n);

/* GPT-2's pre-tokenization pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * (regex module semantics: ordered alternation, \s = White_Space): returns the length of the
 * match at s[0..n) (valid UTF-8, n > 0). */
size_t tok_gpt2_pretok_next(const char *s, size_t n);

/* Appends the bytes that the byte-level characters of token string s[0..n) stand for; a
 * character outside the byte-level alphabet is copied as is. */
int tok_bpe_unbyte(const struct tok_bpe *b, const char *s, size_t n, struct txi_buf *out);

#endif
