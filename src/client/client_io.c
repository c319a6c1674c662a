/* libtern transport: a non-blocking TCP connection (trying each resolved address in turn),
 * optionally through a SOCKS5 proxy (client_socks.c), or a Unix domain socket, with optional TLS
 * through OpenSSL (CA file/dir, client certificate, host name verification, cipher list, ALPN,
 * TLS-PSK). The host name lookup (getaddrinfo) is the only blocking call. No MQTT here. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client_impl.h"
#include "err.h"
#include "mem.h"

void client_io_init(struct client_io *io)
{
    memset(io, 0, sizeof *io);
    io->fd = -1;
}

void client_conn_opts_free(struct client_conn_opts *o)
{
    mem_free(o->host);
    mem_free(o->bind_address);
    mem_free(o->ca_file);
    mem_free(o->ca_path);
    mem_free(o->cert_file);
    mem_free(o->key_file);
    mem_free(o->tls_version);
    mem_free(o->ciphers);
    mem_free(o->alpn);
    mem_free(o->psk_identity);
    mem_free(o->psk_hex);
    mem_free(o->unix_path);
    mem_free(o->proxy_host);
    mem_free(o->proxy_user);
    mem_free(o->proxy_pass);
    memset(o, 0, sizeof *o);
}

static void close_socket(struct client_io *io)
{
    if (io->ssl) {
        SSL_free(io->ssl);
        io->ssl = NULL;
    }
    if (io->fd >= 0)
        close(io->fd);
    io->fd = -1;
    io->tcp_connected = false;
    io->tls_done = false;
    io->want_write = false;
    client_socks_reset(&io->socks);
}

void client_io_close(struct client_io *io)
{
    close_socket(io);
    if (io->ssl_ctx)
        SSL_CTX_free(io->ssl_ctx);
    io->ssl_ctx = NULL;
    if (io->ai_list)
        freeaddrinfo(io->ai_list);
    io->ai_list = NULL;
    io->ai_next = NULL;
}

static int bind_local(int fd, const char *addr)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(addr, NULL, &hints, &res) != 0 || !res)
        return TERN_ENOTFOUND;
    int rc = bind(fd, res->ai_addr, res->ai_addrlen) == 0 ? 0 : TERN_EIO;
    freeaddrinfo(res);
    return rc;
}

/* Starts a non-blocking connect to the next untried address. */
static int try_next(struct client_io *io, const struct client_conn_opts *o)
{
    int err = TERN_EIO;
    while (io->ai_next) {
        struct addrinfo *ai = io->ai_next;
        io->ai_next = ai->ai_next;
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        if (o->nodelay)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int brc = o->bind_address ? bind_local(fd, o->bind_address) : 0;
        if (brc) {
            if (brc == TERN_ENOTFOUND)
                err = brc; /* the bind address does not resolve: say so, not "refused" */
            close(fd);
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            io->fd = fd;
            return 0;
        }
        close(fd);
    }
    return err;
}

static int tls_version_of(const char *v, int *out)
{
    if (!v || strcmp(v, "tlsv1.2") == 0)
        *out = TLS1_2_VERSION;
    else if (strcmp(v, "tlsv1.3") == 0)
        *out = TLS1_3_VERSION;
    else if (strcmp(v, "tlsv1.1") == 0)
        *out = TLS1_1_VERSION;
    else
        return TERN_EINVAL;
    return 0;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decodes hex into out[0..cap); the byte count, or 0 when malformed or too long. */
static unsigned hex_decode(const char *hex, unsigned char *out, unsigned cap)
{
    size_t len = strlen(hex);
    if (len == 0 || len % 2 != 0 || len / 2 > cap)
        return 0;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_digit(hex[i]);
        int lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return (unsigned)(len / 2);
}

/* OpenSSL asks for the PSK identity and key (TLS 1.2 PSK suites, and TLS 1.3 external PSK). */
static unsigned psk_client_cb(SSL *ssl, const char *hint, char *identity, unsigned max_identity,
                              unsigned char *psk, unsigned max_psk)
{
    const struct client_conn_opts *o = SSL_get_app_data(ssl);
    (void)hint;
    size_t n = o && o->psk_identity ? strlen(o->psk_identity) : max_identity;
    if (n >= max_identity)
        return 0;
    memcpy(identity, o->psk_identity, n + 1);
    return hex_decode(o->psk_hex, psk, max_psk);
}

/* ALPN wire format: one length-prefixed protocol name. */
static int set_alpn(SSL_CTX *ctx, const char *alpn)
{
    unsigned char wire[256];
    size_t n = strlen(alpn);
    if (n == 0 || n > 255)
        return 0;
    wire[0] = (unsigned char)n;
    memcpy(wire + 1, alpn, n);
    /* SSL_CTX_set_alpn_protos returns 0 on success. */
    return SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)n + 1) == 0;
}

/* Trust anchors: the given CA file/dir, the system store when asked or when none is given. */
static int load_trust(SSL_CTX *ctx, const struct client_conn_opts *o)
{
    bool given = o->ca_file || o->ca_path;
    int ok = given ? SSL_CTX_load_verify_locations(ctx, o->ca_file, o->ca_path) : 1;
    if (ok == 1 && (!given || o->use_os_certs))
        ok = SSL_CTX_set_default_verify_paths(ctx);
    return ok;
}

static int tls_ctx_new(struct client_io *io, const struct client_conn_opts *o)
{
    int ver;
    if (tls_version_of(o->tls_version, &ver))
        return TERN_EINVAL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return TERN_ETLS;
    /* A minimum, as libmosquitto: "tlsv1.2" still negotiates TLS 1.3 with a broker that has it. */
    SSL_CTX_set_min_proto_version(ctx, ver);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = load_trust(ctx, o);
    if (ok == 1 && o->psk_identity) {
        SSL_CTX_set_psk_client_callback(ctx, psk_client_cb);
        /* As libmosquitto: without an explicit list, offer the PSK suites (TLS 1.2). */
        if (!o->ciphers)
            ok = SSL_CTX_set_cipher_list(ctx, "PSK");
    }
    if (ok == 1 && o->ciphers)
        ok = SSL_CTX_set_cipher_list(ctx, o->ciphers);
    if (ok == 1 && o->alpn)
        ok = set_alpn(ctx, o->alpn);
    if (ok == 1 && o->cert_file)
        ok = SSL_CTX_use_certificate_chain_file(ctx, o->cert_file);
    if (ok == 1 && o->key_file)
        ok = SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM);
    if (ok == 1 && o->cert_file && o->key_file)
        ok = SSL_CTX_check_private_key(ctx);
    if (ok != 1) {
        SSL_CTX_free(ctx);
        return TERN_ECONFIG;
    }
    io->ssl_ctx = ctx;
    return 0;
}

static bool is_ip_literal(const char *host)
{
    struct in6_addr a6;
    struct in_addr a4;
    return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

static int tls_session_new(struct client_io *io, const struct client_conn_opts *o)
{
    SSL *ssl = SSL_new(io->ssl_ctx);
    if (!ssl)
        return TERN_ETLS;
    bool ip = is_ip_literal(o->host);
    if (!ip)
        SSL_set_tlsext_host_name(ssl, o->host);
    if (!o->insecure) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, o->host)
                    : X509_VERIFY_PARAM_set1_host(param, o->host, 0);
        if (ok != 1) {
            SSL_free(ssl);
            return TERN_ETLS;
        }
    }
    SSL_set_app_data(ssl, (void *)o); /* for psk_client_cb; o outlives the session */
    SSL_set_fd(ssl, io->fd);
    io->ssl = ssl;
    return 0;
}

/* Starts a non-blocking connect to the Unix domain socket o->unix_path. */
static int open_unix(struct client_io *io, const struct client_conn_opts *o)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(o->unix_path);
    if (n >= sizeof sa.sun_path)
        return TERN_EINVAL;
    memcpy(sa.sun_path, o->unix_path, n + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return TERN_ESYS;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EINPROGRESS ||
        errno == EAGAIN) {
        io->fd = fd;
        return 0;
    }
    int err = errno;
    close(fd);
    return err == ECONNREFUSED || err == ENOENT ? TERN_ECLOSED : TERN_EIO;
}

int client_io_open(struct client_io *io, const struct client_conn_opts *o)
{
    client_io_close(io);
    if (o->use_tls) {
        int rc = tls_ctx_new(io, o);
        if (rc)
            return rc;
    }
    if (o->unix_path) {
        int rc = open_unix(io, o);
        if (rc)
            client_io_close(io);
        return rc;
    }
    /* Through a proxy, only the proxy's name is resolved here; the proxy resolves o->host. */
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)(o->proxy_host ? o->proxy_port : o->port));
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    const char *host = o->proxy_host ? o->proxy_host : o->host;
    if (getaddrinfo(host, port, &hints, &io->ai_list) != 0 || !io->ai_list) {
        io->ai_list = NULL;
        client_io_close(io);
        return TERN_ENOTFOUND;
    }
    io->ai_next = io->ai_list;
    int rc = try_next(io, o);
    if (rc)
        client_io_close(io);
    return rc;
}

/* 0 once the TCP connect finished, TERN_EAGAIN while pending, else the error. */
static int tcp_progress(struct client_io *io, const struct client_conn_opts *o)
{
    struct pollfd pfd = {io->fd, POLLOUT, 0};
    if (poll(&pfd, 1, 0) <= 0)
        return TERN_EAGAIN;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err == 0) {
        io->tcp_connected = true;
        return 0;
    }
    close_socket(io);
    if (try_next(io, o) != 0)
        return err == ECONNREFUSED ? TERN_ECLOSED : TERN_EIO;
    return TERN_EAGAIN;
}

static int ssl_result(struct client_io *io, int ret)
{
    int e = SSL_get_error(io->ssl, ret);
    io->want_write = false;
    if (e == SSL_ERROR_WANT_READ)
        return TERN_EAGAIN;
    if (e == SSL_ERROR_WANT_WRITE) {
        io->want_write = true;
        return TERN_EAGAIN;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return TERN_ECLOSED;
    ERR_clear_error();
    return e == SSL_ERROR_SYSCALL ? TERN_ECLOSED : TERN_ETLS;
}

int client_io_progress(struct client_io *io, const struct client_conn_opts *o)
{
    if (io->fd < 0)
        return TERN_ECLOSED;
    if (!io->tcp_connected) {
        int rc = tcp_progress(io, o);
        if (rc)
            return rc;
    }
    if (o->proxy_host && io->socks.state != SOCKS_DONE) {
        int rc = client_socks_progress(io, o);
        if (rc)
            return rc;
    }
    if (!io->ssl_ctx || io->tls_done)
        return 0;
    if (!io->ssl) {
        int rc = tls_session_new(io, o);
        if (rc)
            return rc;
    }
    int ret = SSL_connect(io->ssl);
    if (ret == 1) {
        io->tls_done = true;
        io->want_write = false;
        return 0;
    }
    int rc = ssl_result(io, ret);
    return rc == TERN_ECLOSED ? TERN_ETLS : rc;
}

long client_io_read(struct client_io *io, void *buf, size_t len)
{
    if (io->ssl) {
        int n = SSL_read(io->ssl, buf, len > 1u << 30 ? 1 << 30 : (int)len);
        return n > 0 ? n : ssl_result(io, n);
    }
    for (;;) {
        ssize_t n = recv(io->fd, buf, len, 0);
        if (n > 0)
            return (long)n;
        if (n == 0)
            return TERN_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TERN_EAGAIN;
        return errno == ECONNRESET ? TERN_ECLOSED : TERN_EIO;
    }
}

long client_io_write(struct client_io *io, const void *buf, size_t len)
{
    if (io->ssl) {
        int n = SSL_write(io->ssl, buf, len > 1u << 30 ? 1 << 30 : (int)len);
        return n > 0 ? n : ssl_result(io, n);
    }
    for (;;) {
        ssize_t n = send(io->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return (long)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TERN_EAGAIN;
        return errno == EPIPE || errno == ECONNRESET ? TERN_ECLOSED : TERN_EIO;
    }
}
