/* Round-trip tests for src/codec: for every packet type and every property, in MQTT 3.1.1 and
 * 5.0 (and 3.1 for CONNECT), build a struct, encode, decode, compare field by field, re-encode
 * and compare the bytes; plus the encoder's sizing contract, what it refuses, the topic helpers
 * and a deterministic mutation pass. Malformed-input vectors live in tests/unit/codec. */
#include <stdint.h>
#include <string.h>

#include "codec.h"
#include "roundtrip.h"
#include "unit.h"

/* ---- CONNECT ---- */

static void fill_connect_full(struct mqtt_packet *p, uint8_t version)
{
    memset(p, 0, sizeof *p);
    struct mqtt_connect *c = &p->u.connect;
    p->type = MQTT_CONNECT;
    c->version = version;
    c->clean_start = false;
    c->keep_alive = 65535;
    c->client_id = S("client-\xe2\x82\xac-1");
    c->has_will = true;
    c->will_qos = 2;
    c->will_retain = true;
    c->will_topic = S("clients/1/status");
    c->will_payload = bytes_of(roundtrip_corr, sizeof roundtrip_corr);
    c->has_username = true;
    c->username = S("alice");
    c->has_password = true;
    c->password = bytes_of(roundtrip_blob, sizeof roundtrip_blob);
    roundtrip_props_connect(&c->props);
    roundtrip_props_will(&c->will_props);
}

static void check_connect(const struct mqtt_connect *w, const struct mqtt_connect *g)
{
    CHECK_EQ_INT(g->version, w->version);
    CHECK_EQ_INT(g->clean_start, w->clean_start);
    CHECK_EQ_INT(g->keep_alive, w->keep_alive);
    CHECK(bytes_eq(g->client_id, w->client_id));
    CHECK_EQ_INT(g->has_will, w->has_will);
    CHECK_EQ_INT(g->will_qos, w->will_qos);
    CHECK_EQ_INT(g->will_retain, w->will_retain);
    CHECK(bytes_eq(g->will_topic, w->will_topic));
    CHECK(bytes_eq(g->will_payload, w->will_payload));
    CHECK_EQ_INT(g->has_username, w->has_username);
    CHECK_EQ_INT(g->has_password, w->has_password);
    CHECK(bytes_eq(g->username, w->username));
    CHECK(bytes_eq(g->password, w->password));
    roundtrip_check_props_v(&w->props, &g->props, w->version);
    roundtrip_check_props_v(&w->will_props, &g->will_props, w->version);
}

static void test_connect_full_all_versions(void)
{
    static const uint8_t versions[] = {MQTT_V31, MQTT_V311, MQTT_V5};
    for (size_t i = 0; i < sizeof versions; i++) {
        struct mqtt_packet in, out;
        uint8_t wire[BUFSZ];
        fill_connect_full(&in, versions[i]);
        /* The version argument is ignored for CONNECT: the struct's version decides. */
        REQUIRE(roundtrip_run(&in, MQTT_V311, wire, &out) > 0);
        check_connect(&in.u.connect, &out.u.connect);
        uint8_t tf, reason;
        uint32_t rl;
        int h = codec_decode_fixed_header(wire, sizeof wire, &tf, &rl, &reason);
        REQUIRE(h >= 2);
        const uint8_t *vh = wire + h;
        size_t name_len = versions[i] == MQTT_V31 ? 6 : 4;
        CHECK_EQ_INT(vh[0], 0);
        CHECK_EQ_INT(vh[1], name_len);
        CHECK_MEM(vh + 2, name_len, versions[i] == MQTT_V31 ? "MQIsdp" : "MQTT", name_len);
        CHECK_EQ_INT(vh[2 + name_len], versions[i]);
        CHECK_EQ_INT(vh[3 + name_len], 0xF4); /* user, password, will retain, QoS 2, will */
    }
}

static void test_connect_minimal(void)
{
    for (uint8_t v = MQTT_V31; v <= MQTT_V5; v++) {
        struct mqtt_packet in, out;
        uint8_t wire[BUFSZ];
        memset(&in, 0, sizeof in);
        in.type = MQTT_CONNECT;
        in.u.connect.version = v;
        in.u.connect.clean_start = true;
        REQUIRE(roundtrip_run(&in, v, wire, &out) > 0);
        check_connect(&in.u.connect, &out.u.connect);
        CHECK_EQ_INT(out.u.connect.client_id.len, 0);
    }
}

static void test_connect_v5_password_only(void)
{
    struct mqtt_packet in, out;
    uint8_t wire[BUFSZ];
    memset(&in, 0, sizeof in);
    in.type = MQTT_CONNECT;
    in.u.connect.version = MQTT_V5;
    in.u.connect.client_id = S("c");
    in.u.connect.has_password = true;
    in.u.connect.password = S("secret");
    in.u.connect.has_will = true;
    in.u.connect.will_qos = 1;
    in.u.connect.will_topic = S("w");
    REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) > 0);
    check_connect(&in.u.connect, &out.u.connect);
    /* Before v5 a password needs a user name [MQTT-3.1.2-22]: not encodable. */
    in.u.connect.version = MQTT_V311;
    CHECK_EQ_INT(codec_encode(&in, MQTT_V311, wire, sizeof wire), 0);
}

/* ---- CONNACK ---- */

static void test_connack(void)
{
    struct mqtt_packet in, out;
    uint8_t wire[BUFSZ];
    memset(&in, 0, sizeof in);
    in.type = MQTT_CONNACK;
    in.u.connack.session_present = true;
    for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
        REQUIRE(roundtrip_run(&in, v, wire, &out) == 4 + (v == MQTT_V5));
        CHECK_EQ_INT(out.u.connack.session_present, 1);
        CHECK_EQ_INT(out.u.connack.reason, 0);
    }
    in.u.connack.session_present = false;
    in.u.connack.reason = MQTT_V3_NOT_AUTHORIZED;
    REQUIRE(roundtrip_run(&in, MQTT_V311, wire, &out) == 4);
    CHECK_EQ_INT(out.u.connack.reason, MQTT_V3_NOT_AUTHORIZED);
    /* v3 return codes stop at 5; v5 reason codes are not v3 return codes. */
    in.u.connack.reason = MQTT_RC_NOT_AUTHORIZED;
    CHECK_EQ_INT(codec_encode(&in, MQTT_V311, wire, sizeof wire), 0);
    roundtrip_props_connack(&in.u.connack.props);
    REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) > 0);
    CHECK_EQ_INT(out.u.connack.reason, MQTT_RC_NOT_AUTHORIZED);
    roundtrip_check_props(&in.u.connack.props, &out.u.connack.props);
    /* v3 leaves every property out. */
    in.u.connack.reason = MQTT_V3_ACCEPTED;
    REQUIRE(roundtrip_run(&in, MQTT_V311, wire, &out) == 4);
    CHECK_EQ_INT(out.u.connack.props.present, 0);
}

/* ---- PUBLISH ---- */

static void check_publish(const struct mqtt_publish *w, const struct mqtt_publish *g, uint8_t v)
{
    CHECK_EQ_INT(g->qos, w->qos);
    CHECK_EQ_INT(g->dup, w->dup);
    CHECK_EQ_INT(g->retain, w->retain);
    CHECK(bytes_eq(g->topic, w->topic));
    CHECK_EQ_INT(g->packet_id, w->packet_id);
    CHECK(bytes_eq(g->payload, w->payload));
    roundtrip_check_props_v(&w->props, &g->props, v);
}

static void test_publish_qos_flags(void)
{
    for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
        for (uint8_t qos = 0; qos <= 2; qos++) {
            struct mqtt_packet in, out;
            uint8_t wire[BUFSZ];
            memset(&in, 0, sizeof in);
            in.type = MQTT_PUBLISH;
            in.u.publish.qos = qos;
            in.u.publish.retain = qos != 1;
            in.u.publish.dup = qos == 2;
            in.u.publish.packet_id = qos ? (uint16_t)(qos * 1000) : 0;
            in.u.publish.topic = S("sensors/\xf0\x9f\x8c\xa1/temp");
            in.u.publish.payload = S(qos == 1 ? "" : "21.5");
            REQUIRE(roundtrip_run(&in, v, wire, &out) > 0);
            check_publish(&in.u.publish, &out.u.publish, v);
            CHECK_EQ_INT(wire[0] & 0x0F, (qos << 1) | (qos != 1) | (qos == 2 ? 8 : 0));
        }
    }
}

static void test_publish_v5_props(void)
{
    struct mqtt_packet in, out;
    uint8_t wire[BUFSZ];
    memset(&in, 0, sizeof in);
    in.type = MQTT_PUBLISH;
    in.u.publish.qos = 1;
    in.u.publish.packet_id = 65535;
    in.u.publish.topic = S("a/b");
    in.u.publish.payload = bytes_of(roundtrip_corr, sizeof roundtrip_corr);
    roundtrip_props_publish(&in.u.publish.props);
    REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) > 0);
    check_publish(&in.u.publish, &out.u.publish, MQTT_V5);
    /* The same packet for a v3.1.1 peer carries no properties. */
    REQUIRE(roundtrip_run(&in, MQTT_V311, wire, &out) > 0);
    check_publish(&in.u.publish, &out.u.publish, MQTT_V311);
}

static void test_publish_v5_alias_empty_topic(void)
{
    struct mqtt_packet in, out;
    uint8_t wire[BUFSZ];
    memset(&in, 0, sizeof in);
    in.type = MQTT_PUBLISH;
    in.u.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
    in.u.publish.props.topic_alias = 3;
    in.u.publish.payload = S("x");
    REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) > 0);
    check_publish(&in.u.publish, &out.u.publish, MQTT_V5);
    CHECK_EQ_INT(out.u.publish.topic.len, 0);
    /* Without an alias, or for v3, an empty topic cannot be encoded. */
    CHECK_EQ_INT(codec_encode(&in, MQTT_V311, wire, sizeof wire), 0);
    in.u.publish.props.present = 0;
    CHECK_EQ_INT(codec_encode(&in, MQTT_V5, wire, sizeof wire), 0);
}

/* ---- PUBACK, PUBREC, PUBREL, PUBCOMP ---- */

static void test_acks(void)
{
    for (uint8_t type = MQTT_PUBACK; type <= MQTT_PUBCOMP; type++) {
        bool rel = type == MQTT_PUBREL || type == MQTT_PUBCOMP;
        uint8_t bad_rc = rel ? MQTT_RC_PACKET_IDENTIFIER_NOT_FOUND : MQTT_RC_QUOTA_EXCEEDED;
        struct mqtt_packet in, out;
        uint8_t wire[BUFSZ];
        memset(&in, 0, sizeof in);
        in.type = type;
        in.u.ack.packet_id = 0x1234;
        /* Reason 0, no properties: Remaining Length 2 in both versions. */
        for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
            REQUIRE(roundtrip_run(&in, v, wire, &out) == 4);
            CHECK_EQ_INT(wire[0], type << 4 | (type == MQTT_PUBREL ? 2 : 0));
            CHECK_EQ_INT(out.u.ack.packet_id, 0x1234);
        }
        /* A reason, no properties: Remaining Length 3. */
        in.u.ack.reason = bad_rc;
        REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) == 5);
        CHECK_EQ_INT(out.u.ack.reason, bad_rc);
        /* v3 has no reason code. */
        REQUIRE(roundtrip_run(&in, MQTT_V311, wire, &out) == 4);
        CHECK_EQ_INT(out.u.ack.reason, 0);
        /* A reason and every property an ack may carry. */
        roundtrip_props_reason(&in.u.ack.props);
        REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) > 5);
        CHECK_EQ_INT(out.u.ack.reason, bad_rc);
        roundtrip_check_props(&in.u.ack.props, &out.u.ack.props);
        /* Reason 0 with properties keeps the reason byte. */
        in.u.ack.reason = 0;
        REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) > 5);
        roundtrip_check_props(&in.u.ack.props, &out.u.ack.props);
        /* A code the packet's table does not list is refused (PUBACK may not carry 0x8E). */
        in.u.ack.reason = MQTT_RC_SESSION_TAKEN_OVER;
        CHECK_EQ_INT(codec_encode(&in, MQTT_V5, wire, sizeof wire), 0);
    }
}

/* ---- SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK ---- */

static void check_subscribe(const struct mqtt_subscribe *w, const struct mqtt_subscribe *g,
                            uint8_t v)
{
    CHECK_EQ_INT(g->packet_id, w->packet_id);
    CHECK_EQ_INT(g->count, w->count);
    size_t pos = 0, i = 0;
    struct mqtt_sub_entry e;
    while (codec_subscribe_next(g, &pos, &e)) {
        REQUIRE(i < w->count);
        CHECK(bytes_eq(e.filter, w->list[i].filter));
        uint8_t want = w->list[i].options;
        CHECK_EQ_INT(e.options, v == MQTT_V5 ? want : (want & MQTT_SUBOPT_QOS_MASK));
        i++;
    }
    CHECK_EQ_INT(i, w->count);
    roundtrip_check_props_v(&w->props, &g->props, v);
}

static void test_subscribe(void)
{
    const struct mqtt_sub_entry list[] = {
        {{LIT("a/+/c")}, 0},
        {{LIT("$share/g1/x/#")}, 1 | MQTT_SUBOPT_RAP},
        {{LIT("#")}, 2 | MQTT_SUBOPT_NO_LOCAL | (2 << MQTT_SUBOPT_RH_SHIFT)},
        {{LIT("not/+a/valid/filter/but/utf8")}, 1 | (1 << MQTT_SUBOPT_RH_SHIFT)},
    };
    for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
        struct mqtt_packet in, out;
        uint8_t wire[BUFSZ];
        memset(&in, 0, sizeof in);
        in.type = MQTT_SUBSCRIBE;
        in.u.subscribe.packet_id = 7;
        in.u.subscribe.list = list;
        in.u.subscribe.count = sizeof list / sizeof list[0];
        roundtrip_props_subscribe(&in.u.subscribe.props);
        REQUIRE(roundtrip_run(&in, v, wire, &out) > 0);
        CHECK_EQ_INT(wire[0], 0x82);
        check_subscribe(&in.u.subscribe, &out.u.subscribe, v);
        /* No filter at all cannot be encoded [MQTT-3.8.3-3]. */
        in.u.subscribe.count = 0;
        CHECK_EQ_INT(codec_encode(&in, v, wire, sizeof wire), 0);
    }
}

static void test_suback(void)
{
    static const uint8_t v3_codes[] = {0, 1, 2, MQTT_V3_SUBACK_FAILURE};
    static const uint8_t v5_codes[] = {0,    1,    2,    0x80, 0x83, 0x87,
                                       0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
    struct mqtt_packet in, out;
    uint8_t wire[BUFSZ];
    memset(&in, 0, sizeof in);
    in.type = MQTT_SUBACK;
    in.u.suback.packet_id = 9;
    in.u.suback.reasons = bytes_of(v3_codes, sizeof v3_codes);
    REQUIRE(roundtrip_run(&in, MQTT_V311, wire, &out) == 8);
    CHECK_EQ_INT(out.u.suback.packet_id, 9);
    CHECK(bytes_eq(out.u.suback.reasons, in.u.suback.reasons));
    in.u.suback.reasons = bytes_of(v5_codes, sizeof v5_codes);
    roundtrip_props_reason(&in.u.suback.props);
    REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) > 0);
    CHECK(bytes_eq(out.u.suback.reasons, in.u.suback.reasons));
    roundtrip_check_props(&in.u.suback.props, &out.u.suback.props);
    /* 0x8F is not a v3 return code. */
    CHECK_EQ_INT(codec_encode(&in, MQTT_V311, wire, sizeof wire), 0);
}

static void test_unsubscribe(void)
{
    const struct tern_bytes list[] = {{LIT("a/b")}, {LIT("$share/g/#")}, {LIT("+")}};
    for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
        struct mqtt_packet in, out;
        uint8_t wire[BUFSZ];
        memset(&in, 0, sizeof in);
        in.type = MQTT_UNSUBSCRIBE;
        in.u.unsubscribe.packet_id = 65535;
        in.u.unsubscribe.list = list;
        in.u.unsubscribe.count = 3;
        roundtrip_users(&in.u.unsubscribe.props);
        REQUIRE(roundtrip_run(&in, v, wire, &out) > 0);
        CHECK_EQ_INT(wire[0], 0xA2);
        CHECK_EQ_INT(out.u.unsubscribe.packet_id, 65535);
        CHECK_EQ_INT(out.u.unsubscribe.count, 3);
        size_t pos = 0, i = 0;
        struct tern_bytes f;
        while (codec_unsubscribe_next(&out.u.unsubscribe, &pos, &f)) {
            REQUIRE(i < 3);
            CHECK(bytes_eq(f, list[i]));
            i++;
        }
        CHECK_EQ_INT(i, 3);
        roundtrip_check_props_v(&in.u.unsubscribe.props, &out.u.unsubscribe.props, v);
    }
}

static void test_unsuback(void)
{
    static const uint8_t codes[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
    struct mqtt_packet in, out;
    uint8_t wire[BUFSZ];
    memset(&in, 0, sizeof in);
    in.type = MQTT_UNSUBACK;
    in.u.unsuback.packet_id = 5;
    in.u.unsuback.reasons = bytes_of(codes, sizeof codes);
    roundtrip_props_reason(&in.u.unsuback.props);
    /* v3: the packet identifier only. */
    REQUIRE(roundtrip_run(&in, MQTT_V311, wire, &out) == 4);
    CHECK_EQ_INT(out.u.unsuback.packet_id, 5);
    CHECK_EQ_INT(out.u.unsuback.reasons.len, 0);
    REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) > 0);
    CHECK(bytes_eq(out.u.unsuback.reasons, in.u.unsuback.reasons));
    roundtrip_check_props(&in.u.unsuback.props, &out.u.unsuback.props);
}

/* ---- PINGREQ, PINGRESP, DISCONNECT, AUTH ---- */

static void test_ping(void)
{
    for (uint8_t type = MQTT_PINGREQ; type <= MQTT_PINGRESP; type++) {
        for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
            struct mqtt_packet in, out;
            uint8_t wire[BUFSZ];
            memset(&in, 0, sizeof in);
            in.type = type;
            REQUIRE(roundtrip_run(&in, v, wire, &out) == 2);
            CHECK_EQ_INT(wire[0], type << 4);
            CHECK_EQ_INT(wire[1], 0);
        }
    }
}

static void test_disconnect_and_auth(void)
{
    for (uint8_t type = MQTT_DISCONNECT; type <= MQTT_AUTH; type++) {
        struct mqtt_packet in, out;
        uint8_t wire[BUFSZ];
        memset(&in, 0, sizeof in);
        in.type = type;
        /* Reason 0 and no properties: Remaining Length 0. */
        REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) == 2);
        uint8_t rc =
            type == MQTT_AUTH ? MQTT_RC_CONTINUE_AUTHENTICATION : MQTT_RC_DISCONNECT_WITH_WILL;
        struct mqtt_props *props = type == MQTT_AUTH ? &in.u.auth.props : &in.u.disconnect.props;
        *(type == MQTT_AUTH ? &in.u.auth.reason : &in.u.disconnect.reason) = rc;
        /* A reason and no properties: Remaining Length 1. */
        REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) == 3);
        CHECK_EQ_INT(type == MQTT_AUTH ? out.u.auth.reason : out.u.disconnect.reason, rc);
        if (type == MQTT_AUTH)
            roundtrip_props_auth(props);
        else
            roundtrip_props_disconnect(props);
        REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) > 3);
        CHECK_EQ_INT(type == MQTT_AUTH ? out.u.auth.reason : out.u.disconnect.reason, rc);
        roundtrip_check_props(props,
                              type == MQTT_AUTH ? &out.u.auth.props : &out.u.disconnect.props);
    }
    /* v3: DISCONNECT is empty whatever the struct says, AUTH does not exist. */
    struct mqtt_packet in, out;
    uint8_t wire[BUFSZ];
    memset(&in, 0, sizeof in);
    in.type = MQTT_DISCONNECT;
    in.u.disconnect.reason = MQTT_RC_SERVER_SHUTTING_DOWN;
    REQUIRE(roundtrip_run(&in, MQTT_V311, wire, &out) == 2);
    CHECK_EQ_INT(out.u.disconnect.reason, 0);
    in.type = MQTT_AUTH;
    CHECK_EQ_INT(codec_encode(&in, MQTT_V311, wire, sizeof wire), 0);
}

/* ---- Properties ---- */

static void test_every_property_covered(void)
{
    void (*const fills[])(struct mqtt_props *) = {
        roundtrip_props_will,       roundtrip_props_publish, roundtrip_props_connect,
        roundtrip_props_connack,    roundtrip_props_reason,  roundtrip_props_subscribe,
        roundtrip_props_disconnect, roundtrip_props_auth,
    };
    static const uint8_t ids[] = {0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13,
                                  0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1C, 0x1F, 0x21,
                                  0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A};
    uint64_t all = 0, want = 0;
    for (size_t i = 0; i < sizeof fills / sizeof fills[0]; i++) {
        struct mqtt_props p;
        fills[i](&p);
        all |= p.present;
    }
    for (size_t i = 0; i < sizeof ids; i++)
        want |= MQTT_PROP_BIT(ids[i]);
    CHECK_EQ_INT(all, want);
}

static void test_props_outside_context_left_out(void)
{
    struct mqtt_packet in, out;
    uint8_t wire[BUFSZ];
    memset(&in, 0, sizeof in);
    in.type = MQTT_PUBLISH;
    in.u.publish.topic = S("t");
    /* A will's properties reused for a PUBLISH: Will Delay Interval is not a PUBLISH one. */
    roundtrip_props_will(&in.u.publish.props);
    REQUIRE(roundtrip_run(&in, MQTT_V5, wire, &out) > 0);
    struct mqtt_props want = in.u.publish.props;
    want.present &= ~MQTT_PROP_BIT(MQTT_PROP_WILL_DELAY_INTERVAL);
    roundtrip_check_props(&want, &out.u.publish.props);
}

static void test_props_size(void)
{
    struct mqtt_props p;
    memset(&p, 0, sizeof p);
    CHECK_EQ_INT(codec_props_size(&p), 1);
    p.present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
    p.topic_alias = 1;
    CHECK_EQ_INT(codec_props_size(&p), 1 + 3);
    p.present |= MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER);
    p.sub_id = 128;
    CHECK_EQ_INT(codec_props_size(&p), 1 + 3 + 3);
    /* The size matches what a PUBLISH's header spends on its property block. */
    struct mqtt_publish pub;
    memset(&pub, 0, sizeof pub);
    pub.topic = S("t");
    pub.props = p;
    size_t with = codec_encode_publish_head(&pub, MQTT_V5, 0, NULL, 0);
    size_t without = codec_encode_publish_head(&pub, MQTT_V311, 0, NULL, 0);
    CHECK_EQ_INT(with - without, codec_props_size(&p));
    /* Out-of-range values make the block not encodable. */
    p.sub_id = 0;
    CHECK_EQ_INT(codec_props_size(&p), 0);
}

/* ---- Sizing contract and refusals ---- */

static void test_sizing_contract(void)
{
    struct mqtt_packet in;
    uint8_t buf[BUFSZ];
    memset(&in, 0, sizeof in);
    in.type = MQTT_PUBLISH;
    in.u.publish.topic = S("t");
    uint8_t payload[200];
    memset(payload, 'p', sizeof payload);
    in.u.publish.payload = bytes_of(payload, sizeof payload);
    /* 1 + 2-byte Remaining Length + 3 topic + 200 payload. */
    CHECK_EQ_INT(codec_encode(&in, MQTT_V311, NULL, 0), 206);
    for (size_t cap = 0; cap < 206; cap += 41) {
        memset(buf, 0x5A, sizeof buf);
        CHECK_EQ_INT(codec_encode(&in, MQTT_V311, buf, cap), 206);
        CHECK(roundtrip_all_bytes(buf, sizeof buf, 0x5A));
    }
    CHECK_EQ_INT(codec_encode(&in, MQTT_V311, buf, 206), 206);
    CHECK_EQ_INT(buf[0], 0x30);
    CHECK_EQ_INT(buf[1], 0x80 | (203 & 0x7F));
    CHECK_EQ_INT(buf[2], 203 >> 7);
}

static void test_publish_head(void)
{
    for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
        struct mqtt_packet in;
        uint8_t whole[BUFSZ], head[BUFSZ];
        memset(&in, 0, sizeof in);
        in.type = MQTT_PUBLISH;
        in.u.publish.qos = 2;
        in.u.publish.packet_id = 77;
        in.u.publish.topic = S("x/y");
        roundtrip_props_publish(&in.u.publish.props);
        uint8_t payload[300];
        memset(payload, 0xEE, sizeof payload);
        in.u.publish.payload = bytes_of(payload, sizeof payload);
        size_t n = codec_encode(&in, v, whole, sizeof whole);
        REQUIRE(n > sizeof payload);
        size_t h = codec_encode_publish_head(&in.u.publish, v, sizeof payload, NULL, 0);
        CHECK_EQ_INT(h, n - sizeof payload);
        memset(head, 0x11, sizeof head);
        CHECK_EQ_INT(codec_encode_publish_head(&in.u.publish, v, sizeof payload, head, h - 1), h);
        CHECK(roundtrip_all_bytes(head, sizeof head, 0x11));
        CHECK_EQ_INT(codec_encode_publish_head(&in.u.publish, v, sizeof payload, head, h), h);
        CHECK_MEM(head, h, whole, h);
        CHECK_EQ_INT(head[h], 0x11);
        /* A payload the Remaining Length cannot express. */
        CHECK_EQ_INT(codec_encode_publish_head(&in.u.publish, v, MQTT_MAX_REMAINING_LENGTH, head,
                                               sizeof head),
                     0);
    }
}

static void test_encode_refuses_out_of_range(void)
{
    static uint8_t big[70000];
    struct mqtt_packet in;
    uint8_t buf[BUFSZ];
    memset(&in, 0, sizeof in);
    in.type = MQTT_PUBLISH;
    in.u.publish.topic = S("t");
    in.u.publish.qos = 3;
    CHECK_EQ_INT(codec_encode(&in, MQTT_V5, buf, sizeof buf), 0);
    in.u.publish.qos = 1; /* packet id 0 */
    CHECK_EQ_INT(codec_encode(&in, MQTT_V5, buf, sizeof buf), 0);
    in.u.publish.qos = 0;
    in.u.publish.dup = true;
    CHECK_EQ_INT(codec_encode(&in, MQTT_V5, buf, sizeof buf), 0);
    in.u.publish.dup = false;
    memset(big, 'a', sizeof big);
    in.u.publish.topic = bytes_of(big, sizeof big); /* longer than a UTF-8 string can be */
    CHECK_EQ_INT(codec_encode(&in, MQTT_V5, NULL, 0), 0);
    in.u.publish.topic = S("t");
    in.u.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR);
    in.u.publish.props.payload_format = 2;
    CHECK_EQ_INT(codec_encode(&in, MQTT_V5, buf, sizeof buf), 0);
    /* v3 ignores properties, so the same packet is fine there. */
    CHECK(codec_encode(&in, MQTT_V311, buf, sizeof buf) > 0);
    in.type = 0;
    CHECK_EQ_INT(codec_encode(&in, MQTT_V5, buf, sizeof buf), 0);
    memset(&in, 0, sizeof in);
    in.type = MQTT_SUBSCRIBE;
    const struct mqtt_sub_entry bad_rh = {{LIT("a")}, 3 << MQTT_SUBOPT_RH_SHIFT};
    in.u.subscribe.packet_id = 1;
    in.u.subscribe.list = &bad_rh;
    in.u.subscribe.count = 1;
    CHECK_EQ_INT(codec_encode(&in, MQTT_V5, buf, sizeof buf), 0);
    memset(&in, 0, sizeof in);
    in.type = MQTT_PUBACK; /* packet id 0 */
    CHECK_EQ_INT(codec_encode(&in, MQTT_V311, buf, sizeof buf), 0);
}

/* ---- Primitives and topic helpers ---- */

static void test_varint_and_utf8(void)
{
    static const uint32_t values[] = {0, 127, 128, 16383, 16384, 2097151, 2097152, 268435455};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint8_t b[4];
        uint32_t back = 0;
        size_t n = codec_varint_encode(values[i], b);
        CHECK_EQ_INT(n, codec_varint_size(values[i]));
        CHECK_EQ_INT(n, 1 + i / 2);
        CHECK_EQ_INT(codec_varint_decode(b, n, &back), n);
        CHECK_EQ_INT(back, values[i]);
        if (n > 1)
            CHECK_EQ_INT(codec_varint_decode(b, n - 1, &back), TERN_EAGAIN);
    }
    uint8_t b[4];
    CHECK_EQ_INT(codec_varint_encode(268435456u, b), 0);
    CHECK(codec_utf8_valid((const uint8_t *)"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
    CHECK(!codec_utf8_valid((const uint8_t *)"a\0b", 3));
    CHECK(!codec_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3)); /* U+D800 */
    CHECK(!codec_utf8_valid((const uint8_t *)"\xc0\xaf", 2));     /* overlong '/' */
    CHECK(!codec_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));
    CHECK(!codec_utf8_valid((const uint8_t *)"\xe2\x82", 2));
}

static void test_topic_helpers(void)
{
    CHECK(codec_topic_name_valid(S("a/b")));
    CHECK(codec_topic_name_valid(S("/")));
    CHECK(!codec_topic_name_valid(S("")));
    CHECK(!codec_topic_name_valid(S("a/+")));
    CHECK(!codec_topic_name_valid(S("a#")));
    CHECK(codec_topic_filter_valid(S("#")));
    CHECK(codec_topic_filter_valid(S("+/+/")));
    CHECK(codec_topic_filter_valid(S("a/+/#")));
    CHECK(!codec_topic_filter_valid(S("a/#/b")));
    CHECK(!codec_topic_filter_valid(S("a+")));
    CHECK(!codec_topic_filter_valid(S("")));
    CHECK(codec_topic_filter_valid(S("$share/g/a/#")));
    CHECK(!codec_topic_filter_valid(S("$share//a")));
    CHECK(!codec_topic_filter_valid(S("$share/g+/a")));
    CHECK(!codec_topic_filter_valid(S("$share/g")));
    CHECK(!codec_topic_filter_valid(S("$share/g/")));
    struct tern_bytes group, rest;
    REQUIRE(codec_topic_shared_split(S("$share/grp/x/y"), &group, &rest));
    CHECK(bytes_eq_str(group, "grp"));
    CHECK(bytes_eq_str(rest, "x/y"));
    CHECK(!codec_topic_shared_split(S("$sharex/grp/x"), &group, &rest));
    CHECK(codec_topic_matches(S("a/#"), S("a")));
    CHECK(codec_topic_matches(S("a/+"), S("a/")));
    CHECK(codec_topic_matches(S("#"), S("x/y/z")));
    CHECK(!codec_topic_matches(S("#"), S("$SYS/x")));
    CHECK(!codec_topic_matches(S("+/x"), S("$SYS/x")));
    CHECK(codec_topic_matches(S("$SYS/#"), S("$SYS/x")));
    CHECK(!codec_topic_matches(S("a/+"), S("a/b/c")));
    CHECK(!codec_topic_matches(S("a/b"), S("a")));
    CHECK(codec_topic_matches(S("+/+"), S("/")));
}

/* ---- Robustness: mutated encodings decode cleanly, and what decodes re-encodes ---- */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void mutate_one(const uint8_t *wire, size_t n, uint8_t version, uint32_t *seed)
{
    uint8_t m[BUFSZ];
    memcpy(m, wire, n);
    size_t flips = 1 + lcg(seed) % 3;
    for (size_t k = 0; k < flips; k++)
        m[lcg(seed) % n] ^= (uint8_t)(1u << (lcg(seed) % 8));
    struct mqtt_packet p;
    uint8_t reason = 0;
    int rc = codec_decode(m, n, version, 0, &p, &reason);
    CHECK(rc == TERN_EAGAIN || rc == TERN_EPROTO || (rc > 0 && (size_t)rc <= n));
    if (rc <= 0)
        return;
    struct roundtrip_scratch s;
    roundtrip_prepare(&p, &s);
    uint8_t again[BUFSZ];
    size_t len = codec_encode(&p, p.type == MQTT_CONNECT ? p.u.connect.version : version, again,
                              sizeof again);
    CHECK(len > 0);
    struct mqtt_packet q;
    if (len > 0 && len <= sizeof again)
        CHECK_EQ_INT(codec_decode(again, len, version, 0, &q, &reason), len);
}

static void test_mutations(void)
{
    struct mqtt_packet pkts[6];
    uint8_t versions[6] = {MQTT_V5, MQTT_V5, MQTT_V5, MQTT_V311, MQTT_V5, MQTT_V5};
    fill_connect_full(&pkts[0], MQTT_V5);
    memset(&pkts[1], 0, sizeof pkts[1]);
    pkts[1].type = MQTT_PUBLISH;
    pkts[1].u.publish.qos = 1;
    pkts[1].u.publish.packet_id = 3;
    pkts[1].u.publish.topic = S("a/b");
    roundtrip_props_publish(&pkts[1].u.publish.props);
    memset(&pkts[2], 0, sizeof pkts[2]);
    pkts[2].type = MQTT_CONNACK;
    roundtrip_props_connack(&pkts[2].u.connack.props);
    fill_connect_full(&pkts[3], MQTT_V311);
    memset(&pkts[4], 0, sizeof pkts[4]);
    pkts[4].type = MQTT_DISCONNECT;
    roundtrip_props_disconnect(&pkts[4].u.disconnect.props);
    const struct mqtt_sub_entry list[] = {{{LIT("a/b")}, 1}, {{LIT("c")}, 2}};
    memset(&pkts[5], 0, sizeof pkts[5]);
    pkts[5].type = MQTT_SUBSCRIBE;
    pkts[5].u.subscribe.packet_id = 1;
    pkts[5].u.subscribe.list = list;
    pkts[5].u.subscribe.count = 2;
    roundtrip_props_subscribe(&pkts[5].u.subscribe.props);
    uint32_t seed = 12345;
    for (size_t i = 0; i < 6; i++) {
        uint8_t wire[BUFSZ];
        size_t n = codec_encode(&pkts[i], versions[i], wire, sizeof wire);
        REQUIRE(n > 0 && n <= sizeof wire);
        for (int round = 0; round < 3000; round++)
            mutate_one(wire, n, versions[i], &seed);
    }
}

UNIT_MAIN(UNIT_TEST(test_connect_full_all_versions), UNIT_TEST(test_connect_minimal),
          UNIT_TEST(test_connect_v5_password_only), UNIT_TEST(test_connack),
          UNIT_TEST(test_publish_qos_flags), UNIT_TEST(test_publish_v5_props),
          UNIT_TEST(test_publish_v5_alias_empty_topic), UNIT_TEST(test_acks),
          UNIT_TEST(test_subscribe), UNIT_TEST(test_suback), UNIT_TEST(test_unsubscribe),
          UNIT_TEST(test_unsuback), UNIT_TEST(test_ping), UNIT_TEST(test_disconnect_and_auth),
          UNIT_TEST(test_every_property_covered), UNIT_TEST(test_props_outside_context_left_out),
          UNIT_TEST(test_props_size), UNIT_TEST(test_sizing_contract), UNIT_TEST(test_publish_head),
          UNIT_TEST(test_encode_refuses_out_of_range), UNIT_TEST(test_varint_and_utf8),
          UNIT_TEST(test_topic_helpers), UNIT_TEST(test_mutations))
