/* TLS test fixtures: certificate generation with the openssl CLI, an echo server thread on the
 * project's loop and TLS transport, and a blocking OpenSSL client with receive timeouts (a
 * timeout only turns a hang into a failure; nothing waits on time for synchronisation). */
#include "tls_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "err.h"
#include "listener.h"
#include "loop.h"
#include "mem.h"
#include "tls_ctx.h"
#include "transport.h"
#include "transport_tls.h"

static const char gen_script[] =
    "set -e\n"
    "cd \"$1\"\n"
    "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\"; }\n"
    "ca() { key $1.key; openssl req -x509 -new -key $1.key -subj \"/CN=$2\" -days 2 -out $1.crt"
    " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign; }\n"
    "leaf() { key $1.key; openssl req -new -key $1.key -subj \"$3\" -out $1.csr\n"
    " openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -days 2"
    " -out $1.crt -extfile ext.cnf; }\n"
    "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf\n"
    "ca ca 'Tern Test CA'; ca ca2 'Other CA'\n"
    "leaf server ca /CN=localhost; leaf server2 ca /CN=rotated\n"
    "leaf client ca /O=Tern/CN=alice; leaf other ca2 /CN=mallory; leaf revoked ca /CN=revoked\n"
    "mkdir -p db; : > db/index.txt; echo 01 > db/crlnumber\n"
    "printf '[ca]\\ndefault_ca=tca\\n[tca]\\ndatabase=db/index.txt\\ncrlnumber=db/crlnumber\\n"
    "default_md=sha256\\ndefault_crl_days=2\\n' > ca.cnf\n"
    "openssl ca -config ca.cnf -keyfile ca.key -cert ca.crt -revoke revoked.crt\n"
    "openssl ca -config ca.cnf -keyfile ca.key -cert ca.crt -gencrl -out crl.pem\n"
    "openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out dh.pem\n";

static char cert_dir[64];

const char *fx_certs(void)
{
    if (cert_dir[0] != '\0')
        return cert_dir;
    char tmpl[] = "/tmp/tern-tls-XXXXXX";
    if (mkdtemp(tmpl) == NULL)
        return NULL;
    snprintf(cert_dir, sizeof cert_dir, "%s", tmpl);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s/gen.sh", cert_dir);
    FILE *f = fopen(cmd, "w");
    if (f == NULL)
        return NULL;
    fputs(gen_script, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "sh %s/gen.sh %s >%s/gen.log 2>&1", cert_dir, cert_dir, cert_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "certificate generation failed, see %s/gen.log\n", cert_dir);
        return NULL;
    }
    return cert_dir;
}

const char *fx_path(const char *name)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", cert_dir, name);
    return b;
}

void fx_cleanup(void)
{
    if (cert_dir[0] == '\0')
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cert_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", cert_dir);
    cert_dir[0] = '\0';
}

/* ---- echo server ---- */

#define MAX_CONNS 64

struct fx_conn {
    struct fx_server *s;
    struct transport *t;
    unsigned char out[8192];
    size_t out_len;
    int id_taken;
};

struct fx_server {
    struct loop *loop;
    int lfd;
    uint16_t port;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct tls_ctx *ctx;
    int closed;
    char last_err[200];
    char identity[256];
    struct fx_conn *conns[MAX_CONNS];
};

static void conn_end(struct fx_conn *c, long rc)
{
    struct fx_server *s = c->s;
    pthread_mutex_lock(&s->mu);
    if (rc == TERN_ETLS)
        snprintf(s->last_err, sizeof s->last_err, "%s", transport_tls_error(c->t));
    s->closed++;
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->conns[i] == c)
            s->conns[i] = NULL;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    loop_remove(s->loop, c->t->fd);
    c->t->ops->close(c->t);
    free(c);
}

static long conn_flush(struct fx_conn *c)
{
    struct iovec iov = {c->out, c->out_len};
    long n = c->t->ops->writev(c->t, &iov, c->out_len ? 1 : 0);
    if (n > 0) {
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    return n == TERN_EAGAIN ? 0 : n;
}

static void take_identity(struct fx_conn *c)
{
    char id[256];
    if (c->id_taken || tls_peer_identity(c->t, id, sizeof id) != 0)
        return;
    c->id_taken = 1;
    pthread_mutex_lock(&c->s->mu);
    snprintf(c->s->identity, sizeof c->s->identity, "%s", id);
    pthread_mutex_unlock(&c->s->mu);
}

static size_t room_of(const struct fx_conn *c, size_t cap)
{
    size_t room = sizeof c->out - c->out_len;
    return room < cap ? room : cap;
}

/* Reads and echoes what is available; returns 0 to keep the connection or the ending code. */
static long conn_io(struct fx_conn *c, unsigned events)
{
    long n = 0;
    if ((events & LOOP_WRITE) && (n = conn_flush(c)) < 0)
        return n;
    if (!(events & (LOOP_READ | LOOP_ERROR)))
        return 0;
    unsigned char buf[4096];
    n = TERN_EAGAIN;
    size_t room;
    while ((room = room_of(c, sizeof buf)) > 0 && (n = c->t->ops->read(c->t, buf, room)) > 0) {
        take_identity(c);
        memcpy(c->out + c->out_len, buf, (size_t)n);
        c->out_len += (size_t)n;
    }
    if (room > 0 && n != TERN_EAGAIN)
        return n == 0 ? TERN_ECLOSED : n;
    n = conn_flush(c);
    return n < 0 ? n : 0;
}

static void on_conn(struct loop *l, int fd, unsigned events, void *ctx)
{
    (void)fd;
    struct fx_conn *c = ctx;
    long rc = conn_io(c, events);
    if (rc < 0) {
        conn_end(c, rc);
        return;
    }
    loop_modify(l, c->t->fd, LOOP_READ | (c->out_len ? LOOP_WRITE : 0) | c->t->ops->wants(c->t));
}

static void on_accept(struct loop *l, int lfd, unsigned events, void *ctx)
{
    (void)events;
    struct fx_server *s = ctx;
    int fd;
    while ((fd = listener_accept(lfd, NULL, 0)) >= 0) {
        pthread_mutex_lock(&s->mu);
        struct transport *t = transport_tls_new(fd, s->ctx);
        pthread_mutex_unlock(&s->mu);
        struct fx_conn *c = calloc(1, sizeof *c);
        if (t == NULL || c == NULL) {
            if (t != NULL)
                t->ops->close(t);
            free(c);
            continue;
        }
        c->s = s;
        c->t = t;
        for (int i = 0; i < MAX_CONNS; i++)
            if (s->conns[i] == NULL) {
                s->conns[i] = c;
                break;
            }
        loop_add(l, fd, LOOP_READ | t->ops->wants(t), on_conn, c);
    }
}

static void *server_main(void *arg)
{
    struct fx_server *s = arg;
    loop_run(s->loop);
    return NULL;
}

struct fx_server *fx_server_start(struct tls_ctx *ctx)
{
    struct fx_server *s = calloc(1, sizeof *s);
    char err[128];
    if (s == NULL)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->ctx = tls_ctx_ref(ctx);
    s->loop = loop_new();
    s->lfd = listener_open_tcp("127.0.0.1", 0, AF_INET, 0, &s->port, err, sizeof err);
    if (s->loop == NULL || s->lfd < 0 || loop_add(s->loop, s->lfd, LOOP_READ, on_accept, s) != 0 ||
        pthread_create(&s->thread, NULL, server_main, s) != 0) {
        fprintf(stderr, "server start failed: %s\n", err);
        abort();
    }
    return s;
}

uint16_t fx_server_port(const struct fx_server *s)
{
    return s->port;
}

void fx_server_set_ctx(struct fx_server *s, struct tls_ctx *ctx)
{
    pthread_mutex_lock(&s->mu);
    tls_ctx_unref(s->ctx);
    s->ctx = tls_ctx_ref(ctx);
    pthread_mutex_unlock(&s->mu);
}

int fx_server_wait_closed(struct fx_server *s, int n, char *err, size_t errlen)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (s->closed < n && rc == 0)
        rc = pthread_cond_timedwait(&s->cond, &s->mu, &until);
    if (err != NULL)
        snprintf(err, errlen, "%s", s->last_err);
    pthread_mutex_unlock(&s->mu);
    return s->closed >= n ? 0 : -1;
}

void fx_server_identity(struct fx_server *s, char *buf, size_t len)
{
    pthread_mutex_lock(&s->mu);
    snprintf(buf, len, "%s", s->identity);
    pthread_mutex_unlock(&s->mu);
}

void fx_server_stop(struct fx_server *s)
{
    loop_stop(s->loop);
    pthread_join(s->thread, NULL);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (s->conns[i] != NULL) {
            loop_remove(s->loop, s->conns[i]->t->fd);
            s->conns[i]->t->ops->close(s->conns[i]->t);
            free(s->conns[i]);
        }
    }
    loop_remove(s->loop, s->lfd);
    close(s->lfd);
    loop_free(s->loop);
    tls_ctx_unref(s->ctx);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- client ---- */

static const struct fx_client_opts *psk_opts; /* for the PSK callback (one client at a time) */

static unsigned psk_client_cb(SSL *ssl, const char *hint, char *identity, unsigned max_id_len,
                              unsigned char *psk, unsigned max_psk_len)
{
    (void)ssl;
    (void)hint;
    const char *hex = psk_opts->psk_hex;
    size_t n = strlen(hex) / 2;
    if (strlen(psk_opts->psk_identity) + 1 > max_id_len || n > max_psk_len)
        return 0;
    strcpy(identity, psk_opts->psk_identity);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return 0;
        psk[i] = (unsigned char)v;
    }
    return (unsigned)n;
}

static int tcp_connect(uint16_t port)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {10, 0};
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int client_setup(struct fx_client *c, const struct fx_client_opts *o)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL)
        return -1;
    if (o->max_version)
        SSL_CTX_set_max_proto_version(c->ctx, o->max_version);
    if (o->ciphers)
        SSL_CTX_set_cipher_list(c->ctx, o->ciphers);
    if (o->psk_identity) {
        psk_opts = o;
        SSL_CTX_set_psk_client_callback(c->ctx, psk_client_cb);
    } else {
        if (SSL_CTX_load_verify_locations(c->ctx, fx_path("ca.crt"), NULL) != 1)
            return -1;
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    }
    if (o->cert && (SSL_CTX_use_certificate_file(c->ctx, o->cert, SSL_FILETYPE_PEM) != 1 ||
                    SSL_CTX_use_PrivateKey_file(c->ctx, o->key, SSL_FILETYPE_PEM) != 1))
        return -1;
    return 0;
}

int fx_client_open(struct fx_client *c, uint16_t port, const struct fx_client_opts *o)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (client_setup(c, o) != 0)
        return -1;
    c->fd = tcp_connect(port);
    c->ssl = SSL_new(c->ctx);
    if (c->fd < 0 || c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return -1;
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    int rc = SSL_connect(c->ssl) == 1 ? 0 : -1;
    ERR_clear_error();
    return rc;
}

int fx_client_echo(struct fx_client *c, const char *msg)
{
    size_t len = strlen(msg), got = 0, w = 0;
    char buf[512];
    if (c->ssl == NULL || len > sizeof buf || SSL_write_ex(c->ssl, msg, len, &w) != 1)
        goto fail;
    while (got < len) {
        size_t n = 0;
        if (SSL_read_ex(c->ssl, buf + got, len - got, &n) != 1)
            goto fail;
        got += n;
    }
    return memcmp(buf, msg, len) == 0 ? 0 : -1;
fail:
    ERR_clear_error();
    return -1;
}

void fx_client_server_cn(struct fx_client *c, char *buf, size_t len)
{
    buf[0] = '\0';
    X509 *cert = SSL_get0_peer_certificate(c->ssl);
    if (cert != NULL)
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, (int)len);
}

void fx_client_close(struct fx_client *c)
{
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    SSL_CTX_free(c->ctx);
    ERR_clear_error();
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

int fx_client_try(uint16_t port, const struct fx_client_opts *o)
{
    struct fx_client c;
    int rc = fx_client_open(&c, port, o);
    if (rc == 0)
        rc = fx_client_echo(&c, "hello over tls");
    fx_client_close(&c);
    return rc;
}
