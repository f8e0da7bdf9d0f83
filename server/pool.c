/* pool.c — bounded job queue (a ring of pointers) and its worker threads. */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct srv_pool {
    pthread_mutex_t mu;
    pthread_cond_t nonempty;
    struct srv_job **ring; /* (depth) */
    int depth, head, count;
    int busy;
    int stopping;
    int n_workers;
    pthread_t *threads;
    srv_worker_init_fn init;
    srv_worker_fini_fn fini;
    void *user;
    const struct srv_batcher *batcher; /* NULL: one job at a time */
    /* start-up handshake: each worker reports whether its init succeeded */
    pthread_cond_t started;
    int n_started, n_failed;
};

struct worker_arg {
    struct srv_pool *p;
    int index;
};

int64_t srv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Pops the oldest queued job (p->mu held, count > 0). */
static struct srv_job *pop(struct srv_pool *p)
{
    struct srv_job *job = p->ring[p->head];
    p->head = (p->head + 1) % p->depth;
    p->count--;
    return job;
}

/* The batching worker's loop (p->mu held on entry and exit): step what is in flight, taking
 * queued jobs between steps while there is room; block only when idle. busy counts workers with
 * anything in flight. */
static void batching_loop(struct srv_pool *p, void *state)
{
    const struct srv_batcher *b = p->batcher;
    int inflight = 0;
    for (;;) {
        while (!inflight && p->count == 0 && !p->stopping)
            pthread_cond_wait(&p->nonempty, &p->mu);
        if (!inflight && p->count == 0 && p->stopping) break; /* drained */
        /* an idle worker takes the oldest job whatever room says */
        while (p->count > 0 && (!inflight || b->room(state, p->ring[p->head]))) {
            struct srv_job *job = pop(p);
            if (!inflight) p->busy++;
            inflight = 1;
            pthread_mutex_unlock(&p->mu);
            b->offer(state, job);
            pthread_mutex_lock(&p->mu);
        }
        pthread_mutex_unlock(&p->mu);
        int more = b->step(state);
        pthread_mutex_lock(&p->mu);
        if (!more) {
            p->busy--;
            inflight = 0;
        }
    }
}

static void *worker_main(void *arg)
{
    struct worker_arg wa = *(struct worker_arg *)arg;
    free(arg);
    struct srv_pool *p = wa.p;
    void *state = p->init ? p->init(wa.index, p->user) : p->user;
    pthread_mutex_lock(&p->mu);
    p->n_started++;
    if (p->init && !state) p->n_failed++;
    pthread_cond_broadcast(&p->started);
    pthread_mutex_unlock(&p->mu);
    if (p->init && !state) return NULL;

    pthread_mutex_lock(&p->mu);
    if (p->batcher) {
        batching_loop(p, state);
        pthread_mutex_unlock(&p->mu);
        if (p->fini) p->fini(state, p->user);
        return NULL;
    }
    for (;;) {
        while (p->count == 0 && !p->stopping)
            pthread_cond_wait(&p->nonempty, &p->mu);
        if (p->count == 0 && p->stopping) break; /* drained */
        struct srv_job *job = pop(p);
        p->busy++;
        pthread_mutex_unlock(&p->mu);
        job->run(job, state);
        pthread_mutex_lock(&p->mu);
        p->busy--;
    }
    pthread_mutex_unlock(&p->mu);
    if (p->fini) p->fini(state, p->user);
    return NULL;
}

static void destroy(struct srv_pool *p)
{
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->nonempty);
    pthread_cond_destroy(&p->started);
    free(p->ring);
    free(p->threads);
    free(p);
}

int srv_pool_start(struct srv_pool **out, int n_workers, int depth, srv_worker_init_fn init,
                   srv_worker_fini_fn fini, void *user)
{
    return srv_pool_start_batching(out, n_workers, depth, init, fini, user, NULL);
}

int srv_pool_start_batching(struct srv_pool **out, int n_workers, int depth,
                            srv_worker_init_fn init, srv_worker_fini_fn fini, void *user,
                            const struct srv_batcher *batcher)
{
    if (n_workers < 1 || depth < 1) return -1;
    struct srv_pool *p = calloc(1, sizeof *p);
    if (!p) return -1;
    p->batcher = batcher;
    p->ring = calloc((size_t)depth, sizeof *p->ring);
    p->threads = calloc((size_t)n_workers, sizeof *p->threads);
    if (!p->ring || !p->threads) {
        free(p->ring);
        free(p->threads);
        free(p);
        return -1;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->nonempty, NULL);
    pthread_cond_init(&p->started, NULL);
    p->depth = depth;
    p->init = init;
    p->fini = fini;
    p->user = user;
    for (int i = 0; i < n_workers; i++) {
        struct worker_arg *wa = malloc(sizeof *wa);
        if (!wa) break;
        wa->p = p;
        wa->index = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, wa)) {
            free(wa);
            break;
        }
        p->n_workers++;
    }
    /* wait for every worker's init, then fail as a whole if any failed */
    pthread_mutex_lock(&p->mu);
    while (p->n_started < p->n_workers)
        pthread_cond_wait(&p->started, &p->mu);
    int failed = p->n_failed || p->n_workers < n_workers;
    pthread_mutex_unlock(&p->mu);
    if (failed) {
        srv_pool_stop(p);
        return -1;
    }
    *out = p;
    return 0;
}

srv_pool_submit_result srv_pool_submit(struct srv_pool *p, struct srv_job *job,
                                       void (*on_accept)(struct srv_job *job, void *arg), void *arg)
{
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return SRV_POOL_STOPPING;
    }
    if (p->count == p->depth) {
        pthread_mutex_unlock(&p->mu);
        return SRV_POOL_FULL;
    }
    job->enqueued_ns = srv_now_ns();
    if (on_accept) on_accept(job, arg);
    p->ring[(p->head + p->count) % p->depth] = job;
    p->count++;
    pthread_cond_signal(&p->nonempty);
    pthread_mutex_unlock(&p->mu);
    return SRV_POOL_OK;
}

int srv_pool_queued(struct srv_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->count;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int srv_pool_busy(struct srv_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->busy;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int srv_pool_capacity(const struct srv_pool *p)
{
    return p->depth;
}

void srv_pool_stop(struct srv_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->nonempty);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++)
        pthread_join(p->threads[i], NULL);
    destroy(p);
}
