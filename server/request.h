/* request.h — parsing and validation of the bodies of POST /translate, /summarize and
 * /attention (JSON, and LibreTranslate's JSON or form shape), with precise messages. */
#ifndef ATTNSERVE_SRV_REQUEST_H
#define ATTNSERVE_SRV_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#include "attnsel.h"
#include "config.h"
#include "errors.h"
#include "form.h"

typedef enum { SRV_TASK_TRANSLATE = 0, SRV_TASK_SUMMARIZE = 1 } srv_task;

/* /summarize "mode": what is made of each text. */
typedef enum {
    SRV_MODE_DEFAULT = 0, /* absent: extractive for a han model, else document */
    SRV_MODE_DOCUMENT,    /* the abstractive model on the whole text: when it does not fit the
                             model's input, the extractor's best sentences that fit */
    SRV_MODE_ABSTRACTIVE, /* the abstractive model on the text, cut to its input (or 413) */
    SRV_MODE_EXTRACTIVE,  /* the extractor's max_sentences best sentences, in document order */
    SRV_MODE_HIGHLIGHTS,  /* one abstractive summary (a headline) per extracted sentence */
} srv_sum_mode;
extern const char *const srv_sum_mode_names[]; /* indexed by srv_sum_mode; [0] = NULL */

/* A /translate or /summarize request. Strings are borrowed from `doc` or `form`, which the
 * struct owns (srv_gen_request_free). */
struct srv_gen_request {
    json_t *doc;
    struct srv_form form;
    int n_texts;
    const char **texts; /* (n_texts), owned array of borrowed strings */
    size_t *lens;       /* (n_texts) bytes */
    int text_is_list;   /* the request gave a list (the answer mirrors it) */
    const char *model, *source_lang, *target_lang; /* NULL when absent */
    struct cfg_gen_options options;
    int scores, tokens, alignment, attention, strict, split_sentences;
    int stream; /* "stream": true: answer text/event-stream (token events, then the answer) */
    int max_sentences; /* /summarize extractive and highlights modes; 0 = default (3) */
    int mode;          /* /summarize: srv_sum_mode */
    const char *api_key; /* body "api_key" (LibreTranslate), or NULL */
    /* LibreTranslate shape (the body had "q"): answer in its shape */
    int libre;
    int libre_html;         /* format "html": translate text between tags */
    int libre_alternatives; /* alternatives asked for */
    int libre_auto;         /* source "auto" */
    int libre_file;         /* POST /translate_file: the answer is a download link */
    /* the source language identified by the server (langroute.c), or "" */
    char detected_lang[TX_LANG_CODE_SIZE];
    double detected_confidence; /* 0..100 */
};

/* A POST /attention request. */
struct srv_attention_request {
    json_t *doc;
    int task; /* srv_task, or -1 = the model's task */
    const char *text;
    size_t len;
    const char *model, *source_lang, *target_lang;
    struct cfg_gen_options options;
    unsigned kinds; /* SRV_KIND_*; default all */
    int n_layers;   /* 0 = all */
    int layers[SRV_MAX_SELECT];
    int n_heads; /* 0 = all (unless agg) */
    int heads[SRV_MAX_SELECT];
    int head_agg; /* SRV_AGG_* */
    int rollout, alignment, strict;
    int stream; /* "stream": true: the output's tokens as events, then the maps */
    const char *api_key;
};

/* The shape of a POST body, from its Content-Type. */
typedef enum {
    SRV_BODY_JSON = 1, /* application/json */
    SRV_BODY_FORM = 2, /* application/x-www-form-urlencoded (LibreTranslate) */
    SRV_BODY_MULTIPART = 3, /* multipart/form-data (LibreTranslate's /translate_file) */
} srv_body_kind;

/* Checks the Content-Type of a POST body: JSON (application/json, optional charset=utf-8)
 * everywhere, and form-urlencoded when allow_form. Returns an srv_body_kind, or -1 with a 415
 * error. ct may be NULL (absent). */
int srv_content_kind(const char *ct, int allow_form, struct srv_err *err);

/* Parses a /translate body (kind from srv_content_kind). Returns 0 or -1 with err. */
int srv_parse_translate(const char *body, size_t len, srv_body_kind kind,
                        const struct cfg_limits *lim, struct srv_gen_request *out,
                        struct srv_err *err);
int srv_parse_summarize(const char *body, size_t len, const struct cfg_limits *lim,
                        struct srv_gen_request *out, struct srv_err *err);
void srv_gen_request_free(struct srv_gen_request *r);

int srv_parse_attention(const char *body, size_t len, const struct cfg_limits *lim,
                        struct srv_attention_request *out, struct srv_err *err);
void srv_attention_request_free(struct srv_attention_request *r);

/* Parses a JSON body into an object (400 invalid_json / 422 when not an object). Owned. */
json_t *srv_parse_json_object(const char *body, size_t len, struct srv_err *err);

#endif
