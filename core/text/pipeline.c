/* pipeline.c — text in, text out: tokenize, (split), generate in batches, decode, capture. */
#include "text_job.h"
#include "tx.h"
#include "txi.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longest source when neither the request nor the model sets one (T5 has no position table;
 * its tokenizers use model_max_length 512). */
#define DEFAULT_MAX_INPUT_TOKENS 512
/* Sentences generated together in one tx_generate call: bounds the KV cache and arena of a
 * session for long texts while keeping the decode matrix products reasonably wide. */
#define MAX_SEGMENTS_PER_BATCH 16

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void free_segments(struct segment *segs, int n, int n_return)
{
    if (!segs) return;
    for (int i = 0; i < n; i++) {
        free(segs[i].ids);
        if (segs[i].hyps) {
            for (int k = 0; k < n_return; k++) free((void *)segs[i].hyps[k].ids);
            free(segs[i].hyps);
        }
    }
    free(segs);
}

static void free_alternative(struct tx_text_alternative *a)
{
    free(a->text);
    free(a->ids);
    if (a->tokens) {
        for (int i = 0; i < a->n_ids; i++) free(a->tokens[i]);
        free(a->tokens);
    }
}

void tx_text_item_clear(struct tx_text_item *it)
{
    if (!it) return;
    if (it->alternatives) {
        for (int k = 0; k < it->n_alternatives; k++) free_alternative(&it->alternatives[k]);
        free(it->alternatives);
    }
    if (it->source_tokens) {
        for (int k = 0; k < it->n_source_tokens; k++) free(it->source_tokens[k]);
        free(it->source_tokens);
    }
    free(it->source_ids);
    free(it->sentences);
    free(it->words);
    if (it->attention) {
        free(it->attention->encoder);
        free(it->attention->decoder);
        free(it->attention->cross);
        free(it->attention);
    }
    memset(it, 0, sizeof *it);
}

void tx_text_result_free(struct tx_text_result *res)
{
    if (!res) return;
    for (int i = 0; i < res->n_items; i++) tx_text_item_clear(&res->items[i]);
    free(res->items);
    free(res);
}

/* Display strings for ids (owned array of owned strings), or NULL on allocation failure. */
static char **display_tokens(const tx_tokenizer *tok, const int32_t *ids, int n)
{
    char **out = calloc(n > 0 ? (size_t)n : 1, sizeof *out);
    if (!out) return NULL;
    for (int i = 0; i < n; i++) {
        char small[64];
        size_t need = tx_tokenizer_display_piece(tok, ids[i], small, sizeof small);
        out[i] = malloc(need + 1);
        if (!out[i]) {
            for (int k = 0; k < i; k++) free(out[k]);
            free(out);
            return NULL;
        }
        if (need < sizeof small)
            memcpy(out[i], small, need + 1);
        else
            tx_tokenizer_display_piece(tok, ids[i], out[i], need + 1);
    }
    return out;
}

/* Tokenizes one segment (with the optional prefix) and applies the length policy. */
static tx_status encode_segment(const tx_tokenizer *tok, const char *text, struct segment *sg,
                                const char *prefix, int limit, int truncate,
                                struct tx_error *err)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    size_t slen = sg->end - sg->start;
    char *buf = malloc(plen + slen + 1);
    if (!buf) return txi_fail(err, TX_ERR_NOMEM, "text[%d]: out of memory", sg->item);
    if (plen) memcpy(buf, prefix, plen);
    memcpy(buf + plen, text + sg->start, slen);
    buf[plen + slen] = '\0';

    struct tx_encoding enc = {0};
    struct tx_error terr = {0};
    tx_status st = tx_tokenizer_encode(tok, buf, plen + slen, TX_SIDE_SOURCE, &enc, &terr);
    free(buf);
    if (st != TX_OK) {
        /* byte offsets in the tokenizer's message count the prefix too */
        return txi_fail(err, st, "text[%d]: %s", sg->item, terr.message);
    }
    sg->n_ids_original = enc.n_ids;
    if (enc.n_ids > limit) {
        if (!truncate) {
            int n = enc.n_ids;
            tx_encoding_free(&enc);
            return txi_fail(err, TX_ERR_TOO_LONG,
                            "text[%d]: %d tokens, the model accepts at most %d", sg->item, n,
                            limit);
        }
        /* As transformers' truncation=True: drop text tokens, keep the closing special
         * token the tokenizer appended (eos). */
        int32_t last = enc.ids[enc.n_ids - 1];
        if (tx_tokenizer_is_special(tok, last)) enc.ids[limit - 1] = last;
        enc.n_ids = limit;
        sg->truncated = 1;
    }
    sg->ids = enc.ids;
    sg->n_ids = enc.n_ids;
    free(enc.offsets);
    return TX_OK;
}

static int cmp_by_length(const void *a, const void *b, void *ctx);

/* qsort_r is not C11; sort an index array by segment length with insertion sort on small
 * inputs and a simple merge sort otherwise (stable, so equal lengths keep input order). */
static void sort_indices(int *idx, int n, const struct segment *segs)
{
    int *tmp = malloc((size_t)(n > 0 ? n : 1) * sizeof *tmp);
    if (!tmp) { /* fall back to insertion sort */
        for (int i = 1; i < n; i++) {
            int v = idx[i], j = i - 1;
            while (j >= 0 && cmp_by_length(&idx[j], &v, (void *)segs) > 0) {
                idx[j + 1] = idx[j];
                j--;
            }
            idx[j + 1] = v;
        }
        return;
    }
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n;
            int hi = lo + 2 * width < n ? lo + 2 * width : n;
            int a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                tmp[k++] = cmp_by_length(&idx[b], &idx[a], (void *)segs) < 0 ? idx[b++] : idx[a++];
            while (a < mid) tmp[k++] = idx[a++];
            while (b < hi) tmp[k++] = idx[b++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
    free(tmp);
}

static int cmp_by_length(const void *a, const void *b, void *ctx)
{
    const struct segment *segs = ctx;
    int la = segs[*(const int *)a].n_ids, lb = segs[*(const int *)b].n_ids;
    return (la > lb) - (la < lb);
}

tx_status txi_text_keep(struct text_job *job, int seg, const struct tx_gen_out *go, int input,
                        struct tx_error *err)
{
    struct segment *sg = &job->segs[seg];
    if (go->n_return != job->n_return) job->n_return = go->n_return;
    sg->hyps = calloc((size_t)go->n_return, sizeof *sg->hyps);
    if (!sg->hyps) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    for (int k = 0; k < go->n_return; k++) {
        const struct tx_hypothesis *h = &go->hyps[(size_t)input * (size_t)go->n_return + k];
        int32_t *ids = malloc((size_t)(h->n_ids > 0 ? h->n_ids : 1) * sizeof *ids);
        if (!ids) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
        if (h->n_ids > 0) memcpy(ids, h->ids, (size_t)h->n_ids * sizeof *ids);
        sg->hyps[k].ids = ids;
        sg->hyps[k].n_ids = h->n_ids;
        sg->hyps[k].score = h->score;
    }
    return TX_OK;
}

/* Copies the borrowed hypotheses of one tx_generate call into the segments. */
static tx_status keep_hypotheses(struct text_job *job, const int *batch, int n_batch,
                                 const struct tx_gen_out *go, struct tx_error *err)
{
    for (int b = 0; b < n_batch; b++) {
        tx_status st = txi_text_keep(job, batch[b], go, b, err);
        if (st != TX_OK) return st;
    }
    return TX_OK;
}

/* Appends src to a growing heap string. */
int txi_text_append(char **s, size_t *len, size_t *cap, const char *src, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap ? *cap : 64);
        while (nc < *len + n + 1) nc *= 2;
        char *p = realloc(*s, nc);
        if (!p) return -1;
        *s = p;
        *cap = nc;
    }
    memcpy(*s + *len, src, n);
    *len += n;
    (*s)[*len] = '\0';
    return 0;
}

/* Builds alternative k of an item from its segments (first..first+count-1), rejoining the
 * decoded sentences with the input's own whitespace between them. */
static tx_status build_alternative(const tx_tokenizer *tok, const char *text,
                                   const struct segment *segs, int first, int count, int k,
                                   unsigned want, struct tx_text_alternative *alt,
                                   struct tx_error *err)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    int total = 0;
    float score = 0.0f;
    for (int i = 0; i < count; i++) {
        const struct tx_hypothesis *h = &segs[first + i].hyps[k];
        total += h->n_ids > 1 ? h->n_ids - 1 : 0;
        score += h->score;
    }
    alt->ids = malloc((size_t)(total > 0 ? total : 1) * sizeof *alt->ids);
    if (!alt->ids || txi_text_append(&out, &len, &cap, "", 0)) goto nomem;
    int pos = 0;
    for (int i = 0; i < count; i++) {
        const struct segment *sg = &segs[first + i];
        const struct tx_hypothesis *h = &sg->hyps[k];
        int ng = h->n_ids > 1 ? h->n_ids - 1 : 0;
        if (ng) memcpy(alt->ids + pos, h->ids + 1, (size_t)ng * sizeof *alt->ids);
        pos += ng;
        char *piece = NULL;
        tx_status st = tx_tokenizer_decode(tok, h->ids + 1, ng, 1, &piece, err);
        if (st != TX_OK) {
            free(out);
            return st;
        }
        if (i > 0) { /* the whitespace that separated the sentences in the input */
            const struct segment *prev = &segs[first + i - 1];
            if (txi_text_append(&out, &len, &cap, text + prev->end, sg->start - prev->end)) {
                free(piece);
                goto nomem;
            }
        }
        int bad = txi_text_append(&out, &len, &cap, piece, strlen(piece));
        free(piece);
        if (bad) goto nomem;
    }
    alt->text = out;
    alt->n_ids = total;
    alt->score = count ? score / (float)count : 0.0f;
    if (want & TX_WANT_TOKENS) {
        alt->tokens = display_tokens(tok, alt->ids, total);
        if (!alt->tokens) goto nomem;
    }
    return TX_OK;
nomem:
    free(out);
    return txi_fail(err, TX_ERR_NOMEM, "out of memory");
}

/* Teacher-forced pass over the best hypothesis to capture every attention map: the same
 * numbers the decoder computed step by step, at the cost of one extra pass, and nothing at
 * all when attention is not requested. */
static tx_status capture_attention(tx_session *s, const struct segment *sg,
                                   struct tx_attention_maps **out, struct tx_error *err)
{
    const struct tx_hypothesis *h = &sg->hyps[0];
    int n_tgt = h->n_ids - 1; /* decoder inputs: start token + generated minus the last */
    struct tx_attention_maps *m = calloc(1, sizeof *m);
    if (!m) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    if (n_tgt < 1) { /* nothing generated: empty maps */
        const struct tx_model_info *mi = tx_model_get_info(tx_session_get_model(s));
        m->n_enc_layers = mi->n_encoder_layers;
        m->n_dec_layers = mi->n_decoder_layers;
        m->n_heads = mi->n_heads;
        m->n_src = sg->n_ids;
        *out = m;
        return TX_OK;
    }
    struct tx_forward_out fo;
    tx_status st = tx_forward(s, sg->ids, sg->n_ids, h->ids, n_tgt, TX_FORWARD_ATTENTIONS, &fo,
                              err);
    if (st != TX_OK) {
        free(m);
        return st;
    }
    m->n_enc_layers = fo.n_enc_layers;
    m->n_dec_layers = fo.n_dec_layers;
    m->n_heads = fo.n_heads;
    m->n_src = fo.n_src;
    m->n_tgt = fo.n_tgt;
    size_t S = (size_t)fo.n_src, T = (size_t)fo.n_tgt, H = (size_t)fo.n_heads;
    size_t ne = (size_t)fo.n_enc_layers * H * S * S;
    size_t nd = (size_t)fo.n_dec_layers * H * T * T;
    size_t nc = (size_t)fo.n_dec_layers * H * T * S;
    m->encoder = malloc((ne ? ne : 1) * sizeof(float));
    m->decoder = malloc((nd ? nd : 1) * sizeof(float));
    m->cross = malloc((nc ? nc : 1) * sizeof(float));
    if (!m->encoder || !m->decoder || !m->cross) {
        free(m->encoder);
        free(m->decoder);
        free(m->cross);
        free(m);
        return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    memcpy(m->encoder, fo.encoder_attentions, ne * sizeof(float));
    memcpy(m->decoder, fo.decoder_attentions, nd * sizeof(float));
    memcpy(m->cross, fo.cross_attentions, nc * sizeof(float));
    *out = m;
    return TX_OK;
}

/* Frees what job owns (not job itself). */
void txi_text_job_free(struct text_job *job)
{
    free_segments(job->segs, job->n_segs, job->n_return);
    free(job->order);
    free(job->first);
    free(job->count);
}

/* The longest source: the request's limit, else the model's, else DEFAULT_MAX_INPUT_TOKENS;
 * never more than the model's position table. */
static int input_limit(const struct tx_model_info *mi, const struct tx_text_params *params)
{
    int limit = params->max_input_tokens > 0 ? params->max_input_tokens
                : mi->max_source_positions > 0 ? mi->max_source_positions
                                                : DEFAULT_MAX_INPUT_TOKENS;
    if (mi->max_source_positions > 0 && limit > mi->max_source_positions)
        limit = mi->max_source_positions;
    return limit;
}

/* Makes room for n_more segments (new ones zeroed). Returns -1 when out of memory. */
static int grow_segments(struct text_job *job, int n_more)
{
    if (job->n_segs + n_more <= job->cap_segs) return 0;
    int nc = job->cap_segs ? job->cap_segs * 2 : 16;
    while (nc < job->n_segs + n_more) nc *= 2;
    struct segment *ns = realloc(job->segs, (size_t)nc * sizeof *ns);
    if (!ns) return -1;
    memset(ns + job->cap_segs, 0, (size_t)(nc - job->cap_segs) * sizeof *ns);
    job->segs = ns;
    job->cap_segs = nc;
    return 0;
}

/* Step 1 for text i: its segments (its sentences when split, else the whole text; an empty
 * text is one empty segment), each tokenized under the length policy. */
static tx_status tokenize_text(struct text_job *job, const tx_tokenizer *tok, const char *text,
                               size_t len, int i, const struct tx_text_params *params, int limit,
                               int split, struct tx_error *err)
{
    uint32_t (*spans)[2] = NULL;
    int ns = 1;
    if (split) {
        ns = tx_split_sentences(text, len, NULL, 0);
        if (ns > 0) {
            spans = malloc((size_t)ns * sizeof *spans);
            if (!spans) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
            tx_split_sentences(text, len, spans, ns);
        }
    }
    int n_here = ns > 0 ? ns : 1;
    if (grow_segments(job, n_here)) {
        free(spans);
        return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    job->first[i] = job->n_segs;
    job->count[i] = n_here;
    tx_status st = TX_OK;
    for (int k = 0; k < n_here && st == TX_OK; k++) {
        struct segment *sg = &job->segs[job->n_segs++];
        sg->item = i;
        sg->start = spans ? spans[k][0] : 0;
        sg->end = spans ? spans[k][1] : (uint32_t)len;
        st = encode_segment(tok, text, sg, params->prefix, limit, params->truncate, err);
    }
    free(spans);
    return st;
}

/* Step 2: generates every segment, shortest first, MAX_SEGMENTS_PER_BATCH at a time, keeping
 * copies of the hypotheses in the segments. */
static tx_status generate_segments(tx_session *s, struct text_job *job,
                                   const struct tx_gen_params *gen, struct tx_error *err)
{
    int n_segs = job->n_segs;
    job->order = malloc((size_t)(n_segs > 0 ? n_segs : 1) * sizeof *job->order);
    if (!job->order) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_segs; i++) job->order[i] = i;
    sort_indices(job->order, n_segs, job->segs);
    for (int b0 = 0; b0 < n_segs; b0 += MAX_SEGMENTS_PER_BATCH) {
        int nb = n_segs - b0 < MAX_SEGMENTS_PER_BATCH ? n_segs - b0 : MAX_SEGMENTS_PER_BATCH;
        const int32_t *ids[MAX_SEGMENTS_PER_BATCH];
        int n_src[MAX_SEGMENTS_PER_BATCH];
        for (int b = 0; b < nb; b++) {
            ids[b] = job->segs[job->order[b0 + b]].ids;
            n_src[b] = job->segs[job->order[b0 + b]].n_ids;
        }
        struct tx_gen_out go;
        tx_status st = tx_generate(s, ids, n_src, nb, gen, &go, err);
        if (st != TX_OK) return st;
        st = keep_hypotheses(job, job->order + b0, nb, &go, err);
        if (st != TX_OK) return st;
    }
    return TX_OK;
}

/* The source ids of text i's segments end to end, and their display tokens. */
static tx_status item_source_tokens(const tx_tokenizer *tok, const struct text_job *job, int i,
                                    int n_src_total, struct tx_text_item *it, struct tx_error *err)
{
    it->source_ids = malloc((size_t)(n_src_total > 0 ? n_src_total : 1) * sizeof(int32_t));
    if (!it->source_ids) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    int pos = 0;
    for (int k = 0; k < job->count[i]; k++) {
        const struct segment *sg = &job->segs[job->first[i] + k];
        memcpy(it->source_ids + pos, sg->ids, (size_t)sg->n_ids * sizeof(int32_t));
        pos += sg->n_ids;
    }
    it->source_tokens = display_tokens(tok, it->source_ids, n_src_total);
    if (!it->source_tokens) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    it->n_source_tokens = n_src_total;
    return TX_OK;
}

/* Step 3 for text i: its alternatives decoded and rejoined, its token counts, and on request
 * its source tokens. */
static tx_status assemble_item(const tx_tokenizer *tok, const char *text,
                               const struct text_job *job, int i, unsigned want,
                               struct tx_text_item *it, struct tx_error *err)
{
    it->alternatives = calloc((size_t)job->n_return, sizeof *it->alternatives);
    if (!it->alternatives) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    it->n_alternatives = job->n_return;
    for (int k = 0; k < job->n_return; k++) {
        tx_status st = build_alternative(tok, text, job->segs, job->first[i], job->count[i], k,
                                         want, &it->alternatives[k], err);
        if (st != TX_OK) return st;
    }
    it->n_output_tokens = it->alternatives[0].n_ids;
    int n_src_total = 0;
    for (int k = 0; k < job->count[i]; k++) {
        const struct segment *sg = &job->segs[job->first[i] + k];
        it->n_input_tokens += sg->n_ids;
        it->n_input_tokens_original += sg->n_ids_original;
        it->truncated |= sg->truncated;
        n_src_total += sg->n_ids;
    }
    if (!(want & TX_WANT_TOKENS)) return TX_OK;
    return item_source_tokens(tok, job, i, n_src_total, it, err);
}

/* Step 4: the attention maps of every text's best hypothesis (texts are never split then). */
static tx_status capture_all(tx_session *s, const struct text_job *job,
                             struct tx_text_result *res, struct tx_error *err)
{
    double t0 = now_ms();
    for (int i = 0; i < res->n_items; i++) {
        tx_status st = capture_attention(s, &job->segs[job->first[i]], &res->items[i].attention,
                                         err);
        if (st != TX_OK) return st;
    }
    res->attention_ms = now_ms() - t0;
    return TX_OK;
}

/* Allocates an empty result of n_texts items and job's per-text arrays; on failure frees
 * what it took and returns TX_ERR_NOMEM. */
static tx_status text_start(int n_texts, int n_return, struct text_job *job,
                            struct tx_text_result **res_out, struct tx_error *err)
{
    memset(job, 0, sizeof *job);
    job->n_return = n_return;
    struct tx_text_result *res = calloc(1, sizeof *res);
    if (!res) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    size_t n_alloc = (size_t)(n_texts > 0 ? n_texts : 1);
    res->items = calloc(n_alloc, sizeof *res->items);
    job->first = calloc(n_alloc, sizeof *job->first);
    job->count = calloc(n_alloc, sizeof *job->count);
    if (!res->items || !job->first || !job->count) {
        txi_text_job_free(job);
        tx_text_result_free(res);
        return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    res->n_items = n_texts;
    *res_out = res;
    return TX_OK;
}

tx_status txi_text_begin(const tx_model *m, const tx_tokenizer *tok, const char *const *texts,
                         const size_t *lens, int n_texts, const struct tx_text_params *params,
                         struct text_job *job, struct tx_text_result **out, struct tx_error *err)
{
    if (!m || !tok || !params || !out || (n_texts > 0 && (!texts || !lens)) || n_texts < 0)
        return txi_fail(err, TX_ERR_INVALID, "tx_text_generate: missing argument");
    int limit = input_limit(tx_model_get_info(m), params);
    if (limit < 2) return txi_fail(err, TX_ERR_INVALID, "max_input_tokens must be at least 2");
    int split = params->split_sentences && !(params->want & TX_WANT_ATTENTION);
    int n_return = params->gen.num_return_sequences > 0 ? params->gen.num_return_sequences : 1;
    struct tx_text_result *res = NULL;
    tx_status st = text_start(n_texts, n_return, job, &res, err);
    if (st != TX_OK) return st;
    double t0 = now_ms();
    for (int i = 0; i < n_texts; i++)
        if ((st = tokenize_text(job, tok, texts[i], lens[i], i, params, limit, split, err))) {
            txi_text_job_free(job);
            tx_text_result_free(res);
            return st;
        }
    res->tokenize_ms = now_ms() - t0;
    *out = res;
    return TX_OK;
}

tx_status txi_text_end(tx_session *s, const tx_tokenizer *tok, const char *const *texts,
                       const struct text_job *job, const struct tx_text_params *params,
                       struct tx_text_result *res, struct tx_error *err)
{
    tx_status st;
    for (int i = 0; i < res->n_items; i++)
        if ((st = assemble_item(tok, texts[i], job, i, params->want, &res->items[i], err)))
            return st;
    if ((params->want & TX_WANT_ATTENTION) && (st = capture_all(s, job, res, err))) return st;
    return TX_OK;
}

tx_status tx_text_generate(tx_session *s, const tx_tokenizer *tok, const char *const *texts,
                           const size_t *lens, int n_texts, const struct tx_text_params *params,
                           struct tx_text_result **out, struct tx_error *err)
{
    if (!s) return txi_fail(err, TX_ERR_INVALID, "tx_text_generate: missing argument");
    struct text_job job;
    struct tx_text_result *res = NULL;
    /* 1. split into segments and tokenize */
    tx_status st = txi_text_begin(tx_session_get_model(s), tok, texts, lens, n_texts, params,
                                  &job, &res, err);
    if (st != TX_OK) return st;
    /* 2. generate, shortest first, in batches */
    double t0 = now_ms();
    if ((st = generate_segments(s, &job, &params->gen, err))) goto fail;
    res->generate_ms = now_ms() - t0;
    /* 3. decode and assemble per input text; 4. attention maps on request (never split) */
    if ((st = txi_text_end(s, tok, texts, &job, params, res, err))) goto fail;
    txi_text_job_free(&job);
    *out = res;
    return TX_OK;
fail:
    txi_text_job_free(&job);
    tx_text_result_free(res);
    return st;
}
