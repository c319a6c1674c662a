/* GET /api/v1/clients/{id}: one client with its session (subscriptions, queued and in-flight
 * counts, will, expiry) and its connection (peer address, user name, keep alive), built on the
 * session's owner worker through work items (never read across threads). */
#ifndef TERN_BROKER_HTTP_API_CLIENT_H
#define TERN_BROKER_HTTP_API_CLIENT_H

struct http_api_ctx;
struct http_api_query;
struct http_request;
struct http_response;
struct session;
struct work_item;
struct worker;

/* Answers req with s's client object (takes the reference on s): at once when ctx's worker
 * owns s, else deferred until s's owner has built it (WORK_INSPECT). */
void http_api_client_show(struct http_api_ctx *ctx, const struct http_request *req,
                          struct http_response *resp, struct session *s);
/* WORK_INSPECT on w: builds the object if w owns the session (else forwards the item) and
 * posts WORK_INSPECT_DONE to the requesting worker. Consumes the item. */
void http_api_inspect(struct worker *w, struct work_item *it);
/* WORK_INSPECT_DONE on the requesting worker: answers the deferred request unless its
 * connection closed meanwhile. Consumes the item. */
void http_api_inspect_done(struct worker *w, struct work_item *it);
/* Frees a query of a work item that was dropped (out of memory, shutdown). Accepts NULL. */
void http_api_query_free(struct http_api_query *q);

#endif
