/* fuzz_misc.c — language identification on arbitrary bytes, and the configuration loader on
 * arbitrary config files. Invariants: detection fails exactly on invalid UTF-8, and its guesses
 * are served languages, best first, with confidences in 0..100; the config file parser returns
 * as many problems as it reports, each with a message. */
#include "fuzz.h"

#include <string.h>

#include "config.h"
#include "tx.h"

int fuzz_langid(const uint8_t *data, size_t size)
{
    static tx_langid *id;
    static const char *langs[] = {"en", "de", "fr", "cs"};
    if (!id) {
        struct tx_error e;
        if (tx_langid_new(langs, 4, NULL, &id, &e) != TX_OK) {
            fprintf(stderr, "fuzz: %s\n", e.message);
            abort();
        }
    }
    struct tx_lang_guess g[4];
    int n = -1;
    struct tx_error e;
    memset(&e, 0, sizeof e);
    tx_status st = tx_langid_detect(id, (const char *)data, size, g, 4, &n, &e);
    if (st != TX_OK) {
        FUZZ_CHECK(st == TX_ERR_ENCODING && e.message[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(n >= 0 && n <= 4);
    for (int i = 0; i < n; i++) {
        int known = 0;
        for (int k = 0; k < 4; k++) known |= !strcmp(g[i].lang, langs[k]);
        FUZZ_CHECK(known);
        FUZZ_CHECK(g[i].confidence >= 0 && g[i].confidence <= 100);
        if (i) FUZZ_CHECK(g[i].confidence <= g[0].confidence);
    }
    return 0;
}

int fuzz_config(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    struct cfg_config c;
    struct cfg_errors errs;
    memset(&errs, 0, sizeof errs);
    cfg_init(&c);
    /* parsing only: cfg_validate opens the files a config names (model folders, the API keys
     * file), and a fuzzer must not be let loose on the machine's files */
    int bad = cfg_load_json_text(&c, text, fuzz_dir(), &errs);
    FUZZ_CHECK(bad == errs.n);
    for (int i = 0; i < errs.n; i++) FUZZ_CHECK(errs.msgs[i] && errs.msgs[i][0]);
    cfg_errors_free(&errs);
    cfg_free(&c);
    free(text);
    return 0;
}
