/* Integration stress: 200 clients (3.1.1 and v5 alternating) on a broker with worker_threads 2.
 * Each client publishes 20 QoS 1 messages to its neighbour's topic, pipelined, and client 0 sends
 * one QoS 0 broadcast that everyone subscribed to. Every count must be exact: each client gets
 * its 20 PUBACKs, exactly its predecessor's 20 messages (each once) and the broadcast once. */
#include <poll.h>
#include <stdlib.h>

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

UNIT_MAIN(UNIT_TEST(test_stress_many_clients))
