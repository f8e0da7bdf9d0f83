/* test_threadpool.c — engine threads (tx_session_set_threads): the pool's ranges cover each
 * column once at aligned boundaries, tasks run after the helpers have gone to sleep, every product
 * format (F32 few rows, panels, sgemm; F16, BF16, int8 and w8a8) split between 2 and 3 threads gives
 * the serial result bit for bit, and whole models (the shipped translators, every dtype) give
 * identical logits and hypotheses with 1, 2 and 3 threads. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "threadpool.h"
#include "quant.h"
#include "testutil.h"
#include "tx.h"

/* ---- the pool itself ---- */

struct cover {
    atomic_int *hits; /* (n) */
    int align, n;
    atomic_int bad;   /* a range that starts off the alignment or ends past n */
    atomic_int parts; /* ranges run */
};

static void count_range(void *ctx, int t, int j0, int j1)
{
    struct cover *c = ctx;
    (void)t;
    if (j0 % c->align != 0 || j1 > c->n || j0 >= j1) atomic_fetch_add(&c->bad, 1);
    for (int j = j0; j < j1; j++)
        atomic_fetch_add(&c->hits[j], 1);
    atomic_fetch_add(&c->parts, 1);
}

static void check_cover(struct txi_pool *p, int n, int align)
{
    struct cover c = {calloc((size_t)n, sizeof(atomic_int)), align, n, 0, 0};
    cr_assert(c.hits);
    txi_pool_run(p, n, align, count_range, &c);
    for (int j = 0; j < n; j++)
        cr_assert_eq(atomic_load(&c.hits[j]), 1, "n=%d align=%d threads=%d: column %d ran %d times",
                     n, align, txi_pool_threads(p), j, atomic_load(&c.hits[j]));
    cr_assert_eq(atomic_load(&c.bad), 0, "n=%d align=%d: a range is misaligned", n, align);
    cr_assert_leq(atomic_load(&c.parts), txi_pool_threads(p));
    free(c.hits);
}

Test(pool, ranges_cover_every_column_once_at_aligned_boundaries)
{
    cr_assert_null(txi_pool_new(1), "one thread needs no pool");
    cr_assert_eq(txi_pool_threads(NULL), 1);
    const int ns[] = {1, 5, 63, 64, 65, 128, 130, 1000, 4097};
    const int aligns[] = {1, 16, 64};
    for (int threads = 2; threads <= 4; threads++) {
        struct txi_pool *p = txi_pool_new(threads);
        cr_assert_not_null(p);
        cr_assert_eq(txi_pool_threads(p), threads);
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
            for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++)
                check_cover(p, ns[i], aligns[a]);
        txi_pool_free(p);
    }
    check_cover(NULL, 77, 64); /* no pool: one range on the caller */
}

Test(pool, many_tasks_back_to_back_and_after_the_helpers_sleep)
{
    struct txi_pool *p = txi_pool_new(3);
    cr_assert_not_null(p);
    for (int i = 0; i < 20000; i++)
        check_cover(p, 300, 64);
    for (int i = 0; i < 5; i++) {
        /* past the spin: the helpers are asleep on the condition variable */
        struct timespec ts = {0, 3 * TXI_POOL_SPIN_US * 1000L};
        nanosleep(&ts, NULL);
        check_cover(p, 1000, 64);
    }
    txi_pool_free(p);
    txi_pool_free(NULL);
}

/* ---- products split between threads equal the serial ones bit for bit ---- */

enum { F32 = 0, F16, Q8, Q8A8, BF16 };

static void fill(float *x, size_t n, uint64_t *rng, float r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tu_rand_uniform(rng, -r, r);
}

/* c = x W^T + b for one (m, n, k) shape in format fmt, with ws on pool (NULL: serial). */
static void product(int fmt, int m, int n, int k, const float *x, const float *w, const void *q,
                    const float *scale, const float *b, int rowwise, struct txi_pool *pool,
                    float *c)
{
    size_t n_ws = txi_gemm_ws_floats(m, n, k) + txi_q8_ws_floats(m, n, k);
    struct txi_arena a;
    txi_arena_init(&a, 0);
    cr_assert_eq(txi_arena_reset(&a, 1 << 20), 0);
    struct txi_gemm_ws ws;
    cr_assert_eq(txi_gemm_ws_alloc(&ws, &a, n_ws, pool), 0);
    ws.rowwise = rowwise;
    const void *wq = fmt == F32    ? NULL
                     : fmt == Q8A8 ? (const void *)((const int8_t *)q + (size_t)n * k) /* packed */
                                   : q;
    struct txi_linear l = {fmt == F32 ? w : NULL, b, k, n, wq, scale, fmt == F16, fmt == Q8A8,
                           fmt == BF16};
    txi_linear_fwd(&l, x, m, c, &ws);
    txi_arena_free(&a);
}

Test(pool, every_product_format_split_between_threads_equals_the_serial_one_bit_for_bit)
{
    /* engine threads go with single-threaded BLAS (as the server and CLI set it): the panel
     * kernel then takes 17-384 rows, and sgemm (400 rows) runs on the calling thread */
    tx_blas_set_threads(1);
    uint64_t rng = 11;
    const int ms[] = {1, 3, 16, 17, 70, 300, 400};
    const int ns[] = {128, 130, 333, 1000};
    const int ks[] = {257, 512};
    struct txi_pool *pools[] = {txi_pool_new(2), txi_pool_new(3)};
    cr_assert(pools[0] && pools[1]);
    for (int fmt = F32; fmt <= BF16; fmt++) {
        if (fmt == Q8A8 && !txi_w8a8_available()) continue;
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                int n = ns[ni], k = ks[ki];
                float *w = malloc((size_t)n * k * sizeof *w), *b = malloc((size_t)n * sizeof *b);
                float *scale = malloc(2 * (size_t)n * sizeof *scale);
                size_t q_bytes = (size_t)n * k * 2 + txi_w8a8_packed_bytes(n, k);
                void *q = malloc(q_bytes);
                cr_assert(w && b && scale && q);
                fill(w, (size_t)n * k, &rng, 0.2f);
                fill(b, (size_t)n, &rng, 1.0f);
                if (fmt == F16) txi_f16_convert(w, (size_t)n * k, (uint16_t *)q);
                if (fmt == BF16)
                    for (size_t i = 0; i < (size_t)n * k; i++)
                        ((uint16_t *)q)[i] = txi_f2bf(w[i]);
                if (fmt == Q8 || fmt == Q8A8) txi_q8_quantize(w, n, k, (int8_t *)q, scale);
                if (fmt == Q8A8) { /* what dtype w8a8 loads: the packed values (after the rows), row sums */
                    txi_w8a8_pack((const int8_t *)q, n, k, (int8_t *)q + (size_t)n * k);
                    for (int j = 0; j < n; j++) {
                        float s = 0;
                        for (int t = 0; t < k; t++)
                            s += ((const int8_t *)q)[(size_t)j * k + t];
                        scale[n + j] = s;
                    }
                }
                for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
                    for (int rowwise = 0; rowwise <= 1; rowwise++) {
                        int m = ms[mi];
                        float *x = malloc((size_t)m * k * sizeof *x);
                        float *c1 = malloc((size_t)m * n * sizeof *c1);
                        float *c2 = malloc((size_t)m * n * sizeof *c2);
                        cr_assert(x && c1 && c2);
                        fill(x, (size_t)m * k, &rng, 1.0f);
                        product(fmt, m, n, k, x, w, q, scale, b, rowwise, NULL, c1);
                        for (int pi = 0; pi < 2; pi++) {
                            memset(c2, 0xff, (size_t)m * n * sizeof *c2);
                            product(fmt, m, n, k, x, w, q, scale, b, rowwise, pools[pi], c2);
                            cr_assert(!memcmp(c1, c2, (size_t)m * n * sizeof *c1),
                                      "format %d m=%d n=%d k=%d rowwise=%d, %d threads: the split "
                                      "product differs from the serial one",
                                      fmt, m, n, k, rowwise, pi + 2);
                        }
                        free(x), free(c1), free(c2);
                    }
                free(w), free(b), free(scale), free(q);
            }
    }
    txi_pool_free(pools[0]), txi_pool_free(pools[1]);
}

/* ---- whole models ---- */

Test(engine_threads, bad_thread_counts_are_refused_with_a_message)
{
    tx_model *m = tu_load_model("tests/fixtures/hf-tiny/marian", TX_DTYPE_AUTO);
    tx_session *s = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    cr_expect_eq(tx_session_set_threads(s, 0, &e), TX_ERR_INVALID);
    cr_expect(strstr(e.message, "engine threads = 0"), "message: %s", e.message);
    cr_expect_eq(tx_session_set_threads(s, TX_MAX_ENGINE_THREADS + 1, &e), TX_ERR_INVALID);
    cr_expect_eq(tx_session_threads(s), 1);
    cr_expect_eq(tx_session_set_threads(s, 2, &e), TX_OK, "%s", e.message);
    cr_expect_eq(tx_session_threads(s), 2);
    cr_expect_eq(tx_session_set_threads(s, 1, &e), TX_OK, "%s", e.message);
    cr_expect_eq(tx_session_threads(s), 1);
    tx_session_free(s);
    tx_model_free(m);
}

/* Logits of a teacher-forced pass and 4-beam and greedy hypotheses of model dir in dtype with
 * 2 and 3 threads equal those with 1, bit for bit. */
static void check_model(const char *dir, tx_dtype dtype)
{
    tx_model *m = tu_load_model(dir, dtype);
    const struct tx_model_info *info = tx_model_get_info(m);
    int V = info->vocab_size;
    int32_t src[23];
    for (int i = 0; i < 22; i++)
        src[i] = (int32_t)((17 + 131 * i) % (V - 10) + 5);
    src[22] = tx_model_gen_params(m).eos_token_id;
    const int32_t dec[] = {tx_model_gen_params(m).decoder_start_token_id, 7, 300 % V, 44, 1000 % V};
    tx_session *s[3] = {NULL, NULL, NULL};
    struct tx_error e = {0};
    struct tx_forward_out fo[3];
    const float *logits[3];
    for (int t = 0; t < 3; t++) {
        cr_assert_eq(tx_session_new(m, 0, &s[t], &e), TX_OK, "%s", e.message);
        cr_assert_eq(tx_session_set_threads(s[t], t + 1, &e), TX_OK, "%s", e.message);
        cr_assert_eq(tx_forward(s[t], src, 23, dec, 5, 0, &fo[t], &e), TX_OK, "%s", e.message);
        logits[t] = fo[t].logits;
    }
    for (int t = 1; t < 3; t++)
        cr_assert(!memcmp(logits[0], logits[t], (size_t)fo[0].n_tgt * fo[0].vocab * sizeof(float)),
                  "%s dtype %d: logits with %d threads differ from 1 thread", dir, (int)dtype,
                  t + 1);
    for (int beams = 1; beams <= 4; beams += 3) {
        struct tx_gen_params gp = tx_model_gen_params(m);
        gp.num_beams = beams;
        gp.max_length = 24;
        const int32_t *ids[1] = {src};
        int n_src[1] = {23};
        struct tx_gen_out go[3];
        for (int t = 0; t < 3; t++)
            cr_assert_eq(tx_generate(s[t], ids, n_src, 1, &gp, &go[t], &e), TX_OK, "%s",
                         e.message);
        for (int t = 1; t < 3; t++) {
            const struct tx_hypothesis *a = &go[0].hyps[0], *b = &go[t].hyps[0];
            cr_assert_eq(a->n_ids, b->n_ids, "%s beams %d, %d threads: lengths differ", dir,
                         beams, t + 1);
            cr_assert(!memcmp(a->ids, b->ids, (size_t)a->n_ids * sizeof *a->ids),
                      "%s beams %d, %d threads: tokens differ", dir, beams, t + 1);
            cr_assert(!memcmp(&a->score, &b->score, sizeof a->score),
                      "%s beams %d, %d threads: score %.9g vs %.9g", dir, beams, t + 1, a->score,
                      b->score);
        }
    }
    for (int t = 0; t < 3; t++)
        tx_session_free(s[t]);
    tx_model_free(m);
}

Test(engine_threads, the_shipped_models_give_identical_results_with_1_2_and_3_threads,
     .timeout = 300)
{
    /* d_model 256: their products are large enough to be split (TXI_SPLIT_MIN_WEIGHTS) */
    static const tx_dtype dtypes[] = {TX_DTYPE_AUTO, TX_DTYPE_F32, TX_DTYPE_INT8, TX_DTYPE_W8A8};
    for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++)
        check_model("models/marian-en-de", dtypes[d]);
    check_model("models/marian-headlines", TX_DTYPE_AUTO);
    check_model("models/rnn-en-de-additive", TX_DTYPE_AUTO);
    check_model("models/rnn-en-de-additive", TX_DTYPE_W8A8);
}
