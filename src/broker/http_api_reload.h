/* POST /api/v1/reload: the REST form of SIGHUP. The new configuration is checked on the worker
 * and, when valid, applied by the main thread exactly as on SIGHUP. */
#ifndef TERN_BROKER_HTTP_API_RELOAD_H
#define TERN_BROKER_HTTP_API_RELOAD_H

struct http_request;
struct http_response;

/* The route's handler (ctx: struct http_api_ctx). Needs the admin role. Parses the
 * configuration file ternd was started with (-c); when it has errors, answers 422 with every
 * "FILE:LINE: message" and changes nothing; when valid, sends the process SIGHUP (the main
 * thread reloads, as for a signal) and answers 202 {"status":"reloading", ...} with the
 * warnings. 409 when ternd runs without -c, 503 when no thread waits for SIGHUP. */
void http_api_reload_post(const struct http_request *req, struct http_response *resp, void *ctx);

#endif
