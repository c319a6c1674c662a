/* JSON for `tern sub -F %j/%J`: string escaping and a re-printer that validates a payload and
 * prints it the way cJSON 1.7 (used by mosquitto_sub) prints a parsed value: minimised, or
 * tab-indented with --pretty. Numbers and strings are normalised as cJSON does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_format.h"

#define MAX_DEPTH 1000

struct jp {
    const unsigned char *s;
    size_t len;
    size_t pos;
    FILE *out; /* NULL: validate only */
    bool pretty;
};

static void put_escaped(FILE *out, unsigned char c)
{
    switch (c) {
    case '"':
        fputs("\\\"", out);
        break;
    case '\\':
        fputs("\\\\", out);
        break;
    case '\b':
        fputs("\\b", out);
        break;
    case '\f':
        fputs("\\f", out);
        break;
    case '\n':
        fputs("\\n", out);
        break;
    case '\r':
        fputs("\\r", out);
        break;
    case '\t':
        fputs("\\t", out);
        break;
    default:
        if (c < 32)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
}

void cli_json_string(FILE *out, const char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len && s[i] != '\0'; i++)
        put_escaped(out, (unsigned char)s[i]);
    fputc('"', out);
}

static void skip_ws(struct jp *p)
{
    while (p->pos < p->len && p->s[p->pos] <= 32)
        p->pos++;
}

static bool hex4(struct jp *p, unsigned *out)
{
    if (p->len - p->pos < 4)
        return false;
    char buf[5];
    memcpy(buf, p->s + p->pos, 4);
    buf[4] = '\0';
    char *end;
    *out = (unsigned)strtoul(buf, &end, 16);
    if (*end != '\0')
        return false;
    p->pos += 4;
    return true;
}

static void emit_utf8(struct jp *p, unsigned long cp)
{
    unsigned char b[4];
    int n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    for (int i = 0; p->out && i < n; i++)
        put_escaped(p->out, b[i]);
}

static bool unicode_escape(struct jp *p)
{
    unsigned hi, lo;
    if (!hex4(p, &hi))
        return false;
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return false;
    unsigned long cp = hi;
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
            return false;
        p->pos += 2;
        if (!hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF)
            return false;
        cp = 0x10000 + (((unsigned long)(hi & 0x3FF) << 10) | (lo & 0x3FF));
    }
    emit_utf8(p, cp);
    return true;
}

static bool parse_string(struct jp *p)
{
    if (p->pos >= p->len || p->s[p->pos] != '"')
        return false;
    p->pos++;
    if (p->out)
        fputc('"', p->out);
    while (p->pos < p->len && p->s[p->pos] != '"') {
        unsigned char c = p->s[p->pos++];
        if (c == '\0')
            return false;
        if (c != '\\') {
            if (p->out)
                put_escaped(p->out, c);
            continue;
        }
        if (p->pos >= p->len)
            return false;
        c = p->s[p->pos++];
        static const char from[] = "bfnrt\"\\/";
        static const char to[] = "\b\f\n\r\t\"\\/";
        const char *f = c ? strchr(from, c) : NULL;
        if (f) {
            if (p->out)
                put_escaped(p->out, (unsigned char)to[f - from]);
        } else if (c != 'u' || !unicode_escape(p)) {
            return false;
        }
    }
    if (p->pos >= p->len)
        return false;
    p->pos++;
    if (p->out)
        fputc('"', p->out);
    return true;
}

static bool parse_number(struct jp *p)
{
    char buf[64];
    size_t n = 0;
    while (p->pos + n < p->len && n < sizeof buf - 1 &&
           strchr("0123456789+-eE.", p->s[p->pos + n]) && p->s[p->pos + n] != '\0')
        n++;
    memcpy(buf, p->s + p->pos, n);
    buf[n] = '\0';
    char *end;
    double d = strtod(buf, &end);
    if (end == buf)
        return false;
    p->pos += (size_t)(end - buf);
    if (!p->out)
        return true;
    int vi = d >= 2147483647.0 ? 2147483647 : d <= -2147483648.0 ? (-2147483647 - 1) : (int)d;
    if (d == (double)vi) {
        fprintf(p->out, "%d", vi);
        return true;
    }
    char num[32];
    snprintf(num, sizeof num, "%1.15g", d);
    if (strtod(num, NULL) != d)
        snprintf(num, sizeof num, "%1.17g", d);
    fputs(num, p->out);
    return true;
}

static bool parse_value(struct jp *p, int depth);

static void indent(struct jp *p, int n)
{
    for (int i = 0; p->out && p->pretty && i < n; i++)
        fputc('\t', p->out);
}

static void put(struct jp *p, const char *s)
{
    if (p->out)
        fputs(s, p->out);
}

static bool parse_array(struct jp *p, int depth)
{
    p->pos++;
    put(p, "[");
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        put(p, "]");
        return true;
    }
    for (;;) {
        if (!parse_value(p, depth + 1))
            return false;
        skip_ws(p);
        if (p->pos >= p->len)
            return false;
        if (p->s[p->pos] == ']')
            break;
        if (p->s[p->pos] != ',')
            return false;
        p->pos++;
        put(p, p->pretty ? ", " : ",");
    }
    p->pos++;
    put(p, "]");
    return true;
}

static bool parse_object(struct jp *p, int depth)
{
    p->pos++;
    put(p, p->pretty ? "{\n" : "{");
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        indent(p, depth);
        put(p, "}");
        return true;
    }
    for (;;) {
        skip_ws(p);
        indent(p, depth + 1);
        if (!parse_string(p))
            return false;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':')
            return false;
        p->pos++;
        put(p, p->pretty ? ":\t" : ":");
        if (!parse_value(p, depth + 1))
            return false;
        skip_ws(p);
        if (p->pos >= p->len)
            return false;
        bool more = p->s[p->pos] == ',';
        if (!more && p->s[p->pos] != '}')
            return false;
        p->pos++;
        put(p, more ? "," : "");
        put(p, p->pretty ? "\n" : "");
        if (!more)
            break;
    }
    indent(p, depth);
    put(p, "}");
    return true;
}

static bool parse_value(struct jp *p, int depth)
{
    if (depth > MAX_DEPTH)
        return false;
    skip_ws(p);
    if (p->pos >= p->len)
        return false;
    static const char *const words[] = {"null", "false", "true"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if (p->len - p->pos >= n && memcmp(p->s + p->pos, words[i], n) == 0) {
            p->pos += n;
            put(p, words[i]);
            return true;
        }
    }
    unsigned char c = p->s[p->pos];
    if (c == '"')
        return parse_string(p);
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(p);
    if (c == '[')
        return parse_array(p, depth);
    if (c == '{')
        return parse_object(p, depth);
    return false;
}

bool cli_json_reprint(FILE *out, const char *s, size_t len, bool pretty, int depth)
{
    struct jp p = {(const unsigned char *)s, len, 0, NULL, pretty};
    if (!parse_value(&p, depth))
        return false;
    skip_ws(&p);
    if (p.pos != len)
        return false;
    p.pos = 0;
    p.out = out;
    return parse_value(&p, depth);
}
