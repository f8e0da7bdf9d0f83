/* test_status.c — status names and error messages. */
#include <criterion/criterion.h>
#include <string.h>

#include "tx.h"
#include "txi.h"

Test(status, every_status_has_a_distinct_name)
{
    const tx_status all[] = {TX_OK, TX_ERR_INVALID, TX_ERR_IO, TX_ERR_FORMAT, TX_ERR_UNSUPPORTED,
                             TX_ERR_NOMEM, TX_ERR_TOO_LONG, TX_ERR_CANCELLED, TX_ERR_ENCODING};
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_neq(tx_status_name(all[i]), "unknown");
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(tx_status_name(all[i]), tx_status_name(all[j]));
    }
}

Test(status, fail_formats_the_message_and_returns_the_status)
{
    struct tx_error e;
    memset(&e, 0, sizeof e);
    tx_status st = txi_fail(&e, TX_ERR_FORMAT, "%s: tensor %s is %dx%d", "model.safetensors", "w",
                            3, 4);
    cr_assert_eq(st, TX_ERR_FORMAT);
    cr_assert_eq(e.status, TX_ERR_FORMAT);
    cr_assert_str_eq(e.message, "model.safetensors: tensor w is 3x4");
    cr_assert_eq(txi_fail(NULL, TX_ERR_IO, "x"), TX_ERR_IO);
}
