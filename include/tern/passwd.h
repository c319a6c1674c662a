/* Mosquitto-compatible password file lines: "user:$7$iterations$salt$hash" (PBKDF2-HMAC-SHA512)
 * and "user:$6$salt$hash" (one SHA-512 round), salt and hash in base64, as mosquitto_passwd 2.0
 * writes them, and "user:$argon2id$v=19$m=47104,t=1,p=1$salt$hash" (the standard argon2 encoded
 * form with Mosquitto 2.1's parameters: 64-byte salt and hash, unpadded base64). Uses OpenSSL
 * and libargon2. Thread-safe (no state). */
#ifndef TERN_PUBLIC_PASSWD_H
#define TERN_PUBLIC_PASSWD_H

#include <stddef.h>

enum tern_passwd_hash {
    TERN_PASSWD_SHA512 = 6,        /* $6$ */
    TERN_PASSWD_SHA512_PBKDF2 = 7, /* $7$ */
    TERN_PASSWD_ARGON2ID = 8,      /* $argon2id$ */
};

/* Mosquitto 2.0's default PBKDF2 iteration count. */
#define TERN_PASSWD_DEFAULT_ITERATIONS 101

/* Writes "username:hash" (no newline) into out[0..cap) with a fresh random salt.
 * iterations is used for PBKDF2 only (0 = default); argon2id always uses t=1, m=47104 KiB,
 * p=1 like Mosquitto 2.1 (about 46 MiB and a few tens of milliseconds per hash). 0,
 * TERN_ERROR_INVAL (bad hash or a ':' in the user name), TERN_ERROR_TOOBIG (cap too small),
 * TERN_ERROR_SYS (RAND_bytes failed). */
int tern_passwd_make(const char *username, const char *password, enum tern_passwd_hash hash,
                     int iterations, char *out, size_t cap);

/* Checks password against the hash part of one password file line. line is either
 * "user:hash" or just the hash; a trailing newline is ignored. Any argon2id parameters in the
 * line are honoured. Returns 0 when it matches, TERN_ERROR_DENIED when it does not,
 * TERN_ERROR_INVAL for an unknown or malformed hash, TERN_ERROR_NOMEM. The comparison is
 * constant-time. */
int tern_passwd_check(const char *line, const char *password);

#endif
