/* Replaying the store at start-up. Messages are loaded first into an id-sorted table so every
 * reference to one id shares one struct msg; then sessions in client id order with their
 * records, then retained messages. Corrupt rows (bad property blobs, dangling references)
 * are dropped, never fatal. */
#include "store_recover.h"

#include <stdbool.h>
#include <string.h>

#include "codec.h"
#include "mem.h"
#include "msg.h"
#include "store_apply.h"

struct loaded {
    uint64_t id;
    struct msg *m;
};

struct msg_table {
    struct loaded *v;
    size_t n, cap;
};

/* Cleanup after a crash, before expiry: sessions online at the crash count as seen at the last
 * commit; rows whose session or message is gone are deleted. */
static const char *const cleanup_sql =
    "UPDATE sessions SET online=0, seen_s=max(seen_s, (SELECT v FROM meta WHERE k='alive_s'))"
    " WHERE online=1;"
    "DELETE FROM subs WHERE client_id NOT IN (SELECT client_id FROM sessions);"
    "DELETE FROM queue WHERE client_id NOT IN (SELECT client_id FROM sessions)"
    " OR msg_id NOT IN (SELECT id FROM msgs);"
    "DELETE FROM inflight WHERE client_id NOT IN (SELECT client_id FROM sessions)"
    " OR msg_id NOT IN (SELECT id FROM msgs);"
    "DELETE FROM qos2 WHERE client_id NOT IN (SELECT client_id FROM sessions);"
    "DELETE FROM retained WHERE msg_id NOT IN (SELECT id FROM msgs);";

/* Fills p from a forwarded-properties blob (as written by msg_new); false when malformed. */
static bool parse_props(struct tern_bytes raw, struct mqtt_props *p)
{
    memset(p, 0, sizeof *p);
    p->raw = raw;
    size_t i = 0;
    while (i < raw.len) {
        uint8_t id = raw.ptr[i++];
        if (id == MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) {
            if (i >= raw.len)
                return false;
            p->payload_format = raw.ptr[i++];
            p->present |= MQTT_PROP_BIT(id);
            continue;
        }
        int strings = id == MQTT_PROP_USER_PROPERTY ? 2 : 1;
        struct tern_bytes v[2] = {{NULL, 0}, {NULL, 0}};
        for (int k = 0; k < strings; k++) {
            if (i + 2 > raw.len)
                return false;
            size_t len = ((size_t)raw.ptr[i] << 8) | raw.ptr[i + 1];
            if (i + 2 + len > raw.len)
                return false;
            v[k] = bytes_of(raw.ptr + i + 2, len);
            i += 2 + len;
        }
        if (id == MQTT_PROP_CONTENT_TYPE)
            p->content_type = v[0];
        else if (id == MQTT_PROP_RESPONSE_TOPIC)
            p->response_topic = v[0];
        else if (id == MQTT_PROP_CORRELATION_DATA)
            p->correlation_data = v[0];
        else if (id == MQTT_PROP_USER_PROPERTY)
            p->user_count++;
        else
            return false;
        p->present |= MQTT_PROP_BIT(id);
    }
    return true;
}

static struct tern_bytes col(sqlite3_stmt *st, int i)
{
    const void *p = sqlite3_column_blob(st, i);
    return bytes_of(p, p ? (size_t)sqlite3_column_bytes(st, i) : 0);
}

/* Builds a message from columns first..first+5 (topic, payload, props, qos, retain,
 * expiry_ms). NULL on OOM or a corrupt row. */
static struct msg *build(sqlite3_stmt *st, int first, const struct store_now *now)
{
    struct mqtt_props props;
    if (!parse_props(col(st, first + 2), &props))
        return NULL;
    struct msg_init in = {col(st, first),
                          col(st, first + 1),
                          props.present ? &props : NULL,
                          (uint8_t)sqlite3_column_int(st, first + 3),
                          sqlite3_column_int(st, first + 4) != 0,
                          0,
                          now->mono_ms};
    struct msg *m = msg_new(&in);
    int64_t exp = sqlite3_column_int64(st, first + 5);
    if (m && exp) {
        /* Still mutable: nobody else holds it yet. An expired one stays expired. */
        int64_t left = exp - now->wall_ms;
        m->expiry_at_ms =
            left > 0 ? now->mono_ms + (uint64_t)left : (now->mono_ms ? now->mono_ms : 1);
    }
    return m;
}

static void table_free(struct msg_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        msg_unref(t->v[i].m);
    mem_free(t->v);
}

static int load_msgs(struct store_db *d, const struct store_now *now, struct msg_table *t)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(d->db,
                                "SELECT id, topic, payload, props, qos, retain, expiry_ms"
                                " FROM msgs ORDER BY id",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_err(rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct msg *m = build(st, 1, now);
        if (!m)
            continue; /* a corrupt row: its references are skipped */
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 64;
            struct loaded *v = mem_realloc(t->v, cap * sizeof *v);
            if (!v) {
                msg_unref(m);
                sqlite3_finalize(st);
                return TERN_ENOMEM;
            }
            t->v = v;
            t->cap = cap;
        }
        t->v[t->n].id = (uint64_t)sqlite3_column_int64(st, 0);
        t->v[t->n++].m = m;
    }
    sqlite3_finalize(st);
    return store_db_err(rc);
}

static const struct msg *find(const struct msg_table *t, uint64_t id)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid].id == id)
            return t->v[mid].m;
        if (t->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct replay {
    struct store_db *d;
    const struct store_load_cb *cb;
    void *ctx;
    const struct store_now *now;
    struct msg_table msgs;
};

/* Prepares sql with ?1 = client id. */
static sqlite3_stmt *per_client(struct replay *r, const char *sql, struct tern_bytes client)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->d->db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_blob(st, 1, client.ptr ? (const void *)client.ptr : "", (int)client.len,
                      SQLITE_STATIC);
    return st;
}

/* Finishes a per-client loop: the callback's value, else the step result. */
static int finish(sqlite3_stmt *st, int cb_rc, int step_rc)
{
    sqlite3_finalize(st);
    if (cb_rc)
        return cb_rc;
    return step_rc == SQLITE_DONE ? 0 : store_db_err(step_rc);
}

static int replay_subs(struct replay *r, const char *client, struct tern_bytes key)
{
    sqlite3_stmt *st = per_client(
        r, "SELECT filter, options, sub_id FROM subs WHERE client_id=?1 ORDER BY filter", key);
    if (!st)
        return TERN_EIO;
    int rc, cb_rc = 0;
    while (cb_rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char *filter = mem_strndup((const char *)col(st, 0).ptr, col(st, 0).len);
        if (!filter) {
            cb_rc = TERN_ENOMEM;
            break;
        }
        struct store_sub_rec sr = {filter, (uint8_t)sqlite3_column_int(st, 1),
                                   (uint32_t)sqlite3_column_int64(st, 2)};
        if (r->cb->sub)
            cb_rc = r->cb->sub(r->ctx, client, &sr);
        mem_free(filter);
    }
    return finish(st, cb_rc, cb_rc ? SQLITE_DONE : rc);
}

/* Decodes a sub ids blob into d (heap array, freed by the caller). */
static int decode_sub_ids(struct tern_bytes b, struct store_delivery *d)
{
    d->n_sub_ids = (uint16_t)(b.len / 4u);
    d->sub_ids = NULL;
    if (!d->n_sub_ids)
        return 0;
    uint32_t *ids = mem_alloc(d->n_sub_ids * sizeof *ids);
    if (!ids)
        return TERN_ENOMEM;
    for (size_t i = 0; i < d->n_sub_ids; i++) {
        const uint8_t *p = b.ptr + 4 * i;
        ids[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
    d->sub_ids = ids;
    return 0;
}

/* In-flight (is_inflight) or queued deliveries of one client, in order. */
static int replay_deliveries(struct replay *r, const char *client, struct tern_bytes key,
                             bool is_inflight)
{
    sqlite3_stmt *st = per_client(
        r,
        is_inflight ? "SELECT msg_id, qos, retain, sub_ids, packet_id, state FROM inflight"
                      " WHERE client_id=?1 ORDER BY ord"
                    : "SELECT msg_id, qos, retain, sub_ids FROM queue"
                      " WHERE client_id=?1 ORDER BY ord",
        key);
    if (!st)
        return TERN_EIO;
    int rc, cb_rc = 0;
    while (cb_rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_delivery dv = {(uint64_t)sqlite3_column_int64(st, 0),
                                    (uint8_t)sqlite3_column_int(st, 1),
                                    sqlite3_column_int(st, 2) != 0, 0, NULL};
        const struct msg *m = find(&r->msgs, dv.msg_id);
        if (!m)
            continue;
        cb_rc = decode_sub_ids(col(st, 3), &dv);
        if (cb_rc)
            break;
        if (is_inflight && r->cb->inflight)
            cb_rc = r->cb->inflight(r->ctx, client, (uint16_t)sqlite3_column_int(st, 4),
                                    (uint8_t)sqlite3_column_int(st, 5), m, &dv);
        else if (!is_inflight && r->cb->queued)
            cb_rc = r->cb->queued(r->ctx, client, m, &dv);
        mem_free((void *)(uintptr_t)dv.sub_ids);
    }
    return finish(st, cb_rc, cb_rc ? SQLITE_DONE : rc);
}

static int replay_qos2(struct replay *r, const char *client, struct tern_bytes key)
{
    sqlite3_stmt *st =
        per_client(r, "SELECT packet_id FROM qos2 WHERE client_id=?1 ORDER BY packet_id", key);
    if (!st)
        return TERN_EIO;
    int rc, cb_rc = 0;
    while (cb_rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->cb->qos2)
            cb_rc = r->cb->qos2(r->ctx, client, (uint16_t)sqlite3_column_int(st, 0));
    }
    return finish(st, cb_rc, cb_rc ? SQLITE_DONE : rc);
}

/* One session row (client_id, expiry_s, seen_s, will columns, version) and everything it
 * owns. */
static int replay_session(struct replay *r, sqlite3_stmt *st)
{
    struct tern_bytes key = col(st, 0);
    char *client = mem_strndup((const char *)key.ptr, key.len);
    if (!client)
        return TERN_ENOMEM;
    struct msg *will = NULL;
    if (sqlite3_column_type(st, 3) != SQLITE_NULL)
        will = build(st, 3, r->now);
    struct store_session_rec sr = {
        client, (uint32_t)sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
        will,   (uint32_t)sqlite3_column_int64(st, 9), (uint8_t)sqlite3_column_int(st, 10)};
    int rc = r->cb->session ? r->cb->session(r->ctx, &sr) : 0;
    msg_unref(will);
    if (rc == 0)
        rc = replay_subs(r, client, key);
    if (rc == 0)
        rc = replay_deliveries(r, client, key, true);
    if (rc == 0)
        rc = replay_deliveries(r, client, key, false);
    if (rc == 0)
        rc = replay_qos2(r, client, key);
    mem_free(client);
    return rc;
}

static int replay_all(struct replay *r)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(r->d->db,
                                "SELECT client_id, expiry_s, seen_s, will_topic, will_payload,"
                                " will_props, will_qos, will_retain, will_expiry_ms,"
                                " will_delay_s, version FROM sessions ORDER BY client_id",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_err(rc);
    int cb_rc = 0;
    while (cb_rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        cb_rc = replay_session(r, st);
    rc = finish(st, cb_rc, cb_rc ? SQLITE_DONE : rc);
    if (rc)
        return rc;
    rc = sqlite3_prepare_v2(r->d->db, "SELECT topic, msg_id FROM retained ORDER BY topic", -1, &st,
                            NULL);
    if (rc != SQLITE_OK)
        return store_db_err(rc);
    while (cb_rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t id = (uint64_t)sqlite3_column_int64(st, 1);
        const struct msg *m = find(&r->msgs, id);
        if (m && r->cb->retained)
            cb_rc = r->cb->retained(r->ctx, m->topic, m, id);
    }
    return finish(st, cb_rc, cb_rc ? SQLITE_DONE : rc);
}

/* The clean-up transaction; 0 or TERN_E* (reported). */
static int clean(struct store_db *d, const struct store_now *now, uint64_t sweep)
{
    int rc = store_db_exec(d, "BEGIN IMMEDIATE");
    if (rc == 0)
        rc = store_db_exec(d, cleanup_sql);
    if (rc == 0)
        rc = store_apply_expire(d, now->wall_ms, sweep);
    if (rc == 0)
        rc = store_db_exec(d, "COMMIT");
    if (rc) {
        store_db_report(d, rc, "recovery clean-up");
        if (!sqlite3_get_autocommit(d->db))
            store_db_exec(d, "ROLLBACK");
    }
    return rc;
}

int store_recover_load(struct store_db *d, const struct store_load_cb *cb, void *ctx,
                       const struct store_now *now, uint64_t sweep)
{
    int rc = clean(d, now, sweep);
    if (rc)
        return rc;
    struct replay r = {d, cb, ctx, now, {NULL, 0, 0}};
    rc = load_msgs(d, now, &r.msgs);
    if (rc == 0)
        rc = replay_all(&r);
    table_free(&r.msgs);
    return rc;
}
