/* cmd_text.c — attnserve-cli translate / summarize: text in (argument or stdin lines), text out. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "gen_opts.h"
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
    struct tx_load_params load; /* --dtype */
    struct tx_text_params tp;
};

static void text_usage(FILE *f, const char *cmd)
{
    fprintf(
        f,
        "usage: attnserve-cli %s --model DIR [options] [TEXT]\n"
        "Reads one input per line on stdin when TEXT is not given; prints one output per line.\n"
        "  --model DIR               Hugging Face model folder (weights + tokenizer)\n"
        "  --json                    print one JSON object per input (text, score, ids,\n"
        "                            tokens, alternatives, input/output token counts)\n"
        "  --max-input-tokens N      source limit (default: the model's)\n"
        "  --strict                  fail on too-long input instead of truncating it\n"
        "  --split / --no-split      split each input into sentences (default: translate\n"
        "                            splits, summarize does not)\n"
        "  --prefix TEXT             task prefix (default: from the config, e.g. T5's)\n"
        "  --threads N               engine threads: one batch's products split between N\n"
        "                            threads (default 1; OpenBLAS runs one); same results\n"
        "  --dtype auto|int8|w8a8|f16|f32  weights as stored (default; F16 kept as F16),\n"
        "                            int8 (quantized at load), w8a8 (int8 weights and\n"
        "                            activations), f16 (all matrices as half precision) or\n"
        "                            f32 (all widened)\n"
        "Decoding defaults: generation_config.json, then config.json's\n"
        "task_specific_params.summarization (or .translation_en_to_de) over it, as\n"
        "transformers' pipeline(task) applies them; the options below override both.\n",
        cmd);
    cli_gen_opts_help(f);
}

/* Options collected before the model is loaded. */
struct text_args {
    struct cli_gen_opts go;
    long threads, max_in;
};

/* The options without a value (--json, --strict, --split, --no-split). Returns 1 when `a` is
 * one of them. */
static int take_switch(const char *a, struct text_opts *o)
{
    if (!strcmp(a, "--json"))
        o->json = 1;
    else if (!strcmp(a, "--strict"))
        o->tp.truncate = 0;
    else if (!strcmp(a, "--split"))
        o->tp.split_sentences = 1;
    else if (!strcmp(a, "--no-split"))
        o->tp.split_sentences = 0;
    else
        return 0;
    return 1;
}

/* One argument at argv[*i] (advanced past a value). Returns 0, 1 = --help shown, -1 = usage
 * error (reported). */
static int take_arg(int argc, char **argv, int *i, struct text_opts *o, struct text_args *t)
{
    const char *cmd = argv[0], *a = argv[*i], *v;
    int missing = 0;
    if (cli_is_help(a)) {
        text_usage(stdout, cmd);
        return 1;
    } else if (take_switch(a, o)) {
        return 0;
    } else if ((v = cli_opt(argc, argv, i, "--model", &missing))) {
        o->model_dir = v;
    } else if (!missing && (v = cli_opt(argc, argv, i, "--prefix", &missing))) {
        o->prefix = v;
    } else if (!missing && (v = cli_opt(argc, argv, i, "--threads", &missing))) {
        if (cli_parse_int(cmd, "--threads", v, 1, CLI_MAX_THREADS, &t->threads)) return -1;
    } else if (!missing && (v = cli_opt(argc, argv, i, "--dtype", &missing))) {
        if (cli_parse_dtype(cmd, v, &o->load.dtype)) return -1;
    } else if (!missing && (v = cli_opt(argc, argv, i, "--max-input-tokens", &missing))) {
        if (cli_parse_int(cmd, "--max-input-tokens", v, 2, 1 << 20, &t->max_in)) return -1;
    } else if (!missing && a[0] == '-' && a[1] == '-') {
        int took = cli_gen_opts_take(&t->go, cmd, argc, argv, i);
        if (took < 0) return -1;
        if (!took) {
            fprintf(stderr, "attnserve-cli %s: unknown option %s\n", cmd, a);
            return -1;
        }
    } else if (missing) {
        fprintf(stderr, "attnserve-cli %s: missing value for '%s'\n", cmd, a);
        return -1;
    } else if (!o->text) {
        o->text = a;
    } else {
        fprintf(stderr, "attnserve-cli %s: more than one TEXT argument\n", cmd);
        return -1;
    }
    return 0;
}

/* Loads the model into *model_out and sets the decoding parameters as transformers'
 * pipeline(task) does: the checkpoint's task_specific_params[task] (prefix and decoding
 * options) over its generation config, then the command line's options. Returns 0, -1 = usage
 * error, -2 = the model failed to load. */
static int load_model(const char *cmd, enum text_task task, struct text_opts *o,
                      const struct cli_gen_opts *go, tx_model **model_out)
{
    struct tx_error err = {0};
    tx_model *model = NULL;
    if (tx_model_load_ex(o->model_dir, &o->load, &model, &err) != TX_OK) {
        fprintf(stderr, "attnserve-cli %s: %s\n", cmd, err.message);
        return -2;
    }
    *model_out = model;
    const char *task_name = task == TASK_SUMMARIZE ? "summarization" : "translation_en_to_de";
    if (tx_model_task_gen_params(model, task_name, &o->tp.gen, &err) != TX_OK) {
        fprintf(stderr, "attnserve-cli %s: %s\n", cmd, err.message);
        return -2;
    }
    if (cli_gen_opts_apply(go, cmd, &o->tp.gen)) return -1;
    if (o->prefix)
        o->tp.prefix = o->prefix;
    else
        o->tp.prefix = tx_model_task_prefix(model, task_name);
    return 0;
}

/* Returns 0 ok, 1 = --help shown, -1 = usage error, -2 = the model failed to load. */
static int parse_args(int argc, char **argv, enum text_task task, struct text_opts *o,
                      tx_model **model_out)
{
    const char *cmd = argv[0];
    struct text_args t = {.threads = 1};
    memset(o, 0, sizeof *o);
    o->tp.split_sentences = task == TASK_TRANSLATE;
    o->tp.truncate = 1;
    for (int i = 1; i < argc; i++) {
        int rc = take_arg(argc, argv, &i, o, &t);
        if (rc) return rc;
    }
    if (!o->model_dir) {
        fprintf(stderr, "attnserve-cli %s: --model DIR is required\n", cmd);
        text_usage(stderr, cmd);
        return -1;
    }
    o->threads = (int)t.threads;
    o->tp.max_input_tokens = (int)t.max_in;
    return load_model(cmd, task, o, &t.go, model_out);
}

static void print_item(const struct text_opts *o, const struct tx_text_item *it)
{
    if (!o->json) {
        /* one line per input: newlines inside an output would break that contract */
        for (const char *p = it->alternatives[0].text; *p; p++)
            putchar(*p == '\n' ? ' ' : *p);
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
    for (int i = 0; i < n; i++)
        lens[i] = strlen(lines[i]);
    struct tx_text_result *res = NULL;
    struct tx_error err = {0};
    if (tx_text_generate(s, tok, (const char *const *)lines, lens, n, &o->tp, &res, &err) ==
        TX_OK) {
        for (int i = 0; i < res->n_items; i++)
            print_item(o, &res->items[i]);
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
    tx_model *model = NULL;
    int rc = parse_args(argc, argv, task, &o, &model);
    if (rc == 1) return 0;
    if (rc < 0) {
        tx_model_free(model);
        return rc == -2 ? 1 : 2;
    }
    if (o.json) o.tp.want |= TX_WANT_TOKENS;

    struct tx_error err = {0};
    tx_tokenizer *tok = NULL;
    tx_session *s = NULL;
    int status = 1;
    if (cli_load_tokenizer(cmd, o.model_dir, &tok)) goto done;
    if (tx_session_new(model, 0, &s, &err) != TX_OK) {
        fprintf(stderr, "attnserve-cli %s: %s\n", cmd, err.message);
        goto done;
    }
    if (cli_set_threads(cmd, s, o.threads)) goto done;
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
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        lines[n] = strdup(line);
        if (!lines[n]) {
            fprintf(stderr, "attnserve-cli %s: out of memory\n", cmd);
            status = 1;
            break;
        }
        if (++n == LINES_PER_CALL) {
            status |= run_batch(s, tok, &o, cmd, lines, n, line_no);
            for (int i = 0; i < n; i++)
                free(lines[i]);
            line_no += n;
            n = 0;
        }
    }
    free(line);
    if (n > 0) status |= run_batch(s, tok, &o, cmd, lines, n, line_no);
    for (int i = 0; i < n; i++)
        free(lines[i]);
done:
    tx_session_free(s);
    tx_tokenizer_free(tok);
    tx_model_free(model);
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
