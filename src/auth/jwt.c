/* JWT verification: key loading (HS256 secret file, PEM public key, JWKS via cJSON and OpenSSL
 * 3 EVP_PKEY_fromdata), JWS signature checks (HMAC with constant-time compare, RSA PKCS#1 v1.5,
 * ECDSA P-256 with raw r||s signatures), and claim checks. No token creation. */
#include "jwt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "auth_b64.h"
#include "bytes.h"
#include "codec.h"
#include "err.h"
#include "mem.h"

#define FILE_MAX  (1 << 20)
#define TOKEN_MAX 16384

enum jwt_alg { JWT_HS256, JWT_RS256, JWT_ES256 };

struct jwt_key {
    enum jwt_alg alg;
    char *kid; /* NULL when the key has none */
    EVP_PKEY *pkey;
    uint8_t *secret;
    size_t secret_len;
};

struct jwt_verifier {
    struct jwt_key *keys;
    size_t n;
    char *issuer, *audience, *username_claim;
    int64_t leeway_s;
};

/* err = a + b + c (b may be NULL); returns rc. */
static int fail_msg(char *err, size_t errlen, int rc, const char *a, const char *b, const char *c)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s%s%s", a, b ? b : "", c);
    return rc;
}

/* Reads a whole file (NUL-terminated) into *out. */
static int read_all(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return TERN_EIO;
    char *buf = mem_alloc(FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, FILE_MAX + 1, f) : 0;
    int bad = ferror(f) || n > FILE_MAX;
    fclose(f);
    if (buf == NULL)
        return TERN_ENOMEM;
    if (bad) {
        mem_free(buf);
        return TERN_EIO;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static struct jwt_key *add_key(struct jwt_verifier *v)
{
    struct jwt_key *grown = mem_realloc(v->keys, (v->n + 1) * sizeof *grown);
    if (grown == NULL)
        return NULL;
    v->keys = grown;
    memset(&v->keys[v->n], 0, sizeof v->keys[0]);
    return &v->keys[v->n++];
}

/* RS256 for RSA keys, ES256 for P-256 keys; -1 for anything else. */
static int alg_of_pkey(EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return JWT_RS256;
    char group[64];
    size_t glen = 0;
    if (EVP_PKEY_is_a(pkey, "EC") &&
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &glen) == 1 &&
        strcmp(group, "prime256v1") == 0)
        return JWT_ES256;
    return -1;
}

static int load_key_file(struct jwt_verifier *v, const char *path, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    int rc = read_all(path, &data, &len);
    if (rc != 0)
        return fail_msg(err, errlen, rc, "jwt_key_file ", path, ": cannot read");
    struct jwt_key *k = add_key(v);
    if (k == NULL) {
        rc = TERN_ENOMEM;
    } else if (strstr(data, "-----BEGIN") != NULL) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        k->pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        int alg = k->pkey ? alg_of_pkey(k->pkey) : -1;
        if (alg < 0)
            rc = fail_msg(err, errlen, TERN_ECONFIG, "jwt_key_file ", path,
                          ": not an RSA or EC P-256 public key");
        k->alg = (enum jwt_alg)(alg < 0 ? 0 : alg);
    } else {
        /* An HS256 secret: the bytes of the file, without one trailing newline. */
        if (len > 0 && data[len - 1] == '\n')
            len--;
        if (len > 0 && data[len - 1] == '\r')
            len--;
        k->alg = JWT_HS256;
        k->secret = len ? mem_dup(data, len) : NULL;
        k->secret_len = len;
        if (len < 32)
            rc = fail_msg(err, errlen, TERN_ECONFIG, "jwt_key_file ", path,
                          ": HS256 secret shorter than 32 bytes");
        else if (k->secret == NULL)
            rc = TERN_ENOMEM;
    }
    OPENSSL_cleanse(data, len);
    mem_free(data);
    return rc;
}

/* Decodes a base64url JSON string member into out (cap); returns length or < 0. */
static long b64_member(const cJSON *obj, const char *name, uint8_t *out, size_t cap)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(m))
        return TERN_EINVAL;
    return auth_b64_decode(m->valuestring, strlen(m->valuestring), out, cap, 1);
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *b)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params == NULL || pc == NULL || EVP_PKEY_fromdata_init(pc) != 1 ||
        EVP_PKEY_fromdata(pc, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *jwk_rsa(const cJSON *jwk)
{
    uint8_t n[1024], e[16];
    long nl = b64_member(jwk, "n", n, sizeof n), el = b64_member(jwk, "e", e, sizeof e);
    if (nl <= 0 || el <= 0)
        return NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (bn && be && b && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) == 1)
        pkey = pkey_from_params("RSA", b);
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    return pkey;
}

static EVP_PKEY *jwk_ec(const cJSON *jwk)
{
    const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
    uint8_t pub[65];
    if (!cJSON_IsString(crv) || strcmp(crv->valuestring, "P-256") != 0 ||
        b64_member(jwk, "x", pub + 1, 32) != 32 || b64_member(jwk, "y", pub + 33, 32) != 32)
        return NULL;
    pub[0] = 0x04; /* uncompressed point */
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (b && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub) == 1)
        pkey = pkey_from_params("EC", b);
    OSSL_PARAM_BLD_free(b);
    return pkey;
}

/* Adds one JWK; NULL or the reason it is unusable. */
static const char *add_jwk(struct jwt_verifier *v, const cJSON *jwk)
{
    const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
    const cJSON *use = cJSON_GetObjectItemCaseSensitive(jwk, "use");
    if (!cJSON_IsString(kty))
        return "key without kty";
    if (cJSON_IsString(use) && strcmp(use->valuestring, "sig") != 0)
        return NULL; /* an encryption key: not for us */
    struct jwt_key *k = add_key(v);
    if (k == NULL)
        return "out of memory";
    if (cJSON_IsString(kid) && (k->kid = mem_strdup(kid->valuestring)) == NULL)
        return "out of memory";
    if (strcmp(kty->valuestring, "RSA") == 0) {
        k->alg = JWT_RS256;
        k->pkey = jwk_rsa(jwk);
    } else if (strcmp(kty->valuestring, "EC") == 0) {
        k->alg = JWT_ES256;
        k->pkey = jwk_ec(jwk);
    } else if (strcmp(kty->valuestring, "oct") == 0) {
        uint8_t secret[512];
        long n = b64_member(jwk, "k", secret, sizeof secret);
        k->alg = JWT_HS256;
        if (n < 32)
            return "oct key missing or shorter than 32 bytes";
        k->secret = mem_dup(secret, (size_t)n);
        k->secret_len = (size_t)n;
        OPENSSL_cleanse(secret, sizeof secret);
        return k->secret ? NULL : "out of memory";
    } else {
        return "unsupported kty";
    }
    return k->pkey ? NULL : "bad RSA or EC P-256 key parameters";
}

static int load_jwks(struct jwt_verifier *v, const char *path, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    int rc = read_all(path, &data, &len);
    if (rc != 0)
        return fail_msg(err, errlen, rc, "jwt_jwks_file ", path, ": cannot read");
    cJSON *root = cJSON_ParseWithLength(data, len);
    mem_free(data);
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
    const char *why = cJSON_IsArray(keys) ? NULL : "not a JWKS (no \"keys\" array)";
    const cJSON *jwk;
    cJSON_ArrayForEach(jwk, keys)
    {
        if (why == NULL)
            why = add_jwk(v, jwk);
    }
    if (why == NULL && v->n == 0)
        why = "no signature keys";
    cJSON_Delete(root);
    if (why != NULL) {
        char where[300];
        snprintf(where, sizeof where, "jwt_jwks_file %s: ", path);
        return fail_msg(err, errlen, TERN_ECONFIG, where, why, "");
    }
    return 0;
}

static int copy_opt(const char *s, char **out)
{
    *out = NULL;
    return s == NULL || (*out = mem_strdup(s)) != NULL ? 0 : TERN_ENOMEM;
}

int jwt_verifier_new(const struct jwt_settings *s, struct jwt_verifier **out, char *err,
                     size_t errlen)
{
    if ((s->key_file == NULL) == (s->jwks_file == NULL))
        return fail_msg(err, errlen, TERN_ECONFIG,
                        "set exactly one of jwt_key_file and jwt_jwks_file", NULL, "");
    struct jwt_verifier *v = mem_calloc(1, sizeof *v);
    if (v == NULL)
        return fail_msg(err, errlen, TERN_ENOMEM, "out of memory", NULL, "");
    v->leeway_s = s->leeway_s;
    int rc = copy_opt(s->issuer, &v->issuer);
    if (rc == 0)
        rc = copy_opt(s->audience, &v->audience);
    if (rc == 0)
        rc = copy_opt(s->username_claim ? s->username_claim : "sub", &v->username_claim);
    if (rc == 0)
        rc = s->key_file ? load_key_file(v, s->key_file, err, errlen)
                         : load_jwks(v, s->jwks_file, err, errlen);
    if (rc != 0)
        goto fail;
    *out = v;
    return 0;
fail:
    jwt_verifier_free(v);
    return rc;
}

void jwt_verifier_free(struct jwt_verifier *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        EVP_PKEY_free(v->keys[i].pkey);
        if (v->keys[i].secret)
            OPENSSL_cleanse(v->keys[i].secret, v->keys[i].secret_len);
        mem_free(v->keys[i].secret);
        mem_free(v->keys[i].kid);
    }
    mem_free(v->keys);
    mem_free(v->issuer);
    mem_free(v->audience);
    mem_free(v->username_claim);
    mem_free(v);
}

/* ---- verification ---- */

static bool verify_pkey(EVP_PKEY *pkey, const uint8_t *sig, size_t siglen, const char *input,
                        size_t inlen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
              EVP_DigestVerify(md, sig, siglen, (const uint8_t *)input, inlen) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* JWS ES256 signatures are r||s (32 bytes each); OpenSSL wants DER. */
static bool verify_es256(EVP_PKEY *pkey, const uint8_t *sig, size_t siglen, const char *input,
                         size_t inlen)
{
    if (siglen != 64)
        return false;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    int derlen = -1;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        derlen = i2d_ECDSA_SIG(es, &der);
    }
    bool ok = derlen > 0 && verify_pkey(pkey, der, (size_t)derlen, input, inlen);
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return ok;
}

static bool verify_with(const struct jwt_key *k, const uint8_t *sig, size_t siglen,
                        const char *input, size_t inlen)
{
    if (k->alg == JWT_HS256) {
        uint8_t mac[32];
        unsigned n = 0;
        if (HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const uint8_t *)input, inlen, mac,
                 &n) == NULL)
            return false;
        return siglen == sizeof mac && CRYPTO_memcmp(mac, sig, sizeof mac) == 0;
    }
    if (k->alg == JWT_ES256)
        return verify_es256(k->pkey, sig, siglen, input, inlen);
    return verify_pkey(k->pkey, sig, siglen, input, inlen);
}

static cJSON *decode_json(const char *part, size_t len)
{
    uint8_t buf[TOKEN_MAX];
    long n = auth_b64_decode(part, len, buf, sizeof buf, 1);
    if (n <= 0)
        return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)buf, (size_t)n);
    if (j != NULL && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* Checks the header and the signature; NULL or the reason. */
static const char *check_signature(const struct jwt_verifier *v, const char *tok, size_t hlen,
                                   size_t plen, const char *sig64, size_t slen)
{
    static const char *const names[] = {"HS256", "RS256", "ES256"};
    cJSON *hdr = decode_json(tok, hlen);
    if (hdr == NULL)
        return "malformed header";
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
    int a = -1;
    for (int i = 0; i < 3 && cJSON_IsString(alg); i++)
        if (strcmp(alg->valuestring, names[i]) == 0)
            a = i;
    const char *why = NULL;
    if (a < 0)
        why = "unsupported alg (HS256, RS256 or ES256 only; never none)";
    else if (cJSON_GetObjectItemCaseSensitive(hdr, "crit") != NULL)
        why = "unsupported crit header";
    uint8_t sig[1024];
    long sl = why ? 0 : auth_b64_decode(sig64, slen, sig, sizeof sig, 1);
    if (why == NULL && sl <= 0)
        why = "malformed signature";
    bool matched_key = false, ok = false;
    for (size_t i = 0; why == NULL && !ok && i < v->n; i++) {
        const struct jwt_key *k = &v->keys[i];
        if ((int)k->alg != a ||
            (cJSON_IsString(kid) && k->kid != NULL && strcmp(kid->valuestring, k->kid) != 0))
            continue;
        matched_key = true;
        ok = verify_with(k, sig, (size_t)sl, tok, hlen + 1 + plen);
    }
    if (why == NULL && !matched_key)
        why = "no key for this alg / kid";
    else if (why == NULL && !ok)
        why = "bad signature";
    cJSON_Delete(hdr);
    return why;
}

static bool aud_ok(const cJSON *aud, const char *want)
{
    if (cJSON_IsString(aud))
        return strcmp(aud->valuestring, want) == 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, aud)
    {
        if (cJSON_IsString(m) && strcmp(m->valuestring, want) == 0)
            return true;
    }
    return false;
}

/* A NumericDate as seconds, refusing values no real date has (so the conversion and the
 * leeway arithmetic cannot overflow). */
#define JWT_TIME_MAX 4611686018427387904.0 /* 2^62 */

static bool time_of(const cJSON *j, int64_t *out)
{
    if (!cJSON_IsNumber(j) || !(j->valuedouble > -JWT_TIME_MAX && j->valuedouble < JWT_TIME_MAX))
        return false;
    *out = (int64_t)j->valuedouble;
    return true;
}

static const char *check_times(const struct jwt_verifier *v, const cJSON *pl, int64_t now,
                               struct jwt_claims *out)
{
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(pl, "exp");
    const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(pl, "nbf");
    int64_t nbf_s = 0;
    if (!time_of(exp, &out->exp))
        return "missing or invalid exp";
    if (now >= out->exp + v->leeway_s)
        return "expired";
    if (nbf != NULL && (!time_of(nbf, &nbf_s) || now + v->leeway_s < nbf_s))
        return "not yet valid (nbf)";
    return NULL;
}

/* Copies an optional array of filters. */
static const char *filters_claim(const cJSON *pl, const char *name, char ***out, size_t *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(pl, name);
    if (arr == NULL)
        return NULL;
    if (!cJSON_IsArray(arr))
        return "ACL claim is not an array";
    size_t count = (size_t)cJSON_GetArraySize(arr);
    *out = mem_calloc(count ? count : 1, sizeof **out);
    if (*out == NULL)
        return "out of memory";
    const cJSON *m;
    cJSON_ArrayForEach(m, arr)
    {
        if (!cJSON_IsString(m) || !codec_topic_filter_valid(bytes_str(m->valuestring)))
            return "ACL claim has an invalid topic filter";
        if (((*out)[*n] = mem_strdup(m->valuestring)) == NULL)
            return "out of memory";
        (*n)++;
    }
    return NULL;
}

static const char *check_claims(const struct jwt_verifier *v, const cJSON *pl, int64_t now,
                                struct jwt_claims *out)
{
    const char *why = check_times(v, pl, now, out);
    if (why != NULL)
        return why;
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(pl, "iss");
    if (v->issuer && (!cJSON_IsString(iss) || strcmp(iss->valuestring, v->issuer) != 0))
        return "wrong issuer";
    if (v->audience && !aud_ok(cJSON_GetObjectItemCaseSensitive(pl, "aud"), v->audience))
        return "wrong audience";
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(pl, v->username_claim);
    if (!cJSON_IsString(user) || user->valuestring[0] == '\0')
        return "missing username claim";
    if ((out->username = mem_strdup(user->valuestring)) == NULL)
        return "out of memory";
    why = filters_claim(pl, "publish", &out->publish, &out->n_publish);
    return why ? why : filters_claim(pl, "subscribe", &out->subscribe, &out->n_subscribe);
}

int jwt_verify(const struct jwt_verifier *v, const char *token, size_t len, int64_t now_s,
               struct jwt_claims *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *d1 = len <= TOKEN_MAX ? memchr(token, '.', len) : NULL;
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
        return fail_msg(err, errlen, TERN_EDENIED, "JWT: not a compact JWS", NULL, "");
    size_t hlen = (size_t)(d1 - token), plen = (size_t)(d2 - d1 - 1);
    const char *why = check_signature(v, token, hlen, plen, d2 + 1, len - (size_t)(d2 + 1 - token));
    cJSON *pl = why ? NULL : decode_json(d1 + 1, plen);
    if (why == NULL && pl == NULL)
        why = "malformed payload";
    if (why == NULL)
        why = check_claims(v, pl, now_s, out);
    cJSON_Delete(pl);
    if (why == NULL)
        return 0;
    jwt_claims_deinit(out);
    return fail_msg(err, errlen, strcmp(why, "out of memory") ? TERN_EDENIED : TERN_ENOMEM,
                    "JWT: ", why, "");
}

void jwt_claims_deinit(struct jwt_claims *c)
{
    for (size_t i = 0; i < c->n_publish; i++)
        mem_free(c->publish[i]);
    for (size_t i = 0; i < c->n_subscribe; i++)
        mem_free(c->subscribe[i]);
    mem_free(c->publish);
    mem_free(c->subscribe);
    mem_free(c->username);
    memset(c, 0, sizeof *c);
}
