/* app.h — the running service: configuration, models, workers, attention store, metrics, and
 * the HTTP daemon, with start-up and graceful shutdown. */
#ifndef ATTNSERVE_SRV_APP_H
#define ATTNSERVE_SRV_APP_H

#include <stdatomic.h>
#include <stddef.h>

#include "attnstore.h"
#include "config.h"
#include "metrics.h"
#include "pool.h"
#include "registry.h"

struct MHD_Daemon;

struct srv_app {
    const struct cfg_config *cfg; /* borrowed; outlives the app */
    struct srv_registry reg;
    struct srv_pool *pool; /* NULL until the models are loaded */
    struct srv_attn_store *store;
    struct srv_metrics *metrics;
    struct MHD_Daemon *daemon;
    struct srv_connguard *guard; /* header deadlines (connguard.h); NULL before listening */
    int port;         /* bound port */
    atomic_int ready; /* every model loaded and workers started */
    atomic_int n_loaded;
    atomic_int draining;          /* SIGTERM: refuse new requests */
    atomic_int abort_jobs;        /* shutdown deadline passed: cancel running work */
    atomic_int inflight;          /* requests received and not yet completed */
    struct srv_file_store *files; /* translated files kept for /download_file (libre_api.c) */
    tx_langid *langid;            /* the served source languages (langroute.c); NULL: none */
};

/* Creates the app (no threads, no sockets). Returns NULL on OOM. */
struct srv_app *srv_app_new(const struct cfg_config *cfg);
/* Starts listening (HTTP threads). /healthz answers from now on; /readyz once loaded. */
int srv_app_listen(struct srv_app *app);
/* Loads every model and starts the workers; then the app is ready. Returns 0, or -1 after
 * logging which model failed and why. */
int srv_app_load(struct srv_app *app);
/* Graceful stop: refuse new requests, finish in-flight ones (cancelling what still runs after
 * shutdown_timeout_ms), stop workers and HTTP threads. */
void srv_app_stop(struct srv_app *app);
void srv_app_free(struct srv_app *app);

/* The embedded openapi.yaml (generated at build time). */
extern const char *const srv_openapi_yaml;
extern const size_t srv_openapi_yaml_len;

#endif
