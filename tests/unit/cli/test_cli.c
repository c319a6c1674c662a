/* The CLI's pure parts: the mosquitto_sub -F formatter (fixed time, TZ=UTC), the option
 * parser's results and error messages, and the -d debug lines (libmosquitto's wording). Expected
 * strings were checked against mosquitto_sub 2.0.11 output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_debug.h"
#include "cli_format.h"
#include "cli_opts.h"
#include "pkt.h"
#include "unit.h"

static char outbuf[4096];

/* Formats m with format (NULL = default output) into outbuf. */
static const char *fmt(const char *format, const struct tern_message *m, bool v5, bool pretty)
{
    static const struct timespec now = {1700000000, 123456789};
    memset(outbuf, 0, sizeof outbuf);
    FILE *f = fmemopen(outbuf, sizeof outbuf, "w");
    struct cli_print_opts o = {format, false, true, pretty, v5};
    cli_print_message(f, NULL, &o, m, &now);
    fclose(f);
    return outbuf;
}

static struct tern_message msg(const char *topic, const char *payload, int qos)
{
    struct tern_message m;
    memset(&m, 0, sizeof m);
    m.topic = tern_str_of(topic);
    m.payload = tern_str_of(payload);
    m.qos = (uint8_t)qos;
    m.packet_id = qos ? 7 : 0;
    return m;
}

static void set_tz(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
}

static void test_default_and_verbose(void)
{
    struct tern_message m = msg("a/b", "hello", 0);
    CHECK(strcmp(fmt(NULL, &m, false, false), "hello\n") == 0);
    struct tern_message e = msg("a/b", "", 0);
    CHECK(strcmp(fmt(NULL, &e, false, false), "") == 0);
    FILE *f = fmemopen(outbuf, sizeof outbuf, "w");
    struct cli_print_opts o = {NULL, true, true, false, false};
    struct timespec now = {0, 0};
    cli_print_message(f, NULL, &o, &e, &now);
    fclose(f);
    CHECK(strcmp(outbuf, "a/b (null)\n") == 0);
}

static void test_fields_width_precision(void)
{
    struct tern_message m = msg("a/b", "hello", 1);
    m.retain = true;
    CHECK(strcmp(fmt("%t|%p|%q|%r|%m|%l", &m, false, false), "a/b|hello|1|1|7|5\n") == 0);
    CHECK(strcmp(fmt("%6t|%-6t|%.1t|%05l|%-4l|", &m, false, false),
                 "   a/b|a/b   |a|00005|5   |\n") == 0);
    CHECK(strcmp(fmt("%x %X %4x", &m, false, false), "68656c6c6f 68656C6C6F 6865\n") == 0);
    CHECK(strcmp(fmt("%3p|%8p|%-8p|", &m, false, false), "hel|   hello|hello   |\n") == 0);
    CHECK(strcmp(fmt("\\t\\\\%%@@\\n", &m, false, false), "\t\\%@\n\n") == 0);
}

static void test_time_fields(void)
{
    set_tz();
    struct tern_message m = msg("t", "p", 0);
    CHECK(strcmp(fmt("%U", &m, false, false), "1700000000.123456789\n") == 0);
    CHECK(strcmp(fmt("%I", &m, false, false), "2023-11-14T22:13:20+0000\n") == 0);
    CHECK(strcmp(fmt("@Y-@m @N", &m, false, false), "2023-11 123456789\n") == 0);
}

/* A raw v5 property block: content type, two user properties, subscription id 5. */
static const char raw_props[] = "\x03\x00\x02"
                                "ct"
                                "\x26\x00\x01"
                                "k"
                                "\x00\x01"
                                "v"
                                "\x26\x00\x02"
                                "k2"
                                "\x00\x02"
                                "v2"
                                "\x0B\x05";

static void test_properties(void)
{
    struct tern_message m = msg("t", "p", 0);
    m.raw_props.ptr = raw_props;
    m.raw_props.len = sizeof raw_props - 1;
    CHECK(strcmp(fmt("%C|%P|%S|%E|%3A|%R|", &m, true, false), "ct|k:v k2:v2|5||   ||\n") == 0);
    /* On a v3 connection no property exists. */
    CHECK(strcmp(fmt("%C|%P|%S|", &m, false, false), "|||\n") == 0);
}

static void test_json(void)
{
    set_tz();
    struct tern_message m = msg("t", "a\"b", 1);
    CHECK(strcmp(fmt("%j", &m, false, false),
                 "{\"tst\":\"2023-11-14T22:13:20.123456Z+0000\",\"topic\":\"t\",\"qos\":1,"
                 "\"retain\":0,\"payloadlen\":3,\"mid\":7,\"payload\":\"a\\\"b\"}\n") == 0);
    struct tern_message j = msg("t", " {\"a\" : [1, 2.50, -0, 1e3, \"\\u00e9\"], \"b\":{}} ", 0);
    CHECK(strcmp(fmt("%J", &j, false, false),
                 "{\"tst\":\"2023-11-14T22:13:20.123456Z+0000\",\"topic\":\"t\",\"qos\":0,"
                 "\"retain\":0,\"payloadlen\":46,\"payload\":{\"a\":[1,2.5,0,1000,\"\xc3\xa9\"],"
                 "\"b\":{}}}\n") == 0);
    CHECK(strcmp(fmt("%J", &j, false, true),
                 "{\n\t\"tst\":\t\"2023-11-14T22:13:20.123456Z+0000\",\n\t\"topic\":\t\"t\",\n"
                 "\t\"qos\":\t0,\n\t\"retain\":\t0,\n\t\"payloadlen\":\t46,\n\t\"payload\":\t{\n"
                 "\t\t\"a\":\t[1, 2.5, 0, 1000, \"\xc3\xa9\"],\n\t\t\"b\":\t{\n\t\t}\n\t}\n}\n") ==
          0);
    struct tern_message bad = msg("t", "{1}", 0);
    CHECK(strcmp(fmt("[%J]", &bad, false, false), "[]\n") == 0);
}

static int parse(struct cli_cfg *c, enum cli_tool tool, const char *const *args, char *err,
                 size_t cap)
{
    char *argv[32];
    int argc = 0;
    while (args[argc]) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    FILE *f = fmemopen(err, cap, "w");
    int rc = cli_parse(c, tool, argc, argv, f);
    fclose(f);
    return rc;
}

static void test_parse_pub(void)
{
    static struct cli_cfg c;
    char err[512] = "";
    const char *ok[] = {"pub",
                        "-h",
                        "h",
                        "-p",
                        "1884",
                        "-t",
                        "a/b",
                        "-m",
                        "x",
                        "-q",
                        "2",
                        "-r",
                        "-V",
                        "5",
                        "-D",
                        "publish",
                        "user-property",
                        "k",
                        "v",
                        "-D",
                        "connect",
                        "receive-maximum",
                        "10",
                        "-x",
                        "-1",
                        "-i",
                        "me", /* a session that never expires needs a fixed id */
                        NULL};
    REQUIRE(parse(&c, CLI_PUB, ok, err, sizeof err) == 0);
    CHECK(strcmp(c.host, "h") == 0);
    CHECK_EQ_INT(c.port, 1884);
    CHECK_EQ_INT(c.qos, 2);
    CHECK(c.retain);
    CHECK_EQ_INT(c.version, 5);
    CHECK_EQ_INT(c.session_expiry, 4294967295LL);
    const struct tern_props *pp = cli_props(&c, PC_PUBLISH);
    REQUIRE(pp != NULL);
    CHECK_EQ_INT(pp->user_count, 1);
    const struct tern_props *cp = cli_props(&c, PC_CONNECT);
    REQUIRE(cp != NULL);
    CHECK_EQ_INT(cp->receive_maximum, 10);
    CHECK(cp->present & TERN_PROP_BIT(TERN_PROP_RECEIVE_MAXIMUM));

    const char *url[] = {"pub", "-L", "mqtts://u:p@host:1999/x/y", "-n", NULL};
    REQUIRE(parse(&c, CLI_PUB, url, err, sizeof err) == 0);
    CHECK(strcmp(c.username, "u") == 0 && strcmp(c.password, "p") == 0);
    CHECK(strcmp(c.host, "host") == 0 && c.port == 1999 && c.tls);
    CHECK(strcmp(c.topic, "x/y") == 0);
}

static void test_parse_errors(void)
{
    static struct cli_cfg c;
    char err[512];
    const char *qos[] = {"pub", "-t", "a", "-m", "x", "-q", "3", NULL};
    CHECK_EQ_INT(parse(&c, CLI_PUB, qos, err, sizeof err), 1);
    CHECK(strncmp(err, "Error: Invalid QoS given: 3\n", 28) == 0);
    const char *unknown[] = {"sub", "-t", "a", "--bogus", NULL};
    CHECK_EQ_INT(parse(&c, CLI_SUB, unknown, err, sizeof err), 1);
    CHECK(strstr(err, "Unknown option '--bogus'") != NULL);
    const char *prop[] = {"pub", "-t", "a", "-m", "x", "-D", "connect", "content-type", "x", NULL};
    CHECK_EQ_INT(parse(&c, CLI_PUB, prop, err, sizeof err), 1);
    CHECK(strstr(err, "content-type property not allowed for connect") != NULL);
    const char *two[] = {"pub", "-t", "a", "-m", "x", "-n", NULL};
    CHECK_EQ_INT(parse(&c, CLI_PUB, two, err, sizeof err), 1);
    const char *noval[] = {"sub", "-t", NULL};
    CHECK_EQ_INT(parse(&c, CLI_SUB, noval, err, sizeof err), 1);
    CHECK(strstr(err, "-t") != NULL);
    const char *help[] = {"sub", "--help", NULL};
    CHECK_EQ_INT(parse(&c, CLI_SUB, help, err, sizeof err), 2);
}

/* The mosquitto-compatible rules added on top of plain parsing. */
static void test_parse_mosquitto_rules(void)
{
    static struct cli_cfg c;
    char err[512];
    /* -D selects v5; a later -V wins. */
    const char *dv5[] = {"pub", "-t", "a", "-m", "x", "-D", "publish", "content-type", "t", NULL};
    REQUIRE(parse(&c, CLI_PUB, dv5, err, sizeof err) == 0);
    CHECK_EQ_INT(c.version, TERN_MQTT_V5);
    CHECK(cli_props(&c, PC_PUBLISH) != NULL);
    const char *dv3[] = {"pub",     "-t",           "a", "-m", "x",   "-D",
                         "publish", "content-type", "t", "-V", "311", NULL};
    REQUIRE(parse(&c, CLI_PUB, dv3, err, sizeof err) == 0);
    CHECK_EQ_INT(c.version, TERN_MQTT_V311);
    CHECK(cli_props(&c, PC_PUBLISH) == NULL);
    /* Filters are checked when parsed, with the option's word in the message. */
    const char *bad_t[] = {"sub", "-t", "a/#/b", NULL};
    CHECK_EQ_INT(parse(&c, CLI_SUB, bad_t, err, sizeof err), 1);
    CHECK(strstr(err, "Invalid subscription topic 'a/#/b'") != NULL);
    const char *bad_T[] = {"sub", "-t", "a", "-T", "x+", NULL};
    CHECK_EQ_INT(parse(&c, CLI_SUB, bad_T, err, sizeof err), 1);
    CHECK(strstr(err, "Invalid filter topic 'x+'") != NULL);
    /* tern rr takes neither retain nor repeat nor -C; tern sub has no -e. */
    const char *rr_r[] = {"rr", "-t", "a", "-e", "b", "-m", "x", "-r", NULL};
    CHECK_EQ_INT(parse(&c, CLI_RR, rr_r, err, sizeof err), 1);
    CHECK(strstr(err, "Unknown option '-r'") != NULL);
    const char *rr_c[] = {"rr", "-t", "a", "-e", "b", "-m", "x", "-C", "1", NULL};
    CHECK_EQ_INT(parse(&c, CLI_RR, rr_c, err, sizeof err), 1);
    const char *sub_e[] = {"sub", "-t", "a", "-e", "b", NULL};
    CHECK_EQ_INT(parse(&c, CLI_SUB, sub_e, err, sizeof err), 1);
    const char *rr_s[] = {"rr", "-t", "a", "-e", "b", "-s", NULL};
    REQUIRE(parse(&c, CLI_RR, rr_s, err, sizeof err) == 0);
    CHECK_EQ_INT(c.pub_mode, PM_STDIN);
    /* --random-filter: a percentage in 0.1..100. */
    const char *rf[] = {"sub", "-t", "a", "--random-filter", "12.5", NULL};
    REQUIRE(parse(&c, CLI_SUB, rf, err, sizeof err) == 0);
    CHECK(c.random_filter == 12.5);
    const char *rf0[] = {"sub", "-t", "a", "--random-filter", "0.05", NULL};
    CHECK_EQ_INT(parse(&c, CLI_SUB, rf0, err, sizeof err), 1);
    /* v5 sessions that never expire need a fixed client id. */
    const char *forever[] = {"sub", "-t", "a", "-V", "5", "-x", "-1", NULL};
    CHECK_EQ_INT(parse(&c, CLI_SUB, forever, err, sizeof err), 1);
    CHECK(strstr(err, "infinite session expiry interval") != NULL);
    const char *forever_id[] = {"sub", "-t", "a", "-V", "5", "-x", "-1", "-i", "me", NULL};
    CHECK_EQ_INT(parse(&c, CLI_SUB, forever_id, err, sizeof err), 0);
    /* Pub without a message: the error, then the usage (2). */
    const char *nomsg[] = {"pub", "-t", "a", NULL};
    CHECK_EQ_INT(parse(&c, CLI_PUB, nomsg, err, sizeof err), 2);
    CHECK(strcmp(err, "Error: Both topic and message must be supplied.\n") == 0);
    /* Engines are recognised and refused; --keyform pem is fine with a key. */
    const char *engine[] = {"pub", "-t", "a", "-m", "x", "--tls-engine", "pkcs11", NULL};
    CHECK_EQ_INT(parse(&c, CLI_PUB, engine, err, sizeof err), 1);
    CHECK(strstr(err, "TLS engines are not supported") != NULL);
}

static void test_parse_sub(void)
{
    static struct cli_cfg c;
    char err[512] = "";
    const char *ok[] = {"sub", "-t", "a/#", "-t", "b",  "-T", "a/x", "-C", "3",
                        "-W",  "9",  "-v",  "-N", "-F", "%t", "-U",  "c",  "--retain-handling",
                        "2",   NULL};
    REQUIRE(parse(&c, CLI_SUB, ok, err, sizeof err) == 0);
    CHECK_EQ_INT(c.topic_count, 2);
    CHECK_EQ_INT(c.filter_out_count, 1);
    CHECK_EQ_INT(c.msg_count, 3);
    CHECK_EQ_INT(c.timeout_s, 9);
    CHECK(c.verbose && !c.eol);
    CHECK_EQ_INT(c.unsub_count, 1);
    CHECK_EQ_INT(c.retain_handling, 2);
    const char *rr[] = {"rr", "-t", "req", "-e", "resp", "-m", "x", NULL};
    REQUIRE(parse(&c, CLI_RR, rr, err, sizeof err) == 0);
    CHECK(strcmp(c.topic, "req") == 0 && strcmp(c.response_topic, "resp") == 0);
    CHECK_EQ_INT(c.version, 5);
}

static void test_parse_connection_options(void)
{
    static struct cli_cfg c;
    char err[512] = "";
    struct tern_connect_options o;
    const char *psk[] = {"pub",
                         "-t",
                         "a",
                         "-m",
                         "x",
                         "--psk",
                         "beef",
                         "--psk-identity",
                         "id",
                         "--ciphers",
                         "PSK-AES128-GCM-SHA256",
                         "--unix",
                         "/run/m.sock",
                         "--nodelay",
                         "--tls-alpn",
                         "mqtt",
                         NULL};
    REQUIRE(parse(&c, CLI_PUB, psk, err, sizeof err) == 0);
    cli_connect_options(&c, &o);
    REQUIRE(o.tls != NULL);
    CHECK(strcmp(o.tls->psk_hex, "beef") == 0 && strcmp(o.tls->psk_identity, "id") == 0);
    CHECK(strcmp(o.tls->ciphers, "PSK-AES128-GCM-SHA256") == 0);
    CHECK(strcmp(o.tls->alpn, "mqtt") == 0);
    CHECK(strcmp(o.unix_path, "/run/m.sock") == 0);
    CHECK(o.tcp_nodelay);
    CHECK(o.reconnect == NULL); /* pub does not reconnect */

    const char *os[] = {"sub", "-t", "a", "--tls-use-os-certs", NULL};
    REQUIRE(parse(&c, CLI_SUB, os, err, sizeof err) == 0);
    cli_connect_options(&c, &o);
    REQUIRE(o.tls != NULL);
    CHECK(o.tls->use_os_certs && o.tls->psk_identity == NULL);
    CHECK(!o.tcp_nodelay);
    REQUIRE(o.reconnect != NULL); /* sub reconnects like mosquitto_sub */
    CHECK(o.reconnect->min_delay_ms > 0 && o.reconnect->max_delay_ms >= o.reconnect->min_delay_ms);

    const char *noid[] = {"pub", "-t", "a", "-m", "x", "--psk", "beef", NULL};
    CHECK_EQ_INT(parse(&c, CLI_PUB, noid, err, sizeof err), 1);
    CHECK(strncmp(err, "Error: --psk-identity required if --psk used.\n", 46) == 0);
    const char *both[] = {"pub",
                          "-t",
                          "a",
                          "-m",
                          "x",
                          "--psk",
                          "beef",
                          "--psk-identity",
                          "i",
                          "--capath",
                          "/etc/ssl/certs",
                          NULL};
    CHECK_EQ_INT(parse(&c, CLI_PUB, both, err, sizeof err), 1);
    CHECK(strstr(err, "Only one of --psk or --cafile/--capath") != NULL);
    const char *proxy[] = {
        "rr", "-t", "a", "-e", "b", "-m", "x", "--proxy", "socks5h://u:p@[::1]:1081", NULL};
    REQUIRE(parse(&c, CLI_RR, proxy, err, sizeof err) == 0);
    cli_connect_options(&c, &o);
    CHECK(o.proxy_url != NULL && strcmp(o.proxy_url, "socks5h://u:p@[::1]:1081") == 0);
}

/* --proxy URLs refused while parsing, with mosquitto_pub's messages. */
static void test_parse_proxy_errors(void)
{
    static struct cli_cfg c;
    static const struct {
        const char *url;
        const char *want;
    } cases[] = {
        {"http://h:1080", "Error: Unsupported proxy protocol: http://h:1080\n"},
        {"socks5h://", "Error: Invalid proxy.\n"},
        {"socks5h://u:p@", "Error: Invalid proxy.\n"},
        {"socks5h://h:0", "Error: Invalid proxy port 0\n"},
        {"socks5h://h:70000", "Error: Invalid proxy port 70000\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        const char *args[] = {"pub", "-t", "a", "-m", "x", "--proxy", cases[i].url, NULL};
        CHECK_EQ_INT(parse(&c, CLI_PUB, args, err, sizeof err), 1);
        CHECK(strncmp(err, cases[i].want, strlen(cases[i].want)) == 0);
        CHECK(strstr(err, "Use 'tern pub --help' to see usage.") != NULL);
    }
}

/* The -d line for one packet built independently with pkt.h. */
static const char *debug_line(struct cli_cfg *c, bool sent, const struct pkt *p)
{
    static char out[512];
    memset(out, 0, sizeof out);
    FILE *f = fmemopen(out, sizeof out, "w");
    cli_debug_packet(c, f, sent, p->data, p->len);
    fclose(f);
    return out;
}

static void test_debug_lines(void)
{
    static struct cli_cfg c;
    memset(&c, 0, sizeof c);
    c.id = "X";
    c.version = 4;
    struct pkt p;
    pkt_init(&p);
    pkt_publish(&p, 4, "a/b", "hello", 0, 1, 0);
    CHECK(strcmp(debug_line(&c, true, &p),
                 "Client X sending PUBLISH (d0, q0, r1, m1, 'a/b', ... (5 bytes))\n") == 0);
    CHECK(strcmp(debug_line(&c, true, &p),
                 "Client X sending PUBLISH (d0, q0, r1, m2, 'a/b', ... (5 bytes))\n") == 0);
    CHECK(strcmp(debug_line(&c, false, &p),
                 "Client X received PUBLISH (d0, q0, r1, m0, 'a/b', ... (5 bytes))\n") == 0);
    pkt_reset(&p);
    pkt_publish(&p, 4, "t", "", 2, 0, 7);
    CHECK(strcmp(debug_line(&c, true, &p),
                 "Client X sending PUBLISH (d0, q2, r0, m7, 't', ... (0 bytes))\n") == 0);
    pkt_reset(&p);
    pkt_ack(&p, 4, 3); /* PUBACK */
    CHECK(strcmp(debug_line(&c, false, &p), "Client X received PUBACK (Mid: 3, RC:0)\n") == 0);
    CHECK(strcmp(debug_line(&c, true, &p), "Client X sending PUBACK (m3, rc0)\n") == 0);
    pkt_reset(&p);
    pkt_ack(&p, 5, 4); /* PUBREC */
    CHECK(strcmp(debug_line(&c, false, &p), "Client X received PUBREC (Mid: 4)\n") == 0);
    pkt_reset(&p);
    pkt_ack(&p, 6, 4); /* PUBREL */
    CHECK(strcmp(debug_line(&c, true, &p), "Client X sending PUBREL (m4)\n") == 0);
    pkt_reset(&p);
    pkt_subscribe(&p, 4, 9, "x/#", 1);
    CHECK(strcmp(debug_line(&c, true, &p),
                 "Client X sending SUBSCRIBE (Mid: 9, Topic: x/#, QoS: 1, Options: 0x00)\n") == 0);
    pkt_reset(&p);
    pkt_connect(&p, 4, "X", 60, 1);
    CHECK(strcmp(debug_line(&c, true, &p), "Client X sending CONNECT\n") == 0);
    pkt_reset(&p);
    pkt_pingreq(&p);
    CHECK(strcmp(debug_line(&c, true, &p), "Client X sending PINGREQ\n") == 0);
    c.version = 5;
    pkt_reset(&p);
    pkt_disconnect(&p, 5, 0x8E);
    CHECK(strcmp(debug_line(&c, false, &p), "Received DISCONNECT (142)\n") == 0);
    pkt_free(&p);
}

UNIT_MAIN(UNIT_TEST(test_default_and_verbose), UNIT_TEST(test_fields_width_precision),
          UNIT_TEST(test_time_fields), UNIT_TEST(test_properties), UNIT_TEST(test_json),
          UNIT_TEST(test_parse_pub), UNIT_TEST(test_parse_errors),
          UNIT_TEST(test_parse_mosquitto_rules), UNIT_TEST(test_parse_sub),
          UNIT_TEST(test_parse_connection_options), UNIT_TEST(test_parse_proxy_errors),
          UNIT_TEST(test_debug_lines))
