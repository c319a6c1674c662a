/* The server side of the RFC 6455 opening handshake for MQTT over WebSockets: recognises an
 * upgrade request, validates key, version and subprotocol, and builds the 101 response (or the
 * refusal). It does no framing: transport_ws does. */
#ifndef TERN_HTTP_WS_HANDSHAKE_H
#define TERN_HTTP_WS_HANDSHAKE_H

#include <stdbool.h>

#include "err.h"

struct http_request;
struct http_response;

/* Length of Sec-WebSocket-Accept (base64 of a SHA-1) plus the NUL. */
#define WS_ACCEPT_LEN 29

/* Whether req asks for a WebSocket: an Upgrade header listing "websocket". */
bool ws_handshake_is_upgrade(const struct http_request *req);

/* Validates an upgrade request and fills resp: 101 with Upgrade, Connection,
 * Sec-WebSocket-Accept and the chosen Sec-WebSocket-Protocol, returning 0 and the subprotocol
 * ("mqtt", "mqttv3.1", or NULL when the client offered none) in *proto. Otherwise fills resp with
 * the refusal and returns TERN_EPROTO: 405 for a method other than GET, 400 for an HTTP/1.0
 * request, a Connection header without "upgrade", a key that is not 16 base64-encoded bytes,
 * or subprotocols offered none of which is MQTT's; 426 with "Sec-WebSocket-Version: 13" for
 * another version. TERN_ENOMEM when building the response failed. */
int ws_handshake_accept(const struct http_request *req, struct http_response *resp,
                        const char **proto);

/* Whether req may upgrade given the allowed origins: true when allowed is NULL (any origin) or
 * req has no Origin header (not a browser), else when its Origin equals one of allowed's
 * space- or comma-separated values (ASCII case-insensitively, as origins are serialized in
 * lower case by browsers). A browser's page elsewhere is thus refused (RFC 6455 10.2). */
bool ws_handshake_origin_ok(const struct http_request *req, const char *allowed);

/* Sec-WebSocket-Accept for key: base64(SHA-1(key + the RFC 6455 GUID)), NUL-terminated. */
void ws_handshake_accept_key(const char *key, char out[WS_ACCEPT_LEN]);

#endif
