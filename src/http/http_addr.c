/* Trusted-proxy networks and X-Forwarded-For: addresses are parsed with inet_pton into 16-byte
 * form (IPv4 as ::ffff:a.b.c.d) and compared by prefix. It never resolves names. */
#include "http_addr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

struct net_prefix {
    uint8_t addr[16];
    unsigned bits;
};

struct http_trust {
    size_t n;
    struct net_prefix nets[];
};

/* Parses a numeric address (IPv4, IPv6, or "[IPv6]") of length len into 16 bytes; *v4 tells
 * which family. */
static bool parse_ip(const char *s, size_t len, uint8_t out[16], bool *v4)
{
    char tmp[INET6_ADDRSTRLEN + 2];
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof tmp)
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    uint8_t a4[4];
    if (inet_pton(AF_INET, tmp, a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, a4, 4);
        *v4 = true;
        return true;
    }
    *v4 = false;
    return inet_pton(AF_INET6, tmp, out) == 1;
}

static bool parse_prefix(const char *s, struct net_prefix *p)
{
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    bool v4;
    if (!parse_ip(s, len, p->addr, &v4))
        return false;
    unsigned max = v4 ? 32 : 128;
    p->bits = 128;
    if (slash) {
        char *end;
        unsigned long b = strtoul(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || b > max)
            return false;
        p->bits = (unsigned)b + (v4 ? 96 : 0);
    }
    return true;
}

int http_addr_trust_new(const char *const *entries, size_t n, struct http_trust **out)
{
    *out = NULL;
    struct http_trust *t = mem_calloc(1, sizeof *t + n * sizeof t->nets[0]);
    if (t == NULL)
        return TERN_ENOMEM;
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        if (entries[i] == NULL || !parse_prefix(entries[i], &t->nets[i])) {
            mem_free(t);
            return TERN_EINVAL;
        }
    }
    *out = t;
    return 0;
}

void http_addr_trust_free(struct http_trust *t)
{
    mem_free(t);
}

static bool in_prefix(const struct net_prefix *p, const uint8_t a[16])
{
    unsigned full = p->bits / 8;
    unsigned rest = p->bits % 8;
    if (memcmp(p->addr, a, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (p->addr[full] & mask) == (a[full] & mask);
}

static bool trusted_n(const struct http_trust *t, const char *s, size_t len)
{
    uint8_t a[16];
    bool v4;
    if (t == NULL || !parse_ip(s, len, a, &v4))
        return false;
    for (size_t i = 0; i < t->n; i++)
        if (in_prefix(&t->nets[i], a))
            return true;
    return false;
}

/* The length of addr without a ":port" suffix: "a.b.c.d:port" and "[v6]:port" (how the
 * broker formats peers) lose it; a bare v6 address (several colons) has none. */
static size_t host_len(const char *addr)
{
    size_t n = strlen(addr);
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        return close ? (size_t)(close - addr) + 1 : n;
    }
    const char *colon = strchr(addr, ':');
    return colon && !strchr(colon + 1, ':') ? (size_t)(colon - addr) : n;
}

bool http_addr_is_trusted(const struct http_trust *t, const char *addr)
{
    return addr != NULL && trusted_n(t, addr, host_len(addr));
}

static int copy_out(char *out, size_t cap, const char *s, size_t len)
{
    if (len + 1 > cap) {
        if (cap)
            out[0] = '\0';
        return TERN_ETOOBIG;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

int http_addr_client(const struct http_trust *t, const char *peer, const char *xff, char *out,
                     size_t cap)
{
    const char *best = peer;
    size_t best_len = strlen(peer);
    if (xff == NULL || !http_addr_is_trusted(t, peer))
        return copy_out(out, cap, best, best_len);
    /* Walk right to left: each hop was added by the proxy to its right, which we trust so far. */
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        const char *s = start;
        const char *e = end;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        uint8_t a[16];
        bool v4;
        if (!parse_ip(s, (size_t)(e - s), a, &v4))
            break;
        best = s;
        best_len = (size_t)(e - s);
        if (!trusted_n(t, s, best_len))
            break;
        end = start > xff ? start - 1 : xff;
    }
    return copy_out(out, cap, best, best_len);
}
