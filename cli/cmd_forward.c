/* cmd_forward.c — attnserve-cli forward: one teacher-forced pass, logits (and attentions) as
 * JSON, for checking parity against any reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "tx.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: attnserve-cli forward --model DIR --input-ids 5,17,1 --decoder-ids 0,7,8\n"
        "                             [--attentions] [--hidden] [--threads N]\n"
        "Prints one JSON object: \"logits\" [T][V] (row t: scores after reading\n"
        "decoder_ids[0..t], final_logits_bias included); with --attentions also\n"
        "\"encoder_attentions\" [L][H][S][S], \"decoder_attentions\" [L][H][T][T],\n"
        "\"cross_attentions\" [L][H][T][S]; with --hidden \"encoder_last_hidden_state\" [S][D].\n");
}

/* What the command line asks for. */
struct forward_args {
    const char *model_dir;
    int32_t *src, *dec; /* owned id lists */
    int n_src, n_dec;
    unsigned flags; /* TX_FORWARD_* */
    long threads;
};

/* One option at argv[*i] (advanced past its value). Returns 0 taken, -1 when a value was
 * wrong (reported), CLI_EXIT_USAGE for an unknown option or a missing value (reported). */
static int take_option(struct forward_args *a, const char *cmd, int argc, char **argv, int *i)
{
    int missing = 0;
    const char *v;
    if ((v = cli_opt(argc, argv, i, "--model", &missing))) {
        a->model_dir = v;
    } else if ((v = cli_opt(argc, argv, i, "--input-ids", &missing))) {
        free(a->src);
        a->src = NULL;
        if (cli_parse_ids(cmd, "--input-ids", v, &a->src, &a->n_src)) return -1;
    } else if ((v = cli_opt(argc, argv, i, "--decoder-ids", &missing))) {
        free(a->dec);
        a->dec = NULL;
        if (cli_parse_ids(cmd, "--decoder-ids", v, &a->dec, &a->n_dec)) return -1;
    } else if ((v = cli_opt(argc, argv, i, "--threads", &missing))) {
        if (cli_parse_int(cmd, "--threads", v, 1, CLI_MAX_THREADS, &a->threads)) return -1;
    } else if (!strcmp(argv[*i], "--attentions")) {
        a->flags |= TX_FORWARD_ATTENTIONS;
    } else if (!strcmp(argv[*i], "--hidden")) {
        a->flags |= TX_FORWARD_HIDDEN;
    } else {
        cli_bad_option(cmd, argv[*i], missing);
        return CLI_EXIT_USAGE;
    }
    if (missing) {
        fprintf(stderr, "attnserve-cli %s: missing value for '%s'\n", cmd, argv[*i]);
        return -1;
    }
    return 0;
}

/* Returns 0 to go on, -1 after --help, or CLI_EXIT_USAGE (reported). */
static int parse_args(struct forward_args *a, int argc, char **argv)
{
    const char *cmd = argv[0];
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return -1;
        }
        int rc = take_option(a, cmd, argc, argv, &i);
        if (rc == CLI_EXIT_USAGE) usage(stderr);
        if (rc) return CLI_EXIT_USAGE;
    }
    if (!a->model_dir || !a->src || !a->dec) {
        fprintf(stderr, "attnserve-cli %s: --model, --input-ids and --decoder-ids are required\n",
                cmd);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int cli_forward(int argc, char **argv)
{
    const char *cmd = argv[0];
    struct forward_args a = {.threads = 1};
    tx_model *m = NULL;
    tx_session *s = NULL;
    int rc = parse_args(&a, argc, argv);
    if (rc) {
        rc = rc < 0 ? CLI_EXIT_OK : rc;
        goto done;
    }
    rc = CLI_EXIT_FAILED;
    if (cli_load_engine(cmd, a.model_dir, (int)a.threads, TX_DTYPE_AUTO, &m, &s)) goto done;
    struct tx_error e = {0};
    struct tx_forward_out o;
    if (tx_forward(s, a.src, a.n_src, a.dec, a.n_dec, a.flags, &o, &e) != TX_OK) {
        cli_report(cmd, &e);
        goto done;
    }
    int S = o.n_src, T = o.n_tgt, H = o.n_heads;
    printf("{\"model_type\":\"%s\",\"n_src\":%d,\"n_tgt\":%d,\"vocab\":%d,\"logits\":",
           tx_model_get_info(m)->model_type, S, T, o.vocab);
    cli_put_tensor(stdout, o.logits, (const int[]){T, o.vocab}, 2);
    if (o.encoder_attentions) {
        printf(",\"encoder_attentions\":");
        cli_put_tensor(stdout, o.encoder_attentions, (const int[]){o.n_enc_layers, H, S, S}, 4);
        printf(",\"decoder_attentions\":");
        cli_put_tensor(stdout, o.decoder_attentions, (const int[]){o.n_dec_layers, H, T, T}, 4);
        printf(",\"cross_attentions\":");
        cli_put_tensor(stdout, o.cross_attentions, (const int[]){o.n_dec_layers, H, T, S}, 4);
    }
    if (o.encoder_hidden) {
        printf(",\"encoder_last_hidden_state\":");
        cli_put_tensor(stdout, o.encoder_hidden, (const int[]){S, o.d_model}, 2);
    }
    printf("}\n");
    rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
done:
    tx_session_free(s);
    tx_model_free(m);
    free(a.src);
    free(a.dec);
    return rc;
}
