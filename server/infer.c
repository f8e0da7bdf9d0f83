/* infer.c — preparing and running inference jobs (their JSON answers: infer_json.c). */
#define _GNU_SOURCE /* POLLRDHUP */
#include "infer.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnview.h"
#include "infer_json.h"
#include "jsonw.h"
#include "langroute.h"
#include "log.h"

/* ---------------------------------------------------------------------------------------- */
/* Workers                                                                                  */
/* ---------------------------------------------------------------------------------------- */

void *srv_worker_init(int index, void *user)
{
    struct srv_app *app = user;
    struct srv_worker *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->index = index;
    w->app = app;
    w->n_sessions = app->reg.n;
    size_t n = app->reg.n > 0 ? (size_t)app->reg.n : 1;
    w->sessions = calloc(n, sizeof *w->sessions);
    w->aux = calloc(n, sizeof *w->aux);
    w->batches = calloc(n, sizeof *w->batches);
    w->unbatched = calloc(n, 1);
    if (!w->sessions || !w->aux || !w->batches || !w->unbatched) {
        free(w->unbatched);
        free(w->sessions);
        free(w->aux);
        free(w->batches);
        free(w);
        return NULL;
    }
    size_t cap = (size_t)app->cfg->limits.session_memory_mb << 20;
    for (int i = 0; i < app->reg.n; i++) {
        struct tx_error e;
        memset(&e, 0, sizeof e);
        if (tx_session_new(app->reg.models[i].model, cap, &w->sessions[i], &e) != TX_OK ||
            tx_session_set_threads(w->sessions[i], app->cfg->engine_threads, &e) != TX_OK) {
            srv_log_msg(CFG_LOG_ERROR, "worker_start", "worker %d, model %s: %s", index,
                        app->reg.models[i].name, e.message);
            srv_worker_fini(w, app);
            return NULL;
        }
    }
    return w;
}

void srv_worker_fini(void *worker, void *user)
{
    (void)user;
    struct srv_worker *w = worker;
    if (!w) return;
    for (int i = 0; i < w->n_sessions; i++) {
        tx_text_batch_free(w->batches[i]); /* before its session */
        if (w->sessions[i]) tx_session_free(w->sessions[i]);
        if (w->aux[i]) tx_session_free(w->aux[i]);
    }
    free(w->sessions);
    free(w->aux);
    free(w->batches);
    free(w->unbatched);
    free(w);
}

/* ---------------------------------------------------------------------------------------- */
/* Preparation (HTTP thread)                                                                */
/* ---------------------------------------------------------------------------------------- */

static void init_job(struct srv_infer *j, struct srv_app *app, srv_job_kind kind)
{
    memset(j, 0, sizeof *j);
    j->kind = kind;
    j->app = app;
    j->fd = -1;
    j->base.run = srv_infer_run;
    atomic_store(&j->cancel_reason, -1);
}

static int set_texts(struct srv_infer *j, int n, struct srv_err *err)
{
    j->texts = calloc(n > 0 ? (size_t)n : 1, sizeof *j->texts);
    j->lens = calloc(n > 0 ? (size_t)n : 1, sizeof *j->lens);
    if (!j->texts || !j->lens) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
    j->n_texts = n;
    return 0;
}

/* The request's texts, as given, are the job's. */
static int copy_texts(struct srv_infer *j, const struct srv_gen_request *req, struct srv_err *err)
{
    if (set_texts(j, req->n_texts, err)) return -1;
    memcpy(j->texts, req->texts, (size_t)req->n_texts * sizeof *j->texts);
    memcpy(j->lens, req->lens, (size_t)req->n_texts * sizeof *j->lens);
    return 0;
}

/* LibreTranslate format=html: every non-blank text run of every item becomes one text. */
static int prepare_html(struct srv_infer *j, const struct srv_gen_request *req, struct srv_err *err)
{
    j->html = calloc((size_t)req->n_texts, sizeof *j->html);
    if (!j->html) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
    int total = 0;
    for (int i = 0; i < req->n_texts; i++) {
        int n = srv_html_split(req->texts[i], req->lens[i], &j->html[i].pieces);
        if (n < 0) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
        j->html[i].n_pieces = n;
        j->html[i].first_text = total;
        for (int k = 0; k < n; k++)
            j->html[i].n_text += j->html[i].pieces[k].is_text;
        total += j->html[i].n_text;
    }
    int cap = j->app->cfg->limits.max_texts * 64;
    if (total > cap)
        return srv_fail(err, SRV_E_TOO_MANY_TEXTS,
                        "the HTML holds %d text runs; at most %d are accepted", total, cap);
    if (set_texts(j, total, err)) return -1;
    int t = 0;
    for (int i = 0; i < req->n_texts; i++)
        for (int k = 0; k < j->html[i].n_pieces; k++) {
            const struct srv_html_piece *p = &j->html[i].pieces[k];
            if (!p->is_text) continue;
            j->texts[t] = req->texts[i] + p->lead;
            j->lens[t] = p->trail - p->lead;
            t++;
        }
    return 0;
}

/* /summarize: the mode that runs and its models. A han model (asked for, or the extractor
 * in mode extractive) summarizes extractively; generating models get the extractor for the
 * modes document (when one is served) and highlights (required). */
static int pick_summary_mode(struct srv_infer *j, const struct srv_gen_request *req,
                             struct srv_err *err)
{
    const struct srv_model *x = srv_registry_extractor(&j->app->reg, j->model);
    int mode = req->mode;
    if (j->model->info.arch == TX_ARCH_HAN) {
        if (mode != SRV_MODE_DEFAULT && mode != SRV_MODE_EXTRACTIVE)
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "model \"%s\" is extractive (han): mode \"%s\" needs a model that "
                            "generates (omit \"model\" for the default summarizer)",
                            j->model->name, srv_sum_mode_names[mode]);
        j->mode = SRV_MODE_EXTRACTIVE;
        return 0;
    }
    if (mode == SRV_MODE_DEFAULT) mode = SRV_MODE_DOCUMENT;
    if ((mode == SRV_MODE_EXTRACTIVE || mode == SRV_MODE_HIGHLIGHTS) && !x)
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "mode \"%s\" needs an extractive (han) model for model \"%s\", and "
                        "none is served",
                        srv_sum_mode_names[mode], j->model->name);
    j->mode = mode;
    if (mode == SRV_MODE_EXTRACTIVE)
        j->model = x; /* the extractor answers */
    else if (mode != SRV_MODE_ABSTRACTIVE)
        j->extractor = x; /* document mode without one: as abstractive */
    return 0;
}

int srv_infer_prepare_gen(struct srv_infer *j, struct srv_app *app, srv_job_kind kind,
                          const struct srv_gen_request *req, struct srv_err *err)
{
    init_job(j, app, kind);
    j->gen = req;
    int task = kind == SRV_JOB_TRANSLATE ? SRV_TASK_TRANSLATE : SRV_TASK_SUMMARIZE;
    if (srv_registry_pick(&app->reg, task, req->model, req->source_lang, req->target_lang,
                          req->libre_auto && !req->source_lang, &j->model, err))
        return -1;
    if (kind == SRV_JOB_SUMMARIZE && pick_summary_mode(j, req, err)) return -1;
    if (j->model->info.arch == TX_ARCH_HAN) {
        /* an extractive summarizer: sentences of the input, scored; nothing is generated */
        if (req->alignment || req->tokens)
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "model \"%s\" is extractive (han): it has no alignment or target "
                            "tokens (\"attention\": true gives its sentence and word weights)",
                            j->model->name);
        j->max_sentences = req->max_sentences > 0 ? req->max_sentences : 3;
        return copy_texts(j, req, err);
    }
    if (req->max_sentences && j->mode != SRV_MODE_HIGHLIGHTS)
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "max_sentences applies to the modes \"extractive\" and \"highlights\"; "
                        "model \"%s\" generates its summary in mode \"%s\"",
                        j->model->name, srv_sum_mode_names[j->mode]);
    if (j->mode == SRV_MODE_HIGHLIGHTS && (req->alignment || req->attention))
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "mode \"highlights\" makes one summary per sentence: ask for "
                        "\"attention\" or \"alignment\" in mode \"document\"");
    j->max_sentences = req->max_sentences > 0 ? req->max_sentences : 3;
    if (j->extractor) {
        j->docs = calloc((size_t)req->n_texts + 1, sizeof *j->docs);
        if (!j->docs) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
        j->n_src = req->n_texts;
        j->src_texts = req->texts;
        j->src_lens = req->lens;
    }
    struct cfg_gen_options opts = req->options;
    if (req->libre && req->libre_alternatives > 0) {
        /* LibreTranslate's alternatives: more beams and returned sequences */
        int want = req->libre_alternatives + 1;
        opts.set |= CFG_OPT_NUM_RETURN_SEQUENCES;
        opts.num_return_sequences = want;
        int beams = (opts.set & CFG_OPT_NUM_BEAMS) ? opts.num_beams
                    : (j->model->cfg->defaults.set & CFG_OPT_NUM_BEAMS)
                        ? j->model->cfg->defaults.num_beams
                        : j->model->base.num_beams;
        if (beams < want) {
            opts.set |= CFG_OPT_NUM_BEAMS;
            opts.num_beams = want;
        }
    }
    if (srv_effective_params(j->model, &opts, &j->params.gen, err)) return -1;
    j->params.prefix = srv_model_prefix(j->model, req->source_lang, req->target_lang);
    j->params.max_input_tokens = j->model->max_input_tokens;
    j->params.truncate = !req->strict;
    j->params.split_sentences = kind == SRV_JOB_TRANSLATE && req->split_sentences;
    if (req->tokens) j->params.want |= TX_WANT_TOKENS;
    if (req->alignment || req->attention) j->params.want |= TX_WANT_TOKENS | TX_WANT_ATTENTION;
    if (req->libre_html) return prepare_html(j, req, err);
    return copy_texts(j, req, err);
}

int srv_infer_prepare_attention(struct srv_infer *j, struct srv_app *app,
                                const struct srv_attention_request *req, struct srv_err *err)
{
    init_job(j, app, SRV_JOB_ATTENTION);
    j->att = req;
    if (srv_registry_pick(&app->reg, req->task, req->model, req->source_lang, req->target_lang, 0,
                          &j->model, err))
        return -1;
    /* layer and head indices are checked before running, against the model's shape */
    const struct tx_model_info *in = &j->model->info;
    if (in->arch == TX_ARCH_HAN)
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "model \"%s\" is extractive (han): POST /summarize scores its sentences; "
                        "/attention serves encoder-decoder models",
                        j->model->name);
    if (!in->self_attention && !(req->kinds & SRV_KIND_CROSS))
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "model \"%s\" has no encoder or decoder self-attention: its one "
                        "attention is the %s cross-attention (kinds [\"cross\"])",
                        j->model->name, in->attention ? in->attention : "decoder's");
    for (int i = 0; i < req->n_layers; i++) {
        int enc = (req->kinds & SRV_KIND_ENCODER) != 0 && in->self_attention;
        int dec = (req->kinds & (SRV_KIND_CROSS | SRV_KIND_DECODER)) != 0;
        if ((enc && req->layers[i] >= in->n_encoder_layers) ||
            (dec && req->layers[i] >= in->n_decoder_layers)) {
            int lim = enc && dec
                          ? (in->n_encoder_layers < in->n_decoder_layers ? in->n_encoder_layers
                                                                         : in->n_decoder_layers)
                      : enc ? in->n_encoder_layers
                            : in->n_decoder_layers;
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "layers[%d] is %d, but model \"%s\" has %d layers for the kinds "
                            "asked (0-%d)",
                            i, req->layers[i], j->model->name, lim, lim - 1);
        }
    }
    for (int i = 0; i < req->n_heads; i++)
        if (req->heads[i] >= in->n_heads)
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "heads[%d] is %d, but model \"%s\" has %d heads (0-%d)", i,
                            req->heads[i], j->model->name, in->n_heads, in->n_heads - 1);
    if (srv_effective_params(j->model, &req->options, &j->params.gen, err)) return -1;
    j->params.prefix = srv_model_prefix(j->model, req->source_lang, req->target_lang);
    j->params.max_input_tokens = j->model->max_input_tokens;
    j->params.truncate = !req->strict;
    j->params.split_sentences = 0;
    j->params.want = TX_WANT_TOKENS | TX_WANT_ATTENTION;
    /* streaming the cross-attention row by row: each decode step keeps its rows (the core's
     * capture costs the other requests nothing) */
    if (req->stream && (req->kinds & SRV_KIND_CROSS)) {
        j->params.want |= TX_WANT_STEP_ATTENTION;
        /* no more than the attention store holds (the maps of the answer must fit there too) */
        j->params.step_attention_max_bytes = (size_t)app->cfg->attention_store.max_mb << 20;
    }
    if (set_texts(j, 1, err)) return -1;
    j->texts[0] = req->text;
    j->lens[0] = req->len;
    if (j->model->task == CFG_TASK_SUMMARIZE) {
        /* whole documents, as POST /summarize's mode document: the maps of what the model read,
         * and the extractor's sentence and word weights */
        j->extractor = srv_registry_extractor(&app->reg, j->model);
        j->mode = SRV_MODE_DOCUMENT;
        j->max_sentences = 3;
        if (j->extractor) {
            j->docs = calloc(2, sizeof *j->docs);
            if (!j->docs) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
            j->n_src = 1;
            j->src_texts = &req->text;
            j->src_lens = &req->len;
        }
    }
    return 0;
}

void srv_infer_free(struct srv_infer *j)
{
    for (int i = 0; j->last && i < j->n_texts; i++) free(j->last[i]);
    free(j->last);
    j->last = NULL;
    for (int i = 0; j->docs && i < j->n_src; i++) free(j->docs[i].cond);
    free(j->docs);
    tx_text_result_free(j->ext);
    j->docs = NULL;
    j->ext = NULL;
    free(j->texts);
    free(j->lens);
    if (j->html && j->gen)
        for (int i = 0; i < j->gen->n_texts; i++)
            free(j->html[i].pieces);
    free(j->html);
    j->texts = NULL;
    j->lens = NULL;
    j->html = NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Cancellation                                                                             */
/* ---------------------------------------------------------------------------------------- */

/* Between decode steps: stop when the deadline passed, the client closed its connection, or
 * the server gave up waiting at shutdown. */
static int should_cancel(void *user)
{
    struct srv_infer *j = user;
    if (atomic_load(&j->cancel_reason) >= 0) return 1;
    int reason = -1;
    if (srv_now_ns() > j->deadline_ns) {
        reason = SRV_CANCEL_DEADLINE;
    } else if (atomic_load(&j->app->abort_jobs)) {
        reason = SRV_CANCEL_SHUTDOWN;
    } else if (j->fd >= 0) {
        /* the connection is suspended (libmicrohttpd does not watch it): a peer that hung up
         * shows as POLLRDHUP/POLLHUP on its socket */
        struct pollfd pf = {.fd = j->fd, .events = POLLRDHUP, .revents = 0};
        if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
            reason = SRV_CANCEL_DISCONNECT;
    }
    if (reason < 0) return 0;
    atomic_store(&j->cancel_reason, reason);
    return 1;
}

static void cancelled_response(struct srv_infer *j)
{
    struct srv_err e;
    int reason = atomic_load(&j->cancel_reason);
    srv_metrics_cancelled(j->app->metrics, reason);
    if (reason == SRV_CANCEL_DEADLINE)
        srv_fail(&e, SRV_E_TIMEOUT, "the request did not finish within its deadline of %d ms",
                 j->app->cfg->limits.request_timeout_ms);
    else if (reason == SRV_CANCEL_SHUTDOWN)
        srv_fail(&e, SRV_E_SHUTTING_DOWN, "the server is shutting down");
    else
        srv_fail(&e, SRV_E_TIMEOUT, "the client closed the connection");
    srv_response_error(&j->resp, &e);
    if (reason == SRV_CANCEL_DISCONNECT) j->resp.status = SRV_STATUS_CLIENT_CLOSED;
}

/* ---------------------------------------------------------------------------------------- */
/* Running (worker thread)                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Starts running j on a worker: queue-wait metrics, and the answer at once when it was cancelled
 * while queued (returns -1: j->done was called). Sets the cancel callback. */
static int begin_job(struct srv_infer *j)
{
    struct srv_app *app = j->app;
    j->start_ns = srv_now_ns();
    double queue_s = (double)(j->start_ns - j->base.enqueued_ns) / 1e9;
    srv_metrics_queue_wait(app->metrics, queue_s);
    j->resp.queue_ms = queue_s * 1e3;
    snprintf(j->resp.model, sizeof j->resp.model, "%s", j->model->name);
    if (should_cancel(j)) { /* gone, late or shutting down before it started */
        cancelled_response(j);
        j->done(j);
        return -1;
    }
    j->params.gen.cancel = should_cancel;
    j->params.gen.cancel_user = j;
    return 0;
}

/* Answers j from its generation's outcome (res owned, freed here) and calls j->done. */
/* Writes a token's display piece as a JSON string: piece, or when NULL id's piece (as the
 * core's display tokens), made valid UTF-8 as the maps' labels are. Returns -1 out of memory. */
static int put_piece(struct srv_buf *b, const tx_tokenizer *tok, int32_t id, const char *piece)
{
    char small[256], *big = NULL;
    if (!piece) {
        size_t need = tx_tokenizer_display_piece(tok, id, small, sizeof small);
        if (need >= sizeof small && (big = malloc(need + 1)) != NULL)
            tx_tokenizer_display_piece(tok, id, big, need + 1);
        piece = big ? big : small;
    }
    char *label = srv_utf8_sanitize(piece, strlen(piece));
    free(big);
    if (!label) return -1;
    srv_buf_json_string(b, label, strlen(label));
    free(label);
    return 0;
}

/* Streaming /attention: one "attention" event for target row t, data
 * {"index":0,"row":t,"token":"...","cross":[layer][head][source]}: the row's generated token
 * (its display piece, as target_tokens) and the row of cross_attention the done event will
 * carry (the request's layers and heads, or their mean or max); row 0's event also has
 * "source_tokens" (the columns, as the done event's). row: element (l, h, s) at
 * row[(l * n_heads + h) * head_stride + s]. The token and the source labels come as pieces
 * (token_piece, src_pieces) or, where those are NULL, as ids. */
static void send_attention_row(struct srv_infer *j, int t, int32_t token, const char *token_piece,
                               const float *row, size_t head_stride, int n_src,
                               const int32_t *src_ids, char *const *src_pieces)
{
    const struct srv_attention_request *q = j->att;
    const struct tx_model_info *in = &j->model->info;
    const tx_tokenizer *tok = j->model->tok;
    struct srv_buf ev;
    srv_buf_init(&ev);
    srv_buf_printf(&ev, "event: attention\ndata: {\"index\":0,\"row\":%d,\"token\":", t);
    int bad = put_piece(&ev, tok, token, token_piece);
    if (t == 0) {
        srv_buf_puts(&ev, ",\"source_tokens\":[");
        for (int s = 0; s < n_src && !bad; s++) {
            if (s) srv_buf_putc(&ev, ',');
            const char *piece = src_pieces ? src_pieces[s] : src_ids ? NULL : "?";
            bad = put_piece(&ev, tok, src_ids ? src_ids[s] : -1, piece);
        }
        srv_buf_putc(&ev, ']');
    }
    srv_buf_puts(&ev, ",\"cross\":");
    srv_attn_write_row(&ev, row, head_stride, n_src, in->n_decoder_layers, in->n_heads, q->layers,
                       q->n_layers, q->heads, q->n_heads, q->head_agg);
    srv_buf_puts(&ev, "}\n\n");
    if (!ev.oom && !bad) j->progress(j, ev.data, ev.len);
    srv_buf_free(&ev);
}

/* Streaming /attention, at the end: the rows not streamed yet (all of them when the job ran
 * alone, or did not capture; for beam search the end of the output, which the beams agreed on
 * only at the end) from the final maps, before the done event. */
static void stream_final_rows(struct srv_infer *j, const struct tx_text_item *it)
{
    const struct tx_attention_maps *m = it->attention;
    if (!j->att || !(j->att->kinds & SRV_KIND_CROSS) || !m || !m->cross) return;
    const struct tx_text_alternative *best = it->n_alternatives > 0 ? &it->alternatives[0] : NULL;
    size_t S = (size_t)m->n_src, T = (size_t)m->n_tgt;
    for (int t = j->att_sent; t < m->n_tgt; t++) {
        const char *piece = best && best->tokens && t < best->n_ids ? best->tokens[t] : "?";
        send_attention_row(j, t, -1, piece, m->cross + (size_t)t * S, T * S, m->n_src, NULL,
                           it->n_source_tokens == m->n_src ? it->source_tokens : NULL);
    }
    j->att_sent = m->n_tgt;
}

static void finish_job(struct srv_infer *j, tx_status st, struct tx_text_result *res,
                       const struct tx_error *txe)
{
    struct srv_app *app = j->app;
    int64_t start = j->start_ns;
    double inf_s = (double)(srv_now_ns() - start) / 1e9;
    j->resp.inference_ms = inf_s * 1e3;
    struct srv_err err;
    memset(&err, 0, sizeof err);
    if (st == TX_ERR_CANCELLED && atomic_load(&j->cancel_reason) >= 0) {
        cancelled_response(j);
    } else if (st != TX_OK) {
        srv_err_from_tx(st, txe, &err);
        if (err.code == SRV_E_INTERNAL || err.code == SRV_E_OUT_OF_MEMORY)
            srv_log_msg(CFG_LOG_ERROR, "inference_failed", "model %s: %s: %s", j->model->name,
                        tx_status_name(st), txe->message);
        srv_response_error(&j->resp, &err);
    } else {
        long in = 0, out = 0;
        for (int i = 0; res && i < res->n_items; i++) {
            in += res->items[i].n_input_tokens;
            out += res->items[i].n_output_tokens;
        }
        j->resp.in_tokens = in;
        j->resp.out_tokens = out;
        srv_metrics_inference(app->metrics, j->model->index, inf_s, in, out);
        struct tx_text_result empty = {0};
        int rc;
        if (j->kind == SRV_JOB_ATTENTION) {
            if (j->progress && res && res->n_items > 0) stream_final_rows(j, &res->items[0]);
            rc = srv_answer_attention(j, res, start, in, out, &err);
        }
        else if (j->gen->libre)
            rc = srv_answer_libre(j, res ? res : &empty);
        else
            rc = srv_answer_gen(j, res ? res : &empty, start, in, out, &err);
        if (rc) srv_response_error(&j->resp, &err);
    }
    tx_text_result_free(res);
    j->done(j);
}

/* Pieces of text under the abstractive model's tokenizer, with its prefix. */
static tx_status input_pieces(const struct srv_infer *j, const char *text, size_t len, int *n,
                              struct tx_error *e)
{
    struct tx_encoding enc;
    tx_status st = tx_tokenizer_encode(j->model->tok, text, len, TX_SIDE_SOURCE, &enc, e);
    if (st != TX_OK) return st;
    *n = enc.n_ids;
    tx_encoding_free(&enc);
    const char *pre = j->params.prefix;
    if (pre && *pre) {
        st = tx_tokenizer_encode(j->model->tok, pre, strlen(pre), TX_SIDE_SOURCE, &enc, e);
        if (st != TX_OK) return st;
        for (int k = 0; k < enc.n_ids; k++) *n += enc.offsets[2 * k] != enc.offsets[2 * k + 1];
        tx_encoding_free(&enc);
    }
    return TX_OK;
}

/* Modes document and highlights, on the worker before generating: the extractor scores the
 * sentences of each text (j->ext) and j->texts become what the abstractive model reads: in
 * document mode each text, or its best sentences that fit the model's input when it does not
 * fit; in highlights mode the selected sentences of every text, text after text. */
static tx_status condense_job(struct srv_worker *w, struct srv_infer *j, struct tx_error *e)
{
    if (!j->extractor) return TX_OK;
    const char *const *src = j->src_texts;
    const size_t *src_lens = j->src_lens;
    int n = j->n_src, any_long = j->mode == SRV_MODE_HIGHLIGHTS;
    int limit = j->params.max_input_tokens;
    for (int i = 0; i < n; i++) {
        tx_status st = input_pieces(j, src[i], src_lens[i], &j->docs[i].doc_tokens, e);
        if (st != TX_OK) {
            char m[sizeof e->message];
            snprintf(m, sizeof m, "%s", e->message);
            snprintf(e->message, sizeof e->message, "text[%d]: %.480s", i, m);
            return st;
        }
        any_long |= limit > 0 && j->docs[i].doc_tokens > limit;
    }
    if (!any_long) return TX_OK; /* every text fits: as abstractive */
    tx_status st = tx_text_extract(w->sessions[j->extractor->index], j->extractor->tok, src,
                                   src_lens, n, j->max_sentences, &j->ext, e);
    if (st != TX_OK) return st;
    if (j->mode == SRV_MODE_DOCUMENT) {
        for (int i = 0; i < n; i++) {
            if (limit <= 0 || j->docs[i].doc_tokens <= limit) continue;
            size_t len;
            int used;
            st = tx_text_condense(j->model->tok, j->params.prefix, src[i],
                                  &j->ext->items[i], limit, &j->docs[i].cond, &len, &used, e);
            if (st != TX_OK) return st;
            j->docs[i].condensed = 1;
            j->texts[i] = j->docs[i].cond;
            j->lens[i] = len;
        }
        return TX_OK;
    }
    int total = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < j->ext->items[i].n_sentences; k++)
            total += j->ext->items[i].sentences[k].selected;
    const char **texts = calloc((size_t)total + 1, sizeof *texts);
    size_t *lens = calloc((size_t)total + 1, sizeof *lens);
    if (!texts || !lens) {
        free(texts);
        free(lens);
        e->status = TX_ERR_NOMEM;
        snprintf(e->message, sizeof e->message, "out of memory");
        return TX_ERR_NOMEM;
    }
    int t = 0;
    for (int i = 0; i < n; i++) {
        const struct tx_text_item *it = &j->ext->items[i];
        j->docs[i].first = t;
        for (int k = 0; k < it->n_sentences; k++) {
            if (!it->sentences[k].selected) continue;
            texts[t] = src[i] + it->sentences[k].start;
            lens[t++] = it->sentences[k].end - it->sentences[k].start;
        }
        j->docs[i].n = t - j->docs[i].first;
    }
    free(j->texts);
    free(j->lens);
    j->texts = texts;
    j->lens = lens;
    j->n_texts = total;
    return TX_OK;
}

/* Runs j alone on the worker's session for its model (tx_text_generate) and answers it. */
static void run_alone(struct srv_worker *w, struct srv_infer *j)
{
    struct tx_text_result *res = NULL;
    struct tx_error txe;
    memset(&txe, 0, sizeof txe);
    tx_status st = condense_job(w, j, &txe);
    if (st != TX_OK)
        ;
    else if (j->n_texts > 0 && j->model->info.arch == TX_ARCH_HAN)
        st = tx_text_extract(w->sessions[j->model->index], j->model->tok, j->texts, j->lens,
                             j->n_texts, j->max_sentences, &res, &txe);
    else if (j->n_texts > 0)
        st = tx_text_generate(w->sessions[j->model->index], j->model->tok, j->texts, j->lens,
                              j->n_texts, &j->params, &res, &txe);
    finish_job(j, st, res, &txe);
}

void srv_infer_run(struct srv_job *job, void *worker)
{
    struct srv_infer *j = (struct srv_infer *)job;
    if (begin_job(j)) return;
    run_alone(worker, j);
}

/* ---------------------------------------------------------------------------------------- */
/* Continuous batching (worker thread)                                                      */
/* ---------------------------------------------------------------------------------------- */

/* Rows of a worker's batch when batching is off (batching.max_rows 1): the batch then holds one
 * request at a time (srv_batch_room), whose texts' segments it decodes this many rows at once
 * (the default batch's size and memory), and streams its tokens as batching does. */
#define SERIAL_ROWS 32

/* The sizes of a worker's batch for model m: batching.max_rows rows (fewer when
 * batching.max_tokens binds, never fewer than a request's most rows; SERIAL_ROWS when batching
 * is off), each row as long as the model may generate; sources of up to the model's input
 * limit. */
static struct tx_group_params batch_params(const struct srv_app *app, const struct srv_model *m)
{
    const struct cfg_batching *bc = &app->cfg->batching;
    int member_rows = CFG_MAX_BEAMS > CFG_MAX_RETURN_SEQUENCES ? CFG_MAX_BEAMS
                                                                : CFG_MAX_RETURN_SEQUENCES;
    int max_length = m->max_new_tokens_cap + 1;
    int rows = bc->max_rows == 1 ? SERIAL_ROWS : bc->max_rows;
    if (bc->max_tokens > 0 && rows > bc->max_tokens / (max_length - 1))
        rows = bc->max_tokens / (max_length - 1);
    if (rows < member_rows) rows = member_rows;
    int in = m->max_input_tokens > 0 ? m->max_input_tokens : app->cfg->limits.max_input_tokens;
    struct tx_group_params gp = {.max_rows = rows,
                                 .max_member_rows = member_rows,
                                 .max_members = rows,
                                 .max_length = max_length,
                                 .max_src_tokens = in + 64 * rows};
    return gp;
}

int srv_batch_room(void *worker, const struct srv_job *job)
{
    const struct srv_worker *w = worker;
    const struct srv_infer *j = (const struct srv_infer *)job;
    if (w->app->cfg->batching.max_rows == 1) { /* batching off: nothing joins a running job */
        for (int i = 0; i < w->n_sessions; i++)
            if (w->batches[i] && tx_text_batch_jobs(w->batches[i]) > 0) return 0;
        return 1;
    }
    const tx_text_batch *b = w->batches[j->model->index];
    return !b || tx_text_batch_waiting(b) == 0;
}

/* The worker's batch for model index i, created at its first job. NULL with err on failure. */
static tx_text_batch *batch_for(struct srv_worker *w, const struct srv_model *m,
                                struct tx_error *err)
{
    int i = m->index;
    if (w->batches[i] || w->unbatched[i]) return w->batches[i];
    size_t cap = (size_t)w->app->cfg->limits.session_memory_mb << 20;
    if (!w->aux[i] && (tx_session_new(m->model, cap, &w->aux[i], err) != TX_OK ||
                       tx_session_set_threads(w->aux[i], w->app->cfg->engine_threads, err) !=
                           TX_OK))
        return NULL;
    struct tx_group_params gp = batch_params(w->app, m);
    if (tx_text_batch_new(w->sessions[i], w->aux[i], m->tok, &gp, &w->batches[i], err) == TX_OK)
        return w->batches[i];
    /* the session may not hold a batch of that size (limits.session_memory_mb): this model's
     * requests then run one at a time, as without batching */
    w->unbatched[i] = 1;
    srv_log_msg(CFG_LOG_WARN, "batching_off",
                "worker %d, model %s: no batch of %d rows x %d positions (%s); its requests run "
                "one at a time, streaming only start and the last event",
                w->index, m->name, gp.max_rows, gp.max_length - 1, err->message);
    return NULL;
}

void srv_batch_offer(void *worker, struct srv_job *job)
{
    struct srv_worker *w = worker;
    struct srv_infer *j = (struct srv_infer *)job;
    if (begin_job(j)) return;
    struct tx_error txe;
    memset(&txe, 0, sizeof txe);
    if (j->model->info.arch == TX_ARCH_HAN) { /* extractive: one pass, nothing to batch */
        run_alone(w, j);
        return;
    }
    tx_text_batch *b = batch_for(w, j->model, &txe);
    if (!b && w->unbatched[j->model->index]) { /* run now, alone */
        run_alone(w, j);
        return;
    }
    tx_status st = condense_job(w, j, &txe);
    if (st != TX_OK) {
        finish_job(j, st, NULL, &txe);
        return;
    }
    if (j->n_texts == 0) { /* highlights of texts without sentences */
        finish_job(j, TX_OK, NULL, &txe);
        return;
    }
    st = b ? tx_text_batch_add(b, j->texts, j->lens, j->n_texts, &j->params, j, &txe)
                     : (txe.status != TX_OK ? txe.status : TX_ERR_NOMEM);
    if (st != TX_OK) finish_job(j, st, NULL, &txe);
}

/* Streaming: one token event per item of j whose text changed in the last step: "delta" when
 * it grew (the usual case), "text" in full with "replace": true when it changed otherwise (a
 * beam search's best hypothesis may). Texts that map to items one to one only (not highlights
 * or LibreTranslate HTML runs). */
static void stream_progress(const tx_text_batch *b, struct srv_infer *j)
{
    if (j->html || (j->mode == SRV_MODE_HIGHLIGHTS)) return;
    if (!j->last) {
        j->last = calloc((size_t)j->n_texts + 1, sizeof *j->last);
        if (!j->last) return;
    }
    for (int i = 0; i < j->n_texts; i++) {
        char *t;
        int n_tok;
        struct tx_error e = {0};
        if (tx_text_batch_partial(b, j, i, &t, &n_tok, &e) != TX_OK) return;
        const char *old = j->last[i] ? j->last[i] : "";
        size_t ol = strlen(old);
        if (!strcmp(t, old)) {
            free(t);
            continue;
        }
        struct srv_buf ev;
        srv_buf_init(&ev);
        srv_buf_printf(&ev, "event: token\ndata: {\"index\":%d,\"tokens\":%d,", i, n_tok);
        if (!strncmp(t, old, ol)) {
            srv_buf_puts(&ev, "\"delta\":");
            srv_buf_json_string(&ev, t + ol, strlen(t) - ol);
        } else {
            srv_buf_puts(&ev, "\"replace\":true,\"text\":");
            srv_buf_json_string(&ev, t, strlen(t));
        }
        srv_buf_puts(&ev, "}\n\n");
        if (!ev.oom) j->progress(j, ev.data, ev.len);
        srv_buf_free(&ev);
        free(j->last[i]);
        j->last[i] = t;
    }
}

/* Streaming /attention while the job runs: the rows of its target tokens that became stable
 * in the last step (tx_text_batch_partial_attention), one event each. */
static void stream_attention(const tx_text_batch *b, struct srv_infer *j)
{
    if (!(j->params.want & TX_WANT_STEP_ATTENTION)) return;
    int ready = 0, n_src = 0;
    const int32_t *src_ids = NULL;
    struct tx_error e = {0};
    if (tx_text_batch_partial_attention(b, j, 0, &ready, &src_ids, &n_src, &e) != TX_OK) return;
    int n = ready - j->att_sent;
    if (n <= 0 || n_src <= 0) return;
    size_t per = (size_t)j->model->info.n_decoder_layers * (size_t)j->model->info.n_heads *
                 (size_t)n_src;
    float *rows = malloc((size_t)n * per * sizeof *rows);
    int32_t *toks = malloc((size_t)n * sizeof *toks);
    if (rows && toks &&
        tx_text_batch_attention_rows(b, j, 0, j->att_sent, n, rows, toks, &e) == TX_OK) {
        for (int k = 0; k < n; k++)
            send_attention_row(j, j->att_sent + k, toks[k], NULL, rows + (size_t)k * per,
                               (size_t)n_src, n_src, src_ids, NULL);
        j->att_sent = ready;
    }
    free(rows);
    free(toks);
}

int srv_batch_step(void *worker)
{
    struct srv_worker *w = worker;
    int more = 0;
    for (int i = 0; i < w->n_sessions; i++) {
        tx_text_batch *b = w->batches[i];
        if (!b || tx_text_batch_jobs(b) == 0) continue;
        struct tx_error e;
        memset(&e, 0, sizeof e);
        int rows = 0;
        int64_t t0 = srv_now_ns();
        if (tx_text_batch_step(b, &rows, &e) == TX_OK && rows > 0)
            srv_metrics_batch_step(w->app->metrics, i, rows, (double)(srv_now_ns() - t0) / 1e9);
        void *running[128];
        int nr = tx_text_batch_users(b, running, 128);
        for (int k = 0; k < nr; k++) {
            struct srv_infer *sj = running[k];
            if (!sj->progress) continue;
            stream_progress(b, sj);
            if (sj->kind == SRV_JOB_ATTENTION) stream_attention(b, sj);
        }
        void *first[64];
        int64_t now = srv_now_ns();
        int nf = tx_text_batch_first_tokens(b, first, 64);
        for (int k = 0; k < nf; k++) {
            const struct srv_infer *fj = first[k];
            srv_metrics_first_token(w->app->metrics, i, (double)(now - fj->received_ns) / 1e9);
        }
        void *user;
        struct tx_text_result *res;
        tx_status st;
        while (tx_text_batch_take(b, &user, &res, &st, &e))
            finish_job(user, st, res, &e);
        more |= tx_text_batch_jobs(b) > 0;
    }
    return more;
}
