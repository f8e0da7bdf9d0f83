/* metrics.h — Prometheus metrics: request counts by route and status, latency histograms,
 * queue depth and wait, tokens, inference time, model load time. Lock-free counters; any
 * thread may record. */
#ifndef ATTNSERVE_SRV_METRICS_H
#define ATTNSERVE_SRV_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct srv_metrics;

/* route_labels: (n_routes) path templates used as the "route" label (borrowed, static);
 * model_names: (n_models), copied. Owned: srv_metrics_free. */
struct srv_metrics *srv_metrics_new(const char *const *route_labels, int n_routes,
                                    const char *const *model_names, int n_models);
void srv_metrics_free(struct srv_metrics *m);

void srv_metrics_request(struct srv_metrics *m, int route, int status, double seconds);
void srv_metrics_queue_wait(struct srv_metrics *m, double seconds);
void srv_metrics_rejected(struct srv_metrics *m);
enum { SRV_CANCEL_DISCONNECT = 0, SRV_CANCEL_DEADLINE = 1, SRV_CANCEL_SHUTDOWN = 2 };
void srv_metrics_cancelled(struct srv_metrics *m, int reason);
/* Time from a request's arrival to its first generated tokens (batched requests). */
void srv_metrics_first_token(struct srv_metrics *m, int model, double seconds);
/* One batched decode step of a worker for a model: its rows and its time. */
void srv_metrics_batch_step(struct srv_metrics *m, int model, int rows, double seconds);
void srv_metrics_inference(struct srv_metrics *m, int model, double seconds, long in_tokens,
                           long out_tokens);
void srv_metrics_model_loaded(struct srv_metrics *m, int model, double seconds);

/* Values sampled when /metrics is read. */
struct srv_gauges {
    int queue_depth, queue_capacity, workers, workers_busy, inflight, ready;
    size_t attention_store_bytes;
    int attention_store_entries;
    uint64_t attention_store_evictions;
};

/* The Prometheus text exposition (version 0.0.4). Owned (free()); NULL on OOM. */
char *srv_metrics_render(struct srv_metrics *m, const struct srv_gauges *g, size_t *len);

#endif
