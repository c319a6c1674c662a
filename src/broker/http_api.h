/* The broker's HTTP endpoints on a websockets listener: the REST API under /api/v1 (broker
 * info, clients with paging and kick, subscriptions (http_api_subs.c), retained messages,
 * publish, listeners, config reload (http_api_reload.c), the OpenAPI document) and Prometheus
 * /metrics, with admin authentication (Bearer token or HTTP Basic against the listener's
 * password file). It routes and answers; http_conn does the HTTP. */
#ifndef TERN_BROKER_HTTP_API_H
#define TERN_BROKER_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct cJSON;
struct http_request;
struct http_response;
struct http_router;
struct listener_rt;
struct worker;

/* What a handler needs: the worker whose loop runs the request (it publishes and posts work
 * items as that worker) and the listener it arrived on. One per (worker, listener). */
struct http_api_ctx {
    struct worker *w;
    struct listener_rt *lr;
};

/* Adds the routes the listener's configuration enables to r: /api/v1/... when http_api,
 * /metrics when http_metrics. ctx must outlive r. Returns 0 or TERN_ENOMEM. */
TERN_MUST_CHECK int http_api_add_routes(struct http_router *r, struct http_api_ctx *ctx);

/* Whether req carries admin credentials: "Authorization: Bearer <http_api_token>", or HTTP
 * Basic with a user listed in http_admin_users whose password the listener's password file
 * accepts. When not, fills resp with 401 (and WWW-Authenticate) for missing or wrong
 * credentials, or 403 for a valid user without the admin role, and returns false. */
bool http_api_authorize(const struct http_api_ctx *ctx, const struct http_request *req,
                        struct http_response *resp);

/* Paging parameters of a list (?offset=&limit=). */
struct http_api_page {
    size_t offset, limit;
};

/* Reads offset (default 0) and limit (default 100, at most 1000) from req's query; on a bad value
 * answers 400 in resp and returns false. */
bool http_api_page_get(const struct http_request *req, struct http_response *resp,
                       struct http_api_page *p);
/* {"total":..., "offset":..., "limit":...}, to which the caller adds the page's array; NULL
 * when out of memory. */
struct cJSON *http_api_page_object(const struct http_api_page *p, size_t total);
/* Answers json (freed here) with status, or 500 when json is NULL (building it ran out of
 * memory). */
void http_api_reply(struct http_response *resp, int status, struct cJSON *json);

#endif
