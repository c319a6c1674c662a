/* Integration: `$SYS/broker/...` statistics (issue 3 "$SYS", Mosquitto's topic names) published
 * every `sys_interval` seconds: version, uptime, clients, messages, subscriptions, retained count,
 * load averages; `$` topics are not matched by a leading `#` [MQTT-4.7.2-1]; a client's PUBLISH
 * to `$SYS/...` is acknowledged and dropped. Values: clients/connected follows the connections,
 * and the counters follow known traffic (test_sys_values_follow_traffic). */
#include <ctype.h>

#include "integ.h"

/* Bound of the waits for periodic updates: a few sys_interval 1 periods plus slack. */
#define SYS_WAIT_MS 6000

/* Topics every update carries (Mosquitto's names), besides version which is published once. */
static const char *const sys_topics[] = {
    "$SYS/broker/version",
    "$SYS/broker/uptime",
    "$SYS/broker/clients/connected",
    "$SYS/broker/clients/total",
    "$SYS/broker/messages/received",
    "$SYS/broker/messages/sent",
    "$SYS/broker/bytes/received",
    "$SYS/broker/subscriptions/count",
    "$SYS/broker/retained messages/count",
    "$SYS/broker/heap/current",
    "$SYS/broker/heap/maximum",
    "$SYS/broker/publish/messages/received",
    "$SYS/broker/publish/messages/sent",
    "$SYS/broker/publish/messages/dropped",
    "$SYS/broker/load/messages/received/1min",
    "$SYS/broker/load/messages/received/5min",
    "$SYS/broker/load/messages/received/15min",
    "$SYS/broker/load/bytes/sent/1min",
    "$SYS/broker/load/publish/received/1min",
    "$SYS/broker/load/publish/sent/5min",
    "$SYS/broker/load/publish/dropped/15min",
    "$SYS/broker/load/connections/1min",
    "$SYS/broker/load/connections/15min",
    "$SYS/broker/load/sockets/1min",
    "$SYS/broker/load/sockets/5min",
};
#define N_SYS_TOPICS (sizeof sys_topics / sizeof sys_topics[0])

static int topic_is(const struct tclient_pkt *r, const char *topic)
{
    size_t n = strlen(topic);
    return r->type == CT_PUBLISH && r->topic_len == n && memcmp(r->topic, topic, n) == 0;
}

/* Whether the payload is a non-empty run of digits, optionally followed by `suffix`. */
static int payload_number(const struct tclient_pkt *r, const char *suffix)
{
    size_t i = 0;
    while (i < r->payload_len && isdigit(r->payload[i]))
        i++;
    size_t sl = strlen(suffix);
    return i > 0 && r->payload_len - i == sl && memcmp(r->payload + i, suffix, sl) == 0;
}

/* Receive PUBLISHes until one on `topic` arrives (others are skipped; QoS 0 only). The payload,
 * NUL-terminated, goes to out. 0 or -1 (printed). */
static int wait_topic(struct tclient *c, const char *topic, char *out, size_t cap)
{
    long long deadline = integ_now_ms() + SYS_WAIT_MS;
    while (integ_now_ms() < deadline) {
        struct tclient_pkt r;
        if (tclient_expect(c, &r, CT_PUBLISH, (int)(deadline - integ_now_ms())) != 0)
            break;
        int hit = topic_is(&r, topic);
        if (hit) {
            size_t n = r.payload_len < cap - 1 ? r.payload_len : cap - 1;
            memcpy(out, r.payload, n);
            out[n] = 0;
        }
        tclient_pkt_free(&r);
        if (hit)
            return 0;
    }
    fprintf(stderr, "sys: no %s within %d ms\n", topic, SYS_WAIT_MS);
    return -1;
}

/* Subscribing to `$SYS/broker/#` with sys_interval 1 delivers every topic of the list, with the
 * expected payload shapes: "tern version X", "N seconds", decimal numbers, "N.NN" loads. */
static void test_sys_topics(void)
{
    struct spawner *b = spawner_start("sys_interval 1");
    REQUIRE(b);
    struct tclient c;
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "sys", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "$SYS/broker/#", 0, 0x00) == 0);
    int seen[N_SYS_TOPICS] = {0};
    size_t nseen = 0;
    long long deadline = integ_now_ms() + SYS_WAIT_MS;
    while (nseen < N_SYS_TOPICS && integ_now_ms() < deadline) {
        struct tclient_pkt r;
        if (tclient_expect(&c, &r, CT_PUBLISH, (int)(deadline - integ_now_ms())) != 0)
            break;
        for (size_t i = 0; i < N_SYS_TOPICS; i++) {
            if (!topic_is(&r, sys_topics[i]))
                continue;
            if (!seen[i]++)
                nseen++;
            if (i == 0) {
                CHECK(r.payload_len > 13 && memcmp(r.payload, "tern version ", 13) == 0);
            } else if (i == 1) {
                CHECK(payload_number(&r, " seconds"));
            } else if (strncmp(sys_topics[i], "$SYS/broker/load/", 17) == 0) {
                /* Loads are "%.2f": digits, '.', two digits. */
                CHECK(r.payload_len >= 4 && r.payload[r.payload_len - 3] == '.');
            } else {
                CHECK(payload_number(&r, ""));
            }
        }
        tclient_pkt_free(&r);
    }
    for (size_t i = 0; i < N_SYS_TOPICS; i++) {
        if (!seen[i])
            fprintf(stderr, "sys: %s never received\n", sys_topics[i]);
        CHECK(seen[i] > 0);
    }
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* clients/connected follows the connections: "1" with the watcher alone, then "2" on a later
 * update once a second client is connected, and never anything else in between. */
static void test_sys_clients_connected(void)
{
    struct spawner *b = spawner_start("sys_interval 1");
    REQUIRE(b);
    struct tclient c, other;
    char val[32] = "";
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "sys", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "$SYS/broker/clients/connected", 0, 0x00) == 0);
    /* The retained value may predate this client: wait for an update that counts it. */
    long long deadline = integ_now_ms() + SYS_WAIT_MS;
    while (strcmp(val, "1") != 0 && integ_now_ms() < deadline)
        REQUIRE(wait_topic(&c, "$SYS/broker/clients/connected", val, sizeof val) == 0);
    CHECK(strcmp(val, "1") == 0);
    REQUIRE(tclient_start(&other, spawner_port(b), 5, "other", 60, 1, NULL) == 0);
    deadline = integ_now_ms() + SYS_WAIT_MS;
    while (strcmp(val, "2") != 0 && integ_now_ms() < deadline) {
        REQUIRE(wait_topic(&c, "$SYS/broker/clients/connected", val, sizeof val) == 0);
        if (strcmp(val, "1") != 0 && strcmp(val, "2") != 0)
            fprintf(stderr, "sys: clients/connected %s with 2 clients\n", val);
        CHECK(strcmp(val, "1") == 0 || strcmp(val, "2") == 0);
    }
    CHECK(strcmp(val, "2") == 0);
    tclient_close(&other);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* A `#` subscription does not match `$SYS/...` [MQTT-4.7.2-1]. The client also subscribes to
 * `$SYS/broker/uptime` explicitly: an update's uptime comes first and the next update's uptime
 * proves the rest of the update was routed before it; only uptime may arrive (plus the ordinary
 * topic published to show that `#` itself works). */
static void test_hash_does_not_match_sys(void)
{
    struct spawner *b = spawner_start("sys_interval 1");
    REQUIRE(b);
    struct tclient c, pub;
    REQUIRE(tclient_start(&c, spawner_port(b), 5, "hash", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "#", 0, 0x00) == 0);
    REQUIRE(tclient_sub(&c, 2, "$SYS/broker/uptime", 0, 0x00) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "plain/x", "p", 1, 0, 1) == 0);
    int uptimes = 0, plain = 0;
    long long deadline = integ_now_ms() + SYS_WAIT_MS;
    /* Retained uptime (or the first update), then two more updates. */
    while (uptimes < 3 && integ_now_ms() < deadline) {
        struct tclient_pkt r;
        if (tclient_expect(&c, &r, CT_PUBLISH, (int)(deadline - integ_now_ms())) != 0)
            break;
        if (topic_is(&r, "$SYS/broker/uptime")) {
            uptimes++;
        } else if (integ_is_msg(&r, "plain/x", "p")) {
            plain++;
        } else {
            tclient_pkt_dump("sys: '#' matched", &r);
            CHECK(0);
        }
        tclient_pkt_free(&r);
    }
    CHECK_EQ_INT(uptimes, 3);
    CHECK_EQ_INT(plain, 1);
    tclient_close(&c);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* A client's PUBLISH to `$SYS/x` is acknowledged (PUBACK success) and dropped, as Mosquitto does:
 * a `$SYS/#` subscriber gets the marker the same publisher sent after it, and not `$SYS/x`. */
static void test_client_publish_to_sys_dropped(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient sub, pub;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "syssub", 60, 1, NULL) == 0);
    /* "marker" first: retained $SYS/broker/... messages follow the second SUBACK. */
    REQUIRE(tclient_sub(&sub, 1, "marker", 0, 0x00) == 0);
    REQUIRE(tclient_sub(&sub, 2, "$SYS/#", 0, 0x00) == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "syspub", 60, 1, NULL) == 0);
    struct pkt p;
    pkt_init(&p);
    pkt_publish(&p, 5, "$SYS/x", "fake", 1, 0, 7);
    REQUIRE(tclient_send(&pub, &p) == 0);
    pkt_free(&p);
    REQUIRE(tclient_expect(&pub, &r, CT_PUBACK, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.packet_id, 7);
    /* Success: 0x00, or 0x10 No matching subscribers (the server MAY use it, 5.0 section
     * 3.4.2.1; nobody will get the message). */
    CHECK(r.reason == 0x00 || r.reason == 0x10);
    tclient_pkt_free(&r);
    REQUIRE(tclient_pub(&pub, "marker", "m", 1, 0, 8) == 0);
    for (;;) {
        REQUIRE(tclient_expect(&sub, &r, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
        int done = integ_is_msg(&r, "marker", "m");
        if (topic_is(&r, "$SYS/x")) {
            tclient_pkt_dump("sys: client's $SYS message delivered", &r);
            CHECK(0);
        } else if (!done && (r.topic_len < 12 || memcmp(r.topic, "$SYS/broker/", 12) != 0)) {
            tclient_pkt_dump("sys: unexpected", &r);
            CHECK(0);
        }
        tclient_pkt_free(&r);
        if (done)
            break;
    }
    tclient_close(&sub);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* publish/messages/dropped moves: a client's PUBLISH under $SYS is dropped (and counted), so a
 * later update says 1; load/publish/dropped/1min then becomes non-zero. */
static void test_sys_dropped_moves(void)
{
    struct spawner *b = spawner_start("sys_interval 1");
    REQUIRE(b);
    struct tclient c, pub;
    char val[32] = "";
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "sysdrop", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "$SYS/broker/publish/messages/dropped", 0, 0x00) == 0);
    REQUIRE(wait_topic(&c, "$SYS/broker/publish/messages/dropped", val, sizeof val) == 0);
    CHECK(strcmp(val, "0") == 0);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "sysdroppub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "$SYS/x", "fake", 1, 0, 1) == 0);
    long long deadline = integ_now_ms() + SYS_WAIT_MS;
    while (strcmp(val, "1") != 0 && integ_now_ms() < deadline)
        REQUIRE(wait_topic(&c, "$SYS/broker/publish/messages/dropped", val, sizeof val) == 0);
    CHECK(strcmp(val, "1") == 0);
    REQUIRE(tclient_sub(&c, 2, "$SYS/broker/load/publish/dropped/1min", 0, 0x00) == 0);
    REQUIRE(wait_topic(&c, "$SYS/broker/load/publish/dropped/1min", val, sizeof val) == 0);
    CHECK(strcmp(val, "0.00") != 0);
    tclient_close(&pub);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* The latest value of each watched topic, as numbers (-1 until seen). */
enum { V_TOTAL, V_PUB_RECV, V_PUB_SENT, V_BYTES_RECV, V_SUBS, V_RETAINED, V_HEAP, N_V };
static const char *const watched[N_V] = {
    "$SYS/broker/clients/total",         "$SYS/broker/publish/messages/received",
    "$SYS/broker/publish/messages/sent", "$SYS/broker/bytes/received",
    "$SYS/broker/subscriptions/count",   "$SYS/broker/retained messages/count",
    "$SYS/broker/heap/current",
};

/* Read updates into v until every `want[i]` (>= 0) is reached by v[i] (v[i] >= want[i]), bounded
 * by SYS_WAIT_MS. */
static int sys_until(struct tclient *c, long long *v, const long long *want)
{
    long long deadline = integ_now_ms() + SYS_WAIT_MS;
    for (;;) {
        int done = 1;
        for (int i = 0; i < N_V; i++)
            done &= want[i] < 0 || v[i] >= want[i];
        if (done)
            return 0;
        struct tclient_pkt r;
        long long left = deadline - integ_now_ms();
        if (left <= 0 || tclient_expect(c, &r, CT_PUBLISH, (int)left) != 0)
            break;
        for (int i = 0; i < N_V; i++) {
            if (topic_is(&r, watched[i]) && payload_number(&r, "")) {
                char num[32] = {0};
                memcpy(num, r.payload, r.payload_len < 31 ? r.payload_len : 31);
                v[i] = atoll(num);
            }
        }
        tclient_pkt_free(&r);
    }
    for (int i = 0; i < N_V; i++)
        if (want[i] >= 0 && v[i] < want[i])
            fprintf(stderr, "sys: %s is %lld, waited for %lld\n", watched[i], v[i], want[i]);
    return -1;
}

/* The values follow known traffic, not just their shapes: a second client (clients/total), three
 * subscriptions (subscriptions/count exactly +3), five PUBLISHes of known size (publish/messages/
 * received exactly +5, bytes/received by at least their bytes), one of them retained on a new topic
 * (retained messages/count +1) and each delivered to one subscriber (publish/messages/sent +5).
 * $SYS messages are retained (a late subscriber's first one has RETAIN set, as with Mosquitto);
 * heap/current is non-zero. (Mosquitto publishes a value only when it changed, so this test waits
 * in vain for its settled retained count.) */
static void test_sys_values_follow_traffic(void)
{
    struct spawner *b = spawner_start("sys_interval 1");
    REQUIRE(b);
    struct tclient c, pub;
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "sysval", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "$SYS/broker/#", 0, 0x00) == 0);
    long long v[N_V], want[N_V];
    for (int i = 0; i < N_V; i++) {
        v[i] = -1;
        want[i] = 0;
    }
    REQUIRE(sys_until(&c, v, want) == 0);
    /* The base: a tick that counts this client and its subscription, once the retained count has
     * settled (the $SYS topics are themselves retained messages, created over the first ticks). */
    want[V_TOTAL] = 1;
    want[V_SUBS] = 1;
    REQUIRE(sys_until(&c, v, want) == 0);
    long long prev = -1;
    for (int tick = 0; tick < 5 && v[V_RETAINED] != prev; tick++) {
        prev = v[V_RETAINED];
        v[V_RETAINED] = -1;
        REQUIRE(sys_until(&c, v, want) == 0);
    }
    CHECK_EQ_INT(v[V_RETAINED], prev);
    long long base_pub = v[V_PUB_RECV], base_sent = v[V_PUB_SENT], base_bytes = v[V_BYTES_RECV],
              base_ret = v[V_RETAINED], base_subs = v[V_SUBS];
    CHECK_EQ_INT(base_subs, 1);
    CHECK(v[V_HEAP] > 0);
    /* A later subscriber gets the retained copy first: RETAIN set. */
    struct tclient late;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&late, spawner_port(b), 5, "syslate", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&late, 1, "$SYS/broker/uptime", 0, 0x00) == 0);
    REQUIRE(tclient_expect(&late, &r, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
    CHECK(topic_is(&r, "$SYS/broker/uptime") && r.retain);
    tclient_pkt_free(&r);
    tclient_close(&late);

    REQUIRE(tclient_start(&pub, spawner_port(b), 5, "sysvalpub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&pub, 1, "val/a", 1, 0x01) == 0);
    REQUIRE(tclient_sub(&pub, 2, "val/b", 1, 0x01) == 0);
    REQUIRE(tclient_sub(&pub, 3, "other/#", 1, 0x01) == 0);
    static const char payload[] = "0123456789abcdef0123456789abcdef"; /* 32 bytes */
    for (int i = 0; i < 5; i++) {
        REQUIRE(tclient_pub(&pub, "val/a", payload, 0, i == 4, 0) == 0);
        REQUIRE(tclient_expect_publish(&pub, &r, "val/a", payload, 0) == 0);
        tclient_pkt_free(&r);
    }
    for (int i = 0; i < N_V; i++)
        want[i] = -1;
    want[V_TOTAL] = 2; /* syslate had a clean session: gone */
    want[V_PUB_RECV] = base_pub + 5;
    want[V_PUB_SENT] = base_sent + 5;
    want[V_BYTES_RECV] = base_bytes + 5 * (2 + 2 + 5 + 1 + 32); /* fixed header, topic, props */
    want[V_SUBS] = base_subs + 3;
    want[V_RETAINED] = base_ret + 1;
    CHECK(sys_until(&c, v, want) == 0);
    CHECK_EQ_INT(v[V_PUB_RECV], base_pub + 5); /* nobody else publishes */
    CHECK_EQ_INT(v[V_SUBS], base_subs + 3);
    CHECK_EQ_INT(v[V_RETAINED], base_ret + 1);
    tclient_close(&pub);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* sys_interval sets the period: with 2, consecutive uptime updates come about 2 s apart (not
 * every second, not every 10 s, Mosquitto's default). */
static void test_sys_interval_period(void)
{
    struct spawner *b = spawner_start("sys_interval 2");
    REQUIRE(b);
    struct tclient c;
    char val[32];
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "sysper", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "$SYS/broker/uptime", 0, 0x00) == 0);
    REQUIRE(wait_topic(&c, "$SYS/broker/uptime", val, sizeof val) == 0); /* retained or first */
    REQUIRE(wait_topic(&c, "$SYS/broker/uptime", val, sizeof val) == 0);
    long long t0 = integ_now_ms();
    REQUIRE(wait_topic(&c, "$SYS/broker/uptime", val, sizeof val) == 0);
    long long gap = integ_now_ms() - t0;
    if (gap < 1700 || gap > 2600)
        fprintf(stderr, "sys: updates %lld ms apart with sys_interval 2\n", gap);
    CHECK(gap >= 1700 && gap <= 2600);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_sys_topics), UNIT_TEST(test_sys_dropped_moves),
          UNIT_TEST(test_sys_interval_period), UNIT_TEST(test_sys_values_follow_traffic),
          UNIT_TEST(test_sys_clients_connected), UNIT_TEST(test_hash_does_not_match_sys),
          UNIT_TEST(test_client_publish_to_sys_dropped))
