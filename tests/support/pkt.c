/* The test packet builder. Deliberately written without looking at src/codec. */
#include "pkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void need(struct pkt *p, size_t extra)
{
    if (p->cap - p->len >= extra)
        return;
    size_t cap = p->cap ? p->cap * 2 : 256;
    while (cap - p->len < extra)
        cap *= 2;
    p->data = realloc(p->data, cap);
    if (!p->data) {
        fprintf(stderr, "pkt: out of memory\n");
        abort();
    }
    p->cap = cap;
}

void pkt_init(struct pkt *p)
{
    memset(p, 0, sizeof *p);
}

void pkt_free(struct pkt *p)
{
    free(p->data);
    pkt_init(p);
}

void pkt_reset(struct pkt *p)
{
    p->len = 0;
    p->depth = 0;
}

void pkt_raw(struct pkt *p, const void *data, size_t len)
{
    need(p, len);
    if (len)
        memcpy(p->data + p->len, data, len);
    p->len += len;
}

void pkt_u8(struct pkt *p, uint8_t v)
{
    pkt_raw(p, &v, 1);
}

void pkt_u16(struct pkt *p, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    pkt_raw(p, b, 2);
}

void pkt_u32(struct pkt *p, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    pkt_raw(p, b, 4);
}

static size_t varint_bytes(uint32_t v, uint8_t out[4])
{
    size_t n = 0;
    do {
        uint8_t b = v % 128;
        v /= 128;
        if (v)
            b |= 0x80;
        out[n++] = b;
    } while (v && n < 4);
    return n;
}

void pkt_varint(struct pkt *p, uint32_t v)
{
    uint8_t b[4];
    pkt_raw(p, b, varint_bytes(v, b));
}

void pkt_bin(struct pkt *p, const void *data, size_t len)
{
    pkt_u16(p, (uint16_t)len);
    pkt_raw(p, data, len);
}

void pkt_str(struct pkt *p, const char *s)
{
    pkt_bin(p, s, strlen(s));
}

static void open_slot(struct pkt *p, int kind)
{
    if (p->depth >= 4) {
        fprintf(stderr, "pkt: nesting too deep\n");
        abort();
    }
    p->marks[p->depth] = p->len;
    p->kinds[p->depth] = kind;
    p->depth++;
}

/* Insert the varint length of everything written since the slot opened, at the slot. */
static void close_slot(struct pkt *p)
{
    if (p->depth <= 0) {
        fprintf(stderr, "pkt: end without begin\n");
        abort();
    }
    p->depth--;
    size_t at = p->marks[p->depth];
    uint8_t b[4];
    size_t n = varint_bytes((uint32_t)(p->len - at), b);
    need(p, n);
    memmove(p->data + at + n, p->data + at, p->len - at);
    memcpy(p->data + at, b, n);
    p->len += n;
}

void pkt_begin(struct pkt *p, uint8_t type_flags)
{
    pkt_u8(p, type_flags);
    open_slot(p, 0);
}

void pkt_end(struct pkt *p)
{
    close_slot(p);
}

void pkt_props_begin(struct pkt *p)
{
    open_slot(p, 1);
}

void pkt_props_end(struct pkt *p)
{
    close_slot(p);
}

static void empty_props(struct pkt *p, int version)
{
    if (version == 5)
        pkt_u8(p, 0);
}

void pkt_connect(struct pkt *p, int version, const char *client_id, uint16_t keep_alive, int clean)
{
    pkt_begin(p, 0x10);
    pkt_str(p, version == 3 ? "MQIsdp" : "MQTT");
    pkt_u8(p, (uint8_t)version);
    pkt_u8(p, clean ? 0x02 : 0x00);
    pkt_u16(p, keep_alive);
    empty_props(p, version);
    pkt_str(p, client_id ? client_id : "");
    pkt_end(p);
}

void pkt_publish(struct pkt *p, int version, const char *topic, const char *payload, int qos,
                 int retain, uint16_t packet_id)
{
    pkt_begin(p, (uint8_t)(0x30 | (qos << 1) | (retain ? 1 : 0)));
    pkt_str(p, topic);
    if (qos > 0)
        pkt_u16(p, packet_id);
    empty_props(p, version);
    pkt_raw(p, payload, strlen(payload));
    pkt_end(p);
}

void pkt_subscribe(struct pkt *p, int version, uint16_t packet_id, const char *filter,
                   uint8_t options)
{
    pkt_begin(p, 0x82);
    pkt_u16(p, packet_id);
    empty_props(p, version);
    pkt_str(p, filter);
    pkt_u8(p, options);
    pkt_end(p);
}

void pkt_ack(struct pkt *p, int type, uint16_t packet_id)
{
    pkt_begin(p, (uint8_t)((type << 4) | (type == 6 ? 0x02 : 0x00)));
    pkt_u16(p, packet_id);
    pkt_end(p);
}

void pkt_pingreq(struct pkt *p)
{
    pkt_u8(p, 0xC0);
    pkt_u8(p, 0x00);
}

void pkt_disconnect(struct pkt *p, int version, uint8_t reason)
{
    pkt_begin(p, 0xE0);
    if (version == 5) {
        pkt_u8(p, reason);
        pkt_u8(p, 0);
    }
    pkt_end(p);
}

/* ---- Additions for the integration tests. ---- */

static void props_block(struct pkt *p, const struct pkt *props)
{
    pkt_varint(p, props ? (uint32_t)props->len : 0);
    if (props)
        pkt_raw(p, props->data, props->len);
}

void pkt_connect_full(struct pkt *p, const struct pkt_connect_opts *o)
{
    uint8_t flags = o->clean ? 0x02 : 0x00;
    if (o->will)
        flags |= (uint8_t)(0x04 | (o->will->qos << 3) | (o->will->retain ? 0x20 : 0));
    if (o->password)
        flags |= 0x40;
    if (o->username)
        flags |= 0x80;
    flags |= o->flags_or;
    pkt_begin(p, 0x10);
    pkt_str(p, o->protocol_name ? o->protocol_name : (o->version == 3 ? "MQIsdp" : "MQTT"));
    pkt_u8(p, (uint8_t)o->version);
    pkt_u8(p, flags);
    pkt_u16(p, o->keep_alive);
    if (o->version == 5)
        props_block(p, o->props);
    pkt_str(p, o->client_id ? o->client_id : "");
    if (o->will) {
        if (o->version == 5)
            props_block(p, o->will->props);
        pkt_str(p, o->will->topic);
        pkt_bin(p, o->will->payload, o->will->payload_len);
    }
    if (o->username)
        pkt_str(p, o->username);
    if (o->password)
        pkt_str(p, o->password);
    pkt_end(p);
}

void pkt_publish_full(struct pkt *p, const struct pkt_publish_opts *o)
{
    pkt_begin(p, (uint8_t)(0x30 | (o->dup ? 0x08 : 0) | (o->qos << 1) | (o->retain ? 1 : 0)));
    pkt_str(p, o->topic);
    if (o->qos > 0)
        pkt_u16(p, o->packet_id);
    if (o->version == 5)
        props_block(p, o->props);
    pkt_raw(p, o->payload, o->payload_len);
    pkt_end(p);
}

void pkt_subscribe_many(struct pkt *p, int version, uint16_t packet_id, const struct pkt *props,
                        const char *const *filters, const uint8_t *options, size_t n)
{
    pkt_begin(p, 0x82);
    pkt_u16(p, packet_id);
    if (version == 5)
        props_block(p, props);
    for (size_t i = 0; i < n; i++) {
        pkt_str(p, filters[i]);
        pkt_u8(p, options[i]);
    }
    pkt_end(p);
}

void pkt_unsubscribe(struct pkt *p, int version, uint16_t packet_id, const char *filter)
{
    pkt_begin(p, 0xA2);
    pkt_u16(p, packet_id);
    empty_props(p, version);
    pkt_str(p, filter);
    pkt_end(p);
}

void pkt_prop_u8(struct pkt *p, uint8_t id, uint8_t v)
{
    pkt_u8(p, id);
    pkt_u8(p, v);
}

void pkt_prop_u16(struct pkt *p, uint8_t id, uint16_t v)
{
    pkt_u8(p, id);
    pkt_u16(p, v);
}

void pkt_prop_u32(struct pkt *p, uint8_t id, uint32_t v)
{
    pkt_u8(p, id);
    pkt_u32(p, v);
}

void pkt_prop_varint(struct pkt *p, uint8_t id, uint32_t v)
{
    pkt_u8(p, id);
    pkt_varint(p, v);
}

void pkt_prop_str(struct pkt *p, uint8_t id, const char *s)
{
    pkt_u8(p, id);
    pkt_str(p, s);
}

void pkt_prop_pair(struct pkt *p, uint8_t id, const char *k, const char *v)
{
    pkt_u8(p, id);
    pkt_str(p, k);
    pkt_str(p, v);
}

/* ---- Additions for the codec conformance tests (tests/unit/codec). ---- */

void pkt_prop_bin(struct pkt *p, uint8_t id, const void *data, size_t len)
{
    pkt_u8(p, id);
    pkt_bin(p, data, len);
}

void pkt_append(struct pkt *p, const struct pkt *src)
{
    pkt_raw(p, src->data, src->len);
}
