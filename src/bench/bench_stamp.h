/* The 16-byte stamp at the start of every benchmark payload: send time, publisher and sequence,
 * so the receiver computes latency, losses and duplicates without shared state. Layout (all
 * big-endian): [0..8) CLOCK_MONOTONIC send time in ns, [8..12) publisher index, [12..16)
 * sequence number (1, 2, ...). Bytes after the stamp are filler. */
#ifndef TERN_BENCH_BENCH_STAMP_H
#define TERN_BENCH_BENCH_STAMP_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_STAMP_LEN 16

struct bench_stamp {
    uint64_t sent_ns;
    uint32_t pub;
    uint32_t seq;
};

/* Writes s into p[0..BENCH_STAMP_LEN). */
void bench_stamp_put(uint8_t *p, const struct bench_stamp *s);
/* Reads a stamp from payload[0..len). 0, or TERN_EPROTO when len < BENCH_STAMP_LEN. */
int bench_stamp_get(const uint8_t *payload, size_t len, struct bench_stamp *out);

#endif
