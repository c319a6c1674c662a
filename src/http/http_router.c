/* The router: a flat array of (method, prefix, handler) searched for the longest matching
 * prefix. Tens of routes are expected, so no trie. It does not authenticate: handlers (or a
 * wrapping handler) do. */
#include "http_router.h"

#include <stdio.h>
#include <string.h>

#include "http_request.h"
#include "http_response.h"
#include "mem.h"

struct route {
    char *method; /* NULL = any */
    char *prefix;
    size_t prefix_len;
    http_handler_fn fn;
    void *ctx;
};

struct http_router {
    struct route *routes;
    size_t n, cap;
};

struct http_router *http_router_new(void)
{
    return mem_calloc(1, sizeof(struct http_router));
}

void http_router_free(struct http_router *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++) {
        mem_free(r->routes[i].method);
        mem_free(r->routes[i].prefix);
    }
    mem_free(r->routes);
    mem_free(r);
}

int http_router_add(struct http_router *r, const char *method, const char *path_prefix,
                    http_handler_fn fn, void *ctx)
{
    if (path_prefix == NULL || path_prefix[0] != '/' || fn == NULL)
        return TERN_EINVAL;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct route *nr = mem_realloc(r->routes, cap * sizeof *nr);
        if (nr == NULL)
            return TERN_ENOMEM;
        r->routes = nr;
        r->cap = cap;
    }
    struct route *rt = &r->routes[r->n];
    memset(rt, 0, sizeof *rt);
    rt->prefix = mem_strdup(path_prefix);
    if (rt->prefix == NULL || (method && (rt->method = mem_strdup(method)) == NULL))
        goto fail;
    rt->prefix_len = strlen(path_prefix);
    rt->fn = fn;
    rt->ctx = ctx;
    r->n++;
    return 0;
fail:
    mem_free(rt->prefix);
    return TERN_ENOMEM;
}

static bool prefix_matches(const struct route *rt, const char *path)
{
    if (strncmp(path, rt->prefix, rt->prefix_len) != 0)
        return false;
    char next = path[rt->prefix_len];
    return rt->prefix[rt->prefix_len - 1] == '/' || next == '\0' || next == '/';
}

static bool method_matches(const struct route *rt, const char *method)
{
    if (rt->method == NULL || strcmp(rt->method, method) == 0)
        return true;
    return strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0;
}

/* Builds the Allow header value from the routes with the best prefix length. */
static void set_allow(const struct http_router *r, const char *path, size_t best,
                      struct http_response *resp)
{
    char allow[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct route *rt = &r->routes[i];
        if (rt->prefix_len != best || !prefix_matches(rt, path) || rt->method == NULL)
            continue;
        size_t ml = strlen(rt->method);
        if (strstr(allow, rt->method) != NULL || used + ml + 3 > sizeof allow)
            continue;
        used += (size_t)snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "",
                                 rt->method);
    }
    http_response_header(resp, "Allow", allow);
}

void http_router_dispatch(const struct http_router *r, const struct http_request *req,
                          struct http_response *resp)
{
    const struct route *hit = NULL;
    size_t best = 0;
    bool path_hit = false;
    for (size_t i = 0; i < r->n; i++) {
        const struct route *rt = &r->routes[i];
        if (!prefix_matches(rt, req->path) || rt->prefix_len < best)
            continue;
        if (rt->prefix_len > best) {
            best = rt->prefix_len;
            hit = NULL;
        }
        path_hit = true;
        if (hit == NULL && method_matches(rt, req->method))
            hit = rt;
    }
    if (hit != NULL) {
        hit->fn(req, resp, hit->ctx);
        return;
    }
    if (!path_hit) {
        http_response_error(resp, 404, "not found");
        return;
    }
    http_response_error(resp, 405, "method not allowed");
    set_allow(r, req->path, best, resp);
}
