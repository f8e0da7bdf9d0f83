/* libre.c — language names and HTML text runs for the LibreTranslate-compatible shape. */
#include "libre.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *code, *name;
} names[] = {
    {"ar", "Arabic"},  {"az", "Azerbaijani"}, {"bg", "Bulgarian"},        {"ca", "Catalan"},
    {"cs", "Czech"},   {"da", "Danish"},      {"de", "German"},           {"el", "Greek"},
    {"en", "English"}, {"eo", "Esperanto"},   {"es", "Spanish"},          {"et", "Estonian"},
    {"fa", "Persian"}, {"fi", "Finnish"},     {"fr", "French"},           {"ga", "Irish"},
    {"he", "Hebrew"},  {"hi", "Hindi"},       {"hu", "Hungarian"},        {"id", "Indonesian"},
    {"it", "Italian"}, {"ja", "Japanese"},    {"ko", "Korean"},           {"lt", "Lithuanian"},
    {"lv", "Latvian"}, {"ms", "Malay"},       {"nb", "Norwegian Bokmål"}, {"nl", "Dutch"},
    {"pl", "Polish"},  {"pt", "Portuguese"},  {"ro", "Romanian"},         {"ru", "Russian"},
    {"sk", "Slovak"},  {"sl", "Slovenian"},   {"sq", "Albanian"},         {"sv", "Swedish"},
    {"th", "Thai"},    {"tl", "Tagalog"},     {"tr", "Turkish"},          {"uk", "Ukrainian"},
    {"ur", "Urdu"},    {"vi", "Vietnamese"},  {"zh", "Chinese"},
};

const char *srv_language_name(const char *code)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i].code, code)) return names[i].name;
    return code;
}

static int push(struct srv_html_piece **v, int *n, int *cap, struct srv_html_piece p)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        struct srv_html_piece *q = realloc(*v, (size_t)nc * sizeof *q);
        if (!q) return -1;
        *v = q;
        *cap = nc;
    }
    (*v)[(*n)++] = p;
    return 0;
}

/* End of the markup starting at html[i] ('<'): comments, then tags with quoted attributes.
 * An unterminated tag runs to the end. */
static size_t markup_end(const char *h, size_t n, size_t i)
{
    if (i + 3 < n && !strncmp(h + i, "<!--", 4)) {
        for (size_t k = i + 4; k + 2 < n; k++)
            if (!strncmp(h + k, "-->", 3)) return k + 3;
        return n;
    }
    char quote = 0;
    for (size_t k = i + 1; k < n; k++) {
        if (quote) {
            if (h[k] == quote) quote = 0;
        } else if (h[k] == '"' || h[k] == '\'') {
            quote = h[k];
        } else if (h[k] == '>') {
            return k + 1;
        }
    }
    return n;
}

/* Whether the tag at h[i..e) opens <script> or <style>; writes its closing tag. */
static int raw_text_tag(const char *h, size_t i, size_t e, const char **close)
{
    if (e - i >= 7 && !strncasecmp(h + i, "<script", 7) && !isalnum((unsigned char)h[i + 7])) {
        *close = "</script";
        return 1;
    }
    if (e - i >= 6 && !strncasecmp(h + i, "<style", 6) && !isalnum((unsigned char)h[i + 6])) {
        *close = "</style";
        return 1;
    }
    return 0;
}

int srv_html_split(const char *h, size_t n, struct srv_html_piece **out)
{
    struct srv_html_piece *v = NULL;
    int nv = 0, cap = 0;
    size_t i = 0;
    while (i < n) {
        struct srv_html_piece p = {0};
        p.start = i;
        if (h[i] == '<' && i + 1 < n &&
            (isalpha((unsigned char)h[i + 1]) || h[i + 1] == '/' || h[i + 1] == '!')) {
            size_t e = markup_end(h, n, i);
            const char *close;
            if (raw_text_tag(h, i, e, &close)) { /* keep script/style bodies untouched */
                size_t cl = strlen(close), k = e;
                while (k + cl <= n && strncasecmp(h + k, close, cl))
                    k++;
                e = k + cl <= n ? markup_end(h, n, k) : n;
            }
            p.end = e;
        } else {
            size_t e = i;
            while (e < n &&
                   !(h[e] == '<' && e + 1 < n &&
                     (isalpha((unsigned char)h[e + 1]) || h[e + 1] == '/' || h[e + 1] == '!')))
                e++;
            if (e == i) e = i + 1;
            p.end = e;
            size_t a = i, b = e;
            while (a < b && isspace((unsigned char)h[a]))
                a++;
            while (b > a && isspace((unsigned char)h[b - 1]))
                b--;
            p.lead = a;
            p.trail = b;
            p.is_text = b > a;
        }
        if (push(&v, &nv, &cap, p)) {
            free(v);
            return -1;
        }
        i = p.end;
    }
    *out = v;
    return nv;
}
