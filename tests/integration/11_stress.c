/* Integration stress: 200 clients (3.1.1 and v5 alternating) on a broker with worker_threads 2.
 * Each client publishes 20 QoS 1 messages to its neighbour's topic, pipelined, and client 0 sends
 * one QoS 0 broadcast that everyone subscribed to. Every count must be exact: each client gets
 * its 20 PUBACKs, exactly its predecessor's 20 messages (each once) and the broadcast once.
 * Then order across takeovers: a persistent subscriber reconnects over and over (its session
 * moving between the two workers) while a publisher streams numbered QoS 1 messages; each
 * connection must see them in increasing order, and every one must arrive. (The narrow race the
 * settle step closes, one iteration of the publisher's worker straddling the move, did not show
 * here in 50 runs without it; tests/unit/broker_mem stages it deterministically.) Last, the
 * spread of connections over the workers, and the default worker count. */
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "integ.h"

#define NCLIENTS   200
#define PER_CLIENT 20

struct peer {
    struct tclient c;
    int pubacks;
    int got[PER_CLIENT];
    int broadcasts;
    int errors;
};

static void on_packet(struct peer *peers, int i, struct tclient_pkt *r)
{
    struct peer *me = &peers[i];
    char topic[32];
    if (r->type == CT_PUBACK) {
        me->pubacks++;
        return;
    }
    if (r->type != CT_PUBLISH) {
        tclient_pkt_dump("stress: unexpected", r);
        me->errors++;
        return;
    }
    if (integ_is_msg(r, "st/all", "hello all")) {
        me->broadcasts++;
        return;
    }
    snprintf(topic, sizeof topic, "st/%d", i);
    int from = -1, k = -1;
    char payload[64];
    size_t n = r->payload_len < sizeof payload - 1 ? r->payload_len : sizeof payload - 1;
    memcpy(payload, r->payload, n);
    payload[n] = 0;
    if (r->topic_len != strlen(topic) || memcmp(r->topic, topic, r->topic_len) != 0 ||
        sscanf(payload, "from %d #%d", &from, &k) != 2 || from != (i + NCLIENTS - 1) % NCLIENTS ||
        k < 0 || k >= PER_CLIENT || r->qos != 1) {
        tclient_pkt_dump("stress: wrong message", r);
        me->errors++;
        return;
    }
    me->got[k]++;
    if (integ_send_ack(&me->c, CT_PUBACK, r->packet_id) != 0)
        me->errors++;
}

static int done(const struct peer *p)
{
    int sum = 0;
    for (int k = 0; k < PER_CLIENT; k++)
        sum += p->got[k];
    return p->pubacks == PER_CLIENT && sum == PER_CLIENT && p->broadcasts == 1;
}

/* Poll every socket until all peers are done or the deadline passes. */
static void pump(struct peer *peers, long long deadline)
{
    static struct pollfd pfd[NCLIENTS];
    for (;;) {
        int remaining = 0;
        for (int i = 0; i < NCLIENTS; i++)
            remaining += !done(&peers[i]);
        long long left = deadline - integ_now_ms();
        if (!remaining || left <= 0)
            return;
        for (int i = 0; i < NCLIENTS; i++)
            pfd[i] = (struct pollfd){.fd = peers[i].c.fd, .events = POLLIN};
        if (poll(pfd, NCLIENTS, (int)left) <= 0)
            return;
        for (int i = 0; i < NCLIENTS; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            struct tclient_pkt r;
            int rc;
            while ((rc = tclient_recv(&peers[i].c, &r, 0)) == 0) {
                on_packet(peers, i, &r);
                tclient_pkt_free(&r);
            }
            if (rc != TCLIENT_TIMEOUT) {
                fprintf(stderr, "stress: client %d lost its connection\n", i);
                peers[i].errors++;
                return;
            }
        }
    }
}

static void test_stress_many_clients(void)
{
    struct spawner *b = spawner_start("worker_threads 2\nmax_inflight_messages 20");
    REQUIRE(b);
    struct peer *peers = calloc(NCLIENTS, sizeof *peers);
    REQUIRE(peers);
    char id[32], topic[32], payload[64];
    int ok = 1;
    for (int i = 0; i < NCLIENTS && ok; i++) {
        snprintf(id, sizeof id, "stress-%d", i);
        snprintf(topic, sizeof topic, "st/%d", i);
        int v = i % 2 ? 5 : 4;
        ok = tclient_start(&peers[i].c, spawner_port(b), v, id, 60, 1, NULL) == 0 &&
             tclient_sub(&peers[i].c, 1, topic, 1, 0x01) == 0 &&
             tclient_sub(&peers[i].c, 2, "st/all", 0, 0x00) == 0;
    }
    CHECK(ok);
    for (int i = 0; i < NCLIENTS && ok; i++) {
        snprintf(topic, sizeof topic, "st/%d", (i + 1) % NCLIENTS);
        for (int k = 0; k < PER_CLIENT && ok; k++) {
            snprintf(payload, sizeof payload, "from %d #%d", i, k);
            struct pkt p;
            pkt_init(&p);
            pkt_publish(&p, peers[i].c.version, topic, payload, 1, 0, (uint16_t)(k + 1));
            ok = tclient_send(&peers[i].c, &p) == 0;
            pkt_free(&p);
        }
    }
    if (ok) {
        struct pkt p;
        pkt_init(&p);
        pkt_publish(&p, 4, "st/all", "hello all", 0, 0, 0);
        ok = tclient_send(&peers[0].c, &p) == 0;
        pkt_free(&p);
    }
    CHECK(ok);
    if (ok)
        pump(peers, integ_now_ms() + 30000);
    int complete = 0, errors = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        complete += done(&peers[i]);
        errors += peers[i].errors;
        for (int k = 0; k < PER_CLIENT; k++) {
            if (peers[i].got[k] > 1) {
                fprintf(stderr, "client %d got message #%d %d times\n", i, k, peers[i].got[k]);
                errors++;
            }
        }
    }
    CHECK_EQ_INT(complete, NCLIENTS);
    CHECK_EQ_INT(errors, 0);
    /* Nothing beyond the exact counts: each client's next packet is its PINGRESP. */
    for (int i = 0; i < NCLIENTS && complete == NCLIENTS; i++)
        CHECK(tclient_ping(&peers[i].c) == 0);
    for (int i = 0; i < NCLIENTS; i++)
        tclient_close(&peers[i].c);
    free(peers);
    CHECK(spawner_stop(b) == 0);
}

#define ORDER_ROUNDS 40
#define ORDER_CHUNK  50
#define ORDER_TOTAL  (ORDER_ROUNDS * ORDER_CHUNK)

struct order {
    int seen[ORDER_TOTAL];
    int last; /* highest number on the current connection, -1 at its start */
    int errors;
};

/* Checks and acknowledges one packet on the subscriber's connection. */
static void order_packet(struct order *o, struct tclient *c, struct tclient_pkt *r)
{
    int k = -1;
    char payload[16];
    size_t n = r->payload_len < sizeof payload - 1 ? r->payload_len : sizeof payload - 1;
    memcpy(payload, r->payload, n);
    payload[n] = 0;
    if (r->type != CT_PUBLISH || sscanf(payload, "%d", &k) != 1 || k < 0 || k >= ORDER_TOTAL) {
        tclient_pkt_dump("order: unexpected", r);
        o->errors++;
        return;
    }
    if (k <= o->last) {
        fprintf(stderr, "order: #%d after #%d on one connection (dup %d)\n", k, o->last, r->dup);
        o->errors++;
    }
    if (o->seen[k] && !r->dup) {
        fprintf(stderr, "order: #%d again without DUP\n", k);
        o->errors++;
    }
    o->last = k;
    o->seen[k]++;
    (void)integ_send_ack(c, CT_PUBACK, r->packet_id); /* the connection may be closing */
}

static void test_takeover_keeps_order(void)
{
    /* The subscriber reads only between rounds: room for the whole stream in its queue. */
    struct spawner *b = spawner_start("worker_threads 2\nmax_queued_messages 5000");
    REQUIRE(b);
    int port = spawner_port(b);
    static struct order o;
    memset(&o, 0, sizeof o);
    o.last = -1;
    struct tclient pub, sub;
    REQUIRE(tclient_start(&pub, port, 4, "order-pub", 60, 1, NULL) == 0);
    REQUIRE(tclient_start(&sub, port, 4, "order-sub", 60, 0, NULL) == 0);
    REQUIRE(tclient_sub(&sub, 1, "order/t", 1, 0x01) == 0);
    char payload[16];
    struct pkt p;
    pkt_init(&p);
    int ok = 1;
    for (int round = 0; round < ORDER_ROUNDS && ok; round++) {
        /* The takeover races the stream: the CONNECT goes out among the publishes. */
        struct tclient next;
        ok = ok && tclient_open(&next, port, 4) == 0;
        for (int k = round * ORDER_CHUNK; k < (round + 1) * ORDER_CHUNK && ok; k++) {
            if (k == round * ORDER_CHUNK + ORDER_CHUNK / 5) {
                pkt_connect(&p, 4, "order-sub", 60, 0);
                ok = tclient_send(&next, &p) == 0;
            }
            snprintf(payload, sizeof payload, "%d", k);
            pkt_publish(&p, 4, "order/t", payload, 1, 0, (uint16_t)(k % 60000 + 1));
            ok = ok && tclient_send(&pub, &p) == 0;
        }
        /* The old connection gets what it gets until the broker closes it. */
        struct tclient_pkt r;
        int rc;
        while ((rc = tclient_recv(&sub, &r, TCLIENT_TIMEOUT_MS)) == 0) {
            order_packet(&o, &sub, &r);
            tclient_pkt_free(&r);
        }
        CHECK(rc == TCLIENT_CLOSED);
        tclient_close(&sub);
        sub = next;
        o.last = -1;
        ok = ok && tclient_expect(&sub, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) == 0;
        if (ok) {
            CHECK_EQ_INT(r.session_present, 1);
            tclient_pkt_free(&r);
        }
    }
    CHECK(ok);
    /* The rest arrives on the last connection. */
    int missing = ORDER_TOTAL;
    long long deadline = integ_now_ms() + 30000;
    while (ok && integ_now_ms() < deadline) {
        missing = 0;
        for (int k = 0; k < ORDER_TOTAL; k++)
            missing += !o.seen[k];
        if (!missing)
            break;
        struct tclient_pkt r;
        if (tclient_recv(&sub, &r, (int)(deadline - integ_now_ms())) != 0)
            break;
        order_packet(&o, &sub, &r);
        tclient_pkt_free(&r);
    }
    if (missing) {
        int shown = 0;
        for (int k = 0; k < ORDER_TOTAL && shown < 20; k++)
            if (!o.seen[k]) {
                fprintf(stderr, "order: #%d never arrived\n", k);
                shown++;
            }
    }
    CHECK_EQ_INT(missing, 0);
    CHECK_EQ_INT(o.errors, 0);
    /* The publisher got every PUBACK. */
    int acks = 0;
    struct tclient_pkt r;
    while (acks < ORDER_TOTAL && tclient_expect(&pub, &r, CT_PUBACK, TCLIENT_TIMEOUT_MS) == 0) {
        acks++;
        tclient_pkt_free(&r);
    }
    CHECK_EQ_INT(acks, ORDER_TOTAL);
    pkt_free(&p);
    tclient_close(&pub);
    tclient_close(&sub);
    CHECK(spawner_stop(b) == 0);
}

/* GET /metrics from 127.0.0.1:port into out (NUL-terminated, headers included); 0 or -1. */
static int get_metrics(int port, char *out, size_t cap)
{
    struct tclient h; /* only its socket: HTTP is sent and read raw */
    if (tclient_open(&h, port, 4) != 0)
        return -1;
    static const char req[] =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    int rc = tclient_send_raw(&h, req, sizeof req - 1);
    size_t len = 0;
    while (rc == 0 && len + 1 < cap) {
        struct pollfd p = {.fd = h.fd, .events = POLLIN};
        if (poll(&p, 1, TCLIENT_TIMEOUT_MS) <= 0) {
            rc = -1;
            break;
        }
        ssize_t n = read(h.fd, out + len, cap - 1 - len);
        if (n <= 0)
            break; /* Connection: close ends the body */
        len += (size_t)n;
    }
    out[len] = 0;
    tclient_close(&h);
    return rc;
}

/* The value of the sample line starting with `series` (name and labels), or -1. */
static double sample(const char *text, const char *series)
{
    for (const char *p = text; (p = strstr(p, series)); p++)
        if ((p == text || p[-1] == '\n') && p[strlen(series)] == ' ')
            return strtod(p + strlen(series) + 1, NULL);
    return -1;
}

/* The listener spreads connections over the workers: with worker_threads 2 and 16 clients, each
 * worker has received packets from some of them (the per-worker counters of /metrics); and with
 * no worker_threads line the broker runs one worker per online CPU. */
static void test_connections_spread(void)
{
    static const char http[] = "listener 0 127.0.0.1\nprotocol websockets\nhttp_metrics true\n"
                               "http_metrics_auth false\n";
    char conf[256], text[1 << 16];
    snprintf(conf, sizeof conf, "worker_threads 2\n%s", http);
    struct spawner *b = spawner_start(conf);
    REQUIRE(b);
    struct tclient c[16];
    for (int i = 0; i < 16; i++) {
        char id[24];
        snprintf(id, sizeof id, "spread%d", i);
        REQUIRE(tclient_start(&c[i], spawner_port(b), 4, id, 60, 1, NULL) == 0);
        CHECK(tclient_ping(&c[i]) == 0);
    }
    REQUIRE(get_metrics(spawner_ws_port(b, 0), text, sizeof text) == 0);
    CHECK(sample(text, "tern_workers") == 2);
    double w0 = sample(text, "tern_worker_packets_received_total{worker=\"0\"}");
    double w1 = sample(text, "tern_worker_packets_received_total{worker=\"1\"}");
    if (!(w0 > 0 && w1 > 0))
        fprintf(stderr, "spread: worker 0 got %g packets, worker 1 %g\n", w0, w1);
    CHECK(w0 > 0 && w1 > 0);
    for (int i = 0; i < 16; i++)
        tclient_close(&c[i]);
    CHECK(spawner_stop(b) == 0);

    b = spawner_start(http);
    REQUIRE(b);
    REQUIRE(get_metrics(spawner_ws_port(b, 0), text, sizeof text) == 0);
    CHECK(sample(text, "tern_workers") == (double)sysconf(_SC_NPROCESSORS_ONLN));
    CHECK(spawner_stop(b) == 0);
}

UNIT_MAIN(UNIT_TEST(test_stress_many_clients), UNIT_TEST(test_takeover_keeps_order),
          UNIT_TEST(test_connections_spread))
