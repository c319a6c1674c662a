/* PUBLISH: decoding with the checks of section 3.3 (flags, topic name, packet identifier,
 * properties), encoding of a whole packet, and of its head only for the fan-out hot path.
 * Topic Alias values against the negotiated maximum are session state, not checked here. */
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec_internal.h"

#define PF_RETAIN    0x01
#define PF_QOS_SHIFT 1
#define PF_DUP       0x08

static int decode_topic(struct mqtt_publish *p, uint8_t version, uint8_t *reason)
{
    if (p->topic.len == 0) {
        /* An empty topic name is only allowed with a Topic Alias in v5 (3.3.2.3.4); before v5
         * names are at least one character long [MQTT-4.7.3-1]. */
        bool alias = (p->props.present & MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS)) != 0;
        if (version < MQTT_V5 || !alias)
            return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
        return 0;
    }
    /* No wildcards in a topic name [MQTT-3.3.2-2]. */
    if (!codec_topic_name_valid(p->topic))
        return codec_fail(reason, MQTT_RC_TOPIC_NAME_INVALID);
    return 0;
}

int codec_decode_publish(struct rd *r, uint8_t flags, uint8_t version, struct mqtt_publish *p,
                         uint8_t *reason)
{
    p->retain = (flags & PF_RETAIN) != 0;
    p->qos = (uint8_t)((flags >> PF_QOS_SHIFT) & 0x03);
    p->dup = (flags & PF_DUP) != 0;
    /* QoS 3 is malformed [MQTT-3.3.1-4]. */
    if (p->qos == 3)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* DUP must be 0 for QoS 0 [MQTT-3.3.1-2]. */
    if (p->dup && p->qos == 0)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* The topic name is a UTF-8 string [MQTT-3.3.2-1]. */
    if (!rd_str(r, &p->topic))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    if (p->qos > 0) {
        if (!rd_u16(r, &p->packet_id))
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
        /* A QoS > 0 PUBLISH has a non-zero packet identifier [MQTT-2.2.1-3]
         * (3.1.1 [MQTT-2.3.1-1]). */
        if (p->packet_id == 0)
            return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    }
    if (version >= MQTT_V5) {
        int rc = codec_props_decode(r, MQTT_PUBLISH, &p->props, reason);
        if (rc < 0)
            return rc;
    }
    int rc = decode_topic(p, version, reason);
    if (rc < 0)
        return rc;
    /* The payload is the rest of the packet and may be empty (3.3.3). */
    p->payload = bytes_of(r->p + r->pos, rd_left(r));
    r->pos = r->len;
    return 0;
}

uint8_t codec_publish_flags(const struct mqtt_publish *p)
{
    uint8_t f = (uint8_t)((p->qos & 0x03) << PF_QOS_SHIFT);
    if (p->retain)
        f |= PF_RETAIN;
    if (p->dup)
        f |= PF_DUP;
    return f;
}

void codec_encode_publish(struct wr *w, const struct mqtt_publish *p, uint8_t version,
                          bool with_payload)
{
    bool v5 = version >= MQTT_V5;
    bool alias = v5 && (p->props.present & MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS));
    if (p->qos > 2 || (p->qos == 0 && p->dup) || (p->qos > 0 && p->packet_id == 0) ||
        (p->topic.len == 0 && !alias)) {
        w->bad = true;
        return;
    }
    wr_bin(w, p->topic);
    if (p->qos > 0)
        wr_u16(w, p->packet_id);
    if (v5)
        codec_props_encode(w, &p->props, MQTT_PUBLISH);
    if (with_payload)
        wr_mem(w, p->payload.ptr, p->payload.len);
}

size_t codec_encode_publish_head(const struct mqtt_publish *p, uint8_t version, size_t payload_len,
                                 uint8_t *buf, size_t cap)
{
    struct wr w = {NULL, 0, false};
    codec_encode_publish(&w, p, version, false);
    if (w.bad || payload_len > MQTT_MAX_REMAINING_LENGTH ||
        w.pos > MQTT_MAX_REMAINING_LENGTH - payload_len)
        return 0;
    uint32_t remaining = (uint32_t)(w.pos + payload_len);
    size_t head = 1 + codec_varint_size(remaining) + w.pos;
    if (head > cap)
        return head;
    struct wr out = {buf, 0, false};
    wr_u8(&out, (uint8_t)(MQTT_PUBLISH << 4 | codec_publish_flags(p)));
    wr_varint(&out, remaining);
    codec_encode_publish(&out, p, version, false);
    return head;
}
