/* Malformed-input classes across all packet types: the fixed header (Remaining Length
 * encodings, reserved flag bits of every type, 0x95 Packet too large decided from the fixed
 * header alone), trailing bytes after a complete body, and the UTF-8 rules in every string
 * position. Each case checks the exact reason code the receiver must send. */
#include <string.h>

#include "feed.h"

static void test_fixed_header(void)
{
    uint8_t tf = 0, reason = 0;
    uint32_t rl = 0;
    static const uint8_t two[] = {0x30, 0x05};
    CHECK_EQ_INT(codec_decode_fixed_header(two, 2, &tf, &rl, &reason), 2);
    CHECK_EQ_INT(tf, 0x30);
    CHECK_EQ_INT(rl, 5);
    static const uint8_t five[] = {0x82, 0xFF, 0xFF, 0xFF, 0x7F};
    CHECK_EQ_INT(codec_decode_fixed_header(five, 5, &tf, &rl, &reason), 5);
    CHECK_EQ_INT(tf, 0x82);
    CHECK_EQ_INT(rl, MQTT_MAX_REMAINING_LENGTH);
    static const uint8_t three[] = {0x30, 0x80, 0x01};
    CHECK_EQ_INT(codec_decode_fixed_header(three, 3, &tf, &rl, &reason), 3);
    CHECK_EQ_INT(rl, 128);
    CHECK_EQ_INT(codec_decode_fixed_header(three, 0, &tf, &rl, &reason), TERN_EAGAIN);
    CHECK_EQ_INT(codec_decode_fixed_header(three, 1, &tf, &rl, &reason), TERN_EAGAIN);
    CHECK_EQ_INT(codec_decode_fixed_header(three, 2, &tf, &rl, &reason), TERN_EAGAIN);
    /* Non-minimal or over-long Remaining Length: Malformed [MQTT-1.5.5-1]. */
    static const uint8_t nonmin[] = {0x30, 0x80, 0x00};
    static const uint8_t longer[] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
    static const uint8_t four_cont[] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF};
    reason = 0;
    CHECK_EQ_INT(codec_decode_fixed_header(nonmin, 3, &tf, &rl, &reason), TERN_EPROTO);
    CHECK_EQ_INT(reason, MQTT_RC_MALFORMED_PACKET);
    reason = 0;
    CHECK_EQ_INT(codec_decode_fixed_header(longer, 6, &tf, &rl, &reason), TERN_EPROTO);
    CHECK_EQ_INT(reason, MQTT_RC_MALFORMED_PACKET);
    reason = 0;
    CHECK_EQ_INT(codec_decode_fixed_header(four_cont, 5, &tf, &rl, &reason), TERN_EPROTO);
    CHECK_EQ_INT(reason, MQTT_RC_MALFORMED_PACKET);
}

static void test_remaining_length_encoding(void)
{
    /* Through codec_decode: "The encoded value MUST use the minimum number of bytes necessary"
     * [MQTT-1.5.5-1]; at most four bytes (2.1.4 / 1.5.5). */
    static const uint8_t pingreq_nonmin[] = {0xC0, 0x80, 0x00};
    static const uint8_t disconnect_nonmin[] = {0xE0, 0x80, 0x80, 0x00};
    static const uint8_t publish_nonmin[] = {0x30, 0x86, 0x00, 0x00, 0x01, 't', 0x00, 'a', 'b'};
    static const uint8_t five_bytes[] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
    static const uint8_t five_small[] = {0x30, 0x80, 0x80, 0x80, 0x80, 0x01};
    FEED_ERR_ARR(pingreq_nonmin, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    FEED_ERR_ARR(disconnect_nonmin, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    FEED_ERR_ARR(publish_nonmin, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    FEED_ERR_ARR(five_bytes, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    FEED_ERR_ARR(five_small, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    FEED_FAIL_ARR(pingreq_nonmin, MQTT_V311);
    FEED_FAIL_ARR(five_bytes, MQTT_V311);
}

/* A minimal valid v5 packet of each type, flags nibble 0 (filled in by the caller). */
static size_t minimal_v5(uint8_t type, uint8_t *out)
{
    static const uint8_t connect[] = {0x00, 0x04, 'M',  'Q',  'T',  'T', 0x05,
                                      0x02, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t bodies[16][8] = {
        [MQTT_CONNACK] = {0x00, 0x00, 0x00},
        [MQTT_PUBLISH] = {0x00, 0x01, 't', 0x00},
        [MQTT_PUBACK] = {0x00, 0x01},
        [MQTT_PUBREC] = {0x00, 0x01},
        [MQTT_PUBREL] = {0x00, 0x01},
        [MQTT_PUBCOMP] = {0x00, 0x01},
        [MQTT_SUBSCRIBE] = {0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x00},
        [MQTT_SUBACK] = {0x00, 0x01, 0x00, 0x00},
        [MQTT_UNSUBSCRIBE] = {0x00, 0x01, 0x00, 0x00, 0x01, 'a'},
        [MQTT_UNSUBACK] = {0x00, 0x01, 0x00, 0x00},
    };
    static const uint8_t body_len[16] = {
        [MQTT_CONNACK] = 3,     [MQTT_PUBLISH] = 4,  [MQTT_PUBACK] = 2,    [MQTT_PUBREC] = 2,
        [MQTT_PUBREL] = 2,      [MQTT_PUBCOMP] = 2,  [MQTT_SUBSCRIBE] = 7, [MQTT_SUBACK] = 4,
        [MQTT_UNSUBSCRIBE] = 6, [MQTT_UNSUBACK] = 4,
    };
    const uint8_t *body = type == MQTT_CONNECT ? connect : bodies[type];
    size_t len = type == MQTT_CONNECT ? sizeof connect : body_len[type];
    out[0] = (uint8_t)(type << 4);
    out[1] = (uint8_t)len;
    memcpy(out + 2, body, len);
    return len + 2;
}

static void test_reserved_flags_every_type(void)
{
    /* Table 2-2 Flag Bits: PUBREL, SUBSCRIBE, UNSUBSCRIBE need 0010, every other type but
     * PUBLISH needs 0000 [MQTT-2.1.3-1]; "If invalid flags are received it is a Malformed
     * Packet" (v5 2.1.3); 3.1.1 [MQTT-2.2.2-2]: close the connection. */
    uint8_t buf[32];
    for (uint8_t type = MQTT_CONNECT; type <= MQTT_AUTH; type++) {
        if (type == MQTT_PUBLISH)
            continue;
        uint8_t need = type == MQTT_PUBREL || type == MQTT_SUBSCRIBE || type == MQTT_UNSUBSCRIBE;
        need = (uint8_t)(need << 1);
        size_t len = minimal_v5(type, buf);
        buf[0] |= need;
        struct mqtt_packet pk;
        if (!FEED_OK(buf, len, MQTT_V5, &pk))
            fprintf(stderr, "  ^ minimal %s\n", mqtt_type_name(type));
        for (uint8_t flags = 0; flags < 16; flags++) {
            if (flags == need)
                continue;
            buf[0] = (uint8_t)(type << 4 | flags);
            int before = unit_failures;
            FEED_ERR(buf, len, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
            if (unit_failures != before)
                fprintf(stderr, "  ^ %s flags 0x%X\n", mqtt_type_name(type), flags);
        }
    }
}

static void test_trailing_bytes_every_type(void)
{
    /* A body longer than its fields is not a well-formed packet: each type with one extra byte
     * inside the Remaining Length is a Malformed Packet. PUBLISH is excluded (its payload takes
     * the rest) and so are SUBACK/UNSUBACK (every byte is a reason code). */
    uint8_t buf[40];
    for (uint8_t type = MQTT_CONNECT; type <= MQTT_AUTH; type++) {
        if (type == MQTT_PUBLISH || type == MQTT_SUBACK || type == MQTT_UNSUBACK)
            continue;
        size_t len = minimal_v5(type, buf);
        if (type == MQTT_PUBREL || type == MQTT_SUBSCRIBE || type == MQTT_UNSUBSCRIBE)
            buf[0] |= 0x02;
        if (type >= MQTT_PUBACK && type <= MQTT_PUBCOMP) {
            /* The full v5 form: packet id, reason, empty properties. */
            buf[len++] = 0x00;
            buf[len++] = 0x00;
        }
        if (type == MQTT_DISCONNECT || type == MQTT_AUTH) {
            buf[len++] = 0x00;
            buf[len++] = 0x00;
        }
        buf[len++] = 0x00;
        buf[1] = (uint8_t)(len - 2);
        int before = unit_failures;
        /* (For SUBSCRIBE/UNSUBSCRIBE the lone byte is a truncated next entry.) */
        FEED_ERR(buf, len, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
        if (unit_failures != before)
            fprintf(stderr, "  ^ trailing byte after %s\n", mqtt_type_name(type));
    }
}

static void test_packet_too_large_every_type(void)
{
    /* A packet larger than the receiver's maximum: 0x95 as soon as the fixed header says so,
     * without the body (codec.h; v5 [MQTT-3.1.2-24] / [MQTT-3.2.2-15] on the receiver's side).
     * Each type's first byte with Remaining Length 16384 against a maximum of 100. */
    for (uint8_t type = MQTT_CONNECT; type <= MQTT_AUTH; type++) {
        uint8_t flags =
            type == MQTT_PUBREL || type == MQTT_SUBSCRIBE || type == MQTT_UNSUBSCRIBE ? 0x02 : 0x00;
        const uint8_t head[] = {(uint8_t)(type << 4 | flags), 0x80, 0x80, 0x01};
        int before = unit_failures;
        feed_err(__FILE__, __LINE__, head, sizeof head, MQTT_V5, 100, MQTT_RC_PACKET_TOO_LARGE,
                 MQTT_RC_PACKET_TOO_LARGE);
        if (unit_failures != before)
            fprintf(stderr, "  ^ %s\n", mqtt_type_name(type));
    }
    /* Boundary: 1 + 1 + 100 bytes = 102 is accepted with a maximum of 102, not with 101. */
    uint8_t buf[102];
    memset(buf, 'x', sizeof buf);
    buf[0] = 0x30;
    buf[1] = 100;
    buf[2] = 0x00;
    buf[3] = 0x01;
    buf[4] = 't';
    buf[5] = 0x00;
    struct mqtt_packet pk;
    uint8_t reason = 0;
    CHECK_EQ_INT(feed_decode(__FILE__, __LINE__, buf, sizeof buf, MQTT_V5, 102, &pk, &reason), 102);
    feed_err(__FILE__, __LINE__, buf, sizeof buf, MQTT_V5, 101, MQTT_RC_PACKET_TOO_LARGE,
             MQTT_RC_PACKET_TOO_LARGE);
    feed_err(__FILE__, __LINE__, buf, 2, MQTT_V5, 101, MQTT_RC_PACKET_TOO_LARGE,
             MQTT_RC_PACKET_TOO_LARGE);
}

/* Ill-formed UTF-8 sequences [MQTT-1.5.4-1], U+0000 [MQTT-1.5.4-2], and code points beyond
 * U+10FFFF, each a Malformed Packet when it appears in any UTF-8 Encoded String (1.5.4). */
static const struct {
    const char *what;
    const char *s;
    size_t len;
} bad_utf8[] = {
    {"U+0000", "a\x00", 2},
    {"surrogate D800", "\xED\xA0\x80", 3},
    {"surrogate DFFF", "\xED\xBF\xBF", 3},
    {"overlong C0 80", "\xC0\x80", 2},
    {"overlong E0 80 80", "\xE0\x80\x80", 3},
    {"overlong F0 80 80 80", "\xF0\x80\x80\x80", 4},
    {"truncated C3", "ab\xC3", 3},
    {"truncated E2 82", "\xE2\x82", 2},
    {"truncated F0 9F 98", "\xF0\x9F\x98", 3},
    {"beyond U+10FFFF", "\xF4\x90\x80\x80", 4},
    {"lone continuation", "\x80", 1},
};

enum utf8_spot {
    SPOT_CLIENT_ID,
    SPOT_WILL_TOPIC,
    SPOT_USERNAME,
    SPOT_TOPIC,
    SPOT_FILTER,
    SPOT_UNSUB_FILTER,
    SPOT_REASON_STRING,
    SPOT_USER_NAME_PROP,
    SPOT_COUNT
};

static const char *const spot_names[SPOT_COUNT] = {
    "client id", "will topic",         "user name",     "publish topic",
    "filter",    "unsubscribe filter", "reason string", "user property name"};

static void utf8_packet(struct pkt *p, enum utf8_spot spot, const char *s, size_t n)
{
    switch (spot) {
    case SPOT_CLIENT_ID:
    case SPOT_WILL_TOPIC:
    case SPOT_USERNAME:
        pkt_begin(p, 0x10);
        pkt_str(p, "MQTT");
        pkt_u8(p, 5);
        pkt_u8(p, spot == SPOT_WILL_TOPIC ? 0x06 : spot == SPOT_USERNAME ? 0x82 : 0x02);
        pkt_u16(p, 0);
        pkt_u8(p, 0);
        if (spot == SPOT_CLIENT_ID)
            pkt_bin(p, s, n);
        else
            pkt_str(p, "c");
        if (spot == SPOT_WILL_TOPIC) {
            pkt_u8(p, 0);
            pkt_bin(p, s, n);
            pkt_bin(p, "", 0);
        }
        if (spot == SPOT_USERNAME)
            pkt_bin(p, s, n);
        break;
    case SPOT_TOPIC:
        pkt_begin(p, 0x30);
        pkt_bin(p, s, n);
        pkt_u8(p, 0);
        break;
    case SPOT_FILTER:
    case SPOT_UNSUB_FILTER:
        pkt_begin(p, spot == SPOT_FILTER ? 0x82 : 0xA2);
        pkt_u16(p, 1);
        pkt_u8(p, 0);
        pkt_bin(p, s, n);
        if (spot == SPOT_FILTER)
            pkt_u8(p, 0);
        break;
    case SPOT_REASON_STRING:
    case SPOT_USER_NAME_PROP:
        pkt_begin(p, 0xE0);
        pkt_u8(p, 0);
        pkt_props_begin(p);
        pkt_u8(p, spot == SPOT_REASON_STRING ? 0x1F : 0x26);
        pkt_bin(p, s, n);
        if (spot == SPOT_USER_NAME_PROP)
            pkt_str(p, "v");
        pkt_props_end(p);
        break;
    case SPOT_COUNT:
        break;
    }
    pkt_end(p);
}

static void test_utf8_every_string(void)
{
    struct pkt p;
    pkt_init(&p);
    for (int spot = 0; spot < SPOT_COUNT; spot++) {
        /* The same packet with a good string decodes, so only the string is at fault. */
        pkt_reset(&p);
        utf8_packet(&p, (enum utf8_spot)spot, "ok", 2);
        struct mqtt_packet pk;
        if (!FEED_OK_PKT(&p, MQTT_V5, &pk))
            fprintf(stderr, "  ^ good %s\n", spot_names[spot]);
        for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
            pkt_reset(&p);
            utf8_packet(&p, (enum utf8_spot)spot, bad_utf8[i].s, bad_utf8[i].len);
            int before = unit_failures;
            FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
            if (unit_failures != before)
                fprintf(stderr, "  ^ %s in %s\n", bad_utf8[i].what, spot_names[spot]);
        }
    }
    pkt_free(&p);
}

static void test_truncated_everywhere(void)
{
    /* A valid v5 CONNECT with will and credentials, with its Remaining Length lowered by one
     * to every shorter value: each is a body that ends inside some field, so Malformed. */
    struct pkt p;
    pkt_init(&p);
    pkt_begin(&p, 0x10);
    pkt_str(&p, "MQTT");
    pkt_u8(&p, 5);
    pkt_u8(&p, 0xC6);
    pkt_u16(&p, 10);
    pkt_props_begin(&p);
    pkt_prop_u32(&p, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 1);
    pkt_props_end(&p);
    pkt_str(&p, "cid");
    pkt_props_begin(&p);
    pkt_prop_u8(&p, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, 1);
    pkt_props_end(&p);
    pkt_str(&p, "wt");
    pkt_bin(&p, "wp", 2);
    pkt_str(&p, "us");
    pkt_bin(&p, "pw", 2);
    pkt_end(&p);
    REQUIRE(p.len < 128 && p.data[1] == p.len - 2);
    struct mqtt_packet pk;
    REQUIRE(FEED_OK_PKT(&p, MQTT_V5, &pk));
    for (size_t rl = 0; rl < p.len - 2; rl++) {
        p.data[1] = (uint8_t)rl;
        int before = unit_failures;
        /* A cut inside the protocol name or level may read as an unknown protocol: the spec
         * lets that be answered with 0x84 (3.1.2.1), so only the later cuts are exact. */
        if (rl < 7)
            feed_err(__FILE__, __LINE__, p.data, rl + 2, MQTT_V5, 0, 0, 0);
        else
            FEED_ERR(p.data, rl + 2, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
        if (unit_failures != before)
            fprintf(stderr, "  ^ CONNECT cut to Remaining Length %zu\n", rl);
    }
    pkt_free(&p);
}

UNIT_MAIN(UNIT_TEST(test_fixed_header), UNIT_TEST(test_remaining_length_encoding),
          UNIT_TEST(test_reserved_flags_every_type), UNIT_TEST(test_trailing_bytes_every_type),
          UNIT_TEST(test_packet_too_large_every_type), UNIT_TEST(test_utf8_every_string),
          UNIT_TEST(test_truncated_everywhere))
