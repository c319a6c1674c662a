/* The connection transport interface: a vtable of read / writev / wants / close over one fd, so
 * TLS and WebSockets can be added without the broker changing. The broker owns the loop
 * registration of t->fd (loop_remove it before close). transport_tcp.c is the plain-socket one. */
#ifndef TERN_NET_TRANSPORT_H
#define TERN_NET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

struct transport;

struct transport_ops {
    const char *name; /* "tcp" */
    /* Whether the broker should hand large payloads to writev by reference (gathered from the
     * shared message) rather than copy them into its output buffer first: true where writev
     * reaches the socket without another copy of its own (tcp; mem, so that in-memory tests run
     * the same send path). TLS and WebSocket encrypt or frame into buffers of their own. */
    bool by_ref;
    /* Reads up to len (> 0) bytes. Returns the count (> 0), 0 on orderly close by the peer,
     * TERN_EAGAIN when nothing is ready, TERN_ECLOSED when the peer reset the connection,
     * TERN_EINVAL for len 0, or TERN_EIO for another error. */
    long (*read)(struct transport *t, void *buf, size_t len);
    /* Writes the gathered iov (at most IOV_MAX entries are used per call). Returns bytes written
     * (>= 0, possibly fewer than asked: resend the rest), TERN_EAGAIN when the socket buffer is
     * full, TERN_ECLOSED when the connection is gone (EPIPE/ECONNRESET), TERN_EIO otherwise.
     * Never raises SIGPIPE. */
    long (*writev)(struct transport *t, const struct iovec *iov, int iovcnt);
    /* Extra LOOP_READ / LOOP_WRITE interest the transport itself needs to make progress (e.g.
     * a TLS handshake or renegotiation), on top of what the caller wants; 0 for tcp. */
    unsigned (*wants)(const struct transport *t);
    /* Closes the fd and frees t. */
    void (*close)(struct transport *t);
};

/* Transports embed this as their first member. */
struct transport {
    const struct transport_ops *ops;
    int fd;
};

/* Plain TCP (or any stream socket, e.g. Unix). Takes ownership of fd (expected non-blocking),
 * also on failure (the fd is then closed). Returns NULL when out of memory. */
struct transport *transport_tcp_new(int fd);

#endif
