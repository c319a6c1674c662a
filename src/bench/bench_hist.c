/* Log-linear latency histogram (see bench_hist.h). Values below 2^SUB_BITS get one bucket each;
 * above, bucket = (exponent block, top SUB_BITS bits below the leading one). No allocation, no
 * locking: one histogram per thread, merged at the end. */
#include "bench_hist.h"

#include <string.h>

static unsigned top_bit(uint64_t v)
{
    return 63u - (unsigned)__builtin_clzll(v);
}

uint32_t bench_hist_index(uint64_t value)
{
    const uint64_t max = (1ull << BENCH_HIST_MAX_BITS) - 1;
    if (value > max)
        value = max;
    if (value < BENCH_HIST_SUB)
        return (uint32_t)value;
    unsigned msb = top_bit(value);
    unsigned shift = msb - BENCH_HIST_SUB_BITS;
    /* Block shift + 1 holds [2^(shift+SUB_BITS), 2^(shift+SUB_BITS+1)) in SUB steps of 2^shift. */
    uint32_t sub = (uint32_t)((value >> shift) & (BENCH_HIST_SUB - 1));
    return (shift + 1) * BENCH_HIST_SUB + sub;
}

void bench_hist_bucket_range(uint32_t index, uint64_t *lo, uint64_t *hi)
{
    if (index < BENCH_HIST_SUB) {
        *lo = *hi = index;
        return;
    }
    unsigned shift = index / BENCH_HIST_SUB - 1;
    uint64_t sub = index % BENCH_HIST_SUB;
    *lo = ((uint64_t)BENCH_HIST_SUB + sub) << shift;
    *hi = *lo + (1ull << shift) - 1;
}

void bench_hist_reset(struct bench_hist *h)
{
    memset(h, 0, sizeof *h);
}

void bench_hist_record(struct bench_hist *h, uint64_t value)
{
    if (h->count == 0 || value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
    h->count++;
    h->sum += (double)value;
    h->buckets[bench_hist_index(value)]++;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
    if (src->count == 0)
        return;
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
    for (uint32_t i = 0; i < BENCH_HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
}

uint64_t bench_hist_quantile(const struct bench_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q >= 1.0)
        return h->max;
    if (q < 0)
        q = 0;
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999999);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            bench_hist_bucket_range(i, &lo, &hi);
            if (hi > h->max)
                hi = h->max;
            return hi < h->min ? h->min : hi;
        }
    }
    return h->max;
}

double bench_hist_mean(const struct bench_hist *h)
{
    return h->count ? h->sum / (double)h->count : 0.0;
}
