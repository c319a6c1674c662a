/* WebSocket listeners: an accepted socket speaks HTTP/1.1 until the client upgrades to the
 * "mqtt" WebSocket subprotocol, then becomes an MQTT connection (conn_start) over the WebSocket
 * transport. The same listener can serve the REST API, /metrics and static files. */
#ifndef TERN_BROKER_WS_LISTENER_H
#define TERN_BROKER_WS_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

struct http_request;
struct http_response;
struct listener_rt;
struct transport;
struct worker;

/* Takes ownership of fd (accepted on a websockets listener, counted in lr->connections): wraps
 * it in TLS when the listener has a TLS context, and serves HTTP on w's loop until an upgrade
 * (then conn_start), a close, or http_idle_timeout. On w's thread. */
void ws_listener_accept(struct worker *w, int fd, const char *peer, struct listener_rt *lr);
/* The same on a transport made by the caller (taken over; counted in lr->connections): what
 * ws_listener_accept does once it has wrapped the socket, and broker_mem's websockets
 * connections. On w's thread. */
void ws_listener_serve(struct worker *w, struct transport *t, const char *peer,
                       struct listener_rt *lr);

/* Deferred answers (REST handlers waiting for another worker or the store), on w's thread.
 * ws_listener_defer, from a handler running for req on w, marks resp as deferred and returns a
 * ticket for it (0 when req did not come over one of w's HTTP connections: answer at once).
 * Once the answer is known, ws_listener_deferred gives the response to fill (NULL when the
 * connection closed meanwhile: drop the answer) and ws_listener_resume sends it. */
uint64_t ws_listener_defer(struct worker *w, const struct http_request *req,
                           struct http_response *resp);
struct http_response *ws_listener_deferred(struct worker *w, uint64_t ticket);
void ws_listener_resume(struct worker *w, uint64_t ticket);
/* From a handler that filled resp: when the store seq is not durable yet (persistence_fsync
 * always), defers resp as it is and returns true; it goes out once ws_listener_release_durable
 * sees seq durable. False (answer at once) when seq is durable already or req did not come
 * over one of w's HTTP connections. */
bool ws_listener_defer_durable(struct worker *w, const struct http_request *req,
                               struct http_response *resp, uint64_t seq);
/* Sends the deferred responses whose seq durable covers (conn_release_acks, after the store
 * woke w). Returns whether some are still waiting (w->acks_waiting must stay set). */
bool ws_listener_release_durable(struct worker *w, uint64_t durable);

/* Closes w's HTTP connections that have not upgraded (w is stopping). On w's thread. */
void ws_listener_worker_stop(struct worker *w);
/* Frees w's HTTP state: remaining connections, routers, static-file roots. After w's thread
 * ended (worker_free). Accepts a worker that never had any. */
void ws_listener_worker_free(struct worker *w);

#endif
