/* Fuzz target for the MQTT codec's decoder and encoder. The first input byte picks the protocol
 * version and a maximum packet size; the rest is a byte stream decoded packet by packet. Each
 * decoded packet is checked (slices stay inside the input, iterators agree with the counts, the
 * well-formedness the decoder promises holds), re-encoded, and the re-encoding must decode to
 * the same type and size and encode again to the same bytes. It does not judge whether a packet
 * should have been refused: the codec's unit tests do that with spec vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz_target.h"
#include "mem.h"

/* Input byte 0: bits 0-1 pick the version, bits 2-4 the maximum packet size (0 = default). */
static const uint8_t versions[4] = {MQTT_V311, MQTT_V5, MQTT_V31, MQTT_V5};
static const uint32_t max_sizes[8] = {0, 0, 2, 5, 16, 128, 1024, 65536};

/* Arrays built from a decoded packet's iterators so that it can be encoded again. */
struct scratch {
    uint32_t *sub_ids[2];
    void *list;
};

static void die(int line, const char *what)
{
    fprintf(stderr, "fuzz_decode.c:%d: invariant broken: %s\n", line, what);
    abort();
}

#define ENSURE(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            die(__LINE__, #cond);                                                                  \
    } while (0)

static void *xalloc(size_t len)
{
    void *p = mem_alloc(len ? len : 1);
    if (!p)
        die(__LINE__, "out of memory");
    return p;
}

/* True when b lies inside outer (empty slices are anywhere). */
static bool within(struct tern_bytes outer, struct tern_bytes b)
{
    uintptr_t lo = (uintptr_t)outer.ptr;
    uintptr_t p = (uintptr_t)b.ptr;

    if (b.len == 0)
        return true;
    return p >= lo && b.len <= outer.len && p - lo <= outer.len - b.len;
}

static bool utf8_in(struct tern_bytes outer, struct tern_bytes s)
{
    return within(outer, s) && codec_utf8_valid(s.ptr, s.len);
}

static bool has(const struct mqtt_props *p, unsigned id)
{
    return (p->present & MQTT_PROP_BIT(id)) != 0;
}

/* The version a packet is encoded in: CONNECT carries its own. */
static uint8_t packet_version(const struct mqtt_packet *p, uint8_t version)
{
    return p->type == MQTT_CONNECT ? p->u.connect.version : version;
}

/* The property blocks of p (none, one, or CONNECT's two). */
static size_t props_of(struct mqtt_packet *p, struct mqtt_props *out[2])
{
    switch (p->type) {
    case MQTT_CONNECT:
        out[0] = &p->u.connect.props;
        out[1] = &p->u.connect.will_props;
        return 2;
    case MQTT_CONNACK:
        out[0] = &p->u.connack.props;
        return 1;
    case MQTT_PUBLISH:
        out[0] = &p->u.publish.props;
        return 1;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        out[0] = &p->u.ack.props;
        return 1;
    case MQTT_SUBSCRIBE:
        out[0] = &p->u.subscribe.props;
        return 1;
    case MQTT_SUBACK:
        out[0] = &p->u.suback.props;
        return 1;
    case MQTT_UNSUBSCRIBE:
        out[0] = &p->u.unsubscribe.props;
        return 1;
    case MQTT_UNSUBACK:
        out[0] = &p->u.unsuback.props;
        return 1;
    case MQTT_DISCONNECT:
        out[0] = &p->u.disconnect.props;
        return 1;
    case MQTT_AUTH:
        out[0] = &p->u.auth.props;
        return 1;
    default:
        return 0;
    }
}

/* Strings must be valid UTF-8 [MQTT-1.5.4-1]; binaries only inside the input. */
static void check_prop_slices(const struct mqtt_props *p, struct tern_bytes in)
{
    ENSURE(within(in, p->raw));
    ENSURE(!has(p, MQTT_PROP_CONTENT_TYPE) || utf8_in(in, p->content_type));
    ENSURE(!has(p, MQTT_PROP_RESPONSE_TOPIC) || utf8_in(in, p->response_topic));
    ENSURE(!has(p, MQTT_PROP_CORRELATION_DATA) || within(in, p->correlation_data));
    ENSURE(!has(p, MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER) || utf8_in(in, p->assigned_client_id));
    ENSURE(!has(p, MQTT_PROP_AUTHENTICATION_METHOD) || utf8_in(in, p->auth_method));
    ENSURE(!has(p, MQTT_PROP_AUTHENTICATION_DATA) || within(in, p->auth_data));
    ENSURE(!has(p, MQTT_PROP_RESPONSE_INFORMATION) || utf8_in(in, p->response_info));
    ENSURE(!has(p, MQTT_PROP_SERVER_REFERENCE) || utf8_in(in, p->server_reference));
    ENSURE(!has(p, MQTT_PROP_REASON_STRING) || utf8_in(in, p->reason_string));
}

/* Value ranges the spec makes a Protocol Error (MQTT 5.0 section 3, per property). */
static void check_prop_ranges(const struct mqtt_props *p)
{
    ENSURE(!has(p, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) || p->payload_format <= 1);
    ENSURE(!has(p, MQTT_PROP_REQUEST_PROBLEM_INFORMATION) || p->request_problem_info <= 1);
    ENSURE(!has(p, MQTT_PROP_REQUEST_RESPONSE_INFORMATION) || p->request_response_info <= 1);
    ENSURE(!has(p, MQTT_PROP_RECEIVE_MAXIMUM) || p->receive_maximum != 0);
    ENSURE(!has(p, MQTT_PROP_MAXIMUM_PACKET_SIZE) || p->maximum_packet_size != 0);
    ENSURE(!has(p, MQTT_PROP_TOPIC_ALIAS) || p->topic_alias != 0);
    ENSURE(!has(p, MQTT_PROP_MAXIMUM_QOS) || p->maximum_qos <= 1);
    ENSURE(!has(p, MQTT_PROP_RETAIN_AVAILABLE) || p->retain_available <= 1);
    ENSURE(!has(p, MQTT_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE) || p->wildcard_sub_available <= 1);
    ENSURE(!has(p, MQTT_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE) || p->sub_id_available <= 1);
    ENSURE(!has(p, MQTT_PROP_SHARED_SUBSCRIPTION_AVAILABLE) || p->shared_sub_available <= 1);
}

/* Walks the repeatable properties; returns the Subscription Identifiers as a fresh array (or
 * NULL when there are none) for re-encoding. */
static uint32_t *walk_props(const struct mqtt_props *p, struct tern_bytes in)
{
    struct mqtt_user_prop up;
    uint32_t *ids = NULL;
    uint32_t id;
    size_t pos = 0;
    size_t n = 0;

    ENSURE(has(p, MQTT_PROP_USER_PROPERTY) == (p->user_count > 0));
    while (codec_props_next_user(p, &pos, &up)) {
        ENSURE(n < p->user_count);
        ENSURE(utf8_in(in, up.name) && utf8_in(in, up.value));
        n++;
    }
    ENSURE(n == p->user_count);

    ENSURE(has(p, MQTT_PROP_SUBSCRIPTION_IDENTIFIER) == (p->sub_id_count > 0));
    if (p->sub_id_count > 0)
        ids = xalloc(p->sub_id_count * sizeof *ids);
    pos = 0;
    n = 0;
    while (codec_props_next_sub_id(p, &pos, &id)) {
        ENSURE(n < p->sub_id_count);
        /* 1..268,435,455; 0 is a Protocol Error (MQTT 5.0 3.3.2.3.8). */
        ENSURE(id >= 1 && id <= MQTT_MAX_VARINT);
        ENSURE(n > 0 || id == p->sub_id);
        ids[n++] = id;
    }
    ENSURE(n == p->sub_id_count);
    return ids;
}

static void check_publish(const struct mqtt_publish *p, struct tern_bytes in, uint8_t version)
{
    ENSURE(p->qos <= 2);                      /* [MQTT-3.3.1-4] */
    ENSURE(p->qos == 0 || p->packet_id != 0); /* [MQTT-2.2.1-3] */
    ENSURE(within(in, p->payload));
    ENSURE(within(in, p->topic));
    if (p->topic.len > 0)
        ENSURE(codec_topic_name_valid(p->topic)); /* [MQTT-3.3.2-2] */
    else
        ENSURE(version == MQTT_V5 && has(&p->props, MQTT_PROP_TOPIC_ALIAS));
}

static void check_connect(const struct mqtt_connect *c, struct tern_bytes in)
{
    ENSURE(c->version >= MQTT_V31 && c->version <= MQTT_V5);
    ENSURE(utf8_in(in, c->client_id));
    ENSURE(c->will_qos <= 2);                                     /* [MQTT-3.1.2-14] */
    ENSURE(c->has_will || (c->will_qos == 0 && !c->will_retain)); /* [MQTT-3.1.2-13], -15 */
    ENSURE(!c->has_will || (utf8_in(in, c->will_topic) && within(in, c->will_payload)));
    ENSURE(!c->has_username || utf8_in(in, c->username));
    ENSURE(!c->has_password || within(in, c->password));
}

/* Walks SUBSCRIBE entries and returns them as an array for re-encoding. */
static struct mqtt_sub_entry *walk_subscribe(const struct mqtt_subscribe *s, struct tern_bytes in,
                                             uint8_t version)
{
    struct mqtt_sub_entry *list = xalloc(s->count * sizeof *list);
    struct mqtt_sub_entry e;
    size_t pos = 0;
    size_t n = 0;

    ENSURE(s->packet_id != 0); /* [MQTT-2.2.1-3] */
    ENSURE(within(in, s->entries));
    while (codec_subscribe_next(s, &pos, &e)) {
        ENSURE(n < s->count);
        ENSURE(utf8_in(in, e.filter));
        ENSURE((e.options & MQTT_SUBOPT_QOS_MASK) <= 2); /* [MQTT-3-8.3-4] */
        if (version == MQTT_V5)
            ENSURE((e.options & MQTT_SUBOPT_RESERVED_MASK) == 0 && /* [MQTT-3.8.3-5] */
                   (e.options & MQTT_SUBOPT_RH_MASK) != MQTT_SUBOPT_RH_MASK);
        else
            ENSURE((e.options & ~MQTT_SUBOPT_QOS_MASK) == 0); /* 3.1.1 [MQTT-3-8.3-4] */
        list[n++] = e;
    }
    ENSURE(n == s->count && n > 0); /* [MQTT-3.8.3-3] */
    return list;
}

static struct tern_bytes *walk_unsubscribe(const struct mqtt_unsubscribe *u, struct tern_bytes in)
{
    struct tern_bytes *list = xalloc(u->count * sizeof *list);
    struct tern_bytes f;
    size_t pos = 0;
    size_t n = 0;

    ENSURE(u->packet_id != 0); /* [MQTT-2.2.1-3] */
    ENSURE(within(in, u->entries));
    while (codec_unsubscribe_next(u, &pos, &f)) {
        ENSURE(n < u->count);
        ENSURE(utf8_in(in, f));
        list[n++] = f;
    }
    ENSURE(n == u->count && n > 0); /* [MQTT-3.10.3-2] */
    return list;
}

/* Checks a packet decoded from `in` and fills the arrays that encoding reads from (owned by sc).
 * version is the stream's version; CONNECT uses its own. */
static void prepare(struct mqtt_packet *p, struct tern_bytes in, uint8_t version,
                    struct scratch *sc)
{
    struct mqtt_props *props[2];
    size_t n = props_of(p, props);
    uint8_t v = packet_version(p, version);

    ENSURE(p->type == in.ptr[0] >> 4 && p->flags == (in.ptr[0] & 0x0F));
    memset(sc, 0, sizeof *sc);
    for (size_t i = 0; i < n; i++) {
        if (v != MQTT_V5) {
            ENSURE(props[i]->present == 0);
            continue;
        }
        check_prop_slices(props[i], in);
        check_prop_ranges(props[i]);
        sc->sub_ids[i] = walk_props(props[i], in);
        props[i]->sub_ids = sc->sub_ids[i];
        /* Re-encoding the same properties takes exactly as many bytes. */
        ENSURE(codec_props_size(props[i]) ==
               codec_varint_size((uint32_t)props[i]->raw.len) + props[i]->raw.len);
    }
    if (p->type == MQTT_CONNECT) {
        check_connect(&p->u.connect, in);
    } else if (p->type == MQTT_PUBLISH) {
        check_publish(&p->u.publish, in, v);
    } else if (p->type == MQTT_SUBSCRIBE) {
        p->u.subscribe.list = walk_subscribe(&p->u.subscribe, in, v);
        sc->list = (void *)p->u.subscribe.list;
    } else if (p->type == MQTT_UNSUBSCRIBE) {
        p->u.unsubscribe.list = walk_unsubscribe(&p->u.unsubscribe, in);
        sc->list = (void *)p->u.unsubscribe.list;
    } else if (p->type == MQTT_SUBACK) {
        ENSURE(within(in, p->u.suback.reasons));
    } else if (p->type == MQTT_UNSUBACK) {
        ENSURE(within(in, p->u.unsuback.reasons));
        ENSURE(v == MQTT_V5 || p->u.unsuback.reasons.len == 0);
    }
}

static void scratch_release(struct scratch *sc)
{
    mem_free(sc->sub_ids[0]);
    mem_free(sc->sub_ids[1]);
    mem_free(sc->list);
}

/* Encodes p into a fresh buffer of exactly its size; *len gets the size. */
static uint8_t *encode(const struct mqtt_packet *p, uint8_t version, size_t *len)
{
    uint8_t v = packet_version(p, version);
    size_t n = codec_encode(p, v, NULL, 0);

    /* A packet the decoder accepted has every field in range. */
    ENSURE(n >= 2);
    /* One byte short: the encoder must report the size and write nothing. */
    uint8_t *small = xalloc(n - 1);
    memset(small, 0xA5, n - 1);
    ENSURE(codec_encode(p, v, small, n - 1) == n);
    for (size_t i = 0; i < n - 1; i++)
        ENSURE(small[i] == 0xA5);
    mem_free(small);

    uint8_t *buf = xalloc(n);
    ENSURE(codec_encode(p, v, buf, n) == n);
    *len = n;
    return buf;
}

/* The PUBLISH head encoder must produce exactly the head of the full encoding. */
static void check_publish_head(const struct mqtt_publish *p, uint8_t version, const uint8_t *full,
                               size_t full_len)
{
    size_t h = codec_encode_publish_head(p, version, p->payload.len, NULL, 0);

    ENSURE(h > 0 && h + p->payload.len == full_len);
    uint8_t *head = xalloc(h);
    ENSURE(codec_encode_publish_head(p, version, p->payload.len, head, h) == h);
    ENSURE(memcmp(head, full, h) == 0);
    mem_free(head);
}

static void compare_decoded(const struct mqtt_packet *a, const struct mqtt_packet *b)
{
    ENSURE(a->type == b->type && a->flags == b->flags);
    if (a->type == MQTT_PUBLISH) {
        ENSURE(bytes_eq(a->u.publish.topic, b->u.publish.topic));
        ENSURE(bytes_eq(a->u.publish.payload, b->u.publish.payload));
        ENSURE(a->u.publish.packet_id == b->u.publish.packet_id);
        ENSURE(a->u.publish.props.present == b->u.publish.props.present);
    } else if (a->type == MQTT_CONNECT) {
        ENSURE(a->u.connect.version == b->u.connect.version);
        ENSURE(bytes_eq(a->u.connect.client_id, b->u.connect.client_id));
        ENSURE(a->u.connect.has_will == b->u.connect.has_will);
        ENSURE(a->u.connect.keep_alive == b->u.connect.keep_alive);
    } else if (a->type == MQTT_SUBSCRIBE) {
        ENSURE(a->u.subscribe.count == b->u.subscribe.count);
    } else if (a->type == MQTT_UNSUBSCRIBE) {
        ENSURE(a->u.unsubscribe.count == b->u.unsubscribe.count);
    } else if (a->type >= MQTT_PUBACK && a->type <= MQTT_PUBCOMP) {
        ENSURE(a->u.ack.packet_id == b->u.ack.packet_id && a->u.ack.reason == b->u.ack.reason);
    }
}

/* Encode p, decode that, encode again: the type, size and bytes must hold steady. */
static void roundtrip(const struct mqtt_packet *p, uint8_t version)
{
    struct mqtt_packet q;
    struct scratch sc;
    uint8_t reason = 0;
    size_t len1;
    size_t len2;
    uint8_t *enc1 = encode(p, version, &len1);

    if (p->type == MQTT_PUBLISH)
        check_publish_head(&p->u.publish, version, enc1, len1);
    memset(&q, 0, sizeof q);
    int r = codec_decode(enc1, len1, version, 0, &q, &reason);
    if (r != (int)len1)
        fprintf(stderr, "re-decode returned %d (reason 0x%02x) for %zu bytes\n", r, reason, len1);
    ENSURE(r == (int)len1);
    prepare(&q, bytes_of(enc1, len1), version, &sc);
    compare_decoded(p, &q);
    uint8_t *enc2 = encode(&q, version, &len2);
    ENSURE(len2 == len1 && memcmp(enc1, enc2, len1) == 0);
    mem_free(enc2);
    scratch_release(&sc);
    mem_free(enc1);
}

/* Checks what a decode result says about the bytes around it: the fixed header agrees, a
 * shorter buffer needs more input, and a lower maximum refuses the packet. */
static void check_framing(const uint8_t *buf, size_t len, uint8_t version, size_t consumed)
{
    struct mqtt_packet tmp;
    uint8_t type_flags = 0;
    uint32_t remaining = 0;
    uint8_t reason = 0;
    int h = codec_decode_fixed_header(buf, len, &type_flags, &remaining, &reason);

    ENSURE(h >= 2 && h <= 5 && type_flags == buf[0]);
    ENSURE((size_t)h + remaining == consumed);
    memset(&tmp, 0, sizeof tmp);
    ENSURE(codec_decode(buf, consumed - 1, version, 0, &tmp, &reason) == TERN_EAGAIN);
    memset(&tmp, 0, sizeof tmp);
    reason = 0;
    ENSURE(codec_decode(buf, len, version, (uint32_t)consumed - 1, &tmp, &reason) == TERN_EPROTO);
    ENSURE(reason == MQTT_RC_PACKET_TOO_LARGE);
}

/* Variable byte integers decode and re-encode to the same minimal bytes [MQTT-1.5.5-1]. */
static void check_varint(const uint8_t *buf, size_t len)
{
    uint8_t out[4];
    uint32_t v = 0;
    int r = codec_varint_decode(buf, len, &v);

    if (r > 0) {
        ENSURE(r <= 4 && v <= MQTT_MAX_VARINT);
        ENSURE(codec_varint_size(v) == (size_t)r);
        ENSURE(codec_varint_encode(v, out) == (size_t)r && memcmp(out, buf, (size_t)r) == 0);
    } else if (r == TERN_EAGAIN) {
        ENSURE(len < 4);
        for (size_t i = 0; i < len; i++)
            ENSURE(buf[i] & 0x80);
    } else {
        ENSURE(r == TERN_EPROTO);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t version = versions[data[0] & 0x03];
    uint32_t max = max_sizes[(data[0] >> 2) & 0x07];
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    size_t off = 0;

    check_varint(buf, len);
    while (off < len) {
        struct mqtt_packet p;
        struct scratch sc;
        uint8_t reason = 0;

        memset(&p, 0, sizeof p);
        int r = codec_decode(buf + off, len - off, version, max, &p, &reason);
        if (r <= 0) {
            ENSURE(r == TERN_EAGAIN || r == TERN_EPROTO);
            ENSURE(r == TERN_EAGAIN || reason >= 0x80); /* failure reason codes are >= 0x80 */
            break;
        }
        ENSURE((size_t)r <= len - off);
        ENSURE(max == 0 || (uint32_t)r <= max);
        check_framing(buf + off, len - off, version, (size_t)r);
        prepare(&p, bytes_of(buf + off, (size_t)r), version, &sc);
        roundtrip(&p, version);
        scratch_release(&sc);
        off += (size_t)r;
    }
    return 0;
}
