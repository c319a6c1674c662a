/* Socketpair fixture for http_conn tests and the handlers the tests route to. */
#include "http_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http_request.h"
#include "http_response.h"
#include "http_router.h"
#include "loop.h"
#include "transport.h"

static void echo(const struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)ctx;
    char v[64];
    http_response_set(resp, 200, "text/plain", req->body, req->body_len);
    if (http_request_query(req, "q", v, sizeof v) >= 0) {
        http_response_append(resp, "|q=", 3);
        http_response_append(resp, v, strlen(v));
    }
    http_response_append(resp, "|", 1);
    http_response_append(resp, req->path, strlen(req->path));
}

static void hello(const struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    http_response_set(resp, 200, "text/plain", "hello", 5);
}

/* Defers its answer: the test fills http_conn_response() and calls http_conn_resume(). */
static void later(const struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    http_response_defer(resp);
}

int fixture_init(struct fixture *f)
{
    int sv[2];
    memset(f, 0, sizeof *f);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    f->cli = sv[0];
    f->srv = sv[1];
    fcntl(f->srv, F_SETFL, fcntl(f->srv, F_GETFL) | O_NONBLOCK);
    struct timeval tv = {2, 0};
    setsockopt(f->cli, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    f->router = http_router_new();
    if (f->router == NULL || http_router_add(f->router, NULL, "/echo", echo, NULL) != 0 ||
        http_router_add(f->router, "GET", "/hello", hello, NULL) != 0 ||
        http_router_add(f->router, NULL, "/later", later, NULL) != 0)
        return -1;
    f->opts.router = f->router;
    return 0;
}

int fixture_start(struct fixture *f)
{
    struct transport *t = transport_tcp_new(f->srv);
    if (t == NULL)
        return -1;
    f->c = http_conn_new(t, "192.0.2.7", &f->opts, 1000);
    return f->c ? 0 : -1;
}

void fixture_deinit(struct fixture *f)
{
    http_conn_free(f->c);
    http_router_free(f->router);
    close(f->cli);
}

void fixture_send(struct fixture *f, const void *s, size_t len)
{
    const char *p = s;
    while (len > 0) {
        ssize_t n = write(f->cli, p, len);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

enum http_conn_state fixture_pump(struct fixture *f)
{
    return http_conn_on_io(f->c, LOOP_READ | LOOP_WRITE, 2000);
}

size_t fixture_recv(struct fixture *f, char *out, size_t cap)
{
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t n = recv(f->cli, out + got, cap - 1 - got, MSG_DONTWAIT);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    out[got] = '\0';
    return got;
}

int fixture_recv_exact(struct fixture *f, void *out, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(f->cli, (char *)out + got, len - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

int count_str(const char *hay, const char *needle)
{
    int n = 0;
    size_t l = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + l, needle))
        n++;
    return n;
}
