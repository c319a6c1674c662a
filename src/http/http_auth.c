/* Authorization header parsing: Basic credentials (base64 decoded here, strictly) and Bearer
 * tokens, plus a constant-time equality for comparing them with configured secrets. No password
 * hashing or user lookup lives here. */
#include "http_auth.h"

#include <string.h>
#include <strings.h>

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long http_auth_base64_decode(const char *in, size_t in_len, unsigned char *out, size_t out_cap)
{
    size_t o = 0;
    if (in_len % 4 != 0)
        return TERN_EPROTO;
    for (size_t i = 0; i < in_len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + (size_t)k];
            /* Padding only at the end: "xx==" or "xxx=". */
            if (c == '=' && i + 4 == in_len && k >= 2 && (k == 3 || in[i + 3] == '=')) {
                v[k] = 0;
                pad++;
                continue;
            }
            v[k] = b64_value(c);
            if (v[k] < 0 || pad)
                return TERN_EPROTO;
        }
        unsigned long w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
                          (unsigned long)v[2] << 6 | (unsigned long)v[3];
        size_t n = 3 - (size_t)pad;
        if (o + n > out_cap)
            return TERN_ETOOBIG;
        for (size_t k = 0; k < n; k++)
            out[o++] = (unsigned char)(w >> (16 - 8 * k));
    }
    return (long)o;
}

/* Skips "<scheme> " case-insensitively; returns the parameter start or NULL. */
static const char *after_scheme(const char *h, const char *scheme)
{
    size_t n = strlen(scheme);
    if (h == NULL)
        return NULL;
    while (*h == ' ' || *h == '\t')
        h++;
    if (strncasecmp(h, scheme, n) != 0 || (h[n] != ' ' && h[n] != '\t'))
        return NULL;
    h += n;
    while (*h == ' ' || *h == '\t')
        h++;
    return h;
}

/* Length of p without trailing spaces. */
static size_t trimmed_len(const char *p)
{
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return n;
}

int http_auth_basic_parse(const char *header, char *user, size_t user_cap, char *pass,
                          size_t pass_cap)
{
    unsigned char dec[512];
    const char *p = after_scheme(header, "Basic");
    if (p == NULL)
        return TERN_ENOTFOUND;
    long n = http_auth_base64_decode(p, trimmed_len(p), dec, sizeof dec);
    if (n < 0)
        return n == TERN_ETOOBIG ? TERN_ETOOBIG : TERN_EPROTO;
    if (memchr(dec, '\0', (size_t)n) != NULL)
        return TERN_EPROTO;
    unsigned char *colon = memchr(dec, ':', (size_t)n);
    if (colon == NULL)
        return TERN_EPROTO;
    size_t ulen = (size_t)(colon - dec);
    size_t plen = (size_t)n - ulen - 1;
    if (ulen + 1 > user_cap || plen + 1 > pass_cap)
        return TERN_ETOOBIG;
    memcpy(user, dec, ulen);
    user[ulen] = '\0';
    memcpy(pass, colon + 1, plen);
    pass[plen] = '\0';
    return 0;
}

/* token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool token68_ok(const char *p, size_t n)
{
    size_t i = 0;
    for (; i < n && p[i] != '='; i++)
        if (b64_value((unsigned char)p[i]) < 0 && !strchr("-._~", p[i]))
            return false;
    if (i == 0)
        return false;
    for (; i < n; i++)
        if (p[i] != '=')
            return false;
    return true;
}

int http_auth_bearer_parse(const char *header, struct tern_bytes *token)
{
    const char *p = after_scheme(header, "Bearer");
    if (p == NULL)
        return TERN_ENOTFOUND;
    size_t n = trimmed_len(p);
    if (!token68_ok(p, n))
        return TERN_EPROTO;
    *token = bytes_of(p, n);
    return 0;
}

bool http_auth_equal(struct tern_bytes a, struct tern_bytes b)
{
    unsigned char diff = a.len == b.len ? 0 : 1;
    for (size_t i = 0; i < a.len; i++)
        diff |= (unsigned char)(a.ptr[i] ^ (i < b.len ? b.ptr[i] : 0));
    return diff == 0;
}
