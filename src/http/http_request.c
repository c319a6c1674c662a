/* Request accessors: header lookup, query parameters and percent-decoding. The request storage
 * itself is filled by http_conn; nothing here allocates. */
#include "http_request.h"

#include <string.h>
#include <strings.h>

const char *http_request_header(const struct http_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long http_request_unescape(const char *in, size_t len, bool plus_is_space, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= len)
                return TERN_EPROTO;
            int h = hex(in[i + 1]);
            int l = hex(in[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return TERN_EPROTO;
            c = (char)(h << 4 | l);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (o + 1 >= cap)
            return TERN_ETOOBIG;
        out[o++] = c;
    }
    if (cap == 0)
        return TERN_ETOOBIG;
    out[o] = '\0';
    return (long)o;
}

long http_request_query(const struct http_request *r, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    const char *p = r->query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        size_t name_len = eq ? (size_t)(eq - p) : n;
        char name[128];
        long nl = http_request_unescape(p, name_len, true, name, sizeof name);
        if (nl == (long)klen && memcmp(name, key, klen) == 0) {
            if (eq == NULL)
                return http_request_unescape("", 0, true, out, cap);
            return http_request_unescape(eq + 1, n - name_len - 1, true, out, cap);
        }
        p = amp ? amp + 1 : NULL;
    }
    return TERN_ENOTFOUND;
}

bool http_request_has_token(const char *list, const char *token)
{
    size_t tl = strlen(token);
    const char *p = list;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
            return true;
        p = e;
    }
    return false;
}
