/* The WebSocket transport: wslay parses and unmasks client frames and runs the control-frame
 * protocol (ping/pong, close handshake, masking and opcode checks); binary payload is passed
 * straight to the reader. Data frames are written here (a server frame is a 2-10 byte header
 * and the payload, unmasked), skipping wslay's per-message copy. No extensions, no text. */
#include "transport_ws.h"

#include <stdbool.h>
#include <string.h>
#include <wslay/wslay.h>

#include "buf.h"
#include "err.h"
#include "loop.h"
#include "mem.h"
#include "transport.h"

#define OUT_HIGH      ((size_t)64 * 1024)   /* queued frame bytes above which writev says EAGAIN */
#define MAX_FRAME_OUT ((size_t)1024 * 1024) /* payload bytes framed per writev */

struct ws {
    struct transport base; /* first: the broker sees a struct transport */
    struct transport *inner;
    wslay_event_context_ptr ctx;
    struct buf pre_in; /* bytes read before the upgrade, consumed first */
    size_t pre_off;
    struct buf out; /* whole frames waiting for the socket */
    uint8_t *dst;   /* the caller's buffer during read() */
    size_t dst_len, dst_cap;
    struct buf spill; /* payload that did not fit dst (kept for the next read) */
    size_t spill_off;
    size_t budget; /* raw bytes this read() may still take from the socket */
    size_t max_msg;
    uint64_t msg_len; /* the current data message so far */
    bool in_data;     /* the frame being received carries data payload */
    bool in_msg;      /* a fragmented data message is unfinished */
    bool eof;         /* inner reported end of stream */
    int inner_err;    /* inner's read/write error, 0 if none */
    int failed;       /* TERN_EPROTO once we refused the peer */
};

/* Refuses the peer: close frame with code, no more reading. */
static void fail_with(struct ws *w, uint16_t code)
{
    if (w->failed)
        return;
    w->failed = TERN_EPROTO;
    wslay_event_queue_close(w->ctx, code, NULL, 0);
    wslay_event_shutdown_read(w->ctx);
}

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    struct ws *w = user;
    size_t n = len < w->budget ? len : w->budget;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (w->pre_off < w->pre_in.len) {
        size_t avail = w->pre_in.len - w->pre_off;
        n = n < avail ? n : avail;
        memcpy(buf, w->pre_in.data + w->pre_off, n);
        w->pre_off += n;
        w->budget -= n;
        return (ssize_t)n;
    }
    long r = w->inner->ops->read(w->inner, buf, n);
    if (r > 0) {
        w->budget -= (size_t)r;
        return (ssize_t)r;
    }
    if (r == TERN_EAGAIN) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (r == 0)
        w->eof = true;
    else
        w->inner_err = (int)r;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

/* wslay's own frames (pong, close) are appended whole to out; they are small. */
static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)flags;
    struct ws *w = user;
    if (buf_append(&w->out, data, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void on_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
    (void)ctx;
    struct ws *w = user;
    w->in_data = false;
    if (w->failed || (arg->opcode & 0x8u))
        return; /* control frames are wslay's */
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        /* MQTT travels in binary frames only; any other data frame closes [MQTT-6.0.0-1]. */
        fail_with(w, WS_CLOSE_UNSUPPORTED);
        return;
    }
    if (arg->opcode == WSLAY_BINARY_FRAME)
        w->msg_len = 0;
    w->msg_len += arg->payload_length;
    if (w->msg_len > w->max_msg) {
        fail_with(w, WS_CLOSE_TOO_BIG);
        return;
    }
    w->in_msg = !arg->fin;
    w->in_data = true;
}

static void on_frame_chunk(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user)
{
    struct ws *w = user;
    if (!w->in_data || w->failed)
        return;
    size_t n = arg->data_length;
    size_t room = w->dst ? w->dst_cap - w->dst_len : 0;
    size_t direct = n < room ? n : room;
    if (direct) {
        memcpy(w->dst + w->dst_len, arg->data, direct);
        w->dst_len += direct;
    }
    if (n > direct && buf_append(&w->spill, arg->data + direct, n - direct) != 0) {
        w->inner_err = TERN_ENOMEM;
        wslay_event_shutdown_read(ctx);
    }
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = on_recv,
    .send_callback = on_send,
    .on_frame_recv_start_callback = on_frame_start,
    .on_frame_recv_chunk_callback = on_frame_chunk,
};

/* Moves wslay's queued control frames into out and writes out to the socket. Returns 0 (also
 * when the socket is full) or inner's error. */
static int flush(struct ws *w)
{
    if (wslay_event_want_write(w->ctx) && wslay_event_send(w->ctx) != 0 && w->inner_err == 0)
        w->inner_err = TERN_ENOMEM;
    while (w->out.len > 0 && w->inner_err == 0) {
        struct iovec iov = {w->out.data, w->out.len};
        long n = w->inner->ops->writev(w->inner, &iov, 1);
        if (n == TERN_EAGAIN || n == 0)
            break;
        if (n < 0)
            w->inner_err = (int)n;
        else
            buf_consume(&w->out, (size_t)n);
    }
    return w->inner_err;
}

/* What read() reports once no payload is left. */
static long end_status(struct ws *w)
{
    if (w->inner_err)
        return w->inner_err;
    if (w->failed)
        return w->failed;
    if (w->eof || wslay_event_get_close_received(w->ctx))
        return 0;
    if (!wslay_event_get_read_enabled(w->ctx))
        return TERN_EPROTO; /* wslay refused a frame (unmasked, reserved bits, bad control) */
    return TERN_EAGAIN;
}

static long take_spill(struct ws *w, void *buf, size_t len)
{
    size_t avail = w->spill.len - w->spill_off;
    size_t n = len < avail ? len : avail;
    memcpy(buf, w->spill.data + w->spill_off, n);
    w->spill_off += n;
    if (w->spill_off == w->spill.len) {
        buf_reset(&w->spill);
        w->spill_off = 0;
    }
    return (long)n;
}

static long ws_read(struct transport *t, void *buf, size_t len)
{
    struct ws *w = (struct ws *)t;
    if (len == 0)
        return TERN_EINVAL;
    if (w->spill.len > w->spill_off)
        return take_spill(w, buf, len);
    if (wslay_event_get_read_enabled(w->ctx) && !w->eof && w->inner_err == 0) {
        w->dst = buf;
        w->dst_len = 0;
        w->dst_cap = len;
        /* Taking at most len raw bytes means the payload they carry fits buf. */
        w->budget = len;
        if (wslay_event_recv(w->ctx) != 0 && w->inner_err == 0 && !w->eof && !w->failed)
            w->failed = TERN_EPROTO;
        w->dst = NULL;
        flush(w); /* pongs and close replies go out at once */
        if (w->dst_len > 0)
            return (long)w->dst_len;
    }
    return end_status(w);
}

static void put_header(uint8_t *h, size_t *hl, size_t n)
{
    h[0] = 0x80u | WSLAY_BINARY_FRAME; /* FIN, binary [MQTT-6.0.0-1] */
    if (n < 126) {
        h[1] = (uint8_t)n; /* server frames are not masked (RFC 6455 5.1) */
        *hl = 2;
    } else if (n <= 0xffff) {
        h[1] = 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        *hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        *hl = 10;
    }
}

static long ws_writev(struct transport *t, const struct iovec *iov, int iovcnt)
{
    struct ws *w = (struct ws *)t;
    if (flush(w) != 0)
        return w->inner_err;
    if (iovcnt <= 0)
        return 0;
    if (wslay_event_get_close_sent(w->ctx) || wslay_event_get_close_received(w->ctx) || w->failed)
        return TERN_ECLOSED;
    if (w->out.len >= OUT_HIGH)
        return TERN_EAGAIN;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (total > MAX_FRAME_OUT)
        total = MAX_FRAME_OUT;
    if (total == 0)
        return 0;
    uint8_t h[10];
    size_t hl;
    put_header(h, &hl, total);
    if (buf_reserve(&w->out, hl + total) != 0)
        return TERN_ENOMEM;
    memcpy(w->out.data + w->out.len, h, hl);
    w->out.len += hl;
    size_t left = total;
    for (int i = 0; i < iovcnt && left; i++) {
        size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
        memcpy(w->out.data + w->out.len, iov[i].iov_base, n);
        w->out.len += n;
        left -= n;
    }
    int rc = flush(w);
    return rc ? rc : (long)total;
}

static unsigned ws_wants(const struct transport *t)
{
    const struct ws *w = (const struct ws *)t;
    unsigned ev = w->inner->ops->wants(w->inner);
    if (w->out.len > 0 || wslay_event_want_write(w->ctx))
        ev |= LOOP_WRITE;
    return ev;
}

static void ws_close(struct transport *t)
{
    struct ws *w = (struct ws *)t;
    if (!wslay_event_get_close_sent(w->ctx) && w->inner_err == 0) {
        wslay_event_queue_close(w->ctx, WS_CLOSE_NORMAL, NULL, 0);
        flush(w);
    }
    w->inner->ops->close(w->inner);
    wslay_event_context_free(w->ctx);
    buf_deinit(&w->pre_in);
    buf_deinit(&w->out);
    buf_deinit(&w->spill);
    mem_free(w);
}

static const struct transport_ops ws_ops = {
    .name = "ws",
    .read = ws_read,
    .writev = ws_writev,
    .wants = ws_wants,
    .close = ws_close,
};

struct transport *transport_ws_new(struct transport *inner, const void *in_prefix, size_t in_len,
                                   const void *out_prefix, size_t out_len, size_t max_msg_len)
{
    struct ws *w = mem_calloc(1, sizeof *w);
    if (w == NULL)
        goto fail;
    w->base.ops = &ws_ops;
    w->base.fd = inner->fd;
    w->inner = inner;
    w->max_msg = max_msg_len;
    buf_init(&w->pre_in);
    buf_init(&w->out);
    buf_init(&w->spill);
    if (buf_append(&w->pre_in, in_prefix, in_len) != 0 ||
        buf_append(&w->out, out_prefix, out_len) != 0)
        goto fail_bufs;
    if (wslay_event_context_server_init(&w->ctx, &callbacks, w) != 0)
        goto fail_bufs;
    /* Payload goes straight to the reader; message size is checked in on_frame_start. */
    wslay_event_config_set_no_buffering(w->ctx, 1);
    wslay_event_config_set_max_recv_msg_length(w->ctx, max_msg_len);
    return &w->base;
fail_bufs:
    buf_deinit(&w->pre_in);
    buf_deinit(&w->out);
    mem_free(w);
fail:
    inner->ops->close(inner);
    return NULL;
}

unsigned transport_ws_peer_close_code(const struct transport *t)
{
    const struct ws *w = (const struct ws *)t;
    if (!wslay_event_get_close_received(w->ctx))
        return 0;
    return wslay_event_get_status_code_received(w->ctx);
}
