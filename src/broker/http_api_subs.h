/* GET /api/v1/subscriptions: every session's subscriptions, read from the shared subscription
 * tree (never from the sessions, whose state only their owner worker may touch). */
#ifndef TERN_BROKER_HTTP_API_SUBS_H
#define TERN_BROKER_HTTP_API_SUBS_H

struct http_request;
struct http_response;

/* The route's handler (ctx: struct http_api_ctx). Needs the admin role. Query: offset, limit
 * (as every list), client_id (exact), filter (substring of the filter as subscribed). Rows are
 * sorted by client id, then filter. */
void http_api_subs_get(const struct http_request *req, struct http_response *resp, void *ctx);

#endif
