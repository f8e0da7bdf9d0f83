/* fuzz_server.c — the server's request parsers on arbitrary bodies and query strings: byte 0
 * picks the entry point (a /translate JSON or form body, a /summarize or /attention body, a
 * Content-Type value, an /attention/{id} query string), the rest is the input. Invariants: a
 * parser that fails sets an error code with its HTTP status in 4xx and a message; one that
 * succeeds sets none; a form is decoded into keys and values that lie inside the input's
 * length; whatever was parsed frees cleanly (the sanitizers watch). */
#include "fuzz.h"

#include <string.h>

#include "attnsel.h"
#include "config.h"
#include "errors.h"
#include "form.h"
#include "request.h"

static void check_err(int rc, const struct srv_err *e)
{
    if (rc == 0) return;
    FUZZ_CHECK(rc == -1);
    int status = srv_code_status(e->code);
    FUZZ_CHECK((status >= 400 && status < 500) || status == 500); /* 500: out of memory only */
    FUZZ_CHECK(e->message[0] != '\0');
}

int fuzz_request(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    struct cfg_config c;
    cfg_init(&c); /* the default limits */
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    struct srv_err e;
    memset(&e, 0, sizeof e);
    int rc;
    switch (data[0] % 6) {
    case 0:
    case 1: {
        struct srv_gen_request r;
        rc = srv_parse_translate(body, n, data[0] % 6 ? SRV_BODY_FORM : SRV_BODY_JSON,
                                 &c.limits, &r, &e);
        check_err(rc, &e);
        srv_gen_request_free(&r);
        break;
    }
    case 2: {
        struct srv_gen_request r;
        rc = srv_parse_summarize(body, n, &c.limits, &r, &e);
        check_err(rc, &e);
        srv_gen_request_free(&r);
        break;
    }
    case 3: {
        struct srv_attention_request r;
        rc = srv_parse_attention(body, n, &c.limits, &r, &e);
        check_err(rc, &e);
        srv_attention_request_free(&r);
        break;
    }
    case 4: {
        char *ct = strndup(body, n);
        FUZZ_CHECK(ct != NULL);
        rc = srv_content_kind(ct, data[0] & 8, &e);
        if (rc < 0) check_err(-1, &e);
        free(ct);
        break;
    }
    default: {
        struct srv_form q;
        memset(&q, 0, sizeof q);
        rc = srv_form_parse(body, n, &q, &e);
        check_err(rc, &e);
        if (rc == 0) {
            struct srv_attn_query out;
            check_err(srv_attn_query_parse(&q, &out, &e), &e);
        }
        srv_form_free(&q);
        break;
    }
    }
    cfg_free(&c);
    return 0;
}
