/* Options of `tern bench`: the scenario, the broker address, the load shape and the output
 * format, parsed from argv into a plain struct. Parsing only: no I/O but the usage text, no
 * allocation (strings point into argv). */
#ifndef TERN_BENCH_BENCH_OPTS_H
#define TERN_BENCH_BENCH_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bench_kind {
    BENCH_FANOUT,   /* P publishers -> 1 topic -> S subscribers */
    BENCH_FANIN,    /* P publishers -> 1 subscriber */
    BENCH_PAIRS,    /* N publisher/subscriber pairs, one topic each */
    BENCH_SHARED,   /* P publishers -> one $share group of S subscribers */
    BENCH_IDLE,     /* K idle connections: connect rate, broker RSS per connection */
    BENCH_SUBSCALE, /* K subscriptions, publishes to random ones */
    BENCH_RETAINED, /* K retained topics, then one wildcard subscribe */
    BENCH_LATENCY,  /* N pairs at a fixed open-loop rate */
    BENCH_KIND_COUNT,
};

struct bench_opts {
    enum bench_kind kind;
    const char *host;          /* broker IPv4 address, default 127.0.0.1 */
    uint16_t port;             /* default 1883 */
    uint8_t version;           /* 4 (3.1.1) or 5 */
    uint8_t qos;               /* 0, 1 or 2 */
    uint32_t pubs;             /* publishers (pairs: number of pairs) */
    uint32_t subs;             /* subscribers */
    uint32_t count;            /* idle: connections; subscale: subscriptions; retained: topics */
    uint32_t payload;          /* payload bytes, >= BENCH_STAMP_LEN */
    uint32_t window;           /* closed loop: messages in flight per publisher */
    double rate;               /* open loop: total msg/s over all publishers; 0 = closed loop */
    double duration_s;         /* measured time */
    double warmup_s;           /* time before measuring */
    uint32_t source_addrs;     /* bind clients over 127.0.0.1..N; 0 = auto */
    uint32_t connect_parallel; /* connects in flight at once */
    int broker_pid;            /* 0 = unknown */
    bool json;
    bool persistent; /* clean session off / session expiry, for persistent-session runs */
    bool help;
};

/* Scenario name ("fanout", ...) or NULL for an out-of-range kind. */
const char *bench_opts_kind_name(enum bench_kind kind);
/* Parses argv[1..argc): the scenario name first, then options. Fills scenario defaults for
 * anything not given. Returns 0, or TERN_EINVAL with a one-line message in err[0..errlen).
 * "-h"/"--help" sets o->help and returns 0. */
int bench_opts_parse(struct bench_opts *o, int argc, char **argv, char *err, size_t errlen);
/* Prints the usage text to f (a FILE *, untyped to keep stdio out of this header). */
void bench_opts_usage(void *f);

#endif
