/* test_srv_form.c — urlencoded form decoding. */
#include <criterion/criterion.h>
#include <string.h>

#include "form.h"

Test(srv_form, decodes_plus_and_percent_escapes)
{
    struct srv_form f;
    struct srv_err e;
    const char *s = "a=1&b=x+y%21&c&=empty&d=%C3%A4&&a=2";
    cr_assert_eq(srv_form_parse(s, strlen(s), &f, &e), 0, "%s", e.message);
    cr_assert_eq(f.n, 6);
    cr_assert_str_eq(srv_form_get(&f, "a", NULL), "2"); /* the last occurrence wins */
    size_t l;
    cr_assert_str_eq(srv_form_get(&f, "b", &l), "x y!");
    cr_assert_eq(l, 4);
    cr_assert_str_eq(srv_form_get(&f, "c", NULL), "");
    cr_assert_str_eq(srv_form_get(&f, "", NULL), "empty");
    cr_assert_str_eq(srv_form_get(&f, "d", NULL), "\xC3\xA4");
    cr_assert_null(srv_form_get(&f, "zz", NULL));
    srv_form_free(&f);
}

Test(srv_form, rejects_bad_escapes_nul_bytes_and_invalid_utf8)
{
    struct srv_form f;
    struct srv_err e;
    const char *cases[] = {"a=%4", "a=%G1", "a=b%00c", "a=%C3", "%ff=1"};
    srv_code want[] = {SRV_E_INVALID_FORM, SRV_E_INVALID_FORM, SRV_E_INVALID_FORM,
                       SRV_E_INVALID_ENCODING, SRV_E_INVALID_ENCODING};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(srv_form_parse(cases[i], strlen(cases[i]), &f, &e), -1, "%s", cases[i]);
        cr_expect_eq(e.code, want[i], "%s: %s", cases[i], e.message);
    }
    cr_assert_eq(srv_form_parse("", 0, &f, &e), 0);
    cr_assert_eq(f.n, 0);
    srv_form_free(&f);
}
