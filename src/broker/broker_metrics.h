/* The broker's Prometheus metrics: reads the broker's and the workers' counters, the registry,
 * the retained store, the durable store's commit times and the process's CPU time, memory and
 * descriptors, and writes them in the text exposition format. It also runs each worker's
 * event-loop lag probe. It serves nothing itself (http_api.c routes /metrics here). */
#ifndef TERN_BROKER_BROKER_METRICS_H
#define TERN_BROKER_BROKER_METRICS_H

#include <stdint.h>

#include "err.h"
#include "worker.h"

struct broker;
struct metrics_buf;

/* The workers' counters summed (struct worker_stats). */
struct broker_totals {
    uint64_t packets_received; /* MQTT packets of any type */
    uint64_t publish_sent;     /* PUBLISH packets sent, every QoS */
    uint64_t bytes_received, bytes_sent;
    uint64_t publish_received; /* PUBLISH packets received, every QoS */
    uint64_t dropped;          /* every reason */
    uint64_t received_qos[3], sent_qos[3];
    uint64_t received_bytes_qos[3], sent_bytes_qos[3]; /* whole PUBLISH packets */
    uint64_t dropped_by[DROP_REASONS];
    uint64_t queued, inflight; /* messages in every session's queue / in-flight window */
};

/* Sums the workers' counters into *t. Any thread; relaxed loads, no locks. */
void broker_metrics_totals(const struct broker *b, struct broker_totals *t);

/* The label value of a drop reason ("queue_full", ...), as in docs/http.md. */
const char *broker_metrics_drop_name(enum drop_reason r);

/* Appends every metric family of b to m (counters named tern_*_total, gauges with units in
 * their names, histograms in seconds, process_* as Prometheus' client libraries name them).
 * Callable from any worker thread: it reads atomics and takes the registry, retained-store and
 * store-stats locks briefly. Returns 0, or m->err (TERN_ENOMEM). */
TERN_MUST_CHECK int broker_metrics_render(struct broker *b, struct metrics_buf *m);

/* On w's thread, before its loop runs: starts w's event-loop lag probe, a timer every second
 * that records how late it fired in w->stats (tern_worker_loop_lag_seconds). The timer re-arms
 * itself until the loop is freed. */
void broker_metrics_worker_start(struct worker *w);

#endif
