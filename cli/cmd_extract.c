/* cmd_extract.c — attnserve-cli extract: the sentences of each document (one per stdin line)
 * scored by a hierarchical attention network (model_type han), as JSON lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "tx.h"

#define MAX_SENTENCES 4096
#define MAX_PIECES 50 /* per sentence, end token included: what tools/train/train_han.py trains */

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

/* One document: scores its sentences and prints the JSON line. Returns 0, or 1 on error. */
static int run_doc(tx_session *s, const tx_tokenizer *tok, const char *line, size_t len, int tabs,
                   int top, uint32_t (*spans)[2], struct tx_encoding *enc, const int32_t **ids,
                   int *n_tok)
{
    int n = sentences(line, len, tabs, spans);
    struct tx_error e = {0};
    if (n == 0) {
        printf("{\"sentences\":[],\"scores\":[],\"sentence_attention\":[],\"top\":[],"
               "\"summary\":\"\"}\n");
        return 0;
    }
    int rc = 0, n_enc = 0;
    for (int i = 0; i < n && !rc; i++, n_enc++) {
        if (tx_tokenizer_encode(tok, line + spans[i][0], spans[i][1] - spans[i][0],
                                TX_SIDE_SOURCE, &enc[i], &e) != TX_OK) {
            cli_report("extract", &e);
            rc = 1;
            break;
        }
        n_tok[i] = enc[i].n_ids;
        if (n_tok[i] > MAX_PIECES) { /* keep the end token, as training did */
            enc[i].ids[MAX_PIECES - 1] = enc[i].ids[n_tok[i] - 1];
            n_tok[i] = MAX_PIECES;
        }
        ids[i] = enc[i].ids;
    }
    struct tx_salience_out o;
    if (!rc && tx_salience(s, ids, n_tok, n, &o, &e) != TX_OK) {
        cli_report("extract", &e);
        rc = 1;
    }
    if (!rc) {
        /* the top sentences: highest score first (earlier on ties), then in document order */
        char *pick = calloc((size_t)n, 1);
        int k = top < n ? top : n;
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int i = 0; i < n; i++)
                if (!pick[i] && (best < 0 || o.scores[i] > o.scores[best])) best = i;
            pick[best] = 1;
        }
        printf("{\"sentences\":[");
        for (int i = 0; i < n; i++) {
            if (i) putchar(',');
            put_string(stdout, line + spans[i][0], spans[i][1] - spans[i][0]);
        }
        printf("],\"scores\":");
        int dims[1] = {n};
        cli_put_tensor(stdout, o.scores, dims, 1);
        printf(",\"sentence_attention\":");
        cli_put_tensor(stdout, o.sentence_attention, dims, 1);
        printf(",\"top\":[");
        for (int i = 0, first = 1; i < n; i++)
            if (pick[i]) printf(first ? "%d" : ",%d", i), first = 0;
        printf("],\"summary\":\"");
        for (int i = 0, first = 1; i < n; i++)
            if (pick[i]) {
                if (!first) putchar(' ');
                first = 0;
                for (uint32_t b = spans[i][0]; b < spans[i][1]; b++) {
                    unsigned char c = (unsigned char)line[b];
                    if (c == '"' || c == '\\')
                        printf("\\%c", c);
                    else if (c < 0x20)
                        printf("\\u%04x", c);
                    else
                        putchar(c);
                }
            }
        printf("\"}\n");
        free(pick);
    }
    for (int i = 0; i < n_enc; i++)
        tx_encoding_free(&enc[i]);
    return rc;
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
    struct tx_encoding *enc = calloc(MAX_SENTENCES, sizeof *enc);
    const int32_t **ids = calloc(MAX_SENTENCES, sizeof *ids);
    int *n_tok = calloc(MAX_SENTENCES, sizeof *n_tok);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    if (!spans || !enc || !ids || !n_tok) goto done;
    if (cli_load_engine("extract", model_dir, 1, &m, &s)) goto done;
    if (cli_load_tokenizer("extract", model_dir, &tok)) goto done;
    rc = 0;
    while (!rc && (len = getline(&line, &cap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        rc = run_doc(s, tok, line, (size_t)len, tabs, top, spans, enc, ids, n_tok);
    }
done:
    free(line);
    free(spans);
    free(enc);
    free(ids);
    free(n_tok);
    tx_tokenizer_free(tok);
    tx_session_free(s);
    tx_model_free(m);
    return rc;
}
