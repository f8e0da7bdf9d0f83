/* route.c — the route table. */
#include "route.h"

#include <string.h>

const struct srv_route_def srv_routes[SRV_R_COUNT] = {
    [SRV_R_HEALTHZ] = {"/healthz", SRV_M_GET, 0, "GET, HEAD, OPTIONS"},
    [SRV_R_READYZ] = {"/readyz", SRV_M_GET, 0, "GET, HEAD, OPTIONS"},
    [SRV_R_METRICS] = {"/metrics", SRV_M_GET, 0, "GET, HEAD, OPTIONS"},
    [SRV_R_MODELS] = {"/models", SRV_M_GET, 0, "GET, HEAD, OPTIONS"},
    [SRV_R_LANGUAGES] = {"/languages", SRV_M_GET, 0, "GET, HEAD, OPTIONS"},
    [SRV_R_OPENAPI] = {"/openapi.yaml", SRV_M_GET, 0, "GET, HEAD, OPTIONS"},
    [SRV_R_TRANSLATE] = {"/translate", SRV_M_POST, 1, "POST, OPTIONS"},
    [SRV_R_SUMMARIZE] = {"/summarize", SRV_M_POST, 1, "POST, OPTIONS"},
    [SRV_R_ATTENTION] = {"/attention", SRV_M_POST, 1, "POST, OPTIONS"},
    [SRV_R_ATTENTION_ID] = {"/attention/{id}", SRV_M_GET, 1, "GET, HEAD, OPTIONS"},
    [SRV_R_DETECT] = {"/detect", SRV_M_POST, 1, "POST, OPTIONS"},
    [SRV_R_FRONTEND_SETTINGS] = {"/frontend/settings", SRV_M_GET, 0, "GET, HEAD, OPTIONS"},
    [SRV_R_SUGGEST] = {"/suggest", SRV_M_POST, 0, "POST, OPTIONS"},
    [SRV_R_TRANSLATE_FILE] = {"/translate_file", SRV_M_POST, 1, "POST, OPTIONS"},
    [SRV_R_DOWNLOAD_FILE] = {"/download_file/{filename}", SRV_M_GET, 0, "GET, HEAD, OPTIONS"},
    [SRV_R_WEB] = {"/ (web UI)", SRV_M_GET, 0, "GET, HEAD, OPTIONS"},
    [SRV_R_OTHER] = {"(unmatched)", 0, 0, ""},
};

srv_route srv_route_match(const char *path, const char **id)
{
    static const srv_route fixed[] = {
        SRV_R_HEALTHZ,       SRV_R_READYZ,  SRV_R_METRICS,           SRV_R_MODELS,
        SRV_R_LANGUAGES,     SRV_R_OPENAPI, SRV_R_TRANSLATE,         SRV_R_SUMMARIZE,
        SRV_R_ATTENTION,     SRV_R_DETECT,  SRV_R_FRONTEND_SETTINGS, SRV_R_SUGGEST,
        SRV_R_TRANSLATE_FILE};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (!strcmp(path, srv_routes[fixed[i]].label)) return fixed[i];
    if (!strncmp(path, "/attention/", 11) && path[11] && !strchr(path + 11, '/')) {
        if (id) *id = path + 11;
        return SRV_R_ATTENTION_ID;
    }
    if (!strncmp(path, "/download_file/", 15) && path[15] && !strchr(path + 15, '/')) {
        if (id) *id = path + 15;
        return SRV_R_DOWNLOAD_FILE;
    }
    return SRV_R_OTHER;
}

const char *const *srv_route_labels(void)
{
    static const char *labels[SRV_R_COUNT];
    for (int i = 0; i < SRV_R_COUNT; i++)
        labels[i] = srv_routes[i].label;
    return labels;
}
