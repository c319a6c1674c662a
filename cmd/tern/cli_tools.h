/* Entry points of the `tern` subcommands; each returns the process exit status. */
#ifndef TERN_CMD_CLI_TOOLS_H
#define TERN_CMD_CLI_TOOLS_H

int cli_pub_main(int argc, char **argv);
int cli_sub_main(int argc, char **argv);
int cli_rr_main(int argc, char **argv);
int cli_passwd_main(int argc, char **argv);

#endif
