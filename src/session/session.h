/* A client session: what outlives a network connection (subscriptions, the outbound in-flight
 * window, queued messages, inbound QoS 2 packet ids, the will, expiry). Pure state, no I/O: the
 * broker decides when to send; this module keeps the books. Not thread-safe: only the worker
 * that owns the session (session->owner) touches its mutable state; the reference count and
 * the owner pointer are atomic so other workers can hand work to it. */
#ifndef TERN_SESSION_SESSION_H
#define TERN_SESSION_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct msg;

/* One delivery: a message with the QoS and flags it goes out with to this session. */
struct delivery {
    struct msg *m; /* holds a reference */
    uint8_t qos;
    bool retain; /* the RETAIN flag this subscriber sees */
    bool shared; /* came only through shared subscriptions: redelivered elsewhere if
                    this session ends before it is acknowledged */
    bool stored; /* the durable store holds it as queued for this session */
    uint16_t n_sub_ids;
    uint32_t sub_id;   /* when n_sub_ids == 1 */
    uint32_t *sub_ids; /* heap array when n_sub_ids > 1 */
};

enum inflight_state {
    INFLIGHT_WAIT_PUBACK = 1,
    INFLIGHT_WAIT_PUBREC = 2,
    INFLIGHT_WAIT_PUBCOMP = 3,
};

struct inflight {
    uint16_t packet_id;
    uint8_t state; /* enum inflight_state */
    struct delivery d;
};

struct subscription {
    char *filter; /* as subscribed, including any "$share/g/" prefix */
    uint16_t filter_len;
    uint8_t options;
    uint32_t sub_id;
};

/* Counts and capacities are 32-bit and the fields packed: one of these exists per client, so
 * its size is part of the broker's memory per idle connection (bench/analysis.md). */
struct session {
    _Atomic uint32_t refs;
    uint32_t expiry_s; /* Session Expiry Interval; UINT32_MAX = never */
    uint64_t id;       /* unique for the broker's life; used for No Local */
    char *client_id;
    void *_Atomic owner;     /* struct worker * that may touch the state below */
    void *conn;              /* the attached struct conn *, NULL when offline */
    _Atomic bool persisted;  /* kept in the durable store (Session Expiry > 0); other workers
                                read it when routing */
    _Atomic bool ended;      /* removed from the registry; deliveries are dropped. Other workers
                                read it only as a hint: the owner re-checks. */
    _Atomic uint8_t version; /* protocol version of the last connection (read by the REST API) */
    _Atomic bool connected;  /* conn != NULL, for other workers (the REST API) */
    bool claims;             /* JWT claims replace the ACL: read_filters decide delivery */
    _Atomic bool settling;   /* moved to another worker, whose deliveries wait until the old
                                owner has forwarded what it still gets (worker.c, settle) */
    uint16_t next_packet_id;
    char *username;       /* of the last connection (for ACLs on delivery), or NULL */
    const void *listener; /* the broker's listener of the last connection (opaque here) */
    char **read_filters;
    uint32_t n_read_filters;
    uint32_t will_delay_s;
    uint64_t expiry_timer;

    struct subscription *subs;
    uint32_t n_subs, cap_subs;
    /* Shared subscriptions unsubscribed while messages that came through them were still in
     * flight or queued here: where those go if the session ends first (deliver.c). */
    struct subscription *left;
    uint32_t n_left;
    uint32_t *sub_index; /* open-addressing index (i + 1, 0 = empty) once n_subs > 16 */
    uint32_t sub_index_cap;

    uint32_t n_inflight, cap_inflight;
    struct inflight *inflight; /* in send order */

    struct delivery *queue; /* ring buffer of deliveries waiting for a window slot */
    uint32_t q_head, q_len, q_cap; /* q_cap: 0 or a power of two */
    uint32_t n_qos2_in, cap_qos2_in;
    uint64_t q_bytes;
    uint64_t inflight_bytes; /* payload bytes of the in-flight messages (max_inflight_bytes) */

    uint16_t *qos2_in; /* inbound QoS 2 packet ids received, PUBREL not yet seen */

    struct msg *will; /* will message, or NULL (its delay: will_delay_s) */
    uint64_t will_timer;
};

/* A new session with one reference. NULL on OOM. */
struct session *session_new(const char *client_id, size_t len, uint64_t id);
struct session *session_ref(struct session *s);
/* Drops a reference; frees the session and everything it holds on the last. Accepts NULL. */
void session_unref(struct session *s);

/* Frees a delivery's references (message and sub id array). */
void delivery_clear(struct delivery *d);

/* Subscriptions. session_sub_set returns 1 when new, 0 when replaced, TERN_ETOOBIG for a filter
 * over 65535 bytes, TERN_ENOMEM. */
TERN_MUST_CHECK int session_sub_set(struct session *s, const char *filter, size_t len,
                                    uint8_t options, uint32_t sub_id);
/* 0 when removed, TERN_ENOTFOUND. */
int session_sub_remove(struct session *s, const char *filter, size_t len);
/* As session_sub_remove, but the entry goes to *out, its filter now the caller's. */
int session_sub_detach(struct session *s, const char *filter, size_t len, struct subscription *out);
/* Keeps x in s->left (taking over x->filter), unless an equal filter is there already or memory
 * is short: then x->filter is freed. */
void session_left_keep(struct session *s, struct subscription *x);
/* Removes s->left[i] (the last one takes its place). */
void session_left_remove(struct session *s, uint32_t i);
/* The subscription to exactly filter[0..len), or NULL. */
struct subscription *session_sub_get(struct session *s, const char *filter, size_t len);
void session_subs_clear(struct session *s);

/* Outbound window. session_next_packet_id picks an id not in flight, or 0 when all 65535 are. */
uint16_t session_next_packet_id(struct session *s);
/* Adds d (taking over its references) with state; TERN_ENOMEM. */
TERN_MUST_CHECK int session_inflight_add(struct session *s, uint16_t packet_id, uint8_t state,
                                         struct delivery *d);
struct inflight *session_inflight_find(struct session *s, uint16_t packet_id);
/* Removes and clears the entry. */
void session_inflight_remove(struct session *s, struct inflight *f);

/* Queue of deliveries waiting for the window or for the client to come back. Takes over d's
 * references on success. TERN_EFULL when max_msgs (0 = none) or max_bytes (0 = none) would be
 * exceeded, TERN_ENOMEM. */
TERN_MUST_CHECK int session_queue_push(struct session *s, struct delivery *d, uint32_t max_msgs,
                                       uint64_t max_bytes);
/* Pops the oldest into *d (caller owns its references); false when empty. */
bool session_queue_pop(struct session *s, struct delivery *d);
void session_queue_clear(struct session *s);
/* The i-th queued delivery (0 = the next to leave), i < s->q_len. The ring's capacity is a power
 * of two, so the wrap is a mask: push and pop are on the delivery path of every queued message. */
static inline struct delivery *session_queue_at(const struct session *s, uint32_t i)
{
    return &s->queue[(s->q_head + i) & (s->q_cap - 1)];
}

/* Inbound QoS 2: has / add / remove a packet id awaiting PUBREL. add does not check for
 * duplicates: callers ask has() first. */
bool session_qos2_has(const struct session *s, uint16_t packet_id);
TERN_MUST_CHECK int session_qos2_add(struct session *s, uint16_t packet_id);
bool session_qos2_remove(struct session *s, uint16_t packet_id);

/* JWT claims: when claims is true, only topics matching filters[0..n) may be delivered (the
 * strings are copied); false clears them and the ACL file decides again. */
int session_set_read_filters(struct session *s, bool claims, char *const *filters, size_t n);
/* Replaces the will (takes over the reference; NULL clears). */
void session_set_will(struct session *s, struct msg *will, uint32_t delay_s);

#endif
