/* SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (3.8 to 3.11): decoding with the well-formedness
 * checks, iterators over the decoded filter lists, and encoding. Topic filters are only checked
 * to be UTF-8 here; their syntax is judged per filter with codec_topic_filter_valid(). */
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec_internal.h"

#define RH_DONT_SEND 3

static int decode_id(struct rd *r, uint16_t *id, uint8_t *reason)
{
    if (!rd_u16(r, id))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* SUBSCRIBE, UNSUBSCRIBE and their acks carry a non-zero identifier [MQTT-2.2.1-3]
     * (3.1.1 [MQTT-2.3.1-1]). */
    if (*id == 0)
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    return 0;
}

static int check_options(uint8_t o, uint8_t version, uint8_t *reason)
{
    if (version < MQTT_V5) {
        /* The upper 6 bits of the Requested QoS byte are 0, and QoS 3 is malformed
         * [MQTT-3-8.3-4]. */
        if ((o & ~MQTT_SUBOPT_QOS_MASK) || (o & MQTT_SUBOPT_QOS_MASK) == 3)
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
        return 0;
    }
    /* Reserved bits 6-7 of the Subscription Options are 0 [MQTT-3.8.3-5]. */
    if (o & MQTT_SUBOPT_RESERVED_MASK)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* Maximum QoS 3 and Retain Handling 3 are Protocol Errors (3.8.3.1). */
    if ((o & MQTT_SUBOPT_QOS_MASK) == 3 ||
        ((o & MQTT_SUBOPT_RH_MASK) >> MQTT_SUBOPT_RH_SHIFT) == RH_DONT_SEND)
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    return 0;
}

int codec_decode_subscribe(struct rd *r, uint8_t version, struct mqtt_subscribe *s, uint8_t *reason)
{
    int rc = decode_id(r, &s->packet_id, reason);
    if (rc == 0 && version >= MQTT_V5)
        rc = codec_props_decode(r, MQTT_SUBSCRIBE, &s->props, reason);
    if (rc < 0)
        return rc;
    size_t start = r->pos;
    while (rd_left(r) > 0) {
        struct tern_bytes filter;
        uint8_t opts;
        /* Each filter is a UTF-8 string [MQTT-3.8.3-1] followed by its options byte. */
        if (!rd_str(r, &filter) || !rd_u8(r, &opts))
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
        rc = check_options(opts, version, reason);
        if (rc < 0)
            return rc;
        s->count++;
    }
    /* At least one filter [MQTT-3.8.3-3] (v5 [MQTT-3.8.3-2]: a Protocol Error). */
    if (s->count == 0)
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    s->entries = bytes_of(r->p + start, r->pos - start);
    return 0;
}

bool codec_subscribe_next(const struct mqtt_subscribe *s, size_t *pos, struct mqtt_sub_entry *out)
{
    if (*pos >= s->entries.len)
        return false;
    struct rd r = {s->entries.ptr, s->entries.len, *pos};
    if (!rd_bin(&r, &out->filter) || !rd_u8(&r, &out->options)) {
        *pos = s->entries.len;
        return false;
    }
    *pos = r.pos;
    return true;
}

int codec_decode_unsubscribe(struct rd *r, uint8_t version, struct mqtt_unsubscribe *u,
                             uint8_t *reason)
{
    int rc = decode_id(r, &u->packet_id, reason);
    if (rc == 0 && version >= MQTT_V5)
        rc = codec_props_decode(r, MQTT_UNSUBSCRIBE, &u->props, reason);
    if (rc < 0)
        return rc;
    size_t start = r->pos;
    while (rd_left(r) > 0) {
        struct tern_bytes filter;
        /* Each filter is a UTF-8 string [MQTT-3.10.3-1]. */
        if (!rd_str(r, &filter))
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
        u->count++;
    }
    /* At least one filter [MQTT-3.10.3-2]. */
    if (u->count == 0)
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    u->entries = bytes_of(r->p + start, r->pos - start);
    return 0;
}

bool codec_unsubscribe_next(const struct mqtt_unsubscribe *u, size_t *pos, struct tern_bytes *out)
{
    if (*pos >= u->entries.len)
        return false;
    struct rd r = {u->entries.ptr, u->entries.len, *pos};
    if (!rd_bin(&r, out)) {
        *pos = u->entries.len;
        return false;
    }
    *pos = r.pos;
    return true;
}

/* The list of reason codes that ends a SUBACK or a v5 UNSUBACK: one per filter, so at least
 * one, each one the packet's table lists (3.9.3, 3.11.3). */
static int decode_reasons(struct rd *r, uint8_t type, uint8_t version, struct tern_bytes *out,
                          uint8_t *reason)
{
    *out = bytes_of(r->p + r->pos, rd_left(r));
    r->pos = r->len;
    if (out->len == 0)
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    for (size_t i = 0; i < out->len; i++) {
        if (!codec_reason_allowed(type, version, out->ptr[i]))
            return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    }
    return 0;
}

int codec_decode_suback(struct rd *r, uint8_t version, struct mqtt_suback *s, uint8_t *reason)
{
    int rc = decode_id(r, &s->packet_id, reason);
    if (rc == 0 && version >= MQTT_V5)
        rc = codec_props_decode(r, MQTT_SUBACK, &s->props, reason);
    if (rc < 0)
        return rc;
    return decode_reasons(r, MQTT_SUBACK, version, &s->reasons, reason);
}

int codec_decode_unsuback(struct rd *r, uint8_t version, struct mqtt_unsuback *u, uint8_t *reason)
{
    int rc = decode_id(r, &u->packet_id, reason);
    if (rc < 0)
        return rc;
    if (version < MQTT_V5) {
        /* A v3 UNSUBACK is the packet identifier only (3.1.1 3.11.1). */
        if (rd_left(r) != 0)
            return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
        return 0;
    }
    rc = codec_props_decode(r, MQTT_UNSUBACK, &u->props, reason);
    if (rc < 0)
        return rc;
    return decode_reasons(r, MQTT_UNSUBACK, version, &u->reasons, reason);
}

/* ---- Encoding ---- */

static bool options_encodable(uint8_t o, uint8_t version)
{
    if ((o & MQTT_SUBOPT_QOS_MASK) == 3)
        return false;
    if (version < MQTT_V5)
        return true; /* only the QoS bits are written */
    return !(o & MQTT_SUBOPT_RESERVED_MASK) &&
           ((o & MQTT_SUBOPT_RH_MASK) >> MQTT_SUBOPT_RH_SHIFT) != RH_DONT_SEND;
}

void codec_encode_subscribe(struct wr *w, const struct mqtt_subscribe *s, uint8_t version)
{
    if (s->packet_id == 0 || s->count == 0 || !s->list) {
        w->bad = true;
        return;
    }
    wr_u16(w, s->packet_id);
    if (version >= MQTT_V5)
        codec_props_encode(w, &s->props, MQTT_SUBSCRIBE);
    for (size_t i = 0; i < s->count; i++) {
        uint8_t o = s->list[i].options;
        if (!options_encodable(o, version))
            w->bad = true;
        if (version < MQTT_V5)
            o &= MQTT_SUBOPT_QOS_MASK;
        wr_bin(w, s->list[i].filter);
        wr_u8(w, o);
    }
}

void codec_encode_unsubscribe(struct wr *w, const struct mqtt_unsubscribe *u, uint8_t version)
{
    if (u->packet_id == 0 || u->count == 0 || !u->list) {
        w->bad = true;
        return;
    }
    wr_u16(w, u->packet_id);
    if (version >= MQTT_V5)
        codec_props_encode(w, &u->props, MQTT_UNSUBSCRIBE);
    for (size_t i = 0; i < u->count; i++)
        wr_bin(w, u->list[i]);
}

static void encode_reasons(struct wr *w, uint8_t type, uint8_t version, struct tern_bytes rs)
{
    if (rs.len == 0)
        w->bad = true;
    for (size_t i = 0; i < rs.len; i++) {
        if (!codec_reason_allowed(type, version, rs.ptr[i]))
            w->bad = true;
    }
    wr_mem(w, rs.ptr, rs.len);
}

void codec_encode_suback(struct wr *w, const struct mqtt_suback *s, uint8_t version)
{
    if (s->packet_id == 0)
        w->bad = true;
    wr_u16(w, s->packet_id);
    if (version >= MQTT_V5)
        codec_props_encode(w, &s->props, MQTT_SUBACK);
    encode_reasons(w, MQTT_SUBACK, version, s->reasons);
}

void codec_encode_unsuback(struct wr *w, const struct mqtt_unsuback *u, uint8_t version)
{
    if (u->packet_id == 0)
        w->bad = true;
    wr_u16(w, u->packet_id);
    if (version < MQTT_V5)
        return;
    codec_props_encode(w, &u->props, MQTT_UNSUBACK);
    encode_reasons(w, MQTT_UNSUBACK, version, u->reasons);
}
