/* tok_unigram.h — unigram-language-model segmentation: the Viterbi best path over piece scores
 * (sentencepiece's Model::EncodeOptimized), shared by .model files and tokenizer.json. */
#ifndef ATTNSERVE_TOK_UNIGRAM_H
#define ATTNSERVE_TOK_UNIGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "tok_trie.h"
#include "tx.h"

enum { UNI_UNUSED = 1, UNI_USER_DEFINED = 2 };

/* The scoring model. All arrays borrowed from the owner and indexed by piece id. */
struct tok_unigram {
    const struct tok_trie *trie; /* pieces the lattice may use -> id */
    const float *scores;         /* (n_pieces), sentencepiece mode */
    const double *scores64;      /* (n_pieces): when set, the Rust tokenizers' all-f64 arithmetic */
    const unsigned char *flags;  /* (n_pieces) UNI_* bits, or NULL */
    int32_t n_pieces;
    int32_t unk_id;
    float min_score;    /* over normal pieces; unknown characters score min_score - 10 */
    double min_score64; /* f64 mode: over all pieces */
    float max_score;    /* over normal pieces; user-defined pieces score len * max_score - 0.1 */
};

/* One segment of the best path, in bytes of the input. */
struct tok_seg {
    uint32_t begin, end;
    int32_t id;
};

/* Scratch and result of tok_unigram_encode; reusable across calls, free with
 * tok_unigram_scratch_free. */
struct tok_unigram_scratch {
    struct tok_best {
        double score;      /* best path score ending here (float-rounded in sentencepiece mode) */
        int32_t starts_at; /* start of the last piece, -1 = unreached */
        int32_t id;
    } * best;
    size_t best_cap;
    struct tok_seg *segs; /* result, in order */
    size_t n_segs, segs_cap;
};

/* Segments s[0..n) (n < 2^31): writes the best path to scratch->segs. Pieces of the
 * vocabulary that are unknown characters get unk_id, one per character. Linear in n times the
 * longest piece. TX_ERR_NOMEM / TX_ERR_TOO_LONG on failure. */
tx_status tok_unigram_encode(const struct tok_unigram *u, const char *s, size_t n,
                             struct tok_unigram_scratch *scratch, struct tx_error *err);
void tok_unigram_scratch_free(struct tok_unigram_scratch *scratch);

#endif
