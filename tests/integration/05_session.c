/* Integration: sessions (MQTT 3.1.1 sections 3.1.2.4 and 4.1, MQTT 5.0 sections 3.1.2.4,
 * 3.1.2.11.2 and 4.1): clean vs persistent, Session Present, subscriptions and queued QoS 1
 * messages kept across reconnects, v5 Session Expiry Interval incl. its change at DISCONNECT and
 * the protocol error for 0 -> non-zero. Redelivery of inflight messages is in 03_publish_qos1/2. */
#include <poll.h>

#include "integ.h"

/* Let `ms` of wall time pass: the behaviour under test is an expiry timer, so time itself is
 * what is waited for, not an event that could be polled. */
static void let_time_pass(int ms)
{
    long long end = integ_now_ms() + ms;
    while (integ_now_ms() < end)
        poll(NULL, 0, (int)(end - integ_now_ms()));
}

/* v5 DISCONNECT with reason code and, when has_expiry, a Session Expiry Interval. */
static int send_disconnect(struct tclient *c, uint8_t reason, int has_expiry, uint32_t expiry_s)
{
    struct pkt p;
    pkt_init(&p);
    pkt_begin(&p, 0xE0);
    pkt_u8(&p, reason);
    pkt_props_begin(&p);
    if (has_expiry)
        pkt_prop_u32(&p, 0x11, expiry_s);
    pkt_props_end(&p);
    pkt_end(&p);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    return rc;
}

/* 3.1.1 persistent session: Session Present 0 then 1 [MQTT-3.2.2-2], subscriptions kept so a
 * message published while the client is away is delivered on return, without resubscribing. */
static void test_persistent_v311(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c, pub;
    struct tclient_pkt r;
    int present = -1;
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "pers", 60, 0, &present) == 0);
    CHECK_EQ_INT(present, 0);
    REQUIRE(tclient_sub(&c, 1, "ps/#", 1, 0x01) == 0);
    struct pkt p;
    pkt_init(&p);
    pkt_disconnect(&p, 4, 0);
    REQUIRE(tclient_send(&c, &p) == 0);
    pkt_free(&p);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);

    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    for (int i = 1; i <= 3; i++) {
        char payload[16];
        snprintf(payload, sizeof payload, "q%d", i);
        REQUIRE(tclient_pub(&pub, "ps/x", payload, 1, 0, (uint16_t)i) == 0);
    }
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "pers", 60, 0, &present) == 0);
    CHECK_EQ_INT(present, 1);
    for (int i = 1; i <= 3; i++) {
        char payload[16];
        snprintf(payload, sizeof payload, "q%d", i);
        REQUIRE(tclient_expect_publish(&c, &r, "ps/x", payload, 1) == 0);
        CHECK(integ_send_ack(&c, CT_PUBACK, r.packet_id) == 0);
        tclient_pkt_free(&r);
    }
    CHECK(tclient_ping(&c) == 0);
    /* Still subscribed after the return. */
    REQUIRE(tclient_pub(&pub, "ps/y", "live", 1, 0, 9) == 0);
    REQUIRE(tclient_expect_publish(&c, &r, "ps/y", "live", 1) == 0);
    CHECK(integ_send_ack(&c, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    tclient_close(&c);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Clean session 1 discards any previous session and its own ends with the connection
 * [MQTT-3.1.2-6]: Session Present 0 and no subscription left. */
static void test_clean_discards(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c, pub;
    int present = -1;
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "cl", 60, 0, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "cl/1", 1, 0x01) == 0);
    tclient_close(&c);
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "cl", 60, 1, &present) == 0);
    CHECK_EQ_INT(present, 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "cl/1", "x", 1, 0, 1) == 0);
    /* The clean session has no subscription: PINGRESP is the next packet. */
    CHECK(tclient_ping(&c) == 0);
    tclient_close(&c);
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "cl", 60, 0, &present) == 0);
    CHECK_EQ_INT(present, 0);
    CHECK(tclient_ping(&c) == 0);
    tclient_close(&c);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* v5: with no Session Expiry Interval the session ends with the connection even when Clean Start
 * is 0 (5.0 section 3.1.2.11.2); with one, it is kept (Session Present 1). */
static void test_v5_expiry_zero_and_kept(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    int present = -1;
    REQUIRE(integ_start(&c, spawner_port(b), 5, "e0", 0, 0, &present) == 0);
    CHECK_EQ_INT(present, 0);
    tclient_close(&c);
    REQUIRE(integ_start(&c, spawner_port(b), 5, "e0", 0, 300, &present) == 0);
    CHECK_EQ_INT(present, 0);
    REQUIRE(tclient_sub(&c, 1, "e/x", 1, 0x01) == 0);
    tclient_close(&c);
    REQUIRE(integ_start(&c, spawner_port(b), 5, "e0", 0, 300, &present) == 0);
    CHECK_EQ_INT(present, 1);
    tclient_close(&c);
    /* Clean Start 1 discards it [MQTT-3.1.2-4]. */
    REQUIRE(integ_start(&c, spawner_port(b), 5, "e0", 1, 300, &present) == 0);
    CHECK_EQ_INT(present, 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* v5: a session with expiry 1 s is gone 2.2 s after the connection closed. */
static void test_v5_expiry_elapses(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    int present = -1;
    REQUIRE(integ_start(&c, spawner_port(b), 5, "short", 0, 1, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "sh", 1, 0x01) == 0);
    tclient_close(&c);
    let_time_pass(2200);
    REQUIRE(integ_start(&c, spawner_port(b), 5, "short", 0, 1, &present) == 0);
    CHECK_EQ_INT(present, 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* v5: the Session Expiry Interval can be changed at DISCONNECT: set to 0 there, the session ends
 * (5.0 section 3.14.2.2.2); the queued message is gone with it. */
static void test_v5_expiry_changed_at_disconnect(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    int present = -1;
    REQUIRE(integ_start(&c, spawner_port(b), 5, "chg", 0, 300, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "chg", 1, 0x01) == 0);
    REQUIRE(send_disconnect(&c, 0x00, 1, 0) == 0);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    REQUIRE(integ_start(&c, spawner_port(b), 5, "chg", 0, 300, &present) == 0);
    CHECK_EQ_INT(present, 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* v5: changed at DISCONNECT to another non-zero value, the new interval counts: a session
 * shortened from 300 s to 1 s is gone 2.2 s later, one lengthened from 1 s to 300 s is still
 * there (both wait out the same 2.2 s). */
static void test_v5_expiry_changed_nonzero(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    int present = -1;
    REQUIRE(integ_start(&c, spawner_port(b), 5, "shorter", 0, 300, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "shorter", 1, 0x01) == 0);
    REQUIRE(send_disconnect(&c, 0x00, 1, 1) == 0);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    REQUIRE(integ_start(&c, spawner_port(b), 5, "longer", 0, 1, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "longer", 1, 0x01) == 0);
    REQUIRE(send_disconnect(&c, 0x00, 1, 300) == 0);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    let_time_pass(2200);
    REQUIRE(integ_start(&c, spawner_port(b), 5, "shorter", 0, 300, &present) == 0);
    CHECK_EQ_INT(present, 0);
    tclient_close(&c);
    REQUIRE(integ_start(&c, spawner_port(b), 5, "longer", 0, 300, &present) == 0);
    CHECK_EQ_INT(present, 1);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* v5: Session Expiry Interval 0 at CONNECT and non-zero at DISCONNECT is a protocol error
 * [MQTT-3.14.2-2]: the server answers DISCONNECT 0x82 and closes. */
static void test_v5_expiry_zero_to_nonzero(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    REQUIRE(integ_start(&c, spawner_port(b), 5, "z2n", 1, 0, NULL) == 0);
    REQUIRE(send_disconnect(&c, 0x00, 1, 60) == 0);
    CHECK(tclient_expect_disconnect(&c, 0x82, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* Queued QoS 1 messages of a v5 persistent session arrive in order after reconnect, with fresh
 * (not DUP) delivery since they were never sent. */
static void test_v5_queued_delivery(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c, pub;
    struct tclient_pkt r;
    int present = -1;
    REQUIRE(integ_start(&c, spawner_port(b), 5, "q5", 1, 300, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "q5/t", 1, 0x01) == 0);
    REQUIRE(send_disconnect(&c, 0x00, 0, 0) == 0);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "q5/t", "one", 1, 0, 1) == 0);
    REQUIRE(tclient_pub(&pub, "q5/t", "two", 2, 0, 2) == 0);
    REQUIRE(integ_start(&c, spawner_port(b), 5, "q5", 0, 300, &present) == 0);
    CHECK_EQ_INT(present, 1);
    REQUIRE(tclient_expect_publish(&c, &r, "q5/t", "one", 1) == 0);
    CHECK_EQ_INT(r.dup, 0);
    CHECK(integ_send_ack(&c, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    REQUIRE(tclient_expect_publish(&c, &r, "q5/t", "two", 1) == 0);
    CHECK(integ_send_ack(&c, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&c) == 0);
    tclient_close(&c);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_persistent_v311), UNIT_TEST(test_clean_discards),
          UNIT_TEST(test_v5_expiry_zero_and_kept), UNIT_TEST(test_v5_expiry_elapses),
          UNIT_TEST(test_v5_expiry_changed_at_disconnect),
          UNIT_TEST(test_v5_expiry_changed_nonzero), UNIT_TEST(test_v5_expiry_zero_to_nonzero),
          UNIT_TEST(test_v5_queued_delivery))
