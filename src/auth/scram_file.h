/* SCRAM credential files ("scram_file"): one line per user and mechanism,
 *     user:SCRAM-SHA-256:iterations:salt:StoredKey:ServerKey
 * (salt and keys in base64), so the broker never stores passwords; plus a lookup over a
 * Mosquitto password file for SCRAM-SHA-512 (its $7$ hashes are SCRAM-SHA-512 salted
 * passwords). Loading, lookup and making lines; immutable once loaded. */
#ifndef TERN_AUTH_SCRAM_FILE_H
#define TERN_AUTH_SCRAM_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "scram.h"

struct scram_file;
struct passwd_file;

/* Default iteration count for new lines (RFC 7677 asks for at least 4096). */
#define SCRAM_FILE_DEFAULT_ITERATIONS 4096

/* Loads path ('#' comments and blank lines skipped). Errors: TERN_ECONFIG with
 * "FILE:LINE: reason" (bad field count, unknown mechanism, bad base64 or key length, duplicate
 * user+mechanism), TERN_EIO, TERN_ENOMEM. *out is set only on success. */
int scram_file_load(const char *path, struct scram_file **out, char *err, size_t errlen);
/* A scram_lookup_fn over a loaded file (arg = the struct scram_file *). */
int scram_file_lookup(void *arg, enum scram_mech mech, const char *username,
                      struct scram_cred *out);
/* A scram_lookup_fn over a password file (arg = the struct passwd_file *): SCRAM-SHA-512 for
 * users with $7$ entries; TERN_ENOTFOUND otherwise. */
int scram_file_lookup_passwd(void *arg, enum scram_mech mech, const char *username,
                             struct scram_cred *out);
/* Accepts NULL. */
void scram_file_free(struct scram_file *f);

/* Writes one line (no newline) for username/password with a fresh 16-byte random salt.
 * iterations 0 = SCRAM_FILE_DEFAULT_ITERATIONS. 0, TERN_EINVAL (':' or empty user name),
 * TERN_ETOOBIG (cap) or TERN_ESYS. */
int scram_file_make_line(const char *username, enum scram_mech mech, const void *password,
                         size_t len, uint32_t iterations, char *out, size_t cap);

#endif
