/* One HTTP/1.1 server connection over a struct transport (tcp or tls), driven by the caller's
 * event loop: the caller registers t->fd, passes readiness to http_conn_on_io and sets the
 * interest http_conn_events asks for. Requests (pipelined or split across reads) are parsed with
 * http-parser, limited in size, answered synchronously by a router with Content-Length bodies,
 * and the connection is kept alive when the client allows. Handlers may defer a response and
 * have it sent later (http_conn_resume). A WebSocket upgrade hands the socket
 * over as a transport_ws. It owns no timers: the caller checks http_conn_idle_deadline (the
 * idle timeout and the request deadline). */
#ifndef TERN_HTTP_HTTP_CONN_H
#define TERN_HTTP_HTTP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_conn;
struct http_router;
struct http_trust;
struct transport;

/* Shared by every connection of a listener; must outlive them. Zero fields take defaults. */
struct http_conn_opts {
    const struct http_router *router; /* required */
    size_t max_header_len;            /* request line + headers; over it: 431 (default 8 KiB) */
    size_t max_body_len;              /* over it: 413 (default 1 MiB) */
    uint64_t idle_timeout_ms;         /* between requests and while one arrives (default 60 s) */
    uint64_t request_timeout_ms;      /* from a request's first byte to its last (default 30 s),
                                         however the bytes trickle in (slowloris) */
    bool ws_enabled;                  /* accept WebSocket upgrades for MQTT */
    const char *ws_path;              /* upgrade only on this path; NULL: any path */
    const char *ws_origins;           /* Origin values allowed to upgrade (space-separated);
                                         NULL: any. Requests without Origin always may. */
    size_t ws_max_msg_len;            /* biggest WebSocket message (default 256 MiB + 5) */
    const struct http_trust *trusted; /* proxies whose X-Forwarded-For is believed; NULL: none */
};

enum http_conn_state {
    HTTP_CONN_OPEN,     /* keep calling on_io */
    HTTP_CONN_UPGRADED, /* call http_conn_take_ws, then free the http_conn */
    HTTP_CONN_CLOSED,   /* loop_remove the fd and http_conn_free */
};

/* A connection over t (taken over; closed on failure too) from peer (numeric address text,
 * copied). now_ms starts the idle clock. NULL when out of memory. */
struct http_conn *http_conn_new(struct transport *t, const char *peer,
                                const struct http_conn_opts *opts, uint64_t now_ms);
/* Closes the transport unless it was taken, and frees c. Accepts NULL. */
void http_conn_free(struct http_conn *c);

/* Handles readiness (LOOP_READ / LOOP_WRITE / LOOP_ERROR): reads, parses, answers, writes.
 * Returns the state; when HTTP_CONN_CLOSED, nothing more is to be done but free. */
enum http_conn_state http_conn_on_io(struct http_conn *c, unsigned events, uint64_t now_ms);
/* The interest to register now (LOOP_READ and/or LOOP_WRITE, plus the transport's wants). */
unsigned http_conn_events(const struct http_conn *c);
/* When the connection is to be closed (absolute loop ms): the idle timeout after the last
 * byte read or written, or sooner the request deadline when a request has begun and is not
 * complete yet. The caller closes the connection (http_conn_free) once loop_now_ms() reaches
 * it. No deadline runs while a deferred response is awaited but the idle one. */
uint64_t http_conn_idle_deadline(const struct http_conn *c);

/* A pointer of the caller's that handlers see as http_request.conn_user, e.g. to find the
 * connection again when answering a deferred request. */
void http_conn_set_user(struct http_conn *c, void *user);
/* While a handler's response is deferred (http_response_defer): the response to fill before
 * http_conn_resume; NULL when nothing is deferred. */
struct http_response *http_conn_response(struct http_conn *c);
/* Sends the deferred response as filled (500 when its err is set) and goes on with the
 * connection like http_conn_on_io; the caller handles the state and interest as after it. A
 * no-op returning the state when nothing is deferred. */
enum http_conn_state http_conn_resume(struct http_conn *c, uint64_t now_ms);

/* After HTTP_CONN_UPGRADED: the WebSocket transport on the same fd, carrying the unsent part of
 * the 101 response and any bytes the client sent after its request. c keeps nothing of the
 * socket afterwards (free it). NULL when out of memory (the socket is closed then). */
struct transport *http_conn_take_ws(struct http_conn *c);
/* The client address of the last request (peer, or its X-Forwarded-For client when the peer is
 * a trusted proxy), e.g. for the MQTT connection's log lines. Valid until c is freed. */
const char *http_conn_client_addr(const struct http_conn *c);
/* The WebSocket subprotocol chosen at the upgrade ("mqtt", "mqttv3.1") or NULL. */
const char *http_conn_ws_protocol(const struct http_conn *c);

#endif
