/* The raw MQTT test client: sockets, bounded receive, and a response parser written from the
 * spec's packet layouts, independent of src/codec. It parses only what a server sends; anything
 * else it reports as TCLIENT_BAD. Every wait is a poll() on the socket with a deadline. */
#include "tclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pkt.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tclient_reachable(const char *addr, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        len = sizeof *v6;
    } else {
        return 0;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

int tclient_have_loopback6(void)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

int tclient_open(struct tclient *c, int port, int version)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->version = version;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("client: socket");
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "client: connect to port %d: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    c->fd = fd;
    return 0;
}

void tclient_close(struct tclient *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
}

int tclient_send_raw(struct tclient *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int tclient_send(struct tclient *c, struct pkt *p)
{
    int rc = tclient_send_raw(c, p->data, p->len);
    pkt_reset(p);
    return rc;
}

/* Length of the whole packet at the start of buf, 0 if not all there yet, -1 if the Remaining
 * Length is malformed. */
static long whole_len(const uint8_t *buf, size_t len)
{
    uint32_t value = 0;
    for (size_t i = 1; i < 5; i++) {
        if (i >= len)
            return 0;
        value |= (uint32_t)(buf[i] & 0x7F) << (7 * (i - 1));
        if (!(buf[i] & 0x80)) {
            size_t total = i + 1 + value;
            return total <= len ? (long)total : 0;
        }
    }
    return -1;
}

static size_t header_len(const uint8_t *buf)
{
    size_t i = 1;
    while (buf[i] & 0x80)
        i++;
    return i + 1;
}

static int read_more(struct tclient *c, int timeout_ms)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int r = poll(&pfd, 1, timeout_ms);
    if (r < 0 && errno == EINTR)
        return 0;
    if (r <= 0)
        return TCLIENT_TIMEOUT;
    if (c->cap - c->len < 4096) {
        c->cap = c->cap ? c->cap * 2 : 8192;
        c->buf = realloc(c->buf, c->cap);
        if (!c->buf)
            abort();
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0)
        return TCLIENT_CLOSED;
    c->len += (size_t)n;
    return 0;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static int get_varint(const uint8_t *p, size_t n, uint32_t *out, size_t *used)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 4 && i < n; i++) {
        v |= (uint32_t)(p[i] & 0x7F) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            *used = i + 1;
            return 0;
        }
    }
    return -1;
}

/* Kinds of v5 property values, by identifier (MQTT 5.0 section 2.2.2.2). */
enum prop_kind { PK_BAD, PK_U8, PK_U16, PK_U32, PK_VAR, PK_STR, PK_PAIR };

static enum prop_kind prop_kind(uint8_t id)
{
    switch (id) {
    case 0x01:
    case 0x17:
    case 0x19:
    case 0x24:
    case 0x25:
    case 0x28:
    case 0x29:
    case 0x2A:
        return PK_U8;
    case 0x13:
    case 0x21:
    case 0x22:
    case 0x23:
        return PK_U16;
    case 0x02:
    case 0x11:
    case 0x18:
    case 0x27:
        return PK_U32;
    case 0x0B:
        return PK_VAR;
    case 0x03:
    case 0x08:
    case 0x09:
    case 0x12:
    case 0x15:
    case 0x16:
    case 0x1A:
    case 0x1C:
    case 0x1F:
        return PK_STR;
    case 0x26:
        return PK_PAIR;
    default:
        return PK_BAD;
    }
}

/* Parse one property at p (n bytes available) into out; returns bytes used or -1. */
static long parse_prop(const uint8_t *p, size_t n, struct tclient_prop *out)
{
    memset(out, 0, sizeof *out);
    out->id = p[0];
    size_t at = 1, used;
    switch (prop_kind(p[0])) {
    case PK_U8:
        if (n < 2)
            return -1;
        out->num = p[1];
        return 2;
    case PK_U16:
        if (n < 3)
            return -1;
        out->num = get16(p + 1);
        return 3;
    case PK_U32:
        if (n < 5)
            return -1;
        out->num = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
        return 5;
    case PK_VAR:
        if (get_varint(p + 1, n - 1, &out->num, &used) != 0)
            return -1;
        return (long)(1 + used);
    case PK_PAIR:
        if (n < 3 || n - 3 < get16(p + 1))
            return -1;
        out->data2 = p + 3;
        out->len2 = get16(p + 1);
        at = 3 + out->len2;
        /* The name came first: swap so data is the name and data2 the value. */
        if (n - at < 2 || n - at - 2 < get16(p + at))
            return -1;
        out->data = out->data2;
        out->len = out->len2;
        out->data2 = p + at + 2;
        out->len2 = get16(p + at);
        return (long)(at + 2 + out->len2);
    case PK_STR:
        if (n < 3 || n - 3 < get16(p + 1))
            return -1;
        out->data = p + 3;
        out->len = get16(p + 1);
        return (long)(3 + out->len);
    case PK_BAD:
        break;
    }
    return -1;
}

/* Parse a property block (length varint then properties) at p; returns bytes used or -1. */
static long parse_props(const uint8_t *p, size_t n, struct tclient_pkt *out)
{
    uint32_t plen;
    size_t used;
    if (get_varint(p, n, &plen, &used) != 0 || n - used < plen)
        return -1;
    size_t at = used, end = used + plen;
    while (at < end) {
        if (out->nprops == TCLIENT_MAX_PROPS)
            return -1;
        long k = parse_prop(p + at, end - at, &out->props[out->nprops++]);
        if (k < 0)
            return -1;
        at += (size_t)k;
    }
    return (long)end;
}

static int parse_publish(struct tclient_pkt *out, const uint8_t *b, size_t n, int v5)
{
    out->qos = (out->flags >> 1) & 3;
    out->retain = out->flags & 1;
    out->dup = (out->flags >> 3) & 1;
    if (n < 2 || n - 2 < get16(b))
        return -1;
    out->topic = b + 2;
    out->topic_len = get16(b);
    size_t at = 2 + out->topic_len;
    if (out->qos > 0) {
        if (n - at < 2)
            return -1;
        out->packet_id = get16(b + at);
        at += 2;
    }
    if (v5) {
        long k = parse_props(b + at, n - at, out);
        if (k < 0)
            return -1;
        at += (size_t)k;
    }
    out->payload = b + at;
    out->payload_len = n - at;
    return 0;
}

/* Packet id, optional v5 property block, then reason codes (SUBACK, UNSUBACK). */
static int parse_sub_ack(struct tclient_pkt *out, const uint8_t *b, size_t n, int v5)
{
    if (n < 2)
        return -1;
    out->packet_id = get16(b);
    size_t at = 2;
    if (v5) {
        long k = parse_props(b + at, n - at, out);
        if (k < 0)
            return -1;
        at += (size_t)k;
    }
    if (n - at > TCLIENT_MAX_CODES)
        return -1;
    out->ncodes = n - at;
    memcpy(out->codes, b + at, out->ncodes);
    return 0;
}

/* Optional reason code then optional property block (v5 DISCONNECT and AUTH, after the packet
 * id for the PUBLISH acknowledgements). */
static int parse_reason_props(struct tclient_pkt *out, const uint8_t *b, size_t n)
{
    if (n == 0)
        return 0;
    out->reason = b[0];
    if (n == 1)
        return 0;
    long k = parse_props(b + 1, n - 1, out);
    return k >= 0 && (size_t)k == n - 1 ? 0 : -1;
}

static int parse_body(struct tclient_pkt *out, const uint8_t *b, size_t n, int v5)
{
    switch (out->type) {
    case CT_CONNACK:
        if (n < 2 || (!v5 && n != 2))
            return -1;
        out->session_present = b[0] & 1;
        out->reason = b[1];
        return v5 && parse_props(b + 2, n - 2, out) != (long)(n - 2) ? -1 : 0;
    case CT_PUBLISH:
        return parse_publish(out, b, n, v5);
    case CT_PUBACK:
    case CT_PUBREC:
    case CT_PUBREL:
    case CT_PUBCOMP:
        if (n < 2 || (!v5 && n != 2))
            return -1;
        out->packet_id = get16(b);
        return parse_reason_props(out, b + 2, n - 2);
    case CT_SUBACK:
        return parse_sub_ack(out, b, n, v5);
    case CT_UNSUBACK:
        return v5 ? parse_sub_ack(out, b, n, 1) : (n == 2 ? parse_sub_ack(out, b, n, 0) : -1);
    case CT_PINGRESP:
        return n == 0 ? 0 : -1;
    case CT_DISCONNECT:
    case CT_AUTH:
        return v5 ? parse_reason_props(out, b, n) : -1;
    default:
        return -1;
    }
}

int tclient_recv(struct tclient *c, struct tclient_pkt *out, int timeout_ms)
{
    memset(out, 0, sizeof *out);
    long long deadline = now_ms() + timeout_ms;
    long total;
    while ((total = whole_len(c->buf, c->len)) == 0) {
        long long left = deadline - now_ms();
        int rc = read_more(c, left > 0 ? (int)left : 0);
        if (rc == TCLIENT_TIMEOUT && left > 0)
            continue;
        if (rc != 0)
            return rc;
    }
    if (total < 0) {
        fprintf(stderr, "client: malformed Remaining Length from server\n");
        return TCLIENT_BAD;
    }
    out->raw = malloc((size_t)total);
    if (!out->raw)
        abort();
    memcpy(out->raw, c->buf, (size_t)total);
    out->raw_len = (size_t)total;
    memmove(c->buf, c->buf + total, c->len - (size_t)total);
    c->len -= (size_t)total;
    out->type = out->raw[0] >> 4;
    out->flags = out->raw[0] & 0x0F;
    out->body_off = header_len(out->raw);
    if (c->version != 0 && parse_body(out, out->raw + out->body_off, out->raw_len - out->body_off,
                                      c->version == 5) != 0) {
        tclient_pkt_dump("client: cannot parse", out);
        tclient_pkt_free(out);
        return TCLIENT_BAD;
    }
    return 0;
}

void tclient_pkt_free(struct tclient_pkt *p)
{
    free(p->raw);
    memset(p, 0, sizeof *p);
}

void tclient_pkt_dump(const char *what, const struct tclient_pkt *p)
{
    fprintf(stderr, "%s: type %d flags 0x%x len %zu:", what, p->type, p->flags, p->raw_len);
    for (size_t i = 0; i < p->raw_len && i < 64; i++)
        fprintf(stderr, " %02x", p->raw[i]);
    fprintf(stderr, "%s\n", p->raw_len > 64 ? " ..." : "");
}

static const char *rc_name(int rc)
{
    return rc == TCLIENT_TIMEOUT ? "timeout" : rc == TCLIENT_CLOSED ? "connection closed" : "bad";
}

int tclient_expect(struct tclient *c, struct tclient_pkt *out, int type, int timeout_ms)
{
    int rc = tclient_recv(c, out, timeout_ms);
    if (rc != 0) {
        fprintf(stderr, "client: expected packet type %d, got %s\n", type, rc_name(rc));
        return -1;
    }
    if (out->type != type) {
        fprintf(stderr, "client: expected packet type %d\n", type);
        tclient_pkt_dump("client: got", out);
        tclient_pkt_free(out);
        return -1;
    }
    return 0;
}

int tclient_expect_closed(struct tclient *c, int timeout_ms)
{
    struct tclient_pkt p;
    int rc = tclient_recv(c, &p, timeout_ms);
    if (rc == TCLIENT_CLOSED && c->len == 0)
        return 0;
    if (rc == 0) {
        tclient_pkt_dump("client: expected close, got", &p);
        tclient_pkt_free(&p);
    } else {
        fprintf(stderr, "client: expected close, got %s (%zu bytes pending)\n", rc_name(rc),
                c->len);
    }
    return -1;
}

int tclient_expect_disconnect(struct tclient *c, uint8_t reason, int timeout_ms)
{
    if (c->version == 5) {
        struct tclient_pkt p;
        if (tclient_expect(c, &p, CT_DISCONNECT, timeout_ms) != 0)
            return -1;
        int ok = p.reason == reason;
        if (!ok) {
            fprintf(stderr, "client: DISCONNECT reason 0x%02x, expected 0x%02x\n", p.reason,
                    reason);
        }
        tclient_pkt_free(&p);
        if (!ok)
            return -1;
    }
    return tclient_expect_closed(c, timeout_ms);
}

int tclient_expect_silence(struct tclient *c, int quiet_ms)
{
    struct tclient_pkt p;
    int rc = tclient_recv(c, &p, quiet_ms);
    if (rc == TCLIENT_TIMEOUT)
        return 0;
    if (rc == 0) {
        tclient_pkt_dump("client: expected nothing, got", &p);
        tclient_pkt_free(&p);
    } else {
        fprintf(stderr, "client: expected nothing, got %s\n", rc_name(rc));
    }
    return -1;
}

int tclient_ping(struct tclient *c)
{
    struct pkt p;
    pkt_init(&p);
    pkt_pingreq(&p);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    if (rc != 0) {
        fprintf(stderr, "client: PINGREQ not sent\n");
        return -1;
    }
    struct tclient_pkt r;
    if (tclient_expect(c, &r, CT_PINGRESP, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    tclient_pkt_free(&r);
    return 0;
}

int tclient_start(struct tclient *c, int port, int version, const char *client_id,
                  uint16_t keep_alive, int clean, int *session_present)
{
    if (tclient_open(c, port, version) != 0)
        return -1;
    struct pkt p;
    pkt_init(&p);
    pkt_connect(&p, version, client_id, keep_alive, clean);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    struct tclient_pkt r;
    if (rc != 0 || tclient_expect(c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    if (r.reason != 0) {
        tclient_pkt_dump("client: CONNACK refused", &r);
        tclient_pkt_free(&r);
        return -1;
    }
    if (session_present)
        *session_present = r.session_present;
    tclient_pkt_free(&r);
    return 0;
}

int tclient_sub(struct tclient *c, uint16_t packet_id, const char *filter, uint8_t options,
                uint8_t expect_code)
{
    struct pkt p;
    pkt_init(&p);
    pkt_subscribe(&p, c->version, packet_id, filter, options);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    struct tclient_pkt r;
    if (rc != 0 || tclient_expect(c, &r, CT_SUBACK, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    int ok = r.packet_id == packet_id && r.ncodes == 1 && r.codes[0] == expect_code;
    if (!ok) {
        fprintf(stderr, "client: SUBACK for '%s' not id %u code 0x%02x\n", filter, packet_id,
                expect_code);
        tclient_pkt_dump("client: got", &r);
    }
    tclient_pkt_free(&r);
    return ok ? 0 : -1;
}

static int expect_ack(struct tclient *c, int type, uint16_t packet_id)
{
    struct tclient_pkt r;
    if (tclient_expect(c, &r, type, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    int ok = r.packet_id == packet_id && r.reason < 0x80;
    if (!ok)
        tclient_pkt_dump("client: unexpected ack", &r);
    tclient_pkt_free(&r);
    return ok ? 0 : -1;
}

int tclient_pub(struct tclient *c, const char *topic, const char *payload, int qos, int retain,
                uint16_t packet_id)
{
    struct pkt p;
    pkt_init(&p);
    pkt_publish(&p, c->version, topic, payload, qos, retain, packet_id);
    int rc = tclient_send(c, &p);
    if (rc == 0 && qos == 1)
        rc = expect_ack(c, CT_PUBACK, packet_id);
    if (rc == 0 && qos == 2) {
        rc = expect_ack(c, CT_PUBREC, packet_id);
        pkt_ack(&p, CT_PUBREL, packet_id);
        if (rc == 0)
            rc = tclient_send(c, &p);
        if (rc == 0)
            rc = expect_ack(c, CT_PUBCOMP, packet_id);
    }
    pkt_free(&p);
    return rc;
}

int tclient_expect_publish(struct tclient *c, struct tclient_pkt *out, const char *topic,
                           const char *payload, int qos)
{
    struct tclient_pkt r;
    if (tclient_expect(c, &r, CT_PUBLISH, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    size_t tl = strlen(topic), pl = strlen(payload);
    int ok = r.topic_len == tl && memcmp(r.topic, topic, tl) == 0 && r.payload_len == pl &&
             memcmp(r.payload, payload, pl) == 0 && (qos < 0 || r.qos == qos);
    if (!ok) {
        fprintf(stderr, "client: expected PUBLISH '%s' '%s' qos %d\n", topic, payload, qos);
        tclient_pkt_dump("client: got", &r);
    }
    if (out && ok)
        *out = r;
    else
        tclient_pkt_free(&r);
    return ok ? 0 : -1;
}

const struct tclient_prop *tclient_prop_find(const struct tclient_pkt *p, uint8_t id, size_t nth)
{
    for (size_t i = 0; i < p->nprops; i++) {
        if (p->props[i].id == id && nth-- == 0)
            return &p->props[i];
    }
    return NULL;
}

int tclient_open_unix(struct tclient *c, const char *path, int version)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->version = version;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "client: unix path too long: %s\n", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("client: socket");
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "client: connect to %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    c->fd = fd;
    return 0;
}
