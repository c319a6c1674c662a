/* Integration: redelivery and takeover (MQTT 5.0 sections 4.4, 4.8.2, 3.1.4 and 3.1.3.2.2):
 * an unacknowledged shared-subscription message moves to another member when its member's
 * session ends; a v5 QoS 2 message in the PUBCOMP-wait state gets its PUBREL re-sent after
 * reconnect; wills on session takeover (DISCONNECT 0x8E to the old connection). The 3.1.1
 * variants of resend are in 03_publish_qos1/2. */
#include "integ.h"

/* Connect v5 with Clean Start `clean`, Session Expiry expiry_s (0 = absent) and a will on
 * `will_topic` (payload "gone", QoS 1) with Will Delay delay_s (0 = absent). 0 or -1; the
 * CONNACK's Session Present goes to present (may be NULL). */
static int connect_will(struct tclient *c, int port, const char *id, int clean, uint32_t expiry_s,
                        const char *will_topic, uint32_t delay_s, int *present)
{
    if (tclient_open(c, port, 5) != 0)
        return -1;
    struct pkt props, wprops;
    pkt_init(&props);
    pkt_init(&wprops);
    if (expiry_s)
        pkt_prop_u32(&props, 0x11, expiry_s);
    if (delay_s)
        pkt_prop_u32(&wprops, 0x18, delay_s);
    struct pkt_will w = {
        .topic = will_topic, .payload = "gone", .payload_len = 4, .qos = 1, .props = &wprops};
    struct pkt_connect_opts o = {.version = 5,
                                 .client_id = id,
                                 .keep_alive = 60,
                                 .clean = clean,
                                 .props = &props,
                                 .will = will_topic ? &w : NULL};
    int rc = integ_send_connect(c, &o);
    pkt_free(&props);
    pkt_free(&wprops);
    struct tclient_pkt r;
    if (rc != 0 || tclient_expect(c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    rc = r.reason == 0 ? 0 : -1;
    if (present)
        *present = r.session_present;
    tclient_pkt_free(&r);
    return rc;
}

/* Shared subscription, two v5 members, QoS 1: the message in flight to A (never acknowledged)
 * is delivered to B once A's session ends, as issue 3 requires ("redelivery of unacked QoS 1/2
 * messages to another member when one leaves"; 5.0 section 4.8.2 allows it). A leaves with
 * DISCONNECT (Session Expiry 0), or by dropping its socket, or by unsubscribing (the session
 * stays, but the subscription that received the message is gone). */
enum leave { LEAVE_DISCONNECT, LEAVE_DROP, LEAVE_UNSUBSCRIBE };

static void shared_redelivery(enum leave how)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient a, bb, pub;
    struct tclient_pkt ra, rb, again;
    REQUIRE(integ_start(&a, spawner_port(b), 5, "memberA", 1, 0, NULL) == 0);
    REQUIRE(tclient_sub(&a, 1, "$share/g/t", 1, 0x01) == 0);
    REQUIRE(integ_start(&bb, spawner_port(b), 5, "memberB", 1, 0, NULL) == 0);
    REQUIRE(tclient_sub(&bb, 1, "$share/g/t", 1, 0x01) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "pub", 60, 1, NULL) == 0);
    /* Round robin: one message each. */
    REQUIRE(tclient_pub(&pub, "t", "m1", 1, 0, 1) == 0);
    REQUIRE(tclient_pub(&pub, "t", "m2", 1, 0, 2) == 0);
    REQUIRE(tclient_expect(&a, &ra, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
    REQUIRE(tclient_expect(&bb, &rb, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
    CHECK(integ_is_msg(&ra, "t", "m1") || integ_is_msg(&ra, "t", "m2"));
    CHECK(integ_is_msg(&rb, "t", "m1") || integ_is_msg(&rb, "t", "m2"));
    CHECK(ra.payload[1] != rb.payload[1]);
    CHECK(integ_send_ack(&bb, CT_PUBACK, rb.packet_id) == 0);
    CHECK(tclient_ping(&bb) == 0);
    /* A leaves without acknowledging. */
    struct pkt p;
    pkt_init(&p);
    if (how == LEAVE_DISCONNECT) { /* its session (expiry 0) ends with the connection */
        pkt_disconnect(&p, 5, 0x00);
        REQUIRE(tclient_send(&a, &p) == 0);
        CHECK(tclient_expect_closed(&a, TCLIENT_TIMEOUT_MS) == 0);
    } else if (how == LEAVE_UNSUBSCRIBE) {
        struct tclient_pkt ua;
        pkt_unsubscribe(&p, 5, 7, "$share/g/t");
        REQUIRE(tclient_send(&a, &p) == 0);
        REQUIRE(tclient_expect(&a, &ua, CT_UNSUBACK, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(ua.packet_id, 7);
        tclient_pkt_free(&ua);
    }
    pkt_free(&p);
    tclient_close(&a); /* LEAVE_DROP: no DISCONNECT, the socket just closes */
    char want[3] = {'m', (char)ra.payload[1], 0};
    REQUIRE(tclient_expect_publish(&bb, &again, "t", want, 1) == 0);
    CHECK(integ_send_ack(&bb, CT_PUBACK, again.packet_id) == 0);
    tclient_pkt_free(&again);
    CHECK(tclient_ping(&bb) == 0);
    tclient_pkt_free(&ra);
    tclient_pkt_free(&rb);
    tclient_close(&bb);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

static void test_shared_redelivery_on_leave(void)
{
    shared_redelivery(LEAVE_DISCONNECT);
}

static void test_shared_redelivery_on_drop(void)
{
    shared_redelivery(LEAVE_DROP);
}

static void test_shared_redelivery_on_unsubscribe(void)
{
    shared_redelivery(LEAVE_UNSUBSCRIBE);
}

/* v5 persistent session, outgoing QoS 2: after PUBREC the broker sends PUBREL; the client goes
 * away before PUBCOMP. On reconnect (Clean Start 0) the broker re-sends the PUBREL with the same
 * packet id, not the PUBLISH [MQTT-4.4.0-1]; PUBCOMP ends it. */
static void test_v5_pubrel_resent(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient sub, pub;
    struct tclient_pkt r, rel;
    int present = -1;
    REQUIRE(integ_start(&sub, spawner_port(b), 5, "q2v5", 1, 300, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "q2", 2, 0x02) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "q2", "exactly", 2, 0, 1) == 0);
    REQUIRE(tclient_expect_publish(&sub, &r, "q2", "exactly", 2) == 0);
    CHECK(integ_send_ack(&sub, CT_PUBREC, r.packet_id) == 0);
    REQUIRE(tclient_expect(&sub, &rel, CT_PUBREL, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(rel.packet_id, r.packet_id);
    tclient_pkt_free(&rel);
    tclient_close(&sub); /* no PUBCOMP */

    REQUIRE(integ_start(&sub, spawner_port(b), 5, "q2v5", 0, 300, &present) == 0);
    CHECK_EQ_INT(present, 1);
    REQUIRE(tclient_expect(&sub, &rel, CT_PUBREL, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(rel.packet_id, r.packet_id);
    CHECK_EQ_INT(rel.flags, 0x2);
    CHECK_EQ_INT(rel.reason, 0x00);
    tclient_pkt_free(&rel);
    CHECK(integ_send_ack(&sub, CT_PUBCOMP, r.packet_id) == 0);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    /* Completed: a further reconnect gets nothing re-sent. */
    REQUIRE(integ_start(&sub, spawner_port(b), 5, "q2v5", 0, 300, &present) == 0);
    CHECK_EQ_INT(present, 1);
    CHECK(tclient_ping(&sub) == 0);
    tclient_pkt_free(&r);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

static int watch(struct tclient *w, int port)
{
    if (tclient_start(w, port, 4, "watcher", 60, 1, NULL) != 0)
        return -1;
    return tclient_sub(w, 1, "will/#", 1, 0x01);
}

/* Receive the next PUBLISH on w, require topic/payload, acknowledge it. 0 or -1. */
static int expect_acked(struct tclient *w, const char *topic, const char *payload)
{
    struct tclient_pkt r;
    if (tclient_expect_publish(w, &r, topic, payload, 1) != 0)
        return -1;
    int rc = integ_send_ack(w, CT_PUBACK, r.packet_id);
    tclient_pkt_free(&r);
    return rc;
}

/* Takeover of a v5 client with a will (no delay) by a new connection with the same client id:
 * the old connection gets DISCONNECT 0x8E Session taken over and is closed [MQTT-3.1.4-3], and,
 * closed without a DISCONNECT of its own, its will is published (5.0 section 3.1.2.5). */
static void test_will_on_takeover(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient w, old, young;
    REQUIRE(watch(&w, spawner_port(b)) == 0);
    REQUIRE(connect_will(&old, spawner_port(b), "tk5", 1, 0, "will/tk5", 0, NULL) == 0);
    REQUIRE(connect_will(&young, spawner_port(b), "tk5", 1, 0, NULL, 0, NULL) == 0);
    CHECK(tclient_expect_disconnect(&old, 0x8E, TCLIENT_TIMEOUT_MS) == 0);
    CHECK(expect_acked(&w, "will/tk5", "gone") == 0);
    CHECK(tclient_ping(&young) == 0);
    tclient_close(&old);
    tclient_close(&young);
    tclient_close(&w);
    CHECK(spawner_stop(b) == 0);
}

/* Will Delay 300 s and a takeover with Clean Start 1: the old session ends with the takeover,
 * and a will is published when the delay passes or the session ends, whichever is first
 * [MQTT-3.1.3-9]: at once, not in 300 s. Likewise a delayed will with Session Expiry 0 (absent)
 * goes out when the connection drops, as the session ends then (Mosquitto 2.0.11 waits out the
 * delay there: this test fails against it). */
static void test_delayed_will_on_session_end(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient w, old, young, lone;
    REQUIRE(watch(&w, spawner_port(b)) == 0);
    REQUIRE(connect_will(&old, spawner_port(b), "tkc", 1, 300, "will/tkc", 300, NULL) == 0);
    REQUIRE(connect_will(&young, spawner_port(b), "tkc", 1, 300, NULL, 0, NULL) == 0);
    CHECK(tclient_expect_disconnect(&old, 0x8E, TCLIENT_TIMEOUT_MS) == 0);
    CHECK(expect_acked(&w, "will/tkc", "gone") == 0);
    REQUIRE(connect_will(&lone, spawner_port(b), "tkz", 1, 0, "will/tkz", 300, NULL) == 0);
    tclient_close(&lone);
    CHECK(expect_acked(&w, "will/tkz", "gone") == 0);
    CHECK(tclient_ping(&young) == 0);
    tclient_close(&old);
    tclient_close(&young);
    tclient_close(&w);
    CHECK(spawner_stop(b) == 0);
}

/* Will Delay 1 s and a new connection that resumes the session (Clean Start 0) before it
 * elapses: the old connection gets DISCONNECT 0x8E, Session Present 1, and the will is NOT
 * published [MQTT-3.1.3-9]. The delay is a timer: the watcher stays silent past it, then a
 * marker from a fresh client is the next thing it receives. */
static void test_no_will_on_resumed_takeover(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient w, old, young, m;
    int present = -1;
    REQUIRE(watch(&w, spawner_port(b)) == 0);
    REQUIRE(connect_will(&old, spawner_port(b), "tkd", 1, 300, "will/tkd", 1, NULL) == 0);
    REQUIRE(connect_will(&young, spawner_port(b), "tkd", 0, 300, NULL, 0, &present) == 0);
    CHECK_EQ_INT(present, 1);
    CHECK(tclient_expect_disconnect(&old, 0x8E, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&old);
    CHECK(tclient_expect_silence(&w, 2000) == 0);
    REQUIRE(tclient_start(&m, spawner_port(b), 4, "marker", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&m, "will/marker", "marker", 1, 0, 1) == 0);
    CHECK(expect_acked(&w, "will/marker", "marker") == 0);
    CHECK(tclient_ping(&young) == 0);
    tclient_close(&m);
    tclient_close(&young);
    tclient_close(&w);
    CHECK(spawner_stop(b) == 0);
}

/* SUBSCRIBE (v5) to one filter with options and Subscription Identifier sub_id; SUBACK must
 * grant want. 0 or -1. */
static int sub_with_id(struct tclient *c, const char *filter, uint8_t options, uint32_t sub_id,
                       uint8_t want)
{
    struct pkt props, p;
    pkt_init(&props);
    pkt_prop_varint(&props, 0x0B, sub_id);
    pkt_init(&p);
    pkt_subscribe_many(&p, 5, 1, &props, &filter, &options, 1);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    pkt_free(&props);
    struct tclient_pkt r;
    if (rc != 0 || tclient_expect(c, &r, CT_SUBACK, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    rc = r.ncodes == 1 && r.codes[0] == want ? 0 : -1;
    tclient_pkt_free(&r);
    return rc;
}

/* Shared-subscription redelivery uses the new member's subscription: A (QoS 2, identifier 7)
 * leaves with a QoS 2 message unacknowledged; B (QoS 1, identifier 9) gets it at QoS 1 with
 * Subscription Identifier 9, not at A's QoS 2 with A's identifier. */
static void test_shared_redelivery_member_options(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient a, bb, pub;
    struct tclient_pkt ra, rb, again;
    REQUIRE(integ_start(&a, spawner_port(b), 5, "optA", 1, 0, NULL) == 0);
    REQUIRE(sub_with_id(&a, "$share/g/t", 2, 7, 0x02) == 0);
    REQUIRE(integ_start(&bb, spawner_port(b), 5, "optB", 1, 0, NULL) == 0);
    REQUIRE(sub_with_id(&bb, "$share/g/t", 1, 9, 0x01) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "t", "m1", 2, 0, 1) == 0);
    REQUIRE(tclient_pub(&pub, "t", "m2", 2, 0, 2) == 0);
    REQUIRE(tclient_expect(&a, &ra, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
    REQUIRE(tclient_expect(&bb, &rb, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(ra.qos, 2);
    const struct tclient_prop *id = tclient_prop_find(&ra, 0x0B, 0);
    CHECK_EQ_INT(id ? (int)id->num : -1, 7);
    CHECK_EQ_INT(rb.qos, 1);
    CHECK(integ_send_ack(&bb, CT_PUBACK, rb.packet_id) == 0);
    CHECK(tclient_ping(&bb) == 0);
    struct pkt p;
    pkt_init(&p);
    pkt_disconnect(&p, 5, 0x00);
    REQUIRE(tclient_send(&a, &p) == 0); /* without PUBREC: the QoS 2 message is in flight */
    pkt_free(&p);
    CHECK(tclient_expect_closed(&a, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&a);
    char want[3] = {'m', (char)ra.payload[1], 0};
    REQUIRE(tclient_expect_publish(&bb, &again, "t", want, -1) == 0);
    CHECK_EQ_INT(again.qos, 1);
    id = tclient_prop_find(&again, 0x0B, 0);
    CHECK_EQ_INT(id ? (int)id->num : -1, 9);
    CHECK(tclient_prop_find(&again, 0x0B, 1) == NULL);
    if (again.qos == 1)
        CHECK(integ_send_ack(&bb, CT_PUBACK, again.packet_id) == 0);
    tclient_pkt_free(&again);
    CHECK(tclient_ping(&bb) == 0);
    tclient_pkt_free(&ra);
    tclient_pkt_free(&rb);
    tclient_close(&bb);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_shared_redelivery_on_leave), UNIT_TEST(test_shared_redelivery_on_drop),
          UNIT_TEST(test_shared_redelivery_on_unsubscribe),
          UNIT_TEST(test_shared_redelivery_member_options), UNIT_TEST(test_v5_pubrel_resent),
          UNIT_TEST(test_will_on_takeover), UNIT_TEST(test_delayed_will_on_session_end),
          UNIT_TEST(test_no_will_on_resumed_takeover))
