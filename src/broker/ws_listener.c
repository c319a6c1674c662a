/* WebSocket listeners on the worker loops: each accepted socket (TLS-wrapped for wss) is an
 * http_conn driven by the worker's loop with an idle timer, answering the REST API, /metrics
 * and static files through a router built per worker and listener on first use. On a WebSocket
 * upgrade the socket leaves this module: conn_start runs MQTT over the WebSocket transport.
 * No thread of its own, no state outside the worker (w->ws). */
#include "ws_listener.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"
#include "conn.h"
#include "http_addr.h"
#include "http_api.h"
#include "http_conn.h"
#include "http_dir.h"
#include "http_request.h"
#include "http_response.h"
#include "http_router.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "persist.h"
#include "security.h"
#include "transport.h"
#include "transport_tls.h"
#include "worker.h"

#define MAX_TRUSTED  64
#define MAX_FILE_LEN ((size_t)16 * 1024 * 1024)
#define ADDR_LEN     64

/* What one websockets listener needs on one worker; read only by that worker. */
struct ws_site {
    bool ready, failed;
    struct http_api_ctx api; /* the worker and the listener, for the handlers */
    struct http_router *router;
    struct http_conn_opts opts;
    struct http_trust *trust;
    struct http_dir *dir;
};

struct ws_worker {
    struct ws_site *sites;  /* [b->n_listeners], indexed like b->listeners */
    struct list_node conns; /* struct ws_http not yet upgraded */
    uint64_t next_ticket;   /* last ticket handed out by ws_listener_defer */
    size_t n_durable;       /* connections with a wait_seq */
};

/* One HTTP connection before its upgrade. */
struct ws_http {
    struct worker *w;
    struct ws_site *site;
    struct http_conn *hc;
    int fd;
    uint64_t timer;
    uint64_t due;      /* when the timer fires (loop ms) */
    uint64_t ticket;   /* of the deferred response it waits for, 0 = none */
    uint64_t wait_seq; /* ws_listener_defer_durable: the store seq the answer waits for */
    struct list_node node;
};

/* Splits the space-separated proxy list into a trust set; logs and trusts nobody when an
 * entry is not an address or prefix. */
static void site_trust(struct ws_site *s, struct broker *b, const char *list)
{
    char copy[4096];
    const char *words[MAX_TRUSTED];
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", list);
    for (char *save = NULL, *p = strtok_r(copy, " \t,", &save); p && n < MAX_TRUSTED;
         p = strtok_r(NULL, " \t,", &save))
        words[n++] = p;
    if (http_addr_trust_new(words, n, &s->trust) != 0)
        log_msg(b->log, TLOG_ERR,
                "Error: http_trusted_proxy '%s' is not a list of addresses or "
                "prefixes; X-Forwarded-For is ignored",
                list);
}

static void site_deinit(struct ws_site *s)
{
    http_router_free(s->router);
    http_addr_trust_free(s->trust);
    http_dir_free(s->dir);
    memset(s, 0, sizeof *s);
}

/* The HTTP header limit: the listener's http_max_header_size, else Mosquitto's global
 * websockets_headers_size (its libwebsockets header buffer; at least 1024, the smallest
 * http_max_header_size), else http_conn's default. */
static size_t header_limit(const struct config *cfg, const struct listener_conf *lc)
{
    if (lc->http_max_header_size)
        return (size_t)lc->http_max_header_size;
    if (cfg->websockets_headers_size)
        return cfg->websockets_headers_size < 1024 ? 1024 : cfg->websockets_headers_size;
    return 0;
}

/* The biggest WebSocket message: max_packet_size when set (an MQTT client sends a packet per
 * message; a bigger one would be refused after its bytes were buffered anyway), else 0, the
 * transport's default (the biggest MQTT packet). Read per connection: a reload applies to the
 * next ones. */
static size_t ws_msg_limit(const struct config *cfg)
{
    return cfg->max_packet_size;
}

/* Builds the router and options of lr for w. Returns 0 or TERN_ENOMEM. */
static int site_init(struct ws_site *s, struct worker *w, struct listener_rt *lr)
{
    const struct listener_conf *lc = lr->conf;
    s->api.w = w;
    s->api.lr = lr;
    s->router = http_router_new();
    if (!s->router || http_api_add_routes(s->router, &s->api) != 0)
        return TERN_ENOMEM;
    if (lc->http_dir) {
        int rc = http_dir_new(lc->http_dir, "/", MAX_FILE_LEN, &s->dir);
        if (rc == TERN_ENOMEM)
            return rc;
        if (rc != 0)
            log_msg(w->b->log, TLOG_ERR, "Error: http_dir %s: %s; no files are served",
                    lc->http_dir, tern_strerror(rc));
        else if (http_router_add(s->router, NULL, "/", http_dir_handle, s->dir) != 0)
            return TERN_ENOMEM;
    }
    if (lc->http_trusted_proxy)
        site_trust(s, w->b, lc->http_trusted_proxy);
    s->opts.router = s->router;
    s->opts.max_header_len = header_limit(w->b->cfg, lc);
    s->opts.max_body_len = (size_t)lc->http_max_body_size;
    s->opts.idle_timeout_ms = (uint64_t)lc->http_idle_timeout * 1000u;
    s->opts.request_timeout_ms = (uint64_t)lc->http_request_timeout * 1000u;
    s->opts.ws_enabled = true;
    s->opts.ws_path = lc->websockets_path;
    s->opts.ws_origins = lc->websockets_origin;
    s->opts.trusted = s->trust;
    return 0;
}

/* The site for lr on w, built on first use; NULL when that failed. */
static struct ws_site *site_get(struct worker *w, struct listener_rt *lr)
{
    if (!w->ws) {
        struct ws_worker *ww = mem_calloc(1, sizeof *ww);
        if (!ww)
            return NULL;
        ww->sites = mem_calloc(w->b->n_listeners, sizeof *ww->sites);
        if (!ww->sites) {
            mem_free(ww);
            return NULL;
        }
        list_init(&ww->conns);
        w->ws = ww;
    }
    struct ws_site *s = &w->ws->sites[lr - w->b->listeners];
    if (!s->ready) {
        if (site_init(s, w, lr) != 0) {
            site_deinit(s);
            return NULL;
        }
        s->ready = true;
    }
    return s;
}

/* Frees h; the fd must be out of the loop already. counted: count it out of the listener. */
static void http_destroy(struct ws_http *h, bool count_out)
{
    loop_timer_cancel(h->w->loop, h->timer);
    if (h->wait_seq)
        h->w->ws->n_durable--;
    list_remove(&h->node);
    http_conn_free(h->hc);
    if (count_out)
        atomic_fetch_sub(&h->site->api.lr->connections, 1);
    mem_free(h);
}

static void http_close(struct ws_http *h)
{
    loop_remove(h->w->loop, h->fd);
    http_destroy(h, true);
}

/* The client asked for MQTT: hand the socket to an MQTT connection. */
static void upgrade(struct ws_http *h)
{
    struct worker *w = h->w;
    struct listener_rt *lr = h->site->api.lr;
    char client[ADDR_LEN];
    snprintf(client, sizeof client, "%s", http_conn_client_addr(h->hc));
    const char *proto = http_conn_ws_protocol(h->hc);
    log_msg(w->b->log, TLOG_DEBUG, "WebSocket upgrade from %s (subprotocol %s).", client,
            proto ? proto : "none");
    loop_remove(w->loop, h->fd);
    struct transport *t = http_conn_take_ws(h->hc);
    http_destroy(h, t == NULL);
    if (t)
        conn_start(w, t, client, lr); /* counts the connection out on failure */
}

static void on_timer(struct loop *l, void *ctx);

/* (Re)schedules the timer for the connection's deadline. Returns false when out of memory. */
static bool arm(struct ws_http *h)
{
    struct loop *l = h->w->loop;
    uint64_t now = loop_now_ms(l), deadline = http_conn_idle_deadline(h->hc);
    loop_timer_cancel(l, h->timer);
    h->due = deadline;
    h->timer = loop_timer_add(l, deadline > now ? deadline - now : 0, on_timer, h);
    return h->timer != 0;
}

/* Acts on the state http_conn_on_io or http_conn_resume returned. */
static void after_io(struct ws_http *h, enum http_conn_state st)
{
    switch (st) {
    case HTTP_CONN_OPEN:
        if (loop_modify(h->w->loop, h->fd, http_conn_events(h->hc)) != 0)
            http_close(h);
        /* A request that began moves the deadline closer: the timer must not fire late. */
        else if (http_conn_idle_deadline(h->hc) < h->due && !arm(h))
            http_close(h);
        break;
    case HTTP_CONN_UPGRADED:
        upgrade(h);
        break;
    case HTTP_CONN_CLOSED:
        http_close(h);
        break;
    }
}

static void on_io(struct loop *l, int fd, unsigned events, void *ctx)
{
    (void)fd;
    struct ws_http *h = ctx;
    after_io(h, http_conn_on_io(h->hc, events, loop_now_ms(l)));
}

/* Closes the connection once its deadline (idle, or the request's) passed, else waits for the
 * new deadline. */
static void on_timer(struct loop *l, void *ctx)
{
    struct ws_http *h = ctx;
    h->timer = 0;
    uint64_t now = loop_now_ms(l), deadline = http_conn_idle_deadline(h->hc);
    if (now >= deadline) {
        log_msg(h->w->b->log, TLOG_DEBUG,
                "HTTP connection from %s closed: idle, or its request took too long.",
                http_conn_client_addr(h->hc));
        http_close(h);
        return;
    }
    if (!arm(h))
        http_close(h);
}

/* Starts serving HTTP on t (taken over). */
static void serve(struct worker *w, struct ws_site *s, struct transport *t, const char *peer)
{
    struct ws_http *h = mem_calloc(1, sizeof *h);
    if (!h) {
        t->ops->close(t);
        atomic_fetch_sub(&s->api.lr->connections, 1);
        return;
    }
    h->w = w;
    h->site = s;
    h->fd = t->fd;
    s->opts.ws_max_msg_len = ws_msg_limit(w->b->cfg); /* only this worker reads s->opts */
    list_insert_tail(&w->ws->conns, &h->node);
    uint64_t now = loop_now_ms(w->loop);
    h->hc = http_conn_new(t, peer, &s->opts, now); /* closes t on failure */
    if (!h->hc) {
        http_destroy(h, true);
        return;
    }
    http_conn_set_user(h->hc, h);
    if (loop_add(w->loop, h->fd, http_conn_events(h->hc), on_io, h) != 0) {
        http_destroy(h, true);
        return;
    }
    if (!arm(h))
        http_close(h);
}

void ws_listener_serve(struct worker *w, struct transport *t, const char *peer,
                       struct listener_rt *lr)
{
    struct ws_site *s = site_get(w, lr);
    if (!s) {
        log_msg(w->b->log, TLOG_ERR, "Connection from %s closed: out of memory.", peer);
        t->ops->close(t);
        atomic_fetch_sub(&lr->connections, 1);
        return;
    }
    serve(w, s, t, peer);
}

void ws_listener_accept(struct worker *w, int fd, const char *peer, struct listener_rt *lr)
{
    struct tls_ctx *tls = security_tls(lr);
    /* wss: TLS under the WebSocket, which comes after HTTP on the same transport. */
    struct transport *t = tls ? transport_tls_new(fd, tls) : transport_tcp_new(fd);
    if (!t) {
        atomic_fetch_sub(&lr->connections, 1);
        return;
    }
    ws_listener_serve(w, t, peer, lr);
}

uint64_t ws_listener_defer(struct worker *w, const struct http_request *req,
                           struct http_response *resp)
{
    struct ws_http *h = req->conn_user;
    if (!h || !w->ws || h->w != w)
        return 0;
    h->ticket = ++w->ws->next_ticket;
    http_response_defer(resp);
    return h->ticket;
}

/* The connection waiting for ticket, or NULL when it closed. A walk of the worker's HTTP
 * connections: no pointer to one is kept anywhere it could outlive it. */
static struct ws_http *find_ticket(struct worker *w, uint64_t ticket)
{
    struct list_node *it, *tmp;
    if (!w->ws || !ticket)
        return NULL;
    LIST_FOREACH (it, tmp, &w->ws->conns) {
        struct ws_http *h = LIST_ENTRY(it, struct ws_http, node);
        if (h->ticket == ticket)
            return h;
    }
    return NULL;
}

struct http_response *ws_listener_deferred(struct worker *w, uint64_t ticket)
{
    struct ws_http *h = find_ticket(w, ticket);
    return h ? http_conn_response(h->hc) : NULL;
}

void ws_listener_resume(struct worker *w, uint64_t ticket)
{
    struct ws_http *h = find_ticket(w, ticket);
    if (!h)
        return;
    h->ticket = 0;
    after_io(h, http_conn_resume(h->hc, loop_now_ms(w->loop)));
}

bool ws_listener_defer_durable(struct worker *w, const struct http_request *req,
                               struct http_response *resp, uint64_t seq)
{
    struct ws_http *h = req->conn_user;
    if (!h || !w->ws || h->w != w)
        return false;
    /* Announce before re-checking, as conn.c's wait_for_store: either the store thread sees
     * the flag after its commit and wakes us, or the seq read here covers ours. */
    atomic_store(&w->acks_waiting, true);
    if (seq <= persist_ack_bound(w->b))
        return false;
    ws_listener_defer(w, req, resp);
    h->wait_seq = seq;
    w->ws->n_durable++;
    return true;
}

bool ws_listener_release_durable(struct worker *w, uint64_t durable)
{
    if (!w->ws || w->ws->n_durable == 0)
        return false;
    struct list_node *it, *tmp;
    LIST_FOREACH (it, tmp, &w->ws->conns) {
        struct ws_http *h = LIST_ENTRY(it, struct ws_http, node);
        if (h->wait_seq && h->wait_seq <= durable) {
            h->wait_seq = 0;
            w->ws->n_durable--;
            ws_listener_resume(w, h->ticket); /* may close and free h */
        }
    }
    return w->ws->n_durable > 0;
}

void ws_listener_worker_stop(struct worker *w)
{
    if (!w->ws)
        return;
    while (!list_empty(&w->ws->conns))
        http_close(LIST_ENTRY(w->ws->conns.next, struct ws_http, node));
}

void ws_listener_worker_free(struct worker *w)
{
    struct ws_worker *ww = w->ws;
    if (!ww)
        return;
    while (!list_empty(&ww->conns)) {
        struct ws_http *h = LIST_ENTRY(ww->conns.next, struct ws_http, node);
        if (w->loop)
            loop_remove(w->loop, h->fd);
        http_destroy(h, true);
    }
    for (size_t i = 0; i < w->b->n_listeners; i++)
        site_deinit(&ww->sites[i]);
    mem_free(ww->sites);
    mem_free(ww);
    w->ws = NULL;
}
