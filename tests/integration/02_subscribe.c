/* Integration: SUBSCRIBE / UNSUBSCRIBE (MQTT 3.1.1 and 5.0 sections 3.8-3.11 and 4.7): wildcard
 * matching incl. `$` topics, SUBACK codes, invalid filters, overlapping subscriptions delivered
 * once with the highest QoS and every subscription identifier, no-local, subscription
 * replacement, unsubscribe and UNSUBACK 0x11. Shared subscriptions are in 08_shared. */
#include <stdio.h>

#include "integ.h"

/* Send SUBSCRIBE with n filters, each with its options, v5 with Subscription Identifier sub_id
 * when non-zero; returns the SUBACK (caller frees) or -1. */
static int subscribe_n(struct tclient *c, uint16_t id, uint32_t sub_id, const char *const *filters,
                       const uint8_t *opts, size_t n, struct tclient_pkt *ack)
{
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    if (sub_id)
        pkt_prop_varint(&props, 0x0B, sub_id);
    pkt_subscribe_many(&p, c->version, id, &props, filters, opts, n);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    pkt_free(&props);
    if (rc != 0 || tclient_expect(c, ack, CT_SUBACK, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    if (ack->packet_id != id) {
        tclient_pkt_dump("SUBACK packet id", ack);
        tclient_pkt_free(ack);
        return -1;
    }
    return 0;
}

/* Bit set of the Subscription Identifiers (1..31) on a received PUBLISH. */
static unsigned sub_ids(const struct tclient_pkt *r)
{
    unsigned set = 0;
    for (size_t i = 0; i < r->nprops; i++) {
        if (r->props[i].id == 0x0B && r->props[i].num < 32)
            set |= 1u << r->props[i].num;
    }
    return set;
}

#define B(n) (1u << (n))

/* One v5 client holds ten filters, each with its own Subscription Identifier. Every topic is
 * delivered once, carrying exactly the identifiers of the matching filters (section 4.7,
 * [MQTT-4.7.1-2] parent match of `#`, [MQTT-4.7.2-1] `$` topics, [MQTT-3.3.4-4]). */
static void test_wildcard_matching(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    static const char *const filters[] = {"a/b", "a/+",   "a/#", "+/b", "+/+",
                                          "#",   "a/b/#", "+",   "/+",  "a/+/c"};
    static const struct {
        const char *topic;
        unsigned ids;
    } cases[] = {
        {"a/b", B(1) | B(2) | B(3) | B(4) | B(5) | B(6) | B(7)},
        {"a", B(3) | B(6) | B(8)},
        {"a/b/c", B(3) | B(6) | B(7) | B(10)},
        {"/b", B(4) | B(5) | B(6) | B(9)},
        {"a/", B(2) | B(3) | B(5) | B(6)},
        {"x/y/z", B(6)},
        {"$x/b", 0},
        {"$x/a/b", 0},
        {"end", B(6) | B(8)},
    };
    struct tclient sub, pub;
    struct tclient_pkt ack;
    REQUIRE(tclient_start(&sub, spawner_port(b), 5, "wild", 60, 1, NULL) == 0);
    for (uint32_t i = 0; i < 10; i++) {
        const uint8_t opt = 0x00;
        REQUIRE(subscribe_n(&sub, (uint16_t)(i + 1), i + 1, &filters[i], &opt, 1, &ack) == 0);
        CHECK_EQ_INT(ack.ncodes, 1);
        CHECK_EQ_INT(ack.codes[0], 0x00);
        tclient_pkt_free(&ack);
    }
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        REQUIRE(tclient_pub(&pub, cases[i].topic, "m", 1, 0, (uint16_t)(i + 1)) == 0);
    /* Topics matching nothing produce no message; the ones that match arrive in order, once. */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!cases[i].ids)
            continue;
        struct tclient_pkt r;
        REQUIRE(tclient_expect_publish(&sub, &r, cases[i].topic, "m", 0) == 0);
        if (sub_ids(&r) != cases[i].ids) {
            fprintf(stderr, "topic %s: subscription ids 0x%x, expected 0x%x\n", cases[i].topic,
                    sub_ids(&r), cases[i].ids);
            CHECK(0);
        }
        tclient_pkt_free(&r);
    }
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* `$` topics are matched by filters that start with the same `$` level. */
static void test_dollar_topic_explicit(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient sub, pub;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "dsub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "$x/#", 0, 0x00) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "dpub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "$x/y", "dollar", 1, 0, 1) == 0);
    CHECK(tclient_expect_publish(&sub, NULL, "$x/y", "dollar", 0) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* One SUBSCRIBE with three filters gets one SUBACK with the granted QoS of each, in order
 * [MQTT-3.8.4-5] [MQTT-3.9.3-1]: exactly 90 05 00 07 00 01 02 in 3.1.1. */
static void test_suback_codes(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    static const char *const filters[] = {"s/0", "s/1", "s/2"};
    static const uint8_t opts[] = {0x00, 0x01, 0x02};
    for (int version = 4; version <= 5; version++) {
        struct tclient c;
        struct tclient_pkt ack;
        REQUIRE(tclient_start(&c, spawner_port(b), version, "codes", 60, 1, NULL) == 0);
        REQUIRE(subscribe_n(&c, 7, 0, filters, opts, 3, &ack) == 0);
        CHECK_EQ_INT(ack.ncodes, 3);
        CHECK_MEM(ack.codes, ack.ncodes, opts, 3);
        if (version == 4) {
            static const uint8_t want[] = {0x90, 0x05, 0x00, 0x07, 0x00, 0x01, 0x02};
            CHECK_MEM(ack.raw, ack.raw_len, want, sizeof want);
        }
        tclient_pkt_free(&ack);
        tclient_close(&c);
    }
    CHECK(spawner_stop(b) == 0);
}

/* Invalid filters next to a valid one: v5 SUBACK 0x8F Topic Filter invalid, 3.1.1 0x80 Failure,
 * the valid one granted, and the connection stays usable. */
static void test_invalid_filters(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    static const char *const filters[] = {"a/#/b", "ok/1", "a+/b", "#x", "a/b#"};
    static const uint8_t opts[] = {0x01, 0x01, 0x01, 0x01, 0x01};
    for (int version = 4; version <= 5; version++) {
        struct tclient c;
        struct tclient_pkt ack;
        uint8_t bad = version == 5 ? 0x8F : 0x80;
        const uint8_t want[] = {bad, 0x01, bad, bad, bad};
        REQUIRE(tclient_start(&c, spawner_port(b), version, "inval", 60, 1, NULL) == 0);
        REQUIRE(subscribe_n(&c, 9, 0, filters, opts, 5, &ack) == 0);
        CHECK_MEM(ack.codes, ack.ncodes, want, sizeof want);
        tclient_pkt_free(&ack);
        CHECK(tclient_ping(&c) == 0);
        tclient_close(&c);
    }
    CHECK(spawner_stop(b) == 0);
}

/* Overlapping subscriptions of one client at QoS 0 and 2: one copy, at the highest QoS allowed
 * by the message ([MQTT-3.3.4-2] 3.1.1 / section 3.3.4 v5). */
static void test_overlap_highest_qos(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    for (int version = 4; version <= 5; version++) {
        struct tclient sub, pub;
        struct tclient_pkt r;
        REQUIRE(tclient_start(&sub, spawner_port(b), version, "ovl", 60, 1, NULL) == 0);
        REQUIRE(tclient_sub(&sub, 1, "o/+", 0, 0x00) == 0);
        REQUIRE(tclient_sub(&sub, 2, "o/#", 2, 0x02) == 0);
        REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
        REQUIRE(tclient_pub(&pub, "o/x", "first", 1, 0, 1) == 0);
        REQUIRE(tclient_pub(&pub, "o/x", "second", 2, 0, 2) == 0);
        REQUIRE(tclient_expect_publish(&sub, &r, "o/x", "first", 1) == 0);
        CHECK(integ_send_ack(&sub, CT_PUBACK, r.packet_id) == 0);
        tclient_pkt_free(&r);
        REQUIRE(tclient_expect_publish(&sub, &r, "o/x", "second", 2) == 0);
        CHECK(integ_send_ack(&sub, CT_PUBREC, r.packet_id) == 0);
        tclient_pkt_free(&r);
        REQUIRE(tclient_expect(&sub, &r, CT_PUBREL, TCLIENT_TIMEOUT_MS) == 0);
        CHECK(integ_send_ack(&sub, CT_PUBCOMP, r.packet_id) == 0);
        tclient_pkt_free(&r);
        CHECK(tclient_ping(&sub) == 0);
        tclient_close(&sub);
        tclient_close(&pub);
    }
    CHECK(spawner_stop(b) == 0);
}

/* No Local (v5 option bit 2): the client's own messages are not sent back to it
 * [MQTT-3.8.3-3]; other clients' messages are. */
static void test_no_local(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient me, other;
    REQUIRE(tclient_start(&me, spawner_port(b), 5, "me", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&me, 1, "nl", 1 | 0x04, 0x01) == 0);
    REQUIRE(tclient_start(&other, spawner_port(b), 5, "other", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&me, "nl", "mine", 1, 0, 1) == 0);
    REQUIRE(tclient_pub(&other, "nl", "theirs", 1, 0, 1) == 0);
    /* "theirs" was published after "mine", so it arriving first proves "mine" was dropped. */
    struct tclient_pkt r;
    REQUIRE(tclient_expect_publish(&me, &r, "nl", "theirs", 1) == 0);
    CHECK(integ_send_ack(&me, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&me) == 0);
    tclient_close(&me);
    tclient_close(&other);
    CHECK(spawner_stop(b) == 0);
}

/* A second SUBSCRIBE to the same filter replaces the first [MQTT-3.8.4-3]: one copy, new QoS. */
static void test_resubscribe_replaces(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient sub, pub;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "resub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "rr", 0, 0x00) == 0);
    REQUIRE(tclient_sub(&sub, 2, "rr", 1, 0x01) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "rr", "x", 1, 0, 1) == 0);
    REQUIRE(tclient_expect_publish(&sub, &r, "rr", "x", 1) == 0);
    CHECK(integ_send_ack(&sub, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

static int unsubscribe(struct tclient *c, uint16_t id, const char *filter, struct tclient_pkt *ack)
{
    struct pkt p;
    pkt_init(&p);
    pkt_unsubscribe(&p, c->version, id, filter);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    if (rc != 0 || tclient_expect(c, ack, CT_UNSUBACK, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    return 0;
}

/* UNSUBSCRIBE stops delivery [MQTT-3.10.4-1] and is acknowledged with its packet id: exactly
 * b0 02 00 05 in 3.1.1; v5 codes 0x00 Success, and 0x11 No subscription existed. */
static void test_unsubscribe(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    for (int version = 4; version <= 5; version++) {
        struct tclient sub, pub;
        struct tclient_pkt ack;
        REQUIRE(tclient_start(&sub, spawner_port(b), version, "unsub", 60, 1, NULL) == 0);
        REQUIRE(tclient_sub(&sub, 1, "u/1", 0, 0x00) == 0);
        REQUIRE(tclient_sub(&sub, 2, "u/2", 0, 0x00) == 0);
        REQUIRE(unsubscribe(&sub, 5, "u/1", &ack) == 0);
        CHECK_EQ_INT(ack.packet_id, 5);
        if (version == 4) {
            static const uint8_t want[] = {0xB0, 0x02, 0x00, 0x05};
            CHECK_MEM(ack.raw, ack.raw_len, want, sizeof want);
        } else {
            CHECK_EQ_INT(ack.ncodes, 1);
            CHECK_EQ_INT(ack.codes[0], 0x00);
        }
        tclient_pkt_free(&ack);
        REQUIRE(unsubscribe(&sub, 6, "never/subscribed", &ack) == 0);
        CHECK_EQ_INT(ack.packet_id, 6);
        if (version == 5) {
            CHECK_EQ_INT(ack.ncodes, 1);
            CHECK_EQ_INT(ack.codes[0], 0x11);
        }
        tclient_pkt_free(&ack);
        REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
        REQUIRE(tclient_pub(&pub, "u/1", "gone", 1, 0, 1) == 0);
        REQUIRE(tclient_pub(&pub, "u/2", "still", 1, 0, 2) == 0);
        /* u/2 published after u/1: it arriving first proves u/1 was not delivered. */
        CHECK(tclient_expect_publish(&sub, NULL, "u/2", "still", 0) == 0);
        tclient_close(&sub);
        tclient_close(&pub);
    }
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_wildcard_matching), UNIT_TEST(test_dollar_topic_explicit),
          UNIT_TEST(test_suback_codes), UNIT_TEST(test_invalid_filters),
          UNIT_TEST(test_overlap_highest_qos), UNIT_TEST(test_no_local),
          UNIT_TEST(test_resubscribe_replaces), UNIT_TEST(test_unsubscribe))
