/* Base64 and base64url encoding and strict decoding (no whitespace, canonical padding). */
#include "auth_b64.h"

#include "err.h"

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

long auth_b64_encode(const void *src, size_t len, char *out, size_t cap, int url)
{
    const uint8_t *s = src;
    const char *a = url ? url_alpha : std_alpha;
    size_t need = url ? (len * 4 + 2) / 3 + 1 : AUTH_B64_ENCODED_LEN(len);
    if (cap < need)
        return TERN_ETOOBIG;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        size_t n = len - i < 3 ? len - i : 3;
        if (n > 1)
            v |= (uint32_t)s[i + 1] << 8;
        if (n > 2)
            v |= s[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (n > 1)
            out[o++] = a[v >> 6 & 63];
        else if (!url)
            out[o++] = '=';
        if (n > 2)
            out[o++] = a[v & 63];
        else if (!url)
            out[o++] = '=';
    }
    out[o] = '\0';
    return (long)o;
}

static int value_of(char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

long auth_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, int url)
{
    size_t pad = 0;
    while (len > 0 && in[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if ((!url && (len + pad) % 4 != 0) || (url && pad != 0 && (len + pad) % 4 != 0) || len % 4 == 1)
        return TERN_EINVAL;
    size_t outlen = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (outlen > cap)
        return TERN_ETOOBIG;
    uint32_t acc = 0;
    size_t bits = 0, o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = value_of(in[i], url);
        if (v < 0)
            return TERN_EINVAL;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero (canonical encoding). */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return TERN_EINVAL;
    return (long)o;
}
