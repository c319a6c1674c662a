/* An independent raw MQTT packet builder for tests. It shares no code with src/codec: tests build
 * the bytes here, byte by byte as the spec lays them out, and feed them to the code under test.
 * It can build malformed packets on purpose (any flags, any lengths, any bytes).
 *
 *     struct pkt p; pkt_init(&p);
 *     pkt_begin(&p, 0x30);            // PUBLISH, QoS 0: first byte as given
 *     pkt_str(&p, "a/b");             // 2-byte length + bytes
 *     pkt_props_begin(&p);            // v5 property block (length filled in at end)
 *     pkt_u8(&p, 0x01); pkt_u8(&p, 1);
 *     pkt_props_end(&p);
 *     pkt_raw(&p, "hi", 2);
 *     pkt_end(&p);                    // fills in Remaining Length (minimal varint)
 *     ... p.data, p.len ...
 *     pkt_free(&p);
 * Builders nest at most 4 deep (packet > property block). Aborts on allocation failure: it is
 * test code. */
#ifndef TERN_TESTS_PKT_H
#define TERN_TESTS_PKT_H

#include <stddef.h>
#include <stdint.h>

struct pkt {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t marks[4]; /* open length slots */
    int kinds[4];    /* 0 = Remaining Length (varint), 1 = property length (varint) */
    int depth;
};

void pkt_init(struct pkt *p);
void pkt_free(struct pkt *p);
void pkt_reset(struct pkt *p);

void pkt_u8(struct pkt *p, uint8_t v);
void pkt_u16(struct pkt *p, uint16_t v);
void pkt_u32(struct pkt *p, uint32_t v);
/* Minimal variable byte integer. */
void pkt_varint(struct pkt *p, uint32_t v);
void pkt_raw(struct pkt *p, const void *data, size_t len);
/* 2-byte big-endian length then the bytes of s (without NUL). */
void pkt_str(struct pkt *p, const char *s);
/* 2-byte big-endian length then len bytes. */
void pkt_bin(struct pkt *p, const void *data, size_t len);

/* Start a packet with first byte `type_flags` (type << 4 | flags); pkt_end fills the Remaining
 * Length with a minimal varint. */
void pkt_begin(struct pkt *p, uint8_t type_flags);
void pkt_end(struct pkt *p);
/* Start/end a v5 property block; pkt_props_end writes its varint length before its content. */
void pkt_props_begin(struct pkt *p);
void pkt_props_end(struct pkt *p);

/* Convenience builders for common well-formed packets (version 3, 4 or 5). */
/* CONNECT with clean start, optional client id (NULL = ""), keep alive, no will, no auth;
 * v5 gets an empty property block. */
void pkt_connect(struct pkt *p, int version, const char *client_id, uint16_t keep_alive, int clean);
/* PUBLISH of payload string with topic, QoS, retain; packet id used when qos > 0;
 * v5 gets an empty property block. */
void pkt_publish(struct pkt *p, int version, const char *topic, const char *payload, int qos,
                 int retain, uint16_t packet_id);
/* SUBSCRIBE to one filter with the given options byte; v5 gets an empty property block. */
void pkt_subscribe(struct pkt *p, int version, uint16_t packet_id, const char *filter,
                   uint8_t options);
/* PUBACK/PUBREC/PUBREL/PUBCOMP (type 4..7) with just the packet id (PUBREL gets flags 0x2). */
void pkt_ack(struct pkt *p, int type, uint16_t packet_id);
void pkt_pingreq(struct pkt *p);
/* DISCONNECT; v5 with a reason code byte when version == 5 (and an empty property block). */
void pkt_disconnect(struct pkt *p, int version, uint8_t reason);

/* ---- Additions for the integration tests (tests/integration). ---- */

/* A will message for pkt_connect_full. v5 will properties come from `props` (content of the
 * property block without its length; NULL = empty block). */
struct pkt_will {
    const char *topic;
    const void *payload;
    size_t payload_len;
    int qos;
    int retain;
    const struct pkt *props;
};

/* Every CONNECT field. `props` is the v5 CONNECT property block content without its length
 * (NULL = empty); `will`, `username`, `password` are optional (NULL = absent). `protocol_name`
 * NULL picks "MQIsdp" for version 3 and "MQTT" otherwise; `flags_or` is OR-ed into the connect
 * flags byte (to set the reserved bit on purpose). */
struct pkt_connect_opts {
    int version;
    const char *protocol_name;
    const char *client_id;
    uint16_t keep_alive;
    int clean;
    uint8_t flags_or;
    const struct pkt *props;
    const struct pkt_will *will;
    const char *username;
    const char *password;
};
void pkt_connect_full(struct pkt *p, const struct pkt_connect_opts *o);

/* v5 PUBLISH with the given property block content (NULL = empty), explicit payload bytes and
 * DUP flag. With version != 5 no property block is written. */
struct pkt_publish_opts {
    int version;
    const char *topic;
    const void *payload;
    size_t payload_len;
    int qos;
    int retain;
    int dup;
    uint16_t packet_id;
    const struct pkt *props;
};
void pkt_publish_full(struct pkt *p, const struct pkt_publish_opts *o);

/* SUBSCRIBE to n filters, each with its options byte; v5 writes `props` (NULL = empty). */
void pkt_subscribe_many(struct pkt *p, int version, uint16_t packet_id, const struct pkt *props,
                        const char *const *filters, const uint8_t *options, size_t n);
/* UNSUBSCRIBE from one filter; v5 gets an empty property block. */
void pkt_unsubscribe(struct pkt *p, int version, uint16_t packet_id, const char *filter);
/* v5 property helpers: identifier byte then the value in the property's encoding. */
void pkt_prop_u8(struct pkt *p, uint8_t id, uint8_t v);
void pkt_prop_u16(struct pkt *p, uint8_t id, uint16_t v);
void pkt_prop_u32(struct pkt *p, uint8_t id, uint32_t v);
void pkt_prop_varint(struct pkt *p, uint8_t id, uint32_t v);
void pkt_prop_str(struct pkt *p, uint8_t id, const char *s);
void pkt_prop_pair(struct pkt *p, uint8_t id, const char *k, const char *v);

/* ---- Additions for the codec conformance tests (tests/unit/codec). ---- */

/* v5 property holding Binary Data: identifier byte, 2-byte length, the bytes. */
void pkt_prop_bin(struct pkt *p, uint8_t id, const void *data, size_t len);
/* Appends everything in `src` (e.g. a property block built in a separate struct pkt). */
void pkt_append(struct pkt *p, const struct pkt *src);

#endif
