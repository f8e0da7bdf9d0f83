/* connguard.h — the header deadline (slowloris guard): a connection must deliver a complete
 * request header within header_timeout_ms of opening, or of its previous answer plus the
 * keep-alive idle time; past that its socket is shut down (libmicrohttpd then closes it).
 * libmicrohttpd's own timeout is an idle timeout, reset by every byte, so a client that drips
 * one header byte at a time would otherwise hold a connection for ever (nginx's
 * client_header_timeout closes the same gap). One watchdog thread checks the deadlines. */
#ifndef ATTNSERVE_SRV_CONNGUARD_H
#define ATTNSERVE_SRV_CONNGUARD_H

#include <stdint.h>

struct srv_connguard;
struct srv_conn_watch;

/* Starts the watchdog. header_timeout_ms > 0; keepalive_ms: the idle time a kept-alive
 * connection may spend before its next request begins (added to the deadline after an answer).
 * Owned: srv_connguard_free. Returns NULL on OOM or when the thread cannot start. */
struct srv_connguard *srv_connguard_new(int header_timeout_ms, int keepalive_ms);
/* Stops the watchdog; every watch must have been closed first (MHD_stop_daemon does that). */
void srv_connguard_free(struct srv_connguard *g);

/* A connection opened on socket fd: its header deadline starts now. Returns the watch
 * (owned by the guard until srv_connguard_close), or NULL on OOM (that connection is then
 * only under the idle timeout). Thread-safe, like the three calls below. */
struct srv_conn_watch *srv_connguard_open(struct srv_connguard *g, int fd);
/* The connection's request header is complete: no deadline until its answer is done. */
void srv_connguard_request_started(struct srv_connguard *g, struct srv_conn_watch *w);
/* Its answer is done: the next request's header is due by now + keepalive + header timeout. */
void srv_connguard_request_done(struct srv_connguard *g, struct srv_conn_watch *w);
/* The connection is closing (before its socket is closed): forget and free the watch. */
void srv_connguard_close(struct srv_connguard *g, struct srv_conn_watch *w);

/* Connections shut down by the watchdog so far. */
uint64_t srv_connguard_n_cut(struct srv_connguard *g);

#endif
