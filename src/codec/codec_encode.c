/* The encoding entry point: sizes the body with a counting pass, then writes the fixed header
 * and the body into the caller's buffer only when the whole packet fits. The per-family body
 * encoders decide what each version carries. */
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec_internal.h"

/* The fixed flags of each type's first byte; PUBLISH takes them from its fields. */
static uint8_t first_byte(const struct mqtt_packet *p)
{
    uint8_t flags = 0;
    if (p->type == MQTT_PUBLISH)
        flags = codec_publish_flags(&p->u.publish);
    else if (p->type == MQTT_PUBREL || p->type == MQTT_SUBSCRIBE || p->type == MQTT_UNSUBSCRIBE)
        flags = 0x02;
    return (uint8_t)(p->type << 4 | flags);
}

static void encode_body(struct wr *w, const struct mqtt_packet *p, uint8_t version)
{
    switch (p->type) {
    case MQTT_CONNECT:
        codec_encode_connect(w, &p->u.connect, version);
        break;
    case MQTT_CONNACK:
        codec_encode_connack(w, &p->u.connack, version);
        break;
    case MQTT_PUBLISH:
        codec_encode_publish(w, &p->u.publish, version, true);
        break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        codec_encode_ack(w, p->type, &p->u.ack, version);
        break;
    case MQTT_SUBSCRIBE:
        codec_encode_subscribe(w, &p->u.subscribe, version);
        break;
    case MQTT_SUBACK:
        codec_encode_suback(w, &p->u.suback, version);
        break;
    case MQTT_UNSUBSCRIBE:
        codec_encode_unsubscribe(w, &p->u.unsubscribe, version);
        break;
    case MQTT_UNSUBACK:
        codec_encode_unsuback(w, &p->u.unsuback, version);
        break;
    case MQTT_PINGREQ:
    case MQTT_PINGRESP:
        break;
    case MQTT_DISCONNECT:
        codec_encode_disconnect(w, MQTT_DISCONNECT, p->u.disconnect.reason, &p->u.disconnect.props,
                                version);
        break;
    case MQTT_AUTH:
        codec_encode_disconnect(w, MQTT_AUTH, p->u.auth.reason, &p->u.auth.props, version);
        break;
    default:
        w->bad = true;
        break;
    }
}

size_t codec_encode(const struct mqtt_packet *p, uint8_t version, uint8_t *buf, size_t cap)
{
    struct wr count = {NULL, 0, false};
    encode_body(&count, p, version);
    if (count.bad || count.pos > MQTT_MAX_REMAINING_LENGTH)
        return 0;
    uint32_t remaining = (uint32_t)count.pos;
    size_t total = 1 + codec_varint_size(remaining) + count.pos;
    if (total > cap)
        return total;
    struct wr out = {buf, 0, false};
    wr_u8(&out, first_byte(p));
    wr_varint(&out, remaining);
    encode_body(&out, p, version);
    return total;
}
