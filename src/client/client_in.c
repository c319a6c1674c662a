/* libtern inbound packets: CONNACK, PUBLISH (QoS 0/1/2 with the receiver side of the QoS 2
 * flow and inbound topic aliases), PUBREL, SUBACK, UNSUBACK, PINGRESP, DISCONNECT.
 * Acknowledgements of our own publishes are handled in client_out.c. */
#include <string.h>

#include "client_impl.h"
#include "err.h"
#include "mem.h"

void client_in_reset(struct tern_client *c)
{
    for (size_t i = 0; c->alias_in && i < c->alias_in_cap; i++)
        mem_free(c->alias_in[i]);
    mem_free(c->alias_in);
    c->alias_in = NULL;
    c->alias_in_cap = 0;
    if (c->qos2_in)
        memset(c->qos2_in, 0, 8192);
}

/* Takes the server's limits from CONNACK properties. */
static void read_server_limits(struct tern_client *c, const struct mqtt_props *p)
{
    if (p->present & MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM))
        c->srv_receive_max = p->receive_maximum;
    if (p->present & MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE))
        c->srv_max_packet = p->maximum_packet_size;
    if (p->present & MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_QOS))
        c->srv_max_qos = p->maximum_qos;
    if (p->present & MQTT_PROP_BIT(MQTT_PROP_RETAIN_AVAILABLE))
        c->srv_retain = p->retain_available != 0;
    if (p->present & MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM))
        c->srv_alias_max = p->topic_alias_maximum;
    /* The client must use the Server Keep Alive instead of its own [MQTT-3.2.2-21]. */
    if (p->present & MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE))
        c->keep_alive_s = p->server_keep_alive;
}

static int on_connack(struct tern_client *c, const struct mqtt_connack *a)
{
    struct tern_props props;
    const struct tern_props *pp = NULL;
    if (c->state != CS_WAIT_CONNACK)
        return TERN_EPROTO;
    c->connack_reason = a->reason;
    if (c->version == MQTT_V5) {
        int rc = client_props_from_codec(c, &a->props, &props);
        if (rc)
            return rc;
        pp = &props;
        read_server_limits(c, &a->props);
    }
    unsigned gen = c->conn_gen;
    if (a->reason != 0) {
        if (c->cb.on_connack)
            c->cb.on_connack(c, c->ud, a->session_present, a->reason, pp);
        if (c->conn_gen == gen)
            client_close(c, TERN_EDENIED, a->reason, pp);
        return 0;
    }
    c->state = CS_CONNECTED;
    client_reconnect_connected(c);
    int rc = client_out_resend(c, a->session_present);
    if (rc)
        return rc;
    if (c->cb.on_connack)
        c->cb.on_connack(c, c->ud, a->session_present, a->reason, pp);
    if (c->conn_gen != gen || c->state != CS_CONNECTED)
        return 0;
    return client_out_flush(c);
}

/* Resolves (and records) a v5 topic alias [MQTT-3.3.2-7..12]. Sets *topic. */
static int resolve_alias(struct tern_client *c, const struct mqtt_publish *m,
                         struct tern_bytes *topic)
{
    *topic = m->topic;
    if (!(m->props.present & MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS))) {
        /* Without an alias the topic name must not be empty [MQTT-3.3.2-1]. */
        return m->topic.len ? 0 : TERN_EPROTO;
    }
    uint16_t alias = m->props.topic_alias;
    /* An alias of 0 or above our Topic Alias Maximum is a protocol error [MQTT-3.3.2-9]. */
    if (alias == 0 || alias > c->alias_in_max)
        return TERN_EPROTO;
    if (!c->alias_in) {
        c->alias_in = mem_calloc(c->alias_in_max, sizeof *c->alias_in);
        if (!c->alias_in)
            return TERN_ENOMEM;
        c->alias_in_cap = c->alias_in_max;
    }
    char **slot = &c->alias_in[alias - 1];
    if (m->topic.len) {
        char *t = mem_strndup((const char *)m->topic.ptr, m->topic.len);
        if (!t)
            return TERN_ENOMEM;
        mem_free(*slot);
        *slot = t;
        return 0;
    }
    if (!*slot)
        return TERN_EPROTO; /* an alias the server never defined */
    *topic = bytes_str(*slot);
    return 0;
}

static bool qos2_seen(const struct tern_client *c, uint16_t id)
{
    return (c->qos2_in[id >> 3] & (1u << (id & 7))) != 0;
}

static void qos2_set(struct tern_client *c, uint16_t id, bool on)
{
    if (on)
        c->qos2_in[id >> 3] |= (uint8_t)(1u << (id & 7));
    else
        c->qos2_in[id >> 3] &= (uint8_t) ~(1u << (id & 7));
}

static int deliver(struct tern_client *c, const struct mqtt_publish *m, struct tern_bytes topic)
{
    if (!c->cb.on_message)
        return 0;
    struct tern_message msg;
    memset(&msg, 0, sizeof msg);
    msg.topic.ptr = (const char *)topic.ptr;
    msg.topic.len = topic.len;
    msg.payload.ptr = (const char *)m->payload.ptr;
    msg.payload.len = m->payload.len;
    msg.qos = m->qos;
    msg.retain = m->retain;
    msg.dup = m->dup;
    msg.packet_id = m->packet_id;
    if (c->version == MQTT_V5) {
        int rc = client_props_from_codec(c, &m->props, &msg.props);
        if (rc)
            return rc;
        msg.raw_props.ptr = (const char *)m->props.raw.ptr;
        msg.raw_props.len = m->props.raw.len;
    }
    c->cb.on_message(c, c->ud, &msg);
    return 0;
}

static int on_publish(struct tern_client *c, const struct mqtt_publish *m)
{
    struct tern_bytes topic;
    int rc = resolve_alias(c, m, &topic);
    if (rc)
        return rc;
    unsigned gen = c->conn_gen;
    if (m->qos == 2) {
        /* Deliver once: a PUBLISH whose id awaits PUBREL is a resend [MQTT-4.3.3-10]. */
        if (!qos2_seen(c, m->packet_id)) {
            rc = deliver(c, m, topic);
            if (rc || c->conn_gen != gen)
                return rc;
            qos2_set(c, m->packet_id, true);
        }
        return client_out_send_ack(c, MQTT_PUBREC, m->packet_id, 0);
    }
    rc = deliver(c, m, topic);
    if (rc || c->conn_gen != gen)
        return rc;
    if (m->qos == 1)
        return client_out_send_ack(c, MQTT_PUBACK, m->packet_id, 0);
    return 0;
}

static int on_pubrel(struct tern_client *c, const struct mqtt_ack *a)
{
    uint8_t reason = 0;
    if (!qos2_seen(c, a->packet_id) && c->version == MQTT_V5)
        reason = MQTT_RC_PACKET_IDENTIFIER_NOT_FOUND;
    qos2_set(c, a->packet_id, false);
    /* PUBREL is answered by PUBCOMP with the same id [MQTT-4.3.3-11]. */
    return client_out_send_ack(c, MQTT_PUBCOMP, a->packet_id, reason);
}

static int on_suback(struct tern_client *c, uint8_t type, uint16_t id, struct tern_bytes reasons,
                     const struct mqtt_props *mp)
{
    struct tern_props props;
    const struct tern_props *pp = NULL;
    if (c->version == MQTT_V5) {
        int rc = client_props_from_codec(c, mp, &props);
        if (rc)
            return rc;
        pp = &props;
    }
    client_out_release_id(c, id);
    if (type == MQTT_SUBACK && c->cb.on_suback)
        c->cb.on_suback(c, c->ud, id, reasons.ptr, reasons.len, pp);
    else if (type == MQTT_UNSUBACK && c->cb.on_unsuback)
        c->cb.on_unsuback(c, c->ud, id, reasons.ptr, reasons.len, pp);
    return 0;
}

static int on_disconnect(struct tern_client *c, const struct mqtt_disconnect *d)
{
    struct tern_props props;
    const struct tern_props *pp = NULL;
    if (c->version != MQTT_V5)
        return TERN_EPROTO; /* only v5 servers send DISCONNECT */
    int rc = client_props_from_codec(c, &d->props, &props);
    if (rc)
        return rc;
    pp = &props;
    client_close(c, TERN_ECLOSED, d->reason, pp);
    return 0;
}

int client_in_packet(struct tern_client *c, const struct mqtt_packet *p)
{
    /* The first packet from the server must be CONNACK [MQTT-3.2.0-1]. */
    if (c->state == CS_WAIT_CONNACK && p->type != MQTT_CONNACK)
        return TERN_EPROTO;
    switch (p->type) {
    case MQTT_CONNACK:
        return on_connack(c, &p->u.connack);
    case MQTT_PUBLISH:
        return on_publish(c, &p->u.publish);
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBCOMP:
        return client_out_ack(c, p->type, &p->u.ack);
    case MQTT_PUBREL:
        return on_pubrel(c, &p->u.ack);
    case MQTT_SUBACK:
        return on_suback(c, MQTT_SUBACK, p->u.suback.packet_id, p->u.suback.reasons,
                         &p->u.suback.props);
    case MQTT_UNSUBACK:
        return on_suback(c, MQTT_UNSUBACK, p->u.unsuback.packet_id, p->u.unsuback.reasons,
                         &p->u.unsuback.props);
    case MQTT_PINGRESP:
        c->ping_pending = false;
        return 0;
    case MQTT_DISCONNECT:
        return on_disconnect(c, &p->u.disconnect);
    default:
        /* CONNECT, SUBSCRIBE, PINGREQ, AUTH (no enhanced authentication) ... */
        return TERN_EPROTO;
    }
}
