/* infer_json.c — the JSON answers of finished inference jobs, written straight into a buffer. */
#include "infer_json.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnview.h"
#include "jsonw.h"
#include "libre_api.h"

static void put_key(struct srv_buf *b, const char *k)
{
    srv_buf_putc(b, '"');
    srv_buf_puts(b, k);
    srv_buf_puts(b, "\":");
}

static void put_str(struct srv_buf *b, const char *s)
{
    if (!s)
        srv_buf_puts(b, "null");
    else
        srv_buf_json_string(b, s, strlen(s));
}

static void put_str_list(struct srv_buf *b, char *const *v, int n)
{
    srv_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        if (i) srv_buf_putc(b, ',');
        put_str(b, v ? v[i] : NULL);
    }
    srv_buf_putc(b, ']');
}

/* Source labels: the core's display tokens, one per source id (rows of the maps), and which
 * of them are special tokens. Returns 0, or -1 out of memory. */
static int set_source_labels(struct srv_attn_entry *e, const tx_tokenizer *tok,
                             const struct tx_text_item *it)
{
    for (int s = 0; s < e->n_src; s++) {
        const char *t = s < it->n_source_tokens && it->source_tokens ? it->source_tokens[s] : "?";
        e->src_tokens[s] = srv_utf8_sanitize(t, strlen(t));
        if (!e->src_tokens[s]) return -1;
        if (it->source_ids && s < it->n_source_tokens)
            e->src_special[s] =
                (unsigned char)(tx_tokenizer_is_special(tok, it->source_ids[s]) != 0);
    }
    return 0;
}

/* Target labels: rows are the generated tokens; decoder inputs the start token, then all but
 * the last. Returns 0, or -1 out of memory. */
static int set_target_labels(struct srv_attn_entry *e, const struct srv_infer *j,
                             const struct tx_text_alternative *best)
{
    char startbuf[128];
    tx_tokenizer_display_piece(j->model->tok, j->params.gen.decoder_start_token_id, startbuf,
                               sizeof startbuf);
    for (int t = 0; t < e->n_tgt; t++) {
        const char *g = t < best->n_ids && best->tokens ? best->tokens[t] : "?";
        e->tgt_tokens[t] = srv_utf8_sanitize(g, strlen(g));
        const char *d =
            t == 0 ? startbuf : (t - 1 < best->n_ids && best->tokens ? best->tokens[t - 1] : "?");
        e->dec_tokens[t] = srv_utf8_sanitize(d, strlen(d));
        if (!e->tgt_tokens[t] || !e->dec_tokens[t]) return -1;
    }
    return 0;
}

/* Builds a store entry from an item with tokens and attention (steals the maps). */
static struct srv_attn_entry *make_entry(const struct srv_infer *j, struct tx_text_item *it)
{
    struct tx_attention_maps *m = it->attention;
    const struct tx_text_alternative *best = &it->alternatives[0];
    if (!m) return NULL;
    struct srv_attn_entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->model = strdup(j->model->name);
    e->task = j->kind == SRV_JOB_SUMMARIZE || j->model->task == CFG_TASK_SUMMARIZE
                  ? SRV_TASK_SUMMARIZE
                  : SRV_TASK_TRANSLATE;
    e->output = strdup(best->text ? best->text : "");
    e->truncated = it->truncated;
    e->n_enc_layers = m->n_enc_layers;
    e->cross_only = !j->model->info.self_attention;
    e->attention_type = j->model->info.attention;
    e->n_dec_layers = m->n_dec_layers;
    e->n_heads = m->n_heads;
    e->n_src = m->n_src;
    e->src_tokens = calloc((size_t)(m->n_src > 0 ? m->n_src : 1), sizeof *e->src_tokens);
    e->src_special = calloc((size_t)(m->n_src > 0 ? m->n_src : 1), 1);
    e->n_tgt = m->n_tgt;
    e->tgt_tokens = calloc((size_t)(m->n_tgt > 0 ? m->n_tgt : 1), sizeof *e->tgt_tokens);
    e->dec_tokens = calloc((size_t)(m->n_tgt > 0 ? m->n_tgt : 1), sizeof *e->dec_tokens);
    if (!e->model || !e->output || !e->src_tokens || !e->src_special || !e->tgt_tokens ||
        !e->dec_tokens)
        goto fail;
    if (set_source_labels(e, j->model->tok, it) || set_target_labels(e, j, best)) goto fail;
    e->encoder = m->encoder;
    e->decoder = m->decoder;
    e->cross = m->cross;
    m->encoder = m->decoder = m->cross = NULL;
    srv_attn_entry_account(e);
    return e;
fail:
    srv_attn_entry_free(e);
    return NULL;
}

static void put_timings(struct srv_buf *b, const struct srv_infer *j,
                        const struct tx_text_result *res, int64_t start_ns)
{
    int64_t now = srv_now_ns();
    put_key(b, "timings");
    srv_buf_puts(b, "{\"queue_ms\":");
    srv_buf_json_fixed(b, (double)(start_ns - j->base.enqueued_ns) / 1e6, 3);
    srv_buf_puts(b, ",\"tokenize_ms\":");
    srv_buf_json_fixed(b, res->tokenize_ms, 3);
    srv_buf_puts(b, ",\"generate_ms\":");
    srv_buf_json_fixed(b, res->generate_ms, 3);
    srv_buf_puts(b, ",\"attention_ms\":");
    srv_buf_json_fixed(b, res->attention_ms, 3);
    srv_buf_puts(b, ",\"inference_ms\":");
    srv_buf_json_fixed(b, (double)(now - start_ns) / 1e6, 3);
    srv_buf_puts(b, ",\"total_ms\":");
    srv_buf_json_fixed(b, (double)(now - j->received_ns) / 1e6, 3);
    srv_buf_putc(b, '}');
}

static void put_usage(struct srv_buf *b, long in, long out)
{
    srv_buf_printf(b, "\"usage\":{\"input_tokens\":%ld,\"output_tokens\":%ld}", in, out);
}

/* The indices of an item's selected sentences, in document order. */
static void put_used(struct srv_buf *b, const struct tx_text_item *it)
{
    srv_buf_putc(b, '[');
    for (int k = 0, first = 1; k < it->n_sentences; k++)
        if (it->sentences[k].selected) {
            srv_buf_printf(b, first ? "%d" : ",%d", k);
            first = 0;
        }
    srv_buf_putc(b, ']');
}

/* One entry of "translations" / "summaries". */
/* An extractive item's sentences: {"text", "score", "probability", "attention", "selected"}
 * each, then the indices used. */
static void put_sentences(struct srv_buf *b, const char *src, const struct tx_text_item *it,
                          int words)
{
    srv_buf_puts(b, ",\"sentences\":[");
    for (int k = 0; k < it->n_sentences; k++) {
        const struct tx_text_sentence *s = &it->sentences[k];
        srv_buf_puts(b, k ? ",{\"text\":" : "{\"text\":");
        srv_buf_json_string(b, src + s->start, s->end - s->start);
        srv_buf_puts(b, ",\"score\":");
        srv_buf_json_fixed(b, s->score, 4);
        srv_buf_puts(b, ",\"probability\":");
        srv_buf_json_fixed(b, 1.0 / (1.0 + exp(-(double)s->score)), 4);
        srv_buf_puts(b, ",\"attention\":");
        srv_buf_json_fixed(b, s->attention, 4);
        srv_buf_printf(b, ",\"selected\":%s", s->selected ? "true" : "false");
        if (words && it->words) { /* the word-level attention inside the sentence */
            const struct tx_text_word *w = it->words + s->first_word;
            srv_buf_puts(b, ",\"words\":[");
            for (int i = 0; i < s->n_words; i++) {
                if (i) srv_buf_putc(b, ',');
                srv_buf_json_string(b, src + w[i].start, w[i].end - w[i].start);
            }
            srv_buf_puts(b, "],\"word_weights\":[");
            for (int i = 0; i < s->n_words; i++) {
                if (i) srv_buf_putc(b, ',');
                srv_buf_json_fixed(b, w[i].weight, 4);
            }
            srv_buf_putc(b, ']');
        }
        srv_buf_putc(b, '}');
    }
    srv_buf_puts(b, "],\"used_sentences\":");
    put_used(b, it);
}

static int put_item(struct srv_buf *b, struct srv_infer *j, struct tx_text_item *it, int index,
                    struct srv_err *err)
{
    const struct srv_gen_request *q = j->gen;
    const struct tx_text_alternative *best = &it->alternatives[0];
    srv_buf_putc(b, '{');
    put_key(b, "text");
    put_str(b, best->text);
    const struct srv_doc *doc = j->docs && j->docs[index].condensed ? &j->docs[index] : NULL;
    srv_buf_printf(b,
                   ",\"truncated\":%s,\"input_tokens\":%d,\"input_tokens_original\":%d,"
                   "\"output_tokens\":%d",
                   it->truncated ? "true" : "false", it->n_input_tokens,
                   doc ? doc->doc_tokens : it->n_input_tokens_original, it->n_output_tokens);
    if (it->sentences) put_sentences(b, j->texts[index], it, q->attention);
    if (doc) { /* document mode: the sentences the abstractive model read */
        srv_buf_puts(b, ",\"condensed\":true");
        put_sentences(b, q->texts[index], &j->ext->items[index], q->attention);
    }
    if (q->scores) {
        srv_buf_puts(b, ",\"score\":");
        srv_buf_json_fixed(b, best->score, 6);
    }
    if (it->n_alternatives > 1) {
        srv_buf_puts(b, ",\"alternatives\":[");
        for (int k = 1; k < it->n_alternatives; k++) {
            srv_buf_puts(b, k > 1 ? ",{" : "{");
            put_key(b, "text");
            put_str(b, it->alternatives[k].text);
            if (q->scores) {
                srv_buf_puts(b, ",\"score\":");
                srv_buf_json_fixed(b, it->alternatives[k].score, 6);
            }
            srv_buf_putc(b, '}');
        }
        srv_buf_putc(b, ']');
    }
    if (q->tokens) {
        srv_buf_puts(b, ",\"tokens\":{\"source\":");
        put_str_list(b, it->source_tokens, it->source_tokens ? it->n_source_tokens : 0);
        srv_buf_puts(b, ",\"target\":");
        put_str_list(b, best->tokens, best->tokens ? best->n_ids : 0);
        srv_buf_putc(b, '}');
    }
    if ((q->alignment || q->attention) && j->model->info.arch != TX_ARCH_HAN) {
        struct srv_attn_entry *e = make_entry(j, it);
        if (!e) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
        if (q->alignment) {
            srv_buf_puts(b, ",\"alignment\":");
            srv_attn_write_alignment(b, e);
        }
        if (q->attention) {
            if (srv_attn_store_put(j->app->store, e)) {
                size_t need = e->bytes;
                srv_attn_entry_free(e);
                return srv_fail(err, SRV_E_ATTENTION_TOO_LARGE,
                                "the attention maps of this text need %zu bytes, more than the "
                                "server keeps (%d MiB); send a shorter text",
                                need, j->app->cfg->attention_store.max_mb);
            }
            srv_buf_puts(b, ",\"attention_id\":");
            put_str(b, e->id);
            srv_attn_store_release(j->app->store, e);
        } else {
            srv_attn_entry_free(e);
        }
    }
    srv_buf_putc(b, '}');
    return 0;
}

/* Mode highlights: text i's headlines (items [first, first + n) of res), joined by newlines. */
static void put_highlights(struct srv_buf *b, const struct srv_infer *j,
                           const struct tx_text_result *res, int i)
{
    const struct srv_doc *d = &j->docs[i];
    const struct tx_text_item *x = &j->ext->items[i];
    struct srv_buf t;
    srv_buf_init(&t);
    srv_buf_put(&t, "", 0);
    int in = 0, out = 0, cut = 0;
    for (int k = 0; k < d->n; k++) {
        const struct tx_text_item *it = &res->items[d->first + k];
        if (k) srv_buf_putc(&t, '\n');
        srv_buf_puts(&t, it->alternatives[0].text ? it->alternatives[0].text : "");
        in += it->n_input_tokens;
        out += it->n_output_tokens;
        cut |= it->truncated;
    }
    srv_buf_puts(b, "{\"text\":");
    if (t.oom)
        b->oom = 1;
    else
        srv_buf_json_string(b, t.data, t.len);
    srv_buf_free(&t);
    srv_buf_printf(b,
                   ",\"truncated\":%s,\"input_tokens\":%d,\"input_tokens_original\":%d,"
                   "\"output_tokens\":%d,\"highlights\":[",
                   cut ? "true" : "false", in, d->doc_tokens, out);
    for (int k = 0, s = 0; k < d->n; k++, s++) {
        while (!x->sentences[s].selected) s++;
        const struct tx_text_item *it = &res->items[d->first + k];
        srv_buf_puts(b, k ? ",{\"text\":" : "{\"text\":");
        put_str(b, it->alternatives[0].text);
        srv_buf_printf(b, ",\"sentence\":%d", s);
        if (j->gen->scores) {
            srv_buf_puts(b, ",\"score\":");
            srv_buf_json_fixed(b, it->alternatives[0].score, 6);
        }
        srv_buf_putc(b, '}');
    }
    srv_buf_putc(b, ']');
    put_sentences(b, j->gen->texts[i], x, 0);
    srv_buf_putc(b, '}');
}

int srv_answer_gen(struct srv_infer *j, struct tx_text_result *res, int64_t start_ns, long in,
                   long out, struct srv_err *err)
{
    struct srv_buf b;
    srv_buf_init(&b);
    srv_buf_puts(&b, "{\"model\":");
    put_str(&b, j->model->name);
    if (j->mode) {
        srv_buf_puts(&b, ",\"mode\":");
        put_str(&b, srv_sum_mode_names[j->mode]);
    }
    if (j->extractor && j->ext) {
        srv_buf_puts(&b, ",\"extractor\":");
        put_str(&b, j->extractor->name);
    }
    srv_buf_puts(&b, j->kind == SRV_JOB_TRANSLATE ? ",\"translations\":[" : ",\"summaries\":[");
    int highlights = j->mode == SRV_MODE_HIGHLIGHTS && j->ext;
    for (int i = 0; highlights && i < j->gen->n_texts; i++) {
        if (i) srv_buf_putc(&b, ',');
        put_highlights(&b, j, res, i);
    }
    for (int i = 0; !highlights && i < res->n_items; i++) {
        if (i) srv_buf_putc(&b, ',');
        if (put_item(&b, j, &res->items[i], i, err)) {
            srv_buf_free(&b);
            return -1;
        }
    }
    srv_buf_puts(&b, "],");
    put_usage(&b, in, out);
    srv_buf_putc(&b, ',');
    put_timings(&b, j, res, start_ns);
    srv_buf_putc(&b, '}');
    size_t len;
    char *body = srv_buf_steal(&b, &len);
    srv_response_json(&j->resp, 200, body, len);
    return 0;
}

/* The translation of one LibreTranslate item for alternative k (HTML rebuilt around runs). */
static void put_libre_text(struct srv_buf *b, const struct srv_infer *j,
                           const struct tx_text_result *res, int item, int k)
{
    if (!j->html) {
        put_str(b, res->items[item].alternatives[k].text);
        return;
    }
    const struct srv_html_item *h = &j->html[item];
    const char *src = j->gen->texts[item];
    struct srv_buf t;
    srv_buf_init(&t);
    srv_buf_put(&t, "", 0);
    int run = h->first_text;
    for (int p = 0; p < h->n_pieces; p++) {
        const struct srv_html_piece *pc = &h->pieces[p];
        if (!pc->is_text) {
            srv_buf_put(&t, src + pc->start, pc->end - pc->start);
            continue;
        }
        const struct tx_text_item *it = &res->items[run++];
        const char *tr = it->alternatives[k < it->n_alternatives ? k : 0].text;
        srv_buf_put(&t, src + pc->start, pc->lead - pc->start);
        srv_buf_puts(&t, tr ? tr : "");
        srv_buf_put(&t, src + pc->trail, pc->end - pc->trail);
    }
    if (t.oom)
        b->oom = 1;
    else
        srv_buf_json_string(b, t.data, t.len);
    srv_buf_free(&t);
}

int srv_answer_libre(struct srv_infer *j, struct tx_text_result *res)
{
    const struct srv_gen_request *q = j->gen;
    int n_alt = q->libre_alternatives;
    if (q->libre_file) {
        srv_libre_answer_file(j->app, q, res->n_items ? res->items[0].alternatives[0].text : "",
                              &j->resp);
        return 0;
    }
    struct srv_buf b;
    srv_buf_init(&b);
    srv_buf_puts(&b, "{\"translatedText\":");
    if (q->text_is_list) srv_buf_putc(&b, '[');
    for (int i = 0; i < q->n_texts; i++) {
        if (i) srv_buf_putc(&b, ',');
        put_libre_text(&b, j, res, i, 0);
    }
    if (q->text_is_list) srv_buf_putc(&b, ']');
    if (n_alt > 0) {
        srv_buf_puts(&b, ",\"alternatives\":");
        if (q->text_is_list) srv_buf_putc(&b, '[');
        for (int i = 0; i < q->n_texts; i++) {
            srv_buf_puts(&b, i ? ",[" : "[");
            /* alternatives the model produced; an HTML item without text has none */
            int have = !j->html                ? res->items[i].n_alternatives
                       : j->html[i].n_text > 0 ? res->items[j->html[i].first_text].n_alternatives
                                               : 1;
            for (int k = 1; k < have && k <= n_alt; k++) {
                if (k > 1) srv_buf_putc(&b, ',');
                put_libre_text(&b, j, res, i, k);
            }
            srv_buf_putc(&b, ']');
        }
        if (q->text_is_list) srv_buf_putc(&b, ']');
    }
    if (q->libre_auto) srv_libre_put_detected(&b, q); /* langroute.c identified it */
    srv_buf_putc(&b, '}');
    size_t len;
    char *body = srv_buf_steal(&b, &len);
    srv_response_json(&j->resp, 200, body, len);
    return 0;
}

/* Head-averaged encoder maps -> tx_attention_rollout -> {"encoder": matrix}. */
static void put_rollout(struct srv_buf *b, const struct srv_attn_entry *e)
{
    size_t S = (size_t)e->n_src, L = (size_t)e->n_enc_layers;
    size_t n_avg = L * S * S, n_out = S * S;
    float *avg = malloc((n_avg ? n_avg : 1) * sizeof *avg);
    float *out = malloc((n_out ? n_out : 1) * sizeof *out);
    if (!avg || !out) {
        free(avg);
        free(out);
        b->oom = 1;
        return;
    }
    for (size_t l = 0; l < L; l++)
        srv_attn_slice(e, SRV_KIND_ENCODER, (int)l, 0, SRV_AGG_MEAN, avg + l * S * S);
    for (size_t i = 0; i < S * S; i++)
        out[i] = (i / S == i % S) ? 1.0f : 0.0f; /* L = 0 */
    if (S > 0 && L > 0 && tx_attention_rollout(avg, (int)L, (int)S, out) != TX_OK) {
        b->oom = 1; /* its only failure at valid sizes is its scratch allocation */
    } else {
        srv_buf_puts(b, "{\"encoder\":");
        srv_attn_write_matrix(b, out, (int)S, (int)S);
        srv_buf_putc(b, '}');
    }
    free(avg);
    free(out);
}

static void put_index_list(struct srv_buf *b, const int *v, int n, int all)
{
    srv_buf_putc(b, '[');
    int count = n ? n : all;
    for (int i = 0; i < count; i++)
        srv_buf_printf(b, "%s%d", i ? "," : "", n ? v[i] : i);
    srv_buf_putc(b, ']');
}

/* POST /attention on a condensed document: the extractor's two attention levels over the whole
 * text, sentence by sentence, and the sentences the maps are of. */
static void put_document(struct srv_buf *b, const struct srv_infer *j)
{
    const struct tx_text_item *it = &j->ext->items[0];
    const char *src = j->src_texts[0];
    srv_buf_puts(b, ",\"document\":{\"extractor\":");
    put_str(b, j->extractor->name);
    srv_buf_printf(b, ",\"input_tokens\":%d,\"sentences\":[", j->docs[0].doc_tokens);
    for (int k = 0; k < it->n_sentences; k++) {
        if (k) srv_buf_putc(b, ',');
        srv_buf_json_string(b, src + it->sentences[k].start,
                            it->sentences[k].end - it->sentences[k].start);
    }
    srv_buf_puts(b, "],\"sentence_weights\":[");
    for (int k = 0; k < it->n_sentences; k++) {
        if (k) srv_buf_putc(b, ',');
        srv_buf_json_fixed(b, it->sentences[k].attention, 4);
    }
    srv_buf_puts(b, "],\"scores\":[");
    for (int k = 0; k < it->n_sentences; k++) {
        if (k) srv_buf_putc(b, ',');
        srv_buf_json_fixed(b, it->sentences[k].score, 4);
    }
    srv_buf_puts(b, "],\"used_sentences\":");
    put_used(b, it);
    srv_buf_puts(b, ",\"words\":[");
    for (int k = 0; k < it->n_sentences; k++) {
        const struct tx_text_sentence *s = &it->sentences[k];
        srv_buf_puts(b, k ? ",[" : "[");
        for (int i = 0; i < s->n_words; i++) {
            const struct tx_text_word *w = &it->words[s->first_word + i];
            if (i) srv_buf_putc(b, ',');
            srv_buf_json_string(b, src + w->start, w->end - w->start);
        }
        srv_buf_putc(b, ']');
    }
    srv_buf_puts(b, "],\"word_weights\":[");
    for (int k = 0; k < it->n_sentences; k++) {
        const struct tx_text_sentence *s = &it->sentences[k];
        srv_buf_puts(b, k ? ",[" : "[");
        for (int i = 0; i < s->n_words; i++) {
            if (i) srv_buf_putc(b, ',');
            srv_buf_json_fixed(b, it->words[s->first_word + i].weight, 4);
        }
        srv_buf_putc(b, ']');
    }
    srv_buf_puts(b, "]}");
}

int srv_answer_attention(struct srv_infer *j, struct tx_text_result *res, int64_t start_ns, long in,
                         long out, struct srv_err *err)
{
    const struct srv_attention_request *q = j->att;
    struct tx_text_item *it = &res->items[0];
    struct srv_attn_entry *e = make_entry(j, it);
    if (!e) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
    if (srv_attn_store_put(j->app->store, e)) {
        size_t need = e->bytes;
        srv_attn_entry_free(e);
        return srv_fail(err, SRV_E_ATTENTION_TOO_LARGE,
                        "the attention maps of this text need %zu bytes, more than the server "
                        "keeps (%d MiB); send a shorter text",
                        need, j->app->cfg->attention_store.max_mb);
    }
    struct srv_buf b;
    srv_buf_init(&b);
    srv_buf_puts(&b, "{\"id\":");
    put_str(&b, e->id);
    srv_buf_puts(&b, ",\"model\":");
    put_str(&b, e->model);
    srv_buf_printf(&b, ",\"task\":\"%s\",\"output\":",
                   e->task == SRV_TASK_SUMMARIZE ? "summarize" : "translate");
    put_str(&b, e->output);
    srv_buf_printf(&b, ",\"truncated\":%s,\"source_tokens\":", e->truncated ? "true" : "false");
    put_str_list(&b, e->src_tokens, e->n_src);
    srv_buf_puts(&b, ",\"target_tokens\":");
    put_str_list(&b, e->tgt_tokens, e->n_tgt);
    srv_buf_puts(&b, ",\"decoder_input_tokens\":");
    put_str_list(&b, e->dec_tokens, e->n_tgt);
    srv_buf_puts(&b, ",\"layers\":{\"encoder\":");
    put_index_list(&b, q->layers, q->n_layers, e->n_enc_layers);
    srv_buf_puts(&b, ",\"decoder\":");
    put_index_list(&b, q->layers, q->n_layers, e->n_dec_layers);
    srv_buf_puts(&b, "},\"heads\":");
    if (q->head_agg == SRV_AGG_MEAN)
        srv_buf_puts(&b, "[\"mean\"]");
    else if (q->head_agg == SRV_AGG_MAX)
        srv_buf_puts(&b, "[\"max\"]");
    else
        put_index_list(&b, q->heads, q->n_heads, e->n_heads);
    srv_buf_printf(&b, ",\"n_layers\":{\"encoder\":%d,\"decoder\":%d},\"n_heads\":%d",
                   e->n_enc_layers, e->n_dec_layers, e->n_heads);
    static const struct {
        unsigned kind;
        const char *key;
    } kinds[] = {{SRV_KIND_CROSS, "cross_attention"},
                 {SRV_KIND_ENCODER, "encoder_attention"},
                 {SRV_KIND_DECODER, "decoder_attention"}};
    if (e->cross_only) {
        /* rnn_seq2seq: one alignment matrix; the self-attention kinds asked are named absent */
        srv_buf_puts(&b, ",\"self_attention\":false,\"attention_type\":");
        put_str(&b, e->attention_type ? e->attention_type : "");
        srv_buf_puts(&b, ",\"absent\":{");
        int first = 1;
        for (int k = 1; k < 3; k++)
            if (q->kinds & kinds[k].kind) {
                srv_buf_printf(&b, "%s\"%s\":\"this model has no %s self-attention (a recurrent "
                               "encoder-decoder: its one attention is the cross-attention)\"",
                               first ? "" : ",", kinds[k].key,
                               kinds[k].kind == SRV_KIND_ENCODER ? "encoder" : "decoder");
                first = 0;
            }
        if (q->rollout) srv_buf_printf(&b, "%s\"rollout\":\"no encoder self-attention to roll "
                                       "out\"", first ? "" : ",");
        srv_buf_puts(&b, "}");
    }
    for (int k = 0; k < 3; k++) {
        if (!(q->kinds & kinds[k].kind)) continue;
        if (kinds[k].kind != SRV_KIND_CROSS && e->cross_only) continue;
        srv_buf_printf(&b, ",\"%s\":", kinds[k].key);
        srv_attn_write_maps(&b, e, kinds[k].kind, q->layers, q->n_layers, q->heads, q->n_heads,
                            q->head_agg);
    }
    if (q->rollout && !e->cross_only) {
        srv_buf_puts(&b, ",\"rollout\":");
        put_rollout(&b, e);
    }
    if (q->alignment) {
        srv_buf_puts(&b, ",\"alignment\":");
        srv_attn_write_alignment(&b, e);
    }
    if (j->docs && j->docs[0].condensed) put_document(&b, j);
    srv_buf_putc(&b, ',');
    put_usage(&b, in, out);
    srv_buf_putc(&b, ',');
    put_timings(&b, j, res, start_ns);
    srv_buf_putc(&b, '}');
    srv_attn_store_release(j->app->store, e);
    size_t len;
    char *body = srv_buf_steal(&b, &len);
    srv_response_json(&j->resp, 200, body, len);
    return 0;
}
