/* The benchmark scenarios: who connects, who subscribes to what, who publishes where, and the
 * phases (connect, subscribe, warm-up, measure, drain) timed on CLOCK_MONOTONIC. The sockets
 * and flows are the engine's (bench_engine.h). */
#ifndef TERN_BENCH_BENCH_SCENARIO_H
#define TERN_BENCH_BENCH_SCENARIO_H

#include "bench_opts.h"
#include "bench_report.h"

/* Runs the scenario o->kind against the broker at o->host:o->port and fills r (initialised
 * here). Returns 0 when the run completed (r->ok), or a negative TERN_E* with r->error set. */
int bench_scenario_run(const struct bench_opts *o, struct bench_result *r);

#endif
