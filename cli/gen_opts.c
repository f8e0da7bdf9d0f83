/* gen_opts.c — decoding options shared by the attnserve-cli subcommands (see gen_opts.h). */
#include "gen_opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "genparams.h"

void cli_gen_opts_help(FILE *f)
{
    fprintf(f, "Decoding options (default: the checkpoint's generation_config.json); lengths as\n"
               "transformers counts them (max_length and min_length include the decoder start\n"
               "token, max_new_tokens does not):\n");
    cfg_gen_options_print_help(f, CFG_GEN_CLI, 0);
    fprintf(f, "  --bad-words-ids '5;7,8'       sequences that must never be generated\n");
}

/* "5;7,8" -> bad_words_ids [[5], [7, 8]] */
static int parse_bad_words(const char *cmd, const char *v, struct tx_gen_params *p)
{
    char *copy = strdup(v), *save = NULL;
    if (!copy) return -1;
    p->n_bad_words = 0;
    int rc = 0;
    for (char *w = strtok_r(copy, ";", &save); w; w = strtok_r(NULL, ";", &save)) {
        int32_t *ids = NULL;
        int n = 0;
        if (cli_parse_ids(cmd, "--bad-words-ids", w, &ids, &n)) {
            rc = -1;
            break;
        }
        if (p->n_bad_words == TX_MAX_BAD_WORDS || n > TX_MAX_BAD_WORD_LEN) {
            fprintf(stderr, "attnserve-cli %s: --bad-words-ids: at most %d sequences of %d ids\n",
                    cmd, TX_MAX_BAD_WORDS, TX_MAX_BAD_WORD_LEN);
            free(ids);
            rc = -1;
            break;
        }
        memcpy(p->bad_words[p->n_bad_words], ids, (size_t)n * sizeof *ids);
        p->bad_words_len[p->n_bad_words++] = n;
        free(ids);
    }
    free(copy);
    return rc;
}

int cli_gen_opts_take(struct cli_gen_opts *g, const char *cmd, int argc, char **argv, int *i)
{
    int missing = 0;
    const char *v;
    if ((v = cli_opt(argc, argv, i, "--bad-words-ids", &missing))) {
        g->bad_words = v;
        return 1;
    }
    if (missing) {
        fprintf(stderr, "attnserve-cli %s: missing value for '%s'\n", cmd, argv[*i]);
        return -1;
    }
    /* --flag VALUE or --flag=VALUE; a boolean flag takes no value */
    char flag[64];
    const char *eq = strchr(argv[*i], '=');
    size_t n = eq ? (size_t)(eq - argv[*i]) : strlen(argv[*i]);
    if (n >= sizeof flag) return 0;
    memcpy(flag, argv[*i], n);
    flag[n] = '\0';
    const struct cfg_gen_option *op = cfg_gen_option_by_flag(flag);
    if (!op || !(op->surfaces & CFG_GEN_CLI) || (eq && op->kind == CFG_GEN_BOOL)) return 0;
    const char *value = eq ? eq + 1 : "";
    if (op->kind != CFG_GEN_BOOL && !eq) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "attnserve-cli %s: missing value for '%s'\n", cmd, argv[*i]);
            return -1;
        }
        value = argv[++*i];
    }
    char msg[256];
    if (cfg_gen_option_parse_text(op, value, &g->set, msg, sizeof msg)) {
        fprintf(stderr, "attnserve-cli %s: %s\n", cmd, msg);
        return -1;
    }
    return 1;
}

int cli_gen_opts_apply(const struct cli_gen_opts *g, const char *cmd, struct tx_gen_params *p)
{
    char msg[512];
    if (cfg_gen_options_check(&g->set, "", msg, sizeof msg)) {
        fprintf(stderr, "attnserve-cli %s: %s\n", cmd, msg);
        return -1;
    }
    cfg_gen_options_to_params(&g->set, p);
    if (g->bad_words && parse_bad_words(cmd, g->bad_words, p)) return -1;
    return 0;
}
