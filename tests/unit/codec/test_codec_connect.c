/* Conformance tests for CONNECT (MQTT 3.1 "MQIsdp", 3.1.1 and 5.0, section 3.1) and CONNACK
 * (3.2): valid vectors with every field checked, and each malformed class with the reason code
 * the receiver must send. Packets are built byte by byte with pkt.h, never with the encoder.
 * Properties as such are covered in test_codec_props.c. */
#include <string.h>

#include "feed.h"

/* Fixed header, protocol name, level, flags and keep alive of a CONNECT (3.1.2). */
static void connect_head(struct pkt *p, const char *name, uint8_t level, uint8_t flags,
                         uint16_t keep_alive)
{
    pkt_begin(p, 0x10);
    pkt_str(p, name);
    pkt_u8(p, level);
    pkt_u8(p, flags);
    pkt_u16(p, keep_alive);
}

static void test_connect_v311_minimal(void)
{
    /* 3.1.1: "MQTT", level 4, Clean Session, keep alive 60, zero-length client id
     * [MQTT-3.1.3-6]. */
    static const uint8_t in[] = {0x10, 0x0C, 0x00, 0x04, 'M',  'Q',  'T',
                                 'T',  0x04, 0x02, 0x00, 0x3C, 0x00, 0x00};
    struct mqtt_packet pk;
    REQUIRE(FEED_OK_ARR(in, MQTT_V311, &pk));
    CHECK_EQ_INT(pk.type, MQTT_CONNECT);
    CHECK_EQ_INT(pk.flags, 0);
    const struct mqtt_connect *c = &pk.u.connect;
    CHECK_EQ_INT(c->version, MQTT_V311);
    CHECK(c->clean_start);
    CHECK_EQ_INT(c->keep_alive, 60);
    CHECK_EQ_INT(c->client_id.len, 0);
    CHECK(!c->has_will);
    CHECK(!c->has_username);
    CHECK(!c->has_password);
}

static void test_connect_v311_all_fields(void)
{
    /* 3.1.2.10 example flags 0xCE plus Will Retain: User Name, Password, Will Retain, Will QoS 1,
     * Will Flag, Clean Session. Payload order: client id, will topic, will message, user name,
     * password [MQTT-3.1.3-1]. The password is binary data. */
    static const uint8_t will_msg[] = {0x00, 0x01, 0xFF};
    static const uint8_t pass[] = {0x00, 0xFF, 's'};
    struct pkt p;
    pkt_init(&p);
    connect_head(&p, "MQTT", 4, 0xEE, 0xFFFF);
    pkt_str(&p, "client-1");
    pkt_str(&p, "will/topic");
    pkt_bin(&p, will_msg, sizeof will_msg);
    pkt_str(&p, "user");
    pkt_bin(&p, pass, sizeof pass);
    pkt_end(&p);
    struct mqtt_packet pk;
    /* The version argument is ignored for CONNECT, which carries its own (codec.h). */
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        const struct mqtt_connect *c = &pk.u.connect;
        CHECK_EQ_INT(pk.type, MQTT_CONNECT);
        CHECK_EQ_INT(c->version, MQTT_V311);
        CHECK(c->clean_start);
        CHECK_EQ_INT(c->keep_alive, 0xFFFF);
        CHECK_BYTES_STR(c->client_id, "client-1");
        CHECK(c->has_will);
        CHECK_EQ_INT(c->will_qos, 1);
        CHECK(c->will_retain);
        CHECK_BYTES_STR(c->will_topic, "will/topic");
        CHECK_BYTES(c->will_payload, will_msg, sizeof will_msg);
        CHECK(c->has_username);
        CHECK(c->has_password);
        CHECK_BYTES_STR(c->username, "user");
        CHECK_BYTES(c->password, pass, sizeof pass);
    }
    pkt_free(&p);
}

static void test_connect_v311_will_qos2_no_clean(void)
{
    /* Will QoS 2 without retain, Clean Session 0, username only. */
    struct pkt p;
    pkt_init(&p);
    connect_head(&p, "MQTT", 4, 0x80 | 0x10 | 0x04, 0);
    pkt_str(&p, "c");
    pkt_str(&p, "w");
    pkt_bin(&p, "", 0);
    pkt_str(&p, "u");
    pkt_end(&p);
    struct mqtt_packet pk;
    if (FEED_OK_PKT(&p, MQTT_V311, &pk)) {
        const struct mqtt_connect *c = &pk.u.connect;
        CHECK(!c->clean_start);
        CHECK_EQ_INT(c->keep_alive, 0);
        CHECK(c->has_will);
        CHECK_EQ_INT(c->will_qos, 2);
        CHECK(!c->will_retain);
        CHECK_BYTES_STR(c->will_topic, "w");
        CHECK_EQ_INT(c->will_payload.len, 0);
        CHECK(c->has_username);
        CHECK(!c->has_password);
        CHECK_BYTES_STR(c->username, "u");
    }
    pkt_free(&p);
}

static void test_connect_v31_mqisdp(void)
{
    /* MQTT 3.1: protocol name "MQIsdp", version 3. The 23-byte client id limit of 3.1 is broker
     * policy, so a 30-byte id decodes. */
    struct pkt p;
    pkt_init(&p);
    connect_head(&p, "MQIsdp", 3, 0x02, 30);
    pkt_str(&p, "abcdefghijklmnopqrstuvwxyz0123");
    pkt_end(&p);
    struct mqtt_packet pk;
    if (FEED_OK_PKT(&p, MQTT_V31, &pk)) {
        CHECK_EQ_INT(pk.u.connect.version, MQTT_V31);
        CHECK(pk.u.connect.clean_start);
        CHECK_EQ_INT(pk.u.connect.keep_alive, 30);
        CHECK_BYTES_STR(pk.u.connect.client_id, "abcdefghijklmnopqrstuvwxyz0123");
    }
    pkt_free(&p);
}

static void test_connect_v5_spec_example(void)
{
    /* 3.1.2.12 example: "MQTT", level 5, flags 0xCE, keep alive 10, Session Expiry Interval 10,
     * then a full payload with will properties (3.1.3.2). */
    struct pkt p;
    pkt_init(&p);
    connect_head(&p, "MQTT", 5, 0xCE, 10);
    pkt_props_begin(&p);
    pkt_prop_u32(&p, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 10);
    pkt_props_end(&p);
    pkt_str(&p, "id5");
    pkt_props_begin(&p);
    pkt_prop_u32(&p, MQTT_PROP_WILL_DELAY_INTERVAL, 5);
    pkt_props_end(&p);
    pkt_str(&p, "w/t");
    pkt_bin(&p, "bye", 3);
    pkt_str(&p, "name");
    pkt_bin(&p, "pw", 2);
    pkt_end(&p);
    struct mqtt_packet pk;
    if (FEED_OK_PKT(&p, MQTT_V311, &pk)) {
        const struct mqtt_connect *c = &pk.u.connect;
        CHECK_EQ_INT(c->version, MQTT_V5);
        CHECK(c->clean_start);
        CHECK_EQ_INT(c->keep_alive, 10);
        CHECK(c->props.present == MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL));
        CHECK_EQ_INT(c->props.session_expiry, 10);
        CHECK_BYTES_STR(c->client_id, "id5");
        CHECK(c->has_will);
        CHECK_EQ_INT(c->will_qos, 1);
        CHECK(!c->will_retain);
        CHECK(c->will_props.present == MQTT_PROP_BIT(MQTT_PROP_WILL_DELAY_INTERVAL));
        CHECK_EQ_INT(c->will_props.will_delay, 5);
        CHECK_BYTES_STR(c->will_topic, "w/t");
        CHECK_BYTES_STR(c->will_payload, "bye");
        CHECK_BYTES_STR(c->username, "name");
        CHECK_BYTES_STR(c->password, "pw");
    }
    pkt_free(&p);
}

static void test_connect_v5_password_without_username(void)
{
    /* v5 allows a Password without a User Name (3.1.2.9), unlike 3.1.1 [MQTT-3.1.2-22]. */
    struct pkt p;
    pkt_init(&p);
    connect_head(&p, "MQTT", 5, 0x40 | 0x02, 0);
    pkt_u8(&p, 0);
    pkt_str(&p, "");
    pkt_bin(&p, "secret", 6);
    pkt_end(&p);
    struct mqtt_packet pk;
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        CHECK(!pk.u.connect.has_username);
        CHECK(pk.u.connect.has_password);
        CHECK_BYTES_STR(pk.u.connect.password, "secret");
        CHECK_EQ_INT(pk.u.connect.props.present, 0);
    }
    pkt_free(&p);
}

/* Decodes a CONNECT expected to fail and checks the version was still reported. */
static void connect_fails_at(const char *file, int line, const struct pkt *p, uint8_t want,
                             uint8_t alt, int version_seen)
{
    feed_err(file, line, p->data, p->len, MQTT_V5, 0, want, alt);
    struct mqtt_packet pk;
    uint8_t reason = 0;
    memset(&pk, 0, sizeof pk);
    int r = codec_decode(p->data, p->len, MQTT_V5, 0, &pk, &reason);
    if (r != TERN_EPROTO)
        return; /* feed_err has reported it */
    /* "out->u.connect.version is set as soon as the protocol level has been read, even when
     * decoding then fails" (codec.h). */
    if (version_seen >= 0 && pk.u.connect.version != version_seen) {
        fprintf(stderr, "%s:%d: connect.version %d, want %d\n", file, line, pk.u.connect.version,
                version_seen);
        unit_failures++;
    }
}

#define CONNECT_FAILS(p, want, alt, version_seen)                                                  \
    connect_fails_at(__FILE__, __LINE__, (p), (want), (alt), (version_seen))

static void test_connect_bad_protocol_level(void)
{
    /* "The Server MUST respond to the CONNECT packet with a CONNACK ... 0x84 (Unsupported
     * Protocol Version) and then MUST close the Network Connection" for an unsupported level
     * [MQTT-3.1.2-2]. */
    static const uint8_t levels[] = {0, 1, 2, 6, 0x7F, 0xFF};
    for (size_t i = 0; i < sizeof levels; i++) {
        struct pkt p;
        pkt_init(&p);
        connect_head(&p, "MQTT", levels[i], 0x02, 0);
        pkt_str(&p, "x");
        pkt_end(&p);
        CONNECT_FAILS(&p, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION,
                      MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, levels[i]);
        pkt_free(&p);
    }
}

static void test_connect_bad_protocol_name(void)
{
    /* The name must be "MQTT" [MQTT-3.1.2-1] ("MQIsdp" for 3.1). The spec lets the Server answer
     * 0x84 or simply close, so both 0x84 and Malformed Packet are accepted. */
    static const char *const names[] = {"MQTX", "mqtt", "MQT", "MQTTT", ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct pkt p;
        pkt_init(&p);
        connect_head(&p, names[i], 4, 0x02, 0);
        pkt_str(&p, "x");
        pkt_end(&p);
        CONNECT_FAILS(&p, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, MQTT_RC_MALFORMED_PACKET, -1);
        pkt_free(&p);
    }
}

static void test_connect_reserved_flag(void)
{
    /* "The Server MUST validate that the reserved flag in the CONNECT packet is set to 0"
     * [MQTT-3.1.2-3]; v5: "If the reserved flag is not 0 it is a Malformed Packet". */
    for (int v = 4; v <= 5; v++) {
        struct pkt p;
        pkt_init(&p);
        connect_head(&p, "MQTT", (uint8_t)v, 0x03, 0);
        if (v == 5)
            pkt_u8(&p, 0);
        pkt_str(&p, "x");
        pkt_end(&p);
        CONNECT_FAILS(&p, MQTT_RC_MALFORMED_PACKET, MQTT_RC_MALFORMED_PACKET, v);
        pkt_free(&p);
    }
}

/* A v5 CONNECT with the given flags and a will/user/password payload as the flags say. */
static void connect_v5_flags(struct pkt *p, uint8_t flags)
{
    connect_head(p, "MQTT", 5, flags, 0);
    pkt_u8(p, 0);
    pkt_str(p, "x");
    if (flags & 0x04) {
        pkt_u8(p, 0);
        pkt_str(p, "w");
        pkt_bin(p, "m", 1);
    }
    if (flags & 0x80)
        pkt_str(p, "u");
    if (flags & 0x40)
        pkt_bin(p, "p", 1);
    pkt_end(p);
}

static void test_connect_will_flags(void)
{
    struct pkt p;
    pkt_init(&p);
    /* Will QoS 3: "A value of 3 (0x03) is a Malformed Packet" (3.1.2.6) [MQTT-3.1.2-12]. */
    connect_v5_flags(&p, 0x04 | 0x18 | 0x02);
    CONNECT_FAILS(&p, MQTT_RC_MALFORMED_PACKET, MQTT_RC_MALFORMED_PACKET, 5);
    /* "If the Will Flag is set to 0, then the Will QoS MUST be set to 0" [MQTT-3.1.2-11] and
     * Will Retain MUST be 0 [MQTT-3.1.2-13]. The spec names no reason code for these, so
     * Malformed Packet and Protocol Error are both accepted. */
    static const uint8_t no_will[] = {0x08, 0x10, 0x18, 0x20, 0x28};
    for (size_t i = 0; i < sizeof no_will; i++) {
        pkt_reset(&p);
        connect_v5_flags(&p, (uint8_t)(no_will[i] | 0x02));
        CONNECT_FAILS(&p, MQTT_RC_MALFORMED_PACKET, MQTT_RC_PROTOCOL_ERROR, 5);
    }
    pkt_free(&p);
}

static void test_connect_v311_password_without_username(void)
{
    /* 3.1.1: "If the User Name Flag is set to 0, the Password Flag MUST be set to 0"
     * [MQTT-3.1.2-22]. v3 sends no reason code, so any failure reason is accepted. */
    struct pkt p;
    pkt_init(&p);
    connect_head(&p, "MQTT", 4, 0x40 | 0x02, 0);
    pkt_str(&p, "x");
    pkt_bin(&p, "p", 1);
    pkt_end(&p);
    FEED_FAIL_PKT(&p, MQTT_V311);
    pkt_free(&p);
}

static void test_connect_missing_and_trailing_fields(void)
{
    struct pkt p;
    pkt_init(&p);
    /* The payload fields the flags announce MUST be present [MQTT-3.1.2-9], [MQTT-3.1.2-17],
     * [MQTT-3.1.2-19]: a CONNECT that ends early cannot be parsed. */
    static const uint8_t flags[] = {0x04 | 0x02, 0x80 | 0x02, 0xC0 | 0x02};
    for (size_t i = 0; i < sizeof flags; i++) {
        pkt_reset(&p);
        connect_head(&p, "MQTT", 5, flags[i], 0);
        pkt_u8(&p, 0);
        pkt_str(&p, "x");
        if (flags[i] == (0xC0 | 0x02))
            pkt_str(&p, "u"); /* user name but no password */
        pkt_end(&p);
        FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    }
    /* Bytes after the last field: the Remaining Length disagrees with the content. */
    pkt_reset(&p);
    connect_head(&p, "MQTT", 4, 0x02, 0);
    pkt_str(&p, "x");
    pkt_u8(&p, 0);
    pkt_end(&p);
    FEED_FAIL_PKT(&p, MQTT_V311);
    pkt_reset(&p);
    connect_head(&p, "MQTT", 5, 0x02, 0);
    pkt_u8(&p, 0);
    pkt_str(&p, "x");
    pkt_u8(&p, 0);
    pkt_end(&p);
    FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    /* Client id length beyond the packet. */
    static const uint8_t overrun[] = {0x10, 0x0D, 0x00, 0x04, 'M',  'Q',  'T', 'T',
                                      0x04, 0x02, 0x00, 0x00, 0x00, 0x05, 'a'};
    FEED_FAIL_ARR(overrun, MQTT_V311);
    pkt_free(&p);
}

static void test_connect_bad_utf8(void)
{
    /* Ill-formed UTF-8 in any string field is a Malformed Packet [MQTT-1.5.4-1],
     * [MQTT-1.5.4-2]; client id [MQTT-3.1.3-4], will topic [MQTT-3.1.3-11], user name
     * [MQTT-3.1.3-12]. */
    static const char *const bad[] = {"a\xC0\x80", "\xED\xA0\x80", "x\x00y", "\xF4\x90\x80\x80",
                                      "\xE2\x82"};
    static const size_t bad_len[] = {3, 3, 3, 4, 2};
    struct pkt p;
    pkt_init(&p);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int field = 0; field < 3; field++) {
            pkt_reset(&p);
            connect_head(&p, "MQTT", 5, field == 0 ? 0x02 : field == 1 ? 0x06 : 0x82, 0);
            pkt_u8(&p, 0);
            if (field == 0)
                pkt_bin(&p, bad[i], bad_len[i]);
            else
                pkt_str(&p, "id");
            if (field == 1) {
                pkt_u8(&p, 0);
                pkt_bin(&p, bad[i], bad_len[i]);
                pkt_bin(&p, "m", 1);
            }
            if (field == 2)
                pkt_bin(&p, bad[i], bad_len[i]);
            pkt_end(&p);
            FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
        }
    }
    pkt_free(&p);
}

static void test_connack_v311(void)
{
    /* 3.1.1 3.2: flags byte (Session Present in bit 0), return code. */
    static const uint8_t accepted[] = {0x20, 0x02, 0x00, 0x00};
    static const uint8_t present[] = {0x20, 0x02, 0x01, 0x00};
    static const uint8_t refused[] = {0x20, 0x02, 0x00, 0x05};
    struct mqtt_packet pk;
    if (FEED_OK_ARR(accepted, MQTT_V311, &pk)) {
        CHECK_EQ_INT(pk.type, MQTT_CONNACK);
        CHECK(!pk.u.connack.session_present);
        CHECK_EQ_INT(pk.u.connack.reason, MQTT_V3_ACCEPTED);
    }
    if (FEED_OK_ARR(present, MQTT_V311, &pk)) {
        CHECK(pk.u.connack.session_present);
        CHECK_EQ_INT(pk.u.connack.reason, 0);
    }
    if (FEED_OK_ARR(refused, MQTT_V311, &pk)) {
        CHECK(!pk.u.connack.session_present);
        CHECK_EQ_INT(pk.u.connack.reason, MQTT_V3_NOT_AUTHORIZED);
    }
    /* Remaining Length is exactly 2 in 3.1.1 (3.2.1): a third byte is malformed. */
    static const uint8_t longer[] = {0x20, 0x03, 0x00, 0x00, 0x00};
    FEED_FAIL_ARR(longer, MQTT_V311);
}

static void test_connack_v5(void)
{
    /* v5 3.2: flags, reason code, properties (all CONNACK properties: test_codec_props.c). */
    static const uint8_t ok[] = {0x20, 0x03, 0x01, 0x00, 0x00};
    static const uint8_t bad_version[] = {0x20, 0x03, 0x00, 0x84, 0x00};
    struct mqtt_packet pk;
    if (FEED_OK_ARR(ok, MQTT_V5, &pk)) {
        CHECK(pk.u.connack.session_present);
        CHECK_EQ_INT(pk.u.connack.reason, MQTT_RC_SUCCESS);
        CHECK_EQ_INT(pk.u.connack.props.present, 0);
    }
    if (FEED_OK_ARR(bad_version, MQTT_V5, &pk)) {
        CHECK(!pk.u.connack.session_present);
        CHECK_EQ_INT(pk.u.connack.reason, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION);
    }
    /* "Bits 7-1 are reserved and MUST be set to 0" [MQTT-3.2.2-1]; no reason code is named. */
    static const uint8_t reserved[] = {0x20, 0x03, 0x02, 0x00, 0x00};
    FEED_ERR2_ARR(reserved, MQTT_V5, MQTT_RC_MALFORMED_PACKET, MQTT_RC_PROTOCOL_ERROR);
}

UNIT_MAIN(UNIT_TEST(test_connect_v311_minimal), UNIT_TEST(test_connect_v311_all_fields),
          UNIT_TEST(test_connect_v311_will_qos2_no_clean), UNIT_TEST(test_connect_v31_mqisdp),
          UNIT_TEST(test_connect_v5_spec_example),
          UNIT_TEST(test_connect_v5_password_without_username),
          UNIT_TEST(test_connect_bad_protocol_level), UNIT_TEST(test_connect_bad_protocol_name),
          UNIT_TEST(test_connect_reserved_flag), UNIT_TEST(test_connect_will_flags),
          UNIT_TEST(test_connect_v311_password_without_username),
          UNIT_TEST(test_connect_missing_and_trailing_fields), UNIT_TEST(test_connect_bad_utf8),
          UNIT_TEST(test_connack_v311), UNIT_TEST(test_connack_v5))
