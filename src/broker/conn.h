/* A client network connection on one worker: read buffer, decoder loop, output buffer flushed
 * once per loop iteration, keep-alive, and the per-connection v5 state (limits the client
 * announced, topic aliases in both directions). The session it serves outlives it. */
#ifndef TERN_BROKER_CONN_H
#define TERN_BROKER_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "bytes.h"
#include "list.h"

struct listener_rt;
struct pending_connect;
struct scram_server;
struct msg;
struct mqtt_packet;
struct session;
struct transport;
struct worker;

enum conn_state {
    CONN_NEW = 0,      /* waiting for CONNECT */
    CONN_AUTH,         /* CONNECT received; enhanced authentication (AUTH packets) under way */
    CONN_WAIT_SESSION, /* CONNECT received; the session is being handed over by its owner */
    CONN_ACTIVE,       /* CONNACK sent */
    CONN_CLOSED,       /* closed; kept only until a pending hand-over returns */
};

struct alias_out {
    char *topic;
    uint16_t len;
};

/* A payload queued by reference into its message instead of copied (conn_queue_ref): it goes
 * out after the first `at` bytes of the output buffer. */
struct out_ref {
    struct msg *m;      /* holds a reference until the payload is written */
    const uint8_t *ptr; /* what is left of it to write */
    size_t len;
    size_t at;
};

/* Fields are ordered to pack: one of these exists per connection, so its size is part of the
 * broker's memory per idle connection (bench/analysis.md). */
struct conn {
    struct worker *w;
    struct transport *t;
    struct listener_rt *lr;
    struct session *s;
    struct buf in;
    struct buf out;
    struct out_ref *refs; /* payloads interleaved with out, in stream order */
    size_t ref_bytes;     /* sum of their lengths */
    uint32_t n_refs, cap_refs;
    int fd;
    uint8_t state;
    uint8_t version;
    bool disconnect_normal; /* DISCONNECT without will: the will is not published */
    bool write_armed;
    bool in_dirty;
    bool pending_handoff;
    bool assigned_id;         /* the client id was assigned: CONNACK carries it */
    bool server_keepalive;    /* keep alive differs from the client's: CONNACK carries it */
    bool connect_expiry_zero; /* CONNECT had Session Expiry 0: DISCONNECT may not raise it */
    bool in_process;          /* inside process_input: resuming must not recurse */
    bool layered;             /* TLS or WebSocket: read until EAGAIN, not until a short read */
    bool by_ref;              /* large payloads are queued by reference (transport_ops.by_ref) */
    bool taken_over;          /* closed because another connection took its session */
    bool problem_info;
    bool response_info; /* Request Response Information 1: CONNACK may carry it (v5) */
    bool claims;        /* JWT publish/subscribe claims replace the ACL file */
    uint16_t mount_len; /* strlen of the listener's mount_point (0 = none) */
    uint16_t keepalive_s;
    struct msg *pending_will; /* will of a CONNECT waiting for its session's hand-over */
    uint32_t pending_will_delay;
    uint32_t pending_expiry;
    char *username;
    uint64_t last_rx_ms;
    /* What the client announced in CONNECT (v5), with the spec's defaults. */
    uint32_t client_max_packet;
    uint16_t client_receive_max;
    uint16_t client_alias_max;
    /* Topic aliases the client set (index = alias). */
    uint16_t alias_in_max;
    /* Topic aliases we set towards the client (index + 1 = alias). */
    uint16_t n_alias_out;
    uint16_t in_flight_in; /* inbound QoS 1/2 not yet completed, for Receive Maximum */
    char **alias_in;
    uint16_t *alias_in_len;
    struct alias_out *alias_out;
    struct list_node node;
    struct list_node dirty_node;
    /* Acknowledgements held until the store made what they acknowledge durable; FIFO so
     * PUBACKs keep the order of their PUBLISHes [MQTT-4.6.0-2]. */
    struct pending_ack *acks;
    uint32_t ack_head, ack_len, ack_cap;
    struct out_gate *gate; /* output waiting for the store (conn_hold_output), or NULL */
    struct list_node ack_node;
    /* Enhanced authentication (handle_auth.c) and JWT claims (claims above). */
    struct scram_server *scram;
    struct pending_connect *pending;
    char *auth_method; /* CONNECT's Authentication Method (v5), NULL when none */
    uint8_t *auth_out; /* Authentication Data for the CONNACK */
    size_t auth_out_len;
    char **claim_pub, **claim_sub;
    size_t n_claim_pub, n_claim_sub;
    char peer[64];
};

/* Takes ownership of fd (an accepted socket; counted in lr->connections), wraps it in the
 * listener's transport (TCP or TLS) and starts an MQTT connection on w's loop. */
void conn_accept(struct worker *w, int fd, const char *peer, struct listener_rt *lr);
/* Starts an MQTT connection over a transport someone else set up (a WebSocket after its HTTP
 * upgrade, say): takes ownership of t, registers t->fd with w's loop (the caller must have
 * removed it from the loop first). The connection was counted in lr->connections by the
 * caller; it is counted out here on failure and at close. */
void conn_start(struct worker *w, struct transport *t, const char *peer, struct listener_rt *lr);

struct pending_ack {
    uint64_t seq;
    uint16_t packet_id;
    uint8_t type;
    uint8_t reason;
};

/* Sends PUBACK/PUBREC/PUBREL/PUBCOMP now (v3: without the reason code). */
void conn_send_ack(struct conn *c, uint8_t type, uint16_t packet_id, uint8_t reason);
/* Sends a PUBACK/PUBREC now, or queues it behind earlier ones until store seq is durable. */
void conn_ack(struct conn *c, uint8_t type, uint16_t packet_id, uint8_t reason, uint64_t seq);
/* Under `persistence_fsync always`, holds back everything queued for c from now on until the
 * store has made seq durable: SUBACK and UNSUBACK of a persistent session go out only once
 * what they acknowledge would survive a crash, and the packets after them keep their order. seq 0,
 * or one already durable, holds nothing. Output held when c closes is dropped. */
void conn_hold_output(struct conn *c, uint64_t seq);
/* Sends the queued acknowledgements the store has made durable (on w's thread). */
void conn_release_acks(struct worker *w);
/* Marks c for flushing at the end of this loop iteration (after bytes went into c->out). */
void conn_mark_dirty(struct conn *c);
/* Appends bytes to the output buffer and marks the connection for flushing at the end of this
 * loop iteration. Returns 0 or TERN_ENOMEM. */
int conn_write(struct conn *c, const void *data, size_t len);
/* Bytes waiting to be written to c: its output buffer and the payloads queued by reference. */
static inline size_t conn_out_pending(const struct conn *c)
{
    return c->out.len + c->ref_bytes;
}
/* Payloads from this size up are queued by reference where the transport allows it: below it,
 * copying is cheaper than an iovec entry of their own (bench/analysis.md, Session 2). */
#define CONN_REF_MIN 1024u
/* Whether a payload of len bytes should go to c by reference (conn_queue_ref). */
static inline bool conn_wants_ref(const struct conn *c, size_t len)
{
    return c->by_ref && len >= CONN_REF_MIN;
}
/* Makes room for one conn_queue_ref. 0 or TERN_ENOMEM. */
int conn_reserve_ref(struct conn *c);
/* Queues len (> 0) bytes at p, which lie inside m, to follow what c->out holds now, taking a
 * reference to m until they are written (or the connection is freed), and marks c dirty. The
 * caller made room with conn_reserve_ref and checked that c is not closed. */
void conn_queue_ref(struct conn *c, struct msg *m, const uint8_t *p, size_t len);
/* Encodes and queues a packet; 0, or negative when it cannot be encoded or buffered. */
int conn_send(struct conn *c, const struct mqtt_packet *p);
/* Writes as much output as the socket takes; arms LOOP_WRITE for the rest. */
void conn_flush(struct conn *c);
/* Closes the connection. For v5 after CONNACK, reason >= 0x80 sends DISCONNECT with it first.
 * reason < 0 closes without a DISCONNECT. Runs will and session-detach logic. */
void conn_close(struct conn *c, int reason);
/* conn_close; the v5 DISCONNECT carries why (else the reason's name) as Reason String. */
void conn_close_why(struct conn *c, int reason, const char *why);
/* Sets why as the Reason String of a CONNACK or DISCONNECT to c (allowed whatever the client's
 * Request Problem Information [MQTT-3.1.2-29]) when it fits the client's Maximum Packet Size. */
struct mqtt_props;
void conn_reason_string(const struct conn *c, struct mqtt_props *pr, const char *why);
/* Frees a closed connection's memory (after any hand-over completed). */
void conn_destroy(struct conn *c);
/* Sends a v5 DISCONNECT (if the protocol allows) or just closes, logging why. */
void conn_protocol_error(struct conn *c, uint8_t reason, const char *why);
/* The topic or filter as the broker sees it: with the listener's mount_point in front (after
 * "$share/group/" for a shared filter). Returns t itself when there is no mount point;
 * otherwise a new string in *owned (free with mem_free), or a NULL slice on OOM. */
struct tern_bytes conn_mount(const struct conn *c, struct tern_bytes t, char **owned);
/* Bytes of mount point to strip from topics sent to c (0 when none or not a prefix). */
size_t conn_unmount_len(const struct conn *c, const char *topic, size_t len);
/* Decodes input that arrived while a session hand-over was pending. */
void conn_resume_input(struct conn *c);
/* Restarts c's keep-alive count from now (after CONNECT set keepalive_s). */
void conn_arm_keepalive(struct conn *c);
/* Closes w's connections whose keep alive has run out (1.5 x Keep Alive without a packet, or
 * no CONNECT within 10 s), and frees the empty output buffers that connections kept from a
 * burst. The worker runs it every WORKER_KA_SWEEP_MS instead of keeping a timer per
 * connection (bench/analysis.md: memory per idle connection). */
void conn_keepalive_sweep(struct worker *w);

#endif
