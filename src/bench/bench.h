/* `tern bench`: the MQTT load generator's command-line entry point. It parses the options,
 * runs one scenario against a broker and prints the result. It does not start brokers: the
 * suite script bench/run does that. */
#ifndef TERN_BENCH_BENCH_H
#define TERN_BENCH_BENCH_H

/* Runs `tern bench SCENARIO [options]`; argv[0] is the command name ("bench" or the program).
 * Prints the table (or JSON with --json) on stdout and errors on stderr. Returns the process
 * exit status: 0 on success, 1 when the run failed, 2 on a usage error. Not thread-safe: it
 * raises RLIMIT_NOFILE and ignores SIGPIPE for the whole process. */
int bench_main(int argc, char **argv);

#endif
