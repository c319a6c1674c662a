/* Unit tests for the TLS transport and tls_ctx: handshake + echo through src/net's loop, mutual
 * TLS (missing cert, other CA, CRL revocation), CN / subject / PSK identities, version and
 * cipher settings, readable errors for bad material, and replacing the ctx while a connection
 * stays up on the old one; file stamps for rotation polling. Certificates are made at run time. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "tls_ctx.h"
#include "tls_fixture.h"
#include "transport_tls.h"
#include "unit.h"

static struct tls_settings base_settings(void)
{
    struct tls_settings s = {0};
    s.certfile = fx_path("server.crt");
    s.keyfile = fx_path("server.key");
    return s;
}

static struct tls_ctx *make_ctx(const struct tls_settings *s)
{
    char err[256];
    struct tls_ctx *ctx = tls_ctx_new(s, err, sizeof err);
    if (ctx == NULL)
        fprintf(stderr, "tls_ctx_new: %s\n", err);
    return ctx;
}

static struct fx_server *start(const struct tls_settings *s)
{
    struct tls_ctx *ctx = make_ctx(s);
    if (ctx == NULL)
        return NULL;
    struct fx_server *srv = fx_server_start(ctx);
    tls_ctx_unref(ctx); /* the server holds its own reference */
    return srv;
}

static void test_handshake_echo(void)
{
    REQUIRE(fx_certs() != NULL);
    struct tls_settings s = base_settings();
    struct fx_server *srv = start(&s);
    REQUIRE(srv != NULL);
    struct fx_client c;
    const struct fx_client_opts o = {0};
    CHECK_EQ_INT(fx_client_open(&c, fx_server_port(srv), &o), 0);
    CHECK_EQ_INT(fx_client_echo(&c, "ping"), 0);
    /* A second exchange on the same connection, larger than one read. */
    char big[500];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_EQ_INT(fx_client_echo(&c, big), 0);
    char cn[64];
    fx_client_server_cn(&c, cn, sizeof cn);
    CHECK(strcmp(cn, "localhost") == 0);
    CHECK(strcmp(SSL_get_version(c.ssl), "TLSv1.3") == 0);
    fx_client_close(&c);
    CHECK_EQ_INT(fx_server_wait_closed(srv, 1, NULL, 0), 0);
    /* No client certificate was asked for, so no identity. */
    char id[64];
    fx_server_identity(srv, id, sizeof id);
    CHECK(id[0] == '\0');
    fx_server_stop(srv);
}

static void test_require_certificate(void)
{
    REQUIRE(fx_certs() != NULL);
    struct tls_settings s = base_settings();
    s.cafile = fx_path("ca.crt");
    s.require_certificate = true;
    s.use_identity_as_username = true;
    struct fx_server *srv = start(&s);
    REQUIRE(srv != NULL);
    uint16_t port = fx_server_port(srv);
    char err[200];

    const struct fx_client_opts none = {0};
    CHECK(fx_client_try(port, &none) != 0);
    CHECK_EQ_INT(fx_server_wait_closed(srv, 1, err, sizeof err), 0);
    CHECK(strstr(err, "certificate") != NULL);

    const struct fx_client_opts other = {.cert = fx_path("other.crt"), .key = fx_path("other.key")};
    CHECK(fx_client_try(port, &other) != 0);
    CHECK_EQ_INT(fx_server_wait_closed(srv, 2, err, sizeof err), 0);
    CHECK(strstr(err, "certificate verify failed") != NULL);

    const struct fx_client_opts good = {.cert = fx_path("client.crt"),
                                        .key = fx_path("client.key")};
    CHECK_EQ_INT(fx_client_try(port, &good), 0);
    CHECK_EQ_INT(fx_server_wait_closed(srv, 3, NULL, 0), 0);
    char id[64];
    fx_server_identity(srv, id, sizeof id);
    CHECK(strcmp(id, "alice") == 0);
    fx_server_stop(srv);
}

static void test_subject_identity(void)
{
    REQUIRE(fx_certs() != NULL);
    struct tls_settings s = base_settings();
    s.cafile = fx_path("ca.crt");
    s.require_certificate = true;
    s.use_subject_as_username = true;
    struct fx_server *srv = start(&s);
    REQUIRE(srv != NULL);
    const struct fx_client_opts good = {.cert = fx_path("client.crt"),
                                        .key = fx_path("client.key")};
    CHECK_EQ_INT(fx_client_try(fx_server_port(srv), &good), 0);
    CHECK_EQ_INT(fx_server_wait_closed(srv, 1, NULL, 0), 0);
    char id[64];
    fx_server_identity(srv, id, sizeof id);
    CHECK(strcmp(id, "CN=alice,O=Tern") == 0);
    fx_server_stop(srv);
}

static void test_crl_revoked(void)
{
    REQUIRE(fx_certs() != NULL);
    struct tls_settings s = base_settings();
    s.cafile = fx_path("ca.crt");
    s.crlfile = fx_path("crl.pem");
    s.require_certificate = true;
    struct fx_server *srv = start(&s);
    REQUIRE(srv != NULL);
    char err[200];
    const struct fx_client_opts rev = {.cert = fx_path("revoked.crt"),
                                       .key = fx_path("revoked.key")};
    CHECK(fx_client_try(fx_server_port(srv), &rev) != 0);
    CHECK_EQ_INT(fx_server_wait_closed(srv, 1, err, sizeof err), 0);
    CHECK(strstr(err, "revoked") != NULL);
    const struct fx_client_opts good = {.cert = fx_path("client.crt"),
                                        .key = fx_path("client.key")};
    CHECK_EQ_INT(fx_client_try(fx_server_port(srv), &good), 0);
    fx_server_stop(srv);
}

static void test_versions_and_ciphers(void)
{
    REQUIRE(fx_certs() != NULL);
    struct tls_settings s = base_settings();
    s.tls_version = "tlsv1.3";
    struct fx_server *srv = start(&s);
    REQUIRE(srv != NULL);
    const struct fx_client_opts v12 = {.max_version = TLS1_2_VERSION};
    const struct fx_client_opts any = {0};
    CHECK(fx_client_try(fx_server_port(srv), &v12) != 0);
    CHECK_EQ_INT(fx_client_try(fx_server_port(srv), &any), 0);
    fx_server_stop(srv);

    /* tlsv1.2 is a minimum (as in Mosquitto): 1.2 clients are served, with the cipher list. */
    s.tls_version = "tlsv1.2";
    s.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    s.ciphers_tls13 = "TLS_CHACHA20_POLY1305_SHA256";
    s.dhparamfile = fx_path("dh.pem");
    srv = start(&s);
    REQUIRE(srv != NULL);
    struct fx_client c;
    CHECK_EQ_INT(fx_client_open(&c, fx_server_port(srv), &v12), 0);
    CHECK_EQ_INT(fx_client_echo(&c, "v1.2"), 0);
    CHECK(strcmp(SSL_get_version(c.ssl), "TLSv1.2") == 0);
    CHECK(strcmp(SSL_get_cipher_name(c.ssl), "ECDHE-ECDSA-AES128-GCM-SHA256") == 0);
    fx_client_close(&c);
    CHECK_EQ_INT(fx_client_open(&c, fx_server_port(srv), &any), 0);
    CHECK_EQ_INT(fx_client_echo(&c, "v1.3"), 0);
    CHECK(strcmp(SSL_get_cipher_name(c.ssl), "TLS_CHACHA20_POLY1305_SHA256") == 0);
    fx_client_close(&c);
    const struct fx_client_opts wrong = {.max_version = TLS1_2_VERSION,
                                         .ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384"};
    CHECK(fx_client_try(fx_server_port(srv), &wrong) != 0);
    fx_server_stop(srv);
}

static void test_psk(void)
{
    REQUIRE(fx_certs() != NULL);
    const char *pskfile = fx_path("psk.txt");
    FILE *f = fopen(pskfile, "w");
    REQUIRE(f != NULL);
    fputs("# comment\nsensor1:00112233445566778899aabbccddeeff\nsensor2:deadbeef\n", f);
    fclose(f);
    struct tls_settings s = {0};
    s.psk_hint = "tern";
    s.psk_file = pskfile;
    struct fx_server *srv = start(&s);
    REQUIRE(srv != NULL);
    const struct fx_client_opts good = {.psk_identity = "sensor1",
                                        .psk_hex = "00112233445566778899aabbccddeeff"};
    CHECK_EQ_INT(fx_client_try(fx_server_port(srv), &good), 0);
    CHECK_EQ_INT(fx_server_wait_closed(srv, 1, NULL, 0), 0);
    char id[64];
    fx_server_identity(srv, id, sizeof id);
    CHECK(strcmp(id, "sensor1") == 0);
    const struct fx_client_opts v12 = {.psk_identity = "sensor2",
                                       .psk_hex = "deadbeef",
                                       .max_version = TLS1_2_VERSION,
                                       .ciphers = "PSK"};
    CHECK_EQ_INT(fx_client_try(fx_server_port(srv), &v12), 0);
    const struct fx_client_opts badkey = {.psk_identity = "sensor1", .psk_hex = "0011"};
    CHECK(fx_client_try(fx_server_port(srv), &badkey) != 0);
    const struct fx_client_opts unknown = {.psk_identity = "nobody", .psk_hex = "deadbeef"};
    CHECK(fx_client_try(fx_server_port(srv), &unknown) != 0);
    fx_server_stop(srv);
}

static void expect_error(const struct tls_settings *s, const char *needle1, const char *needle2)
{
    char err[300];
    struct tls_ctx *ctx = tls_ctx_new(s, err, sizeof err);
    CHECK(ctx == NULL);
    tls_ctx_unref(ctx);
    if (strstr(err, needle1) == NULL || strstr(err, needle2) == NULL) {
        fprintf(stderr, "error '%s' lacks '%s' / '%s'\n", err, needle1, needle2);
        CHECK(!"error message");
    }
}

static void test_bad_material(void)
{
    REQUIRE(fx_certs() != NULL);
    struct tls_settings s = base_settings();
    s.certfile = fx_path("missing.crt");
    expect_error(&s, "certfile", "missing.crt");
    s = base_settings();
    s.keyfile = fx_path("server2.key");
    expect_error(&s, "keyfile", "server2.key");
    s = base_settings();
    s.certfile = fx_path("ca.cnf"); /* not PEM */
    expect_error(&s, "certfile", "ca.cnf");
    s = base_settings();
    s.keyfile = NULL;
    expect_error(&s, "keyfile", "");
    s = base_settings();
    s.tls_keyform = "engine";
    expect_error(&s, "tls_keyform", "engine");
    s = base_settings();
    s.tls_version = "sslv3";
    expect_error(&s, "tls_version", "sslv3");
    s = base_settings();
    s.require_certificate = true;
    expect_error(&s, "require_certificate", "cafile");
    s = base_settings();
    s.cafile = fx_path("nope.crt");
    expect_error(&s, "cafile", "nope.crt");
    s = base_settings();
    s.crlfile = fx_path("ca.crt"); /* a certificate, not a CRL */
    expect_error(&s, "crlfile", "ca.crt");
    s = base_settings();
    s.ciphers = "NOT-A-CIPHER";
    expect_error(&s, "ciphers", "NOT-A-CIPHER");
    s = base_settings();
    s.dhparamfile = fx_path("server.crt");
    expect_error(&s, "dhparamfile", "server.crt");
    s = base_settings();
    s.psk_hint = "h";
    s.psk_file = fx_path("ca.cnf");
    expect_error(&s, "psk_file", "ca.cnf:1");
}

static int copy_file(const char *from, const char *to)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp %s %s.tmp && mv %s.tmp %s", from, to, to, to);
    return system(cmd);
}

static void test_rotation(void)
{
    REQUIRE(fx_certs() != NULL);
    char live_crt[256], live_key[256];
    snprintf(live_crt, sizeof live_crt, "%s", fx_path("live.crt"));
    snprintf(live_key, sizeof live_key, "%s", fx_path("live.key"));
    REQUIRE(copy_file(fx_path("server.crt"), live_crt) == 0);
    REQUIRE(copy_file(fx_path("server.key"), live_key) == 0);
    struct tls_settings s = {0};
    s.certfile = live_crt;
    s.keyfile = live_key;
    struct tls_files_stamp stamp;
    tls_files_stamp(&s, &stamp);
    CHECK(!tls_files_changed(&s, &stamp));
    struct fx_server *srv = start(&s);
    REQUIRE(srv != NULL);

    struct fx_client old;
    CHECK_EQ_INT(fx_client_open(&old, fx_server_port(srv), &(struct fx_client_opts){0}), 0);
    CHECK_EQ_INT(fx_client_echo(&old, "before"), 0);

    /* The files change on disk; the poll notices and a new ctx replaces the old one. */
    REQUIRE(copy_file(fx_path("server2.crt"), live_crt) == 0);
    REQUIRE(copy_file(fx_path("server2.key"), live_key) == 0);
    CHECK(tls_files_changed(&s, &stamp));
    CHECK(!tls_files_changed(&s, &stamp));
    struct tls_ctx *next = make_ctx(&s);
    REQUIRE(next != NULL);
    fx_server_set_ctx(srv, next);
    tls_ctx_unref(next);

    struct fx_client fresh;
    CHECK_EQ_INT(fx_client_open(&fresh, fx_server_port(srv), &(struct fx_client_opts){0}), 0);
    CHECK_EQ_INT(fx_client_echo(&fresh, "new"), 0);
    char cn[64];
    fx_client_server_cn(&fresh, cn, sizeof cn);
    CHECK(strcmp(cn, "rotated") == 0);
    fx_client_server_cn(&old, cn, sizeof cn);
    CHECK(strcmp(cn, "localhost") == 0);
    CHECK_EQ_INT(fx_client_echo(&old, "still up on the old ctx"), 0);
    fx_client_close(&fresh);
    fx_client_close(&old);

    /* A bad new key is refused and the caller keeps the running ctx. */
    FILE *f = fopen(live_key, "w");
    REQUIRE(f != NULL);
    fputs("garbage\n", f);
    fclose(f);
    CHECK(tls_files_changed(&s, &stamp));
    char err[256];
    CHECK(tls_ctx_new(&s, err, sizeof err) == NULL);
    CHECK(strstr(err, live_key) != NULL);
    CHECK_EQ_INT(fx_client_try(fx_server_port(srv), &(struct fx_client_opts){0}), 0);
    fx_server_stop(srv);
}

static void test_cleanup(void)
{
    char dir[64];
    const char *d = fx_certs();
    REQUIRE(d != NULL);
    snprintf(dir, sizeof dir, "%s", d);
    fx_cleanup();
    CHECK(access(dir, F_OK) != 0);
}

UNIT_MAIN(UNIT_TEST(test_handshake_echo), UNIT_TEST(test_require_certificate),
          UNIT_TEST(test_subject_identity), UNIT_TEST(test_crl_revoked),
          UNIT_TEST(test_versions_and_ciphers), UNIT_TEST(test_psk), UNIT_TEST(test_bad_material),
          UNIT_TEST(test_rotation), UNIT_TEST(test_cleanup))
