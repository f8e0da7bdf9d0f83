/* cmd_detect.c — attnserve-cli detect: the language of each stdin line, among given ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tx.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: attnserve-cli detect [--langs en,de,fr,cs] [--data DIR] [--top N]\n"
               "  Reads text lines on stdin; prints per line the guesses, best first, as\n"
               "  'code<TAB>confidence' pairs separated by tabs ('und' when undecided).\n"
               "  --langs  the languages to choose among (default en,de,fr,cs)\n"
               "  --data   libexttextcat's fingerprint folder (default %s)\n"
               "  --top    guesses per line, 1..8 (default 1)\n",
            TX_LANGID_DEFAULT_DATA);
}

/* Splits a comma list into langs (at most TX_LANGID_MAX_LANGS); returns the count, or -1. */
static int split_langs(char *list, const char **langs)
{
    int n = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (n == TX_LANGID_MAX_LANGS) return -1;
        langs[n++] = tok;
    }
    return n;
}

int cli_detect(int argc, char **argv)
{
    char list[512] = "en,de,fr,cs";
    const char *data = NULL;
    int top = 1;
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--langs") && has_value) {
            snprintf(list, sizeof list, "%s", argv[++i]);
        } else if (!strcmp(argv[i], "--data") && has_value) {
            data = argv[++i];
        } else if (!strcmp(argv[i], "--top") && has_value) {
            top = atoi(argv[++i]);
            if (top < 1 || top > 8) {
                fprintf(stderr, "attnserve-cli detect: --top must be 1..8, got %s\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "attnserve-cli detect: unknown or incomplete option '%s'\n",
                    argv[i]);
            usage(stderr);
            return 2;
        }
    }
    const char *langs[TX_LANGID_MAX_LANGS];
    int n_langs = split_langs(list, langs);
    if (n_langs < 1) {
        fprintf(stderr, "attnserve-cli detect: --langs needs 1..%d codes\n", TX_LANGID_MAX_LANGS);
        return 2;
    }
    tx_langid *id = NULL;
    struct tx_error err = {0};
    if (tx_langid_new(langs, n_langs, data, &id, &err) != TX_OK) {
        fprintf(stderr, "attnserve-cli detect: %s\n", err.message);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    long lineno = 0;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        struct tx_lang_guess g[8];
        int n = 0;
        if (tx_langid_detect(id, line, (size_t)len, g, top, &n, &err) != TX_OK) {
            fprintf(stderr, "attnserve-cli detect: line %ld: %s\n", lineno, err.message);
            printf("und\t0\n");
            rc = 1;
            continue;
        }
        if (n == 0) printf("und\t0");
        for (int k = 0; k < n; k++) printf("%s%s\t%d", k ? "\t" : "", g[k].lang, g[k].confidence);
        putchar('\n');
    }
    free(line);
    tx_langid_free(id);
    return rc;
}
