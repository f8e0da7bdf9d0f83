/* langid.c — language identification among the languages a server translates from (tx.h).
 *
 * Two well-kept libraries, each where it is strong (measured on held-out sentences, see
 * tools/eval/eval_langid.py and the README): CLD2 is right on short everyday sentences when it
 * says it is reliable, but it is not restricted to a set of languages (it reads Czech captions
 * as Slovak 12% of the time); libexttextcat's n-gram fingerprints, compared only against the
 * served languages, are right on 99.4-100% of multi30k captions of every language. So: CLD2's
 * answer when it is reliable and names a served language, else the nearest fingerprint. */
#include "cld2_shim.h"
#include "tx.h"
#include "txi.h"
#include "utf8.h"

#include <libexttextcat/fingerprint.h>
#include <libexttextcat/textcat.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BYTES 4096     /* a few hundred bytes decide; longer text is cut (at a code point) */
#define MAX_NGRAMS 400     /* fingerprint size of libexttextcat's own .lm files */
#define MARGIN 0.03        /* textcat's THRESHOLDVALUE: a language 3% farther is a close second */
#define UNDECIDED_BELOW 50 /* fingerprint-only answers under this confidence are not answers */

struct tx_langid {
    int n;
    char (*codes)[TX_LANG_CODE_SIZE]; /* (n) */
    void **fps;                       /* (n) libexttextcat fingerprints, read-only after load */
};

void tx_langid_free(tx_langid *id)
{
    if (!id) return;
    for (int i = 0; i < id->n; i++)
        if (id->fps[i]) fp_Done(id->fps[i]);
    free(id->fps);
    free(id->codes);
    free(id);
}

static int valid_code(const char *c)
{
    size_t n = strlen(c);
    if (n < 2 || n >= TX_LANG_CODE_SIZE) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((c[i] >= 'a' && c[i] <= 'z') || (i > 0 && c[i] == '-') ||
              (i > 0 && c[i] >= 'A' && c[i] <= 'Z')))
            return 0;
    return 1;
}

static tx_status load_fingerprint(tx_langid *id, int i, const char *dir, struct tx_error *err)
{
    char path[1024];
    int w = snprintf(path, sizeof path, "%s/%s.lm", dir, id->codes[i]);
    if (w < 0 || (size_t)w >= sizeof path)
        return txi_fail(err, TX_ERR_INVALID, "language identification: path too long");
    if (access(path, R_OK) != 0)
        return txi_fail(err, TX_ERR_UNSUPPORTED,
                        "language identification: no fingerprint for '%s' (%s is missing)",
                        id->codes[i], path);
    id->fps[i] = fp_Init(id->codes[i]);
    if (!id->fps[i]) return txi_fail(err, TX_ERR_NOMEM, "language identification: out of memory");
    fp_SetProperty(id->fps[i], TCPROP_UTF8AWARE, TC_TRUE);
    if (fp_Read(id->fps[i], path, MAX_NGRAMS) == 0)
        return txi_fail(err, TX_ERR_FORMAT, "language identification: %s is not a fingerprint",
                        path);
    return TX_OK;
}

tx_status tx_langid_new(const char *const *langs, int n_langs, const char *data_dir,
                        tx_langid **out, struct tx_error *err)
{
    if (!langs || n_langs < 1 || !out)
        return txi_fail(err, TX_ERR_INVALID, "tx_langid_new: no languages");
    if (n_langs > TX_LANGID_MAX_LANGS)
        return txi_fail(err, TX_ERR_INVALID, "language identification: %d languages (at most %d)",
                        n_langs, TX_LANGID_MAX_LANGS);
    tx_langid *id = calloc(1, sizeof *id);
    if (!id) return txi_fail(err, TX_ERR_NOMEM, "language identification: out of memory");
    id->codes = calloc((size_t)n_langs, sizeof *id->codes);
    id->fps = calloc((size_t)n_langs, sizeof *id->fps);
    if (!id->codes || !id->fps) {
        tx_langid_free(id);
        return txi_fail(err, TX_ERR_NOMEM, "language identification: out of memory");
    }
    const char *dir = data_dir ? data_dir : TX_LANGID_DEFAULT_DATA;
    for (int i = 0; i < n_langs; i++) {
        if (!langs[i] || !valid_code(langs[i])) {
            tx_langid_free(id);
            return txi_fail(err, TX_ERR_INVALID,
                            "language identification: '%s' is not a language code",
                            langs[i] ? langs[i] : "(null)");
        }
        snprintf(id->codes[i], TX_LANG_CODE_SIZE, "%s", langs[i]);
        id->n = i + 1;
        tx_status st = load_fingerprint(id, i, dir, err);
        if (st != TX_OK) {
            tx_langid_free(id);
            return st;
        }
    }
    *out = id;
    return TX_OK;
}

/* Letters in text[0..n) (valid UTF-8): a text without any cannot be told apart. */
static int count_letters(const char *s, size_t n)
{
    int letters = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = txi_utf8_decode(s + i, n - i, &cp);
        if (k <= 0) break;
        letters += txi_utf8_is_letter(cp);
        i += (size_t)k;
    }
    return letters;
}

/* p (n): how close each language's fingerprint is to the text's (s: a padded copy, see
 * tx_langid_detect), as probabilities: weights
 * exp(-(d / d_best - 1) / MARGIN), so a language 3% farther than the best weighs e^-1 of it.
 * Returns 0 when the text makes no fingerprint. */
static int fingerprint_probs(const tx_langid *id, const char *s, size_t n, double *p)
{
    void *unknown = fp_Init(NULL);
    if (!unknown) return 0;
    fp_SetProperty(unknown, TCPROP_UTF8AWARE, TC_TRUE);
    fp_SetProperty(unknown, TCPROP_MINIMUM_DOCUMENT_SIZE, 1);
    if (fp_Create(unknown, s, (uint4)n, MAX_NGRAMS) == 0) {
        fp_Done(unknown);
        return 0;
    }
    double best = INT_MAX, sum = 0;
    for (int i = 0; i < id->n; i++) {
        p[i] = fp_Compare(id->fps[i], unknown, INT_MAX);
        if (p[i] < best) best = p[i];
    }
    fp_Done(unknown);
    if (best <= 0) best = 1;
    for (int i = 0; i < id->n; i++) {
        p[i] = exp(-(p[i] / best - 1.0) / MARGIN);
        sum += p[i];
    }
    for (int i = 0; i < id->n; i++)
        p[i] /= sum;
    return 1;
}

/* Index of code among the served languages, or -1. */
static int served(const tx_langid *id, const char *code)
{
    for (int i = 0; i < id->n; i++)
        if (strcmp(id->codes[i], code) == 0) return i;
    return -1;
}

/* Writes up to max_out guesses, best first: winner with confidence conf, then the other
 * languages by p (never above the winner's confidence), skipping those that round to 0. */
static int write_guesses(const tx_langid *id, int winner, int conf, const double *p,
                         struct tx_lang_guess *out, int max_out)
{
    int n_out = 0, used[TX_LANGID_MAX_LANGS] = {0};
    snprintf(out[n_out].lang, TX_LANG_CODE_SIZE, "%s", id->codes[winner]);
    out[n_out++].confidence = conf;
    used[winner] = 1;
    while (n_out < max_out) {
        int b = -1;
        for (int i = 0; i < id->n; i++)
            if (!used[i] && (b < 0 || p[i] > p[b])) b = i;
        if (b < 0) break;
        used[b] = 1;
        int c = (int)lround(p[b] * 100.0);
        if (c <= 0) break;
        snprintf(out[n_out].lang, TX_LANG_CODE_SIZE, "%s", id->codes[b]);
        out[n_out++].confidence = c < conf ? c : conf;
    }
    return n_out;
}

static int detect_padded(const tx_langid *id, const char *z, size_t n, struct tx_lang_guess *out,
                         int max_out);

tx_status tx_langid_detect(const tx_langid *id, const char *text, size_t len,
                           struct tx_lang_guess *out, int max_out, int *n_out, struct tx_error *err)
{
    if (!id || (!text && len) || !out || max_out < 1 || !n_out)
        return txi_fail(err, TX_ERR_INVALID, "tx_langid_detect: NULL argument");
    size_t bad = txi_utf8_validate(text, len);
    if (bad < len) return txi_fail(err, TX_ERR_ENCODING, "text: invalid UTF-8 at byte %zu", bad);
    size_t n = len;
    if (n > MAX_BYTES) { /* cut at a code point boundary */
        n = MAX_BYTES;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    *n_out = 0;
    if (count_letters(text, n) == 0) return TX_OK;
    /* Both libraries read past the length they are given on some inputs (found by
     * fuzz_langid: libexttextcat 3.4.5's fp_Create up to a NUL, CLD2's UTF-8 scanner a few
     * bytes; at the end of a page either was a SIGSEGV). They get a copy followed by PAD zero
     * bytes, with NUL bytes inside the text made spaces (for libexttextcat a NUL ends it). */
    enum { PAD = 32 };
    char *z = malloc(n + PAD);
    if (!z) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    memcpy(z, text, n);
    memset(z + n, 0, PAD);
    for (size_t i = 0; i < n; i++)
        if (z[i] == '\0') z[i] = ' ';
    *n_out = detect_padded(id, z, n, out, max_out);
    free(z);
    return TX_OK;
}

/* tx_langid_detect on a padded copy (z, n); returns the number of guesses written. */
static int detect_padded(const tx_langid *id, const char *z, size_t n, struct tx_lang_guess *out,
                         int max_out)
{
    double p[TX_LANGID_MAX_LANGS];
    int have_fp = fingerprint_probs(id, z, n, p);
    if (!have_fp)
        for (int i = 0; i < id->n; i++)
            p[i] = 0;

    char codes[3][8];
    int percent[3], reliable = 0;
    txi_cld2_detect(z, (int)n, codes, percent, &reliable);
    int w = reliable ? served(id, codes[0]) : -1;
    if (w >= 0) { /* CLD2 is sure and names a served language: its shares are the answer */
        double share[TX_LANGID_MAX_LANGS] = {0};
        for (int k = 1; k < 3; k++) {
            int j = served(id, codes[k]);
            if (j >= 0 && j != w) share[j] = percent[k] / 100.0;
        }
        return write_guesses(id, w, percent[0] > 0 ? percent[0] : 1, share, out, max_out);
    }
    if (!have_fp) return 0;
    int best = 0;
    for (int i = 1; i < id->n; i++)
        if (p[i] > p[best]) best = i;
    int conf = (int)lround(p[best] * 100.0);
    if (conf < UNDECIDED_BELOW) return 0;
    return write_guesses(id, best, conf, p, out, max_out);
}

int tx_langid_count(const tx_langid *id)
{
    return id ? id->n : 0;
}

const char *tx_langid_language(const tx_langid *id, int i)
{
    return id && i >= 0 && i < id->n ? id->codes[i] : NULL;
}
