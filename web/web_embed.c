/* web_embed.c — build-time generator: turns the files under web/static into one C source that
 * defines web_asset_find() (see web_assets.h). Replaces xxd; CMake builds and runs it.
 *
 * Usage: web_embed OUT.c ROOT FILE...   FILE is a path relative to ROOT ("index.html",
 * "img/logo.svg"); it is served at "/" FILE. Exits 0 on success, 1 with a message on stderr on
 * any error (unreadable file, unknown extension, write failure); OUT.c is written to a temporary
 * name first and renamed, so a failed run never leaves a half-written source behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MIME type by file extension; text types carry their charset. Unknown extensions are an
 * error, so a stray file is noticed at build time rather than served as the wrong type. */
static const struct {
    const char *ext;
    const char *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

static const char *mime_type(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++) {
        size_t e = strlen(mime_types[i].ext);
        if (n > e && strcmp(name + n - e, mime_types[i].ext) == 0)
            return mime_types[i].type;
    }
    return NULL;
}

/* Reads a whole file. Returns a malloc'd buffer (owned by the caller; never NULL on success,
 * even for an empty file) and its size, or NULL with a message on stderr. */
static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf)
        goto fail;
    for (;;) {
        if (len == cap) {
            unsigned char *bigger = cap > (size_t)-1 / 2 ? NULL : realloc(buf, cap * 2);
            if (!bigger)
                goto fail;
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    *size = len;
    return buf;
fail:
    fprintf(stderr, "web_embed: cannot read %s\n", path);
    free(buf);
    fclose(f);
    return NULL;
}

/* Writes s as a C string literal body (escaping quotes, backslashes and non-printables). */
static void put_c_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(out, "\\%03o", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* Emits the lookup table and functions that follow the data arrays. */
static void put_table(FILE *out, int n_files, char **files, const size_t *sizes)
{
    fprintf(out, "static const struct {\n    const char *path;\n    const char *type;\n"
                 "    const unsigned char *data;\n    size_t len;\n} assets[] = {\n");
    for (int i = 0; i < n_files; i++) {
        fprintf(out, "    {\"/\" ");
        put_c_string(out, files[i]);
        fprintf(out, ", ");
        put_c_string(out, mime_type(files[i]));
        fprintf(out, ", asset_%d, %zu},\n", i, sizes[i]);
    }
    fprintf(out,
            "};\n\n"
            "#define N_ASSETS (sizeof assets / sizeof assets[0])\n\n"
            "size_t web_asset_count(void)\n{\n    return N_ASSETS;\n}\n\n"
            "const char *web_asset_path(size_t i)\n{\n"
            "    return i < N_ASSETS ? assets[i].path : NULL;\n}\n\n"
            "int web_asset_find(const char *path, const unsigned char **data, size_t *len,\n"
            "                   const char **content_type)\n{\n"
            "    if (!path)\n        return 0;\n"
            "    /* A folder (\"/\", \"/docs/\") is served by its index.html. */\n"
            "    size_t n = strlen(path);\n"
            "    int dir = n > 0 && path[n - 1] == '/';\n"
            "    for (size_t i = 0; i < N_ASSETS; i++) {\n"
            "        const char *p = assets[i].path;\n"
            "        int match = dir ? strncmp(p, path, n) == 0 && strcmp(p + n, \"index.html\") == 0\n"
            "                        : strcmp(p, path) == 0;\n"
            "        if (!match)\n            continue;\n"
            "        if (data)\n            *data = assets[i].data;\n"
            "        if (len)\n            *len = assets[i].len;\n"
            "        if (content_type)\n            *content_type = assets[i].type;\n"
            "        return 1;\n    }\n    return 0;\n}\n");
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: web_embed OUT.c ROOT FILE...\n");
        return 1;
    }
    const char *out_path = argv[1], *root = argv[2];
    int n_files = argc - 3;
    char **files = argv + 3;
    size_t *sizes = calloc((size_t)n_files, sizeof *sizes);
    size_t tmp_size = strlen(out_path) + 5;
    char *tmp_path = malloc(tmp_size);
    FILE *out = NULL;
    int ok = 0;
    if (!sizes || !tmp_path)
        goto done;
    snprintf(tmp_path, tmp_size, "%s.tmp", out_path);
    out = fopen(tmp_path, "w");
    if (!out) {
        perror(tmp_path);
        goto done;
    }

    fprintf(out, "/* web_assets.c — generated by web_embed from web/static; do not edit. */\n"
                 "#include <string.h>\n\n#include \"web_assets.h\"\n\n");
    for (int i = 0; i < n_files; i++) {
        if (!mime_type(files[i]) || files[i][0] == '/' || strstr(files[i], "..")) {
            fprintf(stderr, "web_embed: %s: not a relative path with a known file type\n",
                    files[i]);
            goto done;
        }
        size_t path_size = strlen(root) + strlen(files[i]) + 2;
        char *path = malloc(path_size);
        if (!path)
            goto done;
        snprintf(path, path_size, "%s/%s", root, files[i]);
        unsigned char *data = read_file(path, &sizes[i]);
        free(path);
        if (!data)
            goto done;
        /* A zero-length array is not C: an empty file gets one unused byte (len stays 0). */
        fprintf(out, "/* %s, %zu bytes */\nstatic const unsigned char asset_%d[] = {", files[i],
                sizes[i], i);
        for (size_t j = 0; j < sizes[i]; j++)
            fprintf(out, "%s0x%02x,", j % 16 == 0 ? "\n    " : "", data[j]);
        fprintf(out, "%s};\n\n", sizes[i] == 0 ? "0" : "\n");
        free(data);
    }
    put_table(out, n_files, files, sizes);
    ok = 1;

done:
    if (out && (ferror(out) | fclose(out)) != 0) {
        fprintf(stderr, "web_embed: cannot write %s\n", tmp_path);
        ok = 0;
    }
    if (ok && rename(tmp_path, out_path) != 0) {
        perror(out_path);
        ok = 0;
    }
    if (!ok && tmp_path)
        remove(tmp_path);
    free(tmp_path);
    free(sizes);
    return ok ? 0 : 1;
}
