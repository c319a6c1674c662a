/* Packet handling and publishing for the load generator (see bench_flow.h). The receive path
 * parses PUBLISH by hand and reads the payload stamp; the send path copies a pre-encoded
 * template and patches packet id, stamp and topic digits: no allocation per message. */
#include "bench_flow.h"

#include <stdio.h>
#include <string.h>

#include "bench_engine.h"
#include "bench_stamp.h"
#include "codec.h"

#define OUT_HIGH_WATER (1u << 20)
#define STALL_NS       200000000ull

enum { CS_CONNACK_WAIT = 2, CS_READY = 3 };

int bench_flow_queue(struct bench_engine *e, struct bench_conn *c, const void *data, size_t len)
{
    if (buf_append(&c->out, data, len) != 0)
        return TERN_ENOMEM;
    if (!c->dirty) {
        c->dirty = true;
        e->dirty[e->ndirty++] = (uint32_t)(c - e->conns);
    }
    return 0;
}

static int ack(struct bench_engine *e, struct bench_conn *c, uint8_t type, uint16_t pid)
{
    uint8_t a[4];
    bench_wire_ack(a, type, pid);
    return bench_flow_queue(e, c, a, sizeof a);
}

static void account(struct bench_engine *e, const struct bench_conn *c, const uint8_t *payload,
                    size_t len, uint64_t now_ns)
{
    struct bench_stamp s;
    e->st.received++;
    if (bench_stamp_get(payload, len, &s) != 0 || s.pub >= e->npubs)
        return;
    struct bench_pub *p = &e->pubs[s.pub];
    p->deliveries++;
    p->progress_ns = now_ns;
    if (e->last_seq && c->sub_slot != BENCH_NONE) {
        uint32_t *last = &e->last_seq[(size_t)c->sub_slot * e->npubs + s.pub];
        if (s.seq <= *last) {
            e->st.dups++;
            return;
        }
        if (s.seq > *last + 1)
            e->st.gaps++;
        *last = s.seq;
    }
    if (e->measuring) {
        e->st.win_received++;
        bench_hist_record(&e->st.hist, now_ns > s.sent_ns ? now_ns - s.sent_ns : 0);
    }
}

static int on_publish(struct bench_engine *e, struct bench_conn *c, const struct bench_frame *f,
                      uint64_t now_ns)
{
    struct bench_rx_publish rx;
    if (bench_wire_publish(f, e->o->version, &rx) != 0) {
        snprintf(e->err, sizeof e->err, "malformed PUBLISH from the broker");
        return TERN_EPROTO;
    }
    /* A QoS 2 duplicate before PUBREL would be a broker bug; account() counts it. */
    account(e, c, rx.payload, rx.payload_len, now_ns);
    if (rx.qos == 1)
        return ack(e, c, MQTT_PUBACK, rx.packet_id);
    if (rx.qos == 2)
        return ack(e, c, MQTT_PUBREC, rx.packet_id);
    return 0;
}

static int on_connack(struct bench_engine *e, struct bench_conn *c, const uint8_t *pkt, size_t len)
{
    struct mqtt_packet p;
    uint8_t reason = 0;
    if (codec_decode(pkt, len, e->o->version, MQTT_MAX_PACKET_SIZE, &p, &reason) < 0 ||
        c->state != CS_CONNACK_WAIT) {
        snprintf(e->err, sizeof e->err, "bad CONNACK from the broker");
        return TERN_EPROTO;
    }
    if (p.u.connack.reason != 0) {
        e->st.refused++;
        snprintf(e->err, sizeof e->err, "broker refused the connection: code 0x%02x",
                 p.u.connack.reason);
        return TERN_EPROTO;
    }
    if (p.u.connack.props.present & MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM) &&
        p.u.connack.props.receive_maximum < e->receive_max)
        e->receive_max = p.u.connack.props.receive_maximum;
    c->state = CS_READY;
    e->connecting--;
    e->ready++;
    return 0;
}

static void on_suback(struct bench_engine *e, struct bench_conn *c, const struct bench_frame *f)
{
    /* Return codes follow the packet id (and, in v5, the properties). */
    size_t off = 2;
    if (e->o->version == MQTT_V5 && f->body_len > 2) {
        uint32_t plen = 0;
        int n = codec_varint_decode(f->body + 2, f->body_len - 2, &plen);
        off += n > 0 ? (size_t)n + plen : f->body_len;
    }
    for (size_t i = off; i < f->body_len; i++)
        if (f->body[i] >= 0x80)
            e->st.suback_failures++;
    if (c->pending_subacks)
        c->pending_subacks--;
}

static void on_ack_done(struct bench_engine *e, struct bench_conn *c, uint64_t now_ns)
{
    if (c->pub == BENCH_NONE)
        return;
    struct bench_pub *p = &e->pubs[c->pub];
    if (p->unacked)
        p->unacked--;
    p->progress_ns = now_ns;
}

static int dispatch(struct bench_engine *e, struct bench_conn *c, const uint8_t *pkt, size_t len,
                    const struct bench_frame *f, uint64_t now_ns)
{
    uint16_t pid = f->body_len >= 2 ? (uint16_t)(f->body[0] << 8 | f->body[1]) : 0;
    switch (f->type) {
    case MQTT_PUBLISH:
        return on_publish(e, c, f, now_ns);
    case MQTT_PUBACK:
    case MQTT_PUBCOMP:
        on_ack_done(e, c, now_ns);
        return 0;
    case MQTT_PUBREC:
        return ack(e, c, MQTT_PUBREL, pid);
    case MQTT_PUBREL:
        return ack(e, c, MQTT_PUBCOMP, pid);
    case MQTT_CONNACK:
        return on_connack(e, c, pkt, len);
    case MQTT_SUBACK:
        on_suback(e, c, f);
        return 0;
    case MQTT_PINGRESP:
        if (c->pending_pings)
            c->pending_pings--;
        return 0;
    case MQTT_DISCONNECT:
        snprintf(e->err, sizeof e->err, "broker sent DISCONNECT (reason 0x%02x)",
                 f->body_len ? f->body[0] : 0);
        return TERN_EPROTO;
    default:
        snprintf(e->err, sizeof e->err, "unexpected packet type %u from the broker", f->type);
        return TERN_EPROTO;
    }
}

int bench_flow_input(struct bench_engine *e, struct bench_conn *c, const uint8_t *data, size_t len,
                     uint64_t now_ns)
{
    size_t off = 0;
    while (off < len) {
        struct bench_frame f;
        int n = bench_wire_frame(data + off, len - off, &f);
        if (n == TERN_EAGAIN)
            break;
        if (n < 0) {
            snprintf(e->err, sizeof e->err, "malformed packet from the broker");
            return TERN_EPROTO;
        }
        int rc = dispatch(e, c, data + off, (size_t)n, &f, now_ns);
        if (rc != 0)
            return rc;
        off += (size_t)n;
    }
    return (int)off;
}

/* Messages publisher p may send now in closed loop: its window minus what is in flight, where
 * in flight is the larger of unacknowledged PUBLISHes and messages not yet delivered to every
 * expected subscriber. A window with no progress for STALL_NS is written off (QoS 0 loss). */
static uint32_t closed_credit(struct bench_engine *e, struct bench_pub *p, uint64_t now_ns)
{
    uint32_t window = e->o->window;
    int64_t inflight = 0;
    if (e->o->qos && e->receive_max < window)
        window = e->receive_max;
    /* QoS 0 with no subscriber of ours (retained): only the socket pushes back. */
    if (!p->fanout && !e->o->qos)
        return 65535;
    if (p->fanout)
        inflight = (int64_t)(p->sent - p->written_off - p->deliveries / p->fanout);
    if (e->o->qos && (int64_t)p->unacked > inflight)
        inflight = p->unacked;
    if (inflight < (int64_t)window)
        return (uint32_t)((int64_t)window - (inflight < 0 ? 0 : inflight));
    if (now_ns - p->progress_ns > STALL_NS && p->fanout) {
        p->written_off = p->sent - p->deliveries / p->fanout;
        p->progress_ns = now_ns;
        e->st.stalls++;
    }
    return 0;
}

static uint32_t open_credit(struct bench_engine *e, struct bench_pub *p, uint64_t now_ns)
{
    uint64_t start = e->open_start_ns + p->offset_ns;
    if (now_ns < start)
        return 0;
    uint64_t due = (uint64_t)((double)(now_ns - start) * e->rate_per_pub / 1e9) + 1;
    if (due <= p->sent)
        return 0;
    uint64_t n = due - p->sent;
    if (e->o->qos) {
        uint32_t room = p->unacked < e->receive_max ? e->receive_max - p->unacked : 0;
        if (n > room)
            n = room;
    }
    return n > 65535 ? 65535 : (uint32_t)n;
}

static uint32_t next_topic(struct bench_pub *p)
{
    if (p->sequential)
        return (uint32_t)(p->sent % p->topic_range);
    /* xorshift64: a cheap uniform pick among the subscribed topics. */
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    return (uint32_t)(p->rng % p->topic_range);
}

static int send_batch(struct bench_engine *e, struct bench_pub *p, uint32_t n, uint64_t now_ns)
{
    struct bench_conn *c = &e->conns[p->conn];
    const struct bench_tmpl *t = &p->tmpl;
    if (p->limit && p->sent + n > p->limit)
        n = (uint32_t)(p->limit - p->sent);
    if (n == 0)
        return 0;
    if (buf_reserve(&c->out, (size_t)n * t->len) != 0)
        return TERN_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *dst = c->out.data + c->out.len;
        struct bench_stamp s = {now_ns, (uint32_t)(p - e->pubs), ++p->seq};
        memcpy(dst, t->data, t->len);
        bench_stamp_put(dst + t->stamp_off, &s);
        if (t->pid_off) {
            if (++p->next_pid == 0)
                p->next_pid = 1;
            dst[t->pid_off] = (uint8_t)(p->next_pid >> 8);
            dst[t->pid_off + 1] = (uint8_t)p->next_pid;
            p->unacked++;
        }
        if (p->topic_range)
            bench_wire_tmpl_digits(t, dst, next_topic(p));
        c->out.len += t->len;
        p->sent++;
    }
    e->st.sent += n;
    if (e->measuring)
        e->st.win_sent += n;
    return bench_flow_queue(e, c, NULL, 0);
}

int bench_flow_pump(struct bench_engine *e, uint64_t now_ns)
{
    int total = 0;
    if (!e->publishing)
        return 0;
    for (uint32_t i = 0; i < e->npubs; i++) {
        struct bench_pub *p = &e->pubs[i];
        struct bench_conn *c = &e->conns[p->conn];
        if (c->state != CS_READY || c->out.len > OUT_HIGH_WATER)
            continue;
        uint32_t n = e->rate_per_pub > 0 ? open_credit(e, p, now_ns) : closed_credit(e, p, now_ns);
        if (n && send_batch(e, p, n, now_ns) != 0)
            return TERN_ENOMEM;
        total += n > 0;
    }
    return total;
}

uint64_t bench_flow_next_due(const struct bench_engine *e)
{
    uint64_t best = 0;
    if (!e->publishing || e->rate_per_pub <= 0)
        return 0;
    for (uint32_t i = 0; i < e->npubs; i++) {
        const struct bench_pub *p = &e->pubs[i];
        if (p->limit && p->sent >= p->limit)
            continue;
        uint64_t t =
            e->open_start_ns + p->offset_ns + (uint64_t)((double)p->sent * 1e9 / e->rate_per_pub);
        if (best == 0 || t < best)
            best = t;
    }
    return best;
}
