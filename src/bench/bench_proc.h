/* Reads a local process's CPU time (/proc/PID/stat utime + stime) and resident set size
 * (/proc/PID/status VmRSS), to charge the broker's cost per message and per connection.
 * Linux only; nothing is cached. */
#ifndef TERN_BENCH_BENCH_PROC_H
#define TERN_BENCH_BENCH_PROC_H

#include <stdint.h>

#include "err.h"

struct bench_proc_sample {
    double cpu_s;     /* user + system seconds since the process started */
    uint64_t rss_kib; /* VmRSS */
};

/* Samples pid. 0, or TERN_ENOTFOUND when the files cannot be read or parsed. */
TERN_MUST_CHECK int bench_proc_sample(int pid, struct bench_proc_sample *out);
/* Parses the text of a /proc/PID/stat file: the utime + stime fields in clock ticks.
 * 0 or TERN_EPROTO. Exposed for the unit tests. */
TERN_MUST_CHECK int bench_proc_parse_stat(const char *text, uint64_t *ticks);
/* Parses the text of a /proc/PID/status file for VmRSS in KiB. 0 or TERN_EPROTO. */
TERN_MUST_CHECK int bench_proc_parse_status(const char *text, uint64_t *rss_kib);

#endif
