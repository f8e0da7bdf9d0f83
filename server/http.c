/* http.c — libmicrohttpd glue: per-request state from the first callback to the completion
 * callback, which frees it on every path. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "connguard.h"
#include "handlers.h"
#include "infer.h"
#include "jsonw.h"
#include "langroute.h"
#include "libre_api.h"
#include "log.h"
#include "request.h"
#include "route.h"

#ifdef ATTNSERVE_HAVE_WEB
#include "web_assets.h"
#endif

/* A body over the size or time limit is read and dropped up to this many times the limit
 * before the connection is cut. */
#define DISCARD_FACTOR 4
/* A refused body is read and dropped up to the larger of DISCARD_FACTOR times the limit and
 * this many bytes (within DISCARD_FACTOR times the body deadline), so that a client that sends
 * a few megabytes without waiting reads the 413 instead of a broken pipe, as nginx's lingering
 * close does; a larger one is answered at once and cut off. */
#define LINGER_MIN_BYTES ((unsigned long long)64 << 20)

/* ---------------------------------------------------------------------------------------- */
/* Per-request state                                                                        */
/* ---------------------------------------------------------------------------------------- */

/* Where a request stands between libmicrohttpd's callbacks. libmicrohttpd calls on_request
 * once with the headers, once per piece of body, and once more when the request is fully
 * received; it queues an answer only before a body arrives or after the last call.
 *
 *   HEADERS --(answered at once, no body: error, OPTIONS, web asset)--> DEFERRED
 *   HEADERS --(answered at once, with a body; a GET with a body too)--> ANSWERED
 *   HEADERS --(GET/HEAD without body)---------------------------------> NO_BODY
 *   HEADERS --(POST)--------------------------------------------------> READ_BODY
 *   HEADERS --(POST whose Content-Length is over the limit)-----------> DISCARD_BODY
 *   READ_BODY --(too large, too slow, out of memory)------------------> DISCARD_BODY
 *   DISCARD_BODY --(past discard_cap bytes or the time limit)---------> connection cut
 *   DEFERRED, DISCARD_BODY, NO_BODY --(final call)--------------------> ANSWERED
 *   READ_BODY --(final call: refused)---------------------------------> ANSWERED
 *   READ_BODY --(final call: accepted by the pool)--------------------> QUEUED
 *   QUEUED --(worker done; the connection is resumed)-----------------> ANSWERED
 *   READ_BODY --(final call: accepted, "stream": true)----------------> STREAMING
 *   STREAMING --(worker done: the last event sent)--------------------> (completed)
 *
 * A stream is an event-stream response whose reader (stream_read) sends what the worker has
 * pushed (stream_push) and suspends the connection while there is nothing new; a push resumes
 * it. The worker may outlive the connection (a client that leaves mid-stream): on_completed
 * then only marks it gone and cancels the job, and the worker's last push frees the request.
 *
 * on_completed frees the request from any state (the client may leave at any point). */
enum req_state {
    REQ_HEADERS,      /* inside the first callback: headers read, the request being checked */
    REQ_NO_BODY,      /* a GET or HEAD without body: answered at the final callback */
    REQ_READ_BODY,    /* a POST body arriving and kept (it may be empty) */
    REQ_DISCARD_BODY, /* a body refused while arriving: read and dropped; body_err at the end */
    REQ_DEFERRED,     /* answered in the first callback without body: sent at the final one */
    REQ_QUEUED,       /* with a worker; the connection is suspended until job_done */
    REQ_STREAMING,    /* with a worker; its events are the answer (a stream) */
    REQ_ANSWERED,     /* a response was queued (or given up); the rest of a body is ignored */
};

struct req {
    struct srv_app *app;
    struct MHD_Connection *conn;
    enum req_state state;
    srv_route route;
    char method[16];
    char path[160];
    char id[72]; /* /attention/{id} segment */
    int is_head;
    int is_post;
    /* An answer decided at the first callback waits for the final one when the request has
     * no body: answering before the request counts as fully received makes libmicrohttpd
     * close the connection, which would cost keep-alive clients a reconnect. */
    int expect_body; /* Content-Length other than 0, or Transfer-Encoding */
    int64_t t0;
    char request_id[40];
    char *origin;               /* Origin header, copied at the first call */
    int auth_ok;                /* authorized by header, or no key needed */
    srv_body_kind content_kind; /* of a POST body */
    int libre;                  /* in LibreTranslate's shape: errors in its shape too */
    char *body;
    size_t len, cap;
    int status; /* status queued (for the log); 0 = none */
    srv_code code;
    char model[72];
    long in_tokens, out_tokens;
    double queue_ms, inference_ms;
    int has_gen, has_att, has_job; /* which of gen, att, job hold resources to free */
    struct srv_gen_request gen;
    struct srv_attention_request att;
    struct srv_infer job;
    /* A body found too large or too slow while arriving cannot be answered at once (libmicro-
     * httpd queues answers only before or after a body): it is read and dropped
     * (REQ_DISCARD_BODY), and body_err sent at the final callback, unless it goes on past
     * discard_cap() bytes or DISCARD_FACTOR times the body deadline: then the connection is
     * cut. */
    size_t discarded;
    struct srv_err body_err;
    /* While a body is due, the connection's idle timeout is twice the body deadline:
     * libmicrohttpd calls nothing while no data comes, so its idle timer is the only clock
     * that stops a client that stalls half-way, and twice the deadline still lets a late body
     * arrive and get its 408. The daemon's idle timeout returns with the final call. */
    int body_timeout_set;
    struct srv_response pending; /* the answer of REQ_DEFERRED */
    /* REQ_STREAMING: the events pushed by the worker and not yet sent, under smu */
    int streaming;
    pthread_mutex_t smu;
    struct srv_buf sbuf;
    size_t spos;     /* bytes of sbuf sent */
    int s_finished;  /* the last event is in sbuf */
    int s_suspended; /* the reader suspended the connection: a push resumes it */
    int s_gone;      /* on_completed ran: the connection is no more */
    int s_active;    /* the job is with the pool: its last push comes */
};

/* ---------------------------------------------------------------------------------------- */
/* Sending                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Adds CORS headers when the request's Origin is allowed. */
static void add_cors(const struct req *r, struct MHD_Response *resp, int preflight)
{
    const struct cfg_config *cfg = r->app->cfg;
    if (!cfg->n_cors_origins) return;
    int any = 0, match = 0, specific = 0;
    for (int i = 0; i < cfg->n_cors_origins; i++) {
        const char *o = cfg->cors_origins[i];
        if (!strcmp(o, "*")) {
            any = 1;
            continue;
        }
        specific = 1;
        if (r->origin && !strcmp(o, r->origin)) match = 1;
    }
    /* With specific origins the headers depend on Origin, so every answer says so, also one
     * to a request without Origin: a cache must not replay it to an allowed origin. */
    if (specific) MHD_add_response_header(resp, "Vary", "Origin");
    if (!r->origin || (!any && !match)) return;
    if (match) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->origin);
    } else {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
    }
    MHD_add_response_header(resp, "Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
    if (preflight) {
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", srv_routes[r->route].allow);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Content-Type, Authorization, X-Request-Id");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    }
}

/* What the access log says of an answer: its error code, model, tokens and times. */
static void note_outcome(struct req *r, const struct srv_response *s)
{
    r->code = s->code;
    if (s->model[0]) snprintf(r->model, sizeof r->model, "%s", s->model);
    r->in_tokens = s->in_tokens;
    r->out_tokens = s->out_tokens;
    r->queue_ms = s->queue_ms;
    r->inference_ms = s->inference_ms;
}

/* Turns a plain response into a libmicrohttpd one and queues it (the body is handed over). */
static void send_response(struct req *r, struct srv_response *s)
{
    struct MHD_Response *resp;
    if (r->libre) srv_libre_restyle(s);
    if (s->no_body || !s->body) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        srv_response_free(s);
    } else if (s->body_static) {
        resp = MHD_create_response_from_buffer(s->len, s->body, MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(s->len, s->body, MHD_RESPMEM_MUST_FREE);
        if (resp) s->body = NULL; /* now owned by the response */
    }
    r->state = REQ_ANSWERED;
    r->status = s->status;
    note_outcome(r, s);
    if (!resp) {
        srv_response_free(s);
        return; /* out of memory: the connection is closed without an answer */
    }
    if (s->content_type) MHD_add_response_header(resp, "Content-Type", s->content_type);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (s->content_type && !strcmp(s->content_type, SRV_CT_JSON))
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (s->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", s->retry_after);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    if (s->allow) MHD_add_response_header(resp, "Allow", s->allow);
    if (s->attachment[0]) {
        char cd[160];
        snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", s->attachment);
        MHD_add_response_header(resp, "Content-Disposition", cd);
    }
    if (s->www_authenticate)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"attnserve\"");
    if (atomic_load(&r->app->draining)) MHD_add_response_header(resp, "Connection", "close");
    add_cors(r, resp, r->status == 204 && s->allow != NULL);
    MHD_queue_response(r->conn, (unsigned)s->status, resp);
    MHD_destroy_response(resp);
    srv_response_free(s);
}

/* Sends an answer now, or keeps it for the final callback (REQ_DEFERRED) when it was decided
 * in the first callback of a request without body. */
static enum MHD_Result respond(struct req *r, struct srv_response *s)
{
    if (r->state == REQ_HEADERS && !r->expect_body) {
        r->pending = *s;
        memset(s, 0, sizeof *s);
        r->state = REQ_DEFERRED;
        return MHD_YES;
    }
    send_response(r, s);
    return MHD_YES;
}

static enum MHD_Result respond_error(struct req *r, const struct srv_err *e)
{
    struct srv_response s;
    memset(&s, 0, sizeof s);
    srv_response_error(&s, e);
    return respond(r, &s);
}

/* ---------------------------------------------------------------------------------------- */
/* Jobs                                                                                     */
/* ---------------------------------------------------------------------------------------- */

static void req_free(struct srv_app *app, struct req *r);

/* Worker thread: appends event bytes to r's stream; the last one (final) ends it. Resumes the
 * connection when its reader waits; frees r when the connection is gone and this was the
 * last push. */
static void stream_push(struct req *r, const char *data, size_t n, int final)
{
    pthread_mutex_lock(&r->smu);
    srv_buf_put(&r->sbuf, data, n);
    if (final) {
        r->s_finished = 1;
        r->s_active = 0;
    }
    if (r->s_suspended && !r->s_gone) {
        r->s_suspended = 0;
        MHD_resume_connection(r->conn);
    }
    int orphan = final && r->s_gone;
    pthread_mutex_unlock(&r->smu);
    if (orphan) req_free(r->app, r);
}

static void stream_progress(struct srv_infer *j, const char *event, size_t len)
{
    stream_push(j->done_arg, event, len, 0);
}

/* libmicrohttpd's reader of a stream: what is pushed; nothing new: suspend until a push. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct req *r = cls;
    pthread_mutex_lock(&r->smu);
    size_t avail = r->sbuf.len - r->spos;
    if (avail > 0) {
        size_t n = avail < max ? avail : max;
        memcpy(buf, r->sbuf.data + r->spos, n);
        r->spos += n;
        pthread_mutex_unlock(&r->smu);
        return (ssize_t)n;
    }
    if (r->s_finished || r->sbuf.oom) {
        pthread_mutex_unlock(&r->smu);
        return r->sbuf.oom ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    }
    r->s_suspended = 1;
    MHD_suspend_connection(r->conn);
    pthread_mutex_unlock(&r->smu);
    return 0;
}

/* HTTP thread (on_accept): the stream's response, queued now; the worker's events fill it. */
static void stream_start(struct req *r)
{
    pthread_mutex_init(&r->smu, NULL);
    srv_buf_init(&r->sbuf);
    r->streaming = 1;
    r->s_active = 1;
    r->state = REQ_STREAMING;
    r->status = 200;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, r, NULL);
    if (!resp) return; /* out of memory: the connection is closed without an answer */
    MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* nginx: pass events on */
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    add_cors(r, resp, 0);
    MHD_queue_response(r->conn, 200, resp);
    MHD_destroy_response(resp);
    /* the first event: who answers (the headers go out with it) */
    struct srv_buf ev;
    srv_buf_init(&ev);
    srv_buf_puts(&ev, "event: start\ndata: {\"model\":");
    srv_buf_json_string(&ev, r->job.model->name, strlen(r->job.model->name));
    srv_buf_puts(&ev, ",\"request_id\":");
    srv_buf_json_string(&ev, r->request_id, strlen(r->request_id));
    srv_buf_puts(&ev, "}\n\n");
    srv_buf_put(&r->sbuf, ev.data ? ev.data : "", ev.data ? ev.len : 0);
    srv_buf_free(&ev);
}

/* Worker thread: the answer is ready; queue it on the suspended connection and resume it (a
 * stream: its last event, "done" with the answer or "error" with the error). */
static void job_done(struct srv_infer *j)
{
    struct req *r = j->done_arg;
    if (r->streaming) {
        struct srv_response *s = &j->resp;
        note_outcome(r, s);
        struct srv_buf ev;
        srv_buf_init(&ev);
        srv_buf_puts(&ev, s->status == 200 ? "event: done\ndata: " : "event: error\ndata: ");
        if (s->status != 200) r->status = s->status; /* for the log; the stream said 200 */
        if (s->body && s->len)
            srv_buf_put(&ev, s->body, s->len);
        else
            srv_buf_puts(&ev, "{}");
        srv_buf_puts(&ev, "\n\n");
        srv_response_free(s);
        stream_push(r, ev.data ? ev.data : "", ev.data ? ev.len : 0, 1);
        srv_buf_free(&ev);
        return;
    }
    struct MHD_Connection *c = r->conn;
    send_response(r, &j->resp);
    MHD_resume_connection(c); /* r may be freed from here on */
}

/* Under the queue lock, just before a worker can see the job. */
static void on_accept(struct srv_job *job, void *arg)
{
    (void)job;
    struct req *r = arg;
    if (r->job.progress) {
        stream_start(r);
        return;
    }
    r->state = REQ_QUEUED;
    MHD_suspend_connection(r->conn);
}

static enum MHD_Result submit(struct req *r)
{
    struct srv_app *app = r->app;
    struct srv_infer *j = &r->job;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    j->fd = ci ? ci->connect_fd : -1;
    j->received_ns = r->t0;
    j->deadline_ns = r->t0 + (int64_t)app->cfg->limits.request_timeout_ms * 1000000LL;
    j->done = job_done;
    j->done_arg = r;
    if ((r->has_gen && r->gen.stream) || (r->has_att && r->att.stream)) {
        /* a stream's connection is not suspended while the job runs: its socket is not ours to
         * poll; a client that leaves is seen by on_completed */
        j->progress = stream_progress;
        j->fd = -1;
    }
    srv_pool_submit_result rc = srv_pool_submit(app->pool, &j->base, on_accept, r);
    if (rc == SRV_POOL_OK) return MHD_YES;
    struct srv_err e;
    if (rc == SRV_POOL_FULL) {
        srv_metrics_rejected(app->metrics);
        srv_fail(&e, SRV_E_BUSY, "the server is busy (%d requests waiting); retry shortly",
                 srv_pool_capacity(app->pool));
    } else {
        srv_fail(&e, SRV_E_SHUTTING_DOWN, "the server is shutting down");
    }
    return respond_error(r, &e);
}

/* ---------------------------------------------------------------------------------------- */
/* Routes                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static int check_key(struct req *r, const char *key)
{
    const struct cfg_config *cfg = r->app->cfg;
    return key && srv_auth_check(cfg->api_keys, cfg->n_api_keys, key, strlen(key));
}

static enum MHD_Result unauthorized(struct req *r, const char *why)
{
    struct srv_err e;
    srv_fail(&e, SRV_E_UNAUTHORIZED, "%s", why);
    return respond_error(r, &e);
}

struct query_collect {
    struct srv_form *f;
    int oom, bad_utf8;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct query_collect *q = cls;
    struct srv_form *f = q->f;
    if (!value) value = "";
    if (srv_utf8_check(key, strlen(key)) != strlen(key) ||
        srv_utf8_check(value, strlen(value)) != strlen(value)) {
        q->bad_utf8 = 1;
        return MHD_NO;
    }
    char **k = realloc(f->keys, (size_t)(f->n + 1) * sizeof *k);
    if (k) f->keys = k;
    char **v = realloc(f->vals, (size_t)(f->n + 1) * sizeof *v);
    if (v) f->vals = v;
    size_t *l = realloc(f->lens, (size_t)(f->n + 1) * sizeof *l);
    if (l) f->lens = l;
    if (!k || !v || !l) {
        q->oom = 1;
        return MHD_NO;
    }
    f->keys[f->n] = strdup(key);
    f->vals[f->n] = strdup(value);
    f->lens[f->n] = strlen(value);
    if (!f->keys[f->n] || !f->vals[f->n]) {
        free(f->keys[f->n]);
        free(f->vals[f->n]);
        q->oom = 1;
        return MHD_NO;
    }
    f->n++;
    return MHD_YES;
}

static enum MHD_Result handle_get(struct req *r)
{
    struct srv_app *app = r->app;
    struct srv_response s;
    memset(&s, 0, sizeof s);
    switch (r->route) {
    case SRV_R_HEALTHZ:
        srv_handle_healthz(app, &s);
        break;
    case SRV_R_READYZ:
        srv_handle_readyz(app, &s);
        break;
    case SRV_R_METRICS:
        srv_handle_metrics(app, &s);
        break;
    case SRV_R_MODELS:
        srv_handle_models(app, &s);
        break;
    case SRV_R_LANGUAGES:
        srv_libre_languages(app, &s);
        break;
    case SRV_R_FRONTEND_SETTINGS:
        srv_libre_frontend_settings(app, &s);
        break;
    case SRV_R_DOWNLOAD_FILE:
        srv_libre_download(app, r->id, &s);
        break;
    case SRV_R_OPENAPI:
        srv_handle_openapi(app, &s);
        break;
    case SRV_R_ATTENTION_ID: {
        struct srv_form q;
        memset(&q, 0, sizeof q);
        struct query_collect qc = {&q, 0, 0};
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &qc);
        if (qc.oom || qc.bad_utf8) {
            srv_form_free(&q);
            struct srv_err e;
            if (qc.oom)
                srv_fail(&e, SRV_E_OUT_OF_MEMORY, "out of memory");
            else
                srv_fail(&e, SRV_E_INVALID_ENCODING, "the query string is not valid UTF-8");
            return respond_error(r, &e);
        }
        if (!r->auth_ok && !check_key(r, srv_form_get(&q, "api_key", NULL))) {
            srv_form_free(&q);
            return unauthorized(r, "an API key is required: send Authorization: Bearer <key> "
                                   "(or ?api_key=)");
        }
        srv_handle_attention_get(app, r->id, &q, &s);
        srv_form_free(&q);
        break;
    }
    default: {
        struct srv_err e;
        srv_fail(&e, SRV_E_NOT_FOUND, "no such route");
        srv_response_error(&s, &e);
    }
    }
    return respond(r, &s);
}

/* POST /detect, /suggest, /translate_file (libre_api.c); a file translation is a job. */
static enum MHD_Result handle_libre_post(struct req *r)
{
    struct srv_response s;
    memset(&s, 0, sizeof s);
    if (r->route == SRV_R_DETECT) {
        srv_libre_detect(r->app, r->body ? r->body : "", r->len, r->content_kind, r->auth_ok, &s);
    } else if (r->route == SRV_R_SUGGEST) {
        srv_libre_suggest(r->app, &s);
    } else {
        const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
        const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
        struct srv_err e;
        r->has_gen = 1;
        if (srv_libre_parse_file(r->app, ct, host, r->body ? r->body : "", r->len, r->auth_ok,
                                 &r->gen, &e) ||
            srv_langroute_resolve(r->app, &r->gen, &e))
            return respond_error(r, &e);
        r->has_job = 1;
        if (srv_infer_prepare_gen(&r->job, r->app, SRV_JOB_TRANSLATE, &r->gen, &e))
            return respond_error(r, &e);
        snprintf(r->model, sizeof r->model, "%s", r->job.model->name);
        return submit(r);
    }
    return respond(r, &s);
}

/* The body is complete: parse, authorize, prepare, enqueue. */
static enum MHD_Result handle_post(struct req *r)
{
    struct srv_app *app = r->app;
    const struct cfg_limits *lim = &app->cfg->limits;
    struct srv_err e;
    memset(&e, 0, sizeof e);
    int rc;
    const char *body_key = NULL;
    if (r->route == SRV_R_DETECT || r->route == SRV_R_SUGGEST || r->route == SRV_R_TRANSLATE_FILE)
        return handle_libre_post(r);
    if (r->route == SRV_R_ATTENTION) {
        rc = srv_parse_attention(r->body ? r->body : "", r->len, lim, &r->att, &e);
        r->has_att = 1;
        body_key = r->att.api_key;
    } else if (r->route == SRV_R_TRANSLATE) {
        rc = srv_parse_translate(r->body ? r->body : "", r->len, r->content_kind, lim, &r->gen, &e);
        r->has_gen = 1;
        r->libre = r->gen.libre || r->content_kind == SRV_BODY_FORM;
        body_key = r->gen.api_key;
    } else {
        rc = srv_parse_summarize(r->body ? r->body : "", r->len, lim, &r->gen, &e);
        r->has_gen = 1;
        body_key = r->gen.api_key;
    }
    /* without a valid key, nothing about the request is revealed */
    if (!r->auth_ok && !check_key(r, body_key))
        return unauthorized(r, body_key ? "the API key is not valid"
                                        : "an API key is required: send Authorization: Bearer "
                                          "<key> (or the api_key field)");
    if (rc) return respond_error(r, &e);
    if (!atomic_load(&app->ready)) {
        srv_fail(&e, SRV_E_NOT_READY, "the models are still loading (%d of %d loaded)",
                 atomic_load(&app->n_loaded), app->reg.n);
        return respond_error(r, &e);
    }
    if (r->route == SRV_R_TRANSLATE && srv_langroute_resolve(app, &r->gen, &e))
        return respond_error(r, &e);
    if (r->route == SRV_R_ATTENTION)
        rc = srv_infer_prepare_attention(&r->job, app, &r->att, &e);
    else
        rc = srv_infer_prepare_gen(
            &r->job, app, r->route == SRV_R_TRANSLATE ? SRV_JOB_TRANSLATE : SRV_JOB_SUMMARIZE,
            &r->gen, &e);
    r->has_job = 1;
    if (rc) return respond_error(r, &e);
    snprintf(r->model, sizeof r->model, "%s", r->job.model->name);
    return submit(r);
}

static int serve_web(struct req *r)
{
#ifdef ATTNSERVE_HAVE_WEB
    const unsigned char *data;
    size_t len;
    const char *ct;
    if (!web_asset_find(r->path, &data, &len, &ct)) return 0;
    struct srv_response s;
    memset(&s, 0, sizeof s);
    s.status = 200;
    s.content_type = ct;
    s.body = (char *)data;
    s.len = len;
    s.body_static = 1;
    r->route = SRV_R_WEB;
    respond(r, &s);
    return 1;
#else
    (void)r;
    return 0;
#endif
}

/* OPTIONS (a CORS preflight, or a plain question about the methods) and methods the route does
 * not take are answered from the route table. Returns 1 when it answered. */
static int answer_method(struct req *r, const struct srv_route_def *def, int is_get, int is_options)
{
    struct srv_response s;
    memset(&s, 0, sizeof s);
    if (is_options) {
        s.status = 204;
        s.no_body = 1;
        s.allow = def->allow;
        respond(r, &s);
        return 1;
    }
    int ok = ((is_get || r->is_head) && (def->methods & SRV_M_GET)) ||
             (r->is_post && (def->methods & SRV_M_POST));
    if (ok) return 0;
    struct srv_err e;
    srv_fail(&e, SRV_E_METHOD_NOT_ALLOWED, "%s %s is not allowed; use %s", r->method, def->label,
             def->allow);
    srv_response_error(&s, &e);
    s.allow = def->allow;
    respond(r, &s);
    return 1;
}

/* API keys: a header is checked now; without one a body (or query) may carry it. Sets
 * r->auth_ok. Returns 1 when it answered (a malformed or wrong key). */
static int check_header_key(struct req *r, const struct srv_route_def *def)
{
    const struct cfg_config *cfg = r->app->cfg;
    r->auth_ok = 1;
    if (!def->needs_key || cfg->n_api_keys == 0) return 0;
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    size_t kl = 0;
    const char *key = srv_auth_bearer(h, &kl);
    if (h && !key) {
        unauthorized(r, "Authorization must be \"Bearer <key>\"");
        return 1;
    }
    if (key && !srv_auth_check(cfg->api_keys, cfg->n_api_keys, key, kl)) {
        unauthorized(r, "the API key is not valid");
        return 1;
    }
    r->auth_ok = key != NULL;
    return 0;
}

/* REQ_HEADERS or REQ_READ_BODY -> REQ_DISCARD_BODY: the error is sent at the final callback. */
static void refuse_body(struct req *r, const struct srv_err *e)
{
    r->state = REQ_DISCARD_BODY;
    r->body_err = *e;
}

/* Bytes of a refused body read and dropped before the connection is cut (see LINGER_MIN_BYTES). */
static unsigned long long discard_cap(unsigned long long max_body)
{
    unsigned long long c = DISCARD_FACTOR * max_body;
    return c > LINGER_MIN_BYTES ? c : LINGER_MIN_BYTES;
}

/* A POST's headers are acceptable so far: checks Content-Type and Content-Length, and moves to
 * REQ_READ_BODY, or to REQ_DISCARD_BODY for a declared length over the limit that is cheaper
 * to read than to lose to a reset, or answers at once. */
static enum MHD_Result begin_body(struct req *r)
{
    const struct cfg_limits *lim = &r->app->cfg->limits;
    struct srv_err e;
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    int kind = srv_libre_route(r->route) ? srv_libre_content_kind(r->route, ct, &e)
                                         : srv_content_kind(ct, r->route == SRV_R_TRANSLATE, &e);
    if (kind < 0) return respond_error(r, &e);
    r->content_kind = (srv_body_kind)kind;
    if (r->content_kind == SRV_BODY_FORM) r->libre = 1; /* a form is LibreTranslate's request */
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        unsigned long long cap = (unsigned long long)lim->max_body_bytes;
        if (*end == '\0' && n > cap) {
            srv_fail(&e, SRV_E_PAYLOAD_TOO_LARGE,
                     "the body is %llu bytes; at most %lld are accepted", n, lim->max_body_bytes);
            /* A client waiting for "100 Continue" never sends the body, and one that sends a
             * body far too large is cut off; anything else is read and dropped so the answer
             * is not lost to a reset of a connection with unread data. */
            const char *expect = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Expect");
            if ((expect && !strcasecmp(expect, "100-continue")) || n > discard_cap(cap))
                return respond_error(r, &e);
            refuse_body(r, &e);
        }
    }
    if (r->state == REQ_HEADERS) r->state = REQ_READ_BODY;
    unsigned body_s = 2 * (unsigned)((lim->body_timeout_ms + 999) / 1000);
    if (r->expect_body && body_s < (unsigned)lim->idle_timeout_s) {
        MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, body_s);
        r->body_timeout_set = 1;
    }
    return MHD_YES; /* wait for the body */
}

/* First callback of a request (REQ_HEADERS: headers read, body not yet): everything that can
 * be refused before reading a body is refused here. */
static enum MHD_Result first_call(struct req *r, const char *method)
{
    struct srv_app *app = r->app;
    struct srv_err e;
    int is_get = !strcmp(method, "GET");
    r->is_head = !strcmp(method, "HEAD");
    r->is_post = !strcmp(method, "POST");
    if (atomic_load(&app->draining)) {
        srv_fail(&e, SRV_E_SHUTTING_DOWN, "the server is shutting down");
        return respond_error(r, &e);
    }
    if (r->route == SRV_R_OTHER) {
        if ((is_get || r->is_head) && serve_web(r)) return MHD_YES;
        srv_fail(&e, SRV_E_NOT_FOUND, "no route %.100s (see GET /openapi.yaml)", r->path);
        return respond_error(r, &e);
    }
    const struct srv_route_def *def = &srv_routes[r->route];
    r->libre = srv_libre_route(r->route);
    if (answer_method(r, def, is_get, !strcmp(method, "OPTIONS"))) return MHD_YES;
    if (check_header_key(r, def)) return MHD_YES;
    if (r->is_post) return begin_body(r);
    if (r->expect_body) return handle_get(r); /* answer now; the body is discarded */
    r->state = REQ_NO_BODY;                   /* answered at the final callback */
    return MHD_YES;
}

/* Echoes a caller's X-Request-Id when it is short and plain; else makes one. */
static void set_request_id(struct req *r)
{
    const char *rid = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Request-Id");
    int plain = rid && *rid && strlen(rid) < sizeof r->request_id;
    for (const char *p = rid; plain && *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '-' || *p == '_' || *p == '.'))
            plain = 0;
    if (plain)
        snprintf(r->request_id, sizeof r->request_id, "%s", rid);
    else if (srv_random_id(r->request_id))
        snprintf(r->request_id, sizeof r->request_id, "-");
}

/* The connection's header-deadline watch (on_connection made it), or NULL. */
static struct srv_conn_watch *watch_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* A new request: its state is made, then checked in REQ_HEADERS. */
static enum MHD_Result start_request(struct srv_app *app, struct MHD_Connection *conn,
                                     const char *url, const char *method, void **con_cls)
{
    srv_connguard_request_started(app->guard, watch_of(conn)); /* header complete: in time */
    struct req *r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    *con_cls = r;
    atomic_fetch_add(&app->inflight, 1);
    r->app = app;
    r->conn = conn;
    r->state = REQ_HEADERS;
    r->t0 = srv_now_ns();
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", url);
    const char *id = NULL;
    r->route = srv_route_match(url, &id);
    if (id) snprintf(r->id, sizeof r->id, "%s", id);
    const char *o = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (o && strlen(o) < 256) r->origin = strdup(o);
    set_request_id(r);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
    r->expect_body = (cl && strcmp(cl, "0")) || te;
    return first_call(r, method);
}

/* REQ_DISCARD_BODY: n more bytes dropped; the connection is cut (MHD_NO) past DISCARD_FACTOR
 * times the size or time limit. */
static enum MHD_Result discard_chunk(struct req *r, size_t n, int64_t elapsed_ns)
{
    const struct cfg_limits *lim = &r->app->cfg->limits;
    int64_t limit_ns = (int64_t)lim->body_timeout_ms * 1000000LL;
    r->discarded += n;
    if (r->discarded > (size_t)discard_cap((unsigned long long)lim->max_body_bytes) ||
        elapsed_ns > DISCARD_FACTOR * limit_ns) {
        r->status = srv_code_status(r->body_err.code); /* for the log: cut off */
        r->code = r->body_err.code;
        return MHD_NO;
    }
    return MHD_YES;
}

/* REQ_READ_BODY: keeps n more bytes, or refuses the body when it is late, too large or memory
 * runs out. */
static enum MHD_Result keep_chunk(struct req *r, const char *data, size_t n)
{
    const struct cfg_limits *lim = &r->app->cfg->limits;
    int64_t elapsed = srv_now_ns() - r->t0, limit_ns = (int64_t)lim->body_timeout_ms * 1000000LL;
    struct srv_err e;
    if (elapsed > limit_ns) {
        srv_fail(&e, SRV_E_REQUEST_TIMEOUT, "the body did not arrive within %d ms; send it at once",
                 lim->body_timeout_ms);
        refuse_body(r, &e);
        return discard_chunk(r, n, elapsed);
    }
    if (r->len + n > (size_t)lim->max_body_bytes) {
        srv_fail(&e, SRV_E_PAYLOAD_TOO_LARGE, "the body exceeds %lld bytes", lim->max_body_bytes);
        refuse_body(r, &e);
        return discard_chunk(r, n, elapsed);
    }
    if (r->len + n + 1 > r->cap) {
        size_t nc = r->cap ? r->cap : 4096;
        while (nc < r->len + n + 1)
            nc *= 2;
        if (nc > (size_t)lim->max_body_bytes + 1) nc = (size_t)lim->max_body_bytes + 1;
        char *b = realloc(r->body, nc);
        if (!b) {
            srv_fail(&e, SRV_E_OUT_OF_MEMORY, "out of memory while reading the body");
            refuse_body(r, &e);
            return MHD_YES;
        }
        r->body = b;
        r->cap = nc;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return MHD_YES;
}

/* A piece of body arrived. */
static enum MHD_Result on_body_chunk(struct req *r, const char *data, size_t n)
{
    switch (r->state) {
    case REQ_READ_BODY:
        return keep_chunk(r, data, n);
    case REQ_DISCARD_BODY:
        return discard_chunk(r, n, srv_now_ns() - r->t0);
    case REQ_HEADERS:
    case REQ_NO_BODY:
    case REQ_DEFERRED:
    case REQ_QUEUED:
    case REQ_STREAMING:
    case REQ_ANSWERED:
        break;
    }
    return MHD_YES; /* answered early: the rest of the body is read and ignored */
}

/* The request is fully received (libmicrohttpd's final call before it sends an answer). */
static enum MHD_Result on_request_end(struct req *r)
{
    if (r->body_timeout_set) { /* back to the keep-alive idle timeout */
        r->body_timeout_set = 0;
        MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  (unsigned)r->app->cfg->limits.idle_timeout_s);
    }
    switch (r->state) {
    case REQ_DEFERRED:
        send_response(r, &r->pending);
        return MHD_YES;
    case REQ_DISCARD_BODY:
        return respond_error(r, &r->body_err);
    case REQ_READ_BODY:
        return handle_post(r);
    case REQ_NO_BODY:
        return handle_get(r);
    case REQ_HEADERS: /* not reached: the first callback always leaves it */
    case REQ_QUEUED:
    case REQ_STREAMING:
    case REQ_ANSWERED:
        break;
    }
    return MHD_YES;
}

/* libmicrohttpd's access handler: one dispatch on where the request stands. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct req *r = *con_cls;
    if (!r) return start_request(cls, conn, url, method, con_cls);
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        return on_body_chunk(r, upload, n);
    }
    return on_request_end(r);
}

/* ---------------------------------------------------------------------------------------- */
/* Completion: the one place a request's state is logged and freed                         */
/* ---------------------------------------------------------------------------------------- */

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct srv_app *app = cls;
    if (conn) srv_connguard_request_done(app->guard, watch_of(conn)); /* next header due */
    struct req *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    int status = r->status ? r->status : SRV_STATUS_CLIENT_CLOSED; /* left before any answer */
    double secs = (double)(srv_now_ns() - r->t0) / 1e9;
    srv_metrics_request(app->metrics, r->route, status, secs);
    struct srv_logrec lr;
    cfg_log_level lvl = status >= 500 && status != 503 ? CFG_LOG_WARN : CFG_LOG_INFO;
    if (srv_log_begin(&lr, lvl, "request")) {
        srv_log_str(&lr, "id", r->request_id);
        srv_log_str(&lr, "method", r->method);
        srv_log_str(&lr, "route", srv_routes[r->route].label);
        if (r->route == SRV_R_OTHER || r->route == SRV_R_WEB) {
            char *p = srv_utf8_sanitize(r->path, strlen(r->path));
            srv_log_str(&lr, "path", p);
            free(p);
        }
        srv_log_int(&lr, "status", status);
        if (r->code != SRV_OK) srv_log_str(&lr, "error", srv_code_name(r->code));
        srv_log_num(&lr, "latency_ms", secs * 1e3, 3);
        if (r->model[0]) srv_log_str(&lr, "model", r->model);
        if (r->in_tokens || r->out_tokens) {
            srv_log_int(&lr, "input_tokens", r->in_tokens);
            srv_log_int(&lr, "output_tokens", r->out_tokens);
        }
        if (r->queue_ms > 0 || r->inference_ms > 0) {
            srv_log_num(&lr, "queue_ms", r->queue_ms, 3);
            srv_log_num(&lr, "inference_ms", r->inference_ms, 3);
        }
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) srv_log_int(&lr, "aborted", (int)toe);
    }
    srv_log_end(&lr);
    if (r->streaming) {
        pthread_mutex_lock(&r->smu);
        r->s_gone = 1;
        int active = r->s_active;
        pthread_mutex_unlock(&r->smu);
        if (active) { /* the worker's last push frees it; stop the job */
            int none = -1;
            atomic_compare_exchange_strong(&r->job.cancel_reason, &none, SRV_CANCEL_DISCONNECT);
            return;
        }
    }
    req_free(app, r);
}

/* Frees a request (its job's resources too) once both its connection and its job are done. */
static void req_free(struct srv_app *app, struct req *r)
{
    if (r->streaming) {
        srv_buf_free(&r->sbuf);
        pthread_mutex_destroy(&r->smu);
    }
    if (r->has_job) srv_infer_free(&r->job);
    srv_response_free(&r->job.resp);
    srv_response_free(&r->pending);
    if (r->has_gen) srv_gen_request_free(&r->gen);
    if (r->has_att) srv_attention_request_free(&r->att);
    free(r->body);
    free(r->origin);
    free(r);
    atomic_fetch_sub(&app->inflight, 1);
}

/* ---------------------------------------------------------------------------------------- */
/* Daemon                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* libmicrohttpd's log lines (fmt is its printf format: the attribute tells the compiler so). */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    srv_log_msg(CFG_LOG_DEBUG, "http", "%s", msg);
}

/* libmicrohttpd's connection notifications: each connection's header-deadline watch lives
 * from its start to just before its socket is closed. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct srv_app *app = cls;
    if (!app->guard) return;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? srv_connguard_open(app->guard, ci->connect_fd) : NULL;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        srv_connguard_close(app->guard, *socket_context);
        *socket_context = NULL;
    }
}

/* max_connections sockets need as many descriptors beside the models' and the daemon's own:
 * raise the soft RLIMIT_NOFILE toward the hard one when it is lower (as nginx's
 * worker_rlimit_nofile), and say so when even the hard limit is short. */
static void fit_fd_limit(int max_connections)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_connections + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want) return;
    rlim_t cur = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = cur;
    if (rl.rlim_cur < want)
        srv_log_msg(CFG_LOG_WARN, "listen",
                    "limits.max_connections is %d but only %llu file descriptors are allowed "
                    "(ulimit -n): connections past that are refused at accept",
                    max_connections, (unsigned long long)rl.rlim_cur);
}

/* Resolves the listen address. Returns the address length, or 0. */
static socklen_t resolve(const char *host, int port, struct sockaddr_storage *ss, int *v6)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    *v6 = 0;
    if (!strcmp(host, "*") || !strcmp(host, "0.0.0.0")) {
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
        a4->sin_port = htons((uint16_t)port);
        return sizeof *a4;
    }
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return sizeof *a4;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *v6 = 1;
        return sizeof *a6;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) || !res) return 0;
    socklen_t len = res->ai_addrlen <= sizeof *ss ? res->ai_addrlen : 0;
    if (len) memcpy(ss, res->ai_addr, len);
    if (res->ai_family == AF_INET)
        a4->sin_port = htons((uint16_t)port);
    else if (res->ai_family == AF_INET6)
        a6->sin6_port = htons((uint16_t)port), *v6 = 1;
    freeaddrinfo(res);
    return len;
}

int srv_http_start(struct srv_app *app)
{
    const struct cfg_config *cfg = app->cfg;
    struct sockaddr_storage ss;
    int v6;
    if (!resolve(cfg->host, cfg->port, &ss, &v6)) {
        srv_log_msg(CFG_LOG_ERROR, "listen", "cannot resolve listen.host \"%s\"", cfg->host);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (v6) flags |= MHD_USE_IPv6;
    fit_fd_limit(cfg->limits.max_connections);
    app->guard =
        srv_connguard_new(cfg->limits.header_timeout_ms, cfg->limits.idle_timeout_s * 1000);
    if (!app->guard) {
        srv_log_msg(CFG_LOG_ERROR, "listen", "cannot start the connection watchdog thread");
        return -1;
    }
    app->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, app, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->limits.idle_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->limits.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->limits.max_connections_per_ip,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, app, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        app, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!app->daemon) {
        srv_log_msg(CFG_LOG_ERROR, "listen",
                    "cannot listen on %s:%d (address in use, or not "
                    "permitted)",
                    cfg->host, cfg->port);
        srv_http_stop(app);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(app->daemon, MHD_DAEMON_INFO_BIND_PORT);
    app->port = di ? di->port : cfg->port;
    return 0;
}

void srv_http_quiesce(struct srv_app *app)
{
    if (!app->daemon) return;
    MHD_socket s = MHD_quiesce_daemon(app->daemon);
    if (s != MHD_INVALID_SOCKET) close(s);
}

void srv_http_stop(struct srv_app *app)
{
    if (app->daemon) MHD_stop_daemon(app->daemon);
    srv_connguard_free(app->guard); /* after the daemon: every connection is closed */
    app->guard = NULL;
    app->daemon = NULL;
}
