/* CONNECT: protocol version, client identifier rules, keep alive, v5 limits, the will, and the
 * session: new, resumed on this worker, or taken over from the worker that owns it. Also the
 * Mosquitto admission options: accept_protocol_versions, global_max_connections,
 * clientid_prefixes, use_username_as_clientid and global_max_clients. */
#include "handle.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "codec.h"
#include "config.h"
#include "conn.h"
#include "handle_auth.h"
#include "lifecycle.h"
#include "loop.h"
#include "mem.h"
#include "msg.h"
#include "passwd_file.h"
#include "security.h"
#include "session.h"
#include "transport_tls.h"
#include "worker.h"

void handle_connect_refuse(struct conn *c, uint8_t version, uint8_t reason)
{
    handle_connect_refuse_why(c, version, reason, NULL);
}

void handle_connect_refuse_why(struct conn *c, uint8_t version, uint8_t reason, const char *why)
{
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_CONNACK;
    c->version = version;
    if (version == MQTT_V5) {
        p.u.connack.reason = reason;
        conn_reason_string(c, &p.u.connack.props, why ? why : mqtt_reason_name(reason));
    } else {
        p.u.connack.reason = mqtt_reason_to_v3_connack(reason);
        /* A v3 decode failure other than the version gets no CONNACK: just close
         * [MQTT-3.1.4-1]; an unsupported level gets return code 1 [MQTT-3.1.2-2]. */
        if (reason == MQTT_RC_MALFORMED_PACKET || reason == MQTT_RC_PROTOCOL_ERROR) {
            conn_protocol_error(c, reason, "malformed CONNECT");
            return;
        }
    }
    atomic_fetch_add(&c->w->b->stats.connections_refused, 1);
    conn_send(c, &p);
    log_msg(c->w->b->log, TLOG_NOTICE, "Connection from %s refused: %s", c->peer,
            mqtt_reason_name(reason));
    conn_close(c, -1);
}

/* The listener's effective allow_anonymous (config resolves per_listener_settings). */
static bool anonymous_allowed(const struct listener_rt *lr)
{
    return lr->conf->allow_anonymous == 1;
}

/* Who the client is: the TLS identity when the listener says so (use_identity_as_username /
 * use_subject_as_username: the password file is then not consulted), else the user name checked
 * against the password file; no user name is anonymous. Returns 0 or the reason to refuse. */
static uint8_t authenticate(struct conn *c, const struct mqtt_connect *ct)
{
    const struct listener_conf *lc = c->lr->conf;
    if (lc->use_identity_as_username || lc->use_subject_as_username) {
        char id[1024];
        if (!transport_is_tls(c->t) || tls_peer_identity(c->t, id, sizeof id) != 0) {
            log_msg(c->w->b->log, TLOG_NOTICE, "Client from %s refused: no certificate identity",
                    c->peer);
            return MQTT_RC_NOT_AUTHORIZED;
        }
        c->username = mem_strdup(id);
        return c->username ? 0 : MQTT_RC_SERVER_UNAVAILABLE;
    }
    uint8_t jwt = auth_jwt(c, ct);
    if (jwt)
        return jwt == 1 ? 0 : jwt; /* a valid token names the user; a bad one refuses */
    if (!ct->has_username)
        return anonymous_allowed(c->lr) ? 0 : MQTT_RC_NOT_AUTHORIZED;
    const struct listener_auth *a = security_auth(c->lr);
    if (!a || !a->pw) {
        /* Nothing can check the user name, so it proves nothing: the client is as anonymous
         * as one without a name (secure by default; see docs/security.md). */
        return anonymous_allowed(c->lr) ? 0 : MQTT_RC_NOT_AUTHORIZED;
    }
    char user[256];
    if (ct->username.len >= sizeof user)
        return MQTT_RC_BAD_USER_NAME_OR_PASSWORD;
    memcpy(user, ct->username.ptr, ct->username.len);
    user[ct->username.len] = '\0';
    if (passwd_file_check(a->pw, user, ct->password.ptr, ct->has_password ? ct->password.len : 0))
        return 0;
    /* Logged with the address and the user name, never the password. */
    log_msg(c->w->b->log, TLOG_NOTICE, "Client from %s refused: bad user name or password for '%s'",
            c->peer, user);
    return MQTT_RC_BAD_USER_NAME_OR_PASSWORD;
}

/* Checks the client id, assigning one when it is empty and that is allowed. On success sets
 * *id (NUL-terminated, heap) and returns 0; otherwise returns the reason code to refuse with. */
static uint8_t client_id_check(struct conn *c, const struct mqtt_connect *ct, char **id,
                               bool *assigned)
{
    struct broker *b = c->w->b;
    *assigned = false;
    if (ct->client_id.len > 0) {
        *id = mem_strndup((const char *)ct->client_id.ptr, ct->client_id.len);
        return *id ? 0 : MQTT_RC_SERVER_UNAVAILABLE;
    }
    /* MQTT 3.1 requires 1-23 characters; 3.1.1 allows empty only with clean session
     * [MQTT-3.1.3-7], [MQTT-3.1.3-8]. */
    if (ct->version == MQTT_V31 || (ct->version == MQTT_V311 && !ct->clean_start) ||
        !c->lr->conf->allow_zero_length_clientid)
        return MQTT_RC_CLIENT_IDENTIFIER_NOT_VALID;
    char tmp[128];
    uint64_t n = atomic_fetch_add(&b->next_auto_id, 1) + 1;
    /* The listener's prefix (per_listener_settings, listener_auto_id_prefix), else the global. */
    const char *pre = c->lr->conf->auto_id_prefix;
    if (!pre)
        pre = b->cfg->auto_id_prefix ? b->cfg->auto_id_prefix : "";
    snprintf(tmp, sizeof tmp, "%s%llx-%u", pre, (unsigned long long)n,
             (unsigned)(b->start_mono_ms & 0xffff));
    *id = mem_strdup(tmp);
    *assigned = true;
    return *id ? 0 : MQTT_RC_SERVER_UNAVAILABLE;
}

/* clientid_prefixes (Mosquitto, deprecated): the client id, supplied or assigned, must start
 * with the prefix; otherwise not authorised, as Mosquitto answers. */
static uint8_t prefix_check(const struct conn *c, const char *id)
{
    const char *pre = c->w->b->cfg->clientid_prefixes;
    if (pre && strncmp(id, pre, strlen(pre)) != 0) {
        log_msg(c->w->b->log, TLOG_NOTICE, "Client %s from %s refused: not in clientid_prefixes",
                id, c->peer);
        return MQTT_RC_NOT_AUTHORIZED;
    }
    return 0;
}

/* Refusals before the CONNECT's content counts: accept_protocol_versions (Mosquitto 2.1, a
 * CONNACK "unacceptable protocol version") and global_max_connections (Mosquitto 2.1: every
 * listener's connections, this one included; closed without CONNACK as max_connections is).
 * Returns false when c was refused and closed. */
static bool admit(struct conn *c, uint8_t version)
{
    struct broker *b = c->w->b;
    unsigned versions = c->lr->conf->accept_protocol_versions;
    if (versions && !(versions & (1u << version))) {
        handle_connect_refuse(c, version, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION);
        return false;
    }
    int max = b->cfg->global_max_connections;
    if (max <= 0)
        return true;
    long total = 0;
    for (size_t i = 0; i < b->n_listeners; i++)
        total += atomic_load(&b->listeners[i].connections);
    if (total <= max)
        return true;
    log_msg(b->log, TLOG_NOTICE, "Connection from %s refused: global_max_connections", c->peer);
    atomic_fetch_add(&b->stats.connections_refused, 1);
    conn_close(c, -1);
    return false;
}

/* The client id the session gets: use_username_as_clientid replaces it by the user name in force
 * (certificate identity, JWT subject or CONNECT's), and a client without one is not authorised;
 * not with enhanced authentication, whose user is known only after the AUTH exchange. Then
 * global_max_clients (Mosquitto 2.1): sessions, online or kept, are counted; a client whose
 * session exists may always come back. Returns 0 or the reason to refuse with. */
static uint8_t final_id(struct conn *c, char **id, bool enhanced)
{
    struct broker *b = c->w->b;
    if (c->lr->conf->use_username_as_clientid && !enhanced) {
        if (!c->username) {
            log_msg(b->log, TLOG_NOTICE,
                    "Client from %s refused: use_username_as_clientid "
                    "and no user name",
                    c->peer);
            return MQTT_RC_NOT_AUTHORIZED;
        }
        char *u = mem_strdup(c->username);
        if (!u)
            return MQTT_RC_SERVER_UNAVAILABLE;
        mem_free(*id);
        *id = u;
    }
    int max = b->cfg->global_max_clients;
    if (max <= 0 || registry_count(b) < (size_t)max)
        return 0;
    struct session *s = registry_get(b, *id, strlen(*id));
    if (s) {
        session_unref(s);
        return 0;
    }
    log_msg(b->log, TLOG_NOTICE, "Client %s from %s refused: global_max_clients", *id, c->peer);
    return MQTT_RC_SERVER_BUSY;
}

/* v5 limits the client announces, with the spec's defaults when absent. */
static void read_client_limits(struct conn *c, const struct mqtt_props *pr)
{
    c->client_receive_max = 65535;
    c->client_max_packet = MQTT_MAX_PACKET_SIZE;
    c->client_alias_max = 0;
    c->problem_info = true;
    if (c->version != MQTT_V5)
        return;
    if (pr->present & MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM))
        c->client_receive_max = pr->receive_maximum;
    if (pr->present & MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE))
        c->client_max_packet = pr->maximum_packet_size;
    if (pr->present & MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM))
        c->client_alias_max = pr->topic_alias_maximum;
    if (pr->present & MQTT_PROP_BIT(MQTT_PROP_REQUEST_PROBLEM_INFORMATION))
        c->problem_info = pr->request_problem_info != 0;
    /* Absent means 0: no Response Information [MQTT-3.1.2-28]. */
    c->response_info = (pr->present & MQTT_PROP_BIT(MQTT_PROP_REQUEST_RESPONSE_INFORMATION)) &&
                       pr->request_response_info == 1;
}

char *handle_connect_response_info(const struct conn *c)
{
    const char *prefix = c->w->b->cfg->response_information;
    /* Sent only to a client that asked with Request Response Information 1
     * [MQTT-3.1.2-28]; an unset option sends nothing, which the spec allows (3.2.2.3.15). */
    if (!c->response_info || !prefix[0] || !c->s)
        return NULL;
    size_t plen = strlen(prefix), idlen = strlen(c->s->client_id);
    if (plen + 1 + idlen > 65535)
        return NULL; /* not representable as a UTF-8 string property */
    char *ri = mem_alloc(plen + idlen + 2);
    if (ri)
        snprintf(ri, plen + idlen + 2, "%s/%s", prefix, c->s->client_id);
    return ri;
}

/* Session Expiry Interval from CONNECT: v5 property (absent = 0), v3 clean session. */
static uint32_t session_expiry(const struct broker *b, const struct mqtt_connect *ct)
{
    if (ct->version == MQTT_V5) {
        if (ct->props.present & MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL))
            return ct->props.session_expiry;
        return 0;
    }
    if (ct->clean_start)
        return 0;
    int64_t e = b->cfg->persistent_client_expiration_s;
    return e < 0 || e >= UINT32_MAX ? UINT32_MAX : (uint32_t)e;
}

/* Builds the will message; returns the reason to refuse with, or 0. */
static uint8_t make_will(struct conn *c, const struct mqtt_connect *ct, struct msg **will)
{
    const struct config *cfg = c->w->b->cfg;
    *will = NULL;
    if (!ct->has_will)
        return 0;
    if (ct->will_qos > c->lr->conf->max_qos)
        return MQTT_RC_QOS_NOT_SUPPORTED; /* [MQTT-3.2.2-12] */
    if (ct->will_retain && !cfg->retain_available)
        return MQTT_RC_RETAIN_NOT_SUPPORTED; /* [MQTT-3.2.2-13] */
    if (!codec_topic_name_valid(ct->will_topic) || !handle_topic_depth_ok(ct->will_topic))
        return MQTT_RC_TOPIC_NAME_INVALID;
    char *mounted = NULL;
    struct msg_init in = {
        .topic = conn_mount(c, ct->will_topic, &mounted),
        .payload = ct->will_payload,
        .props = ct->version == MQTT_V5 ? &ct->will_props : NULL,
        .qos = ct->will_qos,
        .retain = ct->will_retain,
        .origin_id = 0,
        .now_ms = loop_now_ms(c->w->loop),
    };
    *will = in.topic.ptr ? msg_new(&in) : NULL;
    mem_free(mounted);
    return *will ? 0 : MQTT_RC_SERVER_UNAVAILABLE;
}

static uint8_t keepalive_check(struct conn *c, const struct mqtt_connect *ct)
{
    uint16_t max = c->w->b->cfg->max_keepalive;
    c->keepalive_s = ct->keep_alive;
    if (max == 0 || max == 65535 || (ct->keep_alive != 0 && ct->keep_alive <= max))
        return 0;
    if (ct->version == MQTT_V5) {
        c->keepalive_s = max; /* announced as Server Keep Alive [MQTT-3.2.2-21] */
        return 0;
    }
    /* v3 has no way to tell the client: refuse as Mosquitto does. */
    return ct->keep_alive == 0 ? 0 : MQTT_RC_CLIENT_IDENTIFIER_NOT_VALID;
}

void handle_connect(struct conn *c, struct mqtt_packet *p)
{
    struct mqtt_connect *ct = &p->u.connect;
    struct broker *b = c->w->b;
    worker_stat_add(&c->w->stats.connects_received, 1);
    if (!admit(c, ct->version))
        return;
    c->version = ct->version;
    read_client_limits(c, &ct->props);
    char *id = NULL;
    bool assigned = false;
    uint8_t rc = client_id_check(c, ct, &id, &assigned);
    if (!rc)
        rc = prefix_check(c, id);
    bool enhanced = ct->version == MQTT_V5 &&
                    (ct->props.present & MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_METHOD));
    if (!rc && enhanced && !auth_method_offered(c, ct))
        rc = MQTT_RC_BAD_AUTHENTICATION_METHOD; /* [MQTT-4.12.0-1] */
    if (!rc && !enhanced)
        rc = authenticate(c, ct); /* enhanced authentication decides after the AUTH exchange */
    const char *why = NULL;
    if (!rc && (rc = keepalive_check(c, ct)) != 0)
        why = "keep alive above max_keepalive";
    struct msg *will = NULL;
    if (!rc)
        rc = make_will(c, ct, &will);
    if (rc) {
        mem_free(id);
        handle_connect_refuse_why(c, ct->version, rc, why);
        return;
    }
    if (ct->has_username && !c->username)
        c->username = mem_strndup((const char *)ct->username.ptr, ct->username.len);
    if ((rc = final_id(c, &id, enhanced)) != 0) {
        mem_free(id);
        msg_unref(will);
        if (rc == MQTT_RC_SERVER_BUSY && ct->version != MQTT_V5) {
            atomic_fetch_add(&b->stats.connections_refused, 1);
            conn_close(c, -1); /* Mosquitto sends v3 clients no CONNACK for this */
            return;
        }
        handle_connect_refuse(c, ct->version, rc);
        return;
    }
    c->assigned_id = assigned;
    c->server_keepalive = c->keepalive_s != ct->keep_alive;
    uint32_t expiry = session_expiry(b, ct);
    c->connect_expiry_zero = expiry == 0;
    uint32_t will_delay = 0;
    if (ct->has_will && ct->version == MQTT_V5 &&
        (ct->will_props.present & MQTT_PROP_BIT(MQTT_PROP_WILL_DELAY_INTERVAL)))
        will_delay = ct->will_props.will_delay;
    conn_arm_keepalive(c);
    if (enhanced) {
        struct pending_connect *pc = mem_calloc(1, sizeof *pc);
        if (pc) {
            *pc = (struct pending_connect){id, ct->clean_start, expiry, will, will_delay};
        } else {
            mem_free(id);
            msg_unref(will);
        }
        rc = pc ? auth_start(c, ct, pc) : MQTT_RC_SERVER_UNAVAILABLE;
        if (rc)
            handle_connect_refuse(c, MQTT_V5, rc);
        return;
    }
    /* The user name the broker will use: a certificate identity replaces the typed one. */
    log_msg(b->log, TLOG_NOTICE, "New client connected from %s as %s (p%u, c%d, k%u%s%s%s).",
            c->peer, id, ct->version, ct->clean_start ? 1 : 0, ct->keep_alive,
            c->username ? ", u'" : "", c->username ? c->username : "", c->username ? "'" : "");
    lifecycle_open(c, id, ct->clean_start, expiry, will, will_delay);
}
