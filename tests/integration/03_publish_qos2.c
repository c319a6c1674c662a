/* Integration: PUBLISH at QoS 2 (MQTT 3.1.1 and 5.0 section 4.3.3): PUBREC/PUBREL/PUBCOMP in both
 * directions with exact packets, inbound deduplication of a PUBLISH resent with DUP before PUBREL,
 * downgrade to the subscription's QoS, and resumption after reconnect of a persistent session
 * (PUBLISH again with DUP before PUBREC, PUBREL again after it) [MQTT-4.4.0-1]. */
#include "integ.h"

/* Publisher side: PUBREC then, after PUBREL, PUBCOMP, all with the publisher's packet id. */
static void test_qos2_publisher_flow(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    for (int version = 4; version <= 5; version++) {
        struct tclient pub;
        struct tclient_pkt r;
        struct pkt p;
        pkt_init(&p);
        REQUIRE(tclient_start(&pub, spawner_port(b), version, "pub", 60, 1, NULL) == 0);
        pkt_publish(&p, version, "q2/a", "data", 2, 0, 0x0102);
        REQUIRE(tclient_send(&pub, &p) == 0);
        REQUIRE(tclient_expect(&pub, &r, CT_PUBREC, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.packet_id, 0x0102);
        CHECK(r.reason == 0x00 || r.reason == 0x10);
        if (version == 4) {
            static const uint8_t rec[] = {0x50, 0x02, 0x01, 0x02};
            CHECK_MEM(r.raw, r.raw_len, rec, sizeof rec);
        }
        tclient_pkt_free(&r);
        REQUIRE(integ_send_ack(&pub, CT_PUBREL, 0x0102) == 0);
        REQUIRE(tclient_expect(&pub, &r, CT_PUBCOMP, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.packet_id, 0x0102);
        CHECK_EQ_INT(r.reason, 0x00);
        if (version == 4) {
            static const uint8_t comp[] = {0x70, 0x02, 0x01, 0x02};
            CHECK_MEM(r.raw, r.raw_len, comp, sizeof comp);
        }
        tclient_pkt_free(&r);
        pkt_free(&p);
        tclient_close(&pub);
    }
    CHECK(spawner_stop(b) == 0);
}

/* Subscriber side: PUBLISH QoS 2, client PUBREC, broker PUBREL (flags 0x2) with the same id
 * [MQTT-3.6.1-1], client PUBCOMP; then nothing more. */
static void test_qos2_subscriber_flow(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    for (int version = 4; version <= 5; version++) {
        struct tclient sub, pub;
        struct tclient_pkt r, rel;
        REQUIRE(tclient_start(&sub, spawner_port(b), version, "sub", 60, 1, NULL) == 0);
        REQUIRE(tclient_sub(&sub, 1, "q2/#", 2, 0x02) == 0);
        REQUIRE(tclient_start(&pub, spawner_port(b), version, "pub", 60, 1, NULL) == 0);
        REQUIRE(tclient_pub(&pub, "q2/b", "two", 2, 0, 9) == 0);
        REQUIRE(tclient_expect_publish(&sub, &r, "q2/b", "two", 2) == 0);
        CHECK(r.packet_id != 0);
        CHECK_EQ_INT(r.dup, 0);
        REQUIRE(integ_send_ack(&sub, CT_PUBREC, r.packet_id) == 0);
        REQUIRE(tclient_expect(&sub, &rel, CT_PUBREL, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(rel.flags, 0x2);
        CHECK_EQ_INT(rel.packet_id, r.packet_id);
        if (version == 4) {
            const uint8_t want[] = {0x62, 0x02, (uint8_t)(r.packet_id >> 8), (uint8_t)r.packet_id};
            CHECK_MEM(rel.raw, rel.raw_len, want, sizeof want);
        }
        REQUIRE(integ_send_ack(&sub, CT_PUBCOMP, r.packet_id) == 0);
        tclient_pkt_free(&r);
        tclient_pkt_free(&rel);
        CHECK(tclient_ping(&sub) == 0);
        tclient_close(&sub);
        tclient_close(&pub);
    }
    CHECK(spawner_stop(b) == 0);
}

/* The publisher resends its PUBLISH with DUP before sending PUBREL: the broker answers PUBREC
 * again but delivers the message once (method B, section 4.3.3). A later
 * marker from the same publisher arriving next proves there was no second copy. */
static void test_qos2_inbound_dedup(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    for (int version = 4; version <= 5; version++) {
        struct tclient sub, pub;
        struct tclient_pkt r;
        REQUIRE(tclient_start(&sub, spawner_port(b), version, "sub", 60, 1, NULL) == 0);
        REQUIRE(tclient_sub(&sub, 1, "dd", 2, 0x02) == 0);
        REQUIRE(tclient_start(&pub, spawner_port(b), version, "pub", 60, 1, NULL) == 0);
        struct pkt_publish_opts o = {.version = version,
                                     .topic = "dd",
                                     .payload = "once",
                                     .payload_len = 4,
                                     .qos = 2,
                                     .packet_id = 33};
        REQUIRE(integ_send_publish(&pub, &o) == 0);
        REQUIRE(tclient_expect(&pub, &r, CT_PUBREC, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.packet_id, 33);
        tclient_pkt_free(&r);
        o.dup = 1;
        REQUIRE(integ_send_publish(&pub, &o) == 0);
        REQUIRE(tclient_expect(&pub, &r, CT_PUBREC, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.packet_id, 33);
        tclient_pkt_free(&r);
        REQUIRE(integ_send_ack(&pub, CT_PUBREL, 33) == 0);
        REQUIRE(tclient_expect(&pub, &r, CT_PUBCOMP, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.packet_id, 33);
        tclient_pkt_free(&r);
        REQUIRE(tclient_pub(&pub, "dd", "marker", 2, 0, 34) == 0);

        REQUIRE(tclient_expect_publish(&sub, &r, "dd", "once", 2) == 0);
        CHECK(integ_send_ack(&sub, CT_PUBREC, r.packet_id) == 0);
        tclient_pkt_free(&r);
        /* The broker may send PUBREL for the first message before or after the marker. */
        int got_marker = 0, got_rel = 0;
        for (int i = 0; i < 2; i++) {
            REQUIRE(tclient_recv(&sub, &r, TCLIENT_TIMEOUT_MS) == 0);
            if (r.type == CT_PUBREL) {
                got_rel++;
                CHECK(integ_send_ack(&sub, CT_PUBCOMP, r.packet_id) == 0);
            } else if (integ_is_msg(&r, "dd", "marker")) {
                got_marker++;
                CHECK(integ_send_ack(&sub, CT_PUBREC, r.packet_id) == 0);
            } else {
                tclient_pkt_dump("dedup: unexpected", &r);
                CHECK(0);
            }
            tclient_pkt_free(&r);
        }
        CHECK_EQ_INT(got_marker, 1);
        CHECK_EQ_INT(got_rel, 1);
        tclient_close(&sub);
        tclient_close(&pub);
    }
    CHECK(spawner_stop(b) == 0);
}

/* The inbound QoS 2 state belongs to the session (5.0 section 4.1): a persistent publisher that
 * got PUBREC, lost its connection and resends the PUBLISH (DUP) on the resumed session gets
 * PUBREC again but the message is not routed twice; PUBREL then completes it. A marker proves
 * no second copy was on its way. */
static void test_qos2_dedup_across_reconnect(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    for (int version = 4; version <= 5; version++) {
        struct tclient sub, pub;
        struct tclient_pkt r;
        int present = -1;
        REQUIRE(tclient_start(&sub, spawner_port(b), version, "rsub", 60, 1, NULL) == 0);
        REQUIRE(tclient_sub(&sub, 1, "rd", 1, 0x01) == 0);
        REQUIRE(integ_start(&pub, spawner_port(b), version, "rpub", 0, 300, NULL) == 0);
        struct pkt_publish_opts o = {.version = version,
                                     .topic = "rd",
                                     .payload = "once",
                                     .payload_len = 4,
                                     .qos = 2,
                                     .packet_id = 40};
        REQUIRE(integ_send_publish(&pub, &o) == 0);
        REQUIRE(tclient_expect(&pub, &r, CT_PUBREC, TCLIENT_TIMEOUT_MS) == 0);
        tclient_pkt_free(&r);
        tclient_close(&pub); /* no PUBREL: the connection is lost */
        REQUIRE(integ_start(&pub, spawner_port(b), version, "rpub", 0, 300, &present) == 0);
        CHECK_EQ_INT(present, 1);
        o.dup = 1;
        REQUIRE(integ_send_publish(&pub, &o) == 0);
        REQUIRE(tclient_expect(&pub, &r, CT_PUBREC, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.packet_id, 40);
        tclient_pkt_free(&r);
        REQUIRE(integ_send_ack(&pub, CT_PUBREL, 40) == 0);
        REQUIRE(tclient_expect(&pub, &r, CT_PUBCOMP, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.packet_id, 40);
        tclient_pkt_free(&r);
        REQUIRE(tclient_pub(&pub, "rd", "marker", 1, 0, 41) == 0);
        REQUIRE(tclient_expect_publish(&sub, &r, "rd", "once", 1) == 0);
        CHECK(integ_send_ack(&sub, CT_PUBACK, r.packet_id) == 0);
        tclient_pkt_free(&r);
        REQUIRE(tclient_expect_publish(&sub, &r, "rd", "marker", 1) == 0);
        CHECK(integ_send_ack(&sub, CT_PUBACK, r.packet_id) == 0);
        tclient_pkt_free(&r);
        /* End the publisher's session for the next round. */
        tclient_close(&pub);
        REQUIRE(integ_start(&pub, spawner_port(b), version, "rpub", 1, 0, NULL) == 0);
        tclient_close(&pub);
        tclient_close(&sub);
    }
    CHECK(spawner_stop(b) == 0);
}

/* QoS 2 to a QoS 1 subscription arrives at QoS 1; to a QoS 0 one at QoS 0 (section 3.8.4). */
static void test_qos2_downgrade(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient s0, s1, pub;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&s0, spawner_port(b), 5, "s0", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&s0, 1, "dg2", 0, 0x00) == 0);
    REQUIRE(tclient_start(&s1, spawner_port(b), 4, "s1", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&s1, 1, "dg2", 1, 0x01) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "dg2", "down", 2, 0, 1) == 0);
    CHECK(tclient_expect_publish(&s0, NULL, "dg2", "down", 0) == 0);
    REQUIRE(tclient_expect_publish(&s1, &r, "dg2", "down", 1) == 0);
    CHECK(integ_send_ack(&s1, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&s1) == 0);
    tclient_close(&s0);
    tclient_close(&s1);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Persistent 3.1.1 session: a QoS 2 PUBLISH not yet PUBREC'd is resent with DUP and the same id;
 * once PUBREC'd, the broker resends PUBREL (not the PUBLISH) after reconnect [MQTT-4.4.0-1]. */
static void test_qos2_resume_after_reconnect(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient sub, pub;
    struct tclient_pkt r, again;
    int present = 0;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "q2keep", 60, 0, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "rs", 2, 0x02) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "rs", "resume", 2, 0, 1) == 0);
    REQUIRE(tclient_expect_publish(&sub, &r, "rs", "resume", 2) == 0);
    tclient_close(&sub);

    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "q2keep", 60, 0, &present) == 0);
    CHECK_EQ_INT(present, 1);
    REQUIRE(tclient_expect_publish(&sub, &again, "rs", "resume", 2) == 0);
    CHECK_EQ_INT(again.dup, 1);
    CHECK_EQ_INT(again.packet_id, r.packet_id);
    CHECK(integ_send_ack(&sub, CT_PUBREC, again.packet_id) == 0);
    tclient_pkt_free(&again);
    REQUIRE(tclient_expect(&sub, &again, CT_PUBREL, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(again.packet_id, r.packet_id);
    tclient_pkt_free(&again);
    tclient_close(&sub); /* no PUBCOMP */

    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "q2keep", 60, 0, &present) == 0);
    CHECK_EQ_INT(present, 1);
    REQUIRE(tclient_expect(&sub, &again, CT_PUBREL, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(again.packet_id, r.packet_id);
    CHECK_EQ_INT(again.flags, 0x2);
    CHECK(integ_send_ack(&sub, CT_PUBCOMP, again.packet_id) == 0);
    tclient_pkt_free(&again);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_qos2_publisher_flow), UNIT_TEST(test_qos2_subscriber_flow),
          UNIT_TEST(test_qos2_inbound_dedup), UNIT_TEST(test_qos2_dedup_across_reconnect),
          UNIT_TEST(test_qos2_downgrade), UNIT_TEST(test_qos2_resume_after_reconnect))
