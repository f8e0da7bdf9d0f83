/* auth.c — Bearer parsing and constant-time key comparison. */
#include "auth.h"

#include <strings.h>
#include <string.h>

/* Keys are at most this long (config enforces it); comparing a fixed window hides lengths. */
#define WINDOW 256

const char *srv_auth_bearer(const char *header, size_t *len)
{
    if (!header) return NULL;
    while (*header == ' ' || *header == '\t')
        header++;
    if (strncasecmp(header, "Bearer", 6) || (header[6] != ' ' && header[6] != '\t')) return NULL;
    const char *t = header + 6;
    while (*t == ' ' || *t == '\t')
        t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    if (!n) return NULL;
    *len = n;
    return t;
}

/* 0 when equal; the loop always runs WINDOW steps and never branches on the data. */
static unsigned ct_diff(const char *a, size_t alen, const char *b, size_t blen)
{
    volatile unsigned diff = (unsigned)(alen ^ blen) | (unsigned)((alen ^ blen) >> 16);
    diff |= (alen > WINDOW) | (blen > WINDOW);
    for (size_t i = 0; i < WINDOW; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff;
}

int srv_auth_check(char *const *keys, int n, const char *key, size_t len)
{
    unsigned ok = 0;
    for (int i = 0; i < n; i++)
        ok |= ct_diff(keys[i], strlen(keys[i]), key, len) == 0;
    return ok != 0;
}
