/* Unit tests for src/net listeners (TCP v4/v6/dual-stack/SO_REUSEPORT, Unix) and the tcp
 * transport (read, writev, close, EPIPE without SIGPIPE, full buffers). Run from test_net.c's
 * table; every wait is poll() on an event with a time limit. */
#define _GNU_SOURCE /* dup2, accept4 flag checks */
#include "test_net_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "listener.h"
#include "sockutil.h"
#include "transport.h"
#include "unit.h"

int net_test_wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, NET_TEST_WAIT_MS) == 1 ? 0 : -1;
}

int net_test_make_pair(int sv[2])
{
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
}

/* ---- listeners ---- */

int net_test_connect(int family, const char *host, uint16_t port)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        inet_pton(AF_INET, host, &s4->sin_addr);
        len = sizeof *s4;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        inet_pton(AF_INET6, host, &s6->sin6_addr);
        len = sizeof *s6;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
}

/* Connects to lfd's port, accepts, and checks the accepted fd's flags and the peer text
 * ("<shown>:<client port>"). */
static void check_accept(int lfd, uint16_t port, int family, const char *host, const char *shown)
{
    int c = net_test_connect(family, host, port);
    REQUIRE(c >= 0);
    REQUIRE(net_test_wait_readable(lfd) == 0);
    char peer[64], want[64];
    int fd = listener_accept(lfd, peer, sizeof peer);
    REQUIRE(fd >= 0);
    snprintf(want, sizeof want, "%s:%u", shown, (unsigned)local_port(c));
    CHECK(strcmp(peer, want) == 0);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    int nodelay = 0;
    socklen_t optlen = sizeof nodelay;
    CHECK(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &optlen) == 0 && nodelay);
    CHECK_EQ_INT(listener_accept(lfd, peer, sizeof peer), TERN_EAGAIN);
    close(fd);
    close(c);
}

void test_listener_tcp_v4_v6(void)
{
    char msg[128] = "";
    uint16_t port = 0;
    int lfd = listener_open_tcp("127.0.0.1", 0, AF_UNSPEC, 0, &port, msg, sizeof msg);
    REQUIRE(lfd >= 0);
    CHECK(port != 0);
    CHECK(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
    check_accept(lfd, port, AF_INET, "127.0.0.1", "127.0.0.1");
    close(lfd);

    lfd = listener_open_tcp("[::1]", 0, AF_INET6, 0, &port, msg, sizeof msg);
    REQUIRE(lfd >= 0);
    check_accept(lfd, port, AF_INET6, "::1", "[::1]");
    close(lfd);

    lfd = listener_open_tcp("localhost", 0, AF_INET, 0, &port, msg, sizeof msg);
    REQUIRE(lfd >= 0);
    check_accept(lfd, port, AF_INET, "127.0.0.1", "127.0.0.1");
    close(lfd);

    CHECK_EQ_INT(listener_open_tcp("127.0.0.1", 0, AF_UNIX, 0, &port, msg, sizeof msg),
                 TERN_EINVAL);
    CHECK_EQ_INT(listener_open_tcp("", 0, AF_UNSPEC, 0, &port, msg, sizeof msg), TERN_EINVAL);
    CHECK(strstr(msg, "invalid address") != NULL);
}

void test_listener_dual_stack_any(void)
{
    char msg[128] = "";
    uint16_t port = 0;
    int lfd = listener_open_tcp(NULL, 0, AF_UNSPEC, 0, &port, msg, sizeof msg);
    REQUIRE(lfd >= 0);
    CHECK(port != 0);
    check_accept(lfd, port, AF_INET, "127.0.0.1", "127.0.0.1"); /* v4-mapped, shown as v4 */
    check_accept(lfd, port, AF_INET6, "::1", "[::1]");
    close(lfd);
}

void test_listener_reuseport(void)
{
    char msg[128] = "", want[128];
    uint16_t p1 = 0, p2 = 0;
    int a = listener_open_tcp("127.0.0.1", 0, AF_INET, 1, &p1, msg, sizeof msg);
    REQUIRE(a >= 0);
    int b = listener_open_tcp("127.0.0.1", p1, AF_INET, 1, &p2, msg, sizeof msg);
    CHECK(b >= 0);
    CHECK_EQ_INT(p2, p1);
    /* Without SO_REUSEPORT the port is taken, with a readable reason. */
    int c = listener_open_tcp("127.0.0.1", p1, AF_INET, 0, NULL, msg, sizeof msg);
    CHECK_EQ_INT(c, TERN_ESYS);
    snprintf(want, sizeof want, "127.0.0.1:%u: Address already in use", (unsigned)p1);
    CHECK(strcmp(msg, want) == 0);
    if (b >= 0)
        close(b);
    close(a);
}

void test_listener_unix(void)
{
    char dir[] = "/tmp/tern-net-XXXXXX", path[128], file[128], msg[256] = "", peer[32];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/s.sock", dir);
    snprintf(file, sizeof file, "%s/plain", dir);
    int lfd = listener_open_unix(path, msg, sizeof msg);
    REQUIRE(lfd >= 0);
    CHECK(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(c >= 0);
    CHECK_EQ_INT(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
    REQUIRE(net_test_wait_readable(lfd) == 0);
    int fd = listener_accept(lfd, peer, sizeof peer);
    CHECK(fd >= 0);
    CHECK(strcmp(peer, "unix") == 0);
    if (fd >= 0)
        close(fd);
    close(c);
    /* A live listener is not replaced. */
    CHECK_EQ_INT(listener_open_unix(path, msg, sizeof msg), TERN_ESYS);
    CHECK(strstr(msg, "Address already in use") != NULL);
    close(lfd);
    /* Its file is now stale and is replaced. */
    struct stat st;
    CHECK_EQ_INT(lstat(path, &st), 0);
    lfd = listener_open_unix(path, msg, sizeof msg);
    CHECK(lfd >= 0);
    if (lfd >= 0)
        close(lfd);
    /* Another kind of file is left alone. */
    FILE *f = fopen(file, "w");
    REQUIRE(f != NULL);
    fclose(f);
    CHECK_EQ_INT(listener_open_unix(file, msg, sizeof msg), TERN_ESYS);
    CHECK_EQ_INT(lstat(file, &st), 0);
    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    CHECK_EQ_INT(listener_open_unix(longp, msg, sizeof msg), TERN_EINVAL);
    unlink(path);
    unlink(file);
    rmdir(dir);
}

/* ---- transport_tcp ---- */

/* A connected TCP pair on loopback: *server non-blocking (accepted), *client blocking. */
static int tcp_pair(int *server, int *client)
{
    uint16_t port = 0;
    int lfd = listener_open_tcp("127.0.0.1", 0, AF_INET, 0, &port, NULL, 0);
    if (lfd < 0)
        return -1;
    *client = net_test_connect(AF_INET, "127.0.0.1", port);
    *server = *client >= 0 && net_test_wait_readable(lfd) == 0 ? listener_accept(lfd, NULL, 0) : -1;
    close(lfd);
    return *server >= 0 ? 0 : -1;
}

void test_transport_tcp_rw(void)
{
    int s, c;
    REQUIRE(tcp_pair(&s, &c) == 0);
    struct transport *t = transport_tcp_new(s);
    REQUIRE(t != NULL);
    CHECK(strcmp(t->ops->name, "tcp") == 0);
    CHECK_EQ_INT(t->fd, s);
    CHECK_EQ_INT(t->ops->wants(t), 0);
    char buf[32];
    CHECK_EQ_INT(t->ops->read(t, buf, sizeof buf), TERN_EAGAIN);
    CHECK_EQ_INT(t->ops->read(t, buf, 0), TERN_EINVAL);
    CHECK_EQ_INT(send(c, "abc", 3, 0), 3);
    REQUIRE(net_test_wait_readable(s) == 0);
    CHECK_EQ_INT(t->ops->read(t, buf, sizeof buf), 3);
    CHECK_MEM(buf, 3, "abc", 3);
    struct iovec iov[3] = {{"he", 2}, {"llo", 3}, {" world", 6}};
    CHECK_EQ_INT(t->ops->writev(t, iov, 3), 11);
    CHECK_EQ_INT(t->ops->writev(t, iov, 0), 0);
    CHECK_EQ_INT(recv(c, buf, 11, MSG_WAITALL), 11);
    CHECK_MEM(buf, 11, "hello world", 11);
    shutdown(c, SHUT_WR);
    REQUIRE(net_test_wait_readable(s) == 0);
    CHECK_EQ_INT(t->ops->read(t, buf, sizeof buf), 0); /* orderly close */
    t->ops->close(t);
    CHECK_EQ_INT(recv(c, buf, sizeof buf, 0), 0); /* the server side is closed */
    close(c);
}

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

void test_transport_epipe_no_sigpipe(void)
{
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_sigpipe;
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGPIPE, &sa, &old) == 0);
    sigpipes = 0;
    struct iovec iov = {"data", 4};

    int sv[2];
    REQUIRE(net_test_make_pair(sv) == 0);
    struct transport *t = transport_tcp_new(sv[0]);
    REQUIRE(t != NULL);
    close(sv[1]);
    CHECK_EQ_INT(t->ops->writev(t, &iov, 1), TERN_ECLOSED);
    t->ops->close(t);

    int s, c;
    REQUIRE(tcp_pair(&s, &c) == 0);
    t = transport_tcp_new(s);
    REQUIRE(t != NULL);
    shutdown(s, SHUT_WR); /* our own side can no longer send: EPIPE */
    CHECK_EQ_INT(t->ops->writev(t, &iov, 1), TERN_ECLOSED);
    t->ops->close(t);
    close(c);

    CHECK_EQ_INT(sigpipes, 0);
    sigaction(SIGPIPE, &old, NULL);
}

void test_transport_full_buffer(void)
{
    int sv[2];
    REQUIRE(net_test_make_pair(sv) == 0);
    struct transport *t = transport_tcp_new(sv[0]);
    REQUIRE(t != NULL);
    static char chunk[65536];
    struct iovec iov = {chunk, sizeof chunk};
    long total = 0, rc = 0;
    for (int i = 0; i < 4096; i++) {
        rc = t->ops->writev(t, &iov, 1);
        if (rc < 0)
            break;
        total += rc;
    }
    CHECK_EQ_INT(rc, TERN_EAGAIN); /* the peer never reads: the buffer fills */
    CHECK(total > 0);
    t->ops->close(t);
    close(sv[1]);
}

void test_sockutil(void)
{
    int sv[2];
    REQUIRE(net_test_make_pair(sv) == 0);
    CHECK_EQ_INT(sockutil_set_nonblock(sv[0], 0), 0);
    CHECK(!(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
    CHECK_EQ_INT(sockutil_set_nonblock(sv[0], 1), 0);
    CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    CHECK_EQ_INT(sockutil_set_nodelay(sv[0]), TERN_ESYS); /* not TCP */
    close(sv[0]);
    close(sv[1]);
    CHECK_EQ_INT(sockutil_set_nonblock(sv[0], 1), TERN_ESYS); /* closed */

    char out[64];
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(1883)};
    inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
    CHECK(strcmp(sockutil_format_addr((struct sockaddr *)&s6, out, sizeof out),
                 "[2001:db8::1]:1883") == 0);
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &s6.sin6_addr);
    sockutil_format_addr((struct sockaddr *)&s6, out, sizeof out);
    CHECK(strcmp(out, "10.1.2.3:1883") == 0);
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(8883)};
    inet_pton(AF_INET, "192.0.2.7", &s4.sin_addr);
    sockutil_format_addr((struct sockaddr *)&s4, out, 8); /* truncated, still terminated */
    CHECK(strcmp(out, "192.0.2") == 0);
    struct sockaddr other = {.sa_family = AF_UNSPEC};
    CHECK(strcmp(sockutil_format_addr(&other, out, sizeof out), "?") == 0);
    sockutil_errmsg(out, sizeof out, "x", ECONNREFUSED);
    CHECK(strcmp(out, "x: Connection refused") == 0);
}
