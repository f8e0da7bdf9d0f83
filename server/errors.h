/* errors.h — the server's error codes: one table maps each to its HTTP status and JSON code,
 * and core statuses to them. */
#ifndef ATTNSERVE_SRV_ERRORS_H
#define ATTNSERVE_SRV_ERRORS_H

#include <stddef.h>

#include "tx.h"

typedef enum {
    SRV_OK = 0,
    SRV_E_INVALID_JSON,           /* 400 body is not valid JSON */
    SRV_E_INVALID_FORM,           /* 400 form body cannot be decoded */
    SRV_E_INVALID_ENCODING,       /* 400 text is not valid UTF-8 */
    SRV_E_UNAUTHORIZED,           /* 401 missing or wrong API key */
    SRV_E_NOT_FOUND,              /* 404 no such route */
    SRV_E_MODEL_NOT_FOUND,        /* 404 no such model / no model for a language pair */
    SRV_E_ATTENTION_NOT_FOUND,    /* 404 attention id unknown or expired */
    SRV_E_METHOD_NOT_ALLOWED,     /* 405 */
    SRV_E_REQUEST_TIMEOUT,        /* 408 body not received in time */
    SRV_E_PAYLOAD_TOO_LARGE,      /* 413 body larger than limits.max_body_bytes */
    SRV_E_INPUT_TOO_LONG,         /* 413 text too long (bytes, or tokens in strict mode) */
    SRV_E_TOO_MANY_TEXTS,         /* 413 more texts than limits.max_texts */
    SRV_E_ATTENTION_TOO_LARGE,    /* 413 attention result larger than the store */
    SRV_E_UNSUPPORTED_MEDIA_TYPE, /* 415 */
    SRV_E_INVALID_VALUE,          /* 422 wrong type or out of range */
    SRV_E_MISSING_FIELD,          /* 422 */
    SRV_E_UNKNOWN_FIELD,          /* 422 */
    SRV_E_WRONG_TASK,             /* 422 model does not do the task asked */
    SRV_E_INTERNAL,               /* 500 */
    SRV_E_OUT_OF_MEMORY,          /* 500 */
    SRV_E_BUSY,                   /* 503 queue full (Retry-After) */
    SRV_E_TIMEOUT,                /* 503 request deadline passed */
    SRV_E_NOT_READY,              /* 503 models still loading (Retry-After) */
    SRV_E_SHUTTING_DOWN,          /* 503 server is stopping */
    SRV_E_COUNT
} srv_code;

#define SRV_MESSAGE_SIZE 512

/* nginx's "client closed request": logged and counted for a client that left before its
 * answer (no answer is sent, so it is no srv_code's status). */
#define SRV_STATUS_CLIENT_CLOSED 499

struct srv_err {
    srv_code code;
    char message[SRV_MESSAGE_SIZE];
};

/* HTTP status of a code (200 for SRV_OK). */
int srv_code_status(srv_code c);
/* JSON "code" string ("invalid_value", ...). Static storage. */
const char *srv_code_name(srv_code c);

/* Sets err (code + printf message) and returns -1. */
int srv_fail(struct srv_err *err, srv_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Maps a core failure to a client error. The core's message is kept only for statuses whose
 * messages describe the input (invalid, too_long, encoding); others get a generic message so
 * no path or internal detail reaches a client (the caller logs the original). */
void srv_err_from_tx(tx_status st, const struct tx_error *txe, struct srv_err *err);

/* The error body {"error":{"code":"...","message":"..."}} (owned; free()). */
char *srv_error_body(const struct srv_err *err, size_t *len);

#endif
