/* Internal helpers shared by the codec's files: a bounds-checked reader over a packet body, a
 * writer that either only counts (p == NULL) or writes, and the per-family decode / encode
 * entry points used by the dispatchers. Not part of the public API: only src/codec includes it. */
#ifndef TERN_CODEC_CODEC_INTERNAL_H
#define TERN_CODEC_CODEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec.h"

/* Property context for the will properties of a CONNECT; packet types use their type (1..15). */
#define CODEC_CTX_WILL 0

/* A reader over p[0..len); every read checks the bounds and fails without moving on overrun. */
struct rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

static inline size_t rd_left(const struct rd *r)
{
    return r->len - r->pos;
}

static inline bool rd_u8(struct rd *r, uint8_t *v)
{
    if (rd_left(r) < 1)
        return false;
    *v = r->p[r->pos++];
    return true;
}

static inline bool rd_u16(struct rd *r, uint16_t *v)
{
    if (rd_left(r) < 2)
        return false;
    *v = (uint16_t)((r->p[r->pos] << 8) | r->p[r->pos + 1]);
    r->pos += 2;
    return true;
}

static inline bool rd_u32(struct rd *r, uint32_t *v)
{
    if (rd_left(r) < 4)
        return false;
    const uint8_t *b = r->p + r->pos;
    *v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    r->pos += 4;
    return true;
}

static inline bool rd_bytes(struct rd *r, size_t n, struct tern_bytes *out)
{
    if (rd_left(r) < n)
        return false;
    out->ptr = r->p + r->pos;
    out->len = n;
    r->pos += n;
    return true;
}

/* Binary Data: a 2-byte length then that many bytes. */
static inline bool rd_bin(struct rd *r, struct tern_bytes *out)
{
    uint16_t n;
    size_t save = r->pos;
    if (!rd_u16(r, &n))
        return false;
    if (!rd_bytes(r, n, out)) {
        r->pos = save;
        return false;
    }
    return true;
}

/* UTF-8 Encoded String: Binary Data that must also be valid MQTT UTF-8 [MQTT-1.5.4-1..2]. */
static inline bool rd_str(struct rd *r, struct tern_bytes *out)
{
    return rd_bin(r, out) && codec_utf8_valid(out->ptr, out->len);
}

/* Variable Byte Integer; false when short, non-minimal or over-long (all malformed). */
static inline bool rd_varint(struct rd *r, uint32_t *v)
{
    if (rd_left(r) == 0)
        return false;
    int n = codec_varint_decode(r->p + r->pos, rd_left(r), v);
    if (n <= 0)
        return false;
    r->pos += (size_t)n;
    return true;
}

/* Sets *reason and returns TERN_EPROTO: the one way a decoder reports bad input. */
static inline int codec_fail(uint8_t *reason, uint8_t rc)
{
    *reason = rc;
    return TERN_EPROTO;
}

/* A writer: counts only when p is NULL, otherwise writes at p[pos] (the caller sized the buffer
 * with a counting pass first). `bad` records a field that cannot be encoded. */
struct wr {
    uint8_t *p;
    size_t pos;
    bool bad;
};

static inline void wr_u8(struct wr *w, uint8_t v)
{
    if (w->p)
        w->p[w->pos] = v;
    w->pos++;
}

static inline void wr_u16(struct wr *w, uint16_t v)
{
    wr_u8(w, (uint8_t)(v >> 8));
    wr_u8(w, (uint8_t)v);
}

static inline void wr_u32(struct wr *w, uint32_t v)
{
    wr_u16(w, (uint16_t)(v >> 16));
    wr_u16(w, (uint16_t)v);
}

static inline void wr_mem(struct wr *w, const uint8_t *data, size_t n)
{
    if (w->p && n)
        memcpy(w->p + w->pos, data, n);
    w->pos += n;
}

static inline void wr_bin(struct wr *w, struct tern_bytes b)
{
    if (b.len > 0xFFFF) {
        w->bad = true;
        return;
    }
    wr_u16(w, (uint16_t)b.len);
    wr_mem(w, b.ptr, b.len);
}

static inline void wr_varint(struct wr *w, uint32_t v)
{
    uint8_t tmp[4];
    size_t n = codec_varint_encode(v, tmp);
    if (n == 0) {
        w->bad = true;
        return;
    }
    wr_mem(w, tmp, n);
}

/* ---- codec_props.c ---- */

/* Reads a property block (varint length + properties) for context ctx (CODEC_CTX_WILL or a packet
 * type) into *p, checking ids, where each may appear, repeats and value ranges. */
int codec_props_decode(struct rd *r, uint8_t ctx, struct mqtt_props *p, uint8_t *reason);
/* Writes the property block of p for context ctx; properties the context does not allow are left
 * out. Sets w->bad for values out of range. */
void codec_props_encode(struct wr *w, const struct mqtt_props *p, uint8_t ctx);
/* True when p holds at least one property the context ctx allows. */
bool codec_props_any(const struct mqtt_props *p, uint8_t ctx);

/* ---- codec_reason.c ---- */

/* True when rc is a reason / return code that packet `type` may carry in `version`. */
bool codec_reason_allowed(uint8_t type, uint8_t version, uint8_t rc);

/* ---- per packet family: decode the body in r (the whole remaining length) ---- */

int codec_decode_connect(struct rd *r, struct mqtt_connect *c, uint8_t *reason);
int codec_decode_connack(struct rd *r, uint8_t version, struct mqtt_connack *c, uint8_t *reason);
int codec_decode_publish(struct rd *r, uint8_t flags, uint8_t version, struct mqtt_publish *p,
                         uint8_t *reason);
int codec_decode_ack(struct rd *r, uint8_t type, uint8_t version, struct mqtt_ack *a,
                     uint8_t *reason);
int codec_decode_subscribe(struct rd *r, uint8_t version, struct mqtt_subscribe *s,
                           uint8_t *reason);
int codec_decode_suback(struct rd *r, uint8_t version, struct mqtt_suback *s, uint8_t *reason);
int codec_decode_unsubscribe(struct rd *r, uint8_t version, struct mqtt_unsubscribe *u,
                             uint8_t *reason);
int codec_decode_unsuback(struct rd *r, uint8_t version, struct mqtt_unsuback *u, uint8_t *reason);
/* DISCONNECT and AUTH share their layout: type selects the property context and codes. */
int codec_decode_disconnect(struct rd *r, uint8_t type, uint8_t version, uint8_t *reason_out,
                            struct mqtt_props *props, uint8_t *reason);

/* ---- per packet family: encode the body (everything after the fixed header) ---- */

void codec_encode_connect(struct wr *w, const struct mqtt_connect *c, uint8_t version);
void codec_encode_connack(struct wr *w, const struct mqtt_connack *c, uint8_t version);
void codec_encode_publish(struct wr *w, const struct mqtt_publish *p, uint8_t version,
                          bool with_payload);
void codec_encode_ack(struct wr *w, uint8_t type, const struct mqtt_ack *a, uint8_t version);
void codec_encode_subscribe(struct wr *w, const struct mqtt_subscribe *s, uint8_t version);
void codec_encode_suback(struct wr *w, const struct mqtt_suback *s, uint8_t version);
void codec_encode_unsubscribe(struct wr *w, const struct mqtt_unsubscribe *u, uint8_t version);
void codec_encode_unsuback(struct wr *w, const struct mqtt_unsuback *u, uint8_t version);
void codec_encode_disconnect(struct wr *w, uint8_t type, uint8_t rc, const struct mqtt_props *props,
                             uint8_t version);

/* The first byte's flags a PUBLISH with these fields carries. */
uint8_t codec_publish_flags(const struct mqtt_publish *p);

#endif
