/* Integration: the `user` option (privilege drop, as Mosquitto 2). Run as root, ternd switches
 * to the configured user once its listeners are bound: every uid and gid in /proc/PID/status is
 * that user's, clients are served, and a SIGHUP reload (read as that user) still applies; an
 * unknown user is refused at start with its name in the message; `user root` keeps root. Run as
 * anyone else, the option changes nothing and the broker works as the current user. */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "integ.h"

#define NO_SUCH_USER "tern-no-such-user-17"

/* The four ids (real, effective, saved, filesystem) of the `key` line ("Uid:" or "Gid:") of
 * /proc/PID/status; 0 or -1. */
static int proc_ids(int pid, const char *key, long ids[4])
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int rc = -1;
    size_t klen = strlen(key);
    while (rc != 0 && fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 &&
            sscanf(line + klen, "%ld %ld %ld %ld", &ids[0], &ids[1], &ids[2], &ids[3]) == 4)
            rc = 0;
    fclose(f);
    return rc;
}

/* Whether all four ids of `key` equal want. */
static int ids_are(int pid, const char *key, long want)
{
    long ids[4];
    if (proc_ids(pid, key, ids) != 0)
        return 0;
    for (int i = 0; i < 4; i++)
        if (ids[i] != want) {
            fprintf(stderr, "  %s %ld %ld %ld %ld, expected %ld\n", key, ids[0], ids[1], ids[2],
                    ids[3], want);
            return 0;
        }
    return 1;
}

/* Connect v5 and return the CONNACK's Receive Maximum (absent = 65535), or -1. */
static int receive_maximum(struct tclient *c, int port, const char *id)
{
    struct tclient_pkt r;
    struct pkt p;
    pkt_init(&p);
    pkt_connect(&p, 5, id, 60, 1);
    int rc = tclient_open(c, port, 5) == 0 ? tclient_send(c, &p) : -1;
    pkt_free(&p);
    if (rc != 0 || tclient_expect(c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    const struct tclient_prop *rm = tclient_prop_find(&r, 0x21, 0);
    rc = r.reason != 0 ? -1 : rm ? (int)rm->num : 65535;
    tclient_pkt_free(&r);
    return rc;
}

/* A subscriber and a publisher exchange one QoS 1 message; 0 or -1. */
static int serves_clients(int port)
{
    struct tclient sub, pub;
    if (tclient_start(&sub, port, 4, "priv-sub", 60, 1, NULL) != 0)
        return -1;
    int rc = tclient_sub(&sub, 1, "priv/t", 1, 0x01);
    if (rc == 0 && tclient_start(&pub, port, 4, "priv-pub", 60, 1, NULL) == 0) {
        rc = tclient_pub(&pub, "priv/t", "hello", 1, 0, 1);
        struct tclient_pkt r;
        if (rc == 0 && (rc = tclient_expect_publish(&sub, &r, "priv/t", "hello", 1)) == 0) {
            rc = integ_send_ack(&sub, CT_PUBACK, r.packet_id);
            tclient_pkt_free(&r);
        }
        tclient_close(&pub);
    } else {
        rc = -1;
    }
    tclient_close(&sub);
    return rc;
}

/* As root: every id becomes nobody's, and a reload as nobody still applies. Not root: the ids
 * stay the current user's. Either way clients are served. */
static void test_user_nobody(void)
{
    const struct passwd *pw = getpwnam("nobody");
    REQUIRE(pw);
    long uid = geteuid() == 0 ? (long)pw->pw_uid : (long)getuid();
    long gid = geteuid() == 0 ? (long)pw->pw_gid : (long)getgid();
    struct spawner *b = spawner_start("user nobody\nmax_inflight_messages 5");
    REQUIRE(b);
    CHECK(ids_are(spawner_pid(b), "Uid:", uid));
    CHECK(ids_are(spawner_pid(b), "Gid:", gid));
    if (geteuid() == 0)
        CHECK(spawner_wait_output(b, "Dropped privileges to user 'nobody'", SPAWNER_WAIT_MS) == 0);
    else
        CHECK(spawner_wait_output(b, "Not running as root", SPAWNER_WAIT_MS) == 0);
    CHECK(serves_clients(spawner_port(b)) == 0);
    /* SIGHUP: the file is read again by the unprivileged process. */
    REQUIRE(spawner_rewrite_conf(b, "user nobody\nmax_inflight_messages 7") == 0);
    REQUIRE(spawner_signal(b, SIGHUP) == 0);
    REQUIRE(spawner_wait_output(b, "Reloading", SPAWNER_WAIT_MS) == 0);
    struct tclient c;
    int rm = -1;
    long long deadline = integ_now_ms() + TCLIENT_TIMEOUT_MS;
    while (rm != 7 && integ_now_ms() < deadline) {
        rm = receive_maximum(&c, spawner_port(b), "after-hup");
        tclient_close(&c);
    }
    CHECK_EQ_INT(rm, 7);
    CHECK(ids_are(spawner_pid(b), "Uid:", uid));
    CHECK(serves_clients(spawner_port(b)) == 0);
    CHECK(spawner_stop(b) == 0);
}

/* An explicit user that does not exist: as root, ternd exits non-zero naming it; otherwise the
 * option is not used and the broker runs as the current user. */
static void test_unknown_user(void)
{
    if (geteuid() != 0) {
        struct spawner *b = spawner_start("user " NO_SUCH_USER);
        REQUIRE(b);
        CHECK(ids_are(spawner_pid(b), "Uid:", (long)getuid()));
        CHECK(serves_clients(spawner_port(b)) == 0);
        CHECK(spawner_stop(b) == 0);
        return;
    }
    char dir[] = "/tmp/tern-priv-XXXXXX", path[64], out[8192];
    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.conf", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fprintf(f, "listener 0 127.0.0.1\nallow_anonymous true\nuser %s\n", NO_SUCH_USER);
    fclose(f);
    const char *args[] = {"-c", path, NULL};
    int rc = spawner_run(args, out, sizeof out);
    CHECK(rc > 0);
    CHECK(strstr(out, NO_SUCH_USER) != NULL);
    CHECK(strstr(out, "no such user") != NULL);
    unlink(path);
    rmdir(dir);
}

/* `user root` keeps root (the test suite's own setting); not root: the current user. */
static void test_user_root(void)
{
    struct spawner *b = spawner_start("user root");
    REQUIRE(b);
    CHECK(ids_are(spawner_pid(b), "Uid:", (long)getuid()));
    CHECK(ids_are(spawner_pid(b), "Gid:", (long)getgid()));
    CHECK(serves_clients(spawner_port(b)) == 0);
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_user_nobody), UNIT_TEST(test_unknown_user), UNIT_TEST(test_user_root))
