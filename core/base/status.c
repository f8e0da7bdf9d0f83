/* status.c — status names and error formatting. */
#include "tx.h"
#include "txi.h"

#include <stdarg.h>
#include <stdio.h>

const char *tx_status_name(tx_status st)
{
    switch (st) {
    case TX_OK: return "ok";
    case TX_ERR_INVALID: return "invalid";
    case TX_ERR_IO: return "io";
    case TX_ERR_FORMAT: return "format";
    case TX_ERR_UNSUPPORTED: return "unsupported";
    case TX_ERR_NOMEM: return "nomem";
    case TX_ERR_TOO_LONG: return "too_long";
    case TX_ERR_CANCELLED: return "cancelled";
    case TX_ERR_ENCODING: return "encoding";
    }
    return "unknown";
}

tx_status txi_fail(struct tx_error *err, tx_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = st;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}
