/* The option table: every option Mosquitto 2's mosquitto.conf(5) knows (plus the 2.1 additions
 * and Tern's worker_threads, max_retained_messages, max_retained_bytes), each with its handler,
 * scope, target field, range and flags. Generic handlers cover booleans, numbers, strings and
 * enumerations; the few options with their own syntax have custom handlers here. It does not
 * split lines or resolve the final defaults (config_parse.c, config.c). */
#include "config_table.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config.h"
#include "config_listener.h"
#include "config_parse.h"
#include "err.h"
#include "log.h"
#include "mem.h"

#define MAX_PACKET  268435460 /* MQTT's largest packet (codec.h is not a dependency) */
#define MAX_PAYLOAD 268435455 /* largest remaining length */
#define I32_MAX     2147483647LL
#define U32_MAX     4294967295LL
#define I64_MAX     9223372036854775807LL

static void store_int(struct config_dst d, int64_t v)
{
    switch (d.type) {
    case FT_BOOL:
        *(bool *)d.ptr = v != 0;
        break;
    case FT_INT:
        *(int *)d.ptr = (int)v;
        break;
    case FT_U8:
        *(uint8_t *)d.ptr = (uint8_t)v;
        break;
    case FT_U16:
        *(uint16_t *)d.ptr = (uint16_t)v;
        break;
    case FT_U32:
        *(uint32_t *)d.ptr = (uint32_t)v;
        break;
    case FT_U64:
        *(uint64_t *)d.ptr = (uint64_t)v;
        break;
    case FT_I64:
        *(int64_t *)d.ptr = v;
        break;
    case FT_UINT:
        *(unsigned *)d.ptr = (unsigned)v;
        break;
    case FT_NONE:
    case FT_STR:
        break;
    }
}

static int store_str(struct config_dst d, struct config_tok t)
{
    if (d.type != FT_STR)
        return 0;
    char *s = config_tok_dup(t);
    if (!s)
        return TERN_ENOMEM;
    char **field = d.ptr;
    mem_free(*field);
    *field = s;
    return 0;
}

static int parse_bool(struct config_parser *p, const struct config_line *l, struct config_tok t,
                      bool *out)
{
    if (config_tok_eq(t, "true"))
        *out = true;
    else if (config_tok_eq(t, "false"))
        *out = false;
    else
        return config_parse_error(p, l, "bad boolean '%.*s' (expected true or false)", (int)t.len,
                                  t.ptr);
    return 0;
}

static int parse_num(struct config_parser *p, const struct config_option *o,
                     const struct config_line *l, struct config_tok t, int64_t *out)
{
    int64_t v = 0;
    if (!config_tok_int(t, &v))
        return config_parse_error(p, l, "bad number '%.*s'", (int)t.len, t.ptr);
    if (v < 0 && (o->flags & OF_NEG_ZERO))
        v = 0;
    else if (v < 0 && (o->flags & OF_NEG_UNLIMITED))
        v = -1;
    if (v < o->min || v > o->max)
        return config_parse_error(p, l, "value %.*s out of range %lld..%lld", (int)t.len, t.ptr,
                                  (long long)o->min, (long long)o->max);
    *out = v;
    return 0;
}

/* Index of t in "a|b|c", or -1. */
static int choice(const char *choices, struct config_tok t)
{
    int i = 0;
    for (const char *c = choices; *c; i++) {
        size_t n = strcspn(c, "|");
        if (n == t.len && memcmp(c, t.ptr, n) == 0)
            return i;
        c += n;
        if (*c == '|')
            c++;
    }
    return -1;
}

static int set_bool(struct config_parser *p, const struct config_option *o,
                    const struct config_line *l, struct config_dst dst)
{
    (void)o;
    bool b = false;
    int rc = parse_bool(p, l, l->args[0], &b);
    if (rc == 0 && dst.ptr)
        store_int(dst, b);
    return rc;
}

static int set_int(struct config_parser *p, const struct config_option *o,
                   const struct config_line *l, struct config_dst dst)
{
    int64_t v = 0;
    int rc = parse_num(p, o, l, l->args[0], &v);
    if (rc == 0 && dst.ptr)
        store_int(dst, v);
    return rc;
}

/* Every argument is a number in range (bridge_tcp_keepalive, restart_timeout). */
static int set_ints(struct config_parser *p, const struct config_option *o,
                    const struct config_line *l, struct config_dst dst)
{
    (void)dst;
    for (size_t i = 0; i < l->argc && i < CONFIG_MAX_ARGS; i++) {
        int64_t v = 0;
        int rc = parse_num(p, o, l, l->args[i], &v);
        if (rc)
            return rc;
    }
    return 0;
}

static int set_str(struct config_parser *p, const struct config_option *o,
                   const struct config_line *l, struct config_dst dst)
{
    (void)p;
    return store_str(dst, (o->flags & OF_REST) ? l->rest : l->args[0]);
}

static int set_enum(struct config_parser *p, const struct config_option *o,
                    const struct config_line *l, struct config_dst dst)
{
    int i = choice(o->choices, l->args[0]);
    if (i < 0)
        return config_parse_error(p, l, "bad value '%.*s' (expected one of %s)",
                                  (int)l->args[0].len, l->args[0].ptr, o->choices);
    if (dst.type == FT_STR)
        return store_str(dst, l->args[0]);
    if (dst.ptr)
        store_int(dst, i);
    return 0;
}

static int set_any(struct config_parser *p, const struct config_option *o,
                   const struct config_line *l, struct config_dst dst)
{
    (void)p;
    (void)o;
    (void)l;
    (void)dst;
    return 0;
}

static int h_listener(struct config_parser *p, const struct config_option *o,
                      const struct config_line *l, struct config_dst dst)
{
    (void)dst;
    int64_t port = 0;
    int rc = parse_num(p, o, l, l->args[0], &port);
    if (rc)
        return rc;
    struct listener_conf *n = config_listener_new();
    if (!n)
        return TERN_ENOMEM;
    n->port = (uint16_t)port;
    if (l->argc > 1) {
        char *addr = config_tok_dup(l->args[1]);
        if (!addr) {
            config_listener_free(n);
            return TERN_ENOMEM;
        }
        /* Mosquitto 2: port 0 with a path is a unix socket listener. */
        if (port == 0 && strchr(addr, '/'))
            n->unix_path = addr;
        else
            n->bind_address = addr;
    }
    config_listener_append(p->cfg, n);
    p->fs.cur_listener = n;
    p->saw_listener = true;
    return 0;
}

static int explicit_default(struct config_parser *p, const struct config_line *l)
{
    int rc = config_parse_default_listener(p, l);
    if (rc)
        return rc;
    p->default_explicit = true;
    p->saw_listener = true;
    return 0;
}

static int h_port(struct config_parser *p, const struct config_option *o,
                  const struct config_line *l, struct config_dst dst)
{
    (void)dst;
    int64_t port = 0;
    int rc = parse_num(p, o, l, l->args[0], &port);
    if (rc || (rc = explicit_default(p, l)) != 0)
        return rc;
    p->default_listener->port = (uint16_t)port;
    return 0;
}

static int h_bind_address(struct config_parser *p, const struct config_option *o,
                          const struct config_line *l, struct config_dst dst)
{
    (void)o;
    (void)dst;
    int rc = explicit_default(p, l);
    if (rc)
        return rc;
    struct config_dst d = {&p->default_listener->bind_address, FT_STR};
    return store_str(d, l->args[0]);
}

static int h_include_dir(struct config_parser *p, const struct config_option *o,
                         const struct config_line *l, struct config_dst dst)
{
    (void)o;
    (void)dst;
    return config_parse_include_dir(p, l);
}

static int h_per_listener(struct config_parser *p, const struct config_option *o,
                          const struct config_line *l, struct config_dst dst)
{
    (void)o;
    (void)dst;
    bool b = false;
    int rc = parse_bool(p, l, l->args[0], &b);
    if (rc)
        return rc;
    if (p->cfg->per_listener_settings) {
        if (!b)
            return config_parse_warn(p, l,
                                     "per_listener_settings cannot be turned off once "
                                     "true; ignored");
        return 0;
    }
    if (b && p->security_seen)
        return config_parse_error(p, l,
                                  "must come before any security option (allow_anonymous, "
                                  "password_file, acl_file, ...)");
    p->cfg->per_listener_settings = b;
    return 0;
}

static int log_dest_file(struct config_parser *p, const struct config_line *l)
{
    if (l->argc < 2)
        return config_parse_error(p, l, "missing file name after 'file'");
    if (p->log_file_set)
        return config_parse_error(p, l, "duplicate 'log_dest file'");
    struct config_tok path = {l->args[1].ptr, (size_t)(l->rest.ptr + l->rest.len - l->args[1].ptr)};
    struct config_dst d = {&p->cfg->log_file, FT_STR};
    int rc = store_str(d, path);
    if (rc)
        return rc;
    p->log_file_set = true;
    p->cfg->log_dest |= LOG_DEST_FILE;
    return 0;
}

static int h_log_dest(struct config_parser *p, const struct config_option *o,
                      const struct config_line *l, struct config_dst dst)
{
    (void)o;
    (void)dst;
    static const char dests[] = "none|stderr|stdout|syslog|file|topic|dlt|android";
    struct config_tok t = l->args[0];
    int i = choice(dests, t);
    if (i < 0)
        return config_parse_error(p, l, "bad value '%.*s' (expected one of %s)", (int)t.len, t.ptr,
                                  dests);
    /* The first log_dest replaces the default; later ones add to it. */
    if (!p->log_dest_set) {
        p->cfg->log_dest = 0;
        p->log_dest_set = true;
    }
    if (i == 4)
        return log_dest_file(p, l);
    bool unbuffered = i == 2 && l->argc >= 2 && config_tok_eq(l->args[1], "unbuffered");
    size_t used = unbuffered ? 2 : 1;
    /* Other values take no argument; a trailing "# comment" is tolerated. */
    if (l->argc > used && l->args[used].ptr[0] != '#')
        return config_parse_error(p, l, "extra argument '%.*s'", (int)l->args[used].len,
                                  l->args[used].ptr);
    static const unsigned bits[] = {0, LOG_DEST_STDERR, LOG_DEST_STDOUT, LOG_DEST_SYSLOG,
                                    0, LOG_DEST_TOPIC};
    if (i == 0)
        p->cfg->log_dest = 0;
    else if (i < 6)
        p->cfg->log_dest |= bits[i];
    else
        return config_parse_warn(p, l, "log_dest '%.*s' is not supported yet and is ignored",
                                 (int)t.len, t.ptr);
    return 0;
}

static int h_log_type(struct config_parser *p, const struct config_option *o,
                      const struct config_line *l, struct config_dst dst)
{
    (void)dst;
    static const unsigned bits[] = {
        0,          TLOG_ALL_LEVELS, TLOG_ERR,         TLOG_WARN, TLOG_NOTICE, TLOG_INFO,
        TLOG_DEBUG, TLOG_SUBSCRIBE,  TLOG_UNSUBSCRIBE, 0,         0,
    };
    int i = choice(o->choices, l->args[0]);
    if (i < 0)
        return config_parse_error(p, l, "bad value '%.*s' (expected one of %s)",
                                  (int)l->args[0].len, l->args[0].ptr, o->choices);
    if (!p->log_type_set) {
        p->cfg->log_type = 0;
        p->log_type_set = true;
    }
    if (i == 0)
        p->cfg->log_type = 0;
    else
        p->cfg->log_type |= bits[i];
    return 0;
}

/* "persistent_client_expiration 2d": a positive number with a unit, as Mosquitto. */
static int h_expiration(struct config_parser *p, const struct config_option *o,
                        const struct config_line *l, struct config_dst dst)
{
    (void)o;
    struct config_tok t = l->args[0];
    int64_t mult = 0;
    int64_t n = 0;
    switch (t.ptr[t.len - 1]) {
    case 's':
        mult = 1;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'd':
        mult = 86400;
        break;
    case 'w':
        mult = 86400LL * 7;
        break;
    case 'm':
        mult = 86400LL * 30;
        break;
    case 'y':
        mult = 86400LL * 365;
        break;
    default:
        break;
    }
    struct config_tok num = {t.ptr, t.len - 1};
    if (!mult || !config_tok_int(num, &n) || n <= 0 || n > I64_MAX / mult)
        return config_parse_error(p, l,
                                  "bad duration '%.*s' (expected a positive number "
                                  "followed by s, h, d, w, m or y)",
                                  (int)t.len, t.ptr);
    store_int(dst, n * mult);
    return 0;
}

/* Mosquitto: 0 or negative means no limit; for MQTT 5 that is a Receive Maximum of 65535. */
static int h_inflight(struct config_parser *p, const struct config_option *o,
                      const struct config_line *l, struct config_dst dst)
{
    (void)o;
    int64_t v = 0;
    struct config_tok t = l->args[0];
    if (!config_tok_int(t, &v))
        return config_parse_error(p, l, "bad number '%.*s'", (int)t.len, t.ptr);
    if (v > 65535)
        return config_parse_error(p, l, "value %.*s out of range 0..65535", (int)t.len, t.ptr);
    store_int(dst, v <= 0 ? 65535 : v);
    return 0;
}

static int h_socket_domain(struct config_parser *p, const struct config_option *o,
                           const struct config_line *l, struct config_dst dst)
{
    int i = choice(o->choices, l->args[0]);
    if (i < 0)
        return set_enum(p, o, l, (struct config_dst){NULL, FT_NONE});
    store_int(dst, i == 0 ? AF_INET : AF_INET6);
    return 0;
}

static int h_protocol(struct config_parser *p, const struct config_option *o,
                      const struct config_line *l, struct config_dst dst)
{
    (void)dst;
    int i = choice(o->choices, l->args[0]);
    if (i < 0)
        return set_enum(p, o, l, (struct config_dst){NULL, FT_NONE});
    p->fs.cur_listener->protocol = i == 0 ? LISTENER_MQTT : LISTENER_WEBSOCKETS;
    return 0;
}

/* auth_method password|scram-sha-256|scram-sha-512|jwt, repeatable: the methods add up. */
static int h_auth_method(struct config_parser *p, const struct config_option *o,
                         const struct config_line *l, struct config_dst dst)
{
    (void)dst;
    int i = choice(o->choices, l->args[0]);
    if (i < 0)
        return set_enum(p, o, l, (struct config_dst){NULL, FT_NONE});
    p->cfg->auth_methods |= 1u << i;
    return 0;
}

/* A repeatable list option (http_trusted_proxy, http_admin_users, websockets_origin): each line's
 * words are appended to the space-separated value. */
static int h_words(struct config_parser *p, const struct config_option *o,
                   const struct config_line *l, struct config_dst dst)
{
    (void)p;
    (void)o;
    char **field = dst.ptr;
    size_t old = *field ? strlen(*field) : 0, add = l->rest.len;
    char *s = mem_alloc(old + add + 2);
    if (!s)
        return TERN_ENOMEM;
    size_t n = 0;
    if (old) {
        memcpy(s, *field, old);
        s[old] = ' ';
        n = old + 1;
    }
    memcpy(s + n, l->rest.ptr, add);
    s[n + add] = '\0';
    mem_free(*field);
    *field = s;
    return 0;
}

/* response_information PREFIX: kept in a fixed array of struct config (no heap string to
 * free); a topic prefix, so no wildcard, no NUL, and short enough for "PREFIX/<client id>". */
static int h_response_information(struct config_parser *p, const struct config_option *o,
                                  const struct config_line *l, struct config_dst dst)
{
    (void)o;
    (void)dst;
    struct config_tok t = l->rest;
    char *field = p->cfg->response_information;
    if (t.len >= sizeof p->cfg->response_information || memchr(t.ptr, '+', t.len) ||
        memchr(t.ptr, '#', t.len) || memchr(t.ptr, '\0', t.len))
        return config_parse_error(p, l, "bad value (a topic prefix without wildcards, < %zu bytes)",
                                  sizeof p->cfg->response_information);
    memcpy(field, t.ptr, t.len);
    field[t.len] = '\0';
    return 0;
}

/* accept_protocol_versions 3, 4, 5: protocol levels separated by commas and/or spaces, stored as
 * a mask of 1 << level. */
static int h_protocol_versions(struct config_parser *p, const struct config_option *o,
                               const struct config_line *l, struct config_dst dst)
{
    unsigned mask = 0;
    const char *s = l->rest.ptr, *end = s + l->rest.len;
    while (s < end) {
        if (*s == ',' || *s == ' ' || *s == '\t') {
            s++;
            continue;
        }
        struct config_tok t = {s, 0};
        while (s + t.len < end && s[t.len] != ',' && s[t.len] != ' ' && s[t.len] != '\t')
            t.len++;
        int64_t v = 0;
        int rc = parse_num(p, o, l, t, &v);
        if (rc)
            return rc;
        mask |= 1u << v;
        s += t.len;
    }
    if (!mask)
        return config_parse_error(p, l, "expected protocol levels 3, 4 and/or 5");
    store_int(dst, mask);
    return 0;
}

static int h_ws_path(struct config_parser *p, const struct config_option *o,
                     const struct config_line *l, struct config_dst dst)
{
    if (l->args[0].ptr[0] != '/')
        return config_parse_error(p, l, "path must start with '/'");
    return set_str(p, o, l, dst);
}

static int h_mount_point(struct config_parser *p, const struct config_option *o,
                         const struct config_line *l, struct config_dst dst)
{
    /* The mount point prefixes topic names, so it must be a valid topic name: no wildcards. */
    if (memchr(l->rest.ptr, '+', l->rest.len) || memchr(l->rest.ptr, '#', l->rest.len))
        return config_parse_error(p, l, "mount point must not contain '+' or '#'");
    return set_str(p, o, l, dst);
}

static int h_connection(struct config_parser *p, const struct config_option *o,
                        const struct config_line *l, struct config_dst dst)
{
    (void)o;
    (void)dst;
    p->fs.in_bridge = true;
    p->cfg->bridge_count++;
    return config_parse_warn(p, l,
                             "option 'connection' is not supported yet and is ignored "
                             "(bridge '%.*s' and all its options)",
                             (int)l->args[0].len, l->args[0].ptr);
}

static int h_plugin(struct config_parser *p, const struct config_option *o,
                    const struct config_line *l, struct config_dst dst)
{
    (void)o;
    (void)l;
    (void)dst;
    p->fs.in_plugin = true;
    return 0;
}

/* topic PATTERN [in|out|both [QOS [LOCAL_PREFIX [REMOTE_PREFIX]]]] */
static int h_bridge_topic(struct config_parser *p, const struct config_option *o,
                          const struct config_line *l, struct config_dst dst)
{
    (void)dst;
    if (l->args[0].ptr[0] == '"')
        return 0; /* quoted pattern with spaces: checked when bridges are built */
    if (l->argc > 5)
        return config_parse_error(p, l, "extra argument '%.*s'", (int)l->args[5].len,
                                  l->args[5].ptr);
    if (l->argc > 1) {
        char dir[8] = "";
        if (l->args[1].len < sizeof dir)
            memcpy(dir, l->args[1].ptr, l->args[1].len);
        if (strcasecmp(dir, "in") != 0 && strcasecmp(dir, "out") != 0 &&
            strcasecmp(dir, "both") != 0)
            return config_parse_error(p, l, "bad direction '%.*s' (expected in, out or both)",
                                      (int)l->args[1].len, l->args[1].ptr);
    }
    int64_t qos = 0;
    if (l->argc > 2)
        return parse_num(p, o, l, l->args[2], &qos);
    return 0;
}

#define CF(f) offsetof(struct config, f)
#define LF(f) offsetof(struct listener_conf, f)

/* Field order: name, fn, scope, type, off, ltype, loff, min, max, min_args, max_args, flags,
 * choices. */
#define GB(n, f, fl)                                                                               \
    {                                                                                              \
        n, set_bool, SC_GLOBAL, FT_BOOL, CF(f), FT_NONE, 0, 0, 0, 1, 1, fl, NULL                   \
    }
#define GI(n, f, t, lo, hi, fl)                                                                    \
    {                                                                                              \
        n, set_int, SC_GLOBAL, t, CF(f), FT_NONE, 0, lo, hi, 1, 1, fl, NULL                        \
    }
#define GS(n, f, fl)                                                                               \
    {                                                                                              \
        n, set_str, SC_GLOBAL, FT_STR, CF(f), FT_NONE, 0, 0, 0, 1, 1, OF_REST | (fl), NULL         \
    }
#define LB(n, sc, f, fl)                                                                           \
    {                                                                                              \
        n, set_bool, sc, FT_NONE, 0, FT_BOOL, LF(f), 0, 0, 1, 1, fl, NULL                          \
    }
#define LI(n, sc, f, lo, hi, fl)                                                                   \
    {                                                                                              \
        n, set_int, sc, FT_NONE, 0, FT_INT, LF(f), lo, hi, 1, 1, fl, NULL                          \
    }
#define LS(n, sc, f, fl)                                                                           \
    {                                                                                              \
        n, set_str, sc, FT_NONE, 0, FT_STR, LF(f), 0, 0, 1, 1, OF_REST | (fl), NULL                \
    }
#define SECS(n, f, fl)                                                                             \
    {                                                                                              \
        n, set_str, SC_SECURITY, FT_STR, CF(f), FT_STR, LF(f), 0, 0, 1, 1,                         \
            OF_REST | OF_SECURITY | (fl), NULL                                                     \
    }
#define XB(n, sc, fl)                                                                              \
    {                                                                                              \
        n, set_bool, sc, FT_NONE, 0, FT_NONE, 0, 0, 0, 1, 1, fl, NULL                              \
    }
#define XI(n, sc, lo, hi, fl)                                                                      \
    {                                                                                              \
        n, set_int, sc, FT_NONE, 0, FT_NONE, 0, lo, hi, 1, 1, fl, NULL                             \
    }
#define XS(n, sc, fl)                                                                              \
    {                                                                                              \
        n, set_any, sc, FT_NONE, 0, FT_NONE, 0, 0, 0, 1, 1, OF_REST | (fl), NULL                   \
    }
#define XE(n, sc, ch)                                                                              \
    {                                                                                              \
        n, set_enum, sc, FT_NONE, 0, FT_NONE, 0, 0, 0, 1, 1, 0, ch                                 \
    }
#define FN(n, fn, sc, lo, hi, amin, amax, fl)                                                      \
    {                                                                                              \
        n, fn, sc, FT_NONE, 0, FT_NONE, 0, lo, hi, amin, amax, fl, NULL                            \
    }

#define UNS     OF_UNSUPPORTED
#define BR      SC_BRIDGE
#define I32_MIN (-I32_MAX - 1)

static const struct config_option options[] = {
    /* Listeners. */
    FN("listener", h_listener, SC_GLOBAL, 0, 65535, 1, 2, 0),
    FN("port", h_port, SC_GLOBAL, 1, 65535, 1, 1, 0),
    FN("bind_address", h_bind_address, SC_GLOBAL, 0, 0, 1, 1, 0),
    LS("bind_interface", SC_LISTENER, bind_interface, 0),
    {"protocol", h_protocol, SC_LISTENER, FT_NONE, 0, FT_NONE, 0, 0, 0, 1, 1, 0, "mqtt|websockets"},
    {"socket_domain", h_socket_domain, SC_LISTENER, FT_NONE, 0, FT_INT, LF(socket_domain), 0, 0, 1,
     1, 0, "ipv4|ipv6"},
    LI("max_connections", SC_LISTENER, max_connections, -1, I32_MAX, OF_NEG_UNLIMITED),
    {"mount_point", h_mount_point, SC_LISTENER_ONLY, FT_NONE, 0, FT_STR, LF(mount_point), 0, 0, 1,
     1, OF_REST, NULL},
    {"max_qos", set_int, SC_HYBRID, FT_U8, CF(max_qos), FT_INT, LF(max_qos), 0, 2, 1, 1, 0, NULL},
    {"maximum_qos", set_int, SC_HYBRID, FT_U8, CF(max_qos), FT_INT, LF(max_qos), 0, 2, 1, 1, 0,
     NULL},
    {"max_topic_alias", set_int, SC_HYBRID, FT_U16, CF(max_topic_alias), FT_INT,
     LF(max_topic_alias), 0, 65535, 1, 1, 0, NULL},
    LI("max_topic_alias_broker", SC_LISTENER_ONLY, max_topic_alias_broker, 0, 65535, UNS),
    {"listener_allow_anonymous", set_bool, SC_LISTENER_ONLY, FT_NONE, 0, FT_INT,
     LF(allow_anonymous), 0, 0, 1, 1, 0, NULL},
    LS("listener_auto_id_prefix", SC_LISTENER_ONLY, auto_id_prefix, 0),
    LB("use_username_as_clientid", SC_LISTENER, use_username_as_clientid, 0),
    LS("http_dir", SC_LISTENER_ONLY, http_dir, 0),
    LB("http_api", SC_LISTENER_ONLY, http_api, 0),
    LB("http_metrics", SC_LISTENER_ONLY, http_metrics, 0),
    LB("http_metrics_auth", SC_LISTENER_ONLY, http_metrics_auth, 0),
    {"http_trusted_proxy", h_words, SC_LISTENER_ONLY, FT_NONE, 0, FT_STR, LF(http_trusted_proxy), 0,
     0, 1, 1, OF_REST, NULL},
    LI("http_max_header_size", SC_LISTENER_ONLY, http_max_header_size, 1024, 1048576, 0),
    LI("http_max_body_size", SC_LISTENER_ONLY, http_max_body_size, 0, MAX_PAYLOAD, 0),
    LI("http_idle_timeout", SC_LISTENER_ONLY, http_idle_timeout, 1, 86400, 0),
    LI("http_request_timeout", SC_LISTENER_ONLY, http_request_timeout, 1, 86400, 0),
    {"websockets_path", h_ws_path, SC_LISTENER_ONLY, FT_NONE, 0, FT_STR, LF(websockets_path), 0, 0,
     1, 1, 0, NULL},
    {"websockets_origin", h_words, SC_LISTENER_ONLY, FT_NONE, 0, FT_STR, LF(websockets_origin), 0,
     0, 1, 1, OF_REST, NULL},
    {"accept_protocol_versions", h_protocol_versions, SC_LISTENER_ONLY, FT_NONE, 0, FT_UINT,
     LF(accept_protocol_versions), 3, 5, 1, 1, OF_REST, NULL},
    XI("enable_proxy_protocol", SC_LISTENER_ONLY, 1, 2, UNS),
    XB("proxy_protocol_v2_require_tls", SC_LISTENER_ONLY, UNS),
    /* Listener TLS (stored for the TLS work). */
    LS("cafile", SC_LISTENER, cafile, 0),
    LS("capath", SC_LISTENER, capath, 0),
    LS("certfile", SC_LISTENER, certfile, 0),
    LS("keyfile", SC_LISTENER, keyfile, 0),
    LS("ciphers", SC_LISTENER, ciphers, 0),
    LS("ciphers_tls1.3", SC_LISTENER, ciphers_tls13, 0),
    LS("crlfile", SC_LISTENER, crlfile, 0),
    LS("dhparamfile", SC_LISTENER, dhparamfile, 0),
    LS("psk_hint", SC_LISTENER, psk_hint, 0),
    LS("tls_engine", SC_LISTENER, tls_engine, UNS),
    LS("tls_engine_kpass_sha1", SC_LISTENER, tls_engine_kpass_sha1, UNS),
    {"tls_keyform", set_enum, SC_LISTENER, FT_NONE, 0, FT_STR, LF(tls_keyform), 0, 0, 1, 1, 0,
     "pem|engine"},
    LS("tls_version", SC_LISTENER, tls_version, 0),
    LB("require_certificate", SC_LISTENER, require_certificate, 0),
    LB("use_identity_as_username", SC_LISTENER, use_identity_as_username, 0),
    LB("use_subject_as_username", SC_LISTENER, use_subject_as_username, 0),
    LB("disable_client_cert_date_checks", SC_LISTENER_ONLY, disable_client_cert_date_checks, UNS),
    /* Security: global, or per listener with per_listener_settings. */
    FN("per_listener_settings", h_per_listener, SC_GLOBAL, 0, 0, 1, 1, 0),
    {"allow_anonymous", set_bool, SC_SECURITY, FT_INT, CF(allow_anonymous), FT_INT,
     LF(allow_anonymous), 0, 0, 1, 1, OF_SECURITY, NULL},
    {"allow_zero_length_clientid", set_bool, SC_SECURITY, FT_BOOL, CF(allow_zero_length_clientid),
     FT_INT, LF(allow_zero_length_clientid), 0, 0, 1, 1, OF_SECURITY, NULL},
    SECS("auto_id_prefix", auto_id_prefix, 0),
    SECS("password_file", password_file, 0),
    SECS("acl_file", acl_file, 0),
    SECS("psk_file", psk_file, 0),
    FN("auth_plugin", h_plugin, SC_SECURITY, 0, 0, 1, 1, OF_REST | OF_SECURITY | UNS),
    FN("plugin", h_plugin, SC_SECURITY, 0, 0, 1, 1, OF_REST | OF_SECURITY | UNS),
    FN("global_plugin", h_plugin, SC_GLOBAL, 0, 0, 1, 1, OF_REST | UNS),
    FN("plugin_load", h_plugin, SC_GLOBAL, 0, 0, 2, 2, OF_REST | UNS),
    FN("plugin_use", h_plugin, SC_LISTENER_ONLY, 0, 0, 1, 1, UNS),
    XS("auth_opt_", SC_PLUGIN, OF_PREFIX),
    XS("plugin_opt_", SC_PLUGIN, OF_PREFIX),
    XB("auth_plugin_deny_special_chars", SC_PLUGIN, 0),
    /* Limits and behaviour. */
    {"max_inflight_messages", h_inflight, SC_GLOBAL, FT_U16, CF(max_inflight_messages), FT_NONE, 0,
     0, 0, 1, 1, 0, NULL},
    GI("max_inflight_bytes", max_inflight_bytes, FT_U64, 0, I64_MAX, OF_NEG_ZERO),
    GI("max_keepalive", max_keepalive, FT_U16, 0, 65535, 0),
    GI("max_packet_size", max_packet_size, FT_U32, 20, MAX_PACKET, 0),
    GI("message_size_limit", message_size_limit, FT_U32, 0, MAX_PAYLOAD, 0),
    GI("max_queued_messages", max_queued_messages, FT_U32, 0, U32_MAX, OF_NEG_ZERO),
    GI("max_queued_bytes", max_queued_bytes, FT_U64, 0, I64_MAX, OF_NEG_ZERO),
    GI("memory_limit", memory_limit, FT_U64, 0, I64_MAX, 0),
    GI("worker_threads", worker_threads, FT_UINT, 0, 1024, 0),
    GI("worker_busy_poll_us", worker_busy_poll_us, FT_U32, 0, 10000, 0),
    GI("max_retained_messages", max_retained_messages, FT_U32, 0, U32_MAX, 0),
    GI("max_retained_bytes", max_retained_bytes, FT_U64, 0, I64_MAX, 0),
    GI("sys_interval", sys_interval, FT_U32, 0, 65535, 0),
    {"persistent_client_expiration", h_expiration, SC_GLOBAL, FT_I64,
     CF(persistent_client_expiration_s), FT_NONE, 0, 0, 0, 1, 1, 0, NULL},
    GB("retain_available", retain_available, 0),
    GB("connection_messages", connection_messages, 0),
    GB("allow_duplicate_messages", allow_duplicate_messages, OF_OBSOLETE),
    GB("check_retain_source", check_retain_source, 0),
    GS("clientid_prefixes", clientid_prefixes, 0),
    GB("queue_qos0_messages", queue_qos0_messages, 0),
    GB("set_tcp_nodelay", set_tcp_nodelay, 0), /* TCP_NODELAY is always on (see docs) */
    GB("upgrade_outgoing_qos", upgrade_outgoing_qos, 0),
    GI("retain_expiry_interval", retain_expiry_interval, FT_U32, 1, I32_MAX, 0),
    XI("retry_interval", SC_GLOBAL, I32_MIN, I32_MAX, OF_OBSOLETE),
    XI("store_clean_interval", SC_GLOBAL, I32_MIN, I32_MAX, OF_OBSOLETE),
    GI("global_max_clients", global_max_clients, FT_INT, -1, I32_MAX, OF_NEG_UNLIMITED),
    GI("global_max_connections", global_max_connections, FT_INT, -1, I32_MAX, OF_NEG_UNLIMITED),
    XB("enable_control_api", SC_GLOBAL, UNS),
    /* Persistence. */
    GB("persistence", persistence, 0),
    GB("retained_persistence", persistence, 0),
    GS("persistence_file", persistence_file, 0),
    GS("persistence_location", persistence_location, 0),
    GI("autosave_interval", autosave_interval, FT_U32, 0, U32_MAX, OF_NEG_ZERO),
    GB("autosave_on_changes", autosave_on_changes, 0),
    {"persistence_fsync", set_enum, SC_GLOBAL, FT_INT, CF(persistence_fsync), FT_NONE, 0, 0, 0, 1,
     1, 0, "always|interval|never"},
    GI("persistence_fsync_interval_ms", persistence_fsync_interval_ms, FT_U32, 1, 3600000, 0),
    /* Logging and process. */
    FN("log_dest", h_log_dest, SC_GLOBAL, 0, 0, 1, 1, OF_REST),
    {"log_type", h_log_type, SC_GLOBAL, FT_NONE, 0, FT_NONE, 0, 0, 0, 1, 1, 0,
     "none|all|error|warning|notice|information|debug|subscribe|unsubscribe|websockets|internal"},
    GB("log_timestamp", log_timestamp, 0),
    GS("log_timestamp_format", log_timestamp_format, 0),
    GI("log_facility", log_facility, FT_INT, 0, 7, 0),
    GS("user", user, 0),
    GS("pid_file", pid_file, 0),
    FN("response_information", h_response_information, SC_GLOBAL, 0, 0, 1, 1, OF_REST),
    FN("include_dir", h_include_dir, SC_GLOBAL, 0, 0, 1, 1, OF_REST),
    GS("http_api_token", http_api_token, 0),
    {"auth_method", h_auth_method, SC_GLOBAL, FT_NONE, 0, FT_NONE, 0, 0, 0, 1, 1, 0,
     "password|scram-sha-256|scram-sha-512|jwt"},
    GS("scram_file", scram_file, 0),
    GS("jwt_key_file", jwt_key_file, 0),
    GS("jwt_jwks_file", jwt_jwks_file, 0),
    GS("jwt_issuer", jwt_issuer, 0),
    GS("jwt_audience", jwt_audience, 0),
    GS("jwt_username_claim", jwt_username_claim, 0),
    GI("jwt_leeway", jwt_leeway, FT_I64, 0, 86400, 0),
    {"http_admin_users", h_words, SC_GLOBAL, FT_STR, CF(http_admin_users), FT_NONE, 0, 0, 0, 1, 1,
     OF_REST, NULL},
    GI("websockets_log_level", websockets_log_level, FT_INT, I32_MIN, I32_MAX, UNS),
    GI("websockets_headers_size", websockets_headers_size, FT_U16, 0, 65535, 0),
    /* Mosquitto 2.1's packet I/O buffer, not a header limit: accepted and ignored. */
    XI("packet_buffer_size", SC_GLOBAL, 0, 65535, UNS),
    /* Bridges: validated only; `connection` warns once for its whole section. */
    FN("connection", h_connection, SC_GLOBAL, 0, 0, 1, 1, 0),
    XS("address", BR, 0),
    XS("addresses", BR, 0),
    FN("topic", h_bridge_topic, BR, 0, 2, 1, 1, OF_REST),
    XB("bridge_attempt_unsubscribe", BR, 0),
    XB("bridge_insecure", BR, 0),
    XB("bridge_require_ocsp", BR, 0),
    XB("bridge_outgoing_retain", BR, 0),
    XB("bridge_tls_use_os_certs", BR, 0),
    XB("cleansession", BR, 0),
    XB("local_cleansession", BR, 0),
    XB("notifications", BR, 0),
    XB("notifications_local_only", BR, 0),
    XB("round_robin", BR, 0),
    XB("try_private", BR, 0),
    XS("bridge_bind_address", BR, 0),
    XS("bridge_cafile", BR, 0),
    XS("bridge_capath", BR, 0),
    XS("bridge_certfile", BR, 0),
    XS("bridge_keyfile", BR, 0),
    XS("bridge_alpn", BR, 0),
    XS("bridge_ciphers", BR, 0),
    XS("bridge_ciphers_tls1.3", BR, 0),
    XS("bridge_identity", BR, 0),
    XS("bridge_psk", BR, 0),
    XS("bridge_tls_version", BR, 0),
    XS("clientid", BR, 0),
    XS("remote_clientid", BR, 0),
    XS("local_clientid", BR, 0),
    XS("local_password", BR, 0),
    XS("local_username", BR, 0),
    XS("notification_topic", BR, 0),
    XS("password", BR, 0),
    XS("remote_password", BR, 0),
    XS("username", BR, 0),
    XS("remote_username", BR, 0),
    XI("bridge_max_packet_size", BR, 0, U32_MAX, OF_NEG_ZERO),
    XI("bridge_max_topic_alias", BR, 0, 65535, 0),
    XI("bridge_receive_maximum", BR, 1, 65535, 0),
    XI("bridge_session_expiry_interval", BR, 0, U32_MAX, 0),
    XI("bridge_tcp_user_timeout", BR, 0, I32_MAX, 0),
    XI("idle_timeout", BR, I32_MIN, I32_MAX, 0),
    XI("keepalive_interval", BR, I32_MIN, 65535, 0),
    XI("threshold", BR, I32_MIN, I32_MAX, 0),
    FN("bridge_tcp_keepalive", set_ints, BR, 1, I32_MAX, 3, 3, 0),
    FN("restart_timeout", set_ints, BR, I32_MIN, I32_MAX, 1, 3, 0),
    XE("bridge_protocol_version", BR, "mqttv31|mqttv311|mqttv50"),
    XE("bridge_reload_type", BR, "lazy|immediate"),
    XE("start_type", BR, "automatic|lazy|once"),
};

const struct config_option *config_table_find(const char *key, size_t len)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        const struct config_option *o = &options[i];
        size_t n = strlen(o->name);
        if (o->flags & OF_PREFIX) {
            if (len > n && memcmp(key, o->name, n) == 0)
                return o;
        } else if (n == len && memcmp(key, o->name, n) == 0) {
            return o;
        }
    }
    return NULL;
}

const struct config_option *config_table_at(size_t i)
{
    return i < sizeof options / sizeof options[0] ? &options[i] : NULL;
}
