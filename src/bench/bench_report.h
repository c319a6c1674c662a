/* The result of one benchmark run and its two renderings: an aligned human table (default) and
 * one JSON object per run (--json) for scripts such as bench/run. Only the fields a scenario
 * measured are printed. No allocation. */
#ifndef TERN_BENCH_BENCH_REPORT_H
#define TERN_BENCH_BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_opts.h"

#define BENCH_UNSET (-1.0)

struct bench_result {
    const struct bench_opts *o;
    bool ok;
    char error[200];
    uint32_t conns;
    double elapsed_s;  /* measured window */
    uint64_t sent;     /* messages published in the window */
    uint64_t received; /* deliveries in the window */
    uint64_t sent_total;
    uint64_t received_total;
    uint64_t lost; /* deliveries still missing after the drain */
    uint64_t dups;
    uint64_t stalls;
    uint64_t closed;
    uint64_t suback_failures;
    double p50_us, p99_us, p999_us, max_us, mean_us; /* BENCH_UNSET when not measured */
    double connect_s;   /* time to connect every client (CONNACK received) */
    double subscribe_s; /* subscale: time until every SUBACK */
    double store_s;     /* retained: time to publish and have every retained message handled */
    double deliver_s;   /* retained: time from SUBSCRIBE to the last retained message */
    /* Broker figures from /proc (when --broker-pid was given). */
    bool have_broker;
    double broker_cpu_s;      /* during the window (or the whole run for idle/retained) */
    uint64_t broker_rss_kib;  /* at the end */
    uint64_t broker_rss0_kib; /* before connecting */
};

/* Resets r for opts (every optional figure BENCH_UNSET / zero). */
void bench_report_init(struct bench_result *r, const struct bench_opts *o);

struct bench_field {
    const char *key;
    char value[208];
    bool is_text;
};
/* Fills out[0..cap) with r's printable fields in display order; returns how many. */
size_t bench_report_fields(const struct bench_result *r, struct bench_field *out, size_t cap);
/* Writes the human table. */
void bench_report_table(FILE *f, const struct bench_result *r);
/* Writes one JSON object on one line. */
void bench_report_json(FILE *f, const struct bench_result *r);

#endif
