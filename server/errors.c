/* errors.c — the one table of error codes, HTTP statuses and core status mapping. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"

static const struct {
    const char *name;
    int status;
} table[SRV_E_COUNT] = {
    [SRV_OK] = {"ok", 200},
    [SRV_E_INVALID_JSON] = {"invalid_json", 400},
    [SRV_E_INVALID_FORM] = {"invalid_form", 400},
    [SRV_E_INVALID_ENCODING] = {"invalid_encoding", 400},
    [SRV_E_UNAUTHORIZED] = {"unauthorized", 401},
    [SRV_E_NOT_FOUND] = {"not_found", 404},
    [SRV_E_MODEL_NOT_FOUND] = {"model_not_found", 404},
    [SRV_E_ATTENTION_NOT_FOUND] = {"attention_not_found", 404},
    [SRV_E_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
    [SRV_E_REQUEST_TIMEOUT] = {"request_timeout", 408},
    [SRV_E_PAYLOAD_TOO_LARGE] = {"payload_too_large", 413},
    [SRV_E_INPUT_TOO_LONG] = {"input_too_long", 413},
    [SRV_E_TOO_MANY_TEXTS] = {"too_many_texts", 413},
    [SRV_E_ATTENTION_TOO_LARGE] = {"attention_too_large", 413},
    [SRV_E_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", 415},
    [SRV_E_INVALID_VALUE] = {"invalid_value", 422},
    [SRV_E_MISSING_FIELD] = {"missing_field", 422},
    [SRV_E_UNKNOWN_FIELD] = {"unknown_field", 422},
    [SRV_E_WRONG_TASK] = {"wrong_task", 422},
    [SRV_E_INTERNAL] = {"internal", 500},
    [SRV_E_OUT_OF_MEMORY] = {"out_of_memory", 500},
    [SRV_E_BUSY] = {"busy", 503},
    [SRV_E_TIMEOUT] = {"timeout", 503},
    [SRV_E_NOT_READY] = {"not_ready", 503},
    [SRV_E_SHUTTING_DOWN] = {"shutting_down", 503},
};

int srv_code_status(srv_code c)
{
    return (c >= 0 && c < SRV_E_COUNT) ? table[c].status : 500;
}

const char *srv_code_name(srv_code c)
{
    return (c >= 0 && c < SRV_E_COUNT) ? table[c].name : "internal";
}

int srv_fail(struct srv_err *err, srv_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void srv_err_from_tx(tx_status st, const struct tx_error *txe, struct srv_err *err)
{
    const char *m = txe && txe->message[0] ? txe->message : NULL;
    switch (st) {
    case TX_OK:
        err->code = SRV_OK;
        err->message[0] = '\0';
        return;
    case TX_ERR_INVALID:
        srv_fail(err, SRV_E_INVALID_VALUE, "%s", m ? m : "invalid input");
        return;
    case TX_ERR_TOO_LONG:
        srv_fail(err, SRV_E_INPUT_TOO_LONG, "%s", m ? m : "input too long for the model");
        return;
    case TX_ERR_ENCODING:
        srv_fail(err, SRV_E_INVALID_ENCODING, "%s", m ? m : "text is not valid UTF-8");
        return;
    case TX_ERR_NOMEM:
        srv_fail(err, SRV_E_OUT_OF_MEMORY,
                 "the request needs more memory than the server may use; send shorter or "
                 "fewer texts, or fewer beams");
        return;
    case TX_ERR_CANCELLED:
        srv_fail(err, SRV_E_TIMEOUT, "the request was cancelled before it finished");
        return;
    case TX_ERR_IO:
    case TX_ERR_FORMAT:
    case TX_ERR_UNSUPPORTED:
        break;
    }
    srv_fail(err, SRV_E_INTERNAL, "the model failed to run this request (logged on the server)");
}

char *srv_error_body(const struct srv_err *err, size_t *len)
{
    struct srv_buf b;
    srv_buf_init(&b);
    srv_buf_puts(&b, "{\"error\":{\"code\":");
    srv_buf_json_string(&b, srv_code_name(err->code), strlen(srv_code_name(err->code)));
    srv_buf_puts(&b, ",\"message\":");
    srv_buf_json_string(&b, err->message, strlen(err->message));
    srv_buf_puts(&b, "}}");
    return srv_buf_steal(&b, len);
}
