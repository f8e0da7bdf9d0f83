/* response.c — building plain responses. */
#include "response.h"

#include <stdlib.h>
#include <string.h>

void srv_response_error(struct srv_response *r, const struct srv_err *err)
{
    srv_response_free(r);
    r->status = srv_code_status(err->code);
    r->code = err->code;
    r->content_type = SRV_CT_JSON;
    r->body = srv_error_body(err, &r->len);
    if (!r->body) {
        static const char oom[] =
            "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";
        r->status = 500;
        r->code = SRV_E_OUT_OF_MEMORY;
        r->body = (char *)oom;
        r->len = sizeof oom - 1;
        r->body_static = 1;
    }
    if (err->code == SRV_E_BUSY || err->code == SRV_E_NOT_READY) r->retry_after = 1;
    if (err->code == SRV_E_UNAUTHORIZED) r->www_authenticate = 1;
}

void srv_response_json(struct srv_response *r, int status, char *body, size_t len)
{
    if (!body) {
        struct srv_err e;
        srv_fail(&e, SRV_E_OUT_OF_MEMORY, "out of memory while writing the answer");
        srv_response_error(r, &e);
        return;
    }
    srv_response_free(r);
    r->status = status;
    r->code = SRV_OK;
    r->content_type = SRV_CT_JSON;
    r->body = body;
    r->len = len;
}

void srv_response_free(struct srv_response *r)
{
    if (!r->body_static) free(r->body);
    r->body = NULL;
    r->len = 0;
    r->body_static = 0;
}
