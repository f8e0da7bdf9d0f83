/* gen_opts.c — decoding options shared by the attnserve-cli subcommands (see gen_opts.h). */
#include "gen_opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

const char cli_gen_opts_help[] =
    "Decoding options (default: the checkpoint's generation_config.json):\n"
    "  --num-beams N --num-return-sequences N --max-new-tokens N --max-length N\n"
    "  --min-length N --length-penalty X --early-stopping true|false|never\n"
    "  --no-repeat-ngram-size N --repetition-penalty X --bad-words-ids '5;7,8'\n"
    "  --do-sample --temperature X --top-k N --top-p X --seed N\n"
    "  --decoder-start-token-id N --eos-token-id N --forced-bos-token-id N\n"
    "  --forced-eos-token-id N  (-1 disables the forced/eos ones)\n";

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

/* Decoding options, applied over the model's defaults once it is loaded. */
struct gen_opt {
    const char *flag;
    enum { OPT_INT, OPT_FLOAT, OPT_TOKEN, OPT_U64 } kind;
    size_t off; /* offset in tx_gen_params */
    double lo, hi;
};

#define GP(f) offsetof(struct tx_gen_params, f)
static const struct gen_opt gen_opts[] = {
    {"--num-beams", OPT_INT, GP(num_beams), 1, 256},
    {"--num-return-sequences", OPT_INT, GP(num_return_sequences), 1, 256},
    {"--max-new-tokens", OPT_INT, GP(max_new_tokens), 1, 100000},
    {"--max-length", OPT_INT, GP(max_length), 1, 100000},
    {"--min-length", OPT_INT, GP(min_length), 0, 100000},
    {"--length-penalty", OPT_FLOAT, GP(length_penalty), -100, 100},
    {"--no-repeat-ngram-size", OPT_INT, GP(no_repeat_ngram_size), 0, 1000},
    {"--repetition-penalty", OPT_FLOAT, GP(repetition_penalty), 1e-6, 1000},
    {"--temperature", OPT_FLOAT, GP(temperature), 1e-6, 1000},
    {"--top-k", OPT_INT, GP(top_k), 0, 100000000},
    {"--top-p", OPT_FLOAT, GP(top_p), 0, 1},
    {"--seed", OPT_U64, GP(seed), 0, 0},
    {"--decoder-start-token-id", OPT_TOKEN, GP(decoder_start_token_id), 0, 0},
    {"--eos-token-id", OPT_TOKEN, GP(eos_token_id), 0, 0},
    {"--forced-bos-token-id", OPT_TOKEN, GP(forced_bos_token_id), 0, 0},
    {"--forced-eos-token-id", OPT_TOKEN, GP(forced_eos_token_id), 0, 0},
};
#define N_GEN_OPTS (sizeof gen_opts / sizeof gen_opts[0])

static int apply_opt(const char *cmd, const struct gen_opt *o, const char *value,
                     struct tx_gen_params *p)
{
    char *field = (char *)p + o->off;
    long x;
    float f;
    switch (o->kind) {
    case OPT_INT:
        if (cli_parse_int(cmd, o->flag, value, (long)o->lo, (long)o->hi, &x)) return -1;
        *(int *)(void *)field = (int)x;
        break;
    case OPT_TOKEN:
        if (cli_parse_int(cmd, o->flag, value, -1, 100000000, &x)) return -1;
        *(int *)(void *)field = (int)x;
        break;
    case OPT_FLOAT:
        if (cli_parse_float(cmd, o->flag, value, o->lo, o->hi, &f)) return -1;
        *(float *)(void *)field = f;
        break;
    case OPT_U64: {
        char *end = NULL;
        unsigned long long u = strtoull(value, &end, 10);
        if (!*value || *end || value[0] == '-') {
            fprintf(stderr, "attnserve-cli %s: %s needs a non-negative integer, got '%s'\n", cmd,
                    o->flag, value);
            return -1;
        }
        *(uint64_t *)(void *)field = (uint64_t)u;
        break;
    }
    }
    return 0;
}

int cli_gen_opts_take(struct cli_gen_opts *g, const char *cmd, int argc, char **argv, int *i)
{
    int missing = 0;
    const char *v;
    if (!strcmp(argv[*i], "--do-sample")) {
        g->do_sample = 1;
        return 1;
    }
    if ((v = cli_opt(argc, argv, i, "--early-stopping", &missing))) {
        g->early = v;
        return 1;
    }
    if (!missing && (v = cli_opt(argc, argv, i, "--bad-words-ids", &missing))) {
        g->bad_words = v;
        return 1;
    }
    for (size_t k = 0; k < N_GEN_OPTS && !missing; k++) {
        if ((v = cli_opt(argc, argv, i, gen_opts[k].flag, &missing))) {
            if (g->n_pend == CLI_GEN_MAX_PENDING) {
                fprintf(stderr, "attnserve-cli %s: too many options\n", cmd);
                return -1;
            }
            g->pend[g->n_pend].opt = &gen_opts[k];
            g->pend[g->n_pend++].value = v;
            if (!strcmp(gen_opts[k].flag, "--max-length")) g->max_len_given = 1;
            return 1;
        }
    }
    if (missing) {
        fprintf(stderr, "attnserve-cli %s: missing value for '%s'\n", cmd, argv[*i]);
        return -1;
    }
    return 0;
}

int cli_gen_opts_apply(const struct cli_gen_opts *g, const char *cmd, struct tx_gen_params *p)
{
    const char *early = g->early;
    if (early && strcmp(early, "true") && strcmp(early, "false") && strcmp(early, "never")) {
        fprintf(stderr, "attnserve-cli %s: --early-stopping needs true, false or never, got '%s'\n",
                cmd, early);
        return -1;
    }
    /* --max-length alone replaces the checkpoint's max_new_tokens, as in generate() */
    if (g->max_len_given) p->max_new_tokens = 0;
    for (int k = 0; k < g->n_pend; k++)
        if (apply_opt(cmd, g->pend[k].opt, g->pend[k].value, p)) return -1;
    if (g->do_sample) p->do_sample = 1;
    if (early) p->early_stopping = !strcmp(early, "true") ? 1 : !strcmp(early, "never") ? 2 : 0;
    if (g->bad_words && parse_bad_words(cmd, g->bad_words, p)) return -1;
    return 0;
}
