/* model_unigram.c — tokenizer.json's Unigram model: [piece, score] vocabulary, Viterbi
 * segmentation (tok_unigram), fused unknown runs and byte fallback, as the Rust library. */
#include "hf_json.h"
#include "txi.h"

#include <stdio.h>
#include <stdlib.h>

/* The <0xNN> pieces of the vocabulary, for byte fallback. */
static void find_byte_pieces(struct tok_json *j)
{
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        j->byte_id[b] = tok_trie_get(&j->trie, name, 6);
    }
}

/* Every [piece, score] of vocab (n entries) into keys, scores and tok's pieces. */
static tx_status read_vocab(const struct tok_jctx *c, struct tx_tokenizer *tok, struct tok_json *j,
                            json_t *vocab, struct tok_trie_key *keys, size_t n)
{
    j->uni.min_score64 = 1e300;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(vocab, i);
        json_t *p = json_array_get(e, 0), *s = json_array_get(e, 1);
        if (!json_is_string(p) || !json_is_number(s) || json_string_length(p) == 0) {
            char where[64];
            snprintf(where, sizeof where, "model.vocab[%zu]", i);
            return tok_jctx_bad(c, where, "expected [non-empty piece, score]");
        }
        keys[i] = (struct tok_trie_key){json_string_value(p), json_string_length(p), (int32_t)i};
        j->scores[i] = json_number_value(s);
        if (j->scores[i] < j->uni.min_score64) j->uni.min_score64 = j->scores[i];
        if (tok_set_piece(tok, (int32_t)i, json_string_value(p), json_string_length(p)))
            return tok_jctx_oom(c);
    }
    return TX_OK;
}

/* Unigram model object: [piece, score] list, unk_id, byte_fallback. */
static tx_status unigram_load(const struct tok_jctx *c, struct tx_tokenizer *tok,
                              struct tok_json *j, json_t *m)
{
    json_t *vocab = json_object_get(m, "vocab");
    if (!json_is_array(vocab))
        return tok_jctx_bad(c, "model.vocab", "Unigram vocab must be a list of [piece, score]");
    size_t n = json_array_size(vocab);
    if (n == 0 || n >= INT32_MAX) return tok_jctx_bad(c, "model.vocab", "empty or too large");
    struct tok_trie_key *keys = malloc(n * sizeof *keys);
    j->scores = malloc(n * sizeof *j->scores);
    if (!keys || !j->scores || tok_alloc_ids(tok, (int32_t)n)) {
        free(keys);
        return tok_jctx_oom(c);
    }
    tx_status st = read_vocab(c, tok, j, vocab, keys, n);
    if (!st && tok_trie_build(&j->trie, keys, n)) st = tok_jctx_oom(c);
    free(keys);
    if (st) return st;
    json_t *unk = json_object_get(m, "unk_id");
    j->uni.unk_id = json_is_integer(unk) ? (int32_t)json_integer_value(unk) : -1;
    if (j->uni.unk_id >= (int32_t)n)
        return tok_jctx_bad(c, "model.unk_id", "outside the vocabulary");
    j->uni.trie = &j->trie;
    j->uni.scores64 = j->scores;
    j->uni.n_pieces = (int32_t)n;
    j->byte_fallback = json_is_true(json_object_get(m, "byte_fallback"));
    find_byte_pieces(j);
    tok->unk_id = j->uni.unk_id;
    return TX_OK;
}

/* Can byte fallback spell s[0..n) (every byte has its <0xNN> piece)? */
static int bytes_known(const struct tok_json *j, const char *s, size_t n)
{
    int all = j->byte_fallback;
    for (size_t q = 0; all && q < n; q++)
        all = j->byte_id[(unsigned char)s[q]] >= 0;
    return all;
}

/* Unigram::tokenize of one pre-token (pool bytes [b, e)): fuses runs of unknown pieces, then
 * looks each string up (byte fallback for unknown ones, else unk_id). */
static tx_status unigram_encode(const struct tok_json *j, const struct nstr *x, size_t b, size_t e,
                                struct jscratch *sc, struct tok_ids *o, struct tx_error *err)
{
    tx_status st = tok_unigram_encode(&j->uni, x->s + b, e - b, &sc->uni, err);
    if (st) return st;
    int nomem = 0;
    for (size_t k = 0; k < sc->uni.n_segs && !nomem;) {
        size_t s0 = sc->uni.segs[k].begin, s1 = sc->uni.segs[k].end;
        int32_t id = sc->uni.segs[k].id;
        size_t k2 = k + 1;
        if (id == j->uni.unk_id) {
            while (k2 < sc->uni.n_segs && sc->uni.segs[k2].id == j->uni.unk_id)
                s1 = sc->uni.segs[k2++].end;
            id = tok_trie_get(&j->trie, x->s + b + s0, s1 - s0);
        }
        uint32_t ob, oe;
        tok_ns_span(x, b + s0, b + s1, &ob, &oe);
        k = k2;
        if (id < 0 && bytes_known(j, x->s + b + s0, s1 - s0)) {
            for (size_t q = s0; q < s1 && !nomem; q++)
                nomem = tok_ids_push(o, j->byte_id[(unsigned char)x->s[b + q]], ob, oe);
            continue;
        }
        if (id < 0 && j->uni.unk_id < 0)
            return txi_fail(err, TX_ERR_INVALID,
                            "tokenizer.json: text has characters the "
                            "Unigram model does not know and it has no unk_id");
        nomem = tok_ids_push(o, id < 0 ? j->uni.unk_id : id, ob, oe);
    }
    return nomem ? txi_fail(err, TX_ERR_NOMEM, "out of memory") : TX_OK;
}

/* The vocabulary id of s[0..n), or -1. */
static int32_t unigram_token_id(const struct tok_json *j, const char *s, size_t n)
{
    return tok_trie_get(&j->trie, s, n);
}

const struct tok_jmodel_ops tok_jmodel_unigram = {
    .type = "Unigram",
    .load = unigram_load,
    .encode = unigram_encode,
    .token_id = unigram_token_id,
};
