/* The broker side of the durable store. Sessions are persisted only while their Session
 * Expiry Interval is above 0 (s->persisted); messages are stored once, on first need, and
 * referenced by id (msg->store_id). Recovery runs before the workers start, so it may touch
 * every worker's sessions and loops from the main thread. */
#include "persist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "clock.h"
#include "config.h"
#include "lifecycle.h"
#include "loop.h"
#include "mem.h"
#include "mqtt.h"
#include "msg.h"
#include "retain.h"
#include "session.h"
#include "store.h"
#include "topic_tree.h"
#include "worker.h"

static void store_log(void *ctx, int err, const char *message)
{
    struct broker *b = ctx;
    log_msg(b->log, TLOG_ERR, "Error: store: %s (%s)", message, tern_strerror(err));
}

/* After each commit: acknowledgements waiting for durability can go out. */
static void store_notify(void *ctx)
{
    struct broker *b = ctx;
    for (unsigned i = 0; i < b->n_workers; i++)
        if (b->workers[i] &&
            atomic_load_explicit(&b->workers[i]->acks_waiting, memory_order_relaxed))
            loop_wake(b->workers[i]->loop);
}

static bool persistent(const struct broker *b, const struct session *s)
{
    return b->store && !b->loading && atomic_load_explicit(&s->persisted, memory_order_relaxed);
}

/* The message's store id, storing it first when needed; *seq gets the put's seq (or 0). */
static uint64_t msg_id(struct broker *b, struct msg *m, uint64_t *seq)
{
    uint64_t id = atomic_load(&m->store_id);
    *seq = 0;
    if (id)
        return id;
    struct store_now now = store_now_read();
    *seq = store_msg_put(b->store, m, &now, &id);
    uint64_t expected = 0;
    /* Another worker may have stored it meanwhile: keep the first id; the spare body is never
     * referenced and a later store_expire removes it. */
    if (!atomic_compare_exchange_strong(&m->store_id, &expected, id))
        return expected;
    return id;
}

static struct store_delivery sd_of(uint64_t id, const struct delivery *d)
{
    struct store_delivery sd = {id, d->qos, d->retain, d->n_sub_ids,
                                d->n_sub_ids > 1 ? d->sub_ids : &d->sub_id};
    return sd;
}

uint64_t persist_retain(struct broker *b, struct msg *m)
{
    /* $SYS topics are the broker's own and rewritten every sys_interval: not worth a write. */
    if (!b->store || b->loading || bytes_has_prefix(msg_topic(m), "$SYS/"))
        return 0;
    if (m->payload_len == 0)
        return store_retain_del(b->store, m->topic);
    uint64_t seq, id = msg_id(b, m, &seq);
    uint64_t seq2 = store_retain_put(b->store, m->topic, id);
    return seq2 > seq ? seq2 : seq;
}

uint64_t persist_queue(struct broker *b, struct session *s, struct delivery *d)
{
    if (!persistent(b, s) || d->qos == 0)
        return 0;
    uint64_t seq, id = msg_id(b, d->m, &seq);
    struct store_delivery sd = sd_of(id, d);
    uint64_t seq2 = store_queue_put(b->store, s->client_id, &sd);
    d->stored = seq2 != 0;
    return seq2 > seq ? seq2 : seq;
}

uint64_t persist_unqueue(struct broker *b, struct session *s, struct delivery *d)
{
    if (!d->stored || !b->store || b->loading)
        return 0;
    d->stored = false;
    return store_queue_del(b->store, s->client_id, atomic_load(&d->m->store_id));
}

uint64_t persist_inflight(struct broker *b, struct session *s, const struct inflight *f)
{
    if (!persistent(b, s))
        return 0;
    uint64_t seq, id = msg_id(b, f->d.m, &seq);
    struct store_delivery sd = sd_of(id, &f->d);
    return store_inflight_put(b->store, s->client_id, f->packet_id, f->state, &sd);
}

uint64_t persist_inflight_enter(struct broker *b, struct session *s, struct inflight *f)
{
    if (!f->d.stored || !persistent(b, s)) {
        uint64_t seq = persist_inflight(b, s, f);
        uint64_t seq2 = persist_unqueue(b, s, &f->d);
        return seq2 > seq ? seq2 : seq;
    }
    f->d.stored = false;
    uint64_t seq, id = msg_id(b, f->d.m, &seq);
    struct store_delivery sd = sd_of(id, &f->d);
    uint64_t seq2 = store_inflight_move(b->store, s->client_id, f->packet_id, f->state, &sd);
    return seq2 > seq ? seq2 : seq;
}

void persist_inflight_del(struct broker *b, struct session *s, uint16_t packet_id)
{
    if (persistent(b, s))
        store_inflight_del(b->store, s->client_id, packet_id);
}

uint64_t persist_qos2(struct broker *b, struct session *s, uint16_t packet_id, bool add)
{
    if (!persistent(b, s))
        return 0;
    return add ? store_qos2_put(b->store, s->client_id, packet_id)
               : store_qos2_del(b->store, s->client_id, packet_id);
}

void persist_group_begin(struct broker *b)
{
    store_group_begin(b->loading ? NULL : b->store);
}

void persist_group_end(struct broker *b)
{
    store_group_end(b->loading ? NULL : b->store);
}

uint64_t persist_sub(struct broker *b, struct session *s, const char *filter, uint8_t options,
                     uint32_t sub_id, bool add)
{
    if (!persistent(b, s))
        return 0;
    if (add)
        return store_sub_put(b->store, s->client_id, filter, options, sub_id);
    return store_sub_del(b->store, s->client_id, filter);
}

static uint64_t max_seq(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Writes everything s holds (it just became persistent). Returns the highest seq. */
static uint64_t persist_all(struct broker *b, struct session *s)
{
    uint64_t seq = 0;
    for (size_t i = 0; i < s->n_subs; i++)
        seq = max_seq(
            seq, persist_sub(b, s, s->subs[i].filter, s->subs[i].options, s->subs[i].sub_id, true));
    for (size_t i = 0; i < s->n_inflight; i++)
        seq = max_seq(seq, persist_inflight(b, s, &s->inflight[i]));
    for (size_t i = 0; i < s->q_len; i++) {
        struct delivery *d = session_queue_at(s, (uint32_t)i);
        if (!d->stored)
            seq = max_seq(seq, persist_queue(b, s, d));
    }
    for (size_t i = 0; i < s->n_qos2_in; i++)
        seq = max_seq(seq, persist_qos2(b, s, s->qos2_in[i], true));
    return seq;
}

uint64_t persist_session(struct broker *b, struct session *s)
{
    if (!b->store || b->loading)
        return 0;
    bool want = s->expiry_s > 0;
    bool was = atomic_load(&s->persisted);
    if (!want) {
        if (!was)
            return 0;
        atomic_store(&s->persisted, false);
        return store_session_del(b->store, s->client_id);
    }
    struct store_now now = store_now_read();
    struct store_will will = {s->will, s->will_delay_s};
    uint64_t seq = store_session_put(b->store, s->client_id, s->expiry_s, atomic_load(&s->version),
                                     s->will ? &will : NULL, &now);
    if (!was) {
        atomic_store(&s->persisted, true);
        seq = max_seq(seq, persist_all(b, s));
    }
    return seq;
}

void persist_session_offline(struct broker *b, struct session *s)
{
    if (persistent(b, s))
        store_session_offline(b->store, s->client_id, clock_wall_s());
}

void persist_session_end(struct broker *b, struct session *s)
{
    if (persistent(b, s)) {
        atomic_store(&s->persisted, false);
        store_session_del(b->store, s->client_id);
    }
}

bool persist_acks_wait(const struct broker *b)
{
    return b->store && b->store_fsync == STORE_FSYNC_ALWAYS;
}

uint64_t persist_ack_bound(const struct broker *b)
{
    if (!b->store)
        return UINT64_MAX;
    uint64_t durable = store_durable_seq(b->store);
    if (b->store_fsync == STORE_FSYNC_ALWAYS || store_failed_seq(b->store) != 0)
        return durable;
    return UINT64_MAX;
}

void persist_tick(struct broker *b)
{
    if (b->store)
        store_expire(b->store, (int64_t)clock_wall_s() * 1000);
}

void persist_close(struct broker *b)
{
    store_close(b->store);
    b->store = NULL;
}

/* ---- Recovery ---- */

struct load {
    struct broker *b;
    struct session *cur;
    int64_t now_wall_s;
    unsigned next_worker;
    size_t sessions, messages, retained;
};

static struct session *load_session_for(struct load *l, const char *client_id)
{
    if (l->cur && strcmp(l->cur->client_id, client_id) == 0)
        return l->cur;
    return NULL; /* records come grouped per session; a stray one is skipped */
}

static int load_session(void *ctx, const struct store_session_rec *r)
{
    struct load *l = ctx;
    struct broker *b = l->b;
    struct session *s = session_new(r->client_id, strlen(r->client_id),
                                    atomic_fetch_add(&b->next_session_id, 1) + 1);
    if (!s)
        return TERN_ENOMEM;
    struct worker *w = b->workers[l->next_worker++ % b->n_workers];
    atomic_store(&s->owner, w);
    atomic_store(&s->persisted, true);
    s->expiry_s = r->expiry_s;
    /* Sessions stored by schema 1 did not record it: take 5, as those builds did. */
    atomic_store(&s->version, r->version ? r->version : MQTT_V5);
    if (r->will)
        session_set_will(s, msg_ref((struct msg *)r->will), r->will_delay_s);
    struct session *old = NULL;
    if (registry_put(b, s, &old) != 0) {
        session_unref(s);
        return TERN_ENOMEM;
    }
    session_unref(old);
    /* The time it spent offline, broker downtime included, counts against expiry and will. */
    int64_t gone_ms = (l->now_wall_s - r->seen_wall_s) * 1000;
    if (gone_ms < 0)
        gone_ms = 0;
    int64_t exp_left = (int64_t)r->expiry_s * 1000 - gone_ms;
    int64_t will_left = r->will ? (int64_t)r->will_delay_s * 1000 - gone_ms : -1;
    if (r->will && will_left < 0)
        will_left = 0;
    lifecycle_restored(w, s, exp_left, will_left);
    l->cur = s;
    l->sessions++;
    return 0;
}

static int load_sub(void *ctx, const char *client_id, const struct store_sub_rec *r)
{
    struct load *l = ctx;
    struct session *s = load_session_for(l, client_id);
    if (!s)
        return 0;
    size_t len = strlen(r->filter);
    if (session_sub_set(s, r->filter, len, r->options, r->sub_id) < 0)
        return TERN_ENOMEM;
    int rc = topic_tree_add(l->b->tree, bytes_of(r->filter, len), s, r->options, r->sub_id);
    if (rc < 0)
        return rc;
    if (rc == 1)
        atomic_fetch_add(&l->b->stats.subscriptions, 1);
    return 0;
}

/* A delivery of a stored message: references m, copies the subscription ids. */
static int delivery_of(const struct msg *m, const struct store_delivery *sd, struct delivery *d)
{
    memset(d, 0, sizeof *d);
    atomic_store(&((struct msg *)m)->store_id, sd->msg_id);
    d->m = msg_ref((struct msg *)m);
    d->qos = sd->qos;
    d->retain = sd->retain;
    if (sd->n_sub_ids == 1) {
        d->sub_id = sd->sub_ids[0];
        d->n_sub_ids = 1;
    } else if (sd->n_sub_ids > 1) {
        d->sub_ids = mem_dup(sd->sub_ids, sd->n_sub_ids * sizeof *sd->sub_ids);
        if (!d->sub_ids) {
            msg_unref(d->m);
            return TERN_ENOMEM;
        }
        d->n_sub_ids = sd->n_sub_ids;
    }
    return 0;
}

static int load_inflight(void *ctx, const char *client_id, uint16_t packet_id, uint8_t state,
                         const struct msg *m, const struct store_delivery *sd)
{
    struct load *l = ctx;
    struct session *s = load_session_for(l, client_id);
    struct delivery d;
    if (!s)
        return 0;
    int rc = delivery_of(m, sd, &d);
    if (rc == 0 && session_inflight_add(s, packet_id, state, &d) != 0) {
        delivery_clear(&d);
        rc = TERN_ENOMEM;
    }
    /* The gauges count what is restored too (workers have not started: no race). */
    if (rc == 0)
        worker_stat_add(&session_owner(s)->stats.inflight, 1);
    l->messages += rc == 0;
    return rc;
}

static int load_queued(void *ctx, const char *client_id, const struct msg *m,
                       const struct store_delivery *sd)
{
    struct load *l = ctx;
    struct session *s = load_session_for(l, client_id);
    struct delivery d;
    if (!s)
        return 0;
    int rc = delivery_of(m, sd, &d);
    d.stored = true;
    if (rc == 0 && session_queue_push(s, &d, 0, 0) != 0) {
        delivery_clear(&d);
        rc = TERN_ENOMEM;
    }
    if (rc == 0)
        worker_stat_add(&session_owner(s)->stats.queued, 1);
    l->messages += rc == 0;
    return rc;
}

static int load_qos2(void *ctx, const char *client_id, uint16_t packet_id)
{
    struct load *l = ctx;
    struct session *s = load_session_for(l, client_id);
    return s && !session_qos2_has(s, packet_id) ? session_qos2_add(s, packet_id) : 0;
}

static int load_retained(void *ctx, const char *topic, const struct msg *m, uint64_t msg_id)
{
    (void)topic;
    struct load *l = ctx;
    atomic_store(&((struct msg *)m)->store_id, msg_id);
    int rc = retain_set(l->b->retain, (struct msg *)m);
    l->retained += rc == 0;
    return rc == TERN_EFULL ? 0 : rc;
}

/* For tests of the broker's behaviour when the disk fails: TERN_TEST_STORE_FAIL=write|sync makes
 * every write (disk full) or fsync (I/O error) of the store fail from the start; with
 * TERN_TEST_STORE_FAIL_FILE=<path> too, only while that file exists, so a test can end the
 * fault. Not a setting: the name says what it is for. */
static void fault_hook(struct broker *b)
{
    const char *f = getenv("TERN_TEST_STORE_FAIL");
    if (!f || !*f)
        return;
    const char *sw = getenv("TERN_TEST_STORE_FAIL_FILE");
    if (sw && !*sw)
        sw = NULL;
    enum store_fail mode = strcmp(f, "sync") == 0 ? STORE_FAIL_SYNC : STORE_FAIL_WRITE;
    store_test_fail_io_while(mode, sw);
    log_msg(b->log, TLOG_WARN, "Warning: TERN_TEST_STORE_FAIL=%s: store %s fail%s%s (test hook)", f,
            mode == STORE_FAIL_SYNC ? "fsyncs" : "writes", sw ? " while this exists: " : "",
            sw ? sw : "");
}

static enum store_fsync fsync_policy(const struct config *cfg)
{
    switch (cfg->persistence_fsync) {
    case 1:
        return STORE_FSYNC_INTERVAL;
    case 2:
        return STORE_FSYNC_NEVER;
    default:
        return STORE_FSYNC_ALWAYS;
    }
}

void persist_open(struct broker *b)
{
    const struct config *cfg = b->cfg;
    if (!cfg->persistence)
        return;
    char path[4096];
    const char *dir = cfg->persistence_location;
    snprintf(path, sizeof path, "%s%s%s", dir ? dir : "",
             dir && *dir && dir[strlen(dir) - 1] != '/' ? "/" : "",
             cfg->persistence_file ? cfg->persistence_file : "tern.db");
    uint32_t interval = cfg->persistence_fsync_interval_ms;
    if (cfg->autosave_interval && (uint64_t)cfg->autosave_interval * 1000u < interval)
        interval = cfg->autosave_interval * 1000u;
    struct store_opts o = {
        .path = path,
        .fsync = fsync_policy(cfg),
        .interval_ms = interval,
        .log = store_log,
        .log_ctx = b,
        .notify = store_notify,
        .notify_ctx = b,
    };
    char err[512];
    b->store = store_open(&o, err, sizeof err);
    if (!b->store) {
        /* Never refuse to start because of the store: run without it, loudly. */
        log_msg(b->log, TLOG_ERR, "Error: persistence disabled: cannot open %s: %s", path, err);
        return;
    }
    b->store_fsync = o.fsync;
    fault_hook(b);
    struct load l = {.b = b, .now_wall_s = clock_wall_s()};
    struct store_load_cb cb = {load_session, load_sub,  load_inflight,
                               load_queued,  load_qos2, load_retained};
    struct store_now now = store_now_read();
    b->loading = true;
    int rc = store_load(b->store, &cb, &l, &now);
    b->loading = false;
    if (rc != 0)
        log_msg(b->log, TLOG_ERR, "Error: restoring from %s stopped early: %s", path,
                tern_strerror(rc));
    log_msg(b->log, TLOG_NOTICE,
            "Restored %zu sessions, %zu queued or in-flight messages and %zu "
            "retained messages from %s.",
            l.sessions, l.messages, l.retained, path);
}
