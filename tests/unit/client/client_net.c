/* Socket helpers for libtern's unit tests (see client_net.h). */
#include "client_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int client_net_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

bool client_net_pump(struct tern_client *c, bool (*cond)(struct tern_client *))
{
    while (!cond(c)) {
        int fd = tern_client_fd(c);
        if (fd < 0)
            return false;
        struct pollfd p = {fd, POLLIN, 0};
        if (tern_client_wants_write(c))
            p.events |= POLLOUT;
        if (poll(&p, 1, CLIENT_NET_WAIT_MS) <= 0)
            return false;
        if (p.revents & (POLLOUT | POLLERR | POLLHUP))
            tern_client_on_writable(c);
        if (!tern_client_is_closed(c) && (p.revents & (POLLIN | POLLERR | POLLHUP)))
            tern_client_on_readable(c);
    }
    return true;
}
