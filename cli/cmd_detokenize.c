/* cmd_detokenize.c — attnserve-cli detokenize: lines of token ids on stdin -> decoded text per
 * line, as transformers' decode(ids, skip_special_tokens=True). */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "tx.h"

static void usage(FILE *f)
{
    fprintf(
        f, "usage: attnserve-cli detokenize --model DIR [--keep-special] [--json]\n"
           "\n"
           "Reads one list of token ids per line on stdin — comma- or space-separated\n"
           "(\"5, 17, 1\" or \"5 17 1\"), a JSON array ([5, 17, 1]) or a JSON object with \"ids\"\n"
           "(what `attnserve-cli tokenize` prints) — and prints the decoded text, one line each.\n"
           "\n"
           "  --model DIR     a model or tokenizer folder\n"
           "  --keep-special  keep special tokens (decode(..., skip_special_tokens=False))\n"
           "  --json          print each text as a JSON string (texts may contain newlines)\n");
}

/* A JSON array of ids, or an object with "ids" (what tokenize prints). Returns 0, or -1 with
 * msg filled. */
static int parse_ids_json(const char *text, size_t len, int32_t **ids, int *n, char *msg,
                          size_t msg_size)
{
    json_error_t je;
    json_t *v = json_loadb(text, len, 0, &je);
    if (!v) {
        snprintf(msg, msg_size, "invalid JSON at column %d: %s", je.column, je.text);
        return -1;
    }
    json_t *arr = json_is_object(v) ? json_object_get(v, "ids") : v;
    if (!json_is_array(arr)) {
        snprintf(msg, msg_size, "expected a JSON array of ids or an object with \"ids\"");
        json_decref(v);
        return -1;
    }
    size_t m = json_array_size(arr);
    *ids = malloc(sizeof **ids * (m ? m : 1));
    if (!*ids) {
        json_decref(v);
        snprintf(msg, msg_size, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < m; k++) {
        json_t *e = json_array_get(arr, k);
        if (!json_is_integer(e) || json_integer_value(e) < INT32_MIN ||
            json_integer_value(e) > INT32_MAX) {
            snprintf(msg, msg_size, "ids[%zu] is not an integer", k);
            free(*ids);
            *ids = NULL;
            json_decref(v);
            return -1;
        }
        (*ids)[k] = (int32_t)json_integer_value(e);
    }
    *n = (int)m;
    json_decref(v);
    return 0;
}

/* One id of a plain list: the decimal integer line[start, start + tl). */
static int parse_one_id(const char *line, size_t start, size_t tl, int32_t *out)
{
    char tokbuf[32];
    if (tl >= sizeof tokbuf) return -1;
    memcpy(tokbuf, line + start, tl);
    tokbuf[tl] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(tokbuf, &end, 10);
    if (*end || errno || v < INT32_MIN || v > INT32_MAX) return -1;
    *out = (int32_t)v;
    return 0;
}

/* Comma- or space-separated ids from line[i, len). Returns 0, or -1 with msg filled. */
static int parse_ids_plain(const char *line, size_t i, size_t len, int32_t **ids, int *n, char *msg,
                           size_t msg_size)
{
    size_t cap = 0;
    int count = 0;
    while (i < len) {
        while (i < len && (isspace((unsigned char)line[i]) || line[i] == ','))
            i++;
        if (i >= len) break;
        size_t start = i;
        while (i < len && !isspace((unsigned char)line[i]) && line[i] != ',')
            i++;
        size_t tl = i - start;
        int32_t v;
        if (parse_one_id(line, start, tl, &v)) {
            snprintf(msg, msg_size, "\"%.*s\" (column %zu) is not an integer id",
                     (int)(tl > 20 ? 20 : tl), line + start, start + 1);
            free(*ids);
            *ids = NULL;
            return -1;
        }
        if ((size_t)count + 1 > cap) {
            cap = cap ? cap * 2 : 64;
            int32_t *p = realloc(*ids, cap * sizeof *p);
            if (!p) {
                free(*ids);
                *ids = NULL;
                snprintf(msg, msg_size, "out of memory");
                return -1;
            }
            *ids = p;
        }
        (*ids)[count++] = v;
    }
    *n = count;
    return 0;
}

/* Parses one input line into *ids (owned); returns 0, or -1 with msg filled. */
static int parse_ids(const char *line, size_t len, int32_t **ids, int *n, char *msg,
                     size_t msg_size)
{
    *ids = NULL;
    *n = 0;
    size_t i = 0;
    while (i < len && isspace((unsigned char)line[i]))
        i++;
    if (i < len && (line[i] == '[' || line[i] == '{'))
        return parse_ids_json(line + i, len - i, ids, n, msg, msg_size);
    return parse_ids_plain(line, i, len, ids, n, msg, msg_size);
}

int cli_detokenize(int argc, char **argv)
{
    const char *model = NULL;
    int keep_special = 0, as_json = 0;
    const struct cli_flag flags[] = {{"--keep-special", &keep_special}, {"--json", &as_json}};
    int rc = cli_parse_model_flags(argc, argv, flags, 2, &model, usage);
    if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
    tx_tokenizer *tok;
    if (cli_load_tokenizer(argv[0], model, &tok)) return CLI_EXIT_FAILED;
    struct tx_error err = {0};
    int status = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long line_no = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        line_no++;
        int32_t *ids;
        int n_ids;
        char msg[TX_ERROR_MESSAGE_SIZE];
        char *text = NULL;
        if (parse_ids(line, (size_t)n, &ids, &n_ids, msg, sizeof msg) == 0) {
            if (tx_tokenizer_decode(tok, ids, n_ids, !keep_special, &text, &err) != TX_OK)
                snprintf(msg, sizeof msg, "%s", err.message);
            free(ids);
        }
        if (!text) {
            fprintf(stderr, "attnserve-cli detokenize: line %ld: %s\n", line_no, msg);
            status = 1;
            putchar('\n'); /* keep output lines aligned with input lines */
            continue;
        }
        if (as_json) {
            json_t *s = json_string(text);
            char *d = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
            puts(d ? d : "null");
            free(d);
            json_decref(s);
        } else {
            puts(text);
        }
        free(text);
    }
    free(line);
    tx_tokenizer_free(tok);
    if (fflush(stdout) != 0) return 1;
    return status;
}
