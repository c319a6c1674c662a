/* SCRAM credential file parsing, lookups (scram file and Mosquitto password file), and line
 * creation. Stores derived keys only, never passwords. No exchange logic (scram.c). */
#include "scram_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth_b64.h"
#include "err.h"
#include "mem.h"
#include "passwd_file.h"

struct scram_entry {
    char *user;
    enum scram_mech mech;
    struct scram_cred cred;
};

struct scram_file {
    struct scram_entry *e;
    size_t n;
};

static const char *decode_key(const char *b64, uint8_t *out, size_t want)
{
    long n = auth_b64_decode(b64, strlen(b64), out, SCRAM_MAX_HASH, 0);
    return n == (long)want ? NULL : "bad base64 key or wrong key length";
}

/* Splits line on ':' into exactly 6 fields. */
static int split6(char *line, char *f[6])
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p; p++) {
        if (*p == ':') {
            if (n == 6)
                return -1;
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    return n == 6 ? 0 : -1;
}

static const char *parse_entry(char *line, struct scram_entry *e)
{
    char *f[6];
    if (split6(line, f) != 0)
        return "expected user:mechanism:iterations:salt:StoredKey:ServerKey";
    if (f[0][0] == '\0')
        return "empty user name";
    if (scram_mech_from_name(f[1], &e->mech) != 0)
        return "unknown mechanism (SCRAM-SHA-256 or SCRAM-SHA-512)";
    char *end = NULL;
    errno = 0;
    unsigned long it = strtoul(f[2], &end, 10);
    if (end == f[2] || *end != '\0' || errno != 0 || it == 0 || it > 100000000UL)
        return "bad iteration count";
    e->cred.iterations = (uint32_t)it;
    long sl = auth_b64_decode(f[3], strlen(f[3]), e->cred.salt, sizeof e->cred.salt, 0);
    if (sl <= 0)
        return "bad base64 salt";
    e->cred.salt_len = (size_t)sl;
    size_t hl = scram_hash_len(e->mech);
    const char *why = decode_key(f[4], e->cred.stored_key, hl);
    if (why == NULL)
        why = decode_key(f[5], e->cred.server_key, hl);
    if (why == NULL && (e->user = mem_strdup(f[0])) == NULL)
        why = "out of memory";
    return why;
}

static const struct scram_entry *find(const struct scram_file *f, enum scram_mech mech,
                                      const char *user)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->e[i].mech == mech && strcmp(f->e[i].user, user) == 0)
            return &f->e[i];
    return NULL;
}

static const char *add_line(struct scram_file *f, char *line)
{
    struct scram_entry e;
    memset(&e, 0, sizeof e);
    const char *why = parse_entry(line, &e);
    if (why == NULL && find(f, e.mech, e.user) != NULL)
        why = "duplicate user and mechanism";
    struct scram_entry *grown = why ? NULL : mem_realloc(f->e, (f->n + 1) * sizeof *grown);
    if (why == NULL && grown == NULL)
        why = "out of memory";
    if (why != NULL) {
        mem_free(e.user);
        OPENSSL_cleanse(&e, sizeof e);
        return why;
    }
    f->e = grown;
    f->e[f->n++] = e;
    return NULL;
}

static int read_file(struct scram_file *sf, FILE *f, const char *path, char *err, size_t errlen)
{
    char line[2048];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        const char *why = add_line(sf, line);
        if (why != NULL) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
            return strcmp(why, "out of memory") == 0 ? TERN_ENOMEM : TERN_ECONFIG;
        }
    }
    return 0;
}

int scram_file_load(const char *path, struct scram_file **out, char *err, size_t errlen)
{
    char dummy[1];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return TERN_EIO;
    }
    struct scram_file *sf = mem_calloc(1, sizeof *sf);
    int rc = sf ? read_file(sf, f, path, err, errlen) : TERN_ENOMEM;
    fclose(f);
    if (rc != 0)
        goto fail;
    *out = sf;
    return 0;
fail:
    scram_file_free(sf);
    return rc;
}

int scram_file_lookup(void *arg, enum scram_mech mech, const char *username, struct scram_cred *out)
{
    const struct scram_entry *e = find(arg, mech, username);
    if (e == NULL)
        return TERN_ENOTFOUND;
    *out = e->cred;
    return 0;
}

int scram_file_lookup_passwd(void *arg, enum scram_mech mech, const char *username,
                             struct scram_cred *out)
{
    uint8_t salt[SCRAM_MAX_SALT], salted[64];
    size_t salt_len = 0;
    uint32_t iterations = 0;
    if (mech != SCRAM_SHA_512)
        return TERN_ENOTFOUND;
    int rc =
        passwd_file_pbkdf2_entry(arg, username, salt, sizeof salt, &salt_len, &iterations, salted);
    if (rc == 0)
        rc = scram_cred_from_salted(mech, salted, salt, salt_len, iterations, out);
    OPENSSL_cleanse(salted, sizeof salted);
    return rc == TERN_ETOOBIG ? TERN_ENOTFOUND : rc;
}

void scram_file_free(struct scram_file *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++)
        mem_free(f->e[i].user);
    OPENSSL_cleanse(f->e, f->n * sizeof f->e[0]);
    mem_free(f->e);
    mem_free(f);
}

int scram_file_make_line(const char *username, enum scram_mech mech, const void *password,
                         size_t len, uint32_t iterations, char *out, size_t cap)
{
    if (username == NULL || username[0] == '\0' || strchr(username, ':') != NULL)
        return TERN_EINVAL;
    uint8_t salt[16];
    struct scram_cred c;
    if (RAND_bytes(salt, sizeof salt) != 1)
        return TERN_ESYS;
    uint32_t it = iterations ? iterations : SCRAM_FILE_DEFAULT_ITERATIONS;
    int rc = scram_cred_make(mech, password, len, salt, sizeof salt, it, &c);
    if (rc != 0)
        return rc;
    size_t hl = scram_hash_len(mech);
    char s64[AUTH_B64_ENCODED_LEN(16)], k1[AUTH_B64_ENCODED_LEN(SCRAM_MAX_HASH)],
        k2[AUTH_B64_ENCODED_LEN(SCRAM_MAX_HASH)];
    auth_b64_encode(salt, sizeof salt, s64, sizeof s64, 0);
    auth_b64_encode(c.stored_key, hl, k1, sizeof k1, 0);
    auth_b64_encode(c.server_key, hl, k2, sizeof k2, 0);
    OPENSSL_cleanse(&c, sizeof c);
    int n =
        snprintf(out, cap, "%s:%s:%u:%s:%s:%s", username, scram_mech_name(mech), it, s64, k1, k2);
    return n < 0 || (size_t)n >= cap ? TERN_ETOOBIG : 0;
}
