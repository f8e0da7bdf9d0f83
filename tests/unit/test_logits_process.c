/* test_logits_process.c — each logits processor and warper on hand-made scores (expected values
 * worked out from transformers 4.35.2's definitions), the sampler's distribution and
 * reproducibility, and the beam hypotheses' bookkeeping. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "beam.h"
#include "logits_process.h"
#include "sampling.h"

#define NINF (-INFINITY)

static void assert_row(const float *got, const float *want, int n)
{
    for (int i = 0; i < n; i++) {
        if (isinf(want[i]))
            cr_assert(isinf(got[i]) && got[i] < 0, "[%d] = %g, want -inf", i, (double)got[i]);
        else
            cr_assert_float_eq(got[i], want[i], 1e-6, "[%d] = %g, want %g", i, (double)got[i],
                               (double)want[i]);
    }
}

Test(processors, repetition_penalty_divides_positive_and_multiplies_negative_once_per_token)
{
    float s[5] = {2.0f, -2.0f, 1.0f, 0.5f, 3.0f};
    const int32_t seq[] = {0, 1, 1, 3};
    uint8_t seen[5] = {0};
    txi_proc_repetition_penalty(s, seq, 4, 2.0f, seen);
    const float want[5] = {1.0f, -4.0f, 1.0f, 0.25f, 3.0f};
    assert_row(s, want, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(seen[i], 0, "scratch not cleared");
}

Test(processors, no_repeat_ngram_bans_every_token_that_completes_a_seen_trigram)
{
    float s[10] = {0};
    const int32_t seq[] = {5, 6, 7, 5, 6, 9, 5, 6};
    txi_proc_no_repeat_ngram(s, seq, 8, 3);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(isinf(s[i]) != 0, i == 7 || i == 9, "token %d: %g", i, (double)s[i]);
}

Test(processors, no_repeat_ngram_does_nothing_before_a_full_ngram_fits)
{
    float s[4] = {1, 1, 1, 1};
    const int32_t seq[] = {1};
    txi_proc_no_repeat_ngram(s, seq, 1, 3); /* cur_len + 1 < 3 */
    const float want[4] = {1, 1, 1, 1};
    assert_row(s, want, 4);
    const int32_t seq2[] = {1, 1};
    txi_proc_no_repeat_ngram(s, seq2, 2, 2); /* bigram (1,1) seen: 1 after 1 banned */
    const float want2[4] = {1, NINF, 1, 1};
    assert_row(s, want2, 4);
}

Test(processors, bad_words_ban_single_tokens_and_completions_of_a_prefix)
{
    struct tx_gen_params p = tx_gen_default_params();
    p.eos_token_id = 0;
    p.n_bad_words = 4;
    p.bad_words_len[0] = 1, p.bad_words[0][0] = 3;                        /* always */
    p.bad_words_len[1] = 2, p.bad_words[1][0] = 4, p.bad_words[1][1] = 5; /* after 4 */
    p.bad_words_len[2] = 1, p.bad_words[2][0] = 0;                        /* [eos]: dropped by HF */
    p.bad_words_len[3] = 3;                                               /* longer than context */
    p.bad_words[3][0] = 1, p.bad_words[3][1] = 4, p.bad_words[3][2] = 6;
    float s[8] = {0};
    const int32_t ends_with_4[] = {1, 4};
    txi_proc_bad_words(s, ends_with_4, 2, &p);
    const float want[8] = {0, 0, 0, NINF, 0, NINF, 0, 0};
    assert_row(s, want, 8);
    float s2[8] = {0};
    const int32_t other[] = {2, 4, 7}; /* does not end with 4: 5 stays allowed */
    txi_proc_bad_words(s2, other, 3, &p);
    const float want2[8] = {0, 0, 0, NINF, 0, 0, 0, 0};
    assert_row(s2, want2, 8);
    float s3[8] = {0};
    const int32_t three[] = {1, 1, 4}; /* now [1, 4, 6] fits the context */
    txi_proc_bad_words(s3, three, 3, &p);
    const float want3[8] = {0, 0, 0, NINF, 0, NINF, NINF, 0}; /* [4,5] and [1,4,6] */
    assert_row(s3, want3, 8);
}

Test(processors, min_length_bans_eos_while_the_sequence_is_shorter)
{
    float s[3] = {1, 2, 3};
    txi_proc_min_length(s, 7, 8, 2);
    const float want[3] = {1, 2, NINF};
    assert_row(s, want, 3);
    float t[3] = {1, 2, 3};
    txi_proc_min_length(t, 8, 8, 2);
    const float want_t[3] = {1, 2, 3};
    assert_row(t, want_t, 3);
}

Test(processors, forced_bos_at_the_first_step_gives_the_token_score_zero)
{
    float s[4] = {5, 6, 7, 8};
    txi_proc_forced_bos(s, 4, 1, 0);
    const float want[4] = {0, NINF, NINF, NINF};
    assert_row(s, want, 4);
    float t[4] = {5, 6, 7, 8};
    txi_proc_forced_bos(t, 4, 2, 0);
    const float want_t[4] = {5, 6, 7, 8};
    assert_row(t, want_t, 4);
}

Test(processors, forced_eos_at_the_last_step_allowed_by_max_length)
{
    float s[4] = {5, 6, 7, 8};
    txi_proc_forced_eos(s, 4, 19, 21, 2);
    const float want[4] = {5, 6, 7, 8};
    assert_row(s, want, 4);
    txi_proc_forced_eos(s, 4, 20, 21, 2);
    const float want2[4] = {NINF, NINF, 0, NINF};
    assert_row(s, want2, 4);
}

Test(processors, run_in_generate_order_so_forced_eos_overrides_min_length)
{
    struct tx_gen_params p = tx_gen_default_params();
    p.eos_token_id = 2;
    p.min_length = 30;
    p.forced_eos_token_id = 2;
    p.repetition_penalty = 2.0f;
    float s[4] = {4, -4, 4, 4};
    const int32_t seq[] = {1, 1, 1, 1, 1};
    uint8_t seen[4] = {0};
    txi_logits_process(&p, 21, seq, 5, s, 4, seen); /* not the last step: penalty + min_length */
    const float want[4] = {4, -8, NINF, 4};
    assert_row(s, want, 4);
    float t[4] = {4, -4, 4, 4};
    int32_t seq20[20];
    for (int i = 0; i < 20; i++)
        seq20[i] = 1;
    txi_logits_process(&p, 21, seq20, 20, t, 4, seen);
    const float want_t[4] = {NINF, NINF, 0, NINF};
    assert_row(t, want_t, 4);
}

Test(warpers, temperature_divides_the_scores)
{
    float s[3] = {1, -2, 4};
    txi_warp_temperature(s, 3, 0.5f);
    const float want[3] = {2, -4, 8};
    assert_row(s, want, 3);
}

Test(warpers, top_k_keeps_the_k_best_and_ties_with_the_kth)
{
    float tmp[6];
    float s[6] = {1, 5, 3, 5, 2, 3};
    txi_warp_top_k(s, 6, 3, 1, tmp); /* 5,5,3 and the tie 3 */
    const float want[6] = {NINF, 5, 3, 5, NINF, 3};
    assert_row(s, want, 6);
    float t[4] = {4, 3, 2, 1};
    txi_warp_top_k(t, 4, 1, 2, tmp); /* min_tokens_to_keep 2 wins over top_k 1 */
    const float want_t[4] = {4, 3, NINF, NINF};
    assert_row(t, want_t, 4);
    float u[3] = {1, 2, 3};
    txi_warp_top_k(u, 3, 50, 1, tmp); /* k >= vocab: unchanged */
    const float want_u[3] = {1, 2, 3};
    assert_row(u, want_u, 3);
}

Test(warpers, top_p_keeps_the_smallest_set_reaching_p)
{
    struct txi_scored pairs[4];
    float s[4] = {logf(0.5f), logf(0.3f), logf(0.12f), logf(0.08f)};
    float keep[4];
    memcpy(keep, s, sizeof s);
    txi_warp_top_p(s, 4, 0.75f, 1, pairs); /* 0.5 + 0.3 >= 0.75 */
    const float want[4] = {keep[0], keep[1], NINF, NINF};
    assert_row(s, want, 4);
    float t[4] = {logf(0.5f), logf(0.3f), logf(0.12f), logf(0.08f)};
    txi_warp_top_p(t, 4, 0.01f, 1, pairs); /* only the best survives (min_keep 1) */
    const float want_t[4] = {keep[0], NINF, NINF, NINF};
    assert_row(t, want_t, 4);
    float u[4] = {logf(0.5f), logf(0.3f), logf(0.12f), logf(0.08f)};
    txi_warp_top_p(u, 4, 0.01f, 3, pairs); /* min_keep 3 */
    const float want_u[4] = {keep[0], keep[1], keep[2], NINF};
    assert_row(u, want_u, 4);
}

Test(sampling, same_seed_and_stream_give_the_same_numbers_and_streams_differ)
{
    struct txi_rng a, b, c;
    txi_rng_seed(&a, 42, 0);
    txi_rng_seed(&b, 42, 0);
    txi_rng_seed(&c, 42, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = txi_rng_next(&a);
        cr_assert_eq(x, txi_rng_next(&b));
        same_c += x == txi_rng_next(&c);
    }
    cr_assert_lt(same_c, 2);
    struct txi_rng d;
    txi_rng_seed(&d, 7, 0);
    for (int i = 0; i < 1000; i++) {
        double u = txi_rng_uniform(&d);
        cr_assert(u >= 0.0 && u < 1.0);
    }
}

Test(sampling, categorical_draws_follow_the_probabilities_and_skip_zeros)
{
    const float probs[4] = {0.1f, 0.0f, 0.2f, 0.7f};
    struct txi_rng r;
    txi_rng_seed(&r, 1234, 0);
    int count[4] = {0};
    const int n = 200000;
    for (int i = 0; i < n; i++)
        count[txi_sample_categorical(probs, 4, &r)]++;
    cr_assert_eq(count[1], 0);
    for (int i = 0; i < 4; i++) /* 5 standard deviations of a binomial */
        cr_assert(fabs(count[i] / (double)n - probs[i]) <
                      5 * sqrt(probs[i] * (1 - probs[i]) / n) + 1e-9,
                  "token %d: %d of %d", i, count[i], n);
    const float none[2] = {0, 0};
    cr_assert_eq(txi_sample_categorical(none, 2, &r), -1);
}

Test(sampling, without_replacement_draws_distinct_nonzero_indices)
{
    float probs[6] = {0.3f, 0.0f, 0.2f, 0.1f, 0.4f, 0.0f};
    struct txi_rng r;
    txi_rng_seed(&r, 5, 0);
    int out[6];
    int got = txi_sample_without_replacement(probs, 6, 6, &r, out);
    cr_assert_eq(got, 4);
    int seen[6] = {0};
    for (int i = 0; i < got; i++) {
        cr_assert(out[i] != 1 && out[i] != 5);
        cr_assert_eq(seen[out[i]]++, 0);
    }
}

Test(sampling, softmax_maps_minus_infinity_to_zero)
{
    const float s[3] = {0.0f, NINF, logf(3.0f)};
    float p[3];
    txi_softmax(s, 3, p);
    cr_assert_float_eq(p[0], 0.25f, 1e-6);
    cr_assert_eq(p[1], 0.0f);
    cr_assert_float_eq(p[2], 0.75f, 1e-6);
}

/* ---- beam hypotheses ---------------------------------------------------------------------- */

static unsigned char storage[1 << 16];

Test(beam_hyps, scores_divide_by_length_to_the_penalty_and_keep_the_best_n)
{
    struct txi_beam_hyps h;
    cr_assert_leq(txi_beam_hyps_bytes(2, 10), sizeof storage);
    txi_beam_hyps_init(&h, 2, 2.0f, 0, 10, storage);
    const int32_t toks[4] = {7, 1, 2, 3};
    const float sc[4] = {-0.5f, -0.25f, -0.25f, 0};
    txi_beam_hyps_add(&h, toks, sc, 2, -1.0f, 9, -0.5f); /* -1/4 = -0.25 */
    txi_beam_hyps_add(&h, toks, sc, 4, -4.0f, -1, 0);    /* -4/16 = -0.25 */
    txi_beam_hyps_add(&h, toks, sc, 3, -0.9f, 9, -0.1f); /* -0.1: replaces the first -0.25 */
    cr_assert_eq(h.n, 2);
    int best[2];
    cr_assert_eq(txi_beam_hyps_best(&h, best), 2);
    const struct txi_beam_hyp *a = &h.pool[best[0]], *b = &h.pool[best[1]];
    cr_assert_float_eq(a->score, -0.1, 1e-7);
    cr_assert_eq(a->len, 3);
    cr_assert_eq(a->eos, 1);
    cr_assert_eq(a->tokens[3], 9);
    cr_assert_float_eq(a->scores[2], -0.1f, 0);
    cr_assert_float_eq(b->score, -0.25, 1e-7);
    cr_assert_eq(b->len, 4, "the earlier of the two -0.25 hypotheses was deleted");
    cr_assert_float_eq(h.worst_score, -0.25, 1e-7);
    txi_beam_hyps_add(&h, toks, sc, 2, -2.0f, 9, 0); /* -0.5 < worst: not added */
    cr_assert_eq(h.n, 2);
}

Test(beam_hyps, is_done_follows_the_three_early_stopping_rules)
{
    struct txi_beam_hyps h;
    const int32_t toks[4] = {7, 1, 2, 3};
    const float sc[4] = {0};
    for (int es = 0; es < 3; es++) {
        txi_beam_hyps_init(&h, 1, 1.0f, es, 10, storage);
        cr_assert_eq(txi_beam_hyps_is_done(&h, -0.1f, 3), 0, "not enough hypotheses");
        txi_beam_hyps_add(&h, toks, sc, 2, -1.0f, 9, 0); /* score -0.5 */
        if (es == 1) cr_assert_eq(txi_beam_hyps_is_done(&h, -100.0f, 3), 1);
        if (es == 0) { /* worst (-0.5) >= best / cur_len */
            cr_assert_eq(txi_beam_hyps_is_done(&h, -1.2f, 3), 0); /* -0.4 */
            cr_assert_eq(txi_beam_hyps_is_done(&h, -1.5f, 3), 1); /* -0.5 */
        }
        if (es == 2) { /* "never": best / max_length for a positive penalty */
            cr_assert_eq(txi_beam_hyps_is_done(&h, -4.0f, 3), 0); /* -0.4 */
            cr_assert_eq(txi_beam_hyps_is_done(&h, -6.0f, 3), 1); /* -0.6 */
        }
    }
}

Test(beam_hyps, equal_scores_return_the_later_added_first)
{
    struct txi_beam_hyps h;
    txi_beam_hyps_init(&h, 3, 1.0f, 0, 10, storage);
    const int32_t a[2] = {1, 2}, b[2] = {1, 3};
    const float sc[2] = {0};
    txi_beam_hyps_add(&h, a, sc, 2, -1.0f, -1, 0);
    txi_beam_hyps_add(&h, b, sc, 2, -1.0f, -1, 0);
    int best[3];
    cr_assert_eq(txi_beam_hyps_best(&h, best), 2);
    cr_assert_eq(h.pool[best[0]].tokens[1], 3);
    cr_assert_eq(h.pool[best[1]].tokens[1], 2);
}
