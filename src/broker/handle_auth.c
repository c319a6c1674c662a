/* SCRAM over MQTT 5 AUTH, and JWT logins. A CONNECT naming SCRAM-SHA-256/512 parks the
 * connection in CONN_AUTH with what the CONNECT decided; the client's final AUTH resumes the
 * normal session opening, and the CONNACK carries the server's signature. */
#include "handle_auth.h"

#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "clock.h"
#include "codec.h"
#include "conn.h"
#include "handle.h"
#include "jwt.h"
#include "lifecycle.h"
#include "mem.h"
#include "msg.h"
#include "scram.h"
#include "scram_file.h"
#include "security.h"
#include "worker.h"

#define AUTH_DATA_MAX 1024

static bool method_bit(const struct tern_bytes m, unsigned *bit, enum scram_mech *mech)
{
    if (bytes_eq_str(m, "SCRAM-SHA-256")) {
        *bit = AUTH_SCRAM_SHA_256;
        *mech = SCRAM_SHA_256;
        return true;
    }
    if (bytes_eq_str(m, "SCRAM-SHA-512")) {
        *bit = AUTH_SCRAM_SHA_512;
        *mech = SCRAM_SHA_512;
        return true;
    }
    return false;
}

bool auth_method_offered(const struct conn *c, const struct mqtt_connect *ct)
{
    const struct listener_auth *a = security_auth(c->lr);
    unsigned bit;
    enum scram_mech mech;
    return a && method_bit(ct->props.auth_method, &bit, &mech) && (a->methods & bit);
}

static void pending_free(struct pending_connect *pc)
{
    if (!pc)
        return;
    mem_free(pc->id);
    msg_unref(pc->will);
    mem_free(pc);
}

/* Sends AUTH with reason and the exchange's data. */
static void send_auth(struct conn *c, uint8_t reason, const uint8_t *data, size_t len)
{
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_AUTH;
    p.u.auth.reason = reason;
    p.u.auth.props.present = MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_METHOD);
    p.u.auth.props.auth_method = bytes_str(c->auth_method);
    if (len) {
        p.u.auth.props.present |= MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_DATA);
        p.u.auth.props.auth_data = bytes_of(data, len);
    }
    conn_send(c, &p);
}

/* A SCRAM server for the method named by m over this listener's credentials: a scram_file,
 * or, for SCRAM-SHA-512, the $7$ entries of the password file. */
static struct scram_server *scram_for(const struct conn *c, struct tern_bytes m)
{
    const struct listener_auth *a = security_auth(c->lr);
    unsigned bit;
    enum scram_mech mech;
    if (!a || !method_bit(m, &bit, &mech) || !(a->methods & bit))
        return NULL;
    if (a->scram)
        return scram_server_new(mech, scram_file_lookup, a->scram);
    if (mech == SCRAM_SHA_512 && a->pw)
        return scram_server_new(mech, scram_file_lookup_passwd, a->pw);
    return NULL;
}

/* Runs one step; returns its result and sends AUTH 0x18 on SCRAM_CONTINUE. */
static int step(struct conn *c, const struct mqtt_props *pr, uint8_t *out, size_t *out_len)
{
    struct tern_bytes in = pr->auth_data;
    int rc = scram_server_step(c->scram, in.ptr, in.len, out, AUTH_DATA_MAX, out_len);
    if (rc == SCRAM_CONTINUE)
        send_auth(c, MQTT_RC_CONTINUE_AUTHENTICATION, out, *out_len);
    return rc;
}

uint8_t auth_start(struct conn *c, const struct mqtt_connect *ct, struct pending_connect *pc)
{
    c->auth_method =
        mem_strndup((const char *)ct->props.auth_method.ptr, ct->props.auth_method.len);
    c->scram = scram_for(c, ct->props.auth_method);
    if (!c->auth_method || !c->scram) {
        pending_free(pc);
        return c->auth_method ? MQTT_RC_BAD_AUTHENTICATION_METHOD : MQTT_RC_SERVER_UNAVAILABLE;
    }
    uint8_t out[AUTH_DATA_MAX];
    size_t n = 0;
    if (step(c, &ct->props, out, &n) != SCRAM_CONTINUE) {
        pending_free(pc);
        return MQTT_RC_NOT_AUTHORIZED;
    }
    c->pending = pc;
    c->state = CONN_AUTH;
    return 0;
}

/* The client's reply during CONNECT: on success the session opens and CONNACK carries the
 * server's final message. */
static void finish_connect(struct conn *c, struct mqtt_auth *au)
{
    uint8_t out[AUTH_DATA_MAX];
    size_t n = 0;
    int rc =
        au->reason == MQTT_RC_CONTINUE_AUTHENTICATION ? step(c, &au->props, out, &n) : TERN_EPROTO;
    if (rc == SCRAM_CONTINUE)
        return;
    struct pending_connect *pc = c->pending;
    c->pending = NULL;
    if (rc != SCRAM_SUCCESS) {
        log_msg(c->w->b->log, TLOG_NOTICE, "Client from %s refused: %s authentication failed",
                c->peer, c->auth_method);
        pending_free(pc);
        handle_connect_refuse(c, MQTT_V5, MQTT_RC_NOT_AUTHORIZED);
        return;
    }
    mem_free(c->username);
    c->username = mem_strdup(scram_server_username(c->scram));
    c->auth_out = mem_dup(out, n);
    c->auth_out_len = c->auth_out ? n : 0;
    scram_server_free(c->scram);
    c->scram = NULL;
    c->state = CONN_NEW;
    char *id = pc->id;
    pc->id = NULL;
    struct msg *will = pc->will;
    pc->will = NULL;
    lifecycle_open(c, id, pc->clean, pc->expiry, will, pc->will_delay);
    pending_free(pc);
}

/* Re-authentication after CONNACK: AUTH 0x19 starts it, AUTH 0x18 continues it; success is
 * AUTH 0x00, failure a DISCONNECT [MQTT-4.12.1-2]. */
static void reauth(struct conn *c, struct mqtt_auth *au)
{
    if (!c->auth_method || !bytes_eq_str(au->props.auth_method, c->auth_method)) {
        conn_protocol_error(c, MQTT_RC_PROTOCOL_ERROR,
                            "AUTH with another method"); /* [MQTT-4.12.1-1] */
        return;
    }
    if (au->reason == MQTT_RC_REAUTHENTICATE) {
        scram_server_free(c->scram);
        c->scram = scram_for(c, au->props.auth_method);
    } else if (au->reason != MQTT_RC_CONTINUE_AUTHENTICATION || !c->scram) {
        conn_protocol_error(c, MQTT_RC_PROTOCOL_ERROR, "unexpected AUTH");
        return;
    }
    if (!c->scram) {
        conn_protocol_error(c, MQTT_RC_NOT_AUTHORIZED, "re-authentication not possible");
        return;
    }
    uint8_t out[AUTH_DATA_MAX];
    size_t n = 0;
    int rc = step(c, &au->props, out, &n);
    if (rc == SCRAM_CONTINUE)
        return;
    bool same = rc == SCRAM_SUCCESS && c->username &&
                strcmp(scram_server_username(c->scram), c->username) == 0;
    scram_server_free(c->scram);
    c->scram = NULL;
    if (!same) {
        conn_protocol_error(c, MQTT_RC_NOT_AUTHORIZED, "re-authentication failed");
        return;
    }
    send_auth(c, MQTT_RC_SUCCESS, out, n);
}

void handle_auth(struct conn *c, struct mqtt_packet *p)
{
    struct mqtt_auth *au = &p->u.auth;
    if (c->state == CONN_AUTH) {
        if (!bytes_eq_str(au->props.auth_method, c->auth_method)) {
            conn_protocol_error(c, MQTT_RC_PROTOCOL_ERROR, "AUTH with another method");
            return;
        }
        finish_connect(c, au);
        return;
    }
    reauth(c, au);
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mem_free(v[i]);
    mem_free(v);
}

/* Copies a claim's filter list (strings from the JWT library) into mem_* memory. */
static char **copy_list(char *const *v, size_t n)
{
    char **out = mem_calloc(n ? n : 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++) {
        out[i] = mem_strdup(v[i]);
        if (!out[i]) {
            free_list(out, i);
            return NULL;
        }
    }
    return out;
}

uint8_t auth_jwt(struct conn *c, const struct mqtt_connect *ct)
{
    const struct listener_auth *a = security_auth(c->lr);
    if (!a || !a->jwt || !(a->methods & AUTH_JWT) || !ct->has_password)
        return 0;
    struct jwt_claims cl;
    memset(&cl, 0, sizeof cl);
    char err[256];
    if (jwt_verify(a->jwt, (const char *)ct->password.ptr, ct->password.len, clock_wall_s(), &cl,
                   err, sizeof err) != 0) {
        jwt_claims_deinit(&cl);
        if (a->methods & AUTH_PASSWORD)
            return 0; /* maybe a plain password: the password file decides */
        /* Logged without the token. */
        log_msg(c->w->b->log, TLOG_NOTICE, "Client from %s refused: JWT %s", c->peer, err);
        return MQTT_RC_BAD_USER_NAME_OR_PASSWORD;
    }
    uint8_t rc = 1;
    mem_free(c->username);
    c->username = cl.username ? mem_strdup(cl.username) : NULL;
    if (cl.publish || cl.subscribe) {
        c->claims = true;
        c->claim_pub = copy_list(cl.publish, cl.n_publish);
        c->n_claim_pub = c->claim_pub ? cl.n_publish : 0;
        c->claim_sub = copy_list(cl.subscribe, cl.n_subscribe);
        c->n_claim_sub = c->claim_sub ? cl.n_subscribe : 0;
        if (!c->claim_pub || !c->claim_sub)
            rc = MQTT_RC_SERVER_UNAVAILABLE;
    }
    jwt_claims_deinit(&cl);
    return rc;
}

/* Whether filter lies within claim: every topic filter matches, claim matches too. */
static bool covers(const char *claim, struct tern_bytes f)
{
    size_t i = 0;
    const char *p = claim;
    for (;;) {
        size_t j = i;
        while (j < f.len && f.ptr[j] != '/')
            j++;
        const char *q = strchr(p, '/');
        size_t plen = q ? (size_t)(q - p) : strlen(p);
        if (plen == 1 && p[0] == '#')
            return true;
        bool lvl_hash = j - i == 1 && f.ptr[i] == '#';
        if (plen == 1 && p[0] == '+') {
            if (lvl_hash)
                return false;
        } else if (plen != j - i || memcmp(p, f.ptr + i, plen) != 0) {
            return false;
        }
        bool f_end = j >= f.len, p_end = !q;
        if (f_end || p_end)
            return f_end && p_end;
        i = j + 1;
        p = q + 1;
    }
}

int auth_claims_publish(const struct conn *c, struct tern_bytes topic)
{
    if (!c->claims)
        return -1;
    for (size_t i = 0; i < c->n_claim_pub; i++)
        if (codec_topic_matches(bytes_str(c->claim_pub[i]), topic))
            return 1;
    return 0;
}

int auth_claims_subscribe(const struct conn *c, struct tern_bytes filter)
{
    if (!c->claims)
        return -1;
    struct tern_bytes group, rest;
    if (codec_topic_shared_split(filter, &group, &rest))
        filter = rest;
    for (size_t i = 0; i < c->n_claim_sub; i++)
        if (covers(c->claim_sub[i], filter))
            return 1;
    return 0;
}

void auth_conn_free(struct conn *c)
{
    scram_server_free(c->scram);
    pending_free(c->pending);
    mem_free(c->auth_method);
    mem_free(c->auth_out);
    free_list(c->claim_pub, c->n_claim_pub);
    free_list(c->claim_sub, c->n_claim_sub);
}
