/* Fuzz target for JWT verification (jwt_verify) and JWKS loading. Byte 0 selects:
 *   bits 0-1 = 0: the rest is a token for the HS256 key-file verifier (issuer "tern-iss",
 *                 audience "tern-aud", 60 s leeway);
 *              1: the rest is "header.payload", signed here with that verifier's secret (so the
 *                 claim checks are reached), then verified;
 *              2: the same signed with the JWKS verifier's oct key (kid "k1", no issuer or
 *                 audience);
 *              3: the rest is a JWKS file, loaded, then a fixed token is verified against it.
 *   bit 2, with modes 1 and 2: the rest is "header-JSON \0 payload-JSON", base64url-encoded
 *              here first, so the fuzzer mutates the JSON itself.
 * Invariants: success means a non-empty username, an unexpired exp and valid ACL filters;
 * failure means zeroed claims and a "JWT: " reason; unsigned or wrongly signed tokens never
 * pass. The verifiers are built for each input (cheap: no PEM keys) so nothing outlives it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bytes.h"
#include "codec.h"
#include "err.h"
#include "fuzz_file.h"
#include "fuzz_target.h"
#include "jwt.h"
#include "mem.h"

#define NOW_S     1700000000
#define LEEWAY_S  60
#define TOKEN_CAP 20000

static const char hs_secret[] = "tern-fuzz-hs256-secret-0123456789abcdef";
/* base64url of "tern-fuzz-jwks-oct-secret-0123456789abcdef". */
static const char jwks_text[] =
    "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\","
    "\"k\":\"dGVybi1mdXp6LWp3a3Mtb2N0LXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm\"}]}";
static const char jwks_secret[] = "tern-fuzz-jwks-oct-secret-0123456789abcdef";

static struct jwt_verifier *make_verifier(const char *content, bool jwks)
{
    struct jwt_settings s;
    struct jwt_verifier *v = NULL;
    char err[256];
    memset(&s, 0, sizeof s);
    const char *path = fuzz_file_write((const uint8_t *)content, strlen(content));
    if (jwks) {
        s.jwks_file = path;
    } else {
        s.key_file = path;
        s.issuer = "tern-iss";
        s.audience = "tern-aud";
        s.leeway_s = LEEWAY_S;
    }
    if (jwt_verifier_new(&s, &v, err, sizeof err) != 0)
        abort();
    return v;
}

/* base64url without padding, independent of the code under test. */
static size_t b64url(const uint8_t *in, size_t len, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    for (int i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[n] = '\0';
    return (size_t)n;
}

static void check_result(int rc, const struct jwt_claims *c, const char *err, int64_t leeway)
{
    if (rc == 0) {
        if (c->username == NULL || c->username[0] == '\0' || c->exp <= NOW_S - leeway)
            abort();
        for (size_t i = 0; i < c->n_publish; i++)
            if (!codec_topic_filter_valid(bytes_str(c->publish[i])))
                abort();
        for (size_t i = 0; i < c->n_subscribe; i++)
            if (!codec_topic_filter_valid(bytes_str(c->subscribe[i])))
                abort();
        return;
    }
    if (rc != TERN_EDENIED && rc != TERN_ENOMEM)
        abort();
    if (c->username || c->publish || c->subscribe || c->n_publish || c->n_subscribe)
        abort();
    if (strncmp(err, "JWT: ", 5) != 0)
        abort();
}

static void verify(const struct jwt_verifier *v, const char *tok, size_t len, int64_t leeway)
{
    struct jwt_claims c;
    char err[256];
    int rc = jwt_verify(v, tok, len, NOW_S, &c, err, sizeof err);
    check_result(rc, &c, err, leeway);
    jwt_claims_deinit(&c);
}

/* Appends "." + HMAC-SHA256(secret, signing input) to the input and verifies it. */
static void verify_signed(const struct jwt_verifier *v, const char *secret, const uint8_t *in,
                          size_t len, int64_t leeway)
{
    static char tok[TOKEN_CAP + 64];
    uint8_t mac[32];
    unsigned n = 0;
    if (len > TOKEN_CAP)
        return;
    memcpy(tok, in, len);
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), in, len, mac, &n))
        abort();
    tok[len] = '.';
    size_t sl = b64url(mac, sizeof mac, tok + len + 1);
    verify(v, tok, len + 1 + sl, leeway);
}

/* Loads a fuzzed JWKS and verifies a token signed with jwks_secret under kid "k1". */
static void load_jwks(const uint8_t *in, size_t len)
{
    struct jwt_settings s;
    struct jwt_verifier *v = NULL;
    char err[256];
    memset(&s, 0, sizeof s);
    s.jwks_file = fuzz_file_write(in, len);
    int rc = jwt_verifier_new(&s, &v, err, sizeof err);
    if (rc != 0) {
        if (v != NULL || (rc != TERN_ECONFIG && rc != TERN_EIO) ||
            strncmp(err, "jwt_jwks_file ", 14) != 0)
            abort();
        return;
    }
    static const char input[] = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0."
                                "eyJzdWIiOiJhbGljZSIsImV4cCI6MTgwMDAwMDAwMH0";
    verify_signed(v, jwks_secret, (const uint8_t *)input, strlen(input), 0);
    jwt_verifier_free(v);
}

/* "header-JSON \0 payload-JSON" to "b64url(header).b64url(payload)" in out (cap >= 2 * len
 * + 8). Returns the length. */
static size_t encode_parts(const uint8_t *in, size_t len, char *out)
{
    const uint8_t *nul = memchr(in, '\0', len);
    size_t hlen = nul ? (size_t)(nul - in) : len;
    size_t n = b64url(in, hlen, out);
    out[n++] = '.';
    if (nul != NULL)
        n += b64url(nul + 1, len - hlen - 1, out + n);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char encoded[2 * TOKEN_CAP + 8];
    if (size < 1)
        return 0;
    struct jwt_verifier *hs_verifier = make_verifier(hs_secret, false);
    struct jwt_verifier *jwks_verifier = make_verifier(jwks_text, true);
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    if ((data[0] & 4) && (data[0] & 3) != 0 && (data[0] & 3) != 3) {
        if (len > TOKEN_CAP)
            len = TOKEN_CAP;
        len = encode_parts(in, len, encoded);
        in = (const uint8_t *)encoded;
    }
    switch (data[0] & 3) {
    case 0:
        verify(hs_verifier, (const char *)in, len, LEEWAY_S);
        break;
    case 1:
        verify_signed(hs_verifier, hs_secret, in, len, LEEWAY_S);
        break;
    case 2:
        verify_signed(jwks_verifier, jwks_secret, in, len, 0);
        break;
    default:
        load_jwks(in, len);
        break;
    }
    jwt_verifier_free(hs_verifier);
    jwt_verifier_free(jwks_verifier);
    return 0;
}
