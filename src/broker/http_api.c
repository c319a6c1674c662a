/* REST API (/api/v1) and /metrics handlers. They run on the worker whose loop owns the HTTP
 * connection and mostly answer synchronously: reads go through the registry and retained-store
 * locks and the atomic counters; actions are a publish as this worker or a work item posted to
 * the session's owner. One client's session (http_api_client.c) is read by its owner, and the
 * answer deferred until it comes back. JSON through cJSON. No sessions' mutable state is read
 * across threads beyond a connected hint. */
#include "http_api.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "broker.h"
#include "broker_metrics.h"
#include "bytes.h"
#include "clock.h"
#include "codec.h"
#include "config.h"
#include "deliver.h"
#include "http_api_client.h"
#include "http_api_config.h"
#include "http_api_doc.h"
#include "http_api_reload.h"
#include "http_api_subs.h"
#include "http_auth.h"
#include "http_request.h"
#include "http_response.h"
#include "http_router.h"
#include "loop.h"
#include "mem.h"
#include "metrics_buf.h"
#include "msg.h"
#include "passwd_file.h"
#include "persist.h"
#include "retain.h"
#include "security.h"
#include "session.h"
#include "worker.h"
#include "ws_listener.h"

#define API             "/api/v1"
#define PAGE_DEFAULT    100
#define PAGE_MAX        1000
#define USER_MAX        256
#define PASS_MAX        1024
#define JSON_CT         "application/json"
#define CLIENTS_PREFIX  API "/clients/"
#define RETAINED_PREFIX API "/retained/"

void http_api_reply(struct http_response *resp, int status, struct cJSON *json)
{
    if (json == NULL)
        resp->err = TERN_ENOMEM;
    else
        http_response_json(resp, status, json);
    cJSON_Delete(json);
}

/* Whether user is one of the space-separated names in list. */
static bool in_list(const char *list, const char *user)
{
    size_t n = strlen(user);
    for (const char *p = list ? list : ""; *p;) {
        p += strspn(p, " \t,");
        size_t k = strcspn(p, " \t,");
        if (k == n && k > 0 && memcmp(p, user, n) == 0)
            return true;
        p += k;
    }
    return false;
}

static bool unauthorized(struct http_response *resp, int status, const char *why)
{
    http_response_reset(resp);
    http_response_error(resp, status, why);
    if (status == 401)
        http_response_header(resp, "WWW-Authenticate", "Basic realm=\"tern\", charset=\"UTF-8\"");
    return false;
}

bool http_api_authorize(const struct http_api_ctx *ctx, const struct http_request *req,
                        struct http_response *resp)
{
    const struct config *cfg = ctx->w->b->cfg;
    const char *h = http_request_header(req, "Authorization");
    struct tern_bytes token;
    if (http_auth_bearer_parse(h, &token) == 0) {
        if (cfg->http_api_token && http_auth_equal(token, bytes_str(cfg->http_api_token)))
            return true;
        return unauthorized(resp, 401, "invalid bearer token");
    }
    char user[USER_MAX], pass[PASS_MAX];
    int rc = http_auth_basic_parse(h, user, sizeof user, pass, sizeof pass);
    if (rc == TERN_ENOTFOUND)
        return unauthorized(resp, 401, "authentication required");
    const struct listener_auth *a = security_auth(ctx->lr);
    bool ok = rc == 0 && a && a->pw && passwd_file_check(a->pw, user, pass, strlen(pass));
    OPENSSL_cleanse(pass, sizeof pass);
    if (!ok)
        return unauthorized(resp, 401, "invalid user name or password");
    if (!in_list(cfg->http_admin_users, user))
        return unauthorized(resp, 403, "user has no admin role");
    return true;
}

/* Parses an optional unsigned query parameter into *out (unchanged when absent). */
static bool query_uint(const struct http_request *req, const char *key, size_t max, size_t *out)
{
    char v[32];
    long n = http_request_query(req, key, v, sizeof v);
    if (n == TERN_ENOTFOUND)
        return true;
    if (n <= 0 || strspn(v, "0123456789") != (size_t)n)
        return false;
    unsigned long long x = strtoull(v, NULL, 10);
    if (x > max)
        return false;
    *out = (size_t)x;
    return true;
}

bool http_api_page_get(const struct http_request *req, struct http_response *resp,
                       struct http_api_page *p)
{
    p->offset = 0;
    p->limit = PAGE_DEFAULT;
    if (query_uint(req, "offset", SIZE_MAX / 2, &p->offset) &&
        query_uint(req, "limit", PAGE_MAX, &p->limit))
        return true;
    http_response_error(resp, 400, "offset and limit must be numbers (limit at most 1000)");
    return false;
}

struct cJSON *http_api_page_object(const struct http_api_page *p, size_t total)
{
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddNumberToObject(o, "total", (double)total) ||
              !cJSON_AddNumberToObject(o, "offset", (double)p->offset) ||
              !cJSON_AddNumberToObject(o, "limit", (double)p->limit))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- GET /api/v1/broker ---- */

static bool add_u64(cJSON *o, const char *name, uint64_t v)
{
    return cJSON_AddNumberToObject(o, name, (double)v) != NULL;
}

static cJSON *stats_object(struct broker *b)
{
    struct broker_totals t;
    broker_metrics_totals(b, &t);
    struct broker_stats *st = &b->stats;
    cJSON *o = cJSON_CreateObject();
    if (o && add_u64(o, "clients_connected", atomic_load(&st->clients_connected)) &&
        add_u64(o, "clients_maximum", atomic_load(&st->clients_maximum)) &&
        add_u64(o, "sessions", registry_count(b)) &&
        add_u64(o, "messages_received", t.packets_received) &&
        add_u64(o, "messages_sent", t.publish_sent) &&
        add_u64(o, "bytes_received", t.bytes_received) && add_u64(o, "bytes_sent", t.bytes_sent) &&
        add_u64(o, "publish_received", t.publish_received) &&
        add_u64(o, "publish_sent", t.publish_sent) && add_u64(o, "publish_dropped", t.dropped) &&
        cJSON_AddNumberToObject(o, "messages_queued", (double)(int64_t)t.queued) &&
        cJSON_AddNumberToObject(o, "messages_inflight", (double)(int64_t)t.inflight) &&
        add_u64(o, "subscriptions", atomic_load(&st->subscriptions)) &&
        add_u64(o, "retained_messages", retain_count(b->retain)) &&
        add_u64(o, "connections_refused", atomic_load(&st->connections_refused)))
        return o;
    cJSON_Delete(o);
    return NULL;
}

static void h_broker(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct http_api_ctx *ctx = arg;
    if (!http_api_authorize(ctx, req, resp))
        return;
    struct broker *b = ctx->w->b;
    cJSON *o = cJSON_CreateObject();
    cJSON *stats = stats_object(b);
    if (!o || !stats || !cJSON_AddStringToObject(o, "version", TERN_VERSION) ||
        !add_u64(o, "uptime_s", (clock_mono_ms() - b->start_mono_ms) / 1000u) ||
        !cJSON_AddNumberToObject(o, "start_time", (double)b->start_wall_s) ||
        !add_u64(o, "workers", b->n_workers) || !cJSON_AddItemToObject(o, "stats", stats)) {
        cJSON_Delete(stats);
        cJSON_Delete(o);
        o = NULL;
    }
    http_api_reply(resp, 200, o);
}

/* ---- /api/v1/clients ---- */

/* Written by the session's owner only; another thread reads it as a hint (a relaxed load of
 * an aligned word). */
static bool connected_hint(struct session *s)
{
    return atomic_load_explicit(&s->connected, memory_order_relaxed);
}

static const char *version_name(uint8_t v)
{
    return v == 3 ? "3.1" : v == 4 ? "3.1.1" : v == 5 ? "5.0" : "unknown";
}

static cJSON *client_object(struct session *s)
{
    uint8_t v = atomic_load_explicit(&s->version, memory_order_relaxed);
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "client_id", s->client_id) &&
        cJSON_AddBoolToObject(o, "connected", connected_hint(s)) &&
        cJSON_AddNumberToObject(o, "protocol_version", v) &&
        cJSON_AddStringToObject(o, "protocol", version_name(v)))
        return o;
    cJSON_Delete(o);
    return NULL;
}

static int by_client_id(const void *a, const void *b)
{
    const struct session *x = *(struct session *const *)a, *y = *(struct session *const *)b;
    return strcmp(x->client_id, y->client_id);
}

/* The clients list's filters (query parameters). */
struct client_filter {
    const char *match;    /* client id contains it; "" = any */
    int connected;        /* 1, 0, or -1 = any */
    const char *username; /* of the last connection, exactly; NULL = any */
};

/* Under reg_lock, which also guards s->username against its owner's swap (lifecycle_attach). */
static bool filter_keeps(const struct client_filter *f, struct session *s)
{
    if (atomic_load(&s->ended) || (*f->match && !strstr(s->client_id, f->match)))
        return false;
    if (f->connected >= 0 && connected_hint(s) != (f->connected == 1))
        return false;
    return !f->username || (s->username && strcmp(s->username, f->username) == 0);
}

/* References to the registered sessions that f keeps, sorted by id. */
static struct session **snapshot(struct broker *b, const struct client_filter *f, size_t *n)
{
    pthread_mutex_lock(&b->reg_lock);
    struct session **v = mem_alloc((b->reg_len + 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; v && i < b->reg_cap; i++) {
        struct session *s = b->reg[i];
        if (s && filter_keeps(f, s))
            v[k++] = session_ref(s);
    }
    pthread_mutex_unlock(&b->reg_lock);
    if (v)
        qsort(v, k, sizeof *v, by_client_id);
    *n = k;
    return v;
}

static void release(struct session **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        session_unref(v[i]);
    mem_free(v);
}

static void clients_list(struct http_api_ctx *ctx, const struct http_request *req,
                         struct http_response *resp)
{
    struct http_api_page pg;
    char match[256] = "", user[USER_MAX] = "", conn[8] = "";
    if (!http_api_page_get(req, resp, &pg))
        return;
    long ml = http_request_query(req, "match", match, sizeof match);
    long ul = http_request_query(req, "username", user, sizeof user);
    long cl = http_request_query(req, "connected", conn, sizeof conn);
    struct client_filter f = {match, -1, ul >= 0 ? user : NULL};
    if (cl >= 0)
        f.connected = !strcmp(conn, "true") ? 1 : !strcmp(conn, "false") ? 0 : -2;
    if ((ml < 0 && ml != TERN_ENOTFOUND) || (ul < 0 && ul != TERN_ENOTFOUND) ||
        (cl < 0 && cl != TERN_ENOTFOUND) || f.connected == -2) {
        http_response_error(resp, 400,
                            "bad match, username or connected parameter (connected: true|false)");
        return;
    }
    size_t n = 0;
    struct session **v = snapshot(ctx->w->b, &f, &n);
    cJSON *o = v ? http_api_page_object(&pg, n) : NULL;
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "clients") : NULL;
    for (size_t i = pg.offset; arr && i < n && i - pg.offset < pg.limit; i++) {
        cJSON *c = client_object(v[i]);
        if (!c || !cJSON_AddItemToArray(arr, c)) {
            cJSON_Delete(c);
            arr = NULL;
        }
    }
    if (!arr) {
        cJSON_Delete(o);
        o = NULL;
    }
    release(v, n);
    http_api_reply(resp, 200, o);
}

static void h_clients(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct http_api_ctx *ctx = arg;
    if (!http_api_authorize(ctx, req, resp))
        return;
    if (strcmp(req->path, API "/clients") == 0 || strcmp(req->path, CLIENTS_PREFIX) == 0) {
        clients_list(ctx, req, resp);
        return;
    }
    const char *id = req->path + strlen(CLIENTS_PREFIX);
    struct session *s = registry_get(ctx->w->b, id, strlen(id));
    if (!s || atomic_load(&s->ended)) {
        session_unref(s);
        http_response_error(resp, 404, "no such client");
        return;
    }
    http_api_client_show(ctx, req, resp, s); /* takes the reference */
}

/* DELETE /api/v1/clients/{id}: the owner closes the connection with 0x98. */
static void h_kick(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct http_api_ctx *ctx = arg;
    if (!http_api_authorize(ctx, req, resp))
        return;
    if (strncmp(req->path, CLIENTS_PREFIX, strlen(CLIENTS_PREFIX)) != 0 ||
        !req->path[strlen(CLIENTS_PREFIX)]) {
        http_response_error(resp, 400, "client id missing: DELETE /api/v1/clients/{id}");
        return;
    }
    const char *id = req->path + strlen(CLIENTS_PREFIX);
    struct session *s = registry_get(ctx->w->b, id, strlen(id));
    if (!s || atomic_load(&s->ended) || !connected_hint(s)) {
        session_unref(s);
        http_response_error(resp, 404, "no such connected client");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "client_id", id) ||
              !cJSON_AddStringToObject(o, "status", "disconnecting"))) {
        cJSON_Delete(o);
        o = NULL;
    }
    struct work_item it = {.kind = WORK_DISCONNECT, .s = s}; /* takes the reference */
    worker_post(ctx->w, session_owner(s), &it);
    http_api_reply(resp, 202, o);
}

/* ---- /api/v1/retained ---- */

struct msg_vec {
    struct msg **v;
    size_t n, cap;
    bool oom;
};

static void collect_msg(struct msg *m, void *arg)
{
    struct msg_vec *mv = arg;
    if (mv->n == mv->cap) {
        size_t ncap = mv->cap ? mv->cap * 2 : 64;
        struct msg **p = mem_realloc(mv->v, ncap * sizeof *p);
        if (!p) {
            mv->oom = true;
            return;
        }
        mv->v = p;
        mv->cap = ncap;
    }
    mv->v[mv->n++] = msg_ref(m);
}

static void msg_vec_free(struct msg_vec *mv)
{
    for (size_t i = 0; i < mv->n; i++)
        msg_unref(mv->v[i]);
    mem_free(mv->v);
}

static int by_topic(const void *a, const void *b)
{
    const struct msg *x = *(struct msg *const *)a, *y = *(struct msg *const *)b;
    return strcmp(x->topic, y->topic);
}

/* The payload as a JSON string when it is UTF-8 text, else base64 in payload_base64. */
static bool add_payload(cJSON *o, const struct msg *m)
{
    if (codec_utf8_valid(m->payload, m->payload_len)) {
        char *s = mem_strndup((const char *)m->payload, m->payload_len);
        bool ok = s && cJSON_AddStringToObject(o, "payload", s);
        mem_free(s);
        return ok;
    }
    char *s = mem_alloc(4 * ((m->payload_len + 2) / 3) + 1);
    if (!s)
        return false;
    EVP_EncodeBlock((unsigned char *)s, m->payload, (int)m->payload_len);
    bool ok = cJSON_AddStringToObject(o, "payload_base64", s) != NULL;
    mem_free(s);
    return ok;
}

static cJSON *retained_object(const struct msg *m)
{
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "topic", m->topic) &&
        cJSON_AddNumberToObject(o, "qos", m->qos) &&
        cJSON_AddNumberToObject(o, "payload_len", m->payload_len) && add_payload(o, m))
        return o;
    cJSON_Delete(o);
    return NULL;
}

/* Retained messages matching filter at the worker's loop time, sorted by topic. */
static bool retained_collect(struct http_api_ctx *ctx, const char *filter, struct msg_vec *mv)
{
    memset(mv, 0, sizeof *mv);
    retain_match(ctx->w->b->retain, bytes_str(filter), loop_now_ms(ctx->w->loop), collect_msg, mv);
    if (mv->n > 1)
        qsort(mv->v, mv->n, sizeof *mv->v, by_topic);
    return !mv->oom;
}

static void retained_list(struct http_api_ctx *ctx, const struct http_request *req,
                          struct http_response *resp)
{
    struct http_api_page pg;
    char filter[1024] = "#";
    if (!http_api_page_get(req, resp, &pg))
        return;
    long fl = http_request_query(req, "filter", filter, sizeof filter);
    if ((fl < 0 && fl != TERN_ENOTFOUND) || !codec_topic_filter_valid(bytes_str(filter)) ||
        strncmp(filter, "$share/", 7) == 0) {
        http_response_error(resp, 400, "filter must be a valid, non-shared topic filter");
        return;
    }
    struct msg_vec mv;
    bool ok = retained_collect(ctx, filter, &mv);
    cJSON *o = ok ? http_api_page_object(&pg, mv.n) : NULL;
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "retained") : NULL;
    for (size_t i = pg.offset; arr && i < mv.n && i - pg.offset < pg.limit; i++) {
        cJSON *r = retained_object(mv.v[i]);
        if (!r || !cJSON_AddItemToArray(arr, r)) {
            cJSON_Delete(r);
            arr = NULL;
        }
    }
    if (!arr) {
        cJSON_Delete(o);
        o = NULL;
    }
    msg_vec_free(&mv);
    http_api_reply(resp, 200, o);
}

/* The topic named by the path after /api/v1/retained/, or NULL (400 answered). */
static const char *path_topic(const struct http_request *req, struct http_response *resp)
{
    const char *t = req->path + strlen(RETAINED_PREFIX);
    if (strncmp(req->path, RETAINED_PREFIX, strlen(RETAINED_PREFIX)) != 0 ||
        !codec_topic_name_valid(bytes_str(t))) {
        http_response_error(resp, 400, "a valid topic name must follow /api/v1/retained/");
        return NULL;
    }
    return t;
}

static void h_retained(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct http_api_ctx *ctx = arg;
    if (!http_api_authorize(ctx, req, resp))
        return;
    if (strcmp(req->path, API "/retained") == 0 || strcmp(req->path, RETAINED_PREFIX) == 0) {
        retained_list(ctx, req, resp);
        return;
    }
    const char *topic = path_topic(req, resp);
    struct msg_vec mv;
    if (!topic)
        return;
    if (!retained_collect(ctx, topic, &mv))
        resp->err = TERN_ENOMEM;
    else if (mv.n == 0)
        http_response_error(resp, 404, "no retained message on this topic");
    else
        http_api_reply(resp, 200, retained_object(mv.v[0]));
    msg_vec_free(&mv);
}

/* DELETE /api/v1/retained/{topic}: an empty retained message replaces it [MQTT-3.3.1-10]; it
 * is not routed, so subscribers see nothing. */
static void h_retained_delete(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct http_api_ctx *ctx = arg;
    if (!http_api_authorize(ctx, req, resp))
        return;
    const char *topic = path_topic(req, resp);
    struct msg_vec mv;
    if (!topic)
        return;
    bool ok = retained_collect(ctx, topic, &mv);
    size_t found = mv.n;
    msg_vec_free(&mv);
    if (!ok) {
        resp->err = TERN_ENOMEM;
        return;
    }
    if (found == 0) {
        http_response_error(resp, 404, "no retained message on this topic");
        return;
    }
    struct msg_init in = {
        .topic = bytes_str(topic), .retain = true, .now_ms = loop_now_ms(ctx->w->loop)};
    struct msg *m = msg_new(&in);
    if (!m || retain_set(ctx->w->b->retain, m) != 0) {
        msg_unref(m);
        resp->err = TERN_ENOMEM;
        return;
    }
    persist_retain(ctx->w->b, m);
    msg_unref(m);
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "deleted", topic)) {
        cJSON_Delete(o);
        o = NULL;
    }
    http_api_reply(resp, 200, o);
}

/* ---- POST /api/v1/publish ---- */

/* Decodes the body's payload (text, or payload_base64) into *out (mem_alloc'ed). */
static int body_payload(const cJSON *body, uint8_t **out, size_t *len)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(body, "payload");
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(body, "payload_base64");
    *out = NULL;
    *len = 0;
    if (text && b64)
        return TERN_EINVAL;
    if (b64) {
        const char *s = cJSON_GetStringValue(b64);
        if (!s)
            return TERN_EINVAL;
        size_t n = strlen(s);
        *out = mem_alloc(n / 4 * 3 + 3);
        long k = *out ? http_auth_base64_decode(s, n, *out, n / 4 * 3 + 3) : TERN_ENOMEM;
        if (k < 0)
            return k == TERN_ENOMEM ? TERN_ENOMEM : TERN_EINVAL;
        *len = (size_t)k;
        return 0;
    }
    if (!text)
        return 0;
    const char *s = cJSON_GetStringValue(text);
    if (!s)
        return TERN_EINVAL;
    *len = strlen(s);
    *out = (uint8_t *)mem_strdup(s);
    return *out ? 0 : TERN_ENOMEM;
}

/* Validates the body's topic, qos and retain; NULL with *why set when invalid. */
static const char *body_fields(const cJSON *body, int *qos, bool *retain, const char **why)
{
    const char *topic = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "topic"));
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "qos");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(body, "retain");
    *qos = 0;
    *retain = false;
    if (!topic || !codec_topic_name_valid(bytes_str(topic)) || strlen(topic) > 65535) {
        *why = "topic must be a valid topic name (no wildcards)";
        return NULL;
    }
    if (topic[0] == '$') {
        *why = "topics starting with '$' are reserved for the broker";
        return NULL;
    }
    if (q && (!cJSON_IsNumber(q) || q->valuedouble != (double)q->valueint || q->valueint < 0 ||
              q->valueint > 2)) {
        *why = "qos must be 0, 1 or 2";
        return NULL;
    }
    if (r && !cJSON_IsBool(r)) {
        *why = "retain must be true or false";
        return NULL;
    }
    *qos = q ? q->valueint : 0;
    *retain = r && cJSON_IsTrue(r);
    return topic;
}

static void h_publish(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct http_api_ctx *ctx = arg;
    if (!http_api_authorize(ctx, req, resp))
        return;
    cJSON *body = cJSON_ParseWithLength((const char *)req->body, req->body_len);
    const char *why = "body must be a JSON object {topic, payload, qos, retain}";
    int qos = 0;
    bool retain = false;
    uint8_t *payload = NULL;
    size_t len = 0;
    const char *topic = cJSON_IsObject(body) ? body_fields(body, &qos, &retain, &why) : NULL;
    int rc = topic ? body_payload(body, &payload, &len) : TERN_EINVAL;
    if (rc == TERN_EINVAL && topic)
        why = "payload must be a string, or payload_base64 base64 (not both)";
    if (rc != 0) {
        if (rc == TERN_ENOMEM)
            resp->err = rc;
        else
            http_response_error(resp, 400, why);
        goto out;
    }
    struct msg_init in = {.topic = bytes_str(topic),
                          .payload = bytes_of(payload, len),
                          .qos = (uint8_t)qos,
                          .retain = retain,
                          .now_ms = loop_now_ms(ctx->w->loop)};
    struct msg *m = msg_new(&in);
    if (!m) {
        resp->err = TERN_ENOMEM;
        goto out;
    }
    ctx->w->pub_seq = 0;
    size_t routed = deliver_publish(ctx->w, m);
    uint64_t seq = ctx->w->pub_seq; /* what the store must hold of it (queued, retained) */
    msg_unref(m);
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "topic", topic) ||
              !cJSON_AddNumberToObject(o, "routed", (double)routed))) {
        cJSON_Delete(o);
        o = NULL;
    }
    http_api_reply(resp, 200, o);
    /* A QoS 1/2 publish is answered when an MQTT publisher's PUBACK/PUBREC would be (under
     * persistence_fsync always, or while the store is failing, once durable); the worker's
     * loop goes on meanwhile. */
    if (qos > 0 && seq && resp->err == 0)
        ws_listener_defer_durable(ctx->w, req, resp, seq);
out:
    mem_free(payload);
    cJSON_Delete(body);
}

/* ---- GET /api/v1/listeners, openapi.json, /metrics ---- */

static cJSON *listener_object(const struct listener_rt *lr, size_t index)
{
    const struct listener_conf *lc = lr->conf;
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddNumberToObject(o, "index", (double)index) &&
              cJSON_AddStringToObject(
                  o, "protocol", lc->protocol == LISTENER_WEBSOCKETS ? "websockets" : "mqtt") &&
              cJSON_AddBoolToObject(o, "tls", security_tls(lr) != NULL) &&
              cJSON_AddNumberToObject(o, "connections", atomic_load(&lr->connections)) &&
              cJSON_AddNumberToObject(o, "max_connections", lc->max_connections);
    if (ok && lc->unix_path)
        ok = cJSON_AddStringToObject(o, "unix_path", lc->unix_path) != NULL;
    else if (ok)
        ok = cJSON_AddStringToObject(o, "address", lc->bind_address ? lc->bind_address : "*") &&
             cJSON_AddNumberToObject(o, "port", lr->port);
    if (ok && lc->mount_point)
        ok = cJSON_AddStringToObject(o, "mount_point", lc->mount_point) != NULL;
    if (ok && lc->protocol == LISTENER_WEBSOCKETS)
        ok = cJSON_AddBoolToObject(o, "http_api", lc->http_api) &&
             cJSON_AddBoolToObject(o, "http_metrics", lc->http_metrics);
    if (ok)
        return o;
    cJSON_Delete(o);
    return NULL;
}

static void h_listeners(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct http_api_ctx *ctx = arg;
    if (!http_api_authorize(ctx, req, resp))
        return;
    struct broker *b = ctx->w->b;
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "listeners") : NULL;
    for (size_t i = 0; arr && i < b->n_listeners; i++) {
        cJSON *l = listener_object(&b->listeners[i], i);
        if (!l || !cJSON_AddItemToArray(arr, l)) {
            cJSON_Delete(l);
            arr = NULL;
        }
    }
    if (!arr) {
        cJSON_Delete(o);
        o = NULL;
    }
    http_api_reply(resp, 200, o);
}

static void h_openapi(const struct http_request *req, struct http_response *resp, void *arg)
{
    (void)req;
    (void)arg;
    if (http_response_header(resp, "Content-Type", JSON_CT) == 0)
        http_api_doc_append(resp);
}

static void h_metrics(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct http_api_ctx *ctx = arg;
    if (ctx->lr->conf->http_metrics_auth && !http_api_authorize(ctx, req, resp))
        return;
    struct metrics_buf m;
    metrics_buf_init(&m);
    if (broker_metrics_render(ctx->w->b, &m) == 0)
        http_response_set(resp, 200, METRICS_CONTENT_TYPE, m.out.data, m.out.len);
    else
        resp->err = m.err;
    metrics_buf_deinit(&m);
}

struct route {
    const char *method, *prefix;
    http_handler_fn fn;
};

static const struct route api_routes[] = {
    {"GET", API "/broker", h_broker},
    {"GET", API "/clients", h_clients},
    {"DELETE", API "/clients", h_kick},
    {"GET", API "/retained", h_retained},
    {"DELETE", API "/retained", h_retained_delete},
    {"POST", API "/publish", h_publish},
    {"GET", API "/listeners", h_listeners},
    {"GET", API "/subscriptions", http_api_subs_get},
    {"POST", API "/reload", http_api_reload_post},
    {"GET", API "/config", http_api_config_get},
    {"GET", API "/openapi.json", h_openapi},
};

int http_api_add_routes(struct http_router *r, struct http_api_ctx *ctx)
{
    const struct listener_conf *lc = ctx->lr->conf;
    int rc = 0;
    for (size_t i = 0; lc->http_api && rc == 0 && i < sizeof api_routes / sizeof api_routes[0]; i++)
        rc = http_router_add(r, api_routes[i].method, api_routes[i].prefix, api_routes[i].fn, ctx);
    if (rc == 0 && lc->http_metrics)
        rc = http_router_add(r, "GET", "/metrics", h_metrics, ctx);
    return rc;
}
