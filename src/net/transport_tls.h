/* The server-side TLS transport: OpenSSL over a non-blocking accepted socket behind the
 * transport vtable. The handshake runs inside read()/writev() and never blocks; wants() says
 * which readiness it waits for. It does not accept, connect or register with a loop. */
#ifndef TERN_NET_TRANSPORT_TLS_H
#define TERN_NET_TRANSPORT_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct transport;
struct tls_ctx;

/* A TLS server transport on fd (non-blocking, accepted). Takes ownership of fd, also on failure
 * (closed then), and a new reference to ctx (the caller keeps its own), so replacing a
 * listener's ctx later does not affect this connection. Returns NULL when out of memory.
 *
 * ops semantics beyond transport.h:
 * - read: drives the handshake first. Returns TERN_EAGAIN while it is in progress, 0 on the
 *   peer's close_notify or end of stream, and TERN_ETLS when the handshake or a record fails
 *   (e.g. certificate refused); transport_tls_error() then has the reason. It fills buf with as
 *   many records as are already available; if it returned exactly len, call it again (more
 *   plaintext may be buffered inside TLS where the loop cannot see it: transport_tls_pending).
 * - writev: returns plaintext bytes accepted (records written); TERN_EAGAIN when nothing could
 *   be written. After TERN_EAGAIN or a short count, resend the rest starting with the same
 *   bytes (OpenSSL's retry rule; a longer retry is fine). TERN_ETLS on a TLS failure.
 * - wants: LOOP_READ while the handshake is incomplete or a write waits for input, LOOP_WRITE
 *   when a read (handshake) waits for socket space: when the fd becomes writable call read()
 *   again even if no output is pending.
 * - close: sends close_notify if possible (non-blocking, best effort), closes fd, drops the
 *   ctx reference. */
struct transport *transport_tls_new(int fd, struct tls_ctx *ctx);

/* True for transports made by transport_tls_new. */
bool transport_is_tls(const struct transport *t);
/* True when the handshake completed. */
bool transport_tls_established(const struct transport *t);
/* True when decrypted bytes are buffered and read() would return them without socket input. */
bool transport_tls_pending(const struct transport *t);
/* The reason of the last TERN_ETLS (e.g. "certificate verify failed"), or "" if none. */
const char *transport_tls_error(const struct transport *t);
/* Negotiated protocol ("TLSv1.3") and cipher; "" before the handshake. */
const char *transport_tls_version(const struct transport *t);
const char *transport_tls_cipher(const struct transport *t);

/* The peer's identity for use_identity_as_username / use_subject_as_username, after the
 * handshake: the PSK identity for a PSK session; otherwise the client certificate's subject in
 * RFC 2253 one-line form when the ctx had use_subject_as_username, else its CN. Writes a NUL-
 * terminated string into buf (size len). Returns 0, TERN_ENOTFOUND (no certificate / no CN, or
 * handshake not done), TERN_ETOOBIG (buf too small) or TERN_ENOMEM. */
int tls_peer_identity(const struct transport *t, char *buf, size_t len);

#endif
