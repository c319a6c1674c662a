/* http_conn over a socketpair: pipelined and split requests, keep-alive and close, size limits
 * (431, 413), malformed input, HEAD, the idle deadline, deferred responses, X-Forwarded-For,
 * static files through the whole stack, and one exchange driven by src/net's event loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_addr.h"
#include "http_dir.h"
#include "http_fixture.h"
#include "http_response.h"
#include "http_router.h"
#include "loop.h"
#include "mem.h"
#include "transport.h"
#include "unit.h"

#define SEND(f, s) fixture_send(f, s, strlen(s))

static void test_single_keepalive(void)
{
    struct fixture f;
    char out[4096];
    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    SEND(&f, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN);
    fixture_recv(&f, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(out, "Content-Length: 5\r\n") != NULL);
    CHECK(strstr(out, "\r\n\r\nhello") != NULL);
    CHECK(strstr(out, "Connection: close") == NULL);
    /* The same connection serves the next request. */
    SEND(&f, "POST /echo?q=a%20b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN);
    fixture_recv(&f, out, sizeof out);
    CHECK(strstr(out, "\r\n\r\nbody|q=a b|/echo") != NULL);
    fixture_deinit(&f);
}

static void test_pipelined(void)
{
    struct fixture f;
    char out[8192];
    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    SEND(&f, "GET /echo/1 HTTP/1.1\r\nHost: x\r\n\r\n"
             "POST /echo/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
             "GET /echo/3 HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN);
    fixture_recv(&f, out, sizeof out);
    CHECK_EQ_INT(count_str(out, "HTTP/1.1 200 OK"), 3);
    char *a = strstr(out, "|/echo/1"), *b = strstr(out, "abc|/echo/2"),
         *c = strstr(out, "|/echo/3");
    CHECK(a != NULL && b != NULL && c != NULL && a < b && b < c);
    fixture_deinit(&f);
}

static void test_split_bytes(void)
{
    struct fixture f;
    char out[4096];
    const char *req = "PUT /echo/split?q=z HTTP/1.1\r\nHost: example\r\nX-Long-Header: "
                      "some value here\r\nContent-Length: 10\r\n\r\n0123456789"
                      "GET /hello HTTP/1.1\r\n\r\n";
    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    for (size_t i = 0; req[i]; i++) {
        fixture_send(&f, req + i, 1);
        CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN);
    }
    fixture_recv(&f, out, sizeof out);
    CHECK_EQ_INT(count_str(out, "HTTP/1.1 200 OK"), 2);
    CHECK(strstr(out, "0123456789|q=z|/echo/split") != NULL);
    CHECK(strstr(out, "\r\n\r\nhello") != NULL);
    fixture_deinit(&f);
}

static void test_connection_close(void)
{
    struct fixture f;
    char out[4096];
    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    SEND(&f, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_CLOSED);
    fixture_recv(&f, out, sizeof out);
    CHECK_EQ_INT(count_str(out, "HTTP/1.1 200"), 1); /* nothing after the close request */
    CHECK(strstr(out, "Connection: close\r\n") != NULL);
    fixture_deinit(&f);
    /* HTTP/1.0 without keep-alive closes too. */
    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    SEND(&f, "GET /hello HTTP/1.0\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_CLOSED);
    fixture_recv(&f, out, sizeof out);
    CHECK(strstr(out, "hello") != NULL);
    fixture_deinit(&f);
}

static void test_limits(void)
{
    struct fixture f;
    char out[4096], big[2048];
    REQUIRE(fixture_init(&f) == 0);
    f.opts.max_header_len = 512;
    f.opts.max_body_len = 16;
    REQUIRE(fixture_start(&f) == 0);
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    SEND(&f, "GET /hello HTTP/1.1\r\nX-Big: ");
    SEND(&f, big);
    SEND(&f, "\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_CLOSED);
    fixture_recv(&f, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 431 ", 13) == 0);
    CHECK(strstr(out, "Connection: close") != NULL);
    fixture_deinit(&f);

    REQUIRE(fixture_init(&f) == 0);
    f.opts.max_body_len = 16;
    REQUIRE(fixture_start(&f) == 0);
    SEND(&f, "POST /echo HTTP/1.1\r\nContent-Length: 17\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_CLOSED);
    fixture_recv(&f, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 413 ", 13) == 0);
    fixture_deinit(&f);

    /* A chunked body is counted as it arrives. */
    REQUIRE(fixture_init(&f) == 0);
    f.opts.max_body_len = 16;
    REQUIRE(fixture_start(&f) == 0);
    SEND(&f, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_CLOSED);
    fixture_recv(&f, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 413 ", 13) == 0);
    fixture_deinit(&f);

    /* Exactly at the limit passes. */
    REQUIRE(fixture_init(&f) == 0);
    f.opts.max_body_len = 16;
    REQUIRE(fixture_start(&f) == 0);
    SEND(&f, "POST /echo HTTP/1.1\r\nContent-Length: 16\r\n\r\n0123456789abcdef");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN);
    fixture_recv(&f, out, sizeof out);
    CHECK(strstr(out, "0123456789abcdef|/echo") != NULL);
    fixture_deinit(&f);
}

static void test_malformed_and_misc(void)
{
    struct fixture f;
    char out[4096];
    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    SEND(&f, "BLAH\x01 / HTTP/1.1\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_CLOSED);
    fixture_recv(&f, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
    fixture_deinit(&f);

    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    SEND(&f, "GET /a%zz HTTP/1.1\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_CLOSED);
    fixture_recv(&f, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
    fixture_deinit(&f);

    /* HEAD: headers with the GET's length, no body; 404 and 405 are JSON. */
    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    SEND(&f, "HEAD /hello HTTP/1.1\r\n\r\nGET /nothing HTTP/1.1\r\n\r\n"
             "POST /hello HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN);
    fixture_recv(&f, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(out, "Content-Length: 5\r\n\r\nHTTP/1.1 404") != NULL);
    CHECK(strstr(out, "{\"error\":{\"status\":404") != NULL);
    CHECK(strstr(out, "HTTP/1.1 405 ") != NULL && strstr(out, "Allow: GET\r\n") != NULL);
    fixture_deinit(&f);
}

static void test_idle_and_eof(void)
{
    struct fixture f;
    char out[256];
    REQUIRE(fixture_init(&f) == 0);
    f.opts.idle_timeout_ms = 5000;
    REQUIRE(fixture_start(&f) == 0);
    CHECK_EQ_INT(http_conn_idle_deadline(f.c), 6000); /* created at 1000 */
    SEND(&f, "GET /hel");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN); /* pumped at 2000 */
    CHECK_EQ_INT(http_conn_idle_deadline(f.c), 7000);
    CHECK(http_conn_events(f.c) & LOOP_READ);
    /* The client gives up half-way: the connection ends without an answer. */
    shutdown(f.cli, SHUT_WR);
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_CLOSED);
    CHECK_EQ_INT(fixture_recv(&f, out, sizeof out), 0);
    fixture_deinit(&f);
}

/* A deferred response holds the pipelined requests behind it and keeps the connection open
 * even when the client asked to close or half-closed; resuming answers them in order. */
static void test_deferred(void)
{
    struct fixture f;
    char out[4096];
    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    CHECK(http_conn_response(f.c) == NULL);
    CHECK_EQ_INT(http_conn_resume(f.c, 2000), HTTP_CONN_OPEN); /* nothing deferred: no-op */
    SEND(&f, "GET /later HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN);
    CHECK_EQ_INT(fixture_recv(&f, out, sizeof out), 0);
    CHECK((http_conn_events(f.c) & LOOP_READ) == 0);
    shutdown(f.cli, SHUT_WR);
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN);
    struct http_response *r = http_conn_response(f.c);
    REQUIRE(r != NULL);
    http_response_set(r, 202, "text/plain", "done", 4);
    CHECK_EQ_INT(http_conn_resume(f.c, 3000), HTTP_CONN_CLOSED); /* both sent, then closed */
    fixture_recv(&f, out, sizeof out);
    char *a = strstr(out, "HTTP/1.1 202 Accepted"), *b = strstr(out, "HTTP/1.1 200 OK");
    CHECK(a != NULL && b != NULL && a < b);
    CHECK(strstr(out, "\r\n\r\ndone") != NULL && strstr(out, "\r\n\r\nhello") != NULL);
    fixture_deinit(&f);

    /* A failed deferred response is a 500. */
    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    SEND(&f, "HEAD /later HTTP/1.1\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN);
    REQUIRE(http_conn_response(f.c) != NULL);
    http_conn_response(f.c)->err = TERN_ENOMEM;
    CHECK_EQ_INT(http_conn_resume(f.c, 3000), HTTP_CONN_OPEN);
    fixture_recv(&f, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 500 ", 13) == 0);
    CHECK(strstr(out, "\r\n\r\n{") == NULL); /* HEAD: no body */
    fixture_deinit(&f);
}

/* The request deadline runs from a request's first byte however slowly the rest trickles in
 * (each byte resets only the idle timeout), and ends with the request. */
static void test_request_deadline(void)
{
    struct fixture f;
    char out[1024];
    REQUIRE(fixture_init(&f) == 0);
    f.opts.idle_timeout_ms = 5000;
    f.opts.request_timeout_ms = 3000;
    REQUIRE(fixture_start(&f) == 0); /* at 1000 */
    CHECK_EQ_INT(http_conn_idle_deadline(f.c), 6000);
    SEND(&f, "GET /hello HTTP/1.1\r\n");
    CHECK_EQ_INT(http_conn_on_io(f.c, LOOP_READ, 2000), HTTP_CONN_OPEN);
    CHECK_EQ_INT(http_conn_idle_deadline(f.c), 5000); /* 2000 + 3000, before idle's 7000 */
    SEND(&f, "X-A: 1\r\n");
    CHECK_EQ_INT(http_conn_on_io(f.c, LOOP_READ, 4000), HTTP_CONN_OPEN);
    CHECK_EQ_INT(http_conn_idle_deadline(f.c), 5000); /* not moved by the trickle */
    SEND(&f, "\r\nGET /hel");
    CHECK_EQ_INT(http_conn_on_io(f.c, LOOP_READ | LOOP_WRITE, 4500), HTTP_CONN_OPEN);
    fixture_recv(&f, out, sizeof out);
    CHECK(strstr(out, "\r\n\r\nhello") != NULL);
    /* The pipelined request's clock started when it was parsed. */
    CHECK_EQ_INT(http_conn_idle_deadline(f.c), 7500);
    SEND(&f, "lo HTTP/1.1\r\n\r\n");
    CHECK_EQ_INT(http_conn_on_io(f.c, LOOP_READ | LOOP_WRITE, 5000), HTTP_CONN_OPEN);
    CHECK_EQ_INT(http_conn_idle_deadline(f.c), 10000); /* between requests: idle only */
    fixture_deinit(&f);
}

static void test_forwarded_for(void)
{
    struct fixture f;
    char out[1024];
    const char *nets[] = {"192.0.2.0/24"};
    struct http_trust *t = NULL;
    REQUIRE(http_addr_trust_new(nets, 1, &t) == 0);
    REQUIRE(fixture_init(&f) == 0);
    f.opts.trusted = t;
    REQUIRE(fixture_start(&f) == 0);
    CHECK(strcmp(http_conn_client_addr(f.c), "192.0.2.7") == 0);
    SEND(&f, "GET /hello HTTP/1.1\r\nX-Forwarded-For: 198.51.100.20\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN);
    fixture_recv(&f, out, sizeof out);
    CHECK(strcmp(http_conn_client_addr(f.c), "198.51.100.20") == 0);
    fixture_deinit(&f);
    http_addr_trust_free(t);
}

static void test_static_through_conn(void)
{
    char root[] = "/tmp/tern_http_conn_XXXXXX";
    REQUIRE(mkdtemp(root) != NULL);
    char p[256], out[4096];
    snprintf(p, sizeof p, "%s/style.css", root);
    FILE *fp = fopen(p, "w");
    REQUIRE(fp != NULL);
    fputs("body{}", fp);
    fclose(fp);
    struct fixture f;
    struct http_dir *d = NULL;
    REQUIRE(fixture_init(&f) == 0);
    REQUIRE(http_dir_new(root, "/static/", 1024, &d) == 0);
    REQUIRE(http_router_add(f.router, NULL, "/static/", http_dir_handle, d) == 0);
    REQUIRE(fixture_start(&f) == 0);
    SEND(&f, "GET /static/style.css HTTP/1.1\r\n\r\nGET /static/../etc/passwd HTTP/1.1\r\n\r\n"
             "GET /static/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n\r\n");
    CHECK_EQ_INT(fixture_pump(&f), HTTP_CONN_OPEN);
    fixture_recv(&f, out, sizeof out);
    CHECK(strstr(out, "Content-Type: text/css; charset=utf-8\r\n") != NULL);
    CHECK(strstr(out, "\r\n\r\nbody{}") != NULL);
    CHECK_EQ_INT(count_str(out, "HTTP/1.1 403 "), 2);
    CHECK(strstr(out, "root:") == NULL);
    fixture_deinit(&f);
    http_dir_free(d);
    unlink(p);
    rmdir(root);
}

/* The event-loop test: the server conn and the client socket on one src/net loop. */
struct loop_test {
    struct loop *l;
    struct fixture *f;
    char got[4096];
    size_t got_len;
    int responses;
    enum http_conn_state state;
};

static void on_server(struct loop *l, int fd, unsigned events, void *ctx)
{
    struct loop_test *lt = ctx;
    lt->state = http_conn_on_io(lt->f->c, events, loop_now_ms(l));
    if (lt->state != HTTP_CONN_OPEN) {
        loop_remove(l, fd);
        return;
    }
    loop_modify(l, fd, http_conn_events(lt->f->c));
}

static void on_client(struct loop *l, int fd, unsigned events, void *ctx)
{
    (void)events;
    struct loop_test *lt = ctx;
    ssize_t n = recv(fd, lt->got + lt->got_len, sizeof lt->got - 1 - lt->got_len, MSG_DONTWAIT);
    if (n <= 0) {
        loop_remove(l, fd);
        loop_stop(l);
        return;
    }
    lt->got_len += (size_t)n;
    lt->got[lt->got_len] = '\0';
    lt->responses = count_str(lt->got, "hello");
    if (lt->responses == 2)
        loop_stop(l);
}

static void test_on_event_loop(void)
{
    struct fixture f;
    struct loop_test lt;
    memset(&lt, 0, sizeof lt);
    REQUIRE(fixture_init(&f) == 0 && fixture_start(&f) == 0);
    lt.f = &f;
    lt.l = loop_new();
    REQUIRE(lt.l != NULL);
    REQUIRE(loop_add(lt.l, f.srv, http_conn_events(f.c), on_server, &lt) == 0);
    REQUIRE(loop_add(lt.l, f.cli, LOOP_READ, on_client, &lt) == 0);
    SEND(&f, "GET /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    CHECK_EQ_INT(loop_run(lt.l), 0);
    CHECK_EQ_INT(lt.responses, 2);
    CHECK_EQ_INT(lt.state, HTTP_CONN_OPEN);
    loop_remove(lt.l, f.srv);
    loop_remove(lt.l, f.cli);
    loop_free(lt.l);
    fixture_deinit(&f);
}

UNIT_MAIN(UNIT_TEST(test_single_keepalive), UNIT_TEST(test_pipelined), UNIT_TEST(test_split_bytes),
          UNIT_TEST(test_connection_close), UNIT_TEST(test_limits),
          UNIT_TEST(test_malformed_and_misc), UNIT_TEST(test_idle_and_eof),
          UNIT_TEST(test_deferred), UNIT_TEST(test_request_deadline), UNIT_TEST(test_forwarded_for),
          UNIT_TEST(test_static_through_conn), UNIT_TEST(test_on_event_loop))
