/* app.c — wiring the service together; start-up order and graceful shutdown. */
#include "app.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "infer.h"
#include "langroute.h"
#include "libre_api.h"
#include "log.h"
#include "route.h"

struct srv_app *srv_app_new(const struct cfg_config *cfg)
{
    struct srv_app *app = calloc(1, sizeof *app);
    if (!app) return NULL;
    app->cfg = cfg;
    if (srv_registry_init(&app->reg, cfg)) goto fail;
    app->store = srv_attn_store_new((size_t)cfg->attention_store.max_mb << 20,
                                    cfg->attention_store.max_entries, cfg->attention_store.ttl_s);
    const char **names = calloc(cfg->n_models > 0 ? (size_t)cfg->n_models : 1, sizeof *names);
    if (!names) goto fail;
    for (int i = 0; i < cfg->n_models; i++)
        names[i] = cfg->models[i].name;
    app->metrics = srv_metrics_new(srv_route_labels(), SRV_R_COUNT, names, cfg->n_models);
    free(names);
    app->files = srv_file_store_new(cfg->attention_store.ttl_s);
    if (!app->store || !app->metrics || !app->files) goto fail;
    return app;
fail:
    srv_app_free(app);
    return NULL;
}

int srv_app_listen(struct srv_app *app)
{
    if (srv_http_start(app)) return -1;
    struct srv_logrec r;
    if (srv_log_begin(&r, CFG_LOG_INFO, "listening")) {
        srv_log_str(&r, "host", app->cfg->host);
        srv_log_int(&r, "port", app->port);
        srv_log_int(&r, "http_threads", app->cfg->http_threads);
    }
    srv_log_end(&r);
    return 0;
}

int srv_app_load(struct srv_app *app)
{
    for (int i = 0; i < app->reg.n; i++) {
        char msg[1024];
        if (srv_registry_load(&app->reg, i, app->cfg, msg, sizeof msg)) {
            srv_log_msg(CFG_LOG_ERROR, "model_load_failed", "%s", msg);
            return -1;
        }
        const struct srv_model *m = &app->reg.models[i];
        srv_metrics_model_loaded(app->metrics, i, m->load_ms / 1e3);
        atomic_fetch_add(&app->n_loaded, 1);
        struct srv_logrec r;
        if (srv_log_begin(&r, CFG_LOG_INFO, "model_loaded")) {
            srv_log_str(&r, "model", m->name);
            srv_log_str(&r, "task", cfg_task_name(m->task));
            srv_log_str(&r, "architecture", m->info.model_type);
            srv_log_int(&r, "parameters", m->info.n_params);
            srv_log_str(&r, "dtype", m->info.dtype);
            srv_log_num(&r, "load_ms", m->load_ms, 1);
        }
        srv_log_end(&r);
    }
    if (srv_langid_create(&app->reg, NULL, &app->langid)) return -1;
    static const struct srv_batcher batcher = {srv_batch_room, srv_batch_offer, srv_batch_step};
    if (srv_pool_start_batching(&app->pool, app->cfg->workers, app->cfg->queue_depth,
                                srv_worker_init, srv_worker_fini, app, &batcher)) {
        srv_log_msg(CFG_LOG_ERROR, "workers", "cannot start %d inference workers",
                    app->cfg->workers);
        return -1;
    }
    atomic_store(&app->ready, 1);
    srv_log_msg(CFG_LOG_INFO, "ready", "%d models loaded, %d workers, queue of %d", app->reg.n,
                app->cfg->workers, app->cfg->queue_depth);
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void srv_app_stop(struct srv_app *app)
{
    atomic_store(&app->draining, 1);
    srv_http_quiesce(app);
    /* let in-flight requests finish; past the deadline, cancel what still runs */
    int64_t deadline = srv_now_ns() + (int64_t)app->cfg->shutdown_timeout_ms * 1000000LL;
    while (atomic_load(&app->inflight) > 0 && srv_now_ns() < deadline)
        sleep_ms(10);
    int left = atomic_load(&app->inflight);
    if (left > 0) {
        srv_log_msg(CFG_LOG_WARN, "shutdown", "cancelling %d requests still running after %d ms",
                    left, app->cfg->shutdown_timeout_ms);
        atomic_store(&app->abort_jobs, 1);
    }
    if (app->pool) srv_pool_stop(app->pool); /* runs (and so cancels) anything still queued */
    app->pool = NULL;
    /* give resumed connections a moment to send their last answers */
    int64_t flush = srv_now_ns() + 2000000000LL;
    while (atomic_load(&app->inflight) > 0 && srv_now_ns() < flush)
        sleep_ms(10);
    srv_http_stop(app);
}

void srv_app_free(struct srv_app *app)
{
    if (!app) return;
    if (app->pool) srv_pool_stop(app->pool);
    if (app->daemon) srv_http_stop(app);
    srv_attn_store_free(app->store);
    srv_metrics_free(app->metrics);
    srv_registry_free(&app->reg);
    tx_langid_free(app->langid);
    srv_file_store_free(app->files);
    free(app);
}
