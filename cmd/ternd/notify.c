/* sd_notify's wire protocol: connect an AF_UNIX datagram socket to $NOTIFY_SOCKET and send
 * newline-separated VAR=value assignments, one datagram per state change. */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int notify_open(const char **why)
{
    *why = NULL;
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return -1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path) {
        *why = "NOTIFY_SOCKET is neither an absolute path nor an @abstract name that fits";
        return -1;
    }
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace: no terminating NUL counts */
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, len) != 0) {
        *why = strerror(errno);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

void notify_send(int fd, const char *state)
{
    if (fd >= 0)
        (void)send(fd, state, strlen(state), MSG_NOSIGNAL);
}
