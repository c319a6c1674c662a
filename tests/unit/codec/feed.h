/* The codec conformance harness: feeds one raw input to codec_decode() in every way the tests
 * require, always flush against a PROT_NONE guard page (guard.h) so an over-read crashes:
 * (1) whole, (2) every shorter prefix, which must give TERN_EAGAIN (or, for a malformed input,
 * the same error early), (3) the input followed by a PINGREQ, decoded as buf[0..k) for every k,
 * which must agree with (1) and then decode the PINGREQ. It builds no packets itself. */
#ifndef TERN_TESTS_CODEC_FEED_H
#define TERN_TESTS_CODEC_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "pkt.h"
#include "unit.h"

/* Runs all three feeds and records a failure (with file:line) for any inconsistency between
 * them. Returns the whole decode's result with *out and *reason from it; *out's slices point
 * into the guard copy and stay valid until the next feed_* call. */
int feed_decode(const char *file, int line, const uint8_t *in, size_t len, uint8_t version,
                uint32_t max_packet_size, struct mqtt_packet *out, uint8_t *reason);

/* Expects the input to decode as one whole packet (return == len). Returns true when it did. */
bool feed_ok(const char *file, int line, const uint8_t *in, size_t len, uint8_t version,
             struct mqtt_packet *out);

/* Expects TERN_EPROTO with *reason == want (or == alt when alt != want: used only where the spec
 * names no single reason code, as the caller's comment explains). want 0 accepts any failure
 * reason (>= 0x80): for v3.1/3.1.1, which send no reason code. */
void feed_err(const char *file, int line, const uint8_t *in, size_t len, uint8_t version,
              uint32_t max_packet_size, uint8_t want, uint8_t alt);

#define FEED_OK(in, len, version, out) feed_ok(__FILE__, __LINE__, (in), (len), (version), (out))
#define FEED_OK_PKT(p, version, out)                                                               \
    feed_ok(__FILE__, __LINE__, (p)->data, (p)->len, (version), (out))
#define FEED_ERR(in, len, version, want)                                                           \
    feed_err(__FILE__, __LINE__, (in), (len), (version), 0, (want), (want))
#define FEED_ERR_PKT(p, version, want)                                                             \
    feed_err(__FILE__, __LINE__, (p)->data, (p)->len, (version), 0, (want), (want))
/* For the cases where the spec only says the packet is invalid and names no reason code. */
#define FEED_ERR2_PKT(p, version, want, alt)                                                       \
    feed_err(__FILE__, __LINE__, (p)->data, (p)->len, (version), 0, (want), (alt))

/* v3.1/3.1.1: the packet must be refused; v3 has no reason codes to compare. */
#define FEED_FAIL_PKT(p, version)                                                                  \
    feed_err(__FILE__, __LINE__, (p)->data, (p)->len, (version), 0, 0, 0)

/* Literal byte arrays. */
#define FEED_OK_ARR(arr, version, out)   FEED_OK((arr), sizeof(arr), (version), (out))
#define FEED_ERR_ARR(arr, version, want) FEED_ERR((arr), sizeof(arr), (version), (want))
#define FEED_ERR2_ARR(arr, version, want, alt)                                                     \
    feed_err(__FILE__, __LINE__, (arr), sizeof(arr), (version), 0, (want), (alt))
#define FEED_FAIL_ARR(arr, version)                                                                \
    feed_err(__FILE__, __LINE__, (arr), sizeof(arr), (version), 0, 0, 0)

/* Slice helpers for field checks. */
#define CHECK_BYTES_STR(b, s)  CHECK_MEM((b).ptr, (b).len, (s), strlen(s))
#define CHECK_BYTES(b, arr, n) CHECK_MEM((b).ptr, (b).len, (arr), (n))

#endif
