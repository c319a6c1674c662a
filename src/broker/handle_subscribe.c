/* SUBSCRIBE and UNSUBSCRIBE: per-filter validation and reason codes, the subscription tree and
 * the session's own list, and retained messages sent after the SUBACK per Retain Handling. */
#include "handle.h"

#include <string.h>

#include "acl.h"
#include "broker.h"
#include "codec.h"
#include "config.h"
#include "conn.h"
#include "deliver.h"
#include "handle_auth.h"
#include "loop.h"
#include "mem.h"
#include "msg.h"
#include "persist.h"
#include "retain.h"
#include "security.h"
#include "session.h"
#include "topic_tree.h"
#include "worker.h"

#define MAX_FILTERS 256

struct retained_batch {
    const struct broker *b;
    struct msg **msgs;
    size_t n, cap;
};

static void collect_retained(struct msg *m, const struct retain_source *src, void *ctx)
{
    struct retained_batch *rb = ctx;
    /* check_retain_source: the publisher must still be allowed to write the topic. */
    if (!security_retain_source_ok(rb->b, m, src))
        return;
    if (rb->n == rb->cap) {
        size_t ncap = rb->cap ? rb->cap * 2 : 16;
        struct msg **p = mem_realloc(rb->msgs, ncap * sizeof *p);
        if (!p)
            return;
        rb->msgs = p;
        rb->cap = ncap;
    }
    rb->msgs[rb->n++] = msg_ref(m);
}

/* Sends the retained messages matching filter to this session [MQTT-3.3.1-9]. */
static void send_retained(struct conn *c, struct tern_bytes filter, uint8_t granted,
                          uint32_t sub_id)
{
    struct worker *w = c->w;
    struct retained_batch rb = {.b = w->b};
    retain_match_src(w->b->retain, filter, loop_now_ms(w->loop), collect_retained, &rb);
    for (size_t i = 0; i < rb.n; i++) {
        struct delivery d;
        memset(&d, 0, sizeof d);
        d.m = rb.msgs[i];
        /* upgrade_outgoing_qos: at the granted QoS even above the message's (Mosquitto). */
        bool up = w->b->cfg->upgrade_outgoing_qos;
        d.qos = d.m->qos < granted && !up ? d.m->qos : granted;
        d.retain = true; /* sent because of a new subscription [MQTT-3.3.1-8] */
        if (sub_id) {
            d.sub_id = sub_id;
            d.n_sub_ids = 1;
        }
        deliver_to_session(w, c->s, &d);
    }
    mem_free(rb.msgs);
}

/* Subscribes to one filter; returns the reason code (granted QoS or failure), sets *send_ret
 * when retained messages should follow and raises *seq to the store seq that records it. */
static uint8_t subscribe_one(struct conn *c, struct tern_bytes filter, uint8_t options,
                             uint32_t sub_id, bool *send_ret, bool *fatal,
                             struct tern_bytes *send_ret_filter, char **send_ret_owned,
                             uint64_t *seq)
{
    struct broker *b = c->w->b;
    bool v5 = c->version == MQTT_V5;
    uint8_t fail = v5 ? MQTT_RC_TOPIC_FILTER_INVALID : MQTT_V3_SUBACK_FAILURE;
    *send_ret = false;
    if (!codec_topic_filter_valid(filter) || !handle_topic_depth_ok(filter))
        return fail; /* answered per filter rather than by disconnecting */
    struct tern_bytes group, rest;
    bool shared = codec_topic_shared_split(filter, &group, &rest);
    if (shared && (options & MQTT_SUBOPT_NO_LOCAL)) {
        *fatal = true; /* [MQTT-3.8.3-4] */
        return MQTT_RC_PROTOCOL_ERROR;
    }
    uint8_t qos = options & MQTT_SUBOPT_QOS_MASK;
    if (qos > c->lr->conf->max_qos)
        qos = (uint8_t)c->lr->conf->max_qos;
    options = (uint8_t)((options & ~MQTT_SUBOPT_QOS_MASK) | qos);
    uint8_t err = v5 ? MQTT_RC_UNSPECIFIED_ERROR : MQTT_V3_SUBACK_FAILURE;
    char *owned = NULL;
    struct tern_bytes mounted = conn_mount(c, filter, &owned);
    if (!mounted.ptr)
        return err;
    int claims = auth_claims_subscribe(c, mounted);
    if (claims == 0 || (claims < 0 && !security_acl(c->lr, c->s->client_id, c->username, mounted,
                                                    ACL_SUBSCRIBE))) {
        mem_free(owned);
        return v5 ? MQTT_RC_NOT_AUTHORIZED : MQTT_V3_SUBACK_FAILURE;
    }
    int added = session_sub_set(c->s, (const char *)mounted.ptr, mounted.len, options, sub_id);
    int r = added < 0 ? added : topic_tree_add(b->tree, mounted, c->s, options, sub_id);
    if (r < 0) {
        if (added == 1)
            session_sub_remove(c->s, (const char *)mounted.ptr, mounted.len);
        mem_free(owned);
        return err;
    }
    *send_ret_filter = owned ? mounted : filter;
    *send_ret_owned = owned;
    if (r == 1)
        atomic_fetch_add(&b->stats.subscriptions, 1);
    uint64_t stored =
        persist_sub(b, c->s, session_sub_get(c->s, (const char *)mounted.ptr, mounted.len)->filter,
                    options, sub_id, true);
    if (stored > *seq)
        *seq = stored;
    /* Retained messages are not sent for shared subscriptions [MQTT-3.8.4-?]; Retain Handling
     * 0 always, 1 only for a new subscription, 2 never [MQTT-3.3.1-9..11]. */
    uint8_t rh = (options & MQTT_SUBOPT_RH_MASK) >> MQTT_SUBOPT_RH_SHIFT;
    *send_ret = !shared && (rh == 0 || (rh == 1 && r == 1));
    log_msg(b->log, TLOG_SUBSCRIBE, "%s %u %.*s", c->s->client_id, qos, (int)filter.len,
            (const char *)filter.ptr);
    return qos;
}

/* A v5 SUBACK refusing a filter says why in a Reason String: the first refusal's name. Only
 * when the client did not set Request Problem Information to 0 [MQTT-3.1.2-29], and when it
 * keeps the packet within the client's Maximum Packet Size [MQTT-3.9.2-1]. */
static void suback_reason(const struct conn *c, struct mqtt_props *pr, const uint8_t *codes,
                          size_t n)
{
    if (c->version != MQTT_V5 || !c->problem_info)
        return;
    for (size_t i = 0; i < n; i++) {
        if (codes[i] < 0x80)
            continue;
        const char *why = mqtt_reason_name(codes[i]);
        size_t len = strlen(why);
        if (len + n + 16 <= c->client_max_packet) {
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
            pr->reason_string = bytes_of(why, len);
        }
        return;
    }
}

void handle_subscribe(struct conn *c, struct mqtt_packet *p)
{
    struct mqtt_subscribe *sub = &p->u.subscribe;
    uint8_t codes[MAX_FILTERS];
    struct tern_bytes ret_filter[MAX_FILTERS];
    char *ret_owned[MAX_FILTERS];
    bool want[MAX_FILTERS];
    if (sub->count > MAX_FILTERS) {
        conn_protocol_error(c, MQTT_RC_IMPLEMENTATION_SPECIFIC_ERROR, "too many filters");
        return;
    }
    uint32_t sub_id = 0;
    if (sub->props.present & MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER))
        sub_id = sub->props.sub_id;
    size_t pos = 0, n = 0;
    struct mqtt_sub_entry e;
    bool fatal = false;
    uint64_t seq = 0;
    while (n < sub->count && codec_subscribe_next(sub, &pos, &e)) {
        ret_owned[n] = NULL;
        codes[n] = subscribe_one(c, e.filter, e.options, sub_id, &want[n], &fatal, &ret_filter[n],
                                 &ret_owned[n], &seq);
        if (fatal) {
            for (size_t i = 0; i < n; i++)
                mem_free(ret_owned[i]);
            conn_protocol_error(c, codes[n], "invalid subscription options");
            return;
        }
        n++;
    }
    struct mqtt_packet ack;
    memset(&ack, 0, sizeof ack);
    ack.type = MQTT_SUBACK;
    ack.u.suback.packet_id = sub->packet_id;
    ack.u.suback.reasons = bytes_of(codes, n); /* one per filter, in order [MQTT-3.8.4-6] */
    suback_reason(c, &ack.u.suback.props, codes, n);
    conn_hold_output(c, seq); /* a persistent session's subscriptions survive a crash first */
    conn_send(c, &ack);
    for (size_t i = 0; i < n; i++) {
        if (want[i])
            send_retained(c, ret_filter[i], codes[i], sub_id);
        mem_free(ret_owned[i]);
    }
}

void handle_unsubscribe(struct conn *c, struct mqtt_packet *p)
{
    struct mqtt_unsubscribe *u = &p->u.unsubscribe;
    struct broker *b = c->w->b;
    uint8_t codes[MAX_FILTERS];
    if (u->count > MAX_FILTERS) {
        conn_protocol_error(c, MQTT_RC_IMPLEMENTATION_SPECIFIC_ERROR, "too many filters");
        return;
    }
    size_t pos = 0, n = 0;
    struct tern_bytes f;
    uint64_t seq = 0;
    while (n < u->count && codec_unsubscribe_next(u, &pos, &f)) {
        uint8_t rc = MQTT_RC_NO_SUBSCRIPTION_EXISTED;
        char *owned = NULL;
        struct tern_bytes mf = conn_mount(c, f, &owned);
        struct subscription *x =
            mf.ptr ? session_sub_get(c->s, (const char *)mf.ptr, mf.len) : NULL;
        uint64_t stored = x ? persist_sub(b, c->s, x->filter, 0, 0, false) : 0;
        if (stored > seq)
            seq = stored;
        struct subscription gone;
        if (x && session_sub_detach(c->s, (const char *)mf.ptr, mf.len, &gone) == 0) {
            if (topic_tree_remove(b->tree, mf, c->s) == 0)
                atomic_fetch_sub(&b->stats.subscriptions, 1);
            deliver_unsubscribed(c->s, &gone);
            rc = MQTT_RC_SUCCESS;
        }
        mem_free(owned);
        log_msg(b->log, TLOG_UNSUBSCRIBE, "%s %.*s", c->s->client_id, (int)f.len,
                (const char *)f.ptr);
        codes[n++] = rc;
    }
    struct mqtt_packet ack;
    memset(&ack, 0, sizeof ack);
    ack.type = MQTT_UNSUBACK;
    ack.u.unsuback.packet_id = u->packet_id;
    ack.u.unsuback.reasons = bytes_of(codes, c->version == MQTT_V5 ? n : 0);
    conn_hold_output(c, seq);
    conn_send(c, &ack);
}
