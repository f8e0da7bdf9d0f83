/* libre.h — LibreTranslate compatibility helpers: language names for GET /languages, and the
 * text runs of an HTML fragment (format "html": tags kept, text between them translated). */
#ifndef ATTNSERVE_SRV_LIBRE_H
#define ATTNSERVE_SRV_LIBRE_H

#include <stddef.h>

/* English name of an ISO 639-1 code ("de" -> "German"); the code itself when unknown. */
const char *srv_language_name(const char *code);

/* A piece of an HTML fragment: markup (tags, comments, entities kept as they are) or a text
 * run to translate. For a text run, [lead, trail) excludes its leading/trailing whitespace,
 * which is kept around the translation. */
struct srv_html_piece {
    size_t start, end;  /* byte span in the fragment */
    size_t lead, trail; /* text: the span without surrounding whitespace */
    int is_text;        /* 1: translatable text (non-blank), 0: markup or blank */
};

/* Splits html[0..n) into pieces; text inside <script>/<style> is kept as markup. Returns the
 * number of pieces written to *out (owned, free()), or -1 on OOM. */
int srv_html_split(const char *html, size_t n, struct srv_html_piece **out);

#endif
