/* Session life: attaching a session to a connection (CONNACK, resending what was in flight),
 * detaching it when the connection closes (will, expiry timer), ending it, and moving it
 * between workers on takeover. All on the owning worker's thread. */
#ifndef TERN_BROKER_LIFECYCLE_H
#define TERN_BROKER_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

struct conn;
struct msg;
struct session;
struct worker;

/* Makes s (owned by w, reference taken over) the session of c, sends CONNACK with
 * session_present and resends in-flight messages, then queued ones. */
void lifecycle_attach(struct worker *w, struct conn *c, struct session *s, bool session_present);
/* Called when c closes: publishes or schedules the will, ends the session or starts its
 * expiry timer. */
void lifecycle_detach(struct worker *w, struct conn *c);
/* Removes s's subscriptions from the tree and s from the registry; drops queued messages. */
void lifecycle_end(struct worker *w, struct session *s);
/* Publishes s's will now (if any) and clears it. */
void lifecycle_publish_will(struct worker *w, struct session *s);
/* Work items (see worker.h): run on the worker that received them. */
void lifecycle_takeover(struct worker *w, struct session *s, struct conn *newc);
void lifecycle_handoff(struct worker *w, struct session *s, struct conn *c);
void lifecycle_kick(struct worker *w, struct session *s);
/* Chooses, creates or takes over the session for client id (taken over) and attaches it to c. */
void lifecycle_open(struct conn *c, char *id, bool clean, uint32_t expiry, struct msg *will,
                    uint32_t will_delay);
/* A session restored from the store, offline: arms its expiry timer and, when it has a will
 * that was not yet published, the will timer. Called before the workers start. */
void lifecycle_restored(struct worker *w, struct session *s, int64_t expiry_left_ms,
                        int64_t will_left_ms);
/* Cancels s's timers on w (before s moves to another worker). */
void lifecycle_cancel_timers(struct worker *w, struct session *s);

#endif
