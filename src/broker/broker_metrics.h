/* The broker's Prometheus metrics: reads the broker's and the workers' counters, the registry,
 * the retained store and the process's CPU time and memory, and writes them in the text
 * exposition format. It serves nothing itself (http_api.c routes /metrics here). */
#ifndef TERN_BROKER_BROKER_METRICS_H
#define TERN_BROKER_BROKER_METRICS_H

#include "err.h"

struct broker;
struct metrics_buf;

/* Appends every metric family of b to m (counters named tern_*_total, gauges with units in
 * their names, process_* as Prometheus' client libraries name them). Callable from any worker
 * thread: it reads atomics and takes the registry and retained-store locks briefly. Returns 0,
 * or m->err (TERN_ENOMEM). */
TERN_MUST_CHECK int broker_metrics_render(struct broker *b, struct metrics_buf *m);

#endif
