/* Unit tests for src/config, part 1: defaults, listener sections and scopes, unix listeners,
 * include_dir, per_listener_settings, comments and whitespace, a realistic mosquitto.conf, -p,
 * allocation-failure injection (each run succeeds or fails with TERN_ENOMEM and leaks nothing)
 * and the documentation's coverage. Option values are in test_config_values.c. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "config_table.h"
#include "config_test.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "unit.h"

static void test_defaults(void)
{
    struct config *c = NULL;
    REQUIRE(config_defaults(&c) == 0);
    CHECK(c->local_only);
    CHECK_EQ_INT(c->listener_count, 2);
    struct listener_conf *a = nth(c, 0), *b = nth(c, 1);
    REQUIRE(a && b && !b->next);
    CHECK(strcmp(a->bind_address, "127.0.0.1") == 0);
    CHECK_EQ_INT(a->socket_domain, AF_INET);
    CHECK(strcmp(b->bind_address, "::1") == 0);
    CHECK_EQ_INT(b->socket_domain, AF_INET6);
    for (struct listener_conf *l = a; l; l = l->next) {
        CHECK_EQ_INT(l->port, 1883);
        CHECK_EQ_INT(l->allow_anonymous, 1);
        CHECK_EQ_INT(l->max_connections, -1);
        CHECK_EQ_INT(l->max_qos, 2);
        CHECK_EQ_INT(l->max_topic_alias, 10);
        CHECK_EQ_INT(l->protocol, LISTENER_MQTT);
        CHECK(l->unix_path == NULL && l->mount_point == NULL);
    }
    CHECK_EQ_INT(c->allow_anonymous, 1);
    CHECK(!c->per_listener_settings);
    CHECK_EQ_INT(c->worker_threads, 0);
    CHECK_EQ_INT(c->worker_busy_poll_us, 30);
    CHECK_EQ_INT(c->max_packet_size, 0);
    CHECK_EQ_INT(c->message_size_limit, 0);
    CHECK_EQ_INT(c->max_inflight_messages, 20);
    CHECK_EQ_INT(c->max_queued_messages, 1000);
    CHECK_EQ_INT(c->max_queued_bytes, 0);
    CHECK_EQ_INT(c->max_topic_alias, 10);
    CHECK_EQ_INT(c->max_keepalive, 65535);
    CHECK_EQ_INT(c->max_qos, 2);
    CHECK_EQ_INT(c->sys_interval, 10);
    CHECK_EQ_INT(c->persistent_client_expiration_s, -1);
    CHECK(c->allow_zero_length_clientid);
    CHECK(strcmp(c->auto_id_prefix, "auto-") == 0);
    CHECK(c->retain_available);
    CHECK_EQ_INT(c->max_retained_messages, 0);
    CHECK(!c->persistence);
    CHECK(strcmp(c->persistence_file, "tern.db") == 0);
    CHECK_EQ_INT(c->persistence_fsync, 0);
    CHECK_EQ_INT(c->persistence_fsync_interval_ms, 1000);
    CHECK_EQ_INT(c->autosave_interval, 1800);
    CHECK_EQ_INT(c->log_dest, LOG_DEST_STDERR);
    CHECK_EQ_INT(c->log_type, TLOG_ERR | TLOG_WARN | TLOG_NOTICE | TLOG_INFO);
    CHECK(c->log_timestamp);
    CHECK(c->connection_messages);
    CHECK(strcmp(c->user, "mosquitto") == 0);
    CHECK(c->pid_file == NULL && c->password_file == NULL && c->acl_file == NULL);
    config_free(c);
}

static void test_all_bad_lines_reported(void)
{
    struct config *c = NULL;
    struct config_diag d;
    int rc = config_load_string("port 1883\nfoo\nmax_qos 9\n\nretain_available nope\n", "m.conf",
                                &c, &d);
    CHECK_EQ_INT(rc, TERN_ECONFIG);
    CHECK(c == NULL);
    CHECK_EQ_INT(d.error_count, 3);
    CHECK(has_error(&d, "m.conf:2: unknown option ('foo')"));
    CHECK(has_error(&d, "m.conf:3: value 9 out of range 0..2 ('max_qos')"));
    CHECK(has_error(&d, "m.conf:5: bad boolean 'nope' (expected true or false) "
                        "('retain_available')"));
    config_diag_free(&d);
    CHECK(d.errors == NULL && d.error_count == 0);
}

static void test_listener_sections(void)
{
    struct config_diag d;
    struct config *c = load_ok("max_qos 1\n"
                               "listener 1883\n"
                               "max_connections 10\n"
                               "listener 8883 127.0.0.1\n"
                               "socket_domain ipv4\n"
                               "mount_point site/\n"
                               "protocol mqtt\n"
                               "max_qos 0\n"
                               "retain_available false\n"
                               "listener 9001 ::\n"
                               "protocol websockets\n",
                               &d);
    REQUIRE(c);
    CHECK(!c->local_only);
    CHECK_EQ_INT(c->listener_count, 3);
    struct listener_conf *a = nth(c, 0), *b = nth(c, 1), *w = nth(c, 2);
    REQUIRE(a && b && w);
    CHECK_EQ_INT(a->port, 1883);
    CHECK(a->bind_address == NULL);
    CHECK_EQ_INT(a->max_connections, 10);
    CHECK_EQ_INT(a->max_qos, 1); /* falls back to the global max_qos */
    CHECK_EQ_INT(a->allow_anonymous, 0);
    CHECK_EQ_INT(a->socket_domain, AF_UNSPEC);
    CHECK_EQ_INT(b->port, 8883);
    CHECK(strcmp(b->bind_address, "127.0.0.1") == 0);
    CHECK_EQ_INT(b->socket_domain, AF_INET);
    CHECK(strcmp(b->mount_point, "site/") == 0);
    CHECK_EQ_INT(b->max_connections, -1);
    CHECK_EQ_INT(b->max_qos, 0);
    CHECK_EQ_INT(c->max_qos, 1);
    CHECK(!c->retain_available); /* global options are global even inside a listener */
    CHECK(strcmp(w->bind_address, "::") == 0);
    CHECK_EQ_INT(w->protocol, LISTENER_WEBSOCKETS);
    CHECK_EQ_INT(d.warning_count, 0); /* websockets listeners are served now */
    CHECK(w->http_metrics_auth);      /* defaults of the HTTP options */
    CHECK(!w->http_api && !w->http_metrics && w->http_dir == NULL);
    CHECK_EQ_INT(c->allow_anonymous, 0);
    config_free(c);
    config_diag_free(&d);
}

static void test_unix_and_ephemeral_listeners(void)
{
    struct config_diag d;
    struct config *c = load_ok("listener 0 /tmp/tern.sock\nlistener 0\nlistener 0 127.0.0.1\n", &d);
    REQUIRE(c);
    struct listener_conf *u = nth(c, 0), *e = nth(c, 1), *f = nth(c, 2);
    REQUIRE(u && e && f);
    CHECK(strcmp(u->unix_path, "/tmp/tern.sock") == 0);
    CHECK(u->bind_address == NULL);
    CHECK_EQ_INT(u->port, 0);
    CHECK(e->unix_path == NULL && e->bind_address == NULL);
    CHECK_EQ_INT(e->port, 0);
    CHECK(f->unix_path == NULL && strcmp(f->bind_address, "127.0.0.1") == 0);
    config_free(c);
    config_diag_free(&d);
}

static void test_default_listener(void)
{
    struct config_diag d;
    struct config *c = load_ok("max_connections 5\nport 1884\nbind_address 10.0.0.1\n"
                               "listener 8883\nmax_connections 7\n",
                               &d);
    REQUIRE(c);
    CHECK(!c->local_only);
    CHECK_EQ_INT(c->listener_count, 2);
    struct listener_conf *a = nth(c, 0), *b = nth(c, 1);
    REQUIRE(a && b);
    CHECK(a->is_default);
    CHECK_EQ_INT(a->port, 1884);
    CHECK(strcmp(a->bind_address, "10.0.0.1") == 0);
    CHECK_EQ_INT(a->max_connections, 5);
    CHECK(!b->is_default);
    CHECK_EQ_INT(b->max_connections, 7);
    CHECK_EQ_INT(d.warning_count, 0);
    config_free(c);
    config_diag_free(&d);

    /* bind_address alone: default port 1883. */
    c = load_ok("bind_address 0.0.0.0\n", &d);
    REQUIRE(c);
    CHECK_EQ_INT(c->listener_count, 1);
    CHECK_EQ_INT(c->listeners->port, 1883);
    CHECK_EQ_INT(c->listeners->allow_anonymous, 0);
    config_free(c);
    config_diag_free(&d);
}

static void test_listener_option_before_listener(void)
{
    struct config_diag d;
    struct config *c = load_ok("max_connections 5\nlistener 1883\n", &d);
    REQUIRE(c);
    CHECK_EQ_INT(c->listener_count, 1);
    CHECK_EQ_INT(c->listeners->port, 1883);
    CHECK_EQ_INT(c->listeners->max_connections, -1);
    CHECK_EQ_INT(d.warning_count, 1);
    CHECK(has_warning(&d, "t.conf:1: option 'max_connections' comes before any 'listener'"));
    config_free(c);
    config_diag_free(&d);

    /* With no listener at all they apply to the local-only listeners. */
    c = load_ok("max_connections 5\nallow_anonymous false\n", &d);
    REQUIRE(c);
    CHECK(c->local_only);
    CHECK_EQ_INT(c->listener_count, 2);
    for (struct listener_conf *l = c->listeners; l; l = l->next) {
        CHECK_EQ_INT(l->max_connections, 5);
        CHECK_EQ_INT(l->allow_anonymous, 0);
        CHECK_EQ_INT(l->port, 1883);
    }
    CHECK(strcmp(nth(c, 1)->bind_address, "::1") == 0);
    config_free(c);
    config_diag_free(&d);
}

static void test_per_listener_settings(void)
{
    struct config_diag d;
    struct config *c = load_ok("per_listener_settings true\n"
                               "listener 1883\n"
                               "allow_anonymous true\n"
                               "password_file /etc/pw\n"
                               "auto_id_prefix one-\n"
                               "allow_zero_length_clientid false\n"
                               "listener 1884\n"
                               "acl_file /etc/acl\n",
                               &d);
    REQUIRE(c);
    CHECK(c->per_listener_settings);
    struct listener_conf *a = nth(c, 0), *b = nth(c, 1);
    REQUIRE(a && b);
    CHECK_EQ_INT(a->allow_anonymous, 1);
    CHECK(strcmp(a->password_file, "/etc/pw") == 0);
    CHECK(strcmp(a->auto_id_prefix, "one-") == 0);
    CHECK_EQ_INT(a->allow_zero_length_clientid, 0);
    CHECK(a->acl_file == NULL);
    CHECK_EQ_INT(b->allow_anonymous, 0);
    CHECK(strcmp(b->acl_file, "/etc/acl") == 0);
    CHECK(b->password_file == NULL);
    CHECK_EQ_INT(b->allow_zero_length_clientid, 1);
    CHECK(c->password_file == NULL && c->acl_file == NULL);
    CHECK(strcmp(c->auto_id_prefix, "auto-") == 0);
    CHECK(!has_warning(&d, "'password_file'")); /* supported: checked at CONNECT */
    config_free(c);
    config_diag_free(&d);

    /* Without per_listener_settings, security options inside a listener are global. */
    c = load_ok("listener 1883\nallow_anonymous true\nlistener 1884\n", &d);
    REQUIRE(c);
    CHECK_EQ_INT(c->allow_anonymous, 1);
    CHECK_EQ_INT(nth(c, 0)->allow_anonymous, 1);
    CHECK_EQ_INT(nth(c, 1)->allow_anonymous, 1);
    config_free(c);
    config_diag_free(&d);
}

static void test_comments_and_whitespace(void)
{
    struct config_diag d;
    struct config *c = load_ok("# a comment\n"
                               "   # indented comment\n"
                               "\n"
                               " \t \n"
                               "   port   1884   \r\n"
                               "max_qos\t1 # trailing comment\r\n"
                               "pid_file /run/a#b\n"
                               "listener 1883 # main listener\n"
                               "max_keepalive 30",
                               &d);
    REQUIRE(c);
    CHECK_EQ_INT(c->listeners->port, 1884);
    /* After `port`, listener options apply to the default listener, as in Mosquitto. */
    CHECK_EQ_INT(c->listeners->max_qos, 1);
    CHECK_EQ_INT(c->max_qos, 2);
    CHECK(strcmp(c->pid_file, "/run/a#b") == 0);
    CHECK_EQ_INT(c->max_keepalive, 30);
    CHECK_EQ_INT(c->listener_count, 2);
    CHECK(nth(c, 1)->port == 1883 && nth(c, 1)->bind_address == NULL);
    CHECK_EQ_INT(d.warning_count, 0);
    config_free(c);
    config_diag_free(&d);
}

static const char realistic[] =
    "# =================================================================\n"
    "# General configuration\n"
    "# =================================================================\n"
    "per_listener_settings false\n"
    "max_inflight_messages 40\n"
    "max_queued_messages 5000\n"
    "queue_qos0_messages false\n"
    "message_size_limit 0\n"
    "allow_zero_length_clientid true\n"
    "persistent_client_expiration 2w\n"
    "pid_file /run/mosquitto/mosquitto.pid\n"
    "user mosquitto\n"
    "sys_interval 10\n"
    "\n"
    "# Default listener, old style\n"
    "port 1883\n"
    "bind_address 0.0.0.0\n"
    "\n"
    "# Extra listeners\n"
    "listener 8883\n"
    "protocol mqtt\n"
    "cafile /etc/mosquitto/ca_certificates/ca.crt\n"
    "certfile /etc/mosquitto/certs/server.crt\n"
    "keyfile /etc/mosquitto/certs/server.key\n"
    "require_certificate false\n"
    "tls_version tlsv1.2\n"
    "\n"
    "listener 9001\n"
    "protocol websockets\n"
    "http_dir /usr/share/mosquitto/www\n"
    "\n"
    "listener 0 /run/mosquitto/mosquitto.sock\n"
    "\n"
    "# Persistence\n"
    "persistence true\n"
    "persistence_location /var/lib/mosquitto/\n"
    "autosave_interval 1800\n"
    "\n"
    "# Logging\n"
    "log_dest file /var/log/mosquitto/mosquitto.log\n"
    "log_dest stdout\n"
    "log_type error\n"
    "log_type warning\n"
    "log_type notice\n"
    "log_type information\n"
    "connection_messages true\n"
    "log_timestamp true\n"
    "\n"
    "# Security\n"
    "allow_anonymous false\n"
    "password_file /etc/mosquitto/passwd\n"
    "acl_file /etc/mosquitto/acl\n"
    "\n"
    "# Bridges\n"
    "connection upstream\n"
    "address broker.example.com:1883\n"
    "topic sensors/# out 1 local/ remote/\n"
    "topic cmd/# in 2\n"
    "remote_username bridge\n"
    "remote_password secret\n"
    "cleansession false\n"
    "try_private true\n"
    "notifications true\n"
    "bridge_protocol_version mqttv311\n"
    "restart_timeout 5 30\n"
    "start_type automatic\n";

static void test_realistic_mosquitto_conf(void)
{
    struct config_diag d;
    struct config *c = load_ok(realistic, &d);
    REQUIRE(c);
    CHECK_EQ_INT(c->listener_count, 4);
    struct listener_conf *def = nth(c, 0), *tls = nth(c, 1), *ws = nth(c, 2), *ux = nth(c, 3);
    REQUIRE(def && tls && ws && ux);
    CHECK(def->is_default && def->port == 1883 && strcmp(def->bind_address, "0.0.0.0") == 0);
    CHECK_EQ_INT(tls->port, 8883);
    CHECK(strcmp(tls->keyfile, "/etc/mosquitto/certs/server.key") == 0);
    CHECK_EQ_INT(ws->protocol, LISTENER_WEBSOCKETS);
    CHECK(strcmp(ux->unix_path, "/run/mosquitto/mosquitto.sock") == 0);
    CHECK_EQ_INT(c->max_inflight_messages, 40);
    CHECK_EQ_INT(c->max_queued_messages, 5000);
    CHECK_EQ_INT(c->persistent_client_expiration_s, 14 * 86400);
    CHECK(c->persistence);
    CHECK_EQ_INT(c->log_dest, LOG_DEST_FILE | LOG_DEST_STDOUT);
    CHECK(strcmp(c->log_file, "/var/log/mosquitto/mosquitto.log") == 0);
    CHECK_EQ_INT(c->log_type, TLOG_ERR | TLOG_WARN | TLOG_NOTICE | TLOG_INFO);
    CHECK_EQ_INT(c->allow_anonymous, 0);
    for (struct listener_conf *l = c->listeners; l; l = l->next)
        CHECK_EQ_INT(l->allow_anonymous, 0);
    CHECK_EQ_INT(c->bridge_count, 1);
    /* Bridges warn once, for `connection`, not for each of their lines. */
    CHECK(has_warning(&d, "t.conf:55: option 'connection' is not supported yet and is ignored"));
    CHECK(!has_warning(&d, "'address'"));
    CHECK(!has_warning(&d, "'cafile'"));       /* supported: TLS listeners */
    CHECK(!has_warning(&d, "'persistence'"));  /* supported: the durable store */
    CHECK(!has_warning(&d, "'sys_interval'")); /* supported: $SYS */
    CHECK(!has_warning(&d, "'max_inflight_messages'"));
    config_free(c);
    config_diag_free(&d);
}

static void test_unsupported_and_obsolete_warnings(void)
{
    struct config_diag d;
    struct config *c = load_ok("sys_interval 5\nretry_interval 20\nauth_plugin /usr/lib/x.so\n"
                               "auth_opt_backend mysql\nplugin_opt_a b\n"
                               "connection one\naddress 10.0.0.1\nconnection two\n"
                               "address 10.0.0.2\ntopic # both 0\n",
                               &d);
    REQUIRE(c);
    CHECK_EQ_INT(c->sys_interval, 5);
    CHECK_EQ_INT(c->bridge_count, 2);
    CHECK_EQ_INT(d.warning_count, 4);
    CHECK(!has_warning(&d, "'sys_interval'"));
    CHECK(has_warning(&d, "t.conf:2: option 'retry_interval' is obsolete and is ignored"));
    CHECK(has_warning(&d, "t.conf:3: option 'auth_plugin' is not supported yet and is ignored"));
    CHECK(has_warning(&d, "t.conf:6: option 'connection' is not supported yet"));
    CHECK(has_warning(&d, "t.conf:8: option 'connection' is not supported yet"));
    config_free(c);
    config_diag_free(&d);
}

static char tmpdir[64];

static void write_file(const char *dir, const char *name, const char *text, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(text, 1, len, f);
    fclose(f);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    write_file(dir, name, text, strlen(text));
}

static void remove_file(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

static const char *const tmp_names[] = {"b.conf", "a.conf", "c.txt", "main.conf", "nul.conf"};

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/tern-config-XXXXXX");
    if (!mkdtemp(tmpdir))
        tmpdir[0] = '\0';
}

static void remove_tmpdir(void)
{
    for (size_t i = 0; i < sizeof tmp_names / sizeof tmp_names[0]; i++)
        remove_file(tmpdir, tmp_names[i]);
    rmdir(tmpdir);
}

static void test_include_dir(void)
{
    make_tmpdir();
    REQUIRE(tmpdir[0]);
    write_text(tmpdir, "b.conf", "listener 2000\nmax_connections 2\n");
    write_text(tmpdir, "a.conf", "# first\nlistener 1000\n");
    write_text(tmpdir, "c.txt", "not a config file\n");
    char main_text[256];
    int n = snprintf(main_text, sizeof main_text, "include_dir %s\nlistener 3000\n", tmpdir);
    struct config_diag d;
    struct config *c = load_ok(main_text, &d);
    if (c) {
        CHECK_EQ_INT(c->listener_count, 3);
        CHECK_EQ_INT(nth(c, 0)->port, 1000);
        CHECK_EQ_INT(nth(c, 1)->port, 2000);
        CHECK_EQ_INT(nth(c, 1)->max_connections, 2);
        CHECK_EQ_INT(nth(c, 2)->port, 3000);
    }
    config_free(c);
    config_diag_free(&d);

    /* The same through config_load_file. */
    write_file(tmpdir, "main.conf", main_text, (size_t)n);
    char path[128];
    snprintf(path, sizeof path, "%s/main.conf", tmpdir);
    c = NULL;
    CHECK_EQ_INT(config_load_file(path, &c, &d), TERN_ECONFIG);
    /* main.conf is in the directory it includes, so it includes itself: refused there. */
    CHECK(has_error(&d, "main.conf:1: option is only valid in the main configuration file"));
    config_free(c);
    config_diag_free(&d);
    remove_file(tmpdir, "main.conf");

    /* Errors in an included file name that file; each file starts outside any listener. */
    write_text(tmpdir, "b.conf", "mount_point x/\nport 70000\n");
    CHECK_EQ_INT(config_load_string(main_text, "t.conf", &c, &d), TERN_ECONFIG);
    CHECK_EQ_INT(d.error_count, 2);
    char frag[256];
    snprintf(frag, sizeof frag,
             "%s/b.conf:1: option is only valid after a 'listener' line "
             "('mount_point')",
             tmpdir);
    CHECK(has_error(&d, frag));
    snprintf(frag, sizeof frag, "%s/b.conf:2: value 70000 out of range", tmpdir);
    CHECK(has_error(&d, frag));
    config_diag_free(&d);

    expect_error("include_dir /nonexistent/tern", "t.conf:1: cannot read directory",
                 "('include_dir')");
    remove_tmpdir();
}

static void test_load_file_errors(void)
{
    struct config *c = NULL;
    struct config_diag d;
    CHECK_EQ_INT(config_load_file("/nonexistent/tern.conf", &c, &d), TERN_ECONFIG);
    CHECK(has_error(&d, "/nonexistent/tern.conf: cannot read '/nonexistent/tern.conf'"));
    config_diag_free(&d);

    make_tmpdir();
    REQUIRE(tmpdir[0]);
    write_file(tmpdir, "nul.conf", "port 1883\n\0x\n", 13);
    char path[128];
    snprintf(path, sizeof path, "%s/nul.conf", tmpdir);
    CHECK_EQ_INT(config_load_file(path, &c, &d), TERN_ECONFIG);
    CHECK(has_error(&d, "nul.conf: file contains a NUL byte"));
    config_diag_free(&d);
    /* A directory is not a configuration file. */
    CHECK_EQ_INT(config_load_file(tmpdir, &c, &d), TERN_ECONFIG);
    CHECK_EQ_INT(d.error_count, 1);
    config_diag_free(&d);
    remove_tmpdir();
    CHECK(c == NULL);
}

static void test_cli_port(void)
{
    struct config *c = NULL;
    REQUIRE(config_defaults(&c) == 0);
    CHECK_EQ_INT(config_set_cli_port(c, 0), TERN_EINVAL);
    CHECK_EQ_INT(config_set_cli_port(c, 1884), 0);
    CHECK_EQ_INT(c->listener_count, 2);
    CHECK_EQ_INT(nth(c, 0)->port, 1884);
    CHECK_EQ_INT(nth(c, 1)->port, 1884);
    CHECK_EQ_INT(config_set_cli_port(c, 1885), 0);
    CHECK_EQ_INT(c->listener_count, 4);
    CHECK(nth(c, 2)->port == 1885 && strcmp(nth(c, 2)->bind_address, "127.0.0.1") == 0);
    CHECK(nth(c, 3)->port == 1885 && strcmp(nth(c, 3)->bind_address, "::1") == 0);
    CHECK_EQ_INT(nth(c, 3)->allow_anonymous, 1);
    config_free(c);

    struct config_diag d;
    c = load_ok("listener 8883\nmax_qos 1\n", &d);
    REQUIRE(c);
    CHECK_EQ_INT(config_set_cli_port(c, 1884), 0);
    CHECK_EQ_INT(c->listener_count, 2);
    struct listener_conf *l = nth(c, 1);
    REQUIRE(l);
    CHECK(l->port == 1884 && l->bind_address == NULL);
    CHECK_EQ_INT(l->allow_anonymous, 0);
    CHECK_EQ_INT(l->max_qos, 2);
    config_free(c);
    config_diag_free(&d);
    CHECK_EQ_INT(config_set_cli_port(NULL, 1), TERN_EINVAL);
}

/* Fail allocation N for N = 1, 2, ... until the operation succeeds: every failing run must
 * report TERN_ENOMEM and release everything. */
static uint64_t fault_inject(int (*op)(void), const char *name)
{
    size_t before = mem_in_use();
    for (uint64_t n = 1; n < 100000; n++) {
        mem_fail_at(n);
        int rc = op();
        mem_fail_at(0);
        CHECK_EQ_INT(mem_in_use(), before);
        if (rc == 0)
            return n;
        if (rc != TERN_ENOMEM) {
            fprintf(stderr, "%s: allocation %llu failed gave %d\n", name, (unsigned long long)n,
                    rc);
            CHECK(!"TERN_ENOMEM");
            return 0;
        }
    }
    CHECK(!"fault injection never succeeded");
    return 0;
}

static int op_realistic(void)
{
    struct config *c = NULL;
    struct config_diag d;
    int rc = config_load_string(realistic, "t.conf", &c, &d);
    if (rc == 0 && c->listener_count != 4) /* (warnings: op_errors) */
        rc = TERN_EINVAL;
    config_free(c);
    config_diag_free(&d);
    return rc;
}

static int op_errors(void)
{
    struct config *c = NULL;
    struct config_diag d;
    int rc =
        config_load_string("foo\nmax_qos 7\nmax_connections 3\nlistener 1\n", "e.conf", &c, &d);
    config_free(c);
    config_diag_free(&d);
    /* A complete run is a parse failure with both errors and one warning. */
    if (rc == TERN_ECONFIG)
        return 0;
    return rc == 0 ? TERN_EINVAL : rc;
}

static int op_cli_port(void)
{
    struct config *c = NULL;
    int rc = config_defaults(&c);
    if (rc == 0)
        rc = config_set_cli_port(c, 1884);
    if (rc == 0)
        rc = config_set_cli_port(c, 1885);
    config_free(c);
    return rc;
}

static int op_include(void)
{
    char text[128];
    snprintf(text, sizeof text, "per_listener_settings true\ninclude_dir %s\n", tmpdir);
    struct config *c = NULL;
    struct config_diag d;
    int rc = config_load_string(text, "t.conf", &c, &d);
    if (rc == 0 && c->listener_count != 2)
        rc = TERN_EINVAL;
    config_free(c);
    config_diag_free(&d);
    return rc;
}

static void test_fault_injection(void)
{
    /* Each operation allocates many times; the last run (no failure) succeeds. */
    CHECK(fault_inject(op_realistic, "realistic") > 20);
    CHECK(fault_inject(op_errors, "errors") > 5);
    CHECK(fault_inject(op_cli_port, "cli_port") > 10);
    make_tmpdir();
    REQUIRE(tmpdir[0]);
    write_text(tmpdir, "a.conf", "listener 1000\nallow_anonymous true\n");
    write_text(tmpdir, "b.conf", "listener 0 /tmp/x.sock\nmount_point m/\n");
    CHECK(fault_inject(op_include, "include") > 10);
    remove_tmpdir();
}

/* The websockets listener's HTTP options: lists repeat and append, strings are kept, nothing is
 * warned as unsupported. */
static void test_http_options(void)
{
    struct config_diag d;
    struct config *c = load_ok("http_api_token s3cret-token\n"
                               "http_admin_users alice bob\n"
                               "http_admin_users carol\n"
                               "listener 9001 127.0.0.1\n"
                               "protocol websockets\n"
                               "http_dir /srv/www\n"
                               "http_api true\n"
                               "http_metrics true\n"
                               "http_trusted_proxy 127.0.0.1\n"
                               "http_trusted_proxy 10.0.0.0/8 ::1\n"
                               "websockets_path /mqtt\n",
                               &d);
    REQUIRE(c);
    CHECK_EQ_INT(d.warning_count, 0);
    CHECK(strcmp(c->http_api_token, "s3cret-token") == 0);
    CHECK(strcmp(c->http_admin_users, "alice bob carol") == 0);
    struct listener_conf *l = c->listeners;
    REQUIRE(l);
    CHECK_EQ_INT(l->protocol, LISTENER_WEBSOCKETS);
    CHECK(strcmp(l->http_dir, "/srv/www") == 0);
    CHECK(l->http_api && l->http_metrics && l->http_metrics_auth);
    CHECK(strcmp(l->http_trusted_proxy, "127.0.0.1 10.0.0.0/8 ::1") == 0);
    CHECK(strcmp(l->websockets_path, "/mqtt") == 0);
    config_free(c);
    config_diag_free(&d);
}

/* The Mosquitto options Tern now acts on are stored and no longer warned about; the defaults
 * are Mosquitto's (everything accepted, no limit, no sweep, the epoch-seconds timestamp). */
static void test_compat_options(void)
{
    struct config_diag d;
    struct config *c = load_ok("", &d);
    REQUIRE(c);
    CHECK_EQ_INT(c->global_max_clients, -1);
    CHECK_EQ_INT(c->global_max_connections, -1);
    CHECK_EQ_INT(c->retain_expiry_interval, 0);
    CHECK(!c->check_retain_source && !c->clientid_prefixes && !c->log_timestamp_format);
    CHECK_EQ_INT(c->listeners->accept_protocol_versions, 0);
    CHECK(!c->listeners->use_username_as_clientid && !c->listeners->bind_interface);
    config_free(c);
    config_diag_free(&d);
    c = load_ok("check_retain_source true\nclientid_prefixes sec-\nglobal_max_clients 10\n"
                "global_max_connections 20\nretain_expiry_interval 2\n"
                "log_timestamp_format %Y-%m-%dT%H:%M:%S\n"
                "listener 1883\nbind_interface lo\nuse_username_as_clientid true\n"
                "accept_protocol_versions 4, 5\n",
                &d);
    REQUIRE(c);
    CHECK_EQ_INT(d.warning_count, 0);
    CHECK(c->check_retain_source);
    CHECK(strcmp(c->clientid_prefixes, "sec-") == 0);
    CHECK_EQ_INT(c->global_max_clients, 10);
    CHECK_EQ_INT(c->global_max_connections, 20);
    CHECK_EQ_INT(c->retain_expiry_interval, 2);
    CHECK(strcmp(c->log_timestamp_format, "%Y-%m-%dT%H:%M:%S") == 0);
    struct listener_conf *l = c->listeners;
    REQUIRE(l);
    CHECK(strcmp(l->bind_interface, "lo") == 0);
    CHECK(l->use_username_as_clientid);
    CHECK_EQ_INT(l->accept_protocol_versions, (1 << 4) | (1 << 5));
    config_free(c);
    config_diag_free(&d);
}

/* docs/configuration.md documents every option of the table. */
static void test_docs_cover_every_option(void)
{
    FILE *f = fopen(TERN_SOURCE_DIR "/docs/configuration.md", "rb");
    REQUIRE(f);
    static char doc[200000];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[len] = '\0';
    for (size_t i = 0; config_table_at(i); i++) {
        char want[96];
        snprintf(want, sizeof want, "`%s", config_table_at(i)->name);
        if (!strstr(doc, want)) {
            fprintf(stderr, "docs/configuration.md lacks %s\n", want);
            CHECK(!"documented");
        }
    }
}

UNIT_MAIN(UNIT_TEST(test_defaults), UNIT_TEST(test_good_values), UNIT_TEST(test_string_values),
          UNIT_TEST(test_bad_values), UNIT_TEST(test_every_option_recognised),
          UNIT_TEST(test_all_bad_lines_reported), UNIT_TEST(test_listener_sections),
          UNIT_TEST(test_unix_and_ephemeral_listeners), UNIT_TEST(test_default_listener),
          UNIT_TEST(test_listener_option_before_listener), UNIT_TEST(test_per_listener_settings),
          UNIT_TEST(test_comments_and_whitespace), UNIT_TEST(test_realistic_mosquitto_conf),
          UNIT_TEST(test_persistent_client_expiration), UNIT_TEST(test_logging),
          UNIT_TEST(test_unsupported_and_obsolete_warnings), UNIT_TEST(test_include_dir),
          UNIT_TEST(test_load_file_errors), UNIT_TEST(test_cli_port),
          UNIT_TEST(test_fault_injection), UNIT_TEST(test_http_options),
          UNIT_TEST(test_compat_options), UNIT_TEST(test_docs_cover_every_option))
