/* Integration: Debian's stock /etc/mosquitto/mosquitto.conf (pid_file, persistence,
 * persistence_location, log_dest file, include_dir) runs ternd unchanged but for its paths,
 * moved into a temporary directory, as any user (21_stock_conf runs it with nothing changed, as
 * root in namespaces). Fails where the file is missing. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "integ.h"

#define STOCK_CONF "/etc/mosquitto/mosquitto.conf"

/* The file at path, NUL-terminated (caller frees), or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    while (s) {
        n += fread(s + n, 1, cap - 1 - n, f);
        if (n < cap - 1)
            break;
        cap *= 2;
        char *t = realloc(s, cap);
        if (!t)
            free(s);
        s = t;
    }
    fclose(f);
    if (s)
        s[n] = 0;
    if (len)
        *len = n;
    return s;
}

/* text with every `from` replaced by `to` (caller frees). */
static char *replace(const char *text, const char *from, const char *to)
{
    size_t nf = strlen(from), nt = strlen(to), count = 0;
    for (const char *p = text; (p = strstr(p, from)); p += nf)
        count++;
    char *out = malloc(strlen(text) + count * nt + 1), *o = out;
    if (!out)
        abort();
    for (const char *p = text;;) {
        const char *q = strstr(p, from);
        if (!q) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, nt);
        o += nt;
        p = q + nf;
    }
    return out;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* The stock file with /run/mosquitto, /var/lib/mosquitto, /var/log/mosquitto and
 * /etc/mosquitto moved under dir (caller frees), or NULL when it is not installed. */
static char *moved_conf(const char *dir)
{
    char *stock = slurp(STOCK_CONF, NULL);
    if (!stock)
        return NULL;
    static const char *const from[] = {"/run/mosquitto/", "/var/lib/mosquitto/",
                                       "/var/log/mosquitto/", "/etc/mosquitto/"};
    static const char *const sub[] = {"run/", "lib/", "log/", "etc/"};
    char *text = stock;
    for (size_t i = 0; i < 4; i++) {
        char to[512];
        snprintf(to, sizeof to, "%s/%s", dir, sub[i]);
        char *next = replace(text, from[i], to);
        free(text);
        text = next;
    }
    return text;
}

/* The directories the stock file expects (as the Debian package creates them), and one
 * include_dir file: a setting to observe (max_keepalive 30, answered as Server Keep Alive) and a
 * Mosquitto option ternd only warns about. A README without .conf must not be read. */
static int make_tree(const char *dir)
{
    static const char *const subs[] = {"run", "lib", "log", "etc", "etc/conf.d"};
    char path[600];
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
        if (mkdir(path, 0755) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/etc/conf.d/README", dir);
    if (write_file(path, "Any files placed in this directory that have a .conf ending\n") != 0)
        return -1;
    snprintf(path, sizeof path, "%s/etc/conf.d/local.conf", dir);
    return write_file(path, "max_keepalive 30\nwebsockets_log_level 0\n");
}

/* v5 CONNACK of a keep-alive-60 client carries Server Keep Alive 30 (the include_dir file). */
static void check_include_dir(int port)
{
    struct tclient c;
    struct tclient_pkt r;
    REQUIRE(tclient_open(&c, port, 5) == 0);
    struct pkt_connect_opts o = {.version = 5, .client_id = "deb-v5", .keep_alive = 60, .clean = 1};
    REQUIRE(integ_send_connect(&c, &o) == 0);
    REQUIRE(tclient_expect(&c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0);
    CHECK_EQ_INT(r.reason, 0);
    const struct tclient_prop *ka = tclient_prop_find(&r, 0x13, 0);
    CHECK(ka && ka->num == 30);
    tclient_pkt_free(&r);
    tclient_close(&c);
}

static void test_debian_stock_conf(void)
{
    char dir[] = "/tmp/tern-debian-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char *conf = moved_conf(dir);
    if (!conf)
        rmdir(dir);
    REQUIRE(conf); /* scripts/deps.sh test installs mosquitto, and with it the file */
    REQUIRE(make_tree(dir) == 0);
    char pid[600], log[600], db[600];
    snprintf(pid, sizeof pid, "%s/run/mosquitto.pid", dir);
    snprintf(log, sizeof log, "%s/log/mosquitto.log", dir);
    snprintf(db, sizeof db, "%s/lib/tern.db", dir);

    struct spawner *b = spawner_start(conf);
    REQUIRE(b);
    long pid_v = 0;
    FILE *f = fopen(pid, "r");
    CHECK(f && fscanf(f, "%ld", &pid_v) == 1);
    if (f)
        fclose(f);
    CHECK_EQ_INT((int)pid_v, spawner_pid(b));
    CHECK(spawner_file_has(log, "Opening listen socket"));
    CHECK(access(db, F_OK) == 0);
    check_include_dir(spawner_port(b));
    /* A persistent session goes into the store (v3 clients keep alive within max_keepalive)... */
    struct tclient sub, pub;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "deb-sub", 20, 0, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "deb/t", 1, 0x01) == 0);
    tclient_close(&sub);
    REQUIRE(tclient_start(&pub, spawner_port(b), 4, "deb-pub", 20, 1, NULL) == 0);
    REQUIRE(tclient_pub(&pub, "deb/t", "kept", 1, 0, 1) == 0);
    tclient_close(&pub);
    CHECK(spawner_stop(b) == 0);
    CHECK(access(pid, F_OK) != 0); /* removed at exit */

    /* ...and a restart with the same file finds it and its queued message. */
    b = spawner_start(conf);
    REQUIRE(b);
    int present = -1;
    REQUIRE(tclient_start(&sub, spawner_port(b), 4, "deb-sub", 20, 0, &present) == 0);
    CHECK_EQ_INT(present, 1);
    struct tclient_pkt r;
    CHECK(tclient_expect_publish(&sub, &r, "deb/t", "kept", 1) == 0);
    CHECK(integ_send_ack(&sub, CT_PUBACK, r.packet_id) == 0);
    tclient_pkt_free(&r);
    CHECK(tclient_ping(&sub) == 0);
    tclient_close(&sub);
    CHECK(spawner_stop(b) == 0);
    CHECK(spawner_file_has(log, "terminating"));
    free(conf);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

UNIT_MAIN(UNIT_TEST(test_debian_stock_conf))
