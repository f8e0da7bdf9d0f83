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

/* One text into item it (alternative 0 = the summary). */
static tx_status extract_one(tx_session *s, const tx_tokenizer *tok, const char *text, size_t len,
                             int k, int index, struct doc *d, struct tx_text_item *it,
                             struct tx_error *err)
{
    int n = tx_split_sentences(text, len, d->spans, TX_EXTRACT_MAX_SENTENCES);
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
            for (int j = 0; j < (k < n ? k : n); j++) { /* best first, earlier on ties */
                int best = -1;
                for (int i = 0; i < n; i++)
                    if (!it->sentences[i].selected && (best < 0 || o.scores[i] > o.scores[best]))
                        best = i;
                it->sentences[best].selected = 1;
            }
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
        }
    }
    for (int i = 0; i < n_enc; i++)
        tx_encoding_free(&d->enc[i]);
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
    struct doc d = {
        .spans = malloc(TX_EXTRACT_MAX_SENTENCES * sizeof *d.spans),
        .enc = calloc(TX_EXTRACT_MAX_SENTENCES, sizeof *d.enc),
        .ids = calloc(TX_EXTRACT_MAX_SENTENCES, sizeof *d.ids),
        .n_tok = calloc(TX_EXTRACT_MAX_SENTENCES, sizeof *d.n_tok),
    };
    tx_status st = TX_OK;
    if (res) res->items = calloc((size_t)(n_texts > 0 ? n_texts : 1), sizeof *res->items);
    if (!res || !res->items || !d.spans || !d.enc || !d.ids || !d.n_tok)
        st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
    double t0 = now_ms();
    for (int i = 0; st == TX_OK && i < n_texts; i++) {
        res->n_items = i + 1;
        st = extract_one(s, tok, texts[i], lens[i], max_sentences, i, &d, &res->items[i], err);
    }
    free(d.spans);
    free(d.enc);
    free(d.ids);
    free(d.n_tok);
    if (st != TX_OK) {
        tx_text_result_free(res);
        return st;
    }
    res->generate_ms = now_ms() - t0;
    *out = res;
    return TX_OK;
}
