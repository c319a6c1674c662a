/* The HTTP/1.1 connection state machine: bytes from the transport go through http-parser, whose
 * callbacks copy the request into one string store; the parser pauses at each message end so
 * pipelined requests are answered one at a time and in order. Responses are serialized into an
 * output buffer written when the socket allows. A handler may defer its response (answered by
 * http_conn_resume); the connection then waits for it before parsing the next request. No
 * chunked responses, no HTTP/2, no timers. */
#include "http_conn.h"

#include <http_parser.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "http_addr.h"
#include "http_request.h"
#include "http_response.h"
#include "http_router.h"
#include "loop.h"
#include "mem.h"
#include "transport.h"
#include "transport_ws.h"
#include "ws_handshake.h"

#define READ_CHUNK  16384
#define OUT_HIGH    ((size_t)256 * 1024) /* stop parsing new requests while this much is unsent */
#define ADDR_MAX    64
#define MAX_HEADERS 100

enum last_cb { CB_NONE, CB_URL, CB_FIELD, CB_VALUE };

struct hdr_off {
    size_t name, value;
};

struct http_conn {
    struct transport *t;
    const struct http_conn_opts *o;
    http_parser parser;
    struct buf in, out;
    struct buf store; /* url, header names and values, decoded path: NUL-separated */
    struct buf body;
    struct hdr_off hdrs[MAX_HEADERS];
    size_t n_hdrs;
    size_t header_bytes;
    enum last_cb last;
    int reject;    /* status to answer instead of dispatching (400, 413, 431), 0 if none */
    bool complete; /* a whole request is in store/body */
    bool closing;  /* close once out is written */
    bool peer_eof;
    bool waiting;      /* a handler deferred its response: nothing is parsed until resumed */
    bool waiting_head; /* the deferred request was a HEAD */
    enum http_conn_state state;
    uint64_t last_active_ms;
    uint64_t request_start_ms; /* first byte of the request being received, 0 = none */
    uint64_t now_ms;           /* of the on_io or resume call running */
    struct http_response resp;
    const char *ws_proto;
    void *user;
    char peer[ADDR_MAX];
    char client[ADDR_MAX];
};

static size_t max_header(const struct http_conn *c)
{
    return c->o->max_header_len ? c->o->max_header_len : 8192;
}

static size_t max_body(const struct http_conn *c)
{
    return c->o->max_body_len ? c->o->max_body_len : (size_t)1024 * 1024;
}

/* Stops the parser with a status to answer; the connection closes after it. */
static int reject(struct http_conn *c, int status)
{
    if (c->reject == 0)
        c->reject = status;
    http_parser_pause(&c->parser, 1);
    return 0;
}

/* Appends header-section bytes, enforcing the header limit. */
static int store_add(struct http_conn *c, const char *at, size_t len)
{
    c->header_bytes += len;
    if (c->header_bytes > max_header(c))
        return reject(c, 431);
    if (buf_append(&c->store, at, len) != 0)
        return reject(c, 500);
    return 0;
}

/* Ends the string being built when the callback kind changes. */
static int switch_to(struct http_conn *c, enum last_cb next)
{
    if (c->last == next)
        return 0;
    if (c->last != CB_NONE && buf_append(&c->store, "", 1) != 0)
        return reject(c, 500);
    c->last = next;
    return 0;
}

static struct http_conn *conn_of(http_parser *p)
{
    return p->data;
}

static int on_begin(http_parser *p)
{
    struct http_conn *c = conn_of(p);
    buf_reset(&c->store);
    buf_reset(&c->body);
    c->n_hdrs = 0;
    c->header_bytes = 0;
    c->last = CB_NONE;
    c->complete = false;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = conn_of(p);
    switch_to(c, CB_URL);
    return c->reject ? 0 : store_add(c, at, len);
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = conn_of(p);
    if (c->last != CB_FIELD) {
        if (c->n_hdrs == MAX_HEADERS)
            return reject(c, 431);
        switch_to(c, CB_FIELD);
        c->hdrs[c->n_hdrs].name = c->store.len;
        c->hdrs[c->n_hdrs++].value = 0; /* 0 (the URL's offset) until a value arrives */
    }
    return c->reject ? 0 : store_add(c, at, len);
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = conn_of(p);
    if (c->last != CB_VALUE) {
        switch_to(c, CB_VALUE);
        c->hdrs[c->n_hdrs - 1].value = c->store.len;
    }
    return c->reject ? 0 : store_add(c, at, len);
}

static int on_headers_done(http_parser *p)
{
    struct http_conn *c = conn_of(p);
    switch_to(c, CB_NONE);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > max_body(c))
        return reject(c, 413);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = conn_of(p);
    if (c->body.len + len > max_body(c))
        return reject(c, 413);
    if (buf_append(&c->body, at, len) != 0)
        return reject(c, 500);
    return 0;
}

static int on_complete(http_parser *p)
{
    struct http_conn *c = conn_of(p);
    c->complete = true;
    /* Bytes after it (pipelining) start the next request's clock now. */
    c->request_start_ms = 0;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_done,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* Builds the handler's view of the stored request. Returns 0 or the status to answer. */
static int finalize(struct http_conn *c, struct http_request *req, struct http_header *hdrs)
{
    const char *target = (const char *)c->store.data; /* the URL is first, offset 0 */
    if (c->store.len == 0 || target[0] != '/')
        return 400; /* only origin-form targets; no proxying */
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    size_t path_off = c->store.len;
    if (buf_reserve(&c->store, plen + 1) != 0 || buf_reserve(&c->body, 1) != 0)
        return 500;
    target = (const char *)c->store.data;
    long n = http_request_unescape(target, plen, false, (char *)c->store.data + path_off, plen + 1);
    if (n < 0)
        return 400;
    c->store.len += (size_t)n + 1;
    c->body.data[c->body.len] = '\0';
    const char *base = (const char *)c->store.data;
    for (size_t i = 0; i < c->n_hdrs; i++) {
        hdrs[i].name = base + c->hdrs[i].name;
        hdrs[i].value = c->hdrs[i].value ? base + c->hdrs[i].value : "";
        while (*hdrs[i].value == ' ' || *hdrs[i].value == '\t')
            hdrs[i].value++;
        trim((char *)hdrs[i].value);
    }
    req->method = http_method_str((enum http_method)c->parser.method);
    req->target = base;
    req->path = base + path_off;
    /* q pointed into the buffer before buf_reserve may have moved it: use the offset. */
    req->query = q ? base + plen + 1 : "";
    req->headers = hdrs;
    req->n_headers = c->n_hdrs;
    req->body = c->body.data;
    req->body_len = c->body.len;
    req->version_minor = c->parser.http_minor;
    http_addr_client(c->o->trusted, c->peer, http_request_header(req, "X-Forwarded-For"), c->client,
                     sizeof c->client);
    req->client_addr = c->client;
    req->conn_user = c->user;
    return 0;
}

/* Appends the status line, headers and (unless HEAD) body of c->resp to out. */
static void serialize(struct http_conn *c, bool is_head)
{
    struct http_response *r = &c->resp;
    char line[160];
    int n = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", r->status,
                     http_response_reason(r->status));
    bool ok = buf_append(&c->out, line, (size_t)n) == 0 &&
              buf_append(&c->out, r->headers.data, r->headers.len) == 0;
    if (r->status != 101 && r->status != 204 && r->status != 304) {
        n = snprintf(line, sizeof line, "Content-Length: %zu\r\n", r->body.len);
        ok = ok && buf_append(&c->out, line, (size_t)n) == 0;
    }
    if (c->closing)
        ok = ok && buf_append(&c->out, "Connection: close\r\n", 19) == 0;
    ok = ok && buf_append(&c->out, "\r\n", 2) == 0;
    if (!is_head && r->status != 101)
        ok = ok && buf_append(&c->out, r->body.data, r->body.len) == 0;
    if (!ok) {
        c->out.len = 0; /* cannot even answer: drop the connection */
        c->closing = true;
        c->state = HTTP_CONN_CLOSED;
    }
}

/* Answers a request that could not be parsed or was over a limit, then closes. */
static void answer_reject(struct http_conn *c, int status)
{
    static const char *const why[] = {"bad request", "request too large", "headers too large"};
    const char *msg = status == 413 ? why[1] : status == 431 ? why[2] : why[0];
    http_response_reset(&c->resp);
    if (status == 500 || http_response_error(&c->resp, status, msg) != 0) {
        http_response_reset(&c->resp);
        c->resp.status = status == 500 ? 500 : status;
    }
    c->closing = true;
    serialize(c, false);
}

static bool ws_path_ok(const struct http_conn *c, const struct http_request *req)
{
    return c->o->ws_path == NULL || strcmp(c->o->ws_path, req->path) == 0;
}

/* Serializes the handler's response: a failed one becomes 500. */
static void finish(struct http_conn *c, bool is_head)
{
    if (c->resp.err != 0) {
        http_response_reset(&c->resp);
        http_response_error(&c->resp, 500, "internal error");
    }
    /* Another protocol's upgrade (h2c, ...) is answered as plain HTTP; the parser cannot go on
     * after it, so the connection ends there. */
    if (c->resp.close_after || c->parser.upgrade)
        c->closing = true;
    serialize(c, is_head);
}

/* Runs one complete request. */
static void dispatch(struct http_conn *c)
{
    struct http_request req;
    struct http_header hdrs[MAX_HEADERS];
    memset(&req, 0, sizeof req);
    int status = finalize(c, &req, hdrs);
    if (status != 0) {
        answer_reject(c, status);
        return;
    }
    http_response_reset(&c->resp);
    if (!http_should_keep_alive(&c->parser))
        c->closing = true;
    if (c->o->ws_enabled && ws_handshake_is_upgrade(&req) && ws_path_ok(c, &req)) {
        if (!ws_handshake_origin_ok(&req, c->o->ws_origins)) {
            http_response_error(&c->resp, 403, "origin not allowed");
        } else if (ws_handshake_accept(&req, &c->resp, &c->ws_proto) == 0) {
            serialize(c, false);
            if (c->state == HTTP_CONN_OPEN)
                c->state = HTTP_CONN_UPGRADED;
            return;
        }
    } else {
        http_router_dispatch(c->o->router, &req, &c->resp);
        if (c->resp.deferred && c->resp.err == 0) {
            c->waiting = true;
            c->waiting_head = strcmp(req.method, "HEAD") == 0;
            return;
        }
    }
    finish(c, strcmp(req.method, "HEAD") == 0);
}

/* Parses buffered input and answers complete requests while output is not backed up. */
static void parse_input(struct http_conn *c)
{
    while (c->state == HTTP_CONN_OPEN && !c->closing && !c->waiting && c->in.len > 0 &&
           c->out.len < OUT_HIGH) {
        size_t n = http_parser_execute(&c->parser, &settings, (const char *)c->in.data, c->in.len);
        buf_consume(&c->in, n);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            if (c->reject)
                answer_reject(c, c->reject);
            else if (c->complete)
                dispatch(c);
            c->complete = false;
            if (c->in.len > 0 && c->request_start_ms == 0)
                c->request_start_ms = c->now_ms;
            continue;
        }
        if (e != HPE_OK) {
            answer_reject(c, e == HPE_HEADER_OVERFLOW ? 431 : 400);
            return;
        }
        if (n == 0)
            return;
    }
}

/* Writes what is queued. Returns false when the connection failed. */
static bool write_out(struct http_conn *c, uint64_t now_ms)
{
    while (c->out.len > 0) {
        struct iovec iov = {c->out.data, c->out.len};
        long n = c->t->ops->writev(c->t, &iov, 1);
        if (n == TERN_EAGAIN || n == 0)
            return true;
        if (n < 0)
            return false;
        buf_consume(&c->out, (size_t)n);
        c->last_active_ms = now_ms;
    }
    return true;
}

/* Reads what the socket has (a few chunks at most per call). Returns false on a read error. */
static bool read_in(struct http_conn *c, uint64_t now_ms)
{
    for (int rounds = 0; rounds < 4 && !c->peer_eof; rounds++) {
        /* Bound what a client can make us buffer ahead of parsing. */
        if (c->in.len > max_header(c) + max_body(c) + READ_CHUNK)
            return true;
        if (buf_reserve(&c->in, READ_CHUNK) != 0)
            return false;
        long n = c->t->ops->read(c->t, c->in.data + c->in.len, c->in.cap - c->in.len);
        if (n == TERN_EAGAIN)
            return true;
        if (n < 0)
            return false;
        if (n == 0) {
            c->peer_eof = true;
            return true;
        }
        c->in.len += (size_t)n;
        c->last_active_ms = now_ms;
        if (c->request_start_ms == 0)
            c->request_start_ms = now_ms;
        parse_input(c);
        if (c->state != HTTP_CONN_OPEN || c->closing)
            return true;
    }
    return true;
}

enum http_conn_state http_conn_on_io(struct http_conn *c, unsigned events, uint64_t now_ms)
{
    if (c->state != HTTP_CONN_OPEN)
        return c->state;
    c->now_ms = now_ms;
    if ((events & (LOOP_READ | LOOP_ERROR)) && !c->closing && !c->waiting && !read_in(c, now_ms)) {
        c->state = HTTP_CONN_CLOSED;
        return c->state;
    }
    /* Output drained below the mark: answer requests that were waiting behind it. */
    parse_input(c);
    if (c->state == HTTP_CONN_CLOSED || !write_out(c, now_ms)) {
        c->state = HTTP_CONN_CLOSED;
        return c->state;
    }
    /* A deferred answer is still to come: the connection stays for it. */
    bool done = c->state == HTTP_CONN_OPEN && c->out.len == 0 && !c->waiting;
    if (done && c->closing)
        c->state = HTTP_CONN_CLOSED;
    /* The peer finished sending: answer what is complete, then close once written. */
    if (done && c->peer_eof)
        c->state = HTTP_CONN_CLOSED;
    return c->state;
}

unsigned http_conn_events(const struct http_conn *c)
{
    unsigned ev = c->t ? c->t->ops->wants(c->t) : 0;
    if (c->state != HTTP_CONN_OPEN)
        return ev;
    if (!c->closing && !c->peer_eof && !c->waiting && c->out.len < OUT_HIGH)
        ev |= LOOP_READ;
    if (c->out.len > 0)
        ev |= LOOP_WRITE;
    return ev;
}

uint64_t http_conn_idle_deadline(const struct http_conn *c)
{
    uint64_t t = c->o->idle_timeout_ms ? c->o->idle_timeout_ms : 60000;
    uint64_t r = c->o->request_timeout_ms ? c->o->request_timeout_ms : 30000;
    uint64_t idle = c->last_active_ms + t;
    if (c->request_start_ms == 0 || c->waiting || c->request_start_ms + r > idle)
        return idle;
    return c->request_start_ms + r;
}

struct http_conn *http_conn_new(struct transport *t, const char *peer,
                                const struct http_conn_opts *opts, uint64_t now_ms)
{
    struct http_conn *c = mem_calloc(1, sizeof *c);
    if (c == NULL) {
        t->ops->close(t);
        return NULL;
    }
    c->t = t;
    c->o = opts;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    buf_init(&c->in);
    buf_init(&c->out);
    buf_init(&c->store);
    buf_init(&c->body);
    http_response_init(&c->resp);
    c->state = HTTP_CONN_OPEN;
    c->last_active_ms = now_ms;
    (void)snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "");
    (void)snprintf(c->client, sizeof c->client, "%s", c->peer);
    return c;
}

void http_conn_free(struct http_conn *c)
{
    if (c == NULL)
        return;
    if (c->t)
        c->t->ops->close(c->t);
    buf_deinit(&c->in);
    buf_deinit(&c->out);
    buf_deinit(&c->store);
    buf_deinit(&c->body);
    http_response_deinit(&c->resp);
    mem_free(c);
}

void http_conn_set_user(struct http_conn *c, void *user)
{
    c->user = user;
}

struct http_response *http_conn_response(struct http_conn *c)
{
    return c->waiting ? &c->resp : NULL;
}

enum http_conn_state http_conn_resume(struct http_conn *c, uint64_t now_ms)
{
    if (c->state != HTTP_CONN_OPEN || !c->waiting)
        return c->state;
    c->waiting = false;
    c->resp.deferred = false;
    finish(c, c->waiting_head);
    return http_conn_on_io(c, 0, now_ms);
}

struct transport *http_conn_take_ws(struct http_conn *c)
{
    if (c->state != HTTP_CONN_UPGRADED || c->t == NULL)
        return NULL;
    struct transport *t = c->t;
    c->t = NULL;
    /* An MQTT packet is at most 256 MiB plus its fixed header. */
    size_t max = c->o->ws_max_msg_len ? c->o->ws_max_msg_len : 268435455u + 5u;
    return transport_ws_new(t, c->in.data, c->in.len, c->out.data, c->out.len, max);
}

const char *http_conn_client_addr(const struct http_conn *c)
{
    return c->client;
}

const char *http_conn_ws_protocol(const struct http_conn *c)
{
    return c->ws_proto;
}
