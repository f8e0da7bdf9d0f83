/* jsonw.h — a growable byte buffer with JSON writing helpers (escaped strings that are always
 * valid UTF-8, compact probabilities), for bodies too large or too regular for jansson. */
#ifndef ATTNSERVE_SRV_JSONW_H
#define ATTNSERVE_SRV_JSONW_H

#include <stddef.h>

struct srv_buf {
    char *data; /* NUL-terminated when non-NULL */
    size_t len, cap;
    int oom; /* set once an allocation failed; later writes are ignored */
};

void srv_buf_init(struct srv_buf *b);
void srv_buf_free(struct srv_buf *b);
void srv_buf_put(struct srv_buf *b, const char *s, size_t n);
void srv_buf_puts(struct srv_buf *b, const char *s);
void srv_buf_putc(struct srv_buf *b, char c);
void srv_buf_printf(struct srv_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A JSON string literal of n bytes of s: quotes, backslashes and control characters escaped;
 * bytes that are not valid UTF-8 become U+FFFD. */
void srv_buf_json_string(struct srv_buf *b, const char *s, size_t n);
/* A number with at most `decimals` decimals and no trailing zeros ("0", "1", "0.25"). */
void srv_buf_json_fixed(struct srv_buf *b, double v, int decimals);
/* Returns the contents (owned, free()) and resets the buffer; NULL if an allocation failed. */
char *srv_buf_steal(struct srv_buf *b, size_t *len);

/* Length of the valid UTF-8 sequence at s[0..n) (1-4), or 0 when s[0] starts no valid
 * sequence (overlong forms, surrogates and code points above U+10FFFF are invalid). */
size_t srv_utf8_seq_len(const unsigned char *s, size_t n);
/* Byte offset of the first invalid UTF-8 byte, or n when all n bytes are valid. */
size_t srv_utf8_check(const char *s, size_t n);
/* A copy of s with invalid UTF-8 replaced by U+FFFD (owned, free()); NULL on OOM. */
char *srv_utf8_sanitize(const char *s, size_t n);

#endif
