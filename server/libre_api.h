/* libre_api.h — LibreTranslate's public API beside /translate: /languages, /detect,
 * /frontend/settings, /suggest, /translate_file with /download_file/{name}, and
 * LibreTranslate's error shape ({"error": "..."} with 400/403/500) for requests in its shape. */
#ifndef ATTNSERVE_SRV_LIBRE_API_H
#define ATTNSERVE_SRV_LIBRE_API_H

#include "app.h"
#include "jsonw.h"
#include "request.h"
#include "response.h"
#include "route.h"

/* Whether every request to route is in LibreTranslate's shape (its errors too). */
int srv_libre_route(srv_route route);

/* Content-Type check of a POST to a LibreTranslate-only route: JSON or form for /detect and
 * /suggest, multipart/form-data for /translate_file. Returns 1 JSON, 2 form, 3 multipart, or
 * -1 with a 415 error. */
int srv_libre_content_kind(srv_route route, const char *ct, struct srv_err *err);

/* GET /languages: every served language that is a source or a target of a translation model,
 * in configuration order, each with the languages it translates into. */
void srv_libre_languages(struct srv_app *app, struct srv_response *r);
/* GET /frontend/settings: the fields LibreTranslate's frontend and clients read. */
void srv_libre_frontend_settings(struct srv_app *app, struct srv_response *r);

/* POST /detect, /suggest (bodies already read; auth_ok: a header key was valid or no key is
 * needed, else the body's api_key decides). */
void srv_libre_detect(struct srv_app *app, const char *body, size_t len, int kind, int auth_ok,
                      struct srv_response *r);
void srv_libre_suggest(struct srv_app *app, struct srv_response *r);

/* POST /translate_file (multipart/form-data, ct its Content-Type; host the request's Host
 * header or NULL): fills req as a LibreTranslate request over the file's text (one text,
 * split into sentences and lines), answered with a download link. Plain-text files (.txt,
 * UTF-8) only. Returns 0 or -1 with err (401 when the key is missing or wrong). */
int srv_libre_parse_file(struct srv_app *app, const char *ct, const char *host, const char *body,
                         size_t len, int auth_ok, struct srv_gen_request *req, struct srv_err *err);
/* The answer of a /translate_file job: keeps text (the translated file) for GET
 * /download_file/{name} and answers {"translatedFileUrl": ...}. */
void srv_libre_answer_file(struct srv_app *app, const struct srv_gen_request *req, const char *text,
                           struct srv_response *r);
/* GET /download_file/{name}: the translated file (text/plain), or 400 when unknown/expired. */
void srv_libre_download(struct srv_app *app, const char *name, struct srv_response *r);

/* Translated files kept for download: at most SRV_FILES_MAX, each for files_ttl_s seconds.
 * Thread-safe. */
#define SRV_FILES_MAX 64
struct srv_file_store;
struct srv_file_store *srv_file_store_new(int ttl_s);
void srv_file_store_free(struct srv_file_store *s);

/* Rewrites an error answer {"error":{"code","message"}} into LibreTranslate's {"error":
 * message} and status: 401 -> 403, other 4xx -> 400; 5xx kept (503 keeps Retry-After). */
void srv_libre_restyle(struct srv_response *r);

/* "detectedLanguage" of a /translate answer with source "auto" (a list when q was). */
void srv_libre_put_detected(struct srv_buf *b, const struct srv_gen_request *q);

#endif
