/* cmd_text.c — attnserve-cli translate / summarize: text in (argument or stdin lines), text out. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tx.h"

/* Lines handed to tx_text_generate at once (it batches them further inside). */
#define LINES_PER_CALL 32

enum text_task { TASK_TRANSLATE, TASK_SUMMARIZE };

struct text_opts {
    const char *model_dir;
    const char *text;   /* positional argument, or NULL = stdin lines */
    const char *prefix; /* explicit task prefix, or NULL = from config */
    int json;
    int threads;
    struct tx_text_params tp;
};

static void text_usage(FILE *f, const char *cmd)
{
    fprintf(f,
            "usage: attnserve-cli %s --model DIR [options] [TEXT]\n"
            "Reads one input per line on stdin when TEXT is not given; prints one output per line.\n"
            "  --model DIR               Hugging Face model folder (weights + tokenizer)\n"
            "  --json                    print one JSON object per input (text, score, tokens, ...)\n"
            "  --num-beams N             beam width (default: the model's generation config)\n"
            "  --max-new-tokens N        --max-length N   --min-length N\n"
            "  --length-penalty X        --no-repeat-ngram-size N   --repetition-penalty X\n"
            "  --num-return-sequences N  alternatives per input (JSON output)\n"
            "  --do-sample --temperature X --top-k N --top-p X --seed N\n"
            "  --max-input-tokens N      source limit (default: the model's)\n"
            "  --strict                  fail on too-long input instead of truncating it\n"
            "  --split                   split each input into sentences (default for translate)\n"
            "  --no-split                translate each input as one unit\n"
            "  --prefix TEXT             task prefix (default: from the config, e.g. T5's)\n"
            "  --threads N               OpenBLAS threads (default 1)\n",
            cmd);
}

/* Parses a number option; returns 0 on success, prints an error naming the flag otherwise. */
static int parse_int(const char *cmd, const char *flag, const char *v, int lo, int hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "attnserve-cli %s: %s needs an integer in [%d, %d], got '%s'\n", cmd,
                flag, lo, hi, v ? v : "");
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int parse_float(const char *cmd, const char *flag, const char *v, double lo, double hi,
                       float *out)
{
    char *end = NULL;
    errno = 0;
    double x = v ? strtod(v, &end) : 0;
    if (!v || !*v || *end || errno || !(x >= lo && x <= hi)) {
        fprintf(stderr, "attnserve-cli %s: %s needs a number in [%g, %g], got '%s'\n", cmd, flag,
                lo, hi, v ? v : "");
        return -1;
    }
    *out = (float)x;
    return 0;
}

/* Returns 0 ok, 1 = --help shown, -1 = usage error. */
static int parse_args(int argc, char **argv, enum text_task task, struct text_opts *o,
                      const tx_model **model_out)
{
    const char *cmd = argv[0];
    memset(o, 0, sizeof *o);
    o->threads = 1;
    o->tp.split_sentences = task == TASK_TRANSLATE;
    o->tp.truncate = 1;
    /* first pass: --model and --help, so defaults can come from the model */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            text_usage(stdout, cmd);
            return 1;
        }
        if (!strcmp(argv[i], "--model") && i + 1 < argc) o->model_dir = argv[i + 1];
    }
    if (!o->model_dir) {
        fprintf(stderr, "attnserve-cli %s: --model DIR is required\n", cmd);
        text_usage(stderr, cmd);
        return -1;
    }
    struct tx_error err = {0};
    tx_model *model = NULL;
    if (tx_model_load(o->model_dir, &model, &err) != TX_OK) {
        fprintf(stderr, "attnserve-cli %s: %s\n", cmd, err.message);
        return -2;
    }
    *model_out = model;
    o->tp.gen = tx_model_gen_params(model);
    struct tx_gen_params *g = &o->tp.gen;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0, takes = 1;
        if (!strcmp(a, "--model")) {
        } else if (!strcmp(a, "--json")) {
            o->json = 1, takes = 0;
        } else if (!strcmp(a, "--strict")) {
            o->tp.truncate = 0, takes = 0;
        } else if (!strcmp(a, "--split")) {
            o->tp.split_sentences = 1, takes = 0;
        } else if (!strcmp(a, "--no-split")) {
            o->tp.split_sentences = 0, takes = 0;
        } else if (!strcmp(a, "--do-sample")) {
            g->do_sample = 1, takes = 0;
        } else if (!strcmp(a, "--prefix")) {
            o->prefix = v;
            rc = v ? 0 : -1;
        } else if (!strcmp(a, "--num-beams")) {
            rc = parse_int(cmd, a, v, 1, 64, &g->num_beams);
        } else if (!strcmp(a, "--max-new-tokens")) {
            rc = parse_int(cmd, a, v, 1, 4096, &g->max_new_tokens);
        } else if (!strcmp(a, "--max-length")) {
            rc = parse_int(cmd, a, v, 1, 4096, &g->max_length);
            g->max_new_tokens = 0;
        } else if (!strcmp(a, "--min-length")) {
            rc = parse_int(cmd, a, v, 0, 4096, &g->min_length);
        } else if (!strcmp(a, "--length-penalty")) {
            rc = parse_float(cmd, a, v, -10, 10, &g->length_penalty);
        } else if (!strcmp(a, "--no-repeat-ngram-size")) {
            rc = parse_int(cmd, a, v, 0, 64, &g->no_repeat_ngram_size);
        } else if (!strcmp(a, "--repetition-penalty")) {
            rc = parse_float(cmd, a, v, 0.01, 100, &g->repetition_penalty);
        } else if (!strcmp(a, "--num-return-sequences")) {
            rc = parse_int(cmd, a, v, 1, 64, &g->num_return_sequences);
        } else if (!strcmp(a, "--temperature")) {
            rc = parse_float(cmd, a, v, 1e-4, 100, &g->temperature);
        } else if (!strcmp(a, "--top-k")) {
            rc = parse_int(cmd, a, v, 0, 1 << 30, &g->top_k);
        } else if (!strcmp(a, "--top-p")) {
            rc = parse_float(cmd, a, v, 0, 1, &g->top_p);
        } else if (!strcmp(a, "--seed")) {
            int seed = 0;
            rc = parse_int(cmd, a, v, 0, 2147483647, &seed);
            g->seed = (uint64_t)seed;
        } else if (!strcmp(a, "--max-input-tokens")) {
            rc = parse_int(cmd, a, v, 2, 1 << 20, &o->tp.max_input_tokens);
        } else if (!strcmp(a, "--threads")) {
            rc = parse_int(cmd, a, v, 1, 256, &o->threads);
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "attnserve-cli %s: unknown option %s\n", cmd, a);
            return -1;
        } else if (!o->text) {
            o->text = a, takes = 0;
        } else {
            fprintf(stderr, "attnserve-cli %s: more than one TEXT argument\n", cmd);
            return -1;
        }
        if (rc) return -1;
        if (takes) {
            if (!v) {
                fprintf(stderr, "attnserve-cli %s: %s needs a value\n", cmd, a);
                return -1;
            }
            i++;
        }
    }
    if (g->num_return_sequences > g->num_beams && !g->do_sample) {
        fprintf(stderr, "attnserve-cli %s: --num-return-sequences (%d) cannot exceed --num-beams (%d)\n",
                cmd, g->num_return_sequences, g->num_beams);
        return -1;
    }
    if (o->prefix) {
        o->tp.prefix = o->prefix;
    } else if (task == TASK_SUMMARIZE) {
        o->tp.prefix = tx_model_task_prefix(model, "summarization");
    } else {
        o->tp.prefix = tx_model_task_prefix(model, "translation_en_to_de");
    }
    return 0;
}

static void print_item(const struct text_opts *o, const struct tx_text_item *it)
{
    if (!o->json) {
        /* one line per input: newlines inside an output would break that contract */
        for (const char *p = it->alternatives[0].text; *p; p++) putchar(*p == '\n' ? ' ' : *p);
        putchar('\n');
        return;
    }
    json_t *obj = json_object();
    json_object_set_new(obj, "text", json_string(it->alternatives[0].text));
    json_object_set_new(obj, "score", json_real(it->alternatives[0].score));
    json_t *ids = json_array();
    for (int i = 0; i < it->alternatives[0].n_ids; i++)
        json_array_append_new(ids, json_integer(it->alternatives[0].ids[i]));
    json_object_set_new(obj, "ids", ids);
    if (it->alternatives[0].tokens) {
        json_t *toks = json_array();
        for (int i = 0; i < it->alternatives[0].n_ids; i++)
            json_array_append_new(toks, json_string(it->alternatives[0].tokens[i]));
        json_object_set_new(obj, "tokens", toks);
    }
    if (it->source_tokens) {
        json_t *toks = json_array();
        for (int i = 0; i < it->n_source_tokens; i++)
            json_array_append_new(toks, json_string(it->source_tokens[i]));
        json_object_set_new(obj, "source_tokens", toks);
    }
    if (it->n_alternatives > 1) {
        json_t *alts = json_array();
        for (int k = 0; k < it->n_alternatives; k++) {
            json_t *a = json_object();
            json_object_set_new(a, "text", json_string(it->alternatives[k].text));
            json_object_set_new(a, "score", json_real(it->alternatives[k].score));
            json_array_append_new(alts, a);
        }
        json_object_set_new(obj, "alternatives", alts);
    }
    json_object_set_new(obj, "input_tokens", json_integer(it->n_input_tokens));
    json_object_set_new(obj, "output_tokens", json_integer(it->n_output_tokens));
    json_object_set_new(obj, "truncated", json_boolean(it->truncated));
    char *s = json_dumps(obj, JSON_COMPACT);
    if (s) puts(s);
    free(s);
    json_decref(obj);
}

/* Prints what the CLI prints for an input that failed, keeping one output line per input. */
static void print_failure(const struct text_opts *o, const char *cmd, int line_no,
                          const struct tx_error *err)
{
    fprintf(stderr, "attnserve-cli %s: input %d: %s\n", cmd, line_no, err->message);
    if (!o->json) {
        putchar('\n');
        return;
    }
    json_t *obj = json_pack("{s:{s:s,s:s}}", "error", "code", tx_status_name(err->status),
                            "message", err->message);
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    if (s) puts(s);
    free(s);
    json_decref(obj);
}

/* Runs a batch of lines (first_line_no numbers them for messages). When the batch fails,
 * each line is retried alone so one bad input does not cost the others their output.
 * Returns 0, or 1 when some input failed (error printed). */
static int run_batch(tx_session *s, const tx_tokenizer *tok, const struct text_opts *o,
                     const char *cmd, char **lines, int n, int first_line_no)
{
    size_t lens[LINES_PER_CALL];
    for (int i = 0; i < n; i++) lens[i] = strlen(lines[i]);
    struct tx_text_result *res = NULL;
    struct tx_error err = {0};
    if (tx_text_generate(s, tok, (const char *const *)lines, lens, n, &o->tp, &res, &err) ==
        TX_OK) {
        for (int i = 0; i < res->n_items; i++) print_item(o, &res->items[i]);
        fflush(stdout);
        tx_text_result_free(res);
        return 0;
    }
    if (n == 1) {
        print_failure(o, cmd, first_line_no, &err);
        return 1;
    }
    int status = 0;
    for (int i = 0; i < n; i++)
        status |= run_batch(s, tok, o, cmd, lines + i, 1, first_line_no + i);
    return status;
}

static int run_text(int argc, char **argv, enum text_task task)
{
    const char *cmd = argv[0];
    struct text_opts o;
    const tx_model *model = NULL;
    int rc = parse_args(argc, argv, task, &o, &model);
    if (rc == 1) return 0;
    if (rc < 0) {
        tx_model_free((tx_model *)model);
        return rc == -2 ? 1 : 2;
    }
    if (o.json) o.tp.want |= TX_WANT_TOKENS;
    tx_blas_set_threads(o.threads);

    struct tx_error err = {0};
    tx_tokenizer *tok = NULL;
    tx_session *s = NULL;
    int status = 1;
    if (tx_tokenizer_load(o.model_dir, &tok, &err) != TX_OK ||
        tx_session_new(model, 0, &s, &err) != TX_OK) {
        fprintf(stderr, "attnserve-cli %s: %s\n", cmd, err.message);
        goto done;
    }
    if (o.text) {
        char *one[1] = {(char *)o.text};
        status = run_batch(s, tok, &o, cmd, one, 1, 1);
        goto done;
    }
    char *lines[LINES_PER_CALL];
    int n = 0, line_no = 1;
    status = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        lines[n] = strdup(line);
        if (!lines[n]) {
            fprintf(stderr, "attnserve-cli %s: out of memory\n", cmd);
            status = 1;
            break;
        }
        if (++n == LINES_PER_CALL) {
            status |= run_batch(s, tok, &o, cmd, lines, n, line_no);
            for (int i = 0; i < n; i++) free(lines[i]);
            line_no += n;
            n = 0;
        }
    }
    free(line);
    if (n > 0) status |= run_batch(s, tok, &o, cmd, lines, n, line_no);
    for (int i = 0; i < n; i++) free(lines[i]);
done:
    tx_session_free(s);
    tx_tokenizer_free(tok);
    tx_model_free((tx_model *)model);
    return status;
}

int cli_translate(int argc, char **argv)
{
    return run_text(argc, argv, TASK_TRANSLATE);
}

int cli_summarize(int argc, char **argv)
{
    return run_text(argc, argv, TASK_SUMMARIZE);
}
