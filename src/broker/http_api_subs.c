/* GET /api/v1/subscriptions. The rows come from a walk of the shared subscription tree (RCU
 * readers, so the walk neither locks nor races the workers that subscribe and unsubscribe); each
 * row holds a session reference while the page is built. Sessions' own subscription arrays are
 * never read here: only their owner worker may. Pages are sorted by client id, then filter. */
#include "http_api_subs.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "broker.h"
#include "bytes.h"
#include "codec.h"
#include "http_api.h"
#include "http_request.h"
#include "http_response.h"
#include "mem.h"
#include "session.h"
#include "topic_tree.h"
#include "worker.h"

#define ID_MAX     65536 /* client ids and filters are at most 65535 bytes */
#define SHARE_PFX  "$share/"
#define SHARE_PLEN (sizeof SHARE_PFX - 1)

struct sub_row {
    struct session *s; /* a reference */
    char *filter;      /* as subscribed: "$share/{group}/{filter}" for a shared one */
    size_t group_len;  /* 0 when not shared */
    uint8_t options;
    uint32_t sub_id;
};

struct sub_rows {
    struct sub_row *v;
    size_t n, cap;
    const char *client_id, *match; /* filters; NULL = all */
    bool oom;
};

/* The filter as the client subscribed it; NULL when out of memory. */
static char *as_subscribed(struct tern_bytes filter, struct tern_bytes group)
{
    size_t n = group.len ? SHARE_PLEN + group.len + 1 : 0;
    char *f = mem_alloc(n + filter.len + 1);
    if (!f)
        return NULL;
    if (group.len) {
        memcpy(f, SHARE_PFX, SHARE_PLEN);
        memcpy(f + SHARE_PLEN, group.ptr, group.len);
        f[n - 1] = '/';
    }
    memcpy(f + n, filter.ptr, filter.len);
    f[n + filter.len] = '\0';
    return f;
}

/* Runs inside the tree's read-side section: only copies, no call back into the tree. */
static void collect(void *subscriber, struct tern_bytes filter, struct tern_bytes group,
                    uint8_t options, uint32_t sub_id, void *arg)
{
    struct sub_rows *rows = arg;
    struct session *s = subscriber;
    if (rows->oom || (rows->client_id && strcmp(s->client_id, rows->client_id) != 0))
        return;
    if (rows->n == rows->cap) {
        size_t ncap = rows->cap ? rows->cap * 2 : 64;
        struct sub_row *v = mem_realloc(rows->v, ncap * sizeof *v);
        if (!v) {
            rows->oom = true;
            return;
        }
        rows->v = v;
        rows->cap = ncap;
    }
    char *f = as_subscribed(filter, group);
    if (!f || (rows->match && !strstr(f, rows->match))) {
        rows->oom = f == NULL;
        mem_free(f);
        return;
    }
    /* Subscribers stay alive while they are in the tree: the reference is safe to take. */
    rows->v[rows->n++] = (struct sub_row){session_ref(s), f, group.len, options, sub_id};
}

static void rows_free(struct sub_rows *rows)
{
    for (size_t i = 0; i < rows->n; i++) {
        session_unref(rows->v[i].s);
        mem_free(rows->v[i].filter);
    }
    mem_free(rows->v);
}

static int by_client_filter(const void *a, const void *b)
{
    const struct sub_row *x = a, *y = b;
    int c = strcmp(x->s->client_id, y->s->client_id);
    return c ? c : strcmp(x->filter, y->filter);
}

static cJSON *row_object(const struct sub_row *r)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "client_id", r->s->client_id) &&
              cJSON_AddStringToObject(o, "filter", r->filter) &&
              cJSON_AddNumberToObject(o, "qos", r->options & MQTT_SUBOPT_QOS_MASK) &&
              cJSON_AddBoolToObject(o, "no_local", r->options & MQTT_SUBOPT_NO_LOCAL) &&
              cJSON_AddBoolToObject(o, "retain_as_published", r->options & MQTT_SUBOPT_RAP) &&
              cJSON_AddNumberToObject(o, "retain_handling",
                                      (r->options & MQTT_SUBOPT_RH_MASK) >> MQTT_SUBOPT_RH_SHIFT);
    if (ok && r->sub_id)
        ok = cJSON_AddNumberToObject(o, "subscription_id", r->sub_id) != NULL;
    if (ok && r->group_len) {
        char *g = mem_strndup(r->filter + SHARE_PLEN, r->group_len);
        ok = g && cJSON_AddStringToObject(o, "shared_group", g);
        mem_free(g);
    } else if (ok) {
        ok = cJSON_AddNullToObject(o, "shared_group") != NULL;
    }
    if (ok)
        return o;
    cJSON_Delete(o);
    return NULL;
}

/* Reads an optional text parameter into out (NULL when absent); false on a bad one. */
static bool query_text(const struct http_request *req, const char *key, char *buf, size_t cap,
                       const char **out)
{
    long n = http_request_query(req, key, buf, cap);
    *out = n >= 0 ? buf : NULL;
    return n >= 0 || n == TERN_ENOTFOUND;
}

static cJSON *page_json(const struct http_api_page *pg, const struct sub_rows *rows)
{
    cJSON *o = http_api_page_object(pg, rows->n);
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "subscriptions") : NULL;
    for (size_t i = pg->offset; arr && i < rows->n && i - pg->offset < pg->limit; i++) {
        cJSON *r = row_object(&rows->v[i]);
        if (!r || !cJSON_AddItemToArray(arr, r)) {
            cJSON_Delete(r);
            arr = NULL;
        }
    }
    if (arr)
        return o;
    cJSON_Delete(o);
    return NULL;
}

void http_api_subs_get(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct http_api_ctx *ctx = arg;
    if (!http_api_authorize(ctx, req, resp))
        return;
    struct http_api_page pg;
    if (!http_api_page_get(req, resp, &pg))
        return;
    struct sub_rows rows = {0};
    char *id = mem_alloc(ID_MAX), *match = mem_alloc(ID_MAX);
    if (!id || !match) {
        resp->err = TERN_ENOMEM;
        goto out;
    }
    if (!query_text(req, "client_id", id, ID_MAX, &rows.client_id) ||
        !query_text(req, "filter", match, ID_MAX, &rows.match)) {
        http_response_error(resp, 400, "bad client_id or filter parameter");
        goto out;
    }
    if (topic_tree_walk(ctx->w->b->tree, collect, &rows) != 0 || rows.oom) {
        resp->err = TERN_ENOMEM;
        goto out;
    }
    if (rows.n > 1)
        qsort(rows.v, rows.n, sizeof *rows.v, by_client_filter);
    http_api_reply(resp, 200, page_json(&pg, &rows));
out:
    rows_free(&rows);
    mem_free(id);
    mem_free(match);
}
