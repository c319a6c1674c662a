/* SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), server side, for MQTT 5 enhanced
 * authentication: a state machine fed with the client's Authentication Data (CONNECT, then
 * AUTH) that produces the server's Authentication Data and a verdict. No channel binding
 * ("n,," or "y,," only) and no SASLprep: passwords are used as their bytes (the same for ASCII).
 * Credentials come from a lookup callback (see scram_file.h). */
#ifndef TERN_AUTH_SCRAM_H
#define TERN_AUTH_SCRAM_H

#include <stddef.h>
#include <stdint.h>

enum scram_mech { SCRAM_SHA_256, SCRAM_SHA_512 };

#define SCRAM_MAX_HASH 64
#define SCRAM_MAX_SALT 64

/* What the server stores per user and mechanism (never the password). */
struct scram_cred {
    uint8_t salt[SCRAM_MAX_SALT];
    size_t salt_len;
    uint32_t iterations;
    uint8_t stored_key[SCRAM_MAX_HASH]; /* H(ClientKey) */
    uint8_t server_key[SCRAM_MAX_HASH]; /* HMAC(SaltedPassword, "Server Key") */
};

/* Fills *out for username; returns 0, TERN_ENOTFOUND or another negative error. */
typedef int (*scram_lookup_fn)(void *arg, enum scram_mech mech, const char *username,
                               struct scram_cred *out);

/* "SCRAM-SHA-256" / "SCRAM-SHA-512" (the MQTT Authentication Method, case-sensitive) to mech.
 * 0 or TERN_ENOTFOUND. */
int scram_mech_from_name(const char *method, enum scram_mech *out);
const char *scram_mech_name(enum scram_mech mech);
/* Digest length of mech (32 or 64). */
size_t scram_hash_len(enum scram_mech mech);

/* Derives a credential from a password: SaltedPassword = Hi(password, salt, iterations), then
 * StoredKey and ServerKey. 0, TERN_EINVAL (salt too long, iterations 0) or TERN_ESYS. */
int scram_cred_make(enum scram_mech mech, const void *password, size_t len, const uint8_t *salt,
                    size_t salt_len, uint32_t iterations, struct scram_cred *out);
/* The same from an already salted password (hash-length bytes), e.g. a Mosquitto $7$ hash for
 * SCRAM-SHA-512. */
int scram_cred_from_salted(enum scram_mech mech, const uint8_t *salted, const uint8_t *salt,
                           size_t salt_len, uint32_t iterations, struct scram_cred *out);

struct scram_server;

/* A new exchange. lookup/arg are kept (they must outlive the exchange). NULL when out of
 * memory. */
struct scram_server *scram_server_new(enum scram_mech mech, scram_lookup_fn lookup, void *arg);
/* Fixes the server nonce part (printable, no ','), for deterministic tests only; otherwise 18
 * random bytes in base64 are used. 0 or TERN_EINVAL. */
int scram_server_set_nonce(struct scram_server *s, const char *nonce);

enum scram_step {
    SCRAM_CONTINUE = 1, /* send AUTH, reason 0x18 (Continue authentication), with out */
    SCRAM_SUCCESS = 2,  /* send CONNACK 0x00 (or AUTH 0x00 on re-authentication) with out */
};

/* Feeds the client's Authentication Data (first the client-first message from CONNECT or AUTH
 * 0x19, then the client-final message). Writes the server's Authentication Data into out (size
 * cap, *out_len set). Returns SCRAM_CONTINUE, SCRAM_SUCCESS, TERN_EDENIED (wrong proof or
 * unknown user: refuse with 0x87 Not authorized; unknown users cannot be told apart from wrong
 * passwords), TERN_EPROTO (malformed message or step out of order: 0x87 or protocol error),
 * TERN_ETOOBIG (cap) or TERN_ENOMEM / TERN_ESYS. After any result other than SCRAM_CONTINUE
 * the exchange is over. */
int scram_server_step(struct scram_server *s, const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t cap, size_t *out_len);
/* The authenticated user name after SCRAM_SUCCESS (authcid, with =2C/=3D decoded); else NULL. */
const char *scram_server_username(const struct scram_server *s);
/* Accepts NULL. Wipes key material. */
void scram_server_free(struct scram_server *s);

#endif
