/* sampling.c — reproducible random numbers (xoshiro256**) and categorical sampling. The
 * generator is the library's own, so a seed gives the same tokens on every machine; it cannot
 * reproduce PyTorch's generator, so sampled tokens differ from transformers' for a given seed. */
#include "sampling.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void txi_rng_seed(struct txi_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull + 0x632be59bd9b4e019ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t txi_rng_next(struct txi_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double txi_rng_uniform(struct txi_rng *r)
{
    return (double)(txi_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

void txi_softmax(const float *scores, int n, float *probs)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (scores[i] > mx) mx = scores[i];
    if (mx == -INFINITY) {
        for (int i = 0; i < n; i++)
            probs[i] = 0.0f;
        return;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) {
        probs[i] = scores[i] == -INFINITY ? 0.0f : expf(scores[i] - mx);
        sum += probs[i];
    }
    float s = (float)sum;
    for (int i = 0; i < n; i++)
        probs[i] /= s;
}

int txi_sample_categorical(const float *probs, int n, struct txi_rng *r)
{
    double total = 0;
    int last = -1;
    for (int i = 0; i < n; i++)
        if (probs[i] > 0) {
            total += probs[i];
            last = i;
        }
    if (last < 0) return -1;
    double u = txi_rng_uniform(r) * total, acc = 0;
    for (int i = 0; i < n; i++) {
        if (probs[i] <= 0) continue;
        acc += probs[i];
        if (u < acc) return i;
    }
    return last; /* u landed in the rounding gap at the end */
}

int txi_sample_without_replacement(float *probs, int n, int k, struct txi_rng *r, int *out)
{
    int got = 0;
    while (got < k) {
        int i = txi_sample_categorical(probs, n, r);
        if (i < 0) break;
        out[got++] = i;
        probs[i] = 0.0f;
    }
    return got;
}
