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
struct list_node;
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
/* Frees a query of a work item that was dropped (shutdown). Accepts NULL. */
void http_api_query_free(struct http_api_query *q);
/* A work item carrying q could not be posted (out of memory): hands q back to the worker whose
 * request waits for it, without allocating, and wakes that worker, which answers the request
 * 500 (http_api_answer_lost) instead of leaving it to its idle timeout. Takes q; accepts NULL.
 * On any worker's thread. */
void http_api_query_lost(struct http_api_query *q);
/* On w's thread (its wake-up): answers the requests of the handed-back queries in `lost`, which
 * the caller took off w->lost_queries under w->inbox_lock. Empties the list. */
void http_api_answer_lost(struct worker *w, struct list_node *lost);
/* Frees the queries in `lost` (w's thread ended: worker_free). Empties the list. */
void http_api_lost_free(struct list_node *lost);

#endif
