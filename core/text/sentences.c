/* sentences.c — rule-based sentence splitting for long-text translation (tx_split_sentences). */
#include "tx.h"

#include <string.h>
#include <utf8proc.h>

/* Words that end with a period without ending a sentence (English and German, compared
 * case-sensitively, without the final period). */
static const char *const abbreviations[] = {
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Sr", "Jr", "St", "vs", "etc", "e.g", "i.e", "cf", "approx",
    "Inc", "Ltd", "Co", "Corp", "No", "Nr", "Fig", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul",
    "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Hr", "Fr", "Frau", "Herr", "z.B", "u.a", "bzw",
    "ca", "usw", "vgl", "evtl", "ggf", "d.h", "S", "U.S", "U.K", "a.m", "p.m", "Mt", "Gen", "Col",
    "Lt", "Sgt", "Capt", "Rev", "Gov", "Sen", "Rep", "Dept", "Univ", "Abs", "Bd", "Str",
};

/* Decodes one code point at text[i]; returns its byte length (at least 1, also for invalid
 * bytes, which are treated as an opaque character with code point -1). */
static int next_cp(const char *text, size_t len, size_t i, int32_t *cp)
{
    utf8proc_int32_t c = -1;
    utf8proc_ssize_t n =
        utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &c);
    if (n <= 0) {
        *cp = -1;
        return 1;
    }
    *cp = c;
    return (int)n;
}

static int is_space(int32_t cp)
{
    if (cp == ' ' || cp == '\t' || cp == '\r' || cp == '\f' || cp == '\v' || cp == 0xA0)
        return 1;
    if (cp < 0) return 0;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ZS;
}

static int is_closer(int32_t cp)
{
    return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == 0x201D /* ” */ ||
           cp == 0x2019 /* ’ */ || cp == 0xBB /* » */ || cp == 0x201C /* “ (German close) */ ||
           cp == 0xAB /* « */;
}

/* Terminators that need following whitespace (Latin) and those that do not (CJK). */
static int is_terminator(int32_t cp)
{
    return cp == '.' || cp == '!' || cp == '?' || cp == 0x2026 /* … */;
}
static int is_cjk_terminator(int32_t cp)
{
    return cp == 0x3002 /* 。 */ || cp == 0xFF01 /* ！ */ || cp == 0xFF1F /* ？ */;
}

/* Can a sentence start with this code point? Upper-case letters, digits, opening quotes and
 * brackets, and letters of scripts without case. */
static int is_sentence_start(int32_t cp)
{
    if (cp < 0) return 0;
    if (cp == '"' || cp == '\'' || cp == '(' || cp == '[' || cp == 0x201C || cp == 0x201E ||
        cp == 0xAB || cp == 0xBB || cp == 0x2018 || cp == 0xBF /* ¿ */ || cp == 0xA1 /* ¡ */)
        return 1;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LO: /* scripts without case (CJK, Arabic, Hebrew, Thai, ...) */
    case UTF8PROC_CATEGORY_ND: return 1;
    default: return 0;
    }
}

/* Is the word that ends right before byte `dot` (the period) one that does not end a
 * sentence: a known abbreviation, a single letter (an initial), or a number (German
 * ordinals such as "3. Mai")? */
static int period_is_abbreviation(const char *text, size_t dot)
{
    size_t start = dot;
    while (start > 0) {
        unsigned char c = (unsigned char)text[start - 1];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == '"') break;
        start--;
    }
    size_t wlen = dot - start;
    if (wlen == 0) return 0;
    int all_digits = 1;
    for (size_t i = start; i < dot; i++)
        if (text[i] < '0' || text[i] > '9') all_digits = 0;
    if (all_digits) return wlen <= 3;
    if (wlen == 1 && ((text[start] >= 'A' && text[start] <= 'Z'))) return 1;
    for (size_t k = 0; k < sizeof abbreviations / sizeof abbreviations[0]; k++) {
        size_t al = strlen(abbreviations[k]);
        if (al == wlen && !memcmp(text + start, abbreviations[k], al)) return 1;
    }
    return 0;
}

static int emit(uint32_t (*spans)[2], int max_spans, int n, const char *text, size_t a, size_t b)
{
    /* trim whitespace (including newlines) at both ends; skip empty sentences */
    while (a < b) {
        int32_t cp;
        int l = next_cp(text, b, a, &cp);
        if (!(is_space(cp) || cp == '\n')) break;
        a += (size_t)l;
    }
    while (b > a) {
        unsigned char c = (unsigned char)text[b - 1];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            b--;
            continue;
        }
        /* multi-byte trailing spaces (U+00A0, U+3000, ...): step back to the lead byte */
        size_t s = b - 1;
        while (s > a && ((unsigned char)text[s] & 0xC0) == 0x80) s--;
        int32_t cp;
        next_cp(text, b, s, &cp);
        if (cp >= 0x80 && is_space(cp)) {
            b = s;
            continue;
        }
        break;
    }
    if (a >= b) return n;
    if (n < max_spans && spans) {
        spans[n][0] = (uint32_t)a;
        spans[n][1] = (uint32_t)b;
    }
    return n + 1;
}

int tx_split_sentences(const char *text, size_t len, uint32_t (*spans)[2], int max_spans)
{
    int n = 0;
    size_t start = 0, i = 0;
    if (!text) return 0;
    while (i < len) {
        int32_t cp;
        int l = next_cp(text, len, i, &cp);
        if (cp == '\n') {
            n = emit(spans, max_spans, n, text, start, i);
            i += (size_t)l;
            start = i;
            continue;
        }
        if (is_cjk_terminator(cp)) {
            size_t end = i + (size_t)l;
            while (end < len) { /* closing quotes after 。 */
                int32_t c2;
                int l2 = next_cp(text, len, end, &c2);
                if (!is_closer(c2) && c2 != 0x300D && c2 != 0x300F) break;
                end += (size_t)l2;
            }
            n = emit(spans, max_spans, n, text, start, end);
            i = start = end;
            continue;
        }
        if (is_terminator(cp)) {
            size_t term = i;
            size_t end = i + (size_t)l;
            /* runs of terminators ("?!", "...") and closing quotes/brackets belong to it */
            while (end < len) {
                int32_t c2;
                int l2 = next_cp(text, len, end, &c2);
                if (!is_terminator(c2) && !is_closer(c2)) break;
                end += (size_t)l2;
            }
            /* needs whitespace, then a plausible sentence start */
            size_t j = end;
            int saw_space = 0;
            while (j < len) {
                int32_t c3;
                int l3 = next_cp(text, len, j, &c3);
                if (!is_space(c3)) break;
                saw_space = 1;
                j += (size_t)l3;
            }
            int split = 0;
            if (saw_space && j < len) {
                int32_t c4;
                next_cp(text, len, j, &c4);
                split = c4 == '\n' || is_sentence_start(c4);
                if (split && cp == '.' && end == term + 1 && period_is_abbreviation(text, term))
                    split = 0;
            }
            if (split) {
                n = emit(spans, max_spans, n, text, start, end);
                i = start = j;
                continue;
            }
            i = end;
            continue;
        }
        i += (size_t)l;
    }
    return emit(spans, max_spans, n, text, start, len);
}
