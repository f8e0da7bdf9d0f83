/* tok_unigram.c — Viterbi segmentation of a unigram model (sentencepiece 0.1.97
 * unigram_model.cc, Model::EncodeOptimized, reproduced to the rounding). */
#include "tok_unigram.h"
#include "containers.h"
#include "txi.h"
#include "utf8.h"

#include <stdlib.h>

#define UNK_PENALTY 10.0f /* kUnkPenalty */

/* The score a piece of `length` bytes offers (see the rounding note in tok_unigram_encode). */
static double piece_score(const struct tok_unigram *u, int32_t id, unsigned char fl, size_t length)
{
    if (u->scores64) return u->scores64[id];
    if (fl & UNI_USER_DEFINED) return (double)((float)length * u->max_score) - 0.1;
    return (double)u->scores[id];
}

/* Offers every piece that starts at starts_at (found by walking the trie byte by byte) as a
 * path to the position where it ends. Returns whether one of them is exactly the character
 * there (mblen bytes). */
static int offer_pieces(const struct tok_unigram *u, const char *s, size_t n, size_t starts_at,
                        size_t mblen, struct tok_best *best)
{
    const double till_here = best[starts_at].score;
    const int f64 = u->scores64 != NULL;
    int has_single_node = 0;
    int32_t node = 0;
    for (size_t key_pos = starts_at; key_pos < n;) {
        node = tok_trie_step(u->trie, node, (unsigned char)s[key_pos]);
        if (node < 0) break;
        key_pos++;
        int32_t id = u->trie->value[node];
        if (id < 0 || id >= u->n_pieces) continue;
        unsigned char fl = u->flags ? u->flags[id] : 0;
        if (fl & UNI_UNUSED) continue;
        size_t length = key_pos - starts_at;
        double cand = piece_score(u, id, fl, length) + till_here;
        struct tok_best *t = &best[key_pos];
        if (t->starts_at == -1 || cand > t->score) {
            t->score = f64 ? cand : (double)(float)cand;
            t->starts_at = (int32_t)starts_at;
            t->id = id;
        }
        if (!has_single_node && length == mblen) has_single_node = 1;
    }
    return has_single_node;
}

/* The unknown path over the character at starts_at (mblen bytes). */
static void offer_unknown(const struct tok_unigram *u, size_t starts_at, size_t mblen,
                          struct tok_best *best)
{
    const float unk_score = u->min_score - UNK_PENALTY;
    const double unk_score64 = u->min_score64 - 10.0;
    const double till_here = best[starts_at].score;
    struct tok_best *t = &best[starts_at + mblen];
    double cand = u->scores64 ? unk_score64 + till_here : (double)(unk_score + (float)till_here);
    if (t->starts_at == -1 || cand > t->score) {
        t->score = cand;
        t->starts_at = (int32_t)starts_at;
        t->id = u->unk_id;
    }
}

/* Backtracks the best path from the end into sc->segs, in text order. */
static tx_status backtrack(const struct tok_best *best, size_t n, struct tok_unigram_scratch *sc,
                           struct tx_error *err)
{
    size_t count = 0;
    for (size_t end = n; end > 0; end = (size_t)best[end].starts_at) {
        if (best[end].starts_at < 0) /* cannot happen: every character has an unknown path */
            return txi_fail(err, TX_ERR_FORMAT, "unigram: no path reaches byte %zu", end);
        count++;
    }
    if (txi_grow((void **)&sc->segs, &sc->segs_cap, count, sizeof *sc->segs))
        return txi_fail(err, TX_ERR_NOMEM, "unigram: out of memory");
    size_t k = count;
    for (size_t end = n; end > 0; end = (size_t)best[end].starts_at) {
        k--;
        sc->segs[k].begin = (uint32_t)best[end].starts_at;
        sc->segs[k].end = (uint32_t)end;
        sc->segs[k].id = best[end].id;
    }
    sc->n_segs = count;
    return TX_OK;
}

tx_status tok_unigram_encode(const struct tok_unigram *u, const char *s, size_t n,
                             struct tok_unigram_scratch *sc, struct tx_error *err)
{
    sc->n_segs = 0;
    if (n == 0) return TX_OK;
    if (n >= (size_t)INT32_MAX)
        return txi_fail(err, TX_ERR_TOO_LONG, "unigram: %zu bytes is too long", n);
    if (txi_grow((void **)&sc->best, &sc->best_cap, n + 1, sizeof *sc->best))
        return txi_fail(err, TX_ERR_NOMEM, "unigram: out of memory for %zu bytes", n);
    struct tok_best *best = sc->best;
    for (size_t i = 0; i <= n; i++) {
        best[i].score = 0.0;
        best[i].starts_at = -1;
        best[i].id = -1;
    }

    /* Positions advance one character at a time; every piece that starts here offers a path
     * to the position where it ends. In sentencepiece mode the arithmetic mirrors the
     * reference to the rounding: a piece's score is a double (the user-defined bonus is
     * computed in double), added in double to the float path score, compared in double and
     * stored as float; the unknown path is float + float. The Rust tokenizers (f64 mode) keep
     * everything in double. */
    size_t starts_at = 0;
    while (starts_at < n) {
        size_t mblen = (size_t)txi_utf8_lead_len((unsigned char)s[starts_at]);
        if (mblen > n - starts_at) mblen = n - starts_at;
        if (!offer_pieces(u, s, n, starts_at, mblen, best))
            offer_unknown(u, starts_at, mblen, best);
        starts_at += mblen;
    }
    return backtrack(best, n, sc, err);
}

void tok_unigram_scratch_free(struct tok_unigram_scratch *sc)
{
    free(sc->best);
    free(sc->segs);
    sc->best = NULL;
    sc->segs = NULL;
    sc->best_cap = sc->segs_cap = sc->n_segs = 0;
}
