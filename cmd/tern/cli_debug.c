/* -d debug lines for `tern pub/sub/rr`: decodes each traced packet with the codec and prints
 * libmosquitto 2.0's wording for it. Output formatting only; the packets come from libtern's
 * on_packet hook and are never changed here. */
#include "cli_debug.h"

#include "codec.h"

static const char *type_name(uint8_t type)
{
    static const char *const names[] = {"RESERVED",  "CONNECT",  "CONNACK",     "PUBLISH",
                                        "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                        "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                        "PINGREQ",   "PINGRESP", "DISCONNECT",  "AUTH"};
    return names[type & 0x0F];
}

static void publish_line(struct cli_cfg *cfg, FILE *out, const char *verb,
                         const struct mqtt_packet *p)
{
    const struct mqtt_publish *m = &p->u.publish;
    unsigned mid = m->packet_id;
    /* libmosquitto numbers every outgoing message, QoS 0 included; received QoS 0 is m0. */
    if (m->qos > 0)
        cfg->debug_mid = m->packet_id;
    else if (verb[0] == 's')
        mid = ++cfg->debug_mid;
    fprintf(out, "Client %s %s PUBLISH (d%d, q%d, r%d, m%u, '%.*s', ... (%zu bytes))\n", cfg->id,
            verb, m->dup ? 1 : 0, m->qos, m->retain ? 1 : 0, mid, (int)m->topic.len,
            (const char *)m->topic.ptr, m->payload.len);
}

static void subscribe_lines(struct cli_cfg *cfg, FILE *out, const struct mqtt_packet *p)
{
    const struct mqtt_subscribe *s = &p->u.subscribe;
    struct mqtt_sub_entry e;
    size_t pos = 0;
    cfg->debug_mid = s->packet_id;
    while (codec_subscribe_next(s, &pos, &e))
        fprintf(out,
                "Client %s sending SUBSCRIBE (Mid: %u, Topic: %.*s, QoS: %d, Options: 0x%02x)\n",
                cfg->id, s->packet_id, (int)e.filter.len, (const char *)e.filter.ptr,
                e.options & 0x03, e.options & 0xFC);
}

static void unsubscribe_lines(struct cli_cfg *cfg, FILE *out, const struct mqtt_packet *p)
{
    const struct mqtt_unsubscribe *u = &p->u.unsubscribe;
    struct tern_bytes f;
    size_t pos = 0;
    cfg->debug_mid = u->packet_id;
    while (codec_unsubscribe_next(u, &pos, &f))
        fprintf(out, "Client %s sending UNSUBSCRIBE (Mid: %u, Topic: %.*s)\n", cfg->id,
                u->packet_id, (int)f.len, (const char *)f.ptr);
}

static void sent_line(struct cli_cfg *cfg, FILE *out, const struct mqtt_packet *p)
{
    const char *id = cfg->id;
    const struct mqtt_ack *a = &p->u.ack;
    switch (p->type) {
    case MQTT_PUBLISH:
        publish_line(cfg, out, "sending", p);
        break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
        fprintf(out, "Client %s sending %s (m%u, rc%d)\n", id,
                p->type == MQTT_PUBACK ? "PUBACK" : "PUBREC", a->packet_id, a->reason);
        break;
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        fprintf(out, "Client %s sending %s (m%u)\n", id,
                p->type == MQTT_PUBREL ? "PUBREL" : "PUBCOMP", a->packet_id);
        break;
    case MQTT_SUBSCRIBE:
        subscribe_lines(cfg, out, p);
        break;
    case MQTT_UNSUBSCRIBE:
        unsubscribe_lines(cfg, out, p);
        break;
    default:
        fprintf(out, "Client %s sending %s\n", id, type_name(p->type));
    }
}

static void received_line(struct cli_cfg *cfg, FILE *out, const struct mqtt_packet *p)
{
    const char *id = cfg->id;
    const struct mqtt_ack *a = &p->u.ack;
    switch (p->type) {
    case MQTT_CONNACK:
        fprintf(out, "Client %s received CONNACK (%d)\n", id, p->u.connack.reason);
        break;
    case MQTT_PUBLISH:
        publish_line(cfg, out, "received", p);
        break;
    case MQTT_PUBACK:
    case MQTT_PUBCOMP:
        fprintf(out, "Client %s received %s (Mid: %u, RC:%d)\n", id,
                p->type == MQTT_PUBACK ? "PUBACK" : "PUBCOMP", a->packet_id, a->reason);
        break;
    case MQTT_PUBREC:
    case MQTT_PUBREL:
        fprintf(out, "Client %s received %s (Mid: %u)\n", id,
                p->type == MQTT_PUBREC ? "PUBREC" : "PUBREL", a->packet_id);
        break;
    case MQTT_DISCONNECT:
        /* libmosquitto logs this one without the client id. */
        fprintf(out, "Received DISCONNECT (%d)\n", p->u.disconnect.reason);
        break;
    default:
        fprintf(out, "Client %s received %s\n", id, type_name(p->type));
    }
}

void cli_debug_packet(struct cli_cfg *cfg, FILE *out, bool sent, const uint8_t *data, size_t len)
{
    struct mqtt_packet p;
    uint8_t reason = 0;
    if (codec_decode(data, len, (uint8_t)cfg->version, 0, &p, &reason) <= 0)
        return;
    if (sent)
        sent_line(cfg, out, &p);
    else
        received_line(cfg, out, &p);
    fflush(out);
}
