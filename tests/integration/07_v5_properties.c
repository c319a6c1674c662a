/* Integration: MQTT 5.0 properties end to end (sections 3.1.2.11, 3.2.2.3, 3.3.2.3, 4.9):
 * topic aliases in both directions, Receive Maximum in both directions, message expiry,
 * forwarding of payload format, content type, response topic, correlation data and user
 * properties, the client's Maximum Packet Size, Subscription Identifier from a client, and
 * Response Information in CONNACK. */
#include <poll.h>

#include "integ.h"

/* Let `ms` of wall time pass: message expiry is a timer, so time itself is waited for. */
static void let_time_pass(int ms)
{
    long long end = integ_now_ms() + ms;
    while (integ_now_ms() < end)
        poll(NULL, 0, (int)(end - integ_now_ms()));
}

/* v5 connect with the given CONNECT property block content; CONNACK (rc 0) returned in ack
 * (caller frees). 0 or -1. */
static int connect_props(struct tclient *c, int port, const char *id, const struct pkt *props,
                         struct tclient_pkt *ack)
{
    if (tclient_open(c, port, 5) != 0)
        return -1;
    struct pkt_connect_opts o = {
        .version = 5, .client_id = id, .keep_alive = 60, .clean = 1, .props = props};
    if (integ_send_connect(c, &o) != 0 || tclient_expect(c, ack, CT_CONNACK, TCLIENT_TIMEOUT_MS))
        return -1;
    if (ack->reason != 0) {
        tclient_pkt_free(ack);
        return -1;
    }
    return 0;
}

static int publish_props(struct tclient *c, const char *topic, const char *payload, int qos,
                         uint16_t id, const struct pkt *props)
{
    struct pkt_publish_opts o = {.version = 5,
                                 .topic = topic,
                                 .payload = payload,
                                 .payload_len = strlen(payload),
                                 .qos = qos,
                                 .packet_id = id,
                                 .props = props};
    return integ_send_publish(c, &o);
}

/* Client -> broker topic aliases up to the CONNACK's Topic Alias Maximum [MQTT-3.3.2-12]: set
 * with topic + alias, used with an empty topic, remapped by a new topic. */
static void test_topic_alias_inbound(void)
{
    struct spawner *b = spawner_start("max_topic_alias 5");
    REQUIRE(b);
    struct tclient sub, pub;
    struct tclient_pkt ack;
    struct pkt props;
    pkt_init(&props);
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "ta/#", 0, 0x00) == 0);
    REQUIRE(connect_props(&pub, spawner_port(b), "pub", NULL, &ack) == 0);
    const struct tclient_prop *max = tclient_prop_find(&ack, 0x22, 0);
    CHECK(max && max->num == 5);
    tclient_pkt_free(&ack);
    pkt_prop_u16(&props, 0x23, 5);
    REQUIRE(publish_props(&pub, "ta/one", "1", 0, 0, &props) == 0);
    REQUIRE(publish_props(&pub, "", "2", 0, 0, &props) == 0);
    REQUIRE(publish_props(&pub, "ta/two", "3", 0, 0, &props) == 0);
    REQUIRE(publish_props(&pub, "", "4", 0, 0, &props) == 0);
    CHECK(tclient_expect_publish(&sub, NULL, "ta/one", "1", 0) == 0);
    CHECK(tclient_expect_publish(&sub, NULL, "ta/one", "2", 0) == 0);
    CHECK(tclient_expect_publish(&sub, NULL, "ta/two", "3", 0) == 0);
    CHECK(tclient_expect_publish(&sub, NULL, "ta/two", "4", 0) == 0);
    pkt_free(&props);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Topic Alias 0 [MQTT-3.3.2-8] or above the maximum [MQTT-3.3.2-9]: DISCONNECT 0x94; an empty
 * topic with an unknown alias is a protocol error 0x82 (section 3.3.2.3.4). */
static void test_topic_alias_invalid(void)
{
    struct spawner *b = spawner_start("max_topic_alias 5");
    REQUIRE(b);
    const struct {
        const char *topic;
        uint16_t alias;
        uint8_t reason;
    } cases[] = {{"t", 0, 0x94}, {"t", 6, 0x94}, {"", 3, 0x82}};
    for (int i = 0; i < 3; i++) {
        struct tclient c;
        struct tclient_pkt ack;
        struct pkt props;
        pkt_init(&props);
        pkt_prop_u16(&props, 0x23, cases[i].alias);
        REQUIRE(connect_props(&c, spawner_port(b), "bad", NULL, &ack) == 0);
        tclient_pkt_free(&ack);
        REQUIRE(publish_props(&c, cases[i].topic, "x", 0, 0, &props) == 0);
        if (tclient_expect_disconnect(&c, cases[i].reason, TCLIENT_TIMEOUT_MS) != 0) {
            fprintf(stderr, "  case: topic '%s' alias %u\n", cases[i].topic, cases[i].alias);
            CHECK(0);
        }
        pkt_free(&props);
        tclient_close(&c);
    }
    CHECK(spawner_stop(b) == 0);
}

/* Resolve a received PUBLISH's topic through the client-side alias table; -1 on a violation. */
static int resolve_alias(struct tclient_pkt *r, char table[][32], uint16_t max, char *topic)
{
    const struct tclient_prop *a = tclient_prop_find(r, 0x23, 0);
    if (!a) {
        if (r->topic_len == 0 || r->topic_len >= 32)
            return -1;
        memcpy(topic, r->topic, r->topic_len);
        topic[r->topic_len] = 0;
        return 0;
    }
    if (a->num == 0 || a->num > max)
        return -1; /* [MQTT-3.3.2-10] */
    if (r->topic_len) {
        if (r->topic_len >= 32)
            return -1;
        memcpy(table[a->num], r->topic, r->topic_len);
        table[a->num][r->topic_len] = 0;
    }
    if (!table[a->num][0])
        return -1;
    strcpy(topic, table[a->num]);
    return 1;
}

/* Broker -> client aliases: only when the client's CONNECT allows them, never above its Topic
 * Alias Maximum [MQTT-3.3.2-10], never without [MQTT-3.3.2-11]; with them allowed, repeated topics
 * are sent by alias (issue 3: the broker uses them). */
static void test_topic_alias_outbound(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient with, without, pub;
    struct tclient_pkt ack;
    struct pkt props;
    pkt_init(&props);
    pkt_prop_u16(&props, 0x22, 2);
    REQUIRE(connect_props(&with, spawner_port(b), "with", &props, &ack) == 0);
    tclient_pkt_free(&ack);
    REQUIRE(tclient_sub(&with, 1, "out/#", 0, 0x00) == 0);
    REQUIRE(tclient_start(&without, spawner_port(b), 5, "without", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&without, 1, "out/#", 0, 0x00) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    static const char *const topics[] = {"out/a", "out/a", "out/b", "out/a",
                                         "out/c", "out/c", "out/b", "out/a"};
    for (int i = 0; i < 8; i++)
        REQUIRE(tclient_pub(&pub, topics[i], "p", 0, 0, 0) == 0);
    char table[3][32] = {{0}};
    int aliased = 0;
    for (int i = 0; i < 8; i++) {
        struct tclient_pkt r;
        char topic[32];
        REQUIRE(tclient_expect(&with, &r, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
        int rc = resolve_alias(&r, table, 2, topic);
        CHECK(rc >= 0);
        if (rc >= 0)
            CHECK(strcmp(topic, topics[i]) == 0);
        aliased += rc == 1 && r.topic_len == 0;
        tclient_pkt_free(&r);
        REQUIRE(tclient_expect_publish(&without, &r, topics[i], "p", 0) == 0);
        CHECK(tclient_prop_find(&r, 0x23, 0) == NULL);
        tclient_pkt_free(&r);
    }
    CHECK(aliased > 0);
    pkt_free(&props);
    tclient_close(&with);
    tclient_close(&without);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Receive Maximum, client -> broker: more unacknowledged QoS 2 PUBLISHes than the CONNACK's
 * Receive Maximum gets DISCONNECT 0x93 [MQTT-3.3.4-9]. */
static void test_receive_maximum_inbound(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    struct tclient_pkt ack;
    REQUIRE(connect_props(&c, spawner_port(b), "rm", NULL, &ack) == 0);
    const struct tclient_prop *rm = tclient_prop_find(&ack, 0x21, 0);
    /* Absent means 65535 [MQTT-3.2.2 Receive Maximum]; issue 3 sets the default to 20. */
    uint32_t limit = rm ? rm->num : 65535;
    tclient_pkt_free(&ack);
    CHECK_EQ_INT(limit, 20);
    REQUIRE(limit <= 1000);
    for (uint32_t i = 1; i <= limit; i++) {
        REQUIRE(publish_props(&c, "rm/x", "q", 2, (uint16_t)i, NULL) == 0);
        REQUIRE(tclient_expect(&c, &ack, CT_PUBREC, TCLIENT_TIMEOUT_MS) == 0);
        tclient_pkt_free(&ack);
    }
    REQUIRE(publish_props(&c, "rm/x", "q", 2, (uint16_t)(limit + 1), NULL) == 0);
    CHECK(tclient_expect_disconnect(&c, 0x93, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* Receive Maximum, broker -> client: with Receive Maximum 2 the broker has at most two QoS 1
 * messages unacknowledged [MQTT-3.3.4-7]; a PUBACK lets the next one go. */
static void test_receive_maximum_outbound(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient sub, pub;
    struct tclient_pkt ack, r[5];
    struct pkt props;
    pkt_init(&props);
    pkt_prop_u16(&props, 0x21, 2);
    REQUIRE(connect_props(&sub, spawner_port(b), "slow", &props, &ack) == 0);
    tclient_pkt_free(&ack);
    pkt_free(&props);
    REQUIRE(tclient_sub(&sub, 1, "rmo", 1, 0x01) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    for (int i = 0; i < 5; i++) {
        char payload[16];
        snprintf(payload, sizeof payload, "m%d", i);
        REQUIRE(tclient_pub(&pub, "rmo", payload, 1, 0, (uint16_t)(i + 1)) == 0);
    }
    REQUIRE(tclient_expect_publish(&sub, &r[0], "rmo", "m0", 1) == 0);
    REQUIRE(tclient_expect_publish(&sub, &r[1], "rmo", "m1", 1) == 0);
    /* The third must wait for a PUBACK: PINGRESP comes first. */
    CHECK(tclient_ping(&sub) == 0);
    for (int i = 2; i < 5; i++) {
        char payload[16];
        snprintf(payload, sizeof payload, "m%d", i);
        CHECK(integ_send_ack(&sub, CT_PUBACK, r[i - 2].packet_id) == 0);
        REQUIRE(tclient_expect_publish(&sub, &r[i], "rmo", payload, 1) == 0);
    }
    CHECK(integ_send_ack(&sub, CT_PUBACK, r[3].packet_id) == 0);
    CHECK(integ_send_ack(&sub, CT_PUBACK, r[4].packet_id) == 0);
    for (int i = 0; i < 5; i++)
        tclient_pkt_free(&r[i]);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Message Expiry Interval: forwarded as the remaining time [MQTT-3.3.2-6]; an expired message is
 * not delivered to a returning session [MQTT-3.3.2-5], nor kept as retained. */
static void test_message_expiry(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient live, away, pub, late;
    struct tclient_pkt r;
    struct pkt props;
    pkt_init(&props);
    REQUIRE(tclient_start(&live, spawner_port(b), 5, "live", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&live, 1, "exp/#", 1, 0x01) == 0);
    REQUIRE(integ_start(&away, spawner_port(b), 5, "away", 1, 300, NULL) == 0);
    REQUIRE(tclient_sub(&away, 1, "exp/#", 1, 0x01) == 0);
    tclient_close(&away);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "pub", 60, 1, NULL) == 0);
    pkt_prop_u32(&props, 0x02, 60);
    REQUIRE(publish_props(&pub, "exp/long", "L", 1, 1, &props) == 0);
    REQUIRE(tclient_expect(&pub, &r, CT_PUBACK, TCLIENT_TIMEOUT_MS) == 0);
    tclient_pkt_free(&r);
    pkt_reset(&props);
    pkt_prop_u32(&props, 0x02, 1);
    struct pkt_publish_opts o = {.version = 5,
                                 .topic = "exp/short",
                                 .payload = "S",
                                 .payload_len = 1,
                                 .qos = 1,
                                 .retain = 1,
                                 .packet_id = 2,
                                 .props = &props};
    REQUIRE(integ_send_publish(&pub, &o) == 0);
    REQUIRE(tclient_expect(&pub, &r, CT_PUBACK, TCLIENT_TIMEOUT_MS) == 0);
    tclient_pkt_free(&r);
    pkt_reset(&props);
    pkt_prop_u32(&props, 0x02, 60);
    o.topic = "kept/long";
    o.payload = "K";
    o.packet_id = 3;
    REQUIRE(integ_send_publish(&pub, &o) == 0); /* retained, outside exp/#: nobody gets it live */
    REQUIRE(tclient_expect(&pub, &r, CT_PUBACK, TCLIENT_TIMEOUT_MS) == 0);
    tclient_pkt_free(&r);
    REQUIRE(tclient_expect_publish(&live, &r, "exp/long", "L", 1) == 0);
    const struct tclient_prop *e = tclient_prop_find(&r, 0x02, 0);
    CHECK(e && e->num >= 55 && e->num <= 60);
    CHECK(integ_send_ack(&live, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    REQUIRE(tclient_expect_publish(&live, &r, "exp/short", "S", 1) == 0);
    CHECK(integ_send_ack(&live, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);

    let_time_pass(2200);
    int present = 0;
    REQUIRE(integ_start(&away, spawner_port(b), 5, "away", 0, 300, &present) == 0);
    CHECK_EQ_INT(present, 1);
    REQUIRE(tclient_expect_publish(&away, &r, "exp/long", "L", 1) == 0);
    e = tclient_prop_find(&r, 0x02, 0);
    CHECK(e && e->num >= 50 && e->num <= 58);
    CHECK(integ_send_ack(&away, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    /* exp/short expired while queued: PINGRESP comes next. */
    CHECK(tclient_ping(&away) == 0);
    REQUIRE(tclient_start(&late, spawner_port(b), 5, "late", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&late, 1, "exp/short", 1, 0x01) == 0);
    CHECK(tclient_ping(&late) == 0);
    /* A retained message carries what is left of its expiry too [MQTT-3.3.2-6]. */
    REQUIRE(tclient_sub(&late, 2, "kept/long", 1, 0x01) == 0);
    REQUIRE(tclient_expect_publish(&late, &r, "kept/long", "K", 1) == 0);
    CHECK(r.retain);
    e = tclient_prop_find(&r, 0x02, 0);
    CHECK(e && e->num >= 50 && e->num <= 58);
    CHECK(integ_send_ack(&late, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    pkt_free(&props);
    tclient_close(&late);
    tclient_close(&away);
    tclient_close(&live);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* Payload Format Indicator, Content Type, Response Topic, Correlation Data and User Properties
 * reach the subscriber unchanged, user properties in order [MQTT-3.3.2-4] [MQTT-3.3.2-15]
 * [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]. */
static void test_properties_forwarded(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient sub, pub;
    struct tclient_pkt r;
    struct pkt props;
    pkt_init(&props);
    REQUIRE(tclient_start(&sub, spawner_port(b), 5, "sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "fw", 1, 0x01) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "pub", 60, 1, NULL) == 0);
    pkt_prop_u8(&props, 0x01, 1);
    pkt_prop_str(&props, 0x03, "text/plain");
    pkt_prop_str(&props, 0x08, "reply/here");
    pkt_u8(&props, 0x09);
    pkt_bin(&props, "\x00\x01\x02\xff", 4);
    pkt_prop_pair(&props, 0x26, "k", "v1");
    pkt_prop_pair(&props, 0x26, "k", "v2");
    pkt_prop_pair(&props, 0x26, "other", "");
    REQUIRE(publish_props(&pub, "fw", "hello", 1, 1, &props) == 0);
    pkt_free(&props);
    REQUIRE(tclient_expect_publish(&sub, &r, "fw", "hello", 1) == 0);
    const struct tclient_prop *p = tclient_prop_find(&r, 0x01, 0);
    CHECK(p && p->num == 1);
    p = tclient_prop_find(&r, 0x03, 0);
    CHECK(p && p->len == 10 && memcmp(p->data, "text/plain", 10) == 0);
    p = tclient_prop_find(&r, 0x08, 0);
    CHECK(p && p->len == 10 && memcmp(p->data, "reply/here", 10) == 0);
    p = tclient_prop_find(&r, 0x09, 0);
    CHECK(p && p->len == 4 && memcmp(p->data, "\x00\x01\x02\xff", 4) == 0);
    static const char *const vals[] = {"v1", "v2", ""};
    static const char *const keys[] = {"k", "k", "other"};
    for (size_t i = 0; i < 3; i++) {
        p = tclient_prop_find(&r, 0x26, i);
        CHECK(p != NULL);
        if (p) {
            CHECK_MEM(p->data, p->len, keys[i], strlen(keys[i]));
            CHECK_MEM(p->data2, p->len2, vals[i], strlen(vals[i]));
        }
    }
    CHECK(tclient_prop_find(&r, 0x26, 3) == NULL);
    CHECK(integ_send_ack(&sub, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* The client's Maximum Packet Size: a message that would exceed it is dropped for that client
 * only [MQTT-3.1.2-25]; smaller ones still arrive. */
static void test_client_maximum_packet_size(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient small, big, pub;
    struct tclient_pkt ack;
    struct pkt props;
    pkt_init(&props);
    pkt_prop_u32(&props, 0x27, 100);
    REQUIRE(connect_props(&small, spawner_port(b), "small", &props, &ack) == 0);
    tclient_pkt_free(&ack);
    pkt_free(&props);
    REQUIRE(tclient_sub(&small, 1, "mps", 1, 0x01) == 0);
    REQUIRE(tclient_start(&big, spawner_port(b), 5, "big", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&big, 1, "mps", 0, 0x00) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "pub", 60, 1, NULL) == 0);
    char large[201];
    memset(large, 'L', 200);
    large[200] = 0;
    REQUIRE(tclient_pub(&pub, "mps", large, 1, 0, 1) == 0);
    REQUIRE(tclient_pub(&pub, "mps", "tiny", 1, 0, 2) == 0);
    CHECK(tclient_expect_publish(&big, NULL, "mps", large, 0) == 0);
    CHECK(tclient_expect_publish(&big, NULL, "mps", "tiny", 0) == 0);
    struct tclient_pkt r;
    /* "tiny" was published after the large one: it arriving first proves the drop. */
    REQUIRE(tclient_expect_publish(&small, &r, "mps", "tiny", 1) == 0);
    CHECK(integ_send_ack(&small, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    tclient_close(&small);
    tclient_close(&big);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* A PUBLISH from a client must not carry a Subscription Identifier [MQTT-3.3.4-6]: DISCONNECT
 * 0x82. */
static void test_subscription_id_from_client(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    struct pkt props;
    pkt_init(&props);
    pkt_prop_varint(&props, 0x0B, 7);
    REQUIRE(tclient_start(&c, spawner_port(b), 5, "sid", 60, 1, NULL) == 0);
    REQUIRE(publish_props(&c, "sid", "x", 0, 0, &props) == 0);
    CHECK(tclient_expect_disconnect(&c, 0x82, TCLIENT_TIMEOUT_MS) == 0);
    pkt_free(&props);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* The Response Information of the CONNACK to client `id` (props: the CONNECT properties),
 * copied into out ("" when absent); with assigned, the Assigned Client Identifier too. 0 or -1. */
static int response_info(int port, const char *id, const struct pkt *props, char *out, size_t cap,
                         char *assigned)
{
    struct tclient c;
    struct tclient_pkt ack;
    if (connect_props(&c, port, id, props, &ack) != 0)
        return -1;
    const struct tclient_prop *ri = tclient_prop_find(&ack, 0x1A, 0);
    snprintf(out, cap, "%.*s", ri ? (int)ri->len : 0, ri ? (const char *)ri->data : "");
    const struct tclient_prop *aci = tclient_prop_find(&ack, 0x12, 0);
    if (assigned)
        snprintf(assigned, cap, "%.*s", aci ? (int)aci->len : 0,
                 aci ? (const char *)aci->data : "");
    tclient_pkt_free(&ack);
    tclient_close(&c);
    return 0;
}

/* Request Response Information 1 gets "PREFIX/<client id>" when response_information is set
 * (also for an assigned id); 0 or no request never gets it [MQTT-3.1.2-28]; an unset option
 * sends none at all. */
static void test_response_information(void)
{
    char ri[512], aci[512];
    struct pkt yes, no;
    pkt_init(&yes);
    pkt_init(&no);
    pkt_prop_u8(&yes, 0x19, 1);
    pkt_prop_u8(&no, 0x19, 0);
    struct spawner *b = spawner_start("response_information rsp/v1");
    REQUIRE(b);
    REQUIRE(response_info(spawner_port(b), "ri-yes", &yes, ri, sizeof ri, NULL) == 0);
    CHECK(strcmp(ri, "rsp/v1/ri-yes") == 0);
    REQUIRE(response_info(spawner_port(b), "ri-zero", &no, ri, sizeof ri, NULL) == 0);
    CHECK(strcmp(ri, "") == 0);
    REQUIRE(response_info(spawner_port(b), "ri-none", NULL, ri, sizeof ri, NULL) == 0);
    CHECK(strcmp(ri, "") == 0);
    REQUIRE(response_info(spawner_port(b), "", &yes, ri, sizeof ri, aci) == 0);
    CHECK(aci[0] != 0);
    CHECK(strncmp(ri, "rsp/v1/", 7) == 0 && strcmp(ri + 7, aci) == 0);
    CHECK(spawner_stop(b) == 0);
    b = spawner_start(NULL);
    REQUIRE(b);
    REQUIRE(response_info(spawner_port(b), "ri-unset", &yes, ri, sizeof ri, NULL) == 0);
    CHECK(strcmp(ri, "") == 0);
    CHECK(spawner_stop(b) == 0);
    pkt_free(&yes);
    pkt_free(&no);
}

/* Whether r carries a Reason String (0x1F) equal to want (NULL: any). */
static int has_reason_string(const struct tclient_pkt *r, const char *want)
{
    const struct tclient_prop *rs = tclient_prop_find(r, 0x1F, 0);
    if (!rs || rs->len == 0)
        return 0;
    return !want || (rs->len == strlen(want) && memcmp(rs->data, want, rs->len) == 0);
}

/* v5 CONNECT with client id and Request Problem Information pi (-1: absent); returns the
 * CONNACK's reason code (r filled) or -1. */
static int connect_pi(struct tclient *c, int port, const char *id, int pi, struct tclient_pkt *r)
{
    struct pkt props;
    pkt_init(&props);
    if (pi >= 0)
        pkt_prop_u8(&props, 0x17, (uint8_t)pi);
    struct pkt_connect_opts o = {
        .version = 5, .client_id = id, .keep_alive = 60, .clean = 1, .props = &props};
    int rc = tclient_open(c, port, 5) == 0 ? integ_send_connect(c, &o) : -1;
    pkt_free(&props);
    if (rc != 0 || tclient_expect(c, r, CT_CONNACK, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    return r->reason;
}

/* The server says why in a Reason String on a refusing CONNACK and on its DISCONNECT (both
 * allowed whatever Request Problem Information says [MQTT-3.1.2-29]). */
static void test_reason_string_connack_disconnect(void)
{
    struct spawner *b = spawner_start("allow_anonymous false");
    REQUIRE(b);
    struct tclient c;
    struct tclient_pkt r;
    CHECK_EQ_INT(connect_pi(&c, spawner_port(b), "anon", 0, &r), 0x87);
    CHECK(has_reason_string(&r, NULL));
    tclient_pkt_free(&r);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);

    b = spawner_start(NULL);
    REQUIRE(b);
    CHECK_EQ_INT(connect_pi(&c, spawner_port(b), "twice", 0, &r), 0);
    tclient_pkt_free(&r);
    struct pkt p;
    pkt_init(&p);
    pkt_connect(&p, 5, "twice", 60, 1);
    REQUIRE(tclient_send(&c, &p) == 0);
    pkt_free(&p);
    REQUIRE(tclient_expect(&c, &r, CT_DISCONNECT, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.reason, 0x82);
    CHECK(has_reason_string(&r, "second CONNECT"));
    tclient_pkt_free(&r);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* A refused filter's SUBACK carries a Reason String, unless the client set Request Problem
 * Information 0: then no Reason String on packets other than PUBLISH, CONNACK and DISCONNECT
 * [MQTT-3.1.2-29]. */
static void test_request_problem_information(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    for (int pi = -1; pi <= 0; pi++) {
        struct tclient c;
        struct tclient_pkt r;
        CHECK_EQ_INT(connect_pi(&c, spawner_port(b), "rpi", pi, &r), 0);
        tclient_pkt_free(&r);
        struct pkt p;
        pkt_init(&p);
        pkt_subscribe(&p, 5, 1, "a/#/b", 0x00);
        REQUIRE(tclient_send(&c, &p) == 0);
        pkt_free(&p);
        REQUIRE(tclient_expect(&c, &r, CT_SUBACK, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.ncodes, 1);
        CHECK(r.codes[0] >= 0x80);
        CHECK_EQ_INT(has_reason_string(&r, NULL), pi != 0);
        CHECK(tclient_prop_find(&r, 0x26, 0) == NULL); /* no User Property either */
        tclient_pkt_free(&r);
        CHECK(tclient_ping(&c) == 0);
        tclient_close(&c);
    }
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_reason_string_connack_disconnect),
          UNIT_TEST(test_request_problem_information), UNIT_TEST(test_response_information),
          UNIT_TEST(test_topic_alias_inbound), UNIT_TEST(test_topic_alias_invalid),
          UNIT_TEST(test_topic_alias_outbound), UNIT_TEST(test_receive_maximum_inbound),
          UNIT_TEST(test_receive_maximum_outbound), UNIT_TEST(test_message_expiry),
          UNIT_TEST(test_properties_forwarded), UNIT_TEST(test_client_maximum_packet_size),
          UNIT_TEST(test_subscription_id_from_client))
