/* The decoding entry points: the fixed header, the checks that need only the fixed header
 * (packet type, reserved flag bits, maximum packet size) and the dispatch of the body to the
 * decoder of its packet family. Reads nothing beyond buf[0..len). */
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec_internal.h"

int codec_decode_fixed_header(const uint8_t *buf, size_t len, uint8_t *type_flags,
                              uint32_t *remaining_len, uint8_t *reason)
{
    if (len < 2)
        return TERN_EAGAIN;
    int n = codec_varint_decode(buf + 1, len - 1, remaining_len);
    if (n == TERN_EAGAIN)
        return TERN_EAGAIN;
    /* The Remaining Length is a minimal Variable Byte Integer of at most 4 bytes
     * [MQTT-1.5.5-1]. */
    if (n < 0)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    *type_flags = buf[0];
    return 1 + n;
}

/* The packet type is known for the version and its reserved flag bits have the fixed values
 * [MQTT-2.2.2-1], [MQTT-2.2.2-2] (v5 2.1.3: otherwise a Malformed Packet). PUBLISH flags are
 * checked by its decoder. */
static int check_type(uint8_t type, uint8_t flags, uint8_t version, uint8_t *reason)
{
    switch (type) {
    case MQTT_PUBLISH:
        return 0;
    case MQTT_PUBREL:
    case MQTT_SUBSCRIBE:
    case MQTT_UNSUBSCRIBE:
        if (flags != 0x02)
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
        return 0;
    case MQTT_AUTH:
        /* Type 15 is reserved before v5 (3.1.1 2.2.1). */
        if (version < MQTT_V5)
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
        break;
    case 0:
        /* Type 0 is reserved in every version. */
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    default:
        break;
    }
    if (flags != 0)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    return 0;
}

static int decode_body(struct rd *r, struct mqtt_packet *out, uint8_t version, uint8_t *reason)
{
    switch (out->type) {
    case MQTT_CONNECT:
        return codec_decode_connect(r, &out->u.connect, reason);
    case MQTT_CONNACK:
        return codec_decode_connack(r, version, &out->u.connack, reason);
    case MQTT_PUBLISH:
        return codec_decode_publish(r, out->flags, version, &out->u.publish, reason);
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        return codec_decode_ack(r, out->type, version, &out->u.ack, reason);
    case MQTT_SUBSCRIBE:
        return codec_decode_subscribe(r, version, &out->u.subscribe, reason);
    case MQTT_SUBACK:
        return codec_decode_suback(r, version, &out->u.suback, reason);
    case MQTT_UNSUBSCRIBE:
        return codec_decode_unsubscribe(r, version, &out->u.unsubscribe, reason);
    case MQTT_UNSUBACK:
        return codec_decode_unsuback(r, version, &out->u.unsuback, reason);
    case MQTT_DISCONNECT:
        return codec_decode_disconnect(r, MQTT_DISCONNECT, version, &out->u.disconnect.reason,
                                       &out->u.disconnect.props, reason);
    case MQTT_AUTH:
        return codec_decode_disconnect(r, MQTT_AUTH, version, &out->u.auth.reason,
                                       &out->u.auth.props, reason);
    default:
        /* PINGREQ and PINGRESP have no variable header and no payload (3.12, 3.13). */
        if (rd_left(r) != 0)
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
        return 0;
    }
}

int codec_decode(const uint8_t *buf, size_t len, uint8_t version, uint32_t max_packet_size,
                 struct mqtt_packet *out, uint8_t *reason)
{
    uint8_t type_flags;
    uint32_t remaining;
    memset(out, 0, sizeof *out);
    int hdr = codec_decode_fixed_header(buf, len, &type_flags, &remaining, reason);
    if (hdr < 0)
        return hdr;
    out->type = (uint8_t)(type_flags >> 4);
    out->flags = (uint8_t)(type_flags & 0x0F);
    /* CONNECT carries its own version; everything else is read in the connection's. */
    int rc = check_type(out->type, out->flags, version, reason);
    if (rc < 0)
        return rc;
    /* Refuse a packet larger than the receiver's maximum as soon as the fixed header shows it,
     * without buffering its body (v5 3.1.2.11.4, 3.2.2.3.6). */
    uint32_t max = max_packet_size ? max_packet_size : MQTT_MAX_PACKET_SIZE;
    size_t total = (size_t)hdr + remaining;
    if (total > max)
        return codec_fail(reason, MQTT_RC_PACKET_TOO_LARGE);
    if (len < total)
        return TERN_EAGAIN;
    struct rd r = {buf + hdr, remaining, 0};
    rc = decode_body(&r, out, version, reason);
    if (rc < 0)
        return rc;
    /* Every byte the Remaining Length announces belongs to a field. */
    if (rd_left(&r) != 0)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    out->len = (uint32_t)total;
    return (int)total;
}
