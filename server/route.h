/* route.h — the route table: path templates, their methods, and which need an API key. */
#ifndef ATTNSERVE_SRV_ROUTE_H
#define ATTNSERVE_SRV_ROUTE_H

typedef enum {
    SRV_R_HEALTHZ = 0,
    SRV_R_READYZ,
    SRV_R_METRICS,
    SRV_R_MODELS,
    SRV_R_LANGUAGES,
    SRV_R_OPENAPI,
    SRV_R_TRANSLATE,
    SRV_R_SUMMARIZE,
    SRV_R_ATTENTION,
    SRV_R_ATTENTION_ID,
    SRV_R_DETECT, /* LibreTranslate's routes (libre_api.c) */
    SRV_R_FRONTEND_SETTINGS,
    SRV_R_SUGGEST,
    SRV_R_TRANSLATE_FILE,
    SRV_R_DOWNLOAD_FILE,
    SRV_R_WEB,   /* the embedded web UI (GET) */
    SRV_R_OTHER, /* no route: 404 */
    SRV_R_COUNT
} srv_route;

enum { SRV_M_GET = 1u << 0, SRV_M_POST = 1u << 1 };

struct srv_route_def {
    const char *label; /* template, e.g. "/attention/{id}" (metrics label) */
    unsigned methods;  /* SRV_M_*; GET implies HEAD; OPTIONS is always answered */
    int needs_key;     /* API key required when keys are configured */
    const char *allow; /* Allow header value */
};

extern const struct srv_route_def srv_routes[SRV_R_COUNT];

/* Matches a path (no query string). For /attention/{id} and /download_file/{filename} sets *id
 * to the segment after the last '/'. Returns SRV_R_OTHER when no API route matches (the caller may
 * then try the web UI's assets). */
srv_route srv_route_match(const char *path, const char **id);

/* Labels of every route, for metrics. */
const char *const *srv_route_labels(void);

#endif
