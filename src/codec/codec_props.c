/* MQTT 5 properties: decoding a property block with every check of section 2.2.2 (known ids,
 * the packets each may appear in, repeats, value ranges), encoding one, and iterating the
 * repeatable ones. Does not judge values against session state (e.g. Topic Alias maximum). */
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec_internal.h"

enum kind { K_NONE, K_U8, K_U16, K_U32, K_VARINT, K_STR, K_BIN, K_PAIR };

/* Where a property may appear: bit t for packet type t, bit 0 for the will properties. */
#define IN(t)   ((uint16_t)(1u << (t)))
#define IN_WILL IN(CODEC_CTX_WILL)
#define IN_PUB  (IN_WILL | IN(MQTT_PUBLISH))
#define IN_ACKS (IN(MQTT_PUBACK) | IN(MQTT_PUBREC) | IN(MQTT_PUBREL) | IN(MQTT_PUBCOMP))
#define IN_CC   (IN(MQTT_CONNECT) | IN(MQTT_CONNACK))
#define IN_AUTH (IN_CC | IN(MQTT_AUTH))
#define IN_REASON_STRING                                                                           \
    (IN(MQTT_CONNACK) | IN_ACKS | IN(MQTT_SUBACK) | IN(MQTT_UNSUBACK) | IN(MQTT_DISCONNECT) |      \
     IN(MQTT_AUTH))
#define IN_ANY   ((uint16_t)(0xFFFFu & ~(IN(MQTT_PINGREQ) | IN(MQTT_PINGRESP))))
#define PROP_MAX 0x2A

struct prop_def {
    uint8_t kind;
    uint16_t where;
    uint16_t off; /* offset of the field in struct mqtt_props */
};

#define DEF(id, k, w, field) [id] = {k, w, (uint16_t)offsetof(struct mqtt_props, field)}

/* The table of section 2.2.2.2. */
static const struct prop_def defs[PROP_MAX + 1] = {
    DEF(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, K_U8, IN_PUB, payload_format),
    DEF(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, K_U32, IN_PUB, message_expiry),
    DEF(MQTT_PROP_CONTENT_TYPE, K_STR, IN_PUB, content_type),
    DEF(MQTT_PROP_RESPONSE_TOPIC, K_STR, IN_PUB, response_topic),
    DEF(MQTT_PROP_CORRELATION_DATA, K_BIN, IN_PUB, correlation_data),
    DEF(MQTT_PROP_SUBSCRIPTION_IDENTIFIER, K_VARINT, IN(MQTT_PUBLISH) | IN(MQTT_SUBSCRIBE), sub_id),
    DEF(MQTT_PROP_SESSION_EXPIRY_INTERVAL, K_U32, IN_CC | IN(MQTT_DISCONNECT), session_expiry),
    DEF(MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER, K_STR, IN(MQTT_CONNACK), assigned_client_id),
    DEF(MQTT_PROP_SERVER_KEEP_ALIVE, K_U16, IN(MQTT_CONNACK), server_keep_alive),
    DEF(MQTT_PROP_AUTHENTICATION_METHOD, K_STR, IN_AUTH, auth_method),
    DEF(MQTT_PROP_AUTHENTICATION_DATA, K_BIN, IN_AUTH, auth_data),
    DEF(MQTT_PROP_REQUEST_PROBLEM_INFORMATION, K_U8, IN(MQTT_CONNECT), request_problem_info),
    DEF(MQTT_PROP_WILL_DELAY_INTERVAL, K_U32, IN_WILL, will_delay),
    DEF(MQTT_PROP_REQUEST_RESPONSE_INFORMATION, K_U8, IN(MQTT_CONNECT), request_response_info),
    DEF(MQTT_PROP_RESPONSE_INFORMATION, K_STR, IN(MQTT_CONNACK), response_info),
    DEF(MQTT_PROP_SERVER_REFERENCE, K_STR, IN(MQTT_CONNACK) | IN(MQTT_DISCONNECT),
        server_reference),
    DEF(MQTT_PROP_REASON_STRING, K_STR, IN_REASON_STRING, reason_string),
    DEF(MQTT_PROP_RECEIVE_MAXIMUM, K_U16, IN_CC, receive_maximum),
    DEF(MQTT_PROP_TOPIC_ALIAS_MAXIMUM, K_U16, IN_CC, topic_alias_maximum),
    DEF(MQTT_PROP_TOPIC_ALIAS, K_U16, IN(MQTT_PUBLISH), topic_alias),
    DEF(MQTT_PROP_MAXIMUM_QOS, K_U8, IN(MQTT_CONNACK), maximum_qos),
    DEF(MQTT_PROP_RETAIN_AVAILABLE, K_U8, IN(MQTT_CONNACK), retain_available),
    DEF(MQTT_PROP_USER_PROPERTY, K_PAIR, IN_ANY, user_count),
    DEF(MQTT_PROP_MAXIMUM_PACKET_SIZE, K_U32, IN_CC, maximum_packet_size),
    DEF(MQTT_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE, K_U8, IN(MQTT_CONNACK), wildcard_sub_available),
    DEF(MQTT_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE, K_U8, IN(MQTT_CONNACK), sub_id_available),
    DEF(MQTT_PROP_SHARED_SUBSCRIPTION_AVAILABLE, K_U8, IN(MQTT_CONNACK), shared_sub_available),
};

/* One decoded value: num for integers, a for strings / binary, a and b for a string pair. */
struct pval {
    uint32_t num;
    struct tern_bytes a;
    struct tern_bytes b;
};

static bool read_value(struct rd *r, uint8_t kind, struct pval *v)
{
    uint8_t u8;
    uint16_t u16;
    switch (kind) {
    case K_U8:
        if (!rd_u8(r, &u8))
            return false;
        v->num = u8;
        return true;
    case K_U16:
        if (!rd_u16(r, &u16))
            return false;
        v->num = u16;
        return true;
    case K_U32:
        return rd_u32(r, &v->num);
    case K_VARINT:
        return rd_varint(r, &v->num);
    case K_STR:
        return rd_str(r, &v->a);
    case K_BIN:
        return rd_bin(r, &v->a);
    case K_PAIR:
        /* Both the name and the value of a User Property are UTF-8 strings (3.1.2.11.8). */
        return rd_str(r, &v->a) && rd_str(r, &v->b);
    default:
        return false;
    }
}

/* Reads one property. False for an unknown identifier or a value that does not fit or is not
 * valid UTF-8: all make the packet malformed (2.2.2.2, [MQTT-1.5.4-1]). */
static bool read_prop(struct rd *r, uint32_t *id, struct pval *v)
{
    memset(v, 0, sizeof *v);
    if (!rd_varint(r, id) || *id > PROP_MAX || defs[*id].kind == K_NONE)
        return false;
    return read_value(r, defs[*id].kind, v);
}

/* The value ranges the spec states per property; violations are Protocol Errors. */
static bool value_ok(uint32_t id, uint32_t v)
{
    switch (id) {
    case MQTT_PROP_PAYLOAD_FORMAT_INDICATOR:     /* 3.3.2.3.2 */
    case MQTT_PROP_REQUEST_PROBLEM_INFORMATION:  /* 3.1.2.11.7 */
    case MQTT_PROP_REQUEST_RESPONSE_INFORMATION: /* 3.1.2.11.6 */
    case MQTT_PROP_MAXIMUM_QOS:                  /* 3.2.2.3.4 */
    case MQTT_PROP_RETAIN_AVAILABLE:             /* 3.2.2.3.5 */
    case MQTT_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE:
    case MQTT_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE:
    case MQTT_PROP_SHARED_SUBSCRIPTION_AVAILABLE: /* 3.2.2.3.11..13 */
        return v <= 1;
    case MQTT_PROP_RECEIVE_MAXIMUM:     /* 3.1.2.11.3: 0 is a Protocol Error */
    case MQTT_PROP_MAXIMUM_PACKET_SIZE: /* 3.1.2.11.4: 0 is a Protocol Error */
    case MQTT_PROP_TOPIC_ALIAS:         /* 3.3.2.3.4: 0 is not permitted [MQTT-3.3.2-8] */
        return v != 0;
    case MQTT_PROP_SUBSCRIPTION_IDENTIFIER: /* 3.8.2.1.2: 1..268,435,455, 0 is an error */
        return v >= 1 && v <= MQTT_MAX_VARINT;
    default:
        return true;
    }
}

static void store(struct mqtt_props *p, uint32_t id, const struct pval *v)
{
    const struct prop_def *d = &defs[id];
    uint8_t *f = (uint8_t *)p + d->off;
    uint8_t u8 = (uint8_t)v->num;
    uint16_t u16 = (uint16_t)v->num;
    switch (d->kind) {
    case K_U8:
        memcpy(f, &u8, sizeof u8);
        break;
    case K_U16:
        memcpy(f, &u16, sizeof u16);
        break;
    case K_U32:
    case K_VARINT:
        memcpy(f, &v->num, sizeof v->num);
        break;
    case K_STR:
    case K_BIN:
        memcpy(f, &v->a, sizeof v->a);
        break;
    default:
        break;
    }
}

static int decode_one(struct rd *r, uint8_t ctx, struct mqtt_props *p, uint8_t *reason)
{
    uint32_t id;
    struct pval v;
    if (!read_prop(r, &id, &v))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* "A Control Packet which contains an Identifier which is not valid for its packet type
     * ... is a Malformed Packet" (2.2.2.2). */
    if (!(defs[id].where & IN(ctx)))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* Every property but User Property, and Subscription Identifier in a PUBLISH, may appear
     * at most once: more is a Protocol Error (each property's section, e.g. 3.1.2.11.2). */
    uint64_t bit = MQTT_PROP_BIT(id);
    bool repeatable = id == MQTT_PROP_USER_PROPERTY ||
                      (id == MQTT_PROP_SUBSCRIPTION_IDENTIFIER && ctx == MQTT_PUBLISH);
    if ((p->present & bit) && !repeatable)
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    if (!value_ok(id, v.num)) {
        /* A Topic Alias of 0 has its own reason code, Topic Alias invalid (3.3.2.3.4). */
        return codec_fail(reason, id == MQTT_PROP_TOPIC_ALIAS ? MQTT_RC_TOPIC_ALIAS_INVALID
                                                              : MQTT_RC_PROTOCOL_ERROR);
    }
    /* The Response Topic is a topic name: no wildcards [MQTT-3.3.2-14], 3.1.3.2.5. */
    if (id == MQTT_PROP_RESPONSE_TOPIC && !codec_topic_name_valid(v.a))
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    p->present |= bit;
    if (id == MQTT_PROP_USER_PROPERTY) {
        p->user_count++;
    } else if (id == MQTT_PROP_SUBSCRIPTION_IDENTIFIER) {
        if (p->sub_id_count++ == 0)
            p->sub_id = v.num;
    } else {
        store(p, id, &v);
    }
    return 0;
}

int codec_props_decode(struct rd *r, uint8_t ctx, struct mqtt_props *p, uint8_t *reason)
{
    uint32_t len;
    memset(p, 0, sizeof *p);
    /* The Property Length must fit in what is left of the packet (2.2.2.1). */
    if (!rd_varint(r, &len) || len > rd_left(r))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    struct rd pr = {r->p + r->pos, len, 0};
    p->raw = bytes_of(pr.p, len);
    r->pos += len;
    while (rd_left(&pr) > 0) {
        int rc = decode_one(&pr, ctx, p, reason);
        if (rc < 0)
            return rc;
    }
    /* Authentication Data without an Authentication Method is a Protocol Error (3.1.2.11.10,
     * 3.2.2.3.18, 3.15.2.2.4). */
    if ((p->present & MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_DATA)) &&
        !(p->present & MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_METHOD)))
        return codec_fail(reason, MQTT_RC_PROTOCOL_ERROR);
    return 0;
}

bool codec_props_next_user(const struct mqtt_props *p, size_t *pos, struct mqtt_user_prop *out)
{
    if (*pos >= p->raw.len)
        return false;
    struct rd r = {p->raw.ptr, p->raw.len, *pos};
    uint32_t id;
    struct pval v;
    while (rd_left(&r) > 0 && read_prop(&r, &id, &v)) {
        if (id == MQTT_PROP_USER_PROPERTY) {
            out->name = v.a;
            out->value = v.b;
            *pos = r.pos;
            return true;
        }
    }
    *pos = p->raw.len;
    return false;
}

bool codec_props_next_sub_id(const struct mqtt_props *p, size_t *pos, uint32_t *out)
{
    if (*pos >= p->raw.len)
        return false;
    struct rd r = {p->raw.ptr, p->raw.len, *pos};
    uint32_t id;
    struct pval v;
    while (rd_left(&r) > 0 && read_prop(&r, &id, &v)) {
        if (id == MQTT_PROP_SUBSCRIPTION_IDENTIFIER) {
            *out = v.num;
            *pos = r.pos;
            return true;
        }
    }
    *pos = p->raw.len;
    return false;
}

/* ---- Encoding ---- */

static void write_one(struct wr *w, const struct mqtt_props *p, uint8_t id)
{
    const struct prop_def *d = &defs[id];
    const uint8_t *f = (const uint8_t *)p + d->off;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    struct tern_bytes b;
    wr_u8(w, id);
    switch (d->kind) {
    case K_U8:
        memcpy(&u8, f, sizeof u8);
        w->bad |= !value_ok(id, u8);
        wr_u8(w, u8);
        break;
    case K_U16:
        memcpy(&u16, f, sizeof u16);
        w->bad |= !value_ok(id, u16);
        wr_u16(w, u16);
        break;
    case K_U32:
        memcpy(&u32, f, sizeof u32);
        w->bad |= !value_ok(id, u32);
        wr_u32(w, u32);
        break;
    default:
        memcpy(&b, f, sizeof b);
        wr_bin(w, b);
        break;
    }
}

static void write_sub_id(struct wr *w, uint32_t v)
{
    w->bad |= !value_ok(MQTT_PROP_SUBSCRIPTION_IDENTIFIER, v);
    wr_u8(w, MQTT_PROP_SUBSCRIPTION_IDENTIFIER);
    wr_varint(w, v);
}

static void write_user(struct wr *w, struct tern_bytes name, struct tern_bytes value)
{
    wr_u8(w, MQTT_PROP_USER_PROPERTY);
    wr_bin(w, name);
    wr_bin(w, value);
}

static void write_users(struct wr *w, const struct mqtt_props *p)
{
    if (p->user) {
        for (size_t i = 0; i < p->user_count; i++)
            write_user(w, p->user[i].name, p->user[i].value);
        return;
    }
    size_t pos = 0;
    struct mqtt_user_prop up;
    while (codec_props_next_user(p, &pos, &up))
        write_user(w, up.name, up.value);
}

/* Writes the properties of p that `where` allows, in identifier order, User Properties last. */
static void write_content(struct wr *w, const struct mqtt_props *p, uint16_t where)
{
    for (uint8_t id = 1; id <= PROP_MAX; id++) {
        if (defs[id].kind == K_NONE || !(defs[id].where & where) ||
            !(p->present & MQTT_PROP_BIT(id)) || id == MQTT_PROP_USER_PROPERTY)
            continue;
        if (id != MQTT_PROP_SUBSCRIPTION_IDENTIFIER) {
            write_one(w, p, id);
        } else if (p->sub_ids) {
            for (size_t i = 0; i < p->sub_id_count; i++)
                write_sub_id(w, p->sub_ids[i]);
        } else {
            write_sub_id(w, p->sub_id);
        }
    }
    if ((p->present & MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY)) &&
        (defs[MQTT_PROP_USER_PROPERTY].where & where))
        write_users(w, p);
}

static size_t content_size(const struct mqtt_props *p, uint16_t where, bool *bad)
{
    struct wr count = {NULL, 0, false};
    write_content(&count, p, where);
    *bad = count.bad;
    return count.pos;
}

void codec_props_encode(struct wr *w, const struct mqtt_props *p, uint8_t ctx)
{
    bool bad;
    size_t n = content_size(p, IN(ctx), &bad);
    if (bad || n > MQTT_MAX_VARINT) {
        w->bad = true;
        return;
    }
    wr_varint(w, (uint32_t)n);
    write_content(w, p, IN(ctx));
}

bool codec_props_any(const struct mqtt_props *p, uint8_t ctx)
{
    bool bad;
    return content_size(p, IN(ctx), &bad) > 0 || bad;
}

size_t codec_props_size(const struct mqtt_props *p)
{
    bool bad;
    size_t n = content_size(p, 0xFFFF, &bad);
    if (bad || n > MQTT_MAX_VARINT)
        return 0;
    return codec_varint_size((uint32_t)n) + n;
}
