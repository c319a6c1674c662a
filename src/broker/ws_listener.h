/* WebSocket listeners: an accepted socket speaks HTTP/1.1 until the client upgrades to the
 * "mqtt" WebSocket subprotocol, then becomes an MQTT connection (conn_start) over the WebSocket
 * transport. The same listener can serve the REST API, /metrics and static files. */
#ifndef TERN_BROKER_WS_LISTENER_H
#define TERN_BROKER_WS_LISTENER_H

struct listener_rt;
struct worker;

/* Takes ownership of fd (accepted on a websockets listener, counted in lr->connections). */
void ws_listener_accept(struct worker *w, int fd, const char *peer, struct listener_rt *lr);

#endif
