/* The conformance harness behind feed.h: whole, prefix and split feeds against a guard page.
 * Checks only consistency between the feeds; the tests check the decoded fields. */
#include "feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "mem.h"

static struct guard guard_region;

static const uint8_t pingreq[2] = {0xC0, 0x00};

static void fail(const char *file, int line, const char *what, size_t k, int got, uint8_t reason)
{
    fprintf(stderr, "%s:%d: feed %s k=%zu: got %d (%s) reason 0x%02X\n", file, line, what, k, got,
            tern_err_name(got), reason);
    unit_failures++;
}

static int decode_at(const uint8_t *in, size_t len, uint8_t version, uint32_t max,
                     struct mqtt_packet *out, uint8_t *reason)
{
    const uint8_t *at = guard_place(&guard_region, in, len);
    /* Poison so that a field the decoder forgets to set does not pass by luck. */
    memset(out, 0x01, sizeof *out);
    *reason = 0xEE;
    return codec_decode(at, len, version, max, out, reason);
}

/* A result for an incomplete input: TERN_EAGAIN, or the whole input's error found early. */
static bool incomplete_ok(int r, uint8_t reason, int whole, uint8_t whole_reason)
{
    if (r == TERN_EAGAIN)
        return true;
    return whole == TERN_EPROTO && r == TERN_EPROTO && reason == whole_reason;
}

static void feed_prefixes(const char *file, int line, const uint8_t *in, size_t len,
                          uint8_t version, uint32_t max, int whole, uint8_t whole_reason)
{
    struct mqtt_packet pk;
    uint8_t reason;
    for (size_t k = 0; k < len; k++) {
        int r = decode_at(in, k, version, max, &pk, &reason);
        if (!incomplete_ok(r, reason, whole, whole_reason)) {
            fail(file, line, "prefix", k, r, reason);
            return;
        }
    }
}

/* The input then a PINGREQ, decoded as buf[0..k) for every k up to the whole buffer. */
static void feed_split(const char *file, int line, const uint8_t *in, size_t len, uint8_t version,
                       uint32_t max, int whole, uint8_t whole_reason)
{
    size_t total = len + sizeof pingreq;
    uint8_t *buf = mem_alloc(total);
    if (!buf)
        abort();
    memcpy(buf, in, len);
    memcpy(buf + len, pingreq, sizeof pingreq);
    struct mqtt_packet pk;
    uint8_t reason;
    for (size_t k = 0; k <= total; k++) {
        int r = decode_at(buf, k, version, max, &pk, &reason);
        bool good = k < len ? incomplete_ok(r, reason, whole, whole_reason)
                            : r == whole && (r > 0 || reason == whole_reason);
        if (!good) {
            fail(file, line, "split", k, r, reason);
            goto done;
        }
    }
    if (whole == (int)len) {
        int r = decode_at(buf + len, sizeof pingreq, version, max, &pk, &reason);
        if (r != (int)sizeof pingreq || pk.type != MQTT_PINGREQ)
            fail(file, line, "next packet", len, r, reason);
    }
done:
    mem_free(buf);
}

int feed_decode(const char *file, int line, const uint8_t *in, size_t len, uint8_t version,
                uint32_t max_packet_size, struct mqtt_packet *out, uint8_t *reason)
{
    /* Decode whole once to learn the expected result, then the other feeds, then whole again
     * last so that *out points into the copy that stays placed. */
    int whole = decode_at(in, len, version, max_packet_size, out, reason);
    uint8_t whole_reason = *reason;
    feed_prefixes(file, line, in, len, version, max_packet_size, whole, whole_reason);
    feed_split(file, line, in, len, version, max_packet_size, whole, whole_reason);
    int again = decode_at(in, len, version, max_packet_size, out, reason);
    if (again != whole || (again < 0 && *reason != whole_reason))
        fail(file, line, "repeat", len, again, *reason);
    return again;
}

bool feed_ok(const char *file, int line, const uint8_t *in, size_t len, uint8_t version,
             struct mqtt_packet *out)
{
    uint8_t reason = 0;
    int r = feed_decode(file, line, in, len, version, 0, out, &reason);
    if (r != (int)len) {
        fprintf(stderr, "%s:%d: expected a whole packet of %zu bytes\n", file, line, len);
        fail(file, line, "whole", len, r, reason);
        return false;
    }
    if (out->len != len) { /* the packet's own size, for the broker's byte counters */
        fail(file, line, "len field", len, (int)out->len, reason);
        return false;
    }
    return true;
}

void feed_err(const char *file, int line, const uint8_t *in, size_t len, uint8_t version,
              uint32_t max_packet_size, uint8_t want, uint8_t alt)
{
    struct mqtt_packet pk;
    uint8_t reason = 0;
    int r = feed_decode(file, line, in, len, version, max_packet_size, &pk, &reason);
    bool good = want == 0 ? reason >= 0x80 : reason == want || reason == alt;
    if (r != TERN_EPROTO || !good) {
        fprintf(stderr, "%s:%d: expected TERN_EPROTO with reason 0x%02X", file, line, want);
        if (alt != want)
            fprintf(stderr, " or 0x%02X", alt);
        fprintf(stderr, "\n");
        fail(file, line, "whole", len, r, reason);
    }
}
