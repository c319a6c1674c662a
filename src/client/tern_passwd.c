/* Mosquitto-compatible password hashes: "$6$salt$hash" (SHA-512 of password then salt) and
 * "$7$iterations$salt$hash" (PBKDF2-HMAC-SHA512, 64-byte key), 12-byte random salts, standard
 * base64 with padding; and argon2id in libargon2's encoded form with Mosquitto 2.1's
 * parameters. Hashing and checking only; reading and writing files is the caller's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "err.h"
#include "mem.h"
#include "passwd.h"

#define SALT_LEN 12
#define HASH_LEN 64
#define MAX_B64  128

/* Mosquitto 2.1's argon2id cost: one pass over 47104 KiB in one lane, 64-byte salt and hash. */
#define ARGON2_T        1
#define ARGON2_M_KIB    47104
#define ARGON2_P        1
#define ARGON2_SALT_LEN 64
#define ARGON2_HASH_LEN 64
#define ARGON2_PREFIX   "$argon2id$"

static int hash_password(const char *password, const uint8_t *salt, size_t salt_len, int hash,
                         int iterations, uint8_t out[HASH_LEN])
{
    if (hash == TERN_PASSWD_SHA512_PBKDF2) {
        int ok = PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, iterations,
                                   EVP_sha512(), HASH_LEN, out);
        return ok == 1 ? 0 : TERN_ESYS;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned len = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, password, strlen(password)) == 1 &&
             EVP_DigestUpdate(ctx, salt, salt_len) == 1 &&
             EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == HASH_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : TERN_ESYS;
}

/* Standard base64 with padding; returns the decoded length or -1. */
static int b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > cap)
        return -1;
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0)
        return -1;
    if (in[len - 1] == '=')
        n--;
    if (in[len - 2] == '=')
        n--;
    return n;
}

/* "username:$argon2id$v=19$m=...,t=...,p=...$salt$hash" into out[0..cap). */
static int make_argon2id(const char *username, const char *password, char *out, size_t cap)
{
    uint8_t salt[ARGON2_SALT_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return TERN_ESYS;
    size_t ulen = strlen(username);
    size_t enc_len = argon2_encodedlen(ARGON2_T, ARGON2_M_KIB, ARGON2_P, ARGON2_SALT_LEN,
                                       ARGON2_HASH_LEN, Argon2_id);
    if (ulen + 1 + enc_len > cap)
        return TERN_ETOOBIG;
    snprintf(out, cap, "%s:", username);
    int rc = argon2id_hash_encoded(ARGON2_T, ARGON2_M_KIB, ARGON2_P, password, strlen(password),
                                   salt, sizeof salt, ARGON2_HASH_LEN, out + ulen + 1, enc_len);
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        return TERN_ENOMEM;
    return rc == ARGON2_OK ? 0 : TERN_ESYS;
}

/* Verifies an "$argon2id$..." hash of len bytes (not NUL-terminated). */
static int check_argon2id(const char *h, size_t len, const char *password)
{
    char *enc = mem_strndup(h, len);
    if (!enc)
        return TERN_ENOMEM;
    int rc = argon2id_verify(enc, password, strlen(password));
    mem_free(enc);
    if (rc == ARGON2_OK)
        return 0;
    if (rc == ARGON2_VERIFY_MISMATCH)
        return TERN_EDENIED;
    return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? TERN_ENOMEM : TERN_EINVAL;
}

int tern_passwd_make(const char *username, const char *password, enum tern_passwd_hash hash,
                     int iterations, char *out, size_t cap)
{
    if (!username || !password || strchr(username, ':'))
        return TERN_EINVAL;
    if (hash == TERN_PASSWD_ARGON2ID)
        return make_argon2id(username, password, out, cap);
    if (hash != TERN_PASSWD_SHA512 && hash != TERN_PASSWD_SHA512_PBKDF2)
        return TERN_EINVAL;
    if (iterations <= 0)
        iterations = TERN_PASSWD_DEFAULT_ITERATIONS;
    uint8_t salt[SALT_LEN];
    uint8_t digest[HASH_LEN];
    if (RAND_bytes(salt, SALT_LEN) != 1)
        return TERN_ESYS;
    int rc = hash_password(password, salt, SALT_LEN, hash, iterations, digest);
    if (rc)
        return rc;
    char salt64[MAX_B64];
    char hash64[MAX_B64];
    EVP_EncodeBlock((unsigned char *)salt64, salt, SALT_LEN);
    EVP_EncodeBlock((unsigned char *)hash64, digest, HASH_LEN);
    int n;
    if (hash == TERN_PASSWD_SHA512_PBKDF2)
        n = snprintf(out, cap, "%s:$7$%d$%s$%s", username, iterations, salt64, hash64);
    else
        n = snprintf(out, cap, "%s:$6$%s$%s", username, salt64, hash64);
    return n < 0 || (size_t)n >= cap ? TERN_ETOOBIG : 0;
}

/* Splits "a$b$c" fields out of s (after the "$N$" prefix) into at most max pointers/lengths. */
static int split_fields(const char *s, size_t len, const char **f, size_t *flen, int max)
{
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '$') {
            if (n == max)
                return -1;
            f[n] = s + start;
            flen[n] = i - start;
            n++;
            start = i + 1;
        }
    }
    return n;
}

int tern_passwd_check(const char *line, const char *password)
{
    if (!line || !password)
        return TERN_EINVAL;
    const char *h = line[0] == '$' ? line : strchr(line, ':');
    if (!h)
        return TERN_EINVAL;
    if (*h == ':')
        h++;
    size_t len = strcspn(h, "\r\n");
    if (len > strlen(ARGON2_PREFIX) && strncmp(h, ARGON2_PREFIX, strlen(ARGON2_PREFIX)) == 0)
        return check_argon2id(h, len, password);
    if (len < 3 || h[0] != '$' || (h[1] != '6' && h[1] != '7') || h[2] != '$')
        return TERN_EINVAL;
    int hash = h[1] - '0';
    const char *f[3];
    size_t fl[3];
    int nf = split_fields(h + 3, len - 3, f, fl, 3);
    int iterations = 0;
    if (hash == TERN_PASSWD_SHA512_PBKDF2) {
        if (nf != 3 || fl[0] == 0 || fl[0] > 9)
            return TERN_EINVAL;
        char num[10];
        memcpy(num, f[0], fl[0]);
        num[fl[0]] = '\0';
        char *end;
        long it = strtol(num, &end, 10);
        if (*end || it <= 0)
            return TERN_EINVAL;
        iterations = (int)it;
        f[0] = f[1], fl[0] = fl[1];
        f[1] = f[2], fl[1] = fl[2];
    } else if (nf != 2) {
        return TERN_EINVAL;
    }
    uint8_t salt[MAX_B64];
    uint8_t want[MAX_B64];
    uint8_t got[HASH_LEN];
    int salt_len = b64_decode(f[0], fl[0], salt, sizeof salt);
    int want_len = b64_decode(f[1], fl[1], want, sizeof want);
    if (salt_len <= 0 || want_len != HASH_LEN)
        return TERN_EINVAL;
    int rc = hash_password(password, salt, (size_t)salt_len, hash, iterations, got);
    if (rc)
        return rc;
    return CRYPTO_memcmp(got, want, HASH_LEN) == 0 ? 0 : TERN_EDENIED;
}
