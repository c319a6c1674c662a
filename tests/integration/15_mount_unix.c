/* Integration: listener features (issue 3 "Configuration"): `mount_point` prefixes the topics of
 * one listener's clients (publish, subscribe, delivery) and hides the prefix from them; a unix
 * socket listener (`listener 0 /path`) serves MQTT over AF_UNIX alongside TCP. It does not cover
 * mount points with wills or retained messages. */
#include <stdlib.h>
#include <unistd.h>

#include "integ.h"

/* First listener (the spawner's) has mount_point t1/, a second plain listener follows. A client
 * on the mounted listener publishing `x` is seen as `t1/x` by a `#` subscriber on the plain
 * listener, and as `x` by its own `#` subscription; a plain client's `t1/y` reaches the mounted
 * client as `y`, and a topic outside t1/ does not reach it at all. */
static void test_mount_point(void)
{
    struct spawner *b = spawner_start("mount_point t1/\nlistener 0 127.0.0.1");
    REQUIRE(b);
    int mounted_port = spawner_listener_port(b, 0), plain_port = spawner_listener_port(b, 1);
    REQUIRE(mounted_port > 0 && plain_port > 0 && mounted_port != plain_port);
    struct tclient m, o;
    struct tclient_pkt r;
    REQUIRE(tclient_start(&m, mounted_port, 5, "mounted", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&m, 1, "#", 0, 0x00) == 0);
    REQUIRE(tclient_start(&o, plain_port, 4, "plain", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&o, 1, "#", 0, 0x00) == 0);

    /* QoS 0: its own copy is the only packet m gets back. */
    REQUIRE(tclient_pub(&m, "x", "from-m", 0, 0, 0) == 0);
    CHECK(tclient_expect_publish(&o, NULL, "t1/x", "from-m", 0) == 0);
    CHECK(tclient_expect_publish(&m, NULL, "x", "from-m", 0) == 0);

    REQUIRE(tclient_pub(&o, "elsewhere", "hidden", 0, 0, 0) == 0);
    CHECK(tclient_expect_publish(&o, NULL, "elsewhere", "hidden", 0) == 0);
    REQUIRE(tclient_pub(&o, "t1/y", "from-o", 0, 0, 0) == 0);
    CHECK(tclient_expect_publish(&o, NULL, "t1/y", "from-o", 0) == 0);
    /* Same publisher, in order: "y" first means "elsewhere" was not delivered. */
    REQUIRE(tclient_expect(&m, &r, CT_PUBLISH, TCLIENT_TIMEOUT_MS) == 0);
    if (!integ_is_msg(&r, "y", "from-o"))
        tclient_pkt_dump("mount: want y/from-o", &r);
    CHECK(integ_is_msg(&r, "y", "from-o"));
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&m) == 0);
    CHECK(tclient_ping(&o) == 0);
    tclient_close(&m);
    tclient_close(&o);
    CHECK(spawner_stop(b) == 0);
}

/* `listener 0 DIR/sock`: the ready file names the socket; a v5 client over AF_UNIX and a 3.1.1
 * client over TCP exchange messages both ways. */
static void test_unix_listener(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[200], sock[300], conf[400], got[300];
    snprintf(dir, sizeof dir, "%s/tern-ux-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    REQUIRE(mkdtemp(dir));
    snprintf(sock, sizeof sock, "%s/mqtt.sock", dir);
    snprintf(conf, sizeof conf, "listener 0 %s", sock);
    struct spawner *b = spawner_start(conf);
    if (!b)
        rmdir(dir);
    REQUIRE(b);
    CHECK(spawner_unix_path(b, got, sizeof got) == 0 && strcmp(got, sock) == 0);
    struct tclient u, t;
    struct tclient_pkt r;
    REQUIRE(tclient_open_unix(&u, sock, 5) == 0);
    struct pkt_connect_opts o = {.version = 5, .client_id = "ux", .keep_alive = 60, .clean = 1};
    REQUIRE(integ_send_connect(&u, &o) == 0);
    REQUIRE(tclient_expect(&u, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.reason, 0x00);
    tclient_pkt_free(&r);
    REQUIRE(tclient_sub(&u, 1, "ux/in", 1, 0x01) == 0);
    REQUIRE(tclient_start(&t, spawner_port(b), 4, "tcp", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&t, 1, "ux/out", 1, 0x01) == 0);

    REQUIRE(tclient_pub(&t, "ux/in", "to-unix", 1, 0, 1) == 0);
    REQUIRE(tclient_expect_publish(&u, &r, "ux/in", "to-unix", 1) == 0);
    CHECK(integ_send_ack(&u, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    REQUIRE(tclient_pub(&u, "ux/out", "to-tcp", 2, 0, 2) == 0);
    REQUIRE(tclient_expect_publish(&t, &r, "ux/out", "to-tcp", 1) == 0);
    CHECK(integ_send_ack(&t, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&u) == 0);
    CHECK(tclient_ping(&t) == 0);
    tclient_close(&u);
    tclient_close(&t);
    CHECK(spawner_stop(b) == 0);
    unlink(sock);
    CHECK(rmdir(dir) == 0);
}

UNIT_MAIN(UNIT_TEST(test_mount_point), UNIT_TEST(test_unix_listener))
