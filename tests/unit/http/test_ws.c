/* The WebSocket transport with a client written here (it masks every frame, RFC 6455 5.3): the
 * upgrade through http_conn, MQTT-like bytes split across frames and several packets in one
 * frame read back exactly, fragmentation with a ping in between, ping -> pong, the close
 * handshake, and refusals: unmasked frame (1002), text frame (1003), oversize message (1009). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "http_fixture.h"
#include "loop.h"
#include "transport.h"
#include "transport_ws.h"
#include "unit.h"

#define UPGRADE                                                                                    \
    "GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"               \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"                 \
    "Sec-WebSocket-Protocol: mqtt\r\n\r\n"

/* Builds one client frame into out; returns its length. masked=0 makes an illegal one. */
static size_t frame(uint8_t *out, int fin, int opcode, const void *payload, size_t len, int masked)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = 0;
    out[h++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    uint8_t m = masked ? 0x80 : 0;
    if (len < 126) {
        out[h++] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        out[h++] = m | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (masked) {
        memcpy(out + h, key, 4);
        h += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[h + i] = (uint8_t)(((const uint8_t *)payload)[i] ^ (masked ? key[i % 4] : 0));
    return h + len;
}

/* Reads one server frame: checks it is unmasked; returns the opcode, payload in out. */
static int read_frame(struct fixture *f, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t h[10];
    if (fixture_recv_exact(f, h, 2) != 0)
        return -1;
    if (h[1] & 0x80)
        return -2; /* server frames must not be masked */
    uint64_t n = h[1] & 0x7f;
    if (n == 126) {
        if (fixture_recv_exact(f, h + 2, 2) != 0)
            return -1;
        n = (uint64_t)h[2] << 8 | h[3];
    } else if (n == 127) {
        if (fixture_recv_exact(f, h + 2, 8) != 0)
            return -1;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | h[2 + i];
    }
    if (n > cap || fixture_recv_exact(f, out, (size_t)n) != 0)
        return -1;
    *len = (size_t)n;
    return h[0] & 0x0f;
}

/* Upgrades the fixture's connection; optionally with frames sent in the same write. */
static struct transport *upgrade(struct fixture *f, const uint8_t *early, size_t early_len,
                                 size_t max_msg)
{
    uint8_t req[4096];
    char resp[1024];
    size_t n = strlen(UPGRADE);
    memcpy(req, UPGRADE, n);
    if (early_len)
        memcpy(req + n, early, early_len);
    if (fixture_init(f) != 0)
        return NULL;
    f->opts.ws_enabled = true;
    f->opts.ws_path = "/mqtt";
    f->opts.ws_max_msg_len = max_msg;
    if (fixture_start(f) != 0)
        return NULL;
    fixture_send(f, req, n + early_len);
    if (fixture_pump(f) != HTTP_CONN_UPGRADED)
        return NULL;
    if (strcmp(http_conn_ws_protocol(f->c), "mqtt") != 0)
        return NULL;
    struct transport *t = http_conn_take_ws(f->c);
    if (t == NULL)
        return NULL;
    /* The 101 went out before any frame. */
    char *end = NULL;
    size_t got = 0;
    while (end == NULL && got + 1 < sizeof resp) {
        if (fixture_recv_exact(f, resp + got, 1) != 0)
            break;
        resp[++got] = '\0';
        end = strstr(resp, "\r\n\r\n");
    }
    if (end == NULL || strncmp(resp, "HTTP/1.1 101 Switching Protocols\r\n", 34) != 0 ||
        strstr(resp, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") == NULL ||
        strstr(resp, "Sec-WebSocket-Protocol: mqtt\r\n") == NULL ||
        strstr(resp, "Content-Length") != NULL) {
        t->ops->close(t);
        return NULL;
    }
    return t;
}

static void done(struct fixture *f, struct transport *t)
{
    if (t)
        t->ops->close(t);
    fixture_deinit(f);
}

/* Reads from the ws transport until want bytes arrived or it stops giving any. */
static size_t read_all(struct transport *t, uint8_t *out, size_t want, size_t chunk)
{
    size_t got = 0;
    int idle = 0;
    while (got < want && idle < 100) {
        size_t ask = want - got < chunk ? want - got : chunk;
        long n = t->ops->read(t, out + got, ask);
        if (n > 0) {
            got += (size_t)n;
            idle = 0;
        } else if (n == TERN_EAGAIN) {
            idle++;
        } else {
            break;
        }
    }
    return got;
}

static void test_stream_across_frames(void)
{
    struct fixture f;
    /* Three "MQTT packets": PINGREQ, a PUBLISH split over three frames, and DISCONNECT, with
     * the first two and the tail sharing frames [MQTT-6.0.0-2]. */
    const uint8_t pingreq[] = {0xc0, 0x00};
    const uint8_t publish[] = {0x30, 0x0a, 0x00, 0x03, 'a', '/', 'b', 'h', 'e', 'l', 'l', 'o'};
    const uint8_t disconnect[] = {0xe0, 0x00};
    uint8_t stream[sizeof pingreq + sizeof publish + sizeof disconnect];
    memcpy(stream, pingreq, 2);
    memcpy(stream + 2, publish, sizeof publish);
    memcpy(stream + 2 + sizeof publish, disconnect, 2);
    uint8_t wire[256];
    size_t w = 0;
    w += frame(wire + w, 1, 2, stream, 5, 1);                     /* PINGREQ + 3 bytes of PUBLISH */
    w += frame(wire + w, 1, 2, stream + 5, 4, 1);                 /* middle of PUBLISH */
    w += frame(wire + w, 1, 2, stream + 9, sizeof stream - 9, 1); /* rest + DISCONNECT */
    /* The first frame arrives with the upgrade request itself. */
    struct transport *t = upgrade(&f, wire, 7, 1 << 20);
    REQUIRE(t != NULL);
    fixture_send(&f, wire + 7, w - 7);
    uint8_t got[64];
    CHECK_EQ_INT(read_all(t, got, sizeof stream, 3), sizeof stream); /* small reads */
    CHECK_MEM(got, sizeof stream, stream, sizeof stream);
    CHECK_EQ_INT(t->ops->read(t, got, sizeof got), TERN_EAGAIN);
    /* Several packets in one frame, read with a big buffer. */
    w = frame(wire, 1, 2, stream, sizeof stream, 1);
    fixture_send(&f, wire, w);
    CHECK_EQ_INT(read_all(t, got, sizeof stream, sizeof got), sizeof stream);
    CHECK_MEM(got, sizeof stream, stream, sizeof stream);
    done(&f, t);
}

static void test_fragmented_with_ping(void)
{
    struct fixture f;
    struct transport *t = upgrade(&f, NULL, 0, 1 << 20);
    REQUIRE(t != NULL);
    uint8_t wire[256], got[64], fr[64];
    size_t w = 0, n;
    w += frame(wire + w, 0, 2, "abc", 3, 1);  /* binary, not final */
    w += frame(wire + w, 1, 9, "pp", 2, 1);   /* ping in between (allowed, RFC 6455 5.4) */
    w += frame(wire + w, 0, 0, "defg", 4, 1); /* continuation */
    w += frame(wire + w, 1, 0, "h", 1, 1);    /* final continuation */
    fixture_send(&f, wire, w);
    CHECK_EQ_INT(read_all(t, got, 8, sizeof got), 8);
    CHECK_MEM(got, 8, "abcdefgh", 8);
    CHECK_EQ_INT(read_frame(&f, fr, sizeof fr, &n), 10); /* pong, same payload */
    CHECK_MEM(fr, n, "pp", 2);
    done(&f, t);
}

static void test_ping_pong_and_close(void)
{
    struct fixture f;
    struct transport *t = upgrade(&f, NULL, 0, 1 << 20);
    REQUIRE(t != NULL);
    uint8_t wire[64], got[16], fr[64];
    size_t n;
    fixture_send(&f, wire, frame(wire, 1, 9, "hi", 2, 1));
    CHECK_EQ_INT(t->ops->read(t, got, sizeof got), TERN_EAGAIN); /* no payload, not closed */
    CHECK_EQ_INT(read_frame(&f, fr, sizeof fr, &n), 10);
    CHECK_MEM(fr, n, "hi", 2);
    /* Close handshake: the client closes with 1000, the server answers and read gives 0. */
    const uint8_t code[] = {0x03, 0xe8, 'b', 'y', 'e'};
    fixture_send(&f, wire, frame(wire, 1, 8, code, sizeof code, 1));
    CHECK_EQ_INT(t->ops->read(t, got, sizeof got), 0);
    CHECK_EQ_INT(transport_ws_peer_close_code(t), 1000);
    CHECK_EQ_INT(read_frame(&f, fr, sizeof fr, &n), 8);
    CHECK(n >= 2 && fr[0] == 0x03 && fr[1] == 0xe8);
    struct iovec iov = {"x", 1};
    CHECK_EQ_INT(t->ops->writev(t, &iov, 1), TERN_ECLOSED);
    done(&f, t);
}

/* Sends bad, expects a close frame with code and read() failing. */
static void expect_refusal(const uint8_t *bad, size_t len, size_t max_msg, unsigned code)
{
    struct fixture f;
    struct transport *t = upgrade(&f, NULL, 0, max_msg);
    REQUIRE(t != NULL);
    uint8_t got[64], fr[64];
    size_t n;
    fixture_send(&f, bad, len);
    long r = 0;
    for (int i = 0; i < 10 && (r == 0 || r == TERN_EAGAIN || r > 0); i++)
        r = t->ops->read(t, got, sizeof got);
    CHECK_EQ_INT(r, TERN_EPROTO);
    CHECK_EQ_INT(read_frame(&f, fr, sizeof fr, &n), 8);
    CHECK(n >= 2);
    CHECK_EQ_INT(n >= 2 ? (unsigned)(fr[0] << 8 | fr[1]) : 0, code);
    CHECK(!(t->ops->wants(t) & LOOP_WRITE));
    done(&f, t);
}

static void test_refusals(void)
{
    uint8_t wire[300], payload[200];
    memset(payload, 0x42, sizeof payload);
    expect_refusal(wire, frame(wire, 1, 2, "abc", 3, 0), 1 << 20, WS_CLOSE_PROTOCOL);
    expect_refusal(wire, frame(wire, 1, 1, "text", 4, 1), 1 << 20, WS_CLOSE_UNSUPPORTED);
    expect_refusal(wire, frame(wire, 1, 2, payload, 200, 1), 100, WS_CLOSE_TOO_BIG);
    /* Fragments that together exceed the cap. */
    size_t w = frame(wire, 0, 2, payload, 60, 1);
    w += frame(wire + w, 1, 0, payload, 60, 1);
    expect_refusal(wire, w, 100, WS_CLOSE_TOO_BIG);
    /* A continuation with no message started, and a reserved opcode. */
    expect_refusal(wire, frame(wire, 1, 0, "x", 1, 1), 1 << 20, WS_CLOSE_PROTOCOL);
    expect_refusal(wire, frame(wire, 1, 3, "x", 1, 1), 1 << 20, WS_CLOSE_PROTOCOL);
}

static void test_server_writes(void)
{
    struct fixture f;
    struct transport *t = upgrade(&f, NULL, 0, 1 << 20);
    REQUIRE(t != NULL);
    static uint8_t big[70000], fr[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    size_t n;
    struct iovec iov[2] = {{"\x20\x02", 2}, {"\x00\x00", 2}}; /* a CONNACK in two pieces */
    CHECK_EQ_INT(t->ops->writev(t, iov, 2), 4);
    CHECK_EQ_INT(read_frame(&f, fr, sizeof fr, &n), 2); /* one binary frame */
    CHECK_MEM(fr, n, "\x20\x02\x00\x00", 4);
    struct iovec one = {big, 300};
    CHECK_EQ_INT(t->ops->writev(t, &one, 1), 300); /* 16-bit length form */
    CHECK_EQ_INT(read_frame(&f, fr, sizeof fr, &n), 2);
    CHECK_MEM(fr, n, big, 300);
    one.iov_len = sizeof big; /* 64-bit length form */
    long w = t->ops->writev(t, &one, 1);
    CHECK_EQ_INT(w, sizeof big);
    /* The socketpair may not take 70000 bytes at once: flush as wants() asks. */
    size_t got = 0;
    int rc = -1;
    for (int i = 0; i < 100 && rc < 0; i++) {
        if (t->ops->wants(t) & LOOP_WRITE)
            t->ops->writev(t, NULL, 0);
        rc = read_frame(&f, fr, sizeof fr, &got);
    }
    CHECK_EQ_INT(rc, 2);
    CHECK_MEM(fr, got, big, sizeof big);
    CHECK_EQ_INT(t->ops->writev(t, NULL, 0), 0);
    done(&f, t);
}

static void test_upgrade_refused(void)
{
    struct fixture f;
    char out[2048];
    REQUIRE(fixture_init(&f) == 0);
    f.opts.ws_enabled = true;
    REQUIRE(fixture_start(&f) == 0);
    const char *chat = "GET /mqtt HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
    fixture_send(&f, chat, strlen(chat));
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_CLOSED);
    fixture_recv(&f, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
    fixture_deinit(&f);
    /* With WebSockets off, an upgrade request is plain HTTP (404 here) and the end. */
    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    fixture_send(&f, UPGRADE, strlen(UPGRADE));
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_CLOSED);
    fixture_recv(&f, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 404 ", 13) == 0);
    fixture_deinit(&f);
}

UNIT_MAIN(UNIT_TEST(test_stream_across_frames), UNIT_TEST(test_fragmented_with_ping),
          UNIT_TEST(test_ping_pong_and_close), UNIT_TEST(test_refusals),
          UNIT_TEST(test_server_writes), UNIT_TEST(test_upgrade_refused))
