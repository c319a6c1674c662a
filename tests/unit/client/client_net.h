/* Socket helpers shared by libtern's socket-level unit tests: a loopback listener on an
 * ephemeral port and a poll loop that drives a client until a condition holds. Test code only. */
#ifndef TERN_TESTS_CLIENT_NET_H
#define TERN_TESTS_CLIENT_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "tern.h"

/* Bound for one poll without progress, in milliseconds. */
#define CLIENT_NET_WAIT_MS 5000

/* A listening TCP socket on 127.0.0.1 and an ephemeral port (stored in *port); -1 on error. */
int client_net_listen(uint16_t *port);

/* Feeds c's socket readiness to libtern until cond(c) holds. False when the client has no
 * socket or CLIENT_NET_WAIT_MS pass without an event. */
bool client_net_pump(struct tern_client *c, bool (*cond)(struct tern_client *));

#endif
