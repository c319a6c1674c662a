/* An in-memory transport: a connected pair of byte buffers, one per direction. The broker side
 * is a struct transport ("mem") the broker uses like a socket; the peer side is driven by a
 * test or fuzz harness (write bytes as a client, read what the broker sent). Readiness is
 * signalled through an eventfd so the event loop treats it like any fd. Not thread-safe: both
 * ends belong to one thread (the in-memory broker runs its workers in the caller's thread). */
#ifndef TERN_NET_TRANSPORT_MEM_H
#define TERN_NET_TRANSPORT_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct transport;
struct transport_mem_peer;

/* Creates a connected pair. *server is a transport whose fd (an eventfd) is readable while the
 * server has bytes to read or the peer has shut its side down; its close frees the server side.
 * *peer is the harness's end (free with transport_mem_peer_free). Both ends share one object,
 * freed when both are gone. Returns 0, TERN_ENOMEM or TERN_ESYS (no eventfd). */
TERN_MUST_CHECK int transport_mem_pair(struct transport **server, struct transport_mem_peer **peer);
/* Limits every server read to at most chunk bytes (0 = no limit), to exercise partial packets. */
void transport_mem_set_chunk(struct transport_mem_peer *p, size_t chunk);
/* Limits the server's writes, to exercise partial writes: each takes at most chunk bytes (0 = no
 * limit), and only room bytes in all from now on (SIZE_MAX = no limit); once room is used up a
 * write returns TERN_EAGAIN, as a full socket buffer would. */
void transport_mem_set_write_limit(struct transport_mem_peer *p, size_t chunk, size_t room);
/* Appends len bytes for the server to read. Returns 0, TERN_ECLOSED when the server closed its
 * side or the peer shut down, or TERN_ENOMEM. */
TERN_MUST_CHECK int transport_mem_write(struct transport_mem_peer *p, const void *data, size_t len);
/* Ends the peer-to-server stream: once the pending bytes are read, the server reads 0. */
void transport_mem_shutdown(struct transport_mem_peer *p);
/* What the server wrote and the peer has not consumed: a pointer valid until the next call on
 * this pair, and its length in *len. */
const uint8_t *transport_mem_output(const struct transport_mem_peer *p, size_t *len);
/* Drops the first n (<= the output's length) bytes of the output. */
void transport_mem_consume(struct transport_mem_peer *p, size_t n);
/* Bytes written by the peer that the server has not read yet. */
size_t transport_mem_unread(const struct transport_mem_peer *p);
/* Whether the open server side still has something to read: bytes, or the end of stream after
 * transport_mem_shutdown (it then closes, having read 0). */
bool transport_mem_server_pending(const struct transport_mem_peer *p);
/* Whether the server closed its side (its transport's close ran). */
bool transport_mem_server_closed(const struct transport_mem_peer *p);
/* Shuts the peer side down (if not yet) and releases it. Accepts NULL. */
void transport_mem_peer_free(struct transport_mem_peer *p);

#endif
