/* The MQTT 3.1 / 3.1.1 / 5.0 codec: decode and encode all 15 packet types.
 * Pure: no I/O, no allocation, no globals. Decoded strings and binaries are slices into the
 * caller's buffer and stay valid only while that buffer does. Thread-safe (no shared state). */
#ifndef TERN_CODEC_CODEC_H
#define TERN_CODEC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "err.h"
#include "mqtt.h"

struct mqtt_user_prop {
    struct tern_bytes name;
    struct tern_bytes value;
};

/* MQTT 5 properties of one packet (or of a will). A property is present when its bit,
 * MQTT_PROP_BIT(id), is set in `present`; the field that holds it is then valid.
 *
 * Repeatable properties:
 * - User Property (0x26): decode sets `user_count` and the bit; read them with
 *   codec_props_next_user(). Encode writes `user[0..user_count)` when `user` is non-NULL,
 *   otherwise every User Property found in `raw` (so a decoded packet's user properties can be
 *   forwarded unchanged without copying them out).
 * - Subscription Identifier (0x0B): decode sets `sub_id` to the first one and `sub_id_count`;
 *   read all with codec_props_next_sub_id(). Encode writes `sub_ids[0..sub_id_count)` when
 *   `sub_ids` is non-NULL, otherwise the single `sub_id`.
 *
 * Zero-initialise before filling for encode. Encoding for v3.1/3.1.1 ignores all properties. */
struct mqtt_props {
    uint64_t present;
    uint8_t payload_format;               /* 0x01 */
    uint32_t message_expiry;              /* 0x02, seconds */
    struct tern_bytes content_type;       /* 0x03 */
    struct tern_bytes response_topic;     /* 0x08 */
    struct tern_bytes correlation_data;   /* 0x09 */
    uint32_t sub_id;                      /* 0x0B, first one */
    uint32_t session_expiry;              /* 0x11, seconds */
    struct tern_bytes assigned_client_id; /* 0x12 */
    uint16_t server_keep_alive;           /* 0x13, seconds */
    struct tern_bytes auth_method;        /* 0x15 */
    struct tern_bytes auth_data;          /* 0x16 */
    uint8_t request_problem_info;         /* 0x17 */
    uint32_t will_delay;                  /* 0x18, seconds */
    uint8_t request_response_info;        /* 0x19 */
    struct tern_bytes response_info;      /* 0x1A */
    struct tern_bytes server_reference;   /* 0x1C */
    struct tern_bytes reason_string;      /* 0x1F */
    uint16_t receive_maximum;             /* 0x21 */
    uint16_t topic_alias_maximum;         /* 0x22 */
    uint16_t topic_alias;                 /* 0x23 */
    uint8_t maximum_qos;                  /* 0x24 */
    uint8_t retain_available;             /* 0x25 */
    uint32_t maximum_packet_size;         /* 0x27 */
    uint8_t wildcard_sub_available;       /* 0x28 */
    uint8_t sub_id_available;             /* 0x29 */
    uint8_t shared_sub_available;         /* 0x2A */

    size_t user_count;
    size_t sub_id_count;
    struct tern_bytes raw;             /* decode: the property block without its length prefix */
    const struct mqtt_user_prop *user; /* encode only */
    const uint32_t *sub_ids;           /* encode only */
};

struct mqtt_connect {
    uint8_t version; /* enum mqtt_version */
    bool clean_start;
    uint16_t keep_alive; /* seconds */
    struct tern_bytes client_id;
    bool has_will;
    uint8_t will_qos;
    bool will_retain;
    struct mqtt_props will_props;
    struct tern_bytes will_topic;
    struct tern_bytes will_payload;
    bool has_username;
    bool has_password;
    struct tern_bytes username;
    struct tern_bytes password;
    struct mqtt_props props;
};

struct mqtt_connack {
    bool session_present;
    uint8_t reason; /* v5 reason code, or v3 return code (enum mqtt_connack_v3) as on the wire */
    struct mqtt_props props;
};

struct mqtt_publish {
    uint8_t qos;
    bool dup;
    bool retain;
    struct tern_bytes topic; /* may be empty in v5 when a Topic Alias is present */
    uint16_t packet_id;      /* 0 for QoS 0 */
    struct mqtt_props props;
    struct tern_bytes payload;
};

/* PUBACK, PUBREC, PUBREL, PUBCOMP. reason is 0 in v3 (and when omitted in v5). */
struct mqtt_ack {
    uint16_t packet_id;
    uint8_t reason;
    struct mqtt_props props;
};

struct mqtt_sub_entry {
    struct tern_bytes filter;
    uint8_t options; /* MQTT_SUBOPT_*; v3: QoS only */
};

/* Decode fills `count` and `entries` (the raw payload); walk it with codec_subscribe_next().
 * Encode reads list[0..count). */
struct mqtt_subscribe {
    uint16_t packet_id;
    struct mqtt_props props;
    size_t count;
    struct tern_bytes entries;
    const struct mqtt_sub_entry *list;
};

/* One reason / return code per filter. */
struct mqtt_suback {
    uint16_t packet_id;
    struct mqtt_props props;
    struct tern_bytes reasons;
};

/* Decode fills `count` and `entries`; walk with codec_unsubscribe_next(). Encode reads
 * list[0..count). */
struct mqtt_unsubscribe {
    uint16_t packet_id;
    struct mqtt_props props;
    size_t count;
    struct tern_bytes entries;
    const struct tern_bytes *list;
};

/* v5: one reason code per filter; v3: reasons is empty. */
struct mqtt_unsuback {
    uint16_t packet_id;
    struct mqtt_props props;
    struct tern_bytes reasons;
};

/* DISCONNECT and AUTH. reason 0 when omitted. */
struct mqtt_disconnect {
    uint8_t reason;
    struct mqtt_props props;
};

struct mqtt_auth {
    uint8_t reason;
    struct mqtt_props props;
};

struct mqtt_packet {
    uint8_t type;  /* enum mqtt_type */
    uint8_t flags; /* low nibble of the first byte */
    uint32_t len;  /* bytes of the whole packet, fixed header included (set by codec_decode) */
    union {
        struct mqtt_connect connect;
        struct mqtt_connack connack;
        struct mqtt_publish publish;
        struct mqtt_ack ack; /* PUBACK PUBREC PUBREL PUBCOMP */
        struct mqtt_subscribe subscribe;
        struct mqtt_suback suback;
        struct mqtt_unsubscribe unsubscribe;
        struct mqtt_unsuback unsuback;
        struct mqtt_disconnect disconnect;
        struct mqtt_auth auth;
    } u;
};

/* ---- Decoding ---- */

/* Reads the fixed header only: the type/flags byte and the Remaining Length.
 * Returns the header's size (2..5) and sets *type_flags and *remaining_len; TERN_EAGAIN when more
 * bytes are needed; TERN_EPROTO with *reason = MQTT_RC_MALFORMED_PACKET for a non-minimal or
 * over-long Remaining Length [MQTT-1.5.5-1]. */
int codec_decode_fixed_header(const uint8_t *buf, size_t len, uint8_t *type_flags,
                              uint32_t *remaining_len, uint8_t *reason);

/* Decodes one whole packet from buf[0..len).
 * - version: the connection's protocol version (enum mqtt_version). It is ignored for CONNECT,
 *   which carries its own; out->u.connect.version is set as soon as the protocol level has been
 *   read, even when decoding then fails, so the caller can answer in the client's version.
 * - max_packet_size: the largest whole packet accepted (0 = MQTT_MAX_PACKET_SIZE). A packet
 *   whose fixed header announces more is refused with MQTT_RC_PACKET_TOO_LARGE as soon as the
 *   fixed header has arrived, without waiting for the body.
 * Returns the bytes consumed (> 0) with *out filled; TERN_EAGAIN when buf holds less than one
 * whole packet; TERN_EPROTO with *reason set to the reason code the receiver must send
 * (MQTT_RC_MALFORMED_PACKET, MQTT_RC_PROTOCOL_ERROR, MQTT_RC_PACKET_TOO_LARGE,
 * MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, MQTT_RC_TOPIC_NAME_INVALID, ...).
 *
 * Checks everything that makes a packet well formed in both specs, citing the statement at each
 * check: reserved flag bits, minimal variable byte integers, UTF-8 rules [MQTT-1.5.4-1..3],
 * non-zero packet identifiers where required, properties allowed in this packet type and not
 * repeated unless repeatable, property value ranges, no wildcards in PUBLISH topic names, QoS 3,
 * reserved subscription option bits, an empty SUBSCRIBE/UNSUBSCRIBE payload.
 * It does NOT judge what needs session state (topic alias values against the negotiated
 * maximum, which direction a packet may travel) nor topic filter validity in SUBSCRIBE /
 * UNSUBSCRIBE, which the receiver checks per filter with codec_topic_filter_valid() so it can
 * answer with a per-filter reason code. */
int codec_decode(const uint8_t *buf, size_t len, uint8_t version, uint32_t max_packet_size,
                 struct mqtt_packet *out, uint8_t *reason);

/* Iterators over repeatable items of a decoded packet. *pos starts at 0. Each returns true and
 * fills *out while items remain. */
bool codec_props_next_user(const struct mqtt_props *p, size_t *pos, struct mqtt_user_prop *out);
bool codec_props_next_sub_id(const struct mqtt_props *p, size_t *pos, uint32_t *out);
bool codec_subscribe_next(const struct mqtt_subscribe *s, size_t *pos, struct mqtt_sub_entry *out);
bool codec_unsubscribe_next(const struct mqtt_unsubscribe *u, size_t *pos, struct tern_bytes *out);

/* ---- Encoding ---- */

/* Encodes p for the given protocol version into buf[0..cap). Returns the packet's full size;
 * writes only when that size is <= cap (so cap 0 sizes it). Returns 0 when p cannot be encoded
 * (a field out of range). For v3.1/3.1.1 all properties and v5-only fields are left out, and
 * CONNECT's version field decides the protocol name ("MQIsdp" for 3). */
size_t codec_encode(const struct mqtt_packet *p, uint8_t version, uint8_t *buf, size_t cap);

/* The size of a PUBLISH's fixed and variable header (topic, packet id, properties) for a payload
 * of payload_len bytes, written to buf when it fits: the hot path encodes this per subscriber and
 * sends the shared payload after it. p->payload is ignored. Returns 0 when not encodable. */
size_t codec_encode_publish_head(const struct mqtt_publish *p, uint8_t version, size_t payload_len,
                                 uint8_t *buf, size_t cap);

/* Size in bytes of the encoded properties block for p, including its length prefix. */
size_t codec_props_size(const struct mqtt_props *p);

/* ---- Primitives (also used by the broker, the client and the fuzzers) ---- */

/* Variable byte integer: returns bytes written (1..4), 0 if v > MQTT_MAX_VARINT. */
size_t codec_varint_encode(uint32_t v, uint8_t out[4]);
size_t codec_varint_size(uint32_t v);
/* Returns bytes read (1..4), TERN_EAGAIN, or TERN_EPROTO for a non-minimal or 5-byte encoding. */
int codec_varint_decode(const uint8_t *buf, size_t len, uint32_t *out);

/* Well-formed UTF-8 with no U+0000 and no surrogates [MQTT-1.5.4-1], [MQTT-1.5.4-2]. */
bool codec_utf8_valid(const uint8_t *s, size_t len);

/* A topic name a PUBLISH may carry: non-empty, valid UTF-8, no '+' or '#' [MQTT-4.7.3-1],
 * [MQTT-3.3.2-2], at most 65535 bytes. */
bool codec_topic_name_valid(struct tern_bytes topic);
/* A topic filter a SUBSCRIBE may carry: non-empty, valid UTF-8, '+' and '#' only as whole
 * levels, '#' last [MQTT-4.7.1-1..2]; "$share/{group}/{filter}" needs a non-empty group
 * without wildcards and a non-empty valid filter [MQTT-4.8.2-1..2]. */
bool codec_topic_filter_valid(struct tern_bytes filter);
/* If filter is "$share/{group}/{rest}", sets *group and *rest and returns true. Does not
 * validate (use codec_topic_filter_valid first). */
bool codec_topic_shared_split(struct tern_bytes filter, struct tern_bytes *group,
                              struct tern_bytes *rest);
/* True when a valid topic name matches a valid (non-shared) filter, with the rule that a
 * filter starting with a wildcard does not match a topic starting with '$' [MQTT-4.7.2-1]. */
bool codec_topic_matches(struct tern_bytes filter, struct tern_bytes topic);

#endif
