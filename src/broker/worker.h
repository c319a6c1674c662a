/* A worker: one thread, one event loop, the connections accepted on it and the sessions it
 * owns. Other workers reach it only through its inbox (a mutex-guarded vector, woken by the
 * loop's eventfd), filled in batches once per loop iteration of the sender. */
#ifndef TERN_BROKER_WORKER_H
#define TERN_BROKER_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "session.h"

struct broker;
struct conn;
struct http_api_query;
struct loop;
struct ws_worker;

enum work_kind {
    WORK_DELIVER = 1,    /* deliver d to session s */
    WORK_TAKEOVER = 2,   /* to s's owner: detach s from its connection, hand it to conn's worker */
    WORK_HANDOFF = 3,    /* to conn's worker: s is now yours, attach it to conn */
    WORK_KICK = 4,       /* to s's owner: disconnect s's connection (0x8E) and end the session */
    WORK_DISCONNECT = 5, /* to s's owner: close s's connection with 0x98 (REST API kick) */
    WORK_INSPECT = 6,    /* to s's owner: build s's REST client object (http_api_client.c) */
    WORK_INSPECT_DONE = 7, /* back to the requesting worker: answer with it (s is NULL) */
    WORK_SETTLED = 8,      /* from s's previous owner to its new one: everything other workers sent
                              the previous owner for s has been forwarded; deliver what was held */
};

struct work_item {
    uint8_t kind;
    bool forwarded;    /* DELIVER passed on by a previous owner: not held (see settle) */
    struct session *s; /* holds a reference */
    struct conn *conn; /* TAKEOVER / HANDOFF: the new connection (kept alive while pending) */
    struct delivery d; /* DELIVER */
    struct http_api_query *query; /* INSPECT, INSPECT_DONE (owned by the item) */
};

struct work_vec {
    struct work_item *items;
    size_t len, cap;
};

/* One subscriber match collected while the tree is read-locked. A session owned by the routing
 * worker is borrowed (held false): only that thread can end it, and deliver_note_ended tells
 * route when it does. Any other session is held by a reference. */
struct match {
    struct session *s;
    uint8_t options;
    bool shared;
    bool held; /* s holds a reference (given to the work item, or dropped after routing) */
    bool head; /* first match of its session: next chains the others (overlapping filters) */
    uint32_t sub_id;
    uint32_t next; /* index + 1 of the session's next match, 0 = last */
};

/* A slot of route's per-worker hash of matched sessions (valid when gen is the current). */
struct match_slot {
    const struct session *s;
    uint32_t gen;
    uint32_t head, tail; /* indexes of the session's first and last match */
};

/* Period of the keep-alive sweep: a connection is closed between 1.5 x Keep Alive and that
 * plus this. */
#define WORKER_KA_SWEEP_MS 500
#define WORKER_ENDED_MAX   8 /* sessions ended during one fan-out that route can remember */

struct listen_fd {
    int fd;
    struct listener_rt *lr;
    struct worker *w;
};

/* Why a message did not reach a subscriber: tern_messages_dropped_total{reason} (names in
 * broker_metrics.c, meanings in docs/http.md). A refused PUBLISH counts once; a delivery lost
 * for one subscriber counts once per subscriber. */
enum drop_reason {
    DROP_QUEUE_FULL,    /* the session's queue is at max_queued_messages / max_queued_bytes */
    DROP_TOO_LARGE,     /* over message_size_limit, or the subscriber's Maximum Packet Size */
    DROP_EXPIRED,       /* its Message Expiry Interval passed before it could go out */
    DROP_ACL_DENIED,    /* the publisher may not write the topic, or the subscriber not read it */
    DROP_QOS0_OFFLINE,  /* QoS 0 for a subscriber that is not connected */
    DROP_SLOW_CONSUMER, /* QoS 0 for a subscriber with more than 16 MiB unsent */
    DROP_NO_PACKET_ID,  /* all 65535 packet ids of the subscriber are in flight */
    DROP_SESSION_ENDED, /* queued or in flight when its session ended (or it was ending) */
    DROP_BAD_TOPIC,     /* the topic has more levels than the broker accepts */
    DROP_SYS_TOPIC,     /* a client published under $SYS */
    DROP_NO_MEMORY,     /* out of memory */
    DROP_RETAIN_FULL,   /* not retained: the retained store is at its caps (still routed) */
    DROP_REASONS
};

#define WORKER_LAG_BUCKETS 10 /* bounds in broker_metrics.c, plus +Inf */

/* Counters of one worker, written only by its own thread with worker_stat_add (a relaxed load
 * and store: no locked read-modify-write on the hot path) and read by any thread with relaxed
 * loads ($SYS, /metrics, the REST API). queued and inflight are this worker's pushes minus pops
 * modulo 2^64: a session may be filled on one worker and emptied on another, so only the sum over
 * all workers is meaningful (the number of messages queued / in flight in every session). */
struct worker_stats {
    _Atomic uint64_t msgs_received; /* MQTT packets received */
    _Atomic uint64_t msgs_sent;     /* PUBLISH packets sent */
    _Atomic uint64_t bytes_received, bytes_sent;
    _Atomic uint64_t publish_received[3];       /* PUBLISH packets received, by QoS */
    _Atomic uint64_t publish_sent[3];           /* PUBLISH packets sent, by QoS */
    _Atomic uint64_t publish_received_bytes[3]; /* their whole packets' bytes, by QoS */
    _Atomic uint64_t publish_sent_bytes[3];
    _Atomic uint64_t dropped[DROP_REASONS];
    _Atomic uint64_t sockets_opened;    /* network connections accepted ($SYS load/sockets) */
    _Atomic uint64_t connects_received; /* CONNECT packets ($SYS load/connections) */
    _Atomic uint64_t queued, inflight;
    /* Event-loop lag (broker_metrics_worker_start): how late a 1 s timer fired. */
    _Atomic uint64_t lag_buckets[WORKER_LAG_BUCKETS + 1]; /* per bucket, not cumulative */
    _Atomic uint64_t lag_sum_ns;
    uint64_t lag_due_ns; /* the probe timer's due time (this worker only) */
};

/* Adds n to a counter of the calling worker's own struct worker_stats (n may be a negative
 * number cast to uint64_t for queued and inflight). */
static inline void worker_stat_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

struct worker {
    struct broker *b;
    unsigned index;
    pthread_t thread;
    struct loop *loop;
    struct listen_fd *lfds;
    size_t n_lfds;
    struct list_node conns;     /* every struct conn of this worker */
    struct list_node dirty;     /* conns with output to flush at the end of this iteration */
    struct list_node graveyard; /* closed conns, freed at the end of this iteration */
    bool stopping;              /* set under inbox_lock by worker_request_stop */
    bool shutting_down;         /* this thread saw stopping: closing everything, no wills */

    pthread_mutex_t inbox_lock;
    struct work_vec inbox;         /* guarded by inbox_lock */
    struct list_node lost_queries; /* guarded by inbox_lock: http_api_query_lost */
    struct work_vec *outbox;       /* [n_workers]: batches for other workers */
    bool outbox_pending;

    struct match *matches;  /* scratch for routing */
    uint8_t scratch[65536]; /* socket reads land here first (conn.c read_once) */
    size_t n_matches, cap_matches;
    struct match_slot *match_slots; /* deliver.c route: merges a session's matches */
    size_t cap_match_slots;
    uint32_t match_gen;
    /* Sessions this worker ended while a route was running (a re-entrant will publish after an
     * out-of-memory close): route skips its borrowed matches of them. */
    unsigned routing; /* depth of route on this thread */
    uint8_t n_ended;
    bool ended_overflow; /* more than WORKER_ENDED_MAX: every borrowed match is skipped */
    struct session *ended[WORKER_ENDED_MAX];
    uint64_t sys_timer;
    uint64_t ka_timer;         /* the keep-alive sweep (conn_keepalive_sweep) */
    struct worker_stats stats; /* written by this worker, read by $SYS */
    /* Acknowledgements waiting for the store (persistence_fsync always). */
    struct list_node ack_conns; /* conns with a non-empty ack queue */
    _Atomic bool acks_waiting;  /* read by the store thread to decide whom to wake */
    uint64_t pub_seq;           /* highest store seq the PUBLISH being handled produced */
    struct ws_worker *ws;       /* ws_listener.c: HTTP connections before their upgrade */

    /* Ordering across a session's move between workers (worker.c, "settle"). */
    _Atomic uint64_t epoch; /* iterations finished, each after its batches were handed over */
    struct settle *settles; /* sessions this worker gave away, until their SETTLED is sent */
    size_t n_settles;
    uint64_t settle_timer;
    struct work_vec held;     /* deliveries to settling sessions this worker now owns */
    struct work_vec deferred; /* takeovers of settling sessions, retried at SETTLED */
};

struct worker *worker_new(struct broker *b, unsigned index);
void worker_free(struct worker *w);
/* Opens this worker's listening sockets (TCP with SO_REUSEPORT; unix on worker 0). */
TERN_MUST_CHECK int worker_listen(struct worker *w);
TERN_MUST_CHECK int worker_start(struct worker *w);
/* Asks the worker to disconnect everyone and stop; returns at once. */
void worker_request_stop(struct worker *w);
void worker_join(struct worker *w);
/* Inline mode (no thread, broker_start_inline): runs one iteration of w's loop in the calling
 * thread, without blocking: ready I/O, due timers, the inbox, then the end-of-iteration flush.
 * Returns 0, or TERN_ESYS when the loop failed. */
TERN_MUST_CHECK int worker_run_once(struct worker *w);
/* Inline mode: whether w has nothing left to do by itself (empty inbox, no REST query handed
 * back to it, nothing batched for other workers, no output waiting, no closed connection
 * waiting to be freed). Pending input on connections and timers are not looked at. */
bool worker_idle(struct worker *w);

/* Called by s's owner w right after it stored to as the new owner (with s->settling set
 * before that store): w forwards deliveries for s that other workers sent it before they saw
 * the move, then sends `to` WORK_SETTLED; until then `to` holds the deliveries it gets for s
 * directly, so that no message overtakes an earlier one from the same publisher. */
void worker_settle_begin(struct worker *w, struct session *s, struct worker *to);
/* Whether deliveries to s must be held now (s is settling on this, its new owner). */
static inline bool worker_settle_holds(const struct session *s)
{
    return atomic_load_explicit(&s->settling, memory_order_relaxed);
}
/* Holds delivery d for settling session s on its new owner w (takes d over). */
void worker_settle_hold(struct worker *w, struct session *s, struct delivery *d);

/* Queues an item for worker `to` (sent at the end of this iteration); takes over the item's
 * references. Called on w's thread. If to == w the item is processed at once. */
void worker_post(struct worker *w, struct worker *to, struct work_item *it);
/* Processes one work item on w's thread (forwarding it when w no longer owns the session). */
void worker_handle_item(struct worker *w, struct work_item *it);

/* The worker that owns session s right now. */
static inline struct worker *session_owner(struct session *s)
{
    return (struct worker *)atomic_load_explicit(&s->owner, memory_order_acquire);
}

#endif
