/* test_generate_noalloc.c — the decode loop allocates nothing: the generating thread's calls
 * to malloc/calloc/realloc/aligned_alloc/posix_memalign/memalign are counted between decode
 * steps (tx_gen_params.cancel runs between steps) for greedy, beam search, sampling and beam
 * sampling over padded batches with every logits processor on; and a repeated request of the
 * same shape allocates nothing at all (the session arena is reused). The normal build counts
 * by interposing those functions (passing them on to glibc); the AddressSanitizer build, where
 * ASan owns malloc, counts with its allocation hook. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tx.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static __thread int counting;  /* count this thread's allocations */
static __thread long n_allocs; /* allocations counted */

#ifdef UNDER_ASAN
/* compiler-rt's sanitizer/allocator_interface.h (not shipped with gcc 12's headers) */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static void on_malloc(const volatile void *p, size_t n)
{
    (void)p, (void)n;
    if (counting) n_allocs++;
}
static void on_free(const volatile void *p)
{
    (void)p;
}
static void install_counter(void)
{
    static int done;
    if (!done) done = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
    cr_assert(done, "AddressSanitizer refused the allocation hooks");
}
#else
/* glibc's own entry points (exported by libc.so.6) */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);
void *aligned_alloc(size_t align, size_t n);
int posix_memalign(void **out, size_t align, size_t n);
void *memalign(size_t align, size_t n);

void *malloc(size_t n)
{
    if (counting) n_allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t size)
{
    if (counting) n_allocs++;
    return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n)
{
    if (counting) n_allocs++;
    return __libc_realloc(p, n);
}
void free(void *p)
{
    __libc_free(p);
}
void *aligned_alloc(size_t align, size_t n)
{
    if (counting) n_allocs++;
    return __libc_memalign(align, n);
}
void *memalign(size_t align, size_t n)
{
    if (counting) n_allocs++;
    return __libc_memalign(align, n);
}
int posix_memalign(void **out, size_t align, size_t n)
{
    if (counting) n_allocs++;
    void *p = __libc_memalign(align, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
static void install_counter(void) {}
#endif

static void need_counting(void)
{
    install_counter();
    tx_blas_set_threads(1);
    /* the interposed malloc must see the library's calls */
    counting = 1;
    n_allocs = 0;
    void *volatile p = malloc(16);
    free(p);
    counting = 0;
    cr_assert_eq(n_allocs, 1, "malloc calls are not counted");
}

/* Between-step callback: the window opens at the first call; every later call records the
 * allocations made since (i.e. during whole decode steps). */
static int n_steps;
static long in_loop;
static int on_step(void *user)
{
    (void)user;
    if (n_steps++ == 0) {
        n_allocs = 0;
        counting = 1;
    } else {
        in_loop = n_allocs;
    }
    return 0;
}

struct run {
    const char *model;
    const char *what;
    int beams, n_return, sample;
    int int8; /* load the weights as int8 (TX_DTYPE_INT8) */
};

static void check_loop(const struct run *r)
{
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fixtures/hf-tiny/%s", r->model);
    tx_model *m = NULL;
    tx_session *s = NULL;
    struct tx_error e = {0};
    struct tx_load_params lp = tx_load_default_params();
    lp.dtype = r->int8 ? TX_DTYPE_INT8 : TX_DTYPE_AUTO;
    cr_assert_eq(tx_model_load_ex(dir, &lp, &m, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    struct tx_gen_params p = tx_model_gen_params(m);
    p.num_beams = r->beams;
    p.num_return_sequences = r->n_return;
    p.do_sample = r->sample;
    p.seed = 7;
    p.top_k = 20;
    p.top_p = 0.9f;
    p.temperature = 0.8f;
    p.max_new_tokens = 12;
    p.min_length = 13; /* eos banned: every step runs */
    p.repetition_penalty = 1.3f;
    p.no_repeat_ngram_size = 2;
    p.n_bad_words = 2;
    p.bad_words_len[0] = 1;
    p.bad_words[0][0] = 9;
    p.bad_words_len[1] = 2;
    p.bad_words[1][0] = 5;
    p.bad_words[1][1] = 6;
    p.cancel = on_step;
    const int32_t a[] = {12, 40, 77, 3, 91, 15, 33, 20, 2}, b[] = {8, 60, 2};
    /* the recurrent fixtures have 40 tokens (eos 0) */
    const int32_t ra[] = {12, 30, 7, 3, 21, 15, 33, 20, 0}, rb[] = {8, 16, 0};
    int rnn = strstr(r->model, "rnn/") != NULL;
    const int32_t *srcs[2] = {rnn ? ra : a, rnn ? rb : b};
    int n_src[2] = {9, 3};
    n_steps = 0;
    in_loop = -1;
    struct tx_gen_out o;
    tx_status st = tx_generate(s, srcs, n_src, 2, &p, &o, &e);
    counting = 0;
    cr_assert_eq(st, TX_OK, "%s: %s", r->what, e.message);
    cr_assert_geq(n_steps, 10, "%s: only %d steps", r->what, n_steps);
    cr_expect_eq(in_loop, 0, "%s (%s): %ld allocations inside the decode loop", r->what, r->model,
                 in_loop);
    tx_session_free(s);
    tx_model_free(m);
}

Test(noalloc, greedy_batch_with_every_processor_allocates_nothing_per_step)
{
    need_counting();
    static const char *models[] = {"marian", "bart", "t5"};
    for (int i = 0; i < 3; i++) {
        struct run r = {models[i], "greedy", 1, 1, 0, 0};
        check_loop(&r);
    }
}

/* rnn_seq2seq: the recurrent state lives in slots allocated with the group (LSTM with input
 * feeding and two layers; GRU with additive attention), greedy, beam and sampling. */
Test(noalloc, recurrent_models_allocate_nothing_per_step)
{
    need_counting();
    static const char *models[] = {"../rnn/lstm-dot-feed", "../rnn/gru-additive-uni"};
    for (int i = 0; i < 2; i++) {
        struct run g = {models[i], "rnn greedy", 1, 1, 0, 0};
        struct run b = {models[i], "rnn beam search", 4, 2, 0, 0};
        struct run s = {models[i], "rnn sampling", 1, 3, 1, 0};
        check_loop(&g);
        check_loop(&b);
        check_loop(&s);
    }
}

Test(noalloc, beam_search_batch_allocates_nothing_per_step)
{
    need_counting();
    static const char *models[] = {"marian", "bart", "t5"};
    for (int i = 0; i < 3; i++) {
        struct run r = {models[i], "beam search", 4, 2, 0, 0};
        check_loop(&r);
    }
}

Test(noalloc, sampling_and_beam_sampling_allocate_nothing_per_step)
{
    need_counting();
    struct run s1 = {"t5", "sampling", 1, 3, 1, 0};
    check_loop(&s1);
    struct run s2 = {"bart", "beam sampling", 3, 2, 1, 0};
    check_loop(&s2);
}

Test(noalloc, int8_weights_allocate_nothing_per_step)
{
    need_counting();
    /* 9 beams x 2 inputs = 18 rows: more than the few-rows kernel takes, so the step's
     * products dequantize blocks of weights into the session's scratch */
    static const char *models[] = {"marian", "bart", "t5"};
    for (int i = 0; i < 3; i++) {
        struct run few = {models[i], "int8 greedy", 1, 1, 0, 1};
        check_loop(&few);
        struct run many = {models[i], "int8 beam search, 18 rows", 9, 2, 0, 1};
        check_loop(&many);
    }
}

Test(noalloc, a_repeated_request_allocates_nothing_at_all)
{
    need_counting();
    tx_model *m = NULL;
    tx_session *s = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_model_load("tests/fixtures/hf-tiny/bart", &m, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    /* long enough to outgrow the session's first arena region */
    int32_t a[60];
    for (int i = 0; i < 60; i++)
        a[i] = 3 + (i * 37) % 120;
    a[59] = 2;
    const int32_t *srcs[3] = {a, a + 20, a + 50};
    int n_src[3] = {60, 40, 10};
    struct tx_gen_params p = tx_model_gen_params(m);
    p.num_beams = 6;
    p.num_return_sequences = 3;
    p.max_new_tokens = 40;
    struct tx_gen_out o;
    struct tx_forward_out f;
    for (int round = 0; round < 4; round++) {
        n_allocs = 0;
        counting = round >= 2; /* the first two rounds may grow the arena to the larger call */
        tx_status st = tx_generate(s, srcs, n_src, 3, &p, &o, &e);
        tx_status st2 =
            tx_forward(s, a, 60, a, 40, TX_FORWARD_ATTENTIONS | TX_FORWARD_HIDDEN, &f, &e);
        counting = 0;
        cr_assert_eq(st, TX_OK, "%s", e.message);
        cr_assert_eq(st2, TX_OK, "%s", e.message);
        if (round >= 2) cr_expect_eq(n_allocs, 0, "round %d: %ld allocations", round, n_allocs);
    }
    tx_session_free(s);
    tx_model_free(m);
}

Test(noalloc, a_decode_group_allocates_nothing_while_members_join_and_leave)
{
    need_counting();
    tx_model *m = NULL;
    tx_session *s = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_model_load("tests/fixtures/hf-tiny/t5", &m, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    struct tx_group_params gp = {8, 4, 4, 24, 64};
    tx_group *g;
    cr_assert_eq(tx_group_new(s, &gp, &g, &e), TX_OK, "%s", e.message);
    const int32_t a[] = {12, 40, 77, 3, 91, 15, 33, 20, 1}, b[] = {8, 60, 1};
    struct tx_gen_params p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = tx_model_gen_params(m);
        p[i].max_new_tokens = 8 + 4 * i;
        p[i].min_length = 30; /* eos banned: every member runs its length */
        p[i].repetition_penalty = 1.2f;
        p[i].no_repeat_ngram_size = 2;
    }
    p[0].num_beams = 1, p[0].do_sample = 0, p[0].num_return_sequences = 1;
    p[1].num_beams = 3, p[1].do_sample = 0, p[1].num_return_sequences = 2;
    p[2].num_beams = 1, p[2].do_sample = 1, p[2].num_return_sequences = 2, p[2].seed = 5;
    uint64_t ids[16] = {0};
    int n_ids = 0, steps = 0, finished = 0;
    cr_assert_eq(tx_group_add(g, a, 9, &p[1], &ids[n_ids++], &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_group_step(g, NULL, &e), TX_OK); /* the longest source: sizes the scratch */
    n_allocs = 0;
    counting = 1;
    while (steps < 60) {
        if (n_ids < 16 && steps % 3 == 0) {
            const struct tx_gen_params *pp = &p[n_ids % 3];
            int big = n_ids % 2;
            if (tx_group_fits(g, big ? 9 : 3, pp))
                cr_assert_eq(tx_group_add(g, big ? a : b, big ? 9 : 3, pp, &ids[n_ids++], &e),
                             TX_OK, "%s", e.message);
        }
        cr_assert_eq(tx_group_step(g, NULL, &e), TX_OK);
        steps++;
        for (int i = 0; i < n_ids; i++) {
            if (!ids[i] || tx_group_state(g, ids[i], NULL) != TX_MEMBER_DONE) continue;
            struct tx_gen_out o;
            cr_assert_eq(tx_group_result(g, ids[i], &o, &e), TX_OK, "%s", e.message);
            tx_group_remove(g, ids[i]);
            ids[i] = 0;
            finished++;
        }
    }
    counting = 0;
    cr_assert_geq(finished, 8, "only %d members finished", finished);
    cr_expect_eq(n_allocs, 0, "%ld allocations while members joined and left", n_allocs);
    tx_group_free(g);
    tx_session_free(s);
    tx_model_free(m);
}

/* Streaming attention (tx_group_capture_cross): members keeping each step's cross-attention,
 * greedy and beam search, beside one that does not, on a Transformer and a recurrent model;
 * the buffers are given before the steps, and neither the steps nor reading the ready rows
 * (tx_group_cross_ready, tx_group_cross_rows) allocate. */
Test(noalloc, a_decode_group_capturing_cross_attention_allocates_nothing_per_step)
{
    need_counting();
    static const char *dirs[] = {"tests/fixtures/hf-tiny/bart", "tests/fixtures/rnn/lstm-dot-feed"};
    for (int d = 0; d < 2; d++) {
        tx_model *m = NULL;
        tx_session *s = NULL;
        struct tx_error e = {0};
        cr_assert_eq(tx_model_load(dirs[d], &m, &e), TX_OK, "%s", e.message);
        cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
        struct tx_group_params gp = {8, 4, 4, 24, 64};
        tx_group *g;
        cr_assert_eq(tx_group_new(s, &gp, &g, &e), TX_OK, "%s", e.message);
        const int32_t a[] = {12, 30, 7, 3, 21, 15, 33, 20, 2};
        int32_t src[9];
        int32_t eos = tx_model_gen_params(m).eos_token_id;
        memcpy(src, a, sizeof src);
        src[8] = eos >= 0 ? eos : 2;
        uint64_t ids[3];
        void *bufs[3] = {0};
        static float rows[24 * 64 * 64];
        for (int i = 0; i < 3; i++) {
            struct tx_gen_params p = tx_model_gen_params(m);
            p.max_new_tokens = 12;
            p.min_length = 13; /* eos banned: every step runs */
            p.num_beams = i == 1 ? 3 : 1;
            p.do_sample = 0;
            p.num_return_sequences = 1;
            cr_assert_eq(tx_group_add(g, src, 9, &p, &ids[i], &e), TX_OK, "%s", e.message);
            if (i == 2) continue; /* the third does not capture */
            size_t size = tx_group_capture_size(g, ids[i]);
            bufs[i] = malloc(size);
            cr_assert_eq(tx_group_capture_cross(g, ids[i], bufs[i], size, &e), TX_OK, "%s",
                         e.message);
        }
        cr_assert_eq(tx_group_step(g, NULL, &e), TX_OK); /* encodes the sources */
        n_allocs = 0;
        counting = 1;
        int steps = 0, read = 0;
        while (tx_group_state(g, ids[0], NULL) == TX_MEMBER_RUNNING && steps < 40) {
            cr_assert_eq(tx_group_step(g, NULL, &e), TX_OK);
            steps++;
            for (int i = 0; i < 2; i++) {
                int ready = tx_group_cross_ready(g, ids[i]);
                const struct tx_model_info *mi = tx_model_get_info(m);
                size_t w = (size_t)mi->n_decoder_layers * (size_t)mi->n_heads * 9;
                cr_assert_leq((size_t)ready * w, sizeof rows / sizeof rows[0]);
                cr_assert_eq(tx_group_cross_rows(g, ids[i], 0, ready, rows, &e), TX_OK, "%s",
                             e.message);
                read += ready;
            }
        }
        counting = 0;
        cr_assert_geq(steps, 10, "%s: only %d steps", dirs[d], steps);
        cr_assert_gt(read, 0);
        cr_expect_eq(n_allocs, 0, "%s: %ld allocations in steps that capture", dirs[d], n_allocs);
        tx_group_free(g);
        for (int i = 0; i < 3; i++)
            free(bufs[i]);
        tx_session_free(s);
        tx_model_free(m);
    }
}
