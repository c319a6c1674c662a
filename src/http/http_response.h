/* The response a handler fills: status, extra headers and a body, serialized by http_conn with
 * Content-Length (no chunked encoding). Helpers for text, JSON (cJSON) and JSON error bodies. */
#ifndef TERN_HTTP_HTTP_RESPONSE_H
#define TERN_HTTP_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

struct cJSON;

struct http_response {
    int status;         /* 200 unless set */
    struct buf headers; /* "Name: value\r\n" lines */
    struct buf body;    /* the entity; sent with Content-Length */
    int err;            /* first error of a helper (sticky); http_conn then answers 500 */
    bool close_after;   /* set to close the connection after this response */
    bool deferred;      /* http_response_defer: the answer comes later (http_conn_resume) */
};

void http_response_init(struct http_response *r);
void http_response_deinit(struct http_response *r);
/* Back to status 200 with no headers and no body (keeps the memory). */
void http_response_reset(struct http_response *r);

/* Adds a header line. name and value must not contain CR or LF (TERN_EINVAL). Returns 0,
 * TERN_EINVAL or TERN_ENOMEM (also stored in err). */
int http_response_header(struct http_response *r, const char *name, const char *value);
/* Appends to the body. Returns 0 or TERN_ENOMEM (also stored in err). */
int http_response_append(struct http_response *r, const void *data, size_t len);
/* Sets status, Content-Type and replaces the body. Returns 0 or the error (also in err). */
int http_response_set(struct http_response *r, int status, const char *content_type,
                      const void *body, size_t len);
/* Status with a JSON body printed from json (unformatted); json stays the caller's. */
int http_response_json(struct http_response *r, int status, const struct cJSON *json);
/* Status with the body {"error":{"status":N,"message":"..."}} (message JSON-escaped). */
int http_response_error(struct http_response *r, int status, const char *message);

/* Marks the response as answered later: the handler returns without filling it, and whoever
 * holds the connection fills http_conn_response() and calls http_conn_resume() on the
 * connection's thread. Until then the connection reads and answers nothing more. */
void http_response_defer(struct http_response *r);

/* The reason phrase for a status code ("Not Found"); "Unknown" for codes not in the table. */
const char *http_response_reason(int status);

#endif
