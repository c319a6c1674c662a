/* Unit tests of the HTTP layer's pure parts: the Prometheus writer (checked by a strict line
 * checker and by promtool when installed), Authorization parsing, X-Forwarded-For, request
 * helpers, the router, static files and the WebSocket handshake. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_addr.h"
#include "http_auth.h"
#include "http_dir.h"
#include "http_request.h"
#include "http_response.h"
#include "http_router.h"
#include "metrics_buf.h"
#include "unit.h"
#include "ws_handshake.h"

/* Checks one exposition line strictly: comments are "# HELP name text" / "# TYPE name type";
 * samples are name{label="value",...} value with valid names and escapes. */
static int sample_line_ok(const char *l)
{
    size_t i = 0;
    if (!((l[0] >= 'a' && l[0] <= 'z') || (l[0] >= 'A' && l[0] <= 'Z') || l[0] == '_' ||
          l[0] == ':'))
        return 0;
    while (l[i] && l[i] != '{' && l[i] != ' ')
        i++;
    if (l[i] == '{') {
        i++;
        for (;;) {
            size_t s = i;
            while (l[i] && l[i] != '=')
                i++;
            if (i == s || l[i] != '=' || l[i + 1] != '"')
                return 0;
            i += 2;
            while (l[i] && l[i] != '"') {
                if (l[i] == '\\') {
                    if (l[i + 1] != '\\' && l[i + 1] != '"' && l[i + 1] != 'n')
                        return 0;
                    i++;
                }
                i++;
            }
            if (l[i] != '"')
                return 0;
            i++;
            if (l[i] == '}')
                break;
            if (l[i] != ',')
                return 0;
            i++;
        }
        i++;
    }
    if (l[i] != ' ')
        return 0;
    const char *v = l + i + 1;
    if (strcmp(v, "NaN") == 0 || strcmp(v, "+Inf") == 0 || strcmp(v, "-Inf") == 0)
        return 1;
    char *end;
    strtod(v, &end);
    return end != v && *end == '\0';
}

static int exposition_ok(const char *text)
{
    char line[512];
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        if (nl == NULL || (size_t)(nl - p) >= sizeof line)
            return 0;
        memcpy(line, p, (size_t)(nl - p));
        line[nl - p] = '\0';
        if (strncmp(line, "# TYPE ", 7) == 0) {
            const char *t = strrchr(line, ' ') + 1;
            if (strcmp(t, "counter") && strcmp(t, "gauge") && strcmp(t, "untyped"))
                return 0;
        } else if (strncmp(line, "# HELP ", 7) != 0 && !sample_line_ok(line)) {
            return 0;
        }
        p = nl + 1;
    }
    return 1;
}

static void render_sample(struct metrics_buf *m)
{
    struct metrics_label qos[] = {{"qos", "1"}};
    struct metrics_label odd[] = {{"client_id", "a\"b\\c\nd"}, {"listener", "ws:8080"}};
    metrics_buf_family(m, "tern_messages_received_total", METRICS_COUNTER,
                       "Messages received, by QoS.\nSecond line with a \\ backslash.");
    metrics_buf_u64(m, "tern_messages_received_total", qos, 1, 42);
    metrics_buf_family(m, "tern_connections", METRICS_GAUGE, "Open connections.");
    metrics_buf_u64(m, "tern_connections", odd, 2, 7);
    metrics_buf_family(m, "tern_store_latency_seconds", METRICS_GAUGE, "Store latency.");
    metrics_buf_double(m, "tern_store_latency_seconds", NULL, 0, 0.25);
    metrics_buf_family(m, "tern_odd_values", METRICS_GAUGE, "Special values.");
    metrics_buf_double(m, "tern_odd_values", (struct metrics_label[]){{"v", "nan"}}, 1, NAN);
    metrics_buf_double(m, "tern_odd_values", (struct metrics_label[]){{"v", "inf"}}, 1, INFINITY);
    metrics_buf_double(m, "tern_odd_values", (struct metrics_label[]){{"v", "ninf"}}, 1, -INFINITY);
}

static void test_metrics_text(void)
{
    struct metrics_buf m;
    metrics_buf_init(&m);
    render_sample(&m);
    REQUIRE(m.err == 0);
    REQUIRE(buf_append(&m.out, "", 1) == 0);
    const char *expect =
        "# HELP tern_messages_received_total Messages received, by QoS.\\nSecond line with a \\\\ "
        "backslash.\n"
        "# TYPE tern_messages_received_total counter\n"
        "tern_messages_received_total{qos=\"1\"} 42\n"
        "# HELP tern_connections Open connections.\n"
        "# TYPE tern_connections gauge\n"
        "tern_connections{client_id=\"a\\\"b\\\\c\\nd\",listener=\"ws:8080\"} 7\n"
        "# HELP tern_store_latency_seconds Store latency.\n"
        "# TYPE tern_store_latency_seconds gauge\n"
        "tern_store_latency_seconds 0.25\n"
        "# HELP tern_odd_values Special values.\n"
        "# TYPE tern_odd_values gauge\n"
        "tern_odd_values{v=\"nan\"} NaN\n"
        "tern_odd_values{v=\"inf\"} +Inf\n"
        "tern_odd_values{v=\"ninf\"} -Inf\n";
    CHECK(strcmp((const char *)m.out.data, expect) == 0);
    CHECK(exposition_ok((const char *)m.out.data));
    metrics_buf_deinit(&m);
}

static void test_metrics_promtool(void)
{
    struct metrics_buf m;
    metrics_buf_init(&m);
    render_sample(&m);
    REQUIRE(m.err == 0);
    if (system("command -v promtool > /dev/null 2>&1") != 0) {
        /* The strict checker above still validated the text. */
        printf("note: promtool not installed (Debian package prometheus)\n");
        metrics_buf_deinit(&m);
        return;
    }
    char path[] = "/tmp/tern_metrics_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    CHECK(write(fd, m.out.data, m.out.len) == (ssize_t)m.out.len);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
    CHECK_EQ_INT(system(cmd), 0);
    /* And promtool does fail on a broken exposition, so the check above means something. */
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs("# TYPE x counter\nx{a=\"1\" 3\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s > /dev/null 2>&1", path);
    CHECK(system(cmd) != 0);
    unlink(path);
    metrics_buf_deinit(&m);
}

static void test_metrics_bad_names(void)
{
    struct metrics_buf m;
    metrics_buf_init(&m);
    CHECK_EQ_INT(metrics_buf_family(&m, "9bad", METRICS_GAUGE, "x"), TERN_EINVAL);
    CHECK_EQ_INT(metrics_buf_u64(&m, "ok", NULL, 0, 1), TERN_EINVAL); /* sticky */
    metrics_buf_deinit(&m);
    metrics_buf_init(&m);
    CHECK_EQ_INT(metrics_buf_u64(&m, "ok", (struct metrics_label[]){{"__x", "v"}}, 1, 1),
                 TERN_EINVAL);
    metrics_buf_deinit(&m);
    metrics_buf_init(&m);
    CHECK_EQ_INT(metrics_buf_u64(&m, "ok", (struct metrics_label[]){{"a:b", "v"}}, 1, 1),
                 TERN_EINVAL);
    metrics_buf_deinit(&m);
    /* Without help text there is no HELP line. */
    metrics_buf_init(&m);
    CHECK_EQ_INT(metrics_buf_family(&m, "x_total", METRICS_COUNTER, NULL), 0);
    CHECK_MEM(m.out.data, m.out.len, "# TYPE x_total counter\n", 23);
    metrics_buf_deinit(&m);
    CHECK(metrics_buf_name_ok("tern:rule_x"));
    CHECK(!metrics_buf_name_ok("a-b"));
    CHECK(!metrics_buf_name_ok(""));
}

static void test_auth_basic(void)
{
    char u[32], p[32];
    /* "Aladdin:open sesame" (RFC 7617's example). */
    CHECK_EQ_INT(
        http_auth_basic_parse("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", u, sizeof u, p, sizeof p), 0);
    CHECK(strcmp(u, "Aladdin") == 0 && strcmp(p, "open sesame") == 0);
    CHECK_EQ_INT(http_auth_basic_parse("  basic  YTpiOmM= ", u, sizeof u, p, sizeof p), 0);
    CHECK(strcmp(u, "a") == 0 && strcmp(p, "b:c") == 0); /* the first ':' splits */
    CHECK_EQ_INT(http_auth_basic_parse("Basic YWJj", u, sizeof u, p, sizeof p), TERN_EPROTO);
    CHECK_EQ_INT(http_auth_basic_parse("Basic YT=6", u, sizeof u, p, sizeof p), TERN_EPROTO);
    CHECK_EQ_INT(http_auth_basic_parse("Basic !!!!", u, sizeof u, p, sizeof p), TERN_EPROTO);
    CHECK_EQ_INT(http_auth_basic_parse("Basic YQA6Yg==", u, sizeof u, p, sizeof p), TERN_EPROTO);
    CHECK_EQ_INT(http_auth_basic_parse("Bearer abc", u, sizeof u, p, sizeof p), TERN_ENOTFOUND);
    CHECK_EQ_INT(http_auth_basic_parse(NULL, u, sizeof u, p, sizeof p), TERN_ENOTFOUND);
    CHECK_EQ_INT(http_auth_basic_parse("Basic YWFhYTpi", u, 4, p, sizeof p), TERN_ETOOBIG);
}

static void test_auth_bearer(void)
{
    struct tern_bytes tok;
    CHECK_EQ_INT(http_auth_bearer_parse("Bearer mF_9.B5f-4.1JqM", &tok), 0);
    CHECK(bytes_eq_str(tok, "mF_9.B5f-4.1JqM"));
    CHECK_EQ_INT(http_auth_bearer_parse("bearer abc== ", &tok), 0);
    CHECK(bytes_eq_str(tok, "abc=="));
    CHECK_EQ_INT(http_auth_bearer_parse("Bearer ", &tok), TERN_EPROTO);
    CHECK_EQ_INT(http_auth_bearer_parse("Bearer a b", &tok), TERN_EPROTO);
    CHECK_EQ_INT(http_auth_bearer_parse("Bearer a=b", &tok), TERN_EPROTO);
    CHECK_EQ_INT(http_auth_bearer_parse("Basic abc", &tok), TERN_ENOTFOUND);
    CHECK(http_auth_equal(bytes_str("secret"), bytes_str("secret")));
    CHECK(!http_auth_equal(bytes_str("secret"), bytes_str("secreT")));
    CHECK(!http_auth_equal(bytes_str("secret"), bytes_str("secret2")));
    CHECK(!http_auth_equal(bytes_str(""), bytes_str("x")));
}

static void test_addr_xff(void)
{
    const char *nets[] = {"127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"};
    struct http_trust *t = NULL;
    char out[64];
    REQUIRE(http_addr_trust_new(nets, 4, &t) == 0);
    CHECK(http_addr_is_trusted(t, "10.1.2.3"));
    CHECK(!http_addr_is_trusted(t, "11.0.0.1"));
    CHECK(http_addr_is_trusted(t, "fd12::5"));
    CHECK(http_addr_is_trusted(t, "[::1]"));
    CHECK(!http_addr_is_trusted(t, "fe80::1"));
    /* Peers as the broker formats them, with their port. */
    CHECK(http_addr_is_trusted(t, "10.1.2.3:5000"));
    CHECK(!http_addr_is_trusted(t, "11.0.0.1:5000"));
    CHECK(http_addr_is_trusted(t, "[fd12::5]:443"));
    CHECK(!http_addr_is_trusted(t, "[fe80::1]:443"));
    CHECK_EQ_INT(http_addr_client(t, "127.0.0.1:4711", "198.51.100.4", out, sizeof out), 0);
    CHECK(strcmp(out, "198.51.100.4") == 0);
    CHECK_EQ_INT(http_addr_client(t, "203.0.113.9:4711", "1.2.3.4", out, sizeof out), 0);
    CHECK(strcmp(out, "203.0.113.9:4711") == 0);
    /* Untrusted peer: the header is ignored. */
    CHECK_EQ_INT(http_addr_client(t, "203.0.113.9", "1.2.3.4", out, sizeof out), 0);
    CHECK(strcmp(out, "203.0.113.9") == 0);
    /* Trusted peer: the right-most untrusted hop is the client; a forged left part is ignored. */
    CHECK_EQ_INT(
        http_addr_client(t, "127.0.0.1", "6.6.6.6, 198.51.100.4, 10.0.0.2", out, sizeof out), 0);
    CHECK(strcmp(out, "198.51.100.4") == 0);
    CHECK_EQ_INT(http_addr_client(t, "10.9.9.9", "2001:db8::1", out, sizeof out), 0);
    CHECK(strcmp(out, "2001:db8::1") == 0);
    /* Garbage ends the walk at the last good hop. */
    CHECK_EQ_INT(http_addr_client(t, "127.0.0.1", "evil, 10.0.0.3", out, sizeof out), 0);
    CHECK(strcmp(out, "10.0.0.3") == 0);
    CHECK_EQ_INT(http_addr_client(NULL, "127.0.0.1", "1.2.3.4", out, sizeof out), 0);
    CHECK(strcmp(out, "127.0.0.1") == 0);
    http_addr_trust_free(t);
    const char *bad[] = {"10.0.0.0/33"};
    CHECK_EQ_INT(http_addr_trust_new(bad, 1, &t), TERN_EINVAL);
    const char *bad2[] = {"example.com"};
    CHECK_EQ_INT(http_addr_trust_new(bad2, 1, &t), TERN_EINVAL);
}

static void test_request_helpers(void)
{
    char out[32];
    CHECK_EQ_INT(http_request_unescape("/a%20b+c", 8, false, out, sizeof out), 6);
    CHECK(strcmp(out, "/a b+c") == 0);
    CHECK_EQ_INT(http_request_unescape("a+b%2Bc", 7, true, out, sizeof out), 5);
    CHECK(strcmp(out, "a b+c") == 0);
    CHECK_EQ_INT(http_request_unescape("%2", 2, false, out, sizeof out), TERN_EPROTO);
    CHECK_EQ_INT(http_request_unescape("%zz", 3, false, out, sizeof out), TERN_EPROTO);
    CHECK_EQ_INT(http_request_unescape("%00", 3, false, out, sizeof out), TERN_EPROTO);
    CHECK_EQ_INT(http_request_unescape("abcd", 4, false, out, 4), TERN_ETOOBIG);
    struct http_header h[] = {{"Content-Type", "text/plain"},
                              {"Connection", "keep-alive, Upgrade"}};
    struct http_request r = {.query = "page=2&filter=a%2Fb&flag&x=", .headers = h, .n_headers = 2};
    CHECK(strcmp(http_request_header(&r, "content-type"), "text/plain") == 0);
    CHECK(http_request_header(&r, "Accept") == NULL);
    CHECK(http_request_has_token(http_request_header(&r, "connection"), "upgrade"));
    CHECK(!http_request_has_token("keep-alive", "upgrade"));
    CHECK(!http_request_has_token("upgraded", "upgrade"));
    CHECK_EQ_INT(http_request_query(&r, "page", out, sizeof out), 1);
    CHECK(strcmp(out, "2") == 0);
    CHECK_EQ_INT(http_request_query(&r, "filter", out, sizeof out), 3);
    CHECK(strcmp(out, "a/b") == 0);
    CHECK_EQ_INT(http_request_query(&r, "flag", out, sizeof out), 0);
    CHECK_EQ_INT(http_request_query(&r, "x", out, sizeof out), 0);
    CHECK_EQ_INT(http_request_query(&r, "nope", out, sizeof out), TERN_ENOTFOUND);
}

static void tag(const struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)req;
    http_response_set(resp, 200, "text/plain", ctx, strlen(ctx));
}

static int route(struct http_router *rt, const char *method, const char *path,
                 struct http_response *resp)
{
    struct http_request req = {.method = method, .path = path, .query = ""};
    http_response_reset(resp);
    http_router_dispatch(rt, &req, resp);
    if (buf_append(&resp->body, "", 1) != 0)
        return -1;
    resp->body.len--;
    return resp->status;
}

static void test_router(void)
{
    struct http_router *rt = http_router_new();
    struct http_response resp;
    http_response_init(&resp);
    REQUIRE(rt != NULL);
    REQUIRE(http_router_add(rt, "GET", "/", tag, "root") == 0);
    REQUIRE(http_router_add(rt, "GET", "/api", tag, "api-get") == 0);
    REQUIRE(http_router_add(rt, "POST", "/api", tag, "api-post") == 0);
    REQUIRE(http_router_add(rt, NULL, "/api/v1/clients", tag, "clients") == 0);
    CHECK_EQ_INT(http_router_add(rt, "GET", "nope", tag, "x"), TERN_EINVAL);
    CHECK_EQ_INT(route(rt, "GET", "/index.html", &resp), 200);
    CHECK(strcmp((char *)resp.body.data, "root") == 0);
    CHECK_EQ_INT(route(rt, "GET", "/api/x", &resp), 200);
    CHECK(strcmp((char *)resp.body.data, "api-get") == 0);
    CHECK_EQ_INT(route(rt, "POST", "/api", &resp), 200);
    CHECK(strcmp((char *)resp.body.data, "api-post") == 0);
    CHECK_EQ_INT(route(rt, "HEAD", "/api", &resp), 200); /* HEAD is served by GET */
    CHECK_EQ_INT(route(rt, "DELETE", "/api/v1/clients/abc", &resp), 200);
    CHECK(strcmp((char *)resp.body.data, "clients") == 0);
    /* "/apix" is not below "/api": it falls back to "/". */
    CHECK_EQ_INT(route(rt, "GET", "/apix", &resp), 200);
    CHECK(strcmp((char *)resp.body.data, "root") == 0);
    CHECK_EQ_INT(route(rt, "DELETE", "/api/x", &resp), 405);
    REQUIRE(buf_append(&resp.headers, "", 1) == 0);
    CHECK(strstr((char *)resp.headers.data, "Allow: GET, POST\r\n") != NULL);
    CHECK(strstr((char *)resp.body.data, "\"status\":405") != NULL);
    http_router_free(rt);
    rt = http_router_new();
    REQUIRE(http_router_add(rt, "GET", "/only", tag, "o") == 0);
    CHECK_EQ_INT(route(rt, "GET", "/other", &resp), 404);
    http_router_free(rt);
    http_response_deinit(&resp);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int serve(struct http_dir *d, const char *method, const char *path,
                 struct http_response *resp)
{
    struct http_request req = {.method = method, .path = path, .query = ""};
    http_response_reset(resp);
    http_dir_handle(&req, resp, d);
    return resp->status;
}

static void test_static_dir(void)
{
    char root[] = "/tmp/tern_http_dir_XXXXXX";
    REQUIRE(mkdtemp(root) != NULL);
    char p[256], outside[300];
    snprintf(p, sizeof p, "%s/www", root);
    REQUIRE(mkdir(p, 0700) == 0);
    snprintf(p, sizeof p, "%s/www/index.html", root);
    write_file(p, "<h1>hi</h1>");
    snprintf(p, sizeof p, "%s/www/sub", root);
    REQUIRE(mkdir(p, 0700) == 0);
    snprintf(p, sizeof p, "%s/www/sub/app.js", root);
    write_file(p, "let x = 1;");
    snprintf(outside, sizeof outside, "%s/secret.txt", root);
    write_file(outside, "secret");
    snprintf(p, sizeof p, "%s/www/link.txt", root);
    REQUIRE(symlink(outside, p) == 0);
    snprintf(p, sizeof p, "%s/www", root);
    struct http_dir *d = NULL;
    REQUIRE(http_dir_new(p, "/", 1 << 20, &d) == 0);
    struct http_response resp;
    http_response_init(&resp);
    CHECK_EQ_INT(serve(d, "GET", "/", &resp), 200);
    CHECK_MEM(resp.body.data, resp.body.len, "<h1>hi</h1>", 11);
    REQUIRE(buf_append(&resp.headers, "", 1) == 0);
    CHECK(strstr((char *)resp.headers.data, "Content-Type: text/html") != NULL);
    CHECK_EQ_INT(serve(d, "GET", "/sub/app.js", &resp), 200);
    CHECK_MEM(resp.body.data, resp.body.len, "let x = 1;", 10);
    CHECK_EQ_INT(serve(d, "GET", "/missing.css", &resp), 404);
    CHECK_EQ_INT(serve(d, "GET", "/../secret.txt", &resp), 403);
    CHECK_EQ_INT(serve(d, "GET", "/sub/../../secret.txt", &resp), 403);
    CHECK_EQ_INT(serve(d, "GET", "/.hidden", &resp), 403);
    CHECK_EQ_INT(serve(d, "GET", "/link.txt", &resp), 403); /* symlink out of the root */
    CHECK_EQ_INT(serve(d, "GET", "/sub", &resp), 403);      /* a directory, not a file */
    CHECK_EQ_INT(serve(d, "POST", "/", &resp), 405);
    CHECK(strcmp(http_dir_content_type("a/b.CSS"), "text/css; charset=utf-8") == 0);
    CHECK(strcmp(http_dir_content_type("x.bin"), "application/octet-stream") == 0);
    CHECK(!http_dir_path_ok("/a//b"));
    CHECK(!http_dir_path_ok("/a\\..\\b"));
    CHECK(http_dir_path_ok("/a/b/"));
    http_dir_free(d);
    d = NULL;
    CHECK_EQ_INT(http_dir_new("/nonexistent/dir", "/", 100, &d), TERN_ENOTFOUND);
    http_response_deinit(&resp);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK_EQ_INT(system(cmd), 0);
}

static int handshake(const char *const *hdr_pairs, size_t n, struct http_response *resp,
                     const char **proto)
{
    struct http_header h[8];
    for (size_t i = 0; i < n; i++) {
        h[i].name = hdr_pairs[2 * i];
        h[i].value = hdr_pairs[2 * i + 1];
    }
    struct http_request req = {.method = "GET",
                               .path = "/mqtt",
                               .query = "",
                               .headers = h,
                               .n_headers = n,
                               .version_minor = 1};
    http_response_reset(resp);
    return ws_handshake_accept(&req, resp, proto);
}

static void test_ws_handshake(void)
{
    char acc[WS_ACCEPT_LEN];
    /* RFC 6455 section 1.3's example. */
    ws_handshake_accept_key("dGhlIHNhbXBsZSBub25jZQ==", acc);
    CHECK(strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
    struct http_response resp;
    http_response_init(&resp);
    const char *proto;
    const char *ok[] = {"Upgrade",
                        "websocket",
                        "Connection",
                        "keep-alive, Upgrade",
                        "Sec-WebSocket-Key",
                        "dGhlIHNhbXBsZSBub25jZQ==",
                        "Sec-WebSocket-Version",
                        "13",
                        "Sec-WebSocket-Protocol",
                        "chat, mqttv3.1, mqtt"};
    CHECK_EQ_INT(handshake(ok, 5, &resp, &proto), 0);
    CHECK_EQ_INT(resp.status, 101);
    CHECK(proto != NULL && strcmp(proto, "mqttv3.1") == 0);
    REQUIRE(buf_append(&resp.headers, "", 1) == 0);
    CHECK(strstr((char *)resp.headers.data,
                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    CHECK(strstr((char *)resp.headers.data, "Sec-WebSocket-Protocol: mqttv3.1\r\n"));
    CHECK_EQ_INT(handshake(ok, 4, &resp, &proto), 0); /* no subprotocol offered */
    CHECK(proto == NULL);
    const char *chat[] = {"Upgrade",
                          "websocket",
                          "Connection",
                          "Upgrade",
                          "Sec-WebSocket-Key",
                          "dGhlIHNhbXBsZSBub25jZQ==",
                          "Sec-WebSocket-Version",
                          "13",
                          "Sec-WebSocket-Protocol",
                          "chat"};
    CHECK_EQ_INT(handshake(chat, 5, &resp, &proto), TERN_EPROTO);
    CHECK_EQ_INT(resp.status, 400);
    const char *v8[] = {"Upgrade",
                        "websocket",
                        "Connection",
                        "Upgrade",
                        "Sec-WebSocket-Key",
                        "dGhlIHNhbXBsZSBub25jZQ==",
                        "Sec-WebSocket-Version",
                        "8"};
    CHECK_EQ_INT(handshake(v8, 4, &resp, &proto), TERN_EPROTO);
    CHECK_EQ_INT(resp.status, 426);
    REQUIRE(buf_append(&resp.headers, "", 1) == 0);
    CHECK(strstr((char *)resp.headers.data, "Sec-WebSocket-Version: 13\r\n"));
    const char *badkey[] = {"Upgrade",
                            "websocket",
                            "Connection",
                            "Upgrade",
                            "Sec-WebSocket-Key",
                            "c2hvcnQ=",
                            "Sec-WebSocket-Version",
                            "13"};
    CHECK_EQ_INT(handshake(badkey, 4, &resp, &proto), TERN_EPROTO);
    CHECK_EQ_INT(resp.status, 400);
    const char *noconn[] = {"Upgrade",
                            "websocket",
                            "Sec-WebSocket-Key",
                            "dGhlIHNhbXBsZSBub25jZQ==",
                            "Sec-WebSocket-Version",
                            "13"};
    CHECK_EQ_INT(handshake(noconn, 3, &resp, &proto), TERN_EPROTO);
    CHECK_EQ_INT(resp.status, 400);
    http_response_deinit(&resp);
}

static bool origin_ok(const char *origin, const char *allowed)
{
    struct http_header h[1] = {{"origin", origin}};
    struct http_request req = {.method = "GET",
                               .path = "/mqtt",
                               .query = "",
                               .headers = h,
                               .n_headers = origin ? 1 : 0,
                               .version_minor = 1};
    return ws_handshake_origin_ok(&req, allowed);
}

/* websockets_origin: exact origins from a space/comma list, ASCII case-insensitive; no list or
 * no Origin header: allowed. */
static void test_ws_origin(void)
{
    const char *list = "https://app.example.com  http://localhost:8080,http://a";
    CHECK(origin_ok("https://evil.example", NULL));
    CHECK(origin_ok(NULL, list));
    CHECK(origin_ok("https://app.example.com", list));
    CHECK(origin_ok("HTTPS://APP.example.com", list));
    CHECK(origin_ok("http://localhost:8080", list));
    CHECK(origin_ok("http://a", list));
    CHECK(!origin_ok("http://a:80", list));
    CHECK(!origin_ok("https://app.example.co", list));
    CHECK(!origin_ok("https://app.example.com.evil", list));
    CHECK(!origin_ok("", list));
    CHECK(!origin_ok("null", list));
    CHECK(!origin_ok("https://app.example.com http://a", list));
}

/* A histogram family's TYPE line; the caller writes _bucket/_sum/_count samples. */
static void test_metrics_histogram(void)
{
    struct metrics_buf m;
    metrics_buf_init(&m);
    metrics_buf_family(&m, "tern_x_seconds", METRICS_HISTOGRAM, "X.");
    metrics_buf_u64(&m, "tern_x_seconds_bucket", (struct metrics_label[]){{"le", "0.5"}}, 1, 1);
    metrics_buf_u64(&m, "tern_x_seconds_bucket", (struct metrics_label[]){{"le", "+Inf"}}, 1, 2);
    metrics_buf_double(&m, "tern_x_seconds_sum", NULL, 0, 1.25);
    metrics_buf_u64(&m, "tern_x_seconds_count", NULL, 0, 2);
    REQUIRE(m.err == 0);
    REQUIRE(buf_append(&m.out, "", 1) == 0);
    CHECK(strcmp((const char *)m.out.data,
                 "# HELP tern_x_seconds X.\n# TYPE tern_x_seconds histogram\n"
                 "tern_x_seconds_bucket{le=\"0.5\"} 1\ntern_x_seconds_bucket{le=\"+Inf\"} 2\n"
                 "tern_x_seconds_sum 1.25\ntern_x_seconds_count 2\n") == 0);
    CHECK(metrics_buf_family(&m, "y", (enum metrics_type)(METRICS_HISTOGRAM + 1), NULL) ==
          TERN_EINVAL);
    metrics_buf_deinit(&m);
}

UNIT_MAIN(UNIT_TEST(test_metrics_text), UNIT_TEST(test_metrics_promtool),
          UNIT_TEST(test_metrics_bad_names), UNIT_TEST(test_auth_basic),
          UNIT_TEST(test_auth_bearer), UNIT_TEST(test_addr_xff), UNIT_TEST(test_request_helpers),
          UNIT_TEST(test_router), UNIT_TEST(test_static_dir), UNIT_TEST(test_ws_handshake),
          UNIT_TEST(test_ws_origin), UNIT_TEST(test_metrics_histogram))
