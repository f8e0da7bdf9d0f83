/* infer.h — inference jobs: prepared on an HTTP thread (model choice, parameters, every check
 * that needs no model run), run on a worker (tx_text_generate with cancellation on client
 * disconnect, deadline and shutdown), answered as JSON. */
#ifndef ATTNSERVE_SRV_INFER_H
#define ATTNSERVE_SRV_INFER_H

#include <stdatomic.h>
#include <stdint.h>

#include "app.h"
#include "libre.h"
#include "pool.h"
#include "request.h"
#include "response.h"
#include "tx.h"

typedef enum { SRV_JOB_TRANSLATE, SRV_JOB_SUMMARIZE, SRV_JOB_ATTENTION } srv_job_kind;

/* State of one worker thread: a session per model. */
struct srv_worker {
    int index;
    int n_sessions;
    tx_session **sessions; /* (n_sessions), indexed by srv_model.index */
};
/* srv_pool callbacks; user = struct srv_app *. */
void *srv_worker_init(int index, void *app);
void srv_worker_fini(void *worker, void *app);

/* Text runs of one LibreTranslate HTML item. */
struct srv_html_item {
    struct srv_html_piece *pieces; /* owned */
    int n_pieces;
    int first_text; /* index of its first run in the job's texts */
    int n_text;     /* its runs */
};

struct srv_infer {
    struct srv_job base; /* first: the pool sees this */
    srv_job_kind kind;
    struct srv_app *app;
    const struct srv_model *model;
    const struct srv_gen_request *gen;       /* translate/summarize, borrowed */
    const struct srv_attention_request *att; /* attention, borrowed */
    struct tx_text_params params;
    int n_texts;                /* texts given to the core */
    const char **texts;         /* (n_texts) owned array, strings borrowed from the request */
    size_t *lens;               /* (n_texts) owned */
    struct srv_html_item *html; /* (gen->n_texts) for LibreTranslate format=html, else NULL */
    int fd;                     /* client socket for disconnect checks; -1 = none */
    int64_t received_ns;        /* request arrival */
    int64_t deadline_ns;        /* answer by this time (CLOCK_MONOTONIC) */
    atomic_int cancel_reason;   /* -1, or SRV_CANCEL_* once cancelled */
    struct srv_response resp;
    /* called on the worker once resp is filled; the job must not be touched after it */
    void (*done)(struct srv_infer *job);
    void *done_arg;
};

/* Prepares a /translate or /summarize job. Returns 0, or -1 with err (4xx). */
int srv_infer_prepare_gen(struct srv_infer *j, struct srv_app *app, srv_job_kind kind,
                          const struct srv_gen_request *req, struct srv_err *err);
/* Prepares a POST /attention job. */
int srv_infer_prepare_attention(struct srv_infer *j, struct srv_app *app,
                                const struct srv_attention_request *req, struct srv_err *err);
/* Frees what prepare allocated (not the struct, not resp). */
void srv_infer_free(struct srv_infer *j);
/* srv_job_fn: runs the job on a worker and calls j->done. */
void srv_infer_run(struct srv_job *job, void *worker);

#endif
