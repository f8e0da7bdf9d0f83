/* cmd_generate.c — attnserve-cli generate: token ids in, generated ids and scores out as JSON
 * (greedy, beam search, sampling), for checking parity against transformers' generate(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "gen_opts.h"
#include "tx.h"

#define MAX_INPUTS 256

static void usage(FILE *f)
{
    fprintf(f, "usage: attnserve-cli generate --model DIR --input-ids 5,17,1 [--input-ids ...]\n"
               "                              [options]\n");
    cli_gen_opts_help(f);
    fprintf(f,
               "  --threads N              OpenBLAS threads (default 1)\n"
               "Several --input-ids are decoded together as one padded batch. Prints one JSON\n"
               "object: \"sequences\" [inputs x returned][ids] (decoder start token first, eos\n"
               "last when produced, as transformers returns them), \"scores\" (beam: sequence\n"
               "scores; greedy/sampling: sum of processed log-probs), \"token_scores\" (per-token\n"
               "log-softmax after the logits processors) and, except for beam search,\n"
               "\"token_logprobs\" (log-softmax of the raw logits at each chosen token).\n");
}

static void put_floats(const float *x, int n)
{
    cli_put_tensor(stdout, x, (const int[]){n}, 1);
}

int cli_generate(int argc, char **argv)
{
    const char *cmd = argv[0], *model_dir = NULL;
    int32_t *src[MAX_INPUTS];
    int n_src[MAX_INPUTS], n_inputs = 0, rc = 2;
    long threads = 1;
    struct cli_gen_opts go = {0};
    tx_model *m = NULL;
    tx_session *s = NULL;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            rc = 0;
            goto done;
        }
        if ((v = cli_opt(argc, argv, &i, "--model", &missing))) {
            model_dir = v;
            continue;
        }
        if (!missing && (v = cli_opt(argc, argv, &i, "--input-ids", &missing))) {
            if (n_inputs == MAX_INPUTS) {
                fprintf(stderr, "attnserve-cli %s: at most %d --input-ids\n", cmd, MAX_INPUTS);
                goto done;
            }
            if (cli_parse_ids(cmd, "--input-ids", v, &src[n_inputs], &n_src[n_inputs])) goto done;
            n_inputs++;
            continue;
        }
        if (!missing && (v = cli_opt(argc, argv, &i, "--threads", &missing))) {
            if (cli_parse_int(cmd, "--threads", v, 1, 256, &threads)) goto done;
            continue;
        }
        int took = missing ? 0 : cli_gen_opts_take(&go, cmd, argc, argv, &i);
        if (took < 0) goto done;
        if (took) continue;
        fprintf(stderr, "attnserve-cli %s: %s '%s'\n", cmd,
                missing ? "missing value for" : "unknown option", argv[i]);
        usage(stderr);
        goto done;
    }
    if (!model_dir || n_inputs == 0) {
        fprintf(stderr, "attnserve-cli %s: --model and --input-ids are required\n", cmd);
        usage(stderr);
        goto done;
    }
    rc = 1;
    tx_blas_set_threads((int)threads);
    struct tx_error e = {0};
    if (tx_model_load(model_dir, &m, &e) != TX_OK || tx_session_new(m, 0, &s, &e) != TX_OK) {
        fprintf(stderr, "attnserve-cli %s: %s: %s\n", cmd, tx_status_name(e.status), e.message);
        goto done;
    }
    struct tx_gen_params p = tx_model_gen_params(m);
    rc = 2;
    if (cli_gen_opts_apply(&go, cmd, &p)) goto done;
    rc = 1;
    struct tx_gen_out o;
    if (tx_generate(s, (const int32_t *const *)src, n_src, n_inputs, &p, &o, &e) != TX_OK) {
        fprintf(stderr, "attnserve-cli %s: %s: %s\n", cmd, tx_status_name(e.status), e.message);
        goto done;
    }
    int n = o.n_inputs * o.n_return;
    printf("{\"sequences\":[");
    for (int i = 0; i < n; i++) {
        if (i) putchar(',');
        cli_put_ids(stdout, o.hyps[i].ids, o.hyps[i].n_ids);
    }
    printf("],\"scores\":[");
    for (int i = 0; i < n; i++) {
        if (i) putchar(',');
        cli_put_float(stdout, o.hyps[i].score);
    }
    printf("],\"token_scores\":[");
    for (int i = 0; i < n; i++) {
        if (i) putchar(',');
        put_floats(o.hyps[i].token_scores, o.hyps[i].n_ids - 1);
    }
    printf("]");
    if (n > 0 && o.hyps[0].token_logprobs) {
        printf(",\"token_logprobs\":[");
        for (int i = 0; i < n; i++) {
            if (i) putchar(',');
            put_floats(o.hyps[i].token_logprobs, o.hyps[i].n_ids - 1);
        }
        printf("]");
    }
    printf("}\n");
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    tx_session_free(s);
    tx_model_free(m);
    for (int i = 0; i < n_inputs; i++)
        free(src[i]);
    return rc;
}
