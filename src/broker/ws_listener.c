/* Placeholder until the HTTP layer is wired: refuses the connection. */
#include "ws_listener.h"

#include <stdatomic.h>
#include <unistd.h>

#include "broker.h"
#include "worker.h"

void ws_listener_accept(struct worker *w, int fd, const char *peer, struct listener_rt *lr)
{
    (void)w;
    (void)peer;
    close(fd);
    atomic_fetch_sub(&lr->connections, 1);
}
