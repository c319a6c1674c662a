/* WebSocket listeners: an accepted socket speaks HTTP/1.1 until the client upgrades to the
 * "mqtt" WebSocket subprotocol, then becomes an MQTT connection (conn_start) over the WebSocket
 * transport. The same listener can serve the REST API, /metrics and static files. */
#ifndef TERN_BROKER_WS_LISTENER_H
#define TERN_BROKER_WS_LISTENER_H

struct listener_rt;
struct worker;

/* Takes ownership of fd (accepted on a websockets listener, counted in lr->connections): wraps
 * it in TLS when the listener has a TLS context, and serves HTTP on w's loop until an upgrade
 * (then conn_start), a close, or http_idle_timeout. On w's thread. */
void ws_listener_accept(struct worker *w, int fd, const char *peer, struct listener_rt *lr);

/* Closes w's HTTP connections that have not upgraded (w is stopping). On w's thread. */
void ws_listener_worker_stop(struct worker *w);
/* Frees w's HTTP state: remaining connections, routers, static-file roots. After w's thread
 * ended (worker_free). Accepts a worker that never had any. */
void ws_listener_worker_free(struct worker *w);

#endif
