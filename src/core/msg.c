/* Builds messages in one allocation: struct, topic + NUL, forwarded properties, payload. */
#include "msg.h"

#include <string.h>

#include "codec.h"
#include "mem.h"

/* Copies one property (id, value) out of a decoded block into dst; returns bytes written.
 * The value encodings are fixed per id: byte, UTF-8 string, binary data or string pair. */
static size_t put_u8(uint8_t *dst, uint8_t v)
{
    if (dst)
        dst[0] = v;
    return 1;
}

static size_t put_bin(uint8_t *dst, struct tern_bytes b)
{
    if (dst) {
        dst[0] = (uint8_t)(b.len >> 8);
        dst[1] = (uint8_t)b.len;
        if (b.len)
            memcpy(dst + 2, b.ptr, b.len);
    }
    return 2 + b.len;
}

/* Writes the forwarded properties to dst (or only sizes them when dst is NULL). */
static size_t fwd_props(const struct mqtt_props *p, uint8_t *dst)
{
    size_t n = 0;
    if (!p)
        return 0;
#define AT (dst ? dst + n : NULL)
    if (p->present & MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR)) {
        n += put_u8(AT, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR);
        n += put_u8(AT, p->payload_format);
    }
    if (p->present & MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE)) {
        n += put_u8(AT, MQTT_PROP_CONTENT_TYPE);
        n += put_bin(AT, p->content_type);
    }
    if (p->present & MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC)) {
        n += put_u8(AT, MQTT_PROP_RESPONSE_TOPIC);
        n += put_bin(AT, p->response_topic);
    }
    if (p->present & MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA)) {
        n += put_u8(AT, MQTT_PROP_CORRELATION_DATA);
        n += put_bin(AT, p->correlation_data);
    }
    size_t pos = 0;
    struct mqtt_user_prop up;
    if (p->user) {
        for (size_t i = 0; i < p->user_count; i++) {
            n += put_u8(AT, MQTT_PROP_USER_PROPERTY);
            n += put_bin(AT, p->user[i].name);
            n += put_bin(AT, p->user[i].value);
        }
    } else {
        while (codec_props_next_user(p, &pos, &up)) {
            n += put_u8(AT, MQTT_PROP_USER_PROPERTY);
            n += put_bin(AT, up.name);
            n += put_bin(AT, up.value);
        }
    }
#undef AT
    return n;
}

/* Every forwarded string or binary property fits its 2-byte length. */
static bool fwd_props_fit(const struct mqtt_props *p)
{
    if (!p)
        return true;
    if (p->content_type.len > UINT16_MAX || p->response_topic.len > UINT16_MAX ||
        p->correlation_data.len > UINT16_MAX)
        return false;
    for (size_t i = 0; p->user && i < p->user_count; i++)
        if (p->user[i].name.len > UINT16_MAX || p->user[i].value.len > UINT16_MAX)
            return false;
    return true;
}

struct msg *msg_new(const struct msg_init *in)
{
    if (in->topic.len > UINT16_MAX || in->payload.len > UINT32_MAX - 1024 ||
        !fwd_props_fit(in->props))
        return NULL;
    size_t plen = fwd_props(in->props, NULL);
    size_t total = sizeof(struct msg) + in->topic.len + 1 + plen + in->payload.len;
    struct msg *m = mem_alloc(total);
    if (!m)
        return NULL;
    uint8_t *p = (uint8_t *)(m + 1);
    atomic_init(&m->refs, 1);
    m->qos = in->qos;
    m->retain = in->retain;
    m->topic_len = (uint16_t)in->topic.len;
    m->fwd_props_len = (uint32_t)plen;
    m->payload_len = (uint32_t)in->payload.len;
    m->origin_id = in->origin_id;
    atomic_init(&m->store_id, 0);
    m->expiry_at_ms = 0;
    if (in->props && (in->props->present & MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL)))
        m->expiry_at_ms = in->now_ms + (uint64_t)in->props->message_expiry * 1000u;
    if (in->topic.len)
        memcpy(p, in->topic.ptr, in->topic.len);
    p[in->topic.len] = '\0';
    m->topic = (const char *)p;
    p += in->topic.len + 1;
    fwd_props(in->props, p);
    m->fwd_props = p;
    p += plen;
    if (in->payload.len)
        memcpy(p, in->payload.ptr, in->payload.len);
    m->payload = p;
    return m;
}

void msg_unref(struct msg *m)
{
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
        mem_free(m);
}

void msg_unref_n(struct msg *m, uint32_t n)
{
    if (n && atomic_fetch_sub_explicit(&m->refs, n, memory_order_acq_rel) == n)
        mem_free(m);
}

uint32_t msg_expiry_remaining_s(const struct msg *m, uint64_t now_ms, bool *has)
{
    *has = m->expiry_at_ms != 0;
    if (!*has)
        return 0;
    if (now_ms >= m->expiry_at_ms)
        return 0;
    uint64_t left = (m->expiry_at_ms - now_ms + 999u) / 1000u;
    return left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}
