/* Message flow out of the broker: publish (retain + route), delivery to a session on its owner
 * worker (window, queue, drop), and the hand-written per-subscriber PUBLISH encoder. */
#ifndef TERN_BROKER_DELIVER_H
#define TERN_BROKER_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct delivery;
struct msg;
struct session;
struct subscription;
struct worker;

/* Stores m as retained when it carries the RETAIN flag, then routes it. Returns the number of
 * sessions it was routed to. The caller keeps its reference. */
size_t deliver_publish(struct worker *w, struct msg *m);
/* Tells a route running on w (further up the stack) that s, which w owns, has ended and may be
 * freed: route borrows w's own sessions without a reference. Called by lifecycle_end. */
void deliver_note_ended(struct worker *w, struct session *s);
/* Delivers d (references taken over) to s; w must own s. While s settles after a move to w,
 * d is held until the previous owner's SETTLED (worker_settle_begin). */
void deliver_to_session(struct worker *w, struct session *s, struct delivery *d);
/* The same without the hold: for deliveries the previous owner forwarded, and held ones. */
void deliver_to_session_now(struct worker *w, struct session *s, struct delivery *d);
/* Moves queued deliveries into the in-flight window while it has room. */
void deliver_pump(struct worker *w, struct session *s);
/* After a reconnect: resends every in-flight message with DUP set, and PUBRELs
 * [MQTT-4.4.0-1]. */
void deliver_resend(struct worker *w, struct session *s);
/* When s ends: QoS 1/2 messages it got through a shared subscription and had not completed go
 * to another member of that group [MQTT-4.8.2-?] (v5 4.8.2: "SHOULD send ... to another
 * Client"). Call after s's subscriptions left the tree and before its queue is dropped. */
void deliver_redistribute(struct worker *w, struct session *s);

/* s unsubscribed `gone` (detached from s->subs; its filter is taken over): a shared subscription
 * that messages still here came through is kept in s->left, so deliver_redistribute can still
 * hand them to its group [MQTT-3.10.4-3 has them delivered to s meanwhile]. */
void deliver_unsubscribed(struct session *s, struct subscription *gone);
/* Encodes d as a PUBLISH for c into its output. Returns 0, or a negative code when the packet
 * exceeds the client's Maximum Packet Size (it is then not sent [MQTT-3.1.2-24]) or on OOM. */
int deliver_send_publish(struct conn *c, const struct delivery *d, uint16_t packet_id, bool dup);

#endif
