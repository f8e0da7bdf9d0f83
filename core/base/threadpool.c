/* threadpool.c — engine threads (see threadpool.h): a task is published by bumping a generation
 * counter that the helpers watch; they spin briefly, then sleep until the next one. */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

struct helper {
    struct txi_pool *pool;
    int t; /* its part of every task (1 .. n_threads - 1) */
    pthread_t tid;
};

struct txi_pool {
    int n_threads;          /* the caller included */
    struct helper *helpers; /* (n_threads - 1) */
    pthread_mutex_t mu;     /* guards the sleep; the task itself is published atomically */
    pthread_cond_t wake;
    atomic_uint gen;        /* incremented for every task (and for stop) */
    atomic_int pending;     /* helper parts of the current task not yet finished */
    atomic_int sleeping;    /* helpers waiting on wake */
    atomic_int stop;
    /* the current task: written before gen is bumped, read after it is seen */
    txi_pool_fn fn;
    void *ctx;
    int n, align;
};

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Part t of n_parts of [0, n): balanced ranges whose boundaries are multiples of align. */
static void part_range(int n, int align, int n_parts, int t, int *j0, int *j1)
{
    long long units = ((long long)n + align - 1) / align;
    long long u0 = units * t / n_parts, u1 = units * (t + 1) / n_parts;
    long long a = u0 * align, b = u1 * align;
    *j0 = (int)(a < n ? a : n);
    *j1 = (int)(b < n ? b : n);
}

/* Waits until gen differs from seen: spins TXI_POOL_SPIN_US, then sleeps. Returns the new gen. */
static unsigned wait_task(struct txi_pool *p, unsigned seen)
{
    long long deadline = 0;
    for (int spins = 0;; spins++) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen) return g;
        if ((spins & 255) == 255) {
            long long t = now_us();
            if (!deadline) deadline = t + TXI_POOL_SPIN_US;
            else if (t >= deadline) break;
        }
        CPU_RELAX();
    }
    /* sleeping counts up before gen is checked again, and run() bumps gen before it reads
     * sleeping (both sequentially consistent): either this thread sees the new gen, or run()
     * sees it asleep and signals under the mutex this thread holds until it waits */
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleeping, 1);
    unsigned g;
    while ((g = atomic_load(&p->gen)) == seen)
        pthread_cond_wait(&p->wake, &p->mu);
    atomic_fetch_sub(&p->sleeping, 1);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *helper_main(void *arg)
{
    struct helper *h = arg;
    struct txi_pool *p = h->pool;
    unsigned seen = 0;
    for (;;) {
        seen = wait_task(p, seen);
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) break;
        int j0, j1;
        part_range(p->n, p->align, p->n_threads, h->t, &j0, &j1);
        if (j1 > j0) p->fn(p->ctx, h->t, j0, j1);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
    return NULL;
}

/* Publishes the task or the stop already written into p, and wakes sleeping helpers. */
static void publish(struct txi_pool *p)
{
    atomic_fetch_add(&p->gen, 1);
    if (atomic_load(&p->sleeping) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
}

static void stop_helpers(struct txi_pool *p, int started)
{
    atomic_store_explicit(&p->stop, 1, memory_order_release);
    publish(p);
    for (int i = 0; i < started; i++)
        pthread_join(p->helpers[i].tid, NULL);
}

struct txi_pool *txi_pool_new(int n_threads)
{
    if (n_threads < 2) return NULL;
    struct txi_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_threads = n_threads;
    p->helpers = calloc((size_t)n_threads - 1, sizeof *p->helpers);
    if (!p->helpers) goto fail_helpers;
    if (pthread_mutex_init(&p->mu, NULL) != 0) goto fail_mutex;
    if (pthread_cond_init(&p->wake, NULL) != 0) goto fail_cond;
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->sleeping, 0);
    atomic_init(&p->stop, 0);
    for (int i = 0; i < n_threads - 1; i++) {
        p->helpers[i].pool = p;
        p->helpers[i].t = i + 1;
        if (pthread_create(&p->helpers[i].tid, NULL, helper_main, &p->helpers[i]) != 0) {
            stop_helpers(p, i);
            goto fail_threads;
        }
    }
    return p;
fail_threads:
    pthread_cond_destroy(&p->wake);
fail_cond:
    pthread_mutex_destroy(&p->mu);
fail_mutex:
    free(p->helpers);
fail_helpers:
    free(p);
    return NULL;
}

void txi_pool_free(struct txi_pool *p)
{
    if (!p) return;
    stop_helpers(p, p->n_threads - 1);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p->helpers);
    free(p);
}

int txi_pool_threads(const struct txi_pool *p)
{
    return p ? p->n_threads : 1;
}

void txi_pool_run(struct txi_pool *p, int n, int align, txi_pool_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (align < 1) align = 1;
    if (!p) {
        fn(ctx, 0, 0, n);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->align = align;
    atomic_store_explicit(&p->pending, p->n_threads - 1, memory_order_relaxed);
    publish(p);
    int j0, j1;
    part_range(n, align, p->n_threads, 0, &j0, &j1);
    if (j1 > j0) fn(ctx, 0, j0, j1);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
        CPU_RELAX();
}
