/* test_web_assets.c — the embedded web UI: lookup by URL path, content types, and that every
 * file the page loads (stylesheets, scripts, icons, module imports) is itself embedded. */
#include <criterion/criterion.h>
#include <string.h>

#include "web_assets.h"

/* First occurrence of needle in the n bytes at hay (memmem is a GNU extension). */
static const char *find_bytes(const void *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    const char *h = hay;
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(h + i, needle, k) == 0)
            return h + i;
    return NULL;
}

static const char *asset_text(const char *path, size_t *len)
{
    const unsigned char *data = NULL;
    cr_assert(web_asset_find(path, &data, len, NULL), "%s is not embedded", path);
    return (const char *)data;
}

Test(web_assets, root_serves_index_html)
{
    const unsigned char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    const char *ta = NULL, *tb = NULL;
    cr_assert_eq(web_asset_find("/", &a, &la, &ta), 1);
    cr_assert_eq(web_asset_find("/index.html", &b, &lb, &tb), 1);
    cr_assert_eq(a, b);
    cr_assert_eq(la, lb);
    cr_assert_gt(la, 100);
    cr_assert_str_eq(ta, "text/html; charset=utf-8");
    cr_assert(find_bytes(a, la, "<!doctype html>") != NULL);
}

Test(web_assets, scripts_and_styles_have_their_mime_types)
{
    const char *type = NULL;
    cr_assert(web_asset_find("/app.js", NULL, NULL, &type));
    /* Module scripts are refused by browsers unless served with a JavaScript MIME type. */
    cr_assert_str_eq(type, "text/javascript; charset=utf-8");
    cr_assert(web_asset_find("/heatmap.js", NULL, NULL, &type));
    cr_assert_str_eq(type, "text/javascript; charset=utf-8");
    cr_assert(web_asset_find("/style.css", NULL, NULL, &type));
    cr_assert_str_eq(type, "text/css; charset=utf-8");
    cr_assert(web_asset_find("/favicon.svg", NULL, NULL, &type));
    cr_assert_str_eq(type, "image/svg+xml");
}

Test(web_assets, unknown_paths_are_not_found_and_leave_out_params_alone)
{
    const char *bad[] = {"/nope.js", "", "index.html", "/index.html?x=1", "/../CMakeLists.txt",
                         "/web_embed.c", "/static/index.html", "/index.htm", "/INDEX.HTML",
                         "//", "/app.js/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const unsigned char *data = (const unsigned char *)"x";
        size_t len = 7;
        const char *type = "t";
        cr_assert_eq(web_asset_find(bad[i], &data, &len, &type), 0, "%s was found", bad[i]);
        cr_assert_str_eq((const char *)data, "x");
        cr_assert_eq(len, 7);
        cr_assert_str_eq(type, "t");
    }
    cr_assert_eq(web_asset_find(NULL, NULL, NULL, NULL), 0);
}

Test(web_assets, every_listed_asset_can_be_found_with_a_type)
{
    size_t n = web_asset_count();
    cr_assert_geq(n, 4);
    for (size_t i = 0; i < n; i++) {
        const char *p = web_asset_path(i);
        cr_assert_not_null(p);
        cr_assert_eq(p[0], '/');
        const unsigned char *data = NULL;
        size_t len = 0;
        const char *type = NULL;
        cr_assert(web_asset_find(p, &data, &len, &type), "%s", p);
        cr_assert_gt(len, 0, "%s is empty", p);
        cr_assert_not_null(type);
    }
    cr_assert_null(web_asset_path(n));
}

/* Every quoted local reference `attr="NAME.ext"` (or './NAME.ext' in an import) in `text`
 * that names a static file type must be embedded. Returns how many were checked. */
static int check_references(const char *from, const char *text, size_t len, const char *prefix)
{
    int n = 0;
    size_t plen = strlen(prefix);
    for (const char *p = text; (p = find_bytes(p, len - (size_t)(p - text), prefix)) != NULL;
         p += plen) {
        const char *start = p + plen, *end = start;
        while (end < text + len && *end != '"' && *end != '\'' && *end != '?' && *end != '#')
            end++;
        char name[256];
        size_t nlen = (size_t)(end - start);
        if (nlen == 0 || nlen + 2 > sizeof name || memchr(start, ':', nlen))
            continue; /* empty, too long, or an absolute URL */
        int is_static = 0;
        const char *exts[] = {".js", ".css", ".svg", ".png", ".ico"};
        for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++) {
            size_t el = strlen(exts[e]);
            if (nlen > el && memcmp(end - el, exts[e], el) == 0)
                is_static = 1;
        }
        if (!is_static)
            continue; /* a server route such as openapi.yaml or healthz */
        if (start[0] == '.' && start[1] == '/') {
            start += 2;
            nlen -= 2;
        }
        name[0] = '/';
        memcpy(name + 1, start[0] == '/' ? start + 1 : start, nlen - (start[0] == '/'));
        name[1 + nlen - (start[0] == '/')] = '\0';
        cr_assert(web_asset_find(name, NULL, NULL, NULL), "%s references %s, which is not embedded",
                  from, name);
        n++;
    }
    return n;
}

Test(web_assets, everything_the_page_loads_is_embedded)
{
    size_t len = 0;
    const char *html = asset_text("/index.html", &len);
    int n = check_references("index.html", html, len, "href=\"") +
            check_references("index.html", html, len, "src=\"");
    cr_assert_geq(n, 3, "expected at least a stylesheet, a script and an icon, found %d", n);
    const char *js = asset_text("/app.js", &len);
    cr_assert_geq(check_references("app.js", js, len, "from '"), 1);
}
