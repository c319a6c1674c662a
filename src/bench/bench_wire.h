/* MQTT packets of the load generator: CONNECT, SUBSCRIBE and pre-encoded PUBLISH templates are
 * built once with the project codec; the hot path then only patches a template (packet id,
 * stamp, topic digits) and writes 4-byte acks by hand. Also the fixed-header splitter the
 * receiver uses. No I/O; templates are the only allocation (mem.h), made before the run. */
#ifndef TERN_BENCH_BENCH_WIRE_H
#define TERN_BENCH_BENCH_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "err.h"

/* A PUBLISH ready to copy: fill the stamp at stamp_off, the packet id at pid_off (QoS > 0),
 * and, when digits > 0, the topic's last `digits` decimal characters at digit_off. */
struct bench_tmpl {
    uint8_t *data;
    uint32_t len;
    uint32_t pid_off;   /* 0 for QoS 0 */
    uint32_t stamp_off; /* payload start */
    uint32_t digit_off;
    uint32_t digits;
};

/* Builds the template for topic (whose last `digits` characters are the patchable number, or
 * 0), qos, retain and payload_len bytes of payload (zero filled). 0 or TERN_EINVAL/TERN_ENOMEM. */
TERN_MUST_CHECK int bench_wire_tmpl_init(struct bench_tmpl *t, struct tern_bytes topic,
                                         uint32_t digits, uint8_t qos, bool retain,
                                         uint32_t payload_len, uint8_t version);
void bench_wire_tmpl_deinit(struct bench_tmpl *t);
/* Writes n as exactly t->digits zero-padded decimal digits into dst's topic (dst is a copy). */
void bench_wire_tmpl_digits(const struct bench_tmpl *t, uint8_t *dst, uint32_t n);

/* Encodes a CONNECT into buf[0..cap); returns its size, 0 when it does not fit. keep_alive 0;
 * clean start unless persistent (then v5 Session Expiry Interval 3600 s). */
size_t bench_wire_connect(uint8_t *buf, size_t cap, uint8_t version, const char *client_id,
                          bool persistent);
/* Encodes a SUBSCRIBE for filters[0..n) at qos; returns its size, 0 when it does not fit. */
size_t bench_wire_subscribe(uint8_t *buf, size_t cap, uint8_t version, uint16_t packet_id,
                            const struct tern_bytes *filters, size_t n, uint8_t qos);
/* Writes the 4-byte ack of type (MQTT_PUBACK, PUBREC, PUBREL, PUBCOMP) for packet_id; v5 may
 * omit the reason code when it is Success (remaining length 2). */
void bench_wire_ack(uint8_t out[4], uint8_t type, uint16_t packet_id);

/* One packet split out of a byte stream. */
struct bench_frame {
    uint8_t type;  /* high nibble of the first byte */
    uint8_t flags; /* low nibble */
    const uint8_t *body;
    uint32_t body_len;
};
/* Splits the first packet of buf[0..len): returns its total size, TERN_EAGAIN when incomplete,
 * TERN_EPROTO for a malformed remaining length. */
int bench_wire_frame(const uint8_t *buf, size_t len, struct bench_frame *f);

/* The parts of a received PUBLISH body the receiver needs. */
struct bench_rx_publish {
    uint8_t qos;
    uint16_t packet_id;
    const uint8_t *payload;
    size_t payload_len;
};
/* Parses a PUBLISH body (v5 skips the properties). 0 or TERN_EPROTO. */
int bench_wire_publish(const struct bench_frame *f, uint8_t version, struct bench_rx_publish *out);

#endif
