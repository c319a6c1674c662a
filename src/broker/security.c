/* Loading and hot replacement of TLS contexts and password/ACL databases. Objects a swap
 * replaces are retired, not freed: a worker may still be reading them, and reloads are rare,
 * so they are freed with the broker. Also the start/reload/periodic hooks of three Mosquitto
 * options (log_timestamp_format, retain_expiry_interval, check_retain_source). */
#include "security.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "broker.h"
#include "clock.h"
#include "config.h"
#include "jwt.h"
#include "mem.h"
#include "msg.h"
#include "passwd_file.h"
#include "retain.h"
#include "scram_file.h"
#include "tls_ctx.h"

enum retired_kind { RETIRED_TLS, RETIRED_AUTH };

struct retired {
    enum retired_kind kind;
    void *obj;
    struct retired *next;
};

static void auth_free(struct listener_auth *a)
{
    if (!a)
        return;
    passwd_file_free(a->pw);
    acl_free(a->acl);
    scram_file_free(a->scram);
    jwt_verifier_free(a->jwt);
    mem_free(a);
}

/* SCRAM credentials and the JWT verifier the configuration asks for; false (logged) when a file
 * cannot be used. */
static bool load_methods(struct broker *b, struct listener_auth *a)
{
    const struct config *cfg = b->cfg;
    char err[512];
    a->methods = cfg->auth_methods ? cfg->auth_methods : AUTH_PASSWORD;
    if (cfg->scram_file && scram_file_load(cfg->scram_file, &a->scram, err, sizeof err) != 0) {
        log_msg(b->log, TLOG_ERR, "Error: scram_file: %s", err);
        return false;
    }
    if (!(a->methods & AUTH_JWT))
        return true;
    struct jwt_settings js = {
        .key_file = cfg->jwt_key_file,
        .jwks_file = cfg->jwt_jwks_file,
        .issuer = cfg->jwt_issuer,
        .audience = cfg->jwt_audience,
        .username_claim = cfg->jwt_username_claim,
        .leeway_s = cfg->jwt_leeway,
    };
    if (jwt_verifier_new(&js, &a->jwt, err, sizeof err) != 0) {
        log_msg(b->log, TLOG_ERR, "Error: JWT: %s", err);
        return false;
    }
    return true;
}

static void retire(struct broker *b, enum retired_kind kind, void *obj)
{
    if (!obj)
        return;
    struct retired *r = mem_alloc(sizeof *r);
    if (!r)
        return; /* leaks one object rather than freeing one a worker may be reading */
    r->kind = kind;
    r->obj = obj;
    pthread_mutex_lock(&b->retire_lock);
    r->next = b->retired;
    b->retired = r;
    pthread_mutex_unlock(&b->retire_lock);
}

/* The TLS settings of a listener, or false when it is plain TCP. */
static bool tls_settings_of(const struct listener_conf *lc, const struct config *cfg,
                            struct tls_settings *ts)
{
    memset(ts, 0, sizeof *ts);
    ts->cafile = lc->cafile;
    ts->capath = lc->capath;
    ts->certfile = lc->certfile;
    ts->keyfile = lc->keyfile;
    ts->crlfile = lc->crlfile;
    ts->ciphers = lc->ciphers;
    ts->ciphers_tls13 = lc->ciphers_tls13;
    ts->tls_version = lc->tls_version;
    ts->dhparamfile = lc->dhparamfile;
    ts->psk_hint = lc->psk_hint;
    ts->psk_file = cfg->per_listener_settings ? lc->psk_file : cfg->psk_file;
    ts->tls_keyform = lc->tls_keyform;
    ts->require_certificate = lc->require_certificate;
    ts->use_identity_as_username = lc->use_identity_as_username;
    ts->use_subject_as_username = lc->use_subject_as_username;
    return ts->certfile || ts->psk_hint;
}

static struct tls_ctx *load_tls(struct broker *b, const struct listener_rt *lr,
                                const struct tls_settings *ts)
{
    char err[512];
    struct tls_ctx *ctx = tls_ctx_new(ts, err, sizeof err);
    if (!ctx)
        log_msg(b->log, TLOG_ERR, "Error: TLS on listener port %u: %s", lr->port, err);
    return ctx;
}

/* Loads the password and ACL files that apply to lr; NULL and logged on failure. */
static struct listener_auth *load_auth(struct broker *b, const struct listener_conf *lc)
{
    const struct config *cfg = b->cfg;
    const char *pwf = cfg->per_listener_settings ? lc->password_file : cfg->password_file;
    const char *aclf = cfg->per_listener_settings ? lc->acl_file : cfg->acl_file;
    struct listener_auth *a = mem_calloc(1, sizeof *a);
    char err[512];
    if (!a)
        return NULL;
    if (pwf && passwd_file_load(pwf, &a->pw, err, sizeof err) != 0) {
        log_msg(b->log, TLOG_ERR, "Error: password_file: %s", err);
        goto fail;
    }
    if (aclf && acl_load(aclf, &a->acl, err, sizeof err) != 0) {
        log_msg(b->log, TLOG_ERR, "Error: acl_file: %s", err);
        goto fail;
    }
    if (!load_methods(b, a))
        goto fail;
    return a;
fail:
    auth_free(a);
    return NULL;
}

bool security_init(struct broker *b)
{
    bool ok = true;
    for (size_t i = 0; i < b->n_listeners; i++) {
        struct listener_rt *lr = &b->listeners[i];
        struct tls_settings ts;
        if (tls_settings_of(lr->conf, b->cfg, &ts)) {
            struct tls_ctx *ctx = load_tls(b, lr, &ts);
            lr->tls_stamp = mem_calloc(1, sizeof *lr->tls_stamp);
            if (!ctx || !lr->tls_stamp) {
                tls_ctx_unref(ctx);
                ok = false;
                continue;
            }
            tls_files_stamp(&ts, lr->tls_stamp);
            atomic_store(&lr->tls, ctx);
        }
        struct listener_auth *a = load_auth(b, lr->conf);
        if (!a)
            ok = false;
        atomic_store(&lr->auth, a);
    }
    return ok;
}

/* Replaces lr's TLS context from its settings; keeps the old one when loading fails. */
static void replace_tls(struct broker *b, struct listener_rt *lr, const struct tls_settings *ts)
{
    struct tls_ctx *ctx = load_tls(b, lr, ts);
    if (!ctx) {
        log_msg(b->log, TLOG_ERR, "Error: keeping the previous TLS material for port %u.",
                lr->port);
        return;
    }
    tls_files_stamp(ts, lr->tls_stamp);
    /* Retired, not released: a worker may be about to take a reference to it. */
    retire(b, RETIRED_TLS, atomic_exchange(&lr->tls, ctx));
    log_msg(b->log, TLOG_NOTICE, "Loaded new TLS material for listener port %u.", lr->port);
}

void security_reload(struct broker *b)
{
    for (size_t i = 0; i < b->n_listeners; i++) {
        struct listener_rt *lr = &b->listeners[i];
        struct tls_settings ts;
        if (lr->tls_stamp && tls_settings_of(lr->conf, b->cfg, &ts))
            replace_tls(b, lr, &ts);
        struct listener_auth *a = load_auth(b, lr->conf);
        if (!a) {
            log_msg(b->log, TLOG_ERR, "Error: keeping the previous password/ACL files.");
            continue;
        }
        retire(b, RETIRED_AUTH, atomic_exchange(&lr->auth, a));
    }
    log_msg(b->log, TLOG_NOTICE, "Password and ACL files reloaded.");
}

void security_poll_files(struct broker *b)
{
    for (size_t i = 0; i < b->n_listeners; i++) {
        struct listener_rt *lr = &b->listeners[i];
        struct tls_settings ts;
        if (lr->tls_stamp && tls_settings_of(lr->conf, b->cfg, &ts) &&
            tls_files_changed(&ts, lr->tls_stamp))
            replace_tls(b, lr, &ts);
    }
}

void security_free(struct broker *b)
{
    for (size_t i = 0; i < b->n_listeners; i++) {
        struct listener_rt *lr = &b->listeners[i];
        tls_ctx_unref(atomic_exchange(&lr->tls, NULL));
        auth_free(atomic_exchange(&lr->auth, NULL));
        mem_free(lr->tls_stamp);
        lr->tls_stamp = NULL;
    }
    while (b->retired) {
        struct retired *r = b->retired;
        b->retired = r->next;
        if (r->kind == RETIRED_AUTH)
            auth_free(r->obj);
        else
            tls_ctx_unref(r->obj);
        mem_free(r);
    }
}

struct tls_ctx *security_tls(const struct listener_rt *lr)
{
    return atomic_load_explicit(&lr->tls, memory_order_acquire);
}

const struct listener_auth *security_auth(const struct listener_rt *lr)
{
    return atomic_load_explicit(&lr->auth, memory_order_acquire);
}

/* The check itself, out of line: security_acl runs per delivery, and without an ACL it should
 * cost no more than the test (no 512-byte frame to set up and guard). */
static __attribute__((noinline)) bool acl_topic(const struct listener_auth *a,
                                                const char *client_id, const char *username,
                                                struct tern_bytes topic, int access)
{
    char buf[512];
    char *z = topic.len < sizeof buf ? buf : mem_alloc(topic.len + 1);
    if (!z)
        return false;
    memcpy(z, topic.ptr, topic.len);
    z[topic.len] = '\0';
    bool ok = acl_check(a->acl, client_id, username, z, (enum acl_access)access);
    if (z != buf)
        mem_free(z);
    return ok;
}

bool security_acl(const struct listener_rt *lr, const char *client_id, const char *username,
                  struct tern_bytes topic, int access)
{
    const struct listener_auth *a = security_auth(lr);
    return !a || !a->acl || acl_topic(a, client_id, username, topic, access);
}

void security_note_retain_source(struct broker *b, const struct listener_rt *lr,
                                 const char *client_id, const char *username, struct msg *m)
{
    if (!m->retain || !b->cfg->check_retain_source || !client_id)
        return;
    struct retain_source src = {client_id, username, lr};
    if (retain_set_source(b->retain, m, &src) != 0)
        log_msg(b->log, TLOG_WARN, "Warning: out of memory recording who retained %s", m->topic);
}

bool security_retain_source_ok(const struct broker *b, const struct msg *m,
                               const struct retain_source *src)
{
    if (!b->cfg->check_retain_source || !src || !src->listener)
        return true;
    /* Mosquitto: the publisher's write access is checked again, with the ACLs in force now. */
    return security_acl(src->listener, src->client_id, src->username, msg_topic(m), ACL_WRITE);
}
