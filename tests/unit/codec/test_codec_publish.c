/* Conformance tests for PUBLISH (MQTT 3.1.1 and 5.0 section 3.3): fixed header flags, topic
 * name, packet identifier, payload, the v5 Topic Alias / empty topic rule, and the malformed
 * classes (QoS 3, DUP with QoS 0, zero packet id, wildcards, bad UTF-8, size limits).
 * The PUBLISH properties one by one are in test_codec_props.c. */
#include <string.h>

#include "feed.h"

/* A PUBLISH with raw first byte, topic bytes, packet id (when qos bits > 0), v5 property block
 * content `props` (NULL = empty; only for v5) and payload. */
static void publish(struct pkt *p, uint8_t first, int version, const void *topic, size_t topic_len,
                    uint16_t id, const struct pkt *props, const void *payload, size_t payload_len)
{
    pkt_begin(p, first);
    pkt_bin(p, topic, topic_len);
    if (first & 0x06)
        pkt_u16(p, id);
    if (version == 5) {
        pkt_props_begin(p);
        if (props)
            pkt_append(p, props);
        pkt_props_end(p);
    }
    pkt_raw(p, payload, payload_len);
    pkt_end(p);
}

static void test_publish_v311_qos0(void)
{
    /* 3.3.1: 0x30, topic "a/b", no packet id for QoS 0 [MQTT-2.3.1-5], payload "hello". */
    static const uint8_t in[] = {0x30, 0x0A, 0x00, 0x03, 'a', '/', 'b', 'h', 'e', 'l', 'l', 'o'};
    struct mqtt_packet pk;
    REQUIRE(FEED_OK_ARR(in, MQTT_V311, &pk));
    CHECK_EQ_INT(pk.type, MQTT_PUBLISH);
    CHECK_EQ_INT(pk.flags, 0);
    const struct mqtt_publish *m = &pk.u.publish;
    CHECK_EQ_INT(m->qos, 0);
    CHECK(!m->dup);
    CHECK(!m->retain);
    CHECK_BYTES_STR(m->topic, "a/b");
    CHECK_EQ_INT(m->packet_id, 0);
    CHECK_BYTES_STR(m->payload, "hello");
}

static void test_publish_v311_flags_and_ids(void)
{
    /* Each legal flag combination: DUP only with QoS > 0, RETAIN with any QoS (3.3.1). */
    static const struct {
        uint8_t first;
        uint8_t qos;
        bool dup, retain;
        uint16_t id;
    } vec[] = {
        {0x31, 0, false, true, 0},  {0x32, 1, false, false, 1},     {0x33, 1, false, true, 0x100},
        {0x3A, 1, true, false, 10}, {0x3B, 1, true, true, 11},      {0x34, 2, false, false, 0xFFFF},
        {0x35, 2, false, true, 2},  {0x3C, 2, true, false, 0x8000}, {0x3D, 2, true, true, 7},
    };
    struct pkt p;
    pkt_init(&p);
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        pkt_reset(&p);
        publish(&p, vec[i].first, 4, "t", 1, vec[i].id, NULL, "\x00\xFF", 2);
        struct mqtt_packet pk;
        if (!FEED_OK_PKT(&p, MQTT_V311, &pk))
            continue;
        CHECK_EQ_INT(pk.flags, vec[i].first & 0x0F);
        CHECK_EQ_INT(pk.u.publish.qos, vec[i].qos);
        CHECK_EQ_INT(pk.u.publish.dup, vec[i].dup);
        CHECK_EQ_INT(pk.u.publish.retain, vec[i].retain);
        CHECK_EQ_INT(pk.u.publish.packet_id, vec[i].id);
        CHECK_BYTES_STR(pk.u.publish.topic, "t");
        CHECK_BYTES(pk.u.publish.payload, "\x00\xFF", 2);
    }
    pkt_free(&p);
}

static void test_publish_empty_payload_and_utf8_topic(void)
{
    /* A zero-length payload is allowed (3.3.3); topic names are UTF-8 (U+00E9, U+1F600). */
    struct pkt p;
    pkt_init(&p);
    publish(&p, 0x30, 4, "caf\xC3\xA9/\xF0\x9F\x98\x80", 10, 0, NULL, "", 0);
    struct mqtt_packet pk;
    if (FEED_OK_PKT(&p, MQTT_V311, &pk)) {
        CHECK_BYTES(pk.u.publish.topic, "caf\xC3\xA9/\xF0\x9F\x98\x80", 10);
        CHECK_EQ_INT(pk.u.publish.payload.len, 0);
    }
    /* The payload is opaque: ill-formed UTF-8 and NUL bytes in it are fine without a Payload
     * Format Indicator. */
    pkt_reset(&p);
    publish(&p, 0x32, 5, "x", 1, 3, NULL, "\xC0\x80\x00\xED\xA0\x80", 6);
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        CHECK_EQ_INT(pk.u.publish.packet_id, 3);
        CHECK_EQ_INT(pk.u.publish.props.present, 0);
        CHECK_BYTES(pk.u.publish.payload, "\xC0\x80\x00\xED\xA0\x80", 6);
    }
    pkt_free(&p);
}

static void test_publish_v5_with_props(void)
{
    /* v5 3.3.2: topic, packet id, properties, then payload. */
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    pkt_prop_u8(&props, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, 1);
    pkt_prop_u32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, 3600);
    publish(&p, 0x3D, 5, "s/t", 3, 0x1234, &props, "{}", 2);
    struct mqtt_packet pk;
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        const struct mqtt_publish *m = &pk.u.publish;
        CHECK_EQ_INT(m->qos, 2);
        CHECK(m->dup);
        CHECK(m->retain);
        CHECK_EQ_INT(m->packet_id, 0x1234);
        CHECK_BYTES_STR(m->topic, "s/t");
        CHECK(m->props.present == (MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) |
                                   MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL)));
        CHECK_EQ_INT(m->props.payload_format, 1);
        CHECK_EQ_INT(m->props.message_expiry, 3600);
        CHECK_BYTES_STR(m->payload, "{}");
    }
    pkt_free(&p);
    pkt_free(&props);
}

static void test_publish_v5_topic_alias(void)
{
    /* 3.3.2.3.4: a zero-length Topic Name with a Topic Alias is valid (the alias mapping is
     * session state, judged by the caller). A non-empty name with an alias sets the mapping. */
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    pkt_prop_u16(&props, MQTT_PROP_TOPIC_ALIAS, 3);
    publish(&p, 0x30, 5, "", 0, 0, &props, "z", 1);
    struct mqtt_packet pk;
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        CHECK_EQ_INT(pk.u.publish.topic.len, 0);
        CHECK(pk.u.publish.props.present & MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS));
        CHECK_EQ_INT(pk.u.publish.props.topic_alias, 3);
        CHECK_BYTES_STR(pk.u.publish.payload, "z");
    }
    pkt_reset(&p);
    publish(&p, 0x30, 5, "a/b", 3, 0, &props, "", 0);
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        CHECK_BYTES_STR(pk.u.publish.topic, "a/b");
        CHECK_EQ_INT(pk.u.publish.props.topic_alias, 3);
    }
    pkt_free(&p);
    pkt_free(&props);
}

static void test_publish_qos3(void)
{
    /* "A PUBLISH Packet MUST NOT have both QoS bits set to 1 ... it is a Malformed Packet"
     * [MQTT-3.3.1-4]. */
    static const uint8_t firsts[] = {0x36, 0x37, 0x3E, 0x3F};
    struct pkt p;
    pkt_init(&p);
    for (size_t i = 0; i < sizeof firsts; i++) {
        pkt_reset(&p);
        publish(&p, firsts[i], 5, "t", 1, 1, NULL, "", 0);
        FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
        pkt_reset(&p);
        publish(&p, firsts[i], 4, "t", 1, 1, NULL, "", 0);
        FEED_FAIL_PKT(&p, MQTT_V311);
    }
    pkt_free(&p);
}

static void test_publish_dup_with_qos0(void)
{
    /* "The DUP flag MUST be set to 0 for all QoS 0 messages" [MQTT-3.3.1-2]. The spec names no
     * reason code: Malformed Packet or Protocol Error. */
    struct pkt p;
    pkt_init(&p);
    publish(&p, 0x38, 5, "t", 1, 0, NULL, "x", 1);
    FEED_ERR2_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET, MQTT_RC_PROTOCOL_ERROR);
    pkt_reset(&p);
    publish(&p, 0x39, 4, "t", 1, 0, NULL, "x", 1);
    FEED_FAIL_PKT(&p, MQTT_V311);
    pkt_free(&p);
}

static void test_publish_zero_packet_id(void)
{
    /* PUBLISH with QoS > 0 "MUST contain a non-zero 16-bit Packet Identifier" [MQTT-2.2.1-3]
     * (3.1.1: [MQTT-2.3.1-1]). No reason code is named: Malformed Packet or Protocol Error. */
    struct pkt p;
    pkt_init(&p);
    for (uint8_t qos = 1; qos <= 2; qos++) {
        pkt_reset(&p);
        publish(&p, (uint8_t)(0x30 | qos << 1), 5, "t", 1, 0, NULL, "x", 1);
        FEED_ERR2_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET, MQTT_RC_PROTOCOL_ERROR);
        pkt_reset(&p);
        publish(&p, (uint8_t)(0x30 | qos << 1), 4, "t", 1, 0, NULL, "x", 1);
        FEED_FAIL_PKT(&p, MQTT_V311);
    }
    pkt_free(&p);
}

static void test_publish_wildcard_topic(void)
{
    /* "The Topic Name in the PUBLISH packet MUST NOT contain wildcard characters"
     * [MQTT-3.3.2-2]; v5 answers 0x90 Topic Name invalid. */
    static const char *const topics[] = {"+", "#", "a/+", "a/#", "+/b", "a/b#", "a+"};
    struct pkt p;
    pkt_init(&p);
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++) {
        pkt_reset(&p);
        publish(&p, 0x30, 5, topics[i], strlen(topics[i]), 0, NULL, "x", 1);
        FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_TOPIC_NAME_INVALID);
        pkt_reset(&p);
        publish(&p, 0x32, 4, topics[i], strlen(topics[i]), 9, NULL, "x", 1);
        FEED_FAIL_PKT(&p, MQTT_V311);
    }
    pkt_free(&p);
}

static void test_publish_empty_topic(void)
{
    /* v5: "It is a Protocol Error if the Topic Name is zero length and there is no Topic Alias"
     * (3.3.2.1). 3.1.1: topic names are at least one character long [MQTT-4.7.3-1]. */
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    publish(&p, 0x30, 5, "", 0, 0, NULL, "x", 1);
    FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_PROTOCOL_ERROR);
    pkt_reset(&p);
    pkt_prop_u32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, 1);
    publish(&p, 0x30, 5, "", 0, 0, &props, "x", 1);
    FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_PROTOCOL_ERROR);
    pkt_reset(&p);
    publish(&p, 0x30, 4, "", 0, 0, NULL, "x", 1);
    FEED_FAIL_PKT(&p, MQTT_V311);
    pkt_free(&p);
    pkt_free(&props);
}

static void test_publish_bad_utf8_topic(void)
{
    /* The Topic Name is a UTF-8 Encoded String [MQTT-3.3.2-1]; ill-formed UTF-8 is a Malformed
     * Packet [MQTT-1.5.4-1], as is U+0000 [MQTT-1.5.4-2]. */
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"a\x00", 2},        {"\xED\xA0\x80", 3}, {"\xC0\x80", 2},
        {"\xE0\x80\x80", 3}, {"a/\xC2", 3},       {"\xF4\x90\x80\x80", 4},
        {"\xE2\x82", 2},     {"\xFF", 1},         {"\xED\xBF\xBF/x", 5},
    };
    struct pkt p;
    pkt_init(&p);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pkt_reset(&p);
        publish(&p, 0x30, 5, bad[i].s, bad[i].len, 0, NULL, "x", 1);
        FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
        pkt_reset(&p);
        publish(&p, 0x30, 4, bad[i].s, bad[i].len, 0, NULL, "x", 1);
        FEED_FAIL_PKT(&p, MQTT_V311);
    }
    pkt_free(&p);
}

static void test_publish_truncated_fields(void)
{
    /* Topic length beyond the Remaining Length. */
    static const uint8_t topic_overrun[] = {0x30, 0x04, 0x00, 0x05, 'a', 'b'};
    FEED_ERR_ARR(topic_overrun, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    /* QoS 1 without room for the packet id. */
    static const uint8_t no_id[] = {0x32, 0x03, 0x00, 0x01, 't'};
    FEED_ERR_ARR(no_id, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    FEED_FAIL_ARR(no_id, MQTT_V311);
    /* Remaining Length 1: not even a topic length. */
    static const uint8_t half_len[] = {0x30, 0x01, 0x00};
    FEED_ERR_ARR(half_len, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    /* v5 without room for the property length. */
    static const uint8_t no_props[] = {0x30, 0x03, 0x00, 0x01, 't'};
    FEED_ERR_ARR(no_props, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    /* v5 property length beyond the packet. */
    static const uint8_t props_overrun[] = {0x30, 0x06, 0x00, 0x01, 't', 0x05, 0x01, 0x01};
    FEED_ERR_ARR(props_overrun, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
}

static void test_publish_max_packet_size(void)
{
    /* The max_packet_size argument bounds the whole packet (fixed header included); a larger
     * packet is refused with 0x95 Packet too large, decided from the fixed header alone
     * (codec.h; v5 3.1.2.11.4 / [MQTT-3.2.2-15] on the receiving side). */
    uint8_t payload[200];
    memset(payload, 'p', sizeof payload);
    struct pkt p;
    pkt_init(&p);
    publish(&p, 0x30, 5, "t", 1, 0, NULL, payload, sizeof payload);
    uint32_t total = (uint32_t)p.len; /* 1 + 2 + 3 + 1 + 200 = 207 */
    CHECK_EQ_INT(total, 207);
    struct mqtt_packet pk;
    uint8_t reason = 0;
    CHECK_EQ_INT(feed_decode(__FILE__, __LINE__, p.data, p.len, MQTT_V5, total, &pk, &reason),
                 (int)total);
    feed_err(__FILE__, __LINE__, p.data, p.len, MQTT_V5, total - 1, MQTT_RC_PACKET_TOO_LARGE,
             MQTT_RC_PACKET_TOO_LARGE);
    /* The fixed header alone (3 bytes) already decides it. */
    feed_err(__FILE__, __LINE__, p.data, 3, MQTT_V5, total - 1, MQTT_RC_PACKET_TOO_LARGE,
             MQTT_RC_PACKET_TOO_LARGE);
    CHECK_EQ_INT(codec_decode(p.data, 3, MQTT_V5, total, &pk, &reason), TERN_EAGAIN);
    pkt_free(&p);
    /* The largest Remaining Length with no body at all: still refused at once. */
    static const uint8_t huge[] = {0x30, 0xFF, 0xFF, 0xFF, 0x7F};
    feed_err(__FILE__, __LINE__, huge, sizeof huge, MQTT_V5, 1024, MQTT_RC_PACKET_TOO_LARGE,
             MQTT_RC_PACKET_TOO_LARGE);
    feed_err(__FILE__, __LINE__, huge, sizeof huge, MQTT_V311, 1024, MQTT_RC_PACKET_TOO_LARGE,
             MQTT_RC_PACKET_TOO_LARGE);
    /* With the default limit (0 = MQTT_MAX_PACKET_SIZE) the same header just needs more bytes. */
    CHECK_EQ_INT(codec_decode(huge, sizeof huge, MQTT_V5, 0, &pk, &reason), TERN_EAGAIN);
}

UNIT_MAIN(UNIT_TEST(test_publish_v311_qos0), UNIT_TEST(test_publish_v311_flags_and_ids),
          UNIT_TEST(test_publish_empty_payload_and_utf8_topic),
          UNIT_TEST(test_publish_v5_with_props), UNIT_TEST(test_publish_v5_topic_alias),
          UNIT_TEST(test_publish_qos3), UNIT_TEST(test_publish_dup_with_qos0),
          UNIT_TEST(test_publish_zero_packet_id), UNIT_TEST(test_publish_wildcard_topic),
          UNIT_TEST(test_publish_empty_topic), UNIT_TEST(test_publish_bad_utf8_topic),
          UNIT_TEST(test_publish_truncated_fields), UNIT_TEST(test_publish_max_packet_size))
