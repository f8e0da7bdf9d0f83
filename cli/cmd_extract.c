/* cmd_extract.c — attnserve-cli extract: the sentences of each document (one per stdin line)
 * scored by a hierarchical attention network (model_type han), as JSON lines: the server's
 * tx_text_extract_spans (at most TX_EXTRACT_MAX_SENTENCES sentences of TX_EXTRACT_MAX_PIECES
 * pieces; the best --top with trigram blocking). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "tx.h"

#define MAX_SENTENCES 4096

static void usage(FILE *f)
{
    fprintf(f, "usage: attnserve-cli extract --model DIR [--top N] [--tabs]\n"
               "  Reads one document per stdin line; prints per document one JSON line:\n"
               "  {\"sentences\": [...], \"scores\": [...], \"sentence_attention\": [...],\n"
               "   \"top\": [indices of the N best, in document order], \"summary\": \"...\"}\n"
               "  --model  a han model folder (sentence salience, tools/train/train_han.py)\n"
               "  --top    sentences in the summary (default 3)\n"
               "  --tabs   sentences are separated by tabs (default: split like the server)\n");
}

/* Spans of the sentences of line (len bytes): tab-separated, or tx_split_sentences. */
static int sentences(const char *line, size_t len, int tabs, uint32_t (*spans)[2])
{
    if (!tabs) {
        int n = tx_split_sentences(line, len, spans, MAX_SENTENCES);
        return n < MAX_SENTENCES ? n : MAX_SENTENCES;
    }
    int n = 0;
    size_t a = 0;
    for (size_t i = 0; i <= len && n < MAX_SENTENCES; i++)
        if (i == len || line[i] == '\t') {
            if (i > a) spans[n][0] = (uint32_t)a, spans[n][1] = (uint32_t)i, n++;
            a = i + 1;
        }
    return n;
}

static void put_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* One document: scores its sentences (tx_text_extract_spans, as the server does) and prints the
 * JSON line. Returns 0, or 1 on error. */
static int run_doc(tx_session *s, const tx_tokenizer *tok, const char *line, size_t len, int tabs,
                   int top, uint32_t (*spans)[2], float *buf)
{
    int n = sentences(line, len, tabs, spans);
    struct tx_error e = {0};
    struct tx_text_item it;
    if (tx_text_extract_spans(s, tok, line, len, spans, n, top, &it, &e) != TX_OK) {
        cli_report("extract", &e);
        tx_text_item_clear(&it);
        return 1;
    }
    n = it.n_sentences;
    printf("{\"sentences\":[");
    for (int i = 0; i < n; i++) {
        if (i) putchar(',');
        put_string(stdout, line + it.sentences[i].start,
                   it.sentences[i].end - it.sentences[i].start);
    }
    int dims[1] = {n};
    for (int i = 0; i < n; i++) buf[i] = it.sentences[i].score;
    printf("],\"scores\":");
    cli_put_tensor(stdout, buf, dims, 1);
    for (int i = 0; i < n; i++) buf[i] = it.sentences[i].attention;
    printf(",\"sentence_attention\":");
    cli_put_tensor(stdout, buf, dims, 1);
    printf(",\"top\":[");
    for (int i = 0, first = 1; i < n; i++)
        if (it.sentences[i].selected) printf(first ? "%d" : ",%d", i), first = 0;
    printf("],\"summary\":");
    const char *sum = it.alternatives && it.alternatives[0].text ? it.alternatives[0].text : "";
    put_string(stdout, sum, strlen(sum));
    printf("}\n");
    tx_text_item_clear(&it);
    return 0;
}

int cli_extract(int argc, char **argv)
{
    const char *model_dir = NULL;
    int top = 3, tabs = 0;
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--model") && has_value) {
            model_dir = argv[++i];
        } else if (!strcmp(argv[i], "--top") && has_value) {
            top = atoi(argv[++i]);
            if (top < 1 || top > MAX_SENTENCES) {
                fprintf(stderr, "attnserve-cli extract: --top must be 1..%d, got %s\n",
                        MAX_SENTENCES, argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--tabs")) {
            tabs = 1;
        } else {
            fprintf(stderr, "attnserve-cli extract: unknown or incomplete option '%s'\n",
                    argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!model_dir) {
        fprintf(stderr, "attnserve-cli extract: --model is required\n");
        usage(stderr);
        return 2;
    }
    tx_model *m = NULL;
    tx_session *s = NULL;
    tx_tokenizer *tok = NULL;
    int rc = 1;
    uint32_t(*spans)[2] = malloc(MAX_SENTENCES * sizeof *spans);
    float *buf = malloc(MAX_SENTENCES * sizeof *buf);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    if (!spans || !buf) goto done;
    if (cli_load_engine("extract", model_dir, 1, TX_DTYPE_AUTO, &m, &s)) goto done;
    if (cli_load_tokenizer("extract", model_dir, &tok)) goto done;
    rc = 0;
    while (!rc && (len = getline(&line, &cap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        rc = run_doc(s, tok, line, (size_t)len, tabs, top, spans, buf);
    }
done:
    free(line);
    free(spans);
    free(buf);
    tx_tokenizer_free(tok);
    tx_session_free(s);
    tx_model_free(m);
    return rc;
}
