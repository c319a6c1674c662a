/* Request routing by method and path prefix to synchronous handlers. A router is built once
 * (not thread-safe while adding) and then only read, so workers may share it. */
#ifndef TERN_HTTP_HTTP_ROUTER_H
#define TERN_HTTP_HTTP_ROUTER_H

#include "err.h"

struct http_request;
struct http_response;
struct http_router;

/* Fills resp (status defaults to 200) from req; runs in the connection's loop thread and must
 * not block. Both are valid only during the call: a handler that needs to wait calls
 * http_response_defer and leaves the answer to whoever resumes the connection. */
typedef void (*http_handler_fn)(const struct http_request *req, struct http_response *resp,
                                void *ctx);

/* NULL when out of memory. */
struct http_router *http_router_new(void);
/* Accepts NULL. Handler ctx stay the caller's. */
void http_router_free(struct http_router *r);

/* Routes method (e.g. "GET"; NULL = any method) and path_prefix to fn. A prefix ending in '/'
 * matches every path that starts with it; any other prefix matches the path itself and the
 * paths below it ("/api" matches "/api" and "/api/x", not "/apix"). The longest matching prefix
 * wins; among equal prefixes, the first added with a matching method. HEAD is served by a GET
 * route (the body is dropped). Returns 0, TERN_EINVAL (prefix not starting with '/') or
 * TERN_ENOMEM. */
TERN_MUST_CHECK int http_router_add(struct http_router *r, const char *method,
                                    const char *path_prefix, http_handler_fn fn, void *ctx);

/* Runs the route for req. When no prefix matches: 404; when prefixes match but no method:
 * 405 with an Allow header. Errors are JSON bodies (http_response_error). */
void http_router_dispatch(const struct http_router *r, const struct http_request *req,
                          struct http_response *resp);

#endif
