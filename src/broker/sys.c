/* $SYS statistics. Counters are summed over the workers when published; load averages are
 * exponentially decayed rates over 1, 5 and 15 minutes as Mosquitto reports them. */
#include "sys.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "broker_metrics.h"
#include "config.h"
#include "deliver.h"
#include "loop.h"
#include "mem.h"
#include "msg.h"
#include "retain.h"
#include "worker.h"

/* The counters behind $SYS/broker/load/NAME/{1,5,15}min, in totals() order. */
static const char *const load_names[] = {
    "messages/received", "messages/sent",   "bytes/received", "bytes/sent", "publish/received",
    "publish/sent",      "publish/dropped", "connections",    "sockets",
};
#define N_LOADS (sizeof load_names / sizeof load_names[0])

/* Defined here; broker.c only allocates it through sys_state_new(). */
struct sys_state {
    uint64_t last_ms;
    uint64_t last[N_LOADS];  /* the counters of load_names at the last update */
    double load[N_LOADS][3]; /* per counter: 1, 5, 15 minute averages (per minute) */
};

struct sys_state *sys_state_new(void)
{
    return mem_calloc(1, sizeof(struct sys_state));
}

static void publish(struct worker *w, const char *topic, const char *value)
{
    struct msg_init in = {
        .topic = bytes_str(topic),
        .payload = bytes_str(value),
        .qos = 0,
        .retain = true,
        .now_ms = loop_now_ms(w->loop),
    };
    struct msg *m = msg_new(&in);
    if (!m)
        return;
    deliver_publish(w, m);
    msg_unref(m);
}

static void publish_u64(struct worker *w, const char *topic, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    publish(w, topic, buf);
}

static void totals(const struct broker *b, uint64_t out[N_LOADS])
{
    memset(out, 0, N_LOADS * sizeof out[0]);
    for (unsigned i = 0; i < b->n_workers; i++) {
        const struct worker_stats *s = &b->workers[i]->stats;
        out[0] += atomic_load_explicit(&s->msgs_received, memory_order_relaxed);
        out[1] += atomic_load_explicit(&s->msgs_sent, memory_order_relaxed);
        out[2] += atomic_load_explicit(&s->bytes_received, memory_order_relaxed);
        out[3] += atomic_load_explicit(&s->bytes_sent, memory_order_relaxed);
        out[7] += atomic_load_explicit(&s->connects_received, memory_order_relaxed);
        out[8] += atomic_load_explicit(&s->sockets_opened, memory_order_relaxed);
    }
    struct broker_totals bt;
    broker_metrics_totals(b, &bt); /* per worker, summed */
    out[4] = bt.publish_received;
    out[5] = bt.publish_sent;
    out[6] = bt.dropped;
}

static void publish_loads(struct worker *w, struct sys_state *st, const uint64_t now_tot[N_LOADS],
                          uint64_t now_ms)
{
    static const unsigned mins[3] = {1, 5, 15};
    double dt = (double)(now_ms - st->last_ms) / 1000.0;
    if (dt <= 0)
        return;
    for (size_t k = 0; k < N_LOADS; k++) {
        double per_min = (double)(now_tot[k] - st->last[k]) * 60.0 / dt;
        for (int j = 0; j < 3; j++) {
            double f = exp(-dt / (60.0 * mins[j]));
            st->load[k][j] = st->load[k][j] * f + per_min * (1.0 - f);
            char topic[96], val[32];
            snprintf(topic, sizeof topic, "$SYS/broker/load/%s/%umin", load_names[k], mins[j]);
            snprintf(val, sizeof val, "%.2f", st->load[k][j]);
            publish(w, topic, val);
        }
    }
}

static void tick(struct loop *l, void *ctx)
{
    struct worker *w = ctx;
    struct broker *b = w->b;
    struct sys_state *st = b->sys;
    uint64_t now = loop_now_ms(l);
    uint64_t tot[N_LOADS];
    totals(b, tot);
    char buf[64];
    snprintf(buf, sizeof buf, "%llu seconds",
             (unsigned long long)((now - b->start_mono_ms) / 1000u));
    publish(w, "$SYS/broker/uptime", buf);
    uint64_t connected = atomic_load(&b->stats.clients_connected);
    uint64_t total = registry_count(b);
    publish_u64(w, "$SYS/broker/clients/connected", connected);
    publish_u64(w, "$SYS/broker/clients/active", connected);
    publish_u64(w, "$SYS/broker/clients/total", total);
    publish_u64(w, "$SYS/broker/clients/disconnected", total > connected ? total - connected : 0);
    publish_u64(w, "$SYS/broker/clients/inactive", total > connected ? total - connected : 0);
    publish_u64(w, "$SYS/broker/clients/maximum", atomic_load(&b->stats.clients_maximum));
    publish_u64(w, "$SYS/broker/messages/received", tot[0]);
    publish_u64(w, "$SYS/broker/messages/sent", tot[1]);
    publish_u64(w, "$SYS/broker/bytes/received", tot[2]);
    publish_u64(w, "$SYS/broker/bytes/sent", tot[3]);
    publish_u64(w, "$SYS/broker/publish/messages/received", tot[4]);
    publish_u64(w, "$SYS/broker/publish/messages/sent", tot[5]);
    publish_u64(w, "$SYS/broker/publish/messages/dropped", tot[6]);
    publish_u64(w, "$SYS/broker/subscriptions/count", atomic_load(&b->stats.subscriptions));
    publish_u64(w, "$SYS/broker/retained messages/count", retain_count(b->retain));
    publish_u64(w, "$SYS/broker/store/messages/bytes", retain_bytes(b->retain));
    publish_u64(w, "$SYS/broker/heap/current", mem_in_use());
    publish_u64(w, "$SYS/broker/heap/maximum", mem_peak());
    publish_loads(w, st, tot, now);
    memcpy(st->last, tot, sizeof tot);
    st->last_ms = now;
    w->sys_timer = loop_timer_add(l, (uint64_t)b->cfg->sys_interval * 1000u, tick, w);
}

void sys_start(struct worker *w)
{
    struct broker *b = w->b;
    publish(w, "$SYS/broker/version", "tern version " TERN_VERSION);
    if (!b->cfg->sys_interval || !b->sys)
        return;
    b->sys->last_ms = loop_now_ms(w->loop);
    tick(w->loop, w);
}
