/* Scenario wiring and phases for `tern bench` (see bench_scenario.h). Layout of connections:
 * subscribers first, then publishers. fanout/fanin/shared: P publishers -> one topic -> S
 * subscribers (shared through "$share/tb/..."); pairs/latency: publisher i -> "tb/pair/i" ->
 * subscriber i; subscale: K filters "tb/s/NNNNNNN" dealt round-robin over S subscribers,
 * publishers pick random topics; retained: K retained topics, then one "tb/r/#" subscriber. */
#include "bench_scenario.h"

#include <stdio.h>
#include <string.h>

#include "bench_engine.h"
#include "bench_proc.h"
#include "clock.h"
#include "mem.h"

#define SEC             1000000000ull
#define SUBSCALE_DIGITS 7
#define RETAINED_DIGITS 7

static double since_s(uint64_t t0)
{
    return (double)(clock_mono_ns() - t0) / 1e9;
}

static int wire_pubsub(struct bench_engine *e, const struct bench_opts *o)
{
    const char *topic = o->kind == BENCH_SHARED ? "tb/shared" : "tb/fanout";
    const char *filter = o->kind == BENCH_SHARED ? "$share/tb/tb/shared" : topic;
    uint32_t fanout = o->kind == BENCH_SHARED ? 1 : o->subs;
    struct tern_bytes f = bytes_str(filter);
    for (uint32_t i = 0; i < o->subs; i++) {
        bench_engine_add_sub(e, i);
        if (bench_engine_subscribe(e, i, &f, 1) != 0)
            return TERN_ENOMEM;
    }
    for (uint32_t i = 0; i < o->pubs; i++) {
        int rc = bench_engine_add_pub(e, o->subs + i, bytes_str(topic), 0, fanout, false);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int wire_pairs(struct bench_engine *e, const struct bench_opts *o)
{
    char topic[32];
    for (uint32_t i = 0; i < o->pubs; i++) {
        snprintf(topic, sizeof topic, "tb/pair/%u", i);
        struct tern_bytes t = bytes_str(topic);
        bench_engine_add_sub(e, i);
        if (bench_engine_subscribe(e, i, &t, 1) != 0)
            return TERN_ENOMEM;
        int rc = bench_engine_add_pub(e, o->pubs + i, t, 0, 1, false);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int wire_subscale(struct bench_engine *e, const struct bench_opts *o)
{
    /* Filters are queued in chunks: the engine batches 64 per SUBSCRIBE packet. */
    enum { CHUNK = 64 };
    char names[CHUNK][16];
    struct tern_bytes f[CHUNK];
    for (uint32_t s = 0; s < o->subs; s++)
        bench_engine_add_sub(e, s);
    for (uint32_t s = 0; s < o->subs; s++) {
        size_t k = 0;
        for (uint32_t i = s; i < o->count; i += o->subs) {
            snprintf(names[k], sizeof names[k], "tb/s/%0*u", SUBSCALE_DIGITS, i);
            f[k] = bytes_str(names[k]);
            if (++k == CHUNK || i + o->subs >= o->count) {
                if (bench_engine_subscribe(e, s, f, k) != 0)
                    return TERN_ENOMEM;
                k = 0;
            }
        }
    }
    for (uint32_t i = 0; i < o->pubs; i++) {
        int rc = bench_engine_add_pub(e, o->subs + i, bytes_str("tb/s/0000000"), SUBSCALE_DIGITS, 1,
                                      false);
        if (rc < 0)
            return rc;
        e->pubs[rc].topic_range = o->count;
    }
    return 0;
}

static void sample(const struct bench_opts *o, struct bench_proc_sample *s, bool *ok)
{
    if (o->broker_pid > 0 && bench_proc_sample(o->broker_pid, s) == 0)
        return;
    *ok = false;
}

static void fill_latency(struct bench_result *r, const struct bench_hist *h)
{
    if (h->count == 0)
        return;
    r->p50_us = (double)bench_hist_quantile(h, 0.50) / 1e3;
    r->p99_us = (double)bench_hist_quantile(h, 0.99) / 1e3;
    r->p999_us = (double)bench_hist_quantile(h, 0.999) / 1e3;
    r->max_us = (double)h->max / 1e3;
    r->mean_us = bench_hist_mean(h) / 1e3;
}

/* Warm-up, measured window, then drain; fills the load figures of r. */
static int measure(struct bench_engine *e, const struct bench_opts *o, struct bench_result *r)
{
    struct bench_proc_sample b0 = {0}, b1 = {0};
    bool have = true;
    uint64_t now = clock_mono_ns();
    bench_engine_publish(e, true, now);
    int rc = bench_engine_run(e, now + (uint64_t)(o->warmup_s * 1e9), NULL, NULL);
    if (rc != 0)
        return rc;
    sample(o, &b0, &have);
    e->measuring = true;
    uint64_t t0 = clock_mono_ns();
    rc = bench_engine_run(e, t0 + (uint64_t)(o->duration_s * 1e9), NULL, NULL);
    e->measuring = false;
    r->elapsed_s = since_s(t0);
    sample(o, &b1, &have);
    bench_engine_publish(e, false, clock_mono_ns());
    if (rc != 0)
        return rc;
    r->sent = e->st.win_sent;
    r->received = e->st.win_received;
    if (have) {
        r->have_broker = true;
        r->broker_cpu_s = b1.cpu_s - b0.cpu_s;
        r->broker_rss_kib = b1.rss_kib;
    }
    /* Drain: give in-flight messages time to arrive before counting losses. */
    uint64_t drain = (o->qos ? 5 : 2) * SEC;
    rc = bench_engine_run(e, clock_mono_ns() + drain, bench_engine_drained, NULL);
    if (rc != 0 && rc != TERN_ETIMEDOUT)
        return rc;
    fill_latency(r, &e->st.hist);
    return 0;
}

static int setup(struct bench_engine *e, const struct bench_opts *o, struct bench_result *r)
{
    uint64_t t0 = clock_mono_ns();
    uint64_t deadline = t0 + (60 + r->conns / 500) * SEC;
    int rc = bench_engine_connect(e, r->conns, deadline);
    if (rc != 0)
        return rc;
    r->connect_s = since_s(t0);
    uint64_t s0 = clock_mono_ns();
    if (o->kind == BENCH_SUBSCALE)
        rc = wire_subscale(e, o);
    else if (o->kind == BENCH_PAIRS || o->kind == BENCH_LATENCY)
        rc = wire_pairs(e, o);
    else
        rc = wire_pubsub(e, o);
    if (rc != 0)
        return rc;
    rc = bench_engine_run(e, clock_mono_ns() + (60 + o->count / 5000) * SEC, bench_engine_idle_done,
                          NULL);
    if (rc != 0)
        return rc;
    if (o->kind == BENCH_SUBSCALE)
        r->subscribe_s = since_s(s0);
    return 0;
}

static int run_load(struct bench_engine *e, const struct bench_opts *o, struct bench_result *r)
{
    r->conns = o->subs + o->pubs;
    int rc = bench_engine_init(e, o, r->conns, o->pubs);
    if (rc != 0)
        return rc;
    rc = setup(e, o, r);
    if (rc != 0)
        return rc;
    return measure(e, o, r);
}

static int run_idle(struct bench_engine *e, const struct bench_opts *o, struct bench_result *r)
{
    struct bench_proc_sample b0 = {0}, b1 = {0};
    bool have = true;
    r->conns = o->count;
    int rc = bench_engine_init(e, o, r->conns, 0);
    if (rc != 0)
        return rc;
    sample(o, &b0, &have);
    uint64_t t0 = clock_mono_ns();
    rc = bench_engine_connect(e, r->conns, t0 + (60 + r->conns / 500) * SEC);
    if (rc != 0)
        return rc;
    r->connect_s = since_s(t0);
    /* Hold the connections, then prove each is still served with one PINGREQ. */
    rc = bench_engine_run(e, clock_mono_ns() + (uint64_t)(o->duration_s * 1e9), NULL, NULL);
    for (uint32_t i = 0; rc == 0 && i < r->conns; i++)
        rc = bench_engine_ping(e, i);
    if (rc == 0)
        rc = bench_engine_run(e, clock_mono_ns() + 60 * SEC, bench_engine_idle_done, NULL);
    if (rc != 0)
        return rc;
    sample(o, &b1, &have);
    if (have) {
        r->have_broker = true;
        r->broker_cpu_s = b1.cpu_s - b0.cpu_s;
        r->broker_rss0_kib = b0.rss_kib;
        r->broker_rss_kib = b1.rss_kib;
    }
    return 0;
}

struct received_goal {
    uint64_t n;
};

static bool received_enough(const struct bench_engine *e, const void *arg)
{
    const struct received_goal *g = arg;
    return e->st.received >= g->n;
}

static bool published_all(const struct bench_engine *e, const void *arg)
{
    const struct bench_pub *p = &e->pubs[0];
    (void)arg;
    return p->sent >= p->limit && p->unacked == 0;
}

static int run_retained(struct bench_engine *e, const struct bench_opts *o, struct bench_result *r)
{
    struct tern_bytes all = bytes_str("tb/r/#");
    uint64_t deadline = (120 + o->count / 2000) * SEC;
    r->conns = 2;
    int rc = bench_engine_init(e, o, 2, 1);
    if (rc == 0)
        rc = bench_engine_connect(e, 2, clock_mono_ns() + 60 * SEC);
    if (rc == 0)
        rc = bench_engine_add_pub(e, 1, bytes_str("tb/r/0000000"), RETAINED_DIGITS, 0, true);
    if (rc < 0)
        return rc;
    bench_engine_add_sub(e, 0);
    e->pubs[0].topic_range = o->count;
    e->pubs[0].sequential = true;
    e->pubs[0].limit = o->count;
    uint64_t t0 = clock_mono_ns();
    bench_engine_publish(e, true, t0);
    rc = bench_engine_run(e, t0 + deadline, published_all, NULL);
    /* PINGRESP comes after the broker handled every PUBLISH before it. */
    if (rc == 0)
        rc = bench_engine_ping(e, 1);
    if (rc == 0)
        rc = bench_engine_run(e, t0 + deadline, bench_engine_idle_done, NULL);
    if (rc != 0)
        return rc;
    r->store_s = since_s(t0);
    bench_engine_publish(e, false, clock_mono_ns());
    uint64_t t1 = clock_mono_ns(), last = t1;
    struct received_goal g = {o->count};
    rc = bench_engine_subscribe(e, 0, &all, 1);
    /* Until every retained message arrived, or none did for 2 s (a broker that drops some). */
    uint64_t seen = 0;
    while (rc == 0 && e->st.received < g.n && clock_mono_ns() - last < 2 * SEC) {
        rc = bench_engine_run(e, clock_mono_ns() + SEC / 10, received_enough, &g);
        rc = rc == TERN_ETIMEDOUT ? 0 : rc;
        if (e->st.received != seen) {
            seen = e->st.received;
            last = clock_mono_ns();
        }
    }
    r->deliver_s = (double)(last - t1) / 1e9;
    r->received_total = e->st.received;
    if (rc != 0)
        return rc;
    return 0;
}

static void finish(const struct bench_engine *e, struct bench_result *r)
{
    r->sent_total = e->st.sent;
    if (r->o->kind != BENCH_RETAINED)
        r->received_total = e->st.received;
    r->lost = r->o->kind == BENCH_RETAINED
                  ? (r->received_total < r->o->count ? r->o->count - r->received_total : 0)
                  : bench_engine_missing(e);
    r->dups = e->st.dups;
    r->stalls = e->st.stalls;
    r->closed = e->st.closed;
    r->suback_failures = e->st.suback_failures;
}

int bench_scenario_run(const struct bench_opts *o, struct bench_result *r)
{
    struct bench_engine *e = mem_calloc(1, sizeof *e);
    int rc;
    bench_report_init(r, o);
    if (!e)
        return TERN_ENOMEM;
    if (o->kind == BENCH_IDLE)
        rc = run_idle(e, o, r);
    else if (o->kind == BENCH_RETAINED)
        rc = run_retained(e, o, r);
    else
        rc = run_load(e, o, r);
    finish(e, r);
    if (rc == 0 && r->closed) {
        snprintf(e->err, sizeof e->err, "the broker closed %llu connections",
                 (unsigned long long)r->closed);
        rc = TERN_ECLOSED;
    }
    r->ok = rc == 0;
    if (rc != 0)
        snprintf(r->error, sizeof r->error, "%s%s%.150s", tern_strerror(rc), e->err[0] ? ": " : "",
                 e->err);
    bench_engine_deinit(e);
    mem_free(e);
    return rc;
}
