/* Integration: PUBLISH at QoS 0 (MQTT 3.1.1 section 3.3 and 4.3.1, MQTT 5.0 section 3.3 and
 * 4.3.1): exact packets delivered in 3.1.1 and v5, no packet id, the subscription's QoS not
 * raising it, nothing sent back to the publisher. QoS 1 and 2 flows are in 03_publish_qos1/2. */
#include "integ.h"

/* 3.1.1 publisher and subscriber: the subscriber receives exactly 30 06 00 03 'a/b' 'x'. */
static void test_qos0_exact_v311(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient sub, pub;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "a/b", 0, 0x00) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "a/b", "x", 0, 0, 0) == 0);
    REQUIRE(tclient_expect(&sub, &r, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
    static const uint8_t want[] = {0x30, 0x06, 0x00, 0x03, 'a', '/', 'b', 'x'};
    CHECK_MEM(r.raw, r.raw_len, want, sizeof want);
    tclient_pkt_free(&r);
    /* The publisher gets nothing back for QoS 0 [MQTT-4.3.1]: its PINGRESP comes next. */
    CHECK(tclient_ping(&pub) == 0);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* v5 publisher and subscriber: topic, payload and QoS 0 with a property block. Several messages
 * keep their order [MQTT-4.6.0-6]. */
static void test_qos0_v5_order(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient sub, pub;
    REQUIRE(tclient_start(&sub, spawner_port(b), 5, "sub5", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "t/#", 0, 0x00) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "pub5", 60, 1, NULL) == 0);
    char payload[16];
    for (int i = 0; i < 20; i++) {
        snprintf(payload, sizeof payload, "m%d", i);
        REQUIRE(tclient_pub(&pub, "t/x", payload, 0, 0, 0) == 0);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(payload, sizeof payload, "m%d", i);
        struct tclient_pkt r;
        REQUIRE(tclient_expect_publish(&sub, &r, "t/x", payload, 0) == 0);
        CHECK_EQ_INT(r.retain, 0);
        CHECK_EQ_INT(r.dup, 0);
        tclient_pkt_free(&r);
    }
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* A QoS 2 subscription does not raise a QoS 0 message (section 3.8.4: the lower of the two QoS); a
 * 3.1 subscriber receives a 3.1.1 publisher's message too. */
static void test_qos0_not_upgraded_cross_version(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient sub3, sub5, pub;
    REQUIRE(tclient_start(&sub3, spawner_port(b), 3, "sub3", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub3, 1, "q/0", 2, 0x02) == 0);
    REQUIRE(tclient_start(&sub5, spawner_port(b), 5, "sub5", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub5, 1, "q/0", 2, 0x02) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub4", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "q/0", "zero", 0, 0, 0) == 0);
    CHECK(tclient_expect_publish(&sub3, NULL, "q/0", "zero", 0) == 0);
    CHECK(tclient_expect_publish(&sub5, NULL, "q/0", "zero", 0) == 0);
    tclient_close(&sub3);
    tclient_close(&sub5);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* A message on a topic nobody subscribed to goes nowhere and the publisher is not disturbed;
 * an empty payload is a valid QoS 0 message. */
static void test_qos0_no_subscriber_and_empty(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient sub, pub;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "e/1", 0, 0x00) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "nobody/here", "lost", 0, 0, 0) == 0);
    REQUIRE(tclient_pub(&pub, "e/1", "", 0, 0, 0) == 0);
    /* The empty message arriving first proves the unmatched one was not delivered here. */
    CHECK(tclient_expect_publish(&sub, NULL, "e/1", "", 0) == 0);
    CHECK(tclient_ping(&pub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_qos0_exact_v311), UNIT_TEST(test_qos0_v5_order),
          UNIT_TEST(test_qos0_not_upgraded_cross_version),
          UNIT_TEST(test_qos0_no_subscriber_and_empty))
