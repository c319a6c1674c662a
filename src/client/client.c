/* The libtern connection state machine: client lifetime, CONNECT, reading and decoding the
 * input, writing the output, keep alive and closing. Inbound packet handling is in
 * client_in.c, the outbound publish queue in client_out.c, sockets and TLS in client_io.c.
 * No threads and no blocking calls here (except the host name lookup in client_io.c). */
#include <string.h>

#include "client_impl.h"
#include "err.h"
#include "mem.h"

#define ID_BITMAP_BYTES 8192 /* one bit per packet id 0..65535 */
#define READ_CHUNK      16384

#define SAME_ERR(name)                                                                             \
    _Static_assert((int)TERN_E##name == (int)TERN_ERROR_##name, "error code " #name);
SAME_ERR(AGAIN)
SAME_ERR(PROTO)
SAME_ERR(NOMEM)
SAME_ERR(INVAL)
SAME_ERR(TOOBIG)
SAME_ERR(IO)
SAME_ERR(CLOSED)
SAME_ERR(NOTFOUND)
SAME_ERR(EXIST)
SAME_ERR(TIMEDOUT)
SAME_ERR(CONFIG)
SAME_ERR(DENIED)
SAME_ERR(FULL)
SAME_ERR(TLS)
SAME_ERR(SYS)
SAME_ERR(PROXY)
_Static_assert((int)TERN_EPROXYAUTH == (int)TERN_ERROR_PROXY_AUTH, "error code PROXY_AUTH");

int client_err(int err)
{
    return err;
}

const char *tern_error_string(int err)
{
    return tern_strerror(err);
}

struct tern_client *tern_client_new(const struct tern_callbacks *cb, void *userdata)
{
    struct tern_client *c = mem_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (cb)
        c->cb = *cb;
    c->ud = userdata;
    c->state = CS_IDLE;
    c->version = MQTT_V311;
    c->next_id = 1;
    list_init(&c->outq);
    buf_init(&c->in);
    buf_init(&c->out);
    client_io_init(&c->io);
    c->ids_used = mem_calloc(1, ID_BITMAP_BYTES);
    c->qos2_in = mem_calloc(1, ID_BITMAP_BYTES);
    if (!c->ids_used || !c->qos2_in)
        goto fail;
    return c;
fail:
    tern_client_free(c);
    return NULL;
}

void tern_client_free(struct tern_client *c)
{
    if (!c)
        return;
    client_io_close(&c->io);
    client_out_free_all(c);
    client_in_reset(c);
    client_out_reset_aliases(c);
    buf_deinit(&c->in);
    buf_deinit(&c->out);
    client_conn_opts_free(&c->copts);
    mem_free(c->connect_pkt);
    mem_free(c->ids_used);
    mem_free(c->qos2_in);
    mem_free(c->user_scratch);
    mem_free(c->subid_scratch);
    mem_free(c);
}

void client_trace(struct tern_client *c, bool sent, const uint8_t *data, size_t len)
{
    if (c->cb.on_packet)
        c->cb.on_packet(c, c->ud, sent, data, len);
}

int client_append(struct tern_client *c, const uint8_t *data, size_t len)
{
    int rc = buf_append(&c->out, data, len);
    if (rc == 0)
        client_trace(c, true, data, len);
    return rc;
}

int client_send_packet(struct tern_client *c, const struct mqtt_packet *p)
{
    size_t n = codec_encode(p, c->version, NULL, 0);
    if (n == 0)
        return TERN_EINVAL;
    /* The client must not send a packet over the server's Maximum Packet Size
     * [MQTT-3.2.2-15]. */
    if (c->srv_max_packet && n > c->srv_max_packet)
        return TERN_ETOOBIG;
    int rc = buf_reserve(&c->out, n);
    if (rc)
        return rc;
    codec_encode(p, c->version, c->out.data + c->out.len, n);
    client_trace(c, true, c->out.data + c->out.len, n);
    c->out.len += n;
    c->last_out_ms = c->now_ms;
    return 0;
}

/* ---- CONNECT ---- */

static int check_connect_opts(const struct tern_connect_options *o, uint8_t version)
{
    if (version < MQTT_V31 || version > MQTT_V5)
        return TERN_EINVAL;
    if (o->will) {
        if (!o->will->topic || !codec_topic_name_valid(bytes_str(o->will->topic)))
            return TERN_EINVAL;
        if (o->will->qos > 2)
            return TERN_EINVAL;
    }
    /* v3.1.1: a password needs a user name [MQTT-3.1.2-22]. */
    if (version < MQTT_V5 && o->password && !o->username)
        return TERN_EINVAL;
    /* v3.1.1: a zero-length client id needs Clean Session [MQTT-3.1.3-7]. */
    if (version < MQTT_V5 && (!o->client_id || !*o->client_id) && !o->clean_start)
        return TERN_EINVAL;
    return 0;
}

static size_t user_count_of(const struct tern_props *p)
{
    return p ? p->user_count : 0;
}

static void fill_connect(const struct tern_connect_options *o, uint8_t version,
                         struct mqtt_connect *m, struct mqtt_user_prop *ubuf,
                         struct mqtt_user_prop *wbuf)
{
    m->version = version;
    m->clean_start = o->clean_start;
    m->keep_alive = o->keep_alive_s;
    m->client_id = bytes_str(o->client_id);
    if (o->props)
        client_props_to_codec(o->props, &m->props, ubuf);
    if (o->session_expiry_s) {
        m->props.session_expiry = o->session_expiry_s;
        m->props.present |= MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL);
    }
    if (o->will) {
        m->has_will = true;
        m->will_qos = o->will->qos;
        m->will_retain = o->will->retain;
        m->will_topic = bytes_str(o->will->topic);
        m->will_payload = bytes_of(o->will->payload.ptr, o->will->payload.len);
        if (o->will->props)
            client_props_to_codec(o->will->props, &m->will_props, wbuf);
    }
    if (o->username) {
        m->has_username = true;
        m->username = bytes_str(o->username);
    }
    if (o->password) {
        m->has_password = true;
        m->password = bytes_of(o->password->ptr, o->password->len);
    }
}

/* Encodes the CONNECT for opt into c->connect_pkt. */
static int build_connect(struct tern_client *c, const struct tern_connect_options *o)
{
    uint8_t version = o->version ? o->version : MQTT_V311;
    int rc = check_connect_opts(o, version);
    if (rc)
        return rc;
    size_t nu = user_count_of(o->props), nw = o->will ? user_count_of(o->will->props) : 0;
    struct mqtt_user_prop *ubuf = mem_calloc(nu + nw + 1, sizeof *ubuf);
    if (!ubuf)
        return TERN_ENOMEM;
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_CONNECT;
    fill_connect(o, version, &p.u.connect, ubuf, ubuf + nu);
    rc = TERN_EINVAL;
    size_t n = codec_encode(&p, version, NULL, 0);
    if (n == 0)
        goto out;
    rc = TERN_ENOMEM;
    uint8_t *pkt = mem_alloc(n);
    if (!pkt)
        goto out;
    codec_encode(&p, version, pkt, n);
    mem_free(c->connect_pkt);
    c->connect_pkt = pkt;
    c->connect_len = n;
    c->version = version;
    c->keep_alive_s = o->keep_alive_s;
    c->max_inflight = o->max_inflight ? o->max_inflight : 20;
    c->auto_alias = o->auto_topic_alias && version == MQTT_V5;
    c->alias_in_max = 0;
    if (version == MQTT_V5 && o->props &&
        (o->props->present & TERN_PROP_BIT(TERN_PROP_TOPIC_ALIAS_MAXIMUM)))
        c->alias_in_max = o->props->topic_alias_maximum;
    rc = 0;
out:
    mem_free(ubuf);
    return rc;
}

static char *dup_opt(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *d = mem_strdup(s);
    if (!d)
        *failed = true;
    return d;
}

static int copy_conn_opts(struct client_conn_opts *d, const struct tern_connect_options *o)
{
    bool failed = false;
    client_conn_opts_free(d);
    d->host = dup_opt(o->host ? o->host : "localhost", &failed);
    d->bind_address = dup_opt(o->bind_address, &failed);
    d->unix_path = dup_opt(o->unix_path, &failed);
    d->nodelay = o->tcp_nodelay;
    d->use_tls = o->tls != NULL;
    d->port = o->port ? o->port : (o->tls ? 8883 : 1883);
    if (o->tls) {
        const struct tern_tls_options *t = o->tls;
        d->ca_file = dup_opt(t->ca_file, &failed);
        d->ca_path = dup_opt(t->ca_path, &failed);
        d->cert_file = dup_opt(t->cert_file, &failed);
        d->key_file = dup_opt(t->key_file, &failed);
        d->tls_version = dup_opt(t->version, &failed);
        d->insecure = t->insecure;
        d->use_os_certs = t->use_os_certs;
        d->ciphers = dup_opt(t->ciphers, &failed);
        d->alpn = dup_opt(t->alpn, &failed);
        d->psk_identity = dup_opt(t->psk_identity, &failed);
        d->psk_hex = dup_opt(t->psk_hex, &failed);
    }
    int rc = failed ? TERN_ENOMEM : 0;
    if (rc == 0 && o->proxy_url)
        rc = o->unix_path ? TERN_EINVAL : client_socks_parse_url(o->proxy_url, d);
    if (rc)
        client_conn_opts_free(d);
    return rc;
}

/* Resets per-connection state and queues CONNECT. */
static int begin_session(struct tern_client *c, uint64_t now_ms)
{
    c->conn_gen++;
    c->now_ms = now_ms;
    c->last_out_ms = now_ms;
    c->ping_pending = false;
    c->srv_receive_max = 65535;
    c->srv_max_packet = 0;
    c->srv_max_qos = 2;
    c->srv_retain = true;
    c->srv_alias_max = 0;
    c->connack_reason = 0;
    c->last_err = 0;
    buf_reset(&c->in);
    buf_reset(&c->out);
    client_in_reset(c);
    client_out_reset_aliases(c);
    c->state = CS_WAIT_CONNACK;
    c->rc.pending = false;
    return client_append(c, c->connect_pkt, c->connect_len);
}

int tern_client_start(struct tern_client *c, const struct tern_connect_options *opt,
                      uint64_t now_ms)
{
    if (!c || !opt)
        return TERN_EINVAL;
    if (c->state != CS_IDLE)
        client_close(c, TERN_ECLOSED, 0, NULL);
    int rc = build_connect(c, opt);
    if (rc)
        return rc;
    c->custom_io = true;
    c->now_ms = now_ms;
    client_reconnect_setup(c, NULL);
    return begin_session(c, now_ms);
}

int client_open_socket(struct tern_client *c, uint64_t now_ms)
{
    c->custom_io = false;
    int rc = client_io_open(&c->io, &c->copts);
    if (rc)
        return rc;
    rc = begin_session(c, now_ms);
    if (rc) {
        client_io_close(&c->io);
        c->state = CS_IDLE;
        return rc;
    }
    c->state = CS_OPENING;
    return 0;
}

int tern_client_connect(struct tern_client *c, const struct tern_connect_options *opt,
                        uint64_t now_ms)
{
    if (!c || !opt)
        return TERN_EINVAL;
    if (c->state != CS_IDLE)
        client_close(c, TERN_ECLOSED, 0, NULL);
    int rc = build_connect(c, opt);
    if (rc)
        return rc;
    rc = copy_conn_opts(&c->copts, opt);
    if (rc)
        return rc;
    c->now_ms = now_ms;
    client_reconnect_setup(c, opt->reconnect);
    return client_open_socket(c, now_ms);
}

int tern_client_reconnect(struct tern_client *c, uint64_t now_ms)
{
    if (!c || !c->connect_pkt || !c->copts.host)
        return TERN_EINVAL;
    if (c->state != CS_IDLE)
        client_close(c, TERN_ECLOSED, 0, NULL);
    c->rc.pending = false;
    return client_open_socket(c, now_ms);
}

/* ---- Closing ---- */

void client_close(struct tern_client *c, int err, uint8_t reason, const struct tern_props *props)
{
    if (c->state == CS_IDLE)
        return;
    client_io_close(&c->io);
    c->state = CS_IDLE;
    c->conn_gen++;
    c->last_err = err;
    c->ping_pending = false;
    buf_reset(&c->out);
    buf_reset(&c->in);
    /* Scheduled before the callback, which may still cancel it (disconnect, connect). */
    client_reconnect_on_close(c, err, reason);
    if (c->cb.on_disconnect)
        c->cb.on_disconnect(c, c->ud, err, reason, props);
}

int tern_client_disconnect(struct tern_client *c, uint8_t reason, const struct tern_props *props)
{
    if (c && c->state == CS_IDLE && c->rc.pending) {
        c->rc.pending = false;
        c->rc.armed = false;
        return 0;
    }
    if (!c || c->state == CS_IDLE)
        return TERN_ECLOSED;
    if (c->state == CS_CLOSING)
        return 0;
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_DISCONNECT;
    p.u.disconnect.reason = reason;
    size_t nu = user_count_of(props);
    struct mqtt_user_prop *ubuf = NULL;
    if (props && c->version == MQTT_V5) {
        ubuf = mem_calloc(nu + 1, sizeof *ubuf);
        if (!ubuf)
            return TERN_ENOMEM;
        client_props_to_codec(props, &p.u.disconnect.props, ubuf);
    }
    int rc = client_send_packet(c, &p);
    mem_free(ubuf);
    if (rc)
        return rc;
    c->state = CS_CLOSING;
    c->rc.armed = false; /* a write error while closing must not bring us back */
    if (c->custom_io)
        return 0;
    return tern_client_on_writable(c);
}

/* ---- Input ---- */

/* Decodes and handles every whole packet in the input buffer. */
static int process_input(struct tern_client *c)
{
    size_t off = 0;
    unsigned gen = c->conn_gen;
    int rc = 0;
    while (off < c->in.len) {
        struct mqtt_packet p;
        uint8_t reason = 0;
        int n = codec_decode(c->in.data + off, c->in.len - off, c->version, 0, &p, &reason);
        if (n == TERN_EAGAIN)
            break;
        if (n < 0) {
            client_close(c, TERN_EPROTO, reason, NULL);
            return TERN_EPROTO;
        }
        client_trace(c, false, c->in.data + off, (size_t)n);
        rc = client_in_packet(c, &p);
        if (c->conn_gen != gen)
            return c->last_err; /* a callback or the packet closed or restarted us */
        off += (size_t)n;
        if (rc) {
            client_close(c, rc, 0, NULL);
            return rc;
        }
    }
    buf_consume(&c->in, off);
    return 0;
}

int tern_client_feed(struct tern_client *c, const void *data, size_t len)
{
    if (!c || c->state == CS_IDLE)
        return TERN_ECLOSED;
    int rc = buf_append(&c->in, data, len);
    if (rc)
        return rc;
    return process_input(c);
}

/* Finishes the TCP connect / TLS handshake. 0 when the connection is usable. */
static int progress_open(struct tern_client *c)
{
    int rc = client_io_progress(&c->io, &c->copts);
    if (rc == TERN_EAGAIN)
        return TERN_EAGAIN;
    if (rc) {
        client_close(c, rc, 0, NULL);
        return rc;
    }
    c->state = CS_WAIT_CONNACK;
    return 0;
}

int tern_client_on_readable(struct tern_client *c)
{
    if (!c || c->state == CS_IDLE || c->custom_io)
        return TERN_ECLOSED;
    if (c->state == CS_OPENING) {
        int rc = progress_open(c);
        return rc == TERN_EAGAIN ? 0 : rc;
    }
    for (int i = 0; i < 16; i++) {
        int rc = buf_reserve(&c->in, READ_CHUNK);
        if (rc)
            return rc;
        long n = client_io_read(&c->io, c->in.data + c->in.len, c->in.cap - c->in.len);
        if (n == TERN_EAGAIN)
            break;
        if (n < 0) {
            client_close(c, (int)n, 0, NULL);
            return (int)n;
        }
        c->in.len += (size_t)n;
        unsigned gen = c->conn_gen;
        rc = process_input(c);
        if (rc || c->conn_gen != gen)
            return rc;
    }
    if (c->out.len > 0)
        return tern_client_on_writable(c);
    return 0;
}

/* ---- Output ---- */

static void after_output(struct tern_client *c)
{
    if (c->state == CS_CLOSING && c->out.len == 0)
        client_close(c, 0, 0, NULL);
}

int tern_client_on_writable(struct tern_client *c)
{
    if (!c || c->state == CS_IDLE || c->custom_io)
        return TERN_ECLOSED;
    if (c->state == CS_OPENING) {
        int rc = progress_open(c);
        if (rc)
            return rc == TERN_EAGAIN ? 0 : rc;
    }
    while (c->out.len > 0) {
        long n = client_io_write(&c->io, c->out.data, c->out.len);
        if (n == TERN_EAGAIN)
            break;
        if (n < 0) {
            client_close(c, (int)n, 0, NULL);
            return (int)n;
        }
        buf_consume(&c->out, (size_t)n);
    }
    after_output(c);
    return 0;
}

size_t tern_client_output(struct tern_client *c, const uint8_t **data)
{
    *data = c->out.data;
    return c->out.len;
}

void tern_client_output_done(struct tern_client *c, size_t n)
{
    if (n > c->out.len)
        n = c->out.len;
    buf_consume(&c->out, n);
    after_output(c);
}

/* ---- Time ---- */

int tern_client_tick(struct tern_client *c, uint64_t now_ms)
{
    if (!c)
        return TERN_EINVAL;
    c->now_ms = now_ms;
    if (c->state == CS_IDLE)
        return client_reconnect_tick(c, now_ms);
    if (c->state != CS_CONNECTED || c->keep_alive_s == 0)
        return 0;
    uint64_t ka_ms = (uint64_t)c->keep_alive_s * 1000;
    if (c->ping_pending) {
        /* No PINGRESP within a keep alive period: the connection is dead [MQTT-3.1.2-24]
         * applies to the server; the client closes likewise (spec 3.1.2.10). */
        if (now_ms - c->ping_sent_ms >= ka_ms) {
            client_close(c, TERN_ETIMEDOUT, 0, NULL);
            return TERN_ETIMEDOUT;
        }
        return 0;
    }
    /* Send PINGREQ when nothing else was sent for a keep alive period [MQTT-3.1.2-23]. */
    if (now_ms - c->last_out_ms >= ka_ms) {
        struct mqtt_packet p;
        memset(&p, 0, sizeof p);
        p.type = MQTT_PINGREQ;
        int rc = client_send_packet(c, &p);
        if (rc)
            return rc;
        c->ping_pending = true;
        c->ping_sent_ms = now_ms;
        if (!c->custom_io)
            return tern_client_on_writable(c);
    }
    return 0;
}

int64_t tern_client_next_timeout_ms(const struct tern_client *c)
{
    if (c && c->state == CS_IDLE)
        return client_reconnect_timeout_ms(c, c->now_ms);
    if (!c || c->state != CS_CONNECTED || c->keep_alive_s == 0)
        return -1;
    uint64_t ka_ms = (uint64_t)c->keep_alive_s * 1000;
    uint64_t due = (c->ping_pending ? c->ping_sent_ms : c->last_out_ms) + ka_ms;
    return due > c->now_ms ? (int64_t)(due - c->now_ms) : 0;
}

/* ---- State ---- */

int tern_client_fd(const struct tern_client *c)
{
    return c && c->state != CS_IDLE && !c->custom_io ? c->io.fd : -1;
}

bool tern_client_wants_write(const struct tern_client *c)
{
    if (!c || c->state == CS_IDLE)
        return false;
    if (c->state == CS_OPENING)
        return !c->io.tcp_connected || c->io.want_write;
    return c->out.len > 0 || c->io.want_write;
}

bool tern_client_is_connected(const struct tern_client *c)
{
    return c && c->state == CS_CONNECTED;
}

bool tern_client_is_closed(const struct tern_client *c)
{
    return !c || c->state == CS_IDLE;
}

bool tern_client_is_reconnecting(const struct tern_client *c)
{
    return c && c->state == CS_IDLE && c->rc.pending;
}

size_t tern_client_pending(const struct tern_client *c)
{
    return c->outq_count;
}

bool tern_client_is_pending(const struct tern_client *c, uint16_t packet_id)
{
    return packet_id != 0 && (c->ids_used[packet_id >> 3] & (1u << (packet_id & 7))) != 0;
}

uint8_t tern_client_connack_reason(const struct tern_client *c)
{
    return c->connack_reason;
}

int tern_client_last_error(const struct tern_client *c)
{
    return c->last_err;
}

uint8_t tern_client_version(const struct tern_client *c)
{
    return c->version;
}
