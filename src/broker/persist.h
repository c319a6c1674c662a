/* What the broker keeps in the durable store, and when: persistent sessions (Session Expiry
 * > 0) with their subscriptions, queued and in-flight QoS 1/2 deliveries and inbound QoS 2
 * ids, and retained messages. Every function is a no-op returning 0 when persistence is off or
 * the session is not persistent. A returned seq > 0 is durable once store_durable_seq() covers
 * it; handle_publish holds the publisher's acknowledgement until then under
 * `persistence_fsync always`. */
#ifndef TERN_BROKER_PERSIST_H
#define TERN_BROKER_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct delivery;
struct inflight;
struct msg;
struct session;

/* Opens the store the configuration asks for and replays it into the broker (sessions,
 * subscriptions, queues, retained messages). Runs before the workers start. A store that
 * cannot be opened is reported and the broker runs without persistence. */
void persist_open(struct broker *b);
void persist_close(struct broker *b);
/* Whether acknowledgements always wait for durability (persistence on, fsync policy "always"). */
bool persist_acks_wait(const struct broker *b);
/* The highest seq whose acknowledgement may go out now: the durable seq under "always", and
 * under every policy while the store is failing (store_failed_seq() non-zero: the broker does
 * not acknowledge what it cannot store); otherwise (no store, or "interval" / "never" with a
 * healthy store) UINT64_MAX. Thread-safe. */
uint64_t persist_ack_bound(const struct broker *b);
/* Housekeeping from the main thread: expiry in the store. */
void persist_tick(struct broker *b);

uint64_t persist_retain(struct broker *b, struct msg *m);
/* Records d as queued for s (at routing time, on any worker); marks d->stored. */
uint64_t persist_queue(struct broker *b, struct session *s, struct delivery *d);
/* d leaves s's queue (sent, dropped or expired). */
uint64_t persist_unqueue(struct broker *b, struct session *s, struct delivery *d);
uint64_t persist_inflight(struct broker *b, struct session *s, const struct inflight *f);
/* f just entered the window: its in-flight row, and the removal of its queue row when it was
 * queued, as one store op (a crash between two ops would restore it twice). Returns the seq. */
uint64_t persist_inflight_enter(struct broker *b, struct session *s, struct inflight *f);
void persist_inflight_del(struct broker *b, struct session *s, uint16_t packet_id);
uint64_t persist_qos2(struct broker *b, struct session *s, uint16_t packet_id, bool add);
/* Brackets writes that must reach the disk together (store_group_begin/end); no-ops without a
 * store. */
void persist_group_begin(struct broker *b);
void persist_group_end(struct broker *b);
uint64_t persist_sub(struct broker *b, struct session *s, const char *filter, uint8_t options,
                     uint32_t sub_id, bool add);
/* At attach: makes the store match s (expiry, will, and, when s just became persistent, its
 * whole state); deletes it when s is no longer persistent. Returns the highest seq written. */
uint64_t persist_session(struct broker *b, struct session *s);
void persist_session_offline(struct broker *b, struct session *s);
void persist_session_end(struct broker *b, struct session *s);

#endif
