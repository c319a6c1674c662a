/* Integration: configured limits (issue 3 "Limits", MQTT 5.0 sections 3.2.2.3 and 4.13):
 * max_packet_size (CONNACK Maximum Packet Size, DISCONNECT 0x95), max_connections,
 * max_queued_messages (excess messages for an offline session dropped), retain_available false
 * (CONNACK Retain Available 0, DISCONNECT 0x9A). */
#include "integ.h"

/* max_packet_size 100: v5 CONNACK announces it (section 3.2.2.3.6); a bigger
 * packet gets DISCONNECT 0x95 Packet too large in v5 and a plain close in 3.1.1. */
static void test_max_packet_size(void)
{
    struct spawner *b = spawner_start("max_packet_size 100");
    REQUIRE(b);
    char big[151];
    memset(big, 'B', 150);
    big[150] = 0;
    for (int v = 4; v <= 5; v++) {
        struct tclient c;
        struct tclient_pkt r;
        REQUIRE(tclient_open(&c, spawner_port(b), v) == 0);
        struct pkt_connect_opts o = {
            .version = v, .client_id = "mps", .keep_alive = 60, .clean = 1};
        REQUIRE(integ_send_connect(&c, &o) == 0);
        REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.reason, 0);
        if (v == 5) {
            const struct tclient_prop *m = tclient_prop_find(&r, 0x27, 0);
            CHECK(m && m->num == 100);
        }
        tclient_pkt_free(&r);
        /* A packet just under the limit is fine. */
        REQUIRE(tclient_pub(&c, "t", "small", 1, 0, 1) == 0);
        struct pkt p;
        pkt_init(&p);
        pkt_publish(&p, v, "t", big, 0, 0, 0);
        REQUIRE(tclient_send(&c, &p) == 0);
        pkt_free(&p);
        CHECK(tclient_expect_disconnect(&c, 0x95, TCLIENT_TIMEOUT_MS) == 0);
        tclient_close(&c);
    }
    CHECK(spawner_stop(b) == 0);
}

/* max_connections 2: a third connection is closed at once, without a CONNACK (counted in
 * tern_connections_refused_total); once one leaves, a new one is accepted. (Mosquitto 2.0.11
 * lets the third one in: against it this test fails.) */
static void test_max_connections(void)
{
    struct spawner *b = spawner_start("max_connections 2");
    REQUIRE(b);
    struct tclient c1, c2, c3;
    REQUIRE(tclient_start(&c1, spawner_port(b), 5, "c1", 60, 1, NULL) == 0);
    REQUIRE(tclient_start(&c2, spawner_port(b), 5, "c2", 60, 1, NULL) == 0);
    int rc = tclient_open(&c3, spawner_port(b), 5);
    if (rc == 0) {
        struct pkt p;
        pkt_init(&p);
        pkt_connect(&p, 5, "c3", 60, 1);
        tclient_send(&c3, &p);
        pkt_free(&p);
        struct tclient_pkt r;
        rc = tclient_recv(&c3, &r, TCLIENT_TIMEOUT_MS);
        if (rc == 0) {
            tclient_pkt_dump("max_connections: expected a close, got", &r);
            tclient_pkt_free(&r);
        }
        CHECK_EQ_INT(rc, TCLIENT_CLOSED);
    }
    tclient_close(&c3);
    struct pkt p;
    pkt_init(&p);
    pkt_disconnect(&p, 5, 0);
    REQUIRE(tclient_send(&c1, &p) == 0);
    pkt_free(&p);
    CHECK(tclient_expect_closed(&c1, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c1);
    REQUIRE(tclient_start(&c3, spawner_port(b), 5, "c3", 60, 1, NULL) == 0);
    CHECK(tclient_ping(&c3) == 0);
    CHECK(tclient_ping(&c2) == 0);
    tclient_close(&c2);
    tclient_close(&c3);
    CHECK(spawner_stop(b) == 0);
}

/* max_queued_messages 3: an offline persistent session keeps the oldest 3 QoS 1 messages and
 * drops the rest. One worker: with two, a PUBACK can precede the other worker queueing the
 * message, so a message still in transit when the subscriber returns would be delivered live. */
static void test_max_queued_messages(void)
{
    struct spawner *b = spawner_start("worker_threads 1\nmax_queued_messages 3");
    REQUIRE(b);
    struct tclient sub, pub;
    int present = 0;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "q", 60, 0, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "mq", 1, 0x01) == 0);
    tclient_close(&sub);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    char payload[16];
    for (int i = 0; i < 8; i++) {
        snprintf(payload, sizeof payload, "m%d", i);
        REQUIRE(tclient_pub(&pub, "mq", payload, 1, 0, (uint16_t)(i + 1)) == 0);
    }
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "q", 60, 0, &present) == 0);
    CHECK_EQ_INT(present, 1);
    for (int i = 0; i < 3; i++) {
        struct tclient_pkt r;
        snprintf(payload, sizeof payload, "m%d", i);
        REQUIRE(tclient_expect_publish(&sub, &r, "mq", payload, 1) == 0);
        CHECK(integ_send_ack(&sub, CT_PUBACK, r.packet_id) == 0);
        tclient_pkt_free(&r);
    }
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* retain_available false: v5 CONNACK Retain Available 0, and a retained PUBLISH gets DISCONNECT
 * 0x9A Retain not supported [MQTT-3.2.2-14]. */
static void test_retain_unavailable(void)
{
    struct spawner *b = spawner_start("retain_available false");
    REQUIRE(b);
    struct tclient c;
    struct tclient_pkt r;
    REQUIRE(tclient_open(&c, spawner_port(b), 5) == 0);
    struct pkt_connect_opts o = {.version = 5, .client_id = "nr", .keep_alive = 60, .clean = 1};
    REQUIRE(integ_send_connect(&c, &o) == 0);
    REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    const struct tclient_prop *ra = tclient_prop_find(&r, 0x25, 0);
    CHECK(ra && ra->num == 0);
    tclient_pkt_free(&r);
    struct pkt p;
    pkt_init(&p);
    pkt_publish(&p, 5, "keep", "me", 0, 1, 0);
    REQUIRE(tclient_send(&c, &p) == 0);
    pkt_free(&p);
    CHECK(tclient_expect_disconnect(&c, 0x9A, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_max_packet_size), UNIT_TEST(test_max_connections),
          UNIT_TEST(test_max_queued_messages), UNIT_TEST(test_retain_unavailable))
