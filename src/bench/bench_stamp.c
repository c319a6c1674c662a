/* Encoding of the payload stamp (see bench_stamp.h). Pure byte shuffling: no clock reads here,
 * the caller supplies the time. */
#include "bench_stamp.h"

#include "err.h"

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

void bench_stamp_put(uint8_t *p, const struct bench_stamp *s)
{
    put_be(p, s->sent_ns, 8);
    put_be(p + 8, s->pub, 4);
    put_be(p + 12, s->seq, 4);
}

int bench_stamp_get(const uint8_t *payload, size_t len, struct bench_stamp *out)
{
    if (len < BENCH_STAMP_LEN)
        return TERN_EPROTO;
    out->sent_ns = get_be(payload, 8);
    out->pub = (uint32_t)get_be(payload + 8, 4);
    out->seq = (uint32_t)get_be(payload + 12, 4);
    return 0;
}
