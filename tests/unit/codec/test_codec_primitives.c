/* Conformance tests of the codec primitives: Variable Byte Integers (MQTT 5.0 1.5.5, 3.1.1 2.2.3)
 * at every size boundary, and UTF-8 validation (1.5.4 / 1.5.3). Inputs are literal bytes placed
 * against a guard page; the codec's encoder is only compared with those literals. */
#include <string.h>

#include "codec.h"
#include "guard.h"
#include "unit.h"

struct varint_vec {
    uint32_t value;
    uint8_t bytes[4];
    size_t len;
};

/* The boundary table of MQTT 5.0 1.5.5 (Table 1-1) / 3.1.1 2.2.3 (Table 2.4). */
static const struct varint_vec varints[] = {
    {0, {0x00}, 1},
    {127, {0x7F}, 1},
    {128, {0x80, 0x01}, 2},
    {16383, {0xFF, 0x7F}, 2},
    {16384, {0x80, 0x80, 0x01}, 3},
    {2097151, {0xFF, 0xFF, 0x7F}, 3},
    {2097152, {0x80, 0x80, 0x80, 0x01}, 4},
    {268435455, {0xFF, 0xFF, 0xFF, 0x7F}, 4},
};

#define NVARINTS (sizeof varints / sizeof varints[0])

static void test_varint_encode_boundaries(void)
{
    for (size_t i = 0; i < NVARINTS; i++) {
        uint8_t out[4] = {0};
        size_t n = codec_varint_encode(varints[i].value, out);
        CHECK_EQ_INT(n, varints[i].len);
        CHECK_MEM(out, n, varints[i].bytes, varints[i].len);
        CHECK_EQ_INT(codec_varint_size(varints[i].value), varints[i].len);
    }
    /* 268,435,455 is the largest value a Variable Byte Integer can hold [MQTT-1.5.5]. */
    uint8_t out[4] = {0x55, 0x55, 0x55, 0x55};
    CHECK_EQ_INT(codec_varint_encode(268435456u, out), 0);
    CHECK_EQ_INT(codec_varint_encode(UINT32_MAX, out), 0);
}

static void test_varint_decode_boundaries(void)
{
    struct guard g = {0};
    for (size_t i = 0; i < NVARINTS; i++) {
        const struct varint_vec *v = &varints[i];
        uint32_t got = 0xDEADBEEF;
        const uint8_t *at = guard_place(&g, v->bytes, v->len);
        CHECK_EQ_INT(codec_varint_decode(at, v->len, &got), (int)v->len);
        CHECK_EQ_INT(got, v->value);
        /* Every shorter prefix needs more input. */
        for (size_t k = 0; k < v->len; k++) {
            at = guard_place(&g, v->bytes, k);
            CHECK_EQ_INT(codec_varint_decode(at, k, &got), TERN_EAGAIN);
        }
        /* Bytes after the integer are not part of it. */
        uint8_t more[5];
        memcpy(more, v->bytes, v->len);
        more[v->len] = 0x7F;
        at = guard_place(&g, more, v->len + 1);
        CHECK_EQ_INT(codec_varint_decode(at, v->len + 1, &got), (int)v->len);
        CHECK_EQ_INT(got, v->value);
    }
    guard_deinit(&g);
}

static void test_varint_decode_non_minimal(void)
{
    /* "The encoded value MUST use the minimum number of bytes necessary to represent the value"
     * [MQTT-1.5.5-1]; at most four bytes (1.5.5). */
    static const struct {
        uint8_t bytes[5];
        size_t len;
    } bad[] = {
        {{0x80, 0x00}, 2},                   /* 0 in two bytes */
        {{0xFF, 0x00}, 2},                   /* 127 in two bytes */
        {{0x81, 0x80, 0x00}, 3},             /* 1 in three bytes */
        {{0x80, 0x80, 0x80, 0x00}, 4},       /* 0 in four bytes */
        {{0xFF, 0xFF, 0x80, 0x00}, 4},       /* 16383 in four bytes */
        {{0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, 5}, /* five bytes */
        {{0x80, 0x80, 0x80, 0x80, 0x01}, 5}, /* five bytes */
        {{0xFF, 0xFF, 0xFF, 0xFF}, 4},       /* a fifth byte would be needed: never valid */
    };
    struct guard g = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t got = 0;
        const uint8_t *at = guard_place(&g, bad[i].bytes, bad[i].len);
        int r = codec_varint_decode(at, bad[i].len, &got);
        if (r != TERN_EPROTO)
            fprintf(stderr, "non-minimal varint #%zu: got %d\n", i, r);
        CHECK_EQ_INT(r, TERN_EPROTO);
    }
    guard_deinit(&g);
}

static void test_varint_roundtrip_sweep(void)
{
    /* Encoder and decoder agree on every value around each size boundary. */
    static const uint32_t centers[] = {0, 128, 16384, 2097152, 268435455};
    for (size_t c = 0; c < sizeof centers / sizeof centers[0]; c++) {
        for (int64_t d = -3; d <= 3; d++) {
            int64_t v = (int64_t)centers[c] + d;
            if (v < 0 || v > MQTT_MAX_VARINT)
                continue;
            uint8_t out[4];
            uint32_t back = 0;
            size_t n = codec_varint_encode((uint32_t)v, out);
            CHECK(n >= 1 && n <= 4);
            CHECK_EQ_INT(n, codec_varint_size((uint32_t)v));
            CHECK_EQ_INT(codec_varint_decode(out, n, &back), (int)n);
            CHECK_EQ_INT(back, v);
        }
    }
}

struct utf8_vec {
    const char *name;
    const char *s;
    size_t len;
};

#define U8(name, lit)                                                                              \
    {                                                                                              \
        name, lit, sizeof(lit) - 1                                                                 \
    }

static void check_utf8(const struct utf8_vec *v, size_t n, bool want)
{
    struct guard g = {0};
    for (size_t i = 0; i < n; i++) {
        const uint8_t *at = guard_place(&g, v[i].s, v[i].len);
        bool got = codec_utf8_valid(at, v[i].len);
        if (got != want) {
            fprintf(stderr, "utf8 %s: got %d want %d\n", v[i].name, got, want);
            unit_failures++;
        }
    }
    guard_deinit(&g);
}

static void test_utf8_valid(void)
{
    /* Well-formed UTF-8 as in RFC 3629, which [MQTT-1.5.4-1] requires. */
    static const struct utf8_vec ok[] = {
        U8("empty", ""),
        U8("ascii", "sport/tennis"),
        U8("U+00A9", "\xC2\xA9"),
        U8("U+07FF", "\xDF\xBF"),
        U8("U+0800", "\xE0\xA0\x80"),
        U8("U+20AC", "\xE2\x82\xAC"),
        U8("U+D7FF", "\xED\x9F\xBF"),
        U8("U+E000", "\xEE\x80\x80"),
        U8("U+FEFF BOM is not skipped nor refused [MQTT-1.5.4-3]", "\xEF\xBB\xBF"),
        U8("U+10000", "\xF0\x90\x80\x80"),
        U8("U+1F600", "\xF0\x9F\x98\x80"),
        U8("U+10FFFF", "\xF4\x8F\xBF\xBF"),
        U8("spec example U+2A6D4", "A\xF0\xAA\x9B\x94"),
    };
    check_utf8(ok, sizeof ok / sizeof ok[0], true);
}

static void test_utf8_invalid(void)
{
    static const struct utf8_vec bad[] = {
        /* "MUST NOT include an encoding of the null character U+0000" [MQTT-1.5.4-2]. */
        U8("U+0000", "\x00"),
        U8("U+0000 inside", "a\x00z"),
        /* "MUST NOT include encodings of code points between U+D800 and U+DFFF" [MQTT-1.5.4-1]. */
        U8("U+D800", "\xED\xA0\x80"),
        U8("U+DBFF", "\xED\xAF\xBF"),
        U8("U+DC00", "\xED\xB0\x80"),
        U8("U+DFFF", "\xED\xBF\xBF"),
        U8("CESU pair", "\xED\xA0\xBD\xED\xB8\x80"),
        /* Ill-formed (overlong) encodings [MQTT-1.5.4-1] with RFC 3629. */
        U8("C0 80", "\xC0\x80"),
        U8("C1 BF", "\xC1\xBF"),
        U8("E0 80 80", "\xE0\x80\x80"),
        U8("E0 9F BF", "\xE0\x9F\xBF"),
        U8("F0 80 80 80", "\xF0\x80\x80\x80"),
        U8("F0 8F BF BF", "\xF0\x8F\xBF\xBF"),
        /* Beyond U+10FFFF. */
        U8("F4 90 80 80", "\xF4\x90\x80\x80"),
        U8("F5 80 80 80", "\xF5\x80\x80\x80"),
        U8("F8 88 80 80 80", "\xF8\x88\x80\x80\x80"),
        U8("FE", "\xFE"),
        U8("FF", "\xFF"),
        /* Truncated sequences, at the very end of the input. */
        U8("C2", "\xC2"),
        U8("a C2", "a\xC2"),
        U8("E2 82", "\xE2\x82"),
        U8("F0 9F 98", "\xF0\x9F\x98"),
        U8("F0", "\xF0"),
        /* Bad continuation bytes. */
        U8("lone 80", "\x80"),
        U8("lone BF", "\xBF"),
        U8("C2 41", "\xC2\x41"),
        U8("E2 28 A1", "\xE2\x28\xA1"),
        U8("F0 9F 41 80", "\xF0\x9F\x41\x80"),
    };
    check_utf8(bad, sizeof bad / sizeof bad[0], false);
}

UNIT_MAIN(UNIT_TEST(test_varint_encode_boundaries), UNIT_TEST(test_varint_decode_boundaries),
          UNIT_TEST(test_varint_decode_non_minimal), UNIT_TEST(test_varint_roundtrip_sweep),
          UNIT_TEST(test_utf8_valid), UNIT_TEST(test_utf8_invalid))
