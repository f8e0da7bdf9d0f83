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
               CLI_THREADS_HELP
               "  --dtype auto|int8|w8a8|f16|f32  how weights are kept (default auto: as stored)\n"
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

/* What the command line asks for. */
struct generate_args {
    const char *model_dir;
    int32_t *src[MAX_INPUTS]; /* (n_inputs) owned id lists */
    int n_src[MAX_INPUTS];
    int n_inputs;
    long threads;
    tx_dtype dtype;
    struct cli_gen_opts go;
};

/* One option at argv[*i] (advanced past its value). Returns 0 taken, -1 when something was
 * wrong (reported), CLI_EXIT_USAGE for an unknown option or a missing value. */
static int take_option(struct generate_args *a, const char *cmd, int argc, char **argv, int *i)
{
    int missing = 0;
    const char *v;
    if ((v = cli_opt(argc, argv, i, "--model", &missing))) {
        a->model_dir = v;
        return 0;
    }
    if (!missing && (v = cli_opt(argc, argv, i, "--input-ids", &missing))) {
        if (a->n_inputs == MAX_INPUTS) {
            fprintf(stderr, "attnserve-cli %s: at most %d --input-ids\n", cmd, MAX_INPUTS);
            return -1;
        }
        int k = a->n_inputs;
        if (cli_parse_ids(cmd, "--input-ids", v, &a->src[k], &a->n_src[k])) return -1;
        a->n_inputs++;
        return 0;
    }
    if (!missing && (v = cli_opt(argc, argv, i, "--threads", &missing)))
        return cli_parse_int(cmd, "--threads", v, 1, CLI_MAX_THREADS, &a->threads);
    if (!missing && (v = cli_opt(argc, argv, i, "--dtype", &missing)))
        return cli_parse_dtype(cmd, v, &a->dtype);
    int took = missing ? 0 : cli_gen_opts_take(&a->go, cmd, argc, argv, i);
    if (took < 0) return -1;
    if (took) return 0;
    cli_bad_option(cmd, argv[*i], missing);
    return CLI_EXIT_USAGE;
}

/* Returns 0 to go on, -1 after --help, or CLI_EXIT_USAGE (reported). */
static int parse_args(struct generate_args *a, int argc, char **argv)
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
    if (!a->model_dir || a->n_inputs == 0) {
        fprintf(stderr, "attnserve-cli %s: --model and --input-ids are required\n", cmd);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* {"sequences", "scores", "token_scores"[, "token_logprobs"]} on stdout. */
static void print_result(const struct tx_gen_out *o)
{
    int n = o->n_inputs * o->n_return;
    printf("{\"sequences\":[");
    for (int i = 0; i < n; i++) {
        if (i) putchar(',');
        cli_put_ids(stdout, o->hyps[i].ids, o->hyps[i].n_ids);
    }
    printf("],\"scores\":[");
    for (int i = 0; i < n; i++) {
        if (i) putchar(',');
        cli_put_float(stdout, o->hyps[i].score);
    }
    printf("],\"token_scores\":[");
    for (int i = 0; i < n; i++) {
        if (i) putchar(',');
        put_floats(o->hyps[i].token_scores, o->hyps[i].n_ids - 1);
    }
    printf("]");
    if (n > 0 && o->hyps[0].token_logprobs) {
        printf(",\"token_logprobs\":[");
        for (int i = 0; i < n; i++) {
            if (i) putchar(',');
            put_floats(o->hyps[i].token_logprobs, o->hyps[i].n_ids - 1);
        }
        printf("]");
    }
    printf("}\n");
}

int cli_generate(int argc, char **argv)
{
    const char *cmd = argv[0];
    struct generate_args a = {.threads = 1};
    tx_model *m = NULL;
    tx_session *s = NULL;
    int rc = parse_args(&a, argc, argv);
    if (rc) {
        rc = rc < 0 ? CLI_EXIT_OK : rc;
        goto done;
    }
    rc = CLI_EXIT_FAILED;
    if (cli_load_engine(cmd, a.model_dir, (int)a.threads, a.dtype, &m, &s)) goto done;
    struct tx_gen_params p = tx_model_gen_params(m);
    rc = CLI_EXIT_USAGE;
    if (cli_gen_opts_apply(&a.go, cmd, &p)) goto done;
    rc = CLI_EXIT_FAILED;
    struct tx_error e = {0};
    struct tx_gen_out o;
    if (tx_generate(s, (const int32_t *const *)a.src, a.n_src, a.n_inputs, &p, &o, &e) !=
        TX_OK) {
        cli_report(cmd, &e);
        goto done;
    }
    print_result(&o);
    rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
done:
    tx_session_free(s);
    tx_model_free(m);
    for (int i = 0; i < a.n_inputs; i++)
        free(a.src[i]);
    return rc;
}
