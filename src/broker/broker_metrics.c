/* Prometheus metrics of the broker, rendered on request from the counters $SYS also reads:
 * connections, sessions, messages by QoS and direction, drops by reason, queued and in-flight
 * messages, bytes, retained messages, subscriptions, per-worker and per-listener counters, store
 * commit times, event-loop lag, and the process's CPU time, memory and descriptors. It keeps no
 * state between scrapes; rates are Prometheus's business. */
#include "broker_metrics.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "broker.h"
#include "clock.h"
#include "config.h"
#include "loop.h"
#include "metrics_buf.h"
#include "retain.h"
#include "store.h"
#include "worker.h"

#define LOAD(x)      atomic_load_explicit(&(x), memory_order_relaxed)
#define LAG_EVERY_MS 1000u

static const char *const drop_names[DROP_REASONS] = {
    [DROP_QUEUE_FULL] = "queue_full",     [DROP_TOO_LARGE] = "too_large",
    [DROP_EXPIRED] = "expired",           [DROP_ACL_DENIED] = "acl_denied",
    [DROP_QOS0_OFFLINE] = "qos0_offline", [DROP_SLOW_CONSUMER] = "slow_consumer",
    [DROP_NO_PACKET_ID] = "no_packet_id", [DROP_SESSION_ENDED] = "session_ended",
    [DROP_BAD_TOPIC] = "bad_topic",       [DROP_SYS_TOPIC] = "sys_topic",
    [DROP_NO_MEMORY] = "out_of_memory",   [DROP_RETAIN_FULL] = "retained_full",
};

/* Upper bounds of the lag histogram's buckets, in seconds. */
static const double lag_bounds_s[WORKER_LAG_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05,  0.1,    0.25,  0.5,  1};

const char *broker_metrics_drop_name(enum drop_reason r)
{
    return (unsigned)r < DROP_REASONS ? drop_names[r] : "unknown";
}

void broker_metrics_totals(const struct broker *b, struct broker_totals *t)
{
    memset(t, 0, sizeof *t);
    for (unsigned i = 0; i < b->n_workers; i++) {
        struct worker_stats *s = &b->workers[i]->stats;
        t->packets_received += LOAD(s->msgs_received);
        t->publish_sent += LOAD(s->msgs_sent);
        t->bytes_received += LOAD(s->bytes_received);
        t->bytes_sent += LOAD(s->bytes_sent);
        for (int q = 0; q < 3; q++) {
            t->received_qos[q] += LOAD(s->publish_received[q]);
            t->sent_qos[q] += LOAD(s->publish_sent[q]);
            t->received_bytes_qos[q] += LOAD(s->publish_received_bytes[q]);
            t->sent_bytes_qos[q] += LOAD(s->publish_sent_bytes[q]);
        }
        for (int r = 0; r < DROP_REASONS; r++)
            t->dropped_by[r] += LOAD(s->dropped[r]);
        t->queued += LOAD(s->queued); /* modulo 2^64: see struct worker_stats */
        t->inflight += LOAD(s->inflight);
    }
    for (int q = 0; q < 3; q++)
        t->publish_received += t->received_qos[q];
    for (int r = 0; r < DROP_REASONS; r++)
        t->dropped += t->dropped_by[r];
}

static void gauge(struct metrics_buf *m, const char *name, const char *help, double v)
{
    metrics_buf_family(m, name, METRICS_GAUGE, help);
    metrics_buf_double(m, name, NULL, 0, v);
}

static void counter(struct metrics_buf *m, const char *name, const char *help, uint64_t v)
{
    metrics_buf_family(m, name, METRICS_COUNTER, help);
    metrics_buf_u64(m, name, NULL, 0, v);
}

static void render_broker(struct broker *b, struct metrics_buf *m)
{
    struct broker_stats *st = &b->stats;
    gauge(m, "tern_connections", "MQTT clients connected now.",
          (double)LOAD(st->clients_connected));
    gauge(m, "tern_connections_maximum", "Most MQTT clients connected at once.",
          (double)LOAD(st->clients_maximum));
    counter(m, "tern_connections_refused_total", "Connections refused at accept (max_connections).",
            LOAD(st->connections_refused));
    gauge(m, "tern_subscriptions", "Subscriptions held by all sessions.",
          (double)LOAD(st->subscriptions));
    gauge(m, "tern_sessions", "Sessions known, online or not.", (double)registry_count(b));
    gauge(m, "tern_retained_messages", "Retained messages stored.",
          (double)retain_count(b->retain));
    gauge(m, "tern_retained_bytes", "Memory cost of the retained messages in bytes.",
          (double)retain_bytes(b->retain));
    gauge(m, "tern_workers", "Worker threads (one event loop each).", (double)b->n_workers);
}

/* One counter family labelled qos="0|1|2". */
static void by_qos(struct metrics_buf *m, const char *name, const char *help, const uint64_t v[3])
{
    static const char *const q[3] = {"0", "1", "2"};
    metrics_buf_family(m, name, METRICS_COUNTER, help);
    for (int i = 0; i < 3; i++) {
        struct metrics_label l = {"qos", q[i]};
        metrics_buf_u64(m, name, &l, 1, v[i]);
    }
}

static void render_totals(struct broker *b, struct metrics_buf *m)
{
    struct broker_totals t;
    broker_metrics_totals(b, &t);
    by_qos(m, "tern_messages_received_total", "PUBLISH packets received from clients, by QoS.",
           t.received_qos);
    by_qos(m, "tern_messages_sent_total", "PUBLISH packets sent to clients, by QoS.", t.sent_qos);
    by_qos(m, "tern_publish_received_bytes_total",
           "Bytes of the PUBLISH packets received from clients (whole packets), by QoS.",
           t.received_bytes_qos);
    by_qos(m, "tern_publish_sent_bytes_total",
           "Bytes of the PUBLISH packets sent to clients (whole packets), by QoS.",
           t.sent_bytes_qos);
    const char *name = "tern_messages_dropped_total";
    metrics_buf_family(m, name, METRICS_COUNTER,
                       "Messages not delivered, by reason (per refused PUBLISH, or per "
                       "subscriber that did not get it).");
    for (int r = 0; r < DROP_REASONS; r++) {
        struct metrics_label l = {"reason", drop_names[r]};
        metrics_buf_u64(m, name, &l, 1, t.dropped_by[r]);
    }
    counter(m, "tern_packets_received_total", "MQTT packets of any type received.",
            t.packets_received);
    counter(m, "tern_received_bytes_total", "Bytes received from MQTT clients.", t.bytes_received);
    counter(m, "tern_sent_bytes_total", "Bytes sent to MQTT clients.", t.bytes_sent);
    /* The per-worker deltas wrap around zero; their sum is the true count. */
    gauge(m, "tern_messages_queued", "QoS 1 and 2 messages waiting in sessions' queues.",
          (double)(int64_t)t.queued);
    gauge(m, "tern_messages_inflight",
          "QoS 1 and 2 messages sent and not yet acknowledged (in-flight windows).",
          (double)(int64_t)t.inflight);
}

/* Per-worker counters of struct worker_stats. */
struct worker_family {
    const char *name, *help;
    size_t off; /* offsetof(struct worker_stats, field) */
};

static const struct worker_family worker_families[] = {
    {"tern_worker_packets_received_total", "MQTT packets received, by worker thread.",
     offsetof(struct worker_stats, msgs_received)},
    {"tern_worker_messages_sent_total", "PUBLISH packets sent, by worker thread.",
     offsetof(struct worker_stats, msgs_sent)},
    {"tern_worker_received_bytes_total", "Bytes received from MQTT clients, by worker thread.",
     offsetof(struct worker_stats, bytes_received)},
    {"tern_worker_sent_bytes_total", "Bytes sent to MQTT clients, by worker thread.",
     offsetof(struct worker_stats, bytes_sent)},
};

static uint64_t stat_at(const struct worker_stats *s, size_t off)
{
    return atomic_load_explicit((_Atomic uint64_t *)((char *)s + off), memory_order_relaxed);
}

static void render_lag(struct broker *b, struct metrics_buf *m)
{
    const char *name = "tern_worker_loop_lag_seconds";
    metrics_buf_family(m, name, METRICS_HISTOGRAM,
                       "How late each worker's 1 s probe timer ran: event-loop lag.");
    for (unsigned i = 0; i < b->n_workers; i++) {
        struct worker_stats *s = &b->workers[i]->stats;
        char idx[16], le[32], full[64];
        snprintf(idx, sizeof idx, "%u", i);
        uint64_t cum = 0;
        snprintf(full, sizeof full, "%s_bucket", name);
        for (int k = 0; k <= WORKER_LAG_BUCKETS; k++) {
            cum += LOAD(s->lag_buckets[k]);
            if (k < WORKER_LAG_BUCKETS)
                snprintf(le, sizeof le, "%g", lag_bounds_s[k]);
            else
                snprintf(le, sizeof le, "+Inf");
            struct metrics_label l[2] = {{"worker", idx}, {"le", le}};
            metrics_buf_u64(m, full, l, 2, cum);
        }
        struct metrics_label l = {"worker", idx};
        snprintf(full, sizeof full, "%s_sum", name);
        metrics_buf_double(m, full, &l, 1, (double)LOAD(s->lag_sum_ns) / 1e9);
        snprintf(full, sizeof full, "%s_count", name);
        metrics_buf_u64(m, full, &l, 1, cum);
    }
}

static void render_workers(struct broker *b, struct metrics_buf *m)
{
    for (size_t k = 0; k < sizeof worker_families / sizeof worker_families[0]; k++) {
        const struct worker_family *f = &worker_families[k];
        metrics_buf_family(m, f->name, METRICS_COUNTER, f->help);
        for (unsigned i = 0; i < b->n_workers; i++) {
            char idx[16];
            snprintf(idx, sizeof idx, "%u", i);
            struct metrics_label l = {"worker", idx};
            metrics_buf_u64(m, f->name, &l, 1, stat_at(&b->workers[i]->stats, f->off));
        }
    }
    render_lag(b, m);
}

/* tern_store_commit_duration_seconds, only when persistence is on. */
static void render_store(struct broker *b, struct metrics_buf *m)
{
    if (!b->store)
        return;
    struct store_stats st;
    store_stats(b->store, &st);
    const char *name = "tern_store_commit_duration_seconds";
    metrics_buf_family(m, name, METRICS_HISTOGRAM,
                       "Time the store thread took per commit (one transaction and fsync).");
    uint64_t cum = 0;
    for (size_t k = 0; k <= STORE_COMMIT_BUCKETS; k++) {
        char le[32];
        cum += st.commit_buckets[k];
        if (k < STORE_COMMIT_BUCKETS)
            snprintf(le, sizeof le, "%g", store_commit_bound_s(k));
        else
            snprintf(le, sizeof le, "+Inf");
        struct metrics_label l = {"le", le};
        metrics_buf_u64(m, "tern_store_commit_duration_seconds_bucket", &l, 1, cum);
    }
    metrics_buf_double(m, "tern_store_commit_duration_seconds_sum", NULL, 0,
                       (double)st.commit_ns / 1e9);
    metrics_buf_u64(m, "tern_store_commit_duration_seconds_count", NULL, 0, cum);
    counter(m, "tern_store_commit_failures_total", "Store commits that failed (retried).",
            st.failed_commits);
    gauge(m, "tern_store_queued_ops", "Store operations waiting for the store thread.",
          (double)st.queued);
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

/* Open descriptors (entries of /proc/self/fd, less the one reading it), or -1. */
static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    double n = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;
}

static void render_process(struct broker *b, struct metrics_buf *m)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                     ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
        metrics_buf_family(m, "process_cpu_seconds_total", METRICS_COUNTER,
                           "Total user and system CPU time spent in seconds.");
        metrics_buf_double(m, "process_cpu_seconds_total", NULL, 0, cpu);
    }
    double rss = resident_bytes(), fds = open_fds();
    if (rss >= 0)
        gauge(m, "process_resident_memory_bytes", "Resident memory size in bytes.", rss);
    if (fds >= 0)
        gauge(m, "process_open_fds", "Number of open file descriptors.", fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        gauge(m, "process_max_fds", "Maximum number of open file descriptors.",
              (double)rl.rlim_cur);
    gauge(m, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          (double)b->start_wall_s);
    gauge(m, "tern_uptime_seconds", "Seconds since the broker started.",
          (double)(clock_mono_ms() - b->start_mono_ms) / 1000.0);
}

int broker_metrics_render(struct broker *b, struct metrics_buf *m)
{
    render_broker(b, m);
    render_totals(b, m);
    render_workers(b, m);
    render_store(b, m);
    render_listeners(b, m);
    render_process(b, m);
    return m->err;
}

static void lag_probe(struct loop *l, void *ctx)
{
    struct worker *w = ctx;
    struct worker_stats *s = &w->stats;
    uint64_t now = clock_mono_ns();
    uint64_t late = now > s->lag_due_ns ? now - s->lag_due_ns : 0;
    int k = 0;
    while (k < WORKER_LAG_BUCKETS && (double)late / 1e9 > lag_bounds_s[k])
        k++;
    worker_stat_add(&s->lag_buckets[k], 1);
    worker_stat_add(&s->lag_sum_ns, late);
    /* The timer is due LAG_EVERY_MS after the loop's cached time, not after now. */
    s->lag_due_ns = (loop_now_ms(l) + LAG_EVERY_MS) * 1000000u;
    loop_timer_add(l, LAG_EVERY_MS, lag_probe, w); /* out of memory: the probe stops */
}

void broker_metrics_worker_start(struct worker *w)
{
    w->stats.lag_due_ns = (loop_now_ms(w->loop) + LAG_EVERY_MS) * 1000000u;
    loop_timer_add(w->loop, LAG_EVERY_MS, lag_probe, w);
}
