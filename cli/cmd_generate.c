/* cmd_generate.c — attnserve-cli generate (not implemented yet). */
#include <stdio.h>

#include "cli.h"

int cli_generate(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "attnserve-cli %s: not implemented yet\n", argv[0]);
    return 1;
}
