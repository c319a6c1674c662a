/* A raw MQTT test client for the integration tests: a TCP socket to 127.0.0.1, send of bytes
 * built with pkt.h, receive of one whole packet with a bounded poll, and a minimal response
 * parser of its own (fixed header, the variable header of each server-to-client packet type and
 * the v5 property block into a small table). It shares no code with src/codec and keeps no MQTT
 * state: the test drives every packet. Test code: allocation failure aborts. */
#ifndef TERN_TESTS_TCLIENT_H
#define TERN_TESTS_TCLIENT_H

#include <stddef.h>
#include <stdint.h>

struct pkt;

/* Default bound of every wait, in milliseconds (generous for sanitizer builds). */
#define TCLIENT_TIMEOUT_MS 3000

/* MQTT control packet types as they appear in the high nibble. */
enum tclient_type {
    CT_CONNECT = 1,
    CT_CONNACK = 2,
    CT_PUBLISH = 3,
    CT_PUBACK = 4,
    CT_PUBREC = 5,
    CT_PUBREL = 6,
    CT_PUBCOMP = 7,
    CT_SUBSCRIBE = 8,
    CT_SUBACK = 9,
    CT_UNSUBSCRIBE = 10,
    CT_UNSUBACK = 11,
    CT_PINGREQ = 12,
    CT_PINGRESP = 13,
    CT_DISCONNECT = 14,
    CT_AUTH = 15,
};

/* One v5 property. Integers land in `num`; strings and binary data in `data`/`len`; a user
 * property's name in `data`/`len` and value in `data2`/`len2`. Pointers point into the packet's
 * body and live as long as the packet. */
struct tclient_prop {
    uint8_t id;
    uint32_t num;
    const uint8_t *data;
    size_t len;
    const uint8_t *data2;
    size_t len2;
};

#define TCLIENT_MAX_PROPS 32
#define TCLIENT_MAX_CODES 16

/* One received packet, parsed as far as its type allows for the client's protocol version. */
struct tclient_pkt {
    uint8_t type;  /* high nibble of the first byte */
    uint8_t flags; /* low nibble of the first byte */
    uint8_t *raw;  /* the whole packet, fixed header included (owned) */
    size_t raw_len;
    size_t body_off;    /* offset of the variable header in raw */
    uint16_t packet_id; /* PUBLISH QoS>0, acks, SUBACK, UNSUBACK */
    uint8_t reason;     /* CONNACK rc, v5 ack/DISCONNECT/AUTH reason (0 when omitted) */
    uint8_t session_present;
    /* PUBLISH */
    int qos, retain, dup;
    const uint8_t *topic;
    size_t topic_len;
    const uint8_t *payload;
    size_t payload_len;
    /* SUBACK / UNSUBACK (v5) reason codes */
    uint8_t codes[TCLIENT_MAX_CODES];
    size_t ncodes;
    struct tclient_prop props[TCLIENT_MAX_PROPS];
    size_t nprops;
};

struct tclient {
    int fd;
    int version;  /* 3, 4 or 5: how responses are parsed; 0: fixed header only */
    uint8_t *buf; /* received, not yet returned bytes */
    size_t len;
    size_t cap;
};

/* Connect a TCP socket to 127.0.0.1:port; `version` selects the response parser. Returns 0 or
 * -1 (message on stderr). */
int tclient_open(struct tclient *c, int port, int version);
/* Close the socket (if open) and free the buffer. Safe to call twice. */
void tclient_close(struct tclient *c);

/* Send all bytes; returns 0, or -1 when the peer is gone. Never raises SIGPIPE. */
int tclient_send_raw(struct tclient *c, const void *data, size_t len);
/* Send the packet's bytes and reset it (so the same struct pkt can build the next one). */
int tclient_send(struct tclient *c, struct pkt *p);

/* Receive one whole packet within timeout_ms. Returns 0 (out filled; free with
 * tclient_pkt_free), TCLIENT_TIMEOUT, TCLIENT_CLOSED (EOF or reset before a whole packet) or
 * TCLIENT_BAD (a packet this parser cannot make sense of: printed to stderr). */
#define TCLIENT_TIMEOUT (-1)
#define TCLIENT_CLOSED  (-2)
#define TCLIENT_BAD     (-3)
int tclient_recv(struct tclient *c, struct tclient_pkt *out, int timeout_ms);
void tclient_pkt_free(struct tclient_pkt *p);

/* Receive one packet and require it to be of `type`; on mismatch print both and return -1.
 * On success returns 0 and out must be freed. */
int tclient_expect(struct tclient *c, struct tclient_pkt *out, int type, int timeout_ms);

/* 0 when the peer closes the connection within timeout_ms with no further bytes (EOF or reset),
 * -1 when a packet arrives first (printed) or on timeout. */
int tclient_expect_closed(struct tclient *c, int timeout_ms);
/* The server ends a connection for a protocol violation: in v5 a DISCONNECT carrying `reason`
 * then the close; in 3.1/3.1.1 just the close. Returns 0 or -1 (printed). */
int tclient_expect_disconnect(struct tclient *c, uint8_t reason, int timeout_ms);

/* 0 when nothing arrives within quiet_ms (the connection may stay open); -1 if a packet or EOF
 * arrives. Use only where absence cannot be proven by ordering (say why at the call). */
int tclient_expect_silence(struct tclient *c, int quiet_ms);

/* Send PINGREQ and require PINGRESP as the next packet: proves that nothing else was queued for
 * this client before it (the broker answers in order). Returns 0 or -1 (printed). */
int tclient_ping(struct tclient *c);

/* Open, send CONNECT (client id, keep alive, clean flag; no will), require CONNACK with rc 0.
 * Returns 0 or -1. session_present (may be NULL) receives the flag. */
int tclient_start(struct tclient *c, int port, int version, const char *client_id,
                  uint16_t keep_alive, int clean, int *session_present);
/* SUBSCRIBE to one filter with options and require SUBACK with that packet id whose single code
 * equals `expect_code`. Returns 0 or -1. */
int tclient_sub(struct tclient *c, uint16_t packet_id, const char *filter, uint8_t options,
                uint8_t expect_code);
/* PUBLISH a string payload (no properties) and finish the QoS flow: QoS 1 waits for PUBACK,
 * QoS 2 for PUBREC, sends PUBREL and waits for PUBCOMP. Returns 0 or -1. */
int tclient_pub(struct tclient *c, const char *topic, const char *payload, int qos, int retain,
                uint16_t packet_id);

/* Expect a PUBLISH with this topic and payload (and QoS when qos >= 0); fills out (may be NULL)
 * and acknowledges nothing. Returns 0 or -1 (printed). */
int tclient_expect_publish(struct tclient *c, struct tclient_pkt *out, const char *topic,
                           const char *payload, int qos);

/* The n-th (0-based) property with this id, or NULL. */
const struct tclient_prop *tclient_prop_find(const struct tclient_pkt *p, uint8_t id, size_t nth);
/* Print a packet in hex with its type, for failure messages. */
void tclient_pkt_dump(const char *what, const struct tclient_pkt *p);

/* ---- Additions for the integration suites 12..16. ---- */

/* Whether a TCP connect to addr:port succeeds (addr an IPv4 or IPv6 literal); the socket is
 * closed again, nothing is sent. 1 or 0. */
int tclient_reachable(const char *addr, int port);
/* Whether this machine has an IPv6 loopback (::1 can be bound). 1 or 0. */
int tclient_have_loopback6(void);

/* Connect an AF_UNIX stream socket to `path` (a unix socket listener); otherwise as
 * tclient_open. Returns 0 or -1 (message on stderr). */
int tclient_open_unix(struct tclient *c, const char *path, int version);

#endif
