/* Integration: CONNECT / CONNACK (MQTT 3.1.1 section 3.1-3.2, MQTT 5.0 section 3.1-3.2) against
 * the real broker: protocol versions on one listener, refused versions and names, client
 * identifier rules, takeover, second CONNECT, first packet not CONNECT, keep alive and
 * max_keepalive. Will messages are in 06_will, malformed CONNECTs in 10_malformed. */
#include "integ.h"

/* 3.1 (MQIsdp/3), 3.1.1 (MQTT/4) and 5.0 (MQTT/5) are all accepted on the same listener. */
static void test_versions_one_listener(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    static const uint8_t ok_v3[] = {0x20, 0x02, 0x00, 0x00};
    const int versions[] = {3, 4, 5};
    for (int i = 0; i < 3; i++) {
        struct tclient c;
        struct tclient_pkt r;
        REQUIRE(tclient_open(&c, spawner_port(b), versions[i]) == 0);
        char id[16];
        snprintf(id, sizeof id, "ver%d", versions[i]);
        struct pkt_connect_opts o = {.version = versions[i], .client_id = id, .clean = 1};
        REQUIRE(integ_send_connect(&c, &o) == 0);
        REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
        if (versions[i] < 5) {
            CHECK_MEM(r.raw, r.raw_len, ok_v3, sizeof ok_v3);
        } else {
            /* v5 CONNACK: flags, reason code 0x00 Success, then a property block. */
            CHECK(r.raw_len >= 5);
            CHECK_EQ_INT(r.raw[2], 0);
            CHECK_EQ_INT(r.reason, 0x00);
        }
        tclient_pkt_free(&r);
        CHECK(tclient_ping(&c) == 0);
        tclient_close(&c);
    }
    CHECK(spawner_stop(b) == 0);
}

/* An unsupported protocol level gets CONNACK 0x01 (3.1.1 form) [MQTT-3.1.2-2] or 0x84 in the v5
 * form [MQTT-3.1.2-2 (v5)], then the connection is closed. */
static void test_bad_protocol_level(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    const int levels[] = {2, 6, 7};
    for (int i = 0; i < 3; i++) {
        struct tclient c;
        struct tclient_pkt r;
        REQUIRE(tclient_open(&c, spawner_port(b), 5) == 0);
        struct pkt_connect_opts o = {
            .version = levels[i], .protocol_name = "MQTT", .client_id = "lvl", .clean = 1};
        REQUIRE(integ_send_connect(&c, &o) == 0);
        /* Compare raw bytes: the answer may be in either version's CONNACK layout. */
        c.version = 0;
        if (tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) != 0) {
            fprintf(stderr, "  no CONNACK for protocol level %d\n", levels[i]);
            CHECK(0);
            tclient_close(&c);
            continue;
        }
        static const uint8_t rc1[] = {0x20, 0x02, 0x00, 0x01};
        static const uint8_t rc84[] = {0x20, 0x03, 0x00, 0x84, 0x00};
        int is_rc1 = r.raw_len == 4 && memcmp(r.raw, rc1, 4) == 0;
        int is_rc84 = r.raw_len >= 5 && memcmp(r.raw + 2, rc84 + 2, 2) == 0;
        if (!is_rc1 && !is_rc84)
            tclient_pkt_dump("bad level answer", &r);
        CHECK(is_rc1 || is_rc84);
        tclient_pkt_free(&r);
        CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
        tclient_close(&c);
    }
    CHECK(spawner_stop(b) == 0);
}

/* A wrong protocol name: the server closes the connection, optionally after CONNACK 0x84
 * [MQTT-3.1.2-1]. Nothing else may come back. */
static void test_bad_protocol_name(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    const int versions[] = {4, 5};
    for (int i = 0; i < 2; i++) {
        struct tclient c;
        struct tclient_pkt r;
        REQUIRE(tclient_open(&c, spawner_port(b), versions[i]) == 0);
        struct pkt_connect_opts o = {
            .version = versions[i], .protocol_name = "MQTX", .client_id = "nm", .clean = 1};
        REQUIRE(integ_send_connect(&c, &o) == 0);
        int rc = tclient_recv(&c, &r, TCLIENT_TIMEOUT_MS);
        if (rc == 0) {
            CHECK_EQ_INT(r.type, CT_CONNACK);
            CHECK(r.reason == 0x84 || r.reason == 0x01);
            tclient_pkt_free(&r);
            CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
        } else {
            CHECK_EQ_INT(rc, TCLIENT_CLOSED);
        }
        tclient_close(&c);
    }
    CHECK(spawner_stop(b) == 0);
}

/* v5: zero-length client id with clean start is assigned an id, returned as Assigned Client
 * Identifier [MQTT-3.1.3-6] [MQTT-3.2.2-16]; two such clients get different ids. */
static void test_zero_length_id_v5(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c[2];
    char ids[2][128];
    size_t lens[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        struct tclient_pkt r;
        REQUIRE(tclient_open(&c[i], spawner_port(b), 5) == 0);
        struct pkt_connect_opts o = {.version = 5, .client_id = "", .clean = 1};
        REQUIRE(integ_send_connect(&c[i], &o) == 0);
        REQUIRE(tclient_expect(&c[i], &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.reason, 0x00);
        const struct tclient_prop *id = tclient_prop_find(&r, 0x12, 0);
        CHECK(id && id->len > 0 && id->len < sizeof ids[i]);
        /* Mosquitto's default auto_id_prefix. */
        CHECK(id && id->len > 5 && memcmp(id->data, "auto-", 5) == 0);
        if (id && id->len < sizeof ids[i]) {
            memcpy(ids[i], id->data, id->len);
            lens[i] = id->len;
        }
        tclient_pkt_free(&r);
    }
    CHECK(lens[0] > 0 && lens[1] > 0);
    CHECK(lens[0] != lens[1] || memcmp(ids[0], ids[1], lens[0]) != 0);
    for (int i = 0; i < 2; i++) {
        CHECK(tclient_ping(&c[i]) == 0);
        tclient_close(&c[i]);
    }
    CHECK(spawner_stop(b) == 0);
}

/* 3.1.1: zero-length id with clean session 1 is accepted [MQTT-3.1.3-6]; with clean session 0 it
 * gets CONNACK rc 0x02 and the connection is closed [MQTT-3.1.3-8]. */
static void test_zero_length_id_v311(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "", 60, 1, NULL) == 0);
    CHECK(tclient_ping(&c) == 0);
    tclient_close(&c);

    REQUIRE(tclient_open(&c, spawner_port(b), 4) == 0);
    struct pkt_connect_opts o = {.version = 4, .client_id = "", .clean = 0};
    REQUIRE(integ_send_connect(&c, &o) == 0);
    REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    static const uint8_t rc2[] = {0x20, 0x02, 0x00, 0x02};
    CHECK_MEM(r.raw, r.raw_len, rc2, sizeof rc2);
    tclient_pkt_free(&r);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* allow_zero_length_clientid false: refused with 0x02 (3.1.1) and 0x85 (v5). */
static void test_zero_length_id_disallowed(void)
{
    struct spawner *b = spawner_start("allow_zero_length_clientid false");
    REQUIRE(b);
    const int versions[] = {4, 5};
    const uint8_t codes[] = {0x02, 0x85};
    for (int i = 0; i < 2; i++) {
        struct tclient c;
        struct tclient_pkt r;
        REQUIRE(tclient_open(&c, spawner_port(b), versions[i]) == 0);
        struct pkt_connect_opts o = {.version = versions[i], .client_id = "", .clean = 1};
        REQUIRE(integ_send_connect(&c, &o) == 0);
        REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
        CHECK_EQ_INT(r.reason, codes[i]);
        CHECK_EQ_INT(r.session_present, 0);
        tclient_pkt_free(&r);
        CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
        tclient_close(&c);
    }
    CHECK(spawner_stop(b) == 0);
}

/* A second connection with the same client id takes over: the old v5 connection gets
 * DISCONNECT 0x8E Session taken over and is closed [MQTT-3.1.4-3]; an old 3.1.1 one is closed. */
static void test_takeover(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    const int versions[] = {5, 4};
    for (int i = 0; i < 2; i++) {
        struct tclient old, young;
        REQUIRE(tclient_start(&old, spawner_port(b), versions[i], "same-id", 60, 1, NULL) == 0);
        REQUIRE(tclient_start(&young, spawner_port(b), versions[i], "same-id", 60, 1, NULL) == 0);
        CHECK(tclient_expect_disconnect(&old, 0x8E, TCLIENT_TIMEOUT_MS) == 0);
        CHECK(tclient_ping(&young) == 0);
        tclient_close(&old);
        tclient_close(&young);
    }
    CHECK(spawner_stop(b) == 0);
}

/* A second CONNECT on a connection is a protocol error [MQTT-3.1.0-2]: v5 gets DISCONNECT 0x82,
 * 3.1.1 is closed. */
static void test_second_connect(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    const int versions[] = {4, 5};
    for (int i = 0; i < 2; i++) {
        struct tclient c;
        REQUIRE(tclient_start(&c, spawner_port(b), versions[i], "twice", 60, 1, NULL) == 0);
        struct pkt_connect_opts o = {.version = versions[i], .client_id = "twice", .clean = 1};
        REQUIRE(integ_send_connect(&c, &o) == 0);
        CHECK(tclient_expect_disconnect(&c, 0x82, TCLIENT_TIMEOUT_MS) == 0);
        tclient_close(&c);
    }
    CHECK(spawner_stop(b) == 0);
}

/* The first packet must be CONNECT [MQTT-3.1.0-1]: PINGREQ or PUBLISH first closes, with no
 * PINGRESP. */
static void test_first_packet_not_connect(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    struct pkt p;
    pkt_init(&p);
    REQUIRE(tclient_open(&c, spawner_port(b), 4) == 0);
    pkt_pingreq(&p);
    REQUIRE(tclient_send(&c, &p) == 0);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);

    REQUIRE(tclient_open(&c, spawner_port(b), 4) == 0);
    pkt_publish(&p, 4, "a/b", "x", 0, 0, 0);
    REQUIRE(tclient_send(&c, &p) == 0);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    pkt_free(&p);

    /* The broker still serves well-behaved clients. */
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "after", 60, 1, NULL) == 0);
    CHECK(tclient_ping(&c) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* Keep alive 2 s and a silent client: closed after 1.5 x keep alive [MQTT-3.1.2-24]. The broker
 * checks every 0.5 s, so 3.0-3.5 s after the CONNECT: the window [2.9 s, 3.95 s] excludes
 * 1.0 x (2.0-2.5 s) and 2.0 x (4.0 s on) and leaves 0.45 s for a slow sanitizer run. A v5 client
 * may get DISCONNECT 0x8D first. */
static void test_keepalive_enforced(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c[2];
    long long start = integ_now_ms();
    REQUIRE(tclient_start(&c[0], spawner_port(b), 4, "ka4", 2, 1, NULL) == 0);
    REQUIRE(tclient_start(&c[1], spawner_port(b), 5, "ka5", 2, 1, NULL) == 0);
    for (int i = 0; i < 2; i++) {
        struct tclient_pkt r;
        int rc = tclient_recv(&c[i], &r, 6000);
        if (rc == 0 && c[i].version == 5) {
            CHECK_EQ_INT(r.type, CT_DISCONNECT);
            CHECK_EQ_INT(r.reason, 0x8D);
            tclient_pkt_free(&r);
            rc = tclient_expect_closed(&c[i], TCLIENT_TIMEOUT_MS) == 0 ? TCLIENT_CLOSED : -9;
        } else if (rc == 0) {
            tclient_pkt_dump("keepalive: unexpected", &r);
            tclient_pkt_free(&r);
        }
        long long elapsed = integ_now_ms() - start;
        CHECK_EQ_INT(rc, TCLIENT_CLOSED);
        CHECK(elapsed >= 2900);
        CHECK(elapsed <= 3950);
        tclient_close(&c[i]);
    }
    CHECK(spawner_stop(b) == 0);
}

/* With keep alive 1 s, PINGREQs every 0.5 s keep the connection open well past 1.5 s. */
static void test_keepalive_kept(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "kakept", 1, 1, NULL) == 0);
    for (int i = 0; i < 5; i++) {
        /* Waiting is the point here: the broker must not close an active client. */
        CHECK(tclient_expect_silence(&c, 500) == 0);
        CHECK(tclient_ping(&c) == 0);
    }
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* max_keepalive 10: a v5 client asking for 60 s gets Server Keep Alive 10 [MQTT-3.2.2-21]. */
static void test_max_keepalive(void)
{
    struct spawner *b = spawner_start("max_keepalive 10");
    REQUIRE(b);
    struct tclient c;
    struct tclient_pkt r;
    REQUIRE(tclient_open(&c, spawner_port(b), 5) == 0);
    struct pkt_connect_opts o = {.version = 5, .client_id = "maxka", .keep_alive = 60, .clean = 1};
    REQUIRE(integ_send_connect(&c, &o) == 0);
    REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.reason, 0);
    const struct tclient_prop *ka = tclient_prop_find(&r, 0x13, 0);
    CHECK(ka != NULL);
    CHECK_EQ_INT(ka ? ka->num : 0, 10);
    tclient_pkt_free(&r);
    tclient_close(&c);

    /* Within the maximum, no Server Keep Alive needs to be sent, and if sent it is unchanged. */
    REQUIRE(tclient_open(&c, spawner_port(b), 5) == 0);
    o.keep_alive = 5;
    REQUIRE(integ_send_connect(&c, &o) == 0);
    REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    ka = tclient_prop_find(&r, 0x13, 0);
    CHECK(ka == NULL || ka->num == 5);
    tclient_pkt_free(&r);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* The assigned client id of a v5 CONNECT with an empty id on port, into out (NUL-terminated);
 * 0 or -1. */
static int assigned_id(int port, char *out, size_t cap)
{
    struct tclient c;
    struct tclient_pkt r;
    if (tclient_open(&c, port, 5) != 0)
        return -1;
    struct pkt_connect_opts o = {.version = 5, .client_id = "", .clean = 1};
    int rc = -1;
    if (integ_send_connect(&c, &o) == 0 &&
        tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0) {
        const struct tclient_prop *id = tclient_prop_find(&r, 0x12, 0);
        if (r.reason == 0 && id && id->len < cap) {
            memcpy(out, id->data, id->len);
            out[id->len] = '\0';
            rc = 0;
        }
        tclient_pkt_free(&r);
    }
    tclient_close(&c);
    return rc;
}

/* A listener's own auto_id_prefix (listener_auto_id_prefix, Mosquitto 2.1) wins over the
 * global one; another listener keeps the global one. */
static void test_listener_auto_id_prefix(void)
{
    struct spawner *b = spawner_start("auto_id_prefix glob-\nlistener_auto_id_prefix first-\n"
                                      "listener 0 127.0.0.1\nallow_anonymous true");
    REQUIRE(b);
    char id[128];
    REQUIRE(assigned_id(spawner_listener_port(b, 0), id, sizeof id) == 0);
    CHECK(strncmp(id, "first-", 6) == 0);
    REQUIRE(assigned_id(spawner_listener_port(b, 1), id, sizeof id) == 0);
    CHECK(strncmp(id, "glob-", 5) == 0);
    CHECK(spawner_stop(b) == 0);
}

/* The broker enforces 1.5 x the Server Keep Alive it announced, not the client's keep alive:
 * max_keepalive 1 and a client asking for 60 is closed about 1.5 s after its CONNECT. */
static void test_server_keepalive_enforced(void)
{
    struct spawner *b = spawner_start("max_keepalive 1");
    REQUIRE(b);
    struct tclient c;
    struct tclient_pkt r;
    REQUIRE(tclient_open(&c, spawner_port(b), 5) == 0);
    long long start = integ_now_ms();
    struct pkt_connect_opts o = {.version = 5, .client_id = "ska", .keep_alive = 60, .clean = 1};
    REQUIRE(integ_send_connect(&c, &o) == 0);
    REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    const struct tclient_prop *ka = tclient_prop_find(&r, 0x13, 0);
    CHECK_EQ_INT(ka ? (int)ka->num : -1, 1);
    tclient_pkt_free(&r);
    /* The close is what is waited for: DISCONNECT 0x8D (keep alive timeout) then EOF. */
    CHECK(tclient_expect_disconnect(&c, 0x8D, 4000) == 0);
    long long elapsed = integ_now_ms() - start;
    CHECK(elapsed >= 1000);
    CHECK(elapsed <= 2600);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* v5 keep alive 0 (no keep alive) under max_keepalive gets Server Keep Alive = max_keepalive;
 * a 3.1.1 client asking for more than max_keepalive is refused with 0x02 (identifier rejected)
 * and closed, as Mosquitto does (it has no way to tell the client); within it is accepted. */
static void test_keepalive_above_max(void)
{
    struct spawner *b = spawner_start("max_keepalive 10");
    REQUIRE(b);
    struct tclient c;
    struct tclient_pkt r;
    REQUIRE(tclient_open(&c, spawner_port(b), 5) == 0);
    struct pkt_connect_opts o = {.version = 5, .client_id = "ka0", .keep_alive = 0, .clean = 1};
    REQUIRE(integ_send_connect(&c, &o) == 0);
    REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.reason, 0);
    const struct tclient_prop *ka = tclient_prop_find(&r, 0x13, 0);
    CHECK_EQ_INT(ka ? (int)ka->num : -1, 10);
    tclient_pkt_free(&r);
    tclient_close(&c);

    REQUIRE(tclient_open(&c, spawner_port(b), 4) == 0);
    struct pkt_connect_opts o4 = {.version = 4, .client_id = "ka60", .keep_alive = 60, .clean = 1};
    REQUIRE(integ_send_connect(&c, &o4) == 0);
    REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.reason, 0x02);
    tclient_pkt_free(&r);
    CHECK(tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);

    REQUIRE(tclient_start(&c, spawner_port(b), 4, "ka10", 10, 1, NULL) == 0);
    CHECK(tclient_ping(&c) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* The v5 CONNACK of a broker on defaults says what a Mosquitto 2 user would expect: Receive
 * Maximum 20 (max_inflight_messages), Topic Alias Maximum 10 (max_topic_alias); no Maximum QoS
 * (2), Retain Available, Wildcard, Subscription Identifier or Shared Subscription Available
 * property saying "not available" (absent, or 1). */
static void test_connack_defaults(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    struct tclient_pkt r;
    REQUIRE(tclient_open(&c, spawner_port(b), 5) == 0);
    struct pkt_connect_opts o = {.version = 5, .client_id = "dflt", .keep_alive = 60, .clean = 1};
    REQUIRE(integ_send_connect(&c, &o) == 0);
    REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.reason, 0);
    const struct tclient_prop *rm = tclient_prop_find(&r, 0x21, 0);
    const struct tclient_prop *ta = tclient_prop_find(&r, 0x22, 0);
    CHECK(rm && rm->num == 20);
    CHECK(ta && ta->num == 10);
    CHECK(tclient_prop_find(&r, 0x24, 0) == NULL);
    static const uint8_t flags[] = {0x25, 0x28, 0x29, 0x2A};
    for (size_t i = 0; i < sizeof flags; i++) {
        const struct tclient_prop *f = tclient_prop_find(&r, flags[i], 0);
        CHECK(!f || f->num == 1);
    }
    tclient_pkt_free(&r);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_versions_one_listener), UNIT_TEST(test_connack_defaults),
          UNIT_TEST(test_bad_protocol_level), UNIT_TEST(test_bad_protocol_name),
          UNIT_TEST(test_zero_length_id_v5), UNIT_TEST(test_zero_length_id_v311),
          UNIT_TEST(test_zero_length_id_disallowed), UNIT_TEST(test_takeover),
          UNIT_TEST(test_second_connect), UNIT_TEST(test_first_packet_not_connect),
          UNIT_TEST(test_keepalive_enforced), UNIT_TEST(test_keepalive_kept),
          UNIT_TEST(test_max_keepalive), UNIT_TEST(test_listener_auto_id_prefix),
          UNIT_TEST(test_server_keepalive_enforced), UNIT_TEST(test_keepalive_above_max))
