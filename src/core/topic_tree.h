/* The subscription tree shared by every worker: topic filter -> subscribers, matched against
 * each published topic name. Readers (topic_tree_match) never lock: the tree is read under
 * userspace RCU (liburcu-bp) and writers, serialised by one mutex, publish new nodes and
 * retire removed ones after a grace period. It does not know sessions, QoS delivery or retained
 * messages; a subscriber is an opaque pointer compared by address. */
#ifndef TERN_CORE_TOPIC_TREE_H
#define TERN_CORE_TOPIC_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

struct topic_tree;

/* A new, empty tree. NULL on OOM. */
struct topic_tree *topic_tree_new(void);

/* Frees the tree and everything in it. No other thread may use t any more. Accepts NULL. */
void topic_tree_free(struct topic_tree *t);

/* Adds, or replaces the options/sub_id of, the subscription of `subscriber` (compared by
 * address, never dereferenced) to `filter`. filter must be valid (codec_topic_filter_valid) and
 * may be "$share/{group}/{filter}": the subscriber then joins that group on that filter.
 * options: MQTT_SUBOPT_* byte. sub_id: v5 Subscription Identifier, 0 = none.
 * Returns 1 when new, 0 when it replaced an existing subscription, TERN_ENOMEM (the tree is then
 * unchanged). Thread-safe. */
int topic_tree_add(struct topic_tree *t, struct tern_bytes filter, void *subscriber,
                   uint8_t options, uint32_t sub_id);

/* Removes the subscription of `subscriber` to `filter` (same filter form as add) and prunes the
 * nodes it leaves empty (freed after readers are done with them). Returns 0 when removed,
 * TERN_ENOTFOUND when that subscriber had no such subscription, TERN_ENOMEM only when leaving a
 * shared group of more than one member could not copy the member array (nothing changed).
 * Thread-safe. */
int topic_tree_remove(struct topic_tree *t, struct tern_bytes filter, void *subscriber);

/* Called by topic_tree_match: see there. */
typedef void (*topic_match_fn)(void *subscriber, uint8_t options, uint32_t sub_id, bool shared,
                               void *ctx);

/* Calls fn once per matching non-shared subscription, and once per matching shared group with
 * ONE member chosen round robin among that group's members for that filter (shared = true).
 * topic must be a valid topic name. A filter starting with a wildcard does not match a topic
 * starting with '$' [MQTT-4.7.2-1]. fn runs inside an RCU read-side section: it must not call
 * back into the tree and must be quick. The same subscriber may be reported several times
 * (overlapping filters); the caller merges. Thread-safe, lock-free against add/remove. The
 * recursion depth is at most the number of levels of topic. */
void topic_tree_match(struct topic_tree *t, struct tern_bytes topic, topic_match_fn fn, void *ctx);

/* For shared-subscription redelivery: picks a member of group `group` on (non-shared) `filter`
 * other than `except` (round robin); NULL if there is none. Thread-safe. */
void *topic_tree_shared_pick(struct topic_tree *t, struct tern_bytes group,
                             struct tern_bytes filter, const void *except);
/* Like topic_tree_shared_pick, but calls take(subscriber) on the chosen member while the tree
 * still guarantees it is subscribed (the caller's subscribers must stay alive while they are in
 * the tree), and returns what take returns: lets the caller take a reference safely. */
void *topic_tree_shared_take(struct topic_tree *t, struct tern_bytes group,
                             struct tern_bytes filter, const void *except,
                             void *(*take)(void *subscriber));
/* topic_tree_shared_take that also reports the chosen member's subscription options and
 * identifier (0 = none) in *options and *sub_id (left alone when NULL is returned). */
void *topic_tree_shared_take_opts(struct topic_tree *t, struct tern_bytes group,
                                  struct tern_bytes filter, const void *except,
                                  void *(*take)(void *subscriber), uint8_t *options,
                                  uint32_t *sub_id);

/* Called by topic_tree_walk for one subscription: filter is the topic filter without any
 * "$share/{group}/" prefix; group is the shared group's name, empty (len 0) when not shared. */
typedef void (*topic_walk_fn)(void *subscriber, struct tern_bytes filter, struct tern_bytes group,
                              uint8_t options, uint32_t sub_id, void *ctx);

/* Calls fn once per subscription in the tree (once per member of a shared group), in no
 * particular order, inside an RCU read-side section: fn must be quick and must not call back into
 * the tree; it may take a reference to subscriber (subscribers stay alive while in the tree).
 * Subscriptions added or removed meanwhile may or may not be reported. For the REST API, not
 * the publish path. Returns 0 or TERN_ENOMEM. Thread-safe. */
int topic_tree_walk(struct topic_tree *t, topic_walk_fn fn, void *ctx);

/* Subscriptions in the tree (each shared group member counts one). Thread-safe. */
size_t topic_tree_count(struct topic_tree *t);

/* Returns once every match that started before the call has finished: after removing a
 * subscriber, no reader can still be looking at it. Blocks for an RCU grace period; must not be
 * called from inside a match callback. Thread-safe. */
void topic_tree_quiesce(struct topic_tree *t);
/* Waits until no reader can still see removed nodes and frees them now (otherwise they are
 * freed in batches). For tests and memory accounting; must not be called from inside fn.
 * Thread-safe. */
void topic_tree_reclaim(struct topic_tree *t);

#endif
