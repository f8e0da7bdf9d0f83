/* infer_json.h — the JSON answers of finished inference jobs: /translate and /summarize,
 * LibreTranslate's shape, and POST /attention. Each fills j->resp with a 200 answer; they run
 * on the worker thread, after tx_text_generate succeeded. */
#ifndef ATTNSERVE_SRV_INFER_JSON_H
#define ATTNSERVE_SRV_INFER_JSON_H

#include <stdint.h>

#include "infer.h"

/* {"model", "translations" | "summaries", "usage", "timings"}; keeps attention maps in the
 * store when the request asked for "attention". in/out: token counts of the whole job,
 * start_ns: when the worker took it. Returns 0, or -1 with err (out of memory, or maps larger
 * than the store) and j->resp untouched. */
int srv_answer_gen(struct srv_infer *j, struct tx_text_result *res, int64_t start_ns, long in,
                   long out, struct srv_err *err);
/* LibreTranslate's {"translatedText", "alternatives", "detectedLanguage"}. Returns 0. */
int srv_answer_libre(struct srv_infer *j, struct tx_text_result *res);
/* POST /attention: keeps the maps of res->items[0] in the store (their attention maps are
 * stolen) and answers the selected kinds, layers and heads. Returns 0, or -1 with err. */
int srv_answer_attention(struct srv_infer *j, struct tx_text_result *res, int64_t start_ns, long in,
                         long out, struct srv_err *err);

#endif
