/* The durable store: persistent sessions, their subscriptions, queued and in-flight QoS 1/2
 * deliveries, inbound QoS 2 ids and retained messages, on SQLite (WAL mode). Mutations are
 * queued from any thread and applied by one store thread in batches (group commit: one
 * transaction, one fsync per batch). It does not decide what to persist nor when to
 * acknowledge: the broker compares the seq a mutation returned with store_durable_seq(). */
#ifndef TERN_STORE_STORE_H
#define TERN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct msg;
struct store;

enum store_fsync {
    STORE_FSYNC_ALWAYS = 0, /* commit as soon as ops are queued; fsync every commit */
    STORE_FSYNC_INTERVAL,   /* commit (and fsync) at most every interval_ms */
    STORE_FSYNC_NEVER,      /* commit as soon as ops are queued; never fsync (the OS writes) */
};

/* Called with a loud, one-line, human message (no newline). err is a TERN_E* code. Called
 * from the thread that hit the problem (often the store thread); must be thread-safe. */
typedef void (*store_log_fn)(void *ctx, int err, const char *message);
/* Called from the store thread after each successful commit, once store_durable_seq() covers
 * it. Must be cheap and must not call back into the store (wake a loop instead). */
typedef void (*store_notify_fn)(void *ctx);

struct store_opts {
    const char *path; /* the database file; NULL = "tern.db" */
    enum store_fsync fsync;
    uint32_t interval_ms; /* STORE_FSYNC_INTERVAL period; 0 = 1000 */
    uint32_t max_batch;   /* queued ops that force a commit under INTERVAL; 0 = 4096 */
    store_log_fn log;     /* may be NULL */
    void *log_ctx;
    store_notify_fn notify; /* may be NULL */
    void *notify_ctx;
    /* Under sustained load, a bounded checkpoint and incremental vacuum runs after a commit
     * at most this often (ms); 0 = 10000. After 1 s without writes a full one runs anyway. */
    uint32_t maint_ms;
};

/* A "now" in both clocks: struct msg expiries are monotonic, the store keeps wall time. */
struct store_now {
    uint64_t mono_ms; /* CLOCK_MONOTONIC ms */
    int64_t wall_ms;  /* Unix epoch ms */
};

/* Reads both clocks now. */
struct store_now store_now_read(void);

/* One delivery of a stored message to a session. sub_ids are copied. */
struct store_delivery {
    uint64_t msg_id;
    uint8_t qos;
    bool retain; /* the RETAIN flag this subscriber sees */
    uint16_t n_sub_ids;
    const uint32_t *sub_ids; /* n_sub_ids entries (may be NULL when 0) */
};

struct store_will {
    const struct msg *m; /* the will message (copied; the caller keeps its reference) */
    uint32_t delay_s;    /* Will Delay Interval */
};

#define STORE_COMMIT_BUCKETS 12

struct store_stats {
    uint64_t commits;        /* successful commits */
    uint64_t failed_commits; /* commit attempts that failed (I/O error, disk full) */
    uint64_t ops;            /* ops applied and committed */
    uint64_t queued;         /* ops waiting for the store thread now */
    int last_err;            /* TERN_E* of the last failure, 0 when none yet */
    /* Commit attempts (failed ones too) by duration: [i] took at most store_commit_bound_s(i)
     * and more than the bound before; [STORE_COMMIT_BUCKETS] took longer than all bounds. */
    uint64_t commit_buckets[STORE_COMMIT_BUCKETS + 1];
    uint64_t commit_ns; /* time spent in them */
};

/* The upper bound in seconds of commit_buckets[i], i < STORE_COMMIT_BUCKETS (increasing). */
double store_commit_bound_s(size_t i);

/* Opens (creating if needed) the store at o->path and starts the store thread.
 * The file is checked first (PRAGMA quick_check, schema version). A file that is not a
 * database, fails the check, is truncated or has a schema version newer than this build knows
 * is renamed aside to "<path>.corrupt-<YYYYMMDDTHHMMSSZ>" (with its -wal and -shm files), the
 * reason is reported loudly through o->log, and a fresh empty store is created.
 * Returns NULL, with a message in err[0..errlen), only when even a fresh store cannot be
 * created (for example an unwritable or missing directory) or on OOM. */
struct store *store_open(const struct store_opts *o, char *err, size_t errlen);

/* Commits everything queued (reporting loudly if that fails), stops the store thread and
 * closes the database. Accepts NULL. No other call may run concurrently or afterwards. */
void store_close(struct store *s);

/* The highest seq that is committed (and, except under NEVER, fsynced). Every seq <= it is
 * durable: the store commits in seq order and retries a failed batch before any later one.
 * Thread-safe, lock-free. */
uint64_t store_durable_seq(const struct store *s);

/* 0 while healthy; otherwise the highest seq of a batch whose commit failed and that has not
 * been committed yet (the store retries it with backoff). While non-zero the broker should not
 * acknowledge what it cannot store and should report it. Thread-safe. */
uint64_t store_failed_seq(const struct store *s);

/* Blocks until every op queued before the call is durable. 0, or TERN_EIO when a commit
 * attempt covering them failed (the store keeps retrying in the background). Thread-safe. */
int store_flush(struct store *s);

void store_stats(struct store *s, struct store_stats *out);

/* ---- Mutations ----
 * All are thread-safe and cheap: they copy their arguments into an op, queue it under a mutex
 * and return its seq (> 0), or 0 when the op could not be queued (OOM; nothing will be stored).
 * Ops are applied in seq order. A seq is durable once store_durable_seq() >= it. */

/* Stores a message body once; *msg_id receives its id (assigned at once, so it can be
 * referenced by later ops). Keeps topic, payload, forwarded properties, QoS and retain flag;
 * the monotonic expiry is converted to wall time with now. The origin (No Local) is not kept.
 * A message is deleted when the last queue, in-flight or retained reference to it is removed;
 * one that is never referenced is removed by a later store_expire() or store_load(). */
uint64_t store_msg_put(struct store *s, const struct msg *m, const struct store_now *now,
                       uint64_t *msg_id);

/* Inserts or replaces a session (marking it online). version is its MQTT protocol level (4 =
 * 3.1.1, 5 = 5.0; 0 = not known). will may be NULL (no will). */
uint64_t store_session_put(struct store *s, const char *client_id, uint32_t expiry_s,
                           uint8_t version, const struct store_will *will,
                           const struct store_now *now);
/* Marks the session offline since wall_s (its expiry counts from there). */
uint64_t store_session_offline(struct store *s, const char *client_id, int64_t wall_s);
/* Deletes the session with its subscriptions, queue, in-flight window and QoS 2 ids. */
uint64_t store_session_del(struct store *s, const char *client_id);

/* Inserts or replaces the subscription to filter (as subscribed, "$share/..." included). */
uint64_t store_sub_put(struct store *s, const char *client_id, const char *filter, uint8_t options,
                       uint32_t sub_id);
uint64_t store_sub_del(struct store *s, const char *client_id, const char *filter);

/* Appends a delivery to the session's queue (order kept). */
uint64_t store_queue_put(struct store *s, const char *client_id, const struct store_delivery *d);
/* Removes the oldest queued delivery of msg_id for the session. */
uint64_t store_queue_del(struct store *s, const char *client_id, uint64_t msg_id);

/* Inserts or updates (state change) an in-flight entry; send order is kept across updates.
 * state is the session's enum inflight_state. */
uint64_t store_inflight_put(struct store *s, const char *client_id, uint16_t packet_id,
                            uint8_t state, const struct store_delivery *d);
/* As store_inflight_put for a delivery that leaves the session's queue: the in-flight row is
 * written and the oldest queue row of d->msg_id removed by one op, so no commit (and so no
 * crash) can see both rows, or neither. */
uint64_t store_inflight_move(struct store *s, const char *client_id, uint16_t packet_id,
                             uint8_t state, const struct store_delivery *d);
uint64_t store_inflight_del(struct store *s, const char *client_id, uint16_t packet_id);

/* Inbound QoS 2 packet ids whose PUBREL has not arrived. */
uint64_t store_qos2_put(struct store *s, const char *client_id, uint16_t packet_id);
uint64_t store_qos2_del(struct store *s, const char *client_id, uint16_t packet_id);

/* Sets or clears the retained message of topic. */
uint64_t store_retain_put(struct store *s, const char *topic, uint64_t msg_id);
uint64_t store_retain_del(struct store *s, const char *topic);

/* Deletes offline sessions whose expiry passed at now_wall_ms, queued and retained references
 * to expired messages, expired messages no in-flight entry holds, and messages nothing has
 * referenced since the previous store_expire(). Queued like the other mutations. */
uint64_t store_expire(struct store *s, int64_t now_wall_ms);

/* ---- Recovery ---- */

struct store_session_rec {
    const char *client_id;
    uint32_t expiry_s;
    int64_t seen_wall_s;    /* last seen alive (disconnect time, or the last commit before a
                               crash while it was online): expiry counts from here */
    const struct msg *will; /* NULL when none; borrowed: msg_ref() to keep it */
    uint32_t will_delay_s;
    uint8_t version; /* MQTT protocol level; 0 when not recorded (stored by schema 1) */
};

struct store_sub_rec {
    const char *filter;
    uint8_t options;
    uint32_t sub_id;
};

/* Every callback may be NULL. Messages passed are borrowed (msg_ref() to keep them); the same
 * msg_id yields the same struct msg *. Messages carry no DUP flag: the broker sets DUP when it
 * resends an in-flight entry. A callback returning non-zero stops the load with that value. */
struct store_load_cb {
    int (*session)(void *ctx, const struct store_session_rec *r);
    int (*sub)(void *ctx, const char *client_id, const struct store_sub_rec *r);
    /* In send order. */
    int (*inflight)(void *ctx, const char *client_id, uint16_t packet_id, uint8_t state,
                    const struct msg *m, const struct store_delivery *d);
    /* In queue order. */
    int (*queued)(void *ctx, const char *client_id, const struct msg *m,
                  const struct store_delivery *d);
    int (*qos2)(void *ctx, const char *client_id, uint16_t packet_id);
    int (*retained)(void *ctx, const char *topic, const struct msg *m, uint64_t msg_id);
};

/* Replays the store: for each session, the session, its subscriptions, its in-flight entries,
 * its queued entries and its inbound QoS 2 ids; then the retained messages. First marks
 * sessions that were online (a crash) as seen at the last commit, and deletes expired sessions
 * and messages, unreferenced messages and dangling references. Waits for queued ops first.
 * Messages are rebuilt with msg_new() and their expiry converted back with now.
 * 0, a callback's non-zero value, TERN_ENOMEM or TERN_EIO. */
int store_load(struct store *s, const struct store_load_cb *cb, void *ctx,
               const struct store_now *now);

/* ---- Tests only ---- */

enum store_fail {
    STORE_FAIL_NONE = 0,
    STORE_FAIL_WRITE, /* every write to a store file fails with "disk full" */
    STORE_FAIL_SYNC,  /* every fsync of a store file fails with an I/O error */
};

/* A group: the ops this thread submits between store_group_begin and store_group_end are
 * committed in one transaction (never split between two commits), so a crash keeps all of them
 * or none. Used where two writes only make sense together (an inbound QoS 2 packet id and the
 * copies of its message). The store thread waits for open groups before it takes a batch, so a
 * group must be short and must not wait for the store (no store_flush inside). One group per
 * thread at a time; a group that submits nothing costs no lock. s may be NULL (no-op). */
void store_group_begin(struct store *s);
void store_group_end(struct store *s);

/* Process-wide fault injection in the store's SQLite VFS shim. Thread-safe. */
void store_test_fail_io(enum store_fail mode);
/* As store_test_fail_io, but the fault applies only while the file switch_file exists (checked
 * at every write or fsync), so that a test can end it from outside the process. */
void store_test_fail_io_while(enum store_fail mode, const char *switch_file);
/* While held, the store thread starts no new batch (so a test can queue many ops and see them
 * committed in one transaction). */
void store_test_hold(struct store *s, bool hold);
/* Rows in a store table ("msgs", "sessions", "subs", "queue", "inflight", "qos2",
 * "retained"), or the database's "freelist" / "pages" page count, read under the store lock;
 * negative TERN_E* on error. */
int64_t store_test_count(struct store *s, const char *table);

#endif
