/* Conformance tests for MQTT 5.0 properties (2.2.2): every property in every packet type the
 * table of 2.2.2.2 allows it in (decoded value checked), every property refused where it is not
 * allowed, duplicates of non-repeatable properties, the repeatable ones (User Property,
 * Subscription Identifier in PUBLISH), value ranges, unknown identifiers and broken blocks. */
#include <string.h>

#include "feed.h"

/* The places a property block can be. WILL is the will property block of a CONNECT. */
enum kind {
    K_CONNECT,
    K_WILL,
    K_CONNACK,
    K_PUBLISH,
    K_PUBACK,
    K_PUBREC,
    K_PUBREL,
    K_PUBCOMP,
    K_SUBSCRIBE,
    K_SUBACK,
    K_UNSUBSCRIBE,
    K_UNSUBACK,
    K_DISCONNECT,
    K_AUTH,
    K_COUNT
};

static const char *const kind_names[K_COUNT] = {
    "CONNECT", "WILL",      "CONNACK", "PUBLISH",     "PUBACK",   "PUBREC",     "PUBREL",
    "PUBCOMP", "SUBSCRIBE", "SUBACK",  "UNSUBSCRIBE", "UNSUBACK", "DISCONNECT", "AUTH"};

#define B(k)      (1u << (k))
#define ACKS      (B(K_PUBACK) | B(K_PUBREC) | B(K_PUBREL) | B(K_PUBCOMP))
#define ALL_KINDS ((1u << K_COUNT) - 1)

/* Builds a v5 packet of kind k whose (will) property block content is props. */
static void build(struct pkt *p, enum kind k, const struct pkt *props)
{
    static const uint8_t first[K_COUNT] = {0x10, 0x10, 0x20, 0x32, 0x40, 0x50, 0x62,
                                           0x70, 0x82, 0x90, 0xA2, 0xB0, 0xE0, 0xF0};
    pkt_begin(p, first[k]);
    switch (k) {
    case K_CONNECT:
    case K_WILL:
        pkt_str(p, "MQTT");
        pkt_u8(p, 5);
        pkt_u8(p, k == K_WILL ? 0x06 : 0x02);
        pkt_u16(p, 30);
        break;
    case K_CONNACK:
        pkt_u8(p, 0);
        pkt_u8(p, 0);
        break;
    case K_PUBLISH:
        pkt_str(p, "a/b");
        pkt_u16(p, 1);
        break;
    case K_PUBACK:
    case K_PUBREC:
    case K_PUBREL:
    case K_PUBCOMP:
    case K_SUBSCRIBE:
    case K_SUBACK:
    case K_UNSUBSCRIBE:
    case K_UNSUBACK:
        pkt_u16(p, 1);
        if (k <= K_PUBCOMP)
            pkt_u8(p, 0);
        break;
    case K_DISCONNECT:
    case K_AUTH:
        pkt_u8(p, 0);
        break;
    case K_COUNT:
        break;
    }
    pkt_props_begin(p);
    if (k != K_WILL)
        pkt_append(p, props);
    pkt_props_end(p);
    switch (k) {
    case K_CONNECT:
        pkt_str(p, "cid");
        break;
    case K_WILL:
        pkt_str(p, "cid");
        pkt_props_begin(p);
        pkt_append(p, props);
        pkt_props_end(p);
        pkt_str(p, "will/t");
        pkt_bin(p, "wm", 2);
        break;
    case K_PUBLISH:
        pkt_raw(p, "pay", 3);
        break;
    case K_SUBSCRIBE:
        pkt_str(p, "s/#");
        pkt_u8(p, 1);
        break;
    case K_SUBACK:
    case K_UNSUBACK:
        pkt_u8(p, 0);
        break;
    case K_UNSUBSCRIBE:
        pkt_str(p, "s/#");
        break;
    default:
        break;
    }
    pkt_end(p);
}

static const struct mqtt_props *props_of(const struct mqtt_packet *pk, enum kind k)
{
    switch (k) {
    case K_CONNECT:
        return &pk->u.connect.props;
    case K_WILL:
        return &pk->u.connect.will_props;
    case K_CONNACK:
        return &pk->u.connack.props;
    case K_PUBLISH:
        return &pk->u.publish.props;
    case K_SUBSCRIBE:
        return &pk->u.subscribe.props;
    case K_SUBACK:
        return &pk->u.suback.props;
    case K_UNSUBSCRIBE:
        return &pk->u.unsubscribe.props;
    case K_UNSUBACK:
        return &pk->u.unsuback.props;
    case K_DISCONNECT:
        return &pk->u.disconnect.props;
    case K_AUTH:
        return &pk->u.auth.props;
    default:
        return &pk->u.ack.props;
    }
}

/* One sample value per property, with the packet kinds that may carry it (2.2.2.2 table). */
struct sample {
    uint8_t id;
    unsigned allowed;
    void (*write)(struct pkt *p);
    bool (*same)(const struct mqtt_props *m);
};

static const uint8_t corr[] = {0x00, 0xFF, 0x10};
static const uint8_t adata[] = {0x01, 0x00, 0x02};

static void w01(struct pkt *p)
{
    pkt_prop_u8(p, 0x01, 1);
}
static bool s01(const struct mqtt_props *m)
{
    return m->payload_format == 1;
}
static void w02(struct pkt *p)
{
    pkt_prop_u32(p, 0x02, 0x01020304);
}
static bool s02(const struct mqtt_props *m)
{
    return m->message_expiry == 0x01020304;
}
static void w03(struct pkt *p)
{
    pkt_prop_str(p, 0x03, "text/plain");
}
static bool s03(const struct mqtt_props *m)
{
    return bytes_eq_str(m->content_type, "text/plain");
}
static void w08(struct pkt *p)
{
    pkt_prop_str(p, 0x08, "resp/topic");
}
static bool s08(const struct mqtt_props *m)
{
    return bytes_eq_str(m->response_topic, "resp/topic");
}
static void w09(struct pkt *p)
{
    pkt_prop_bin(p, 0x09, corr, sizeof corr);
}
static bool s09(const struct mqtt_props *m)
{
    return bytes_eq(m->correlation_data, bytes_of(corr, sizeof corr));
}
static void w0b(struct pkt *p)
{
    pkt_prop_varint(p, 0x0B, 16384);
}
static bool s0b(const struct mqtt_props *m)
{
    return m->sub_id == 16384 && m->sub_id_count == 1;
}
static void w11(struct pkt *p)
{
    pkt_prop_u32(p, 0x11, 0xFFFFFFFF);
}
static bool s11(const struct mqtt_props *m)
{
    return m->session_expiry == 0xFFFFFFFF;
}
static void w12(struct pkt *p)
{
    pkt_prop_str(p, 0x12, "auto-1");
}
static bool s12(const struct mqtt_props *m)
{
    return bytes_eq_str(m->assigned_client_id, "auto-1");
}
static void w13(struct pkt *p)
{
    pkt_prop_u16(p, 0x13, 0x1234);
}
static bool s13(const struct mqtt_props *m)
{
    return m->server_keep_alive == 0x1234;
}
static void w15(struct pkt *p)
{
    pkt_prop_str(p, 0x15, "SCRAM-SHA-1");
}
static bool s15(const struct mqtt_props *m)
{
    return bytes_eq_str(m->auth_method, "SCRAM-SHA-1");
}
static void w16(struct pkt *p)
{
    pkt_prop_bin(p, 0x16, adata, sizeof adata);
}
static bool s16(const struct mqtt_props *m)
{
    return bytes_eq(m->auth_data, bytes_of(adata, sizeof adata));
}
static void w17(struct pkt *p)
{
    pkt_prop_u8(p, 0x17, 0);
}
static bool s17(const struct mqtt_props *m)
{
    return m->request_problem_info == 0;
}
static void w18(struct pkt *p)
{
    pkt_prop_u32(p, 0x18, 60);
}
static bool s18(const struct mqtt_props *m)
{
    return m->will_delay == 60;
}
static void w19(struct pkt *p)
{
    pkt_prop_u8(p, 0x19, 1);
}
static bool s19(const struct mqtt_props *m)
{
    return m->request_response_info == 1;
}
static void w1a(struct pkt *p)
{
    pkt_prop_str(p, 0x1A, "info");
}
static bool s1a(const struct mqtt_props *m)
{
    return bytes_eq_str(m->response_info, "info");
}
static void w1c(struct pkt *p)
{
    pkt_prop_str(p, 0x1C, "other:1883");
}
static bool s1c(const struct mqtt_props *m)
{
    return bytes_eq_str(m->server_reference, "other:1883");
}
static void w1f(struct pkt *p)
{
    pkt_prop_str(p, 0x1F, "why");
}
static bool s1f(const struct mqtt_props *m)
{
    return bytes_eq_str(m->reason_string, "why");
}
static void w21(struct pkt *p)
{
    pkt_prop_u16(p, 0x21, 65535);
}
static bool s21(const struct mqtt_props *m)
{
    return m->receive_maximum == 65535;
}
static void w22(struct pkt *p)
{
    pkt_prop_u16(p, 0x22, 10);
}
static bool s22(const struct mqtt_props *m)
{
    return m->topic_alias_maximum == 10;
}
static void w23(struct pkt *p)
{
    pkt_prop_u16(p, 0x23, 7);
}
static bool s23(const struct mqtt_props *m)
{
    return m->topic_alias == 7;
}
static void w24(struct pkt *p)
{
    pkt_prop_u8(p, 0x24, 1);
}
static bool s24(const struct mqtt_props *m)
{
    return m->maximum_qos == 1;
}
static void w25(struct pkt *p)
{
    pkt_prop_u8(p, 0x25, 0);
}
static bool s25(const struct mqtt_props *m)
{
    return m->retain_available == 0;
}
static void w26(struct pkt *p)
{
    pkt_prop_pair(p, 0x26, "key", "value");
}
static bool s26(const struct mqtt_props *m)
{
    size_t pos = 0;
    struct mqtt_user_prop u;
    return m->user_count == 1 && codec_props_next_user(m, &pos, &u) &&
           bytes_eq_str(u.name, "key") && bytes_eq_str(u.value, "value") &&
           !codec_props_next_user(m, &pos, &u);
}
static void w27(struct pkt *p)
{
    pkt_prop_u32(p, 0x27, 1024);
}
static bool s27(const struct mqtt_props *m)
{
    return m->maximum_packet_size == 1024;
}
static void w28(struct pkt *p)
{
    pkt_prop_u8(p, 0x28, 1);
}
static bool s28(const struct mqtt_props *m)
{
    return m->wildcard_sub_available == 1;
}
static void w29(struct pkt *p)
{
    pkt_prop_u8(p, 0x29, 0);
}
static bool s29(const struct mqtt_props *m)
{
    return m->sub_id_available == 0;
}
static void w2a(struct pkt *p)
{
    pkt_prop_u8(p, 0x2A, 1);
}
static bool s2a(const struct mqtt_props *m)
{
    return m->shared_sub_available == 1;
}

/* MQTT 5.0 2.2.2.2, Table 2-4 Properties: identifier and the packets that may carry it. */
static const struct sample samples[] = {
    {0x01, B(K_PUBLISH) | B(K_WILL), w01, s01},
    {0x02, B(K_PUBLISH) | B(K_WILL), w02, s02},
    {0x03, B(K_PUBLISH) | B(K_WILL), w03, s03},
    {0x08, B(K_PUBLISH) | B(K_WILL), w08, s08},
    {0x09, B(K_PUBLISH) | B(K_WILL), w09, s09},
    {0x0B, B(K_PUBLISH) | B(K_SUBSCRIBE), w0b, s0b},
    {0x11, B(K_CONNECT) | B(K_CONNACK) | B(K_DISCONNECT), w11, s11},
    {0x12, B(K_CONNACK), w12, s12},
    {0x13, B(K_CONNACK), w13, s13},
    {0x15, B(K_CONNECT) | B(K_CONNACK) | B(K_AUTH), w15, s15},
    {0x16, B(K_CONNECT) | B(K_CONNACK) | B(K_AUTH), w16, s16},
    {0x17, B(K_CONNECT), w17, s17},
    {0x18, B(K_WILL), w18, s18},
    {0x19, B(K_CONNECT), w19, s19},
    {0x1A, B(K_CONNACK), w1a, s1a},
    {0x1C, B(K_CONNACK) | B(K_DISCONNECT), w1c, s1c},
    {0x1F, B(K_CONNACK) | ACKS | B(K_SUBACK) | B(K_UNSUBACK) | B(K_DISCONNECT) | B(K_AUTH), w1f,
     s1f},
    {0x21, B(K_CONNECT) | B(K_CONNACK), w21, s21},
    {0x22, B(K_CONNECT) | B(K_CONNACK), w22, s22},
    {0x23, B(K_PUBLISH), w23, s23},
    {0x24, B(K_CONNACK), w24, s24},
    {0x25, B(K_CONNACK), w25, s25},
    {0x26, ALL_KINDS, w26, s26},
    {0x27, B(K_CONNECT) | B(K_CONNACK), w27, s27},
    {0x28, B(K_CONNACK), w28, s28},
    {0x29, B(K_CONNACK), w29, s29},
    {0x2A, B(K_CONNACK), w2a, s2a},
};

#define NSAMPLES (sizeof samples / sizeof samples[0])

/* Authentication Data needs an Authentication Method (3.1.2.11.10, 3.2.2.3.18) and AUTH must
 * carry one (3.15.2.2.2), so those blocks get the method first. */
static bool needs_method(const struct sample *s, enum kind k)
{
    return s->id != 0x15 && (k == K_AUTH || s->id == 0x16);
}

static void block(struct pkt *props, const struct sample *s, enum kind k, int copies)
{
    if (needs_method(s, k))
        w15(props);
    for (int i = 0; i < copies; i++)
        s->write(props);
}

static void report(const char *what, const struct sample *s, enum kind k)
{
    fprintf(stderr, "  ^ %s: property 0x%02X in %s\n", what, s->id, kind_names[k]);
}

static void test_props_each_allowed(void)
{
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    for (size_t i = 0; i < NSAMPLES; i++) {
        const struct sample *s = &samples[i];
        for (int k = 0; k < K_COUNT; k++) {
            if (!(s->allowed & B(k)))
                continue;
            pkt_reset(&props);
            pkt_reset(&p);
            block(&props, s, (enum kind)k, 1);
            build(&p, (enum kind)k, &props);
            int before = unit_failures;
            struct mqtt_packet pk;
            if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
                const struct mqtt_props *m = props_of(&pk, (enum kind)k);
                uint64_t want = MQTT_PROP_BIT(s->id);
                if (needs_method(s, (enum kind)k))
                    want |= MQTT_PROP_BIT(0x15);
                CHECK(m->present == want);
                CHECK(s->same(m));
                CHECK_MEM(m->raw.ptr, m->raw.len, props.data, props.len);
            }
            if (unit_failures != before)
                report("allowed", s, (enum kind)k);
        }
    }
    pkt_free(&p);
    pkt_free(&props);
}

static void test_props_all_together(void)
{
    /* Every property a packet type allows, in one block. */
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    for (int k = 0; k < K_COUNT; k++) {
        pkt_reset(&props);
        pkt_reset(&p);
        uint64_t want = 0;
        for (size_t i = 0; i < NSAMPLES; i++) {
            if (samples[i].allowed & B(k)) {
                samples[i].write(&props);
                want |= MQTT_PROP_BIT(samples[i].id);
            }
        }
        if (k == K_AUTH)
            CHECK(want & MQTT_PROP_BIT(0x15));
        build(&p, (enum kind)k, &props);
        struct mqtt_packet pk;
        if (!FEED_OK_PKT(&p, MQTT_V5, &pk)) {
            fprintf(stderr, "  ^ all properties of %s\n", kind_names[k]);
            continue;
        }
        const struct mqtt_props *m = props_of(&pk, (enum kind)k);
        CHECK(m->present == want);
        for (size_t i = 0; i < NSAMPLES; i++)
            if (samples[i].allowed & B(k))
                CHECK(samples[i].same(m));
    }
    pkt_free(&p);
    pkt_free(&props);
}

static void test_props_not_allowed(void)
{
    /* "A Control Packet which contains an Identifier which is not valid for its packet type ...
     * is a Malformed Packet" (2.2.2.2); e.g. Topic Alias in CONNECT, Session Expiry Interval in
     * PUBLISH, Will Delay Interval outside the will properties. */
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    for (size_t i = 0; i < NSAMPLES; i++) {
        const struct sample *s = &samples[i];
        for (int k = 0; k < K_COUNT; k++) {
            if (s->allowed & B(k))
                continue;
            pkt_reset(&props);
            pkt_reset(&p);
            block(&props, s, (enum kind)k, 1);
            build(&p, (enum kind)k, &props);
            int before = unit_failures;
            FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
            if (unit_failures != before)
                report("not allowed", s, (enum kind)k);
        }
    }
    pkt_free(&p);
    pkt_free(&props);
}

static void test_props_duplicates(void)
{
    /* "It is a Protocol Error to include <property> more than once" (each property's section
     * in 3.x). User Property may repeat everywhere and Subscription Identifier in PUBLISH
     * (3.3.2.3.8), but not in SUBSCRIBE (3.8.2.1.2). */
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    for (size_t i = 0; i < NSAMPLES; i++) {
        const struct sample *s = &samples[i];
        for (int k = 0; k < K_COUNT; k++) {
            if (!(s->allowed & B(k)))
                continue;
            bool repeatable = s->id == 0x26 || (s->id == 0x0B && k == K_PUBLISH);
            pkt_reset(&props);
            pkt_reset(&p);
            block(&props, s, (enum kind)k, 2);
            build(&p, (enum kind)k, &props);
            int before = unit_failures;
            struct mqtt_packet pk;
            if (repeatable)
                FEED_OK_PKT(&p, MQTT_V5, &pk);
            else
                FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_PROTOCOL_ERROR);
            if (unit_failures != before)
                report(repeatable ? "repeated (allowed)" : "duplicate", s, (enum kind)k);
        }
    }
    pkt_free(&p);
    pkt_free(&props);
}

static void test_props_user_properties(void)
{
    /* "The User Property is allowed to appear multiple times to represent multiple name, value
     * pairs. The same name is allowed to appear more than once" (3.1.2.11.8); order is kept
     * (3.3.2.3.7 [MQTT-3.3.2-18]). */
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    pkt_prop_pair(&props, 0x26, "a", "1");
    pkt_prop_u32(&props, 0x02, 5);
    pkt_prop_pair(&props, 0x26, "a", "2");
    pkt_prop_pair(&props, 0x26, "", "");
    build(&p, K_PUBLISH, &props);
    struct mqtt_packet pk;
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        const struct mqtt_props *m = &pk.u.publish.props;
        CHECK_EQ_INT(m->user_count, 3);
        CHECK_EQ_INT(m->message_expiry, 5);
        static const char *const names[] = {"a", "a", ""};
        static const char *const values[] = {"1", "2", ""};
        size_t pos = 0, n = 0;
        struct mqtt_user_prop u;
        while (n < 4 && codec_props_next_user(m, &pos, &u)) {
            REQUIRE(n < 3);
            CHECK_BYTES_STR(u.name, names[n]);
            CHECK_BYTES_STR(u.value, values[n]);
            n++;
        }
        CHECK_EQ_INT(n, 3);
    }
    pkt_free(&p);
    pkt_free(&props);
}

static void test_props_sub_ids_in_publish(void)
{
    /* A PUBLISH from the Server carries one Subscription Identifier per matching subscription
     * (3.3.2.3.8, [MQTT-3.3.4-4]); values 1 .. 268,435,455. */
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    pkt_prop_varint(&props, 0x0B, 1);
    pkt_prop_varint(&props, 0x0B, 268435455);
    pkt_prop_varint(&props, 0x0B, 128);
    build(&p, K_PUBLISH, &props);
    struct mqtt_packet pk;
    if (FEED_OK_PKT(&p, MQTT_V5, &pk)) {
        const struct mqtt_props *m = &pk.u.publish.props;
        CHECK_EQ_INT(m->sub_id, 1);
        CHECK_EQ_INT(m->sub_id_count, 3);
        static const uint32_t want[] = {1, 268435455, 128};
        size_t pos = 0, n = 0;
        uint32_t id;
        while (n < 4 && codec_props_next_sub_id(m, &pos, &id)) {
            REQUIRE(n < 3);
            CHECK_EQ_INT(id, want[n]);
            n++;
        }
        CHECK_EQ_INT(n, 3);
    }
    pkt_free(&p);
    pkt_free(&props);
}

struct range_vec {
    const char *what;
    enum kind k;
    uint8_t id;
    int size; /* 1, 2, 4 bytes or 0 for a Variable Byte Integer */
    uint32_t value;
    uint8_t want, alt;
};

static void test_props_out_of_range(void)
{
    static const struct range_vec vec[] = {
        /* "It is a Protocol Error to include the Receive Maximum value more than once or for it
         * to have the value 0" (3.1.2.11.3, 3.2.2.3.3). */
        {"receive maximum 0", K_CONNECT, 0x21, 2, 0, 0x82, 0x82},
        {"receive maximum 0", K_CONNACK, 0x21, 2, 0, 0x82, 0x82},
        /* "It is a Protocol Error to include the Maximum Packet Size more than once, or for the
         * value to be set to zero" (3.1.2.11.4, 3.2.2.3.6). */
        {"maximum packet size 0", K_CONNECT, 0x27, 4, 0, 0x82, 0x82},
        {"maximum packet size 0", K_CONNACK, 0x27, 4, 0, 0x82, 0x82},
        /* "It is a Protocol Error if the Subscription Identifier has a value of 0"
         * (3.8.2.1.2; 3.3.2.3.8 allows 1 .. 268,435,455). */
        {"subscription identifier 0", K_SUBSCRIBE, 0x0B, 0, 0, 0x82, 0x82},
        {"subscription identifier 0", K_PUBLISH, 0x0B, 0, 0, 0x82, 0x82},
        /* "A Topic Alias of 0 is not permitted" [MQTT-3.3.2-8]; the receiver's code is not fixed
         * by the spec: Protocol Error or 0x94 Topic Alias invalid. */
        {"topic alias 0", K_PUBLISH, 0x23, 2, 0, 0x82, 0x94},
        /* Payload Format Indicator is 0 or 1 (3.3.2.3.2, 3.1.3.2.3): data that does not
         * conform, a Protocol Error. */
        {"payload format 2", K_PUBLISH, 0x01, 1, 2, 0x82, 0x82},
        {"payload format 2", K_WILL, 0x01, 1, 2, 0x82, 0x82},
        {"payload format 255", K_PUBLISH, 0x01, 1, 255, 0x82, 0x82},
        /* "It is a Protocol Error to include ... more than once, or to have a value other than 0
         * or 1" (3.1.2.11.6, 3.1.2.11.7, 3.2.2.3.4, 3.2.2.3.5, 3.2.2.3.11-13). */
        {"request problem information 2", K_CONNECT, 0x17, 1, 2, 0x82, 0x82},
        {"request response information 2", K_CONNECT, 0x19, 1, 2, 0x82, 0x82},
        {"maximum qos 2", K_CONNACK, 0x24, 1, 2, 0x82, 0x82},
        {"retain available 2", K_CONNACK, 0x25, 1, 2, 0x82, 0x82},
        {"wildcard available 2", K_CONNACK, 0x28, 1, 2, 0x82, 0x82},
        {"sub id available 2", K_CONNACK, 0x29, 1, 2, 0x82, 0x82},
        {"shared available 2", K_CONNACK, 0x2A, 1, 2, 0x82, 0x82},
    };
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        const struct range_vec *v = &vec[i];
        pkt_reset(&props);
        pkt_reset(&p);
        if (v->size == 1)
            pkt_prop_u8(&props, v->id, (uint8_t)v->value);
        else if (v->size == 2)
            pkt_prop_u16(&props, v->id, (uint16_t)v->value);
        else if (v->size == 4)
            pkt_prop_u32(&props, v->id, v->value);
        else
            pkt_prop_varint(&props, v->id, v->value);
        build(&p, v->k, &props);
        int before = unit_failures;
        FEED_ERR2_PKT(&p, MQTT_V5, v->want, v->alt);
        if (unit_failures != before)
            fprintf(stderr, "  ^ %s in %s\n", v->what, kind_names[v->k]);
    }
    pkt_free(&p);
    pkt_free(&props);
}

static void test_props_unknown_id(void)
{
    /* Identifiers not in Table 2-4 are not valid in any packet: a Malformed Packet (2.2.2.2). */
    static const uint8_t ids[] = {0x00, 0x04, 0x0A, 0x10, 0x14, 0x1B, 0x1E, 0x20, 0x2B, 0x7F};
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    static const enum kind kinds[] = {K_CONNECT, K_PUBLISH, K_DISCONNECT};
    for (size_t i = 0; i < sizeof ids; i++) {
        for (size_t j = 0; j < sizeof kinds / sizeof kinds[0]; j++) {
            pkt_reset(&props);
            pkt_reset(&p);
            pkt_prop_u8(&props, ids[i], 0);
            build(&p, kinds[j], &props);
            int before = unit_failures;
            FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
            if (unit_failures != before)
                fprintf(stderr, "  ^ unknown id 0x%02X in %s\n", ids[i], kind_names[kinds[j]]);
        }
    }
    pkt_free(&p);
    pkt_free(&props);
}

static void test_props_broken_blocks(void)
{
    /* Property values must fit in the block and be of the specified data type (2.2.2.2):
     * otherwise a Malformed Packet. Each block is used in a PUBLISH. */
    static const struct {
        const char *what;
        uint8_t bytes[8];
        size_t len;
    } vec[] = {
        {"u32 cut short", {0x02, 0x00, 0x00}, 3},
        {"u16 cut short", {0x23, 0x00}, 2},
        {"byte missing", {0x01}, 1},
        {"string length beyond block", {0x03, 0x00, 0x05, 'a', 'b'}, 5},
        {"string length cut", {0x03, 0x00}, 2},
        {"varint unterminated", {0x0B, 0x80, 0x80}, 3},
        {"varint non-minimal", {0x0B, 0x81, 0x00}, 3},
        {"user property without value", {0x26, 0x00, 0x01, 'k'}, 4},
        {"content type not UTF-8", {0x03, 0x00, 0x02, 0xC0, 0x80}, 5},
        {"response topic with U+0000", {0x08, 0x00, 0x01, 0x00}, 4},
        {"user property name surrogate", {0x26, 0x00, 0x03, 0xED, 0xA0, 0x80, 0x00, 0x00}, 8},
        {"user property value overlong", {0x26, 0x00, 0x00, 0x00, 0x02, 0xC1, 0xBF}, 7},
    };
    struct pkt props, p;
    pkt_init(&props);
    pkt_init(&p);
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        pkt_reset(&props);
        pkt_reset(&p);
        pkt_raw(&props, vec[i].bytes, vec[i].len);
        build(&p, K_PUBLISH, &props);
        int before = unit_failures;
        FEED_ERR_PKT(&p, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
        if (unit_failures != before)
            fprintf(stderr, "  ^ %s\n", vec[i].what);
    }
    /* The property length itself: non-minimal (0x80 0x00), and longer than the packet. */
    static const uint8_t nonmin[] = {0x30, 0x07, 0x00, 0x01, 't', 0x80, 0x00, 'x', 'y'};
    FEED_ERR_ARR(nonmin, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    static const uint8_t beyond[] = {0xE0, 0x03, 0x00, 0x7F, 0x01};
    FEED_ERR_ARR(beyond, MQTT_V5, MQTT_RC_MALFORMED_PACKET);
    pkt_free(&p);
    pkt_free(&props);
}

static void test_props_ignored_in_v311(void)
{
    /* 3.1.1 has no property block: a byte after the packet id is payload, not properties. */
    static const uint8_t in[] = {0x32, 0x07, 0x00, 0x01, 't', 0x00, 0x01, 0x03, 0x01};
    struct mqtt_packet pk;
    if (FEED_OK_ARR(in, MQTT_V311, &pk)) {
        CHECK_EQ_INT(pk.u.publish.packet_id, 1);
        CHECK_EQ_INT(pk.u.publish.props.present, 0);
        CHECK_BYTES(pk.u.publish.payload, "\x03\x01", 2);
    }
}

UNIT_MAIN(UNIT_TEST(test_props_each_allowed), UNIT_TEST(test_props_all_together),
          UNIT_TEST(test_props_not_allowed), UNIT_TEST(test_props_duplicates),
          UNIT_TEST(test_props_user_properties), UNIT_TEST(test_props_sub_ids_in_publish),
          UNIT_TEST(test_props_out_of_range), UNIT_TEST(test_props_unknown_id),
          UNIT_TEST(test_props_broken_blocks), UNIT_TEST(test_props_ignored_in_v311))
