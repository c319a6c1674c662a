/* The load generator's connection engine: one thread, one epoll set, non-blocking client
 * sockets (bound over 127.0.0.0/8 to pass the 64k ports-per-address limit), the MQTT flows of
 * QoS 0/1/2 on both sides, closed-loop windows or an open-loop rate per publisher, and the
 * receive-side accounting (latency, duplicates). It does not choose topics or phases: the
 * scenario code (bench_scenario.c) wires publishers and subscribers and drives the clock. */
#ifndef TERN_BENCH_BENCH_ENGINE_H
#define TERN_BENCH_BENCH_ENGINE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench_hist.h"
#include "bench_opts.h"
#include "bench_wire.h"
#include "buf.h"
#include "err.h"

#define BENCH_NONE UINT32_MAX

struct bench_conn {
    int fd;
    uint8_t state; /* enum in bench_engine.c */
    bool out_armed;
    bool dirty;
    uint32_t pub;      /* index in pubs, or BENCH_NONE */
    uint32_t sub_slot; /* index among subscribers, or BENCH_NONE */
    uint32_t pending_subacks;
    uint32_t pending_pings;
    uint16_t next_pid;
    struct buf in;  /* an incomplete packet kept between reads */
    struct buf out; /* bytes not yet accepted by the socket */
};

struct bench_pub {
    uint32_t conn;
    struct bench_tmpl tmpl;
    uint32_t topic_range; /* > 0: patch a topic number in [0, topic_range) per message */
    bool sequential;      /* topic numbers 0, 1, 2, ... instead of random */
    uint32_t fanout;      /* deliveries expected per message; 0 = no subscriber feedback */
    uint64_t limit;       /* stop after this many messages; 0 = no limit */
    uint32_t seq;         /* last sequence number sent */
    uint64_t sent;
    uint64_t deliveries; /* deliveries of this publisher's messages seen by our subscribers */
    uint64_t written_off;
    uint32_t unacked; /* QoS > 0: PUBLISH without PUBACK/PUBCOMP yet */
    uint16_t next_pid;
    uint64_t progress_ns; /* last ack or delivery */
    uint64_t offset_ns;   /* open loop: phase offset so publishers do not fire together */
    uint64_t rng;
};

struct bench_stats {
    uint64_t sent;
    uint64_t received; /* deliveries, duplicates included */
    uint64_t dups;     /* a sequence number at or below the last one from that publisher */
    uint64_t gaps;     /* a sequence number that skipped ahead */
    uint64_t win_sent;
    uint64_t win_received;
    uint64_t stalls;          /* closed-loop windows written off after no progress */
    uint64_t suback_failures; /* SUBACK return codes >= 0x80 */
    uint64_t refused;         /* CONNACK with a non-zero code */
    uint64_t closed;          /* connections the broker closed */
    struct bench_hist hist;   /* latency of deliveries while measuring, ns */
};

struct bench_engine {
    const struct bench_opts *o;
    int ep;
    int tfd; /* timerfd for the open-loop schedule */
    struct sockaddr_in addr;
    uint32_t source_addrs;
    struct bench_conn *conns;
    uint32_t nconns;
    uint32_t started; /* conns[0..started) have been given a socket */
    uint32_t connecting;
    uint32_t ready;
    struct bench_pub *pubs;
    uint32_t npubs;
    uint32_t nsubs;
    uint32_t *last_seq; /* [sub_slot * npubs + pub], NULL when too large to track */
    uint32_t *dirty;
    uint32_t ndirty;
    uint8_t *scratch;
    uint16_t receive_max; /* smallest v5 Receive Maximum seen in CONNACKs */
    bool publishing;
    bool measuring;
    bool busy; /* publishers sent last turn: poll without sleeping */
    uint64_t open_start_ns;
    double rate_per_pub; /* open loop msg/s per publisher; 0 = closed loop */
    struct bench_stats st;
    char err[200];
};

/* Creates the epoll set and room for nconns connections of which npubs publish; no socket yet.
 * 0, TERN_ENOMEM, TERN_ESYS or TERN_EINVAL (bad host). */
TERN_MUST_CHECK int bench_engine_init(struct bench_engine *e, const struct bench_opts *o,
                                      uint32_t nconns, uint32_t npubs);
/* Closes every socket and frees everything. Accepts a zeroed engine. */
void bench_engine_deinit(struct bench_engine *e);
/* Makes conn a publisher of topic (see bench_tmpl for digits) with the given fanout and
 * returns its publisher index, or a negative TERN_E*. Publisher indexes are given in order. */
int bench_engine_add_pub(struct bench_engine *e, uint32_t conn, struct tern_bytes topic,
                         uint32_t digits, uint32_t fanout, bool retain);
/* Makes conn a subscriber (it gets a slot for duplicate tracking). */
void bench_engine_add_sub(struct bench_engine *e, uint32_t conn);
/* Opens and connects conns [0..n) (all when n > nconns), at most opts.connect_parallel at a
 * time, until each has its CONNACK. 0, TERN_ETIMEDOUT or TERN_EIO (see e->err). */
TERN_MUST_CHECK int bench_engine_connect(struct bench_engine *e, uint32_t n, uint64_t deadline_ns);
/* Queues SUBSCRIBE packets for filters[0..n) on conn (batched per packet). 0 or TERN_ENOMEM. */
TERN_MUST_CHECK int bench_engine_subscribe(struct bench_engine *e, uint32_t conn,
                                           const struct tern_bytes *filters, size_t n);
/* Queues a PINGREQ on conn; its PINGRESP proves the broker handled everything sent before. */
TERN_MUST_CHECK int bench_engine_ping(struct bench_engine *e, uint32_t conn);
/* Runs the loop until done(e, arg) is true or deadline_ns passes. 0, TERN_ETIMEDOUT, or
 * TERN_EIO on a fatal error (see e->err). */
typedef bool (*bench_done_fn)(const struct bench_engine *e, const void *arg);
TERN_MUST_CHECK int bench_engine_run(struct bench_engine *e, uint64_t deadline_ns,
                                     bench_done_fn done, const void *arg);
/* Starts (or stops) the publishers; the open-loop schedule starts at now_ns. */
void bench_engine_publish(struct bench_engine *e, bool on, uint64_t now_ns);
/* True when every SUBACK and PINGRESP has arrived. */
bool bench_engine_idle_done(const struct bench_engine *e, const void *arg);
/* True when every message sent was delivered as expected and acknowledged. */
bool bench_engine_drained(const struct bench_engine *e, const void *arg);
/* Deliveries still expected: sum over publishers of sent * fanout minus unique deliveries. */
uint64_t bench_engine_missing(const struct bench_engine *e);

#endif
