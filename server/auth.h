/* auth.h — API keys: the Bearer token of an Authorization header, and a comparison with the
 * configured keys whose time depends neither on where a key differs nor on which key matches. */
#ifndef ATTNSERVE_SRV_AUTH_H
#define ATTNSERVE_SRV_AUTH_H

#include <stddef.h>

/* The token of "Bearer <token>" (scheme case-insensitive, spaces trimmed); NULL when the
 * header is absent or of another scheme. *len receives its length. */
const char *srv_auth_bearer(const char *header, size_t *len);

/* 1 when `key` (len bytes) equals one of keys[0..n), else 0. Every configured key is compared
 * over the same fixed number of bytes whatever the input. */
int srv_auth_check(char *const *keys, int n, const char *key, size_t len);

#endif
