/* metrics.c — counters and histograms on C11 atomics, rendered in Prometheus text format. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "jsonw.h"

/* Latency buckets in seconds (upper bounds; +Inf implicit). */
static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define NB (sizeof bounds / sizeof bounds[0])

/* HTTP statuses counted individually; anything else is "other". */
static const int statuses[] = {
    200, 204, 400, 401, 404, 405, 408, 413, 415, 422, SRV_STATUS_CLIENT_CLOSED, 500, 503};
#define NS (sizeof statuses / sizeof statuses[0])

struct hist {
    atomic_uint_fast64_t bucket[NB + 1]; /* last = +Inf */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
};

/* Rows of one decode step (upper bounds; +Inf implicit). */
static const int row_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define NR (sizeof row_bounds / sizeof row_bounds[0])

struct model_m {
    char *name;
    struct hist inference;
    struct hist step;                    /* seconds of one batched decode step */
    struct hist ttft;                    /* arrival to the first generated tokens */
    atomic_uint_fast64_t rows[NR + 1];   /* decode steps by rows, last = +Inf */
    atomic_uint_fast64_t rows_sum;
    atomic_uint_fast64_t tokens_in, tokens_out;
    atomic_uint_fast64_t load_us;
};

struct srv_metrics {
    const char *const *routes;
    int n_routes;
    atomic_uint_fast64_t *requests; /* (n_routes, NS + 1) */
    struct hist *latency;           /* (n_routes) */
    struct hist queue_wait;
    atomic_uint_fast64_t rejected;
    atomic_uint_fast64_t cancelled[3];
    struct model_m *models; /* (n_models) */
    int n_models;
};

struct srv_metrics *srv_metrics_new(const char *const *route_labels, int n_routes,
                                    const char *const *model_names, int n_models)
{
    struct srv_metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->routes = route_labels;
    m->n_routes = n_routes;
    m->requests = calloc((size_t)n_routes * (NS + 1), sizeof *m->requests);
    m->latency = calloc((size_t)n_routes, sizeof *m->latency);
    m->models = calloc(n_models > 0 ? (size_t)n_models : 1, sizeof *m->models);
    if (!m->requests || !m->latency || !m->models) {
        srv_metrics_free(m);
        return NULL;
    }
    m->n_models = n_models;
    for (int i = 0; i < n_models; i++) {
        m->models[i].name = strdup(model_names[i]);
        if (!m->models[i].name) {
            srv_metrics_free(m);
            return NULL;
        }
    }
    return m;
}

void srv_metrics_free(struct srv_metrics *m)
{
    if (!m) return;
    for (int i = 0; m->models && i < m->n_models; i++)
        free(m->models[i].name);
    free(m->models);
    free(m->requests);
    free(m->latency);
    free(m);
}

static void observe(struct hist *h, double seconds)
{
    if (!(seconds >= 0)) seconds = 0;
    size_t i = 0;
    while (i < NB && seconds > bounds[i])
        i++;
    atomic_fetch_add(&h->bucket[i], 1);
    atomic_fetch_add(&h->count, 1);
    atomic_fetch_add(&h->sum_us, (uint_fast64_t)(seconds * 1e6 + 0.5));
}

void srv_metrics_request(struct srv_metrics *m, int route, int status, double seconds)
{
    if (!m || route < 0 || route >= m->n_routes) return;
    size_t si = NS;
    for (size_t i = 0; i < NS; i++)
        if (statuses[i] == status) si = i;
    atomic_fetch_add(&m->requests[(size_t)route * (NS + 1) + si], 1);
    observe(&m->latency[route], seconds);
}

void srv_metrics_queue_wait(struct srv_metrics *m, double seconds)
{
    if (m) observe(&m->queue_wait, seconds);
}

void srv_metrics_rejected(struct srv_metrics *m)
{
    if (m) atomic_fetch_add(&m->rejected, 1);
}

void srv_metrics_cancelled(struct srv_metrics *m, int reason)
{
    if (m && reason >= 0 && reason < 3) atomic_fetch_add(&m->cancelled[reason], 1);
}

void srv_metrics_inference(struct srv_metrics *m, int model, double seconds, long in_tokens,
                           long out_tokens)
{
    if (!m || model < 0 || model >= m->n_models) return;
    observe(&m->models[model].inference, seconds);
    atomic_fetch_add(&m->models[model].tokens_in, (uint_fast64_t)(in_tokens > 0 ? in_tokens : 0));
    atomic_fetch_add(&m->models[model].tokens_out,
                     (uint_fast64_t)(out_tokens > 0 ? out_tokens : 0));
}

void srv_metrics_first_token(struct srv_metrics *m, int model, double seconds)
{
    if (!m || model < 0 || model >= m->n_models) return;
    observe(&m->models[model].ttft, seconds);
}

void srv_metrics_batch_step(struct srv_metrics *m, int model, int rows, double seconds)
{
    if (!m || model < 0 || model >= m->n_models) return;
    size_t i = 0;
    while (i < NR && rows > row_bounds[i])
        i++;
    atomic_fetch_add(&m->models[model].rows[i], 1);
    atomic_fetch_add(&m->models[model].rows_sum, (uint_fast64_t)(rows > 0 ? rows : 0));
    observe(&m->models[model].step, seconds);
}

void srv_metrics_model_loaded(struct srv_metrics *m, int model, double seconds)
{
    if (!m || model < 0 || model >= m->n_models) return;
    atomic_store(&m->models[model].load_us, (uint_fast64_t)(seconds * 1e6 + 0.5));
}

/* Writes one histogram with an optional label pair (name="value"). */
static void put_hist(struct srv_buf *b, const char *name, const char *lk, const char *lv,
                     struct hist *h)
{
    uint64_t cum = 0;
    char lbl[160];
    if (lk)
        snprintf(lbl, sizeof lbl, "%s=\"%s\",", lk, lv);
    else
        lbl[0] = '\0';
    for (size_t i = 0; i <= NB; i++) {
        cum += atomic_load(&h->bucket[i]);
        if (i < NB)
            srv_buf_printf(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, lbl, bounds[i],
                           (unsigned long long)cum);
        else
            srv_buf_printf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, lbl,
                           (unsigned long long)cum);
    }
    if (lk) lbl[strlen(lbl) - 1] = '\0'; /* drop the trailing comma */
    srv_buf_printf(b, "%s_sum%s%s%s %.6f\n", name, lk ? "{" : "", lbl, lk ? "}" : "",
                   (double)atomic_load(&h->sum_us) / 1e6);
    srv_buf_printf(b, "%s_count%s%s%s %llu\n", name, lk ? "{" : "", lbl, lk ? "}" : "",
                   (unsigned long long)atomic_load(&h->count));
}

char *srv_metrics_render(struct srv_metrics *m, const struct srv_gauges *g, size_t *len)
{
    struct srv_buf b;
    srv_buf_init(&b);
    srv_buf_puts(&b, "# HELP attnserve_http_requests_total HTTP requests answered, by route "
                     "template and status.\n# TYPE attnserve_http_requests_total counter\n");
    for (int r = 0; r < m->n_routes; r++)
        for (size_t s = 0; s <= NS; s++) {
            uint64_t v = atomic_load(&m->requests[(size_t)r * (NS + 1) + s]);
            if (!v) continue;
            if (s < NS)
                srv_buf_printf(&b,
                               "attnserve_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                               m->routes[r], statuses[s], (unsigned long long)v);
            else
                srv_buf_printf(
                    &b, "attnserve_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                    m->routes[r], (unsigned long long)v);
        }
    srv_buf_puts(&b, "# HELP attnserve_http_request_duration_seconds Time from request arrival "
                     "to the answer.\n# TYPE attnserve_http_request_duration_seconds histogram\n");
    for (int r = 0; r < m->n_routes; r++)
        if (atomic_load(&m->latency[r].count))
            put_hist(&b, "attnserve_http_request_duration_seconds", "route", m->routes[r],
                     &m->latency[r]);
    srv_buf_puts(&b, "# HELP attnserve_queue_wait_seconds Time requests waited for a worker.\n"
                     "# TYPE attnserve_queue_wait_seconds histogram\n");
    put_hist(&b, "attnserve_queue_wait_seconds", NULL, NULL, &m->queue_wait);
    srv_buf_printf(&b,
                   "# HELP attnserve_queue_depth Requests waiting for a worker.\n"
                   "# TYPE attnserve_queue_depth gauge\nattnserve_queue_depth %d\n"
                   "# HELP attnserve_queue_capacity Queue slots (beyond: 503).\n"
                   "# TYPE attnserve_queue_capacity gauge\nattnserve_queue_capacity %d\n"
                   "# HELP attnserve_queue_rejected_total Requests refused with 503 because the "
                   "queue was full.\n# TYPE attnserve_queue_rejected_total counter\n"
                   "attnserve_queue_rejected_total %llu\n"
                   "# HELP attnserve_workers Inference workers.\n# TYPE attnserve_workers gauge\n"
                   "attnserve_workers %d\n"
                   "# HELP attnserve_workers_busy Workers running a request now.\n"
                   "# TYPE attnserve_workers_busy gauge\nattnserve_workers_busy %d\n"
                   "# HELP attnserve_inflight_requests Requests received and not yet answered.\n"
                   "# TYPE attnserve_inflight_requests gauge\nattnserve_inflight_requests %d\n"
                   "# HELP attnserve_ready 1 once every model is loaded.\n"
                   "# TYPE attnserve_ready gauge\nattnserve_ready %d\n",
                   g->queue_depth, g->queue_capacity, (unsigned long long)atomic_load(&m->rejected),
                   g->workers, g->workers_busy, g->inflight, g->ready);
    static const char *const reasons[] = {"client_disconnect", "deadline", "shutdown"};
    srv_buf_puts(&b, "# HELP attnserve_cancelled_total Inference stopped before the end.\n"
                     "# TYPE attnserve_cancelled_total counter\n");
    for (int i = 0; i < 3; i++)
        srv_buf_printf(&b, "attnserve_cancelled_total{reason=\"%s\"} %llu\n", reasons[i],
                       (unsigned long long)atomic_load(&m->cancelled[i]));
    srv_buf_puts(&b, "# HELP attnserve_input_tokens_total Tokens read by the models.\n"
                     "# TYPE attnserve_input_tokens_total counter\n");
    for (int i = 0; i < m->n_models; i++)
        srv_buf_printf(&b, "attnserve_input_tokens_total{model=\"%s\"} %llu\n", m->models[i].name,
                       (unsigned long long)atomic_load(&m->models[i].tokens_in));
    srv_buf_puts(&b, "# HELP attnserve_output_tokens_total Tokens generated.\n"
                     "# TYPE attnserve_output_tokens_total counter\n");
    for (int i = 0; i < m->n_models; i++)
        srv_buf_printf(&b, "attnserve_output_tokens_total{model=\"%s\"} %llu\n", m->models[i].name,
                       (unsigned long long)atomic_load(&m->models[i].tokens_out));
    srv_buf_puts(&b, "# HELP attnserve_inference_seconds Time a worker spent on one request.\n"
                     "# TYPE attnserve_inference_seconds histogram\n");
    for (int i = 0; i < m->n_models; i++)
        put_hist(&b, "attnserve_inference_seconds", "model", m->models[i].name,
                 &m->models[i].inference);
    srv_buf_puts(&b, "# HELP attnserve_batch_rows Decoding rows of each batched decode step "
                     "(requests' sentences, beams and samples decoded together).\n"
                     "# TYPE attnserve_batch_rows histogram\n");
    for (int i = 0; i < m->n_models; i++) {
        uint64_t cum = 0;
        for (size_t k = 0; k <= NR; k++) {
            cum += atomic_load(&m->models[i].rows[k]);
            if (k < NR)
                srv_buf_printf(&b, "attnserve_batch_rows_bucket{model=\"%s\",le=\"%d\"} %llu\n",
                               m->models[i].name, row_bounds[k], (unsigned long long)cum);
            else
                srv_buf_printf(&b, "attnserve_batch_rows_bucket{model=\"%s\",le=\"+Inf\"} %llu\n",
                               m->models[i].name, (unsigned long long)cum);
        }
        srv_buf_printf(&b, "attnserve_batch_rows_sum{model=\"%s\"} %llu\n", m->models[i].name,
                       (unsigned long long)atomic_load(&m->models[i].rows_sum));
        srv_buf_printf(&b, "attnserve_batch_rows_count{model=\"%s\"} %llu\n", m->models[i].name,
                       (unsigned long long)cum);
    }
    srv_buf_puts(&b, "# HELP attnserve_batch_step_seconds Time of one batched decode step.\n"
                     "# TYPE attnserve_batch_step_seconds histogram\n");
    for (int i = 0; i < m->n_models; i++)
        put_hist(&b, "attnserve_batch_step_seconds", "model", m->models[i].name,
                 &m->models[i].step);
    srv_buf_puts(&b, "# HELP attnserve_time_to_first_token_seconds Time from a request's arrival "
                     "to its first generated tokens (batched requests).\n"
                     "# TYPE attnserve_time_to_first_token_seconds histogram\n");
    for (int i = 0; i < m->n_models; i++)
        put_hist(&b, "attnserve_time_to_first_token_seconds", "model", m->models[i].name,
                 &m->models[i].ttft);
    srv_buf_puts(&b, "# HELP attnserve_model_load_seconds Time it took to load each model.\n"
                     "# TYPE attnserve_model_load_seconds gauge\n");
    for (int i = 0; i < m->n_models; i++)
        srv_buf_printf(&b, "attnserve_model_load_seconds{model=\"%s\"} %.6f\n", m->models[i].name,
                       (double)atomic_load(&m->models[i].load_us) / 1e6);
    srv_buf_printf(&b,
                   "# HELP attnserve_attention_store_bytes Memory held by kept /attention "
                   "results.\n# TYPE attnserve_attention_store_bytes gauge\n"
                   "attnserve_attention_store_bytes %zu\n"
                   "# HELP attnserve_attention_store_entries Kept /attention results.\n"
                   "# TYPE attnserve_attention_store_entries gauge\n"
                   "attnserve_attention_store_entries %d\n"
                   "# HELP attnserve_attention_store_evictions_total Results dropped to make "
                   "room.\n# TYPE attnserve_attention_store_evictions_total counter\n"
                   "attnserve_attention_store_evictions_total %llu\n",
                   g->attention_store_bytes, g->attention_store_entries,
                   (unsigned long long)g->attention_store_evictions);
    return srv_buf_steal(&b, len);
}
