/* Client connections: read into a buffer, decode whole packets in place, dispatch them, and
 * collect output in one buffer that the worker flushes once per loop iteration (so a burst of
 * deliveries costs one write): large payloads stay in their message and are gathered around the
 * buffer's bytes with one writev. Closing runs the session-detach rules (will, expiry). */
#include "conn.h"

#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "broker.h"
#include "clock.h"
#include "codec.h"
#include "config.h"
#include "deliver.h"
#include "handle.h"
#include "handle_auth.h"
#include "lifecycle.h"
#include "loop.h"
#include "mem.h"
#include "msg.h"
#include "persist.h"
#include "security.h"
#include "session.h"
#include "transport.h"
#include "transport_tls.h"
#include "worker.h"
#include "ws_listener.h"

#define READ_CHUNK 16384
/* Output buffer capacity a connection keeps between bursts: one that only ever needed the
 * first allocation (OUT_FIRST, buf.c's first size: a CONNACK, a PUBACK, a few small messages)
 * is freed as soon as it is written, so an idle connection holds none (freeing and taking it
 * again costs far less than the write); a larger one is kept while the connection is busy, up
 * to OUT_KEEP, and freed by the keep-alive sweep once it is empty there. */
#define OUT_KEEP  65536
#define OUT_FIRST 256
/* Queued-payload slots a connection keeps between bursts. */
#define REFS_KEEP 64
/* iovec entries per write: out's pieces and the payloads between them. */
#define FLUSH_IOV 1024

static void on_io(struct loop *l, int fd, unsigned events, void *ctx);
static void drop_gate(struct conn *c, bool discard);
static void wait_for_store(struct conn *c);
static void on_readable(struct conn *c);
static void drop_acks(struct conn *c);

void conn_accept(struct worker *w, int fd, const char *peer, struct listener_rt *lr)
{
    struct tls_ctx *tls = security_tls(lr);
    /* Both close fd themselves on failure. */
    struct transport *t = tls ? transport_tls_new(fd, tls) : transport_tcp_new(fd);
    if (t)
        conn_start(w, t, peer, lr);
}

void conn_start(struct worker *w, struct transport *t, const char *peer, struct listener_rt *lr)
{
    worker_stat_add(&w->stats.sockets_opened, 1);
    int fd = t->fd;
    struct conn *c = mem_calloc(1, sizeof *c);
    if (!c) {
        t->ops->close(t);
        atomic_fetch_sub(&lr->connections, 1);
        return;
    }
    c->w = w;
    c->t = t;
    c->fd = fd;
    c->lr = lr;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    buf_init(&c->in);
    buf_init(&c->out);
    list_init(&c->dirty_node);
    list_init(&c->ack_node);
    c->last_rx_ms = loop_now_ms(w->loop);
    if (loop_add(w->loop, fd, LOOP_READ, on_io, c) != 0) {
        t->ops->close(t);
        mem_free(c);
        atomic_fetch_sub(&lr->connections, 1);
        return;
    }
    list_insert_tail(&w->conns, &c->node);
    /* Until CONNECT arrives, the keep-alive check serves as a connect timeout. */
    c->keepalive_s = 10;
    /* A transport set up elsewhere may already hold input (MQTT bytes that came with the
     * WebSocket upgrade request): the socket will not signal it again. */
    c->layered = strcmp(t->ops->name, "tcp") != 0;
    c->by_ref = t->ops->by_ref;
    c->mount_len = lr->conf->mount_point ? (uint16_t)strlen(lr->conf->mount_point) : 0;
    if (c->layered)
        on_readable(c);
}

void conn_mark_dirty(struct conn *c)
{
    if (!c->in_dirty) {
        c->in_dirty = true;
        list_insert_tail(&c->w->dirty, &c->dirty_node);
    }
}

int conn_write(struct conn *c, const void *data, size_t len)
{
    if (c->state == CONN_CLOSED)
        return TERN_ECLOSED;
    if (buf_append(&c->out, data, len) != 0)
        return TERN_ENOMEM;
    conn_mark_dirty(c);
    return 0;
}

int conn_reserve_ref(struct conn *c)
{
    if (c->n_refs < c->cap_refs)
        return 0;
    uint32_t ncap = c->cap_refs ? c->cap_refs * 2 : 8;
    struct out_ref *r = mem_realloc(c->refs, ncap * sizeof *r);
    if (!r)
        return TERN_ENOMEM;
    c->refs = r;
    c->cap_refs = ncap;
    return 0;
}

void conn_queue_ref(struct conn *c, struct msg *m, const uint8_t *p, size_t len)
{
    c->refs[c->n_refs++] =
        (struct out_ref){.m = msg_ref(m), .ptr = p, .len = len, .at = c->out.len};
    c->ref_bytes += len;
    conn_mark_dirty(c);
}

/* Output from gate->at (and queued payloads from gate->ref) on waits for the store: see
 * conn_hold_output. */
struct out_gate {
    uint64_t seq;
    size_t at;
    uint32_t ref;
};

/* Releases every queued payload (written or not). */
static void drop_refs(struct conn *c)
{
    for (uint32_t i = 0; i < c->n_refs; i++)
        msg_unref(c->refs[i].m);
    mem_free(c->refs);
    c->refs = NULL;
    c->n_refs = c->cap_refs = 0;
    c->ref_bytes = 0;
}

int conn_send(struct conn *c, const struct mqtt_packet *p)
{
    uint8_t small[256];
    size_t n = codec_encode(p, c->version, small, sizeof small);
    if (n == 0)
        return TERN_EINVAL;
    if (n <= sizeof small)
        return conn_write(c, small, n);
    if (c->state == CONN_CLOSED || buf_reserve(&c->out, n) != 0)
        return TERN_ENOMEM;
    codec_encode(p, c->version, c->out.data + c->out.len, n);
    c->out.len += n;
    conn_mark_dirty(c);
    return 0;
}

/* Watches for writability while output is pending or the transport (a TLS handshake) needs
 * socket space to make progress. */
/* Whether some output may be written now: pending, and not all of it behind the gate. */
static bool sendable(const struct conn *c)
{
    if (c->gate)
        return c->gate->at > 0 || c->gate->ref > 0;
    return conn_out_pending(c) > 0;
}

static void update_interest(struct conn *c)
{
    bool on = sendable(c) || (c->t->ops->wants(c->t) & LOOP_WRITE);
    if (c->write_armed == on)
        return;
    c->write_armed = on;
    loop_modify(c->w->loop, c->fd, LOOP_READ | (on ? LOOP_WRITE : 0));
}

/* The output that may be written as an iovec: pieces of out[0..out_end) around the first
 * n_refs queued payloads, in stream order, as much as fits. Returns the entry count; *bytes is
 * what they cover. */
static int gather(const struct conn *c, size_t out_end, uint32_t n_refs, struct iovec *iov,
                  size_t *bytes)
{
    int k = 0;
    size_t pos = 0, sum = 0;
    uint32_t i = 0;
    for (; i < n_refs && k + 2 <= FLUSH_IOV; i++) {
        const struct out_ref *r = &c->refs[i];
        if (r->at > pos) {
            iov[k++] = (struct iovec){c->out.data + pos, r->at - pos};
            sum += r->at - pos;
            pos = r->at;
        }
        iov[k++] = (struct iovec){(void *)r->ptr, r->len};
        sum += r->len;
    }
    if (i == n_refs && out_end > pos && k < FLUSH_IOV) {
        iov[k++] = (struct iovec){c->out.data + pos, out_end - pos};
        sum += out_end - pos;
    }
    *bytes = sum;
    return k;
}

/* Drops the first n written bytes of the stream: out's and the queued payloads', in order. */
static void advance(struct conn *c, size_t n)
{
    size_t pos = 0;
    uint32_t done = 0;
    while (n > 0) {
        size_t next = done < c->n_refs ? c->refs[done].at : c->out.len;
        size_t take = next - pos < n ? next - pos : n;
        pos += take;
        n -= take;
        if (n == 0 || done == c->n_refs)
            break;
        struct out_ref *r = &c->refs[done];
        take = r->len < n ? r->len : n;
        r->ptr += take;
        r->len -= take;
        c->ref_bytes -= take;
        n -= take;
        if (r->len)
            break;
        msg_unref(r->m);
        done++;
    }
    buf_consume(&c->out, pos);
    if (done) {
        c->n_refs -= done;
        memmove(c->refs, c->refs + done, c->n_refs * sizeof *c->refs);
    }
    for (uint32_t i = 0; i < c->n_refs; i++)
        c->refs[i].at -= pos;
    if (c->gate) { /* nothing behind it was written */
        c->gate->at -= pos;
        c->gate->ref -= done;
    }
    if (c->n_refs == 0 && c->cap_refs > REFS_KEEP)
        drop_refs(c);
}

/* One write of the pending output. Returns the bytes written (0 when the socket is full) and
 * sets *all when that was everything offered, or a negative error. */
static long write_some(struct conn *c, bool *all)
{
    struct iovec iov[FLUSH_IOV];
    size_t out_end = c->gate ? c->gate->at : c->out.len;
    uint32_t n_refs = c->gate ? c->gate->ref : c->n_refs;
    size_t offered = out_end;
    int k = 1;
    iov[0] = (struct iovec){c->out.data, out_end};
    if (n_refs)
        k = gather(c, out_end, n_refs, iov, &offered);
    long n = c->t->ops->writev(c->t, iov, k);
    if (n == TERN_EAGAIN)
        n = 0;
    if (n < 0)
        return n;
    *all = (size_t)n == offered;
    worker_stat_add(&c->w->stats.bytes_sent, (uint64_t)n);
    advance(c, (size_t)n);
    return n;
}

void conn_flush(struct conn *c)
{
    if (c->in_dirty) {
        list_remove(&c->dirty_node);
        c->in_dirty = false;
    }
    if (c->state == CONN_CLOSED)
        return;
    if (!sendable(c)) {
        /* Nothing of ours (or only output waiting for the store), but the transport may hold bytes
         * of its own (a WebSocket pong or close frame, TLS records): a zero-length write pushes
         * them out. */
        if (c->t->ops->wants(c->t) & LOOP_WRITE)
            c->t->ops->writev(c->t, NULL, 0);
        update_interest(c);
        return;
    }
    bool all = false;
    long n;
    do {
        n = write_some(c, &all);
    } while (n > 0 && all && sendable(c));
    if (n < 0) {
        drop_gate(c, false);
        c->out.len = 0;
        drop_refs(c);
        conn_close(c, -1);
        return;
    }
    if (c->out.len == 0 && (c->out.cap > OUT_KEEP || c->out.cap <= OUT_FIRST))
        buf_deinit(&c->out); /* a burst is over: do not keep its buffer per connection */
    update_interest(c);
}

static bool keepalive_expired(const struct conn *c, uint64_t now)
{
    /* 1.5 x Keep Alive without a packet [MQTT-3.1.2-24]; 0 = no keep alive. */
    return c->state != CONN_CLOSED && c->keepalive_s &&
           now - c->last_rx_ms >= (uint64_t)c->keepalive_s * 1500u;
}

void conn_arm_keepalive(struct conn *c)
{
    c->last_rx_ms = loop_now_ms(c->w->loop);
}

void conn_keepalive_sweep(struct worker *w)
{
    uint64_t now = loop_now_ms(w->loop);
    struct conn *expired[64];
    bool more;
    do { /* closing may publish wills, which may close others: collect, then close */
        size_t n = 0;
        more = false;
        struct list_node *it, *tmp;
        LIST_FOREACH (it, tmp, &w->conns) {
            struct conn *c = LIST_ENTRY(it, struct conn, node);
            if (c->out.len == 0 && c->out.cap)
                buf_deinit(&c->out); /* kept from a burst, and nothing since */
            if (c->n_refs == 0 && c->refs)
                drop_refs(c);
            if (!keepalive_expired(c, now))
                continue;
            if (n == sizeof expired / sizeof expired[0]) {
                more = true;
                break;
            }
            expired[n++] = c;
        }
        for (size_t i = 0; i < n; i++) {
            struct conn *c = expired[i]; /* freed only at the end of the iteration */
            if (!keepalive_expired(c, now))
                continue;
            log_msg(w->b->log, TLOG_NOTICE, "Client %s from %s has exceeded its keep alive",
                    c->s ? c->s->client_id : "<unknown>", c->peer);
            conn_close(c, MQTT_RC_KEEP_ALIVE_TIMEOUT);
        }
    } while (more);
}

void conn_protocol_error(struct conn *c, uint8_t reason, const char *why)
{
    log_msg(c->w->b->log, TLOG_INFO, "Client %s from %s disconnected: %s (%s)",
            c->s ? c->s->client_id : "<unknown>", c->peer, why, mqtt_reason_name(reason));
    conn_close_why(c, reason, why);
}

void conn_reason_string(const struct conn *c, struct mqtt_props *pr, const char *why)
{
    size_t len = why ? strlen(why) : 0;
    /* The property (3 + len bytes) never takes the packet over the client's Maximum Packet
     * Size [MQTT-3.2.2-19] [MQTT-3.14.2-3]: 16 bytes cover the rest of a CONNACK/DISCONNECT. */
    if (!len || len > 255 || (c->client_max_packet && len + 16 > c->client_max_packet))
        return;
    pr->present |= MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
    pr->reason_string = bytes_of(why, len);
}

/* A decode failure: before CONNACK a CONNECT gets a refusing CONNACK; afterwards a v5 client
 * gets DISCONNECT with the reason [MQTT-4.13.1-1]; a v3 client is just disconnected. */
static void decode_failed(struct conn *c, const struct mqtt_packet *p, uint8_t reason)
{
    if (c->state == CONN_NEW && p->type == MQTT_CONNECT && p->u.connect.version != 0) {
        uint8_t v = p->u.connect.version;
        /* A level we do not speak is answered in 3.1.1's format: return code 1
         * [MQTT-3.1.2-2]; v5 clients understand it (3.1.2.2). */
        if (v != MQTT_V31 && v != MQTT_V311 && v != MQTT_V5)
            v = MQTT_V311;
        handle_connect_refuse(c, v, reason);
        return;
    }
    conn_protocol_error(c, reason, "malformed packet");
}

/* Decodes and dispatches every whole packet in the input buffer. */
/* Decodes and dispatches every whole packet in data[0..len); returns the bytes consumed. */
static size_t decode_loop(struct conn *c, const uint8_t *data, size_t len)
{
    struct broker *b = c->w->b;
    size_t off = 0;
    if (c->in_process)
        return 0;
    c->in_process = true;
    while (c->state == CONN_NEW || c->state == CONN_AUTH || c->state == CONN_ACTIVE) {
        struct mqtt_packet p;
        uint8_t reason = 0;
        memset(&p, 0, sizeof p);
        int n = codec_decode(data + off, len - off, c->version ? c->version : MQTT_V311,
                             b->cfg->max_packet_size, &p, &reason);
        if (n == TERN_EAGAIN)
            break;
        if (n < 0) {
            decode_failed(c, &p, reason);
            break;
        }
        off += (size_t)n;
        worker_stat_add(&c->w->stats.msgs_received, 1);
        handle_packet(c, &p);
    }
    c->in_process = false;
    return off;
}

static void process_input(struct conn *c)
{
    buf_consume(&c->in, decode_loop(c, c->in.data, c->in.len));
}

/* Reads once. A connection with no partial packet pending reads into its worker's scratch
 * buffer and keeps only the bytes of an incomplete packet, so an idle connection holds no
 * input buffer at all. Returns the bytes read, or <= 0 as the transport's read does. */
static long read_once(struct conn *c, size_t *cap)
{
    struct worker *w = c->w;
    if (c->in.len == 0 && c->state != CONN_WAIT_SESSION) {
        *cap = sizeof w->scratch;
        long n = c->t->ops->read(c->t, w->scratch, *cap);
        if (n <= 0)
            return n;
        size_t used = decode_loop(c, w->scratch, (size_t)n);
        if (used < (size_t)n && c->state != CONN_CLOSED &&
            buf_append(&c->in, w->scratch + used, (size_t)n - used) != 0)
            conn_close(c, MQTT_RC_UNSPECIFIED_ERROR);
        return n;
    }
    if (buf_reserve(&c->in, READ_CHUNK) != 0) {
        conn_close(c, MQTT_RC_UNSPECIFIED_ERROR);
        return TERN_ENOMEM;
    }
    *cap = c->in.cap - c->in.len;
    long n = c->t->ops->read(c->t, c->in.data + c->in.len, *cap);
    if (n <= 0)
        return n;
    c->in.len += (size_t)n;
    if (c->state != CONN_WAIT_SESSION)
        process_input(c);
    return n;
}

static void on_readable(struct conn *c)
{
    /* TLS and WebSocket transports can hold bytes the socket will not signal again: read them
     * until the transport says EAGAIN. */
    int max_rounds = c->layered ? 64 : 4;
    for (int rounds = 0; rounds < max_rounds && c->state != CONN_CLOSED; rounds++) {
        size_t cap = 0;
        long n = read_once(c, &cap);
        if (n == TERN_EAGAIN)
            break;
        if (n == TERN_ETLS) {
            log_msg(c->w->b->log, TLOG_NOTICE, "TLS error from %s: %s", c->peer,
                    transport_tls_error(c->t));
            conn_close(c, -1);
            return;
        }
        if (n <= 0) {
            conn_close(c, -1);
            return;
        }
        worker_stat_add(&c->w->stats.bytes_received, (uint64_t)n);
        c->last_rx_ms = loop_now_ms(c->w->loop);
        if (c->in.len == 0 && c->in.cap)
            buf_deinit(&c->in); /* nothing pending: give the memory back */
        if ((size_t)n < cap && !c->layered)
            break;
    }
    /* Output the input produced is flushed at the end of this iteration, which then sets the
     * interest: arming LOOP_WRITE for it here would cost two epoll_ctl per connection. */
    if (c->state != CONN_CLOSED && !c->in_dirty)
        update_interest(c);
}

static void on_io(struct loop *l, int fd, unsigned events, void *ctx)
{
    (void)l;
    (void)fd;
    struct conn *c = ctx;
    if (events & (LOOP_READ | LOOP_ERROR))
        on_readable(c);
    if (c->state == CONN_CLOSED || !(events & LOOP_WRITE))
        return;
    /* A TLS handshake waiting for socket space progresses through read(). */
    if (c->t->ops->wants(c->t) & LOOP_WRITE)
        on_readable(c);
    if (c->state != CONN_CLOSED)
        conn_flush(c);
}

/* Resumes decoding of input that arrived while the session was being handed over. */
void conn_resume_input(struct conn *c)
{
    if (c->state == CONN_ACTIVE && c->in.len)
        process_input(c);
}

void conn_close(struct conn *c, int reason)
{
    conn_close_why(c, reason, NULL);
}

void conn_close_why(struct conn *c, int reason, const char *why)
{
    if (c->state == CONN_CLOSED)
        return;
    struct worker *w = c->w;
    drop_gate(c, true); /* what waited for the store acknowledges nothing now */
    if (c->state == CONN_ACTIVE && c->version == MQTT_V5 && reason >= 0x80) {
        struct mqtt_packet p;
        memset(&p, 0, sizeof p);
        p.type = MQTT_DISCONNECT;
        p.u.disconnect.reason = (uint8_t)reason;
        conn_reason_string(c, &p.u.disconnect.props,
                           why ? why : mqtt_reason_name((unsigned)reason));
        conn_send(c, &p);
    }
    drop_acks(c); /* never acknowledge what we could not make durable */
    /* Best effort: what is already queued (a refusing CONNACK, a DISCONNECT) goes out now. */
    conn_flush(c);
    if (c->state == CONN_CLOSED)
        return; /* the write failed and closed it already */
    if (c->in_dirty) {
        list_remove(&c->dirty_node);
        c->in_dirty = false;
    }
    bool was_active = c->state == CONN_ACTIVE;
    c->state = CONN_CLOSED;
    /* Counted out before the socket closes: a client that sees the close and reconnects at
     * once (maybe to another worker) must find the slot free under max_connections. */
    if (was_active)
        atomic_fetch_sub(&w->b->stats.clients_connected, 1);
    atomic_fetch_sub(&c->lr->connections, 1);
    loop_remove(w->loop, c->fd);
    c->t->ops->close(c->t);
    c->t = NULL;
    if (c->s)
        lifecycle_detach(w, c);
    /* Freed at the end of this loop iteration, so callers up the stack may still look at it. */
    list_remove(&c->node);
    list_insert_tail(&w->graveyard, &c->node);
}

void conn_destroy(struct conn *c)
{
    msg_unref(c->pending_will); /* set only while a hand-over was pending */
    auth_conn_free(c);
    buf_deinit(&c->in);
    drop_gate(c, false);
    buf_deinit(&c->out);
    drop_refs(c);
    for (unsigned i = 0; c->alias_in && i <= c->alias_in_max; i++)
        mem_free(c->alias_in[i]);
    mem_free(c->alias_in);
    mem_free(c->alias_in_len);
    for (unsigned i = 0; i < c->n_alias_out; i++)
        mem_free(c->alias_out[i].topic);
    mem_free(c->alias_out);
    mem_free(c->username);
    mem_free(c);
}

struct tern_bytes conn_mount(const struct conn *c, struct tern_bytes t, char **owned)
{
    const char *mp = c->lr->conf->mount_point;
    *owned = NULL;
    if (!c->mount_len)
        return t;
    size_t mlen = c->mount_len, skip = 0;
    struct tern_bytes group, rest;
    if (codec_topic_shared_split(t, &group, &rest))
        skip = (size_t)(rest.ptr - t.ptr);
    char *s = mem_alloc(t.len + mlen + 1);
    if (!s)
        return bytes_of(NULL, 0);
    memcpy(s, t.ptr, skip);
    memcpy(s + skip, mp, mlen);
    memcpy(s + skip + mlen, t.ptr + skip, t.len - skip);
    s[t.len + mlen] = '\0';
    *owned = s;
    return bytes_of(s, t.len + mlen);
}

size_t conn_unmount_len(const struct conn *c, const char *topic, size_t len)
{
    size_t mlen = c->mount_len; /* cached: this runs per subscriber per message */
    return mlen && mlen < len && memcmp(topic, c->lr->conf->mount_point, mlen) == 0 ? mlen : 0;
}

void conn_send_ack(struct conn *c, uint8_t type, uint16_t packet_id, uint8_t reason)
{
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = type;
    p.flags = type == MQTT_PUBREL ? 0x2 : 0; /* [MQTT-3.6.1-1] */
    p.u.ack.packet_id = packet_id;
    p.u.ack.reason = c->version == MQTT_V5 ? reason : 0;
    conn_send(c, &p);
}

/* A QoS 2 PUBLISH held until its in-flight row was durable (deliver.c send_in_window and
 * deliver_resend, which asks for DUP). */
static void send_held_publish(struct conn *c, uint16_t packet_id, bool dup)
{
    struct inflight *f = c->s ? session_inflight_find(c->s, packet_id) : NULL;
    if (!f || f->state != INFLIGHT_WAIT_PUBREC)
        return;
    int rc = deliver_send_publish(c, &f->d, packet_id, dup);
    if (rc != 0) {
        persist_inflight_del(c->w->b, c->s, packet_id); /* too large for this client */
        session_inflight_remove(c->s, f);
        worker_stat_add(&c->w->stats.inflight, (uint64_t)-1);
        enum drop_reason why = rc == TERN_ETOOBIG ? DROP_TOO_LARGE : DROP_NO_MEMORY;
        worker_stat_add(&c->w->stats.dropped[why], 1);
    }
}

/* Opens the gate; discard also throws away the output behind it. */
static void drop_gate(struct conn *c, bool discard)
{
    struct out_gate *g = c->gate;
    if (!g)
        return;
    c->gate = NULL;
    if (discard && g->at <= c->out.len && g->ref <= c->n_refs) {
        for (uint32_t i = g->ref; i < c->n_refs; i++) {
            c->ref_bytes -= c->refs[i].len;
            msg_unref(c->refs[i].m);
        }
        c->n_refs = g->ref;
        c->out.len = g->at;
    }
    mem_free(g);
}

/* Sends what conn_ack was given, now or when the store allowed it: an acknowledgement, or for
 * MQTT_PUBLISH the held QoS 2 PUBLISH (reason then carries DUP). A PUBREL's reason is the DUP
 * marker of deliver_resend, never a reason code. */
static void send_pending(struct conn *c, uint8_t type, uint16_t packet_id, uint8_t reason)
{
    if (type == MQTT_PUBLISH)
        send_held_publish(c, packet_id, reason != 0);
    else
        conn_send_ack(c, type, packet_id, type == MQTT_PUBREL ? 0 : reason);
}

static void drop_acks(struct conn *c)
{
    if (list_linked(&c->ack_node))
        list_remove(&c->ack_node);
    mem_free(c->acks);
    c->acks = NULL;
    c->ack_head = c->ack_len = c->ack_cap = 0;
}

/* Sends queued acknowledgements up to bound (persist_ack_bound), and opens the gate once its
 * seq is within it; true when neither is left. */
static bool release(struct conn *c, uint64_t bound)
{
    if (c->gate && c->gate->seq <= bound) {
        drop_gate(c, false);
        conn_mark_dirty(c);
    }
    while (c->ack_len) {
        struct pending_ack *a = &c->acks[c->ack_head];
        if (a->seq > bound)
            return false;
        send_pending(c, a->type, a->packet_id, a->reason);
        c->ack_head = (c->ack_head + 1) % c->ack_cap;
        c->ack_len--;
    }
    return c->gate == NULL;
}

void conn_ack(struct conn *c, uint8_t type, uint16_t packet_id, uint8_t reason, uint64_t seq)
{
    struct broker *b = c->w->b;
    if (c->ack_len == 0 && seq <= persist_ack_bound(b)) {
        send_pending(c, type, packet_id, reason);
        return;
    }
    if (c->ack_len == c->ack_cap) {
        size_t ncap = c->ack_cap ? c->ack_cap * 2 : 16;
        struct pending_ack *q = mem_alloc(ncap * sizeof *q);
        if (!q) {
            conn_close(c, MQTT_RC_UNSPECIFIED_ERROR);
            return;
        }
        for (size_t i = 0; i < c->ack_len; i++)
            q[i] = c->acks[(c->ack_head + i) % c->ack_cap];
        mem_free(c->acks);
        c->acks = q;
        c->ack_cap = ncap;
        c->ack_head = 0;
    }
    struct pending_ack *a = &c->acks[(c->ack_head + c->ack_len) % c->ack_cap];
    a->seq = seq;
    a->packet_id = packet_id;
    a->type = type;
    a->reason = reason;
    c->ack_len++;
    wait_for_store(c);
}

/* c has acknowledgements or a gate waiting: have conn_release_acks look at it. */
static void wait_for_store(struct conn *c)
{
    if (!list_linked(&c->ack_node))
        list_insert_tail(&c->w->ack_conns, &c->ack_node);
    /* Announce before re-checking: the store thread reads the flag after publishing a new
     * durable seq, so either it wakes us or we see its seq here. */
    atomic_store(&c->w->acks_waiting, true);
    if (release(c, persist_ack_bound(c->w->b)))
        list_remove(&c->ack_node);
}

void conn_hold_output(struct conn *c, uint64_t seq)
{
    struct broker *b = c->w->b;
    if (seq == 0 || c->state == CONN_CLOSED || seq <= persist_ack_bound(b))
        return;
    if (c->gate) { /* the earlier gate holds everything since: wait for the later seq too */
        if (seq > c->gate->seq)
            c->gate->seq = seq;
        return;
    }
    c->gate = mem_alloc(sizeof *c->gate);
    if (!c->gate) {
        conn_close(c, MQTT_RC_UNSPECIFIED_ERROR);
        return;
    }
    *c->gate = (struct out_gate){.seq = seq, .at = c->out.len, .ref = c->n_refs};
    wait_for_store(c);
}

void conn_release_acks(struct worker *w)
{
    uint64_t bound = persist_ack_bound(w->b);
    /* REST publishes wait for the store too (ws_listener_defer_durable). */
    bool http_waiting = ws_listener_release_durable(w, bound);
    if (list_empty(&w->ack_conns)) {
        if (!http_waiting && atomic_load_explicit(&w->acks_waiting, memory_order_relaxed))
            atomic_store(&w->acks_waiting, false);
        return;
    }
    struct list_node *it, *tmp;
    LIST_FOREACH (it, tmp, &w->ack_conns) {
        struct conn *c = LIST_ENTRY(it, struct conn, ack_node);
        if (release(c, bound))
            list_remove(&c->ack_node);
    }
    if (list_empty(&w->ack_conns) && !http_waiting)
        atomic_store(&w->acks_waiting, false);
}
