/* The MQTT flows of the load generator, on top of the engine's sockets: handling of every packet
 * a broker sends to a client (CONNACK, SUBACK, PUBLISH with its QoS 1/2 acks, PUBACK, PUBREC,
 * PUBCOMP, PINGRESP) and the publishers' pump (closed-loop window or open-loop schedule). No
 * syscalls besides the clock: output is queued on the connections for the engine to flush. */
#ifndef TERN_BENCH_BENCH_FLOW_H
#define TERN_BENCH_BENCH_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct bench_engine;
struct bench_conn;

/* Queues len bytes on c and marks it for flushing. 0 or TERN_ENOMEM. */
TERN_MUST_CHECK int bench_flow_queue(struct bench_engine *e, struct bench_conn *c, const void *data,
                                     size_t len);
/* Consumes the complete packets at the start of data[0..len) received on c at now_ns and
 * returns the number of bytes consumed (the rest is an incomplete packet), or TERN_EPROTO when
 * the broker sent something the benchmark cannot accept (e->err says what). */
int bench_flow_input(struct bench_engine *e, struct bench_conn *c, const uint8_t *data, size_t len,
                     uint64_t now_ns);
/* Lets every publisher send what its window or schedule allows at now_ns. Returns how many
 * publishers sent something, or TERN_ENOMEM. */
TERN_MUST_CHECK int bench_flow_pump(struct bench_engine *e, uint64_t now_ns);
/* Open loop: the earliest time a publisher is due next, or 0 when none is. */
uint64_t bench_flow_next_due(const struct bench_engine *e);

#endif
