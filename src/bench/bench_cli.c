/* `tern bench` entry point (see bench.h): options, process limits, one scenario run, output.
 * The scenario logic is in bench_scenario.c; this file only glues and reports. */
#include "bench.h"

#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include "bench_opts.h"
#include "bench_report.h"
#include "bench_scenario.h"

/* Thousands of sockets: take the whole hard limit of open files. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int bench_main(int argc, char **argv)
{
    struct bench_opts o;
    struct bench_result r;
    char err[200];
    if (bench_opts_parse(&o, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "tern bench: %s\n", err);
        bench_opts_usage(stderr);
        return 2;
    }
    if (o.help) {
        bench_opts_usage(stdout);
        return 0;
    }
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    int rc = bench_scenario_run(&o, &r);
    if (o.json)
        bench_report_json(stdout, &r);
    else
        bench_report_table(stdout, &r);
    fflush(stdout);
    if (rc != 0)
        fprintf(stderr, "tern bench: %s\n", r.error);
    return rc == 0 ? 0 : 1;
}
