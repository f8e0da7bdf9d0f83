/* libre_api.c — LibreTranslate's routes besides /translate, and its error shape. The shapes
 * follow LibreTranslate's app.py (answers, field names, messages of missing parameters). */
#include "libre_api.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attnstore.h"
#include "auth.h"
#include "form.h"
#include "langroute.h"
#include "libre.h"

int srv_libre_route(srv_route route)
{
    return route == SRV_R_LANGUAGES || route == SRV_R_DETECT || route == SRV_R_SUGGEST ||
           route == SRV_R_FRONTEND_SETTINGS || route == SRV_R_TRANSLATE_FILE ||
           route == SRV_R_DOWNLOAD_FILE;
}

int srv_libre_content_kind(srv_route route, const char *ct, struct srv_err *err)
{
    if (route != SRV_R_TRANSLATE_FILE) return srv_content_kind(ct, 1, err);
    const char *p = ct;
    while (p && (*p == ' ' || *p == '\t'))
        p++;
    if (p && !strncasecmp(p, "multipart/form-data", 19) && (p[19] == ';' || p[19] == ' ')) return SRV_BODY_MULTIPART;
    return srv_fail(err, SRV_E_UNSUPPORTED_MEDIA_TYPE,
                    "Content-Type must be multipart/form-data with the fields file, source and "
                    "target");
}

static void answer_json(struct srv_response *r, int status, json_t *j)
{
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    srv_response_json(r, status, body, body ? strlen(body) : 0);
}

static void answer_error(struct srv_response *r, const struct srv_err *e)
{
    srv_response_error(r, e);
}

/* ---------------------------------------------------------------------------------------- */
/* /languages and /frontend/settings                                                        */
/* ---------------------------------------------------------------------------------------- */

#define MAX_LANGS 256

void srv_libre_languages(struct srv_app *app, struct srv_response *r)
{
    const struct srv_registry *reg = &app->reg;
    const char *langs[MAX_LANGS];
    int n = 0;
    for (int k = 0; k < reg->n; k++) {
        int np = srv_model_n_pairs(&reg->models[k]);
        for (int i = 0; i < np; i++) {
            const char *pair[2];
            srv_model_pair(&reg->models[k], i, &pair[0], &pair[1]);
            for (int s = 0; s < 2; s++) {
                int seen = 0;
                for (int j = 0; j < n && !seen; j++)
                    seen = !strcmp(langs[j], pair[s]);
                if (!seen && n < MAX_LANGS) langs[n++] = pair[s];
            }
        }
    }
    json_t *list = json_array();
    for (int j = 0; j < n; j++) {
        json_t *targets = json_array();
        for (int k = 0; k < reg->n; k++) {
            int np = srv_model_n_pairs(&reg->models[k]);
            for (int i = 0; i < np; i++) {
                const char *s, *t;
                srv_model_pair(&reg->models[k], i, &s, &t);
                if (strcmp(s, langs[j])) continue;
                int seen = 0;
                size_t x;
                json_t *v;
                json_array_foreach(targets, x, v) seen |= !strcmp(json_string_value(v), t);
                if (!seen) json_array_append_new(targets, json_string(t));
            }
        }
        json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "code", langs[j], "name",
                                              srv_language_name(langs[j]), "targets", targets));
    }
    answer_json(r, 200, list);
}

void srv_libre_frontend_settings(struct srv_app *app, struct srv_response *r)
{
    const struct cfg_config *cfg = app->cfg;
    const char *src = NULL, *tgt = NULL;
    for (int k = 0; k < app->reg.n && !src; k++)
        if (srv_model_n_pairs(&app->reg.models[k]) > 0)
            srv_model_pair(&app->reg.models[k], 0, &src, &tgt);
    /* the frontend starts on "auto" when the server can identify languages */
    const char *src_code = app->langid || !src ? "auto" : src;
    const char *src_name = app->langid || !src ? "Auto Detect" : srv_language_name(src);
    if (!tgt) tgt = "en";
    /* LibreTranslate counts characters; attnserve limits bytes, and a character takes at most
     * 4 bytes in UTF-8: this many characters are always accepted */
    int char_limit = cfg->limits.max_text_bytes / 4;
    int keys = cfg->n_api_keys > 0;
    answer_json(r, 200,
                json_pack("{s:i, s:i, s:b, s:b, s:b, s:b, s:[s], s:{s:{s:s, s:s}, s:{s:s, s:s}}}",
                          "charLimit", char_limit, "frontendTimeout", 500, "apiKeys", keys,
                          "keyRequired", keys, "suggestions", 0, "filesTranslation", 1,
                          "supportedFilesFormat", ".txt", "language", "source", "code", src_code,
                          "name", src_name, "target", "code", tgt, "name", srv_language_name(tgt)));
}

/* ---------------------------------------------------------------------------------------- */
/* /detect and /suggest                                                                     */
/* ---------------------------------------------------------------------------------------- */

static int key_valid(const struct srv_app *app, const char *key)
{
    return key && srv_auth_check(app->cfg->api_keys, app->cfg->n_api_keys, key, strlen(key));
}

/* Reads q (a string, or a list of strings in JSON) of a /detect body. */
static int detect_texts(const struct srv_app *app, const json_t *doc, const struct srv_form *f,
                        const char ***texts, size_t **lens, int *n, struct srv_err *err)
{
    const struct cfg_limits *lim = &app->cfg->limits;
    const json_t *q = doc ? json_object_get(doc, "q") : NULL;
    size_t fl = 0;
    const char *fq = f ? srv_form_get(f, "q", &fl) : NULL;
    size_t count = q && json_is_array(q) ? json_array_size(q) : 1;
    if ((doc && (!q || json_is_null(q) || (json_is_string(q) && !json_string_length(q)) ||
                 (json_is_array(q) && !count))) ||
        (f && (!fq || !fl)))
        return srv_fail(err, SRV_E_MISSING_FIELD, "Invalid request: missing q parameter");
    if (q && !json_is_string(q) && !json_is_array(q))
        return srv_fail(err, SRV_E_INVALID_VALUE, "q must be a string or a list of strings");
    if (count > (size_t)lim->max_texts)
        return srv_fail(err, SRV_E_TOO_MANY_TEXTS,
                        "Invalid request: request (%zu) exceeds text limit (%d)", count,
                        lim->max_texts);
    *texts = malloc(count * sizeof **texts);
    *lens = malloc(count * sizeof **lens);
    if (!*texts || !*lens) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
    *n = (int)count;
    for (size_t i = 0; i < count; i++) {
        const json_t *t = q ? (json_is_array(q) ? json_array_get(q, i) : q) : NULL;
        if (q && !json_is_string(t))
            return srv_fail(err, SRV_E_INVALID_VALUE, "q[%zu] must be a string", i);
        (*texts)[i] = q ? json_string_value(t) : fq;
        (*lens)[i] = q ? json_string_length(t) : fl;
        if ((*lens)[i] > (size_t)lim->max_text_bytes)
            return srv_fail(err, SRV_E_INPUT_TOO_LONG,
                            "Invalid request: q is %zu bytes; a text may have at most %d bytes",
                            (*lens)[i], lim->max_text_bytes);
    }
    return 0;
}

void srv_libre_detect(struct srv_app *app, const char *body, size_t len, int kind, int auth_ok,
                      struct srv_response *r)
{
    struct srv_err e;
    memset(&e, 0, sizeof e);
    struct srv_form f;
    memset(&f, 0, sizeof f);
    json_t *doc = NULL;
    const char **texts = NULL;
    size_t *lens = NULL;
    int n = 0, rc;
    const char *key = NULL;
    if (kind == 2) {
        rc = srv_form_parse(body, len, &f, &e);
        if (!rc) key = srv_form_get(&f, "api_key", NULL);
    } else {
        doc = srv_parse_json_object(body, len, &e);
        rc = doc ? 0 : -1;
        if (doc) key = json_string_value(json_object_get(doc, "api_key"));
    }
    /* without a valid key nothing about the request is revealed (as for /translate) */
    if (!auth_ok && !key_valid(app, key)) {
        srv_fail(&e, SRV_E_UNAUTHORIZED, key ? "Invalid API key" : "an API key is required");
        goto done;
    }
    if (rc) goto done;
    if (detect_texts(app, doc, kind == 2 ? &f : NULL, &texts, &lens, &n, &e)) goto done;
    if (!atomic_load(&app->ready)) {
        srv_fail(&e, SRV_E_NOT_READY, "the models are still loading (%d of %d loaded)",
                 atomic_load(&app->n_loaded), app->reg.n);
        goto done;
    }
    if (!app->langid) {
        srv_fail(&e, SRV_E_INVALID_VALUE,
                 "language identification is not available: none of the served source "
                 "languages can be identified on this server");
        goto done;
    }
    struct srv_detected d[3];
    int nd = 0;
    if (srv_detect_texts(app->langid, texts, lens, n, d, 3, &nd, &e)) goto done;
    if (nd == 0) {
        srv_fail(&e, SRV_E_INVALID_VALUE,
                 "the language of q cannot be identified (no letters, or too little text to "
                 "tell the served languages apart)");
        goto done;
    }
    json_t *list = json_array();
    for (int i = 0; i < nd; i++)
        json_array_append_new(
            list, json_pack("{s:f, s:s}", "confidence", d[i].confidence, "language", d[i].lang));
    answer_json(r, 200, list);
    e.code = SRV_OK;
done:
    if (e.code != SRV_OK) answer_error(r, &e);
    free(texts);
    free(lens);
    json_decref(doc);
    srv_form_free(&f);
}

void srv_libre_suggest(struct srv_app *app, struct srv_response *r)
{
    (void)app;
    /* LibreTranslate answers 403 when suggestions are off; attnserve keeps none */
    static const char msg[] = "{\"error\":\"Suggestions are disabled on this server.\"}";
    srv_response_json(r, 403, strdup(msg), sizeof msg - 1);
    r->code = SRV_E_UNAUTHORIZED;
}

/* ---------------------------------------------------------------------------------------- */
/* Shapes shared with /translate                                                            */
/* ---------------------------------------------------------------------------------------- */

void srv_libre_restyle(struct srv_response *r)
{
    if (r->status < 400 || !r->body || r->body_static) return;
    json_t *doc = json_loadb(r->body, r->len, 0, NULL);
    json_t *err = json_object_get(doc, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (!msg) { /* already in LibreTranslate's shape, or not an error body */
        json_decref(doc);
        return;
    }
    json_t *out = json_pack("{s:s}", "error", msg);
    char *body = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    json_decref(doc);
    if (!body) return; /* out of memory: the attnserve shape is still an answer */
    free(r->body);
    r->body = body;
    r->len = strlen(body);
    /* LibreTranslate answers 400 for every bad request, 403 for keys, 429/500 otherwise */
    if (r->status == 401) {
        r->status = 403;
        r->www_authenticate = 0;
    } else if (r->status < 500 && r->status != 405 && r->status != 429) {
        r->status = 400;
    }
}

void srv_libre_put_detected(struct srv_buf *b, const struct srv_gen_request *q)
{
    srv_buf_puts(b, ",\"detectedLanguage\":");
    if (q->text_is_list) srv_buf_putc(b, '[');
    for (int i = 0; i < q->n_texts; i++) {
        if (i) srv_buf_putc(b, ',');
        /* a float as LibreTranslate's (90.0), also when whole */
        srv_buf_printf(b, "{\"confidence\":%.1f", q->detected_confidence);
        srv_buf_puts(b, ",\"language\":");
        const char *l = q->detected_lang[0] ? q->detected_lang : q->source_lang;
        srv_buf_json_string(b, l ? l : "", l ? strlen(l) : 0);
        srv_buf_putc(b, '}');
    }
    if (q->text_is_list) srv_buf_putc(b, ']');
}

/* ---------------------------------------------------------------------------------------- */
/* /translate_file and /download_file/{name}                                                */
/* ---------------------------------------------------------------------------------------- */

struct srv_file {
    char name[SRV_ATTN_ID_LEN + 1 + 100]; /* <random id>.<client's file name, made safe> */
    char *data;
    size_t len;
    int64_t created_ns;
};

struct srv_file_store {
    pthread_mutex_t lock;
    int ttl_s;
    struct srv_file files[SRV_FILES_MAX]; /* data NULL: free slot */
};

struct srv_file_store *srv_file_store_new(int ttl_s)
{
    struct srv_file_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (pthread_mutex_init(&s->lock, NULL)) {
        free(s);
        return NULL;
    }
    s->ttl_s = ttl_s;
    return s;
}

void srv_file_store_free(struct srv_file_store *s)
{
    if (!s) return;
    for (int i = 0; i < SRV_FILES_MAX; i++)
        free(s->files[i].data);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Keeps data (stolen) under name: a free or expired slot, else the oldest. */
static void files_put(struct srv_file_store *s, const char *name, char *data, size_t len)
{
    int64_t now = srv_now_ns(), ttl = (int64_t)s->ttl_s * 1000000000LL;
    pthread_mutex_lock(&s->lock);
    int slot = 0;
    for (int i = 0; i < SRV_FILES_MAX; i++) {
        struct srv_file *f = &s->files[i];
        if (!f->data || now - f->created_ns > ttl) {
            slot = i;
            break;
        }
        if (f->created_ns < s->files[slot].created_ns) slot = i;
    }
    struct srv_file *f = &s->files[slot];
    free(f->data);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->data = data;
    f->len = len;
    f->created_ns = now;
    pthread_mutex_unlock(&s->lock);
}

/* A copy of the file called name (owned), or NULL when unknown or expired. */
static char *files_get(struct srv_file_store *s, const char *name, size_t *len)
{
    int64_t now = srv_now_ns(), ttl = (int64_t)s->ttl_s * 1000000000LL;
    char *out = NULL;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < SRV_FILES_MAX; i++) {
        struct srv_file *f = &s->files[i];
        if (!f->data || strcmp(f->name, name) || now - f->created_ns > ttl) continue;
        out = malloc(f->len + 1);
        if (out) {
            memcpy(out, f->data, f->len);
            out[f->len] = '\0';
            *len = f->len;
        }
        break;
    }
    pthread_mutex_unlock(&s->lock);
    return out;
}

/* One part of a multipart/form-data body (RFC 7578). */
struct part {
    char name[32];
    char filename[128]; /* "" when the part is no file */
    int has_filename;
    const char *data;
    size_t len;
};

static const char *memfind(const char *h, size_t hn, const char *n, size_t nn)
{
    if (nn == 0 || hn < nn) return NULL;
    for (size_t i = 0; i + nn <= hn; i++)
        if (h[i] == n[0] && !memcmp(h + i, n, nn)) return h + i;
    return NULL;
}

/* Copies the quoted parameter key="..." of a Content-Disposition line. */
static int disposition_param(const char *line, size_t n, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 2 <= n; i++) {
        if (strncasecmp(line + i, key, kl) || line[i + kl] != '=' || line[i + kl + 1] != '"')
            continue;
        if (i > 0 && line[i - 1] != ' ' && line[i - 1] != ';') continue;
        size_t s = i + kl + 2, e = s;
        while (e < n && line[e] != '"')
            e++;
        size_t m = e - s < cap - 1 ? e - s : cap - 1;
        memcpy(out, line + s, m);
        out[m] = '\0';
        return 1;
    }
    return 0;
}

/* Splits body into at most max parts. Returns their number, or -1 when malformed. */
static int multipart_parse(const char *ct, const char *body, size_t len, struct part *parts,
                           int max)
{
    const char *b = ct ? strstr(ct, "boundary=") : NULL;
    if (!b) return -1;
    b += 9;
    char delim[80] = "\r\n--";
    size_t bl = 0;
    int quoted = *b == '"';
    if (quoted) b++;
    while (b[bl] && b[bl] != (quoted ? '"' : ';') && !(!quoted && (b[bl] == ' ' || b[bl] == '\t')))
        bl++;
    if (bl == 0 || bl > 70) return -1;
    memcpy(delim + 4, b, bl);
    size_t dl = 4 + bl;
    delim[dl] = '\0';
    /* the first delimiter may start the body without the CRLF before it */
    const char *p;
    if (len >= dl - 2 && !memcmp(body, delim + 2, dl - 2))
        p = body + dl - 2;
    else {
        p = memfind(body, len, delim, dl);
        if (!p) return -1;
        p += dl;
    }
    const char *end = body + len;
    int n = 0;
    for (;;) {
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') return n; /* closing delimiter */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return -1;
        p += 2;
        const char *hend = memfind(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hend) return -1;
        struct part pt;
        memset(&pt, 0, sizeof pt);
        for (const char *l = p; l < hend;) {
            const char *le = memfind(l, (size_t)(hend - l), "\r\n", 2);
            if (!le) le = hend;
            size_t ll = (size_t)(le - l);
            if (ll > 20 && !strncasecmp(l, "Content-Disposition:", 20)) {
                disposition_param(l, ll, "name", pt.name, sizeof pt.name);
                pt.has_filename =
                    disposition_param(l, ll, "filename", pt.filename, sizeof pt.filename);
            }
            l = le + 2;
        }
        const char *data = hend + 4;
        const char *next = memfind(data, (size_t)(end - data), delim, dl);
        if (!next) return -1;
        pt.data = data;
        pt.len = (size_t)(next - data);
        if (n < max) parts[n++] = pt;
        p = next + dl;
    }
}

/* The client's file name reduced to [A-Za-z0-9._-] (LibreTranslate: secure_filename). */
static void safe_name(const char *in, char *out, size_t cap)
{
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    const char *bs = strrchr(base, '\\');
    base = bs ? bs + 1 : base;
    size_t o = 0;
    for (const char *c = base; *c && o + 1 < cap; c++) {
        char ch = *c;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '-' || ch == '_';
        if (o == 0 && ch == '.') continue;
        out[o++] = ok ? ch : '_';
    }
    out[o] = '\0';
}

/* Adds key=value (copied) to a form. */
static int form_add(struct srv_form *f, const char *key, const char *val, size_t len)
{
    char **k = realloc(f->keys, (size_t)(f->n + 1) * sizeof *k);
    if (k) f->keys = k;
    char **v = realloc(f->vals, (size_t)(f->n + 1) * sizeof *v);
    if (v) f->vals = v;
    size_t *l = realloc(f->lens, (size_t)(f->n + 1) * sizeof *l);
    if (l) f->lens = l;
    if (!k || !v || !l) return -1;
    char *kc = strdup(key), *vc = malloc(len + 1);
    if (!kc || !vc) {
        free(kc);
        free(vc);
        return -1;
    }
    memcpy(vc, val, len);
    vc[len] = '\0';
    f->keys[f->n] = kc;
    f->vals[f->n] = vc;
    f->lens[f->n] = len;
    f->n++;
    return 0;
}

int srv_libre_parse_file(struct srv_app *app, const char *ct, const char *host, const char *body,
                         size_t len, int auth_ok, struct srv_gen_request *req, struct srv_err *err)
{
    memset(req, 0, sizeof *req);
    req->libre = 1;
    req->libre_file = 1;
    struct part parts[16];
    int np = multipart_parse(ct, body, len, parts, 16);
    const struct part *file = NULL;
    for (int i = 0; i < np; i++) {
        const struct part *p = &parts[i];
        if (!strcmp(p->name, "file") && p->has_filename) {
            file = p;
            continue;
        }
        if (strcmp(p->name, "source") && strcmp(p->name, "target") && strcmp(p->name, "api_key"))
            continue;
        if (srv_utf8_check(p->data, p->len) != p->len || memchr(p->data, 0, p->len) || p->len > 64)
            return srv_fail(err, SRV_E_INVALID_VALUE, "%s must be a short UTF-8 value", p->name);
        if (form_add(&req->form, p->name, p->data, p->len))
            return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
    }
    const char *key = srv_form_get(&req->form, "api_key", NULL);
    if (!auth_ok && !key_valid(app, key))
        return srv_fail(err, SRV_E_UNAUTHORIZED,
                        key ? "Invalid API key" : "an API key is required");
    if (np < 0)
        return srv_fail(err, SRV_E_INVALID_FORM,
                        "Invalid request: the body is not multipart/form-data with a boundary");
    if (!file) return srv_fail(err, SRV_E_MISSING_FIELD, "Invalid request: missing file parameter");
    const char *src = srv_form_get(&req->form, "source", NULL);
    const char *tgt = srv_form_get(&req->form, "target", NULL);
    if (!src || !*src)
        return srv_fail(err, SRV_E_MISSING_FIELD, "Invalid request: missing source parameter");
    if (!tgt || !*tgt)
        return srv_fail(err, SRV_E_MISSING_FIELD, "Invalid request: missing target parameter");
    if (!file->filename[0])
        return srv_fail(err, SRV_E_INVALID_VALUE, "Invalid request: empty file");
    const char *ext = strrchr(file->filename, '.');
    if (!ext || strcasecmp(ext, ".txt"))
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "Invalid request: file format not supported (supported: .txt)");
    if (srv_utf8_check(file->data, file->len) != file->len || memchr(file->data, 0, file->len))
        return srv_fail(err, SRV_E_INVALID_ENCODING, "the file is not UTF-8 text");
    size_t k = 0;
    while (k < file->len && strchr(" \t\r\n", file->data[k]))
        k++;
    if (k == file->len) return srv_fail(err, SRV_E_INVALID_VALUE, "Invalid request: empty file");
    if (file->len > (size_t)app->cfg->limits.max_text_bytes)
        return srv_fail(err, SRV_E_INPUT_TOO_LONG,
                        "Invalid request: the file is %zu bytes; at most %d are accepted",
                        file->len, app->cfg->limits.max_text_bytes);
    char safe[100];
    safe_name(file->filename, safe, sizeof safe);
    if (form_add(&req->form, "file", file->data, file->len) ||
        form_add(&req->form, "filename", safe, strlen(safe)) ||
        (host && strlen(host) < 200 && form_add(&req->form, "host", host, strlen(host))))
        return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
    req->texts = malloc(sizeof *req->texts);
    req->lens = malloc(sizeof *req->lens);
    if (!req->texts || !req->lens) return srv_fail(err, SRV_E_OUT_OF_MEMORY, "out of memory");
    size_t fl;
    req->texts[0] = srv_form_get(&req->form, "file", &fl);
    req->lens[0] = fl;
    req->n_texts = 1;
    req->split_sentences = 1;
    req->target_lang = srv_form_get(&req->form, "target", NULL);
    src = srv_form_get(&req->form, "source", NULL);
    if (!strcmp(src, "auto"))
        req->libre_auto = 1;
    else
        req->source_lang = src;
    if (!atomic_load(&app->ready))
        return srv_fail(err, SRV_E_NOT_READY, "the models are still loading (%d of %d loaded)",
                        atomic_load(&app->n_loaded), app->reg.n);
    return 0;
}

void srv_libre_answer_file(struct srv_app *app, const struct srv_gen_request *req, const char *text,
                           struct srv_response *r)
{
    char id[SRV_ATTN_ID_LEN + 1], name[sizeof((struct srv_file *)0)->name];
    const char *fname = srv_form_get(&req->form, "filename", NULL);
    const char *host = srv_form_get(&req->form, "host", NULL);
    size_t n = strlen(text ? text : "");
    char *data = malloc(n + 1);
    if (!data || srv_random_id(id)) {
        free(data);
        srv_response_json(r, 500, NULL, 0);
        return;
    }
    memcpy(data, text ? text : "", n + 1);
    snprintf(name, sizeof name, "%s.%s", id, fname && *fname ? fname : "file.txt");
    files_put(app->files, name, data, n);
    /* LibreTranslate answers an absolute URL (url_for(..., _external=True)) */
    char url[512];
    snprintf(url, sizeof url, "%s%s/download_file/%s", host ? "http://" : "", host ? host : "",
             name);
    answer_json(r, 200, json_pack("{s:s}", "translatedFileUrl", url));
}

void srv_libre_download(struct srv_app *app, const char *name, struct srv_response *r)
{
    size_t len = 0;
    char *data = files_get(app->files, name, &len);
    if (!data) {
        struct srv_err e;
        srv_fail(&e, SRV_E_NOT_FOUND,
                 "Invalid filename: no translated file with this name (unknown, or older than "
                 "%d s)",
                 app->cfg->attention_store.ttl_s);
        srv_response_error(r, &e);
        return;
    }
    srv_response_json(r, 200, data, len);
    r->content_type = "text/plain; charset=utf-8";
    /* LibreTranslate: send_file(as_attachment=True), named without the random id */
    const char *dot = strchr(name, '.');
    snprintf(r->attachment, sizeof r->attachment, "%s", dot ? dot + 1 : name);
}
