/* fuzz_misc.c — language identification on arbitrary bytes, and the configuration loader on
 * arbitrary config files. Invariants: detection fails exactly on invalid UTF-8, and its guesses
 * are served languages, best first, with confidences in 0..100; the config file parser (and the
 * environment and flag steps) return as many problems as they report, each with a message. */
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

/* Splits s (NUL-terminated, modified) at '\n' into up to max pointers after `first`; returns
 * the count written, first included. */
static int split_lines(char *s, char **out, int max, char *first)
{
    int n = 0;
    if (first) out[n++] = first;
    while (s && *s && n < max) {
        out[n++] = s;
        char *nl = strchr(s, '\n');
        if (nl) *nl++ = '\0';
        s = nl;
    }
    return n;
}

/* The environment and the command line: the input is environment lines ("ATTNSERVE_PORT=80"),
 * a NUL byte, then one argument per line ("--port", "70000", "--model=a=b"). Applied over the
 * defaults like cfg_load does (without reading the files a value names). Invariants: each step
 * returns as many problems as it reports, each with a message; with no problem, the values the
 * HTTP layer trusts are within their documented ranges; the effective configuration dumps. */
int fuzz_config_env_flags(const uint8_t *data, size_t size)
{
    size_t n1, n2;
    const uint8_t *p2;
    fuzz_split(data, size, 0, &n1, &p2, &n2);
    char *env_text = malloc(n1 + 1), *arg_text = malloc(n2 + 1);
    FUZZ_CHECK(env_text && arg_text);
    memcpy(env_text, data, n1);
    env_text[n1] = '\0';
    memcpy(arg_text, p2, n2);
    arg_text[n2] = '\0';
    enum { MAX_ITEMS = 64 };
    char *envp[MAX_ITEMS + 1], *argv[MAX_ITEMS + 1];
    int n_env = split_lines(env_text, envp, MAX_ITEMS, NULL);
    envp[n_env] = NULL;
    int argc = split_lines(arg_text, argv, MAX_ITEMS, "attnserve");
    argv[argc] = NULL;

    struct cfg_config c;
    struct cfg_errors errs;
    memset(&errs, 0, sizeof errs);
    cfg_init(&c);
    int bad = cfg_apply_env(&c, envp, &errs);
    FUZZ_CHECK(bad == errs.n);
    bad += cfg_apply_args(&c, argc, argv, &errs);
    FUZZ_CHECK(bad == errs.n);
    for (int i = 0; i < errs.n; i++) FUZZ_CHECK(errs.msgs[i] && errs.msgs[i][0]);
    if (bad == 0) {
        FUZZ_CHECK(c.port >= 0 && c.port <= 65535);
        FUZZ_CHECK(c.http_threads >= 1 && c.workers >= 1 && c.queue_depth >= 1);
        FUZZ_CHECK(c.limits.max_body_bytes >= 256 && c.limits.max_connections >= 1);
        FUZZ_CHECK(c.limits.header_timeout_ms >= 10 && c.limits.idle_timeout_s >= 1);
        FUZZ_CHECK(c.host && c.host[0]);
    }
    char *dump = cfg_dump_json(&c);
    FUZZ_CHECK(dump != NULL);
    free(dump);
    cfg_errors_free(&errs);
    cfg_free(&c);
    free(env_text);
    free(arg_text);
    return 0;
}
