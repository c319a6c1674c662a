/* Opening the store database: quick_check, schema version, rename-aside of a bad file,
 * migrations, pragmas. Statement cache and error helpers for the rest of src/store. */
#include "store_db.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_vfs.h"

/* Migration i takes the schema from version i to i + 1. Version 0 is an empty file. Every
 * message body is stored once in msgs and referenced by queue, inflight and retained rows. A
 * migration is never changed once released: files out there were written by it. */
static const char *const migrations[STORE_DB_VERSION] = {
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "INSERT INTO meta VALUES('alive_s', 0);"
    "CREATE TABLE msgs(id INTEGER PRIMARY KEY, topic BLOB NOT NULL, payload BLOB NOT NULL,"
    " props BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,"
    " expiry_ms INTEGER NOT NULL);"
    "CREATE INDEX msgs_expiry ON msgs(expiry_ms) WHERE expiry_ms <> 0;"
    "CREATE TABLE sessions(client_id BLOB PRIMARY KEY, expiry_s INTEGER NOT NULL,"
    " online INTEGER NOT NULL, seen_s INTEGER NOT NULL, will_topic BLOB, will_payload BLOB,"
    " will_props BLOB, will_qos INTEGER, will_retain INTEGER, will_delay_s INTEGER,"
    " will_expiry_ms INTEGER);"
    "CREATE TABLE subs(client_id BLOB NOT NULL, filter BLOB NOT NULL, options INTEGER NOT NULL,"
    " sub_id INTEGER NOT NULL, PRIMARY KEY(client_id, filter)) WITHOUT ROWID;"
    "CREATE TABLE queue(ord INTEGER PRIMARY KEY, client_id BLOB NOT NULL,"
    " msg_id INTEGER NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,"
    " sub_ids BLOB NOT NULL);"
    "CREATE INDEX queue_client ON queue(client_id, ord);"
    "CREATE INDEX queue_msg ON queue(msg_id);"
    "CREATE TABLE inflight(client_id BLOB NOT NULL, packet_id INTEGER NOT NULL,"
    " ord INTEGER NOT NULL, msg_id INTEGER NOT NULL, qos INTEGER NOT NULL,"
    " retain INTEGER NOT NULL, state INTEGER NOT NULL, sub_ids BLOB NOT NULL,"
    " PRIMARY KEY(client_id, packet_id));"
    "CREATE INDEX inflight_msg ON inflight(msg_id);"
    "CREATE TABLE qos2(client_id BLOB NOT NULL, packet_id INTEGER NOT NULL,"
    " PRIMARY KEY(client_id, packet_id)) WITHOUT ROWID;"
    "CREATE TABLE retained(topic BLOB PRIMARY KEY, msg_id INTEGER NOT NULL);"
    "CREATE INDEX retained_msg ON retained(msg_id);",
    /* 1 -> 2: the session's MQTT protocol version (4 = 3.1.1, 5 = 5.0); 0 = not recorded, for
     * sessions stored by version 1. */
    "ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 0;",
};

int store_db_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_NOMEM:
        return TERN_ENOMEM;
    case SQLITE_TOOBIG:
        return TERN_ETOOBIG;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return TERN_EINVAL;
    default:
        return TERN_EIO;
    }
}

void store_db_report(struct store_db *d, int err, const char *what)
{
    if (!d->log)
        return;
    char line[512];
    snprintf(line, sizeof line, "store: %s: %s", what, d->db ? sqlite3_errmsg(d->db) : "no db");
    d->log(d->log_ctx, err, line);
}

static void say(struct store_db *d, int err, const char *line)
{
    if (d->log)
        d->log(d->log_ctx, err, line);
}

sqlite3_stmt *store_db_stmt(struct store_db *d, unsigned slot, const char *sql)
{
    sqlite3_stmt *st = d->stmts[slot];
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    int rc = sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        store_db_report(d, store_db_err(rc), "prepare");
        return NULL;
    }
    d->stmts[slot] = st;
    return st;
}

int store_db_exec(struct store_db *d, const char *sql)
{
    int rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);
    return store_db_err(rc);
}

int store_db_int(struct store_db *d, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_err(rc);
    rc = sqlite3_step(st);
    int ret = TERN_ENOTFOUND;
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        ret = 0;
    } else if (rc != SQLITE_DONE) {
        ret = store_db_err(rc);
    }
    sqlite3_finalize(st);
    return ret;
}

/* 0 when quick_check says "ok"; otherwise TERN_EPROTO with the reason in why. */
static int quick_check(struct store_db *d, char *why, size_t whylen)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(d->db, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        bool ok = r && strcmp(r, "ok") == 0;
        if (!ok)
            snprintf(why, whylen, "integrity check failed: %s", r ? r : "?");
        sqlite3_finalize(st);
        return ok ? 0 : TERN_EPROTO;
    }
    snprintf(why, whylen, "integrity check failed: %s", sqlite3_errmsg(d->db));
    sqlite3_finalize(st);
    return TERN_EPROTO;
}

/* Brings the schema from version v to STORE_DB_VERSION, one transaction per step. */
static int migrate(struct store_db *d, int64_t v, char *why, size_t whylen)
{
    if (v == 0) {
        int64_t tables = 0;
        if (store_db_int(d, "SELECT count(*) FROM sqlite_master", &tables) != 0 || tables) {
            snprintf(why, whylen, "not a Tern store (version 0 with %lld tables)",
                     (long long)tables);
            return TERN_EPROTO;
        }
    }
    for (; v < STORE_DB_VERSION; v++) {
        char ver[64];
        snprintf(ver, sizeof ver, "PRAGMA user_version=%lld", (long long)v + 1);
        if (store_db_exec(d, "BEGIN IMMEDIATE") != 0)
            goto io;
        if (store_db_exec(d, migrations[v]) != 0 || store_db_exec(d, ver) != 0 ||
            store_db_exec(d, "COMMIT") != 0) {
            snprintf(why, whylen, "migration to version %lld failed: %s", (long long)v + 1,
                     sqlite3_errmsg(d->db));
            store_db_exec(d, "ROLLBACK");
            return TERN_EPROTO;
        }
    }
    return 0;
io:
    snprintf(why, whylen, "%s", sqlite3_errmsg(d->db));
    return TERN_EIO;
}

static const char *sync_pragma(enum store_fsync mode)
{
    /* INTERVAL commits once per period and must sync that commit, so it is FULL like ALWAYS;
     * NEVER (NORMAL in WAL mode) syncs only at checkpoints, which keeps the file consistent. */
    return mode == STORE_FSYNC_NEVER ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL";
}

/* Stores created by builds that set auto_vacuum after WAL mode (where SQLite ignores it) have
 * none: one VACUUM converts them, once (its cost is one copy of the file). A failure (disk
 * full) is reported and leaves the store usable without it. */
static void enable_auto_vacuum(struct store_db *d)
{
    int64_t av = 0;
    if (store_db_int(d, "PRAGMA auto_vacuum", &av) != 0 || av == 2)
        return;
    if (store_db_exec(d, "PRAGMA auto_vacuum=INCREMENTAL") != 0 || store_db_exec(d, "VACUUM") != 0)
        store_db_report(d, TERN_EIO, "VACUUM to enable auto_vacuum");
}

/* One attempt. 0; TERN_EPROTO when the file is bad (rename it aside); other TERN_E* when the
 * database cannot be opened at all. why gets the reason. */
static int try_open(struct store_db *d, const char *path, enum store_fsync mode, char *why,
                    size_t whylen)
{
    const char *vfs = store_vfs_name();
    int rc = sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
    if (rc != SQLITE_OK) {
        snprintf(why, whylen, "cannot open: %s", d->db ? sqlite3_errmsg(d->db) : "no memory");
        return store_db_err(rc) ? store_db_err(rc) : TERN_EIO;
    }
    sqlite3_busy_timeout(d->db, 5000);
    sqlite3_extended_result_codes(d->db, 1);
    int64_t v = 0;
    rc = store_db_int(d, "PRAGMA user_version", &v);
    if (rc == 0)
        rc = quick_check(d, why, whylen);
    else
        snprintf(why, whylen, "cannot read: %s", sqlite3_errmsg(d->db));
    if (rc != 0)
        return (sqlite3_errcode(d->db) & 0xff) == SQLITE_BUSY ? TERN_ETIMEDOUT : TERN_EPROTO;
    if (v > STORE_DB_VERSION || v < 0) {
        snprintf(why, whylen, "schema version %lld is newer than this build's %d", (long long)v,
                 STORE_DB_VERSION);
        return TERN_EPROTO;
    }
    /* Must precede the first table, and WAL mode too: once the file is in WAL mode SQLite
     * ignores it. Without it, freed pages are never returned to the OS. */
    if (v == 0 && store_db_exec(d, "PRAGMA auto_vacuum=INCREMENTAL") != 0) {
        snprintf(why, whylen, "pragma: %s", sqlite3_errmsg(d->db));
        return TERN_EIO;
    }
    char mode_buf[16] = "";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(mode_buf, sizeof mode_buf, "%s", sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    if (strcmp(mode_buf, "wal") != 0) {
        snprintf(why, whylen, "cannot enable WAL: %s", sqlite3_errmsg(d->db));
        return TERN_EIO;
    }
    if (store_db_exec(d, sync_pragma(mode)) != 0 ||
        store_db_exec(d, "PRAGMA wal_autocheckpoint=1000") != 0) {
        snprintf(why, whylen, "pragma: %s", sqlite3_errmsg(d->db));
        return TERN_EIO;
    }
    rc = migrate(d, v, why, whylen);
    if (rc == 0)
        enable_auto_vacuum(d);
    return rc;
}

static void close_raw(struct store_db *d)
{
    for (unsigned i = 0; i < STORE_DB_MAX_STMTS; i++) {
        sqlite3_finalize(d->stmts[i]);
        d->stmts[i] = NULL;
    }
    sqlite3_close(d->db);
    d->db = NULL;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Renames path (and its -wal, -shm) to "<path>.corrupt-<UTC time>[.N]"; 0 or TERN_ESYS. */
static int rename_aside(const char *path, char *to, size_t tolen)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(to, tolen, "%s.corrupt-%s", path, stamp);
    for (int n = 1; file_exists(to) && n < 1000; n++)
        snprintf(to, tolen, "%s.corrupt-%s.%d", path, stamp, n);
    if (rename(path, to) != 0)
        return TERN_ESYS;
    static const char *const sfx[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2; i++) {
        char a[4200], b[4200];
        snprintf(a, sizeof a, "%s%s", path, sfx[i]);
        snprintf(b, sizeof b, "%s%s", to, sfx[i]);
        if (file_exists(a) && rename(a, b) != 0)
            unlink(a);
    }
    return 0;
}

int store_db_open(struct store_db *d, const char *path, enum store_fsync mode, char *err,
                  size_t errlen)
{
    char why[512] = "";
    bool existed = file_exists(path);
    int rc = try_open(d, path, mode, why, sizeof why);
    if (rc == 0)
        return 0;
    close_raw(d);
    /* A locked file belongs to a live process: never move it. */
    if (!existed || (rc != TERN_EPROTO && rc != TERN_EIO)) {
        snprintf(err, errlen, "store %s: %s", path, why);
        return rc == TERN_EPROTO ? TERN_EIO : rc;
    }
    char to[4096], line[4800];
    if (rename_aside(path, to, sizeof to) != 0) {
        snprintf(err, errlen, "store %s: %s; cannot rename it aside: %s", path, why,
                 strerror(errno));
        return TERN_EIO;
    }
    snprintf(line, sizeof line,
             "store %s is unusable (%s): renamed aside to %s; starting with an EMPTY store", path,
             why, to);
    say(d, TERN_EIO, line);
    rc = try_open(d, path, mode, why, sizeof why);
    if (rc == 0)
        return 0;
    close_raw(d);
    snprintf(err, errlen, "store %s: fresh store: %s", path, why);
    return rc == TERN_EPROTO ? TERN_EIO : rc;
}

void store_db_close(struct store_db *d)
{
    if (d->db)
        close_raw(d);
}
