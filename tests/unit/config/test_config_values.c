/* Unit tests for src/config, part 2: every option with good and bad values (stored value, or an
 * error naming file, line and option), every table entry recognised, duration units, logging. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "config_table.h"
#include "config_test.h"
#include "err.h"
#include "log.h"
#include "unit.h"

enum kind { K_BOOL, K_INT, K_UINT, K_U8, K_U16, K_U32, K_U64, K_I64 };

static int64_t read_field(const void *obj, size_t off, enum kind k)
{
    const char *p = (const char *)obj + off;
    switch (k) {
    case K_BOOL:
        return *(const bool *)p;
    case K_INT:
        return *(const int *)p;
    case K_UINT:
        return *(const unsigned *)p;
    case K_U8:
        return *(const uint8_t *)p;
    case K_U16:
        return *(const uint16_t *)p;
    case K_U32:
        return *(const uint32_t *)p;
    case K_U64:
        return (int64_t) * (const uint64_t *)p;
    case K_I64:
        return *(const int64_t *)p;
    }
    return 0;
}

struct good_case {
    const char *text;
    bool in_listener; /* field of the first listener, text placed after "listener 1883" */
    size_t off;
    enum kind kind;
    int64_t want;
};

#define CG(text, f, k, want)                                                                       \
    {                                                                                              \
        text, false, offsetof(struct config, f), k, want                                           \
    }
#define LG(text, f, k, want)                                                                       \
    {                                                                                              \
        text, true, offsetof(struct listener_conf, f), k, want                                     \
    }

static const struct good_case good_cases[] = {
    CG("allow_anonymous true", allow_anonymous, K_INT, 1),
    CG("allow_anonymous false", allow_anonymous, K_INT, 0),
    CG("allow_zero_length_clientid false", allow_zero_length_clientid, K_BOOL, 0),
    CG("retain_available false", retain_available, K_BOOL, 0),
    CG("connection_messages false", connection_messages, K_BOOL, 0),
    CG("log_timestamp false", log_timestamp, K_BOOL, 0),
    CG("worker_threads 4", worker_threads, K_UINT, 4),
    CG("worker_busy_poll_us 0", worker_busy_poll_us, K_U32, 0),
    CG("worker_busy_poll_us 200", worker_busy_poll_us, K_U32, 200),
    CG("max_packet_size 20", max_packet_size, K_U32, 20),
    CG("max_packet_size 268435460", max_packet_size, K_U32, 268435460),
    CG("message_size_limit 1000", message_size_limit, K_U32, 1000),
    CG("max_inflight_messages 100", max_inflight_messages, K_U16, 100),
    CG("max_inflight_messages 0", max_inflight_messages, K_U16, 65535),
    CG("max_inflight_messages -1", max_inflight_messages, K_U16, 65535),
    CG("max_queued_messages 0", max_queued_messages, K_U32, 0),
    CG("max_queued_messages -5", max_queued_messages, K_U32, 0),
    CG("max_queued_messages 4294967295", max_queued_messages, K_U32, 4294967295LL),
    CG("max_queued_bytes 1048576", max_queued_bytes, K_U64, 1048576),
    CG("max_topic_alias 0", max_topic_alias, K_U16, 0),
    CG("max_topic_alias 65535", max_topic_alias, K_U16, 65535),
    CG("max_keepalive 60", max_keepalive, K_U16, 60),
    CG("max_qos 1", max_qos, K_U8, 1),
    CG("maximum_qos 0", max_qos, K_U8, 0),
    CG("sys_interval 0", sys_interval, K_U32, 0),
    CG("max_retained_messages 500", max_retained_messages, K_U32, 500),
    CG("max_retained_bytes 9000000000", max_retained_bytes, K_U64, 9000000000LL),
    CG("persistence true", persistence, K_BOOL, 1),
    CG("persistence_fsync interval", persistence_fsync, K_INT, 1),
    CG("persistence_fsync never", persistence_fsync, K_INT, 2),
    CG("persistence_fsync_interval_ms 250", persistence_fsync_interval_ms, K_U32, 250),
    CG("autosave_interval 60", autosave_interval, K_U32, 60),
    CG("autosave_interval -1", autosave_interval, K_U32, 0),
    CG("memory_limit 1000000", memory_limit, K_U64, 1000000),
    CG("max_inflight_bytes -1", max_inflight_bytes, K_U64, 0),
    CG("log_facility 3", log_facility, K_INT, 3),
    CG("set_tcp_nodelay true", set_tcp_nodelay, K_BOOL, 1),
    CG("queue_qos0_messages true", queue_qos0_messages, K_BOOL, 1),
    CG("upgrade_outgoing_qos true", upgrade_outgoing_qos, K_BOOL, 1),
    CG("check_retain_source true", check_retain_source, K_BOOL, 1),
    CG("websockets_headers_size 4096", websockets_headers_size, K_U16, 4096),
    CG("persistent_client_expiration 1h", persistent_client_expiration_s, K_I64, 3600),
    LG("max_connections 10", max_connections, K_INT, 10),
    LG("accept_protocol_versions 5", accept_protocol_versions, K_UINT, 1 << 5),
    LG("accept_protocol_versions 3, 4", accept_protocol_versions, K_UINT, (1 << 3) | (1 << 4)),
    LG("accept_protocol_versions 3,5,4", accept_protocol_versions, K_UINT, 0x38),
    LG("use_username_as_clientid false", use_username_as_clientid, K_BOOL, 0),
    CG("global_max_clients 100", global_max_clients, K_INT, 100),
    CG("global_max_clients -7", global_max_clients, K_INT, -1),
    CG("global_max_connections 3", global_max_connections, K_INT, 3),
    CG("global_max_connections -1", global_max_connections, K_INT, -1),
    CG("retain_expiry_interval 30", retain_expiry_interval, K_U32, 30),
    CG("check_retain_source false", check_retain_source, K_BOOL, 0),
    LG("max_connections -1", max_connections, K_INT, -1),
    LG("max_connections -100", max_connections, K_INT, -1),
    LG("max_qos 1", max_qos, K_INT, 1),
    LG("max_topic_alias 5", max_topic_alias, K_INT, 5),
    LG("socket_domain ipv4", socket_domain, K_INT, AF_INET),
    LG("socket_domain ipv6", socket_domain, K_INT, AF_INET6),
    LG("listener_allow_anonymous true", allow_anonymous, K_INT, 1),
    LG("require_certificate true", require_certificate, K_BOOL, 1),
    LG("use_identity_as_username true", use_identity_as_username, K_BOOL, 1),
    LG("use_subject_as_username true", use_subject_as_username, K_BOOL, 1),
    LG("use_username_as_clientid true", use_username_as_clientid, K_BOOL, 1),
    LG("http_api true", http_api, K_BOOL, 1),
    LG("http_metrics true", http_metrics, K_BOOL, 1),
    LG("http_metrics_auth false", http_metrics_auth, K_BOOL, 0),
    LG("http_max_header_size 16384", http_max_header_size, K_INT, 16384),
    LG("http_max_body_size 0", http_max_body_size, K_INT, 0),
    LG("http_idle_timeout 5", http_idle_timeout, K_INT, 5),
    LG("http_request_timeout 7", http_request_timeout, K_INT, 7),
};

void test_good_values(void)
{
    for (size_t i = 0; i < sizeof good_cases / sizeof good_cases[0]; i++) {
        const struct good_case *g = &good_cases[i];
        char text[256];
        snprintf(text, sizeof text, "%s%s\n", g->in_listener ? "listener 1883\n" : "", g->text);
        struct config_diag d;
        struct config *c = load_ok(text, &d);
        if (c) {
            const void *obj = g->in_listener ? (const void *)c->listeners : (const void *)c;
            int64_t got = read_field(obj, g->off, g->kind);
            if (got != g->want)
                fprintf(stderr, "'%s': got %lld want %lld\n", g->text, (long long)got,
                        (long long)g->want);
            CHECK_EQ_INT(got, g->want);
        }
        config_free(c);
        config_diag_free(&d);
    }
}

void test_string_values(void)
{
    struct config_diag d;
    struct config *c = load_ok("pid_file /run/tern.pid\n"
                               "user nobody\n"
                               "auto_id_prefix gen-\n"
                               "password_file /etc/my dir/pw\n"
                               "acl_file /etc/acl\n"
                               "persistence_location /var/lib/tern/\n"
                               "persistence_file t.db\n"
                               "clientid_prefixes abc\n"
                               "listener 1883\n"
                               "mount_point site/a/\n"
                               "cafile /ca.pem\n"
                               "certfile /c.pem\n"
                               "keyfile /k.pem\n"
                               "ciphers_tls1.3 TLS_AES_128_GCM_SHA256\n"
                               "tls_version tlsv1.2\n"
                               "tls_keyform engine\n"
                               "listener_auto_id_prefix l-\n"
                               "response_information replies/for\n",
                               &d);
    REQUIRE(c);
    CHECK(strcmp(c->pid_file, "/run/tern.pid") == 0);
    CHECK(strcmp(c->response_information, "replies/for") == 0);
    CHECK(strcmp(c->user, "nobody") == 0);
    CHECK(strcmp(c->auto_id_prefix, "gen-") == 0);
    CHECK(strcmp(c->password_file, "/etc/my dir/pw") == 0);
    CHECK(strcmp(c->acl_file, "/etc/acl") == 0);
    CHECK(strcmp(c->persistence_location, "/var/lib/tern/") == 0);
    CHECK(strcmp(c->persistence_file, "t.db") == 0);
    CHECK(strcmp(c->clientid_prefixes, "abc") == 0);
    struct listener_conf *l = c->listeners;
    CHECK(strcmp(l->mount_point, "site/a/") == 0);
    CHECK(strcmp(l->cafile, "/ca.pem") == 0);
    CHECK(strcmp(l->certfile, "/c.pem") == 0);
    CHECK(strcmp(l->keyfile, "/k.pem") == 0);
    CHECK(strcmp(l->ciphers_tls13, "TLS_AES_128_GCM_SHA256") == 0);
    CHECK(strcmp(l->tls_version, "tlsv1.2") == 0);
    CHECK(strcmp(l->tls_keyform, "engine") == 0);
    CHECK(strcmp(l->auto_id_prefix, "l-") == 0);
    CHECK(l->password_file == NULL); /* per_listener_settings is false */
    config_free(c);
    config_diag_free(&d);
}

struct bad_case {
    const char *text;
    const char *option;
    const char *what;
};

static const struct bad_case bad_cases[] = {
    {"listener 1883\naccept_protocol_versions 6", "accept_protocol_versions", "out of range"},
    {"listener 1883\naccept_protocol_versions 4 2", "accept_protocol_versions", "out of range"},
    {"listener 1883\naccept_protocol_versions 4,x", "accept_protocol_versions", "bad number"},
    {"listener 1883\naccept_protocol_versions ,", "accept_protocol_versions", "expected"},
    {"accept_protocol_versions 5", "accept_protocol_versions", "listener"},
    {"retain_expiry_interval 0", "retain_expiry_interval", "out of range"},
    {"global_max_clients many", "global_max_clients", "bad number"},
    {"response_information a/+/b", "response_information", "bad value"},
    {"response_information a/#", "response_information", "bad value"},
    {"response_information", "response_information", "missing argument"},
    {"port 0", "port", "out of range"},
    {"port 65536", "port", "out of range"},
    {"port http", "port", "bad number"},
    {"port", "port", "missing argument"},
    {"port 1883 1884", "port", "extra argument '1884'"},
    {"listener", "listener", "missing argument"},
    {"listener 70000", "listener", "out of range"},
    {"listener 1883 a b", "listener", "extra argument 'b'"},
    {"retain_available yes", "retain_available", "bad boolean 'yes'"},
    {"retain_available 1", "retain_available", "bad boolean"},
    {"retain_available True", "retain_available", "bad boolean"},
    {"allow_anonymous", "allow_anonymous", "missing argument"},
    {"allow_anonymous true false", "allow_anonymous", "extra argument"},
    {"max_qos 3", "max_qos", "out of range 0..2"},
    {"max_qos -1", "max_qos", "out of range"},
    {"max_keepalive 65536", "max_keepalive", "out of range"},
    {"max_keepalive 1x", "max_keepalive", "bad number '1x'"},
    {"max_packet_size 19", "max_packet_size", "out of range"},
    {"max_packet_size 268435461", "max_packet_size", "out of range"},
    {"message_size_limit 268435456", "message_size_limit", "out of range"},
    {"max_inflight_messages 65536", "max_inflight_messages", "out of range"},
    {"max_inflight_messages many", "max_inflight_messages", "bad number"},
    {"max_queued_messages 4294967296", "max_queued_messages", "out of range"},
    {"max_topic_alias 65536", "max_topic_alias", "out of range"},
    {"sys_interval 65536", "sys_interval", "out of range"},
    {"persistence_fsync sometimes", "persistence_fsync", "bad value"},
    {"persistence_fsync_interval_ms 0", "persistence_fsync_interval_ms", "out of range"},
    {"worker_threads 1025", "worker_threads", "out of range"},
    {"worker_threads -1", "worker_threads", "out of range"},
    {"worker_busy_poll_us 10001", "worker_busy_poll_us", "out of range"},
    {"memory_limit -1", "memory_limit", "out of range"},
    {"log_facility 8", "log_facility", "out of range"},
    {"max_connections 99999999999", "max_connections", "out of range"},
    {"max_retained_messages 99999999999999999999", "max_retained_messages", "bad number"},
    {"listener 1883\nsocket_domain ipv5", "socket_domain", "bad value 'ipv5'"},
    {"listener 1883\nprotocol mqttsn", "protocol", "bad value 'mqttsn'"},
    {"listener 1883\nmount_point a/+/", "mount_point", "must not contain"},
    {"listener 1883\ntls_keyform der", "tls_keyform", "bad value"},
    {"log_dest syslogg", "log_dest", "bad value 'syslogg'"},
    {"log_dest file", "log_dest", "missing file name"},
    {"log_dest stderr extra", "log_dest", "extra argument 'extra'"},
    {"log_type verbose", "log_type", "bad value 'verbose'"},
    {"persistent_client_expiration 10", "persistent_client_expiration", "bad duration"},
    {"user", "user", "missing argument"},
    {"include_dir", "include_dir", "missing argument"},
    {"frobnicate 1", "frobnicate", "unknown option"},
    {"Port 1883", "Port", "unknown option"},
    {"auth_opt_", "auth_opt_", "unknown option"},
    {"mount_point a/", "mount_point", "only valid after a 'listener' line"},
    {"http_dir /www", "http_dir", "only valid after a 'listener' line"},
    {"http_api true", "http_api", "only valid after a 'listener' line"},
    {"listener 1\nhttp_metrics yes", "http_metrics", "bad boolean"},
    {"listener 1\nhttp_max_header_size 100", "http_max_header_size", "out of range"},
    {"listener 1\nhttp_idle_timeout 0", "http_idle_timeout", "out of range"},
    {"listener 1\nhttp_request_timeout 0", "http_request_timeout", "out of range"},
    {"listener 1\nwebsockets_path mqtt", "websockets_path", "must start with '/'"},
    {"address 10.0.0.1", "address", "only valid in a bridge section"},
    {"topic # both 0", "topic", "only valid in a bridge section"},
    {"auth_opt_db x", "auth_opt_db", "only valid after 'plugin'"},
    {"connection b\naddress h\ntopic a sideways", "topic", "bad direction"},
    {"connection b\ntopic a in 3", "topic", "out of range"},
    {"connection b\ncleansession maybe", "cleansession", "bad boolean"},
    {"connection b\nstart_type manual", "start_type", "bad value"},
    {"connection b\nbridge_tcp_keepalive 1 2", "bridge_tcp_keepalive", "missing argument"},
    {"connection b\nbridge_receive_maximum 0", "bridge_receive_maximum", "out of range"},
    {"per_listener_settings true\nallow_anonymous true", "allow_anonymous",
     "must follow a 'listener' line"},
    {"allow_anonymous true\nper_listener_settings true", "per_listener_settings",
     "must come before"},
};

void test_bad_values(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *b = &bad_cases[i];
        /* The bad line is the last one: find its number. */
        unsigned line = 1;
        for (const char *s = b->text; *s; s++)
            line += *s == '\n';
        char where[64], opt[96];
        snprintf(where, sizeof where, "t.conf:%u: ", line);
        snprintf(opt, sizeof opt, " ('%s')", b->option);
        expect_error3(b->text, where, b->what, opt);
    }
    /* response_information must leave room for "/<client id>" in its fixed field. */
    char longer[300];
    snprintf(longer, sizeof longer, "response_information %0200d", 0);
    expect_error3(longer, "t.conf:1: ", "bad value", " ('response_information')");
}

/* Every option of the table is recognised, and every one reports a missing value. */
void test_every_option_recognised(void)
{
    size_t n = 0;
    for (const struct config_option *o; (o = config_table_at(n)) != NULL; n++) {
        char text[128];
        const char *suffix = (o->flags & OF_PREFIX) ? "x" : "";
        snprintf(text, sizeof text, "%s%s\n", o->name, suffix);
        struct config *c = NULL;
        struct config_diag d;
        CHECK_EQ_INT(config_load_string(text, "t.conf", &c, &d), TERN_ECONFIG);
        CHECK(d.error_count == 1 && !has_error(&d, "unknown option"));
        CHECK(has_error(&d, "missing argument"));
        config_diag_free(&d);
        config_free(c);
    }
    CHECK(n > 140);
}

void test_persistent_client_expiration(void)
{
    static const struct {
        const char *value;
        int64_t seconds;
    } good[] = {
        {"10s", 10},
        {"1h", 3600},
        {"2d", 2 * 86400},
        {"3w", 3 * 7 * 86400},
        {"1m", 30 * 86400},
        {"1y", 365 * 86400},
        {"100000y", 100000LL * 365 * 86400},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "persistent_client_expiration %s", good[i].value);
        struct config_diag d;
        struct config *c = load_ok(text, &d);
        if (c)
            CHECK_EQ_INT(c->persistent_client_expiration_s, good[i].seconds);
        config_free(c);
        config_diag_free(&d);
    }
    static const char *const bad[] = {"10", "h",    "0d", "-1d",
                                      "5x", "1.5h", "d1", "99999999999999y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "persistent_client_expiration %s", bad[i]);
        expect_error(text, "t.conf:1: bad duration", "('persistent_client_expiration')");
    }
}

void test_logging(void)
{
    struct config_diag d;
    struct config *c = load_ok("log_dest syslog # to the system log\nlog_dest stdout unbuffered\n"
                               "log_dest file /var/log/my logs/t.log\n"
                               "log_type all\nlog_type none\nlog_type debug\nlog_type subscribe\n",
                               &d);
    REQUIRE(c);
    CHECK_EQ_INT(c->log_dest, LOG_DEST_SYSLOG | LOG_DEST_STDOUT | LOG_DEST_FILE);
    CHECK(strcmp(c->log_file, "/var/log/my logs/t.log") == 0);
    CHECK_EQ_INT(c->log_type, TLOG_DEBUG | TLOG_SUBSCRIBE);
    config_free(c);
    config_diag_free(&d);

    c = load_ok("log_dest none\nlog_type all\nlog_dest topic\nlog_dest dlt\n", &d);
    REQUIRE(c);
    CHECK_EQ_INT(c->log_dest, LOG_DEST_TOPIC);
    CHECK_EQ_INT(c->log_type, TLOG_ALL_LEVELS);
    CHECK(!has_warning(&d, "t.conf:3:"));
    CHECK(has_warning(&d, "t.conf:4: log_dest 'dlt' is not supported yet"));
    config_free(c);
    config_diag_free(&d);

    expect_error("log_dest file /a\nlog_dest file /b", "t.conf:2: duplicate 'log_dest file'",
                 "('log_dest')");
}
