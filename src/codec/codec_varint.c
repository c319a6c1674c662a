/* MQTT Variable Byte Integers (1..4 bytes, 7 bits each, least significant group first).
 * Encoding is always minimal; decoding refuses non-minimal and 5-byte forms [MQTT-1.5.5-1].
 * Does not know where the integer sits in a packet. */
#include "codec.h"

#include <stddef.h>
#include <stdint.h>

size_t codec_varint_size(uint32_t v)
{
    if (v < 128u)
        return 1;
    if (v < 16384u)
        return 2;
    if (v < 2097152u)
        return 3;
    if (v <= MQTT_MAX_VARINT)
        return 4;
    return 0;
}

size_t codec_varint_encode(uint32_t v, uint8_t out[4])
{
    size_t n = codec_varint_size(v);
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)(v & 0x7F);
        v >>= 7;
        if (i + 1 < n)
            b |= 0x80;
        out[i] = b;
    }
    return n;
}

int codec_varint_decode(const uint8_t *buf, size_t len, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (i >= len)
            return TERN_EAGAIN;
        uint8_t b = buf[i];
        v |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            /* A last byte of 0 after the first adds nothing: the encoding is not the minimal
             * one, which the spec requires [MQTT-1.5.5-1]. */
            if (i > 0 && b == 0)
                return TERN_EPROTO;
            *out = v;
            return (int)(i + 1);
        }
    }
    /* The fourth byte still has its continuation bit: more than 4 bytes [MQTT-1.5.5-1]. */
    return TERN_EPROTO;
}
