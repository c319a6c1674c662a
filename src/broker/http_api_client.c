/* GET /api/v1/clients/{id}: one client with its session. The session's mutable state (its
 * subscriptions, queue, window, will, connection) belongs to its owner worker, so the object is
 * built there: the request's worker posts WORK_INSPECT to the owner and defers its response;
 * the owner builds the JSON and posts WORK_INSPECT_DONE back, which answers the request. Only
 * the finished cJSON tree crosses threads, through the workers' inboxes (their mutex orders
 * it). When the request's worker owns the session itself it answers at once. When an item
 * cannot be posted (out of memory) its query goes back to the requesting worker on an intrusive
 * list, which needs no allocation, and the request is answered 500 at once. */
#include "http_api_client.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "broker.h"
#include "conn.h"
#include "http_api.h"
#include "http_request.h"
#include "http_response.h"
#include "list.h"
#include "loop.h"
#include "mem.h"
#include "mqtt.h"
#include "msg.h"
#include "session.h"
#include "worker.h"
#include "ws_listener.h"

struct http_api_query {
    struct worker *home;   /* the worker whose HTTP connection waits for the answer */
    uint64_t ticket;       /* ws_listener_defer's */
    cJSON *json;           /* the client object, NULL when the session was gone or on OOM */
    bool gone;             /* the session ended before its owner saw the request */
    struct list_node lost; /* on home->lost_queries once an item carrying it was not posted */
};

void http_api_query_free(struct http_api_query *q)
{
    if (!q)
        return;
    cJSON_Delete(q->json);
    mem_free(q);
}

static const char *version_name(uint8_t v)
{
    return v == 3 ? "3.1" : v == 4 ? "3.1.1" : v == 5 ? "5.0" : "unknown";
}

static bool add_str_or_null(cJSON *o, const char *name, const char *v)
{
    return v ? cJSON_AddStringToObject(o, name, v) != NULL : cJSON_AddNullToObject(o, name) != NULL;
}

static cJSON *sub_object(const struct subscription *sub)
{
    cJSON *o = cJSON_CreateObject();
    uint8_t opt = sub->options;
    bool ok = o && cJSON_AddStringToObject(o, "filter", sub->filter) &&
              cJSON_AddNumberToObject(o, "qos", opt & MQTT_SUBOPT_QOS_MASK) &&
              cJSON_AddBoolToObject(o, "no_local", opt & MQTT_SUBOPT_NO_LOCAL) &&
              cJSON_AddBoolToObject(o, "retain_as_published", opt & MQTT_SUBOPT_RAP) &&
              cJSON_AddNumberToObject(o, "retain_handling",
                                      (opt & MQTT_SUBOPT_RH_MASK) >> MQTT_SUBOPT_RH_SHIFT);
    if (ok && sub->sub_id)
        ok = cJSON_AddNumberToObject(o, "subscription_id", sub->sub_id) != NULL;
    if (ok)
        return o;
    cJSON_Delete(o);
    return NULL;
}

static bool add_subs(cJSON *o, const struct session *s)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "subscriptions");
    for (uint32_t i = 0; arr && i < s->n_subs; i++) {
        cJSON *sub = sub_object(&s->subs[i]);
        if (!sub || !cJSON_AddItemToArray(arr, sub)) {
            cJSON_Delete(sub);
            return false;
        }
    }
    return arr != NULL;
}

static bool add_will(cJSON *o, const struct session *s)
{
    if (!s->will)
        return cJSON_AddNullToObject(o, "will") != NULL;
    cJSON *wl = cJSON_AddObjectToObject(o, "will");
    return wl && cJSON_AddStringToObject(wl, "topic", s->will->topic) &&
           cJSON_AddNumberToObject(wl, "qos", s->will->qos) &&
           cJSON_AddBoolToObject(wl, "retain", s->will->retain) &&
           cJSON_AddNumberToObject(wl, "payload_len", s->will->payload_len) &&
           cJSON_AddNumberToObject(wl, "delay_s", s->will_delay_s);
}

/* The session part: expiry, counts, subscriptions, will. */
static bool add_session(cJSON *o, const struct session *s)
{
    cJSON *so = cJSON_AddObjectToObject(o, "session");
    bool ok = so != NULL;
    if (ok && s->expiry_s == UINT32_MAX)
        ok = cJSON_AddNullToObject(so, "expiry_interval_s") != NULL; /* never expires */
    else if (ok)
        ok = cJSON_AddNumberToObject(so, "expiry_interval_s", s->expiry_s) != NULL;
    return ok && cJSON_AddBoolToObject(so, "persistent", atomic_load(&s->persisted)) &&
           cJSON_AddNumberToObject(so, "queued", s->q_len) &&
           cJSON_AddNumberToObject(so, "queued_bytes", (double)s->q_bytes) &&
           cJSON_AddNumberToObject(so, "inflight", s->n_inflight) &&
           cJSON_AddNumberToObject(so, "inbound_qos2", s->n_qos2_in) && add_subs(so, s) &&
           add_will(so, s);
}

/* The connection part: address, keep alive; null values when offline. */
static bool add_conn(cJSON *o, const struct session *s)
{
    const struct conn *c = s->conn;
    if (!c)
        return cJSON_AddNullToObject(o, "peer_address") && cJSON_AddNullToObject(o, "keep_alive_s");
    return cJSON_AddStringToObject(o, "peer_address", c->peer) &&
           cJSON_AddNumberToObject(o, "keep_alive_s", c->keepalive_s);
}

/* Only on s's owner. */
static cJSON *client_detail(const struct session *s)
{
    uint8_t v = atomic_load_explicit(&s->version, memory_order_relaxed);
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "client_id", s->client_id) &&
        cJSON_AddBoolToObject(o, "connected", s->conn != NULL) &&
        cJSON_AddNumberToObject(o, "protocol_version", v) &&
        cJSON_AddStringToObject(o, "protocol", version_name(v)) &&
        add_str_or_null(o, "username", s->username) && add_conn(o, s) && add_session(o, s))
        return o;
    cJSON_Delete(o);
    return NULL;
}

static void answer(struct http_response *resp, bool gone, cJSON *json)
{
    if (gone)
        http_response_error(resp, 404, "no such client");
    else
        http_api_reply(resp, 200, json); /* NULL: out of memory, 500 */
}

void http_api_client_show(struct http_api_ctx *ctx, const struct http_request *req,
                          struct http_response *resp, struct session *s)
{
    struct worker *w = ctx->w;
    if (session_owner(s) == w) {
        /* Ours: nobody else can change it while this runs. */
        answer(resp, s->ended, s->ended ? NULL : client_detail(s));
        session_unref(s);
        return;
    }
    struct http_api_query *q = mem_calloc(1, sizeof *q);
    uint64_t ticket = q ? ws_listener_defer(w, req, resp) : 0;
    if (!ticket) {
        mem_free(q);
        session_unref(s);
        resp->err = TERN_ENOMEM;
        return;
    }
    q->home = w;
    q->ticket = ticket;
    struct work_item it = {.kind = WORK_INSPECT, .s = s, .query = q}; /* takes both */
    worker_post(w, session_owner(s), &it);
}

void http_api_inspect(struct worker *w, struct work_item *it)
{
    struct session *s = it->s;
    struct http_api_query *q = it->query;
    if (session_owner(s) != w && !s->ended) {
        worker_post(w, session_owner(s), it); /* it moved on: follow it */
        return;
    }
    q->gone = s->ended;
    if (!q->gone)
        q->json = client_detail(s);
    session_unref(s);
    struct work_item back = {.kind = WORK_INSPECT_DONE, .query = q};
    worker_post(w, q->home, &back);
}

void http_api_query_lost(struct http_api_query *q)
{
    if (!q)
        return;
    struct worker *home = q->home;
    cJSON_Delete(q->json);
    q->json = NULL; /* answered as out of memory */
    q->gone = false;
    pthread_mutex_lock(&home->inbox_lock);
    list_insert_tail(&home->lost_queries, &q->lost);
    pthread_mutex_unlock(&home->inbox_lock);
    loop_wake(home->loop); /* also when home is this worker: answered after this handler */
}

void http_api_answer_lost(struct worker *w, struct list_node *lost)
{
    struct list_node *it, *tmp;
    LIST_FOREACH (it, tmp, lost) {
        list_remove(it);
        struct work_item done = {.kind = WORK_INSPECT_DONE,
                                 .query = LIST_ENTRY(it, struct http_api_query, lost)};
        http_api_inspect_done(w, &done);
    }
}

void http_api_lost_free(struct list_node *lost)
{
    struct list_node *it, *tmp;
    LIST_FOREACH (it, tmp, lost) {
        list_remove(it);
        http_api_query_free(LIST_ENTRY(it, struct http_api_query, lost));
    }
}

void http_api_inspect_done(struct worker *w, struct work_item *it)
{
    struct http_api_query *q = it->query;
    struct http_response *resp = ws_listener_deferred(w, q->ticket);
    if (resp) { /* else the connection closed meanwhile */
        answer(resp, q->gone, q->json);
        q->json = NULL; /* answer freed it */
        ws_listener_resume(w, q->ticket);
    }
    http_api_query_free(q);
}
