/* Integration: PUBLISH at QoS 1 (MQTT 3.1.1 and 5.0 section 4.3.2): PUBACK to the publisher with
 * its packet id, delivery at QoS 1 with a non-zero packet id, downgrade to the subscription's
 * QoS, and redelivery with DUP after reconnect of a persistent session [MQTT-4.4.0-1]. */
#include "integ.h"

/* Publisher side: PUBACK carries the publisher's packet id: exactly 40 02 00 07 in 3.1.1; in v5
 * reason 0x00 or 0x10 No matching subscribers. */
static void test_qos1_puback(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient p4, p5;
    struct tclient_pkt r;
    struct pkt p;
    pkt_init(&p);
    REQUIRE(tclient_start(&p4, spawner_port(b), 4, "p4", 60, 1, NULL) == 0);
    pkt_publish(&p, 4, "x/y", "hello", 1, 0, 7);
    REQUIRE(tclient_send(&p4, &p) == 0);
    REQUIRE(tclient_expect(&p4, &r, CT_PUBACK, TCLIENT_TIMEOUT_MS) == 0);
    static const uint8_t want[] = {0x40, 0x02, 0x00, 0x07};
    CHECK_MEM(r.raw, r.raw_len, want, sizeof want);
    tclient_pkt_free(&r);

    REQUIRE(tclient_start(&p5, spawner_port(b), 5, "p5", 60, 1, NULL) == 0);
    pkt_publish(&p, 5, "x/y", "hello", 1, 0, 0xFFFF);
    REQUIRE(tclient_send(&p5, &p) == 0);
    REQUIRE(tclient_expect(&p5, &r, CT_PUBACK, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.packet_id, 0xFFFF);
    CHECK(r.reason == 0x00 || r.reason == 0x10);
    tclient_pkt_free(&r);
    pkt_free(&p);
    tclient_close(&p4);
    tclient_close(&p5);
    CHECK(spawner_stop(b) == 0);
}

/* Subscriber side, 3.1.1 and v5: QoS 1 delivery with a non-zero packet id; each acknowledged
 * message frees its id, distinct unacknowledged messages have distinct ids [MQTT-2.3.1-1]. */
static void test_qos1_delivery(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    for (int version = 4; version <= 5; version++) {
        struct tclient sub, pub;
        struct tclient_pkt r[3];
        REQUIRE(tclient_start(&sub, spawner_port(b), version, "s1", 60, 1, NULL) == 0);
        REQUIRE(tclient_sub(&sub, 3, "d/+", 1, 0x01) == 0);
        REQUIRE(tclient_start(&pub, spawner_port(b), version, "p1", 60, 1, NULL) == 0);
        REQUIRE(tclient_pub(&pub, "d/1", "one", 1, 0, 1) == 0);
        REQUIRE(tclient_pub(&pub, "d/2", "two", 1, 0, 2) == 0);
        REQUIRE(tclient_pub(&pub, "d/3", "three", 1, 0, 3) == 0);
        REQUIRE(tclient_expect_publish(&sub, &r[0], "d/1", "one", 1) == 0);
        REQUIRE(tclient_expect_publish(&sub, &r[1], "d/2", "two", 1) == 0);
        REQUIRE(tclient_expect_publish(&sub, &r[2], "d/3", "three", 1) == 0);
        for (int i = 0; i < 3; i++) {
            CHECK(r[i].packet_id != 0);
            CHECK_EQ_INT(r[i].dup, 0);
            CHECK_EQ_INT(r[i].retain, 0);
        }
        CHECK(r[0].packet_id != r[1].packet_id && r[1].packet_id != r[2].packet_id &&
              r[0].packet_id != r[2].packet_id);
        for (int i = 0; i < 3; i++) {
            CHECK(integ_send_ack(&sub, CT_PUBACK, r[i].packet_id) == 0);
            tclient_pkt_free(&r[i]);
        }
        /* Acknowledged: nothing is resent; PINGRESP is next. */
        CHECK(tclient_ping(&sub) == 0);
        tclient_close(&sub);
        tclient_close(&pub);
    }
    CHECK(spawner_stop(b) == 0);
}

/* Delivered QoS = min(published, granted): QoS 1 to a QoS 0 subscription arrives at QoS 0 with no
 * packet id; QoS 2 to a QoS 1 subscription arrives at QoS 1 (section 3.8.4). */
static void test_qos1_downgrade(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient s0, s1, pub;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&s0, spawner_port(b), 4, "s0", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&s0, 1, "dg", 0, 0x00) == 0);
    REQUIRE(tclient_start(&s1, spawner_port(b), 5, "s1", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&s1, 1, "dg", 1, 0x01) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "dg", "q1", 1, 0, 10) == 0);
    REQUIRE(tclient_pub(&pub, "dg", "q2", 2, 0, 11) == 0);
    REQUIRE(tclient_expect(&s0, &r, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
    static const uint8_t want[] = {0x30, 0x06, 0x00, 0x02, 'd', 'g', 'q', '1'};
    CHECK_MEM(r.raw, r.raw_len, want, sizeof want);
    tclient_pkt_free(&r);
    CHECK(tclient_expect_publish(&s0, NULL, "dg", "q2", 0) == 0);
    CHECK(tclient_expect_publish(&s1, &r, "dg", "q1", 1) == 0);
    CHECK(integ_send_ack(&s1, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_expect_publish(&s1, &r, "dg", "q2", 1) == 0);
    CHECK(integ_send_ack(&s1, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&s1) == 0);
    tclient_close(&s0);
    tclient_close(&s1);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Persistent session: an unacknowledged QoS 1 message is resent after reconnect with DUP set and
 * the same packet id [MQTT-4.4.0-1] [MQTT-3.3.1-1]; once acknowledged it is not sent again. */
static void test_qos1_redelivery_dup(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    for (int version = 4; version <= 5; version++) {
        struct tclient sub, pub;
        struct tclient_pkt r, again;
        int present = -1;
        const char *id = version == 5 ? "keep5" : "keep";
        /* v5 needs a Session Expiry Interval for the session to outlive the connection. */
        REQUIRE(integ_start(&sub, spawner_port(b), version, id, 0, 300, NULL) == 0);
        REQUIRE(tclient_sub(&sub, 1, "r/1", 1, 0x01) == 0);
        REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
        REQUIRE(tclient_pub(&pub, "r/1", "again", 1, 0, 5) == 0);
        REQUIRE(tclient_expect_publish(&sub, &r, "r/1", "again", 1) == 0);
        CHECK_EQ_INT(r.dup, 0);
        tclient_close(&sub); /* no PUBACK */

        REQUIRE(integ_start(&sub, spawner_port(b), version, id, 0, 300, &present) == 0);
        CHECK_EQ_INT(present, 1);
        REQUIRE(tclient_expect_publish(&sub, &again, "r/1", "again", 1) == 0);
        CHECK_EQ_INT(again.dup, 1);
        CHECK_EQ_INT(again.packet_id, r.packet_id);
        CHECK(integ_send_ack(&sub, CT_PUBACK, again.packet_id) == 0);
        tclient_pkt_free(&r);
        tclient_pkt_free(&again);
        CHECK(tclient_ping(&sub) == 0);
        tclient_close(&sub);

        /* Acknowledged: a further reconnect gets nothing before PINGRESP. */
        REQUIRE(integ_start(&sub, spawner_port(b), version, id, 0, 300, &present) == 0);
        CHECK_EQ_INT(present, 1);
        CHECK(tclient_ping(&sub) == 0);
        tclient_close(&sub);
        tclient_close(&pub);
    }
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_qos1_puback), UNIT_TEST(test_qos1_delivery),
          UNIT_TEST(test_qos1_downgrade), UNIT_TEST(test_qos1_redelivery_dup))
