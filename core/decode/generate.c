/* generate.c — tx_generate: greedy search, sampling, beam search and beam sampling with
 * transformers 4.35.2's semantics (generation/utils.py: greedy_search, sample, beam_search,
 * beam_sample). All sources are encoded together; every decoding row of every input (beams,
 * returned samples) is a row of the same step's matrix products; finished inputs leave the
 * step. Every buffer is taken from the session arena before the first step, so the decode
 * loop allocates nothing. */
#include "arena.h"
#include "beam.h"
#include "logits_process.h"
#include "model.h"
#include "ops.h"
#include "sampling.h"
#include "session.h"
#include "transformer.h"
#include "txi.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_BEAMS 256
#define MAX_GEN_LENGTH 100000

static tx_status check_token(const char *field, int id, int vocab, int optional,
                             struct tx_error *err)
{
    if (optional && id == -1) return TX_OK;
    if (id < 0 || id >= vocab)
        return txi_fail(err, TX_ERR_INVALID, "%s = %d is %s (vocabulary 0..%d)", field, id,
                        id < 0 ? "not set" : "outside the vocabulary", vocab - 1);
    return TX_OK;
}

/* Validates p as GenerationConfig.validate() and the processors' constructors do, and resolves
 * max_new_tokens into max_length. */
static tx_status validate_params(const tx_model *m, struct tx_gen_params *p, struct tx_error *err)
{
    int V = m->cfg.dec_vocab;
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
    if (p->do_sample) {
        if (!(p->temperature > 0) || !isfinite(p->temperature))
            return txi_fail(err, TX_ERR_INVALID, "temperature = %g must be a positive number",
                            (double)p->temperature);
        if (p->top_k < 0) return txi_fail(err, TX_ERR_INVALID, "top_k = %d is negative", p->top_k);
        if (!(p->top_p >= 0 && p->top_p <= 1))
            return txi_fail(err, TX_ERR_INVALID, "top_p = %g is outside [0, 1]", (double)p->top_p);
    }
    tx_status st;
    if ((st = check_token("decoder_start_token_id", p->decoder_start_token_id, V, 0, err)) ||
        (st = check_token("eos_token_id", p->eos_token_id, V, 1, err)) ||
        (st = check_token("pad_token_id", p->pad_token_id, V, 1, err)) ||
        (st = check_token("forced_bos_token_id", p->forced_bos_token_id, V, 1, err)) ||
        (st = check_token("forced_eos_token_id", p->forced_eos_token_id, V, 1, err)))
        return st;
    if (p->n_bad_words < 0 || p->n_bad_words > TX_MAX_BAD_WORDS)
        return txi_fail(err, TX_ERR_INVALID, "n_bad_words = %d is out of range [0, %d]",
                        p->n_bad_words, TX_MAX_BAD_WORDS);
    for (int w = 0; w < p->n_bad_words; w++) {
        if (p->bad_words_len[w] < 1 || p->bad_words_len[w] > TX_MAX_BAD_WORD_LEN)
            return txi_fail(err, TX_ERR_INVALID, "bad_words_ids[%d] has %d tokens (1..%d)", w,
                            p->bad_words_len[w], TX_MAX_BAD_WORD_LEN);
        for (int j = 0; j < p->bad_words_len[w]; j++)
            if (p->bad_words[w][j] < 0 || p->bad_words[w][j] >= V)
                return txi_fail(err, TX_ERR_INVALID,
                                "bad_words_ids[%d][%d] = %d is outside the vocabulary", w, j,
                                (int)p->bad_words[w][j]);
    }
    if (p->pad_token_id < 0) p->pad_token_id = p->eos_token_id;
    return TX_OK;
}

/* What a generation call shares between its phases. */
struct gen {
    tx_session *s;
    const tx_model *m;
    struct tx_gen_params p;
    int V, n_inputs, n_per, rows, max_length;
    struct txi_arena *a;
    struct txi_dec_state ds;
    float *logits;            /* (rows, V) */
    int *slot, *src;          /* (rows) the step's active rows */
    int32_t *step_ids;        /* (rows) */
    uint8_t *seen;            /* (V) zeroed, for the repetition penalty */
    float *tmp;               /* (V) */
    struct txi_scored *pairs; /* (V) */
};

static tx_status gen_alloc_common(struct gen *g, struct tx_error *err)
{
    struct txi_arena *a = g->a;
    g->logits = txi_arena_alloc(a, (size_t)g->rows, (size_t)g->V * sizeof(float));
    g->slot = txi_arena_alloc(a, (size_t)g->rows, sizeof(int));
    g->src = txi_arena_alloc(a, (size_t)g->rows, sizeof(int));
    g->step_ids = txi_arena_alloc(a, (size_t)g->rows, sizeof(int32_t));
    g->seen = txi_arena_calloc(a, (size_t)g->V, 1);
    g->tmp = txi_arena_alloc(a, (size_t)g->V, sizeof(float));
    g->pairs = txi_arena_alloc(a, (size_t)g->V, sizeof(struct txi_scored));
    if (!g->logits || !g->slot || !g->src || !g->step_ids || !g->seen || !g->tmp || !g->pairs)
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (generation buffers)");
    return TX_OK;
}

static int cancelled(const struct gen *g)
{
    return g->p.cancel && g->p.cancel(g->p.cancel_user);
}

/* log-sum-exp of x (n) in double. */
static double log_sum_exp(const float *x, int n)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx) mx = x[i];
    if (mx == -INFINITY) return -INFINITY;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += expf(x[i] - mx);
    return mx + log(s);
}

/* Greedy search and multinomial sampling: n_per rows per input (returned samples). */
static tx_status run_greedy(struct gen *g, struct tx_gen_out *out, struct tx_error *err)
{
    struct txi_arena *a = g->a;
    /* generate() runs at least one step, also for max_length 1: rows hold >= 2 tokens */
    int R = g->rows, V = g->V, ML = g->max_length > 2 ? g->max_length : 2;
    const struct tx_gen_params *p = &g->p;
    int32_t *seq = txi_arena_alloc(a, (size_t)R, (size_t)ML * sizeof(int32_t)); /* (R, ML) */
    float *raw_lp = txi_arena_alloc(a, (size_t)R, (size_t)ML * sizeof(float));
    float *proc_lp = txi_arena_alloc(a, (size_t)R, (size_t)ML * sizeof(float));
    float *proc = txi_arena_alloc(a, (size_t)V, sizeof(float));
    uint8_t *finished = txi_arena_calloc(a, (size_t)R, 1);
    double *sum = txi_arena_calloc(a, (size_t)R, sizeof(double));
    struct txi_rng *rng = txi_arena_alloc(a, (size_t)R, sizeof(struct txi_rng));
    struct tx_hypothesis *hyps = txi_arena_alloc(a, (size_t)R, sizeof *hyps);
    if (!seq || !raw_lp || !proc_lp || !proc || !finished || !sum || !rng || !hyps)
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (generation buffers)");
    for (int r = 0; r < R; r++) {
        seq[(size_t)r * ML] = p->decoder_start_token_id;
        /* stream = index of the sample within its input: an input draws the same alone or in
         * a batch */
        txi_rng_seed(&rng[r], p->seed, (uint64_t)(r % g->n_per));
    }
    int cur_len = 1;
    for (;;) {
        int n = 0;
        for (int r = 0; r < R; r++) {
            if (finished[r]) continue;
            g->slot[n] = r;
            g->src[n] = r / g->n_per;
            g->step_ids[n] = seq[(size_t)r * ML + cur_len - 1];
            n++;
        }
        struct txi_dec_job dj = {.n_rows = n,
                                 .n_new = 1,
                                 .past = cur_len - 1,
                                 .slot = g->slot,
                                 .src = g->src,
                                 .ids = g->step_ids,
                                 .logits = g->logits};
        txi_decode(g->m, &g->ds, &dj);
        for (int i = 0; i < n; i++) {
            int r = g->slot[i];
            int32_t *sr = seq + (size_t)r * ML;
            const float *raw = g->logits + (size_t)i * V;
            memcpy(proc, raw, (size_t)V * sizeof *proc);
            txi_logits_process(p, g->max_length, sr, cur_len, proc, V, g->seen);
            int tok;
            if (p->do_sample) {
                txi_logits_warp(p, 1, proc, V, g->tmp, g->pairs);
                txi_softmax(proc, V, g->tmp);
                tok = txi_sample_categorical(g->tmp, V, &rng[r]);
                if (tok < 0) tok = 0; /* every token filtered: cannot happen with min_keep 1 */
            } else {
                tok = 0; /* argmax, the lowest id on ties (torch.argmax) */
                for (int t = 1; t < V; t++)
                    if (proc[t] > proc[tok]) tok = t;
            }
            sr[cur_len] = tok;
            raw_lp[(size_t)r * ML + cur_len - 1] = (float)(raw[tok] - log_sum_exp(raw, V));
            float plp = (float)(proc[tok] - log_sum_exp(proc, V));
            proc_lp[(size_t)r * ML + cur_len - 1] = plp;
            sum[r] += plp;
            if (tok == p->eos_token_id) finished[r] = 1;
        }
        cur_len++;
        int any = 0;
        for (int r = 0; r < R && !any; r++)
            any = !finished[r];
        if (!any || cur_len >= g->max_length) break;
        if (cancelled(g))
            return txi_fail(err, TX_ERR_CANCELLED, "generation cancelled after %d tokens",
                            cur_len - 1);
    }
    for (int r = 0; r < R; r++) {
        const int32_t *sr = seq + (size_t)r * ML;
        int len = 1;
        while (len < cur_len) {
            len++;
            if (sr[len - 1] == p->eos_token_id) break;
        }
        hyps[r].ids = sr;
        hyps[r].n_ids = len;
        hyps[r].score = (float)sum[r];
        hyps[r].token_logprobs = raw_lp + (size_t)r * ML;
        hyps[r].token_scores = proc_lp + (size_t)r * ML;
    }
    out->n_inputs = g->n_inputs;
    out->n_return = g->n_per;
    out->hyps = hyps;
    return TX_OK;
}

/* Beam search (do_sample 0) and beam sampling (do_sample 1). */
static tx_status run_beam(struct gen *g, struct tx_gen_out *out, struct tx_error *err)
{
    struct txi_arena *a = g->a;
    const struct tx_gen_params *p = &g->p;
    int K = p->num_beams, B = g->n_inputs, R = g->rows, V = g->V, ML = g->max_length;
    int n_cand = 2 * K, n_ret = p->num_return_sequences;
    size_t KV = (size_t)K * V;
    int32_t *seq = txi_arena_alloc(a, (size_t)R, (size_t)ML * sizeof(int32_t));
    int32_t *seq2 = txi_arena_alloc(a, (size_t)R, (size_t)ML * sizeof(int32_t));
    float *lp = txi_arena_alloc(a, (size_t)R, (size_t)ML * sizeof(float));
    float *lp2 = txi_arena_alloc(a, (size_t)R, (size_t)ML * sizeof(float));
    float *beam_scores = txi_arena_alloc(a, (size_t)R, sizeof(float));
    float *next_scores = txi_arena_alloc(a, (size_t)R, sizeof(float));
    float *next_lp = txi_arena_alloc(a, (size_t)R, sizeof(float));
    int32_t *next_tok = txi_arena_alloc(a, (size_t)R, sizeof(int32_t));
    int *from = txi_arena_alloc(a, (size_t)R, sizeof(int));
    float *cand = txi_arena_alloc(a, KV, sizeof(float));    /* (K, V) processed + beam score */
    float *cand_lp = txi_arena_alloc(a, KV, sizeof(float)); /* (K, V) processed log-probs */
    float *probs = p->do_sample ? txi_arena_alloc(a, KV, sizeof(float)) : cand;
    int *top = txi_arena_alloc(a, (size_t)n_cand, sizeof(int));
    int *best = txi_arena_alloc(a, (size_t)K, sizeof(int));
    struct txi_beam_hyps *hy = txi_arena_alloc(a, (size_t)B, sizeof *hy);
    struct tx_hypothesis *hyps = txi_arena_alloc(a, (size_t)B * n_ret, sizeof *hyps);
    struct txi_rng *rng = txi_arena_alloc(a, (size_t)B, sizeof(struct txi_rng));
    if (!seq || !seq2 || !lp || !lp2 || !beam_scores || !next_scores || !next_lp || !next_tok ||
        !from || !cand || !cand_lp || !probs || !top || !best || !hy || !hyps || !rng)
        return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (beam search buffers)");
    size_t hb = txi_beam_hyps_bytes(K, ML);
    for (int b = 0; b < B; b++) {
        void *storage = txi_arena_alloc(a, hb, 1);
        if (!storage) return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (hypotheses)");
        txi_beam_hyps_init(&hy[b], K, p->length_penalty, p->early_stopping, ML, storage);
        txi_rng_seed(&rng[b], p->seed, 0);
    }
    for (int r = 0; r < R; r++) {
        seq[(size_t)r * ML] = p->decoder_start_token_id;
        /* beam search starts from beam 0 only; beam sampling from all beams */
        beam_scores[r] = (r % K == 0 || p->do_sample) ? 0.0f : -1e9f;
    }
    /* keep 1 + (number of eos tokens) tokens per beam when warping (HF min_tokens_to_keep) */
    int min_keep = p->eos_token_id >= 0 ? 2 : 1;
    int cur_len = 1;
    for (;;) {
        int n = 0;
        for (int b = 0; b < B; b++) {
            if (hy[b].done) continue;
            for (int k = 0; k < K; k++) {
                int r = b * K + k;
                g->slot[n] = r;
                g->src[n] = b;
                g->step_ids[n] = seq[(size_t)r * ML + cur_len - 1];
                n++;
            }
        }
        struct txi_dec_job dj = {.n_rows = n,
                                 .n_new = 1,
                                 .past = cur_len - 1,
                                 .slot = g->slot,
                                 .src = g->src,
                                 .ids = g->step_ids,
                                 .logits = g->logits};
        txi_decode(g->m, &g->ds, &dj);

        int ai = 0;
        for (int b = 0; b < B; b++) {
            if (hy[b].done) { /* finished input: its rows stay as they are */
                for (int k = 0; k < K; k++) {
                    int r = b * K + k;
                    from[r] = r;
                    next_tok[r] = p->pad_token_id >= 0 ? p->pad_token_id : 0;
                    next_scores[r] = 0.0f;
                    next_lp[r] = 0.0f;
                }
                continue;
            }
            /* scores of every (beam, token): log_softmax, processors (not renormalised),
             * [warpers,] plus the running beam score, in float32 as torch adds them */
            for (int k = 0; k < K; k++) {
                int r = b * K + k;
                const float *raw = g->logits + (size_t)(ai * K + k) * V;
                float *row = cand_lp + (size_t)k * V;
                txi_log_softmax(raw, V, row);
                txi_logits_process(p, ML, seq + (size_t)r * ML, cur_len, row, V, g->seen);
                if (p->do_sample) txi_logits_warp(p, min_keep, row, V, g->tmp, g->pairs);
                float bs = beam_scores[r];
                float *c = cand + (size_t)k * V;
                for (int t = 0; t < V; t++)
                    c[t] = row[t] + bs;
            }
            ai++;
            int got = 0;
            if (p->do_sample) {
                /* torch.multinomial(softmax over all beams' tokens, 2K), then sorted by score */
                txi_softmax(cand, (int)KV, probs);
                got = txi_sample_without_replacement(probs, (int)KV, n_cand, &rng[b], top);
                /* Fewer than 2K candidates with a nonzero probability (e.g. the step where
                 * forced_eos leaves only eos): torch.multinomial without replacement then
                 * still returns 2K indices, the rest from the zero-probability candidates
                 * (their scores are -inf or underflowed), which fill the beams; so do we,
                 * taking the best-scored of them, the lowest index on ties. */
                while (got < n_cand) {
                    int pick = -1;
                    for (size_t c = 0; c < KV; c++) {
                        if (pick >= 0 && !(cand[c] > cand[pick])) continue;
                        int taken = 0;
                        for (int i = 0; i < got && !taken; i++)
                            taken = top[i] == (int)c;
                        if (!taken) pick = (int)c;
                    }
                    if (pick < 0) break;
                    top[got++] = pick;
                }
                for (int i = 1; i < got; i++) { /* sort descending by score (stable) */
                    int v = top[i], j = i;
                    while (j > 0 && cand[top[j - 1]] < cand[v]) {
                        top[j] = top[j - 1];
                        j--;
                    }
                    top[j] = v;
                }
            } else {
                /* torch.topk(2K): best first; the lower (beam, token) index first on ties */
                for (size_t c = 0; c < KV; c++) {
                    float v = cand[c];
                    if (got == n_cand && !(v > cand[top[got - 1]])) continue;
                    int j = got < n_cand ? got++ : n_cand - 1;
                    while (j > 0 && v > cand[top[j - 1]]) {
                        top[j] = top[j - 1];
                        j--;
                    }
                    top[j] = (int)c;
                }
            }
            /* BeamSearchScorer.process */
            int nb = 0;
            for (int rank = 0; rank < got && nb < K; rank++) {
                int c = top[rank], k = c / V;
                int32_t tok = (int32_t)(c % V);
                int r = b * K + k;
                if (tok == p->eos_token_id) {
                    if (rank >= K) continue;
                    txi_beam_hyps_add(&hy[b], seq + (size_t)r * ML, lp + (size_t)r * ML, cur_len,
                                      cand[c], tok, cand_lp[c]);
                } else {
                    int dst = b * K + nb++;
                    next_scores[dst] = cand[c];
                    next_tok[dst] = tok;
                    next_lp[dst] = cand_lp[c];
                    from[dst] = r;
                }
            }
            if (nb < K)
                return txi_fail(err, TX_ERR_INVALID,
                                "input %d: beam search found only %d continuations for %d beams "
                                "(too many tokens are banned)",
                                b, nb, K);
            if (got > 0 && txi_beam_hyps_is_done(&hy[b], cand[top[0]], cur_len + 1)) hy[b].done = 1;
        }
        /* input_ids = cat(input_ids[beam_idx], next tokens) */
        for (int r = 0; r < R; r++) {
            int f = from[r];
            memcpy(seq2 + (size_t)r * ML, seq + (size_t)f * ML, (size_t)cur_len * sizeof *seq);
            memcpy(lp2 + (size_t)r * ML, lp + (size_t)f * ML, (size_t)(cur_len - 1) * sizeof *lp);
            seq2[(size_t)r * ML + cur_len] = next_tok[r];
            lp2[(size_t)r * ML + cur_len - 1] = next_lp[r];
            beam_scores[r] = next_scores[r];
        }
        int32_t *ts = seq;
        seq = seq2;
        seq2 = ts;
        float *tl = lp;
        lp = lp2;
        lp2 = tl;
        cur_len++;
        int all_done = 1;
        for (int b = 0; b < B && all_done; b++)
            all_done = hy[b].done;
        if (all_done || cur_len >= ML) break;
        txi_dec_reorder(g->m, &g->ds, from, cur_len - 1);
        if (cancelled(g))
            return txi_fail(err, TX_ERR_CANCELLED, "generation cancelled after %d tokens",
                            cur_len - 1);
    }
    /* BeamSearchScorer.finalize: unfinished inputs add their running beams */
    for (int b = 0; b < B; b++) {
        if (hy[b].done) continue;
        for (int k = 0; k < K; k++) {
            int r = b * K + k;
            txi_beam_hyps_add(&hy[b], seq + (size_t)r * ML, lp + (size_t)r * ML, cur_len,
                              beam_scores[r], -1, 0.0f);
        }
    }
    for (int b = 0; b < B; b++) {
        int n_best = txi_beam_hyps_best(&hy[b], best);
        for (int j = 0; j < n_ret; j++) {
            struct tx_hypothesis *h = &hyps[b * n_ret + j];
            memset(h, 0, sizeof *h);
            if (j >= n_best) continue;
            const struct txi_beam_hyp *e = &hy[b].pool[best[j]];
            h->ids = e->tokens;
            h->n_ids = e->len + e->eos;
            h->score = (float)e->score;
            h->token_logprobs = NULL;
            h->token_scores = e->scores;
        }
    }
    out->n_inputs = B;
    out->n_return = n_ret;
    out->hyps = hyps;
    return TX_OK;
}

tx_status tx_generate(tx_session *s, const int32_t *const *input_ids, const int *n_src,
                      int n_inputs, const struct tx_gen_params *params, struct tx_gen_out *out,
                      struct tx_error *err)
{
    if (!s || !out || !input_ids || !n_src)
        return txi_fail(err, TX_ERR_INVALID, "tx_generate: NULL argument");
    if (n_inputs <= 0 || n_inputs > 1 << 20)
        return txi_fail(err, TX_ERR_INVALID, "n_inputs = %d is out of range", n_inputs);
    struct gen g;
    memset(&g, 0, sizeof g);
    g.s = s;
    g.m = s->model;
    g.p = params ? *params : g.m->gen;
    g.V = g.m->cfg.dec_vocab;
    g.n_inputs = n_inputs;
    g.a = &s->arena;
    tx_status st = validate_params(g.m, &g.p, err);
    if (st != TX_OK) return st;
    for (int b = 0; b < n_inputs; b++) {
        char what[32];
        snprintf(what, sizeof what, n_inputs > 1 ? "input_ids[%d]" : "input_ids", b);
        st = txi_check_source(g.m, what, input_ids[b], n_src[b], err);
        if (st != TX_OK) return st;
    }
    int beam = g.p.num_beams > 1;
    g.n_per = beam ? g.p.num_beams : g.p.do_sample ? g.p.num_return_sequences : 1;
    if ((long long)n_inputs * g.n_per > 1 << 20)
        return txi_fail(err, TX_ERR_INVALID, "too many decoding rows (%d inputs x %d)", n_inputs,
                        g.n_per);
    g.rows = n_inputs * g.n_per;
    g.max_length = g.p.max_length;
    if (txi_arena_reset(g.a, 0) != 0)
        return txi_fail(err, TX_ERR_NOMEM, "out of memory growing the session arena");

    int32_t *ids;
    int *off, *len, n_tok;
    st = txi_pack_sources(g.a, input_ids, n_src, n_inputs, &ids, &off, &len, &n_tok, err);
    if (st != TX_OK) return st;
    float *hidden = txi_arena_alloc(g.a, (size_t)n_tok, (size_t)g.m->cfg.d_model * sizeof(float));
    if (!hidden) return txi_fail(err, TX_ERR_NOMEM, "session arena exhausted (encoder output)");
    struct txi_enc_job ej = {.ids = ids,
                             .src_off = off,
                             .src_len = len,
                             .n_src = n_inputs,
                             .n_tok = n_tok,
                             .hidden = hidden,
                             .att = NULL};
    st = txi_encode(g.m, g.a, &ej, err);
    if (st != TX_OK) return st;
    int positions = g.max_length > 1 ? g.max_length - 1 : 1;
    st = txi_dec_init(g.m, g.a, &g.ds, hidden, off, len, n_inputs, g.rows, positions, g.rows, beam,
                      err);
    if (st != TX_OK) return st;
    st = gen_alloc_common(&g, err);
    if (st != TX_OK) return st;
    return beam ? run_beam(&g, out, err) : run_greedy(&g, out, err);
}
