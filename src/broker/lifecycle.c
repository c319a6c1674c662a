/* Session life across connections and workers. A session is touched only by its owner worker;
 * moving it is a message exchange: the new connection's worker sends TAKEOVER to the owner,
 * which detaches it and sends HANDOFF back. */
#include "lifecycle.h"

#include <string.h>

#include "broker.h"
#include "codec.h"
#include "config.h"
#include "conn.h"
#include "deliver.h"
#include "handle.h"
#include "loop.h"
#include "mem.h"
#include "msg.h"
#include "persist.h"
#include "retain.h"
#include "session.h"
#include "topic_tree.h"
#include "worker.h"

static void send_connack(struct conn *c, bool present)
{
    const struct config *cfg = c->w->b->cfg;
    struct mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_CONNACK;
    p.u.connack.session_present = present;
    struct mqtt_props *pr = &p.u.connack.props;
    if (c->version == MQTT_V5) {
        uint16_t rm = cfg->max_inflight_messages ? cfg->max_inflight_messages : 65535;
        if (rm != 65535) {
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM);
            pr->receive_maximum = rm;
        }
        const struct listener_conf *lc = c->lr->conf;
        c->alias_in_max = (uint16_t)lc->max_topic_alias; /* kept for the connection's life */
        if (c->alias_in_max > 0) {
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM);
            pr->topic_alias_maximum = c->alias_in_max;
        }
        if (cfg->max_packet_size) {
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE);
            pr->maximum_packet_size = cfg->max_packet_size;
        }
        if (lc->max_qos < 2) {
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_QOS);
            pr->maximum_qos = (uint8_t)lc->max_qos;
        }
        if (!cfg->retain_available) {
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_RETAIN_AVAILABLE);
            pr->retain_available = 0;
        }
        if (c->assigned_id) {
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER);
            pr->assigned_client_id = bytes_str(c->s->client_id);
        }
        if (c->auth_method) {
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_METHOD);
            pr->auth_method = bytes_str(c->auth_method);
            if (c->auth_out_len) {
                pr->present |= MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_DATA);
                pr->auth_data = bytes_of(c->auth_out, c->auth_out_len);
            }
        }
        if (c->server_keepalive) {
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE);
            pr->server_keep_alive = c->keepalive_s;
        }
    }
    char *ri = c->version == MQTT_V5 ? handle_connect_response_info(c) : NULL;
    if (ri) {
        pr->present |= MQTT_PROP_BIT(MQTT_PROP_RESPONSE_INFORMATION);
        pr->response_info = bytes_str(ri);
    }
    conn_send(c, &p);
    mem_free(ri);
}

void lifecycle_cancel_timers(struct worker *w, struct session *s)
{
    loop_timer_cancel(w->loop, s->expiry_timer);
    loop_timer_cancel(w->loop, s->will_timer);
    s->expiry_timer = 0;
    s->will_timer = 0;
}

void lifecycle_attach(struct worker *w, struct conn *c, struct session *s, bool session_present)
{
    struct broker *b = w->b;
    /* A new connection before the Will Delay passed: the will is not sent [MQTT-3.1.3-9]. */
    lifecycle_cancel_timers(w, s);
    c->s = s;
    s->conn = c;
    atomic_store(&s->connected, true);
    s->version = c->version;
    s->listener = c->lr;
    /* Swapped under the registry lock, where the REST API's client list reads it (its
     * username= filter); this worker alone writes it, so its own reads need no lock. */
    char *user = c->username ? mem_strdup(c->username) : NULL, *old;
    pthread_mutex_lock(&b->reg_lock);
    old = s->username;
    s->username = user;
    pthread_mutex_unlock(&b->reg_lock);
    mem_free(old);
    if (session_set_read_filters(s, c->claims, c->claim_sub, c->n_claim_sub) != 0)
        log_msg(b->log, TLOG_WARN, "Out of memory copying the JWT claims of %s", s->client_id);
    c->state = CONN_ACTIVE;
    uint64_t now = atomic_fetch_add(&b->stats.clients_connected, 1) + 1;
    uint64_t max = atomic_load(&b->stats.clients_maximum);
    while (now > max && !atomic_compare_exchange_weak(&b->stats.clients_maximum, &max, now))
        ;
    /* Expiry, will, and everything when it just became persistent. The CONNACK does not wait
     * for it: a client still connects while the disk fails (its SUBACKs and PUBACKs wait). */
    persist_session(b, s);
    send_connack(c, session_present);
    if (session_present)
        deliver_resend(w, s);
    deliver_pump(w, s);
}

void lifecycle_publish_will(struct worker *w, struct session *s)
{
    struct msg *will = s->will;
    if (!will)
        return;
    s->will = NULL;
    loop_timer_cancel(w->loop, s->will_timer);
    s->will_timer = 0;
    deliver_publish(w, will);
    msg_unref(will);
    if (!s->ended)
        persist_session(w->b, s); /* published once: not again after a restart */
}

static void will_fired(struct loop *l, void *ctx)
{
    (void)l;
    struct session *s = ctx;
    struct worker *w = session_owner(s);
    s->will_timer = 0;
    lifecycle_publish_will(w, s);
}

static void expiry_fired(struct loop *l, void *ctx)
{
    (void)l;
    struct session *s = ctx;
    s->expiry_timer = 0;
    if (!s->conn)
        lifecycle_end(session_owner(s), s);
}

/* Starts s's expiry countdown on its owner's loop (s is offline). */
static void arm_expiry(struct worker *w, struct session *s, uint64_t ms)
{
    s->expiry_timer = loop_timer_add(w->loop, ms, expiry_fired, s);
}

void lifecycle_detach(struct worker *w, struct conn *c)
{
    struct session *s = c->s;
    c->s = NULL;
    s->conn = NULL;
    atomic_store(&s->connected, false);
    if (c->disconnect_normal) {
        session_set_will(s, NULL, 0); /* [MQTT-3.14.4-3] */
        persist_session(w->b, s);
    } else if (w->shutting_down) {
        /* The broker is stopping, not the client going away: the stored will stays. */
    } else if (s->will) {
        /* The will goes when its delay passes or the session ends, whichever is first
         * [MQTT-3.1.2-8]; a taken-over session lives on, so only an undelayed will goes now. */
        if (s->will_delay_s == 0 || (s->expiry_s == 0 && !c->taken_over))
            lifecycle_publish_will(w, s);
        else if (!c->taken_over)
            s->will_timer =
                loop_timer_add(w->loop, (uint64_t)s->will_delay_s * 1000u, will_fired, s);
    }
    if (!c->taken_over && !w->shutting_down) {
        if (s->expiry_s == 0)
            lifecycle_end(w, s);
        else if (s->expiry_s != UINT32_MAX)
            arm_expiry(w, s, (uint64_t)s->expiry_s * 1000u);
    }
    if (!s->ended && !c->taken_over)
        persist_session_offline(w->b, s); /* its expiry counts from now, across restarts too */
    session_unref(s);
}

/* Counts out what an ending session still holds: its queue and in-flight window leave the
 * queued/inflight gauges, and the messages not yet delivered are dropped. */
static void count_ended(struct worker *w, struct session *s)
{
    uint64_t lost = s->q_len;
    for (size_t i = 0; i < s->n_inflight; i++)
        lost += s->inflight[i].state != INFLIGHT_WAIT_PUBCOMP && s->inflight[i].d.m != NULL;
    worker_stat_add(&w->stats.queued, (uint64_t)0 - s->q_len);
    worker_stat_add(&w->stats.inflight, (uint64_t)0 - s->n_inflight);
    worker_stat_add(&w->stats.dropped[DROP_SESSION_ENDED], lost);
}

void lifecycle_end(struct worker *w, struct session *s)
{
    struct broker *b = w->b;
    if (s->ended)
        return;
    s->ended = true;
    deliver_note_ended(w, s);
    if (s->will_timer)
        lifecycle_publish_will(w, s);
    lifecycle_cancel_timers(w, s);
    for (size_t i = 0; i < s->n_subs; i++) {
        struct subscription *x = &s->subs[i];
        if (topic_tree_remove(b->tree, bytes_of(x->filter, x->filter_len), s) == 0)
            atomic_fetch_sub(&b->stats.subscriptions, 1);
    }
    /* Readers of the tree (RCU) may still be looking at s after the removals: wait for them
     * before the registry's reference can go, so none can take a reference to a freed s. */
    if (s->n_subs)
        topic_tree_quiesce(b->tree);
    deliver_redistribute(w, s);
    persist_session_end(w->b, s);
    session_subs_clear(s);
    count_ended(w, s);
    session_queue_clear(s);
    while (s->n_inflight)
        session_inflight_remove(s, &s->inflight[s->n_inflight - 1]);
    session_set_will(s, NULL, 0);
    registry_remove(b, s);
}

/* On the owner of s: detach it from its connection and hand it to newc's worker. */
void lifecycle_takeover(struct worker *w, struct session *s, struct conn *newc)
{
    if (!s->ended && s->conn) {
        struct conn *old = s->conn;
        old->taken_over = true;
        log_msg(w->b->log, TLOG_NOTICE, "Client %s already connected, closing old connection.",
                s->client_id);
        conn_close(old, MQTT_RC_SESSION_TAKEN_OVER); /* [MQTT-3.1.4-3] */
    }
    lifecycle_cancel_timers(w, s);
    struct worker *to = newc->w;
    bool moves = to != w;
    if (moves)
        atomic_store_explicit(&s->settling, true, memory_order_relaxed); /* before the owner */
    atomic_store_explicit(&s->owner, to, memory_order_release);
    struct work_item it = {.kind = WORK_HANDOFF, .s = s, .conn = newc}; /* our reference */
    worker_post(w, to, &it); /* batched: s stays valid until this iteration's end */
    if (moves)
        worker_settle_begin(w, s, to);
}

void lifecycle_handoff(struct worker *w, struct session *s, struct conn *c)
{
    c->pending_handoff = false;
    struct msg *will = c->pending_will;
    c->pending_will = NULL;
    if (c->state == CONN_CLOSED) {
        /* The new connection went away while waiting: the session stays, offline. */
        msg_unref(will);
        if (!s->ended && s->expiry_s != UINT32_MAX && !s->conn)
            arm_expiry(w, s, (uint64_t)s->expiry_s * 1000u);
        session_unref(s);
        return;
    }
    if (s->ended) {
        /* It ended meanwhile: start afresh under the same id. */
        char *id = mem_strdup(s->client_id);
        session_unref(s);
        c->state = CONN_NEW;
        if (!id) {
            msg_unref(will);
            handle_connect_refuse(c, c->version, MQTT_RC_SERVER_UNAVAILABLE);
            return;
        }
        lifecycle_open(c, id, true, c->pending_expiry, will, c->pending_will_delay);
        conn_resume_input(c);
        return;
    }
    s->expiry_s = c->pending_expiry;
    session_set_will(s, will, c->pending_will_delay);
    lifecycle_attach(w, c, s, true);
    conn_resume_input(c);
}

void lifecycle_kick(struct worker *w, struct session *s)
{
    if (s->conn)
        conn_close(s->conn, MQTT_RC_SESSION_TAKEN_OVER);
    lifecycle_end(w, s);
    session_unref(s);
}
/* See lifecycle.h. */

void lifecycle_open(struct conn *c, char *id, bool clean, uint32_t expiry, struct msg *will,
                    uint32_t will_delay)
{
    struct worker *w = c->w;
    struct broker *b = w->b;
    struct session *old = clean ? NULL : registry_get(b, id, strlen(id));
    if (old && old->ended) {
        session_unref(old);
        old = NULL;
    }
    if (old) {
        mem_free(id);
        c->s = NULL;
        /* The will and version of the new connection apply once it is attached; stash them
         * on the connection until the hand-over completes. */
        c->pending_will = will;
        c->pending_will_delay = will_delay;
        c->pending_expiry = expiry;
        struct worker *owner = session_owner(old);
        if (owner == w) {
            struct work_item it = {.kind = WORK_TAKEOVER, .s = old, .conn = c};
            c->state = CONN_WAIT_SESSION;
            c->pending_handoff = true;
            worker_handle_item(w, &it);
            return;
        }
        c->state = CONN_WAIT_SESSION;
        c->pending_handoff = true;
        struct work_item it = {.kind = WORK_TAKEOVER, .s = old, .conn = c};
        worker_post(w, owner, &it);
        return;
    }
    struct session *s = session_new(id, strlen(id), atomic_fetch_add(&b->next_session_id, 1) + 1);
    mem_free(id);
    if (!s) {
        msg_unref(will);
        handle_connect_refuse(c, c->version, MQTT_RC_SERVER_UNAVAILABLE);
        return;
    }
    atomic_store(&s->owner, w);
    s->expiry_s = expiry;
    s->version = c->version;
    session_set_will(s, will, will_delay);
    struct session *prev = NULL;
    if (registry_put(b, s, &prev) != 0) {
        session_unref(s);
        handle_connect_refuse(c, c->version, MQTT_RC_SERVER_UNAVAILABLE);
        return;
    }
    if (prev) {
        /* The store knows sessions by client id: the old rows go now, before the new session
         * writes its own, not later when the old owner gets round to ending it. */
        persist_session_end(w->b, prev);
        /* Clean start replaces an existing session: its owner disconnects it and ends it. */
        struct work_item it = {.kind = WORK_KICK, .s = prev};
        worker_post(w, session_owner(prev), &it);
    }
    lifecycle_attach(w, c, session_ref(s), false);
}

void lifecycle_restored(struct worker *w, struct session *s, int64_t expiry_left_ms,
                        int64_t will_left_ms)
{
    if (s->expiry_s != UINT32_MAX)
        arm_expiry(w, s, expiry_left_ms > 0 ? (uint64_t)expiry_left_ms : 0);
    if (s->will && will_left_ms >= 0)
        s->will_timer = loop_timer_add(w->loop, (uint64_t)will_left_ms, will_fired, s);
}
