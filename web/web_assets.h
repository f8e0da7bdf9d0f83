/* web_assets.h — the web UI's static files, embedded into the binary at build time. */
#ifndef ATTNSERVE_WEB_ASSETS_H
#define ATTNSERVE_WEB_ASSETS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Looks up the embedded file served at URL path `path` ("/", "/index.html", "/app.js", ...;
 * "/" is index.html; a query string or fragment must already be stripped). On a match returns
 * 1 and sets *data (the bytes, not NUL-terminated), *len (their count) and *content_type (a
 * MIME type with charset for text, e.g. "text/html; charset=utf-8"); all three are borrowed
 * from static storage, valid for the life of the process. Returns 0 (out-params untouched) for
 * any other path, including NULL. Any out-param may be NULL. Thread-safe (read-only data). */
int web_asset_find(const char *path, const unsigned char **data, size_t *len,
                   const char **content_type);

/* Number of embedded files, and the URL path of file i (0 <= i < count; "/index.html" style,
 * borrowed static storage; NULL when i is out of range). For listings and tests. */
size_t web_asset_count(void);
const char *web_asset_path(size_t i);

#ifdef __cplusplus
}
#endif

#endif
