/* gen_opts.h — the decoding options shared by attnserve-cli generate, translate and summarize
 * (--num-beams, --max-new-tokens, --do-sample, ...), collected first and applied over the
 * checkpoint's generation defaults once the model is loaded. */
#ifndef ATTNSERVE_CLI_GEN_OPTS_H
#define ATTNSERVE_CLI_GEN_OPTS_H

#include "tx.h"

#define CLI_GEN_MAX_PENDING 64

struct cli_gen_opts {
    struct {
        const void *opt; /* entry of the option table */
        const char *value;
    } pend[CLI_GEN_MAX_PENDING];
    int n_pend;
    int do_sample;
    int max_len_given;
    const char *early;     /* --early-stopping value, or NULL */
    const char *bad_words; /* --bad-words-ids value, or NULL */
};

/* Help text listing the decoding options (for the subcommands' usage). */
extern const char cli_gen_opts_help[];

/* Looks at argv[*i]: 1 = a decoding option, consumed (with its value; *i advanced);
 * 0 = not one; -1 = error, printed to stderr (missing value, too many options). */
int cli_gen_opts_take(struct cli_gen_opts *g, const char *cmd, int argc, char **argv, int *i);

/* Validates and applies the collected options over p (the model's defaults).
 * 0, or -1 with the error printed. */
int cli_gen_opts_apply(const struct cli_gen_opts *g, const char *cmd, struct tx_gen_params *p);

#endif
