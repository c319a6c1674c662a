/* A parsed HTTP/1.1 request as handlers see it: method, decoded path, raw query, headers and
 * body, all NUL-terminated strings owned by the connection and valid only during the handler
 * call. Lookup helpers for headers and query parameters. Parsing itself is http_conn's. */
#ifndef TERN_HTTP_HTTP_REQUEST_H
#define TERN_HTTP_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct http_header {
    const char *name;  /* as sent (compare case-insensitively) */
    const char *value; /* leading and trailing spaces removed */
};

struct http_request {
    const char *method;      /* "GET", "POST", ... */
    const char *target;      /* the request-target as sent, e.g. "/a%20b?x=1" */
    const char *path;        /* percent-decoded path without the query, e.g. "/a b" */
    const char *query;       /* raw query after '?', "" when none */
    const char *client_addr; /* peer, or the X-Forwarded-For client behind a trusted proxy */
    const struct http_header *headers;
    size_t n_headers;
    const uint8_t *body; /* never NULL; NUL-terminated after body_len for convenience */
    size_t body_len;
    unsigned version_minor; /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    void *conn_user;        /* the connection's http_conn_set_user pointer (to defer on) */
};

/* The value of the first header called name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);

/* Looks up query parameter key in r->query ("a=1&b=x%20y"; '+' means space), percent-decodes
 * its value into out (NUL-terminated). A key without '=' has the value "". Returns the value
 * length, TERN_ENOTFOUND, TERN_EPROTO for bad percent-encoding, or TERN_ETOOBIG. */
long http_request_query(const struct http_request *r, const char *key, char *out, size_t cap);

/* Percent-decodes in[0..len) into out (NUL-terminated; out may equal in). plus_is_space turns
 * '+' into ' ' (query strings). Returns the decoded length or TERN_EPROTO for a bad escape or
 * an encoded NUL, TERN_ETOOBIG when cap is too small. */
long http_request_unescape(const char *in, size_t len, bool plus_is_space, char *out, size_t cap);

/* Whether the comma-separated header value list contains token (case-insensitive), e.g.
 * Connection: "keep-alive, Upgrade" has "upgrade". */
bool http_request_has_token(const char *list, const char *token);

#endif
