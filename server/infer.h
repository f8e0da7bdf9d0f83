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

/* State of one worker thread: per model, a session and the continuous batch that runs on it
 * (created at the model's first job), and a second session for attention capture. */
struct srv_worker {
    int index;
    struct srv_app *app;
    int n_sessions;
    tx_session **sessions;    /* (n_sessions), indexed by srv_model.index */
    tx_session **aux;         /* (n_sessions) or NULL entries until a batch needs one */
    tx_text_batch **batches;  /* (n_sessions) or NULL entries */
    uint8_t *unbatched;       /* (n_sessions) 1: no batch fits the session's memory cap */
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

/* A /summarize text in document or highlights mode: what the extractor made of it. */
struct srv_doc {
    int condensed;  /* document mode: 1 when the abstractive model got its best sentences */
    int doc_tokens; /* the whole text's input pieces under the abstractive model's tokenizer */
    char *cond;     /* document mode: the condensed text (owned), or NULL */
    int first, n;   /* highlights mode: its sentences are the job's texts [first, first + n) */
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
    int max_sentences;          /* extractive and highlights modes: sentences per summary */
    int mode;                   /* /summarize: the srv_sum_mode that runs; else 0 */
    const struct srv_model *extractor; /* document/highlights: the han model, or NULL */
    struct tx_text_result *ext; /* the extractor's result on gen->texts (worker), or NULL */
    struct srv_doc *docs;       /* (n_src) when extractor, else NULL */
    int n_src;                  /* the request's texts (borrowed): what the extractor reads */
    const char *const *src_texts;
    const size_t *src_lens;
    struct srv_html_item *html; /* (gen->n_texts) for LibreTranslate format=html, else NULL */
    int fd;                     /* client socket for disconnect checks; -1 = none */
    int64_t received_ns;        /* request arrival */
    int64_t deadline_ns;        /* answer by this time (CLOCK_MONOTONIC) */
    int64_t start_ns;           /* taken by a worker */
    atomic_int cancel_reason;   /* -1, or SRV_CANCEL_* once cancelled */
    struct srv_response resp;
    /* called on the worker once resp is filled; the job must not be touched after it */
    void (*done)(struct srv_infer *job);
    void *done_arg;
    /* streaming ("stream": true), or NULL: called on the worker after a decode step with one
     * server-sent event (len bytes, "event: token\ndata: {...}\n\n") for an item whose text
     * grew; last[i] is the text item i was last reported with (owned) */
    void (*progress)(struct srv_infer *job, const char *event, size_t len);
    char **last;
    /* streaming /attention with kind cross: "attention" events (one per target row, in order)
     * sent so far; the rows come from the decode steps' capture (TX_WANT_STEP_ATTENTION) while
     * the job runs, the rest from the final maps just before the done event */
    int att_sent;
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

/* srv_batcher callbacks (pool.h): continuous batching of jobs per worker and model. room: the
 * worker's batch for the job's model has no request waiting for rows; offer: the job joins
 * that batch (or is answered at once: cancelled, invalid); step: one decode step of every
 * batch with jobs, answering the jobs that ended. */
int srv_batch_room(void *worker, const struct srv_job *job);
void srv_batch_offer(void *worker, struct srv_job *job);
int srv_batch_step(void *worker);

#endif
