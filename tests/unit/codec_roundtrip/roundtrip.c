/* Shared helpers of the codec round-trip tests (see roundtrip.h): property sets, comparisons
 * and the encode / decode / re-encode round trip. */
#include "roundtrip.h"

#include <stdint.h>
#include <string.h>

#include "codec.h"
#include "unit.h"

static const struct mqtt_user_prop users[] = {
    {{LIT("region")}, {LIT("eu-west")}},
    {{LIT("region")}, {LIT("duplicate names are allowed")}},
    {{LIT("k\xc3\xa9y")}, {LIT("")}},
};
static const uint32_t pub_sub_ids[] = {1, 268435455, 300};
const uint8_t roundtrip_corr[4] = {0x00, 0xFF, 0x10, 0x80};
const uint8_t roundtrip_blob[3] = {0x01, 0x00, 0x02};

void roundtrip_users(struct mqtt_props *p)
{
    p->present |= MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY);
    p->user = users;
    p->user_count = sizeof users / sizeof users[0];
}

/* ---- One full property set per context; together they hold every property. ---- */

void roundtrip_props_will(struct mqtt_props *p)
{
    memset(p, 0, sizeof *p);
    p->present = MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) |
                 MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL) |
                 MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE) | MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC) |
                 MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA) |
                 MQTT_PROP_BIT(MQTT_PROP_WILL_DELAY_INTERVAL);
    p->payload_format = 1;
    p->message_expiry = 0xFFFFFFFFu;
    p->content_type = S("text/plain");
    p->response_topic = S("reply/to/me");
    p->correlation_data = bytes_of(roundtrip_corr, sizeof roundtrip_corr);
    p->will_delay = 3600;
    roundtrip_users(p);
}

void roundtrip_props_publish(struct mqtt_props *p)
{
    memset(p, 0, sizeof *p);
    p->present =
        MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) |
        MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL) | MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE) |
        MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC) | MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA) |
        MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER) | MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
    p->payload_format = 0;
    p->message_expiry = 60;
    p->content_type = S("application/json");
    p->response_topic = S("r");
    p->correlation_data = bytes_of(roundtrip_corr, sizeof roundtrip_corr);
    p->sub_ids = pub_sub_ids;
    p->sub_id_count = sizeof pub_sub_ids / sizeof pub_sub_ids[0];
    p->sub_id = pub_sub_ids[0];
    p->topic_alias = 65535;
    roundtrip_users(p);
}

void roundtrip_props_connect(struct mqtt_props *p)
{
    memset(p, 0, sizeof *p);
    p->present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL) |
                 MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_METHOD) |
                 MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_DATA) |
                 MQTT_PROP_BIT(MQTT_PROP_REQUEST_PROBLEM_INFORMATION) |
                 MQTT_PROP_BIT(MQTT_PROP_REQUEST_RESPONSE_INFORMATION) |
                 MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM) |
                 MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM) |
                 MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE);
    p->session_expiry = 0xFFFFFFFFu;
    p->auth_method = S("SCRAM-SHA-1");
    p->auth_data = bytes_of(roundtrip_blob, sizeof roundtrip_blob);
    p->request_problem_info = 0;
    p->request_response_info = 1;
    p->receive_maximum = 1;
    p->topic_alias_maximum = 0;
    p->maximum_packet_size = 268435460u;
    roundtrip_users(p);
}

void roundtrip_props_connack(struct mqtt_props *p)
{
    memset(p, 0, sizeof *p);
    p->present =
        MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL) |
        MQTT_PROP_BIT(MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER) |
        MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE) |
        MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_METHOD) |
        MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_DATA) |
        MQTT_PROP_BIT(MQTT_PROP_RESPONSE_INFORMATION) | MQTT_PROP_BIT(MQTT_PROP_SERVER_REFERENCE) |
        MQTT_PROP_BIT(MQTT_PROP_REASON_STRING) | MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM) |
        MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM) | MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_QOS) |
        MQTT_PROP_BIT(MQTT_PROP_RETAIN_AVAILABLE) | MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE) |
        MQTT_PROP_BIT(MQTT_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE) |
        MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE) |
        MQTT_PROP_BIT(MQTT_PROP_SHARED_SUBSCRIPTION_AVAILABLE);
    p->session_expiry = 7;
    p->assigned_client_id = S("auto-7F3A");
    p->server_keep_alive = 30;
    p->auth_method = S("PLAIN");
    p->auth_data = bytes_of(roundtrip_blob, sizeof roundtrip_blob);
    p->response_info = S("resp/base");
    p->server_reference = S("other.example:1883");
    p->reason_string = S("welcome");
    p->receive_maximum = 65535;
    p->topic_alias_maximum = 10;
    p->maximum_qos = 1;
    p->retain_available = 0;
    p->maximum_packet_size = 1024;
    p->wildcard_sub_available = 1;
    p->sub_id_available = 0;
    p->shared_sub_available = 1;
    roundtrip_users(p);
}

/* Reason String and User Property: what acks, SUBACK and UNSUBACK may carry. */
void roundtrip_props_reason(struct mqtt_props *p)
{
    memset(p, 0, sizeof *p);
    p->present = MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
    p->reason_string = S("because");
    roundtrip_users(p);
}

void roundtrip_props_subscribe(struct mqtt_props *p)
{
    memset(p, 0, sizeof *p);
    p->present = MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER);
    p->sub_id = 268435455;
    p->sub_id_count = 1;
    roundtrip_users(p);
}

void roundtrip_props_disconnect(struct mqtt_props *p)
{
    memset(p, 0, sizeof *p);
    p->present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL) |
                 MQTT_PROP_BIT(MQTT_PROP_SERVER_REFERENCE) | MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
    p->session_expiry = 0;
    p->server_reference = S("b.example");
    p->reason_string = S("bye");
    roundtrip_users(p);
}

void roundtrip_props_auth(struct mqtt_props *p)
{
    memset(p, 0, sizeof *p);
    p->present = MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_METHOD) |
                 MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_DATA) |
                 MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
    p->auth_method = S("SCRAM-SHA-256");
    p->auth_data = bytes_of(roundtrip_blob, sizeof roundtrip_blob);
    p->reason_string = S("continue");
    roundtrip_users(p);
}

/* ---- Comparison ---- */

static void check_user_props(const struct mqtt_props *want, const struct mqtt_props *got)
{
    CHECK_EQ_INT(got->user_count, want->user_count);
    size_t pos = 0, i = 0;
    struct mqtt_user_prop up;
    while (codec_props_next_user(got, &pos, &up)) {
        REQUIRE(i < want->user_count);
        CHECK(bytes_eq(up.name, want->user[i].name));
        CHECK(bytes_eq(up.value, want->user[i].value));
        i++;
    }
    CHECK_EQ_INT(i, want->user_count);
}

static void check_sub_ids(const struct mqtt_props *want, const struct mqtt_props *got)
{
    CHECK_EQ_INT(got->sub_id_count, want->sub_id_count);
    CHECK_EQ_INT(got->sub_id, want->sub_id);
    size_t pos = 0, i = 0;
    uint32_t id;
    while (codec_props_next_sub_id(got, &pos, &id)) {
        REQUIRE(i < want->sub_id_count);
        CHECK_EQ_INT(id, want->sub_ids ? want->sub_ids[i] : want->sub_id);
        i++;
    }
    CHECK_EQ_INT(i, want->sub_id_count);
}

#define HAS(p, id) (((p)->present & MQTT_PROP_BIT(id)) != 0)

static void check_props_bytes(const struct mqtt_props *w, const struct mqtt_props *g)
{
    if (HAS(w, MQTT_PROP_CONTENT_TYPE))
        CHECK(bytes_eq(g->content_type, w->content_type));
    if (HAS(w, MQTT_PROP_RESPONSE_TOPIC))
        CHECK(bytes_eq(g->response_topic, w->response_topic));
    if (HAS(w, MQTT_PROP_CORRELATION_DATA))
        CHECK(bytes_eq(g->correlation_data, w->correlation_data));
    if (HAS(w, MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER))
        CHECK(bytes_eq(g->assigned_client_id, w->assigned_client_id));
    if (HAS(w, MQTT_PROP_AUTHENTICATION_METHOD))
        CHECK(bytes_eq(g->auth_method, w->auth_method));
    if (HAS(w, MQTT_PROP_AUTHENTICATION_DATA))
        CHECK(bytes_eq(g->auth_data, w->auth_data));
    if (HAS(w, MQTT_PROP_RESPONSE_INFORMATION))
        CHECK(bytes_eq(g->response_info, w->response_info));
    if (HAS(w, MQTT_PROP_SERVER_REFERENCE))
        CHECK(bytes_eq(g->server_reference, w->server_reference));
    if (HAS(w, MQTT_PROP_REASON_STRING))
        CHECK(bytes_eq(g->reason_string, w->reason_string));
}

void roundtrip_check_props(const struct mqtt_props *w, const struct mqtt_props *g)
{
    CHECK_EQ_INT(g->present, w->present);
    if (HAS(w, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR))
        CHECK_EQ_INT(g->payload_format, w->payload_format);
    if (HAS(w, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL))
        CHECK_EQ_INT(g->message_expiry, w->message_expiry);
    if (HAS(w, MQTT_PROP_SESSION_EXPIRY_INTERVAL))
        CHECK_EQ_INT(g->session_expiry, w->session_expiry);
    if (HAS(w, MQTT_PROP_SERVER_KEEP_ALIVE))
        CHECK_EQ_INT(g->server_keep_alive, w->server_keep_alive);
    if (HAS(w, MQTT_PROP_REQUEST_PROBLEM_INFORMATION))
        CHECK_EQ_INT(g->request_problem_info, w->request_problem_info);
    if (HAS(w, MQTT_PROP_WILL_DELAY_INTERVAL))
        CHECK_EQ_INT(g->will_delay, w->will_delay);
    if (HAS(w, MQTT_PROP_REQUEST_RESPONSE_INFORMATION))
        CHECK_EQ_INT(g->request_response_info, w->request_response_info);
    if (HAS(w, MQTT_PROP_RECEIVE_MAXIMUM))
        CHECK_EQ_INT(g->receive_maximum, w->receive_maximum);
    if (HAS(w, MQTT_PROP_TOPIC_ALIAS_MAXIMUM))
        CHECK_EQ_INT(g->topic_alias_maximum, w->topic_alias_maximum);
    if (HAS(w, MQTT_PROP_TOPIC_ALIAS))
        CHECK_EQ_INT(g->topic_alias, w->topic_alias);
    if (HAS(w, MQTT_PROP_MAXIMUM_QOS))
        CHECK_EQ_INT(g->maximum_qos, w->maximum_qos);
    if (HAS(w, MQTT_PROP_RETAIN_AVAILABLE))
        CHECK_EQ_INT(g->retain_available, w->retain_available);
    if (HAS(w, MQTT_PROP_MAXIMUM_PACKET_SIZE))
        CHECK_EQ_INT(g->maximum_packet_size, w->maximum_packet_size);
    if (HAS(w, MQTT_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE))
        CHECK_EQ_INT(g->wildcard_sub_available, w->wildcard_sub_available);
    if (HAS(w, MQTT_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE))
        CHECK_EQ_INT(g->sub_id_available, w->sub_id_available);
    if (HAS(w, MQTT_PROP_SHARED_SUBSCRIPTION_AVAILABLE))
        CHECK_EQ_INT(g->shared_sub_available, w->shared_sub_available);
    check_props_bytes(w, g);
    check_user_props(w, g);
    check_sub_ids(w, g);
}

/* Properties as a peer of `version` sees them: v3 carries none. */
void roundtrip_check_props_v(const struct mqtt_props *w, const struct mqtt_props *g,
                             uint8_t version)
{
    static const struct mqtt_props none;
    roundtrip_check_props(version == MQTT_V5 ? w : &none, g);
}

/* ---- The round trip ---- */

static void collect_sub_ids(struct mqtt_props *p, struct roundtrip_scratch *s)
{
    size_t pos = 0, n = 0;
    uint32_t id;
    while (n < MAX_ITEMS && codec_props_next_sub_id(p, &pos, &id))
        s->ids[n++] = id;
    if (p->sub_id_count > 1) {
        p->sub_ids = s->ids;
        p->sub_id_count = n;
    }
}

/* Turns a decoded packet into one the encoder takes: lists for SUBSCRIBE / UNSUBSCRIBE and
 * every Subscription Identifier. User properties are forwarded from raw as they are. */
void roundtrip_prepare(struct mqtt_packet *p, struct roundtrip_scratch *s)
{
    size_t pos = 0, n = 0;
    if (p->type == MQTT_SUBSCRIBE) {
        while (n < MAX_ITEMS && codec_subscribe_next(&p->u.subscribe, &pos, &s->subs[n]))
            n++;
        p->u.subscribe.list = s->subs;
        p->u.subscribe.count = n;
    } else if (p->type == MQTT_UNSUBSCRIBE) {
        while (n < MAX_ITEMS && codec_unsubscribe_next(&p->u.unsubscribe, &pos, &s->unsubs[n]))
            n++;
        p->u.unsubscribe.list = s->unsubs;
        p->u.unsubscribe.count = n;
    } else if (p->type == MQTT_PUBLISH) {
        collect_sub_ids(&p->u.publish.props, s);
    }
}

bool roundtrip_all_bytes(const uint8_t *b, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] != v)
            return false;
    }
    return true;
}

/* Checks the sizing contract of codec_encode for `in`, and returns its size (0 on failure). */
static size_t encode_checked(const struct mqtt_packet *in, uint8_t version, uint8_t *wire)
{
    size_t n = codec_encode(in, version, NULL, 0);
    CHECK(n > 1 && n < BUFSZ);
    if (n <= 1 || n >= BUFSZ)
        return 0;
    /* Too small a buffer: the size comes back and nothing is written. */
    memset(wire, 0xA5, BUFSZ);
    CHECK_EQ_INT(codec_encode(in, version, wire, n - 1), n);
    CHECK(roundtrip_all_bytes(wire, BUFSZ, 0xA5));
    CHECK_EQ_INT(codec_encode(in, version, wire, n), n);
    CHECK(wire[n] == 0xA5);
    CHECK_EQ_INT(wire[0] >> 4, in->type);
    return n;
}

/* Decodes wire[0..n) whole, checks every shorter prefix needs more and a maximum packet size one
 * below n is refused. */
static bool decode_checked(const uint8_t *wire, size_t n, uint8_t version, struct mqtt_packet *out)
{
    uint8_t reason = 0;
    struct mqtt_packet tmp;
    for (size_t k = 0; k < n; k++)
        CHECK_EQ_INT(codec_decode(wire, k, version, 0, &tmp, &reason), TERN_EAGAIN);
    CHECK_EQ_INT(codec_decode(wire, n, version, (uint32_t)n - 1, &tmp, &reason), TERN_EPROTO);
    CHECK_EQ_INT(reason, MQTT_RC_PACKET_TOO_LARGE);
    reason = 0;
    int rc = codec_decode(wire, n, version, (uint32_t)n, out, &reason);
    CHECK_EQ_INT(rc, n);
    if (rc != (int)n) {
        fprintf(stderr, "  decode failed: rc %d reason 0x%02x (%s)\n", rc, reason,
                mqtt_reason_name(reason));
        return false;
    }
    CHECK_EQ_INT(out->type, wire[0] >> 4);
    CHECK_EQ_INT(out->flags, wire[0] & 0x0F);
    return true;
}

/* Encode `in`, decode into *out (slices into wire), re-encode *out and compare the bytes. */
size_t roundtrip_run(const struct mqtt_packet *in, uint8_t version, uint8_t *wire,
                     struct mqtt_packet *out)
{
    int before = unit_failures;
    size_t n = encode_checked(in, version, wire);
    if (n == 0 || !decode_checked(wire, n, version, out))
        return 0;
    struct mqtt_packet again = *out;
    struct roundtrip_scratch s;
    roundtrip_prepare(&again, &s);
    uint8_t wire2[BUFSZ];
    CHECK_EQ_INT(codec_encode(&again, version, wire2, sizeof wire2), n);
    CHECK_MEM(wire2, n, wire, n);
    return unit_failures == before ? n : 0;
}
