/* Packet construction and splitting for the load generator (see bench_wire.h). The cold packets
 * (CONNECT, SUBSCRIBE, PUBLISH templates) go through the project codec; the per-message work is
 * a memcpy plus patches, and acks are four bytes written by hand. */
#include "bench_wire.h"

#include <string.h>

#include "codec.h"
#include "mem.h"

int bench_wire_tmpl_init(struct bench_tmpl *t, struct tern_bytes topic, uint32_t digits,
                         uint8_t qos, bool retain, uint32_t payload_len, uint8_t version)
{
    struct mqtt_publish p;
    uint8_t head[600];
    memset(t, 0, sizeof *t);
    memset(&p, 0, sizeof p);
    if (topic.len > 512 || digits > 10 || digits > topic.len || qos > 2)
        return TERN_EINVAL;
    p.qos = qos;
    p.retain = retain;
    p.topic = topic;
    p.packet_id = qos ? 1 : 0;
    size_t hl = codec_encode_publish_head(&p, version, payload_len, head, sizeof head);
    if (hl == 0 || hl > sizeof head)
        return TERN_EINVAL;
    t->data = mem_calloc(1, hl + payload_len);
    if (!t->data)
        return TERN_ENOMEM;
    memcpy(t->data, head, hl);
    t->len = (uint32_t)(hl + payload_len);
    t->stamp_off = (uint32_t)hl;
    /* Head = fixed header, topic length (2), topic, packet id (QoS > 0), v5 properties (1). */
    uint32_t after_topic = (uint32_t)(hl - (version == 5 ? 1 : 0) - (qos ? 2 : 0));
    t->pid_off = qos ? after_topic : 0;
    t->digits = digits;
    t->digit_off = after_topic - digits;
    return 0;
}

void bench_wire_tmpl_deinit(struct bench_tmpl *t)
{
    mem_free(t->data);
    t->data = NULL;
}

void bench_wire_tmpl_digits(const struct bench_tmpl *t, uint8_t *dst, uint32_t n)
{
    for (uint32_t i = t->digits; i > 0; i--) {
        dst[t->digit_off + i - 1] = (uint8_t)('0' + n % 10);
        n /= 10;
    }
}

size_t bench_wire_connect(uint8_t *buf, size_t cap, uint8_t version, const char *client_id,
                          bool persistent)
{
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_CONNECT;
    p.u.connect.version = version;
    p.u.connect.clean_start = !persistent;
    p.u.connect.client_id = bytes_str(client_id);
    if (persistent && version == MQTT_V5) {
        p.u.connect.props.present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL);
        p.u.connect.props.session_expiry = 3600;
    }
    size_t n = codec_encode(&p, version, buf, cap);
    return n <= cap ? n : 0;
}

size_t bench_wire_subscribe(uint8_t *buf, size_t cap, uint8_t version, uint16_t packet_id,
                            const struct tern_bytes *filters, size_t n, uint8_t qos)
{
    struct mqtt_sub_entry list[128];
    struct mqtt_packet p;
    if (n == 0 || n > sizeof list / sizeof list[0])
        return 0;
    memset(&p, 0, sizeof p);
    for (size_t i = 0; i < n; i++) {
        list[i].filter = filters[i];
        list[i].options = qos;
    }
    p.type = MQTT_SUBSCRIBE;
    p.flags = 2; /* [MQTT-3.8.1-1] */
    p.u.subscribe.packet_id = packet_id;
    p.u.subscribe.count = n;
    p.u.subscribe.list = list;
    size_t len = codec_encode(&p, version, buf, cap);
    return len <= cap ? len : 0;
}

void bench_wire_ack(uint8_t out[4], uint8_t type, uint16_t packet_id)
{
    /* PUBREL carries flags 0010 [MQTT-3.6.1-1]; the others 0000. */
    out[0] = (uint8_t)(type << 4 | (type == MQTT_PUBREL ? 2 : 0));
    out[1] = 2;
    out[2] = (uint8_t)(packet_id >> 8);
    out[3] = (uint8_t)packet_id;
}

int bench_wire_frame(const uint8_t *buf, size_t len, struct bench_frame *f)
{
    uint32_t rem = 0;
    if (len < 2)
        return TERN_EAGAIN;
    int n = codec_varint_decode(buf + 1, len - 1, &rem);
    if (n < 0)
        return n;
    size_t total = 1 + (size_t)n + rem;
    if (len < total)
        return TERN_EAGAIN;
    f->type = buf[0] >> 4;
    f->flags = buf[0] & 0x0f;
    f->body = buf + 1 + n;
    f->body_len = rem;
    return (int)total;
}

int bench_wire_publish(const struct bench_frame *f, uint8_t version, struct bench_rx_publish *out)
{
    const uint8_t *p = f->body;
    size_t len = f->body_len;
    if (len < 2)
        return TERN_EPROTO;
    size_t off = 2 + ((size_t)p[0] << 8 | p[1]);
    out->qos = (f->flags >> 1) & 3;
    out->packet_id = 0;
    if (out->qos) {
        if (off + 2 > len)
            return TERN_EPROTO;
        out->packet_id = (uint16_t)(p[off] << 8 | p[off + 1]);
        off += 2;
    }
    if (version == MQTT_V5) {
        uint32_t plen = 0;
        if (off >= len)
            return TERN_EPROTO;
        int n = codec_varint_decode(p + off, len - off, &plen);
        if (n < 0 || off + (size_t)n + plen > len)
            return TERN_EPROTO;
        off += (size_t)n + plen;
    }
    if (off > len)
        return TERN_EPROTO;
    out->payload = p + off;
    out->payload_len = len - off;
    return 0;
}
