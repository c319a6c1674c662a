/* The in-memory broker: the real broker (workers, connections, handlers, delivery, sessions)
 * with no listening socket and no thread. Connections are in-memory transports
 * (transport_mem.h) attached by the caller, and the caller's thread runs the workers' loops
 * until nothing is left to do. For unit tests and fuzz_session; ternd never uses it. */
#ifndef TERN_BROKER_BROKER_MEM_H
#define TERN_BROKER_BROKER_MEM_H

#include <stddef.h>

#include "err.h"

struct broker;
struct broker_mem;
struct log;
struct transport_mem_peer;

/* Builds an in-memory broker from a mosquitto.conf text (listeners are used for their
 * settings only, never bound; with no worker_threads line there is one worker). Diagnostics
 * go to log, which must outlive the broker. Returns NULL on a bad config or out of memory. */
struct broker_mem *broker_mem_new(const char *config_text, struct log *log);
/* Shuts the broker down as SIGTERM would (every connection closed, no wills), runs the
 * workers until that is done, and frees the broker and every peer it handed out. NULL is a
 * no-op. */
void broker_mem_free(struct broker_mem *m);
/* The broker inside (for inspection: registry, counters). */
struct broker *broker_mem_broker(struct broker_mem *m);
/* Attaches a new connection on listener `listener` (file order; clamped to the last one),
 * served by worker `worker` modulo the worker count: MQTT, or HTTP (REST API, /metrics, the
 * WebSocket upgrade) on a websockets listener. Returns the client's end, owned by m
 * (valid until broker_mem_free; its server side may close earlier: see
 * transport_mem_server_closed), or NULL when out of memory or descriptors. */
struct transport_mem_peer *broker_mem_connect(struct broker_mem *m, size_t listener,
                                              unsigned worker);
/* Runs the workers' loops, round robin, until every worker is idle and every open connection
 * has read all its input (or seen its end of stream), at most max_rounds rounds. Timers run
 * only if they fall due meanwhile (real time). Returns 0 when idle, TERN_ETIMEDOUT when still
 * busy after max_rounds, or TERN_ESYS. */
TERN_MUST_CHECK int broker_mem_run(struct broker_mem *m, unsigned max_rounds);

#endif
