/* cmd_detokenize.c — attnserve-cli detokenize (not implemented yet). */
#include <stdio.h>

#include "cli.h"

int cli_detokenize(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "attnserve-cli %s: not implemented yet\n", argv[0]);
    return 1;
}
