/* Latency histogram with HdrHistogram-style log-linear buckets: each power of two is split in
 * 2^BENCH_HIST_SUB_BITS linear sub-buckets, so any recorded value is reported within 1/128
 * (0.8 %) of itself. Fixed size, no allocation; values are unsigned integers (nanoseconds). */
#ifndef TERN_BENCH_BENCH_HIST_H
#define TERN_BENCH_BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 7
#define BENCH_HIST_SUB      (1u << BENCH_HIST_SUB_BITS)
/* Covers values up to 2^48 - 1 (about 78 hours in ns); larger values are clamped. */
#define BENCH_HIST_MAX_BITS 48
#define BENCH_HIST_BUCKETS  ((BENCH_HIST_MAX_BITS - BENCH_HIST_SUB_BITS + 1) * BENCH_HIST_SUB)

struct bench_hist {
    uint64_t count;
    uint64_t min;
    uint64_t max;
    double sum;
    uint64_t buckets[BENCH_HIST_BUCKETS];
};

/* Empties h. */
void bench_hist_reset(struct bench_hist *h);
/* Adds one value. */
void bench_hist_record(struct bench_hist *h, uint64_t value);
/* Adds every value of src to dst. */
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* The value at quantile q in [0, 1] (0.99 = p99): the highest value of the bucket holding the
 * ceil(q * count)-th smallest value, clamped to [min, max]. 0 when h is empty. q >= 1 gives max. */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);
/* Mean of the recorded values; 0 when empty. */
double bench_hist_mean(const struct bench_hist *h);
/* Bucket index of value and the inclusive value range [lo, hi] that bucket covers. Exposed for
 * the unit tests. */
uint32_t bench_hist_index(uint64_t value);
void bench_hist_bucket_range(uint32_t index, uint64_t *lo, uint64_t *hi);

#endif
