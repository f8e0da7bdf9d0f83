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

int cli_forward(int argc, char **argv)
{
    const char *cmd = argv[0], *model_dir = NULL;
    int32_t *src = NULL, *dec = NULL;
    int n_src = 0, n_dec = 0, rc = 2;
    unsigned flags = 0;
    long threads = 1;
    tx_model *m = NULL;
    tx_session *s = NULL;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            rc = CLI_EXIT_OK;
            goto done;
        } else if ((v = cli_opt(argc, argv, &i, "--model", &missing))) {
            model_dir = v;
        } else if ((v = cli_opt(argc, argv, &i, "--input-ids", &missing))) {
            free(src);
            src = NULL;
            if (cli_parse_ids(cmd, "--input-ids", v, &src, &n_src)) goto done;
        } else if ((v = cli_opt(argc, argv, &i, "--decoder-ids", &missing))) {
            free(dec);
            dec = NULL;
            if (cli_parse_ids(cmd, "--decoder-ids", v, &dec, &n_dec)) goto done;
        } else if ((v = cli_opt(argc, argv, &i, "--threads", &missing))) {
            if (cli_parse_int(cmd, "--threads", v, 1, CLI_MAX_THREADS, &threads)) goto done;
        } else if (!strcmp(argv[i], "--attentions")) {
            flags |= TX_FORWARD_ATTENTIONS;
        } else if (!strcmp(argv[i], "--hidden")) {
            flags |= TX_FORWARD_HIDDEN;
        } else {
            cli_bad_option(cmd, argv[i], missing);
            usage(stderr);
            goto done;
        }
        if (missing) {
            fprintf(stderr, "attnserve-cli %s: missing value for '%s'\n", cmd, argv[i]);
            goto done;
        }
    }
    if (!model_dir || !src || !dec) {
        fprintf(stderr, "attnserve-cli %s: --model, --input-ids and --decoder-ids are required\n",
                cmd);
        usage(stderr);
        goto done;
    }
    rc = CLI_EXIT_FAILED;
    if (cli_load_engine(cmd, model_dir, (int)threads, &m, &s)) goto done;
    struct tx_error e = {0};
    struct tx_forward_out o;
    if (tx_forward(s, src, n_src, dec, n_dec, flags, &o, &e) != TX_OK) {
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
    free(src);
    free(dec);
    return rc;
}
