/* A published message: immutable once built, reference counted, shared by every subscriber
 * queue, in-flight window and the retained store. The topic, the payload and the v5 properties
 * that are forwarded unchanged live in the same allocation. Not a packet: each subscriber's
 * PUBLISH header (packet id, QoS, retain, alias, subscription ids, remaining expiry) is
 * written at delivery. */
#ifndef TERN_CORE_MSG_H
#define TERN_CORE_MSG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bytes.h"

struct mqtt_props;

struct msg {
    _Atomic uint32_t refs;
    uint8_t qos; /* as published */
    bool retain; /* as published */
    uint16_t topic_len;
    uint32_t fwd_props_len;
    uint32_t payload_len;
    uint64_t expiry_at_ms;     /* CLOCK_MONOTONIC ms at which it expires; 0 = never */
    uint64_t origin_id;        /* the publishing session's id, for No Local; 0 = none */
    _Atomic uint64_t store_id; /* its id in the durable store once stored; 0 = not stored */
    const char *topic;         /* NUL-terminated, topic_len bytes */
    /* Encoded v5 properties forwarded as they came: Payload Format Indicator, Content Type,
     * Response Topic, Correlation Data, User Properties (in order). No length prefix. */
    const uint8_t *fwd_props;
    const uint8_t *payload;
};

struct msg_init {
    struct tern_bytes topic;
    struct tern_bytes payload;
    const struct mqtt_props *props; /* decoded v5 properties or NULL */
    uint8_t qos;
    bool retain;
    uint64_t origin_id;
    uint64_t now_ms; /* monotonic, for Message Expiry Interval */
};

/* Builds a message with one reference. Copies everything it needs from in. NULL on OOM, on a
 * topic longer than 65535 bytes, or on a forwarded string property over 65535 bytes (which
 * decoded input cannot carry, but a hand-filled struct could). */
struct msg *msg_new(const struct msg_init *in);

static inline struct msg *msg_ref(struct msg *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

/* Takes n references at once (one atomic operation for a whole fan-out). */
static inline struct msg *msg_ref_n(struct msg *m, uint32_t n)
{
    atomic_fetch_add_explicit(&m->refs, n, memory_order_relaxed);
    return m;
}

/* Drops a reference; frees on the last. Accepts NULL. */
void msg_unref(struct msg *m);
/* Drops n references at once; frees when they were the last. n == 0 does nothing. */
void msg_unref_n(struct msg *m, uint32_t n);

/* True when the message has an expiry that has passed. */
static inline bool msg_expired(const struct msg *m, uint64_t now_ms)
{
    return m->expiry_at_ms != 0 && now_ms >= m->expiry_at_ms;
}

/* Remaining Message Expiry Interval in seconds, rounded up (so at least 1 until it expires,
 * 0 once expired: check msg_expired first); *has is set to whether it has an expiry. */
uint32_t msg_expiry_remaining_s(const struct msg *m, uint64_t now_ms, bool *has);

/* Bytes this message costs (for queue and retained limits). */
static inline uint64_t msg_cost(const struct msg *m)
{
    return (uint64_t)sizeof *m + m->topic_len + 1u + m->fwd_props_len + m->payload_len;
}

static inline struct tern_bytes msg_topic(const struct msg *m)
{
    return bytes_of(m->topic, m->topic_len);
}

#endif
