/* Recovery: cleans the database of what a crash or expiry left behind, then replays sessions
 * (with subscriptions, in-flight, queued and QoS 2 state) and retained messages through the
 * caller's callbacks, rebuilding each stored message once with msg_new(). Not thread-safe:
 * the caller holds the store's database lock and no batch is in progress. */
#ifndef TERN_STORE_STORE_RECOVER_H
#define TERN_STORE_STORE_RECOVER_H

#include <stdint.h>

#include "store.h"
#include "store_db.h"

/* See store_load(). sweep: messages with a lower id that nothing references are deleted. */
int store_recover_load(struct store_db *d, const struct store_load_cb *cb, void *ctx,
                       const struct store_now *now, uint64_t sweep);

#endif
