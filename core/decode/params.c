/* params.c — validation of tx_gen_params, as GenerationConfig.validate() and the logits
 * processors' constructors of transformers 4.35.2 check them; the first failing check names
 * the parameter. */
#include "gen.h"
#include "model.h"
#include "txi.h"

#include <math.h>

#define MAX_BEAMS 256
#define MAX_GEN_LENGTH 100000

/* A token id in [0, vocab), or -1 when optional. */
static tx_status check_token(const char *field, int id, int vocab, int optional,
                             struct tx_error *err)
{
    if (optional && id == -1) return TX_OK;
    if (id < 0 || id >= vocab)
        return txi_fail(err, TX_ERR_INVALID, "%s = %d is %s (vocabulary 0..%d)", field, id,
                        id < 0 ? "not set" : "outside the vocabulary", vocab - 1);
    return TX_OK;
}

/* max_new_tokens (resolved into max_length), max_length against the position table,
 * min_length. */
static tx_status check_lengths(const tx_model *m, struct tx_gen_params *p, struct tx_error *err)
{
    if (p->max_new_tokens < 0 || p->max_new_tokens > MAX_GEN_LENGTH)
        return txi_fail(err, TX_ERR_INVALID, "max_new_tokens = %d is out of range [0, %d]",
                        p->max_new_tokens, MAX_GEN_LENGTH);
    if (p->max_new_tokens > 0) p->max_length = 1 + p->max_new_tokens;
    if (p->max_length < 1 || p->max_length > MAX_GEN_LENGTH)
        return txi_fail(err, TX_ERR_INVALID, "max_length = %d is out of range [1, %d]",
                        p->max_length, MAX_GEN_LENGTH);
    int positions = p->max_length > 1 ? p->max_length - 1 : 1;
    if (m->cfg.max_pos && positions > m->cfg.max_pos)
        return txi_fail(err, TX_ERR_TOO_LONG,
                        "max_length = %d needs %d decoder positions; the model has %d "
                        "(max_position_embeddings)",
                        p->max_length, positions, m->cfg.max_pos);
    if (p->min_length < 0)
        return txi_fail(err, TX_ERR_INVALID, "min_length = %d is negative", p->min_length);
    return TX_OK;
}

/* num_beams, num_return_sequences and what each search mode allows of them. */
static tx_status check_beams(const struct tx_gen_params *p, struct tx_error *err)
{
    if (p->num_beams < 1 || p->num_beams > MAX_BEAMS)
        return txi_fail(err, TX_ERR_INVALID, "num_beams = %d is out of range [1, %d]", p->num_beams,
                        MAX_BEAMS);
    if (p->num_return_sequences < 1 || p->num_return_sequences > MAX_BEAMS)
        return txi_fail(err, TX_ERR_INVALID, "num_return_sequences = %d is out of range [1, %d]",
                        p->num_return_sequences, MAX_BEAMS);
    if (p->num_beams == 1 && !p->do_sample && p->num_return_sequences != 1)
        return txi_fail(err, TX_ERR_INVALID,
                        "num_return_sequences = %d needs num_beams >= it or do_sample (greedy "
                        "search returns one sequence)",
                        p->num_return_sequences);
    if (p->num_beams > 1 && p->max_length < 2)
        return txi_fail(err, TX_ERR_INVALID,
                        "max_length = %d leaves beam search no token to generate (at least 2)",
                        p->max_length);
    if (p->num_beams > 1 && p->num_return_sequences > p->num_beams)
        return txi_fail(err, TX_ERR_INVALID,
                        "num_return_sequences (%d) has to be smaller or equal to num_beams (%d)",
                        p->num_return_sequences, p->num_beams);
    return TX_OK;
}

/* length_penalty, early_stopping, no_repeat_ngram_size, repetition_penalty. */
static tx_status check_penalties(const struct tx_gen_params *p, struct tx_error *err)
{
    if (!isfinite(p->length_penalty))
        return txi_fail(err, TX_ERR_INVALID, "length_penalty is not finite");
    if (p->early_stopping < 0 || p->early_stopping > 2)
        return txi_fail(err, TX_ERR_INVALID,
                        "early_stopping = %d is not 0 (False), 1 (True) or 2 (\"never\")",
                        p->early_stopping);
    if (p->no_repeat_ngram_size < 0)
        return txi_fail(err, TX_ERR_INVALID, "no_repeat_ngram_size = %d is negative",
                        p->no_repeat_ngram_size);
    if (!(p->repetition_penalty > 0) || !isfinite(p->repetition_penalty))
        return txi_fail(err, TX_ERR_INVALID, "repetition_penalty = %g must be a positive number",
                        (double)p->repetition_penalty);
    return TX_OK;
}

/* The warpers' parameters, checked only when sampling (as the warpers are only built then). */
static tx_status check_sampling(const struct tx_gen_params *p, struct tx_error *err)
{
    if (!p->do_sample) return TX_OK;
    if (!(p->temperature > 0) || !isfinite(p->temperature))
        return txi_fail(err, TX_ERR_INVALID, "temperature = %g must be a positive number",
                        (double)p->temperature);
    if (p->top_k < 0) return txi_fail(err, TX_ERR_INVALID, "top_k = %d is negative", p->top_k);
    if (!(p->top_p >= 0 && p->top_p <= 1))
        return txi_fail(err, TX_ERR_INVALID, "top_p = %g is outside [0, 1]", (double)p->top_p);
    return TX_OK;
}

/* The special token ids: the decoder start token is required, the others may be -1. */
static tx_status check_special_tokens(const struct tx_gen_params *p, int vocab,
                                      struct tx_error *err)
{
    tx_status st;
    if ((st = check_token("decoder_start_token_id", p->decoder_start_token_id, vocab, 0, err)) ||
        (st = check_token("eos_token_id", p->eos_token_id, vocab, 1, err)) ||
        (st = check_token("pad_token_id", p->pad_token_id, vocab, 1, err)) ||
        (st = check_token("forced_bos_token_id", p->forced_bos_token_id, vocab, 1, err)) ||
        (st = check_token("forced_eos_token_id", p->forced_eos_token_id, vocab, 1, err)))
        return st;
    return TX_OK;
}

/* bad_words_ids: at most TX_MAX_BAD_WORDS sequences of 1..TX_MAX_BAD_WORD_LEN known tokens. */
static tx_status check_bad_words(const struct tx_gen_params *p, int vocab, struct tx_error *err)
{
    if (p->n_bad_words < 0 || p->n_bad_words > TX_MAX_BAD_WORDS)
        return txi_fail(err, TX_ERR_INVALID, "n_bad_words = %d is out of range [0, %d]",
                        p->n_bad_words, TX_MAX_BAD_WORDS);
    for (int w = 0; w < p->n_bad_words; w++) {
        if (p->bad_words_len[w] < 1 || p->bad_words_len[w] > TX_MAX_BAD_WORD_LEN)
            return txi_fail(err, TX_ERR_INVALID, "bad_words_ids[%d] has %d tokens (1..%d)", w,
                            p->bad_words_len[w], TX_MAX_BAD_WORD_LEN);
        for (int j = 0; j < p->bad_words_len[w]; j++)
            if (p->bad_words[w][j] < 0 || p->bad_words[w][j] >= vocab)
                return txi_fail(err, TX_ERR_INVALID,
                                "bad_words_ids[%d][%d] = %d is outside the vocabulary", w, j,
                                (int)p->bad_words[w][j]);
    }
    return TX_OK;
}

tx_status txi_gen_validate_params(const tx_model *m, struct tx_gen_params *p, struct tx_error *err)
{
    int V = m->cfg.dec_vocab;
    tx_status st;
    if ((st = check_lengths(m, p, err)) || (st = check_beams(p, err)) ||
        (st = check_penalties(p, err)) || (st = check_sampling(p, err)) ||
        (st = check_special_tokens(p, V, err)) || (st = check_bad_words(p, V, err)))
        return st;
    if (p->pad_token_id < 0) p->pad_token_id = p->eos_token_id;
    return TX_OK;
}
