/* txi.h — internal helpers shared by the core's modules (not part of the public API). */
#ifndef ATTNSERVE_TXI_H
#define ATTNSERVE_TXI_H

#include "tx.h"

#if defined(__GNUC__)
#define TXI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TXI_PRINTF(a, b)
#endif

/* Fills err (when non-NULL) with status st and a printf-formatted message; returns st. */
tx_status txi_fail(struct tx_error *err, tx_status st, const char *fmt, ...) TXI_PRINTF(3, 4);

#endif
