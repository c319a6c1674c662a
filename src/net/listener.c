/* Opening listening sockets (TCP via getaddrinfo or the wildcard address, optionally tied to a
 * network device; Unix with stale-file detection) and accepting connections. Socket options are
 * set before bind so SO_REUSEPORT and IPV6_V6ONLY take effect. No loop registration and no
 * protocol knowledge here. */
#define _GNU_SOURCE /* NOLINT: accept4 needs it; it must precede every include */
#include "listener.h"

#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "sockutil.h"

#define BACKLOG  1024
#define HOST_MAX 256

static void set_msg(char *err_msg, size_t errlen, const char *fmt_host, uint16_t port,
                    const char *reason)
{
    if (err_msg != NULL && errlen > 0)
        (void)snprintf(err_msg, errlen, "%s:%u: %s", fmt_host, (unsigned)port, reason);
}

static void wildcard(int domain, struct sockaddr_storage *ss, socklen_t *sslen)
{
    memset(ss, 0, sizeof *ss);
    if (domain == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
        *sslen = sizeof *s4;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_any;
        *sslen = sizeof *s6;
    }
}

/* Resolves address (NULL = wildcard) into ss with the port still 0. On failure returns
 * TERN_EINVAL or TERN_ENOTFOUND and points *reason at a static message. */
static int resolve(const char *address, int domain, struct sockaddr_storage *ss, socklen_t *sslen,
                   const char **reason)
{
    if (address == NULL) {
        wildcard(domain, ss, sslen);
        return 0;
    }
    char host[HOST_MAX];
    size_t len = strlen(address);
    if (len >= 2 && address[0] == '[' && address[len - 1] == ']') {
        address++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof host) {
        *reason = "invalid address";
        return TERN_EINVAL;
    }
    memcpy(host, address, len);
    host[len] = '\0';
    struct addrinfo hints = {
        .ai_family = domain, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        *reason = rc != 0 ? gai_strerror(rc) : "no address";
        return TERN_ENOTFOUND;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)(void *)ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons(port);
}

static uint16_t get_port(int fd)
{
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } u;
    memset(&u, 0, sizeof u);
    socklen_t len = sizeof u;
    if (getsockname(fd, &u.sa, &len) != 0)
        return 0;
    return ntohs(u.sa.sa_family == AF_INET ? u.in4.sin_port : u.in6.sin6_port);
}

/* Socket + options + bind + listen. Returns the fd or -errno (errno of the failing call). */
static int bind_listen(const struct sockaddr_storage *ss, socklen_t sslen, int v6only,
                       int reuseport)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        goto fail;
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        goto fail;
    if (ss->ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0)
        goto fail;
    if (bind(fd, (const struct sockaddr *)ss, sslen) != 0)
        goto fail;
    if (listen(fd, BACKLOG) != 0)
        goto fail;
    return fd;
fail:;
    int err = errno;
    close(fd);
    return -err;
}

/* Seven parameters: the signature is the one the broker was written against. */
/* NOLINTNEXTLINE(readability-function-size) */
int listener_open_tcp(const char *address, uint16_t port, int domain, int reuseport,
                      uint16_t *bound_port, char *err_msg, size_t errlen)
{
    if (domain != AF_UNSPEC && domain != AF_INET && domain != AF_INET6) {
        set_msg(err_msg, errlen, address ? address : "*", port, "invalid address family");
        return TERN_EINVAL;
    }
    struct sockaddr_storage ss;
    socklen_t sslen;
    const char *reason = NULL;
    int rc = resolve(address, domain, &ss, &sslen, &reason);
    if (rc != 0) {
        set_msg(err_msg, errlen, address, port, reason);
        return rc;
    }
    set_port(&ss, port);
    int fd = bind_listen(&ss, sslen, domain == AF_INET6, reuseport);
    if (fd == -EAFNOSUPPORT && address == NULL && domain == AF_UNSPEC) {
        /* No IPv6 on this host: the wildcard falls back to IPv4 only. */
        wildcard(AF_INET, &ss, &sslen);
        set_port(&ss, port);
        fd = bind_listen(&ss, sslen, 0, reuseport);
    }
    if (fd < 0) {
        char where[80];
        sockutil_format_addr((const struct sockaddr *)&ss, where, sizeof where);
        sockutil_errmsg(err_msg, errlen, where, -fd);
        return TERN_ESYS;
    }
    if (bound_port != NULL)
        *bound_port = get_port(fd);
    return fd;
}

int listener_bind_device(int fd, const char *device, char *err_msg, size_t errlen)
{
    size_t len = strlen(device);
    int err = 0;
    if (len == 0 || len >= IFNAMSIZ || if_nametoindex(device) == 0)
        err = ENODEV;
    else if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, (socklen_t)len + 1) != 0)
        err = errno;
    if (err == 0)
        return fd;
    if (err_msg != NULL && errlen > 0)
        (void)snprintf(err_msg, errlen, "bind_interface %s (port %u): %s", device,
                       (unsigned)get_port(fd), strerror(err));
    close(fd);
    return err == ENODEV ? TERN_ENOTFOUND : TERN_ESYS;
}

/* 1 if a process accepts connections on the Unix socket at sa, 0 if not (stale file). */
static int unix_alive(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 1; /* cannot tell: be safe and leave the file alone */
    int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
    /* EAGAIN: the listener's backlog is full, so it is alive. */
    int alive = rc == 0 || errno == EAGAIN || errno == EINPROGRESS;
    close(fd);
    return alive;
}

/* Removes a stale socket file at sa's path. Returns 0 (path free) or an errno value. */
static int clear_stale(const struct sockaddr_un *sa)
{
    struct stat st;
    if (lstat(sa->sun_path, &st) != 0)
        return errno == ENOENT ? 0 : errno;
    if (!S_ISSOCK(st.st_mode))
        return EEXIST;
    if (unix_alive(sa))
        return EADDRINUSE;
    if (unlink(sa->sun_path) != 0 && errno != ENOENT)
        return errno;
    return 0;
}

int listener_open_unix(const char *path, char *err_msg, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof sa.sun_path) {
        sockutil_errmsg(err_msg, errlen, path ? path : "(null)", ENAMETOOLONG);
        return TERN_EINVAL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1); /* length checked above */
    int err = clear_stale(&sa);
    if (err != 0) {
        sockutil_errmsg(err_msg, errlen, path, err);
        return TERN_ESYS;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    if (bind(fd, (const struct sockaddr *)&sa, sizeof sa) != 0)
        goto fail;
    if (listen(fd, BACKLOG) != 0)
        goto fail;
    return fd;
fail:
    err = errno;
    if (fd >= 0)
        close(fd);
    sockutil_errmsg(err_msg, errlen, path, err);
    return TERN_ESYS;
}

int listener_accept(int lfd, char *peer, size_t peerlen)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        memset(&ss, 0, sizeof ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
                (void)sockutil_set_nodelay(fd); /* best effort: latency only */
            if (peer != NULL && peerlen > 0)
                sockutil_format_addr((const struct sockaddr *)&ss, peer, peerlen);
            return fd;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TERN_EAGAIN;
        return TERN_ESYS;
    }
}
