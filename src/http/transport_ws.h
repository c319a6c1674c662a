/* MQTT over WebSockets as a struct transport, after the HTTP upgrade: read() returns the payload
 * of binary data frames as one byte stream (an MQTT packet may span frames and a frame may hold
 * several packets [MQTT-6.0.0-2]), writev() sends binary frames. The opening handshake is
 * ws_handshake's; this file only frames. */
#ifndef TERN_HTTP_TRANSPORT_WS_H
#define TERN_HTTP_TRANSPORT_WS_H

#include <stddef.h>
#include <stdint.h>

struct transport;

/* Close status codes (RFC 6455 7.4.1) sent by the server. */
enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_TOO_BIG = 1009,
};

/* Wraps inner (taken over, also on failure: it is closed then) as a server-side WebSocket.
 * in_prefix are bytes already read from inner after the handshake (frames the client sent
 * early); out_prefix are bytes still to be written before any frame (the rest of the 101
 * response). Both are copied. max_msg_len caps one data message (all its fragments); a bigger
 * one is refused with close 1009. The new transport has inner's fd; its ops:
 * - read: payload bytes of binary messages; control frames are handled inside (ping answered
 *   with pong, close answered and then read returns 0). A text frame [MQTT-6.0.0-1], an unmasked
 *   client frame (RFC 6455 5.1), a reserved opcode or bit, or an oversize message sends close
 *   1003/1002/1009 and makes read return TERN_EPROTO from then on. TERN_EAGAIN when no payload
 *   is ready (also after a frame with no payload, like a ping), 0 after the close handshake or
 *   the peer's end of stream, TERN_ECLOSED / TERN_EIO from the socket.
 * - writev: frames all the bytes (up to 1 MiB per call) as one binary frame, unmasked (RFC 6455
 *   5.1); returns the payload bytes taken, or TERN_EAGAIN when earlier frames are still queued
 *   above 64 KiB. A writev with iovcnt 0 only flushes queued frames (pongs, close) and returns
 *   0 or an error: callers call it when wants() has LOOP_WRITE and they have nothing to send.
 *   After a close frame was sent or received, TERN_ECLOSED.
 * - wants: LOOP_WRITE while frames are queued, plus inner's wants.
 * - close: sends close 1000 unless a close was already sent (best effort, non-blocking), then
 *   closes inner.
 * NULL when out of memory. */
struct transport *transport_ws_new(struct transport *inner, const void *in_prefix, size_t in_len,
                                   const void *out_prefix, size_t out_len, size_t max_msg_len);

/* The close status the peer sent (0 when none yet, 1005 when its close frame had no code). */
unsigned transport_ws_peer_close_code(const struct transport *t);

#endif
