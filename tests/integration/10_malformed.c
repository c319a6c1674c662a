/* Integration: malformed packets and protocol errors (MQTT 3.1.1 section 4.8, MQTT 5.0 sections
 * 1.5, 2 and 4.13): garbage packet types, bad Remaining Length, reserved flag bits, invalid UTF-8,
 * wildcards in topic names, packet id 0, empty SUBSCRIBE, AUTH without an authentication method,
 * No Local on a shared subscription. v5 connections get DISCONNECT 0x81
 * (Malformed Packet) or 0x82 (Protocol Error) before the close, 3.1.1 ones are just closed, and
 * the broker keeps serving other clients afterwards. */
#include "integ.h"

/* Expect the end of a connection after a bad packet: in v5 a DISCONNECT whose reason is one of
 * `reasons` (terminated by 0) then the close; otherwise just the close. */
static int expect_bad(struct tclient *c, const uint8_t *reasons)
{
    if (c->version == 5) {
        struct tclient_pkt r;
        if (tclient_expect(c, &r, CT_DISCONNECT, TCLIENT_TIMEOUT_MS) != 0)
            return -1;
        int ok = 0;
        for (const uint8_t *x = reasons; *x; x++)
            ok |= r.reason == *x;
        if (!ok)
            tclient_pkt_dump("malformed: DISCONNECT reason", &r);
        tclient_pkt_free(&r);
        if (!ok)
            return -1;
    }
    return tclient_expect_closed(c, TCLIENT_TIMEOUT_MS);
}

static const uint8_t malformed[] = {0x81, 0};
static const uint8_t malformed_or_protocol[] = {0x81, 0x82, 0};
static const uint8_t topic_invalid[] = {0x81, 0x82, 0x90, 0};
static const uint8_t protocol[] = {0x82, 0};

/* A connected client sends `bytes`; it must be disconnected as `reasons` says, and a new client
 * must still be served. */
static void check_bad_after_connect(struct spawner *b, int version, const void *bytes, size_t len,
                                    const uint8_t *reasons, const char *what)
{
    struct tclient c;
    if (tclient_start(&c, spawner_port(b), version, "bad", 60, 1, NULL) != 0) {
        CHECK(0 && "connect failed");
        return;
    }
    CHECK(integ_send_bytes(&c, bytes, len) == 0);
    if (expect_bad(&c, reasons) != 0) {
        fprintf(stderr, "  case: %s (version %d)\n", what, version);
        CHECK(0);
    }
    tclient_close(&c);
    struct tclient ok;
    CHECK(tclient_start(&ok, spawner_port(b), version, "good", 60, 1, NULL) == 0);
    CHECK(tclient_ping(&ok) == 0);
    tclient_close(&ok);
}

/* Garbage first bytes: packet type 0 and a server-only type (CONNACK) from a client. */
static void test_garbage_type(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    static const uint8_t type0[] = {0x00, 0x00};
    static const uint8_t connack[] = {0x20, 0x02, 0x00, 0x00};
    for (int v = 4; v <= 5; v++) {
        check_bad_after_connect(b, v, type0, sizeof type0, malformed_or_protocol, "type 0");
        check_bad_after_connect(b, v, connack, sizeof connack, malformed_or_protocol, "CONNACK");
    }
    /* Before CONNECT the connection is simply closed [MQTT-3.1.0-1]. */
    struct tclient c;
    REQUIRE(tclient_open(&c, spawner_port(b), 4) == 0);
    CHECK(integ_send_bytes(&c, "\xff\xff\xff\xff\xff", 5) == 0);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* A Remaining Length of five bytes is malformed (section 2.2.3 / 1.5.5: at most four). */
static void test_bad_remaining_length(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    static const uint8_t five[] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
    for (int v = 4; v <= 5; v++)
        check_bad_after_connect(b, v, five, sizeof five, malformed, "5-byte remaining length");
    CHECK(spawner_stop(b) == 0);
}

/* Reserved fixed-header flags: SUBSCRIBE with flags 0 [MQTT-3.8.1-1], PUBREL with flags 0
 * [MQTT-3.6.1-1], PINGREQ with flags 1, PUBLISH with QoS 3 [MQTT-3.3.1-4]. */
static void test_reserved_flags(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    static const uint8_t sub0[] = {0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00};
    static const uint8_t sub0_v5[] = {0x80, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x00};
    static const uint8_t pubrel0[] = {0x60, 0x02, 0x00, 0x01};
    static const uint8_t ping1[] = {0xC1, 0x00};
    static const uint8_t qos3[] = {0x36, 0x06, 0x00, 0x01, 'a', 0x00, 0x01, 'x'};
    static const uint8_t qos3_v5[] = {0x36, 0x07, 0x00, 0x01, 'a', 0x00, 0x01, 0x00, 'x'};
    for (int v = 4; v <= 5; v++) {
        check_bad_after_connect(b, v, v == 5 ? sub0_v5 : sub0,
                                v == 5 ? sizeof sub0_v5 : sizeof sub0, malformed,
                                "SUBSCRIBE flags 0");
        check_bad_after_connect(b, v, pubrel0, sizeof pubrel0, malformed, "PUBREL flags 0");
        check_bad_after_connect(b, v, ping1, sizeof ping1, malformed, "PINGREQ flags 1");
        check_bad_after_connect(b, v, v == 5 ? qos3_v5 : qos3,
                                v == 5 ? sizeof qos3_v5 : sizeof qos3, malformed, "PUBLISH QoS 3");
    }
    CHECK(spawner_stop(b) == 0);
}

/* CONNECT with the reserved flag set [MQTT-3.1.2-3] is closed without a successful CONNACK. */
static void test_connect_reserved_flag(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    for (int v = 4; v <= 5; v++) {
        struct tclient c;
        struct tclient_pkt r;
        REQUIRE(tclient_open(&c, spawner_port(b), v) == 0);
        struct pkt_connect_opts o = {.version = v, .client_id = "rsv", .clean = 1, .flags_or = 1};
        REQUIRE(integ_send_connect(&c, &o) == 0);
        int rc = tclient_recv(&c, &r, TCLIENT_TIMEOUT_MS);
        if (rc == 0) {
            /* v5 may answer CONNACK 0x81 before closing (section 4.13). */
            CHECK_EQ_INT(r.type, CT_CONNACK);
            CHECK_EQ_INT(r.reason, 0x81);
            tclient_pkt_free(&r);
            rc = tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0 ? TCLIENT_CLOSED : rc;
        }
        CHECK_EQ_INT(rc, TCLIENT_CLOSED);
        tclient_close(&c);
    }
    CHECK(spawner_stop(b) == 0);
}

/* Invalid UTF-8 in a topic: an overlong NUL (C0 80), U+0000 [MQTT-1.5.4-2], a lone surrogate
 * (ED A0 80) [MQTT-1.5.4-1]. */
static void test_utf8_violations(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    static const uint8_t bad_topics[][3] = {
        {0xC0, 0x80, 'a'}, {'a', 0x00, 'b'}, {0xED, 0xA0, 0x80}};
    for (int v = 4; v <= 5; v++) {
        for (int i = 0; i < 3; i++) {
            struct pkt p;
            pkt_init(&p);
            pkt_begin(&p, 0x30);
            pkt_bin(&p, bad_topics[i], 3);
            if (v == 5)
                pkt_u8(&p, 0);
            pkt_raw(&p, "x", 1);
            pkt_end(&p);
            check_bad_after_connect(b, v, p.data, p.len, malformed, "bad UTF-8 topic");
            pkt_free(&p);
        }
    }
    /* Invalid UTF-8 in the CONNECT client id: no successful CONNACK, the connection closes. */
    struct tclient c;
    struct tclient_pkt r;
    REQUIRE(tclient_open(&c, spawner_port(b), 4) == 0);
    struct pkt p;
    pkt_init(&p);
    pkt_begin(&p, 0x10);
    pkt_str(&p, "MQTT");
    pkt_u8(&p, 4);
    pkt_u8(&p, 0x02);
    pkt_u16(&p, 60);
    pkt_bin(&p, "\xC0\x80", 2);
    pkt_end(&p);
    REQUIRE(tclient_send(&c, &p) == 0);
    pkt_free(&p);
    int rc = tclient_recv(&c, &r, TCLIENT_TIMEOUT_MS);
    if (rc == 0) {
        CHECK(r.type == CT_CONNACK && r.reason != 0);
        tclient_pkt_free(&r);
        rc = tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0 ? TCLIENT_CLOSED : rc;
    }
    CHECK_EQ_INT(rc, TCLIENT_CLOSED);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* Wildcards in a PUBLISH topic [MQTT-3.3.2-2], an empty 3.1.1 topic [MQTT-4.7.3-1], packet id 0
 * at QoS 1 [MQTT-2.3.1-1], SUBSCRIBE without filters [MQTT-3.8.3-3]. */
static void test_protocol_violations(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    for (int v = 4; v <= 5; v++) {
        struct pkt p;
        pkt_init(&p);
        pkt_publish(&p, v, "a/+", "x", 0, 0, 0);
        check_bad_after_connect(b, v, p.data, p.len, topic_invalid, "wildcard topic +");
        pkt_reset(&p);
        pkt_publish(&p, v, "a/#", "x", 0, 0, 0);
        check_bad_after_connect(b, v, p.data, p.len, topic_invalid, "wildcard topic #");
        pkt_reset(&p);
        pkt_publish(&p, v, "", "x", 0, 0, 0);
        check_bad_after_connect(b, v, p.data, p.len, topic_invalid, "empty topic");
        pkt_reset(&p);
        pkt_publish(&p, v, "a", "x", 1, 0, 0);
        check_bad_after_connect(b, v, p.data, p.len, malformed_or_protocol, "packet id 0");
        pkt_reset(&p);
        pkt_begin(&p, 0x82);
        pkt_u16(&p, 1);
        if (v == 5)
            pkt_u8(&p, 0);
        pkt_end(&p);
        check_bad_after_connect(b, v, p.data, p.len, malformed_or_protocol, "empty SUBSCRIBE");
        /* AUTH when CONNECT named no Authentication Method [MQTT-4.12.0-1] (a reserved packet
         * type in 3.1.1). */
        static const uint8_t auth[] = {0xF0, 0x00};
        check_bad_after_connect(b, v, auth, sizeof auth, protocol, "AUTH without a method");
        /* No Local on a shared subscription [MQTT-3.8.3-4] (3.1.1 has no such option bit: its
         * reserved bits set are malformed there). */
        pkt_reset(&p);
        pkt_subscribe(&p, v, 1, "$share/g/t", 0x04 | 0x01);
        check_bad_after_connect(b, v, p.data, p.len, protocol, "No Local on $share");
        pkt_free(&p);
    }
    CHECK(spawner_stop(b) == 0);
}

/* A field longer than the packet: a topic length beyond the Remaining Length is malformed. */
static void test_truncated_field(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    static const uint8_t trunc[] = {0x30, 0x04, 0x00, 0x09, 'a', 'b'};
    for (int v = 4; v <= 5; v++)
        check_bad_after_connect(b, v, trunc, sizeof trunc, malformed, "topic past the end");
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_garbage_type), UNIT_TEST(test_bad_remaining_length),
          UNIT_TEST(test_reserved_flags), UNIT_TEST(test_connect_reserved_flag),
          UNIT_TEST(test_utf8_violations), UNIT_TEST(test_protocol_violations),
          UNIT_TEST(test_truncated_field))
