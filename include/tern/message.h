/* libtern data types: byte strings, MQTT 5 properties and received messages.
 * These are plain views: every pointer refers to memory owned by someone else (the caller when
 * passed in, the client's read buffer when passed to a callback). Nothing here allocates.
 * Thread-safe (no state). */
#ifndef TERN_PUBLIC_MESSAGE_H
#define TERN_PUBLIC_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A byte string that need not be NUL-terminated. ptr may be NULL when len is 0. */
struct tern_str {
    const char *ptr;
    size_t len;
};

/* A tern_str of a C string (NULL gives the empty string). */
static inline struct tern_str tern_str_of(const char *s)
{
    struct tern_str r = {s, s ? strlen(s) : 0};
    return r;
}

struct tern_user_prop {
    struct tern_str name;
    struct tern_str value;
};

/* MQTT 5 property identifiers (spec 2.2.2.2), numerically equal to the wire values. */
enum tern_prop_id {
    TERN_PROP_PAYLOAD_FORMAT = 0x01,
    TERN_PROP_MESSAGE_EXPIRY = 0x02,
    TERN_PROP_CONTENT_TYPE = 0x03,
    TERN_PROP_RESPONSE_TOPIC = 0x08,
    TERN_PROP_CORRELATION_DATA = 0x09,
    TERN_PROP_SUBSCRIPTION_ID = 0x0B,
    TERN_PROP_SESSION_EXPIRY = 0x11,
    TERN_PROP_ASSIGNED_CLIENT_ID = 0x12,
    TERN_PROP_SERVER_KEEP_ALIVE = 0x13,
    TERN_PROP_AUTH_METHOD = 0x15,
    TERN_PROP_AUTH_DATA = 0x16,
    TERN_PROP_REQUEST_PROBLEM_INFO = 0x17,
    TERN_PROP_WILL_DELAY = 0x18,
    TERN_PROP_REQUEST_RESPONSE_INFO = 0x19,
    TERN_PROP_RESPONSE_INFO = 0x1A,
    TERN_PROP_SERVER_REFERENCE = 0x1C,
    TERN_PROP_REASON_STRING = 0x1F,
    TERN_PROP_RECEIVE_MAXIMUM = 0x21,
    TERN_PROP_TOPIC_ALIAS_MAXIMUM = 0x22,
    TERN_PROP_TOPIC_ALIAS = 0x23,
    TERN_PROP_MAXIMUM_QOS = 0x24,
    TERN_PROP_RETAIN_AVAILABLE = 0x25,
    TERN_PROP_USER_PROPERTY = 0x26,
    TERN_PROP_MAXIMUM_PACKET_SIZE = 0x27,
    TERN_PROP_WILDCARD_SUB_AVAILABLE = 0x28,
    TERN_PROP_SUB_ID_AVAILABLE = 0x29,
    TERN_PROP_SHARED_SUB_AVAILABLE = 0x2A,
};

/* Bit of property id in struct tern_props.present. */
#define TERN_PROP_BIT(id) (1ull << (id))

/* The MQTT 5 properties of one packet. A property is present when its bit is set in `present`
 * (for user properties and subscription identifiers: when the count is non-zero).
 * Zero-initialise, set fields and bits, and pass a pointer: libtern copies what it needs before
 * the call returns. Received properties point into the client's buffer and are valid only
 * during the callback. Ignored for MQTT 3.1/3.1.1. */
struct tern_props {
    uint64_t present;
    uint8_t payload_format;
    uint32_t message_expiry_s;
    struct tern_str content_type;
    struct tern_str response_topic;
    struct tern_str correlation_data;
    uint32_t session_expiry_s;
    struct tern_str assigned_client_id;
    uint16_t server_keep_alive_s;
    struct tern_str auth_method;
    struct tern_str auth_data;
    uint8_t request_problem_info;
    uint32_t will_delay_s;
    uint8_t request_response_info;
    struct tern_str response_info;
    struct tern_str server_reference;
    struct tern_str reason_string;
    uint16_t receive_maximum;
    uint16_t topic_alias_maximum;
    uint16_t topic_alias;
    uint8_t maximum_qos;
    uint8_t retain_available;
    uint32_t maximum_packet_size;
    uint8_t wildcard_sub_available;
    uint8_t sub_id_available;
    uint8_t shared_sub_available;
    const uint32_t *sub_ids; /* subscription identifiers, sub_id_count of them */
    size_t sub_id_count;
    const struct tern_user_prop *user; /* user properties in order, user_count of them */
    size_t user_count;
};

/* One property as it appears on the wire, for walking a received property block in order. */
struct tern_prop {
    uint8_t id;            /* enum tern_prop_id */
    uint32_t num;          /* byte, two byte, four byte and varint values */
    struct tern_str str;   /* string and binary values; the name of a user property */
    struct tern_str value; /* the value of a user property */
};

/* A received PUBLISH, valid only during the on_message callback (copy what you keep). */
struct tern_message {
    struct tern_str topic; /* resolved through the topic alias when one was used */
    struct tern_str payload;
    uint8_t qos;
    bool retain;
    bool dup;
    uint16_t packet_id; /* 0 for QoS 0 */
    struct tern_props props;
    struct tern_str raw_props; /* the property block as received, without its length */
};

/* Walks a raw property block (struct tern_message.raw_props): *pos starts at 0; returns true and
 * fills *out for each property in wire order, false at the end or on a malformed block. */
bool tern_props_next(struct tern_str raw_props, size_t *pos, struct tern_prop *out);

/* True when topic name `topic` matches subscription filter `filter` (with '+' and '#', and
 * the rule that wildcards at the start do not match topics starting with '$'). False when
 * either is invalid. */
bool tern_topic_matches(const char *filter, const char *topic);

/* True when filter may be subscribed to: non-empty UTF-8, '+' and '#' only as whole levels,
 * '#' last, "$share/group/filter" well formed. */
bool tern_topic_filter_valid(const char *filter);

/* True when topic may be published to: non-empty UTF-8 without '+' or '#'. */
bool tern_topic_name_valid(const char *topic);

/* Name Mosquitto gives a property in JSON output ("content-type"), or NULL. */
const char *tern_prop_name(uint8_t id);

#endif
