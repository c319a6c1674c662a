/* Fuzz target for whole sessions against the in-memory broker (broker_mem.h): up to four
 * clients' byte streams go to the real broker (workers, handlers, delivery, sessions) run in
 * this thread. Byte 0: bits 0-1 the configuration (plain; two workers with small windows and
 * queues; tight limits; mount point and Response Information), bits 2-3 the broker's read
 * chunk (none, 1, 3, 64 bytes). Then records `H LEN BYTES[LEN]`: H bits 0-1 the client slot,
 * bits 2-3 the action: 0 write then run until idle, 1 write only, 2 write then close the
 * client's side (a new connection takes the slot at its next record) and run, 3 run only.
 * Invariants: every run settles (no hang), what the broker sends each client is a sequence of
 * whole packets of server-to-client types with the fixed-header flags the spec requires
 * [MQTT-2.2.2-1], starting with CONNACK [MQTT-3.2.0-1]; everything is freed at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_mem.h"
#include "err.h"
#include "fuzz_target.h"
#include "log.h"
#include "transport_mem.h"

#define SLOTS  4
#define ROUNDS 20000

static const char *const configs[4] = {
    "listener 0\nallow_anonymous true\n",
    "worker_threads 2\nlistener 0\nallow_anonymous true\nmax_inflight_messages 2\n"
    "max_queued_messages 4\n",
    "listener 0\nallow_anonymous true\nmax_packet_size 200\nmax_topic_alias 2\n"
    "max_keepalive 30\nmax_qos 1\nretain_available false\nmax_retained_messages 2\n",
    "listener 0\nallow_anonymous true\nmount_point m/\nresponse_information r\n",
};
static const size_t chunks[4] = {0, 1, 3, 64};

struct slot {
    struct transport_mem_peer *peer; /* owned by the broker_mem */
    bool seen_first;                 /* the first packet was checked */
};

/* The fixed-header flags of a server-to-client packet type, or -1 when the server may not send
 * that type; PUBLISH (3) takes any flags except QoS 3 and is checked apart. */
static int server_flags(unsigned type)
{
    static const int flags[16] = {-1, 0, 0, -2, 0, 0, 2, 0, -1, 0, -1, 0, -1, 0, 0, 0};
    return flags[type];
}

/* Checks and consumes the complete packets of one client's output; aborts on a broken rule. */
static void check_output(struct slot *s)
{
    size_t len, off = 0;
    const uint8_t *out = transport_mem_output(s->peer, &len);
    while (off < len) {
        unsigned type = out[off] >> 4, fl = out[off] & 0x0fu;
        size_t rl = 0, i = off + 1;
        for (unsigned shift = 0; i < len && shift <= 21; shift += 7, i++) {
            rl |= (size_t)(out[i] & 0x7fu) << shift;
            if (!(out[i] & 0x80u))
                break;
        }
        if (i >= len || (out[i] & 0x80u) || len - (i + 1) < rl)
            abort(); /* the broker flushed a partial packet or a bad length */
        int want = server_flags(type);
        if (want == -1 || (want >= 0 && fl != (unsigned)want) || (type == 3 && (fl & 6) == 6))
            abort();
        if (!s->seen_first && type != 2)
            abort(); /* the first packet to a client is CONNACK [MQTT-3.2.0-1] */
        s->seen_first = true;
        off = i + 1 + rl;
    }
    transport_mem_consume(s->peer, len);
}

static void run(struct broker_mem *m, struct slot *slots)
{
    if (broker_mem_run(m, ROUNDS) != 0)
        abort(); /* the broker did not settle: a livelock */
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].peer)
            check_output(&slots[i]);
}

/* Applies one record; returns the bytes it used. */
static size_t record(struct broker_mem *m, struct slot *slots, size_t chunk, const uint8_t *d,
                     size_t n)
{
    unsigned slot = d[0] & 3u, action = (d[0] >> 2) & 3u;
    size_t len = n > 1 ? d[1] : 0;
    if (len > n - 2 || n < 2)
        len = n < 2 ? 0 : n - 2;
    struct slot *s = &slots[slot];
    if (action != 3 && len) {
        if (!s->peer) {
            s->peer = broker_mem_connect(m, 0, slot);
            s->seen_first = false;
            if (!s->peer)
                abort(); /* out of descriptors: a harness failure */
            transport_mem_set_chunk(s->peer, chunk);
        }
        /* A write after the broker closed the connection is refused, as on a socket. */
        int rc = transport_mem_write(s->peer, d + 2, len);
        (void)rc;
    }
    if (action == 2 && s->peer) {
        transport_mem_shutdown(s->peer);
        run(m, slots);
        check_output(s);
        s->peer = NULL; /* broker_mem frees it at the end */
    } else if (action != 1) {
        run(m, slots);
    }
    return 2 + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct log quiet;
    log_init(&quiet);
    atomic_store(&quiet.dests, 0u);
    atomic_store(&quiet.levels, 0u);
    struct broker_mem *m = broker_mem_new(configs[data[0] & 3u], &quiet);
    if (!m)
        abort();
    size_t chunk = chunks[(data[0] >> 2) & 3u];
    struct slot slots[SLOTS] = {{0}};
    for (size_t off = 1; off < size;)
        off += record(m, slots, chunk, data + off, size - off);
    run(m, slots);
    broker_mem_free(m);
    log_deinit(&quiet);
    return 0;
}
