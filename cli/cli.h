/* cli.h — the subcommands of attnserve-cli; each lives in its own cmd_<name>.c. */
#ifndef ATTNSERVE_CLI_H
#define ATTNSERVE_CLI_H

/* Each returns the process exit status: 0 success, 1 runtime error, 2 usage error.
 * argv[0] is the subcommand name. */
int cli_forward(int argc, char **argv);
int cli_generate(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_detokenize(int argc, char **argv);
int cli_translate(int argc, char **argv);
int cli_summarize(int argc, char **argv);
int cli_detect(int argc, char **argv);
int cli_extract(int argc, char **argv);

#endif
