/* Conformance tests for PUBACK, PUBREC, PUBREL, PUBCOMP (3.4-3.7), PINGREQ, PINGRESP (3.12,
 * 3.13), DISCONNECT (3.14) and AUTH (3.15) in MQTT 3.1.1 and 5.0, including the v5 short forms
 * where the reason code and property length are omitted. */
#include <string.h>

#include "feed.h"

/* First byte of each ack type: PUBREL's flags are 0010 [MQTT-3.6.1-1], the others 0000. */
static const uint8_t ack_first[4] = {0x40, 0x50, 0x62, 0x70};

static void test_acks_v311(void)
{
    for (int t = 0; t < 4; t++) {
        const uint8_t in[] = {ack_first[t], 0x02, 0xAB, 0xCD};
        struct mqtt_packet pk;
        if (!FEED_OK_ARR(in, MQTT_V311, &pk))
            continue;
        CHECK_EQ_INT(pk.type, MQTT_PUBACK + t);
        CHECK_EQ_INT(pk.flags, ack_first[t] & 0x0F);
        CHECK_EQ_INT(pk.u.ack.packet_id, 0xABCD);
        CHECK_EQ_INT(pk.u.ack.reason, 0);
        /* 3.1.1: the Remaining Length is exactly 2; more is malformed. */
        const uint8_t longer[] = {ack_first[t], 0x03, 0xAB, 0xCD, 0x00};
        FEED_FAIL_ARR(longer, MQTT_V311);
        const uint8_t shorter[] = {ack_first[t], 0x01, 0xAB};
        FEED_FAIL_ARR(shorter, MQTT_V311);
    }
}

static void test_acks_v5_forms(void)
{
    for (int t = 0; t < 4; t++) {
        struct mqtt_packet pk;
        /* "The Reason Code and Property Length can be omitted if the Reason Code is 0x00
         * (Success) and there are no Properties. In this case the PUBACK has a Remaining Length
         * of 2" (3.4.2.1, likewise 3.5-3.7). */
        const uint8_t two[] = {ack_first[t], 0x02, 0x00, 0x01};
        if (FEED_OK_ARR(two, MQTT_V5, &pk)) {
            CHECK_EQ_INT(pk.type, MQTT_PUBACK + t);
            CHECK_EQ_INT(pk.u.ack.packet_id, 1);
            CHECK_EQ_INT(pk.u.ack.reason, 0);
            CHECK_EQ_INT(pk.u.ack.props.present, 0);
        }
        /* "If the Remaining Length is less than 4 there is no Property Length and the value of 0
         * is used" (3.4.2.2). 0x91 is a PUBACK/PUBREC code (3.4.2.1, 3.5.2.1), 0x92 a
         * PUBREL/PUBCOMP one (3.6.2.1, 3.7.2.1). */
        const uint8_t code = t < 2 ? 0x91 : 0x92;
        const uint8_t three[] = {ack_first[t], 0x03, 0x00, 0x02, code};
        if (FEED_OK_ARR(three, MQTT_V5, &pk)) {
            CHECK_EQ_INT(pk.u.ack.packet_id, 2);
            CHECK_EQ_INT(pk.u.ack.reason, code);
            CHECK_EQ_INT(pk.u.ack.props.present, 0);
        }
        const uint8_t four[] = {ack_first[t], 0x04, 0x00, 0x03, 0x00, 0x00};
        if (FEED_OK_ARR(four, MQTT_V5, &pk)) {
            CHECK_EQ_INT(pk.u.ack.packet_id, 3);
            CHECK_EQ_INT(pk.u.ack.reason, 0);
        }
        /* Full form with Reason String and User Property. */
        struct pkt p;
        pkt_init(&p);
        pkt_begin(&p, ack_first[t]);
        pkt_u16(&p, 0xFFFF);
        pkt_u8(&p, t < 2 ? 0x80 : 0x00);
        pkt_props_begin(&p);
        pkt_prop_str(&p, MQTT_PROP_REASON_STRING, "r");
        pkt_prop_pair(&p, MQTT_PROP_USER_PROPERTY, "a", "b");
        pkt_props_end(&p);
        pkt_end(&p);
        if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
            CHECK_EQ_INT(pk.u.ack.packet_id, 0xFFFF);
            CHECK_EQ_INT(pk.u.ack.reason, t < 2 ? 0x80 : 0x00);
            CHECK_BYTES_STR(pk.u.ack.props.reason_string, "r");
            CHECK_EQ_INT(pk.u.ack.props.user_count, 1);
        }
        pkt_free(&p);
        /* Remaining Length 1 cannot hold the packet id; bytes after the properties are
         * garbage. */
        const uint8_t one[] = {ack_first[t], 0x01, 0x00};
        FEED_ERR_ARR(one, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
        const uint8_t trailing[] = {ack_first[t], 0x05, 0x00, 0x03, 0x00, 0x00, 0x00};
        FEED_ERR_ARR(trailing, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    }
}

static void test_acks_v5_reason_codes(void)
{
    /* PUBACK/PUBREC reason codes of 3.4.2.1: 0x10 No matching subscribers is valid. */
    static const uint8_t puback_nms[] = {0x40, 0x03, 0x00, 0x01, 0x10};
    static const uint8_t pubrec_quota[] = {0x50, 0x03, 0x00, 0x01, 0x97};
    struct mqtt_packet pk;
    if (FEED_OK_ARR(puback_nms, MQTT_V5, &pk))
        CHECK_EQ_INT(pk.u.ack.reason, MQTT_RC_NO_MATCHING_SUBSCRIBERS);
    if (FEED_OK_ARR(pubrec_quota, MQTT_V5, &pk))
        CHECK_EQ_INT(pk.u.ack.reason, MQTT_RC_QUOTA_EXCEEDED);
}

static void test_acks_bad_flags(void)
{
    /* PUBREL flags MUST be 0010, the others 0000 [MQTT-2.1.3-1] / 3.1.1 [MQTT-2.2.2-1]: invalid
     * flags are a Malformed Packet. */
    static const uint8_t bad[] = {0x41, 0x42, 0x48, 0x52, 0x5F, 0x60, 0x63, 0x6A, 0x72, 0x71};
    for (size_t i = 0; i < sizeof bad; i++) {
        const uint8_t in[] = {bad[i], 0x02, 0x00, 0x01};
        FEED_ERR_ARR(in, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
        FEED_FAIL_ARR(in, MQTT_V311);
    }
}

static void test_ping(void)
{
    static const uint8_t req[] = {0xC0, 0x00};
    static const uint8_t resp[] = {0xD0, 0x00};
    struct mqtt_packet pk;
    for (uint8_t v = MQTT_V31; v <= MQTT_V5; v++) {
        if (FEED_OK_ARR(req, v, &pk))
            CHECK_EQ_INT(pk.type, MQTT_PINGREQ);
        if (FEED_OK_ARR(resp, v, &pk))
            CHECK_EQ_INT(pk.type, MQTT_PINGRESP);
    }
    /* No variable header or payload (3.12, 3.13): a body is malformed; flags are reserved. */
    static const uint8_t req_body[] = {0xC0, 0x01, 0x00};
    static const uint8_t resp_body[] = {0xD0, 0x02, 0x00, 0x00};
    static const uint8_t req_flags[] = {0xC1, 0x00};
    static const uint8_t resp_flags[] = {0xD8, 0x00};
    FEED_ERR_ARR(req_body, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    FEED_ERR_ARR(resp_body, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    FEED_ERR_ARR(req_flags, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    FEED_ERR_ARR(resp_flags, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    FEED_FAIL_ARR(req_body, MQTT_V311);
    FEED_FAIL_ARR(req_flags, MQTT_V311);
}

static void test_disconnect(void)
{
    struct mqtt_packet pk;
    /* 3.1.1 3.14: no variable header. */
    static const uint8_t v3[] = {0xE0, 0x00};
    if (FEED_OK_ARR(v3, MQTT_V311, &pk))
        CHECK_EQ_INT(pk.type, MQTT_DISCONNECT);
    static const uint8_t v3_body[] = {0xE0, 0x01, 0x00};
    FEED_FAIL_ARR(v3_body, MQTT_V311);
    /* v5 3.14.2.1: "If the Remaining Length is less than 1 the value of 0x00 (Normal
     * disconnection) is used"; with Remaining Length 1 there is no Property Length. */
    if (FEED_OK_ARR(v3, MQTT_V5, &pk)) {
        CHECK_EQ_INT(pk.u.disconnect.reason, MQTT_RC_NORMAL_DISCONNECTION);
        CHECK_EQ_INT(pk.u.disconnect.props.present, 0);
    }
    static const uint8_t with_will[] = {0xE0, 0x01, 0x04};
    if (FEED_OK_ARR(with_will, MQTT_V5, &pk))
        CHECK_EQ_INT(pk.u.disconnect.reason, MQTT_RC_DISCONNECT_WITH_WILL);
    static const uint8_t taken[] = {0xE0, 0x02, 0x8E, 0x00};
    if (FEED_OK_ARR(taken, MQTT_V5, &pk))
        CHECK_EQ_INT(pk.u.disconnect.reason, MQTT_RC_SESSION_TAKEN_OVER);
    /* Flags are reserved [MQTT-2.1.3-1]; bytes after the properties are garbage. */
    static const uint8_t flags[] = {0xE2, 0x00};
    FEED_ERR_ARR(flags, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    static const uint8_t trailing[] = {0xE0, 0x03, 0x00, 0x00, 0x00};
    FEED_ERR_ARR(trailing, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
}

static void test_auth(void)
{
    struct mqtt_packet pk;
    /* v5 3.15.2.1: Remaining Length 0 means reason 0x00 Success and no properties. */
    static const uint8_t empty[] = {0xF0, 0x00};
    if (FEED_OK_ARR(empty, MQTT_V5, &pk)) {
        CHECK_EQ_INT(pk.type, MQTT_AUTH);
        CHECK_EQ_INT(pk.u.auth.reason, MQTT_RC_SUCCESS);
    }
    /* 0x18 Continue authentication with Authentication Method and Data. */
    struct pkt p;
    pkt_init(&p);
    pkt_begin(&p, 0xF0);
    pkt_u8(&p, MQTT_RC_CONTINUE_AUTHENTICATION);
    pkt_props_begin(&p);
    pkt_prop_str(&p, MQTT_PROP_AUTHENTICATION_METHOD, "SCRAM-SHA-1");
    pkt_prop_bin(&p, MQTT_PROP_AUTHENTICATION_DATA, "\x00\x01\x02", 3);
    pkt_props_end(&p);
    pkt_end(&p);
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        CHECK_EQ_INT(pk.u.auth.reason, MQTT_RC_CONTINUE_AUTHENTICATION);
        CHECK_BYTES_STR(pk.u.auth.props.auth_method, "SCRAM-SHA-1");
        CHECK_BYTES(pk.u.auth.props.auth_data, "\x00\x01\x02", 3);
    }
    pkt_free(&p);
    /* Flags reserved [MQTT-2.1.3-1]. */
    static const uint8_t flags[] = {0xF1, 0x00};
    FEED_ERR_ARR(flags, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
}

static void test_reserved_types(void)
{
    /* Type 0 is "Reserved, Forbidden" (2.1.2), and 15 is reserved in 3.1.1 (2.2.1): neither can
     * be parsed. v5 names no reason code for type 0: Malformed Packet or Protocol Error. */
    static const uint8_t type0[] = {0x00, 0x00};
    static const uint8_t auth_v3[] = {0xF0, 0x00};
    FEED_ERR2_ARR(type0, MQTT_V5, MQTT_RC_MALFORMED_PACKET, MQTT_RC_PROTOCOL_ERROR);
    FEED_FAIL_ARR(type0, MQTT_V311);
    FEED_FAIL_ARR(auth_v3, MQTT_V311);
    FEED_FAIL_ARR(auth_v3, MQTT_V31);
}

UNIT_MAIN(UNIT_TEST(test_acks_v311), UNIT_TEST(test_acks_v5_forms),
          UNIT_TEST(test_acks_v5_reason_codes), UNIT_TEST(test_acks_bad_flags),
          UNIT_TEST(test_ping), UNIT_TEST(test_disconnect), UNIT_TEST(test_auth),
          UNIT_TEST(test_reserved_types))
