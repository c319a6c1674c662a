/* Fixtures for the TLS tests: test certificates made with the openssl CLI in a temp dir, an echo
 * server running src/net's loop + listener + the TLS transport in a thread, and a blocking
 * OpenSSL client. */
#ifndef TERN_TESTS_TLS_FIXTURE_H
#define TERN_TESTS_TLS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct tls_ctx;

/* Creates the temp dir with ca, ca2, server, server2 (CN=rotated), client (O=Tern, CN=alice),
 * other (from ca2, CN=mallory), revoked (+ crl.pem), dh.pem. Returns the dir or NULL. */
const char *fx_certs(void);
/* dir/name in a static rotating buffer (valid for the next 7 calls). */
const char *fx_path(const char *name);
/* Removes the temp dir. */
void fx_cleanup(void);

struct fx_server;
/* Starts an echo server on 127.0.0.1 with ctx (the server takes its own reference). */
struct fx_server *fx_server_start(struct tls_ctx *ctx);
uint16_t fx_server_port(const struct fx_server *s);
/* Replaces the ctx used for new connections (the server takes a reference). */
void fx_server_set_ctx(struct fx_server *s, struct tls_ctx *ctx);
/* Waits (up to 10 s) until n connections have ended; copies the TLS error of the last one that
 * failed into err. Returns 0 or -1 on timeout. */
int fx_server_wait_closed(struct fx_server *s, int n, char *err, size_t errlen);
/* The peer identity the server read on its most recent connection ("" if none). */
void fx_server_identity(struct fx_server *s, char *buf, size_t len);
void fx_server_stop(struct fx_server *s);

struct fx_client_opts {
    const char *cert, *key; /* client certificate, or NULL */
    int max_version;        /* 0 or TLS1_2_VERSION ... */
    const char *ciphers;    /* TLS <= 1.2 cipher list, or NULL */
    const char *psk_identity;
    const char *psk_hex; /* PSK key in hex, with psk_identity */
};

struct fx_client {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

/* Connects and handshakes, verifying the server against ca.crt (not for PSK). 0 or -1. */
int fx_client_open(struct fx_client *c, uint16_t port, const struct fx_client_opts *o);
/* Sends msg and reads the echo. 0 when the same bytes came back, -1 otherwise. */
int fx_client_echo(struct fx_client *c, const char *msg);
/* CN of the server's certificate into buf. */
void fx_client_server_cn(struct fx_client *c, char *buf, size_t len);
void fx_client_close(struct fx_client *c);
/* open + echo + close: 0 when the whole exchange worked. */
int fx_client_try(uint16_t port, const struct fx_client_opts *o);

#endif
