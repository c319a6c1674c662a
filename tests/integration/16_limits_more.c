/* Integration: more configured limits (issue 3 "Limits"; 09_limits has max_packet_size,
 * max_connections, max_queued_messages 3 and retain_available): message_size_limit,
 * max_queued_messages 2 for v5, max_queued_bytes, max_retained_messages, max_qos,
 * max_inflight_messages (alone and with a smaller client Receive Maximum), and the 200-level
 * topic depth cap. The client's own Maximum Packet Size is in 07_v5_properties. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "integ.h"

/* v5 PUBLISH at QoS 1 or 2 with packet id; returns the reason code of the PUBACK (QoS 1) or
 * PUBREC (QoS 2), or -1. */
static int pub_v5_qos_reason(struct tclient *c, const char *topic, const char *payload, int qos,
                             uint16_t id)
{
    struct pkt p;
    struct tclient_pkt r;
    pkt_init(&p);
    pkt_publish(&p, 5, topic, payload, qos, 0, id);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    if (rc != 0 || tclient_expect(c, &r, qos == 1 ? CT_PUBACK : CT_PUBREC, TCLIENT_TIMEOUT_MS))
        return -1;
    rc = r.packet_id == id ? r.reason : -1;
    tclient_pkt_free(&r);
    return rc;
}

static int pub_v5_reason(struct tclient *c, const char *topic, const char *payload, uint16_t id)
{
    return pub_v5_qos_reason(c, topic, payload, 1, id);
}

/* An error reason code a PUBACK/PUBREC may carry for a refused message [MQTT-3.4.2-1]
 * [MQTT-3.5.2-1]: 0x80 Unspecified error, 0x83 Implementation specific error or 0x97 Quota
 * exceeded. (0x95 Packet too large, which Mosquitto sends, is not in the PUBACK table.) */
static int refused_code(int rc)
{
    if (rc != 0x80 && rc != 0x83 && rc != 0x97)
        fprintf(stderr, "limits: PUBACK/PUBREC reason %d is not a refusal code\n", rc);
    return rc == 0x80 || rc == 0x83 || rc == 0x97;
}

/* A topic or filter of `levels` levels "a/a/.../a" (caller frees). */
static char *deep_topic(int levels)
{
    char *t = malloc((size_t)levels * 2);
    if (!t)
        abort();
    for (int i = 0; i < levels; i++) {
        t[2 * i] = 'a';
        t[2 * i + 1] = i + 1 < levels ? '/' : 0;
    }
    return t;
}

/* Receive the next PUBLISH, require topic/payload/QoS 1 and acknowledge it. 0 or -1. */
static int expect_acked(struct tclient *c, const char *topic, const char *payload)
{
    struct tclient_pkt r;
    if (tclient_expect_publish(c, &r, topic, payload, 1) != 0)
        return -1;
    int rc = integ_send_ack(c, CT_PUBACK, r.packet_id);
    tclient_pkt_free(&r);
    return rc;
}

/* message_size_limit 10: an 11-byte payload is acknowledged (v5: PUBACK or PUBREC with a refusal
 * code, see refused_code; 3.1.1: plain PUBACK) and not delivered; a 10-byte one is. The
 * subscriber's next message being the small one, sent later by the same publisher, proves the
 * drop. */
static void test_message_size_limit(void)
{
    struct spawner *b = spawner_start("message_size_limit 10");
    REQUIRE(b);
    struct tclient sub, p5, p4;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "ms", 1, 0x01) == 0);
    REQUIRE(tclient_start(&p5, spawner_port(b), 5, "p5", 60, 1, NULL) == 0);
    CHECK(refused_code(pub_v5_reason(&p5, "ms", "0123456789X", 1)));
    CHECK(refused_code(pub_v5_qos_reason(&p5, "ms", "0123456789Y", 2, 3)));
    CHECK_EQ_INT(pub_v5_reason(&p5, "ms", "0123456789", 2), 0x00);
    CHECK(expect_acked(&sub, "ms", "0123456789") == 0);
    REQUIRE(tclient_start(&p4, spawner_port(b), 4, "p4", 60, 1, NULL) == 0);
    CHECK(tclient_pub(&p4, "ms", "big-payload", 1, 0, 1) == 0);
    CHECK(tclient_pub(&p4, "ms", "small", 1, 0, 2) == 0);
    CHECK(expect_acked(&sub, "ms", "small") == 0);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&p5);
    tclient_close(&p4);
    CHECK(spawner_stop(b) == 0);
}

/* An offline persistent subscriber (subscribed to `topic` at QoS 1, then away) gets exactly the
 * payloads want[0..nwant) after `n` QoS 1 messages payloads[0..n) were published. The broker
 * must run one worker (QUEUE_CONF): with two, the PUBACK can reach the publisher before the other
 * worker has queued the message for the offline session, and a message still in that worker's
 * inbox when the subscriber returns is delivered live instead of being counted against the
 * queue limit. */
#define QUEUE_CONF "worker_threads 1\n"
static void offline_queue(struct spawner *b, int version, const char *topic,
                          const char *const *payloads, int n, int nwant)
{
    struct tclient sub, pub;
    int present = -1;
    REQUIRE(integ_start(&sub, spawner_port(b), version, "offline", version == 5, 300, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, topic, 1, 0x01) == 0);
    tclient_close(&sub);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    for (int i = 0; i < n; i++)
        REQUIRE(tclient_pub(&pub, topic, payloads[i], 1, 0, (uint16_t)(i + 1)) == 0);
    REQUIRE(integ_start(&sub, spawner_port(b), version, "offline", 0, 300, &present) == 0);
    CHECK_EQ_INT(present, 1);
    for (int i = 0; i < nwant; i++)
        CHECK(expect_acked(&sub, topic, payloads[i]) == 0);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
}

static const char *const queue_payloads[] = {"payload-00", "payload-01", "payload-02", "payload-03",
                                             "payload-04"};

/* max_queued_messages 2, v5 session: the oldest 2 of 5 are kept. */
static void test_max_queued_messages_v5(void)
{
    struct spawner *b = spawner_start(QUEUE_CONF "max_queued_messages 2");
    REQUIRE(b);
    offline_queue(b, 5, "mq", queue_payloads, 5, 2);
    CHECK(spawner_stop(b) == 0);
}

/* max_queued_bytes 25 with 10-byte payloads: 2 fit (20 bytes, or 24 counting the topic), a
 * third does not. */
static void test_max_queued_bytes(void)
{
    struct spawner *b = spawner_start(QUEUE_CONF "max_queued_bytes 25");
    REQUIRE(b);
    offline_queue(b, 4, "qb", queue_payloads, 5, 2);
    CHECK(spawner_stop(b) == 0);
}

/* max_retained_messages 2 ($SYS retained messages do not count): a third retained
 * topic is not stored; a new `r/#` subscriber gets the first two only. Replacing one of the
 * stored two is still possible at the cap. */
static void test_max_retained_messages(void)
{
    struct spawner *b = spawner_start("max_retained_messages 2\nsys_interval 1");
    REQUIRE(b);
    struct tclient pub, sub, mon;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&mon, spawner_port(b), 4, "mon", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&mon, 1, "$SYS/broker/publish/messages/dropped", 0, 0x00) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "r/1", "one", 1, 1, 1) == 0);
    REQUIRE(tclient_pub(&pub, "r/2", "two", 1, 1, 2) == 0);
    REQUIRE(tclient_pub(&pub, "r/3", "three", 1, 1, 3) == 0);
    REQUIRE(tclient_pub(&pub, "r/1", "uno", 1, 1, 4) == 0);
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "r/#", 0, 0x00) == 0);
    int got1 = 0, got2 = 0;
    for (int i = 0; i < 2; i++) {
        if (tclient_expect(&sub, &r, CT_PUBLISH, TCLIENT_TIMEOUT_MS) != 0) {
            fprintf(stderr, "retained: only %d of 2 retained messages\n", i);
            CHECK(0);
            break;
        }
        CHECK_EQ_INT(r.retain, 1);
        if (integ_is_msg(&r, "r/1", "uno"))
            got1++;
        else if (integ_is_msg(&r, "r/2", "two"))
            got2++;
        else
            tclient_pkt_dump("retained: unexpected", &r);
        tclient_pkt_free(&r);
    }
    CHECK(got1 == 1 && got2 == 1);
    CHECK(tclient_ping(&sub) == 0);
    /* The refused r/3 is counted as a drop: $SYS (every second) reaches 1. */
    int dropped = -1;
    long long deadline = integ_now_ms() + 3 * TCLIENT_TIMEOUT_MS;
    while (dropped != 1 && integ_now_ms() < deadline &&
           tclient_expect(&mon, &r, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0) {
        dropped = r.payload_len == 1 ? r.payload[0] - '0' : -1;
        tclient_pkt_free(&r);
    }
    CHECK_EQ_INT(dropped, 1);
    tclient_close(&mon);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* max_retained_bytes caps what the retained messages take in memory (payload, topic, properties
 * and a small fixed overhead per message, well under 300 bytes): with a cap of 3000, two 1000-byte
 * payloads fit and a third does not (not retained); replacing one by 10 bytes frees its room, and
 * the third then fits. A subscriber gets exactly the three kept, current values. */
static void test_max_retained_bytes(void)
{
    struct spawner *b = spawner_start("max_retained_bytes 3000");
    REQUIRE(b);
    struct tclient pub, sub;
    struct tclient_pkt r;
    char big[1001];
    memset(big, 'x', 1000);
    big[1000] = 0;
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "rbpub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "rb/a", big, 1, 1, 1) == 0);
    REQUIRE(tclient_pub(&pub, "rb/b", big, 1, 1, 2) == 0);
    REQUIRE(tclient_pub(&pub, "rb/c", big, 1, 1, 3) == 0); /* over the cap: not retained */
    REQUIRE(tclient_pub(&pub, "rb/a", "0123456789", 1, 1, 4) == 0);
    REQUIRE(tclient_pub(&pub, "rb/d", big, 1, 1, 5) == 0); /* fits now */
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "rbsub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "rb/#", 0, 0x00) == 0);
    int a = 0, bb = 0, d = 0;
    for (int i = 0; i < 3; i++) {
        REQUIRE(tclient_expect(&sub, &r, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.retain, 1);
        if (integ_is_msg(&r, "rb/a", "0123456789"))
            a++;
        else if (integ_is_msg(&r, "rb/b", big))
            bb++;
        else if (integ_is_msg(&r, "rb/d", big))
            d++;
        else
            tclient_pkt_dump("retained bytes: unexpected", &r);
        tclient_pkt_free(&r);
    }
    CHECK(a == 1 && bb == 1 && d == 1);
    CHECK(tclient_ping(&sub) == 0); /* and no rb/c */
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* max_qos 1: v5 CONNACK Maximum QoS 1 (5.0 section 3.2.2.3.4), SUBSCRIBE at QoS 2 granted 1 in
 * both versions, and a v5 PUBLISH at QoS 2 gets DISCONNECT 0x9B QoS not supported. */
static void test_max_qos(void)
{
    struct spawner *b = spawner_start("max_qos 1");
    REQUIRE(b);
    struct tclient c4, c5;
    struct tclient_pkt r;
    REQUIRE(tclient_open(&c5, spawner_port(b), 5) == 0);
    struct pkt_connect_opts o = {.version = 5, .client_id = "mq5", .keep_alive = 60, .clean = 1};
    REQUIRE(integ_send_connect(&c5, &o) == 0);
    REQUIRE(tclient_expect(&c5, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.reason, 0x00);
    const struct tclient_prop *mq = tclient_prop_find(&r, 0x24, 0);
    CHECK(mq && mq->num == 1);
    tclient_pkt_free(&r);
    CHECK(tclient_sub(&c5, 1, "mq/5", 2, 0x01) == 0);
    REQUIRE(tclient_start(&c4, spawner_port(b), 4, "mq4", 60, 1, NULL) == 0);
    CHECK(tclient_sub(&c4, 1, "mq/4", 2, 0x01) == 0);
    /* The QoS 2 subscription was granted 1: a QoS 1 message arrives at QoS 1. */
    CHECK(tclient_pub(&c4, "mq/5", "down", 1, 0, 1) == 0);
    CHECK(expect_acked(&c5, "mq/5", "down") == 0);
    struct pkt p;
    pkt_init(&p);
    pkt_publish(&p, 5, "mq/4", "two", 2, 0, 2);
    REQUIRE(tclient_send(&c5, &p) == 0);
    pkt_free(&p);
    CHECK(tclient_expect_disconnect(&c5, 0x9B, TCLIENT_TIMEOUT_MS) == 0);
    CHECK(tclient_ping(&c4) == 0);
    tclient_close(&c5);
    tclient_close(&c4);
    CHECK(spawner_stop(b) == 0);
}

/* Publish n QoS 1 messages "m0".. on topic from pub. */
static int publish_n(struct tclient *pub, const char *topic, int n)
{
    char payload[16];
    for (int i = 0; i < n; i++) {
        snprintf(payload, sizeof payload, "m%d", i);
        if (tclient_pub(pub, topic, payload, 1, 0, (uint16_t)(i + 1)) != 0)
            return -1;
    }
    return 0;
}

/* The subscriber gets `window` of 5 messages unacknowledged, then PINGRESP (the next waits for a
 * PUBACK [MQTT-3.3.4-7]); each PUBACK releases the next one, in order. */
static void check_window(struct tclient *sub, int window)
{
    struct tclient_pkt r[5];
    char payload[16];
    for (int i = 0; i < window; i++) {
        snprintf(payload, sizeof payload, "m%d", i);
        REQUIRE(tclient_expect_publish(sub, &r[i], "inf", payload, 1) == 0);
    }
    CHECK(tclient_ping(sub) == 0);
    for (int i = window; i < 5; i++) {
        snprintf(payload, sizeof payload, "m%d", i);
        CHECK(integ_send_ack(sub, CT_PUBACK, r[i - window].packet_id) == 0);
        REQUIRE(tclient_expect_publish(sub, &r[i], "inf", payload, 1) == 0);
        CHECK(tclient_ping(sub) == 0);
    }
    for (int i = 5 - window; i < 5; i++)
        CHECK(integ_send_ack(sub, CT_PUBACK, r[i].packet_id) == 0);
    for (int i = 0; i < 5; i++)
        tclient_pkt_free(&r[i]);
    CHECK(tclient_ping(sub) == 0);
}

/* max_inflight_messages 3: v5 CONNACK Receive Maximum 3; a 3.1.1 subscriber has at most 3 QoS 1
 * messages unacknowledged at once, the 4th after a PUBACK. */
static void test_max_inflight_messages(void)
{
    struct spawner *b = spawner_start("max_inflight_messages 3");
    REQUIRE(b);
    struct tclient c5, sub, pub;
    struct tclient_pkt r;
    REQUIRE(tclient_open(&c5, spawner_port(b), 5) == 0);
    struct pkt_connect_opts o = {.version = 5, .client_id = "rm", .keep_alive = 60, .clean = 1};
    REQUIRE(integ_send_connect(&c5, &o) == 0);
    REQUIRE(tclient_expect(&c5, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    const struct tclient_prop *rm = tclient_prop_find(&r, 0x21, 0);
    CHECK(rm && rm->num == 3);
    tclient_pkt_free(&r);
    tclient_close(&c5);
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "slow", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "inf", 1, 0x01) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(publish_n(&pub, "inf", 5) == 0);
    check_window(&sub, 3);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* max_inflight_messages 3 and a v5 client announcing Receive Maximum 2: the smaller bound
 * applies [MQTT-3.3.4-7]. */
static void test_inflight_client_receive_maximum(void)
{
    struct spawner *b = spawner_start("max_inflight_messages 3");
    REQUIRE(b);
    struct tclient sub, pub;
    struct tclient_pkt r;
    struct pkt props;
    pkt_init(&props);
    pkt_prop_u16(&props, 0x21, 2);
    REQUIRE(tclient_open(&sub, spawner_port(b), 5) == 0);
    struct pkt_connect_opts o = {
        .version = 5, .client_id = "rm2", .keep_alive = 60, .clean = 1, .props = &props};
    REQUIRE(integ_send_connect(&sub, &o) == 0);
    pkt_free(&props);
    REQUIRE(tclient_expect(&sub, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.reason, 0x00);
    tclient_pkt_free(&r);
    REQUIRE(tclient_sub(&sub, 1, "inf", 1, 0x01) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(publish_n(&pub, "inf", 5) == 0);
    check_window(&sub, 2);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Topics are capped at 200 levels (as Mosquitto): a v5 PUBLISH to 201 levels gets PUBACK 0x90
 * Topic Name invalid and is not delivered, 200 levels is fine; a SUBSCRIBE filter of 201 levels
 * gets 0x8F Topic Filter invalid (3.1.1: 0x80 Failure), 200 levels is granted. */
static void test_topic_depth(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    char *t200 = deep_topic(200), *t201 = deep_topic(201);
    struct tclient c5, c4, sub;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "deep-sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "a/#", 1, 0x01) == 0);
    REQUIRE(tclient_start(&c5, spawner_port(b), 5, "deep5", 60, 1, NULL) == 0);
    CHECK_EQ_INT(pub_v5_reason(&c5, t201, "too-deep", 1), 0x90);
    CHECK_EQ_INT(pub_v5_reason(&c5, t200, "deep", 2), 0x00);
    CHECK(expect_acked(&sub, t200, "deep") == 0);
    CHECK(tclient_sub(&c5, 3, t201, 1, 0x8F) == 0);
    CHECK(tclient_sub(&c5, 4, t200, 1, 0x01) == 0);
    REQUIRE(tclient_start(&c4, spawner_port(b), 4, "deep4", 60, 1, NULL) == 0);
    CHECK(tclient_sub(&c4, 1, t201, 1, 0x80) == 0);
    CHECK(tclient_sub(&c4, 2, t200, 1, 0x01) == 0);
    CHECK(tclient_ping(&sub) == 0);
    CHECK(tclient_ping(&c5) == 0);
    free(t200);
    free(t201);
    tclient_close(&c5);
    tclient_close(&c4);
    tclient_close(&sub);
    CHECK(spawner_stop(b) == 0);
}

/* Receive Maximum counts inbound QoS 1 PUBLISHes whose PUBACK is still held, not only QoS 2
 * ones [MQTT-3.3.4-9]: under persistence_fsync always with a disk whose fsyncs fail (the test
 * hook TERN_TEST_STORE_FAIL=sync), PUBACKs for a persistent subscriber's messages never leave,
 * so with Receive Maximum 2 the third QoS 1 PUBLISH gets DISCONNECT 0x93. */
static void test_receive_maximum_held_pubacks(void)
{
    char dir[] = "/tmp/tern-rm-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char conf[256];
    snprintf(conf, sizeof conf,
             "max_inflight_messages 2\npersistence true\npersistence_location %s\n"
             "persistence_fsync always",
             dir);
    setenv("TERN_TEST_STORE_FAIL", "sync", 1);
    struct spawner *b = spawner_start(conf);
    unsetenv("TERN_TEST_STORE_FAIL");
    REQUIRE(b);
    struct tclient keep, pub;
    REQUIRE(tclient_start(&keep, spawner_port(b), 4, "rm-keep", 60, 0, NULL) == 0);
    struct pkt p;
    pkt_init(&p);
    pkt_subscribe(&p, 4, 1, "rm/t", 1);
    REQUIRE(tclient_send(&keep, &p) == 0); /* its SUBACK waits for the disk too */
    pkt_free(&p);
    /* A QoS 0 probe after the SUBSCRIBE, seen by a clean subscriber of both, shows the
     * persistent subscription is in place. */
    struct tclient probe;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&probe, spawner_port(b), 4, "rm-probe", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&probe, 1, "rm/probe", 0, 0x00) == 0);
    REQUIRE(tclient_pub(&keep, "rm/probe", "subscribed", 0, 0, 0) == 0);
    REQUIRE(tclient_expect_publish(&probe, &r, "rm/probe", "subscribed", 0) == 0);
    tclient_pkt_free(&r);
    REQUIRE(integ_start(&pub, spawner_port(b), 5, "rm-pub", 1, 0, NULL) == 0);
    for (uint16_t id = 1; id <= 3; id++) {
        pkt_init(&p);
        pkt_publish(&p, 5, "rm/t", "held", 1, 0, id);
        REQUIRE(tclient_send(&pub, &p) == 0);
        pkt_free(&p);
    }
    CHECK(tclient_expect_disconnect(&pub, 0x93, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&pub);
    tclient_close(&probe);
    tclient_close(&keep);
    CHECK(spawner_stop(b) == 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

UNIT_MAIN(UNIT_TEST(test_message_size_limit), UNIT_TEST(test_max_queued_messages_v5),
          UNIT_TEST(test_max_queued_bytes), UNIT_TEST(test_max_retained_messages),
          UNIT_TEST(test_max_retained_bytes), UNIT_TEST(test_max_qos),
          UNIT_TEST(test_max_inflight_messages), UNIT_TEST(test_inflight_client_receive_maximum),
          UNIT_TEST(test_topic_depth), UNIT_TEST(test_receive_maximum_held_pubacks))
