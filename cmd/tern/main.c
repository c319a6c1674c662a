/* `tern`: the Tern command line client. Dispatches to the pub, sub, rr and passwd
 * subcommands (cli_*.c) and to bench (src/bench); it holds no logic of its own. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli_help.h"
#include "cli_tools.h"

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        cli_help_main(stdout);
        return argc < 2 ? 1 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tern version %s\n", TERN_VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"pub", cli_pub_main},
                {"sub", cli_sub_main},
                {"rr", cli_rr_main},
                {"passwd", cli_passwd_main},
                {"bench", bench_main}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "Error: Unknown command '%s'.\n\nUse 'tern --help' to see usage.\n", argv[1]);
    return 1;
}
