/* The store's SQLite connection: open with integrity and schema-version checks, renaming a bad
 * file aside and starting fresh; versioned schema with migrations; pragmas per durability
 * policy; a cache of prepared statements. Not thread-safe: the caller serialises every use.
 * It knows the schema but not the meaning of the ops (store_apply.c, store_recover.c). */
#ifndef TERN_STORE_STORE_DB_H
#define TERN_STORE_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "err.h"
#include "store.h"

/* The schema version this build writes (PRAGMA user_version). */
#define STORE_DB_VERSION   2
#define STORE_DB_MAX_STMTS 48

struct store_db {
    sqlite3 *db;
    sqlite3_stmt *stmts[STORE_DB_MAX_STMTS];
    store_log_fn log;
    void *log_ctx;
};

/* Opens path (see store_open for the bad-file policy). 0, or TERN_EIO / TERN_ENOMEM with a
 * message in err when not even a fresh database can be created. */
TERN_MUST_CHECK int store_db_open(struct store_db *d, const char *path, enum store_fsync mode,
                                  char *err, size_t errlen);
/* Finalises statements and closes (checkpointing the WAL away). Accepts a closed db. */
void store_db_close(struct store_db *d);

/* The cached statement in slot, prepared from sql on first use and reset for reuse; NULL on
 * error (reported through the log). slot < STORE_DB_MAX_STMTS; each slot has one sql. */
sqlite3_stmt *store_db_stmt(struct store_db *d, unsigned slot, const char *sql);
/* Runs sql with no result rows. 0 or a TERN_E* code (reported through the log). */
int store_db_exec(struct store_db *d, const char *sql);
/* Runs a one-value query; 0 with *out set, TERN_ENOTFOUND with no row, or TERN_E*. */
int store_db_int(struct store_db *d, const char *sql, int64_t *out);

/* TERN_E* for a SQLite result code. */
int store_db_err(int rc);
/* Reports a loud message through the log: "store: <what>: <sqlite message>". */
void store_db_report(struct store_db *d, int err, const char *what);

#endif
