/* cmd_forward.c — attnserve-cli forward (not implemented yet). */
#include <stdio.h>

#include "cli.h"

int cli_forward(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "attnserve-cli %s: not implemented yet\n", argv[0]);
    return 1;
}
