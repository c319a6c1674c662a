/* SCRAM server exchange (RFC 5802 section 5, RFC 7677): message parsing, nonce generation,
 * proof verification with constant-time comparison, server signature, and credential
 * derivation. Unknown users get a deterministic fake salt so they look like real ones.
 * No credential storage (scram_file.c) and no MQTT packet handling (the broker's). */
#include "scram.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth_b64.h"
#include "err.h"
#include "mem.h"

#define MSG_MAX 1024

enum state { WANT_FIRST, WANT_FINAL, DONE };

struct scram_server {
    enum scram_mech mech;
    scram_lookup_fn lookup;
    void *arg;
    enum state state;
    bool success;
    char fixed_nonce[64];
    char username[256];
    char gs2[300]; /* gs2 header, e.g. "n,," */
    char client_bare[MSG_MAX];
    char server_first[MSG_MAX];
    char nonce[400]; /* client nonce + server nonce */
    struct scram_cred cred;
};

static const EVP_MD *md_of(enum scram_mech mech)
{
    return mech == SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
}

size_t scram_hash_len(enum scram_mech mech)
{
    return mech == SCRAM_SHA_512 ? 64 : 32;
}

int scram_mech_from_name(const char *method, enum scram_mech *out)
{
    if (method != NULL && strcmp(method, "SCRAM-SHA-256") == 0)
        *out = SCRAM_SHA_256;
    else if (method != NULL && strcmp(method, "SCRAM-SHA-512") == 0)
        *out = SCRAM_SHA_512;
    else
        return TERN_ENOTFOUND;
    return 0;
}

const char *scram_mech_name(enum scram_mech mech)
{
    return mech == SCRAM_SHA_512 ? "SCRAM-SHA-512" : "SCRAM-SHA-256";
}

static int hmac(enum scram_mech mech, const uint8_t *key, size_t keylen, const void *data,
                size_t len, uint8_t *out)
{
    unsigned n = 0;
    if (HMAC(md_of(mech), key, (int)keylen, data, len, out, &n) == NULL)
        return TERN_ESYS;
    return n == scram_hash_len(mech) ? 0 : TERN_ESYS;
}

static int digest(enum scram_mech mech, const uint8_t *in, size_t len, uint8_t *out)
{
    unsigned n = 0;
    return EVP_Digest(in, len, out, &n, md_of(mech), NULL) == 1 ? 0 : TERN_ESYS;
}

int scram_cred_from_salted(enum scram_mech mech, const uint8_t *salted, const uint8_t *salt,
                           size_t salt_len, uint32_t iterations, struct scram_cred *out)
{
    size_t hl = scram_hash_len(mech);
    uint8_t client_key[SCRAM_MAX_HASH];
    if (salt_len > SCRAM_MAX_SALT || iterations == 0)
        return TERN_EINVAL;
    memset(out, 0, sizeof *out);
    memcpy(out->salt, salt, salt_len);
    out->salt_len = salt_len;
    out->iterations = iterations;
    int rc = hmac(mech, salted, hl, "Client Key", 10, client_key);
    if (rc == 0)
        rc = digest(mech, client_key, hl, out->stored_key);
    if (rc == 0)
        rc = hmac(mech, salted, hl, "Server Key", 10, out->server_key);
    OPENSSL_cleanse(client_key, sizeof client_key);
    return rc;
}

int scram_cred_make(enum scram_mech mech, const void *password, size_t len, const uint8_t *salt,
                    size_t salt_len, uint32_t iterations, struct scram_cred *out)
{
    uint8_t salted[SCRAM_MAX_HASH];
    if (salt_len > SCRAM_MAX_SALT || iterations == 0 || iterations > 100000000u)
        return TERN_EINVAL;
    /* Hi() is PBKDF2 with the hash's output length [RFC 5802 section 2.2]. */
    if (PKCS5_PBKDF2_HMAC(password, (int)len, salt, (int)salt_len, (int)iterations, md_of(mech),
                          (int)scram_hash_len(mech), salted) != 1)
        return TERN_ESYS;
    int rc = scram_cred_from_salted(mech, salted, salt, salt_len, iterations, out);
    OPENSSL_cleanse(salted, sizeof salted);
    return rc;
}

struct scram_server *scram_server_new(enum scram_mech mech, scram_lookup_fn lookup, void *arg)
{
    struct scram_server *s = mem_calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->mech = mech;
    s->lookup = lookup;
    s->arg = arg;
    return s;
}

int scram_server_set_nonce(struct scram_server *s, const char *nonce)
{
    size_t n = strlen(nonce);
    if (n == 0 || n >= sizeof s->fixed_nonce || strchr(nonce, ',') != NULL)
        return TERN_EINVAL;
    memcpy(s->fixed_nonce, nonce, n + 1);
    return 0;
}

/* Decodes a saslname ("=2C" -> ',', "=3D" -> '=') of len bytes into out. */
static int sasl_name(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '=') {
            if (i + 2 >= len)
                return TERN_EPROTO;
            if (strncmp(in + i, "=2C", 3) == 0)
                c = ',';
            else if (strncmp(in + i, "=3D", 3) == 0)
                c = '=';
            else
                return TERN_EPROTO;
            i += 2;
        }
        if (o + 1 >= cap)
            return TERN_EPROTO;
        out[o++] = c;
    }
    out[o] = '\0';
    return o > 0 ? 0 : TERN_EPROTO;
}

/* A salt and keys no password matches, stable per user name, so a prober cannot tell unknown
 * users by a changing or missing salt. */
static int fake_cred(struct scram_server *s)
{
    uint8_t h[SCRAM_MAX_HASH];
    char seed[300];
    int n = snprintf(seed, sizeof seed, "tern-scram-unknown-user:%s", s->username);
    if (digest(SCRAM_SHA_256, (const uint8_t *)seed, (size_t)n, h) != 0)
        return TERN_ESYS;
    memset(&s->cred, 0, sizeof s->cred);
    memcpy(s->cred.salt, h, 16);
    s->cred.salt_len = 16;
    s->cred.iterations = 4096;
    return RAND_bytes(s->cred.stored_key, sizeof s->cred.stored_key) == 1 &&
                   RAND_bytes(s->cred.server_key, sizeof s->cred.server_key) == 1
               ? 0
               : TERN_ESYS;
}

/* Parses "gs2-header client-first-bare" into s. */
static int parse_client_first(struct scram_server *s, const char *msg, const char **cnonce,
                              size_t *cnonce_len)
{
    /* gs2-cbind-flag: no channel binding offered ("n") or supported-but-unused ("y"). */
    if ((msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',')
        return TERN_EPROTO;
    const char *authzid_end = strchr(msg + 2, ',');
    if (authzid_end == NULL || (authzid_end != msg + 2 && strncmp(msg + 2, "a=", 2) != 0))
        return TERN_EPROTO;
    size_t gs2_len = (size_t)(authzid_end + 1 - msg);
    const char *bare = authzid_end + 1;
    if (gs2_len >= sizeof s->gs2 || strlen(bare) >= sizeof s->client_bare ||
        strncmp(bare, "n=", 2) != 0)
        return TERN_EPROTO; /* also refuses the reserved "m=" extension */
    memcpy(s->gs2, msg, gs2_len);
    s->gs2[gs2_len] = '\0';
    strcpy(s->client_bare, bare);
    const char *user = bare + 2;
    const char *comma = strchr(user, ',');
    if (comma == NULL || strncmp(comma, ",r=", 3) != 0)
        return TERN_EPROTO;
    if (sasl_name(user, (size_t)(comma - user), s->username, sizeof s->username) != 0)
        return TERN_EPROTO;
    *cnonce = comma + 3;
    *cnonce_len = strcspn(*cnonce, ",");
    return *cnonce_len > 0 ? 0 : TERN_EPROTO;
}

static int server_nonce(struct scram_server *s, char *out, size_t cap)
{
    if (s->fixed_nonce[0] != '\0')
        return snprintf(out, cap, "%s", s->fixed_nonce) < (int)cap ? 0 : TERN_ETOOBIG;
    uint8_t raw[18];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return TERN_ESYS;
    return auth_b64_encode(raw, sizeof raw, out, cap, 0) > 0 ? 0 : TERN_ETOOBIG;
}

static int step_first(struct scram_server *s, const char *msg, char *out, size_t cap)
{
    const char *cnonce;
    size_t cnonce_len;
    char snonce[64], salt64[AUTH_B64_ENCODED_LEN(SCRAM_MAX_SALT)];
    int rc = parse_client_first(s, msg, &cnonce, &cnonce_len);
    if (rc == 0)
        rc = server_nonce(s, snonce, sizeof snonce);
    if (rc != 0)
        return rc;
    if (cnonce_len + strlen(snonce) >= sizeof s->nonce)
        return TERN_EPROTO;
    snprintf(s->nonce, sizeof s->nonce, "%.*s%s", (int)cnonce_len, cnonce, snonce);
    rc = s->lookup(s->arg, s->mech, s->username, &s->cred);
    if (rc == TERN_ENOTFOUND)
        rc = fake_cred(s);
    if (rc != 0)
        return rc;
    auth_b64_encode(s->cred.salt, s->cred.salt_len, salt64, sizeof salt64, 0);
    int n = snprintf(s->server_first, sizeof s->server_first, "r=%s,s=%s,i=%u", s->nonce, salt64,
                     s->cred.iterations);
    if (n < 0 || (size_t)n >= sizeof s->server_first || (size_t)n >= cap)
        return TERN_ETOOBIG;
    memcpy(out, s->server_first, (size_t)n + 1);
    return SCRAM_CONTINUE;
}

/* Checks "c=...,r=...[,ext],p=..." and writes "v=..." on success. */
static int step_final(struct scram_server *s, const char *msg, char *out, size_t cap)
{
    size_t hl = scram_hash_len(s->mech);
    const char *p = strstr(msg, ",p=");
    char gs2_64[AUTH_B64_ENCODED_LEN(sizeof s->gs2)];
    auth_b64_encode(s->gs2, strlen(s->gs2), gs2_64, sizeof gs2_64, 0);
    size_t glen = strlen(gs2_64), nlen = strlen(s->nonce);
    /* Channel binding must repeat the gs2 header and the nonce must be the combined one. */
    if (p == NULL || strncmp(msg, "c=", 2) != 0 || strncmp(msg + 2, gs2_64, glen) != 0 ||
        strncmp(msg + 2 + glen, ",r=", 3) != 0 || strncmp(msg + 5 + glen, s->nonce, nlen) != 0 ||
        (msg[5 + glen + nlen] != ','))
        return TERN_EPROTO;
    uint8_t proof[SCRAM_MAX_HASH], sig[SCRAM_MAX_HASH], key[SCRAM_MAX_HASH];
    const char *proof64 = p + 3;
    if (auth_b64_decode(proof64, strlen(proof64), proof, sizeof proof, 0) != (long)hl)
        return TERN_EPROTO;
    char auth_msg[3 * MSG_MAX];
    int n = snprintf(auth_msg, sizeof auth_msg, "%s,%s,%.*s", s->client_bare, s->server_first,
                     (int)(p - msg), msg);
    if (n < 0 || (size_t)n >= sizeof auth_msg)
        return TERN_EPROTO;
    /* ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) must be StoredKey. */
    int rc = hmac(s->mech, s->cred.stored_key, hl, auth_msg, (size_t)n, sig);
    for (size_t i = 0; i < hl; i++)
        key[i] = proof[i] ^ sig[i];
    if (rc == 0)
        rc = digest(s->mech, key, hl, sig);
    if (rc == 0 && CRYPTO_memcmp(sig, s->cred.stored_key, hl) != 0)
        rc = TERN_EDENIED;
    if (rc == 0)
        rc = hmac(s->mech, s->cred.server_key, hl, auth_msg, (size_t)n, sig);
    OPENSSL_cleanse(key, sizeof key);
    if (rc != 0)
        return rc;
    if (cap < 3 + AUTH_B64_ENCODED_LEN(SCRAM_MAX_HASH))
        return TERN_ETOOBIG;
    memcpy(out, "v=", 2);
    auth_b64_encode(sig, hl, out + 2, cap - 2, 0);
    s->success = true;
    return SCRAM_SUCCESS;
}

int scram_server_step(struct scram_server *s, const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t cap, size_t *out_len)
{
    char msg[MSG_MAX];
    *out_len = 0;
    if (s->state == DONE)
        return TERN_EPROTO;
    enum state was = s->state;
    s->state = DONE; /* any failure ends the exchange */
    if (in == NULL || in_len == 0 || in_len >= sizeof msg || memchr(in, '\0', in_len) != NULL)
        return TERN_EPROTO;
    memcpy(msg, in, in_len);
    msg[in_len] = '\0';
    int rc = was == WANT_FIRST ? step_first(s, msg, (char *)out, cap)
                               : step_final(s, msg, (char *)out, cap);
    if (rc == SCRAM_CONTINUE)
        s->state = WANT_FINAL;
    if (rc > 0)
        *out_len = strlen((const char *)out);
    return rc;
}

const char *scram_server_username(const struct scram_server *s)
{
    return s->success ? s->username : NULL;
}

void scram_server_free(struct scram_server *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, sizeof *s);
    mem_free(s);
}
