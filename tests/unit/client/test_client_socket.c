/* libtern over real sockets against a fake server written here (a loopback TCP or Unix domain
 * listener that reads packets and answers with bytes from tests/support/pkt.h): automatic
 * reconnect with exponential backoff and jitter, queued publishes surviving a reconnect, Unix
 * domain sockets, TCP_NODELAY on request, the on_packet trace hook and the SOCKS5 handshake
 * (the fake server then plays the proxy, answering in single bytes). Time is injected through
 * tern_client_tick(), so backoff delays are checked exactly; the only waits are poll() on sockets.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client_net.h"
#include "pkt.h"
#include "tern.h"
#include "unit.h"

#define WAIT_MS 5000

struct events {
    int connacks;
    bool session_present;
    int disconnects;
    int disconnect_err;
    int published;
    int messages;
    int traced_sent;
    int traced_received;
    uint8_t first_sent_type;
    uint8_t last_received_type;
};

static void on_connack(struct tern_client *c, void *ud, bool sp, uint8_t reason,
                       const struct tern_props *props)
{
    struct events *e = ud;
    (void)c;
    (void)reason;
    (void)props;
    e->connacks++;
    e->session_present = sp;
}

static void on_disconnect(struct tern_client *c, void *ud, int err, uint8_t reason,
                          const struct tern_props *props)
{
    struct events *e = ud;
    (void)c;
    (void)reason;
    (void)props;
    e->disconnects++;
    e->disconnect_err = err;
}

static void on_publish(struct tern_client *c, void *ud, uint16_t id, uint8_t reason,
                       const struct tern_props *props)
{
    struct events *e = ud;
    (void)c;
    (void)id;
    (void)reason;
    (void)props;
    e->published++;
}

static void on_packet(struct tern_client *c, void *ud, bool sent, const uint8_t *data, size_t len)
{
    struct events *e = ud;
    (void)c;
    if (len == 0)
        return;
    if (sent) {
        if (e->traced_sent++ == 0)
            e->first_sent_type = data[0] >> 4;
    } else {
        e->traced_received++;
        e->last_received_type = data[0] >> 4;
    }
}

static const struct tern_callbacks callbacks = {
    .on_connack = on_connack,
    .on_disconnect = on_disconnect,
    .on_publish = on_publish,
    .on_packet = on_packet,
};

static bool output_written(struct tern_client *c)
{
    return !tern_client_wants_write(c) && !tern_client_is_closed(c);
}

static bool is_connected(struct tern_client *c)
{
    return tern_client_is_connected(c);
}

static bool is_closed(struct tern_client *c)
{
    return tern_client_is_closed(c);
}

/* Reads exactly want.len bytes from fd and compares them with want. */
static bool read_exact(int fd, const struct pkt *want)
{
    uint8_t buf[512];
    size_t got = 0;
    while (got < want->len && got < sizeof buf) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, WAIT_MS) <= 0)
            return false;
        ssize_t n = read(fd, buf + got, want->len - got);
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return got == want->len && memcmp(buf, want->data, got) == 0;
}

/* The server side of one connection attempt: accept, expect CONNECT, then either answer
 * CONNACK (returns the connection) or close at once (returns -1). */
static int serve_attempt(struct tern_client *c, int lfd, bool accept_it, uint8_t session_present)
{
    if (!client_net_pump(c, output_written))
        return -2;
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return -2;
    struct pkt want;
    pkt_init(&want);
    pkt_connect(&want, 4, "rc", 0, 1);
    bool ok = read_exact(fd, &want);
    pkt_free(&want);
    if (!ok || !accept_it) {
        close(fd);
        return ok ? -1 : -2;
    }
    uint8_t connack[4] = {0x20, 2, session_present, 0};
    if (write(fd, connack, sizeof connack) != (ssize_t)sizeof connack) {
        close(fd);
        return -2;
    }
    return fd;
}

static struct tern_client *connect_to(struct events *e, uint16_t port,
                                      const struct tern_reconnect_options *r, uint64_t now)
{
    memset(e, 0, sizeof *e);
    struct tern_connect_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = port;
    o.client_id = "rc";
    o.clean_start = true;
    o.reconnect = r;
    struct tern_client *c = tern_client_new(&callbacks, e);
    if (c && tern_client_connect(c, &o, now) != 0) {
        tern_client_free(c);
        return NULL;
    }
    return c;
}

static void test_backoff_doubles_caps_and_resets(void)
{
    uint16_t port;
    int lfd = client_net_listen(&port);
    REQUIRE(lfd >= 0);
    struct tern_reconnect_options r = {100, 400, false};
    struct events e;
    struct tern_client *c = connect_to(&e, port, &r, 1000);
    REQUIRE(c);
    int fd = serve_attempt(c, lfd, true, 0);
    REQUIRE(fd >= 0);
    REQUIRE(client_net_pump(c, is_connected));
    CHECK(!tern_client_is_reconnecting(c));

    /* The server goes away: the client schedules a reconnect after min_delay_ms. */
    close(fd);
    REQUIRE(client_net_pump(c, is_closed));
    CHECK_EQ_INT(e.disconnects, 1);
    CHECK_EQ_INT(e.disconnect_err, TERN_ERROR_CLOSED);
    CHECK(tern_client_is_reconnecting(c));
    CHECK_EQ_INT(tern_client_next_timeout_ms(c), 100);
    CHECK_EQ_INT(tern_client_tick(c, 1099), 0);
    CHECK_EQ_INT(tern_client_fd(c), -1);

    /* Attempts that end before CONNACK double the delay up to max_delay_ms. */
    uint64_t now = 1100;
    static const int64_t next[] = {200, 400, 400};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(tern_client_tick(c, now), 0);
        REQUIRE(tern_client_fd(c) >= 0);
        CHECK(!tern_client_is_reconnecting(c));
        CHECK_EQ_INT(serve_attempt(c, lfd, false, 0), -1);
        REQUIRE(client_net_pump(c, is_closed));
        CHECK(tern_client_is_reconnecting(c));
        CHECK_EQ_INT(tern_client_next_timeout_ms(c), next[i]);
        now += (uint64_t)next[i];
    }
    CHECK_EQ_INT(e.connacks, 1);

    /* A CONNACK resets the backoff. */
    CHECK_EQ_INT(tern_client_tick(c, now), 0);
    fd = serve_attempt(c, lfd, true, 0);
    REQUIRE(fd >= 0);
    REQUIRE(client_net_pump(c, is_connected));
    CHECK_EQ_INT(e.connacks, 2);
    close(fd);
    REQUIRE(client_net_pump(c, is_closed));
    CHECK_EQ_INT(tern_client_next_timeout_ms(c), 100);

    /* tern_client_disconnect() cancels a scheduled reconnect. */
    CHECK_EQ_INT(tern_client_disconnect(c, 0, NULL), 0);
    CHECK(!tern_client_is_reconnecting(c));
    CHECK_EQ_INT(tern_client_next_timeout_ms(c), -1);
    CHECK_EQ_INT(tern_client_tick(c, now + 100000), 0);
    CHECK_EQ_INT(tern_client_fd(c), -1);
    tern_client_free(c);
    close(lfd);
}

static void test_no_reconnect_before_first_connack_or_after_own_disconnect(void)
{
    uint16_t port;
    int lfd = client_net_listen(&port);
    REQUIRE(lfd >= 0);
    struct tern_reconnect_options r = {100, 400, false};
    struct events e;
    struct tern_client *c = connect_to(&e, port, &r, 0);
    REQUIRE(c);
    /* The first connection never got a CONNACK: nothing to keep alive. */
    CHECK_EQ_INT(serve_attempt(c, lfd, false, 0), -1);
    REQUIRE(client_net_pump(c, is_closed));
    CHECK(!tern_client_is_reconnecting(c));
    CHECK_EQ_INT(tern_client_next_timeout_ms(c), -1);

    /* Our own DISCONNECT is final. */
    REQUIRE(tern_client_reconnect(c, 0) == 0);
    int fd = serve_attempt(c, lfd, true, 0);
    REQUIRE(fd >= 0);
    REQUIRE(client_net_pump(c, is_connected));
    CHECK_EQ_INT(tern_client_disconnect(c, 0, NULL), 0);
    REQUIRE(client_net_pump(c, is_closed));
    CHECK_EQ_INT(e.disconnect_err, 0);
    CHECK(!tern_client_is_reconnecting(c));
    close(fd);
    tern_client_free(c);
    close(lfd);
}

static void test_unacked_publish_resent_after_reconnect(void)
{
    uint16_t port;
    int lfd = client_net_listen(&port);
    REQUIRE(lfd >= 0);
    struct tern_reconnect_options r = {50, 50, false};
    struct events e;
    struct tern_client *c = connect_to(&e, port, &r, 0);
    REQUIRE(c);
    int fd = serve_attempt(c, lfd, true, 0);
    REQUIRE(fd >= 0);
    REQUIRE(client_net_pump(c, is_connected));
    uint16_t id = 0;
    REQUIRE(tern_client_publish(c, "t", tern_str_of("m"), 1, false, NULL, &id) == 0);
    REQUIRE(client_net_pump(c, output_written));
    struct pkt want;
    pkt_init(&want);
    pkt_publish(&want, 4, "t", "m", 1, 0, id);
    CHECK(read_exact(fd, &want));
    close(fd); /* no PUBACK */
    REQUIRE(client_net_pump(c, is_closed));
    CHECK(tern_client_is_pending(c, id));
    REQUIRE(tern_client_tick(c, 50) == 0);
    fd = serve_attempt(c, lfd, true, 1);
    REQUIRE(fd >= 0);
    REQUIRE(client_net_pump(c, is_connected));
    CHECK(e.session_present);
    /* Resent with DUP [MQTT-3.3.1-1] and the same packet id; the PUBACK completes it. */
    REQUIRE(client_net_pump(c, output_written));
    pkt_reset(&want);
    pkt_publish(&want, 4, "t", "m", 1, 0, id);
    want.data[0] |= 0x08;
    CHECK(read_exact(fd, &want));
    uint8_t puback[4] = {0x40, 2, (uint8_t)(id >> 8), (uint8_t)id};
    CHECK(write(fd, puback, sizeof puback) == (ssize_t)sizeof puback);
    struct pollfd p = {tern_client_fd(c), POLLIN, 0};
    CHECK(poll(&p, 1, WAIT_MS) == 1);
    CHECK_EQ_INT(tern_client_on_readable(c), 0);
    CHECK_EQ_INT(e.published, 1);
    CHECK(!tern_client_is_pending(c, id));
    pkt_free(&want);
    close(fd);
    tern_client_free(c);
    close(lfd);
}

static void stop_on_message(struct tern_client *c, void *ud, const struct tern_message *msg)
{
    struct events *e = ud;
    (void)msg;
    e->messages++;
    tern_client_stop(c);
}

/* tern_client_stop() from a callback during tern_client_publish_blocking() must not make it
 * report success while the QoS 1 message is unacknowledged: it waits on (here until its
 * timeout, as the PUBACK comes only afterwards) and the stop is kept for tern_client_run. */
static void test_stop_during_publish_blocking_keeps_waiting(void)
{
    uint16_t port;
    int lfd = client_net_listen(&port);
    REQUIRE(lfd >= 0);
    struct events e;
    memset(&e, 0, sizeof e);
    struct tern_callbacks cb = callbacks;
    cb.on_message = stop_on_message;
    struct tern_client *c = tern_client_new(&cb, &e);
    REQUIRE(c);
    struct tern_connect_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = port;
    o.client_id = "rc";
    o.clean_start = true;
    REQUIRE(tern_client_connect(c, &o, 0) == 0);
    int fd = serve_attempt(c, lfd, true, 0);
    REQUIRE(fd >= 0);
    REQUIRE(client_net_pump(c, is_connected));
    /* A message waiting in the socket: its on_message runs inside publish_blocking. */
    struct pkt in;
    pkt_init(&in);
    pkt_publish(&in, 4, "in", "x", 0, 0, 0);
    REQUIRE(write(fd, in.data, in.len) == (ssize_t)in.len);
    pkt_free(&in);
    int rc = tern_client_publish_blocking(c, "t", tern_str_of("m"), 1, false, NULL, 300);
    CHECK_EQ_INT(e.messages, 1);
    CHECK_EQ_INT(rc, TERN_ERROR_TIMEDOUT);
    CHECK_EQ_INT(tern_client_pending(c), 1);
    CHECK(tern_client_is_pending(c, 1));
    CHECK_EQ_INT(e.published, 0);
    /* The stop request was kept: tern_client_run returns at once, with the message pending. */
    CHECK_EQ_INT(tern_client_run(c, 5000), 0);
    CHECK(tern_client_is_pending(c, 1));
    /* The PUBACK completes it. */
    uint8_t puback[4] = {0x40, 2, 0, 1};
    CHECK(write(fd, puback, sizeof puback) == (ssize_t)sizeof puback);
    struct pollfd p = {tern_client_fd(c), POLLIN, 0};
    CHECK(poll(&p, 1, WAIT_MS) == 1);
    CHECK_EQ_INT(tern_client_on_readable(c), 0);
    CHECK_EQ_INT(e.published, 1);
    CHECK(!tern_client_is_pending(c, 1));
    close(fd);
    tern_client_free(c);
    close(lfd);
}

static void test_jitter_stays_within_half_to_full_delay(void)
{
    uint16_t port;
    int lfd = client_net_listen(&port);
    REQUIRE(lfd >= 0);
    struct tern_reconnect_options r = {1000, 1000, true};
    struct events e;
    struct tern_client *c = connect_to(&e, port, &r, 0);
    REQUIRE(c);
    uint64_t now = 0;
    bool varied = false;
    int64_t first = -1;
    for (int i = 0; i < 12; i++) {
        int fd = serve_attempt(c, lfd, true, 0);
        REQUIRE(fd >= 0);
        REQUIRE(client_net_pump(c, is_connected));
        close(fd);
        REQUIRE(client_net_pump(c, is_closed));
        int64_t d = tern_client_next_timeout_ms(c);
        CHECK(d >= 500 && d <= 1000);
        if (first < 0)
            first = d;
        varied = varied || d != first;
        now += (uint64_t)d;
        REQUIRE(tern_client_tick(c, now) == 0);
    }
    CHECK(varied);
    tern_client_free(c);
    close(lfd);
}

static void test_unix_socket_and_trace(void)
{
    char path[108];
    snprintf(path, sizeof path, "/tmp/tern-unit-%d.sock", (int)getpid());
    unlink(path);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    REQUIRE(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(lfd, 4) == 0);
    struct events e;
    memset(&e, 0, sizeof e);
    struct tern_connect_options o;
    memset(&o, 0, sizeof o);
    o.host = "unused.invalid"; /* the Unix path wins: no name lookup */
    o.unix_path = path;
    o.client_id = "rc";
    o.clean_start = true;
    struct tern_client *c = tern_client_new(&callbacks, &e);
    REQUIRE(c);
    REQUIRE(tern_client_connect(c, &o, 0) == 0);
    CHECK_EQ_INT(e.traced_sent, 1);
    CHECK_EQ_INT(e.first_sent_type, 1); /* CONNECT */
    int fd = serve_attempt(c, lfd, true, 0);
    CHECK(fd >= 0);
    CHECK(client_net_pump(c, is_connected));
    CHECK_EQ_INT(e.traced_received, 1);
    CHECK_EQ_INT(e.last_received_type, 2); /* CONNACK */
    if (fd >= 0)
        close(fd);
    tern_client_free(c);
    close(lfd);
    unlink(path);

    /* Nothing listening on the path: the connect fails at once. */
    c = tern_client_new(&callbacks, &e);
    REQUIRE(c);
    CHECK_EQ_INT(tern_client_connect(c, &o, 0), TERN_ERROR_CLOSED);
    tern_client_free(c);
}

static int nodelay_of(uint16_t port, bool nodelay)
{
    struct events e;
    memset(&e, 0, sizeof e);
    struct tern_connect_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = port;
    o.client_id = "nd";
    o.clean_start = true;
    o.tcp_nodelay = nodelay;
    struct tern_client *c = tern_client_new(&callbacks, &e);
    if (!c || tern_client_connect(c, &o, 0) != 0) {
        tern_client_free(c);
        return -1;
    }
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(tern_client_fd(c), IPPROTO_TCP, TCP_NODELAY, &v, &len) != 0)
        v = -1;
    tern_client_free(c);
    return v;
}

static void test_nodelay_only_when_asked(void)
{
    uint16_t port;
    int lfd = client_net_listen(&port);
    REQUIRE(lfd >= 0);
    CHECK_EQ_INT(nodelay_of(port, false), 0);
    CHECK(nodelay_of(port, true) > 0);
    close(lfd);
}

/* ---- SOCKS5 ---- */

/* Writes data to fd one byte at a time, letting the client read after each byte: the handshake
 * must survive replies split anywhere. False when the client closed or failed meanwhile. */
static bool trickle(struct tern_client *c, int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        if (write(fd, p + i, 1) != 1)
            return false;
        struct pollfd pfd = {tern_client_fd(c), POLLIN, 0};
        if (poll(&pfd, 1, WAIT_MS) != 1)
            return false;
        tern_client_on_readable(c);
        if (tern_client_is_closed(c))
            return i + 1 == len; /* a refusal closes only after the whole reply */
    }
    return true;
}

static bool read_bytes(int fd, const void *want, size_t len)
{
    struct pkt p;
    pkt_init(&p);
    pkt_raw(&p, want, len);
    bool ok = read_exact(fd, &p);
    pkt_free(&p);
    return ok;
}

static struct tern_client *connect_via(struct events *e, const char *url, const char *host)
{
    memset(e, 0, sizeof *e);
    struct tern_connect_options o;
    memset(&o, 0, sizeof o);
    o.host = host;
    o.port = 1883;
    o.client_id = "rc";
    o.clean_start = true;
    o.proxy_url = url;
    struct tern_client *c = tern_client_new(&callbacks, e);
    if (c && tern_client_connect(c, &o, 0) != 0) {
        tern_client_free(c);
        return NULL;
    }
    return c;
}

static void test_socks5_handshake_in_pieces(void)
{
    uint16_t port;
    int lfd = client_net_listen(&port);
    REQUIRE(lfd >= 0);
    char url[96];
    snprintf(url, sizeof url, "socks5h://us:pw@127.0.0.1:%u", (unsigned)port);
    struct events e;
    struct tern_client *c = connect_via(&e, url, "broker.example");
    REQUIRE(c);
    CHECK(client_net_pump(c, output_written));
    int fd = accept(lfd, NULL, NULL);
    REQUIRE(fd >= 0);
    /* Greeting: version 5, methods "none" and "user name / password" (RFC 1928 section 3). */
    CHECK(read_bytes(fd, "\x05\x02\x00\x02", 4));
    CHECK(trickle(c, fd, "\x05\x02", 2));
    CHECK(client_net_pump(c, output_written));
    /* RFC 1929: version 1, user, password. */
    CHECK(read_bytes(fd, "\x01\x02us\x02pw", 7));
    CHECK(trickle(c, fd, "\x01\x00", 2));
    CHECK(client_net_pump(c, output_written));
    /* CONNECT with the name for the proxy to resolve (address type 3), port 1883. */
    CHECK(read_bytes(fd,
                     "\x05\x01\x00\x03\x0e"
                     "broker.example\x07\x5b",
                     21));
    CHECK(!tern_client_is_closed(c) && !tern_client_is_connected(c));
    /* The reply with a domain-name bound address, byte by byte; then MQTT goes through. */
    CHECK(trickle(c, fd,
                  "\x05\x00\x00\x03\x03"
                  "abc\x12\x34",
                  10));
    CHECK(client_net_pump(c, output_written));
    struct pkt want;
    pkt_init(&want);
    pkt_connect(&want, 4, "rc", 0, 1);
    CHECK(read_exact(fd, &want));
    pkt_free(&want);
    CHECK(write(fd, "\x20\x02\x00\x00", 4) == 4);
    CHECK(client_net_pump(c, is_connected));
    CHECK_EQ_INT(e.connacks, 1);
    close(fd);
    tern_client_free(c);
    close(lfd);
}

/* One refused handshake: the greeting expected, then `reply`; returns the close error. */
static int socks_refusal(const char *userinfo, const char *greeting, size_t glen, const char *reply,
                         size_t rlen, bool auth_step)
{
    uint16_t port;
    int lfd = client_net_listen(&port);
    if (lfd < 0)
        return 1;
    char url[96];
    snprintf(url, sizeof url, "socks5h://%s127.0.0.1:%u", userinfo, (unsigned)port);
    struct events e;
    struct tern_client *c = connect_via(&e, url, "10.1.2.3");
    int fd = c && client_net_pump(c, output_written) ? accept(lfd, NULL, NULL) : -1;
    int result = 1;
    if (fd >= 0 && read_bytes(fd, greeting, glen)) {
        if (auth_step && trickle(c, fd, "\x05\x02", 2) && client_net_pump(c, output_written))
            read_bytes(fd, "\x01\x01u\x01p", 5);
        if (trickle(c, fd, reply, rlen) && tern_client_is_closed(c) && e.disconnects == 1)
            result = e.disconnect_err;
    }
    if (fd >= 0)
        close(fd);
    tern_client_free(c);
    close(lfd);
    return result;
}

static void test_socks5_refusals_and_bad_urls(void)
{
    /* No acceptable method (0xFF). */
    CHECK_EQ_INT(socks_refusal("", "\x05\x01\x00", 3, "\x05\xff", 2, false), TERN_ERROR_PROXY_AUTH);
    /* The proxy picks user name / password, which we did not offer. */
    CHECK_EQ_INT(socks_refusal("", "\x05\x01\x00", 3, "\x05\x02", 2, false), TERN_ERROR_PROXY_AUTH);
    /* Wrong user name or password (RFC 1929 status 1). */
    CHECK_EQ_INT(socks_refusal("u:p@", "\x05\x02\x00\x02", 4, "\x01\x01", 2, true),
                 TERN_ERROR_PROXY);
    /* Not a SOCKS5 server. */
    CHECK_EQ_INT(socks_refusal("", "\x05\x01\x00", 3, "HT", 2, false), TERN_ERROR_PROTO);

    struct events e;
    const char *bad[] = {"http://127.0.0.1:1080", "socks5h://",      "socks5h://h:0",
                         "socks5h://h:65536",     "socks5h://h:12x", "socks5h://@h",
                         "socks5h://::1:1080",    "socks5h://[::1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tern_client *c = tern_client_new(&callbacks, &e);
        REQUIRE(c);
        struct tern_connect_options o;
        memset(&o, 0, sizeof o);
        o.host = "h";
        o.client_id = "rc";
        o.clean_start = true;
        o.proxy_url = bad[i];
        CHECK_EQ_INT(tern_client_connect(c, &o, 0), TERN_ERROR_INVAL);
        o.proxy_url = "socks5h://127.0.0.1:1";
        o.unix_path = "/nonexistent.sock"; /* a proxy needs TCP */
        CHECK_EQ_INT(tern_client_connect(c, &o, 0), TERN_ERROR_INVAL);
        tern_client_free(c);
    }
}

UNIT_MAIN(UNIT_TEST(test_socks5_handshake_in_pieces), UNIT_TEST(test_socks5_refusals_and_bad_urls),
          UNIT_TEST(test_backoff_doubles_caps_and_resets), UNIT_TEST(test_nodelay_only_when_asked),
          UNIT_TEST(test_no_reconnect_before_first_connack_or_after_own_disconnect),
          UNIT_TEST(test_unacked_publish_resent_after_reconnect),
          UNIT_TEST(test_jitter_stays_within_half_to_full_delay),
          UNIT_TEST(test_unix_socket_and_trace),
          UNIT_TEST(test_stop_during_publish_blocking_keeps_waiting))
