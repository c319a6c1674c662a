/* The in-memory transport of transport_mem.h: two struct buf (one per direction) shared by the
 * broker's struct transport and the harness's peer handle, with an eventfd kept readable exactly
 * while the server has something to read. No sockets; it does not simulate partial writes. */
#include "transport_mem.h"

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "buf.h"
#include "mem.h"
#include "transport.h"

struct transport_mem_peer {
    struct transport base; /* the server side; base.fd is the eventfd */
    struct buf to_server;
    struct buf to_peer;
    size_t chunk;
    size_t write_room;  /* bytes the server may still write; SIZE_MAX = no limit */
    size_t write_chunk; /* most bytes one server write takes; 0 = no limit */
    bool peer_shut;     /* no more bytes for the server: it reads 0 after the pending ones */
    bool peer_gone;     /* transport_mem_peer_free ran */
    bool server_closed; /* the transport's close ran */
    bool signalled;     /* the eventfd counter is non-zero */
};

static struct transport_mem_peer *pipe_of(struct transport *t)
{
    return (struct transport_mem_peer *)t;
}

/* Keeps the eventfd readable exactly while the server has input or an end of stream to see. */
static void update_signal(struct transport_mem_peer *p)
{
    if (p->server_closed)
        return;
    bool want = p->to_server.len > 0 || p->peer_shut;
    uint64_t v = 1;
    if (want && !p->signalled)
        p->signalled = write(p->base.fd, &v, sizeof v) == (ssize_t)sizeof v;
    else if (!want && p->signalled)
        p->signalled = read(p->base.fd, &v, sizeof v) != (ssize_t)sizeof v;
}

static void maybe_free(struct transport_mem_peer *p)
{
    if (!p->server_closed || !p->peer_gone)
        return;
    buf_deinit(&p->to_server);
    buf_deinit(&p->to_peer);
    mem_free(p);
}

static long mem_read(struct transport *t, void *buf, size_t len)
{
    struct transport_mem_peer *p = pipe_of(t);
    if (len == 0)
        return TERN_EINVAL;
    if (p->to_server.len == 0)
        return p->peer_shut ? 0 : TERN_EAGAIN;
    size_t n = p->to_server.len < len ? p->to_server.len : len;
    if (p->chunk && n > p->chunk)
        n = p->chunk;
    memcpy(buf, p->to_server.data, n);
    buf_consume(&p->to_server, n);
    update_signal(p);
    return (long)n;
}

static long mem_writev(struct transport *t, const struct iovec *iov, int iovcnt)
{
    struct transport_mem_peer *p = pipe_of(t);
    if (p->peer_gone)
        return TERN_ECLOSED;
    size_t total = 0, limit = p->write_room;
    if (p->write_chunk && p->write_chunk < limit)
        limit = p->write_chunk;
    if (limit == 0 && iovcnt > 0)
        return TERN_EAGAIN; /* like a full socket buffer */
    for (int i = 0; i < iovcnt && total < limit; i++) {
        size_t n = iov[i].iov_len < limit - total ? iov[i].iov_len : limit - total;
        if (buf_append(&p->to_peer, iov[i].iov_base, n) != 0)
            return total ? (long)total : TERN_EIO;
        total += n;
    }
    if (p->write_room != SIZE_MAX)
        p->write_room -= total;
    return (long)total;
}

static unsigned mem_wants(const struct transport *t)
{
    (void)t;
    return 0;
}

static void mem_close(struct transport *t)
{
    struct transport_mem_peer *p = pipe_of(t);
    close(p->base.fd);
    p->base.fd = -1;
    p->server_closed = true;
    maybe_free(p);
}

static const struct transport_ops mem_ops = {
    .name = "mem",
    .by_ref = true,
    .read = mem_read,
    .writev = mem_writev,
    .wants = mem_wants,
    .close = mem_close,
};

int transport_mem_pair(struct transport **server, struct transport_mem_peer **peer)
{
    struct transport_mem_peer *p = mem_calloc(1, sizeof *p);
    if (!p)
        return TERN_ENOMEM;
    p->base.ops = &mem_ops;
    p->base.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->base.fd < 0) {
        mem_free(p);
        return TERN_ESYS;
    }
    buf_init(&p->to_server);
    buf_init(&p->to_peer);
    p->write_room = SIZE_MAX;
    *server = &p->base;
    *peer = p;
    return 0;
}

void transport_mem_set_chunk(struct transport_mem_peer *p, size_t chunk)
{
    p->chunk = chunk;
}

void transport_mem_set_write_limit(struct transport_mem_peer *p, size_t chunk, size_t room)
{
    p->write_chunk = chunk;
    p->write_room = room;
}

int transport_mem_write(struct transport_mem_peer *p, const void *data, size_t len)
{
    if (p->server_closed || p->peer_shut)
        return TERN_ECLOSED;
    if (buf_append(&p->to_server, data, len) != 0)
        return TERN_ENOMEM;
    update_signal(p);
    return 0;
}

void transport_mem_shutdown(struct transport_mem_peer *p)
{
    p->peer_shut = true;
    update_signal(p);
}

const uint8_t *transport_mem_output(const struct transport_mem_peer *p, size_t *len)
{
    *len = p->to_peer.len;
    return p->to_peer.data;
}

void transport_mem_consume(struct transport_mem_peer *p, size_t n)
{
    buf_consume(&p->to_peer, n < p->to_peer.len ? n : p->to_peer.len);
}

size_t transport_mem_unread(const struct transport_mem_peer *p)
{
    return p->to_server.len;
}

bool transport_mem_server_pending(const struct transport_mem_peer *p)
{
    return !p->server_closed && (p->to_server.len > 0 || p->peer_shut);
}

bool transport_mem_server_closed(const struct transport_mem_peer *p)
{
    return p->server_closed;
}

void transport_mem_peer_free(struct transport_mem_peer *p)
{
    if (!p)
        return;
    transport_mem_shutdown(p);
    p->peer_gone = true;
    maybe_free(p);
}
