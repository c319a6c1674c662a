/* Conformance tests for SUBSCRIBE (3.8), SUBACK (3.9), UNSUBSCRIBE (3.10) and UNSUBACK (3.11) in
 * MQTT 3.1.1 and 5.0: valid vectors walked with the iterators, and each malformed class with the
 * reason code the receiver must send. Filters are not judged by the decoder (codec.h). */
#include <string.h>

#include "feed.h"

struct sub {
    const char *filter;
    uint8_t options;
};

/* SUBSCRIBE with raw first byte and v5 property content `props` (NULL = empty). */
static void subscribe(struct pkt *p, uint8_t first, int version, uint16_t id,
                      const struct pkt *props, const struct sub *subs, size_t n)
{
    pkt_begin(p, first);
    pkt_u16(p, id);
    if (version == 5) {
        pkt_props_begin(p);
        if (props)
            pkt_append(p, props);
        pkt_props_end(p);
    }
    for (size_t i = 0; i < n; i++) {
        pkt_str(p, subs[i].filter);
        pkt_u8(p, subs[i].options);
    }
    pkt_end(p);
}

static void unsubscribe(struct pkt *p, uint8_t first, int version, uint16_t id,
                        const struct pkt *props, const char *const *filters, size_t n)
{
    pkt_begin(p, first);
    pkt_u16(p, id);
    if (version == 5) {
        pkt_props_begin(p);
        if (props)
            pkt_append(p, props);
        pkt_props_end(p);
    }
    for (size_t i = 0; i < n; i++)
        pkt_str(p, filters[i]);
    pkt_end(p);
}

/* Walks the decoded entries and compares them with subs[0..n). */
static void check_entries(const struct mqtt_subscribe *s, const struct sub *subs, size_t n)
{
    CHECK_EQ_INT(s->count, n);
    size_t pos = 0, i = 0;
    struct mqtt_sub_entry e;
    while (codec_subscribe_next(s, &pos, &e)) {
        REQUIRE(i < n);
        CHECK_BYTES_STR(e.filter, subs[i].filter);
        CHECK_EQ_INT(e.options, subs[i].options);
        i++;
    }
    CHECK_EQ_INT(i, n);
}

static void test_subscribe_v311(void)
{
    /* 3.1.1 3.8 example: "a/b" QoS 1 and "c/d" QoS 2, packet id 10. */
    static const uint8_t in[] = {0x82, 0x0E, 0x00, 0x0A, 0x00, 0x03, 'a', '/',
                                 'b',  0x01, 0x00, 0x03, 'c',  '/',  'd', 0x02};
    static const struct sub want[] = {{"a/b", 1}, {"c/d", 2}};
    struct mqtt_packet pk;
    REQUIRE(FEED_OK_ARR(in, MQTT_V311, &pk));
    CHECK_EQ_INT(pk.type, MQTT_SUBSCRIBE);
    CHECK_EQ_INT(pk.flags, 0x02);
    CHECK_EQ_INT(pk.u.subscribe.packet_id, 10);
    check_entries(&pk.u.subscribe, want, 2);
}

static void test_subscribe_filters_not_judged(void)
{
    /* The decoder leaves filter validity to codec_topic_filter_valid() so the receiver can
     * answer per filter (codec.h): "a/#/b", "+x" and "$share//x" decode. QoS 0 in 3.1.1. */
    static const struct sub subs[] = {{"a/#/b", 0}, {"+x", 1}, {"$share//x", 0}, {"#", 2}};
    struct pkt p;
    pkt_init(&p);
    subscribe(&p, 0x82, 4, 1, NULL, subs, 4);
    struct mqtt_packet pk;
    if (FEED_OK_PKT(&p, MQTT_V311, &pk))
        check_entries(&pk.u.subscribe, subs, 4);
    pkt_free(&p);
}

static void test_subscribe_v5_options(void)
{
    /* v5 3.8.3.1: Maximum QoS bits 0-1, No Local bit 2, Retain As Published bit 3, Retain
     * Handling bits 4-5 (0, 1, 2). Every legal combination decodes with options unchanged. */
    struct sub subs[3 * 2 * 2 * 3];
    char names[3 * 2 * 2 * 3][8];
    size_t n = 0;
    for (int qos = 0; qos <= 2; qos++)
        for (int nl = 0; nl <= 1; nl++)
            for (int rap = 0; rap <= 1; rap++)
                for (int rh = 0; rh <= 2; rh++) {
                    snprintf(names[n], sizeof names[n], "t/%zu", n);
                    subs[n].filter = names[n];
                    subs[n].options = (uint8_t)(qos | nl << 2 | rap << 3 | rh << 4);
                    n++;
                }
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    pkt_prop_varint(&props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, 268435455);
    pkt_prop_pair(&props, MQTT_PROP_USER_PROPERTY, "k", "v");
    subscribe(&p, 0x82, 5, 0xFFFF, &props, subs, n);
    struct mqtt_packet pk;
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        CHECK_EQ_INT(pk.u.subscribe.packet_id, 0xFFFF);
        CHECK_EQ_INT(pk.u.subscribe.props.sub_id, 268435455);
        CHECK_EQ_INT(pk.u.subscribe.props.user_count, 1);
        check_entries(&pk.u.subscribe, subs, n);
    }
    pkt_free(&p);
    pkt_free(&props);
}

static void test_subscribe_no_filters(void)
{
    /* v5: "A SUBSCRIBE packet with no Payload is a Protocol Error" [MQTT-3.8.3-2];
     * 3.1.1: "a protocol violation" [MQTT-3.8.3-3]. */
    struct pkt p;
    pkt_init(&p);
    subscribe(&p, 0x82, 5, 1, NULL, NULL, 0);
    FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_PROTOCOL_ERROR);
    pkt_reset(&p);
    subscribe(&p, 0x82, 4, 1, NULL, NULL, 0);
    FEED_FAIL_PKT(&p, MQTT_V311);
    pkt_free(&p);
}

static void test_subscribe_bad_options(void)
{
    static const struct sub good = {"a", 0};
    struct pkt p;
    pkt_init(&p);
    /* "The Server MUST treat a SUBSCRIBE packet as malformed if any of Reserved bits in the
     * Payload are non-zero" [MQTT-3.8.3-5] (v5 bits 6-7). */
    static const uint8_t reserved[] = {0x40, 0x80, 0xC0, 0x41};
    for (size_t i = 0; i < sizeof reserved; i++) {
        struct sub subs[2] = {good, {"b", reserved[i]}};
        pkt_reset(&p);
        subscribe(&p, 0x82, 5, 1, NULL, subs, 2);
        FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    }
    /* "It is a Protocol Error to send a Retain Handling value of 3" (3.8.3.1). */
    struct sub rh3 = {"a", 0x30};
    pkt_reset(&p);
    subscribe(&p, 0x82, 5, 1, NULL, &rh3, 1);
    FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_PROTOCOL_ERROR);
    /* "It is a Protocol Error if the Maximum QoS field has the value 3" (3.8.3.1). */
    struct sub qos3 = {"a", 0x03};
    pkt_reset(&p);
    subscribe(&p, 0x82, 5, 1, NULL, &qos3, 1);
    FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_PROTOCOL_ERROR);
    /* 3.1.1: upper 6 bits reserved, QoS 0..2, else malformed [MQTT-3-8.3-4]. */
    static const uint8_t v3_bad[] = {0x03, 0x04, 0x08, 0x10, 0x80, 0xFF};
    for (size_t i = 0; i < sizeof v3_bad; i++) {
        struct sub s = {"a", v3_bad[i]};
        pkt_reset(&p);
        subscribe(&p, 0x82, 4, 1, NULL, &s, 1);
        FEED_FAIL_PKT(&p, MQTT_V311);
    }
    pkt_free(&p);
}

static void test_subscribe_malformed_framing(void)
{
    static const struct sub one = {"a/b", 1};
    struct pkt p;
    pkt_init(&p);
    /* Fixed header flags MUST be 0010 [MQTT-3.8.1-1]; invalid flags are a Malformed Packet
     * [MQTT-2.1.3-1]. */
    static const uint8_t firsts[] = {0x80, 0x81, 0x83, 0x8A, 0x8F};
    for (size_t i = 0; i < sizeof firsts; i++) {
        pkt_reset(&p);
        subscribe(&p, firsts[i], 5, 1, NULL, &one, 1);
        FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    }
    /* Packet Identifier 0 [MQTT-2.2.1-3]: no reason code is named. */
    pkt_reset(&p);
    subscribe(&p, 0x82, 5, 0, NULL, &one, 1);
    FEED_ERR2_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET, MQTT_RC_PROTOCOL_ERROR);
    pkt_reset(&p);
    subscribe(&p, 0x82, 4, 0, NULL, &one, 1);
    FEED_FAIL_PKT(&p, MQTT_V311);
    /* Options byte missing after the last filter. */
    static const uint8_t no_opts[] = {0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 'a'};
    FEED_ERR_ARR(no_opts, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    /* Filter length beyond the packet. */
    static const uint8_t overrun[] = {0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x09, 'a'};
    FEED_ERR_ARR(overrun, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    /* A filter that is not UTF-8 [MQTT-1.5.4-1]. */
    static const uint8_t bad_utf8[] = {0x82, 0x09, 0x00, 0x01, 0x00, 0x00,
                                       0x03, 0xED, 0xA0, 0x80, 0x00};
    FEED_ERR_ARR(bad_utf8, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    pkt_free(&p);
}

static void test_suback(void)
{
    /* 3.1.1 3.9.3: one return code per filter: 0x00, 0x01, 0x02, 0x80 Failure. */
    static const uint8_t v3[] = {0x90, 0x06, 0x00, 0x0A, 0x00, 0x01, 0x02, 0x80};
    struct mqtt_packet pk;
    if (FEED_OK_ARR(v3, MQTT_V311, &pk)) {
        CHECK_EQ_INT(pk.type, MQTT_SUBACK);
        CHECK_EQ_INT(pk.u.suback.packet_id, 10);
        CHECK_BYTES(pk.u.suback.reasons, "\x00\x01\x02\x80", 4);
    }
    /* v5 3.9.3: the SUBACK reason codes, after a property block with a Reason String. */
    struct pkt p;
    pkt_init(&p);
    pkt_begin(&p, 0x90);
    pkt_u16(&p, 7);
    pkt_props_begin(&p);
    pkt_prop_str(&p, MQTT_PROP_REASON_STRING, "partly");
    pkt_props_end(&p);
    static const uint8_t codes[] = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                    0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
    pkt_raw(&p, codes, sizeof codes);
    pkt_end(&p);
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        CHECK_EQ_INT(pk.u.suback.packet_id, 7);
        CHECK_BYTES_STR(pk.u.suback.props.reason_string, "partly");
        CHECK_BYTES(pk.u.suback.reasons, codes, sizeof codes);
    }
    pkt_free(&p);
    /* Reserved flags [MQTT-2.1.3-1]. */
    static const uint8_t flags[] = {0x92, 0x03, 0x00, 0x01, 0x00};
    FEED_FAIL_ARR(flags, MQTT_V311);
}

static void test_unsubscribe(void)
{
    /* 3.1.1 3.10 example: "a/b" and "c/d", packet id 0x1234. */
    static const uint8_t v3[] = {0xA2, 0x0C, 0x12, 0x34, 0x00, 0x03, 'a',
                                 '/',  'b',  0x00, 0x03, 'c',  '/',  'd'};
    struct mqtt_packet pk;
    if (FEED_OK_ARR(v3, MQTT_V311, &pk)) {
        CHECK_EQ_INT(pk.type, MQTT_UNSUBSCRIBE);
        CHECK_EQ_INT(pk.flags, 0x02);
        CHECK_EQ_INT(pk.u.unsubscribe.packet_id, 0x1234);
        CHECK_EQ_INT(pk.u.unsubscribe.count, 2);
        size_t pos = 0;
        struct tern_bytes f;
        REQUIRE(codec_unsubscribe_next(&pk.u.unsubscribe, &pos, &f));
        CHECK_BYTES_STR(f, "a/b");
        REQUIRE(codec_unsubscribe_next(&pk.u.unsubscribe, &pos, &f));
        CHECK_BYTES_STR(f, "c/d");
        CHECK(!codec_unsubscribe_next(&pk.u.unsubscribe, &pos, &f));
    }
    /* v5 with a User Property. */
    static const char *const filters[] = {"$share/g/x", "#"};
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    pkt_prop_pair(&props, MQTT_PROP_USER_PROPERTY, "why", "done");
    unsubscribe(&p, 0xA2, 5, 1, &props, filters, 2);
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        CHECK_EQ_INT(pk.u.unsubscribe.count, 2);
        CHECK_EQ_INT(pk.u.unsubscribe.props.user_count, 1);
        size_t pos = 0;
        struct tern_bytes f;
        REQUIRE(codec_unsubscribe_next(&pk.u.unsubscribe, &pos, &f));
        CHECK_BYTES_STR(f, "$share/g/x");
        REQUIRE(codec_unsubscribe_next(&pk.u.unsubscribe, &pos, &f));
        CHECK_BYTES_STR(f, "#");
        CHECK(!codec_unsubscribe_next(&pk.u.unsubscribe, &pos, &f));
    }
    pkt_free(&p);
    pkt_free(&props);
}

static void test_unsubscribe_malformed(void)
{
    static const char *const one[] = {"a"};
    struct pkt p;
    pkt_init(&p);
    /* v5: "An UNSUBSCRIBE packet with no Payload is a Protocol Error" [MQTT-3.10.3-2]. */
    unsubscribe(&p, 0xA2, 5, 1, NULL, NULL, 0);
    FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_PROTOCOL_ERROR);
    pkt_reset(&p);
    unsubscribe(&p, 0xA2, 4, 1, NULL, NULL, 0);
    FEED_FAIL_PKT(&p, MQTT_V311);
    /* Flags MUST be 0010 [MQTT-3.10.1-1]: Malformed Packet [MQTT-2.1.3-1]. */
    pkt_reset(&p);
    unsubscribe(&p, 0xA0, 5, 1, NULL, one, 1);
    FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    /* Packet Identifier 0 [MQTT-2.2.1-3]: no reason code is named. */
    pkt_reset(&p);
    unsubscribe(&p, 0xA2, 5, 0, NULL, one, 1);
    FEED_ERR2_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET, MQTT_RC_PROTOCOL_ERROR);
    /* A filter that is not UTF-8 [MQTT-1.5.4-1]. */
    static const uint8_t bad_utf8[] = {0xA2, 0x07, 0x00, 0x01, 0x00, 0x00, 0x02, 0xC0, 0x80};
    FEED_ERR_ARR(bad_utf8, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    pkt_free(&p);
}

static void test_unsuback(void)
{
    /* 3.1.1 3.11: packet id only. */
    static const uint8_t v3[] = {0xB0, 0x02, 0x00, 0x05};
    struct mqtt_packet pk;
    if (FEED_OK_ARR(v3, MQTT_V311, &pk)) {
        CHECK_EQ_INT(pk.type, MQTT_UNSUBACK);
        CHECK_EQ_INT(pk.u.unsuback.packet_id, 5);
        CHECK_EQ_INT(pk.u.unsuback.reasons.len, 0);
    }
    /* 3.1.1 UNSUBACK has Remaining Length 2 exactly. */
    static const uint8_t v3_long[] = {0xB0, 0x03, 0x00, 0x05, 0x00};
    FEED_FAIL_ARR(v3_long, MQTT_V311);
    /* v5 3.11.3: one reason code per filter. */
    static const uint8_t v5[] = {0xB0, 0x06, 0x00, 0x05, 0x00, 0x00, 0x11, 0x87};
    if (FEED_OK_ARR(v5, MQTT_V5, &pk)) {
        CHECK_EQ_INT(pk.u.unsuback.packet_id, 5);
        CHECK_EQ_INT(pk.u.unsuback.props.present, 0);
        CHECK_BYTES(pk.u.unsuback.reasons, "\x00\x11\x87", 3);
    }
}

UNIT_MAIN(UNIT_TEST(test_subscribe_v311), UNIT_TEST(test_subscribe_filters_not_judged),
          UNIT_TEST(test_subscribe_v5_options), UNIT_TEST(test_subscribe_no_filters),
          UNIT_TEST(test_subscribe_bad_options), UNIT_TEST(test_subscribe_malformed_framing),
          UNIT_TEST(test_suback), UNIT_TEST(test_unsubscribe),
          UNIT_TEST(test_unsubscribe_malformed), UNIT_TEST(test_unsuback))
