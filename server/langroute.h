/* langroute.h — the language pairs the served translation models cover, the language
 * identifier over their source languages, and the source language of a request that does not
 * name one (LibreTranslate's source "auto", or attnserve's /translate without source_lang). */
#ifndef ATTNSERVE_SRV_LANGROUTE_H
#define ATTNSERVE_SRV_LANGROUTE_H

#include <stddef.h>

#include "errors.h"
#include "registry.h"
#include "request.h"

struct srv_app;

/* A language guess of the server: a code of the identifier and LibreTranslate's confidence
 * scale (0..100). */
struct srv_detected {
    char lang[TX_LANG_CODE_SIZE];
    double confidence;
};

/* The language pairs model m translates (0 for a summarization model). */
int srv_model_n_pairs(const struct srv_model *m);
/* The i-th pair of m (0 <= i < srv_model_n_pairs(m)); strings borrowed from the config. */
void srv_model_pair(const struct srv_model *m, int i, const char **src, const char **tgt);
/* The text prepended to every source text of a request src->tgt on m (either may be NULL): a
 * multilingual model's target token ">>tgt<< " (before a configured prefix), else m->prefix.
 * Borrowed from m. */
const char *srv_model_prefix(const struct srv_model *m, const char *src, const char *tgt);
/* "en->de", or "en<->de<->fr" for a multilingual model. */
void srv_model_describe_pairs(const struct srv_model *m, char *buf, size_t size);
/* Whether m translates src into tgt; a NULL language matches any. */
int srv_model_serves(const struct srv_model *m, const char *src, const char *tgt);

/* The distinct source languages of the served translation models that translate into tgt
 * (NULL: any target), in configuration order, at most max; returns their number. Borrowed. */
int srv_source_languages(const struct srv_registry *r, const char *tgt, const char **out, int max);

/* Creates the identifier over every served source language (a language without a
 * fingerprint is left out and logged). *out is NULL when no language is left (logged); owned:
 * tx_langid_free. Returns 0, or -1 on OOM or a failure of the core (logged). */
int srv_langid_create(const struct srv_registry *r, const char *data_dir, tx_langid **out);

/* Identifies the language of texts[0..n) (n >= 1) among the identifier's languages, combined
 * as LibreTranslate combines a batch: per language the mean confidence over the texts that
 * name it, ranked by confidence weighted by the texts' length. Writes up to max guesses, best
 * first; *n_out = 0 when undecided. Errors: 400 invalid_encoding. */
int srv_detect_texts(const tx_langid *id, const char *const *texts, const size_t *lens, int n,
                     struct srv_detected *out, int max, int *n_out, struct srv_err *err);

/* attnserve's own /translate identifies the source language from this many bytes of text on */
#define SRV_DETECT_MIN_BYTES 20

/* Sets req->source_lang when the request leaves it to the server. LibreTranslate's "auto":
 * the identified language, kept in req->detected_lang / detected_confidence; undecided -> 400
 * (422 invalid_value, which LibreTranslate's shape answers 400). attnserve's shape without
 * model and source_lang, when the models translating into the target have several source
 * languages: the identified language (texts of SRV_DETECT_MIN_BYTES or more, confidence 50 or
 * more) if a model translates it into the target, else nothing changes (the first matching model,
 * as before). Returns 0 or -1 with err. */
int srv_langroute_resolve(const struct srv_app *app, struct srv_gen_request *req,
                          struct srv_err *err);

#endif
