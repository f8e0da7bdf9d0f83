/* cmd_tokenize.c — attnserve-cli tokenize: text lines on stdin -> {"ids": [...], "pieces": [...]}
 * per line, ids with the special tokens transformers adds. */
#include <jansson.h>
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
        "usage: attnserve-cli tokenize --model DIR [--target] [--offsets]\n"
        "\n"
        "Reads UTF-8 text on stdin, one text per line (the final \"\\n\" of each line is not part\n"
        "of the text), and prints one JSON object per line:\n"
        "  {\"ids\": [...], \"pieces\": [...]}        (\"offsets\": [[start, end], ...] with "
        "--offsets)\n"
        "ids are what transformers' tokenizer(text).input_ids gives (special tokens included);\n"
        "pieces are the vocabulary strings of those ids. A line that cannot be tokenized prints\n"
        "{\"error\": \"...\"} (and the exit status is 1).\n"
        "\n"
        "  --model DIR  a model or tokenizer folder (tokenizer files are enough)\n"
        "  --target     encode with a Marian model's target-side vocabulary (text_target=...)\n"
        "  --offsets    add the byte span of the input line each id came from\n");
}

int cli_tokenize(int argc, char **argv)
{
    const char *model = NULL;
    int target = 0, offsets = 0;
    const struct cli_flag flags[] = {{"--target", &target}, {"--offsets", &offsets}};
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
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n') len--;
        struct tx_encoding enc;
        json_t *obj = NULL;
        if (tx_tokenizer_encode(tok, line, len, target ? TX_SIDE_TARGET : TX_SIDE_SOURCE, &enc,
                                &err) != TX_OK) {
            char msg[TX_ERROR_MESSAGE_SIZE + 32];
            snprintf(msg, sizeof msg, "line %ld: %s", line_no, err.message);
            fprintf(stderr, "attnserve-cli tokenize: %s\n", msg);
            obj = json_pack("{s:s}", "error", msg);
            status = 1;
        } else {
            json_t *ids = json_array(), *pieces = json_array(),
                   *offs = offsets ? json_array() : NULL;
            for (int i = 0; i < enc.n_ids; i++) {
                const char *p = tx_tokenizer_id_to_piece(tok, enc.ids[i]);
                json_array_append_new(ids, json_integer(enc.ids[i]));
                json_array_append_new(pieces, p ? json_string(p) : json_null());
                if (offs)
                    json_array_append_new(offs, json_pack("[i,i]", (int)enc.offsets[2 * i],
                                                          (int)enc.offsets[2 * i + 1]));
            }
            obj = json_pack("{s:o,s:o}", "ids", ids, "pieces", pieces);
            if (offs) json_object_set_new(obj, "offsets", offs);
            tx_encoding_free(&enc);
        }
        char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        if (!s) {
            fprintf(stderr, "attnserve-cli tokenize: line %ld: cannot format the result\n",
                    line_no);
            status = 1;
        } else {
            puts(s);
            free(s);
        }
        json_decref(obj);
    }
    free(line);
    tx_tokenizer_free(tok);
    if (fflush(stdout) != 0) return 1;
    return status;
}
