/* The server TLS transport: SSL_read_ex/SSL_write_ex on a non-blocking socket in accept state,
 * the handshake driven implicitly by the first read or write, OpenSSL's WANT_READ/WANT_WRITE
 * turned into wants(), and the peer identity (certificate CN or subject, PSK identity).
 * No buffering of its own beyond OpenSSL's; no loop registration. */
#include "transport_tls.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "err.h"
#include "loop.h"
#include "mem.h"
#include "tls_ctx.h"
#include "transport.h"

#define STAGE_LEN 16384 /* one TLS record of plaintext */

struct tls_conn {
    struct transport base; /* first: the vtable user sees this */
    SSL *ssl;
    struct tls_ctx *ctx;
    unsigned read_want, write_want; /* LOOP_* asked by the last read / writev */
    bool failed;
    char *psk_identity; /* the identity the PSK callback accepted */
    char err[160];
};

static const struct transport_ops tls_ops;

static struct tls_conn *conn_of(const struct transport *t)
{
    return (struct tls_conn *)t;
}

static void remember_error(struct tls_conn *c, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    long vr = SSL_get_verify_result(c->ssl);
    if (vr != X509_V_OK)
        snprintf(c->err, sizeof c->err, "%s (%s)", r ? r : fallback,
                 X509_verify_cert_error_string(vr));
    else
        snprintf(c->err, sizeof c->err, "%s", r ? r : fallback);
    ERR_clear_error();
}

/* Maps the failure of an SSL_*_ex call (r != 1) to a transport result; *want collects the
 * readiness OpenSSL waits for. */
static long map_failure(struct tls_conn *c, int r, unsigned *want)
{
    int e = SSL_get_error(c->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want |= LOOP_READ;
        return TERN_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        *want |= LOOP_WRITE;
        return TERN_EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0; /* close_notify, or end of stream (SSL_OP_IGNORE_UNEXPECTED_EOF) */
    case SSL_ERROR_SYSCALL:
        if (errno == ECONNRESET || errno == EPIPE || errno == ETIMEDOUT) {
            ERR_clear_error();
            return TERN_ECLOSED;
        }
        if (ERR_peek_last_error() == 0) {
            ERR_clear_error();
            return SSL_is_init_finished(c->ssl) ? 0 : TERN_ECLOSED;
        }
        c->failed = true;
        remember_error(c, strerror(errno));
        return TERN_ETLS;
    default:
        c->failed = true;
        remember_error(c, "TLS failure");
        return TERN_ETLS;
    }
}

static long tls_read(struct transport *t, void *buf, size_t len)
{
    struct tls_conn *c = conn_of(t);
    if (len == 0)
        return TERN_EINVAL;
    if (c->failed)
        return TERN_ETLS;
    c->read_want = 0;
    size_t total = 0;
    while (total < len) {
        size_t got = 0;
        ERR_clear_error();
        int r = SSL_read_ex(c->ssl, (char *)buf + total, len - total, &got);
        if (r == 1) {
            total += got;
            continue;
        }
        long rc = map_failure(c, r, &c->read_want);
        /* Data first: an end or error is reported again by the next call. */
        return total > 0 ? (long)total : rc;
    }
    return (long)total;
}

/* Copies up to cap bytes of iov starting at entry *i, offset *off, into stage. */
static size_t gather(const struct iovec *iov, int iovcnt, int i, size_t off, unsigned char *stage,
                     size_t cap)
{
    size_t n = 0;
    for (; i < iovcnt && n < cap; i++, off = 0) {
        size_t take = iov[i].iov_len - off;
        if (take > cap - n)
            take = cap - n;
        memcpy(stage + n, (const char *)iov[i].iov_base + off, take);
        n += take;
    }
    return n;
}

static long handshake_step(struct tls_conn *c)
{
    c->write_want = 0;
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1)
        return 0;
    long rc = map_failure(c, r, &c->write_want);
    return rc == TERN_EAGAIN ? 0 : rc;
}

static long tls_writev(struct transport *t, const struct iovec *iov, int iovcnt)
{
    struct tls_conn *c = conn_of(t);
    if (c->failed)
        return TERN_ETLS;
    if (iovcnt <= 0)
        return SSL_is_init_finished(c->ssl) ? 0 : handshake_step(c);
    unsigned char stage[STAGE_LEN];
    c->write_want = 0;
    size_t total = 0, off = 0;
    int i = 0;
    while (i < iovcnt) {
        if (off == iov[i].iov_len) {
            i++;
            off = 0;
            continue;
        }
        const void *p = (const char *)iov[i].iov_base + off;
        size_t n = iov[i].iov_len - off;
        /* Small pieces are gathered so they share records; a large single piece goes as is. */
        if (n < STAGE_LEN && i + 1 < iovcnt) {
            n = gather(iov, iovcnt, i, off, stage, sizeof stage);
            p = stage;
        }
        size_t w = 0;
        ERR_clear_error();
        int r = SSL_write_ex(c->ssl, p, n, &w);
        if (r != 1) {
            long rc = map_failure(c, r, &c->write_want);
            return total > 0 ? (long)total : rc;
        }
        total += w;
        for (size_t left = w; left > 0;) {
            size_t room = iov[i].iov_len - off;
            if (left < room) {
                off += left;
                left = 0;
            } else {
                left -= room;
                i++;
                off = 0;
            }
        }
    }
    return (long)total;
}

static unsigned tls_wants(const struct transport *t)
{
    const struct tls_conn *c = conn_of(t);
    unsigned w = c->read_want | c->write_want;
    if (!c->failed && !SSL_is_init_finished(c->ssl))
        w |= LOOP_READ;
    return w;
}

static void tls_close(struct transport *t)
{
    struct tls_conn *c = conn_of(t);
    if (!c->failed && SSL_is_init_finished(c->ssl)) {
        ERR_clear_error();
        (void)SSL_shutdown(c->ssl); /* one non-blocking attempt at close_notify */
    }
    ERR_clear_error();
    SSL_free(c->ssl);
    close(t->fd);
    tls_ctx_unref(c->ctx);
    mem_free(c->psk_identity);
    mem_free(c);
}

static const struct transport_ops tls_ops = {
    .name = "tls",
    .read = tls_read,
    .writev = tls_writev,
    .wants = tls_wants,
    .close = tls_close,
};

static unsigned psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk,
                              unsigned max_psk_len)
{
    struct tls_conn *c = SSL_get_app_data(ssl);
    unsigned n = tls_ctx_psk_lookup(c->ctx, identity, psk, max_psk_len);
    if (n > 0 && c->psk_identity == NULL)
        c->psk_identity = mem_strdup(identity);
    return c->psk_identity != NULL ? n : 0;
}

struct transport *transport_tls_new(int fd, struct tls_ctx *ctx)
{
    struct tls_conn *c = mem_calloc(1, sizeof *c);
    if (c == NULL)
        goto fail;
    c->ssl = SSL_new(tls_ctx_ssl_ctx(ctx));
    if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1)
        goto fail;
    SSL_set_accept_state(c->ssl);
    SSL_set_app_data(c->ssl, c);
    if (tls_ctx_has_psk(ctx))
        SSL_set_psk_server_callback(c->ssl, psk_server_cb);
    c->base.ops = &tls_ops;
    c->base.fd = fd;
    c->ctx = tls_ctx_ref(ctx);
    return &c->base;
fail:
    ERR_clear_error();
    if (c != NULL)
        SSL_free(c->ssl);
    mem_free(c);
    close(fd);
    return NULL;
}

bool transport_is_tls(const struct transport *t)
{
    return t != NULL && t->ops == &tls_ops;
}

bool transport_tls_established(const struct transport *t)
{
    return SSL_is_init_finished(conn_of(t)->ssl) == 1;
}

bool transport_tls_pending(const struct transport *t)
{
    return SSL_pending(conn_of(t)->ssl) > 0;
}

const char *transport_tls_error(const struct transport *t)
{
    return conn_of(t)->err;
}

const char *transport_tls_version(const struct transport *t)
{
    const struct tls_conn *c = conn_of(t);
    return SSL_is_init_finished(c->ssl) ? SSL_get_version(c->ssl) : "";
}

const char *transport_tls_cipher(const struct transport *t)
{
    const struct tls_conn *c = conn_of(t);
    const char *name = SSL_is_init_finished(c->ssl) ? SSL_get_cipher_name(c->ssl) : NULL;
    return name ? name : "";
}

static int copy_out(const char *s, size_t n, char *buf, size_t len)
{
    if (n + 1 > len)
        return TERN_ETOOBIG;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 0;
}

static int subject_of(X509 *cert, char *buf, size_t len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return TERN_ENOMEM;
    int rc = TERN_ENOTFOUND;
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        rc = n > 0 ? copy_out(data, (size_t)n, buf, len) : TERN_ENOTFOUND;
    }
    BIO_free(bio);
    return rc;
}

static int cn_of(X509 *cert, char *buf, size_t len)
{
    X509_NAME *name = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx < 0)
        return TERN_ENOTFOUND;
    ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n < 0)
        return TERN_ENOTFOUND;
    /* An embedded NUL would let "admin\0.evil" pass as "admin". */
    int rc = memchr(utf8, '\0', (size_t)n) ? TERN_ENOTFOUND
                                           : copy_out((const char *)utf8, (size_t)n, buf, len);
    OPENSSL_free(utf8);
    return rc;
}

int tls_peer_identity(const struct transport *t, char *buf, size_t len)
{
    const struct tls_conn *c = conn_of(t);
    if (!SSL_is_init_finished(c->ssl))
        return TERN_ENOTFOUND;
    if (c->psk_identity != NULL)
        return copy_out(c->psk_identity, strlen(c->psk_identity), buf, len);
    X509 *cert = SSL_get0_peer_certificate(c->ssl);
    if (cert == NULL || SSL_get_verify_result(c->ssl) != X509_V_OK)
        return TERN_ENOTFOUND;
    return tls_ctx_subject_identity(c->ctx) ? subject_of(cert, buf, len) : cn_of(cert, buf, len);
}
