/* Applies queued ops to the database inside the store thread's open transaction, keeping
 * message bodies garbage collected by reference; expiry; idle maintenance (checkpoint,
 * incremental vacuum). Not thread-safe: the caller holds the store's database lock.
 * Does not begin or commit transactions (store.c does). */
#ifndef TERN_STORE_STORE_APPLY_H
#define TERN_STORE_STORE_APPLY_H

#include <stdint.h>

#include "store_db.h"
#include "store_op.h"

/* Applies one op. 0 when applied, or skipped because it was invalid (reported through the
 * log); TERN_EIO / TERN_ENOMEM when the transaction must be rolled back and retried. */
int store_apply_op(struct store_db *d, const struct store_op *op);

/* Deletes expired sessions (offline, seen_s + expiry_s <= now), queued and retained references
 * to expired messages, expired messages without in-flight references, and unreferenced
 * messages with an id below sweep_below. 0, TERN_EIO or TERN_ENOMEM. */
int store_apply_expire(struct store_db *d, int64_t now_ms, uint64_t sweep_below);

/* Records wall_s as the last time the store was known alive (for sessions online at a crash).
 * 0, TERN_EIO or TERN_ENOMEM. */
int store_apply_alive(struct store_db *d, int64_t wall_s);

/* Maintenance outside any transaction: returns up to max_pages free pages to the OS (0 = all)
 * and checkpoints the WAL into the database, truncating it. Its cost is bounded by max_pages
 * and by the WAL's size (SQLite checkpoints every 1000 WAL pages on its own). Errors are
 * reported and otherwise ignored. */
void store_apply_maintain(struct store_db *d, uint32_t max_pages);

#endif
