/* Parsers for the Authorization request header: HTTP Basic (RFC 7617) and Bearer tokens
 * (RFC 6750), and a constant-time comparison for secrets. They do not look anything up: checking
 * the user against a password store is the caller's. */
#ifndef TERN_HTTP_HTTP_AUTH_H
#define TERN_HTTP_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "bytes.h"
#include "err.h"

/* Parses "Basic <base64(user:pass)>" (scheme case-insensitive, surrounding spaces allowed) into
 * NUL-terminated user and pass. Returns 0, TERN_ENOTFOUND when header is NULL or another scheme,
 * TERN_EPROTO for bad base64, a missing ':' or a NUL byte in the credentials, TERN_ETOOBIG when
 * a part does not fit its buffer (cap includes the NUL). */
TERN_MUST_CHECK int http_auth_basic_parse(const char *header, char *user, size_t user_cap,
                                          char *pass, size_t pass_cap);

/* Parses "Bearer <token>": token is a slice of header (token68 characters only). Returns 0,
 * TERN_ENOTFOUND when header is NULL or another scheme, TERN_EPROTO for an empty or malformed
 * token. */
TERN_MUST_CHECK int http_auth_bearer_parse(const char *header, struct tern_bytes *token);

/* Compares a secret in time independent of where the bytes differ (length still leaks). */
bool http_auth_equal(struct tern_bytes a, struct tern_bytes b);

/* Strict base64 (RFC 4648, with padding) decode of in into out. Returns the decoded length, or
 * TERN_EPROTO for bad input, TERN_ETOOBIG when out_cap is too small. */
long http_auth_base64_decode(const char *in, size_t in_len, unsigned char *out, size_t out_cap);

#endif
