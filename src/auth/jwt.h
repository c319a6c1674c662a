/* JWT authentication: verifies a compact JWS (HS256 with a secret key file, RS256/ES256 with a
 * PEM public key or a JWKS file), checks exp/nbf/iss/aud, and extracts the username claim and
 * optional "publish"/"subscribe" arrays of topic filters. The algorithm is fixed by the key
 * (never trusted from the token); "none" and anything else are refused. No token issuing. */
#ifndef TERN_AUTH_JWT_H
#define TERN_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

struct jwt_settings {
    const char *key_file;       /* a PEM public key (RS256/ES256) or an HS256 secret (the file's
                                   bytes, one trailing newline dropped) */
    const char *jwks_file;      /* or a JWKS JSON file (RSA, EC P-256, oct keys; "kid" used) */
    const char *issuer;         /* required "iss" value; NULL = not checked */
    const char *audience;       /* required member of "aud" (string or array); NULL = not checked */
    const char *username_claim; /* NULL = "sub" */
    int64_t leeway_s;           /* clock skew allowed for exp/nbf */
};

struct jwt_verifier;

/* Loads the key material. One of key_file or jwks_file must be set. 0, or TERN_ECONFIG /
 * TERN_EIO / TERN_ENOMEM with err naming the file and reason. *out is set only on success. */
int jwt_verifier_new(const struct jwt_settings *s, struct jwt_verifier **out, char *err,
                     size_t errlen);
/* Accepts NULL. */
void jwt_verifier_free(struct jwt_verifier *v);

struct jwt_claims {
    char *username; /* the username claim's string value */
    int64_t exp;    /* expiry (s since the epoch) */
    char **publish; /* "publish" claim: filters the client may publish to; NULL if absent */
    size_t n_publish;
    char **subscribe; /* "subscribe" claim: filters the client may subscribe to / read */
    size_t n_subscribe;
};

/* Verifies token (len bytes, e.g. the MQTT password) at time now_s (s since the epoch). On
 * success fills *out (free with jwt_claims_deinit) and returns 0. Otherwise TERN_EDENIED with
 * err saying why (bad format, unsupported or "none" alg, unknown kid, bad signature, expired,
 * not yet valid, wrong issuer / audience, missing username claim, bad ACL claim), or
 * TERN_ENOMEM. Thread-safe (the verifier is read-only). */
int jwt_verify(const struct jwt_verifier *v, const char *token, size_t len, int64_t now_s,
               struct jwt_claims *out, char *err, size_t errlen);
/* Frees the claims' strings. Accepts a zeroed struct. */
void jwt_claims_deinit(struct jwt_claims *c);

#endif
