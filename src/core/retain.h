/* The retained-message store: one message per topic name, kept in a topic-level tree so that a
 * wildcard subscription walks only the matching branches ('+' expands one level, '#' a
 * subtree). Guarded by one rwlock (matches run concurrently). It does not deliver messages or
 * persist them; callers own their own references. */
#ifndef TERN_CORE_RETAIN_H
#define TERN_CORE_RETAIN_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

struct msg;
struct retain;

/* A new, empty store. max_count 0 / max_bytes 0 = unlimited (bytes measured with msg_cost()).
 * NULL on OOM. */
struct retain *retain_new(uint32_t max_count, uint64_t max_bytes);

/* Frees the store and drops every message's reference. Accepts NULL. */
void retain_free(struct retain *r);

/* Stores m under its topic, taking a NEW reference (msg_ref); the caller keeps its own. Any
 * previous message of that topic is replaced (and unref'ed). A message with an empty payload
 * deletes the topic instead and is not stored [MQTT-3.3.1-6], [MQTT-3.3.1-7].
 * Returns 0; TERN_EFULL when adding a NEW topic would exceed max_count or max_bytes, or when a
 * replacement would exceed max_bytes (the old message then stays); TERN_ENOMEM (unchanged).
 * Thread-safe. */
int retain_set(struct retain *r, struct msg *m);

/* Calls fn(m, ctx) for each retained message whose topic matches filter (a valid non-shared
 * filter; a filter starting with a wildcard does not match topics starting with '$') and that
 * has not expired at now_ms. fn gets a borrowed message: msg_ref() it to keep it. fn runs under
 * the store's read lock: it must not call back into the store. Thread-safe. */
void retain_match(struct retain *r, struct tern_bytes filter, uint64_t now_ms,
                  void (*fn)(struct msg *m, void *ctx), void *ctx);

/* Removes every message expired at now_ms. Thread-safe. */
void retain_expire(struct retain *r, uint64_t now_ms);

/* Retained messages (expired ones included until removed). Thread-safe. */
size_t retain_count(struct retain *r);
/* Sum of msg_cost() of the retained messages. Thread-safe. */
uint64_t retain_bytes(struct retain *r);

/* For the REST API / tests: calls fn for every retained message (borrowed), under the read
 * lock. Thread-safe. */
void retain_foreach(struct retain *r, void (*fn)(struct msg *m, void *ctx), void *ctx);

#endif
