/* test_srv_pool.c — the bounded queue and its workers. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"

struct tjob {
    struct srv_job base;
    int id;
    int *order;
    int *n_done;
    pthread_mutex_t *mu;
    volatile int *gate; /* jobs wait while *gate == 0 */
    void *worker_seen;
};

static void run(struct srv_job *job, void *worker)
{
    struct tjob *t = (struct tjob *)job;
    while (t->gate && !*t->gate)
        usleep(1000);
    t->worker_seen = worker;
    pthread_mutex_lock(t->mu);
    t->order[(*t->n_done)++] = t->id;
    pthread_mutex_unlock(t->mu);
}

static int n_init, n_fini;
static void *winit(int index, void *user)
{
    (void)user;
    __atomic_add_fetch(&n_init, 1, __ATOMIC_SEQ_CST);
    return (void *)(intptr_t)(index + 100);
}
static void wfini(void *w, void *user)
{
    (void)w;
    (void)user;
    __atomic_add_fetch(&n_fini, 1, __ATOMIC_SEQ_CST);
}

static int accepted;
static void on_accept(struct srv_job *job, void *arg)
{
    (void)job;
    (void)arg;
    accepted++;
}

Test(srv_pool, a_full_queue_refuses_at_once_and_every_accepted_job_runs_in_order)
{
    struct srv_pool *p;
    n_init = n_fini = 0;
    cr_assert_eq(srv_pool_start(&p, 1, 3, winit, wfini, NULL), 0);
    cr_assert_eq(n_init, 1);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int order[16], n_done = 0;
    volatile int gate = 0;
    struct tjob jobs[6];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 6; i++) {
        jobs[i].base.run = run;
        jobs[i].id = i;
        jobs[i].order = order;
        jobs[i].n_done = &n_done;
        jobs[i].mu = &mu;
        jobs[i].gate = &gate;
    }
    /* job 0 occupies the worker (held at the gate); jobs 1-3 fill the 3 slots */
    accepted = 0;
    cr_assert_eq(srv_pool_submit(p, &jobs[0].base, on_accept, NULL), SRV_POOL_OK);
    while (srv_pool_busy(p) == 0)
        usleep(1000);
    for (int i = 1; i <= 3; i++)
        cr_assert_eq(srv_pool_submit(p, &jobs[i].base, on_accept, NULL), SRV_POOL_OK);
    cr_assert_eq(srv_pool_queued(p), 3);
    cr_assert_eq(srv_pool_submit(p, &jobs[4].base, on_accept, NULL), SRV_POOL_FULL);
    cr_assert_eq(accepted, 4); /* the refused job's callback did not run */
    gate = 1;
    srv_pool_stop(p); /* drains the queue */
    cr_assert_eq(n_done, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(order[i], i);
    cr_assert_eq(jobs[2].worker_seen, (void *)(intptr_t)100);
    cr_assert_eq(n_fini, 1);
}

Test(srv_pool, several_workers_share_the_queue)
{
    struct srv_pool *p;
    n_init = n_fini = 0;
    cr_assert_eq(srv_pool_start(&p, 3, 64, winit, wfini, NULL), 0);
    cr_assert_eq(n_init, 3);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int order[64], n_done = 0;
    struct tjob jobs[50];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 50; i++) {
        jobs[i].base.run = run;
        jobs[i].id = i;
        jobs[i].order = order;
        jobs[i].n_done = &n_done;
        jobs[i].mu = &mu;
        cr_assert_eq(srv_pool_submit(p, &jobs[i].base, NULL, NULL), 0);
        cr_assert_gt(jobs[i].base.enqueued_ns, 0);
    }
    srv_pool_stop(p);
    cr_assert_eq(n_done, 50);
    int seen[50] = {0};
    for (int i = 0; i < 50; i++)
        seen[order[i]]++;
    for (int i = 0; i < 50; i++)
        cr_assert_eq(seen[i], 1);
    cr_assert_eq(n_fini, 3);
}

static void *failing_init(int index, void *user)
{
    (void)user;
    return index == 1 ? NULL : (void *)1;
}

Test(srv_pool, a_worker_that_cannot_start_fails_the_pool)
{
    struct srv_pool *p = NULL;
    cr_assert_eq(srv_pool_start(&p, 2, 4, failing_init, NULL, NULL), -1);
    cr_assert_null(p);
}

/* Batching mode: a fake batch of at most 3 jobs, each needing `steps` steps. */
struct bworker {
    struct tjob *held[8];
    int left[8];
    int n_held, max_held, most_held, n_steps;
};
static struct bworker bw;

static int b_room(void *worker, const struct srv_job *job)
{
    (void)job;
    struct bworker *w = worker == (void *)(intptr_t)100 ? &bw : NULL;
    cr_assert_not_null(w, "room runs on the worker with its state");
    return w->n_held < w->max_held;
}
static void b_offer(void *worker, struct srv_job *job)
{
    (void)worker;
    bw.held[bw.n_held] = (struct tjob *)job;
    bw.left[bw.n_held] = 3;
    bw.n_held++;
    if (bw.n_held > bw.most_held) bw.most_held = bw.n_held;
}
static volatile int all_submitted;
static int b_step(void *worker)
{
    (void)worker;
    while (!all_submitted) /* the first step waits for the whole queue */
        usleep(1000);
    bw.n_steps++;
    for (int i = 0; i < bw.n_held;) {
        if (--bw.left[i] > 0) {
            i++;
            continue;
        }
        struct tjob *t = bw.held[i];
        pthread_mutex_lock(t->mu);
        t->order[(*t->n_done)++] = t->id;
        pthread_mutex_unlock(t->mu);
        memmove(&bw.held[i], &bw.held[i + 1], (size_t)(bw.n_held - i - 1) * sizeof bw.held[0]);
        memmove(&bw.left[i], &bw.left[i + 1], (size_t)(bw.n_held - i - 1) * sizeof bw.left[0]);
        bw.n_held--;
    }
    return bw.n_held > 0;
}

Test(srv_pool, batching_workers_take_jobs_between_steps_in_order_up_to_their_room)
{
    static const struct srv_batcher batcher = {b_room, b_offer, b_step};
    memset(&bw, 0, sizeof bw);
    bw.max_held = 3;
    all_submitted = 0;
    struct srv_pool *p;
    n_init = n_fini = 0;
    cr_assert_eq(srv_pool_start_batching(&p, 1, 16, winit, wfini, NULL, &batcher), 0);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int order[16], n_done = 0;
    struct tjob jobs[10];
    for (int i = 0; i < 10; i++) {
        jobs[i] = (struct tjob){{NULL, 0}, i, order, &n_done, &mu, NULL, NULL};
        cr_assert_eq(srv_pool_submit(p, &jobs[i].base, NULL, NULL), SRV_POOL_OK);
    }
    all_submitted = 1;
    srv_pool_stop(p); /* drains: every queued job is taken and finished */
    cr_assert_eq(n_done, 10);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(order[i], i, "jobs of equal length end in the order they came");
    cr_assert_eq(bw.most_held, 3, "the worker held as many jobs as its room allowed");
    cr_assert_lt(bw.n_steps, 30, "jobs ran together (%d steps for 10 jobs of 3 steps)",
                 bw.n_steps);
    cr_assert_eq(n_fini, 1);
}
