/* libtern property plumbing: public struct tern_props <-> codec struct mqtt_props, and a
 * walker over a raw received property block in wire order. The property ids and presence bits
 * of both structs are the spec's, so presence masks carry over unchanged. */
#include <string.h>

#include "client_impl.h"
#include "err.h"
#include "mem.h"

#define REPEATABLE                                                                                 \
    (MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY) | MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER))

static struct tern_bytes to_b(struct tern_str s)
{
    return bytes_of(s.ptr, s.len);
}

static struct tern_str to_s(struct tern_bytes b)
{
    struct tern_str s = {(const char *)b.ptr, b.len};
    return s;
}

void client_props_to_codec(const struct tern_props *p, struct mqtt_props *o,
                           struct mqtt_user_prop *user_buf)
{
    memset(o, 0, sizeof *o);
    o->present = p->present & ~REPEATABLE;
    o->payload_format = p->payload_format;
    o->message_expiry = p->message_expiry_s;
    o->content_type = to_b(p->content_type);
    o->response_topic = to_b(p->response_topic);
    o->correlation_data = to_b(p->correlation_data);
    o->session_expiry = p->session_expiry_s;
    o->assigned_client_id = to_b(p->assigned_client_id);
    o->server_keep_alive = p->server_keep_alive_s;
    o->auth_method = to_b(p->auth_method);
    o->auth_data = to_b(p->auth_data);
    o->request_problem_info = p->request_problem_info;
    o->will_delay = p->will_delay_s;
    o->request_response_info = p->request_response_info;
    o->response_info = to_b(p->response_info);
    o->server_reference = to_b(p->server_reference);
    o->reason_string = to_b(p->reason_string);
    o->receive_maximum = p->receive_maximum;
    o->topic_alias_maximum = p->topic_alias_maximum;
    o->topic_alias = p->topic_alias;
    o->maximum_qos = p->maximum_qos;
    o->retain_available = p->retain_available;
    o->maximum_packet_size = p->maximum_packet_size;
    o->wildcard_sub_available = p->wildcard_sub_available;
    o->sub_id_available = p->sub_id_available;
    o->shared_sub_available = p->shared_sub_available;
    if (p->user_count && p->user) {
        for (size_t i = 0; i < p->user_count; i++) {
            user_buf[i].name = to_b(p->user[i].name);
            user_buf[i].value = to_b(p->user[i].value);
        }
        o->user = user_buf;
        o->user_count = p->user_count;
        o->present |= MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY);
    }
    if (p->sub_id_count && p->sub_ids) {
        o->sub_ids = p->sub_ids;
        o->sub_id_count = p->sub_id_count;
        o->sub_id = p->sub_ids[0];
        o->present |= MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER);
    }
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    void *n = mem_realloc(*arr, need * elem);
    if (!n)
        return TERN_ENOMEM;
    *arr = n;
    *cap = need;
    return 0;
}

static int repeatables_from_codec(struct tern_client *c, const struct mqtt_props *in,
                                  struct tern_props *o)
{
    if (in->user_count) {
        if (grow((void **)&c->user_scratch, &c->user_cap, in->user_count,
                 sizeof(struct tern_user_prop)))
            return TERN_ENOMEM;
        size_t pos = 0, n = 0;
        struct mqtt_user_prop up;
        while (n < in->user_count && codec_props_next_user(in, &pos, &up)) {
            c->user_scratch[n].name = to_s(up.name);
            c->user_scratch[n].value = to_s(up.value);
            n++;
        }
        o->user = c->user_scratch;
        o->user_count = n;
    }
    if (in->sub_id_count) {
        if (grow((void **)&c->subid_scratch, &c->subid_cap, in->sub_id_count, sizeof(uint32_t)))
            return TERN_ENOMEM;
        size_t pos = 0, n = 0;
        uint32_t v;
        while (n < in->sub_id_count && codec_props_next_sub_id(in, &pos, &v))
            c->subid_scratch[n++] = v;
        o->sub_ids = c->subid_scratch;
        o->sub_id_count = n;
    }
    return 0;
}

int client_props_from_codec(struct tern_client *c, const struct mqtt_props *in,
                            struct tern_props *o)
{
    memset(o, 0, sizeof *o);
    o->present = in->present;
    o->payload_format = in->payload_format;
    o->message_expiry_s = in->message_expiry;
    o->content_type = to_s(in->content_type);
    o->response_topic = to_s(in->response_topic);
    o->correlation_data = to_s(in->correlation_data);
    o->session_expiry_s = in->session_expiry;
    o->assigned_client_id = to_s(in->assigned_client_id);
    o->server_keep_alive_s = in->server_keep_alive;
    o->auth_method = to_s(in->auth_method);
    o->auth_data = to_s(in->auth_data);
    o->request_problem_info = in->request_problem_info;
    o->will_delay_s = in->will_delay;
    o->request_response_info = in->request_response_info;
    o->response_info = to_s(in->response_info);
    o->server_reference = to_s(in->server_reference);
    o->reason_string = to_s(in->reason_string);
    o->receive_maximum = in->receive_maximum;
    o->topic_alias_maximum = in->topic_alias_maximum;
    o->topic_alias = in->topic_alias;
    o->maximum_qos = in->maximum_qos;
    o->retain_available = in->retain_available;
    o->maximum_packet_size = in->maximum_packet_size;
    o->wildcard_sub_available = in->wildcard_sub_available;
    o->sub_id_available = in->sub_id_available;
    o->shared_sub_available = in->shared_sub_available;
    return repeatables_from_codec(c, in, o);
}

/* ---- Raw property walking ---- */

enum prop_kind { PK_BAD, PK_BYTE, PK_U16, PK_U32, PK_VARINT, PK_STR, PK_BIN, PK_PAIR };

static enum prop_kind kind_of(uint8_t id)
{
    switch (id) {
    case 0x01:
    case 0x17:
    case 0x19:
    case 0x24:
    case 0x25:
    case 0x28:
    case 0x29:
    case 0x2A:
        return PK_BYTE;
    case 0x13:
    case 0x21:
    case 0x22:
    case 0x23:
        return PK_U16;
    case 0x02:
    case 0x11:
    case 0x18:
    case 0x27:
        return PK_U32;
    case 0x0B:
        return PK_VARINT;
    case 0x03:
    case 0x08:
    case 0x12:
    case 0x15:
    case 0x1A:
    case 0x1C:
    case 0x1F:
        return PK_STR;
    case 0x09:
    case 0x16:
        return PK_BIN;
    case 0x26:
        return PK_PAIR;
    default:
        return PK_BAD;
    }
}

static bool read_lstr(const uint8_t *p, size_t len, size_t *pos, struct tern_str *out)
{
    if (len - *pos < 2)
        return false;
    size_t n = (size_t)p[*pos] << 8 | p[*pos + 1];
    *pos += 2;
    if (len - *pos < n)
        return false;
    out->ptr = (const char *)p + *pos;
    out->len = n;
    *pos += n;
    return true;
}

static bool read_fixed(const uint8_t *p, size_t len, size_t *pos, size_t n, uint32_t *out)
{
    if (len - *pos < n)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[*pos + i];
    *pos += n;
    *out = v;
    return true;
}

bool tern_props_next(struct tern_str raw, size_t *pos, struct tern_prop *out)
{
    const uint8_t *p = (const uint8_t *)raw.ptr;
    if (*pos >= raw.len)
        return false;
    memset(out, 0, sizeof *out);
    out->id = p[(*pos)++]; /* every defined id fits in one varint byte */
    switch (kind_of(out->id)) {
    case PK_BYTE:
        return read_fixed(p, raw.len, pos, 1, &out->num);
    case PK_U16:
        return read_fixed(p, raw.len, pos, 2, &out->num);
    case PK_U32:
        return read_fixed(p, raw.len, pos, 4, &out->num);
    case PK_VARINT: {
        int n = codec_varint_decode(p + *pos, raw.len - *pos, &out->num);
        if (n <= 0)
            return false;
        *pos += (size_t)n;
        return true;
    }
    case PK_STR:
    case PK_BIN:
        return read_lstr(p, raw.len, pos, &out->str);
    case PK_PAIR:
        return read_lstr(p, raw.len, pos, &out->str) && read_lstr(p, raw.len, pos, &out->value);
    default:
        return false;
    }
}

const char *tern_prop_name(uint8_t id)
{
    switch (id) {
    case 0x01:
        return "payload-format-indicator";
    case 0x02:
        return "message-expiry-interval";
    case 0x03:
        return "content-type";
    case 0x08:
        return "response-topic";
    case 0x09:
        return "correlation-data";
    case 0x0B:
        return "subscription-identifier";
    case 0x11:
        return "session-expiry-interval";
    case 0x12:
        return "assigned-client-identifier";
    case 0x13:
        return "server-keep-alive";
    case 0x15:
        return "authentication-method";
    case 0x16:
        return "authentication-data";
    case 0x17:
        return "request-problem-information";
    case 0x18:
        return "will-delay-interval";
    case 0x19:
        return "request-response-information";
    case 0x1A:
        return "response-information";
    case 0x1C:
        return "server-reference";
    case 0x1F:
        return "reason-string";
    case 0x21:
        return "receive-maximum";
    case 0x22:
        return "topic-alias-maximum";
    case 0x23:
        return "topic-alias";
    case 0x24:
        return "maximum-qos";
    case 0x25:
        return "retain-available";
    case 0x26:
        return "user-property";
    case 0x27:
        return "maximum-packet-size";
    case 0x28:
        return "wildcard-subscription-available";
    case 0x29:
        return "subscription-identifier-available";
    case 0x2A:
        return "shared-subscription-available";
    default:
        return NULL;
    }
}

bool tern_topic_matches(const char *filter, const char *topic)
{
    if (!filter || !topic)
        return false;
    struct tern_bytes f = bytes_str(filter), t = bytes_str(topic);
    if (!codec_topic_filter_valid(f) || !codec_topic_name_valid(t))
        return false;
    return codec_topic_matches(f, t);
}

bool tern_topic_filter_valid(const char *filter)
{
    return filter && codec_topic_filter_valid(bytes_str(filter));
}

bool tern_topic_name_valid(const char *topic)
{
    return topic && codec_topic_name_valid(bytes_str(topic));
}
