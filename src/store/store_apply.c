/* SQL for each store op. A message row is deleted in the same transaction as the last queue,
 * in-flight or retained row that referenced it. Invalid ops (constraint errors) are reported
 * and skipped; I/O errors abort the batch so store.c can roll back and retry it. */
#include "store_apply.h"

#include <stdbool.h>
#include <stdio.h>

#include "mem.h"

enum {
    S_MSG_PUT,
    S_SESSION_PUT,
    S_SESSION_OFFLINE,
    S_SESSION_GC,
    S_SESSION_DEL_SUBS,
    S_SESSION_DEL_QUEUE,
    S_SESSION_DEL_INFLIGHT,
    S_SESSION_DEL_QOS2,
    S_SESSION_DEL,
    S_SUB_PUT,
    S_SUB_DEL,
    S_QUEUE_PUT,
    S_QUEUE_DEL,
    S_INFLIGHT_GET,
    S_INFLIGHT_PUT,
    S_INFLIGHT_DEL,
    S_QOS2_PUT,
    S_QOS2_DEL,
    S_RETAIN_GET,
    S_RETAIN_PUT,
    S_RETAIN_DEL,
    S_GC,
    S_EXPIRED_SESSIONS,
    S_EXPIRE_QUEUE,
    S_EXPIRE_RETAINED,
    S_EXPIRE_MSGS,
    S_SWEEP,
    S_ALIVE,
};

#define NOT_REFERENCED(id)                                                                         \
    " NOT EXISTS(SELECT 1 FROM queue WHERE msg_id=" id ")"                                         \
    " AND NOT EXISTS(SELECT 1 FROM inflight WHERE msg_id=" id ")"                                  \
    " AND NOT EXISTS(SELECT 1 FROM retained WHERE msg_id=" id ")"

static const char *const sql[] = {
    [S_MSG_PUT] = "INSERT OR REPLACE INTO msgs VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [S_SESSION_PUT] = "INSERT OR REPLACE INTO sessions(client_id, expiry_s, online, seen_s,"
                      " will_topic, will_payload, will_props, will_qos, will_retain,"
                      " will_delay_s, will_expiry_ms, version)"
                      " VALUES(?1,?2,1,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
    [S_SESSION_OFFLINE] = "UPDATE sessions SET online=0, seen_s=?2 WHERE client_id=?1",
    [S_SESSION_GC] = "DELETE FROM msgs WHERE id IN (SELECT msg_id FROM queue WHERE client_id=?1"
                     " UNION SELECT msg_id FROM inflight WHERE client_id=?1)"
                     " AND NOT EXISTS(SELECT 1 FROM queue q WHERE q.msg_id=msgs.id"
                     "  AND q.client_id<>?1)"
                     " AND NOT EXISTS(SELECT 1 FROM inflight f WHERE f.msg_id=msgs.id"
                     "  AND f.client_id<>?1)"
                     " AND NOT EXISTS(SELECT 1 FROM retained r WHERE r.msg_id=msgs.id)",
    [S_SESSION_DEL_SUBS] = "DELETE FROM subs WHERE client_id=?1",
    [S_SESSION_DEL_QUEUE] = "DELETE FROM queue WHERE client_id=?1",
    [S_SESSION_DEL_INFLIGHT] = "DELETE FROM inflight WHERE client_id=?1",
    [S_SESSION_DEL_QOS2] = "DELETE FROM qos2 WHERE client_id=?1",
    [S_SESSION_DEL] = "DELETE FROM sessions WHERE client_id=?1",
    [S_SUB_PUT] = "INSERT OR REPLACE INTO subs VALUES(?1,?2,?3,?4)",
    [S_SUB_DEL] = "DELETE FROM subs WHERE client_id=?1 AND filter=?2",
    [S_QUEUE_PUT] = "INSERT INTO queue VALUES(?1,?2,?3,?4,?5,?6)",
    [S_QUEUE_DEL] = "DELETE FROM queue WHERE ord=(SELECT ord FROM queue WHERE client_id=?1"
                    " AND msg_id=?2 ORDER BY ord LIMIT 1)",
    [S_INFLIGHT_GET] = "SELECT msg_id FROM inflight WHERE client_id=?1 AND packet_id=?2",
    [S_INFLIGHT_PUT] = "INSERT INTO inflight VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"
                       " ON CONFLICT(client_id, packet_id) DO UPDATE SET msg_id=excluded.msg_id,"
                       " qos=excluded.qos, retain=excluded.retain, state=excluded.state,"
                       " sub_ids=excluded.sub_ids",
    [S_INFLIGHT_DEL] = "DELETE FROM inflight WHERE client_id=?1 AND packet_id=?2",
    [S_QOS2_PUT] = "INSERT OR IGNORE INTO qos2 VALUES(?1,?2)",
    [S_QOS2_DEL] = "DELETE FROM qos2 WHERE client_id=?1 AND packet_id=?2",
    [S_RETAIN_GET] = "SELECT msg_id FROM retained WHERE topic=?1",
    [S_RETAIN_PUT] = "INSERT OR REPLACE INTO retained VALUES(?1,?2)",
    [S_RETAIN_DEL] = "DELETE FROM retained WHERE topic=?1",
    [S_GC] = "DELETE FROM msgs WHERE id=?1 AND" NOT_REFERENCED("?1"),
    [S_EXPIRED_SESSIONS] = "SELECT client_id FROM sessions WHERE online=0"
                           " AND expiry_s<>4294967295 AND seen_s+expiry_s<=?1",
    [S_EXPIRE_QUEUE] = "DELETE FROM queue WHERE msg_id IN (SELECT id FROM msgs"
                       " WHERE expiry_ms<>0 AND expiry_ms<=?1)",
    [S_EXPIRE_RETAINED] = "DELETE FROM retained WHERE msg_id IN (SELECT id FROM msgs"
                          " WHERE expiry_ms<>0 AND expiry_ms<=?1)",
    [S_EXPIRE_MSGS] = "DELETE FROM msgs WHERE expiry_ms<>0 AND expiry_ms<=?1"
                      " AND NOT EXISTS(SELECT 1 FROM inflight WHERE msg_id=msgs.id)",
    [S_SWEEP] = "DELETE FROM msgs WHERE id<?1 AND" NOT_REFERENCED("msgs.id"),
    [S_ALIVE] = "UPDATE meta SET v=?1 WHERE k='alive_s'",
};

/* A bound blob; text and binary are both stored as blobs (client ids, topics and filters are
 * compared bytewise). */
static void bind_blob(sqlite3_stmt *st, int i, struct tern_bytes b)
{
    sqlite3_bind_blob(st, i, b.ptr ? (const void *)b.ptr : "", (int)b.len, SQLITE_STATIC);
}

/* Steps st to completion. 0; TERN_EIO / TERN_ENOMEM (abort the batch); other errors are
 * reported here and returned (store_apply_op skips the op). */
static int run(struct store_db *d, sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    int err = store_db_err(rc);
    sqlite3_reset(st);
    /* I/O errors are reported once for the whole batch by the store thread. */
    if (err && err != TERN_EIO && err != TERN_ENOMEM)
        store_db_report(d, err, "invalid operation skipped");
    return err;
}

/* The msg_id of one row from a (?1 blob, ?2 int) lookup; 0 when none. */
static uint64_t lookup(struct store_db *d, unsigned slot, struct tern_bytes key, int64_t n)
{
    sqlite3_stmt *st = store_db_stmt(d, slot, sql[slot]);
    if (!st)
        return 0;
    bind_blob(st, 1, key);
    if (slot != S_RETAIN_GET)
        sqlite3_bind_int64(st, 2, n);
    uint64_t id = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        id = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return id;
}

/* Deletes message id if nothing references it any more. */
static int gc(struct store_db *d, uint64_t id)
{
    if (!id)
        return 0;
    sqlite3_stmt *st = store_db_stmt(d, S_GC, sql[S_GC]);
    if (!st)
        return TERN_EIO;
    sqlite3_bind_int64(st, 1, (int64_t)id);
    return run(d, st);
}

/* Runs slot with ?1 = key blob. */
static int by_key(struct store_db *d, unsigned slot, struct tern_bytes key)
{
    sqlite3_stmt *st = store_db_stmt(d, slot, sql[slot]);
    if (!st)
        return TERN_EIO;
    bind_blob(st, 1, key);
    return run(d, st);
}

/* Runs slot with ?1 = key blob, ?2 = n. */
static int by_key_n(struct store_db *d, unsigned slot, struct tern_bytes key, int64_t n)
{
    sqlite3_stmt *st = store_db_stmt(d, slot, sql[slot]);
    if (!st)
        return TERN_EIO;
    bind_blob(st, 1, key);
    sqlite3_bind_int64(st, 2, n);
    return run(d, st);
}

static int session_del(struct store_db *d, struct tern_bytes client)
{
    static const unsigned steps[] = {S_SESSION_GC,        S_SESSION_DEL_SUBS,
                                     S_SESSION_DEL_QUEUE, S_SESSION_DEL_INFLIGHT,
                                     S_SESSION_DEL_QOS2,  S_SESSION_DEL};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int rc = by_key(d, steps[i], client);
        if (rc)
            return rc;
    }
    return 0;
}

static int msg_put(struct store_db *d, const struct store_op *op)
{
    sqlite3_stmt *st = store_db_stmt(d, S_MSG_PUT, sql[S_MSG_PUT]);
    if (!st)
        return TERN_EIO;
    sqlite3_bind_int64(st, 1, (int64_t)op->msg_id);
    for (int i = 0; i < 3; i++)
        bind_blob(st, 2 + i, op->b[i]);
    sqlite3_bind_int(st, 5, op->qos);
    sqlite3_bind_int(st, 6, op->retain);
    sqlite3_bind_int64(st, 7, op->wall);
    return run(d, st);
}

static int session_put(struct store_db *d, const struct store_op *op)
{
    sqlite3_stmt *st = store_db_stmt(d, S_SESSION_PUT, sql[S_SESSION_PUT]);
    if (!st)
        return TERN_EIO;
    bind_blob(st, 1, op->b[0]);
    sqlite3_bind_int64(st, 2, op->u32);
    sqlite3_bind_int64(st, 3, op->wall2);
    if (op->has_will) {
        for (int i = 0; i < 3; i++)
            bind_blob(st, 4 + i, op->b[1 + i]);
        sqlite3_bind_int(st, 7, op->qos);
        sqlite3_bind_int(st, 8, op->retain);
        sqlite3_bind_int64(st, 9, op->u32b);
        sqlite3_bind_int64(st, 10, op->wall);
    }
    sqlite3_bind_int(st, 11, op->version);
    return run(d, st);
}

/* QUEUE_PUT and INFLIGHT_PUT share the column layout after their keys. */
static int delivery_put(struct store_db *d, const struct store_op *op)
{
    bool inflight = op->kind == STORE_OP_INFLIGHT_PUT;
    uint64_t old = inflight ? lookup(d, S_INFLIGHT_GET, op->b[0], op->packet_id) : 0;
    unsigned slot = inflight ? S_INFLIGHT_PUT : S_QUEUE_PUT;
    sqlite3_stmt *st = store_db_stmt(d, slot, sql[slot]);
    if (!st)
        return TERN_EIO;
    int i = 1;
    if (inflight) {
        bind_blob(st, i++, op->b[0]);
        sqlite3_bind_int(st, i++, op->packet_id);
        sqlite3_bind_int64(st, i++, (int64_t)op->seq);
    } else {
        sqlite3_bind_int64(st, i++, (int64_t)op->seq);
        bind_blob(st, i++, op->b[0]);
    }
    sqlite3_bind_int64(st, i++, (int64_t)op->msg_id);
    sqlite3_bind_int(st, i++, op->qos);
    sqlite3_bind_int(st, i++, op->retain);
    if (inflight)
        sqlite3_bind_int(st, i++, op->state);
    bind_blob(st, i, op->b[1]);
    int rc = run(d, st);
    if (rc == 0 && old && old != op->msg_id)
        rc = gc(d, old);
    return rc;
}

/* Deletes a reference found by (key, n) in a lookup slot, then collects its message. */
static int ref_del(struct store_db *d, unsigned get, unsigned del, struct tern_bytes key, int64_t n)
{
    uint64_t old = lookup(d, get, key, n);
    int rc = get == S_RETAIN_GET ? by_key(d, del, key) : by_key_n(d, del, key, n);
    return rc ? rc : gc(d, old);
}

static int retain_put(struct store_db *d, const struct store_op *op)
{
    uint64_t old = lookup(d, S_RETAIN_GET, op->b[0], 0);
    int rc = by_key_n(d, S_RETAIN_PUT, op->b[0], (int64_t)op->msg_id);
    if (rc == 0 && old != op->msg_id)
        rc = gc(d, old);
    return rc;
}

static int sub_put(struct store_db *d, const struct store_op *op)
{
    sqlite3_stmt *st = store_db_stmt(d, S_SUB_PUT, sql[S_SUB_PUT]);
    if (!st)
        return TERN_EIO;
    bind_blob(st, 1, op->b[0]);
    bind_blob(st, 2, op->b[1]);
    sqlite3_bind_int(st, 3, op->options);
    sqlite3_bind_int64(st, 4, op->u32);
    return run(d, st);
}

static int sub_del(struct store_db *d, const struct store_op *op)
{
    sqlite3_stmt *st = store_db_stmt(d, S_SUB_DEL, sql[S_SUB_DEL]);
    if (!st)
        return TERN_EIO;
    bind_blob(st, 1, op->b[0]);
    bind_blob(st, 2, op->b[1]);
    return run(d, st);
}

static int dispatch(struct store_db *d, const struct store_op *op)
{
    switch (op->kind) {
    case STORE_OP_MSG_PUT:
        return msg_put(d, op);
    case STORE_OP_SESSION_PUT:
        return session_put(d, op);
    case STORE_OP_SESSION_OFFLINE:
        return by_key_n(d, S_SESSION_OFFLINE, op->b[0], op->wall);
    case STORE_OP_SESSION_DEL:
        return session_del(d, op->b[0]);
    case STORE_OP_SUB_PUT:
        return sub_put(d, op);
    case STORE_OP_SUB_DEL:
        return sub_del(d, op);
    case STORE_OP_QUEUE_PUT:
        return delivery_put(d, op);
    case STORE_OP_INFLIGHT_PUT: {
        /* The in-flight row first: it keeps the message referenced when the queue row goes. */
        int rc = delivery_put(d, op);
        return rc || !op->unqueue ? rc : by_key_n(d, S_QUEUE_DEL, op->b[0], (int64_t)op->msg_id);
    }
    case STORE_OP_QUEUE_DEL: {
        int rc = by_key_n(d, S_QUEUE_DEL, op->b[0], (int64_t)op->msg_id);
        return rc ? rc : gc(d, op->msg_id);
    }
    case STORE_OP_INFLIGHT_DEL:
        return ref_del(d, S_INFLIGHT_GET, S_INFLIGHT_DEL, op->b[0], op->packet_id);
    case STORE_OP_QOS2_PUT:
        return by_key_n(d, S_QOS2_PUT, op->b[0], op->packet_id);
    case STORE_OP_QOS2_DEL:
        return by_key_n(d, S_QOS2_DEL, op->b[0], op->packet_id);
    case STORE_OP_RETAIN_PUT:
        return retain_put(d, op);
    case STORE_OP_RETAIN_DEL:
        return ref_del(d, S_RETAIN_GET, S_RETAIN_DEL, op->b[0], 0);
    case STORE_OP_EXPIRE:
        return store_apply_expire(d, op->wall, (uint64_t)op->wall2);
    default:
        return TERN_EINVAL;
    }
}

int store_apply_op(struct store_db *d, const struct store_op *op)
{
    int rc = dispatch(d, op);
    /* An invalid op was reported by run(); it must not hold back the rest of the batch. */
    return rc == TERN_EIO || rc == TERN_ENOMEM ? rc : 0;
}

/* Client ids of expired sessions, copied out before any row is deleted. */
static int expired_sessions(struct store_db *d, int64_t now_s, struct tern_bytes **out, size_t *n)
{
    sqlite3_stmt *st = store_db_stmt(d, S_EXPIRED_SESSIONS, sql[S_EXPIRED_SESSIONS]);
    if (!st)
        return TERN_EIO;
    sqlite3_bind_int64(st, 1, now_s);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            struct tern_bytes *grown = mem_realloc(*out, cap * sizeof **out);
            if (!grown)
                goto nomem;
            *out = grown;
        }
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        void *copy = mem_dup(sqlite3_column_blob(st, 0), len + 1);
        if (!copy)
            goto nomem;
        (*out)[(*n)++] = bytes_of(copy, len);
    }
    sqlite3_reset(st);
    return store_db_err(rc);
nomem:
    sqlite3_reset(st);
    return TERN_ENOMEM;
}

int store_apply_expire(struct store_db *d, int64_t now_ms, uint64_t sweep_below)
{
    struct tern_bytes *ids = NULL;
    size_t n = 0;
    int rc = expired_sessions(d, now_ms / 1000, &ids, &n);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = session_del(d, ids[i]);
        mem_free((void *)ids[i].ptr);
    }
    mem_free(ids);
    static const unsigned steps[] = {S_EXPIRE_QUEUE, S_EXPIRE_RETAINED, S_EXPIRE_MSGS, S_SWEEP};
    for (size_t i = 0; rc == 0 && i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_stmt *st = store_db_stmt(d, steps[i], sql[steps[i]]);
        if (!st)
            return TERN_EIO;
        sqlite3_bind_int64(st, 1, steps[i] == S_SWEEP ? (int64_t)sweep_below : now_ms);
        rc = run(d, st);
    }
    return rc;
}

int store_apply_alive(struct store_db *d, int64_t wall_s)
{
    sqlite3_stmt *st = store_db_stmt(d, S_ALIVE, sql[S_ALIVE]);
    if (!st)
        return TERN_EIO;
    sqlite3_bind_int64(st, 1, wall_s);
    return run(d, st);
}

void store_apply_maintain(struct store_db *d, uint32_t max_pages)
{
    int64_t free_pages = 0;
    if (store_db_int(d, "PRAGMA freelist_count", &free_pages) == 0 && free_pages > 0) {
        /* incremental_vacuum(N) frees at most N pages; N <= 0 means all of them. */
        char q[64];
        snprintf(q, sizeof q, "PRAGMA incremental_vacuum(%u)", max_pages);
        if (store_db_exec(d, q) != 0)
            store_db_report(d, TERN_EIO, "incremental vacuum");
    }
    /* The store's own connection is the only one: nothing holds a read snapshot that could
     * keep TRUNCATE from copying the whole WAL back and emptying it. */
    if (store_db_exec(d, "PRAGMA wal_checkpoint(TRUNCATE)") != 0)
        store_db_report(d, TERN_EIO, "checkpoint");
}
