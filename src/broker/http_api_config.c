/* GET /api/v1/config: the configuration in force (the one the last reload installed), walked
 * through src/config's option table (config_table_at): every option stored in a field of
 * struct config or of a listener, by its configuration-file name. Values that are secrets
 * (tokens, passwords, keys' pass phrases, pre-shared keys) are replaced by "<redacted>" when
 * set. Options kept by their own handlers (log_dest, log_type, auth_method, the listener line
 * itself) are not in the table's fields and are not listed, except the listener's address,
 * port and protocol. Read-only: the broker never changes a config after loading it, and old
 * ones stay allocated after a reload, so reading b->cfg from a worker needs no lock. */
#include "http_api_config.h"

#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "broker.h"
#include "config.h"
#include "config_table.h"
#include "http_api.h"
#include "http_request.h"
#include "http_response.h"
#include "worker.h"

#define REDACTED "<redacted>"

/* Whether the option's value is a secret: its name says token, password, secret, pass phrase
 * or pre-shared key, and it is not the name of a file or a hint. */
static bool is_secret(const char *name)
{
    static const char *const words[] = {"token", "password", "secret", "kpass", "psk"};
    size_t n = strlen(name);
    if ((n > 5 && strcmp(name + n - 5, "_file") == 0) ||
        (n > 5 && strcmp(name + n - 5, "_hint") == 0))
        return false;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(name, words[i]))
            return true;
    return false;
}

/* The name of choice number v of "a|b|c" into out; false when there is none. */
static bool choice_name(const char *choices, int64_t v, char *out, size_t cap)
{
    const char *p = choices;
    for (int64_t i = 0; p && i < v; i++) {
        p = strchr(p, '|');
        p = p ? p + 1 : NULL;
    }
    if (!p || v < 0)
        return false;
    size_t len = strcspn(p, "|");
    if (len + 1 > cap)
        return false;
    memcpy(out, p, len);
    out[len] = '\0';
    return true;
}

static int64_t read_int(const void *at, enum config_field t)
{
    switch (t) {
    case FT_INT:
        return *(const int *)at;
    case FT_UINT:
        return *(const unsigned *)at;
    case FT_U8:
        return *(const uint8_t *)at;
    case FT_U16:
        return *(const uint16_t *)at;
    case FT_U32:
        return *(const uint32_t *)at;
    case FT_U64:
        return (int64_t) * (const uint64_t *)at;
    case FT_I64:
        return *(const int64_t *)at;
    default:
        return 0;
    }
}

/* Adds the field of option o at base + off, of type t, to obj under o's name. */
static bool add_field(cJSON *obj, const struct config_option *o, const char *base, size_t off,
                      enum config_field t)
{
    const void *at = base + off;
    if (t == FT_STR) {
        const char *s = *(const char *const *)at;
        if (!s)
            return cJSON_AddNullToObject(obj, o->name) != NULL;
        return cJSON_AddStringToObject(obj, o->name, is_secret(o->name) ? REDACTED : s) != NULL;
    }
    if (t == FT_BOOL)
        return cJSON_AddBoolToObject(obj, o->name, *(const bool *)at) != NULL;
    int64_t v = read_int(at, t);
    char name[64];
    if (o->choices && choice_name(o->choices, v, name, sizeof name))
        return cJSON_AddStringToObject(obj, o->name, name) != NULL;
    if (is_secret(o->name))
        return cJSON_AddStringToObject(obj, o->name, REDACTED) != NULL;
    return cJSON_AddNumberToObject(obj, o->name, (double)v) != NULL;
}

/* Whether an earlier option of the table stores into the same field (an alias). */
static bool seen_before(size_t i, bool listener)
{
    const struct config_option *o = config_table_at(i);
    for (size_t k = 0; k < i; k++) {
        const struct config_option *p = config_table_at(k);
        if (listener ? (p->ltype != FT_NONE && p->loff == o->loff)
                     : (p->type != FT_NONE && p->off == o->off))
            return true;
    }
    return false;
}

/* Every table option with a field in the object at base (struct config or a listener). */
static bool add_options(cJSON *obj, const char *base, bool listener)
{
    const struct config_option *o;
    for (size_t i = 0; (o = config_table_at(i)) != NULL; i++) {
        enum config_field t = listener ? o->ltype : o->type;
        if (t == FT_NONE || (o->flags & OF_PREFIX) || seen_before(i, listener))
            continue;
        if (!add_field(obj, o, base, listener ? o->loff : o->off, t))
            return false;
    }
    return true;
}

static cJSON *listener_json(const struct listener_conf *lc)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o &&
              cJSON_AddStringToObject(
                  o, "protocol", lc->protocol == LISTENER_WEBSOCKETS ? "websockets" : "mqtt") &&
              cJSON_AddNumberToObject(o, "port", lc->port) &&
              (lc->bind_address ? cJSON_AddStringToObject(o, "bind_address", lc->bind_address)
                                : cJSON_AddNullToObject(o, "bind_address")) &&
              (lc->unix_path ? cJSON_AddStringToObject(o, "unix_path", lc->unix_path)
                             : cJSON_AddNullToObject(o, "unix_path")) &&
              add_options(o, (const char *)lc, true);
    if (ok)
        return o;
    cJSON_Delete(o);
    return NULL;
}

static cJSON *config_json(const struct config *cfg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *g = o ? cJSON_AddObjectToObject(o, "global") : NULL;
    bool ok = g && add_options(g, (const char *)cfg, false) &&
              cJSON_AddStringToObject(g, "response_information", cfg->response_information);
    cJSON *arr = ok ? cJSON_AddArrayToObject(o, "listeners") : NULL;
    for (const struct listener_conf *lc = cfg->listeners; arr && lc; lc = lc->next) {
        cJSON *l = listener_json(lc);
        if (!l || !cJSON_AddItemToArray(arr, l)) {
            cJSON_Delete(l);
            arr = NULL;
        }
    }
    if (arr)
        return o;
    cJSON_Delete(o);
    return NULL;
}

void http_api_config_get(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct http_api_ctx *ctx = arg;
    if (!http_api_authorize(ctx, req, resp))
        return;
    http_api_reply(resp, 200, config_json(ctx->w->b->cfg));
}
