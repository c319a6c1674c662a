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
struct loop;
struct ws_worker;

enum work_kind {
    WORK_DELIVER = 1,    /* deliver d to session s */
    WORK_TAKEOVER = 2,   /* to s's owner: detach s from its connection, hand it to conn's worker */
    WORK_HANDOFF = 3,    /* to conn's worker: s is now yours, attach it to conn */
    WORK_KICK = 4,       /* to s's owner: disconnect s's connection (0x8E) and end the session */
    WORK_DISCONNECT = 5, /* to s's owner: close s's connection with 0x98 (REST API kick) */
};

struct work_item {
    uint8_t kind;
    struct session *s; /* holds a reference */
    struct conn *conn; /* TAKEOVER / HANDOFF: the new connection (kept alive while pending) */
    struct delivery d; /* DELIVER */
};

struct work_vec {
    struct work_item *items;
    size_t len, cap;
};

/* One subscriber match collected while the tree is read-locked. */
struct match {
    struct session *s;
    uint8_t options;
    bool shared;
    uint32_t sub_id;
};

struct listen_fd {
    int fd;
    struct listener_rt *lr;
    struct worker *w;
};

struct worker_stats {
    _Atomic uint64_t msgs_received, msgs_sent, bytes_received, bytes_sent;
};

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
    struct work_vec inbox;   /* guarded by inbox_lock */
    struct work_vec *outbox; /* [n_workers]: batches for other workers */
    bool outbox_pending;

    struct match *matches;  /* scratch for routing */
    uint8_t scratch[65536]; /* socket reads land here first (conn.c read_once) */
    size_t n_matches, cap_matches;
    uint64_t sys_timer;
    struct worker_stats stats; /* written by this worker, read by $SYS */
    /* Acknowledgements waiting for the store (persistence_fsync always). */
    struct list_node ack_conns; /* conns with a non-empty ack queue */
    _Atomic bool acks_waiting;  /* read by the store thread to decide whom to wake */
    uint64_t pub_seq;           /* highest store seq the PUBLISH being handled produced */
    struct ws_worker *ws;       /* ws_listener.c: HTTP connections before their upgrade */
};

struct worker *worker_new(struct broker *b, unsigned index);
void worker_free(struct worker *w);
/* Opens this worker's listening sockets (TCP with SO_REUSEPORT; unix on worker 0). */
TERN_MUST_CHECK int worker_listen(struct worker *w);
TERN_MUST_CHECK int worker_start(struct worker *w);
/* Asks the worker to disconnect everyone and stop; returns at once. */
void worker_request_stop(struct worker *w);
void worker_join(struct worker *w);

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
