/* PUBACK, PUBREC, PUBREL and PUBCOMP: packet identifier, then in v5 an optional reason code and
 * optional properties (3.4 to 3.7). Which packet identifiers are in flight is session state,
 * not checked here. */
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec_internal.h"

int codec_decode_ack(struct rd *r, uint8_t type, uint8_t version, struct mqtt_ack *a,
                     uint8_t *reason)
{
    if (!rd_u16(r, &a->packet_id))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* Acknowledgements carry the non-zero identifier of what they acknowledge [MQTT-2.2.1-3]
     * (3.1.1 [MQTT-2.3.1-1]). */
    if (a->packet_id == 0)
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    if (version < MQTT_V5) {
        /* Before v5 the Remaining Length is exactly 2 (3.4.1 to 3.7.1). */
        if (rd_left(r) != 0)
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
        return 0;
    }
    /* Remaining Length 2: Reason Code 0 and no properties (3.4.2.1). */
    if (rd_left(r) == 0)
        return 0;
    if (!rd_u8(r, &a->reason))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* Remaining Length 3: no Property Length, so no properties (3.4.2.2.1). */
    if (rd_left(r) > 0) {
        int rc = codec_props_decode(r, type, &a->props, reason);
        if (rc < 0)
            return rc;
        if (rd_left(r) != 0)
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    }
    /* Only the reason codes the packet's table lists (3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1). */
    if (!codec_reason_allowed(type, version, a->reason))
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    return 0;
}

void codec_encode_ack(struct wr *w, uint8_t type, const struct mqtt_ack *a, uint8_t version)
{
    if (a->packet_id == 0) {
        w->bad = true;
        return;
    }
    wr_u16(w, a->packet_id);
    if (version < MQTT_V5)
        return;
    if (!codec_reason_allowed(type, version, a->reason)) {
        w->bad = true;
        return;
    }
    /* Leave out what the receiver can infer: reason 0 without properties, or no properties. */
    bool props = codec_props_any(&a->props, type);
    if (a->reason == MQTT_RC_SUCCESS && !props)
        return;
    wr_u8(w, a->reason);
    if (props)
        codec_props_encode(w, &a->props, type);
}
