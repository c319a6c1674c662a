/* GET /api/v1/config: the effective configuration as JSON ({"global": {option: value},
 * "listeners": [{option: value}]}), secrets redacted. */
#ifndef TERN_BROKER_HTTP_API_CONFIG_H
#define TERN_BROKER_HTTP_API_CONFIG_H

struct http_request;
struct http_response;

/* The route's handler (ctx: struct http_api_ctx). Needs the admin role. */
void http_api_config_get(const struct http_request *req, struct http_response *resp, void *ctx);

#endif
