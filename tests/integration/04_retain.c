/* Integration: retained messages (MQTT 3.1.1 section 3.3.1.3, MQTT 5.0 sections 3.3.1.3 and
 * 3.8.3.1): set, replace, delete by empty payload, delivery to new subscribers with the RETAIN
 * flag, live delivery without it, Retain Handling 0/1/2 and Retain As Published. */
#include "integ.h"

/* A new 3.1.1 subscriber receives the retained message with RETAIN set [MQTT-3.3.1-8]:
 * exactly 31 07 00 03 'r/a' 'v1' at QoS 0. */
static void test_retained_to_new_subscriber(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient pub, sub;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "r/a", "v1", 1, 1, 1) == 0);
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "r/a", 0, 0x00) == 0);
    REQUIRE(tclient_expect(&sub, &r, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
    static const uint8_t want[] = {0x31, 0x07, 0x00, 0x03, 'r', '/', 'a', 'v', '1'};
    CHECK_MEM(r.raw, r.raw_len, want, sizeof want);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);

    /* QoS of the retained delivery is the lower of message and subscription QoS. */
    REQUIRE(tclient_start(&sub, spawner_port(b), 5, "sub5", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "r/+", 2, 0x02) == 0);
    REQUIRE(tclient_expect_publish(&sub, &r, "r/a", "v1", 1) == 0);
    CHECK_EQ_INT(r.retain, 1);
    CHECK(integ_send_ack(&sub, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* A new retained message on the topic replaces the old [MQTT-3.3.1-5]; an empty retained
 * message deletes it [MQTT-3.3.1-10] [MQTT-3.3.1-11] and is itself not retained. */
static void test_replace_and_delete(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient pub, sub;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "k", "old", 1, 1, 1) == 0);
    REQUIRE(tclient_pub(&pub, "k", "new", 1, 1, 2) == 0);
    REQUIRE(tclient_pub(&pub, "other", "o", 0, 1, 0) == 0);
    /* PINGRESP after a QoS 0 PUBLISH: the broker has processed it before the next client reads
     * the retained store. */
    REQUIRE(tclient_ping(&pub) == 0);
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "k", 1, 0x01) == 0);
    REQUIRE(tclient_expect_publish(&sub, &r, "k", "new", 1) == 0);
    CHECK_EQ_INT(r.retain, 1);
    CHECK(integ_send_ack(&sub, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);

    REQUIRE(tclient_pub(&pub, "k", "", 0, 1, 0) == 0);
    REQUIRE(tclient_ping(&pub) == 0);
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "#", 0, 0x00) == 0);
    /* Only "other" is left: it comes, then PINGRESP (the deleted one would precede it). */
    CHECK(tclient_expect_publish(&sub, NULL, "other", "o", 0) == 0);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* A retained message delivered to an existing subscription goes out with RETAIN 0 in 3.1.1
 * [MQTT-3.3.1-9] and in v5 without Retain As Published [MQTT-3.3.1-12]; with Retain As Published
 * the flag is kept [MQTT-3.3.1-13]. */
static void test_live_retain_flag(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient s4, s5, rap, pub;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&s4, spawner_port(b), 4, "s4", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&s4, 1, "lv", 0, 0x00) == 0);
    REQUIRE(tclient_start(&s5, spawner_port(b), 5, "s5", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&s5, 1, "lv", 0, 0x00) == 0);
    REQUIRE(tclient_start(&rap, spawner_port(b), 5, "rap", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&rap, 1, "lv", 0x08, 0x00) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "lv", "live", 1, 1, 1) == 0);
    REQUIRE(tclient_pub(&pub, "lv", "plain", 1, 0, 2) == 0);
    REQUIRE(tclient_expect_publish(&s4, &r, "lv", "live", 0) == 0);
    CHECK_EQ_INT(r.retain, 0);
    tclient_pkt_free(&r);
    REQUIRE(tclient_expect_publish(&s5, &r, "lv", "live", 0) == 0);
    CHECK_EQ_INT(r.retain, 0);
    tclient_pkt_free(&r);
    REQUIRE(tclient_expect_publish(&rap, &r, "lv", "live", 0) == 0);
    CHECK_EQ_INT(r.retain, 1);
    tclient_pkt_free(&r);
    REQUIRE(tclient_expect_publish(&rap, &r, "lv", "plain", 0) == 0);
    CHECK_EQ_INT(r.retain, 0);
    tclient_pkt_free(&r);
    tclient_close(&s4);
    tclient_close(&s5);
    tclient_close(&rap);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Subscribe to `filter` with options and count retained messages received before PINGRESP. */
static int retained_on_subscribe(struct tclient *c, uint16_t id, const char *filter, uint8_t opts)
{
    if (tclient_sub(c, id, filter, opts, opts & 0x03) != 0)
        return -1;
    struct pkt p;
    pkt_init(&p);
    pkt_pingreq(&p);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    int count = 0;
    while (rc == 0) {
        struct tclient_pkt r;
        if (tclient_recv(c, &r, TCLIENT_TIMEOUT_MS) != 0)
            return -1;
        int type = r.type, retain = r.retain;
        tclient_pkt_free(&r);
        if (type == CT_PINGRESP)
            return count;
        if (type != CT_PUBLISH || !retain)
            return -1;
        count++;
    }
    return -1;
}

/* Retain Handling (5.0 section 3.3.1.3): 0 sends retained messages on every subscribe, 1 only
 * when the subscription did not exist, 2 never. */
static void test_retain_handling(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient pub, c;
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "rh/1", "a", 0, 1, 0) == 0);
    REQUIRE(tclient_pub(&pub, "rh/2", "b", 0, 1, 0) == 0);
    REQUIRE(tclient_ping(&pub) == 0);
    REQUIRE(tclient_start(&c, spawner_port(b), 5, "rh", 60, 1, NULL) == 0);
    CHECK_EQ_INT(retained_on_subscribe(&c, 1, "rh/#", 0x00), 2);
    CHECK_EQ_INT(retained_on_subscribe(&c, 2, "rh/#", 0x00), 2);
    CHECK_EQ_INT(retained_on_subscribe(&c, 3, "rh/+", 0x10), 2);
    CHECK_EQ_INT(retained_on_subscribe(&c, 4, "rh/+", 0x10), 0);
    CHECK_EQ_INT(retained_on_subscribe(&c, 5, "rh/1", 0x20), 0);
    CHECK_EQ_INT(retained_on_subscribe(&c, 6, "rh/1", 0x20), 0);
    tclient_close(&c);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Retained messages survive their publisher and are sent once per matching topic to a wildcard
 * subscription; a 3.1 client gets them too. */
static void test_retained_wildcard_many(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient pub, sub;
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    char topic[32];
    for (int i = 0; i < 10; i++) {
        snprintf(topic, sizeof topic, "many/%d", i);
        REQUIRE(tclient_pub(&pub, topic, "r", 0, 1, 0) == 0);
    }
    CHECK(tclient_ping(&pub) == 0);
    tclient_close(&pub);
    REQUIRE(tclient_start(&sub, spawner_port(b), 3, "sub3", 60, 1, NULL) == 0);
    CHECK_EQ_INT(retained_on_subscribe(&sub, 1, "many/+", 0x00), 10);
    tclient_close(&sub);
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_retained_to_new_subscriber), UNIT_TEST(test_replace_and_delete),
          UNIT_TEST(test_live_retain_flag), UNIT_TEST(test_retain_handling),
          UNIT_TEST(test_retained_wildcard_many))
