/* Unit tests for src/core/msg: msg_new copies what it is given, builds the forwarded v5
 * property block (checked with this file's own small parser, not the codec), computes the expiry
 * instant, refuses over-long topics, counts references and fails cleanly when allocation fails.
 * Property inputs come from real PUBLISH packets (tests/support/pkt.h, decoded by the codec) and
 * from hand-filled struct mqtt_props with `user` arrays. */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "mem.h"
#include "mqtt.h"
#include "msg.h"
#include "pkt.h"
#include "unit.h"

/* ---- An independent parser for the forwarded property block ---- */

#define MAX_PROPS 16

struct fprop {
    uint8_t id;
    uint8_t byte;        /* 0x01 */
    struct tern_bytes a; /* string / binary value, or the user property's name */
    struct tern_bytes b; /* the user property's value */
};

struct fprops {
    size_t n;
    struct fprop p[MAX_PROPS];
};

static bool read_bin(const uint8_t *buf, size_t len, size_t *pos, struct tern_bytes *out)
{
    if (len - *pos < 2)
        return false;
    size_t n = (size_t)buf[*pos] << 8 | buf[*pos + 1];
    *pos += 2;
    if (len - *pos < n)
        return false;
    *out = bytes_of(buf + *pos, n);
    *pos += n;
    return true;
}

/* Parses a block holding only the five forwardable property kinds; false on anything else, on
 * a truncated value or on more than MAX_PROPS entries. */
static bool parse_fwd(const uint8_t *buf, size_t len, struct fprops *out)
{
    size_t pos = 0;
    out->n = 0;
    while (pos < len) {
        if (out->n == MAX_PROPS)
            return false;
        struct fprop *f = &out->p[out->n++];
        memset(f, 0, sizeof *f);
        f->id = buf[pos++];
        bool ok;
        switch (f->id) {
        case MQTT_PROP_PAYLOAD_FORMAT_INDICATOR:
            ok = pos < len;
            if (ok)
                f->byte = buf[pos++];
            break;
        case MQTT_PROP_CONTENT_TYPE:
        case MQTT_PROP_RESPONSE_TOPIC:
        case MQTT_PROP_CORRELATION_DATA:
            ok = read_bin(buf, len, &pos, &f->a);
            break;
        case MQTT_PROP_USER_PROPERTY:
            ok = read_bin(buf, len, &pos, &f->a) && read_bin(buf, len, &pos, &f->b);
            break;
        default:
            ok = false;
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* The single entry with this id (not a user property); NULL when absent or repeated. */
static const struct fprop *fwd_one(const struct fprops *fp, uint8_t id)
{
    const struct fprop *found = NULL;
    for (size_t i = 0; i < fp->n; i++) {
        if (fp->p[i].id == id) {
            if (found)
                return NULL;
            found = &fp->p[i];
        }
    }
    return found;
}

static size_t fwd_count(const struct fprops *fp, uint8_t id)
{
    size_t n = 0;
    for (size_t i = 0; i < fp->n; i++)
        n += fp->p[i].id == id;
    return n;
}

/* The i-th user property (0-based, in block order); NULL when there are fewer. */
static const struct fprop *fwd_user(const struct fprops *fp, size_t i)
{
    for (size_t k = 0; k < fp->n; k++)
        if (fp->p[k].id == MQTT_PROP_USER_PROPERTY && i-- == 0)
            return &fp->p[k];
    return NULL;
}

static bool user_is(const struct fprop *f, const char *name, const char *value)
{
    return f && bytes_eq_str(f->a, name) && bytes_eq_str(f->b, value);
}

static bool parse_msg(const struct msg *m, struct fprops *fp)
{
    return parse_fwd(m->fwd_props, m->fwd_props_len, fp);
}

/* ---- Tests ---- */

static void test_copies(void)
{
    size_t start = mem_in_use();
    char topic[] = "a/b/c";
    unsigned char payload[] = {'h', 'i', 0, 0xff, 'x'};
    struct msg_init in = {bytes_of(topic, 5), bytes_of(payload, 5), NULL, 2, true, 77, 1234};
    struct msg *m = msg_new(&in);
    REQUIRE(m);
    memset(topic, 'Z', sizeof topic);
    memset(payload, 'Z', sizeof payload);
    CHECK_EQ_INT(m->topic_len, 5);
    CHECK(strcmp(m->topic, "a/b/c") == 0); /* NUL-terminated copy */
    CHECK(bytes_eq_str(msg_topic(m), "a/b/c"));
    const unsigned char want[] = {'h', 'i', 0, 0xff, 'x'};
    CHECK_MEM(m->payload, m->payload_len, want, sizeof want);
    CHECK_EQ_INT(m->qos, 2);
    CHECK(m->retain);
    CHECK_EQ_INT(m->origin_id, 77);
    CHECK_EQ_INT(m->fwd_props_len, 0);
    CHECK_EQ_INT(m->expiry_at_ms, 0);
    CHECK_EQ_INT(atomic_load(&m->refs), 1);
    CHECK_EQ_INT(msg_cost(m), sizeof *m + 5 + 1 + 0 + 5);
    msg_unref(m);
    CHECK_EQ_INT(mem_in_use(), start);

    /* Empty payload and empty topic (a v5 PUBLISH may carry only a Topic Alias). */
    struct msg_init e = {bytes_of(NULL, 0), bytes_of(NULL, 0), NULL, 0, false, 0, 0};
    m = msg_new(&e);
    REQUIRE(m);
    CHECK_EQ_INT(m->topic_len, 0);
    CHECK(m->topic && m->topic[0] == '\0');
    CHECK_EQ_INT(m->payload_len, 0);
    CHECK(!m->retain);
    CHECK_EQ_INT(m->qos, 0);
    msg_unref(m);
    CHECK_EQ_INT(mem_in_use(), start);
}

/* A v5 PUBLISH carrying every property a PUBLISH may have, built byte by byte. */
static void build_publish(struct pkt *p)
{
    static const uint8_t corr[] = {0x00, 0x01, 0x02, 0xff};
    struct pkt props;
    pkt_init(&props);
    pkt_prop_u32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, 60);
    pkt_prop_pair(&props, MQTT_PROP_USER_PROPERTY, "k1", "v1");
    pkt_prop_u8(&props, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, 1);
    pkt_prop_u16(&props, MQTT_PROP_TOPIC_ALIAS, 3);
    pkt_prop_str(&props, MQTT_PROP_CONTENT_TYPE, "text/plain");
    pkt_prop_pair(&props, MQTT_PROP_USER_PROPERTY, "k2", "");
    pkt_prop_str(&props, MQTT_PROP_RESPONSE_TOPIC, "resp/t");
    pkt_prop_bin(&props, MQTT_PROP_CORRELATION_DATA, corr, sizeof corr);
    pkt_prop_pair(&props, MQTT_PROP_USER_PROPERTY, "k1", "v3");
    struct pkt_publish_opts o = {
        .version = 5,
        .topic = "s/t",
        .payload = "body",
        .payload_len = 4,
        .qos = 1,
        .packet_id = 9,
        .props = &props,
    };
    pkt_init(p);
    pkt_publish_full(p, &o);
    pkt_free(&props);
}

static void check_full_block(const struct msg *m)
{
    static const uint8_t corr[] = {0x00, 0x01, 0x02, 0xff};
    struct fprops fp;
    REQUIRE(parse_msg(m, &fp));
    CHECK_EQ_INT(fp.n, 7);
    const struct fprop *f = fwd_one(&fp, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR);
    CHECK(f && f->byte == 1);
    f = fwd_one(&fp, MQTT_PROP_CONTENT_TYPE);
    CHECK(f && bytes_eq_str(f->a, "text/plain"));
    f = fwd_one(&fp, MQTT_PROP_RESPONSE_TOPIC);
    CHECK(f && bytes_eq_str(f->a, "resp/t"));
    f = fwd_one(&fp, MQTT_PROP_CORRELATION_DATA);
    CHECK(f && bytes_eq(f->a, bytes_of(corr, sizeof corr)));
    /* User Properties keep their order, duplicates included [MQTT-3.3.2-17], [MQTT-3.3.2-18]. */
    CHECK_EQ_INT(fwd_count(&fp, MQTT_PROP_USER_PROPERTY), 3);
    CHECK(user_is(fwd_user(&fp, 0), "k1", "v1"));
    CHECK(user_is(fwd_user(&fp, 1), "k2", ""));
    CHECK(user_is(fwd_user(&fp, 2), "k1", "v3"));
}

static void test_fwd_props_decoded(void)
{
    size_t start = mem_in_use();
    struct pkt p;
    build_publish(&p);
    struct mqtt_packet pk;
    memset(&pk, 0, sizeof pk);
    uint8_t reason = 0;
    int rc = codec_decode(p.data, p.len, MQTT_V5, 0, &pk, &reason);
    CHECK_EQ_INT(rc, (int)p.len);
    if (rc != (int)p.len || pk.type != MQTT_PUBLISH) {
        pkt_free(&p);
        REQUIRE(false);
    }
    const struct mqtt_publish *pub = &pk.u.publish;
    struct msg_init in = {pub->topic, pub->payload, &pub->props, pub->qos, pub->retain, 5, 1000};
    struct msg *m = msg_new(&in);
    pkt_free(&p); /* the message must not point into the packet */
    REQUIRE(m);
    CHECK(strcmp(m->topic, "s/t") == 0);
    CHECK_MEM(m->payload, m->payload_len, "body", 4);
    CHECK_EQ_INT(m->qos, 1);
    /* Not forwarded: Message Expiry Interval (rewritten per delivery), Topic Alias. */
    check_full_block(m);
    CHECK_EQ_INT(m->expiry_at_ms, 1000 + 60 * 1000);
    msg_unref(m);
    CHECK_EQ_INT(mem_in_use(), start);
}

/* Hand-filled properties as the broker builds them: user properties from a `user` array, and
 * present bits for properties that must not be forwarded. */
static void test_fwd_props_struct(void)
{
    size_t start = mem_in_use();
    static const uint8_t corr[] = {0x00, 0x01, 0x02, 0xff};
    static const uint32_t ids[] = {4, 5};
    struct mqtt_user_prop users[] = {
        {bytes_str("k1"), bytes_str("v1")},
        {bytes_str("k2"), bytes_str("")},
        {bytes_str("k1"), bytes_str("v3")},
    };
    struct mqtt_props pr;
    memset(&pr, 0, sizeof pr);
    pr.present = MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) |
                 MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL) |
                 MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE) | MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC) |
                 MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA) |
                 MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER) |
                 MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS) | MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY);
    pr.payload_format = 1;
    pr.message_expiry = 7;
    pr.content_type = bytes_str("text/plain");
    pr.response_topic = bytes_str("resp/t");
    pr.correlation_data = bytes_of(corr, sizeof corr);
    pr.sub_id = 4;
    pr.sub_ids = ids;
    pr.sub_id_count = 2;
    pr.topic_alias = 3;
    pr.user = users;
    pr.user_count = 3;
    struct msg_init in = {bytes_str("x"), bytes_str("y"), &pr, 0, false, 0, 500};
    struct msg *m = msg_new(&in);
    REQUIRE(m);
    check_full_block(m);
    CHECK_EQ_INT(m->expiry_at_ms, 7500);
    msg_unref(m);

    /* Only user properties; then only an empty Content Type; then nothing forwardable. */
    memset(&pr, 0, sizeof pr);
    pr.present = MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY);
    pr.user = users + 1;
    pr.user_count = 2;
    m = msg_new(&in);
    REQUIRE(m);
    const uint8_t want_users[] = {0x26, 0, 2, 'k', '2', 0, 0, 0x26, 0, 2, 'k', '1', 0, 2, 'v', '3'};
    CHECK_MEM(m->fwd_props, m->fwd_props_len, want_users, sizeof want_users);
    CHECK_EQ_INT(m->expiry_at_ms, 0);
    msg_unref(m);

    memset(&pr, 0, sizeof pr);
    pr.present = MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE);
    m = msg_new(&in);
    REQUIRE(m);
    const uint8_t want_ct[] = {0x03, 0, 0};
    CHECK_MEM(m->fwd_props, m->fwd_props_len, want_ct, sizeof want_ct);
    msg_unref(m);

    memset(&pr, 0, sizeof pr);
    pr.present =
        MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS) | MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER);
    pr.topic_alias = 1;
    pr.sub_id = 1;
    m = msg_new(&in);
    REQUIRE(m);
    CHECK_EQ_INT(m->fwd_props_len, 0);
    CHECK_MEM(m->payload, m->payload_len, "y", 1);
    msg_unref(m);
    CHECK_EQ_INT(mem_in_use(), start);
}

/* A decoded PUBLISH whose only properties are not forwarded gives an empty block. */
static void test_fwd_props_decoded_none(void)
{
    size_t start = mem_in_use();
    struct pkt props, p;
    pkt_init(&props);
    pkt_prop_u32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, 1);
    pkt_prop_u16(&props, MQTT_PROP_TOPIC_ALIAS, 2);
    struct pkt_publish_opts o = {.version = 5, .topic = "a", .payload = "", .props = &props};
    pkt_init(&p);
    pkt_publish_full(&p, &o);
    pkt_free(&props);
    struct mqtt_packet pk;
    memset(&pk, 0, sizeof pk);
    uint8_t reason = 0;
    int rc = codec_decode(p.data, p.len, MQTT_V5, 0, &pk, &reason);
    CHECK_EQ_INT(rc, (int)p.len);
    struct msg *m = NULL;
    if (rc == (int)p.len) {
        struct msg_init in = {
            pk.u.publish.topic, pk.u.publish.payload, &pk.u.publish.props, 0, false, 0, 10};
        m = msg_new(&in);
    }
    pkt_free(&p);
    REQUIRE(m);
    CHECK_EQ_INT(m->fwd_props_len, 0);
    CHECK_EQ_INT(m->payload_len, 0);
    CHECK_EQ_INT(m->expiry_at_ms, 1010);
    msg_unref(m);
    CHECK_EQ_INT(mem_in_use(), start);
}

static struct msg *mk_expiring(uint32_t expiry_s, uint64_t now_ms)
{
    struct mqtt_props pr;
    memset(&pr, 0, sizeof pr);
    pr.present = MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
    pr.message_expiry = expiry_s;
    struct msg_init in = {bytes_str("e"), bytes_str(""), &pr, 1, false, 0, now_ms};
    return msg_new(&in);
}

static void test_expiry(void)
{
    size_t start = mem_in_use();
    struct msg *m = mk_expiring(10, 5000);
    REQUIRE(m);
    CHECK_EQ_INT(m->expiry_at_ms, 15000);
    CHECK(!msg_expired(m, 5000));
    CHECK(!msg_expired(m, 14999));
    CHECK(msg_expired(m, 15000));
    CHECK(msg_expired(m, 20000));
    bool has = false;
    CHECK_EQ_INT(msg_expiry_remaining_s(m, 5000, &has), 10);
    CHECK(has);
    /* Rounded up, so a forwarded message never claims to have expired already. */
    CHECK_EQ_INT(msg_expiry_remaining_s(m, 13500, &has), 2); /* 1500 ms left */
    CHECK_EQ_INT(msg_expiry_remaining_s(m, 13999, &has), 2); /* 1001 ms */
    CHECK_EQ_INT(msg_expiry_remaining_s(m, 14000, &has), 1); /* 1000 ms */
    CHECK_EQ_INT(msg_expiry_remaining_s(m, 14001, &has), 1); /* 999 ms */
    CHECK_EQ_INT(msg_expiry_remaining_s(m, 14999, &has), 1); /* 1 ms */
    CHECK_EQ_INT(msg_expiry_remaining_s(m, 6000, &has), 9);
    CHECK(has);
    msg_unref(m);

    m = mk_expiring(UINT32_MAX, 1);
    REQUIRE(m);
    CHECK_EQ_INT(m->expiry_at_ms, 1 + (uint64_t)UINT32_MAX * 1000);
    CHECK_EQ_INT(msg_expiry_remaining_s(m, 1, &has), UINT32_MAX);
    CHECK(has);
    CHECK(!msg_expired(m, (uint64_t)UINT32_MAX * 1000));
    msg_unref(m);

    /* No Message Expiry Interval: never expires. */
    struct msg_init in = {bytes_str("e"), bytes_str(""), NULL, 1, false, 0, 5000};
    m = msg_new(&in);
    REQUIRE(m);
    CHECK_EQ_INT(m->expiry_at_ms, 0);
    CHECK(!msg_expired(m, 0));
    CHECK(!msg_expired(m, UINT64_MAX));
    has = true;
    CHECK_EQ_INT(msg_expiry_remaining_s(m, 5000, &has), 0);
    CHECK(!has);
    msg_unref(m);
    CHECK_EQ_INT(mem_in_use(), start);
}

static void test_topic_limit(void)
{
    size_t start = mem_in_use();
    char *big = malloc(65537);
    REQUIRE(big);
    memset(big, 'a', 65537);
    struct msg_init in = {bytes_of(big, 65535), bytes_str("p"), NULL, 0, false, 0, 0};
    struct msg *m = msg_new(&in);
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(m->topic_len, 65535);
        CHECK_EQ_INT(strlen(m->topic), 65535);
        CHECK_MEM(m->payload, m->payload_len, "p", 1);
        msg_unref(m);
    }
    in.topic = bytes_of(big, 65536);
    CHECK(msg_new(&in) == NULL);
    in.topic = bytes_of(big, 65537);
    CHECK(msg_new(&in) == NULL);
    free(big);
    CHECK_EQ_INT(mem_in_use(), start);
}

static void test_refcount(void)
{
    size_t start = mem_in_use();
    struct msg_init in = {bytes_str("r"), bytes_str("payload"), NULL, 0, false, 0, 0};
    struct msg *m = msg_new(&in);
    REQUIRE(m);
    size_t live = mem_in_use();
    CHECK(msg_ref(m) == m);
    CHECK(msg_ref(m) == m);
    CHECK_EQ_INT(atomic_load(&m->refs), 3);
    msg_unref(m);
    msg_unref(m);
    CHECK_EQ_INT(atomic_load(&m->refs), 1);
    CHECK_EQ_INT(mem_in_use(), live);
    CHECK_MEM(m->payload, m->payload_len, "payload", 7);
    msg_unref(m);
    CHECK_EQ_INT(mem_in_use(), start);
    msg_unref(NULL);
}

/* msg_new with a full property block fails the Nth allocation for N = 1.. until it succeeds. */
static void test_fail_new(void)
{
    size_t start = mem_in_use();
    static const uint8_t corr[] = {1, 2};
    struct mqtt_user_prop users[] = {{bytes_str("k"), bytes_str("v")}};
    struct mqtt_props pr;
    memset(&pr, 0, sizeof pr);
    pr.present = MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA) |
                 MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
    pr.correlation_data = bytes_of(corr, 2);
    pr.message_expiry = 3;
    pr.user = users;
    pr.user_count = 1;
    struct msg_init in = {bytes_str("f/g"), bytes_str("data"), &pr, 1, true, 3, 100};
    uint64_t n;
    struct msg *m = NULL;
    for (n = 1; n < 16; n++) {
        mem_fail_at(n);
        m = msg_new(&in);
        mem_fail_at(0);
        if (m)
            break;
        CHECK_EQ_INT(mem_in_use(), start);
    }
    CHECK(n > 1 && n < 16);
    REQUIRE(m);
    const uint8_t want[] = {0x09, 0, 2, 1, 2, 0x26, 0, 1, 'k', 0, 1, 'v'};
    CHECK_MEM(m->fwd_props, m->fwd_props_len, want, sizeof want);
    CHECK_EQ_INT(m->expiry_at_ms, 3100);
    msg_unref(m);
    CHECK_EQ_INT(mem_in_use(), start);
}

UNIT_MAIN(UNIT_TEST(test_copies), UNIT_TEST(test_fwd_props_decoded),
          UNIT_TEST(test_fwd_props_struct), UNIT_TEST(test_fwd_props_decoded_none),
          UNIT_TEST(test_expiry), UNIT_TEST(test_topic_limit), UNIT_TEST(test_refcount),
          UNIT_TEST(test_fail_new))
