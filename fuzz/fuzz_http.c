/* Fuzz target for the HTTP/1.1 server connection (http_conn over http-parser) and what its
 * handlers parse: the input is what a client sends, read through an in-memory transport, the
 * connection driven like the event loop drives it until it closes; after a WebSocket upgrade
 * the rest is read through transport_ws. Byte 0: bits 0-2 read chunk size, bit 3 slow writes,
 * bit 4 reads alternate with TERN_EAGAIN, bit 5 ws_path "/mqtt" (else any path), bit 6 peer
 * is a trusted proxy (X-Forwarded-For parsed). Byte 1: allocation to fail (0 = none). The
 * handlers check the request view (header, query, Basic and Bearer parsers). Invariants: the
 * connection always wants an event while open and always makes progress until it closes, the
 * output starts with an HTTP/1.1 status line, every transport is closed, nothing leaks. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "err.h"
#include "fuzz_target.h"
#include "fuzz_wire.h"
#include "http_addr.h"
#include "http_auth.h"
#include "http_conn.h"
#include "http_request.h"
#include "http_response.h"
#include "http_router.h"
#include "loop.h"
#include "mem.h"
#include "transport.h"

#define STALL_LIMIT 1000

static const size_t chunks[] = {1, 2, 7, 16, 64, 512, 4096, 65536};

static void check_query(const struct http_request *req, const char *key)
{
    char out[64];
    long n = http_request_query(req, key, out, sizeof out);
    if (n >= 0 && ((size_t)n >= sizeof out || strlen(out) > (size_t)n))
        abort();
    if (n < 0 && n != TERN_ENOTFOUND && n != TERN_EPROTO && n != TERN_ETOOBIG)
        abort();
}

static void check_auth(const struct http_request *req)
{
    const char *h = http_request_header(req, "authorization");
    char user[32], pass[32];
    int rc = http_auth_basic_parse(h, user, sizeof user, pass, sizeof pass);
    if (rc == 0 &&
        (strlen(user) >= sizeof user || strchr(user, ':') || strlen(pass) >= sizeof pass))
        abort();
    struct tern_bytes tok;
    rc = http_auth_bearer_parse(h, &tok);
    if (rc == 0 && (tok.len == 0 || tok.ptr < (const uint8_t *)h ||
                    tok.ptr + tok.len > (const uint8_t *)h + strlen(h)))
        abort();
}

/* Every route: checks the request view, answers with a small body. */
static void on_request(const struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)ctx;
    if (!req->method || !req->path || !req->query || !req->target || !req->client_addr ||
        req->body == NULL || req->body[req->body_len] != '\0' || req->target[0] != '/')
        abort();
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *v = req->headers[i].value;
        size_t n = strlen(v);
        if (n > 0 && (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t'))
            abort(); /* values are trimmed */
        if (http_request_header(req, req->headers[i].name) == NULL)
            abort();
    }
    check_query(req, "a");
    check_query(req, "");
    check_auth(req);
    const char *conn = http_request_header(req, "connection");
    (void)http_request_has_token(conn ? conn : "", "keep-alive");
    http_response_set(resp, 200, "text/plain", req->path, strlen(req->path));
    if (strcmp(req->path, "/close") == 0)
        resp->close_after = true;
}

/* Drives the upgraded connection: reads until the end, answers once, closes. Every read takes
 * input unless the wire said TERN_EAGAIN (every other read at most), so the loop is bounded. */
static void run_ws(struct transport *t, size_t input_len)
{
    uint8_t buf[512];
    for (size_t rounds = 0;; rounds++) {
        if (rounds > 2 * input_len + STALL_LIMIT)
            abort();
        long n = t->ops->read(t, buf, sizeof buf);
        if (n > (long)sizeof buf)
            abort();
        if (n != TERN_EAGAIN && n <= 0)
            break;
    }
    struct iovec iov = {(void *)"\x20\x02\x00\x00", 4};
    (void)t->ops->writev(t, &iov, 1);
    t->ops->close(t);
}

static void run_conn(struct http_conn *c, struct fuzz_wire *w)
{
    enum http_conn_state st = HTTP_CONN_OPEN;
    int stalls = 0;
    for (uint64_t now = 0; st == HTTP_CONN_OPEN; now++) {
        unsigned ev = http_conn_events(c) & (LOOP_READ | LOOP_WRITE);
        if (ev == 0)
            abort(); /* an open connection waiting for nothing would hang */
        size_t in_off = w->in_off, out_len = w->out_len;
        st = http_conn_on_io(c, ev, now);
        stalls = in_off == w->in_off && out_len == w->out_len ? stalls + 1 : 0;
        if (stalls > STALL_LIMIT)
            abort();
    }
    if (st == HTTP_CONN_UPGRADED) {
        struct transport *ws = http_conn_take_ws(c);
        if (ws != NULL)
            run_ws(ws, w->in_len);
    }
    http_conn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const proxies[] = {"127.0.0.1", "10.0.0.0/8", "::1"};
    if (size < 2)
        return 0;
    struct http_router *router = http_router_new();
    struct http_trust *trust = NULL;
    if (router == NULL || http_router_add(router, NULL, "/", on_request, NULL) != 0 ||
        http_router_add(router, "POST", "/api", on_request, NULL) != 0 ||
        http_addr_trust_new(proxies, 3, &trust) != 0)
        abort();
    struct http_conn_opts opts = {
        .router = router,
        .max_header_len = 2048,
        .max_body_len = 4096,
        .ws_enabled = true,
        .ws_path = (data[0] & 0x20) ? "/mqtt" : NULL,
        .ws_max_msg_len = 1024,
        .trusted = trust,
    };
    struct fuzz_wire w;
    unsigned flags =
        ((data[0] & 8) ? FUZZ_WIRE_SLOW_WRITE : 0) | ((data[0] & 16) ? FUZZ_WIRE_READ_AGAIN : 0);
    fuzz_wire_init(&w, data + 2, size - 2, chunks[data[0] & 7], flags);
    mem_fail_at(data[1]);
    struct http_conn *c = http_conn_new(fuzz_wire_transport(&w),
                                        (data[0] & 0x40) ? "127.0.0.1" : "192.0.2.1", &opts, 0);
    if (c != NULL)
        run_conn(c, &w);
    mem_fail_at(0);
    if (c == NULL && data[1] == 0)
        abort();
    if (w.has_transport)
        abort(); /* every transport was closed */
    /* The harness may close an upgraded connection before its last bytes are out, so the
     * output can be a mere prefix of a status line. */
    if (w.out_len > 0 && memcmp(w.out, "HTTP/1.1 ", w.out_len < 9 ? w.out_len : 9) != 0)
        abort();
    fuzz_wire_deinit(&w);
    http_addr_trust_free(trust);
    http_router_free(router);
    return 0;
}
