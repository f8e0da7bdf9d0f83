/* form.h — application/x-www-form-urlencoded bodies and query strings (LibreTranslate clients
 * post forms). */
#ifndef ATTNSERVE_SRV_FORM_H
#define ATTNSERVE_SRV_FORM_H

#include <stddef.h>

#include "errors.h"

struct srv_form {
    int n;
    char **keys;  /* (n) decoded, NUL-terminated */
    char **vals;  /* (n) decoded, NUL-terminated */
    size_t *lens; /* (n) bytes of vals */
};

/* Decodes "a=1&b=x+y%21": '+' is a space, %XX a byte. Malformed escapes, NUL bytes and
 * values that are not UTF-8 are errors (400 invalid_form / invalid_encoding naming the key).
 * Returns 0 or -1. *out is owned (srv_form_free) on success. */
int srv_form_parse(const char *s, size_t n, struct srv_form *out, struct srv_err *err);
void srv_form_free(struct srv_form *f);
/* Value of the last occurrence of key, or NULL. */
const char *srv_form_get(const struct srv_form *f, const char *key, size_t *len);

#endif
