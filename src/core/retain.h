/* The retained-message store: one message per topic name (with who published it, when the
 * caller records that), kept in a topic-level tree so that a wildcard subscription walks only the
 * matching branches ('+' expands one level, '#' a subtree). Guarded by one rwlock (matches run
 * concurrently). It does not deliver messages, check ACLs or persist; callers own their own
 * references. */
#ifndef TERN_CORE_RETAIN_H
#define TERN_CORE_RETAIN_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

struct msg;
struct retain;

/* Who published a retained message (for check_retain_source): client id, user name (NULL =
 * anonymous) and the broker's listener it came through (opaque here). */
struct retain_source {
    const char *client_id;
    const char *username;
    const void *listener;
};

/* Called for each match with the message (borrowed) and its publisher (NULL when not recorded,
 * e.g. the broker's own messages); both are valid during the call only. */
typedef void (*retain_match_fn)(struct msg *m, const struct retain_source *src, void *ctx);

/* A new, empty store. max_count 0 / max_bytes 0 = unlimited (bytes measured with msg_cost()).
 * NULL on OOM. */
struct retain *retain_new(uint32_t max_count, uint64_t max_bytes);

/* Frees the store and drops every message's reference. Accepts NULL. */
void retain_free(struct retain *r);
/* Replaces the caps (as retain_new's); messages already stored stay. Thread-safe. */
void retain_set_limits(struct retain *r, uint32_t max_count, uint64_t max_bytes);

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

/* retain_match, also passing each message's publisher (retain_set_source). Thread-safe. */
void retain_match_src(struct retain *r, struct tern_bytes filter, uint64_t now_ms,
                      retain_match_fn fn, void *ctx);

/* Records src (copied) as the publisher of m, when m is still the retained message of its topic
 * (otherwise nothing happens). Replacing or deleting the topic's message drops the record.
 * Returns 0 or TERN_ENOMEM. Thread-safe. */
int retain_set_source(struct retain *r, const struct msg *m, const struct retain_source *src);

/* Removes every message expired at now_ms; returns how many. Thread-safe. */
size_t retain_expire(struct retain *r, uint64_t now_ms);

/* The periodic sweep of retain_expiry_interval: call it often (e.g. every few seconds) with the
 * period; it runs retain_expire once per period_ms (the first time one period after the first
 * call) and returns what it removed. period_ms 0 = off. Thread-safe; meant for one caller. */
size_t retain_sweep(struct retain *r, uint64_t now_ms, uint64_t period_ms);

/* Retained messages (expired ones included until removed). Thread-safe. */
size_t retain_count(struct retain *r);
/* Sum of msg_cost() of the retained messages. Thread-safe. */
uint64_t retain_bytes(struct retain *r);

/* For the REST API / tests: calls fn for every retained message (borrowed), under the read
 * lock. Thread-safe. */
void retain_foreach(struct retain *r, void (*fn)(struct msg *m, void *ctx), void *ctx);

#endif
