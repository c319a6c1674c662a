/* Integration: the Done-when, literally. Debian's /etc/mosquitto/mosquitto.conf, unchanged,
 * started the way Debian's mosquitto.service starts Mosquitto: `ternd -c FILE` as root, readiness
 * by the sd_notify protocol (the unit is Type=notify), /run/mosquitto made by the unit's
 * ExecStartPre. No listener in the file means local-only mode: 127.0.0.1 and ::1 port 1883,
 * anonymous allowed; the default user drops root to `mosquitto`; pid file, log file, store and
 * include_dir are the file's own paths.
 *
 * To use port 1883 and those system paths without touching the machine, the scenario runs in a
 * child process with its own network namespace (only `lo`, brought up here) and mount namespace
 * (tmpfs over /run, /var/lib/mosquitto, /var/log/mosquitto and /etc/mosquitto/conf.d, the last
 * with the package's README only, so local additions on a developer's machine are not read).
 * It needs root with CAP_SYS_ADMIN, as the tests have in CI; without it the test fails, saying so.
 * With TERN_TEST_BROKER=mosquitto the same scenario runs against Debian's mosquitto (it passes
 * but for the notifications Mosquitto does not send). */
#define _GNU_SOURCE /* unshare */
#include <errno.h>
#include <net/if.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integ.h"

#define STOCK_CONF "/etc/mosquitto/mosquitto.conf"
#define PID_FILE   "/run/mosquitto/mosquitto.pid"
#define LOG_FILE   "/var/log/mosquitto/mosquitto.log"
#define PORT       1883

static const char *ternd_exe(void)
{
#ifdef TERND_PATH
    return TERND_PATH;
#else
    return NULL;
#endif
}

static long read_long(const char *path)
{
    long v = -1;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* The real uid of process pid, from /proc (or -1). */
static long proc_uid(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long uid = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Uid: %ld", &uid) == 1)
            break;
    if (f)
        fclose(f);
    return uid;
}

static int mount_tmpfs(const char *dir, mode_t mode, uid_t uid)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return -1;
    char opts[32];
    snprintf(opts, sizeof opts, "mode=%o", (unsigned)mode);
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
        return -1;
    return chown(dir, uid, 0);
}

/* The namespaces and the directories the package and the unit make. 0, or -1 (printed). */
static int enter_sandbox(const struct passwd *pw)
{
    if (unshare(CLONE_NEWNS | CLONE_NEWNET) != 0) {
        fprintf(stderr,
                "unshare(CLONE_NEWNS|CLONE_NEWNET): %s: this test needs root with "
                "CAP_SYS_ADMIN\n",
                strerror(errno));
        return -1;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        perror("mount --make-rprivate /");
        return -1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
             (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
    if (fd >= 0)
        close(fd);
    if (!up) {
        perror("bring up lo");
        return -1;
    }
    /* Package: /var/lib/mosquitto and /var/log/mosquitto owned by mosquitto; the unit's
     * ExecStartPre: mkdir -m 740 /run/mosquitto, chown mosquitto. */
    if (mount_tmpfs("/run", 0755, 0) != 0 || mkdir("/run/mosquitto", 0740) != 0 ||
        chown("/run/mosquitto", pw->pw_uid, 0) != 0 ||
        mount_tmpfs("/var/lib/mosquitto", 0755, pw->pw_uid) != 0 ||
        mount_tmpfs("/var/log/mosquitto", 0755, pw->pw_uid) != 0 ||
        mount_tmpfs("/etc/mosquitto/conf.d", 0755, 0) != 0) {
        perror("sandbox directories");
        return -1;
    }
    FILE *f = fopen("/etc/mosquitto/conf.d/README", "w");
    if (!f)
        return -1;
    fputs("Any files placed in this directory that have a .conf ending will be loaded as config\n"
          "files by the broker. Use this to make your local config.\n",
          f);
    return fclose(f);
}

static void scenario(void)
{
    const struct passwd *pw = getpwnam("mosquitto");
    REQUIRE(pw); /* the mosquitto package made it */
    uid_t mosq_uid = pw->pw_uid;
    REQUIRE(enter_sandbox(pw) == 0);
    int mosquitto = spawner_is_mosquitto();

    struct spawner *b = spawner_start_file(ternd_exe(), STOCK_CONF, PORT);
    REQUIRE(b);
    CHECK_EQ_INT(proc_uid(spawner_pid(b)), mosq_uid); /* `user` defaults to mosquitto */
    CHECK_EQ_INT(read_long(PID_FILE), spawner_pid(b));
    CHECK(spawner_file_has(LOG_FILE, "Opening ipv4 listen socket on port 1883") ||
          spawner_file_has(LOG_FILE, "Opening listen socket"));
    /* Where ::1 cannot even be bound (no IPv6 here), the local-only listener cannot exist. */
    if (tclient_have_loopback6())
        CHECK(tclient_reachable("::1", PORT));
    else
        printf("note: no IPv6 loopback in this namespace; ::1 not checked\n");

    /* Local-only mode lets an anonymous client in; its persistent session and a message queued
     * for it go into the store... */
    struct tclient sub, pub;
    REQUIRE(tclient_start(&sub, PORT, 4, "stock-sub", 60, 0, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "stock/t", 1, 0x01) == 0);
    tclient_close(&sub);
    REQUIRE(tclient_start(&pub, PORT, 5, "stock-pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "stock/t", "kept", 1, 0, 1) == 0);

    /* ...SIGHUP reloads the same file, clients kept, and ternd tells the service manager
     * (RELOADING=1, then READY=1 when done; Mosquitto 2.0.11 sends neither)... */
    CHECK(spawner_signal(b, SIGHUP) == 0);
    if (!mosquitto) {
        CHECK(spawner_wait_notify(b, "RELOADING=1", SPAWNER_WAIT_MS) == 0);
        CHECK(spawner_wait_notify(b, "READY=1", SPAWNER_WAIT_MS) == 0);
    }
    CHECK(tclient_ping(&pub) == 0);
    tclient_close(&pub);
    if (!mosquitto)
        CHECK(access("/var/lib/mosquitto/tern.db", F_OK) == 0);

    /* ...SIGTERM: STOPPING=1, exit 0, pid file gone... */
    CHECK(spawner_signal(b, SIGTERM) == 0);
    if (!mosquitto)
        CHECK(spawner_wait_notify(b, "STOPPING=1", SPAWNER_WAIT_MS) == 0);
    CHECK(spawner_stop(b) == 0);
    CHECK(access(PID_FILE, F_OK) != 0);
    CHECK(spawner_file_has(LOG_FILE, "terminating"));

    /* ...and the restart on the same file resumes the session with its message. */
    b = spawner_start_file(ternd_exe(), STOCK_CONF, PORT);
    REQUIRE(b);
    int present = -1;
    REQUIRE(tclient_start(&sub, PORT, 4, "stock-sub", 60, 0, &present) == 0);
    CHECK_EQ_INT(present, 1);
    struct tclient_pkt r;
    CHECK(tclient_expect_publish(&sub, &r, "stock/t", "kept", 1) == 0);
    CHECK(integ_send_ack(&sub, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    CHECK(spawner_stop(b) == 0);
}

static void test_stock_conf_unchanged(void)
{
    REQUIRE(access(STOCK_CONF, R_OK) == 0); /* scripts/deps.sh test installs mosquitto */
    REQUIRE(geteuid() == 0);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        scenario();
        exit(unit_failures ? 1 : 0); /* atexit stops a broker left by a failed REQUIRE */
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

UNIT_MAIN(UNIT_TEST(test_stock_conf_unchanged))
