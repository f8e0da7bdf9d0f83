/* langroute.c — served language pairs, language identification, source-language routing. */
#include "langroute.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "libre.h"
#include "log.h"

int srv_model_n_pairs(const struct srv_model *m)
{
    if (m->task != CFG_TASK_TRANSLATE) return 0;
    int n = m->cfg->n_languages;
    return n > 0 ? n * (n - 1) : 1;
}

void srv_model_pair(const struct srv_model *m, int i, const char **src, const char **tgt)
{
    int n = m->cfg->n_languages;
    if (n == 0) {
        *src = m->cfg->source_lang;
        *tgt = m->cfg->target_lang;
        return;
    }
    /* multilingual: source-major order, en->de, en->fr, de->en, de->fr, ... */
    int s = i / (n - 1), t = i % (n - 1);
    if (t >= s) t++;
    *src = m->cfg->languages[s];
    *tgt = m->cfg->languages[t];
}

const char *srv_model_prefix(const struct srv_model *m, const char *src, const char *tgt)
{
    int n = m->cfg->n_languages;
    if (n == 0 || !m->lang_prefix) return m->prefix;
    /* the target asked for; without one, the first language other than the source */
    for (int k = 0; k < n; k++)
        if (tgt ? !strcmp(tgt, m->cfg->languages[k]) : !(src && !strcmp(src, m->cfg->languages[k])))
            return m->lang_prefix[k];
    return m->lang_prefix[0];
}

void srv_model_describe_pairs(const struct srv_model *m, char *buf, size_t size)
{
    int n = m->cfg->n_languages;
    if (n == 0) {
        snprintf(buf, size, "%.64s->%.64s", m->cfg->source_lang, m->cfg->target_lang);
        return;
    }
    size_t o = 0;
    buf[0] = '\0';
    for (int k = 0; k < n && o + 12 < size; k++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", k ? "<->" : "", m->cfg->languages[k]);
}

int srv_model_serves(const struct srv_model *m, const char *src, const char *tgt)
{
    int n = srv_model_n_pairs(m);
    for (int i = 0; i < n; i++) {
        const char *s, *t;
        srv_model_pair(m, i, &s, &t);
        if ((!src || !strcmp(src, s)) && (!tgt || !strcmp(tgt, t))) return 1;
    }
    return 0;
}

static int add_unique(const char **v, int n, int max, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return n;
    if (n < max) v[n++] = s;
    return n;
}

int srv_source_languages(const struct srv_registry *r, const char *tgt, const char **out, int max)
{
    int n = 0;
    for (int k = 0; k < r->n; k++) {
        const struct srv_model *m = &r->models[k];
        int np = srv_model_n_pairs(m);
        for (int i = 0; i < np; i++) {
            const char *s, *t;
            srv_model_pair(m, i, &s, &t);
            if (!tgt || !strcmp(tgt, t)) n = add_unique(out, n, max, s);
        }
    }
    return n;
}

int srv_langid_create(const struct srv_registry *r, const char *data_dir, tx_langid **out)
{
    const char *langs[TX_LANGID_MAX_LANGS];
    int n = srv_source_languages(r, NULL, langs, TX_LANGID_MAX_LANGS);
    *out = NULL;
    /* A language the identifier cannot know (no fingerprint, malformed code) is left out, so
     * that the others can still be identified; each one left out is found by trying it alone. */
    const char *keep[TX_LANGID_MAX_LANGS];
    int n_keep = 0;
    for (int i = 0; i < n; i++) {
        tx_langid *one = NULL;
        struct tx_error e;
        memset(&e, 0, sizeof e);
        tx_status st = tx_langid_new(&langs[i], 1, data_dir, &one, &e);
        if (st == TX_OK) {
            keep[n_keep++] = langs[i];
            tx_langid_free(one);
        } else if (st == TX_ERR_UNSUPPORTED || st == TX_ERR_INVALID) {
            srv_log_msg(CFG_LOG_WARN, "langid",
                        "language %s cannot be identified (%s); source \"auto\" never picks it",
                        langs[i], e.message);
        } else {
            srv_log_msg(CFG_LOG_ERROR, "langid", "%s: %s", tx_status_name(st), e.message);
            return -1;
        }
    }
    if (n_keep == 0) {
        srv_log_msg(CFG_LOG_WARN, "langid",
                    "no served source language can be identified: /detect and source \"auto\" "
                    "answer 400");
        return 0;
    }
    struct tx_error e;
    memset(&e, 0, sizeof e);
    tx_status st = tx_langid_new(keep, n_keep, data_dir, out, &e);
    if (st != TX_OK) {
        srv_log_msg(CFG_LOG_ERROR, "langid", "%s: %s", tx_status_name(st), e.message);
        return -1;
    }
    return 0;
}

/* One language's evidence over a batch (LibreTranslate's detect_languages). */
struct tally {
    char lang[TX_LANG_CODE_SIZE];
    double sum_conf; /* sum of confidences over the texts that named it */
    int count;       /* texts that named it */
    double length;   /* total length of those texts */
};

int srv_detect_texts(const tx_langid *id, const char *const *texts, const size_t *lens, int n,
                     struct srv_detected *out, int max, int *n_out, struct srv_err *err)
{
    struct tally tl[TX_LANGID_MAX_LANGS];
    int n_tl = 0;
    double total_len = 0;
    *n_out = 0;
    for (int t = 0; t < n; t++) {
        struct tx_lang_guess g[3];
        int ng = 0;
        struct tx_error e;
        memset(&e, 0, sizeof e);
        tx_status st = tx_langid_detect(id, texts[t], lens[t], g, 3, &ng, &e);
        if (st != TX_OK) {
            srv_err_from_tx(st, &e, err);
            return -1;
        }
        for (int k = 0; k < ng; k++) {
            int j = 0;
            while (j < n_tl && strcmp(tl[j].lang, g[k].lang))
                j++;
            if (j == n_tl) {
                if (n_tl == TX_LANGID_MAX_LANGS) continue;
                memset(&tl[n_tl], 0, sizeof tl[n_tl]);
                memcpy(tl[n_tl].lang, g[k].lang, sizeof tl[n_tl].lang);
                n_tl++;
            }
            tl[j].sum_conf += g[k].confidence;
            tl[j].count++;
            tl[j].length += (double)lens[t];
            total_len += (double)lens[t];
        }
    }
    if (n_tl == 0) return 0;
    /* rank by mean confidence weighted by the length the language was seen in (insertion sort
     * keeps the first-seen order among equals) */
    double score[TX_LANGID_MAX_LANGS];
    for (int j = 0; j < n_tl; j++)
        score[j] = total_len > 0 ? (tl[j].sum_conf / tl[j].count) * tl[j].length / total_len : 0;
    for (int a = 1; a < n_tl; a++) {
        struct tally x = tl[a];
        double sx = score[a];
        int b = a - 1;
        while (b >= 0 && score[b] < sx) {
            tl[b + 1] = tl[b];
            score[b + 1] = score[b];
            b--;
        }
        tl[b + 1] = x;
        score[b + 1] = sx;
    }
    int m = n_tl < max ? n_tl : max;
    for (int j = 0; j < m; j++) {
        memcpy(out[j].lang, tl[j].lang, sizeof out[j].lang);
        out[j].confidence = tl[j].sum_conf / tl[j].count;
    }
    *n_out = m;
    return 0;
}

/* Whether lang is a source or a target of a served model. */
static int served(const struct srv_registry *reg, const char *lang)
{
    for (int i = 0; i < reg->n; i++)
        if (srv_model_serves(&reg->models[i], lang, NULL) ||
            srv_model_serves(&reg->models[i], NULL, lang))
            return 1;
    return 0;
}

/* LibreTranslate's checks and messages: "xx is not supported" for a language no model knows,
 * "German (de) is not available as a target language from English (en)" for a pair. */
static int check_libre_pair(const struct srv_registry *reg, const char *src, const char *tgt,
                            struct srv_err *err)
{
    if (src && !served(reg, src))
        return srv_fail(err, SRV_E_INVALID_VALUE, "%.64s is not supported", src);
    if (tgt && !served(reg, tgt))
        return srv_fail(err, SRV_E_INVALID_VALUE, "%.64s is not supported", tgt);
    if (!src || !tgt) return 0;
    for (int i = 0; i < reg->n; i++)
        if (srv_model_serves(&reg->models[i], src, tgt)) return 0;
    return srv_fail(err, SRV_E_MODEL_NOT_FOUND,
                    "%s (%.64s) is not available as a target language from %s (%.64s)",
                    srv_language_name(tgt), tgt, srv_language_name(src), src);
}

int srv_langroute_resolve(const struct srv_app *app, struct srv_gen_request *req,
                          struct srv_err *err)
{
    if (req->libre && check_libre_pair(&app->reg, req->source_lang, req->target_lang, err))
        return -1;
    if (req->model || req->source_lang || req->n_texts < 1) return 0;
    const struct srv_registry *reg = &app->reg;
    struct srv_detected d[1];
    int nd = 0;
    if (!req->libre_auto) {
        /* attnserve's shape: identify only when it decides something, and not on a few words
         * (the fingerprints confuse "Log me." with German): a request that could always be
         * sent without source_lang keeps its model unless its text says clearly otherwise */
        const char *cand[TX_LANGID_MAX_LANGS];
        size_t total = 0;
        for (int i = 0; i < req->n_texts; i++)
            total += req->lens[i];
        if (!app->langid || total < SRV_DETECT_MIN_BYTES ||
            srv_source_languages(reg, req->target_lang, cand, 2) < 2)
            return 0;
        struct srv_err ignored;
        if (srv_detect_texts(app->langid, req->texts, req->lens, req->n_texts, d, 1, &nd,
                             &ignored) ||
            nd == 0 || d[0].confidence < 50)
            return 0; /* undecided: the first model translating into the target, as before */
        for (int i = 0; i < reg->n; i++)
            if (srv_model_serves(&reg->models[i], d[0].lang, req->target_lang)) {
                memcpy(req->detected_lang, d[0].lang, sizeof req->detected_lang);
                req->detected_confidence = d[0].confidence;
                req->source_lang = req->detected_lang;
                return 0;
            }
        return 0;
    }
    const char *langs[TX_LANGID_MAX_LANGS];
    int nl = srv_source_languages(reg, NULL, langs, TX_LANGID_MAX_LANGS);
    char list[256];
    size_t o = 0;
    list[0] = '\0';
    for (int i = 0; i < nl && o + 12 < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", langs[i]);
    if (!app->langid)
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "source \"auto\" is not available: none of the served source languages "
                        "(%s) can be identified on this server; give the source language",
                        nl ? list : "none");
    if (srv_detect_texts(app->langid, req->texts, req->lens, req->n_texts, d, 1, &nd, err))
        return -1;
    if (nd == 0)
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "source \"auto\": the language of q cannot be identified (no letters, "
                        "or too little text to tell %s apart); give the source language",
                        list);
    memcpy(req->detected_lang, d[0].lang, sizeof req->detected_lang);
    req->detected_confidence = d[0].confidence;
    req->source_lang = req->detected_lang;
    return check_libre_pair(reg, req->source_lang, req->target_lang, err);
}
