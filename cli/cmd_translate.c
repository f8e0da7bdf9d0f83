/* cmd_translate.c — attnserve-cli translate (not implemented yet). */
#include <stdio.h>

#include "cli.h"

int cli_translate(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "attnserve-cli %s: not implemented yet\n", argv[0]);
    return 1;
}
