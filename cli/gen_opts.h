/* gen_opts.h — the decoding options shared by attnserve-cli generate, translate and summarize:
 * the flags of config's decoding-option table (--num-beams, --max-new-tokens, --do-sample, ...)
 * plus --bad-words-ids, collected first and applied over the checkpoint's generation defaults
 * once the model is loaded. */
#ifndef ATTNSERVE_CLI_GEN_OPTS_H
#define ATTNSERVE_CLI_GEN_OPTS_H

#include <stdio.h>

#include "genopts.h"
#include "tx.h"

struct cli_gen_opts {
    struct cfg_gen_options set; /* the table's options given, with their values */
    const char *bad_words;      /* --bad-words-ids value, or NULL */
};

/* Writes the help lines of the decoding options (for the subcommands' usage). */
void cli_gen_opts_help(FILE *f);

/* Looks at argv[*i]: 1 = a decoding option, consumed and parsed (with its value; *i advanced);
 * 0 = not one; -1 = error, printed to stderr (missing or invalid value). */
int cli_gen_opts_take(struct cli_gen_opts *g, const char *cmd, int argc, char **argv, int *i);

/* Checks the combination and applies the collected options over p (the model's defaults).
 * 0, or -1 with the error printed. */
int cli_gen_opts_apply(const struct cli_gen_opts *g, const char *cmd, struct tx_gen_params *p);

#endif
