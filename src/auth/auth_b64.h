/* Base64 (RFC 4648 section 4, padded) and base64url (section 5, unpadded, as JWS uses) for
 * the auth modules. Pure functions; no allocation. */
#ifndef TERN_AUTH_AUTH_B64_H
#define TERN_AUTH_AUTH_B64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes needed to encode len bytes, including the terminating NUL. */
#define AUTH_B64_ENCODED_LEN(len) (((len) + 2) / 3 * 4 + 1)

/* Encodes src into out (NUL-terminated). url: base64url without padding, else padded base64.
 * Returns the string length, or TERN_ETOOBIG when cap is too small. */
long auth_b64_encode(const void *src, size_t len, char *out, size_t cap, int url);
/* Decodes len characters of in (url: base64url, padding optional; else base64 with required
 * padding) into out. Returns the decoded length, TERN_EINVAL for a bad character or length,
 * or TERN_ETOOBIG when cap is too small. */
long auth_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, int url);

#endif
