/* Routing and delivery. A message is matched once against the shared tree; each matching
 * session gets a delivery, merged across overlapping subscriptions (highest QoS, every
 * subscription identifier [MQTT-3.3.4-2], [MQTT-3.3.4-3]). Sessions owned by another worker get
 * it through that worker's inbox. The PUBLISH encoder here is written by hand rather than with
 * codec_encode: it is the hot path, writes straight into the output buffer, and copies the
 * message's pre-encoded forwarded properties as one block; a large payload is not copied but
 * queued by reference (conn_queue_ref). One fan-out takes the message's references in bulk and
 * borrows the sessions this worker owns instead of referencing each. */
#include "deliver.h"

#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "broker.h"
#include "codec.h"
#include "config.h"
#include "conn.h"
#include "loop.h"
#include "mem.h"
#include "msg.h"
#include "persist.h"
#include "retain.h"
#include "security.h"
#include "session.h"
#include "topic_tree.h"
#include "worker.h"

static bool grow_matches(struct worker *w)
{
    size_t ncap = w->cap_matches ? w->cap_matches * 2 : 64;
    struct match *m = mem_realloc(w->matches, ncap * sizeof *m);
    if (!m)
        return false;
    w->matches = m;
    w->cap_matches = ncap;
    return true;
}

/* Runs inside the tree's RCU read section, where every subscriber is alive. A session this
 * worker owns is borrowed: only this thread could end it (see deliver_note_ended). Others get
 * a reference, which the work item carries on. */
static void collect(void *subscriber, uint8_t options, uint32_t sub_id, bool shared, void *ctx)
{
    struct worker *w = ctx;
    struct session *s = subscriber;
    if (w->n_matches == w->cap_matches && !grow_matches(w))
        return; /* dropped for this subscriber; counted by the caller as not routed */
    struct match *x = &w->matches[w->n_matches++];
    x->held = session_owner(s) != w;
    x->s = x->held ? session_ref(s) : s;
    x->options = options;
    x->shared = shared;
    x->sub_id = sub_id;
    x->head = true;
    x->next = 0;
}

static size_t slot_of(const struct session *s, size_t mask)
{
    uint64_t h = (uint64_t)(uintptr_t)s * 0x9E3779B97F4A7C15u;
    return (size_t)(h >> 32) & mask;
}

/* Chains the matches of one session (overlapping subscriptions) behind its first one, keeping
 * the tree's order: a pointer hash, O(n), instead of sorting. Without memory for the hash it
 * falls back to comparing every pair. */
static void link_sessions(struct worker *w, struct match *ms, size_t n)
{
    size_t need = 16;
    while (need < 2 * n)
        need *= 2;
    if (need > w->cap_match_slots) {
        struct match_slot *t = mem_calloc(need, sizeof *t);
        if (t) {
            mem_free(w->match_slots);
            w->match_slots = t;
            w->cap_match_slots = need;
        }
    }
    if (w->cap_match_slots >= need) {
        size_t mask = w->cap_match_slots - 1;
        uint32_t gen = ++w->match_gen;
        for (size_t i = 0; i < n; i++) {
            size_t k = slot_of(ms[i].s, mask);
            struct match_slot *t = w->match_slots;
            while (t[k].gen == gen && t[k].s != ms[i].s)
                k = (k + 1) & mask;
            if (t[k].gen != gen) {
                t[k] = (struct match_slot){
                    .s = ms[i].s, .gen = gen, .head = (uint32_t)i, .tail = (uint32_t)i};
                continue;
            }
            ms[i].head = false;
            ms[t[k].tail].next = (uint32_t)i + 1;
            t[k].tail = (uint32_t)i;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t last = i;
        for (size_t j = i + 1; ms[i].head && j < n; j++) {
            if (ms[j].head && ms[j].s == ms[i].s) {
                ms[j].head = false;
                ms[last].next = (uint32_t)j + 1;
                last = j;
            }
        }
    }
}

/* Merges the chain of matches starting at ms[i] (same session) into one delivery. Returns false
 * when none applies. With upgrade (upgrade_outgoing_qos) the subscription's QoS is used even
 * above the message's, as Mosquitto does against the spec's [MQTT-3.8.4-8]. */
static bool merge(const struct msg *m, const struct match *ms, size_t i, bool upgrade,
                  struct delivery *d)
{
    memset(d, 0, sizeof *d);
    uint32_t ids[64];
    size_t n_ids = 0;
    bool any = false, only_shared = true;
    for (const struct match *x = &ms[i]; x; x = x->next ? &ms[x->next - 1] : NULL) {
        /* No Local: not to the connection that published it [MQTT-3.8.3-3]. */
        if ((x->options & MQTT_SUBOPT_NO_LOCAL) && x->s->id == m->origin_id)
            continue;
        uint8_t q = x->options & MQTT_SUBOPT_QOS_MASK;
        if (!upgrade && q > m->qos)
            q = m->qos;
        if (!any || q > d->qos)
            d->qos = q;
        if (x->options & MQTT_SUBOPT_RAP)
            d->retain = m->retain; /* [MQTT-3.3.1-12], [MQTT-3.3.1-13] */
        if (x->sub_id && n_ids < sizeof ids / sizeof ids[0])
            ids[n_ids++] = x->sub_id;
        only_shared = only_shared && x->shared;
        any = true;
    }
    if (!any)
        return false;
    d->shared = only_shared;
    if (n_ids == 1) {
        d->sub_id = ids[0];
        d->n_sub_ids = 1;
    } else if (n_ids > 1) {
        d->sub_ids = mem_dup(ids, n_ids * sizeof ids[0]);
        d->n_sub_ids = d->sub_ids ? (uint16_t)n_ids : 0;
    }
    return true;
}

void deliver_note_ended(struct worker *w, struct session *s)
{
    if (!w->routing)
        return;
    if (w->n_ended < WORKER_ENDED_MAX)
        w->ended[w->n_ended++] = s;
    else
        w->ended_overflow = true;
}

/* Whether a borrowed session may have been freed since it was matched. */
static bool ended_meanwhile(const struct worker *w, const struct session *s)
{
    if (w->ended_overflow)
        return true;
    for (size_t i = 0; i < w->n_ended; i++)
        if (w->ended[i] == s)
            return true;
    return false;
}

/* Message references for one fan-out, taken from the atomic counter in bulk. */
struct fanout {
    struct msg *m;
    uint32_t spare; /* taken and not yet given to a delivery */
    uint32_t left;  /* sessions not yet routed: the most that can still need one */
    bool upgrade;   /* upgrade_outgoing_qos, read once per fan-out */
};

static struct msg *fanout_ref(struct fanout *f)
{
    if (f->spare == 0) {
        msg_ref_n(f->m, f->left);
        f->spare = f->left;
    }
    f->spare--;
    return f->m;
}

static void deliver_qos0_borrowed(struct worker *w, struct session *s, struct delivery *d);

/* Routes m to the session of the match chain at ms[i]; 1 when it was routed. */
static size_t route_one(struct worker *w, struct fanout *f, struct match *ms, size_t i)
{
    struct session *s = ms[i].s;
    struct msg *m = f->m;
    if (!ms[i].held && (w->n_ended || w->ended_overflow) && ended_meanwhile(w, s)) {
        worker_stat_add(&w->stats.dropped[DROP_SESSION_ENDED], 1);
        return 0;
    }
    struct delivery d;
    if (!merge(m, ms, i, f->upgrade, &d))
        return 0;
    d.m = m; /* borrowed until it is stored or handed on */
    /* A persistent session's copy is in the store before the publisher hears back: written
     * here, by the publisher's worker, whoever owns the session. */
    uint64_t seq = persist_queue(w->b, s, &d);
    if (seq > w->pub_seq)
        w->pub_seq = seq;
    struct worker *owner = session_owner(s);
    if (owner == w && d.qos == 0 && (s->conn || !w->b->cfg->queue_qos0_messages) &&
        !worker_settle_holds(s)) {
        deliver_qos0_borrowed(w, s, &d);
        return 1;
    }
    d.m = fanout_ref(f);
    if (owner == w) {
        deliver_to_session(w, s, &d);
        return 1;
    }
    struct work_item it = {.kind = WORK_DELIVER, .s = ms[i].held ? s : session_ref(s), .d = d};
    ms[i].held = false; /* the work item has the reference now */
    worker_post(w, owner, &it);
    return 1;
}

static size_t route(struct worker *w, struct msg *m)
{
    w->n_matches = 0;
    topic_tree_match(w->b->tree, msg_topic(m), collect, w);
    /* Taken off the worker while in use: a delivery may re-enter route (a connection closed
     * for want of memory publishes its will). */
    struct match *ms = w->matches;
    size_t n = w->n_matches, cap = w->cap_matches, routed = 0;
    w->matches = NULL;
    w->n_matches = w->cap_matches = 0;
    link_sessions(w, ms, n);
    struct fanout f = {.m = m, .spare = 0, .left = 0, .upgrade = w->b->cfg->upgrade_outgoing_qos};
    for (size_t i = 0; i < n; i++)
        f.left += ms[i].head;
    w->routing++;
    for (size_t i = 0; i < n; i++) {
        if (ms[i].head) {
            routed += route_one(w, &f, ms, i);
            f.left--;
        }
    }
    if (--w->routing == 0) {
        w->n_ended = 0;
        w->ended_overflow = false;
    }
    msg_unref_n(m, f.spare); /* never the last: the caller holds one */
    for (size_t i = 0; i < n; i++)
        if (ms[i].held)
            session_unref(ms[i].s);
    mem_free(w->matches); /* a nested route's */
    w->matches = ms;
    w->cap_matches = cap;
    w->n_matches = 0;
    return routed;
}

size_t deliver_publish(struct worker *w, struct msg *m)
{
    struct broker *b = w->b;
    if (m->retain && b->cfg->retain_available) {
        /* An empty payload deletes the retained message [MQTT-3.3.1-10]; it is still routed
         * to current subscribers. */
        int rc = retain_set(b->retain, m);
        if (rc == TERN_EFULL) {
            worker_stat_add(&w->stats.dropped[DROP_RETAIN_FULL], 1);
            log_msg(b->log, TLOG_WARN, "Retained message on %s dropped: retained store full",
                    m->topic);
        }
        if (rc == 0) {
            uint64_t seq = persist_retain(b, m);
            if (seq > w->pub_seq)
                w->pub_seq = seq;
        }
    }
    return route(w, m);
}

/* Output a connection may hold before QoS 0 messages to it are dropped (QoS 1/2 are bounded by
 * the in-flight window and the session queue instead). */
#define OUT_LIMIT (16u * 1024u * 1024u)

static bool online(const struct session *s)
{
    const struct conn *c = s->conn;
    return c && c->state == CONN_ACTIVE;
}

/* Whether one more QoS 1/2 message may go out to s now. The window is the client's Receive
 * Maximum (v5) or max_inflight_messages (v3); with max_inflight_bytes the payload bytes in flight
 * must also be below it (so one message of any size may always be in flight, as in Mosquitto). */
static bool may_send(const struct worker *w, const struct session *s)
{
    if (!online(s))
        return false;
    const struct config *cfg = w->b->cfg;
    const struct conn *c = s->conn;
    size_t win = cfg->max_inflight_messages ? cfg->max_inflight_messages : 65535;
    if (c->version == MQTT_V5 && c->client_receive_max < win)
        win = c->client_receive_max;
    if (s->n_inflight >= win)
        return false;
    return cfg->max_inflight_bytes == 0 || s->inflight_bytes < cfg->max_inflight_bytes;
}

/* QoS 0 for an offline session is queued with queue_qos0_messages (Mosquitto): the session is
 * persistent, since a clean one does not outlive its connection. */
static bool queue_qos0(const struct worker *w, const struct session *s)
{
    return !online(s) && w->b->cfg->queue_qos0_messages;
}

/* The subscriber's read rights: its JWT claims when it logged in with them, else the ACL. */
static bool may_read(const struct session *s, const struct msg *m)
{
    if (s->claims) {
        for (size_t i = 0; i < s->n_read_filters; i++)
            if (codec_topic_matches(bytes_str(s->read_filters[i]), msg_topic(m)))
                return true;
        return false;
    }
    /* A session restored from the store has no listener until its client is back. */
    return !s->listener ||
           security_acl(s->listener, s->client_id, s->username, msg_topic(m), ACL_READ);
}

/* Why deliver_send_publish's rc kept a message from a subscriber. */
static enum drop_reason send_failure(int rc)
{
    /* Over the client's Maximum Packet Size: discarded as if sent [MQTT-3.1.2-25]. */
    return rc == TERN_ETOOBIG ? DROP_TOO_LARGE : DROP_NO_MEMORY;
}

/* Drops d, and its queue entry in the store, counting it under why. */
static void drop(struct worker *w, struct session *s, struct delivery *d, enum drop_reason why)
{
    worker_stat_add(&w->stats.dropped[why], 1);
    persist_unqueue(w->b, s, d);
    delivery_clear(d);
}

/* Sends d with a new packet id into the window. Takes over d. */
static void send_in_window(struct worker *w, struct session *s, struct delivery *d)
{
    /* Checked again here: a session restored from the store had no listener (and so no ACL)
     * when the message was routed to it. */
    if (!may_read(s, d->m)) {
        drop(w, s, d, DROP_ACL_DENIED);
        return;
    }
    uint16_t pid = session_next_packet_id(s);
    if (pid == 0) {
        drop(w, s, d, DROP_NO_PACKET_ID);
        return;
    }
    uint8_t qos = d->qos;
    uint8_t state = qos == 1 ? INFLIGHT_WAIT_PUBACK : INFLIGHT_WAIT_PUBREC;
    if (session_inflight_add(s, pid, state, d) != 0) {
        drop(w, s, d, DROP_NO_MEMORY);
        return;
    }
    worker_stat_add(&w->stats.inflight, 1);
    struct inflight *f = &s->inflight[s->n_inflight - 1];
    uint64_t seq = persist_inflight_enter(w->b, s, f);
    /* QoS 2 to a persistent session goes out only once its packet id is on disk: after a crash
     * the broker must not hand out an id the client still holds, or the client would take the
     * new message for a duplicate. It waits in the connection's ordered queue. */
    if (qos == 2 && seq && persist_acks_wait(w->b)) {
        conn_ack(s->conn, MQTT_PUBLISH, pid, 0, seq);
        return;
    }
    int rc = deliver_send_publish(s->conn, &f->d, pid, false);
    if (rc != 0) {
        worker_stat_add(&w->stats.dropped[send_failure(rc)], 1);
        worker_stat_add(&w->stats.inflight, (uint64_t)-1);
        persist_inflight_del(w->b, s, pid);
        session_inflight_remove(s, f);
    }
}

/* Why d may not go to s at all (the session ended, the message expired, the subscriber may not
 * read it), or -1 when it may. */
static int refusal(struct worker *w, struct session *s, const struct delivery *d)
{
    if (s->ended)
        return DROP_SESSION_ENDED;
    if (msg_expired(d->m, loop_now_ms(w->loop)))
        return DROP_EXPIRED;
    /* Every delivery, retained ones included, passes the subscriber's read ACL. */
    if (s->listener && !may_read(s, d->m))
        return DROP_ACL_DENIED;
    return -1;
}

/* QoS 0 is never queued for an offline client (Mosquitto's queue_qos0_messages false), nor
 * piled up without bound for a client that does not read. Does not clear d. */
static void send_qos0(struct worker *w, struct session *s, const struct delivery *d)
{
    int rc = 0;
    if (!online(s))
        worker_stat_add(&w->stats.dropped[DROP_QOS0_OFFLINE], 1);
    else if (conn_out_pending(s->conn) > OUT_LIMIT)
        worker_stat_add(&w->stats.dropped[DROP_SLOW_CONSUMER], 1);
    else if ((rc = deliver_send_publish(s->conn, d, 0, false)) != 0)
        worker_stat_add(&w->stats.dropped[send_failure(rc)], 1);
}

/* QoS 0 from route to a session this worker owns: d->m is borrowed (the publisher holds it for
 * the whole fan-out; a payload sent without copying takes its own reference). */
static void deliver_qos0_borrowed(struct worker *w, struct session *s, struct delivery *d)
{
    int why = refusal(w, s, d);
    if (why >= 0)
        worker_stat_add(&w->stats.dropped[why], 1);
    else
        send_qos0(w, s, d);
    d->m = NULL;
    delivery_clear(d);
}

void deliver_to_session(struct worker *w, struct session *s, struct delivery *d)
{
    if (worker_settle_holds(s)) {
        worker_settle_hold(w, s, d);
        return;
    }
    deliver_to_session_now(w, s, d);
}

void deliver_to_session_now(struct worker *w, struct session *s, struct delivery *d)
{
    struct broker *b = w->b;
    int why = refusal(w, s, d);
    if (why >= 0) {
        drop(w, s, d, (enum drop_reason)why);
        return;
    }
    if (d->qos == 0 && !queue_qos0(w, s)) {
        send_qos0(w, s, d);
        delivery_clear(d);
        return;
    }
    if (d->qos > 0 && s->q_len == 0 && may_send(w, s)) {
        send_in_window(w, s, d);
        return;
    }
    if (!d->stored)
        persist_queue(b, s, d); /* e.g. a retained message for a new subscription */
    int rc = session_queue_push(s, d, b->cfg->max_queued_messages, b->cfg->max_queued_bytes);
    if (rc != 0) {
        drop(w, s, d, rc == TERN_EFULL ? DROP_QUEUE_FULL : DROP_NO_MEMORY);
        return;
    }
    worker_stat_add(&w->stats.queued, 1);
    deliver_pump(w, s);
}

void deliver_pump(struct worker *w, struct session *s)
{
    uint64_t now = loop_now_ms(w->loop);
    while (s->q_len && (may_send(w, s) || (online(s) && s->queue[s->q_head].qos == 0))) {
        struct delivery d;
        if (!session_queue_pop(s, &d))
            return;
        worker_stat_add(&w->stats.queued, (uint64_t)-1);
        if (msg_expired(d.m, now)) {
            drop(w, s, &d, DROP_EXPIRED);
            continue;
        }
        if (d.qos == 0) { /* queued while offline (queue_qos0_messages) */
            send_qos0(w, s, &d);
            delivery_clear(&d);
            continue;
        }
        send_in_window(w, s, &d);
    }
}

void deliver_resend(struct worker *w, struct session *s)
{
    struct conn *c = s->conn;
    for (size_t i = 0; i < s->n_inflight; i++) {
        struct inflight *f = &s->inflight[i];
        /* QoS 2 state of a persistent session goes out again only once it is on disk (it may
         * have been held, unsent, on the previous connection): rewriting the row gives a seq
         * to wait for. Otherwise a crash could restore it as still queued, and the client
         * would get it again under a new packet id. */
        uint64_t seq = f->d.qos == 2 && persist_acks_wait(w->b) ? persist_inflight(w->b, s, f) : 0;
        if (seq) {
            conn_ack(c, f->state == INFLIGHT_WAIT_PUBCOMP ? MQTT_PUBREL : MQTT_PUBLISH,
                     f->packet_id, 1 /* DUP */, seq);
            continue;
        }
        if (f->state == INFLIGHT_WAIT_PUBCOMP) {
            struct mqtt_packet p;
            memset(&p, 0, sizeof p);
            p.type = MQTT_PUBREL;
            p.flags = 0x2;
            p.u.ack.packet_id = f->packet_id;
            conn_send(c, &p);
        } else {
            deliver_send_publish(c, &f->d, f->packet_id, true);
        }
    }
}

/* Outbound topic aliases: the first (up to 32) distinct topics sent to a client that allows
 * aliases get one each; later messages on them leave the topic out [MQTT-3.3.2-12]. */
#define MAX_ALIASES_OUT 32

/* The alias for m's topic towards c: an existing one (*known set: the topic can be left out),
 * a free one to assign with alias_commit() once the packet is sure to go, or 0. */
static uint16_t alias_for(const struct conn *c, const struct msg *m, bool *known)
{
    *known = false;
    uint16_t cap = c->client_alias_max < MAX_ALIASES_OUT ? c->client_alias_max : MAX_ALIASES_OUT;
    if (c->version != MQTT_V5 || cap == 0)
        return 0;
    for (uint16_t i = 0; i < c->n_alias_out; i++) {
        const struct alias_out *a = &c->alias_out[i];
        if (a->len == m->topic_len && memcmp(a->topic, m->topic, a->len) == 0) {
            *known = true;
            return (uint16_t)(i + 1);
        }
    }
    return c->n_alias_out < cap ? (uint16_t)(c->n_alias_out + 1) : 0;
}

/* Records a newly assigned alias; false (and no alias may be sent) on OOM. */
static bool alias_commit(struct conn *c, const struct msg *m)
{
    if (!c->alias_out) {
        c->alias_out = mem_calloc(MAX_ALIASES_OUT, sizeof *c->alias_out);
        if (!c->alias_out)
            return false;
    }
    char *t = mem_strndup(m->topic, m->topic_len);
    if (!t)
        return false;
    c->alias_out[c->n_alias_out].topic = t;
    c->alias_out[c->n_alias_out].len = m->topic_len;
    c->n_alias_out++;
    return true;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static uint8_t *put_varint(uint8_t *p, uint32_t v)
{
    return p + codec_varint_encode(v, p);
}

/* Sizes of one subscriber's PUBLISH. */
struct publish_layout {
    size_t props, topic_len, remaining, total;
};

static void layout(const struct conn *c, const struct delivery *d, const uint32_t *ids,
                   bool has_exp, uint16_t alias, bool known, struct publish_layout *lo)
{
    const struct msg *m = d->m;
    bool v5 = c->version == MQTT_V5;
    lo->props = 0;
    if (v5) {
        lo->props = (has_exp ? 5u : 0u) + (alias ? 3u : 0u) + m->fwd_props_len;
        for (size_t i = 0; i < d->n_sub_ids; i++)
            lo->props += 1 + codec_varint_size(ids[i]);
    }
    lo->topic_len = known ? 0 : m->topic_len - conn_unmount_len(c, m->topic, m->topic_len);
    size_t var = 2 + lo->topic_len + (d->qos ? 2u : 0u) +
                 (v5 ? codec_varint_size((uint32_t)lo->props) + lo->props : 0);
    lo->remaining = var + m->payload_len;
    lo->total = 1 + codec_varint_size((uint32_t)lo->remaining) + lo->remaining;
}

int deliver_send_publish(struct conn *c, const struct delivery *d, uint16_t packet_id, bool dup)
{
    const struct msg *m = d->m;
    bool v5 = c->version == MQTT_V5;
    bool has_exp = false, known = false;
    uint32_t exp = msg_expiry_remaining_s(m, loop_now_ms(c->w->loop), &has_exp);
    uint16_t alias = alias_for(c, m, &known);
    const uint32_t *ids = d->n_sub_ids > 1 ? d->sub_ids : &d->sub_id;
    struct publish_layout lo;
    layout(c, d, ids, has_exp, alias, known, &lo);
    if (lo.remaining > MQTT_MAX_REMAINING_LENGTH || (v5 && lo.total > c->client_max_packet))
        return TERN_ETOOBIG; /* [MQTT-3.1.2-24] */
    /* A large payload is not copied: the connection writes it from the shared message. Room
     * is made before a new alias is recorded, so that an alias is never recorded for a packet
     * that then is not sent (the next one would leave the topic out). */
    bool by_ref = conn_wants_ref(c, m->payload_len);
    size_t copied = by_ref ? lo.total - m->payload_len : lo.total;
    if (c->state == CONN_CLOSED || buf_reserve(&c->out, copied) != 0 ||
        (by_ref && conn_reserve_ref(c) != 0))
        return TERN_ENOMEM;
    if (alias && !known && !alias_commit(c, m)) {
        alias = 0; /* the packet only gets shorter */
        layout(c, d, ids, has_exp, alias, known, &lo);
        copied = by_ref ? lo.total - m->payload_len : lo.total;
    }
    size_t topic_len = lo.topic_len, props = lo.props, remaining = lo.remaining;
    uint8_t *p = c->out.data + c->out.len;
    *p++ = (uint8_t)(0x30 | (dup ? 0x08 : 0) | (d->qos << 1) | (d->retain ? 1 : 0));
    p = put_varint(p, (uint32_t)remaining);
    p = put16(p, (uint16_t)topic_len);
    memcpy(p, m->topic + (m->topic_len - topic_len), topic_len); /* mount point stripped */
    p += topic_len;
    if (d->qos)
        p = put16(p, packet_id);
    if (v5) {
        p = put_varint(p, (uint32_t)props);
        if (has_exp) {
            *p++ = MQTT_PROP_MESSAGE_EXPIRY_INTERVAL;
            p = put32(p, exp); /* the remaining lifetime [MQTT-3.3.2-6] */
        }
        if (alias) {
            *p++ = MQTT_PROP_TOPIC_ALIAS;
            p = put16(p, alias);
        }
        for (size_t i = 0; i < d->n_sub_ids; i++) {
            *p++ = MQTT_PROP_SUBSCRIPTION_IDENTIFIER;
            p = put_varint(p, ids[i]);
        }
        memcpy(p, m->fwd_props, m->fwd_props_len);
        p += m->fwd_props_len;
    }
    c->out.len += copied;
    if (by_ref)
        conn_queue_ref(c, d->m, m->payload, m->payload_len);
    else
        memcpy(p, m->payload, m->payload_len);
    conn_mark_dirty(c);
    worker_stat_add(&c->w->stats.msgs_sent, 1);
    worker_stat_add(&c->w->stats.publish_sent[d->qos], 1);
    worker_stat_add(&c->w->stats.publish_sent_bytes[d->qos], lo.total);
    return 0;
}

static void *take_ref(void *subscriber)
{
    return session_ref(subscriber);
}

/* Whether sub is a shared subscription that a message on topic came through. */
static bool shared_match(const struct subscription *sub, struct tern_bytes topic,
                         struct tern_bytes *group, struct tern_bytes *rest)
{
    return codec_topic_shared_split(bytes_of(sub->filter, sub->filter_len), group, rest) &&
           codec_topic_matches(*rest, topic);
}

/* Hands d to another member of a shared subscription of s that it came through: one s still
 * has, else one it left while d was here. */
static void redeliver_one(struct worker *w, struct session *s, struct delivery *d)
{
    struct tern_bytes topic = msg_topic(d->m);
    for (size_t i = 0; i < s->n_subs + s->n_left; i++) {
        const struct subscription *sub = i < s->n_subs ? &s->subs[i] : &s->left[i - s->n_subs];
        struct tern_bytes group, rest;
        if (!shared_match(sub, topic, &group, &rest))
            continue;
        uint8_t options = 0;
        uint32_t sub_id = 0;
        struct session *to =
            topic_tree_shared_take_opts(w->b->tree, group, rest, s, take_ref, &options, &sub_id);
        if (!to)
            continue;
        /* What the new member subscribed with, not the first one's: its granted QoS, Retain
         * As Published and Subscription Identifier. */
        uint8_t q = options & MQTT_SUBOPT_QOS_MASK;
        d->qos = q < d->m->qos || w->b->cfg->upgrade_outgoing_qos ? q : d->m->qos;
        d->retain = (options & MQTT_SUBOPT_RAP) && d->m->retain;
        if (d->n_sub_ids > 1)
            mem_free(d->sub_ids);
        d->sub_ids = NULL;
        d->sub_id = sub_id;
        d->n_sub_ids = sub_id ? 1 : 0;
        d->shared = true;
        d->stored = false; /* the ended session's rows are gone; the new one stores its own */
        struct worker *owner = session_owner(to);
        if (owner == w) {
            deliver_to_session(w, to, d);
            session_unref(to);
        } else {
            struct work_item it = {.kind = WORK_DELIVER, .s = to, .d = *d};
            memset(d, 0, sizeof *d);
            worker_post(w, owner, &it);
        }
        return;
    }
    worker_stat_add(&w->stats.dropped[DROP_SESSION_ENDED], 1); /* no other member is left */
    delivery_clear(d);
}

void deliver_redistribute(struct worker *w, struct session *s)
{
    for (size_t i = 0; i < s->n_inflight; i++) {
        struct inflight *f = &s->inflight[i];
        if (f->d.shared && f->state != INFLIGHT_WAIT_PUBCOMP) {
            struct delivery d = f->d;
            memset(&f->d, 0, sizeof f->d);
            redeliver_one(w, s, &d);
        }
    }
    struct delivery d;
    size_t n = s->q_len;
    for (size_t i = 0; i < n && session_queue_pop(s, &d); i++) {
        worker_stat_add(&w->stats.queued, (uint64_t)-1);
        if (d.shared) {
            redeliver_one(w, s, &d);
        } else {
            worker_stat_add(&w->stats.dropped[DROP_SESSION_ENDED], 1);
            delivery_clear(&d);
        }
    }
}

/* Whether s still holds (in flight or queued) a message that came through shared sub. */
static bool holds_shared_through(const struct session *s, const struct subscription *sub)
{
    struct tern_bytes group, rest;
    for (size_t i = 0; i < s->n_inflight; i++) {
        const struct delivery *d = &s->inflight[i].d;
        if (d->m && d->shared && shared_match(sub, msg_topic(d->m), &group, &rest))
            return true;
    }
    for (uint32_t i = 0; i < s->q_len; i++) {
        const struct delivery *d = session_queue_at(s, i);
        if (d->shared && shared_match(sub, msg_topic(d->m), &group, &rest))
            return true;
    }
    return false;
}

void deliver_unsubscribed(struct session *s, struct subscription *gone)
{
    for (uint32_t i = s->n_left; i-- > 0;)
        if (!holds_shared_through(s, &s->left[i]))
            session_left_remove(s, i); /* nothing of it is here any more */
    if (holds_shared_through(s, gone))
        session_left_keep(s, gone);
    else
        mem_free(gone->filter);
}
