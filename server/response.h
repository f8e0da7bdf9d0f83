/* response.h — an HTTP answer as plain data (status, headers that matter, body), built by the
 * handlers and turned into a libmicrohttpd response in one place (http.c). */
#ifndef ATTNSERVE_SRV_RESPONSE_H
#define ATTNSERVE_SRV_RESPONSE_H

#include <stddef.h>

#include "errors.h"

#define SRV_CT_JSON "application/json"
#define SRV_CT_SVG "image/svg+xml"
#define SRV_CT_YAML "application/yaml; charset=utf-8"
#define SRV_CT_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

struct srv_response {
    int status;
    srv_code code;            /* SRV_OK, or the error code (logs) */
    const char *content_type; /* static string */
    char *body;               /* owned unless body_static */
    size_t len;
    int body_static;
    int retry_after;      /* seconds; 0 = no Retry-After */
    const char *allow;    /* Allow header (405, OPTIONS), static */
    int www_authenticate; /* 401: add WWW-Authenticate: Bearer */
    int no_body;          /* 204 */
    char attachment[128]; /* Content-Disposition: attachment; filename="..." ([A-Za-z0-9._-]) */
    /* for the request log */
    char model[72];
    long in_tokens, out_tokens;
    double queue_ms, inference_ms;
};

/* An error response ({"error":{...}} with the code's status). */
void srv_response_error(struct srv_response *r, const struct srv_err *err);
/* A JSON body (stolen: freed with the response). body NULL = out of memory: a 500. */
void srv_response_json(struct srv_response *r, int status, char *body, size_t len);
void srv_response_free(struct srv_response *r);

#endif
