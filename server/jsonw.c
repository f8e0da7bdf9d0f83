/* jsonw.c — growable buffer and JSON writing helpers. */
#include "jsonw.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srv_buf_init(struct srv_buf *b)
{
    memset(b, 0, sizeof *b);
}

void srv_buf_free(struct srv_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int reserve(struct srv_buf *b, size_t extra)
{
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->len + extra + 1) {
        if (nc > ((size_t)-1) / 2) {
            b->oom = 1;
            return -1;
        }
        nc *= 2;
    }
    char *p = realloc(b->data, nc);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = nc;
    return 0;
}

void srv_buf_put(struct srv_buf *b, const char *s, size_t n)
{
    if (reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void srv_buf_puts(struct srv_buf *b, const char *s)
{
    srv_buf_put(b, s, strlen(s));
}

void srv_buf_putc(struct srv_buf *b, char c)
{
    srv_buf_put(b, &c, 1);
}

void srv_buf_printf(struct srv_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        srv_buf_put(b, small, (size_t)n);
        return;
    }
    if (reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

size_t srv_utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

size_t srv_utf8_check(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t l = srv_utf8_seq_len(u + i, n - i);
        if (!l) return i;
        i += l;
    }
    return n;
}

char *srv_utf8_sanitize(const char *s, size_t n)
{
    struct srv_buf b;
    srv_buf_init(&b);
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    srv_buf_put(&b, "", 0);
    while (i < n) {
        size_t l = srv_utf8_seq_len(u + i, n - i);
        if (l) {
            srv_buf_put(&b, s + i, l);
            i += l;
        } else {
            srv_buf_puts(&b, "\xEF\xBF\xBD");
            i++;
        }
    }
    return srv_buf_steal(&b, NULL);
}

void srv_buf_json_string(struct srv_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    srv_buf_putc(b, '"');
    size_t i = 0, run = 0; /* bytes [i - run, i) are pending plain output */
    while (i < n) {
        unsigned c = u[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++, run++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = srv_utf8_seq_len(u + i, n - i);
            if (l) {
                i += l, run += l;
                continue;
            }
        }
        srv_buf_put(b, s + i - run, run);
        run = 0;
        char esc[8];
        switch (c) {
        case '"':
            srv_buf_put(b, "\\\"", 2);
            break;
        case '\\':
            srv_buf_put(b, "\\\\", 2);
            break;
        case '\n':
            srv_buf_put(b, "\\n", 2);
            break;
        case '\r':
            srv_buf_put(b, "\\r", 2);
            break;
        case '\t':
            srv_buf_put(b, "\\t", 2);
            break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                srv_buf_put(b, esc, 6);
            } else {
                srv_buf_puts(b, "\xEF\xBF\xBD"); /* invalid UTF-8 byte */
            }
        }
        i++;
    }
    srv_buf_put(b, s + i - run, run);
    srv_buf_putc(b, '"');
}

void srv_buf_json_fixed(struct srv_buf *b, double v, int decimals)
{
    if (!isfinite(v)) { /* JSON has no NaN/Inf; attention maps never hold them */
        srv_buf_putc(b, '0');
        return;
    }
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
    if (n <= 0 || (size_t)n >= sizeof tmp) {
        srv_buf_printf(b, "%g", v);
        return;
    }
    if (memchr(tmp, '.', (size_t)n)) {
        while (n > 0 && tmp[n - 1] == '0')
            n--;
        if (n > 0 && tmp[n - 1] == '.') n--;
    }
    tmp[n] = '\0';
    if (!strcmp(tmp, "-0")) {
        srv_buf_putc(b, '0');
        return;
    }
    srv_buf_put(b, tmp, (size_t)n);
}

char *srv_buf_steal(struct srv_buf *b, size_t *len)
{
    if (b->oom) {
        srv_buf_free(b);
        return NULL;
    }
    if (!b->data) srv_buf_put(b, "", 0);
    char *d = b->data;
    if (len) *len = b->len;
    if (b->oom) {
        free(d);
        d = NULL;
    }
    memset(b, 0, sizeof *b);
    return d;
}
