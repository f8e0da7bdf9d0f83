/* threadpool.h — a session's engine threads: the caller plus n - 1 persistent helpers that run
 * the column ranges of one large product at a time (internal to the core). */
#ifndef ATTNSERVE_THREADPOOL_H
#define ATTNSERVE_THREADPOOL_H

struct txi_pool;

/* Runs part t (0 <= t < n_parts) of a task: the range [j0, j1) of its columns. */
typedef void (*txi_pool_fn)(void *ctx, int t, int j0, int j1);

/* A pool of n_threads threads in all (the calling thread is one of them: n_threads - 1 helpers
 * are started). Between tasks the helpers spin for about TXI_POOL_SPIN_US microseconds (a
 * decode step issues its products a few microseconds apart), then sleep on a condition
 * variable. Returns NULL when n_threads < 2 (no pool needed), or on failure to allocate or start
 * a thread (errno-free: the caller reports it). Owned: free with txi_pool_free. */
#define TXI_POOL_SPIN_US 200
struct txi_pool *txi_pool_new(int n_threads);

/* Stops and joins the helpers. NULL is a no-op. No task may be running. */
void txi_pool_free(struct txi_pool *p);

/* Threads of the pool, the caller included; 1 for NULL. */
int txi_pool_threads(const struct txi_pool *p);

/* Splits [0, n) into one range per thread, with boundaries at multiples of align (>= 1; the
 * last range takes the rest), and runs fn on each: range 0 on the calling thread, the others
 * on the helpers; returns when all are done. Ranges that come out empty are not run. With
 * p NULL, fn(ctx, 0, 0, n) on the caller. One task at a time: the pool belongs to one session,
 * used by one thread at a time, and fn must not use the pool itself. */
void txi_pool_run(struct txi_pool *p, int n, int align, txi_pool_fn fn, void *ctx);

#endif
