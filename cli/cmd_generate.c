/* cmd_generate.c — attnserve-cli generate: token ids in, generated ids and scores out as JSON
 * (greedy, beam search, sampling), for checking parity against transformers' generate(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "tx.h"

#define MAX_INPUTS 256

static void usage(FILE *f)
{
    fprintf(f, "usage: attnserve-cli generate --model DIR --input-ids 5,17,1 [--input-ids ...]\n"
               "                              [options]\n"
               "Decoding options (default: the checkpoint's generation_config.json):\n"
               "  --num-beams N --num-return-sequences N --max-new-tokens N --max-length N\n"
               "  --min-length N --length-penalty X --early-stopping true|false|never\n"
               "  --no-repeat-ngram-size N --repetition-penalty X --bad-words-ids '5;7,8'\n"
               "  --do-sample --temperature X --top-k N --top-p X --seed N\n"
               "  --decoder-start-token-id N --eos-token-id N --forced-bos-token-id N\n"
               "  --forced-eos-token-id N  (-1 disables the forced/eos ones)\n"
               "  --threads N              OpenBLAS threads (default 1)\n"
               "Several --input-ids are decoded together as one padded batch. Prints one JSON\n"
               "object: \"sequences\" [inputs x returned][ids] (decoder start token first, eos\n"
               "last when produced, as transformers returns them), \"scores\" (beam: sequence\n"
               "scores; greedy/sampling: sum of processed log-probs), \"token_scores\" (per-token\n"
               "log-softmax after the logits processors) and, except for beam search,\n"
               "\"token_logprobs\" (log-softmax of the raw logits at each chosen token).\n");
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

struct pending {
    const struct gen_opt *opt;
    const char *value;
};

static int apply_opt(const char *cmd, const struct pending *pd, struct tx_gen_params *p)
{
    const struct gen_opt *o = pd->opt;
    char *field = (char *)p + o->off;
    long x;
    float f;
    switch (o->kind) {
    case OPT_INT:
        if (cli_parse_int(cmd, o->flag, pd->value, (long)o->lo, (long)o->hi, &x)) return -1;
        *(int *)(void *)field = (int)x;
        break;
    case OPT_TOKEN:
        if (cli_parse_int(cmd, o->flag, pd->value, -1, 100000000, &x)) return -1;
        *(int *)(void *)field = (int)x;
        break;
    case OPT_FLOAT:
        if (cli_parse_float(cmd, o->flag, pd->value, o->lo, o->hi, &f)) return -1;
        *(float *)(void *)field = f;
        break;
    case OPT_U64: {
        char *end = NULL;
        unsigned long long u = strtoull(pd->value, &end, 10);
        if (!*pd->value || *end || pd->value[0] == '-') {
            fprintf(stderr, "attnserve-cli %s: %s needs a non-negative integer, got '%s'\n", cmd,
                    o->flag, pd->value);
            return -1;
        }
        *(uint64_t *)(void *)field = (uint64_t)u;
        break;
    }
    }
    return 0;
}

static void put_floats(const float *x, int n)
{
    cli_put_tensor(stdout, x, (const int[]){n}, 1);
}

int cli_generate(int argc, char **argv)
{
    const char *cmd = argv[0], *model_dir = NULL, *early = NULL, *bad_words = NULL;
    int32_t *src[MAX_INPUTS];
    int n_src[MAX_INPUTS], n_inputs = 0, rc = 2, do_sample = 0, max_len_given = 0;
    long threads = 1;
    struct pending pend[64];
    int n_pend = 0;
    tx_model *m = NULL;
    tx_session *s = NULL;
    for (int i = 1; i < argc; i++) {
        int missing = 0, matched = 0;
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            rc = 0;
            goto done;
        }
        if (!strcmp(argv[i], "--do-sample")) {
            do_sample = 1;
            continue;
        }
        if ((v = cli_opt(argc, argv, &i, "--model", &missing))) {
            model_dir = v;
            continue;
        }
        if ((v = cli_opt(argc, argv, &i, "--input-ids", &missing))) {
            if (n_inputs == MAX_INPUTS) {
                fprintf(stderr, "attnserve-cli %s: at most %d --input-ids\n", cmd, MAX_INPUTS);
                goto done;
            }
            if (cli_parse_ids(cmd, "--input-ids", v, &src[n_inputs], &n_src[n_inputs])) goto done;
            n_inputs++;
            continue;
        }
        if ((v = cli_opt(argc, argv, &i, "--threads", &missing))) {
            if (cli_parse_int(cmd, "--threads", v, 1, 256, &threads)) goto done;
            continue;
        }
        if ((v = cli_opt(argc, argv, &i, "--early-stopping", &missing))) {
            early = v;
            continue;
        }
        if ((v = cli_opt(argc, argv, &i, "--bad-words-ids", &missing))) {
            bad_words = v;
            continue;
        }
        for (size_t k = 0; k < N_GEN_OPTS && !matched && !missing; k++) {
            if ((v = cli_opt(argc, argv, &i, gen_opts[k].flag, &missing))) {
                if (n_pend == (int)(sizeof pend / sizeof pend[0])) {
                    fprintf(stderr, "attnserve-cli %s: too many options\n", cmd);
                    goto done;
                }
                pend[n_pend++] = (struct pending){&gen_opts[k], v};
                if (!strcmp(gen_opts[k].flag, "--max-length")) max_len_given = 1;
                matched = 1;
            }
        }
        if (matched) continue;
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
    if (early && strcmp(early, "true") && strcmp(early, "false") && strcmp(early, "never")) {
        fprintf(stderr, "attnserve-cli %s: --early-stopping needs true, false or never, got '%s'\n",
                cmd, early);
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
    /* --max-length alone replaces the checkpoint's max_new_tokens, as in generate() */
    if (max_len_given) p.max_new_tokens = 0;
    rc = 2;
    for (int k = 0; k < n_pend; k++)
        if (apply_opt(cmd, &pend[k], &p)) goto done;
    if (do_sample) p.do_sample = 1;
    if (early) p.early_stopping = !strcmp(early, "true") ? 1 : !strcmp(early, "never") ? 2 : 0;
    if (bad_words && parse_bad_words(cmd, bad_words, &p)) goto done;
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
