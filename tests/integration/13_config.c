/* Integration: ternd's configuration file and command line (issue 3 "Configuration and command
 * line"): --test-config on good and bad files (FILE:LINE: and the option's name), unknown flags,
 * -p PORT, persistent_client_expiration for 3.1.1 sessions, and SIGHUP reload keeping clients.
 * The option table itself is unit-tested in tests/unit/config; this runs the real binary. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "integ.h"

/* Let `ms` of wall time pass: session expiry is a timer, so time itself is waited for. */
static void let_time_pass(int ms)
{
    long long end = integ_now_ms() + ms;
    while (integ_now_ms() < end)
        poll(NULL, 0, (int)(end - integ_now_ms()));
}

/* A temporary config file: dir made with mkdtemp, file `t.conf` in it. */
struct tmp_conf {
    char dir[256];
    char path[300];
};

static int tmp_conf_write(struct tmp_conf *t, const char *text)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/tern-cf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t->dir))
        return -1;
    snprintf(t->path, sizeof t->path, "%s/t.conf", t->dir);
    FILE *f = fopen(t->path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

static void tmp_conf_remove(struct tmp_conf *t)
{
    unlink(t->path);
    rmdir(t->dir);
}

/* Run `ternd --test-config -c FILE` on `text`; the output goes to out and the file's path to
 * path (for the FILE:LINE: check). Returns the exit status or -1. */
static int test_config(const char *text, char *out, size_t cap, char *path, size_t path_cap)
{
    struct tmp_conf t;
    if (tmp_conf_write(&t, text) != 0)
        return -1;
    snprintf(path, path_cap, "%s", t.path);
    const char *args[] = {"--test-config", "-c", t.path, NULL};
    int rc = spawner_run(args, out, cap);
    tmp_conf_remove(&t);
    return rc;
}

/* Whether out contains "PATH:LINE:" and the option's name. */
static int has_location(const char *out, const char *path, int line, const char *option)
{
    char loc[400];
    snprintf(loc, sizeof loc, "%s:%d:", path, line);
    int ok = strstr(out, loc) != NULL && strstr(out, option) != NULL;
    if (!ok)
        fprintf(stderr, "config: want '%s' and '%s' in:\n%s\n", loc, option, out);
    return ok;
}

/* A plain Mosquitto-style file passes --test-config: exit 0 and "Configuration file is OK.". */
static void test_test_config_ok(void)
{
    char out[8192], path[300];
    int rc = test_config("# a comment\n"
                         "listener 1883 127.0.0.1\n"
                         "allow_anonymous true\n"
                         "max_inflight_messages 10\n"
                         "persistent_client_expiration 2d\n"
                         "sys_interval 5\n",
                         out, sizeof out, path, sizeof path);
    CHECK_EQ_INT(rc, 0);
    CHECK(strstr(out, "Configuration file is OK.") != NULL);
}

/* An unknown option is an error naming the file, the line and the option: exit 1. */
static void test_test_config_unknown_option(void)
{
    char out[8192], path[300];
    int rc = test_config("listener 1883\n\nno_such_option 1\nallow_anonymous true\n", out,
                         sizeof out, path, sizeof path);
    CHECK_EQ_INT(rc, 1);
    CHECK(has_location(out, path, 3, "no_such_option"));
    CHECK(strstr(out, "Configuration file is OK.") == NULL);
}

/* Bad values (out of range, bad boolean, bad number) are errors with FILE:LINE: too; every bad
 * line is reported, not only the first. */
static void test_test_config_bad_values(void)
{
    char out[8192], path[300];
    int rc = test_config("max_qos 3\n"
                         "retain_available yes\n"
                         "max_inflight_messages many\n",
                         out, sizeof out, path, sizeof path);
    CHECK_EQ_INT(rc, 1);
    CHECK(has_location(out, path, 1, "max_qos"));
    CHECK(has_location(out, path, 2, "retain_available"));
    CHECK(has_location(out, path, 3, "max_inflight_messages"));
    CHECK(strstr(out, "Configuration file is OK.") == NULL);
}

/* An unknown command-line flag: exit 1 with the flag named. */
static void test_unknown_flag(void)
{
    char out[8192];
    const char *args[] = {"--no-such-flag", NULL};
    int rc = spawner_run(args, out, sizeof out);
    CHECK_EQ_INT(rc, 1);
    CHECK(strstr(out, "--no-such-flag") != NULL);
    const char *args2[] = {"-p", "0x10", "--test-config", NULL};
    rc = spawner_run(args2, out, sizeof out);
    CHECK_EQ_INT(rc, 1);
}

/* `-h` prints the usage with every flag on stdout and exits 0, as mosquitto -h does. */
static void test_help_flag(void)
{
    char out[8192];
    const char *args[] = {"-h", NULL};
    CHECK_EQ_INT(spawner_run(args, out, sizeof out), 0);
    CHECK(strstr(out, "Usage: ternd") != NULL);
    static const char *const flags[] = {"-c", "-d", "-p", "-v", "--test-config", "-h"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        CHECK(strstr(out, flags[i]) != NULL);
}

/* Logging levels. By default (error, warning, notice, information) a SUBSCRIBE is not logged:
 * the notice of a later connection shows the log has moved past it. `-v` logs everything, the
 * subscription included; `log_type subscribe` logs subscriptions and not the connection notices
 * (the subscription line comes after its client's connection). */
static void test_verbose_and_log_type(void)
{
    struct tclient c, other;
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "quiet-sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "log/t", 0, 0x00) == 0);
    REQUIRE(tclient_start(&other, spawner_port(b), 4, "later", 60, 1, NULL) == 0);
    CHECK(spawner_wait_output(b, "as later", SPAWNER_WAIT_MS) == 0);
    CHECK(!spawner_output_has(b, "quiet-sub 0 log/t"));
    tclient_close(&other);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);

    const char *verbose[] = {"-v", NULL};
    b = spawner_start_args(TERND_PATH, NULL, verbose);
    REQUIRE(b);
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "loud-sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "log/t", 0, 0x00) == 0);
    CHECK(spawner_wait_output(b, "loud-sub 0 log/t", SPAWNER_WAIT_MS) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);

    b = spawner_start("log_type subscribe");
    REQUIRE(b);
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "only-sub", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&c, 1, "log/t", 0, 0x00) == 0);
    CHECK(spawner_wait_output(b, "only-sub 0 log/t", SPAWNER_WAIT_MS) == 0);
    CHECK(!spawner_output_has(b, "New client connected"));
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* SIGINT shuts down as SIGTERM does: a v5 client gets DISCONNECT 0x8B (Server shutting down),
 * the broker exits 0. */
static void test_sigint_shutdown(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient c;
    REQUIRE(tclient_start(&c, spawner_port(b), 5, "int", 60, 1, NULL) == 0);
    CHECK(spawner_signal(b, SIGINT) == 0);
    CHECK(tclient_expect_disconnect(&c, 0x8B, TCLIENT_TIMEOUT_MS) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0); /* exit status 0 */
}

/* An option that belongs to a later issue is accepted with a warning naming file, line and
 * option, printed by the running broker (not only by the parser). */
static void test_later_option_warned(void)
{
    struct spawner *b = spawner_start("auth_plugin /usr/lib/none.so");
    REQUIRE(b);
    CHECK(spawner_wait_output(b, "Warning:", SPAWNER_WAIT_MS) == 0);
    CHECK(spawner_output_has(b, "option 'auth_plugin' is not supported yet"));
    CHECK(spawner_output_has(b, "broker.conf:4:"));
    CHECK(spawner_stop(b) == 0);
}

/* `-p PORT` with a file that configures listeners adds a listener on PORT (docs/configuration.md
 * "Local-only mode"): the ready file lists it and an MQTT client is served there. */
static void test_cli_port(void)
{
    int port = spawner_free_port();
    REQUIRE(port > 0);
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    const char *args[] = {"-p", port_s, NULL};
#ifdef TERND_PATH
    struct spawner *b = spawner_start_args(TERND_PATH, NULL, args);
#else
    struct spawner *b = spawner_start_args(NULL, NULL, args);
#endif
    REQUIRE(b);
    CHECK_EQ_INT(spawner_listener_port(b, 1), port);
    struct tclient c;
    REQUIRE(tclient_start(&c, port, 4, "cli-port", 60, 1, NULL) == 0);
    CHECK(tclient_sub(&c, 1, "p", 0, 0x00) == 0);
    CHECK(tclient_pub(&c, "p", "x", 0, 0, 0) == 0);
    CHECK(tclient_expect_publish(&c, NULL, "p", "x", 0) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* A second ternd on a port a running one listens on fails at once with Mosquitto's "Address
 * already in use", also with several workers (SO_REUSEPORT): it used to run and take half the
 * connections, and reset those queued to it when it stopped. */
static void test_port_in_use(void)
{
    int port = spawner_free_port();
    REQUIRE(port > 0);
    char conf[160];
    snprintf(conf, sizeof conf, "listener %d 127.0.0.1\nworker_threads 2\n", port);
    struct spawner *b = spawner_start(conf);
    REQUIRE(b);
    struct tmp_conf t;
    snprintf(conf, sizeof conf,
             "listener %d 127.0.0.1\nworker_threads 2\nallow_anonymous true\nuser root\n", port);
    REQUIRE(tmp_conf_write(&t, conf) == 0);
    const char *args[] = {"-c", t.path, NULL};
    char out[4096];
    int rc = spawner_run(args, out, sizeof out);
    tmp_conf_remove(&t);
    CHECK_EQ_INT(rc, 1);
    CHECK(strstr(out, "Address already in use") != NULL);
    /* The first broker still serves the port. */
    struct tclient c;
    CHECK(tclient_start(&c, port, 4, "port-in-use", 60, 1, NULL) == 0);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
}

/* persistent_client_expiration 1s: a 3.1.1 clean_session=0 session survives a quick reconnect
 * (Session Present 1) but is gone once the client has been away longer (Session Present 0,
 * [MQTT-3.2.2-2] vs the expiration); a v5 session with Session Expiry 300 s outlives it. */
static void test_persistent_client_expiration(void)
{
    struct spawner *b = spawner_start("persistent_client_expiration 1s");
    REQUIRE(b);
    struct tclient c;
    int present = -1;
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "pce", 60, 0, &present) == 0);
    CHECK_EQ_INT(present, 0);
    REQUIRE(tclient_sub(&c, 1, "pce/#", 1, 0x01) == 0);
    tclient_close(&c);
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "pce", 60, 0, &present) == 0);
    CHECK_EQ_INT(present, 1);
    tclient_close(&c);
    /* A v5 session has its own Session Expiry Interval, which the option does not shorten. */
    REQUIRE(integ_start(&c, spawner_port(b), 5, "pce5", 1, 300, NULL) == 0);
    tclient_close(&c);
    let_time_pass(2500);
    REQUIRE(tclient_start(&c, spawner_port(b), 4, "pce", 60, 0, &present) == 0);
    CHECK_EQ_INT(present, 0);
    tclient_close(&c);
    REQUIRE(integ_start(&c, spawner_port(b), 5, "pce5", 0, 300, &present) == 0);
    CHECK_EQ_INT(present, 1);
    tclient_close(&c);
    CHECK(spawner_stop(b) == 0);
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

/* SIGHUP reloads the file: an existing client keeps being served (subscribe, publish, ping) and
 * new clients see the new max_inflight_messages as CONNACK Receive Maximum. */
static void test_sighup_reload(void)
{
    struct spawner *b = spawner_start("max_inflight_messages 5");
    REQUIRE(b);
    struct tclient old, young;
    REQUIRE(tclient_start(&old, spawner_port(b), 4, "old", 60, 1, NULL) == 0);
    REQUIRE(tclient_sub(&old, 1, "hup", 1, 0x01) == 0);
    CHECK_EQ_INT(receive_maximum(&young, spawner_port(b), "before"), 5);
    tclient_close(&young);
    REQUIRE(spawner_rewrite_conf(b, "max_inflight_messages 7") == 0);
    REQUIRE(spawner_signal(b, SIGHUP) == 0);
    REQUIRE(spawner_wait_output(b, "Reloading", SPAWNER_WAIT_MS) == 0);
    /* The log line precedes the swap: new connections may briefly still see 5. */
    int rm = -1;
    long long deadline = integ_now_ms() + TCLIENT_TIMEOUT_MS;
    while (rm != 7 && integ_now_ms() < deadline) {
        rm = receive_maximum(&young, spawner_port(b), "after");
        if (rm != 7)
            tclient_close(&young);
    }
    CHECK_EQ_INT(rm, 7);
    CHECK(tclient_ping(&old) == 0);
    CHECK(tclient_pub(&young, "hup", "still", 1, 0, 1) == 0);
    struct tclient_pkt r;
    REQUIRE(tclient_expect_publish(&old, &r, "hup", "still", 1) == 0);
    CHECK(integ_send_ack(&old, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&old) == 0);
    tclient_close(&young);
    tclient_close(&old);
    CHECK(spawner_stop(b) == 0);
}

/* Connect v5 with client id `id` and return the CONNACK's reason code, or -1. */
/* CONNECT (clean, keep alive 60) as `id` with `version` on port: the CONNACK's reason, or -1
 * when none came. c stays open for the caller to use or close. */
static int connack_reason_v(struct tclient *c, int port, int version, const char *id)
{
    struct tclient_pkt r;
    struct pkt p;
    pkt_init(&p);
    pkt_connect(&p, version, id, 60, 1);
    int rc = tclient_open(c, port, version) == 0 ? tclient_send(c, &p) : -1;
    pkt_free(&p);
    if (rc != 0 || tclient_expect(c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    rc = r.reason;
    tclient_pkt_free(&r);
    return rc;
}

static int connack_reason(struct tclient *c, int port, const char *id)
{
    return connack_reason_v(c, port, 5, id);
}

/* The CONNACK reason for an anonymous client of `version` on port (-1 when none came). */
static int anon_reason(int port, int version)
{
    struct tclient c;
    int rc = connack_reason_v(&c, port, version, "anon");
    tclient_close(&c);
    return rc;
}

/* A configuration of the user's own (no line added by the spawner), started as a service: a
 * network listener without `allow_anonymous` refuses anonymous clients (Mosquitto 2's default:
 * CONNACK 0x87, 3.1.1 0x05), and with per_listener_settings each listener has its own setting:
 * the first allows them, the second, silent about it, does not. */
static void test_listener_security_defaults(void)
{
    char dir[] = "/tmp/tern-conf-XXXXXX", conf[64], text[256];
    REQUIRE(mkdtemp(dir) != NULL);
    REQUIRE(chmod(dir, 0755) == 0); /* readable after the switch to `user` (SIGHUP re-reads) */
    snprintf(conf, sizeof conf, "%s/my.conf", dir);
    int p1 = spawner_free_port(), p2 = spawner_free_port();
    REQUIRE(p1 > 0 && p2 > 0 && p1 != p2);

    snprintf(text, sizeof text, "listener %d 127.0.0.1\n", p1);
    FILE *f = fopen(conf, "w");
    REQUIRE(f && fputs(text, f) >= 0 && fclose(f) == 0);
    struct spawner *b = spawner_start_file(TERND_PATH, conf, p1);
    REQUIRE(b);
    CHECK_EQ_INT(anon_reason(p1, 5), 0x87);
    CHECK_EQ_INT(anon_reason(p1, 4), 0x05);
    CHECK(spawner_stop(b) == 0);

    snprintf(text, sizeof text,
             "per_listener_settings true\nlistener %d 127.0.0.1\nallow_anonymous true\n"
             "listener %d 127.0.0.1\n",
             p1, p2);
    f = fopen(conf, "w");
    REQUIRE(f && fputs(text, f) >= 0 && fclose(f) == 0);
    b = spawner_start_file(TERND_PATH, conf, p1);
    REQUIRE(b);
    CHECK_EQ_INT(anon_reason(p1, 5), 0);
    CHECK_EQ_INT(anon_reason(p2, 5), 0x87);
    CHECK_EQ_INT(anon_reason(p2, 4), 0x05);
    CHECK(spawner_stop(b) == 0);
    unlink(conf);
    rmdir(dir);
}

/* The old listener keywords of a Mosquitto file: `port` with `bind_address` makes the default
 * listener on that address only; `socket_domain ipv4` on a listener for "localhost" binds the
 * IPv4 address and not ::1. Where there is an IPv6 loopback, neither accepts on ::1. */
static void test_port_bind_socket_domain(void)
{
    char dir[] = "/tmp/tern-conf-XXXXXX", conf[64], text[512];
    REQUIRE(mkdtemp(dir) != NULL);
    REQUIRE(chmod(dir, 0755) == 0);
    snprintf(conf, sizeof conf, "%s/old.conf", dir);
    int p1 = spawner_free_port(), p2 = spawner_free_port();
    REQUIRE(p1 > 0 && p2 > 0);
    snprintf(text, sizeof text,
             "port %d\nbind_address 127.0.0.1\nallow_anonymous true\n"
             "listener %d localhost\nsocket_domain ipv4\nallow_anonymous true\n",
             p1, p2);
    FILE *f = fopen(conf, "w");
    REQUIRE(f && fputs(text, f) >= 0 && fclose(f) == 0);
    struct spawner *b = spawner_start_file(TERND_PATH, conf, p1);
    REQUIRE(b);
    struct tclient c;
    CHECK(tclient_start(&c, p1, 4, "old-port", 60, 1, NULL) == 0);
    tclient_close(&c);
    CHECK(tclient_reachable("127.0.0.1", p2));
    if (tclient_have_loopback6()) {
        CHECK(!tclient_reachable("::1", p1));
        CHECK(!tclient_reachable("::1", p2));
    } else {
        printf("note: no IPv6 loopback here; ::1 not checked\n");
    }
    CHECK(spawner_stop(b) == 0);
    unlink(conf);
    rmdir(dir);
}

/* SIGHUP reaches the listeners' settings, as in Mosquitto: allow_anonymous turned off refuses
 * the next anonymous CONNECT with 0x87 while a client connected before keeps being served, and
 * max_qos lowered shows in the next CONNACK's Maximum QoS. */
static void test_sighup_listener_settings(void)
{
    struct spawner *b = spawner_start(NULL);
    REQUIRE(b);
    struct tclient old, young;
    REQUIRE(tclient_start(&old, spawner_port(b), 4, "old", 60, 1, NULL) == 0);
    CHECK_EQ_INT(connack_reason(&young, spawner_port(b), "before"), 0);
    tclient_close(&young);
    REQUIRE(spawner_rewrite_conf(b, "allow_anonymous false\nmax_qos 1") == 0);
    REQUIRE(spawner_signal(b, SIGHUP) == 0);
    REQUIRE(spawner_wait_output(b, "Reloading", SPAWNER_WAIT_MS) == 0);
    /* The log line precedes the swap: new connections may briefly still be accepted. */
    int rc = -1;
    long long deadline = integ_now_ms() + TCLIENT_TIMEOUT_MS;
    while (rc != 0x87 && integ_now_ms() < deadline) {
        rc = connack_reason(&young, spawner_port(b), "after");
        tclient_close(&young);
    }
    CHECK_EQ_INT(rc, 0x87);
    CHECK(tclient_ping(&old) == 0);
    tclient_close(&old);
    REQUIRE(spawner_rewrite_conf(b, "max_qos 1") == 0);
    REQUIRE(spawner_signal(b, SIGHUP) == 0);
    deadline = integ_now_ms() + TCLIENT_TIMEOUT_MS;
    rc = -1;
    while (rc != 0 && integ_now_ms() < deadline) {
        rc = connack_reason(&young, spawner_port(b), "again");
        if (rc != 0)
            tclient_close(&young);
    }
    CHECK_EQ_INT(rc, 0);
    tclient_close(&young);
    struct tclient_pkt r;
    struct pkt p;
    pkt_init(&p);
    pkt_connect(&p, 5, "qos", 60, 1);
    REQUIRE(tclient_open(&young, spawner_port(b), 5) == 0);
    REQUIRE(tclient_send(&young, &p) == 0);
    pkt_free(&p);
    REQUIRE(tclient_expect(&young, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    const struct tclient_prop *mq = tclient_prop_find(&r, 0x24, 0);
    CHECK(mq != NULL);
    CHECK_EQ_INT(mq ? (int)mq->num : -1, 1);
    tclient_pkt_free(&r);
    tclient_close(&young);
    CHECK(spawner_stop(b) == 0);
}

/* Wait (inotify, bounded) until dir/name exists. 0 or -1. */
static int wait_file(const char *dir, const char *name, int timeout_ms)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = inotify_init1(IN_CLOEXEC);
    if (fd < 0 || inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
        return -1;
    long long deadline = integ_now_ms() + timeout_ms;
    int rc = -1;
    while (rc != 0 && integ_now_ms() < deadline) {
        if (access(path, F_OK) == 0) {
            rc = 0;
            break;
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(deadline - integ_now_ms())) > 0) {
            char buf[4096];
            (void)!read(fd, buf, sizeof buf);
        }
    }
    close(fd);
    return rc;
}

/* `ternd -d` keeps the working directory as Mosquitto does: started in a directory with a
 * relative -c, pid_file and ready file, the daemon writes both files there, serves clients and
 * stops on SIGTERM. */
static void test_daemon_relative_paths(void)
{
    char dir[] = "/tmp/tern-daemon-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[600], old_cwd[4096];
    snprintf(path, sizeof path, "%s/d.conf", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    /* user root: started as root, ternd would switch to mosquitto, which cannot write in a
     * mkdtemp directory; ignored when not root. */
    fprintf(f, "listener 0 127.0.0.1\nallow_anonymous true\npid_file d.pid\nuser root\n");
    fclose(f);
    REQUIRE(getcwd(old_cwd, sizeof old_cwd) != NULL);
    REQUIRE(chdir(dir) == 0);
    const char *args[] = {"-d", "-c", "d.conf", "--ready-file", "d.ready", NULL};
    char out[4096];
    int st = spawner_run(args, out, sizeof out);
    CHECK(chdir(old_cwd) == 0);
    CHECK_EQ_INT(st, 0);
    CHECK(wait_file(dir, "d.ready", SPAWNER_WAIT_MS) == 0);
    CHECK(wait_file(dir, "d.pid", SPAWNER_WAIT_MS) == 0);
    snprintf(path, sizeof path, "%s/d.pid", dir);
    long pid = 0;
    f = fopen(path, "r");
    CHECK(f && fscanf(f, "%ld", &pid) == 1 && pid > 1);
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/d.ready", dir);
    int port = -1;
    char proto[16], addr[64];
    f = fopen(path, "r");
    CHECK(f && fscanf(f, "%15s %63s %d", proto, addr, &port) == 3);
    if (f)
        fclose(f);
    if (port > 0) {
        struct tclient c;
        CHECK(tclient_start(&c, port, 4, "daemon", 60, 1, NULL) == 0);
        CHECK(tclient_ping(&c) == 0);
        tclient_close(&c);
    }
    if (pid > 1) {
        int pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
        CHECK(kill((pid_t)pid, SIGTERM) == 0);
        if (pfd >= 0) { /* the daemon is not our child: wait on its pidfd */
            struct pollfd p = {pfd, POLLIN, 0};
            CHECK(poll(&p, 1, SPAWNER_WAIT_MS) == 1);
            close(pfd);
        }
    }
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK(system(path) == 0);
}

UNIT_MAIN(UNIT_TEST(test_test_config_ok), UNIT_TEST(test_port_in_use),
          UNIT_TEST(test_listener_security_defaults), UNIT_TEST(test_help_flag),
          UNIT_TEST(test_port_bind_socket_domain), UNIT_TEST(test_verbose_and_log_type),
          UNIT_TEST(test_sigint_shutdown), UNIT_TEST(test_later_option_warned),
          UNIT_TEST(test_test_config_unknown_option), UNIT_TEST(test_test_config_bad_values),
          UNIT_TEST(test_unknown_flag), UNIT_TEST(test_cli_port),
          UNIT_TEST(test_persistent_client_expiration), UNIT_TEST(test_sighup_reload),
          UNIT_TEST(test_sighup_listener_settings), UNIT_TEST(test_daemon_relative_paths))
