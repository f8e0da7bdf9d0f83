/* extract.c — tx_text_extract: extractive summaries of whole documents with a han model: split
 * into sentences, tokenize, tx_salience, the best sentences in document order. Memory and time
 * are bounded: at most TX_EXTRACT_MAX_SENTENCES sentences of TX_EXTRACT_MAX_PIECES pieces. */
#include "tx.h"
#include "txi.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Scratch of one document: spans, encodings and id pointers of up to MAX sentences. */
struct doc {
    uint32_t (*spans)[2];
    struct tx_encoding *enc;
    const int32_t **ids;
    int *n_tok;
};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Whitespace-delimited words of text[a, b) into w (NULL: only counted). Returns the count. */
static int split_words(const char *text, uint32_t a, uint32_t b, struct tx_text_word *w)
{
    int n = 0;
    uint32_t p = a;
    while (p < b) {
        while (p < b && is_space(text[p])) p++;
        if (p >= b) break;
        uint32_t q = p;
        while (q < b && !is_space(text[q])) q++;
        if (w) w[n] = (struct tx_text_word){.start = p, .end = q, .weight = 0.0f};
        n++;
        p = q;
    }
    return n;
}

/* The words of item it's sentences, each weighing the word attention on the pieces that start
 * in it (att: sentence after sentence, n_tok[i] each; enc: the full encodings). */
static tx_status set_words(const char *text, const struct doc *d, const float *att,
                           struct tx_text_item *it, struct tx_error *err)
{
    int total = 0;
    for (int i = 0; i < it->n_sentences; i++)
        total += split_words(text, it->sentences[i].start, it->sentences[i].end, NULL);
    it->words = calloc(total > 0 ? (size_t)total : 1, sizeof *it->words);
    if (!it->words) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    it->n_words = total;
    int at = 0;
    for (int i = 0; i < it->n_sentences; i++) {
        struct tx_text_sentence *ts = &it->sentences[i];
        struct tx_text_word *w = it->words + at;
        ts->first_word = at;
        ts->n_words = split_words(text, ts->start, ts->end, w);
        at += ts->n_words;
        const struct tx_encoding *e = &d->enc[i];
        int cut = e->n_ids > d->n_tok[i]; /* the last piece read is the end token moved up */
        int wi = 0;
        for (int k = 0; k < d->n_tok[i]; k++) {
            float a = att[k];
            if (cut && k == d->n_tok[i] - 1) continue;
            uint32_t p = ts->start + e->offsets[2 * k], q = ts->start + e->offsets[2 * k + 1];
            while (p < q && is_space(text[p])) p++;
            if (p >= q) continue; /* an added token (end of sentence) or only a space */
            while (wi < ts->n_words && w[wi].end <= p) wi++;
            if (wi < ts->n_words && w[wi].start <= p) w[wi].weight += a;
        }
        att += d->n_tok[i];
    }
    return TX_OK;
}

/* Trigram blocking (Paulus et al. 2018; Liu & Lapata 2019): word trigrams of text[a, b), words
 * being runs of ASCII letters and digits, case-folded, each trigram hashed (FNV-1a). Writes up
 * to cap hashes to h (NULL: only counts); returns the count. */
static int trigrams(const char *text, uint32_t a, uint32_t b, uint64_t *h, int cap)
{
    uint64_t w[3] = {0, 0, 0};
    int nw = 0, n = 0;
    for (uint32_t p = a; p < b;) {
        unsigned char c = (unsigned char)text[p];
        int alnum = (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
        if (!alnum) {
            p++;
            continue;
        }
        uint64_t x = 1469598103934665603ULL;
        for (; p < b; p++) {
            c = (unsigned char)text[p];
            if (c >= 'A' && c <= 'Z') c |= 32;
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) break;
            x = (x ^ c) * 1099511628211ULL;
        }
        w[0] = w[1];
        w[1] = w[2];
        w[2] = x;
        if (++nw >= 3) {
            if (h && n < cap) h[n] = (w[0] * 0x9E3779B97F4A7C15ULL) ^ (w[1] * 0xC2B2AE3D27D4EB4FULL) ^ w[2];
            n++;
        }
    }
    return n;
}

/* Marks the k sentences of a summary: best score first (earlier on ties), skipping a sentence
 * that shares a word trigram with one already chosen; when fewer than k pass, the best skipped
 * ones fill the summary. Chosen on the dev articles (docs/han.md). Returns 0, -1 out of memory. */
static int select_sentences(const char *text, uint32_t (*spans)[2], const float *scores,
                            int n, int k, struct tx_text_sentence *out)
{
    int *first = malloc((size_t)(n + 1) * sizeof *first);
    if (!first) return -1;
    int total = 0;
    for (int i = 0; i < n; i++) {
        first[i] = total;
        total += trigrams(text, spans[i][0], spans[i][1], NULL, 0);
    }
    first[n] = total;
    uint64_t *h = malloc((size_t)(total > 0 ? total : 1) * sizeof *h);
    unsigned char *tried = calloc((size_t)n, 1);
    if (!h || !tried) {
        free(first);
        free(h);
        free(tried);
        return -1;
    }
    for (int i = 0; i < n; i++) trigrams(text, spans[i][0], spans[i][1], h + first[i], total);
    int chosen = 0;
    for (int pass = 0; pass < 2 && chosen < k; pass++) { /* pass 1: fill with the skipped */
        for (;;) {
            int best = -1;
            for (int i = 0; i < n; i++)
                if (!out[i].selected && !(pass == 0 && tried[i]) &&
                    (best < 0 || scores[i] > scores[best]))
                    best = i;
            if (best < 0 || chosen == k) break;
            tried[best] = 1;
            int overlap = 0;
            for (int j = 0; pass == 0 && !overlap && j < n; j++) {
                if (!out[j].selected) continue;
                for (int a = first[best]; !overlap && a < first[best + 1]; a++)
                    for (int b = first[j]; b < first[j + 1]; b++)
                        if (h[a] == h[b]) {
                            overlap = 1;
                            break;
                        }
            }
            if (overlap) continue;
            out[best].selected = 1;
            chosen++;
        }
    }
    free(first);
    free(h);
    free(tried);
    return 0;
}

/* One text into item it (alternative 0 = the summary). */
static tx_status score_spans(tx_session *s, const tx_tokenizer *tok, const char *text, size_t len,
                             int n, int k, int index, struct doc *d, struct tx_text_item *it,
                             struct tx_error *err)
{
    it->n_alternatives = 1;
    it->alternatives = calloc(1, sizeof *it->alternatives);
    if (!it->alternatives) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    if (n > TX_EXTRACT_MAX_SENTENCES) {
        it->truncated = 1;
        n = TX_EXTRACT_MAX_SENTENCES;
    }
    if (n == 0) { /* nothing to summarize */
        it->alternatives[0].text = strdup("");
        return it->alternatives[0].text ? TX_OK : txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    tx_status st = TX_OK;
    int n_enc = 0, pieces = 0, pieces_orig = 0;
    for (int i = 0; i < n; i++, n_enc++) {
        st = tx_tokenizer_encode(tok, text + d->spans[i][0], d->spans[i][1] - d->spans[i][0],
                                 TX_SIDE_SOURCE, &d->enc[i], err);
        if (st != TX_OK) break;
        d->n_tok[i] = d->enc[i].n_ids;
        pieces_orig += d->n_tok[i];
        if (d->n_tok[i] > TX_EXTRACT_MAX_PIECES) { /* keep the end token */
            d->enc[i].ids[TX_EXTRACT_MAX_PIECES - 1] = d->enc[i].ids[d->n_tok[i] - 1];
            d->n_tok[i] = TX_EXTRACT_MAX_PIECES;
        }
        if (d->n_tok[i] < 1) { /* a tokenizer that adds nothing: score the sentence as empty */
            st = txi_fail(err, TX_ERR_INVALID, "text[%d]: sentence %d has no tokens", index, i);
            break;
        }
        pieces += d->n_tok[i];
        d->ids[i] = d->enc[i].ids;
    }
    struct tx_salience_out o;
    if (st == TX_OK) st = tx_salience(s, d->ids, d->n_tok, n, &o, err);
    if (st == TX_OK) {
        it->sentences = calloc((size_t)n, sizeof *it->sentences);
        char *sum = malloc(len + 1);
        if (!it->sentences || !sum) {
            free(sum);
            st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
        } else {
            it->n_sentences = n;
            if (select_sentences(text, d->spans, o.scores, n, k, it->sentences)) {
                free(sum);
                sum = NULL;
                st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
            }
        }
        if (st == TX_OK) {
            size_t at = 0;
            for (int i = 0; i < n; i++) {
                struct tx_text_sentence *ts = &it->sentences[i];
                ts->start = d->spans[i][0];
                ts->end = d->spans[i][1];
                ts->score = o.scores[i];
                ts->attention = o.sentence_attention[i];
                if (!ts->selected) continue;
                if (at) sum[at++] = ' ';
                memcpy(sum + at, text + ts->start, ts->end - ts->start);
                at += ts->end - ts->start;
            }
            sum[at] = '\0';
            it->alternatives[0].text = sum;
            it->n_input_tokens = pieces;
            it->n_input_tokens_original = pieces_orig;
            if (pieces < pieces_orig) it->truncated = 1;
            st = set_words(text, d, o.word_attention, it, err);
        }
    }
    for (int i = 0; i < n_enc; i++)
        tx_encoding_free(&d->enc[i]);
    return st;
}

static tx_status extract_one(tx_session *s, const tx_tokenizer *tok, const char *text, size_t len,
                             int k, int index, struct doc *d, struct tx_text_item *it,
                             struct tx_error *err)
{
    int n = tx_split_sentences(text, len, d->spans, TX_EXTRACT_MAX_SENTENCES);
    return score_spans(s, tok, text, len, n, k, index, d, it, err);
}

static int doc_alloc(struct doc *d)
{
    d->spans = malloc(TX_EXTRACT_MAX_SENTENCES * sizeof *d->spans);
    d->enc = calloc(TX_EXTRACT_MAX_SENTENCES, sizeof *d->enc);
    d->ids = calloc(TX_EXTRACT_MAX_SENTENCES, sizeof *d->ids);
    d->n_tok = calloc(TX_EXTRACT_MAX_SENTENCES, sizeof *d->n_tok);
    return d->spans && d->enc && d->ids && d->n_tok ? 0 : -1;
}

static void doc_free(struct doc *d)
{
    free(d->spans);
    free(d->enc);
    free(d->ids);
    free(d->n_tok);
}

tx_status tx_text_extract_spans(tx_session *s, const tx_tokenizer *tok, const char *text,
                                size_t len, uint32_t (*spans)[2], int n_spans, int max_sentences,
                                struct tx_text_item *out, struct tx_error *err)
{
    if (!s || !tok || !out || (n_spans > 0 && (!text || !spans)))
        return txi_fail(err, TX_ERR_INVALID, "tx_text_extract_spans: NULL argument");
    if (max_sentences < 1)
        return txi_fail(err, TX_ERR_INVALID, "max_sentences = %d must be at least 1",
                        max_sentences);
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n_spans; i++)
        if (spans[i][0] > spans[i][1] || spans[i][1] > len)
            return txi_fail(err, TX_ERR_INVALID, "sentence %d: span [%u, %u) outside the %zu bytes",
                            i, spans[i][0], spans[i][1], len);
    struct doc d;
    if (doc_alloc(&d)) {
        doc_free(&d);
        return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    int keep = n_spans < TX_EXTRACT_MAX_SENTENCES ? n_spans : TX_EXTRACT_MAX_SENTENCES;
    memcpy(d.spans, spans, (size_t)(keep > 0 ? keep : 0) * sizeof *spans);
    tx_status st = score_spans(s, tok, text, len, n_spans, max_sentences, 0, &d, out, err);
    doc_free(&d);
    return st;
}

tx_status tx_text_extract(tx_session *s, const tx_tokenizer *tok, const char *const *texts,
                          const size_t *lens, int n_texts, int max_sentences,
                          struct tx_text_result **out, struct tx_error *err)
{
    if (!s || !tok || !out || (n_texts > 0 && (!texts || !lens)))
        return txi_fail(err, TX_ERR_INVALID, "tx_text_extract: NULL argument");
    if (max_sentences < 1)
        return txi_fail(err, TX_ERR_INVALID, "max_sentences = %d must be at least 1",
                        max_sentences);
    *out = NULL;
    struct tx_text_result *res = calloc(1, sizeof *res);
    struct doc d;
    tx_status st = TX_OK;
    if (res) res->items = calloc((size_t)(n_texts > 0 ? n_texts : 1), sizeof *res->items);
    if (doc_alloc(&d) || !res || !res->items) st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
    double t0 = now_ms();
    for (int i = 0; st == TX_OK && i < n_texts; i++) {
        res->n_items = i + 1;
        st = extract_one(s, tok, texts[i], lens[i], max_sentences, i, &d, &res->items[i], err);
    }
    doc_free(&d);
    if (st != TX_OK) {
        tx_text_result_free(res);
        return st;
    }
    res->generate_ms = now_ms() - t0;
    *out = res;
    return TX_OK;
}

/* Pieces of text[a, b) under tok without the tokens the tokenizer adds (start == end). */
static tx_status count_pieces(const tx_tokenizer *tok, const char *text, size_t len, int *n,
                              struct tx_error *err)
{
    struct tx_encoding e;
    tx_status st = tx_tokenizer_encode(tok, text, len, TX_SIDE_SOURCE, &e, err);
    if (st != TX_OK) return st;
    int c = 0;
    for (int k = 0; k < e.n_ids; k++) c += e.offsets[2 * k] != e.offsets[2 * k + 1];
    *n = c;
    tx_encoding_free(&e);
    return TX_OK;
}

/* prefix + the selected sentences of it, joined by a space, into buf (room for all of text). */
static size_t join_selected(const char *prefix, const char *text, const struct tx_text_item *it,
                            char *buf)
{
    size_t at = 0;
    if (prefix) {
        memcpy(buf, prefix, strlen(prefix));
        at = strlen(prefix);
    }
    size_t body = at;
    for (int i = 0; i < it->n_sentences; i++) {
        const struct tx_text_sentence *ts = &it->sentences[i];
        if (!ts->selected) continue;
        if (at > body) buf[at++] = ' ';
        memcpy(buf + at, text + ts->start, ts->end - ts->start);
        at += ts->end - ts->start;
    }
    buf[at] = '\0';
    return at;
}

tx_status tx_text_condense(const tx_tokenizer *tok, const char *prefix, const char *text,
                           struct tx_text_item *it, int max_tokens, char **out, size_t *out_len,
                           int *n_used, struct tx_error *err)
{
    if (!tok || !text || !it || !out || !out_len || !n_used)
        return txi_fail(err, TX_ERR_INVALID, "tx_text_condense: NULL argument");
    *out = NULL;
    int n = it->n_sentences;
    size_t room = strlen(prefix ? prefix : "") + 1;
    for (int i = 0; i < n; i++) room += it->sentences[i].end - it->sentences[i].start + 1;
    char *buf = malloc(room);
    int *cost = malloc((size_t)(n > 0 ? n : 1) * sizeof *cost);
    if (!buf || !cost) {
        free(buf);
        free(cost);
        return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    }
    /* what every input costs: the prefix's pieces and the tokens the tokenizer adds */
    struct tx_encoding e;
    const char *pre = prefix ? prefix : "";
    tx_status st = tx_tokenizer_encode(tok, pre, strlen(pre), TX_SIDE_SOURCE, &e, err);
    int budget = max_tokens;
    if (st == TX_OK) {
        budget -= e.n_ids;
        tx_encoding_free(&e);
    }
    for (int i = 0; st == TX_OK && i < n; i++) {
        it->sentences[i].selected = 0;
        st = count_pieces(tok, text + it->sentences[i].start,
                          it->sentences[i].end - it->sentences[i].start, &cost[i], err);
    }
    int used = 0;
    for (int round = 0; st == TX_OK && round < n; round++) { /* best first, earlier on ties */
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!it->sentences[i].selected && cost[i] >= 0 &&
                (best < 0 || it->sentences[i].score > it->sentences[best].score))
                best = i;
        if (best < 0) break;
        if (used == 0 || cost[best] <= budget) {
            it->sentences[best].selected = 1;
            budget -= cost[best];
            used++;
        }
        cost[best] = -1 - cost[best]; /* considered */
    }
    size_t len = 0;
    while (st == TX_OK) { /* the joined text may take more pieces than its sentences alone */
        len = join_selected(prefix, text, it, buf);
        int total = 0;
        st = tx_tokenizer_encode(tok, buf, len, TX_SIDE_SOURCE, &e, err);
        if (st != TX_OK) break;
        total = e.n_ids;
        tx_encoding_free(&e);
        if (total <= max_tokens || used <= 1) break;
        int worst = -1;
        for (int i = 0; i < n; i++)
            if (it->sentences[i].selected &&
                (worst < 0 || it->sentences[i].score <= it->sentences[worst].score))
                worst = i;
        it->sentences[worst].selected = 0;
        used--;
    }
    free(cost);
    if (st != TX_OK) {
        free(buf);
        return st;
    }
    /* the caller adds the prefix itself: hand back the text after it */
    size_t pl = strlen(pre);
    memmove(buf, buf + pl, len - pl + 1);
    *out = buf;
    *out_len = len - pl;
    *n_used = used;
    return TX_OK;
}
