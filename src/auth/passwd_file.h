/* Mosquitto password files: "user:$6$salt$hash" (SHA-512 of password then salt),
 * "user:$7$iterations$salt$hash" (PBKDF2-HMAC-SHA512, 64-byte key) and
 * "user:$argon2id$v=19$m=..,t=..,p=..$salt$hash" (when built with libargon2); salt and hash in
 * base64. Loading, constant-time checking and making lines. The file is immutable once loaded:
 * reload = load a new one and swap. (Named passwd_file, not passwd: include/tern/passwd.h.) */
#ifndef TERN_AUTH_PASSWD_FILE_H
#define TERN_AUTH_PASSWD_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct passwd_file;

enum passwd_hash {
    PASSWD_SHA512 = 6,        /* $6$ */
    PASSWD_SHA512_PBKDF2 = 7, /* $7$, mosquitto_passwd's default */
    PASSWD_ARGON2ID = 8,      /* $argon2id$ */
};

/* Mosquitto 2.0's PBKDF2 iteration count, used when iterations is 0. */
#define PASSWD_DEFAULT_ITERATIONS 101

/* Loads path. Blank lines and lines starting with '#' are skipped; trailing CR/LF/spaces are
 * ignored. On failure returns TERN_ECONFIG (bad line: unknown hash type, malformed fields, no
 * ':', plain-text password, duplicate user, argon2id without libargon2), TERN_EIO (cannot
 * read) or TERN_ENOMEM, with err = "FILE:LINE: reason" (or "FILE: reason"). *out is set only
 * on success. */
int passwd_file_load(const char *path, struct passwd_file **out, char *err, size_t errlen);
/* Number of users. */
size_t passwd_file_count(const struct passwd_file *db);
/* True when username exists and password (len bytes, may contain NUL) matches its hash. The
 * hash comparison is constant-time (CRYPTO_memcmp), and for an unknown user a dummy PBKDF2
 * hash is computed so timing does not tell an unknown user from a wrong password.
 * Thread-safe (the db is read-only). */
bool passwd_file_check(const struct passwd_file *db, const char *username, const void *password,
                       size_t len);
/* Accepts NULL. */
void passwd_file_free(struct passwd_file *db);

/* True when built with libargon2 (argon2id lines can be checked and made). */
bool passwd_file_argon2_supported(void);

/* Writes "username:hash" (no newline) into out (size cap) with a fresh 12-byte random salt
 * (16 for argon2id). iterations: PBKDF2 rounds ($7$, 0 = default) or argon2id time cost
 * (0 = 1); ignored for $6$. Returns 0, TERN_EINVAL (':' in the user name, empty name, bad
 * kind, argon2id unavailable), TERN_ETOOBIG (cap) or TERN_ESYS (RNG failure). */
int passwd_file_hash_line(const char *username, const void *password, size_t len,
                          enum passwd_hash kind, unsigned iterations, char *out, size_t cap);

/* For SCRAM-SHA-512 over the password file: a $7$ entry's PBKDF2-HMAC-SHA512 output is exactly
 * SCRAM's SaltedPassword (RFC 5802 Hi() with a 64-byte key) for an ASCII password. Copies the
 * user's salt (into salt, cap salt_cap; *salt_len set), iteration count and 64-byte salted
 * password. Returns 0, TERN_ENOTFOUND (no such user, or not a $7$ entry) or TERN_ETOOBIG. */
int passwd_file_pbkdf2_entry(const struct passwd_file *db, const char *username, uint8_t *salt,
                             size_t salt_cap, size_t *salt_len, uint32_t *iterations,
                             uint8_t salted[64]);

#endif
