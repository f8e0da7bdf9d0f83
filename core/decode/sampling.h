/* sampling.h — the library's own reproducible random numbers and categorical sampling. */
#ifndef ATTNSERVE_SAMPLING_H
#define ATTNSERVE_SAMPLING_H

#include <stdint.h>

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64. */
struct txi_rng {
    uint64_t s[4];
};

/* Seeds the generator of stream `stream` of `seed`: different streams are independent; the
 * same (seed, stream) always gives the same numbers on every platform. */
void txi_rng_seed(struct txi_rng *r, uint64_t seed, uint64_t stream);
uint64_t txi_rng_next(struct txi_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double txi_rng_uniform(struct txi_rng *r);

/* probs (n) = softmax(scores (n)) in float, as torch.softmax (-inf -> 0). */
void txi_softmax(const float *scores, int n, float *probs);

/* Draws an index with probability probs[i] / sum(probs) (torch.multinomial, 1 sample); entries
 * with probability 0 are never drawn. Returns -1 when every probability is 0. */
int txi_sample_categorical(const float *probs, int n, struct txi_rng *r);

/* Draws k distinct indices without replacement, in draw order (torch.multinomial,
 * replacement=False); probs is modified (drawn entries set to 0). Returns how many were drawn
 * (fewer than k only when fewer than k entries are non-zero). */
int txi_sample_without_replacement(float *probs, int n, int k, struct txi_rng *r, int *out);

#endif
