/* Prometheus metrics of the broker, rendered on request from the counters $SYS also reads:
 * connections, sessions, messages and bytes by direction, publishes dropped, retained messages,
 * subscriptions, per-worker and per-listener counters, and the process's CPU time and resident
 * memory. It keeps no state between scrapes; rates are Prometheus's business. */
#include "broker_metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "broker.h"
#include "clock.h"
#include "config.h"
#include "metrics_buf.h"
#include "retain.h"
#include "worker.h"

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

struct family {
    const char *name;
    enum metrics_type type;
    const char *help;
    size_t off; /* offsetof(struct broker_stats, field) */
};

/* Broker-wide counters and gauges kept in struct broker_stats. */
static const struct family stats_families[] = {
    {"tern_connections", METRICS_GAUGE, "MQTT clients connected now.",
     offsetof(struct broker_stats, clients_connected)},
    {"tern_connections_maximum", METRICS_GAUGE, "Most MQTT clients connected at once.",
     offsetof(struct broker_stats, clients_maximum)},
    {"tern_connections_refused_total", METRICS_COUNTER,
     "Connections refused at accept (max_connections).",
     offsetof(struct broker_stats, connections_refused)},
    {"tern_publish_received_total", METRICS_COUNTER, "PUBLISH packets received from clients.",
     offsetof(struct broker_stats, publish_received)},
    {"tern_publish_dropped_total", METRICS_COUNTER,
     "Messages dropped instead of delivered (queue full, too large, expired).",
     offsetof(struct broker_stats, publish_dropped)},
    {"tern_subscriptions", METRICS_GAUGE, "Subscriptions held by all sessions.",
     offsetof(struct broker_stats, subscriptions)},
};

/* Per-worker counters of struct worker_stats, also summed into a broker-wide family. */
static const struct family worker_families[] = {
    {"messages_received_total", METRICS_COUNTER, "MQTT packets received",
     offsetof(struct worker_stats, msgs_received)},
    {"messages_sent_total", METRICS_COUNTER, "PUBLISH packets sent to clients",
     offsetof(struct worker_stats, msgs_sent)},
    {"received_bytes_total", METRICS_COUNTER, "Bytes received from MQTT clients",
     offsetof(struct worker_stats, bytes_received)},
    {"sent_bytes_total", METRICS_COUNTER, "Bytes sent to MQTT clients",
     offsetof(struct worker_stats, bytes_sent)},
};

static uint64_t stat_at(const void *base, size_t off)
{
    return atomic_load_explicit((_Atomic uint64_t *)((char *)base + off), memory_order_relaxed);
}

static void gauge(struct metrics_buf *m, const char *name, const char *help, double v)
{
    metrics_buf_family(m, name, METRICS_GAUGE, help);
    metrics_buf_double(m, name, NULL, 0, v);
}

static void render_workers(struct broker *b, struct metrics_buf *m)
{
    for (size_t k = 0; k < sizeof worker_families / sizeof worker_families[0]; k++) {
        const struct family *f = &worker_families[k];
        char name[96], help[128];
        uint64_t total = 0;
        for (unsigned i = 0; i < b->n_workers; i++)
            total += stat_at(&b->workers[i]->stats, f->off);
        snprintf(name, sizeof name, "tern_%s", f->name);
        snprintf(help, sizeof help, "%s.", f->help);
        metrics_buf_family(m, name, f->type, help);
        metrics_buf_u64(m, name, NULL, 0, total);
        snprintf(name, sizeof name, "tern_worker_%s", f->name);
        snprintf(help, sizeof help, "%s, by worker thread.", f->help);
        metrics_buf_family(m, name, f->type, help);
        for (unsigned i = 0; i < b->n_workers; i++) {
            char idx[16];
            snprintf(idx, sizeof idx, "%u", i);
            struct metrics_label l = {"worker", idx};
            metrics_buf_u64(m, name, &l, 1, stat_at(&b->workers[i]->stats, f->off));
        }
    }
}

static void render_listeners(struct broker *b, struct metrics_buf *m)
{
    const char *name = "tern_listener_connections";
    metrics_buf_family(m, name, METRICS_GAUGE,
                       "Connections open on a listener (HTTP ones included on websockets).");
    for (size_t i = 0; i < b->n_listeners; i++) {
        const struct listener_rt *lr = &b->listeners[i];
        char idx[24], port[16];
        snprintf(idx, sizeof idx, "%zu", i);
        snprintf(port, sizeof port, "%u", lr->port);
        struct metrics_label l[3] = {
            {"listener", idx},
            {"protocol", lr->conf->protocol == LISTENER_WEBSOCKETS ? "websockets" : "mqtt"},
            {"port", lr->conf->unix_path ? "unix" : port},
        };
        metrics_buf_u64(m, name, l, 3, (uint64_t)LOAD(lr->connections));
    }
}

/* Resident set size from /proc/self/statm (pages), or -1 when unavailable. */
static double resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    unsigned long long size = 0, rss = 0;
    int n = fscanf(f, "%llu %llu", &size, &rss);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (double)rss * (double)page : -1;
}

static void render_process(struct broker *b, struct metrics_buf *m)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                     ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
        metrics_buf_family(m, "process_cpu_seconds_total", METRICS_COUNTER,
                           "User and system CPU time spent in seconds.");
        metrics_buf_double(m, "process_cpu_seconds_total", NULL, 0, cpu);
    }
    double rss = resident_bytes();
    if (rss >= 0)
        gauge(m, "process_resident_memory_bytes", "Resident memory size in bytes.", rss);
    gauge(m, "process_start_time_seconds", "Start time of the process since the epoch in seconds.",
          (double)b->start_wall_s);
    gauge(m, "tern_uptime_seconds", "Seconds since the broker started.",
          (double)(clock_mono_ms() - b->start_mono_ms) / 1000.0);
}

int broker_metrics_render(struct broker *b, struct metrics_buf *m)
{
    for (size_t k = 0; k < sizeof stats_families / sizeof stats_families[0]; k++) {
        const struct family *f = &stats_families[k];
        metrics_buf_family(m, f->name, f->type, f->help);
        metrics_buf_u64(m, f->name, NULL, 0, stat_at(&b->stats, f->off));
    }
    gauge(m, "tern_sessions", "Sessions known, online or not.", (double)registry_count(b));
    gauge(m, "tern_retained_messages", "Retained messages stored.",
          (double)retain_count(b->retain));
    gauge(m, "tern_retained_bytes", "Memory cost of the retained messages in bytes.",
          (double)retain_bytes(b->retain));
    gauge(m, "tern_workers", "Worker threads (one event loop each).", (double)b->n_workers);
    render_workers(b, m);
    render_listeners(b, m);
    render_process(b, m);
    return m->err;
}
