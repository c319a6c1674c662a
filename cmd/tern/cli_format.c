/* mosquitto_sub-compatible message output: default and -v lines, the -F format language and
 * the %j / %J JSON objects. Byte-for-byte the same as mosquitto_sub 2.0.11 for the same
 * message (time fields aside). Properties are read from the raw block in wire order. */
#include "cli_format.h"

#include <stdint.h>
#include <string.h>

struct fmt_spec {
    char align; /* '-' or 0 */
    char pad;   /* ' ' or '0' */
    int width;
    int precision; /* -1 = none */
};

/* The first property with this id, from the raw block. */
static bool find_prop(const struct tern_message *m, uint8_t id, struct tern_prop *out)
{
    size_t pos = 0;
    while (tern_props_next(m->raw_props, &pos, out)) {
        if (out->id == id)
            return true;
    }
    return false;
}

static void print_blank(FILE *out, char pad, int width)
{
    for (int i = 0; i < width; i++)
        fputc(pad, out);
}

static void print_int(FILE *out, long v, const struct fmt_spec *f)
{
    if (f->width == 0)
        fprintf(out, "%ld", v);
    else if (f->align == '-')
        fprintf(out, "%-*ld", f->width, v);
    else if (f->pad == '0')
        fprintf(out, "%0*ld", f->width, v);
    else
        fprintf(out, "%*ld", f->width, v);
}

static void print_str(FILE *out, struct tern_str s, const struct fmt_spec *f)
{
    int len = (int)s.len;
    if (f->precision >= 0 && f->precision < len)
        len = f->precision;
    int padlen = f->width > len ? f->width - len : 0;
    if (f->align != '-')
        print_blank(out, ' ', padlen);
    fwrite(s.ptr, 1, (size_t)len, out);
    if (f->align == '-')
        print_blank(out, ' ', padlen);
}

/* mosquitto's write_payload: hex 0 raw, 1 lower-case hex, 2 upper-case hex. */
static void print_payload(FILE *out, struct tern_str p, int hex, const struct fmt_spec *f)
{
    long len = (long)p.len, padlen;
    if (f->width > 0) {
        if (len > f->width)
            len = f->width;
        if (hex > 0) {
            len /= 2;
            padlen = f->width - len * 2;
        } else {
            padlen = f->width - len;
        }
    } else {
        padlen = f->width - len;
    }
    if (f->align != '-')
        print_blank(out, f->pad, (int)padlen);
    const unsigned char *b = (const unsigned char *)p.ptr;
    for (long i = 0; i < len; i++) {
        if (hex == 0)
            fputc(b[i], out);
        else
            fprintf(out, hex == 1 ? "%02x" : "%02X", b[i]);
    }
    if (f->align == '-')
        print_blank(out, ' ', (int)padlen);
}

/* The "tst" value: local time with microseconds, then 'Z' and the UTC offset, as mosquitto. */
static void json_time(char *buf, size_t cap, const struct timespec *now)
{
    struct tm tm;
    time_t s = now->tv_sec;
    localtime_r(&s, &tm);
    char date[40], zone[16];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(zone, sizeof zone, "%z", &tm);
    snprintf(buf, cap, "%s.%06ldZ%s", date, now->tv_nsec / 1000, zone);
}

static void json_sep(FILE *out, bool pretty, int depth, const char *key, bool first)
{
    if (!first)
        fputc(',', out);
    if (pretty) {
        if (!first)
            fputc('\n', out);
        for (int i = 0; i < depth; i++)
            fputc('\t', out);
    }
    fprintf(out, "\"%s\":%s", key, pretty ? "\t" : "");
}

static void json_open(FILE *out, bool pretty)
{
    fputs(pretty ? "{\n" : "{", out);
}

static void json_close(FILE *out, bool pretty, int depth)
{
    if (pretty) {
        fputc('\n', out);
        for (int i = 0; i < depth; i++)
            fputc('\t', out);
    }
    fputc('}', out);
}

static void json_user_props(FILE *out, const struct tern_message *m, bool pretty)
{
    size_t pos = 0;
    struct tern_prop pr;
    bool first = true;
    json_open(out, pretty);
    while (tern_props_next(m->raw_props, &pos, &pr)) {
        if (pr.id != TERN_PROP_USER_PROPERTY)
            continue;
        if (!first)
            fputc(',', out);
        if (pretty)
            fputs(first ? "\t\t\t" : "\n\t\t\t", out);
        cli_json_string(out, pr.str.ptr, pr.str.len);
        fputs(pretty ? ":\t" : ":", out);
        cli_json_string(out, pr.value.ptr, pr.value.len);
        first = false;
    }
    json_close(out, pretty, 2);
}

static void json_props(FILE *out, const struct tern_message *m, bool pretty)
{
    size_t pos = 0;
    struct tern_prop pr;
    bool first = true, user_done = false;
    json_open(out, pretty);
    while (tern_props_next(m->raw_props, &pos, &pr)) {
        const char *name =
            pr.id == TERN_PROP_USER_PROPERTY ? "user-properties" : tern_prop_name(pr.id);
        switch (pr.id) {
        case TERN_PROP_PAYLOAD_FORMAT:
        case TERN_PROP_MESSAGE_EXPIRY:
        case TERN_PROP_SUBSCRIPTION_ID:
        case TERN_PROP_TOPIC_ALIAS:
            json_sep(out, pretty, 2, name, first);
            fprintf(out, "%lu", (unsigned long)pr.num);
            break;
        case TERN_PROP_CONTENT_TYPE:
        case TERN_PROP_RESPONSE_TOPIC:
        case TERN_PROP_CORRELATION_DATA:
            json_sep(out, pretty, 2, name, first);
            cli_json_string(out, pr.str.ptr, pr.str.len);
            break;
        case TERN_PROP_USER_PROPERTY:
            if (user_done)
                continue;
            user_done = true;
            json_sep(out, pretty, 2, name, first);
            json_user_props(out, m, pretty);
            break;
        default:
            continue;
        }
        first = false;
    }
    if (first && pretty)
        fputc('\t', out); /* cJSON's empty nested object: "{\n\t}" */
    else
        json_close(out, pretty, 1);
    if (first && pretty)
        fputc('}', out);
}

/* %j (escaped payload) and %J (payload embedded as JSON). False when %J's payload is not JSON. */
static bool json_message(FILE *out, const struct cli_print_opts *o, const struct tern_message *m,
                         const struct timespec *now, bool escaped)
{
    bool pretty = o->pretty;
    if (!escaped && m->payload.len > 0 &&
        !cli_json_reprint(NULL, m->payload.ptr, m->payload.len, false, 1))
        return false;
    char tst[80];
    json_time(tst, sizeof tst, now);
    json_open(out, pretty);
    json_sep(out, pretty, 1, "tst", true);
    cli_json_string(out, tst, strlen(tst));
    json_sep(out, pretty, 1, "topic", false);
    cli_json_string(out, m->topic.ptr, m->topic.len);
    json_sep(out, pretty, 1, "qos", false);
    fprintf(out, "%d", m->qos);
    json_sep(out, pretty, 1, "retain", false);
    fprintf(out, "%d", m->retain ? 1 : 0);
    json_sep(out, pretty, 1, "payloadlen", false);
    fprintf(out, "%zu", m->payload.len);
    if (m->qos > 0) {
        json_sep(out, pretty, 1, "mid", false);
        fprintf(out, "%u", m->packet_id);
    }
    if (o->has_props && m->raw_props.len > 0) {
        json_sep(out, pretty, 1, "properties", false);
        json_props(out, m, pretty);
    }
    json_sep(out, pretty, 1, "payload", false);
    if (m->payload.len == 0)
        fputs("null", out);
    else if (escaped)
        cli_json_string(out, m->payload.ptr, m->payload.len);
    else
        cli_json_reprint(out, m->payload.ptr, m->payload.len, pretty, 1);
    json_close(out, pretty, 0);
    return true;
}

static void print_time(FILE *out, const char *fmt, const struct timespec *now,
                       const struct fmt_spec *f)
{
    struct tm tm;
    time_t s = now->tv_sec;
    char buf[100];
    localtime_r(&s, &tm);
    /* The format comes from the user's -F string, as in mosquitto_sub. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t n = strftime(buf, sizeof buf, fmt, &tm);
#pragma GCC diagnostic pop
    if (n == 0) {
        if (f)
            print_blank(out, ' ', f->width);
        return;
    }
    if (f)
        print_str(out, tern_str_of(buf), f);
    else
        fputs(buf, out);
}

static void print_prop_int(FILE *out, const struct tern_message *m, uint8_t id,
                           const struct fmt_spec *f)
{
    struct tern_prop pr;
    if (find_prop(m, id, &pr))
        print_int(out, (long)(int)pr.num, f);
    else
        print_blank(out, f->pad, f->width);
}

static void print_user_props(FILE *out, const struct tern_message *m)
{
    size_t pos = 0;
    struct tern_prop pr;
    bool first = true;
    while (tern_props_next(m->raw_props, &pos, &pr)) {
        if (pr.id != TERN_PROP_USER_PROPERTY)
            continue;
        if (!first)
            fputc(' ', out);
        fwrite(pr.str.ptr, 1, pr.str.len, out);
        fputc(':', out);
        fwrite(pr.value.ptr, 1, pr.value.len, out);
        first = false;
    }
}

static void print_percent(FILE *out, FILE *err, const struct cli_print_opts *o,
                          const struct tern_message *m, const struct timespec *now, char conv,
                          const struct fmt_spec *f)
{
    struct tern_prop pr;
    switch (conv) {
    case '%':
        fputc('%', out);
        break;
    case 'A':
        print_prop_int(out, m, TERN_PROP_TOPIC_ALIAS, f);
        break;
    case 'E':
        print_prop_int(out, m, TERN_PROP_MESSAGE_EXPIRY, f);
        break;
    case 'F':
        print_prop_int(out, m, TERN_PROP_PAYLOAD_FORMAT, f);
        break;
    case 'S':
        print_prop_int(out, m, TERN_PROP_SUBSCRIPTION_ID, f);
        break;
    case 'C':
        if (find_prop(m, TERN_PROP_CONTENT_TYPE, &pr))
            print_str(out, pr.str, f);
        else
            print_blank(out, ' ', f->width);
        break;
    case 'D':
        if (find_prop(m, TERN_PROP_CORRELATION_DATA, &pr))
            fwrite(pr.str.ptr, 1, pr.str.len, out);
        break;
    case 'R':
        if (find_prop(m, TERN_PROP_RESPONSE_TOPIC, &pr))
            print_str(out, pr.str, f);
        break;
    case 'I':
        print_time(out, "%FT%T%z", now, f);
        break;
    case 'j':
        json_message(out, o, m, now, true);
        break;
    case 'J':
        if (!json_message(out, o, m, now, false) && err)
            fprintf(err, "Error: Message payload is not valid JSON on topic %.*s.\n",
                    (int)m->topic.len, m->topic.ptr);
        break;
    case 'l':
        print_int(out, (long)m->payload.len, f);
        break;
    case 'm':
        print_int(out, m->packet_id, f);
        break;
    case 'P':
        print_user_props(out, m);
        break;
    case 'p':
        print_payload(out, m->payload, 0, f);
        break;
    case 'q':
        fputc('0' + m->qos, out);
        break;
    case 'r':
        fputc(m->retain ? '1' : '0', out);
        break;
    case 't':
        print_str(out, m->topic, f);
        break;
    case 'U':
        print_time(out, "%s", now, NULL);
        fprintf(out, ".%09ld", now->tv_nsec);
        break;
    case 'x':
        print_payload(out, m->payload, 1, f);
        break;
    case 'X':
        print_payload(out, m->payload, 2, f);
        break;
    default:
        break;
    }
}

/* Parses "[-][0][width][.precision]" after a '%'; returns the index of the conversion char. */
static size_t parse_spec(const char *fmt, size_t len, size_t i, struct fmt_spec *f)
{
    f->align = 0;
    f->pad = ' ';
    f->width = 0;
    f->precision = -1;
    if (fmt[i] == '-') {
        f->align = '-';
        if (i < len - 1)
            i++;
    }
    if (fmt[i] == '0') {
        f->pad = '0';
        if (i < len - 1)
            i++;
    }
    while (i < len - 1 && fmt[i] >= '0' && fmt[i] <= '9') {
        f->width = f->width * 10 + (fmt[i] - '0');
        i++;
    }
    if (fmt[i] == '.' && i < len - 1) {
        i++;
        f->precision = 0;
        while (i < len - 1 && fmt[i] >= '0' && fmt[i] <= '9') {
            f->precision = f->precision * 10 + (fmt[i] - '0');
            i++;
        }
    }
    return i;
}

static void print_escape(FILE *out, char c)
{
    static const char from[] = "\\0aenrtv";
    static const char to[] = "\\\0\a\033\n\r\t\v";
    const char *p = c ? strchr(from, c) : NULL;
    if (p)
        fputc(to[p - from], out);
}

static void formatted(FILE *out, FILE *err, const struct cli_print_opts *o,
                      const struct tern_message *m, const struct timespec *now)
{
    const char *fmt = o->format;
    size_t len = strlen(fmt);
    for (size_t i = 0; i < len; i++) {
        if (fmt[i] == '%') {
            if (i < len - 1) {
                struct fmt_spec f;
                i = parse_spec(fmt, len, i + 1, &f);
                print_percent(out, err, o, m, now, fmt[i], &f);
            }
        } else if (fmt[i] == '@') {
            if (i < len - 1) {
                i++;
                char strf[3] = {'%', fmt[i], '\0'};
                if (fmt[i] == '@')
                    fputc('@', out);
                else if (fmt[i] == 'N')
                    fprintf(out, "%09ld", now->tv_nsec);
                else
                    print_time(out, strf, now, NULL);
            }
        } else if (fmt[i] == '\\') {
            if (i < len - 1)
                print_escape(out, fmt[++i]);
        } else {
            fputc(fmt[i], out);
        }
    }
    if (o->eol)
        fputc('\n', out);
}

void cli_print_message(FILE *out, FILE *err, const struct cli_print_opts *o,
                       const struct tern_message *m, const struct timespec *now)
{
    struct tern_message copy = *m;
    if (!o->has_props)
        copy.raw_props.len = 0;
    if (o->format) {
        formatted(out, err, o, &copy, now);
    } else if (o->verbose) {
        if (m->payload.len) {
            fprintf(out, "%.*s ", (int)m->topic.len, m->topic.ptr);
            fwrite(m->payload.ptr, 1, m->payload.len, out);
            if (o->eol)
                fputc('\n', out);
        } else if (o->eol) {
            fprintf(out, "%.*s (null)\n", (int)m->topic.len, m->topic.ptr);
        }
    } else if (m->payload.len) {
        fwrite(m->payload.ptr, 1, m->payload.len, out);
        if (o->eol)
            fputc('\n', out);
    }
    fflush(out);
}
