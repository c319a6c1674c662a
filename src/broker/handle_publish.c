/* Inbound PUBLISH (topic aliases, limits, QoS 1/2 acknowledgement with QoS 2 de-duplication by
 * packet id until PUBREL) and the acknowledgements of outbound messages. */
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
#include "security.h"
#include "session.h"
#include "worker.h"

/* Whether the ACL lets c's client publish to topic (as the client sent it: the mount point is
 * put in front, so rules see the broker's topic). */
static bool acl_allows(struct conn *c, struct tern_bytes topic, int access)
{
    char *owned = NULL;
    struct tern_bytes t = conn_mount(c, topic, &owned);
    int claims = t.ptr ? auth_claims_publish(c, t) : 0;
    bool ok = claims >= 0 ? claims == 1
                          : t.ptr && security_acl(c->lr, c->s->client_id, c->username, t, access);
    mem_free(owned);
    return ok;
}

/* Resolves a v5 Topic Alias [MQTT-3.3.2-7..12]. Returns 0 and sets *topic, or a reason code. */
static uint8_t resolve_alias(struct conn *c, struct mqtt_publish *pub)
{
    if (!(pub->props.present & MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS)))
        return 0;
    uint16_t a = pub->props.topic_alias;
    uint16_t max = c->alias_in_max; /* as CONNACK announced it, whatever a reload changed */
    if (a == 0 || a > max)
        return MQTT_RC_TOPIC_ALIAS_INVALID; /* [MQTT-3.3.2-9], [MQTT-3.3.2-10] */
    if (!c->alias_in) {
        c->alias_in = mem_calloc((size_t)max + 1, sizeof *c->alias_in);
        c->alias_in_len = mem_calloc((size_t)max + 1, sizeof *c->alias_in_len);
        if (!c->alias_in || !c->alias_in_len)
            return MQTT_RC_UNSPECIFIED_ERROR;
    }
    if (pub->topic.len > 0) {
        char *t = mem_strndup((const char *)pub->topic.ptr, pub->topic.len);
        if (!t)
            return MQTT_RC_UNSPECIFIED_ERROR;
        mem_free(c->alias_in[a]);
        c->alias_in[a] = t;
        c->alias_in_len[a] = (uint16_t)pub->topic.len;
        return 0;
    }
    if (!c->alias_in[a])
        return MQTT_RC_PROTOCOL_ERROR; /* alias never set on this connection */
    pub->topic = bytes_of(c->alias_in[a], c->alias_in_len[a]);
    return 0;
}

/* Checks a PUBLISH against this server's limits; 0 or the reason to disconnect with. */
/* Inbound QoS 1 PUBLISHes not acknowledged yet: their PUBACKs wait in c's queue for the store
 * (conn_ack under persistence_fsync always). They count towards Receive Maximum like the QoS 2
 * ones not completed (n_qos2_in, whose PUBRECs may wait in the same queue). The queue is short:
 * at most Receive Maximum acknowledgements plus the QoS 2 ones. */
static uint32_t held_pubacks(const struct conn *c)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->ack_len; i++)
        n += c->acks[(c->ack_head + i) % c->ack_cap].type == MQTT_PUBACK;
    return n;
}

static uint8_t publish_check(struct conn *c, const struct mqtt_publish *pub)
{
    const struct config *cfg = c->w->b->cfg;
    if (pub->props.present & MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER))
        return MQTT_RC_PROTOCOL_ERROR; /* client to server [MQTT-3.3.4-6] */
    if (pub->qos > c->lr->conf->max_qos)
        return MQTT_RC_QOS_NOT_SUPPORTED; /* [MQTT-3.2.2-11] */
    if (pub->retain && !cfg->retain_available)
        return MQTT_RC_RETAIN_NOT_SUPPORTED; /* [MQTT-3.2.2-14] */
    /* v3 has no Receive Maximum to announce, so only a v5 client can exceed it. */
    if (c->version == MQTT_V5 && pub->qos > 0 &&
        (pub->qos == 1 || !session_qos2_has(c->s, pub->packet_id))) {
        uint16_t rm = cfg->max_inflight_messages ? cfg->max_inflight_messages : 65535;
        if (c->s->n_qos2_in + held_pubacks(c) >= rm)
            return MQTT_RC_RECEIVE_MAXIMUM_EXCEEDED; /* [MQTT-3.3.4-7] [MQTT-3.3.4-9] */
    }
    return 0;
}

/* Whether storing pub's message would take the heap (what mem_* counts) over memory_limit. */
static bool over_memory_limit(const struct broker *b, const struct mqtt_publish *pub)
{
    uint64_t limit = b->cfg->memory_limit;
    return limit && mem_in_use() + pub->payload.len + pub->topic.len > limit;
}

void handle_publish(struct conn *c, struct mqtt_packet *p)
{
    struct mqtt_publish *pub = &p->u.publish;
    struct worker *w = c->w;
    struct broker *b = w->b;
    uint8_t rc = c->version == MQTT_V5 ? resolve_alias(c, pub) : 0;
    if (!rc)
        rc = publish_check(c, pub);
    if (rc) {
        conn_protocol_error(c, rc, "invalid PUBLISH");
        return;
    }
    worker_stat_add(&w->stats.publish_received[pub->qos], 1);
    worker_stat_add(&w->stats.publish_received_bytes[pub->qos], p->len);
    if (!handle_topic_depth_ok(pub->topic)) {
        /* Refused like Mosquitto; v5 tells the publisher why. */
        worker_stat_add(&w->stats.dropped[DROP_BAD_TOPIC], 1);
        if (pub->qos)
            conn_ack(c, pub->qos == 1 ? MQTT_PUBACK : MQTT_PUBREC, pub->packet_id,
                     MQTT_RC_TOPIC_NAME_INVALID, 0);
        return;
    }
    if (pub->qos == 2 && session_qos2_has(c->s, pub->packet_id)) {
        /* Re-sent before PUBREL: acknowledge again, do not deliver twice [MQTT-4.3.3-10]. */
        conn_ack(c, MQTT_PUBREC, pub->packet_id, 0, 0);
        return;
    }
    if (over_memory_limit(b, pub)) {
        /* As Mosquitto under memory_limit: the message is refused and its publisher let go
         * (before a QoS 2 id is recorded, so that a resend is taken as new). */
        log_msg(b->log, TLOG_WARN, "Message from %s on %.*s dropped: memory_limit reached",
                c->s->client_id, (int)pub->topic.len, (const char *)pub->topic.ptr);
        worker_stat_add(&w->stats.dropped[DROP_NO_MEMORY], 1);
        conn_protocol_error(c, MQTT_RC_QUOTA_EXCEEDED, "memory_limit reached");
        return;
    }
    /* The inbound QoS 2 id and the subscribers' copies reach the disk in one commit (a store
     * group, ended below): after a crash the broker has either both, and recognises the
     * publisher's resend, or neither, and routes the resend as new. Never one without the
     * other: the id alone would acknowledge a lost message, the copies alone deliver twice. */
    uint64_t qos2_seq = 0;
    if (pub->qos == 2) {
        if (session_qos2_add(c->s, pub->packet_id) != 0) {
            conn_ack(c, MQTT_PUBREC, pub->packet_id, MQTT_RC_UNSPECIFIED_ERROR, 0);
            return;
        }
        persist_group_begin(b);
        qos2_seq = persist_qos2(b, c->s, pub->packet_id, true);
    }
    uint32_t limit = b->cfg->message_size_limit;
    size_t routed = 0;
    char *mounted = NULL;
    if (bytes_has_prefix(pub->topic, "$SYS")) {
        /* $SYS belongs to the broker: clients' messages there are acknowledged and dropped,
         * as Mosquitto does. */
        worker_stat_add(&w->stats.dropped[DROP_SYS_TOPIC], 1);
    } else if (!acl_allows(c, pub->topic, ACL_WRITE)) {
        /* Refused by the ACL: dropped; v5 publishers are told, v3 ones cannot be (Mosquitto
         * acknowledges those as if delivered). */
        log_msg(b->log, TLOG_DEBUG, "Denied PUBLISH from %s on %.*s", c->s->client_id,
                (int)pub->topic.len, (const char *)pub->topic.ptr);
        worker_stat_add(&w->stats.dropped[DROP_ACL_DENIED], 1);
        rc = MQTT_RC_NOT_AUTHORIZED;
    } else if (limit && pub->payload.len > limit) {
        log_msg(b->log, TLOG_NOTICE, "Message from %s on %.*s dropped: payload over %u bytes",
                c->s->client_id, (int)pub->topic.len, (const char *)pub->topic.ptr, limit);
        worker_stat_add(&w->stats.dropped[DROP_TOO_LARGE], 1);
        rc = MQTT_RC_QUOTA_EXCEEDED; /* 0x95 may not travel in PUBACK/PUBREC [MQTT-3.4.2-1] */
    } else {
        struct msg_init in = {
            .topic = conn_mount(c, pub->topic, &mounted),
            .payload = pub->payload,
            .props = c->version == MQTT_V5 ? &pub->props : NULL,
            .qos = pub->qos,
            .retain = pub->retain,
            .origin_id = c->s->id,
            .now_ms = loop_now_ms(w->loop),
        };
        struct msg *m = in.topic.ptr ? msg_new(&in) : NULL;
        mem_free(mounted);
        if (!m) {
            worker_stat_add(&w->stats.dropped[DROP_NO_MEMORY], 1);
            if (pub->qos == 2)
                persist_group_end(b);
            conn_protocol_error(c, MQTT_RC_UNSPECIFIED_ERROR, "out of memory");
            return;
        }
        w->pub_seq = 0;
        routed = deliver_publish(w, m);
        security_note_retain_source(b, c->lr, c->s->client_id, c->username, m);
        msg_unref(m);
    }
    if (pub->qos == 2)
        persist_group_end(b);
    if (!rc && routed == 0)
        rc = MQTT_RC_NO_MATCHING_SUBSCRIBERS;
    /* Under persistence_fsync always, the acknowledgement waits until everything this message
     * made the store write is durable (conn_ack queues it until then). */
    uint64_t seq = w->pub_seq;
    if (pub->qos == 1) {
        conn_ack(c, MQTT_PUBACK, pub->packet_id, rc, seq);
    } else if (pub->qos == 2) {
        if (rc >= 0x80) {
            /* Refused: the flow ends with this PUBREC, no PUBREL follows [MQTT-4.3.3-4]. */
            session_qos2_remove(c->s, pub->packet_id);
            persist_qos2(b, c->s, pub->packet_id, false);
        }
        conn_ack(c, MQTT_PUBREC, pub->packet_id, rc, seq > qos2_seq ? seq : qos2_seq);
    }
}

void handle_puback(struct conn *c, struct mqtt_packet *p)
{
    struct session *s = c->s;
    struct inflight *f = session_inflight_find(s, p->u.ack.packet_id);
    if (f && f->state == INFLIGHT_WAIT_PUBACK) {
        persist_inflight_del(c->w->b, s, f->packet_id);
        session_inflight_remove(s, f);
        worker_stat_add(&c->w->stats.inflight, (uint64_t)-1);
        deliver_pump(c->w, s);
    }
}

void handle_pubrec(struct conn *c, struct mqtt_packet *p)
{
    struct session *s = c->s;
    uint16_t id = p->u.ack.packet_id;
    struct inflight *f = session_inflight_find(s, id);
    if (!f || f->state == INFLIGHT_WAIT_PUBACK) {
        conn_send_ack(c, MQTT_PUBREL, id, MQTT_RC_PACKET_IDENTIFIER_NOT_FOUND);
        return;
    }
    if (p->u.ack.reason >= 0x80) {
        /* The receiver refused it: the flow ends here [MQTT-4.3.3-4]. */
        persist_inflight_del(c->w->b, s, f->packet_id);
        session_inflight_remove(s, f);
        worker_stat_add(&c->w->stats.inflight, (uint64_t)-1);
        deliver_pump(c->w, s);
        return;
    }
    f->state = INFLIGHT_WAIT_PUBCOMP;
    uint64_t seq = persist_inflight(c->w->b, s, f);
    /* The message itself is no longer needed: only the packet id is [MQTT-4.3.3-4]. PUBREL
     * waits until the new state is durable: after a crash the broker must not send the PUBLISH
     * again to a client that has completed it (it would take it for a new message). */
    conn_ack(c, MQTT_PUBREL, id, 0, seq);
}

void handle_pubrel(struct conn *c, struct mqtt_packet *p)
{
    uint16_t id = p->u.ack.packet_id;
    bool had = session_qos2_remove(c->s, id);
    /* PUBCOMP frees the id for the client: were it sent before the id's removal is durable, a
     * crash would bring the id back and the client's next message under it would be taken for
     * a duplicate and never delivered. */
    uint64_t seq = had ? persist_qos2(c->w->b, c->s, id, false) : 0;
    conn_ack(c, MQTT_PUBCOMP, id, had ? 0 : MQTT_RC_PACKET_IDENTIFIER_NOT_FOUND, seq);
}

void handle_pubcomp(struct conn *c, struct mqtt_packet *p)
{
    struct session *s = c->s;
    struct inflight *f = session_inflight_find(s, p->u.ack.packet_id);
    if (f && f->state == INFLIGHT_WAIT_PUBCOMP) {
        persist_inflight_del(c->w->b, s, f->packet_id);
        session_inflight_remove(s, f);
        worker_stat_add(&c->w->stats.inflight, (uint64_t)-1);
        deliver_pump(c->w, s);
    }
}
