/* The store object: the op queue that any thread appends to, the store thread that applies
 * each batch in one transaction (group commit), retries a failed batch before anything later,
 * publishes the durable seq and calls notify; flush, stats, the mutation entry points and the
 * recovery entry point. SQL lives in store_apply.c and store_recover.c. */
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "mem.h"
#include "msg.h"
#include "store_apply.h"
#include "store_db.h"
#include "store_op.h"
#include "store_recover.h"
#include "store_vfs.h"

#define IDLE_MS        1000u  /* idle time before checkpoint and vacuum */
#define MAINT_MS       10000u /* under load: period of the bounded checkpoint and vacuum */
#define MAINT_PAGES    256u   /* under load: free pages returned per maintenance run */
#define RETRY_FIRST_MS 50u
#define RETRY_MAX_MS   2000u

struct store {
    pthread_mutex_t mu;      /* guards everything up to db_mu */
    pthread_cond_t wake;     /* the store thread waits here */
    pthread_cond_t done;     /* flushers wait here */
    pthread_cond_t group_cv; /* threads starting a group wait here while a grab is pending */
    struct store_op *head, *tail;
    uint64_t queued;
    uint64_t next_seq;
    uint64_t next_msg_id;
    uint64_t sweep_mark; /* next_msg_id at the previous store_expire() */
    uint64_t flush_want; /* highest seq a flusher waits for */
    uint64_t fail_gen;   /* bumped at each failed commit */
    struct store_stats st;
    bool stop, hold;
    unsigned groups_open; /* threads inside store_group_begin/end that have submitted ops */
    bool grab_waiting;    /* the store thread waits for groups_open to reach 0 */
    _Atomic uint64_t durable;
    _Atomic uint64_t failed;

    pthread_mutex_t db_mu; /* the connection: the store thread, store_load, tests */
    struct store_db db;

    enum store_fsync fsync;
    uint32_t interval_ms;
    uint32_t max_batch;
    uint32_t maint_ms;
    struct timespec last_maint; /* the store thread's last maintenance run */
    store_log_fn log;
    void *log_ctx;
    store_notify_fn notify;
    void *notify_ctx;
    pthread_t thread;
};

/* This thread's open group (store_group_begin), and whether it is counted in groups_open
 * (only once it submits an op: a group that writes nothing costs no lock). */
static _Thread_local struct store *group_of;
static _Thread_local bool group_counted;

struct store_now store_now_read(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct store_now n = {clock_mono_ms(), (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000};
    return n;
}

static void deadline_in(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000u);
    ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void free_ops(struct store_op *op)
{
    while (op) {
        struct store_op *next = op->next;
        store_op_free(op);
        op = next;
    }
}

/* Applies batch in one transaction and commits it. 0 or TERN_E* with the reason in why;
 * rolled back on failure. */
static int commit_batch(struct store *s, const struct store_op *batch, uint64_t *n_ops, char *why,
                        size_t whylen)
{
    pthread_mutex_lock(&s->db_mu);
    struct store_db *d = &s->db;
    int rc = store_db_exec(d, "BEGIN IMMEDIATE");
    *n_ops = 0;
    for (const struct store_op *op = batch; op && rc == 0; op = op->next) {
        rc = store_apply_op(d, op);
        (*n_ops)++;
    }
    if (rc == 0)
        rc = store_apply_alive(d, clock_wall_s());
    if (rc == 0)
        rc = store_db_exec(d, "COMMIT");
    if (rc != 0) {
        snprintf(why, whylen, "%s", sqlite3_errmsg(d->db));
        if (!sqlite3_get_autocommit(d->db))
            store_db_exec(d, "ROLLBACK");
    }
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

/* Reports a failed commit loudly, after store_failed_seq() shows it. */
static void report_failure(struct store *s, int rc, uint64_t first, uint64_t last, const char *why)
{
    if (!s->log)
        return;
    char line[512];
    snprintf(line, sizeof line,
             "store: COMMIT FAILED (%s: %s) for seq %llu..%llu: not durable, not to be "
             "acknowledged; retrying",
             tern_err_name(rc), why, (unsigned long long)first, (unsigned long long)last);
    s->log(s->log_ctx, rc, line);
}

/* Checkpoint and vacuum (store_apply_maintain), at most max_pages pages (0 = all). */
static void maintain(struct store *s, uint32_t max_pages)
{
    pthread_mutex_lock(&s->db_mu);
    store_apply_maintain(&s->db, max_pages);
    pthread_mutex_unlock(&s->db_mu);
    clock_gettime(CLOCK_MONOTONIC, &s->last_maint);
}

/* After a commit that ended at now: under sustained load the idle maintenance never runs, so
 * every maint_ms a bounded one does (the WAL would otherwise never be truncated, nor freed
 * pages returned). */
static void maintain_if_due(struct store *s, const struct timespec *now)
{
    int64_t ms = (int64_t)(now->tv_sec - s->last_maint.tv_sec) * 1000 +
                 (now->tv_nsec - s->last_maint.tv_nsec) / 1000000;
    if (ms >= (int64_t)s->maint_ms)
        maintain(s, MAINT_PAGES);
}

/* Under mu: waits until there is a batch to commit now. False when the thread must exit. */
static bool wait_for_batch(struct store *s, bool retrying, uint32_t retry_ms,
                           const struct timespec *last_commit, bool *dirty)
{
    for (;;) {
        bool have = s->head != NULL || retrying;
        if (s->stop)
            return have;
        struct timespec dl;
        if (s->hold || (!have && !*dirty)) {
            pthread_cond_wait(&s->wake, &s->mu);
            continue;
        }
        if (!have) {
            deadline_in(&dl, IDLE_MS);
            if (pthread_cond_timedwait(&s->wake, &s->mu, &dl) != 0 && !s->head) {
                /* Idle: give pages back and truncate the WAL, once per busy period. */
                *dirty = false;
                pthread_mutex_unlock(&s->mu);
                maintain(s, 0);
                pthread_mutex_lock(&s->mu);
            }
            continue;
        }
        uint64_t wait_ms = 0;
        if (retrying)
            wait_ms = retry_ms;
        else if (s->fsync == STORE_FSYNC_INTERVAL && s->queued < s->max_batch &&
                 s->flush_want <= atomic_load(&s->durable))
            wait_ms = s->interval_ms;
        if (wait_ms == 0)
            return true;
        dl = *last_commit;
        dl.tv_sec += (time_t)(wait_ms / 1000u);
        dl.tv_nsec += (long)(wait_ms % 1000u) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&s->wake, &s->mu, &dl) != 0)
            return true;
    }
}

/* Under mu: wait_for_batch, then until no group is open, so a group's ops are never split
 * between two commits. Groups opening meanwhile wait for the grab (group_cv): the store thread
 * cannot be starved by a stream of groups. */
static bool wait_for_work(struct store *s, bool retrying, uint32_t retry_ms,
                          const struct timespec *last_commit, bool *dirty)
{
    for (;;) {
        if (!wait_for_batch(s, retrying, retry_ms, last_commit, dirty))
            return false;
        if (s->groups_open == 0 || s->stop)
            return true;
        s->grab_waiting = true;
        while (s->groups_open > 0 && !s->stop)
            pthread_cond_wait(&s->wake, &s->mu);
    }
}

static const double commit_bounds_s[STORE_COMMIT_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

double store_commit_bound_s(size_t i)
{
    return commit_bounds_s[i < STORE_COMMIT_BUCKETS ? i : STORE_COMMIT_BUCKETS - 1];
}

/* Under mu: counts a commit attempt that ran from t0 to t1 in the duration histogram. */
static void time_commit(struct store *s, const struct timespec *t0, const struct timespec *t1)
{
    int64_t ns = (int64_t)(t1->tv_sec - t0->tv_sec) * 1000000000 + (t1->tv_nsec - t0->tv_nsec);
    double sec = ns > 0 ? (double)ns / 1e9 : 0;
    size_t i = 0;
    while (i < STORE_COMMIT_BUCKETS && sec > commit_bounds_s[i])
        i++;
    s->st.commit_buckets[i]++;
    s->st.commit_ns += ns > 0 ? (uint64_t)ns : 0;
}

/* Under mu: publishes the outcome of a commit attempt of batch (last seq `last`). */
static void publish(struct store *s, int rc, uint64_t last, uint64_t n_ops)
{
    if (rc == 0) {
        atomic_store(&s->durable, last);
        atomic_store(&s->failed, 0);
        s->st.commits++;
        s->st.ops += n_ops;
    } else {
        atomic_store(&s->failed, last);
        s->st.failed_commits++;
        s->st.last_err = rc;
        s->fail_gen++;
    }
    pthread_cond_broadcast(&s->done);
}

static void *store_thread(void *arg)
{
    struct store *s = arg;
    struct store_op *batch = NULL, *batch_tail = NULL;
    uint32_t retry_ms = 0;
    bool dirty = false;
    struct timespec last_commit;
    clock_gettime(CLOCK_MONOTONIC, &last_commit);
    s->last_maint = last_commit;
    pthread_mutex_lock(&s->mu);
    while (wait_for_work(s, batch != NULL, retry_ms, &last_commit, &dirty)) {
        if (s->grab_waiting) {
            s->grab_waiting = false;
            pthread_cond_broadcast(&s->group_cv);
        }
        /* The retried batch keeps its place in front: seqs become durable in order. */
        if (s->head) {
            if (batch_tail)
                batch_tail->next = s->head;
            else
                batch = s->head;
            batch_tail = s->tail;
            s->head = s->tail = NULL;
            s->queued = 0;
        }
        bool stopping = s->stop;
        pthread_mutex_unlock(&s->mu);
        uint64_t n_ops = 0;
        char why[256] = "";
        struct timespec started;
        clock_gettime(CLOCK_MONOTONIC, &started);
        int rc = commit_batch(s, batch, &n_ops, why, sizeof why);
        clock_gettime(CLOCK_MONOTONIC, &last_commit);
        pthread_mutex_lock(&s->mu);
        time_commit(s, &started, &last_commit);
        publish(s, rc, batch_tail->seq, n_ops);
        if (rc == 0) {
            pthread_mutex_unlock(&s->mu);
            free_ops(batch);
            batch = batch_tail = NULL;
            retry_ms = 0;
            dirty = true;
            if (s->notify)
                s->notify(s->notify_ctx);
            maintain_if_due(s, &last_commit);
            pthread_mutex_lock(&s->mu);
        } else {
            pthread_mutex_unlock(&s->mu);
            report_failure(s, rc, batch->seq, batch_tail->seq, why);
            pthread_mutex_lock(&s->mu);
            retry_ms = retry_ms ? retry_ms * 2 : RETRY_FIRST_MS;
            retry_ms = retry_ms > RETRY_MAX_MS ? RETRY_MAX_MS : retry_ms;
            if (stopping)
                break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (batch && s->log)
        s->log(s->log_ctx, TERN_EIO, "store: closing with uncommitted operations: they are LOST");
    free_ops(batch);
    return NULL;
}

static void init_opts(struct store *s, const struct store_opts *o)
{
    s->fsync = o->fsync;
    s->interval_ms = o->interval_ms ? o->interval_ms : 1000u;
    s->max_batch = o->max_batch ? o->max_batch : 4096u;
    s->maint_ms = o->maint_ms ? o->maint_ms : MAINT_MS;
    s->log = o->log;
    s->log_ctx = o->log_ctx;
    s->notify = o->notify;
    s->notify_ctx = o->notify_ctx;
    s->db.log = o->log;
    s->db.log_ctx = o->log_ctx;
    s->next_seq = 1;
}

struct store *store_open(const struct store_opts *o, char *err, size_t errlen)
{
    struct store *s = mem_calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "store: out of memory");
        return NULL;
    }
    init_opts(s, o);
    if (store_db_open(&s->db, o->path ? o->path : "tern.db", s->fsync, err, errlen) != 0)
        goto fail_free;
    int64_t max_id = 0;
    if (store_db_int(&s->db, "SELECT coalesce(max(id), 0) FROM msgs", &max_id) != 0) {
        snprintf(err, errlen, "store: cannot read: %s", sqlite3_errmsg(s->db.db));
        goto fail_db;
    }
    s->next_msg_id = (uint64_t)max_id + 1;
    /* Queue and in-flight rows are ordered by the seq that wrote them: seqs go on from the
     * highest stored, or a restarted broker's rows would collide with (queue.ord is unique)
     * or sort before those of the run before. Everything stored is durable. */
    int64_t max_ord = 0;
    if (store_db_int(&s->db,
                     "SELECT max(coalesce((SELECT max(ord) FROM queue), 0),"
                     " coalesce((SELECT max(ord) FROM inflight), 0))",
                     &max_ord) != 0) {
        snprintf(err, errlen, "store: cannot read: %s", sqlite3_errmsg(s->db.db));
        goto fail_db;
    }
    s->next_seq = (uint64_t)max_ord + 1;
    atomic_store(&s->durable, (uint64_t)max_ord);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_cond_init(&s->done, &ca);
    pthread_cond_init(&s->group_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->thread, NULL, store_thread, s) != 0) {
        snprintf(err, errlen, "store: cannot start its thread");
        goto fail_sync;
    }
    return s;
fail_sync:
    pthread_cond_destroy(&s->group_cv);
    pthread_cond_destroy(&s->done);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->db_mu);
    pthread_mutex_destroy(&s->mu);
fail_db:
    store_db_close(&s->db);
fail_free:
    mem_free(s);
    return NULL;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    s->hold = false;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    free_ops(s->head);
    store_db_close(&s->db);
    pthread_cond_destroy(&s->group_cv);
    pthread_cond_destroy(&s->done);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->db_mu);
    pthread_mutex_destroy(&s->mu);
    mem_free(s);
}

void store_group_begin(struct store *s)
{
    group_of = s;
    group_counted = false;
}

void store_group_end(struct store *s)
{
    if (group_of == s && group_counted) {
        pthread_mutex_lock(&s->mu);
        if (--s->groups_open == 0 && s->grab_waiting)
            pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
    }
    group_of = NULL;
    group_counted = false;
}

uint64_t store_durable_seq(const struct store *s)
{
    return atomic_load(&s->durable);
}

uint64_t store_failed_seq(const struct store *s)
{
    return atomic_load(&s->failed);
}

int store_flush(struct store *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t target = s->next_seq - 1;
    uint64_t gen = s->fail_gen;
    if (target > s->flush_want)
        s->flush_want = target;
    pthread_cond_signal(&s->wake);
    while (atomic_load(&s->durable) < target && s->fail_gen == gen)
        pthread_cond_wait(&s->done, &s->mu);
    int rc = atomic_load(&s->durable) >= target ? 0 : TERN_EIO;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void store_stats(struct store *s, struct store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->queued = s->queued;
    pthread_mutex_unlock(&s->mu);
}

/* Queues op (taking it over); assigns a message id first when msg_id is non-NULL. */
static uint64_t submit(struct store *s, struct store_op *op, uint64_t *msg_id)
{
    if (!op)
        return 0;
    pthread_mutex_lock(&s->mu);
    if (group_of == s && !group_counted) {
        while (s->grab_waiting && !s->stop)
            pthread_cond_wait(&s->group_cv, &s->mu);
        s->groups_open++;
        group_counted = true;
    }
    if (msg_id)
        *msg_id = op->msg_id = s->next_msg_id++;
    if (op->kind == STORE_OP_EXPIRE) {
        op->wall2 = (int64_t)s->sweep_mark;
        s->sweep_mark = s->next_msg_id;
    }
    uint64_t seq = op->seq = s->next_seq++;
    if (s->tail)
        s->tail->next = op;
    else
        s->head = op;
    s->tail = op;
    s->queued++;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    /* op may already be committed and freed by the store thread. */
    return seq;
}

/* Wall-clock ms for a monotonic expiry; 0 stays "never", a past one becomes at least 1. */
static int64_t wall_expiry(uint64_t expiry_at_ms, const struct store_now *now)
{
    if (!expiry_at_ms)
        return 0;
    int64_t w = now->wall_ms + ((int64_t)expiry_at_ms - (int64_t)now->mono_ms);
    return w > 0 ? w : 1;
}

uint64_t store_msg_put(struct store *s, const struct msg *m, const struct store_now *now,
                       uint64_t *msg_id)
{
    struct tern_bytes b[3] = {bytes_of(m->topic, m->topic_len),
                              bytes_of(m->payload, m->payload_len),
                              bytes_of(m->fwd_props, m->fwd_props_len)};
    struct store_op *op = store_op_new(STORE_OP_MSG_PUT, b, 3);
    if (op) {
        op->qos = m->qos;
        op->retain = m->retain;
        op->wall = wall_expiry(m->expiry_at_ms, now);
    }
    return submit(s, op, msg_id);
}

uint64_t store_session_put(struct store *s, const char *client_id, uint32_t expiry_s,
                           uint8_t version, const struct store_will *will,
                           const struct store_now *now)
{
    const struct msg *w = will ? will->m : NULL;
    struct tern_bytes b[4] = {bytes_str(client_id)};
    if (w) {
        b[1] = bytes_of(w->topic, w->topic_len);
        b[2] = bytes_of(w->payload, w->payload_len);
        b[3] = bytes_of(w->fwd_props, w->fwd_props_len);
    }
    struct store_op *op = store_op_new(STORE_OP_SESSION_PUT, b, w ? 4 : 1);
    if (op) {
        op->u32 = expiry_s;
        op->version = version;
        op->wall2 = now->wall_ms / 1000;
        op->has_will = w != NULL;
        if (w) {
            op->qos = w->qos;
            op->retain = w->retain;
            op->u32b = will->delay_s;
            op->wall = wall_expiry(w->expiry_at_ms, now);
        }
    }
    return submit(s, op, NULL);
}

/* An op whose only blob is key. */
static struct store_op *keyed(uint8_t kind, const char *key)
{
    struct tern_bytes b = bytes_str(key);
    return store_op_new(kind, &b, 1);
}

uint64_t store_session_offline(struct store *s, const char *client_id, int64_t wall_s)
{
    struct store_op *op = keyed(STORE_OP_SESSION_OFFLINE, client_id);
    if (op)
        op->wall = wall_s;
    return submit(s, op, NULL);
}

uint64_t store_session_del(struct store *s, const char *client_id)
{
    return submit(s, keyed(STORE_OP_SESSION_DEL, client_id), NULL);
}

uint64_t store_sub_put(struct store *s, const char *client_id, const char *filter, uint8_t options,
                       uint32_t sub_id)
{
    struct tern_bytes b[2] = {bytes_str(client_id), bytes_str(filter)};
    struct store_op *op = store_op_new(STORE_OP_SUB_PUT, b, 2);
    if (op) {
        op->options = options;
        op->u32 = sub_id;
    }
    return submit(s, op, NULL);
}

uint64_t store_sub_del(struct store *s, const char *client_id, const char *filter)
{
    struct tern_bytes b[2] = {bytes_str(client_id), bytes_str(filter)};
    return submit(s, store_op_new(STORE_OP_SUB_DEL, b, 2), NULL);
}

/* A QUEUE_PUT or INFLIGHT_PUT op with the delivery's subscription ids as 4-byte BE words. */
static struct store_op *delivery_op(uint8_t kind, const char *client_id,
                                    const struct store_delivery *d)
{
    struct tern_bytes b[2] = {bytes_str(client_id), bytes_of(NULL, (size_t)d->n_sub_ids * 4u)};
    struct store_op *op = store_op_new(kind, b, 2);
    if (!op)
        return NULL;
    /* The op owns this space (reserved by the NULL blob); fill it before queueing. */
    uint8_t *w = (uint8_t *)(uintptr_t)op->b[1].ptr;
    for (uint16_t i = 0; i < d->n_sub_ids; i++) {
        w[4 * i] = (uint8_t)(d->sub_ids[i] >> 24);
        w[4 * i + 1] = (uint8_t)(d->sub_ids[i] >> 16);
        w[4 * i + 2] = (uint8_t)(d->sub_ids[i] >> 8);
        w[4 * i + 3] = (uint8_t)d->sub_ids[i];
    }
    op->msg_id = d->msg_id;
    op->qos = d->qos;
    op->retain = d->retain;
    return op;
}

uint64_t store_queue_put(struct store *s, const char *client_id, const struct store_delivery *d)
{
    return submit(s, delivery_op(STORE_OP_QUEUE_PUT, client_id, d), NULL);
}

uint64_t store_queue_del(struct store *s, const char *client_id, uint64_t msg_id)
{
    struct store_op *op = keyed(STORE_OP_QUEUE_DEL, client_id);
    if (op)
        op->msg_id = msg_id;
    return submit(s, op, NULL);
}

static uint64_t inflight_op(struct store *s, const char *client_id, uint16_t packet_id,
                            uint8_t state, const struct store_delivery *d, bool unqueue)
{
    struct store_op *op = delivery_op(STORE_OP_INFLIGHT_PUT, client_id, d);
    if (op) {
        op->packet_id = packet_id;
        op->state = state;
        op->unqueue = unqueue;
    }
    return submit(s, op, NULL);
}

uint64_t store_inflight_put(struct store *s, const char *client_id, uint16_t packet_id,
                            uint8_t state, const struct store_delivery *d)
{
    return inflight_op(s, client_id, packet_id, state, d, false);
}

uint64_t store_inflight_move(struct store *s, const char *client_id, uint16_t packet_id,
                             uint8_t state, const struct store_delivery *d)
{
    return inflight_op(s, client_id, packet_id, state, d, true);
}

/* An op keyed by client id and packet id. */
static uint64_t packet_op(struct store *s, uint8_t kind, const char *client_id, uint16_t packet_id)
{
    struct store_op *op = keyed(kind, client_id);
    if (op)
        op->packet_id = packet_id;
    return submit(s, op, NULL);
}

uint64_t store_inflight_del(struct store *s, const char *client_id, uint16_t packet_id)
{
    return packet_op(s, STORE_OP_INFLIGHT_DEL, client_id, packet_id);
}

uint64_t store_qos2_put(struct store *s, const char *client_id, uint16_t packet_id)
{
    return packet_op(s, STORE_OP_QOS2_PUT, client_id, packet_id);
}

uint64_t store_qos2_del(struct store *s, const char *client_id, uint16_t packet_id)
{
    return packet_op(s, STORE_OP_QOS2_DEL, client_id, packet_id);
}

uint64_t store_retain_put(struct store *s, const char *topic, uint64_t msg_id)
{
    struct store_op *op = keyed(STORE_OP_RETAIN_PUT, topic);
    if (op)
        op->msg_id = msg_id;
    return submit(s, op, NULL);
}

uint64_t store_retain_del(struct store *s, const char *topic)
{
    return submit(s, keyed(STORE_OP_RETAIN_DEL, topic), NULL);
}

uint64_t store_expire(struct store *s, int64_t now_wall_ms)
{
    struct store_op *op = store_op_new(STORE_OP_EXPIRE, NULL, 0);
    if (op)
        op->wall = now_wall_ms;
    return submit(s, op, NULL);
}

int store_load(struct store *s, const struct store_load_cb *cb, void *ctx,
               const struct store_now *now)
{
    int rc = store_flush(s);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->mu);
    uint64_t sweep = s->next_msg_id;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->db_mu);
    rc = store_recover_load(&s->db, cb, ctx, now, sweep);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

void store_test_fail_io(enum store_fail mode)
{
    store_vfs_fail((int)mode, NULL);
}

void store_test_fail_io_while(enum store_fail mode, const char *switch_file)
{
    store_vfs_fail((int)mode, switch_file);
}

void store_test_hold(struct store *s, bool hold)
{
    pthread_mutex_lock(&s->mu);
    s->hold = hold;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

int64_t store_test_count(struct store *s, const char *table)
{
    static const char *const tables[] = {"msgs", "sessions", "subs", "queue",    "inflight",
                                         "qos2", "retained", "meta", "freelist", "pages"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        if (strcmp(table, tables[i]) != 0)
            continue;
        char q[64];
        if (strcmp(table, "freelist") == 0 || strcmp(table, "pages") == 0)
            snprintf(q, sizeof q, "PRAGMA %s_count", table[0] == 'f' ? "freelist" : "page");
        else
            snprintf(q, sizeof q, "SELECT count(*) FROM %s", tables[i]);
        int64_t n = 0;
        pthread_mutex_lock(&s->db_mu);
        int rc = store_db_int(&s->db, q, &n);
        pthread_mutex_unlock(&s->db_mu);
        return rc ? rc : n;
    }
    return TERN_EINVAL;
}
