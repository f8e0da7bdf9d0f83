/* utf8.c — strict UTF-8 decoding/encoding and Unicode predicates backed by utf8proc. */
#include "utf8.h"

#include <utf8proc.h>

/* Valid second-byte range for each lead byte (Unicode Table 3-7, "well-formed UTF-8 byte
 * sequences"); continuation bytes after the second are always 80..BF. */
static int second_byte_range(unsigned char lead, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead == 0xE0) {
        *lo = 0xA0;
        return 3;
    }
    if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) return 3;
    if (lead == 0xED) {
        *hi = 0x9F; /* excludes the surrogates D800..DFFF */
        return 3;
    }
    if (lead == 0xF0) {
        *lo = 0x90;
        return 4;
    }
    if (lead >= 0xF1 && lead <= 0xF3) return 4;
    if (lead == 0xF4) {
        *hi = 0x8F; /* nothing above U+10FFFF */
        return 4;
    }
    return 0; /* 80..C1 and F5..FF never start a character */
}

int txi_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0) return 0;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    unsigned char lo, hi;
    int len = second_byte_range(u[0], &lo, &hi);
    if (len == 0 || (size_t)len > n) return 0;
    if (u[1] < lo || u[1] > hi) return 0;
    for (int i = 2; i < len; i++)
        if ((u[i] & 0xC0) != 0x80) return 0;
    uint32_t c = u[0] & (0xFF >> (len + 1));
    for (int i = 1; i < len; i++)
        c = (c << 6) | (u[i] & 0x3F);
    *cp = c;
    return len;
}

size_t txi_utf8_validate(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time would need alignment care; bytes are cheap. */
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        int len = txi_utf8_decode(s + i, n - i, &cp);
        if (len == 0) return i;
        i += (size_t)len;
    }
    return n;
}

int txi_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int txi_utf8_is_py_space(uint32_t cp)
{
    if (cp > 0x10FFFF) return 0;
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
    return p->bidi_class == UTF8PROC_BIDI_CLASS_WS || p->bidi_class == UTF8PROC_BIDI_CLASS_B ||
           p->bidi_class == UTF8PROC_BIDI_CLASS_S || p->category == UTF8PROC_CATEGORY_ZS;
}

int txi_utf8_is_white_space(uint32_t cp)
{
    if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85) return 1;
    if (cp > 0x10FFFF || cp < 0x20) return 0;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

int txi_utf8_is_letter(uint32_t cp)
{
    if (cp > 0x10FFFF) return 0;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

int txi_utf8_is_number(uint32_t cp)
{
    if (cp > 0x10FFFF) return 0;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
}

int txi_utf8_decode_replace(const char *s, size_t n, uint32_t *cp)
{
    int len = txi_utf8_decode(s, n, cp);
    if (len > 0) return len;
    /* CPython's decoder (and the Unicode "maximal subpart" practice): an invalid lead byte is
     * one U+FFFD; a valid lead followed by fewer valid continuation bytes than it needs is one
     * U+FFFD covering the lead and those continuation bytes. */
    const unsigned char *u = (const unsigned char *)s;
    unsigned char lo, hi;
    int need = second_byte_range(u[0], &lo, &hi);
    int used = 1;
    if (need > 0 && n > 1 && u[1] >= lo && u[1] <= hi) {
        used = 2;
        while (used < need && (size_t)used < n && (u[used] & 0xC0) == 0x80)
            used++;
    }
    *cp = 0xFFFD;
    return used;
}
