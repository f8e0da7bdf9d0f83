/* main.c — attnserve-cli entry point: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"forward", cli_forward, "teacher-forced pass: logits and attentions as JSON"},
    {"generate", cli_generate, "generate token ids (greedy, beam, sampling) as JSON"},
    {"tokenize", cli_tokenize, "text lines on stdin -> {\"ids\", \"pieces\"} per line"},
    {"detokenize", cli_detokenize, "id lists on stdin -> text per line"},
    {"translate", cli_translate, "translate text (stdin lines or argument)"},
    {"summarize", cli_summarize, "summarize text (stdin lines or argument)"},
    {"detect", cli_detect, "the language of each stdin line (among --langs)"},
    {"extract", cli_extract, "a document's sentences scored by a han model, best ones (JSON)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: attnserve-cli <command> [options]   (attnserve-cli <command> --help)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "attnserve-cli: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
