/* libtern's SOCKS5 client (RFC 1928, with RFC 1929 user name / password authentication): parses
 * the "socks5h://" proxy URL and runs the handshake on the freshly connected, non-blocking socket
 * before TLS and MQTT. Only the CONNECT command; host names go to the proxy unresolved. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "client_impl.h"
#include "err.h"
#include "mem.h"

#define URL_SCHEME         "socks5h://"
#define SOCKS_DEFAULT_PORT 1080
#define SOCKS_MAX_FIELD    255 /* user, password and domain name are length-prefixed bytes */

#define SOCKS_VERSION    5
#define AUTH_VERSION     1 /* RFC 1929 sub-negotiation version */
#define METHOD_NONE      0x00
#define METHOD_USERPASS  0x02
#define CMD_CONNECT      0x01
#define ATYP_IPV4        0x01
#define ATYP_DOMAIN      0x03
#define ATYP_IPV6        0x04
#define REP_NET_UNREACH  0x03
#define REP_HOST_UNREACH 0x04
#define REP_REFUSED      0x05

/* ---- URL ---- */

static char *dup_range(const char *s, size_t len, bool *failed)
{
    char *d = mem_strndup(s, len);
    if (!d)
        *failed = true;
    return d;
}

/* "1".."65535", digits only. */
static int parse_port(const char *s, size_t len, uint16_t *out)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return TERN_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return TERN_EINVAL;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return TERN_EINVAL;
    *out = (uint16_t)v;
    return 0;
}

/* host[:port] or [ipv6][:port] in s[0..len): sets *host_len, *host_off and the port. */
static int split_host_port(const char *s, size_t len, size_t *host_off, size_t *host_len,
                           uint16_t *port)
{
    const char *colon;
    *port = SOCKS_DEFAULT_PORT;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return TERN_EINVAL;
        *host_off = 1;
        *host_len = (size_t)(close - s) - 1;
        colon = close + 1 < s + len ? close + 1 : NULL;
        if (colon && *colon != ':')
            return TERN_EINVAL;
    } else {
        colon = memchr(s, ':', len);
        *host_off = 0;
        *host_len = colon ? (size_t)(colon - s) : len;
        if (colon && memchr(colon + 1, ':', len - *host_len - 1))
            return TERN_EINVAL; /* an IPv6 address needs brackets */
    }
    if (*host_len == 0 || *host_len > SOCKS_MAX_FIELD)
        return TERN_EINVAL;
    if (colon)
        return parse_port(colon + 1, (size_t)(s + len - colon - 1), port);
    return 0;
}

int client_socks_parse_url(const char *url, struct client_conn_opts *o)
{
    size_t scheme = strlen(URL_SCHEME);
    if (!url || strncmp(url, URL_SCHEME, scheme) != 0)
        return TERN_EINVAL;
    const char *rest = url + scheme;
    const char *at = strrchr(rest, '@');
    const char *hp = at ? at + 1 : rest;
    size_t host_off;
    size_t host_len;
    uint16_t port;
    int rc = split_host_port(hp, strlen(hp), &host_off, &host_len, &port);
    if (rc)
        return rc;
    size_t user_len = 0;
    size_t pass_len = 0;
    const char *pass = NULL;
    if (at) {
        pass = memchr(rest, ':', (size_t)(at - rest));
        user_len = pass ? (size_t)(pass - rest) : (size_t)(at - rest);
        pass_len = pass ? (size_t)(at - pass) - 1 : 0;
        if (user_len == 0 || user_len > SOCKS_MAX_FIELD || pass_len > SOCKS_MAX_FIELD)
            return TERN_EINVAL;
    }
    bool failed = false;
    mem_free(o->proxy_host);
    mem_free(o->proxy_user);
    mem_free(o->proxy_pass);
    o->proxy_host = dup_range(hp + host_off, host_len, &failed);
    o->proxy_user = at ? dup_range(rest, user_len, &failed) : NULL;
    o->proxy_pass = pass ? dup_range(pass + 1, pass_len, &failed) : NULL;
    o->proxy_port = port;
    return failed ? TERN_ENOMEM : 0;
}

/* ---- Handshake ---- */

void client_socks_reset(struct client_socks *s)
{
    s->state = SOCKS_START;
    s->out_len = 0;
    s->out_off = 0;
    s->in_len = 0;
}

static void put(struct client_socks *s, const void *data, size_t len)
{
    memcpy(s->out + s->out_len, data, len);
    s->out_len = (uint16_t)(s->out_len + len);
}

static void put_u8(struct client_socks *s, uint8_t v)
{
    put(s, &v, 1);
}

/* Queues the next request, resetting the reply buffer. */
static void begin_request(struct client_socks *s, uint8_t next_state)
{
    s->out_len = 0;
    s->out_off = 0;
    s->in_len = 0;
    s->state = next_state;
}

static void queue_greeting(struct client_socks *s, const struct client_conn_opts *o)
{
    begin_request(s, SOCKS_METHOD);
    put_u8(s, SOCKS_VERSION);
    if (o->proxy_user) {
        put_u8(s, 2);
        put_u8(s, METHOD_NONE);
        put_u8(s, METHOD_USERPASS);
    } else {
        put_u8(s, 1);
        put_u8(s, METHOD_NONE);
    }
}

static void queue_auth(struct client_socks *s, const struct client_conn_opts *o)
{
    size_t ulen = strlen(o->proxy_user);
    size_t plen = o->proxy_pass ? strlen(o->proxy_pass) : 0;
    begin_request(s, SOCKS_AUTH);
    put_u8(s, AUTH_VERSION);
    put_u8(s, (uint8_t)ulen); /* <= 255: checked when the URL was parsed */
    put(s, o->proxy_user, ulen);
    put_u8(s, (uint8_t)plen);
    if (plen)
        put(s, o->proxy_pass, plen);
}

/* CONNECT to the MQTT server: IP literals as addresses, names for the proxy to resolve. */
static int queue_connect(struct client_socks *s, const struct client_conn_opts *o)
{
    uint8_t addr[16];
    size_t hlen = strlen(o->host);
    begin_request(s, SOCKS_CONNECT);
    put_u8(s, SOCKS_VERSION);
    put_u8(s, CMD_CONNECT);
    put_u8(s, 0); /* reserved */
    if (inet_pton(AF_INET, o->host, addr) == 1) {
        put_u8(s, ATYP_IPV4);
        put(s, addr, 4);
    } else if (inet_pton(AF_INET6, o->host, addr) == 1) {
        put_u8(s, ATYP_IPV6);
        put(s, addr, 16);
    } else {
        if (hlen == 0 || hlen > SOCKS_MAX_FIELD)
            return TERN_EINVAL;
        put_u8(s, ATYP_DOMAIN);
        put_u8(s, (uint8_t)hlen);
        put(s, o->host, hlen);
    }
    put_u8(s, (uint8_t)(o->port >> 8));
    put_u8(s, (uint8_t)(o->port & 0xff));
    return 0;
}

/* Sends what is queued. 0 when all is out, TERN_EAGAIN (io->want_write set) or an error. */
static int flush_out(struct client_io *io)
{
    struct client_socks *s = &io->socks;
    io->want_write = false;
    while (s->out_off < s->out_len) {
        ssize_t n = send(io->fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            io->want_write = true;
            return TERN_EAGAIN;
        }
        if (n < 0)
            return errno == EPIPE || errno == ECONNRESET ? TERN_ECLOSED : TERN_EIO;
        s->out_off = (uint16_t)(s->out_off + n);
    }
    return 0;
}

/* The length of the whole reply expected in the current state, given what has arrived. Never
 * more than what the reply needs, so no byte of the tunnelled stream is read here. */
static size_t reply_len(const struct client_socks *s)
{
    if (s->state != SOCKS_CONNECT)
        return 2;
    if (s->in_len < 5)
        return 5;
    switch (s->in[3]) {
    case ATYP_IPV4:
        return 4 + 4 + 2;
    case ATYP_IPV6:
        return 4 + 16 + 2;
    default: /* ATYP_DOMAIN; anything else is refused once the header is complete */
        return 4 + 1 + (size_t)s->in[4] + 2;
    }
}

/* Reads until the whole reply is in. 0, TERN_EAGAIN or an error. */
static int read_reply(struct client_io *io)
{
    struct client_socks *s = &io->socks;
    for (;;) {
        if (s->in_len >= 4 && s->state == SOCKS_CONNECT && s->in[3] != ATYP_IPV4 &&
            s->in[3] != ATYP_IPV6 && s->in[3] != ATYP_DOMAIN)
            return TERN_EPROTO;
        size_t want = reply_len(s);
        if (s->in_len >= want)
            return 0;
        ssize_t n = recv(io->fd, s->in + s->in_len, want - s->in_len, 0);
        if (n == 0)
            return TERN_ECLOSED;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? TERN_EAGAIN
                   : errno == ECONNRESET                   ? TERN_ECLOSED
                                                           : TERN_EIO;
        s->in_len = (uint16_t)(s->in_len + n);
    }
}

/* The CONNECT reply's code as a libtern error (RFC 1928 section 6). */
static int connect_error(uint8_t rep)
{
    if (rep == REP_REFUSED)
        return TERN_ECLOSED;
    if (rep == REP_NET_UNREACH || rep == REP_HOST_UNREACH)
        return TERN_EIO;
    return TERN_EPROXY;
}

/* Handles a complete reply and queues the next request (or finishes). */
static int handle_reply(struct client_socks *s, const struct client_conn_opts *o)
{
    switch (s->state) {
    case SOCKS_METHOD:
        if (s->in[0] != SOCKS_VERSION)
            return TERN_EPROTO;
        if (s->in[1] == METHOD_NONE)
            return queue_connect(s, o);
        if (s->in[1] == METHOD_USERPASS && o->proxy_user) {
            queue_auth(s, o);
            return 0;
        }
        return TERN_EPROXYAUTH; /* 0xFF: no acceptable method, or one we did not offer */
    case SOCKS_AUTH:
        if (s->in[0] != AUTH_VERSION)
            return TERN_EPROTO;
        /* RFC 1929: a non-zero status is a failure and the proxy closes the connection. */
        return s->in[1] == 0 ? queue_connect(s, o) : TERN_EPROXY;
    case SOCKS_CONNECT:
        if (s->in[0] != SOCKS_VERSION)
            return TERN_EPROTO;
        if (s->in[1] != 0)
            return connect_error(s->in[1]);
        s->state = SOCKS_DONE;
        return 0;
    default:
        return TERN_EINVAL;
    }
}

int client_socks_progress(struct client_io *io, const struct client_conn_opts *o)
{
    struct client_socks *s = &io->socks;
    if (s->state == SOCKS_START)
        queue_greeting(s, o);
    while (s->state != SOCKS_DONE) {
        int rc = flush_out(io);
        if (rc == 0)
            rc = read_reply(io);
        if (rc == 0)
            rc = handle_reply(s, o);
        if (rc)
            return rc;
    }
    io->want_write = false;
    return 0;
}
