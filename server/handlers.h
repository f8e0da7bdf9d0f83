/* handlers.h — answers of the routes that need no model run: health, readiness, metrics,
 * models, the OpenAPI document, and slices of kept attention results. They run on
 * HTTP threads and are cheap. */
#ifndef ATTNSERVE_SRV_HANDLERS_H
#define ATTNSERVE_SRV_HANDLERS_H

#include "app.h"
#include "form.h"
#include "response.h"

void srv_handle_healthz(struct srv_app *app, struct srv_response *r);
void srv_handle_readyz(struct srv_app *app, struct srv_response *r);
void srv_handle_metrics(struct srv_app *app, struct srv_response *r);
void srv_handle_models(struct srv_app *app, struct srv_response *r);
void srv_handle_openapi(struct srv_app *app, struct srv_response *r);

/* GET /attention/{id}?kind=&layer=&head=&format=: query holds the decoded query arguments. */
void srv_handle_attention_get(struct srv_app *app, const char *id, const struct srv_form *query,
                              struct srv_response *r);

#endif
