/* connguard.c — the header deadline: a list of open connections and one watchdog thread that
 * shuts down the sockets whose request header is overdue (see connguard.h). */
#include "connguard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "pool.h" /* srv_now_ns */

#define WATCHDOG_PERIOD_MS 100 /* how late past its deadline a connection may be cut */

struct srv_conn_watch {
    int fd;
    int in_request;      /* header complete, answer not yet done: no deadline */
    int cut;             /* shut down already (the close notification follows) */
    int64_t deadline_ns; /* CLOCK_MONOTONIC; meaningful when !in_request */
    struct srv_conn_watch *prev, *next;
};

struct srv_connguard {
    int64_t header_ns, keepalive_ns;
    pthread_mutex_t mu; /* guards the list, every watch's fields and stop */
    pthread_cond_t wake;
    struct srv_conn_watch *head;
    int stop;
    atomic_uint_fast64_t n_cut;
    pthread_t thread;
};

/* Shuts down every overdue connection; called with g->mu held. shutdown() leaves the fd open
 * (libmicrohttpd still owns it) and makes it readable at EOF, so the daemon's poll sees the
 * end and closes the connection through its normal path. */
static void cut_overdue(struct srv_connguard *g, int64_t now)
{
    for (struct srv_conn_watch *w = g->head; w; w = w->next) {
        if (w->in_request || w->cut || now < w->deadline_ns) continue;
        w->cut = 1;
        atomic_fetch_add(&g->n_cut, 1); /* counted first: the peer may see the end at once */
        shutdown(w->fd, SHUT_RDWR);
    }
}

static void *watchdog(void *arg)
{
    struct srv_connguard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts); /* pthread_cond_timedwait's default clock */
        ts.tv_nsec += WATCHDOG_PERIOD_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->wake, &g->mu, &ts);
        if (!g->stop) cut_overdue(g, srv_now_ns());
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

struct srv_connguard *srv_connguard_new(int header_timeout_ms, int keepalive_ms)
{
    struct srv_connguard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->header_ns = (int64_t)header_timeout_ms * 1000000LL;
    g->keepalive_ns = (int64_t)keepalive_ms * 1000000LL;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->wake, NULL);
    if (pthread_create(&g->thread, NULL, watchdog, g) != 0) {
        pthread_cond_destroy(&g->wake);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return NULL;
    }
    return g;
}

void srv_connguard_free(struct srv_connguard *g)
{
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    /* Watches left (a close notification that never came) are freed with the guard. */
    for (struct srv_conn_watch *w = g->head, *next; w; w = next) {
        next = w->next;
        free(w);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

struct srv_conn_watch *srv_connguard_open(struct srv_connguard *g, int fd)
{
    struct srv_conn_watch *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->fd = fd;
    w->deadline_ns = srv_now_ns() + g->header_ns;
    pthread_mutex_lock(&g->mu);
    w->next = g->head;
    if (g->head) g->head->prev = w;
    g->head = w;
    pthread_mutex_unlock(&g->mu);
    return w;
}

void srv_connguard_request_started(struct srv_connguard *g, struct srv_conn_watch *w)
{
    if (!w) return;
    pthread_mutex_lock(&g->mu);
    w->in_request = 1;
    pthread_mutex_unlock(&g->mu);
}

void srv_connguard_request_done(struct srv_connguard *g, struct srv_conn_watch *w)
{
    if (!w) return;
    pthread_mutex_lock(&g->mu);
    w->in_request = 0;
    w->deadline_ns = srv_now_ns() + g->keepalive_ns + g->header_ns;
    pthread_mutex_unlock(&g->mu);
}

void srv_connguard_close(struct srv_connguard *g, struct srv_conn_watch *w)
{
    if (!w) return;
    pthread_mutex_lock(&g->mu);
    if (w->prev)
        w->prev->next = w->next;
    else
        g->head = w->next;
    if (w->next) w->next->prev = w->prev;
    pthread_mutex_unlock(&g->mu);
    free(w);
}

uint64_t srv_connguard_n_cut(struct srv_connguard *g)
{
    return g ? (uint64_t)atomic_load(&g->n_cut) : 0;
}
