/* CONNECT for MQTT 3.1 ("MQIsdp", level 3), 3.1.1 and 5.0 ("MQTT", levels 4 and 5): decoding
 * with the checks of section 3.1 of both specs, and encoding. Client identifier length and
 * character policy (v3.1's 23 bytes) and authentication are the broker's business. */
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec_internal.h"

#define CF_RESERVED       0x01
#define CF_CLEAN          0x02
#define CF_WILL           0x04
#define CF_WILL_QOS_SHIFT 3
#define CF_WILL_RETAIN    0x20
#define CF_PASSWORD       0x40
#define CF_USERNAME       0x80

/* Protocol name and level. Sets c->version as soon as the level is known. */
static int decode_protocol(struct rd *r, struct mqtt_connect *c, uint8_t *reason)
{
    struct tern_bytes name;
    uint8_t level;
    if (!rd_bin(r, &name) || !rd_u8(r, &level))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    c->version = level;
    bool is_mqtt = bytes_eq_str(name, "MQTT");
    bool is_mqisdp = bytes_eq_str(name, "MQIsdp");
    /* Another protocol name: the server may answer Unsupported Protocol Version and close
     * [MQTT-3.1.2-1]. A level it does not support, or one that does not go with the name, is
     * answered the same way [MQTT-3.1.2-2]. */
    if (!is_mqtt && !is_mqisdp)
        return codec_fail(reason, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION);
    if ((is_mqtt && level != MQTT_V311 && level != MQTT_V5) || (is_mqisdp && level != MQTT_V31))
        return codec_fail(reason, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION);
    return 0;
}

static int decode_flags(uint8_t f, struct mqtt_connect *c, uint8_t *reason)
{
    /* The reserved flag must be 0 [MQTT-3.1.2-3]. */
    if (f & CF_RESERVED)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    c->clean_start = (f & CF_CLEAN) != 0;
    c->has_will = (f & CF_WILL) != 0;
    c->will_qos = (uint8_t)((f >> CF_WILL_QOS_SHIFT) & 0x03);
    c->will_retain = (f & CF_WILL_RETAIN) != 0;
    c->has_password = (f & CF_PASSWORD) != 0;
    c->has_username = (f & CF_USERNAME) != 0;
    /* Without a will, Will QoS and Will Retain are 0 [MQTT-3.1.2-11], [MQTT-3.1.2-13],
     * [MQTT-3.1.2-15] (3.1.1 numbering; v5 [MQTT-3.1.2-11], [MQTT-3.1.2-13]). */
    if (!c->has_will && (c->will_qos != 0 || c->will_retain))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* Will QoS 3 is malformed [MQTT-3.1.2-14] (v5 [MQTT-3.1.2-12]). */
    if (c->will_qos == 3)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* Before v5 a password needs a user name [MQTT-3.1.2-22]; v5 allows it alone (3.1.2.9). */
    if (c->version < MQTT_V5 && c->has_password && !c->has_username)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    return 0;
}

static int decode_will(struct rd *r, struct mqtt_connect *c, uint8_t *reason)
{
    if (c->version == MQTT_V5) {
        int rc = codec_props_decode(r, CODEC_CTX_WILL, &c->will_props, reason);
        if (rc < 0)
            return rc;
    }
    /* The Will Topic is a UTF-8 string [MQTT-3.1.3-10] and a topic name; the Will Payload is
     * Binary Data (3.1.3.3 / 3.1.3.4). */
    if (!rd_str(r, &c->will_topic) || !rd_bin(r, &c->will_payload))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    if (!codec_topic_name_valid(c->will_topic))
        return codec_fail(reason, MQTT_RC_TOPIC_NAME_INVALID);
    return 0;
}

static int decode_payload(struct rd *r, struct mqtt_connect *c, uint8_t *reason)
{
    /* The Client Identifier is a UTF-8 string [MQTT-3.1.3-4]; its length and characters are
     * server policy [MQTT-3.1.3-5], not checked here. */
    if (!rd_str(r, &c->client_id))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    if (c->has_will) {
        int rc = decode_will(r, c, reason);
        if (rc < 0)
            return rc;
    }
    /* The User Name is a UTF-8 string [MQTT-3.1.3-11]; the Password is Binary Data. */
    if (c->has_username && !rd_str(r, &c->username))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    if (c->has_password && !rd_bin(r, &c->password))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    /* Nothing may follow the fields the flags announce. */
    if (rd_left(r) != 0)
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    return 0;
}

int codec_decode_connect(struct rd *r, struct mqtt_connect *c, uint8_t *reason)
{
    int rc = decode_protocol(r, c, reason);
    if (rc < 0)
        return rc;
    uint8_t flags;
    if (!rd_u8(r, &flags) || !rd_u16(r, &c->keep_alive))
        return codec_fail(reason, MQTT_RC_MALFORMED_PACKET);
    rc = decode_flags(flags, c, reason);
    if (rc < 0)
        return rc;
    if (c->version == MQTT_V5) {
        rc = codec_props_decode(r, MQTT_CONNECT, &c->props, reason);
        if (rc < 0)
            return rc;
    }
    return decode_payload(r, c, reason);
}

void codec_encode_connect(struct wr *w, const struct mqtt_connect *c, uint8_t version)
{
    uint8_t v = c->version ? c->version : version;
    if (v < MQTT_V31 || v > MQTT_V5 || (c->has_will && c->will_qos > 2) ||
        (v < MQTT_V5 && c->has_password && !c->has_username)) {
        w->bad = true;
        return;
    }
    uint8_t f = 0;
    if (c->clean_start)
        f |= CF_CLEAN;
    if (c->has_will) {
        f |= CF_WILL | (uint8_t)(c->will_qos << CF_WILL_QOS_SHIFT);
        if (c->will_retain)
            f |= CF_WILL_RETAIN;
    }
    if (c->has_password)
        f |= CF_PASSWORD;
    if (c->has_username)
        f |= CF_USERNAME;
    wr_bin(w, bytes_str(v == MQTT_V31 ? "MQIsdp" : "MQTT"));
    wr_u8(w, v);
    wr_u8(w, f);
    wr_u16(w, c->keep_alive);
    if (v == MQTT_V5)
        codec_props_encode(w, &c->props, MQTT_CONNECT);
    wr_bin(w, c->client_id);
    if (c->has_will) {
        if (v == MQTT_V5)
            codec_props_encode(w, &c->will_props, CODEC_CTX_WILL);
        wr_bin(w, c->will_topic);
        wr_bin(w, c->will_payload);
    }
    if (c->has_username)
        wr_bin(w, c->username);
    if (c->has_password)
        wr_bin(w, c->password);
}
