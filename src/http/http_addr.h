/* Client addresses behind reverse proxies: a list of trusted proxy networks (IPv4/IPv6 addresses
 * or CIDR prefixes) and the X-Forwarded-For rule that picks the real client. It parses text only;
 * it does no DNS and never trusts a header from an untrusted peer. */
#ifndef TERN_HTTP_HTTP_ADDR_H
#define TERN_HTTP_HTTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct http_trust;

/* A list of trusted proxies, e.g. {"127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"}. Returns 0,
 * TERN_EINVAL (with nothing allocated) for an entry that is not an address or prefix, or
 * TERN_ENOMEM. *out is NULL-safe to free with http_addr_trust_free. */
TERN_MUST_CHECK int http_addr_trust_new(const char *const *entries, size_t n,
                                        struct http_trust **out);
/* Accepts NULL. */
void http_addr_trust_free(struct http_trust *t);

/* Whether addr (numeric, optionally "[v6]", with or without a ":port" suffix as in
 * "192.0.2.7:5000" and "[2001:db8::1]:443") is in one of the trusted networks. NULL t: false. */
bool http_addr_is_trusted(const struct http_trust *t, const char *addr);

/* The client address for a request from peer (as for http_addr_is_trusted: a ":port" suffix
 * is allowed and kept when peer is the answer) with the given X-Forwarded-For value (NULL when
 * absent): when peer is trusted, the right-most XFF entry that is not itself trusted (or the
 * left-most when all are), otherwise peer itself. Writes it NUL-terminated into out. Returns 0,
 * or TERN_ETOOBIG when it does not fit (out then holds peer truncated to "" ). Entries that are
 * not numeric addresses end the walk: the peer before them is used. */
int http_addr_client(const struct http_trust *t, const char *peer, const char *xff, char *out,
                     size_t cap);

#endif
