/* Integration: Mosquitto's core options beyond the MQTT limits of 09/16: upgrade_outgoing_qos,
 * queue_qos0_messages, max_inflight_bytes and memory_limit. Each test fails on a broker that
 * only recognises the option. */
#define _GNU_SOURCE /* memmem */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ.h"

/* Receive the next PUBLISH, require topic/payload/QoS and acknowledge it (QoS 1). 0 or -1. */
static int expect_acked(struct tclient *c, const char *topic, const char *payload, int qos)
{
    struct tclient_pkt r;
    if (tclient_expect_publish(c, &r, topic, payload, qos) != 0)
        return -1;
    int rc = qos == 1 ? integ_send_ack(c, CT_PUBACK, r.packet_id) : 0;
    tclient_pkt_free(&r);
    return rc;
}

/* upgrade_outgoing_qos true: a QoS 0 message goes out at the subscription's QoS 1, live and when
 * retained for a new subscription. Without the option both would come at QoS 0. */
static void test_upgrade_outgoing_qos(void)
{
    struct spawner *b = spawner_start("upgrade_outgoing_qos true");
    REQUIRE(b);
    struct tclient sub, pub, late;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "up-sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "up/#", 1, 0x01) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "up-pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "up/live", "zero", 0, 0, 0) == 0);
    CHECK(expect_acked(&sub, "up/live", "zero", 1) == 0);
    REQUIRE(tclient_pub(&pub, "up/kept", "kept", 0, 1, 0) == 0);
    CHECK(expect_acked(&sub, "up/kept", "kept", 1) == 0);
    REQUIRE(tclient_start(&late, spawner_port(b), 4, "up-late", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&late, 1, "up/kept", 1, 0x01) == 0);
    CHECK(expect_acked(&late, "up/kept", "kept", 1) == 0);
    CHECK(tclient_ping(&sub) == 0);
    CHECK(tclient_ping(&late) == 0);
    tclient_close(&late);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* queue_qos0_messages true, max_queued_messages 2, one worker (the publisher's PINGRESP then
 * proves its messages were routed): QoS 0 messages for an offline persistent session are kept
 * and count against the queue limit with the QoS 1 ones, in order. The third is dropped. */
static void test_queue_qos0_messages(void)
{
    struct spawner *b =
        spawner_start("worker_threads 1\nqueue_qos0_messages true\nmax_queued_messages 2");
    REQUIRE(b);
    struct tclient sub, pub;
    int present = -1;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "q0-sub", 60, 0, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "q0", 1, 0x01) == 0);
    tclient_close(&sub);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "q0-pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "q0", "first-qos0", 0, 0, 0) == 0);
    REQUIRE(tclient_pub(&pub, "q0", "second-qos1", 1, 0, 1) == 0);
    REQUIRE(tclient_pub(&pub, "q0", "third-qos0", 0, 0, 0) == 0);
    REQUIRE(tclient_ping(&pub) == 0);
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "q0-sub", 60, 0, &present) == 0);
    CHECK_EQ_INT(present, 1);
    CHECK(expect_acked(&sub, "q0", "first-qos0", 0) == 0);
    CHECK(expect_acked(&sub, "q0", "second-qos1", 1) == 0);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Without the option a QoS 0 message for an offline session is dropped (Mosquitto's default). */
static void test_queue_qos0_default_off(void)
{
    struct spawner *b = spawner_start("worker_threads 1");
    REQUIRE(b);
    struct tclient sub, pub;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "q0-sub", 60, 0, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "q0", 1, 0x01) == 0);
    tclient_close(&sub);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "q0-pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "q0", "dropped", 0, 0, 0) == 0);
    REQUIRE(tclient_pub(&pub, "q0", "kept", 1, 0, 1) == 0);
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "q0-sub", 60, 0, NULL) == 0);
    CHECK(expect_acked(&sub, "q0", "kept", 1) == 0);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* max_inflight_bytes 15 with 10-byte payloads: a second message goes out while 10 bytes are in
 * flight, a third waits (20 >= 15) until a PUBACK, in order. */
static void test_max_inflight_bytes(void)
{
    struct spawner *b = spawner_start("max_inflight_bytes 15");
    REQUIRE(b);
    struct tclient sub, pub;
    struct tclient_pkt r[4];
    static const char *const pl[] = {"payload-00", "payload-01", "payload-02", "payload-03"};
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "ib-sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "ib", 1, 0x01) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "ib-pub", 60, 1, NULL) == 0);
    for (int i = 0; i < 4; i++)
        REQUIRE(tclient_pub(&pub, "ib", pl[i], 1, 0, (uint16_t)(i + 1)) == 0);
    REQUIRE(tclient_expect_publish(&sub, &r[0], "ib", pl[0], 1) == 0);
    REQUIRE(tclient_expect_publish(&sub, &r[1], "ib", pl[1], 1) == 0);
    CHECK(tclient_ping(&sub) == 0);
    CHECK(integ_send_ack(&sub, CT_PUBACK, r[0].packet_id) == 0);
    REQUIRE(tclient_expect_publish(&sub, &r[2], "ib", pl[2], 1) == 0);
    CHECK(tclient_ping(&sub) == 0);
    CHECK(integ_send_ack(&sub, CT_PUBACK, r[1].packet_id) == 0);
    REQUIRE(tclient_expect_publish(&sub, &r[3], "ib", pl[3], 1) == 0);
    CHECK(integ_send_ack(&sub, CT_PUBACK, r[2].packet_id) == 0);
    CHECK(integ_send_ack(&sub, CT_PUBACK, r[3].packet_id) == 0);
    CHECK(tclient_ping(&sub) == 0);
    for (int i = 0; i < 4; i++)
        tclient_pkt_free(&r[i]);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* memory_limit 2000000 (an idle broker holds some 150 kB): a small message passes; a 3 MB one
 * would take the heap over the limit, so it is refused and its v5 publisher disconnected with
 * Quota exceeded. The subscriber never gets it. */
static void test_memory_limit(void)
{
    struct spawner *b = spawner_start("memory_limit 2000000");
    REQUIRE(b);
    struct tclient sub, pub;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "ml-sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "ml", 0, 0x00) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "ml-pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "ml", "small", 1, 0, 1) == 0);
    CHECK(expect_acked(&sub, "ml", "small", 0) == 0);
    size_t big_len = 3u * 1000u * 1000u;
    char *big = malloc(big_len + 1);
    REQUIRE(big);
    memset(big, 'x', big_len);
    big[big_len] = 0;
    struct pkt p;
    pkt_init(&p);
    pkt_publish(&p, 5, "ml", big, 0, 0, 0);
    CHECK(tclient_send(&pub, &p) == 0);
    pkt_free(&p);
    free(big);
    CHECK(tclient_expect_disconnect(&pub, 0x97, TCLIENT_TIMEOUT_MS) == 0);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Receive PUBLISHes until one on topic whose payload contains text; 0, or -1 on timeout. */
static int await_log(struct tclient *c, const char *topic, const char *text)
{
    long long end = integ_now_ms() + TCLIENT_TIMEOUT_MS;
    while (integ_now_ms() < end) {
        struct tclient_pkt r;
        if (tclient_recv(c, &r, (int)(end - integ_now_ms())) != 0)
            return -1;
        bool hit = r.type == CT_PUBLISH && r.topic_len == strlen(topic) &&
                   memcmp(r.topic, topic, r.topic_len) == 0 &&
                   memmem(r.payload, r.payload_len, text, strlen(text)) != NULL;
        if (hit && r.qos > 0 && r.retain)
            hit = false; /* log lines are never retained */
        tclient_pkt_free(&r);
        if (hit)
            return 0;
    }
    fprintf(stderr, "log: no %s line with '%s'\n", topic, text);
    return -1;
}

/* log_dest topic (with log_type all): the subscription to $SYS/broker/log/# is itself logged and
 * published on M/subscribe; a client connecting later shows up on N; two workers, so lines come
 * from a thread other than the publishing one too. */
static void test_log_dest_topic(void)
{
    struct spawner *b = spawner_start("worker_threads 2\nlog_dest stderr\nlog_dest topic\n"
                                      "log_type all");
    REQUIRE(b);
    struct tclient sub, other;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "log-sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "$SYS/broker/log/#", 0, 0x00) == 0);
    CHECK(await_log(&sub, "$SYS/broker/log/M/subscribe", "$SYS/broker/log/#") == 0);
    for (int i = 0; i < 4; i++) {
        char id[32];
        snprintf(id, sizeof id, "log-probe-%d", i);
        REQUIRE(tclient_start(&other, spawner_port(b), 4, id, 60, 1, NULL) == 0);
        CHECK(await_log(&sub, "$SYS/broker/log/N", id) == 0);
        tclient_close(&other);
    }
    tclient_close(&sub);
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_upgrade_outgoing_qos), UNIT_TEST(test_queue_qos0_messages),
          UNIT_TEST(test_queue_qos0_default_off), UNIT_TEST(test_max_inflight_bytes),
          UNIT_TEST(test_memory_limit), UNIT_TEST(test_log_dest_topic))
