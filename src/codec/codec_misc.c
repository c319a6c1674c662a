/* CONNACK, DISCONNECT and AUTH (PINGREQ / PINGRESP have no body and live in the dispatchers):
 * decoding with the checks of sections 3.2, 3.14 and 3.15, and encoding. Whether a code may be
 * sent in the current session state (e.g. Session Expiry from 0) is the caller's business. */
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec_internal.h"

#define CONNACK_SESSION_PRESENT 0x01

int codec_decode_connack(struct rd *r, uint8_t version, struct mqtt_connack *c, uint8_t *reason)
{
    uint8_t f;
    if (!rd_u8(r, &f) || !rd_u8(r, &c->reason))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* Bits 7-1 of the acknowledge flags are reserved and 0 [MQTT-3.2.2-1] (3.2.2.1). */
    if (f & ~CONNACK_SESSION_PRESENT)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    c->session_present = (f & CONNACK_SESSION_PRESENT) != 0;
    /* Only the listed codes (v5 3.2.2.2, 3.1.1 3.2.2.3: 6-255 reserved). */
    if (!codec_reason_allowed(MQTT_CONNACK, version, c->reason))
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    /* A refusal never claims a session [MQTT-3.2.2-6] (3.1.1 [MQTT-3.2.2-4]). */
    if (c->session_present && c->reason != 0)
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    if (version >= MQTT_V5) {
        int rc = codec_props_decode(r, MQTT_CONNACK, &c->props, reason);
        if (rc < 0)
            return rc;
    }
    if (rd_left(r) != 0)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    return 0;
}

void codec_encode_connack(struct wr *w, const struct mqtt_connack *c, uint8_t version)
{
    if (!codec_reason_allowed(MQTT_CONNACK, version, c->reason) ||
        (c->session_present && c->reason != 0)) {
        w->bad = true;
        return;
    }
    wr_u8(w, c->session_present ? CONNACK_SESSION_PRESENT : 0);
    wr_u8(w, c->reason);
    if (version >= MQTT_V5)
        codec_props_encode(w, &c->props, MQTT_CONNACK);
}

int codec_decode_disconnect(struct rd *r, uint8_t type, uint8_t version, uint8_t *reason_out,
                            struct mqtt_props *props, uint8_t *reason)
{
    if (version < MQTT_V5) {
        /* A v3 DISCONNECT has no variable header or payload (3.1.1 3.14). */
        if (rd_left(r) != 0)
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
        return 0;
    }
    /* Remaining Length 0: reason 0 and no properties (3.14.2.1, 3.15.2.1). */
    if (rd_left(r) == 0)
        return 0;
    if (!rd_u8(r, reason_out))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* Remaining Length 1: no Property Length, so no properties (3.14.2.2.1, 3.15.2.2.1). */
    if (rd_left(r) > 0) {
        int rc = codec_props_decode(r, type, props, reason);
        if (rc < 0)
            return rc;
        if (rd_left(r) != 0)
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    }
    /* Only the codes the packet's table lists (3.14.2.1, 3.15.2.1). */
    if (!codec_reason_allowed(type, version, *reason_out))
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    return 0;
}

void codec_encode_disconnect(struct wr *w, uint8_t type, uint8_t rc, const struct mqtt_props *props,
                             uint8_t version)
{
    if (version < MQTT_V5) {
        /* v3 has no AUTH, and its DISCONNECT is empty. */
        if (type == MQTT_AUTH)
            w->bad = true;
        return;
    }
    if (!codec_reason_allowed(type, version, rc)) {
        w->bad = true;
        return;
    }
    bool any = codec_props_any(props, type);
    if (rc == 0 && !any)
        return;
    wr_u8(w, rc);
    if (any)
        codec_props_encode(w, props, type);
}
