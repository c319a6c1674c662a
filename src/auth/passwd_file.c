/* Mosquitto password files: parsing into a sorted table, SHA-512 / PBKDF2-HMAC-SHA512 /
 * argon2id verification with constant-time comparison, a dummy hash for unknown users, and
 * hash line creation. No file writing (the caller writes the lines it makes). */
#include "passwd_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#if TERN_HAVE_ARGON2
#include <argon2.h>
#endif

#include "auth_b64.h"
#include "err.h"
#include "mem.h"

#define SALT_MAX 64
#define HASH_LEN 64

struct pw_entry {
    char *user;
    enum passwd_hash kind;
    uint32_t iterations;
    uint8_t salt[SALT_MAX];
    size_t salt_len;
    uint8_t hash[HASH_LEN];
    char *encoded; /* argon2id: the whole "$argon2id$..." string */
};

struct passwd_file {
    struct pw_entry *e; /* sorted by user */
    size_t n;
};

static int compute(const struct pw_entry *e, const void *pw, size_t len, uint8_t out[HASH_LEN])
{
    if (e->kind == PASSWD_SHA512_PBKDF2) {
        return PKCS5_PBKDF2_HMAC(pw, (int)len, e->salt, (int)e->salt_len, (int)e->iterations,
                                 EVP_sha512(), HASH_LEN, out) == 1
                   ? 0
                   : TERN_ESYS;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha512(), NULL) == 1 &&
             EVP_DigestUpdate(md, pw, len) == 1 &&
             EVP_DigestUpdate(md, e->salt, e->salt_len) == 1 &&
             EVP_DigestFinal_ex(md, out, &n) == 1 && n == HASH_LEN;
    EVP_MD_CTX_free(md);
    return ok ? 0 : TERN_ESYS;
}

static bool argon2_ok(const struct pw_entry *e, const void *pw, size_t len)
{
#if TERN_HAVE_ARGON2
    return argon2id_verify(e->encoded, pw, len) == ARGON2_OK;
#else
    (void)e;
    (void)pw;
    (void)len;
    return false;
#endif
}

static bool entry_matches(const struct pw_entry *e, const void *pw, size_t len)
{
    if (e->kind == PASSWD_ARGON2ID)
        return argon2_ok(e, pw, len);
    uint8_t got[HASH_LEN];
    bool ok = compute(e, pw, len, got) == 0 && CRYPTO_memcmp(got, e->hash, HASH_LEN) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}

/* Parses "salt$hash" (base64 both) into e. */
static const char *parse_salt_hash(char *s, struct pw_entry *e)
{
    char *dollar = strchr(s, '$');
    if (dollar == NULL)
        return "expected salt$hash";
    long n = auth_b64_decode(s, (size_t)(dollar - s), e->salt, sizeof e->salt, 0);
    if (n <= 0)
        return "bad base64 salt";
    e->salt_len = (size_t)n;
    const char *h = dollar + 1;
    if (auth_b64_decode(h, strlen(h), e->hash, sizeof e->hash, 0) != HASH_LEN)
        return "bad base64 hash (expected 64 bytes)";
    return NULL;
}

/* Parses the hash part of a line; returns NULL or the reason it is invalid. */
static const char *parse_hash(char *h, struct pw_entry *e)
{
    if (strncmp(h, "$6$", 3) == 0) {
        e->kind = PASSWD_SHA512;
        return parse_salt_hash(h + 3, e);
    }
    if (strncmp(h, "$7$", 3) == 0) {
        e->kind = PASSWD_SHA512_PBKDF2;
        char *end = NULL;
        errno = 0;
        unsigned long it = strtoul(h + 3, &end, 10);
        if (end == h + 3 || *end != '$' || errno != 0 || it == 0 || it > 100000000UL)
            return "bad iteration count";
        e->iterations = (uint32_t)it;
        return parse_salt_hash(end + 1, e);
    }
    if (strncmp(h, "$argon2id$", 10) == 0) {
#if TERN_HAVE_ARGON2
        e->kind = PASSWD_ARGON2ID;
        e->encoded = mem_strdup(h);
        return e->encoded ? NULL : "out of memory";
#else
        return "argon2id hashes are not supported (built without libargon2)";
#endif
    }
    if (h[0] == '$')
        return "unknown hash type";
    return "plain-text password (hash the file with mosquitto_passwd -U)";
}

static void entry_clear(struct pw_entry *e)
{
    mem_free(e->user);
    mem_free(e->encoded);
    OPENSSL_cleanse(e, sizeof *e);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct pw_entry *)a)->user, ((const struct pw_entry *)b)->user);
}

/* Adds one non-blank line; returns NULL or the reason. */
static const char *add_line(struct passwd_file *db, char *line)
{
    char *colon = strchr(line, ':');
    if (colon == NULL)
        return "expected user:hash";
    if (colon == line)
        return "empty user name";
    *colon = '\0';
    struct pw_entry e;
    memset(&e, 0, sizeof e);
    const char *why = parse_hash(colon + 1, &e);
    if (why == NULL && (e.user = mem_strdup(line)) == NULL)
        why = "out of memory";
    struct pw_entry *grown = why ? NULL : mem_realloc(db->e, (db->n + 1) * sizeof *grown);
    if (why == NULL && grown == NULL)
        why = "out of memory";
    if (why != NULL) {
        entry_clear(&e);
        return why;
    }
    db->e = grown;
    db->e[db->n++] = e;
    return NULL;
}

static void trim_end(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

static int read_lines(struct passwd_file *db, FILE *f, const char *path, char *err, size_t errlen)
{
    char line[4096];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        trim_end(line);
        if (line[0] == '\0' || line[0] == '#')
            continue;
        const char *why = add_line(db, line);
        OPENSSL_cleanse(line, sizeof line);
        if (why != NULL) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
            return strcmp(why, "out of memory") == 0 ? TERN_ENOMEM : TERN_ECONFIG;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        return TERN_EIO;
    }
    if (db->n > 1)
        qsort(db->e, db->n, sizeof db->e[0], cmp_entry);
    for (size_t i = 1; i < db->n; i++) {
        if (strcmp(db->e[i - 1].user, db->e[i].user) == 0) {
            snprintf(err, errlen, "%s: duplicate user '%s'", path, db->e[i].user);
            return TERN_ECONFIG;
        }
    }
    return 0;
}

int passwd_file_load(const char *path, struct passwd_file **out, char *err, size_t errlen)
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
    struct passwd_file *db = mem_calloc(1, sizeof *db);
    int rc = db ? read_lines(db, f, path, err, errlen) : TERN_ENOMEM;
    fclose(f);
    if (rc != 0)
        goto fail;
    *out = db;
    return 0;
fail:
    if (rc == TERN_ENOMEM && err[0] == '\0')
        snprintf(err, errlen, "%s: out of memory", path);
    passwd_file_free(db);
    return rc;
}

size_t passwd_file_count(const struct passwd_file *db)
{
    return db->n;
}

static const struct pw_entry *find(const struct passwd_file *db, const char *user)
{
    struct pw_entry key;
    key.user = (char *)user; /* bsearch's key; not written */
    return db->n ? bsearch(&key, db->e, db->n, sizeof db->e[0], cmp_entry) : NULL;
}

bool passwd_file_check(const struct passwd_file *db, const char *username, const void *password,
                       size_t len)
{
    if (db == NULL || username == NULL || (password == NULL && len > 0))
        return false;
    const struct pw_entry *e = find(db, username);
    if (e != NULL)
        return entry_matches(e, password, len);
    /* Same work as a real check, so an unknown user is not told apart by timing: a PBKDF2 like
     * the file's first entry (or Mosquitto's default) with a fixed salt. */
    struct pw_entry dummy;
    memset(&dummy, 0, sizeof dummy);
    dummy.kind = db->n && db->e[0].kind == PASSWD_SHA512 ? PASSWD_SHA512 : PASSWD_SHA512_PBKDF2;
    dummy.iterations =
        db->n && db->e[0].iterations ? db->e[0].iterations : PASSWD_DEFAULT_ITERATIONS;
    dummy.salt_len = 12;
    (void)entry_matches(&dummy, password, len);
    return false;
}

void passwd_file_free(struct passwd_file *db)
{
    if (db == NULL)
        return;
    for (size_t i = 0; i < db->n; i++)
        entry_clear(&db->e[i]);
    mem_free(db->e);
    mem_free(db);
}

bool passwd_file_argon2_supported(void)
{
#if TERN_HAVE_ARGON2
    return true;
#else
    return false;
#endif
}

static int make_argon2(const char *user, const void *pw, size_t len, unsigned t_cost, char *out,
                       size_t cap)
{
#if TERN_HAVE_ARGON2
    uint8_t salt[16];
    char enc[256];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return TERN_ESYS;
    /* OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane. */
    if (argon2id_hash_encoded(t_cost ? t_cost : 2, 19456, 1, pw, len, salt, sizeof salt, 32, enc,
                              sizeof enc) != ARGON2_OK)
        return TERN_ESYS;
    int n = snprintf(out, cap, "%s:%s", user, enc);
    return n < 0 || (size_t)n >= cap ? TERN_ETOOBIG : 0;
#else
    (void)user;
    (void)pw;
    (void)len;
    (void)t_cost;
    (void)out;
    (void)cap;
    return TERN_EINVAL;
#endif
}

int passwd_file_hash_line(const char *username, const void *password, size_t len,
                          enum passwd_hash kind, unsigned iterations, char *out, size_t cap)
{
    if (username == NULL || username[0] == '\0' || strchr(username, ':') != NULL ||
        (password == NULL && len > 0))
        return TERN_EINVAL;
    if (kind == PASSWD_ARGON2ID)
        return make_argon2(username, password, len, iterations, out, cap);
    if (kind != PASSWD_SHA512 && kind != PASSWD_SHA512_PBKDF2)
        return TERN_EINVAL;
    struct pw_entry e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.iterations = iterations ? iterations : PASSWD_DEFAULT_ITERATIONS;
    e.salt_len = 12;
    uint8_t hash[HASH_LEN];
    char salt64[AUTH_B64_ENCODED_LEN(12)], hash64[AUTH_B64_ENCODED_LEN(HASH_LEN)];
    if (RAND_bytes(e.salt, (int)e.salt_len) != 1 || compute(&e, password, len, hash) != 0)
        return TERN_ESYS;
    auth_b64_encode(e.salt, e.salt_len, salt64, sizeof salt64, 0);
    auth_b64_encode(hash, sizeof hash, hash64, sizeof hash64, 0);
    int n = kind == PASSWD_SHA512
                ? snprintf(out, cap, "%s:$6$%s$%s", username, salt64, hash64)
                : snprintf(out, cap, "%s:$7$%u$%s$%s", username, e.iterations, salt64, hash64);
    return n < 0 || (size_t)n >= cap ? TERN_ETOOBIG : 0;
}

int passwd_file_pbkdf2_entry(const struct passwd_file *db, const char *username, uint8_t *salt,
                             size_t salt_cap, size_t *salt_len, uint32_t *iterations,
                             uint8_t salted[64])
{
    const struct pw_entry *e = find(db, username);
    if (e == NULL || e->kind != PASSWD_SHA512_PBKDF2)
        return TERN_ENOTFOUND;
    if (e->salt_len > salt_cap)
        return TERN_ETOOBIG;
    memcpy(salt, e->salt, e->salt_len);
    *salt_len = e->salt_len;
    *iterations = e->iterations;
    memcpy(salted, e->hash, HASH_LEN);
    return 0;
}
