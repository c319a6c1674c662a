/* Integration: will messages (MQTT 3.1.1 section 3.1.2.5, MQTT 5.0 sections 3.1.2.5 and
 * 3.1.3.2): published on ungraceful close, keep-alive timeout, protocol error and takeover; not
 * on DISCONNECT 0x00; published on v5 DISCONNECT 0x04; Will Delay Interval, cancelled by a
 * reconnect and cut short by the session's end; will QoS and retain. */
#include "integ.h"

/* Connect `id` with a will on `topic` (QoS qos, retain flag), keep alive `ka`; v5 adds Session
 * Expiry expiry_s and Will Delay delay_s when non-zero. 0 or -1. */
static int connect_with_will(struct tclient *c, int port, int version, const char *id,
                             const char *topic, int qos, int retain, uint16_t ka, uint32_t expiry_s,
                             uint32_t delay_s)
{
    if (tclient_open(c, port, version) != 0)
        return -1;
    struct pkt props, wprops;
    pkt_init(&props);
    pkt_init(&wprops);
    if (expiry_s)
        pkt_prop_u32(&props, 0x11, expiry_s);
    if (delay_s)
        pkt_prop_u32(&wprops, 0x18, delay_s);
    struct pkt_will w = {.topic = topic,
                         .payload = "gone",
                         .payload_len = 4,
                         .qos = qos,
                         .retain = retain,
                         .props = &wprops};
    struct pkt_connect_opts o = {.version = version,
                                 .client_id = id,
                                 .keep_alive = ka,
                                 .clean = 1,
                                 .props = &props,
                                 .will = &w};
    int rc = integ_send_connect(c, &o);
    pkt_free(&props);
    pkt_free(&wprops);
    struct tclient_pkt r;
    if (rc != 0 || tclient_expect(c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    rc = r.reason == 0 ? 0 : -1;
    tclient_pkt_free(&r);
    return rc;
}

/* The watcher of will topics. */
static int watcher(struct tclient *w, int port, const char *filter)
{
    if (tclient_start(w, port, 4, "watcher", 60, 1, NULL) != 0)
        return -1;
    return tclient_sub(w, 1, filter, 1, 0x01);
}

/* Publish a marker on `topic` from a fresh client: a watcher that receives the marker next has
 * received nothing before it. */
static int marker(int port, const char *topic)
{
    struct tclient m;
    if (tclient_start(&m, port, 4, "marker", 60, 1, NULL) != 0)
        return -1;
    int rc = tclient_pub(&m, topic, "marker", 1, 0, 1);
    tclient_close(&m);
    return rc;
}

static int expect_will(struct tclient *w, const char *topic, int qos)
{
    struct tclient_pkt r;
    if (tclient_expect_publish(w, &r, topic, "gone", qos) != 0)
        return -1;
    int rc = qos == 1 ? integ_send_ack(w, CT_PUBACK, r.packet_id) : 0;
    tclient_pkt_free(&r);
    return rc;
}

static int expect_marker(struct tclient *w, const char *topic)
{
    struct tclient_pkt r;
    if (tclient_expect_publish(w, &r, topic, "marker", 1) != 0)
        return -1;
    int rc = integ_send_ack(w, CT_PUBACK, r.packet_id);
    tclient_pkt_free(&r);
    return rc;
}

/* Closing the socket without DISCONNECT publishes the will [MQTT-3.1.2-8], at the will's QoS. */
static void test_will_on_ungraceful_close(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient w, c;
    REQUIRE(watcher(&w, spawner_port(b), "will/#") == 0);
    for (int version = 3; version <= 5; version++) {
        REQUIRE(connect_with_will(&c, spawner_port(b), version, "wc", "will/x", 1, 0, 60, 0, 0) ==
                0);
        tclient_close(&c);
        CHECK(expect_will(&w, "will/x", 1) == 0);
    }
    tclient_close(&w);
    CHECK(spawner_stop(b) == 0);
}

/* DISCONNECT (v5 reason 0x00) deletes the will [MQTT-3.1.2-10]; v5 reason 0x04 Disconnect with
 * Will Message publishes it (5.0 section 3.14.2.1). */
static void test_will_disconnect_reasons(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient w, c;
    struct pkt p;
    pkt_init(&p);
    REQUIRE(watcher(&w, spawner_port(b), "will/#") == 0);
    for (int version = 4; version <= 5; version++) {
        REQUIRE(connect_with_will(&c, spawner_port(b), version, "wc", "will/d", 1, 0, 60, 0, 0) ==
                0);
        pkt_disconnect(&p, version, 0x00);
        REQUIRE(tclient_send(&c, &p) == 0);
        CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
        tclient_close(&c);
        REQUIRE(marker(spawner_port(b), "will/d") == 0);
        CHECK(expect_marker(&w, "will/d") == 0);
    }
    REQUIRE(connect_with_will(&c, spawner_port(b), 5, "wc", "will/d", 1, 0, 60, 0, 0) == 0);
    pkt_disconnect(&p, 5, 0x04);
    REQUIRE(tclient_send(&c, &p) == 0);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    CHECK(expect_will(&w, "will/d", 1) == 0);
    pkt_free(&p);
    tclient_close(&w);
    CHECK(spawner_stop(b) == 0);
}

/* A keep-alive timeout publishes the will (section 3.1.2.10: the server disconnects as for a
 * network failure). Keep alive 1 s: the will arrives within 1.5 s plus slack. */
static void test_will_on_keepalive_timeout(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient w, c;
    REQUIRE(watcher(&w, spawner_port(b), "will/#") == 0);
    long long start = integ_now_ms();
    REQUIRE(connect_with_will(&c, spawner_port(b), 4, "ka", "will/ka", 0, 0, 1, 0, 0) == 0);
    struct tclient_pkt r;
    REQUIRE(tclient_recv(&w, &r, 4000) == 0);
    CHECK(integ_is_msg(&r, "will/ka", "gone"));
    tclient_pkt_free(&r);
    long long elapsed = integ_now_ms() - start;
    CHECK(elapsed >= 1000);
    CHECK(elapsed <= 2600);
    tclient_close(&c);
    tclient_close(&w);
    CHECK(spawner_stop(b) == 0);
}

/* A protocol error (here a second CONNECT [MQTT-3.1.0-2]) and a 3.1.1 takeover both close the
 * connection without DISCONNECT from the client: the will is published. */
static void test_will_on_protocol_error_and_takeover(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient w, c, young;
    REQUIRE(watcher(&w, spawner_port(b), "will/#") == 0);
    REQUIRE(connect_with_will(&c, spawner_port(b), 4, "pe", "will/pe", 1, 0, 60, 0, 0) == 0);
    struct pkt p;
    pkt_init(&p);
    pkt_connect(&p, 4, "pe", 60, 1);
    REQUIRE(tclient_send(&c, &p) == 0);
    pkt_free(&p);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    CHECK(expect_will(&w, "will/pe", 1) == 0);

    REQUIRE(connect_with_will(&c, spawner_port(b), 4, "tk", "will/tk", 1, 0, 60, 0, 0) == 0);
    REQUIRE(tclient_start(&young, spawner_port(b), 4, "tk", 60, 1, NULL) == 0);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    CHECK(expect_will(&w, "will/tk", 1) == 0);
    tclient_close(&c);
    tclient_close(&young);
    tclient_close(&w);
    CHECK(spawner_stop(b) == 0);
}

/* v5 Will Delay Interval 1 s: the will is published no earlier than 1 s after the close
 * [MQTT-3.1.3-9]; a reconnect within the delay cancels it. */
static void test_will_delay(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient w, c;
    REQUIRE(watcher(&w, spawner_port(b), "will/#") == 0);
    REQUIRE(connect_with_will(&c, spawner_port(b), 5, "wd", "will/delay", 0, 0, 60, 60, 1) == 0);
    long long closed_at = integ_now_ms();
    tclient_close(&c);
    struct tclient_pkt r;
    REQUIRE(tclient_recv(&w, &r, 4000) == 0);
    CHECK(integ_is_msg(&r, "will/delay", "gone"));
    tclient_pkt_free(&r);
    long long elapsed = integ_now_ms() - closed_at;
    CHECK(elapsed >= 900);
    CHECK(elapsed <= 3000);

    REQUIRE(connect_with_will(&c, spawner_port(b), 5, "wd2", "will/cancel", 0, 0, 60, 60, 1) == 0);
    tclient_close(&c);
    REQUIRE(integ_start(&c, spawner_port(b), 5, "wd2", 0, 60, NULL) == 0);
    /* The delay is time-based: wait past it (1 s + slack) and see that nothing came. */
    CHECK(tclient_expect_silence(&w, 2000) == 0);
    tclient_close(&c);
    tclient_close(&w);
    CHECK(spawner_stop(b) == 0);
}

/* Will Delay 30 s but Session Expiry 1 s: the will goes out when the session ends
 * (5.0 section 3.1.3.2.2), about 1 s after the close, not 30 s. */
static void test_will_delay_capped_by_session_end(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient w, c;
    REQUIRE(watcher(&w, spawner_port(b), "will/#") == 0);
    REQUIRE(connect_with_will(&c, spawner_port(b), 5, "cap", "will/cap", 0, 0, 60, 1, 30) == 0);
    long long closed_at = integ_now_ms();
    tclient_close(&c);
    struct tclient_pkt r;
    REQUIRE(tclient_recv(&w, &r, 5000) == 0);
    CHECK(integ_is_msg(&r, "will/cap", "gone"));
    tclient_pkt_free(&r);
    CHECK(integ_now_ms() - closed_at <= 3500);
    tclient_close(&w);
    CHECK(spawner_stop(b) == 0);
}

/* A retained will is stored as a retained message: a later subscriber gets it with RETAIN 1. */
static void test_will_retained(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient w, c;
    REQUIRE(watcher(&w, spawner_port(b), "will/#") == 0);
    REQUIRE(connect_with_will(&c, spawner_port(b), 4, "rw", "will/ret", 1, 1, 60, 0, 0) == 0);
    tclient_close(&c);
    CHECK(expect_will(&w, "will/ret", 1) == 0);
    tclient_close(&w);
    struct tclient late;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&late, spawner_port(b), 4, "late", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&late, 1, "will/ret", 0, 0x00) == 0);
    REQUIRE(tclient_expect_publish(&late, &r, "will/ret", "gone", 0) == 0);
    CHECK_EQ_INT(r.retain, 1);
    tclient_pkt_free(&r);
    tclient_close(&late);
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_will_on_ungraceful_close), UNIT_TEST(test_will_disconnect_reasons),
          UNIT_TEST(test_will_on_keepalive_timeout),
          UNIT_TEST(test_will_on_protocol_error_and_takeover), UNIT_TEST(test_will_delay),
          UNIT_TEST(test_will_delay_capped_by_session_end), UNIT_TEST(test_will_retained))
