/* http.h — the libmicrohttpd side: routing, body accumulation with a size cap and a deadline,
 * content-type and API-key checks, CORS, handing inference to the workers (the connection is
 * suspended meanwhile), one completion callback that logs and frees every request. */
#ifndef ATTNSERVE_SRV_HTTP_H
#define ATTNSERVE_SRV_HTTP_H

#include "app.h"

/* Starts the HTTP threads on cfg host:port; sets app->daemon and app->port. Returns 0/-1. */
int srv_http_start(struct srv_app *app);
/* Stops accepting new connections (existing ones are still served). */
void srv_http_quiesce(struct srv_app *app);
/* Stops the HTTP threads and closes every connection. */
void srv_http_stop(struct srv_app *app);

#endif
