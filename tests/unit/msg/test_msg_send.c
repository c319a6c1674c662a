/* Messages on their way out (src/broker/conn.c, deliver.c over the in-memory transport): large
 * payloads are written from the shared message by reference, small ones copied, and the
 * subscriber's byte stream is exact whatever the write sizes (partial writes of 1 to 13 bytes,
 * a full socket, one and two workers); closing with payloads still queued frees everything
 * (mem_in_use back to its start, and ASan's leak check). Packets built with tests/support/pkt.h. */
#include <string.h>

#include "broker_mem.h"
#include "log.h"
#include "mem.h"
#include "pkt.h"
#include "transport_mem.h"
#include "unit.h"

#define ROUNDS 1000

static struct log quiet;

static struct broker_mem *start(const char *conf)
{
    log_init(&quiet);
    atomic_store(&quiet.dests, 0u);
    return broker_mem_new(conf, &quiet);
}

static int send_pkt(struct broker_mem *m, struct transport_mem_peer *c, struct pkt *p)
{
    int rc = transport_mem_write(c, p->data, p->len);
    pkt_reset(p);
    return rc == 0 && broker_mem_run(m, ROUNDS) == 0 ? 0 : -1;
}

/* Takes everything c has been sent into acc. */
static void take(struct transport_mem_peer *c, struct pkt *acc)
{
    size_t n;
    const uint8_t *out = transport_mem_output(c, &n);
    pkt_raw(acc, out, n);
    transport_mem_consume(c, n);
}

/* Connects id (v3.1.1); with filter, subscribes to it at QoS 1. 0 or -1. */
static int join(struct broker_mem *m, struct transport_mem_peer *c, const char *id,
                const char *filter)
{
    static const uint8_t connack[] = {0x20, 0x02, 0x00, 0x00};
    static const uint8_t suback[] = {0x90, 0x03, 0x00, 0x01, 0x01};
    struct pkt p, got;
    pkt_init(&p);
    pkt_init(&got);
    pkt_connect(&p, 4, id, 60, 1);
    int rc = send_pkt(m, c, &p);
    take(c, &got);
    rc = rc || got.len != sizeof connack || memcmp(got.data, connack, sizeof connack);
    if (!rc && filter) {
        pkt_reset(&got);
        pkt_subscribe(&p, 4, 1, filter, 1);
        rc = send_pkt(m, c, &p);
        take(c, &got);
        rc = rc || got.len != sizeof suback || memcmp(got.data, suback, sizeof suback);
    }
    pkt_free(&p);
    pkt_free(&got);
    return rc ? -1 : 0;
}

/* A payload of len bytes, different for each seed, NUL-terminated (pkt_publish takes a C
 * string). */
static char *payload(size_t len, int seed)
{
    char *s = mem_alloc(len + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < len; i++)
        s[i] = (char)('a' + (i * 7 + (size_t)seed) % 26);
    s[len] = '\0';
    return s;
}

/* Sizes around the by-reference threshold, and QoS 0 and 1, interleaved. */
static const size_t sizes[] = {2000, 16, 511, 512, 513, 70000, 3, 1024};

/* Publishes every size from pub on t/x (QoS 1 for odd indexes) and builds in want the exact
 * bytes sub must receive (QoS 1 deliveries get packet ids 1, 2, ...). */
static int publish_all(struct broker_mem *m, struct transport_mem_peer *pub, struct pkt *want)
{
    struct pkt p, ack;
    pkt_init(&p);
    pkt_init(&ack);
    uint16_t next_id = 1;
    int rc = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0] && rc == 0; i++) {
        char *pl = payload(sizes[i], (int)i);
        if (!pl) {
            rc = -1;
            break;
        }
        int qos = (int)(i % 2);
        pkt_publish(&p, 4, "t/x", pl, qos, 0, (uint16_t)(qos ? 100 + i : 0));
        rc = send_pkt(m, pub, &p);
        take(pub, &ack); /* the publisher's PUBACKs: not what this test is about */
        pkt_publish(want, 4, "t/x", pl, qos, 0, qos ? next_id++ : 0);
        mem_free(pl);
    }
    pkt_free(&p);
    pkt_free(&ack);
    return rc;
}

/* Runs the broker until sub has received want.len bytes (or nothing moves any more). */
static void drain(struct broker_mem *m, struct transport_mem_peer *sub, struct pkt *got,
                  size_t want)
{
    for (int i = 0; i < 100000 && got->len < want; i++) {
        size_t before = got->len;
        if (broker_mem_run(m, ROUNDS) != 0)
            break;
        take(sub, got);
        if (got->len == before && i > 1000)
            break;
    }
}

static void stream_exact(unsigned workers, size_t chunk)
{
    size_t before = mem_in_use();
    struct broker_mem *m =
        start(workers == 2 ? "worker_threads 2\nlistener 0\nallow_anonymous true\n"
                           : "listener 0\nallow_anonymous true\n");
    REQUIRE(m != NULL);
    struct transport_mem_peer *sub = broker_mem_connect(m, 0, 0);
    struct transport_mem_peer *pub = broker_mem_connect(m, 0, workers - 1);
    REQUIRE(sub && pub);
    REQUIRE(join(m, sub, "sub", "t/#") == 0);
    REQUIRE(join(m, pub, "pub", NULL) == 0);
    transport_mem_set_write_limit(sub, chunk, SIZE_MAX);
    struct pkt want, got;
    pkt_init(&want);
    pkt_init(&got);
    REQUIRE(publish_all(m, pub, &want) == 0);
    drain(m, sub, &got, want.len);
    CHECK_EQ_INT(got.len, want.len);
    CHECK(got.len == want.len && memcmp(got.data, want.data, want.len) == 0);
    pkt_free(&want);
    pkt_free(&got);
    broker_mem_free(m);
    CHECK_EQ_INT(mem_in_use(), before);
}

static void test_whole_writes(void)
{
    stream_exact(1, 0);
}

static void test_partial_writes(void)
{
    stream_exact(1, 1);
    stream_exact(1, 7);
    stream_exact(1, 13);
}

static void test_partial_writes_other_worker(void)
{
    stream_exact(2, 5);
}

/* One worker with "sub" subscribed to t/# and "pub" connected; NULL on failure. */
static struct broker_mem *start_pair(struct transport_mem_peer **sub,
                                     struct transport_mem_peer **pub)
{
    struct broker_mem *m = start("listener 0\nallow_anonymous true\n");
    if (!m)
        return NULL;
    *sub = broker_mem_connect(m, 0, 0);
    *pub = broker_mem_connect(m, 0, 0);
    if (*sub && *pub && join(m, *sub, "sub", "t/#") == 0 && join(m, *pub, "pub", NULL) == 0)
        return m;
    broker_mem_free(m);
    return NULL;
}

/* The socket takes only part of the stream, then nothing: the subscriber goes away with large
 * payloads still queued by reference. Every message and buffer must be freed. */
static void test_close_with_queued_payloads(void)
{
    size_t before = mem_in_use();
    struct transport_mem_peer *sub, *pub;
    struct broker_mem *m = start_pair(&sub, &pub);
    REQUIRE(m != NULL);
    transport_mem_set_write_limit(sub, 0, 1500); /* stops inside the first payload */
    struct pkt want, got;
    pkt_init(&want);
    pkt_init(&got);
    REQUIRE(publish_all(m, pub, &want) == 0);
    REQUIRE(broker_mem_run(m, ROUNDS) == 0);
    take(sub, &got);
    CHECK_EQ_INT(got.len, 1500);
    CHECK(got.len <= want.len && memcmp(got.data, want.data, got.len) == 0);
    transport_mem_shutdown(sub); /* the server reads end of stream and closes */
    REQUIRE(broker_mem_run(m, ROUNDS) == 0);
    CHECK(transport_mem_server_closed(sub));
    pkt_free(&want);
    pkt_free(&got);
    broker_mem_free(m);
    CHECK_EQ_INT(mem_in_use(), before);
}

/* The broker shuts down while a subscriber's queue holds payloads by reference. */
static void test_shutdown_with_queued_payloads(void)
{
    size_t before = mem_in_use();
    struct transport_mem_peer *sub, *pub;
    struct broker_mem *m = start_pair(&sub, &pub);
    REQUIRE(m != NULL);
    transport_mem_set_write_limit(sub, 0, 0); /* a full socket from the start */
    struct pkt want;
    pkt_init(&want);
    REQUIRE(publish_all(m, pub, &want) == 0);
    size_t n;
    transport_mem_output(sub, &n);
    CHECK_EQ_INT(n, 0);
    pkt_free(&want);
    broker_mem_free(m);
    CHECK_EQ_INT(mem_in_use(), before);
}

UNIT_MAIN(UNIT_TEST(test_whole_writes), UNIT_TEST(test_partial_writes),
          UNIT_TEST(test_partial_writes_other_worker), UNIT_TEST(test_close_with_queued_payloads),
          UNIT_TEST(test_shutdown_with_queued_payloads))
