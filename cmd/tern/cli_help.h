/* Usage texts of `tern` and its subcommands (every option is listed). */
#ifndef TERN_CMD_CLI_HELP_H
#define TERN_CMD_CLI_HELP_H

#include <stdio.h>

void cli_help_main(FILE *out);
void cli_help_pub(FILE *out);
void cli_help_sub(FILE *out);
void cli_help_rr(FILE *out);
void cli_help_passwd(FILE *out);

#endif
