/* Socket helpers: fcntl flags, TCP_NODELAY and address formatting via inet_ntop. Knows nothing
 * of the loop or of any protocol. */
#include "sockutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "err.h"

int sockutil_set_nonblock(int fd, int on)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return TERN_ESYS;
    flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    return fcntl(fd, F_SETFL, flags) == 0 ? 0 : TERN_ESYS;
}

int sockutil_set_nodelay(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 ? 0 : TERN_ESYS;
}

static char *format_v6(const struct sockaddr_in6 *s6, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];
    unsigned port = ntohs(s6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        /* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; show them as IPv4. */
        struct in_addr a4;
        memcpy(&a4, &s6->sin6_addr.s6_addr[12], sizeof a4);
        (void)inet_ntop(AF_INET, &a4, host, sizeof host);
        (void)snprintf(out, outlen, "%s:%u", host, port);
    } else {
        (void)inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        (void)snprintf(out, outlen, "[%s]:%u", host, port);
    }
    return out;
}

static char *format_v4(const struct sockaddr_in *s4, char *out, size_t outlen)
{
    char host[INET_ADDRSTRLEN];
    (void)inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
    (void)snprintf(out, outlen, "%s:%u", host, (unsigned)ntohs(s4->sin_port));
    return out;
}

char *sockutil_format_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0)
        return out;
    switch (sa->sa_family) {
    case AF_INET:
        return format_v4((const struct sockaddr_in *)(const void *)sa, out, outlen);
    case AF_INET6:
        return format_v6((const struct sockaddr_in6 *)(const void *)sa, out, outlen);
    case AF_UNIX:
        (void)snprintf(out, outlen, "unix");
        return out;
    default:
        (void)snprintf(out, outlen, "?");
        return out;
    }
}

void sockutil_errmsg(char *out, size_t outlen, const char *prefix, int err)
{
    if (out == NULL || outlen == 0)
        return;
    char reason[128];
    /* strerror_r (XSI variant here): worker threads may open sockets concurrently. */
    if (strerror_r(err, reason, sizeof reason) != 0)
        (void)snprintf(reason, sizeof reason, "error %d", err);
    (void)snprintf(out, outlen, "%s: %s", prefix, reason);
}
