/* libtern outbound traffic: packet ids, the PUBLISH queue with its inflight window (Receive
 * Maximum), the sender side of the QoS 1 and QoS 2 flows, resending after a reconnect,
 * optional outbound topic aliases, SUBSCRIBE and UNSUBSCRIBE. It only appends to the output
 * buffer; writing it to the socket is client.c's job. */
#include <string.h>

#include "client_impl.h"
#include "err.h"
#include "mem.h"

#define MAX_SUB_ENTRIES 4096

static bool id_used(const struct tern_client *c, uint16_t id)
{
    return (c->ids_used[id >> 3] & (1u << (id & 7))) != 0;
}

uint16_t client_out_next_id(struct tern_client *c)
{
    for (unsigned i = 0; i < 65535; i++) {
        uint16_t id = c->next_id;
        c->next_id = id == 65535 ? 1 : (uint16_t)(id + 1);
        /* A packet id in use by an unacknowledged packet must not be reused [MQTT-2.2.1-3]. */
        if (!id_used(c, id)) {
            c->ids_used[id >> 3] |= (uint8_t)(1u << (id & 7));
            return id;
        }
    }
    return 0;
}

void client_out_release_id(struct tern_client *c, uint16_t id)
{
    c->ids_used[id >> 3] &= (uint8_t) ~(1u << (id & 7));
}

int client_out_send_ack(struct tern_client *c, uint8_t type, uint16_t id, uint8_t reason)
{
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = type;
    p.flags = type == MQTT_PUBREL ? 0x2 : 0; /* [MQTT-3.6.1-1] */
    p.u.ack.packet_id = id;
    p.u.ack.reason = reason;
    return client_send_packet(c, &p);
}

void client_out_reset_aliases(struct tern_client *c)
{
    for (size_t i = 0; i < c->alias_out_count; i++)
        mem_free(c->alias_out[i]);
    mem_free(c->alias_out);
    c->alias_out = NULL;
    c->alias_out_count = 0;
}

void client_out_free_all(struct tern_client *c)
{
    struct list_node *it, *tmp;
    LIST_FOREACH (it, tmp, &c->outq) {
        list_remove(it);
        mem_free(LIST_ENTRY(it, struct out_msg, node));
    }
    c->outq_count = 0;
    c->inflight = 0;
}

/* ---- Publish ---- */

static int check_publish(const struct tern_client *c, const char *topic, uint8_t qos, bool retain,
                         const struct tern_props *props)
{
    if (qos > 2 || !topic)
        return TERN_EINVAL;
    if (*topic == '\0') {
        /* An empty topic is allowed only with a Topic Alias (v5) [MQTT-3.3.2-1]. */
        if (c->version != MQTT_V5 || !props ||
            !(props->present & TERN_PROP_BIT(TERN_PROP_TOPIC_ALIAS)))
            return TERN_EINVAL;
    } else if (!codec_topic_name_valid(bytes_str(topic))) {
        return TERN_EINVAL;
    }
    if (c->state == CS_CONNECTED) {
        /* No QoS above the server's Maximum QoS [MQTT-3.2.2-11], no retain when it said
         * Retain Available 0 [MQTT-3.2.2-14]. */
        if (qos > c->srv_max_qos || (retain && !c->srv_retain))
            return TERN_EINVAL;
    }
    return 0;
}

/* Encodes a PUBLISH into a new queue entry. */
static int make_msg(struct tern_client *c, struct mqtt_publish *m, struct out_msg **out)
{
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_PUBLISH;
    p.flags = (uint8_t)((m->qos << 1) | (m->retain ? 1 : 0));
    p.u.publish = *m;
    size_t n = codec_encode(&p, c->version, NULL, 0);
    if (n == 0)
        return TERN_EINVAL;
    if (c->srv_max_packet && n > c->srv_max_packet)
        return TERN_ETOOBIG;
    struct out_msg *om = mem_alloc(sizeof *om + n);
    if (!om)
        return TERN_ENOMEM;
    memset(om, 0, sizeof *om);
    om->qos = m->qos;
    om->packet_id = m->packet_id;
    om->state = OM_QUEUED;
    om->len = n;
    codec_encode(&p, c->version, om->data, n);
    *out = om;
    return 0;
}

int tern_client_publish(struct tern_client *c, const char *topic, struct tern_str payload,
                        uint8_t qos, bool retain, const struct tern_props *props,
                        uint16_t *packet_id)
{
    if (!c)
        return TERN_EINVAL;
    int rc = check_publish(c, topic, qos, retain, props);
    if (rc)
        return rc;
    struct mqtt_publish m;
    memset(&m, 0, sizeof m);
    m.qos = qos;
    m.retain = retain;
    m.topic = bytes_str(topic);
    m.payload = bytes_of(payload.ptr, payload.len);
    struct mqtt_user_prop *ubuf = NULL;
    if (props && c->version == MQTT_V5) {
        ubuf = mem_calloc(props->user_count + 1, sizeof *ubuf);
        if (!ubuf)
            return TERN_ENOMEM;
        client_props_to_codec(props, &m.props, ubuf);
    }
    if (qos > 0) {
        m.packet_id = client_out_next_id(c);
        rc = TERN_EFULL;
        if (m.packet_id == 0)
            goto out;
    }
    struct out_msg *om = NULL;
    rc = make_msg(c, &m, &om);
    if (rc) {
        if (m.packet_id)
            client_out_release_id(c, m.packet_id);
        goto out;
    }
    list_insert_tail(&c->outq, &om->node);
    if (qos > 0)
        c->outq_count++;
    if (packet_id)
        *packet_id = m.packet_id;
    if (c->state == CS_CONNECTED)
        rc = client_out_flush(c);
out:
    mem_free(ubuf);
    return rc;
}

/* Index+1 of topic in our outbound alias table, assigning a new alias when there is room.
 * Sets *is_new when the topic must still be sent in full. 0 when no alias can be used. */
static uint16_t alias_for(struct tern_client *c, struct tern_bytes topic, bool *is_new)
{
    *is_new = false;
    for (uint16_t i = 0; i < c->alias_out_count; i++) {
        if (bytes_eq_str(topic, c->alias_out[i]))
            return (uint16_t)(i + 1);
    }
    if (c->alias_out_count >= c->srv_alias_max)
        return 0;
    if (!c->alias_out) {
        c->alias_out = mem_calloc(c->srv_alias_max, sizeof *c->alias_out);
        if (!c->alias_out)
            return 0;
    }
    char *t = mem_strndup((const char *)topic.ptr, topic.len);
    if (!t)
        return 0;
    c->alias_out[c->alias_out_count++] = t;
    *is_new = true;
    return c->alias_out_count;
}

/* Appends a queued message, replacing its topic by an alias when enabled. */
static int send_aliased(struct tern_client *c, const struct out_msg *om)
{
    struct mqtt_packet p;
    uint8_t reason;
    if (codec_decode(om->data, om->len, c->version, 0, &p, &reason) <= 0)
        return TERN_EINVAL;
    struct mqtt_publish *m = &p.u.publish;
    if (m->props.present & MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS))
        return client_append(c, om->data, om->len); /* the application chose */
    bool is_new;
    uint16_t alias = alias_for(c, m->topic, &is_new);
    if (alias == 0)
        return client_append(c, om->data, om->len);
    /* The alias must be within the server's Topic Alias Maximum [MQTT-3.3.2-8]. */
    m->props.topic_alias = alias;
    m->props.present |= MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
    if (!is_new)
        m->topic = bytes_of(NULL, 0);
    return client_send_packet(c, &p);
}

static int send_publish(struct tern_client *c, const struct out_msg *om, bool dup)
{
    int rc;
    c->last_out_ms = c->now_ms;
    if (dup) {
        size_t at = c->out.len;
        rc = buf_append(&c->out, om->data, om->len);
        /* A resend of a QoS > 0 PUBLISH sets DUP [MQTT-3.3.1-1]. */
        if (rc == 0) {
            c->out.data[at] |= 0x08;
            client_trace(c, true, c->out.data + at, om->len);
        }
        return rc;
    }
    if (c->auto_alias && c->srv_alias_max > 0)
        return send_aliased(c, om);
    return client_append(c, om->data, om->len);
}

static size_t window(const struct tern_client *c)
{
    size_t w = c->max_inflight;
    /* Never more unacknowledged QoS > 0 PUBLISHes than the server's Receive Maximum
     * [MQTT-3.3.4-7]. */
    if (c->srv_receive_max < w)
        w = c->srv_receive_max;
    return w;
}

static void complete(struct tern_client *c, struct out_msg *om, uint8_t reason,
                     const struct tern_props *props)
{
    uint16_t id = om->packet_id;
    list_remove(&om->node);
    if (om->qos > 0) {
        if (om->state != OM_QUEUED)
            c->inflight--;
        c->outq_count--;
        client_out_release_id(c, id);
    }
    mem_free(om);
    if (c->cb.on_publish)
        c->cb.on_publish(c, c->ud, id, reason, props);
}

/* One pass over the queue. Returns 1 when a callback ran and the pass must restart. */
static int flush_pass(struct tern_client *c, unsigned gen)
{
    struct list_node *it, *tmp;
    LIST_FOREACH (it, tmp, &c->outq) {
        struct out_msg *om = LIST_ENTRY(it, struct out_msg, node);
        if (c->state != CS_CONNECTED || c->conn_gen != gen)
            return 0;
        if (om->state != OM_QUEUED)
            continue;
        /* Keep publish order: stop at the first message the window holds back. */
        if (om->qos > 0 && c->inflight >= window(c))
            return 0;
        int rc = send_publish(c, om, false);
        if (rc)
            return rc;
        if (om->qos == 0) {
            complete(c, om, 0, NULL);
            return 1; /* the callback may have changed the queue */
        }
        om->state = OM_WAIT_ACK;
        c->inflight++;
    }
    return 0;
}

int client_out_flush(struct tern_client *c)
{
    /* A callback run from here may publish: the outer pass picks the message up. */
    if (c->flushing)
        return 0;
    c->flushing = true;
    unsigned gen = c->conn_gen;
    int rc;
    while ((rc = flush_pass(c, gen)) == 1)
        ;
    c->flushing = false;
    return rc;
}

int client_out_resend(struct tern_client *c, bool session_present)
{
    struct list_node *it, *tmp;
    int rc = 0;
    c->inflight = 0;
    c->flushing = true; /* completions below must not flush while we walk the queue */
    LIST_FOREACH (it, tmp, &c->outq) {
        struct out_msg *om = LIST_ENTRY(it, struct out_msg, node);
        if (om->state == OM_QUEUED)
            continue;
        if (!session_present) {
            /* Without a session the server forgot these: send them anew, and count as done
             * those it had already received (past PUBREC) [MQTT-3.2.2-5]. */
            if (om->state == OM_WAIT_ACK) {
                om->state = OM_QUEUED;
            } else {
                c->inflight++;
                complete(c, om, 0, NULL);
            }
            continue;
        }
        /* Resend unacknowledged PUBLISH and PUBREL with their ids [MQTT-4.4.0-1]. */
        if (om->state == OM_WAIT_ACK)
            rc = send_publish(c, om, true);
        else
            rc = client_out_send_ack(c, MQTT_PUBREL, om->packet_id, 0);
        if (rc)
            break;
        c->inflight++;
    }
    c->flushing = false;
    return rc;
}

static struct out_msg *find_inflight(struct tern_client *c, uint16_t id)
{
    struct list_node *it, *tmp;
    LIST_FOREACH (it, tmp, &c->outq) {
        struct out_msg *om = LIST_ENTRY(it, struct out_msg, node);
        if (om->qos > 0 && om->packet_id == id && om->state != OM_QUEUED)
            return om;
    }
    return NULL;
}

int client_out_ack(struct tern_client *c, uint8_t type, const struct mqtt_ack *a)
{
    struct out_msg *om = find_inflight(c, a->packet_id);
    if (!om) {
        /* A PUBREC for an unknown id still gets its PUBREL, with "not found" in v5. */
        if (type == MQTT_PUBREC)
            return client_out_send_ack(c, MQTT_PUBREL, a->packet_id,
                                       c->version == MQTT_V5 ? MQTT_RC_PACKET_IDENTIFIER_NOT_FOUND
                                                             : 0);
        return 0;
    }
    struct tern_props props;
    const struct tern_props *pp = NULL;
    if (c->version == MQTT_V5) {
        int rc = client_props_from_codec(c, &a->props, &props);
        if (rc)
            return rc;
        pp = &props;
    }
    bool ok = (type == MQTT_PUBACK && om->qos == 1 && om->state == OM_WAIT_ACK) ||
              (type == MQTT_PUBREC && om->qos == 2 && om->state == OM_WAIT_ACK) ||
              (type == MQTT_PUBCOMP && om->qos == 2 && om->state == OM_WAIT_COMP);
    if (!ok)
        return TERN_EPROTO;
    if (type == MQTT_PUBREC && a->reason < 0x80) {
        /* PUBREC is answered by PUBREL with the same id [MQTT-4.3.3-3]. */
        om->state = OM_WAIT_COMP;
        return client_out_send_ack(c, MQTT_PUBREL, om->packet_id, 0);
    }
    unsigned gen = c->conn_gen;
    complete(c, om, a->reason, pp);
    if (c->conn_gen != gen || c->state != CS_CONNECTED)
        return 0;
    return client_out_flush(c);
}

/* ---- Subscribe / unsubscribe ---- */

static bool can_send(const struct tern_client *c)
{
    return c->state == CS_OPENING || c->state == CS_WAIT_CONNACK || c->state == CS_CONNECTED;
}

static int send_with_id(struct tern_client *c, struct mqtt_packet *p, uint16_t *idp,
                        const struct tern_props *props, struct mqtt_props *mp)
{
    struct mqtt_user_prop *ubuf = NULL;
    if (props && c->version == MQTT_V5) {
        ubuf = mem_calloc(props->user_count + 1, sizeof *ubuf);
        if (!ubuf)
            return TERN_ENOMEM;
        client_props_to_codec(props, mp, ubuf);
    }
    int rc = TERN_EFULL;
    uint16_t id = client_out_next_id(c);
    if (id == 0)
        goto out;
    if (p->type == MQTT_SUBSCRIBE)
        p->u.subscribe.packet_id = id;
    else
        p->u.unsubscribe.packet_id = id;
    p->flags = 0x2; /* [MQTT-3.8.1-1], [MQTT-3.10.1-1] */
    rc = client_send_packet(c, p);
    if (rc) {
        client_out_release_id(c, id);
        goto out;
    }
    if (idp)
        *idp = id;
out:
    mem_free(ubuf);
    return rc;
}

int tern_client_subscribe(struct tern_client *c, const struct tern_sub *subs, size_t count,
                          const struct tern_props *props, uint16_t *packet_id)
{
    if (!c || !subs || count == 0 || count > MAX_SUB_ENTRIES)
        return TERN_EINVAL;
    if (!can_send(c))
        return TERN_ECLOSED;
    struct mqtt_sub_entry *list = mem_calloc(count, sizeof *list);
    if (!list)
        return TERN_ENOMEM;
    int rc = TERN_EINVAL;
    for (size_t i = 0; i < count; i++) {
        const struct tern_sub *s = &subs[i];
        if (!s->filter || !codec_topic_filter_valid(bytes_str(s->filter)) || s->qos > 2 ||
            s->retain_handling > 2)
            goto out;
        list[i].filter = bytes_str(s->filter);
        list[i].options = s->qos;
        if (c->version == MQTT_V5) {
            list[i].options |= (uint8_t)((s->no_local ? MQTT_SUBOPT_NO_LOCAL : 0) |
                                         (s->retain_as_published ? MQTT_SUBOPT_RAP : 0) |
                                         (s->retain_handling << MQTT_SUBOPT_RH_SHIFT));
        }
    }
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_SUBSCRIBE;
    p.u.subscribe.count = count;
    p.u.subscribe.list = list;
    rc = send_with_id(c, &p, packet_id, props, &p.u.subscribe.props);
out:
    mem_free(list);
    return rc;
}

int tern_client_unsubscribe(struct tern_client *c, const char *const *filters, size_t count,
                            const struct tern_props *props, uint16_t *packet_id)
{
    if (!c || !filters || count == 0 || count > MAX_SUB_ENTRIES)
        return TERN_EINVAL;
    if (!can_send(c))
        return TERN_ECLOSED;
    struct tern_bytes *list = mem_calloc(count, sizeof *list);
    if (!list)
        return TERN_ENOMEM;
    int rc = TERN_EINVAL;
    for (size_t i = 0; i < count; i++) {
        if (!filters[i] || !codec_topic_filter_valid(bytes_str(filters[i])))
            goto out;
        list[i] = bytes_str(filters[i]);
    }
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_UNSUBSCRIBE;
    p.u.unsubscribe.count = count;
    p.u.unsubscribe.list = list;
    rc = send_with_id(c, &p, packet_id, props, &p.u.unsubscribe.props);
out:
    mem_free(list);
    return rc;
}
