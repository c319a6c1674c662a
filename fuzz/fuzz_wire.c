/* The in-memory transport of fuzz_wire.h: read, writev, wants and close over a struct
 * fuzz_wire. Its own allocations use malloc so mem_fail_at() only hits the code under test. */
#include "fuzz_wire.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "transport.h"

struct wire_transport {
    struct transport base;
    struct fuzz_wire *w;
};

void fuzz_wire_init(struct fuzz_wire *w, const uint8_t *in, size_t len, size_t chunk,
                    unsigned flags)
{
    memset(w, 0, sizeof *w);
    w->in = in;
    w->in_len = len;
    w->chunk = chunk ? chunk : 1;
    w->flags = flags;
}

void fuzz_wire_deinit(struct fuzz_wire *w)
{
    free(w->out);
    w->out = NULL;
}

static long wire_read(struct transport *t, void *buf, size_t len)
{
    struct fuzz_wire *w = ((struct wire_transport *)t)->w;
    if (len == 0)
        return TERN_EINVAL;
    if ((w->flags & FUZZ_WIRE_READ_AGAIN) && (w->calls++ & 1))
        return TERN_EAGAIN;
    size_t n = w->in_len - w->in_off;
    if (n == 0)
        return 0;
    if (n > w->chunk)
        n = w->chunk;
    if (n > len)
        n = len;
    memcpy(buf, w->in + w->in_off, n);
    w->in_off += n;
    return (long)n;
}

static long wire_writev(struct transport *t, const struct iovec *iov, int iovcnt)
{
    struct fuzz_wire *w = ((struct wire_transport *)t)->w;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (total == 0)
        return 0;
    if (w->flags & FUZZ_WIRE_SLOW_WRITE) {
        if (w->calls++ & 1)
            return TERN_EAGAIN;
        if (total > 3)
            total = 3;
    }
    if (w->out_len + total > w->out_cap) {
        size_t cap = (w->out_len + total) * 2;
        uint8_t *grown = realloc(w->out, cap);
        if (grown == NULL)
            abort();
        w->out = grown;
        w->out_cap = cap;
    }
    size_t left = total;
    for (int i = 0; i < iovcnt && left > 0; i++) {
        size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
        memcpy(w->out + w->out_len, iov[i].iov_base, n);
        w->out_len += n;
        left -= n;
    }
    return (long)total;
}

static unsigned wire_wants(const struct transport *t)
{
    (void)t;
    return 0;
}

static void wire_close(struct transport *t)
{
    struct wire_transport *wt = (struct wire_transport *)t;
    wt->w->has_transport = false;
    free(wt);
}

static const struct transport_ops wire_ops = {
    .name = "fuzz",
    .read = wire_read,
    .writev = wire_writev,
    .wants = wire_wants,
    .close = wire_close,
};

struct transport *fuzz_wire_transport(struct fuzz_wire *w)
{
    struct wire_transport *wt = calloc(1, sizeof *wt);
    if (wt == NULL)
        abort();
    wt->base.ops = &wire_ops;
    wt->base.fd = -1;
    wt->w = w;
    w->has_transport = true;
    return &wt->base;
}
