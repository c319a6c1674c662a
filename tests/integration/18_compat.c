/* Integration: Mosquitto options Tern acts on for users moving from Mosquitto
 * (docs/configuration.md): accept_protocol_versions, clientid_prefixes, use_username_as_clientid,
 * global_max_connections, global_max_clients, log_timestamp_format, bind_interface,
 * retain_expiry_interval and check_retain_source. Each test fails when its option is only
 * recognised. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "integ.h"

/* A temporary directory holding one file (an ACL or a config). */
struct tmp_file {
    char dir[256];
    char path[300];
};

static int tmp_file_write(struct tmp_file *t, const char *name, const char *text)
{
    if (!t->dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(t->dir, sizeof t->dir, "%s/tern-compat-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(t->dir))
            return -1;
    }
    snprintf(t->path, sizeof t->path, "%s/%s", t->dir, name);
    FILE *f = fopen(t->path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

static void tmp_file_remove(struct tmp_file *t)
{
    unlink(t->path);
    rmdir(t->dir);
}

/* Open, send CONNECT (id, optional user name) and return the CONNACK's reason code; -1 when no
 * CONNACK came (closed or timeout). The connection stays open (caller closes). */
static int connack_rc(struct tclient *c, int port, int version, const char *id, const char *user)
{
    if (tclient_open(c, port, version) != 0)
        return -1;
    struct pkt_connect_opts o = {
        .version = version, .client_id = id, .keep_alive = 60, .clean = 1, .username = user};
    if (integ_send_connect(c, &o) != 0)
        return -1;
    struct tclient_pkt r;
    if (tclient_recv(c, &r, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    int rc = r.type == CT_CONNACK ? r.reason : -1;
    tclient_pkt_free(&r);
    return rc;
}

/* The CONNACK refuses with `want` and the broker then closes the connection. */
static int refused_with(int port, int version, const char *id, const char *user, int want)
{
    struct tclient c;
    int rc = connack_rc(&c, port, version, id, user);
    int closed = rc == want && tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) == 0;
    if (!closed)
        fprintf(stderr, "compat: v%d '%s' got CONNACK %d, want %d then close\n", version, id, rc,
                want);
    tclient_close(&c);
    return closed ? 0 : -1;
}

/* The connection is closed without any CONNACK. */
static int closed_silently(int port, int version, const char *id)
{
    struct tclient c;
    if (tclient_open(&c, port, version) != 0)
        return 0; /* refused before CONNECT: also no CONNACK */
    struct pkt_connect_opts o = {.version = version, .client_id = id, .keep_alive = 60, .clean = 1};
    int rc = integ_send_connect(&c, &o) == 0 ? tclient_expect_closed(&c, TCLIENT_TIMEOUT_MS) : 0;
    tclient_close(&c);
    return rc;
}

/* accept_protocol_versions 5: 3.1 and 3.1.1 get return code 1 (unacceptable protocol version)
 * and are closed; with "3, 4" a v5 client gets 0x84. */
static void test_accept_protocol_versions(void)
{
    struct spawner *b = spawner_start("accept_protocol_versions 5");
    REQUIRE(b);
    int port = spawner_port(b);
    CHECK(refused_with(port, 3, "v31", NULL, 0x01) == 0);
    CHECK(refused_with(port, 4, "v311", NULL, 0x01) == 0);
    struct tclient c;
    CHECK_EQ_INT(connack_rc(&c, port, 5, "v5", NULL), 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);

    b = spawner_start("accept_protocol_versions 3, 4");
    REQUIRE(b);
    port = spawner_port(b);
    CHECK(refused_with(port, 5, "v5", NULL, 0x84) == 0);
    CHECK_EQ_INT(connack_rc(&c, port, 4, "v311", NULL), 0);
    tclient_close(&c);
    CHECK_EQ_INT(connack_rc(&c, port, 3, "v31", NULL), 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* clientid_prefixes sec-: other ids are not authorised (0x05 / 0x87); assigned ids do not have
 * the prefix either. */
static void test_clientid_prefixes(void)
{
    struct spawner *b = spawner_start("clientid_prefixes sec-");
    REQUIRE(b);
    int port = spawner_port(b);
    struct tclient c;
    CHECK_EQ_INT(connack_rc(&c, port, 4, "sec-1", NULL), 0);
    tclient_close(&c);
    CHECK_EQ_INT(connack_rc(&c, port, 5, "sec-2", NULL), 0);
    tclient_close(&c);
    CHECK(refused_with(port, 4, "other", NULL, 0x05) == 0);
    CHECK(refused_with(port, 5, "other", NULL, 0x87) == 0);
    CHECK(refused_with(port, 5, "", NULL, 0x87) == 0);
    CHECK(spawner_stop(b) == 0);
}

/* use_username_as_clientid: the user name is the client id (a v5 client without an id is told
 * so), a second connection with the same user name takes the session over whatever id it
 * sends, and a client without a user name is not authorised. */
static void test_use_username_as_clientid(void)
{
    struct spawner *b = spawner_start("use_username_as_clientid true");
    REQUIRE(b);
    int port = spawner_port(b);
    struct tclient first, second, third;
    CHECK_EQ_INT(connack_rc(&first, port, 5, "one", "carol"), 0);
    CHECK_EQ_INT(connack_rc(&second, port, 5, "two", "carol"), 0);
    CHECK(tclient_expect_disconnect(&first, 0x8E, TCLIENT_TIMEOUT_MS) == 0); /* taken over */
    tclient_close(&first);
    CHECK(tclient_ping(&second) == 0);
    /* The assigned identifier is the user name. */
    REQUIRE(tclient_open(&third, port, 5) == 0);
    struct pkt_connect_opts o = {
        .version = 5, .client_id = "", .keep_alive = 60, .clean = 1, .username = "dave"};
    REQUIRE(integ_send_connect(&third, &o) == 0);
    struct tclient_pkt r;
    REQUIRE(tclient_expect(&third, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.reason, 0);
    const struct tclient_prop *id = tclient_prop_find(&r, 0x12, 0);
    CHECK(id && id->len == 4 && memcmp(id->data, "dave", 4) == 0);
    tclient_pkt_free(&r);
    tclient_close(&third);
    CHECK(refused_with(port, 4, "anon", NULL, 0x05) == 0);
    CHECK(refused_with(port, 5, "anon", NULL, 0x87) == 0);
    tclient_close(&second);
    CHECK(spawner_stop(b) == 0);
}

/* global_max_connections 2 (with no per-listener limit): a third connection is closed without
 * CONNACK; once one leaves, a new one is accepted. */
static void test_global_max_connections(void)
{
    struct spawner *b = spawner_start("global_max_connections 2");
    REQUIRE(b);
    int port = spawner_port(b);
    struct tclient c1, c2, c3;
    REQUIRE(tclient_start(&c1, port, 5, "c1", 60, 1, NULL) == 0);
    REQUIRE(tclient_start(&c2, port, 4, "c2", 60, 1, NULL) == 0);
    CHECK(closed_silently(port, 5, "c3") == 0);
    CHECK(closed_silently(port, 4, "c3") == 0);
    struct pkt p;
    pkt_init(&p);
    pkt_disconnect(&p, 5, 0);
    REQUIRE(tclient_send(&c1, &p) == 0);
    pkt_free(&p);
    CHECK(tclient_expect_closed(&c1, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c1);
    REQUIRE(tclient_start(&c3, port, 5, "c3", 60, 1, NULL) == 0);
    CHECK(tclient_ping(&c2) == 0);
    tclient_close(&c2);
    tclient_close(&c3);
    CHECK(spawner_stop(b) == 0);
}

/* global_max_clients 2 counts sessions, kept ones too: with a disconnected persistent session
 * and one connected client, a new client gets 0x89 Server busy (v5) or a close (3.1.1), while
 * the owner of the kept session may come back. */
static void test_global_max_clients(void)
{
    struct spawner *b = spawner_start("global_max_clients 2");
    REQUIRE(b);
    int port = spawner_port(b);
    struct tclient kept, live, again;
    REQUIRE(integ_start(&kept, port, 5, "kept", 0, 3600, NULL) == 0);
    struct pkt p;
    pkt_init(&p);
    pkt_disconnect(&p, 5, 0);
    REQUIRE(tclient_send(&kept, &p) == 0);
    pkt_free(&p);
    CHECK(tclient_expect_closed(&kept, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&kept);
    REQUIRE(tclient_start(&live, port, 4, "live", 60, 1, NULL) == 0);
    CHECK(refused_with(port, 5, "new", NULL, 0x89) == 0);
    CHECK(closed_silently(port, 4, "new") == 0);
    int present = 0;
    REQUIRE(integ_start(&again, port, 5, "kept", 0, 3600, &present) == 0);
    CHECK_EQ_INT(present, 1);
    tclient_close(&again);
    tclient_close(&live);
    CHECK(spawner_stop(b) == 0);
}

/* log_timestamp_format: log lines start with strftime's rendering ("%%" renders as "%"). */
static void test_log_timestamp_format(void)
{
    struct spawner *b = spawner_start("log_timestamp_format [tern-%%]");
    REQUIRE(b);
    struct tclient c;
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "stamped", 60, 1, NULL) == 0);
    CHECK(spawner_wait_output(b, "[tern-%]: New client connected", SPAWNER_WAIT_MS) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* bind_interface lo: connections through the loopback device work; an unknown device stops the
 * start with an error naming the device and the listener's port. */
static void test_bind_interface(void)
{
    struct spawner *b = spawner_start("bind_interface lo");
    REQUIRE(b);
    struct tclient c;
    REQUIRE(tclient_start(&c, spawner_port(b), 5, "on-lo", 60, 1, NULL) == 0);
    CHECK(tclient_ping(&c) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);

    struct tmp_file t = {0};
    REQUIRE(tmp_file_write(&t, "t.conf",
                           "user root\nlistener 0 127.0.0.1\nbind_interface nosuch-dev0\n"
                           "allow_anonymous true\n") == 0);
    const char *args[] = {"-c", t.path, NULL};
    char out[4096];
    int rc = spawner_run(args, out, sizeof out);
    tmp_file_remove(&t);
    CHECK(rc > 0);
    CHECK(strstr(out, "bind_interface nosuch-dev0 (port") != NULL);
    CHECK(strstr(out, "No such device") != NULL);
    if (rc <= 0 || !strstr(out, "nosuch-dev0"))
        fprintf(stderr, "compat: ternd said (status %d):\n%s\n", rc, out);
}

/* The value of the next "$SYS/broker/retained messages/count" PUBLISH, or -1. */
static long next_retained_count(struct tclient *c, int timeout_ms)
{
    const char *topic = "$SYS/broker/retained messages/count";
    long long deadline = integ_now_ms() + timeout_ms;
    while (integ_now_ms() < deadline) {
        struct tclient_pkt r;
        if (tclient_recv(c, &r, (int)(deadline - integ_now_ms())) != 0)
            return -1;
        long v = -1;
        if (r.type == CT_PUBLISH && r.topic_len == strlen(topic) &&
            memcmp(r.topic, topic, r.topic_len) == 0 && r.payload_len < 20) {
            char num[24];
            memcpy(num, r.payload, r.payload_len);
            num[r.payload_len] = '\0';
            v = strtol(num, NULL, 10);
        }
        tclient_pkt_free(&r);
        if (v >= 0)
            return v;
    }
    return -1;
}

/* retain_expiry_interval: the sweep frees retained messages whose Message Expiry Interval passed
 * (Mosquitto 2.1); messages without expiry stay. TERN_TEST_RETAIN_SWEEP_MS shortens the minutes
 * of the period to milliseconds; the broker checks every few seconds, so the count of retained
 * messages in $SYS drops within about two of its poll periods. Without the sweep it never drops:
 * nothing else removes an expired retained message whose topic is not published again. */
static void test_retain_expiry_interval(void)
{
    setenv("TERN_TEST_RETAIN_SWEEP_MS", "1", 1);
    struct spawner *b = spawner_start("retain_expiry_interval 1\nsys_interval 1");
    unsetenv("TERN_TEST_RETAIN_SWEEP_MS");
    REQUIRE(b);
    int port = spawner_port(b);
    struct tclient pub, sys;
    REQUIRE(tclient_start(&pub, port, 5, "pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "keep/1", "stays", 1, 1, 1) == 0);
    struct pkt props;
    pkt_init(&props);
    pkt_prop_u32(&props, 0x02, 1); /* Message Expiry Interval 1 s */
    struct pkt_publish_opts o = {.version = 5,
                                 .topic = "gone/1",
                                 .payload = "short",
                                 .payload_len = 5,
                                 .qos = 1,
                                 .retain = 1,
                                 .packet_id = 2,
                                 .props = &props};
    REQUIRE(integ_send_publish(&pub, &o) == 0);
    pkt_free(&props);
    struct tclient_pkt r;
    REQUIRE(tclient_expect(&pub, &r, CT_PUBACK, TCLIENT_TIMEOUT_MS) == 0);
    tclient_pkt_free(&r);
    REQUIRE(tclient_start(&sys, port, 5, "sys", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&sys, 1, "$SYS/broker/retained messages/count", 0, 0) == 0);
    /* The highest count seen includes both messages; it must fall by one, to the $SYS topics
     * plus keep/1, once gone/1 expired and the sweep ran. */
    long high = -1, low = -1;
    long long deadline = integ_now_ms() + 30000;
    while (integ_now_ms() < deadline && (high < 0 || low >= high)) {
        long v = next_retained_count(&sys, 3000);
        if (v > high)
            high = v;
        low = v;
    }
    CHECK(high > 1);
    CHECK_EQ_INT(low, high - 1);
    /* The message without expiry is still retained. */
    struct tclient late;
    REQUIRE(tclient_start(&late, port, 5, "late", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&late, 1, "keep/#", 0, 0) == 0);
    CHECK(tclient_expect_publish(&late, NULL, "keep/1", "stays", 0) == 0);
    CHECK(tclient_ping(&late) == 0);
    tclient_close(&late);
    tclient_close(&sys);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
}

/* alice publishes a retained message while the ACL lets her write; then the ACL is reloaded
 * without her write right. A new subscriber (allowed to read) gets the message with
 * check_retain_source false, and not with true; before the reload it gets it in both cases. */
static int retained_after_revoke(int check)
{
    struct tmp_file acl = {0};
    if (tmp_file_write(&acl, "acl", "topic read r/#\nuser alice\ntopic readwrite r/#\n") != 0)
        return -1;
    char conf[512];
    snprintf(conf, sizeof conf, "acl_file %s\ncheck_retain_source %s", acl.path,
             check ? "true" : "false");
    struct spawner *b = spawner_start(conf);
    int got = -1;
    if (!b)
        goto out;
    int port = spawner_port(b);
    struct tclient alice, before, after;
    if (connack_rc(&alice, port, 5, "alice-1", "alice") != 0 ||
        tclient_pub(&alice, "r/1", "hello", 1, 1, 1) != 0)
        goto stop;
    tclient_close(&alice);
    if (tclient_start(&before, port, 5, "before", 60, 1, NULL) != 0 ||
        tclient_sub(&before, 1, "r/#", 1, 1) != 0 ||
        tclient_expect_publish(&before, NULL, "r/1", "hello", 1) != 0)
        goto stop;
    tclient_close(&before);
    if (tmp_file_write(&acl, "acl", "topic read r/#\nuser alice\ntopic read r/#\n") != 0 ||
        spawner_signal(b, SIGHUP) != 0 ||
        spawner_wait_output(b, "Password and ACL files reloaded.", SPAWNER_WAIT_MS) != 0)
        goto stop;
    if (tclient_start(&after, port, 5, "after", 60, 1, NULL) != 0 ||
        tclient_sub(&after, 1, "r/#", 1, 1) != 0)
        goto stop;
    /* Retained messages follow the SUBACK before anything else: PINGRESP first means none. */
    struct pkt p;
    pkt_init(&p);
    pkt_pingreq(&p);
    int sent = tclient_send(&after, &p);
    pkt_free(&p);
    struct tclient_pkt r;
    if (sent == 0 && tclient_recv(&after, &r, TCLIENT_TIMEOUT_MS) == 0) {
        got = r.type == CT_PUBLISH ? 1 : r.type == CT_PINGRESP ? 0 : -1;
        tclient_pkt_free(&r);
    }
    tclient_close(&after);
stop:
    if (spawner_stop(b) != 0)
        got = -1;
out:
    tmp_file_remove(&acl);
    return got;
}

static void test_check_retain_source(void)
{
    CHECK_EQ_INT(retained_after_revoke(0), 1);
    CHECK_EQ_INT(retained_after_revoke(1), 0);
}

UNIT_MAIN(UNIT_TEST(test_accept_protocol_versions), UNIT_TEST(test_clientid_prefixes),
          UNIT_TEST(test_use_username_as_clientid), UNIT_TEST(test_global_max_connections),
          UNIT_TEST(test_global_max_clients), UNIT_TEST(test_log_timestamp_format),
          UNIT_TEST(test_bind_interface), UNIT_TEST(test_retain_expiry_interval),
          UNIT_TEST(test_check_retain_source))
