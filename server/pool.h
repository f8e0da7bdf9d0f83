/* pool.h — inference workers fed by one bounded FIFO queue. A full queue refuses at once
 * (the caller answers 503); HTTP threads only enqueue, workers only run. */
#ifndef ATTNSERVE_SRV_POOL_H
#define ATTNSERVE_SRV_POOL_H

#include <stdint.h>

struct srv_job;
/* Runs a job on a worker thread; `worker` is what worker_init returned for that thread. */
typedef void (*srv_job_fn)(struct srv_job *job, void *worker);

struct srv_job {
    srv_job_fn run;
    int64_t enqueued_ns; /* set by srv_pool_submit (CLOCK_MONOTONIC) */
};

struct srv_pool;

/* What srv_pool_submit did with a job. */
typedef enum {
    SRV_POOL_OK = 0,        /* accepted */
    SRV_POOL_FULL = -1,     /* every queue slot taken (the caller answers 503 busy) */
    SRV_POOL_STOPPING = -2, /* srv_pool_stop began */
} srv_pool_submit_result;

/* Per-worker state: init is called on each worker thread before it takes jobs (NULL return =
 * failure: srv_pool_start fails); fini when it stops. */
typedef void *(*srv_worker_init_fn)(int index, void *user);
typedef void (*srv_worker_fini_fn)(void *worker, void *user);

/* Starts n_workers threads and a queue of `depth` slots. Owned: srv_pool_stop. */
int srv_pool_start(struct srv_pool **out, int n_workers, int depth, srv_worker_init_fn init,
                   srv_worker_fini_fn fini, void *user);

/* Continuous batching: a worker that has work in flight keeps stepping it and, between steps,
 * takes queued jobs (oldest first) while room() says its batch has room for the next one (an
 * idle worker takes the oldest job without asking); it blocks for a job only when nothing is in flight. room runs on the worker's thread under the
 * queue lock (it must be quick and must not call the pool); offer then hands the job over (the
 * worker answers it, now or after later steps); step runs one step of everything in flight and
 * returns 1 while something still is. At stop, queued jobs are still taken and finished. */
struct srv_batcher {
    int (*room)(void *worker, const struct srv_job *job);
    void (*offer)(void *worker, struct srv_job *job);
    int (*step)(void *worker);
};

/* srv_pool_start with workers in batching mode (batcher borrowed; outlives the pool). */
int srv_pool_start_batching(struct srv_pool **out, int n_workers, int depth,
                            srv_worker_init_fn init, srv_worker_fini_fn fini, void *user,
                            const struct srv_batcher *batcher);

/* Enqueues a job. on_accept (may be NULL) runs under the queue lock just before the job
 * becomes visible to workers, so the caller can prepare (e.g. suspend its connection) with
 * no race against the job finishing. Returns a srv_pool_submit_result. The job memory stays
 * owned by the caller and must live until its run function returns. */
srv_pool_submit_result srv_pool_submit(struct srv_pool *p, struct srv_job *job,
                                       void (*on_accept)(struct srv_job *job, void *arg),
                                       void *arg);

/* Jobs waiting, and workers running a job now. */
int srv_pool_queued(struct srv_pool *p);
int srv_pool_busy(struct srv_pool *p);
int srv_pool_capacity(const struct srv_pool *p);

/* Stops taking new jobs, lets the workers finish every queued job, joins them, frees. */
void srv_pool_stop(struct srv_pool *p);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t srv_now_ns(void);

#endif
