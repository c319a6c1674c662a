/* Unit tests for JWT verification: tokens signed here with OpenSSL (HS256, RS256, ES256), key
 * files and a JWKS made here; valid tokens and claims, expired, not yet valid, wrong signature,
 * "none" and alg confusion refused, wrong issuer/audience, kid selection, setting errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth_b64.h"
#include "err.h"
#include "jwt.h"
#include "unit.h"

static const char secret[] = "0123456789abcdef0123456789abcdef-secret";
static char dir[64];
static EVP_PKEY *rsa_key, *ec_key;

static const char *tpath(const char *name)
{
    static char buf[4][256];
    static int next;
    char *b = buf[next++ % 4];
    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "/tmp/tern-jwt-XXXXXX");
        if (mkdtemp(dir) == NULL)
            abort();
    }
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        abort();
    fputs(text, f);
    fclose(f);
}

static void write_pub(const char *path, EVP_PKEY *k)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || PEM_write_PUBKEY(f, k) != 1)
        abort();
    fclose(f);
}

static void setup_keys(void)
{
    if (rsa_key != NULL)
        return;
    rsa_key = EVP_RSA_gen(2048);
    ec_key = EVP_EC_gen("P-256");
    if (rsa_key == NULL || ec_key == NULL)
        abort();
    char text[128];
    snprintf(text, sizeof text, "%s\n", secret);
    write_text(tpath("hs.key"), text);
    write_pub(tpath("rsa.pem"), rsa_key);
    write_pub(tpath("ec.pem"), ec_key);
}

/* Signs "b64(header).b64(payload)" with alg ("HS256", "RS256", "ES256", or "none"). */
static void make_token(const char *alg, const char *kid, const char *payload, char *out, size_t cap)
{
    char header[128], h64[256], p64[2048], sig64[600];
    uint8_t sig[600];
    size_t siglen = 0;
    if (kid)
        snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg,
                 kid);
    else
        snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    auth_b64_encode(header, strlen(header), h64, sizeof h64, 1);
    auth_b64_encode(payload, strlen(payload), p64, sizeof p64, 1);
    snprintf(out, cap, "%s.%s", h64, p64);
    if (strcmp(alg, "HS256") == 0) {
        unsigned n = 0;
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)out, strlen(out), sig, &n);
        siglen = n;
    } else if (strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0) {
        EVP_PKEY *k = alg[0] == 'R' ? rsa_key : ec_key;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        siglen = sizeof sig;
        if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
            EVP_DigestSign(md, sig, &siglen, (const uint8_t *)out, strlen(out)) != 1)
            abort();
        EVP_MD_CTX_free(md);
        if (alg[0] == 'E') { /* DER -> r||s */
            const uint8_t *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
            BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
            ECDSA_SIG_free(es);
            siglen = 64;
        }
    }
    auth_b64_encode(sig, siglen, sig64, sizeof sig64, 1);
    size_t n = strlen(out);
    snprintf(out + n, cap - n, ".%s", sig64);
}

static struct jwt_verifier *verifier(const char *key_file, const char *jwks, const char *iss,
                                     const char *aud, const char *claim)
{
    struct jwt_settings s = {key_file, jwks, iss, aud, claim, 0};
    struct jwt_verifier *v = NULL;
    char err[256];
    if (jwt_verifier_new(&s, &v, err, sizeof err) != 0)
        fprintf(stderr, "jwt_verifier_new: %s\n", err);
    return v;
}

/* Verifies and returns 0 or the error; err gets the reason. */
static int verify(const struct jwt_verifier *v, const char *tok, char *err, size_t errlen)
{
    struct jwt_claims c;
    int rc = jwt_verify(v, tok, strlen(tok), (int64_t)time(NULL), &c, err, errlen);
    jwt_claims_deinit(&c);
    return rc;
}

static void expect_refused(const struct jwt_verifier *v, const char *tok, const char *why)
{
    char err[200] = "";
    CHECK_EQ_INT(verify(v, tok, err, sizeof err), TERN_EDENIED);
    if (strstr(err, why) == NULL) {
        fprintf(stderr, "error '%s' lacks '%s'\n", err, why);
        CHECK(!"refusal reason");
    }
}

static void payload(char *out, size_t cap, long exp_delta, const char *extra)
{
    snprintf(out, cap, "{\"sub\":\"alice\",\"exp\":%lld%s}", (long long)time(NULL) + exp_delta,
             extra ? extra : "");
}

static void test_hs256_valid_and_claims(void)
{
    setup_keys();
    struct jwt_verifier *v = verifier(tpath("hs.key"), NULL, "tern-idp", "tern", NULL);
    REQUIRE(v != NULL);
    char pl[512], tok[4096];
    payload(pl, sizeof pl, 60,
            ",\"iss\":\"tern-idp\",\"aud\":[\"x\",\"tern\"],\"publish\":[\"a/#\",\"b\"],"
            "\"subscribe\":[\"c/+/d\"]");
    make_token("HS256", NULL, pl, tok, sizeof tok);
    struct jwt_claims c;
    char err[200];
    REQUIRE(jwt_verify(v, tok, strlen(tok), (int64_t)time(NULL), &c, err, sizeof err) == 0);
    CHECK(strcmp(c.username, "alice") == 0);
    CHECK_EQ_INT(c.n_publish, 2);
    CHECK(c.n_publish == 2 && strcmp(c.publish[0], "a/#") == 0 && strcmp(c.publish[1], "b") == 0);
    CHECK(c.n_subscribe == 1 && strcmp(c.subscribe[0], "c/+/d") == 0);
    CHECK(c.exp > (int64_t)time(NULL));
    jwt_claims_deinit(&c);

    payload(pl, sizeof pl, 60, ",\"iss\":\"evil\",\"aud\":\"tern\"");
    make_token("HS256", NULL, pl, tok, sizeof tok);
    expect_refused(v, tok, "wrong issuer");
    payload(pl, sizeof pl, 60, ",\"iss\":\"tern-idp\",\"aud\":\"other\"");
    make_token("HS256", NULL, pl, tok, sizeof tok);
    expect_refused(v, tok, "wrong audience");
    payload(pl, sizeof pl, 60, ",\"iss\":\"tern-idp\"");
    make_token("HS256", NULL, pl, tok, sizeof tok);
    expect_refused(v, tok, "wrong audience");
    payload(pl, sizeof pl, 60, ",\"iss\":\"tern-idp\",\"aud\":\"tern\",\"publish\":[\"a/#/b\"]");
    make_token("HS256", NULL, pl, tok, sizeof tok);
    expect_refused(v, tok, "invalid topic filter");
    jwt_verifier_free(v);
}

static void test_times(void)
{
    setup_keys();
    struct jwt_verifier *v = verifier(tpath("hs.key"), NULL, NULL, NULL, NULL);
    REQUIRE(v != NULL);
    char pl[512], tok[4096], err[200];
    payload(pl, sizeof pl, -10, NULL);
    make_token("HS256", NULL, pl, tok, sizeof tok);
    expect_refused(v, tok, "expired");
    snprintf(pl, sizeof pl, "{\"sub\":\"alice\",\"exp\":%lld,\"nbf\":%lld}",
             (long long)time(NULL) + 600, (long long)time(NULL) + 300);
    make_token("HS256", NULL, pl, tok, sizeof tok);
    expect_refused(v, tok, "not yet valid");
    snprintf(pl, sizeof pl, "{\"sub\":\"alice\"}");
    make_token("HS256", NULL, pl, tok, sizeof tok);
    expect_refused(v, tok, "missing or invalid exp");
    jwt_verifier_free(v);
    /* Leeway accepts a token that expired a moment ago. */
    struct jwt_settings s = {tpath("hs.key"), NULL, NULL, NULL, NULL, 30};
    REQUIRE(jwt_verifier_new(&s, &v, err, sizeof err) == 0);
    payload(pl, sizeof pl, -10, NULL);
    make_token("HS256", NULL, pl, tok, sizeof tok);
    CHECK_EQ_INT(verify(v, tok, err, sizeof err), 0);
    jwt_verifier_free(v);
}

static void test_bad_signatures_and_algs(void)
{
    setup_keys();
    struct jwt_verifier *hs = verifier(tpath("hs.key"), NULL, NULL, NULL, NULL);
    struct jwt_verifier *rs = verifier(tpath("rsa.pem"), NULL, NULL, NULL, NULL);
    REQUIRE(hs != NULL && rs != NULL);
    char pl[512], tok[4096];
    payload(pl, sizeof pl, 60, NULL);
    /* Tampered payload: same signature, other claims. */
    make_token("HS256", NULL, pl, tok, sizeof tok);
    char other[4096], pl2[512];
    snprintf(pl2, sizeof pl2, "{\"sub\":\"admin\",\"exp\":%lld}", (long long)time(NULL) + 60);
    make_token("HS256", NULL, pl2, other, sizeof other);
    char *sig = strrchr(tok, '.');
    char forged[4096];
    snprintf(forged, sizeof forged, "%.*s%s", (int)(strrchr(other, '.') - other), other, sig);
    expect_refused(hs, forged, "bad signature");
    /* alg none, and an HS256 token against an RSA key (alg confusion). */
    make_token("none", NULL, pl, tok, sizeof tok);
    expect_refused(hs, tok, "unsupported alg");
    make_token("HS256", NULL, pl, tok, sizeof tok);
    expect_refused(rs, tok, "no key for this alg");
    expect_refused(hs, "abc.def", "not a compact JWS");
    expect_refused(hs, "a.b.c.d", "not a compact JWS");
    expect_refused(hs, "!!.b.c", "malformed header");
    jwt_verifier_free(hs);
    jwt_verifier_free(rs);
}

static void test_rs256_es256_pem(void)
{
    setup_keys();
    struct jwt_verifier *rs = verifier(tpath("rsa.pem"), NULL, NULL, NULL, NULL);
    struct jwt_verifier *es = verifier(tpath("ec.pem"), NULL, NULL, NULL, NULL);
    REQUIRE(rs != NULL && es != NULL);
    char pl[512], tok[4096], err[200];
    payload(pl, sizeof pl, 60, NULL);
    make_token("RS256", NULL, pl, tok, sizeof tok);
    CHECK_EQ_INT(verify(rs, tok, err, sizeof err), 0);
    expect_refused(es, tok, "no key for this alg");
    make_token("ES256", NULL, pl, tok, sizeof tok);
    CHECK_EQ_INT(verify(es, tok, err, sizeof err), 0);
    /* Flip one signature character. */
    size_t n = strlen(tok);
    tok[n - 2] = tok[n - 2] == 'A' ? 'B' : 'A';
    expect_refused(es, tok, "signature");
    jwt_verifier_free(rs);
    jwt_verifier_free(es);
}

static void b64_bn(EVP_PKEY *k, const char *name, size_t pad, char *out, size_t cap)
{
    BIGNUM *bn = NULL;
    uint8_t buf[512];
    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
        abort();
    int n = pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
    auth_b64_encode(buf, (size_t)n, out, cap, 1);
    BN_free(bn);
}

static void test_jwks(void)
{
    setup_keys();
    char n64[400], e64[16], x64[64], y64[64], k64[80], jwks[1400];
    b64_bn(rsa_key, OSSL_PKEY_PARAM_RSA_N, 0, n64, sizeof n64);
    b64_bn(rsa_key, OSSL_PKEY_PARAM_RSA_E, 0, e64, sizeof e64);
    b64_bn(ec_key, OSSL_PKEY_PARAM_EC_PUB_X, 32, x64, sizeof x64);
    b64_bn(ec_key, OSSL_PKEY_PARAM_EC_PUB_Y, 32, y64, sizeof y64);
    auth_b64_encode(secret, strlen(secret), k64, sizeof k64, 1);
    snprintf(
        jwks, sizeof jwks,
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r1\",\"use\":\"sig\",\"n\":\"%s\",\"e\":\"%s\"},"
        "{\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
        "{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
        "{\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"%s\"}]}",
        n64, e64, x64, y64, k64);
    write_text(tpath("jwks.json"), jwks);
    struct jwt_verifier *v = verifier(NULL, tpath("jwks.json"), NULL, NULL, "name");
    REQUIRE(v != NULL);
    char pl[512], tok[4096], err[200];
    snprintf(pl, sizeof pl, "{\"name\":\"bob\",\"sub\":\"x\",\"exp\":%lld}",
             (long long)time(NULL) + 60);
    struct jwt_claims c;
    make_token("RS256", "r1", pl, tok, sizeof tok);
    REQUIRE(jwt_verify(v, tok, strlen(tok), (int64_t)time(NULL), &c, err, sizeof err) == 0);
    CHECK(strcmp(c.username, "bob") == 0);
    jwt_claims_deinit(&c);
    make_token("ES256", "e1", pl, tok, sizeof tok);
    CHECK_EQ_INT(verify(v, tok, err, sizeof err), 0);
    make_token("HS256", "h1", pl, tok, sizeof tok);
    CHECK_EQ_INT(verify(v, tok, err, sizeof err), 0);
    make_token("RS256", NULL, pl, tok, sizeof tok); /* no kid: keys of the alg are tried */
    CHECK_EQ_INT(verify(v, tok, err, sizeof err), 0);
    make_token("RS256", "r2", pl, tok, sizeof tok);
    expect_refused(v, tok, "no key for this alg / kid");
    snprintf(pl, sizeof pl, "{\"sub\":\"x\",\"exp\":%lld}", (long long)time(NULL) + 60);
    make_token("ES256", "e1", pl, tok, sizeof tok);
    expect_refused(v, tok, "missing username claim");
    jwt_verifier_free(v);
}

static void test_settings_errors(void)
{
    setup_keys();
    struct jwt_verifier *v = NULL;
    char err[256];
    struct jwt_settings none = {0};
    CHECK_EQ_INT(jwt_verifier_new(&none, &v, err, sizeof err), TERN_ECONFIG);
    struct jwt_settings missing = {.key_file = tpath("absent.key")};
    CHECK_EQ_INT(jwt_verifier_new(&missing, &v, err, sizeof err), TERN_EIO);
    CHECK(strstr(err, "absent.key") != NULL);
    write_text(tpath("short.key"), "short\n");
    struct jwt_settings shortkey = {.key_file = tpath("short.key")};
    CHECK_EQ_INT(jwt_verifier_new(&shortkey, &v, err, sizeof err), TERN_ECONFIG);
    CHECK(strstr(err, "shorter than 32") != NULL);
    write_text(tpath("bad.json"), "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\"}]}");
    struct jwt_settings badjwks = {.jwks_file = tpath("bad.json")};
    CHECK_EQ_INT(jwt_verifier_new(&badjwks, &v, err, sizeof err), TERN_ECONFIG);
    CHECK(strstr(err, "bad.json") != NULL);
    CHECK(v == NULL);
}

static void test_cleanup(void)
{
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    rsa_key = ec_key = NULL;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(dir[0] != '\0' && system(cmd) == 0);
    CHECK(access(dir, F_OK) != 0);
}

UNIT_MAIN(UNIT_TEST(test_hs256_valid_and_claims), UNIT_TEST(test_times),
          UNIT_TEST(test_bad_signatures_and_algs), UNIT_TEST(test_rs256_es256_pem),
          UNIT_TEST(test_jwks), UNIT_TEST(test_settings_errors), UNIT_TEST(test_cleanup))
