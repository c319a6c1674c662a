/* The plain stream-socket transport: recv and sendmsg(MSG_NOSIGNAL) on a non-blocking fd, with
 * errno mapped to TERN_* codes. No buffering: partial writes are reported to the caller. */
#include "transport.h"

#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"

#ifndef IOV_MAX
#define IOV_MAX 1024 /* Linux UIO_MAXIOV; limits.h hides it without _XOPEN_SOURCE */
#endif

static long tcp_read(struct transport *t, void *buf, size_t len)
{
    if (len == 0)
        return TERN_EINVAL;
    for (;;) {
        ssize_t n = recv(t->fd, buf, len, 0);
        if (n >= 0)
            return (long)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TERN_EAGAIN;
        if (errno == ECONNRESET || errno == EPIPE || errno == ETIMEDOUT)
            return TERN_ECLOSED;
        return TERN_EIO;
    }
}

static long tcp_writev(struct transport *t, const struct iovec *iov, int iovcnt)
{
    if (iovcnt <= 0)
        return 0;
    struct msghdr msg = {0};
    msg.msg_iov = (struct iovec *)iov; /* sendmsg does not write through it */
    msg.msg_iovlen = (size_t)(iovcnt > IOV_MAX ? IOV_MAX : iovcnt);
    for (;;) {
        /* MSG_NOSIGNAL: a write to a closed peer must return EPIPE, not kill the broker. */
        ssize_t n = sendmsg(t->fd, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return (long)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TERN_EAGAIN;
        if (errno == EPIPE || errno == ECONNRESET || errno == ETIMEDOUT)
            return TERN_ECLOSED;
        return TERN_EIO;
    }
}

static unsigned tcp_wants(const struct transport *t)
{
    (void)t;
    return 0;
}

static void tcp_close(struct transport *t)
{
    close(t->fd);
    mem_free(t);
}

static const struct transport_ops tcp_ops = {
    .name = "tcp",
    .by_ref = true,
    .read = tcp_read,
    .writev = tcp_writev,
    .wants = tcp_wants,
    .close = tcp_close,
};

struct transport *transport_tcp_new(int fd)
{
    struct transport *t = mem_alloc(sizeof *t);
    if (t == NULL) {
        close(fd);
        return NULL;
    }
    t->ops = &tcp_ops;
    t->fd = fd;
    return t;
}
