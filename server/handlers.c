/* handlers.c — operations and metadata routes, and GET /attention/{id}. */
#include "handlers.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "attnsel.h"
#include "attnview.h"
#include "jsonw.h"

static void answer_json(struct srv_response *r, int status, json_t *j)
{
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    srv_response_json(r, status, body, body ? strlen(body) : 0);
}

void srv_handle_healthz(struct srv_app *app, struct srv_response *r)
{
    (void)app;
    static const char ok[] = "{\"status\":\"ok\"}";
    srv_response_json(r, 200, strdup(ok), sizeof ok - 1);
}

void srv_handle_readyz(struct srv_app *app, struct srv_response *r)
{
    if (atomic_load(&app->draining)) {
        struct srv_err e;
        srv_fail(&e, SRV_E_SHUTTING_DOWN, "the server is shutting down");
        srv_response_error(r, &e);
        return;
    }
    if (!atomic_load(&app->ready)) {
        struct srv_err e;
        srv_fail(&e, SRV_E_NOT_READY, "loading models (%d of %d loaded)",
                 atomic_load(&app->n_loaded), app->reg.n);
        srv_response_error(r, &e);
        return;
    }
    json_t *names = json_array();
    for (int i = 0; i < app->reg.n; i++)
        json_array_append_new(names, json_string(app->reg.models[i].name));
    answer_json(r, 200, json_pack("{s:s, s:o}", "status", "ready", "models", names));
}

void srv_handle_metrics(struct srv_app *app, struct srv_response *r)
{
    struct srv_gauges g;
    memset(&g, 0, sizeof g);
    if (app->pool) {
        g.queue_depth = srv_pool_queued(app->pool);
        g.queue_capacity = srv_pool_capacity(app->pool);
        g.workers_busy = srv_pool_busy(app->pool);
    } else {
        g.queue_capacity = app->cfg->queue_depth;
    }
    g.workers = app->cfg->workers;
    g.inflight = atomic_load(&app->inflight);
    g.ready = atomic_load(&app->ready);
    struct srv_attn_store_stats st;
    srv_attn_store_stats(app->store, &st);
    g.attention_store_bytes = st.bytes;
    g.attention_store_entries = st.entries;
    g.attention_store_evictions = st.evictions;
    size_t len;
    char *body = srv_metrics_render(app->metrics, &g, &len);
    srv_response_json(r, 200, body, len);
    if (body) r->content_type = SRV_CT_PROMETHEUS;
}

void srv_handle_models(struct srv_app *app, struct srv_response *r)
{
    json_t *list = json_array();
    for (int i = 0; i < app->reg.n; i++) {
        const struct srv_model *m = &app->reg.models[i];
        json_t *o = srv_model_to_json(m);
        if (o) json_object_set_new(o, "loaded", json_boolean(atomic_load(&m->loaded)));
        json_array_append_new(list, o);
    }
    answer_json(r, 200, json_pack("{s:o}", "models", list));
}

void srv_handle_openapi(struct srv_app *app, struct srv_response *r)
{
    (void)app;
    srv_response_free(r);
    r->status = 200;
    r->code = SRV_OK;
    r->content_type = SRV_CT_YAML;
    r->body = (char *)srv_openapi_yaml;
    r->len = srv_openapi_yaml_len;
    r->body_static = 1;
}

/* The selected layer and head exist in the entry; a query without layer gets the last one. */
static int check_slice(const struct srv_attn_entry *e, struct srv_attn_query *q,
                       struct srv_err *err)
{
    if (q->kind != SRV_KIND_CROSS && e->cross_only) return srv_attn_fail_cross_only(e, q->kind, err);
    int nl, R, C;
    srv_attn_shape(e, q->kind, &nl, &R, &C);
    if (q->layer < 0) q->layer = nl - 1;
    if (q->layer < 0 || q->layer >= nl)
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "layer is %d, but the %s attention has %d layers (0-%d)", q->layer,
                        srv_attn_kind_name(q->kind), nl, nl - 1);
    if (q->agg == SRV_AGG_NONE && q->head >= e->n_heads)
        return srv_fail(err, SRV_E_INVALID_VALUE, "head is %d, but the model has %d heads (0-%d)",
                        q->head, e->n_heads, e->n_heads - 1);
    return 0;
}

static void put_labels(struct srv_buf *b, char *const *v, int n)
{
    srv_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        if (i) srv_buf_putc(b, ',');
        srv_buf_json_string(b, v[i], strlen(v[i]));
    }
    srv_buf_putc(b, ']');
}

/* {"id", "model", "kind", "layer", "head", "rows", "cols", "matrix"} of one checked slice. */
static void write_slice_json(struct srv_buf *b, const struct srv_attn_entry *e,
                             const struct srv_attn_query *q)
{
    int nl, R, C;
    srv_attn_shape(e, q->kind, &nl, &R, &C);
    size_t rc = (size_t)R * (size_t)C;
    float *m = malloc((rc ? rc : 1) * sizeof *m);
    if (!m) {
        b->oom = 1;
        return;
    }
    srv_attn_slice(e, q->kind, q->layer, q->head, q->agg, m);
    srv_buf_puts(b, "{\"id\":");
    srv_buf_json_string(b, e->id, strlen(e->id));
    srv_buf_printf(b, ",\"model\":");
    srv_buf_json_string(b, e->model, strlen(e->model));
    srv_buf_printf(b, ",\"kind\":\"%s\",\"layer\":%d,\"head\":", srv_attn_kind_name(q->kind),
                   q->layer);
    if (q->agg == SRV_AGG_MEAN)
        srv_buf_puts(b, "\"mean\"");
    else if (q->agg == SRV_AGG_MAX)
        srv_buf_puts(b, "\"max\"");
    else
        srv_buf_printf(b, "%d", q->head);
    srv_buf_puts(b, ",\"rows\":");
    put_labels(b, srv_attn_row_labels(e, q->kind), R);
    srv_buf_puts(b, ",\"cols\":");
    put_labels(b, srv_attn_col_labels(e, q->kind), C);
    srv_buf_puts(b, ",\"matrix\":");
    srv_attn_write_matrix(b, m, R, C);
    srv_buf_putc(b, '}');
    free(m);
}

void srv_handle_attention_get(struct srv_app *app, const char *id, const struct srv_form *query,
                              struct srv_response *r)
{
    struct srv_err err;
    struct srv_attn_query q;
    /* the query is checked before the lookup so a bad request gets its 422 either way */
    if (srv_attn_query_parse(query, &q, &err)) {
        srv_response_error(r, &err);
        return;
    }
    struct srv_attn_entry *e = srv_attn_store_get(app->store, id);
    if (!e) {
        srv_fail(&err, SRV_E_ATTENTION_NOT_FOUND,
                 "no attention result with this id (unknown, or expired and dropped; results "
                 "are kept for %d s within %d MiB)",
                 app->cfg->attention_store.ttl_s, app->cfg->attention_store.max_mb);
        srv_response_error(r, &err);
        return;
    }
    if (check_slice(e, &q, &err)) {
        srv_attn_store_release(app->store, e);
        srv_response_error(r, &err);
        return;
    }
    struct srv_buf b;
    srv_buf_init(&b);
    if (q.svg)
        srv_attn_write_svg(&b, e, q.kind, q.layer, q.head, q.agg);
    else
        write_slice_json(&b, e, &q);
    srv_attn_store_release(app->store, e);
    size_t len;
    char *body = srv_buf_steal(&b, &len);
    srv_response_json(r, 200, body, len);
    if (body && q.svg) r->content_type = SRV_CT_SVG;
}
