/* MQTT UTF-8 validation: well-formed shortest-form UTF-8 up to U+10FFFF, with no U+0000 and no
 * UTF-16 surrogates [MQTT-1.5.4-1], [MQTT-1.5.4-2]. Control characters and non-characters are
 * allowed (the spec only says SHOULD NOT / MAY), so no policy lives here. */
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Number of continuation bytes after lead byte c and the allowed range of the first one, or
 * false for a byte that cannot start a character. */
static bool lead(uint8_t c, size_t *extra, uint8_t *lo, uint8_t *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        *extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        *extra = 2;
        if (c == 0xE0)
            *lo = 0xA0; /* shorter forms are overlong */
        else if (c == 0xED)
            *hi = 0x9F; /* U+D800..U+DFFF are surrogates [MQTT-1.5.4-1] */
    } else if (c >= 0xF0 && c <= 0xF4) {
        *extra = 3;
        if (c == 0xF0)
            *lo = 0x90; /* overlong */
        else if (c == 0xF4)
            *hi = 0x8F; /* above U+10FFFF */
    } else {
        /* 0x80..0xC1 (continuation or overlong 2-byte) and 0xF5..0xFF never lead. */
        return false;
    }
    return true;
}

bool codec_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            /* U+0000 is forbidden in MQTT strings [MQTT-1.5.4-2]. */
            if (c == 0)
                return false;
            i++;
            continue;
        }
        size_t extra;
        uint8_t lo, hi;
        if (!lead(c, &extra, &lo, &hi) || len - i <= extra)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        }
        i += extra + 1;
    }
    return true;
}
