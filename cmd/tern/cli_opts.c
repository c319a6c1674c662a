/* Option parsing for `tern pub/sub/rr`, mosquitto 2.0 compatible: the same flags, defaults,
 * range checks and "Error: ..." texts, then conversion to struct tern_connect_options.
 * No I/O besides the error messages. */
#include "cli_opts.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OK = 0, FAIL = 1, HELP = 2, NOMATCH = 3 };

const char *cli_tool_name(enum cli_tool tool)
{
    return tool == CLI_PUB ? "tern pub" : tool == CLI_SUB ? "tern sub" : "tern rr";
}

/* "Error: <fmt...>" then, when tool_name is set, mosquitto's usage hint. */
__attribute__((format(printf, 3, 0))) static int report(FILE *err, const char *tool_name,
                                                        const char *fmt, va_list ap)
{
    fputs("Error: ", err);
    vfprintf(err, fmt, ap);
    if (tool_name)
        fprintf(err, "\n\nUse '%s --help' to see usage.\n", tool_name);
    else
        fputc('\n', err);
    return FAIL;
}

__attribute__((format(printf, 3, 4))) static int fail(const struct cli_cfg *c, FILE *err,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(err, cli_tool_name(c->tool), fmt, ap);
    va_end(ap);
    return FAIL;
}

/* An error mosquitto's clients report from libmosquitto, after parsing: no usage hint. */
__attribute__((format(printf, 2, 3))) static int fail_bare(FILE *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(err, NULL, fmt, ap);
    va_end(ap);
    return FAIL;
}

/* What mosquitto's clients say when an option is given without its value: "<name> argument
 * given but <missing>." (name is the short form where there is one). */
static const struct {
    const char *opt, *alias, *name, *missing;
} missing_texts[] = {
    {"-h", "--host", "-h", "no host specified"},
    {"-p", "--port", "-p", "no port specified"},
    {"-A", NULL, "-A", "no address specified"},
    {"-i", "--id", "-i", "no id specified"},
    {"-I", "--id-prefix", "-I", "no id prefix specified"},
    {"-u", "--username", "-u", "no username specified"},
    {"-P", "--pw", "-P", "no password specified"},
    {"-k", "--keepalive", "-k", "no keepalive specified"},
    {"-q", "--qos", "-q", "no QoS specified"},
    {"-M", NULL, "-M", "max_inflight not specified"},
    {"-x", "--session-expiry-interval", "-x", "no session expiry interval specified"},
    {"-V", "--protocol-version", "--protocol-version", "no version specified"},
    {"-L", "--url", "-L", "no URL specified"},
    {"-t", "--topic", "-t", "no topic specified"},
    {"-m", "--message", "-m", "no message specified"},
    {"-f", "--file", "-f", "no file specified"},
    {"--repeat", NULL, "--repeat", "no count specified"},
    {"--repeat-delay", NULL, "--repeat-delay", "no time specified"},
    {"-T", "--filter-out", "-T", "no topic filter specified"},
    {"-U", "--unsubscribe", "-U", "no unsubscribe topic specified"},
    {"-C", NULL, "-C", "no count specified"},
    {"-W", NULL, "-W", "no timeout specified"},
    {"-F", NULL, "-F", "no format specified"},
    {"-e", NULL, "-e", "no response topic specified"},
    {"--will-topic", NULL, "--will-topic", "no will topic specified"},
    {"--will-payload", NULL, "--will-payload", "no will payload specified"},
    {"--will-qos", NULL, "--will-qos", "no will QoS specified"},
    {"--cafile", NULL, "--cafile", "no file specified"},
    {"--capath", NULL, "--capath", "no directory specified"},
    {"--cert", NULL, "--cert", "no file specified"},
    {"--key", NULL, "--key", "no file specified"},
    {"--keyform", NULL, "--keyform", "no keyform specified"},
    {"--tls-version", NULL, "--tls-version", "no version specified"},
    {"--ciphers", NULL, "--ciphers", "no ciphers specified"},
    {"--tls-alpn", NULL, "--tls-alpn", "no protocol specified"},
    {"--tls-engine", NULL, "--tls-engine", "no engine_id specified"},
    {"--tls-engine-kpass-sha1", NULL, "--tls-engine-kpass-sha1", "no kpass sha1 specified"},
    {"--psk", NULL, "--psk", "no key specified"},
    {"--psk-identity", NULL, "--psk-identity", "no identity specified"},
    {"--unix", NULL, "--unix", "no socket path specified"},
    {"--proxy", NULL, "--proxy", "no proxy url specified"},
    {"--random-filter", NULL, "--random-filter", "no chance specified"},
};

/* The value after option argv[*i], or NULL (error printed). */
static const char *value(const struct cli_cfg *c, int argc, char **argv, int *i, FILE *err)
{
    if (*i + 1 < argc)
        return argv[++*i];
    const char *o = argv[*i], *name = o, *missing = "no value specified";
    for (size_t k = 0; k < sizeof missing_texts / sizeof missing_texts[0]; k++) {
        if (!strcmp(o, missing_texts[k].opt) ||
            (missing_texts[k].alias && !strcmp(o, missing_texts[k].alias))) {
            name = missing_texts[k].name;
            missing = missing_texts[k].missing;
        }
    }
    fail(c, err, "%s argument given but %s.\n", name, missing);
    return NULL;
}

static bool to_long(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    if (!s || !*s)
        return false;
    long long v = strtoll(s, &end, 10);
    if (*end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* ---- -D properties ---- */

struct prop_def {
    const char *name;
    uint8_t id;
    char type;     /* b byte, h u16, w u32, v varint, s string, d binary, p pair */
    unsigned cmds; /* bit per enum cli_prop_cmd */
};

#define C(x) (1u << (x))
static const struct prop_def prop_defs[] = {
    {"payload-format-indicator", 0x01, 'b', C(PC_PUBLISH) | C(PC_WILL)},
    {"message-expiry-interval", 0x02, 'w', C(PC_PUBLISH) | C(PC_WILL)},
    {"content-type", 0x03, 's', C(PC_PUBLISH) | C(PC_WILL)},
    {"response-topic", 0x08, 's', C(PC_PUBLISH) | C(PC_WILL)},
    {"correlation-data", 0x09, 'd', C(PC_PUBLISH) | C(PC_WILL)},
    {"subscription-identifier", 0x0B, 'v', C(PC_SUBSCRIBE)},
    {"session-expiry-interval", 0x11, 'w', C(PC_CONNECT) | C(PC_DISCONNECT)},
    {"authentication-method", 0x15, 's', C(PC_CONNECT)},
    {"authentication-data", 0x16, 'd', C(PC_CONNECT)},
    {"request-problem-information", 0x17, 'b', C(PC_CONNECT)},
    {"will-delay-interval", 0x18, 'w', C(PC_WILL)},
    {"request-response-information", 0x19, 'b', C(PC_CONNECT)},
    {"reason-string", 0x1F, 's', C(PC_DISCONNECT)},
    {"receive-maximum", 0x21, 'h', C(PC_CONNECT)},
    {"topic-alias-maximum", 0x22, 'h', C(PC_CONNECT)},
    {"topic-alias", 0x23, 'h', C(PC_PUBLISH)},
    {"user-property", 0x26, 'p',
     C(PC_CONNECT) | C(PC_PUBLISH) | C(PC_SUBSCRIBE) | C(PC_UNSUBSCRIBE) | C(PC_DISCONNECT) |
         C(PC_WILL)},
    {"maximum-packet-size", 0x27, 'w', C(PC_CONNECT)},
};
#undef C

static const char *const cmd_names[PC_COUNT] = {"connect",     "publish",    "subscribe",
                                                "unsubscribe", "disconnect", "will"};

static void set_num(struct tern_props *p, uint8_t id, uint32_t v)
{
    switch (id) {
    case 0x01:
        p->payload_format = (uint8_t)v;
        break;
    case 0x02:
        p->message_expiry_s = v;
        break;
    case 0x11:
        p->session_expiry_s = v;
        break;
    case 0x17:
        p->request_problem_info = (uint8_t)v;
        break;
    case 0x18:
        p->will_delay_s = v;
        break;
    case 0x19:
        p->request_response_info = (uint8_t)v;
        break;
    case 0x21:
        p->receive_maximum = (uint16_t)v;
        break;
    case 0x22:
        p->topic_alias_maximum = (uint16_t)v;
        break;
    case 0x23:
        p->topic_alias = (uint16_t)v;
        break;
    case 0x27:
        p->maximum_packet_size = v;
        break;
    default:
        break;
    }
}

static void set_str(struct tern_props *p, uint8_t id, const char *v)
{
    struct tern_str s = tern_str_of(v);
    switch (id) {
    case 0x03:
        p->content_type = s;
        break;
    case 0x08:
        p->response_topic = s;
        break;
    case 0x09:
        p->correlation_data = s;
        break;
    case 0x15:
        p->auth_method = s;
        break;
    case 0x16:
        p->auth_data = s;
        break;
    case 0x1F:
        p->reason_string = s;
        break;
    default:
        break;
    }
}

static int set_prop(struct cli_cfg *c, struct cli_props *cp, const struct prop_def *d,
                    const char *v, const char *v2, FILE *err)
{
    long long n = 0;
    static const long long max[] = {
        ['b'] = 255, ['h'] = 65535, ['w'] = 4294967295LL, ['v'] = 268435455};
    switch (d->type) {
    case 'b':
    case 'h':
    case 'w':
    case 'v':
        if (!to_long(v, d->type == 'v' ? 1 : 0, max[(int)d->type], &n))
            return fail(c, err, "Invalid property value '%s' in --property argument.", v);
        if (d->type == 'v') {
            cp->sub_id = (uint32_t)n;
            cp->p.sub_ids = &cp->sub_id;
            cp->p.sub_id_count = 1;
        } else {
            set_num(&cp->p, d->id, (uint32_t)n);
        }
        break;
    case 'p':
        if (cp->p.user_count >= CLI_MAX_USER_PROPS)
            return fail(c, err, "Too many user properties%s.", "");
        cp->user[cp->p.user_count].name = tern_str_of(v);
        cp->user[cp->p.user_count].value = tern_str_of(v2);
        cp->p.user = cp->user;
        cp->p.user_count++;
        return OK;
    default:
        set_str(&cp->p, d->id, v);
    }
    cp->p.present |= TERN_PROP_BIT(d->id);
    return OK;
}

/* -D command identifier value [value2] */
static int parse_property(struct cli_cfg *c, int argc, char **argv, int *i, FILE *err)
{
    /* As mosquitto's clients: -D selects MQTT v5 (a later -V overrides it). */
    c->version = TERN_MQTT_V5;
    if (*i + 3 >= argc)
        return fail(c, err, "--property argument given but not enough arguments specified.%s",
                    "\n");
    const char *cmd = argv[*i + 1], *name = argv[*i + 2];
    int ci = -1;
    for (int k = 0; k < PC_COUNT; k++) {
        if (strcmp(cmd, cmd_names[k]) == 0)
            ci = k;
    }
    if (ci < 0)
        return fail(c, err, "Invalid command given in --property argument.%s", "\n");
    const struct prop_def *d = NULL;
    for (size_t k = 0; k < sizeof prop_defs / sizeof prop_defs[0]; k++) {
        if (strcmp(name, prop_defs[k].name) == 0)
            d = &prop_defs[k];
    }
    if (!d)
        return fail(c, err, "Invalid property name given in --property argument.%s", "\n");
    if (!(d->cmds & (1u << ci))) {
        fprintf(err, "Error: %s property not allowed for %s in --property argument.\n\n", name,
                cmd);
        fprintf(err, "Use '%s --help' to see usage.\n", cli_tool_name(c->tool));
        return FAIL;
    }
    const char *v2 = NULL;
    if (d->type == 'p') {
        if (*i + 4 >= argc)
            return fail(c, err, "--property argument given but not enough arguments specified.%s",
                        "\n");
        v2 = argv[*i + 4];
    }
    int rc = set_prop(c, &c->props[ci], d, argv[*i + 3], v2, err);
    *i += d->type == 'p' ? 4 : 3;
    return rc;
}

/* ---- URL ---- */

/* mqtt(s)://[username[:password]@]host[:port]/topic */
static int parse_url(struct cli_cfg *c, const char *url, FILE *err)
{
    const char *rest;
    if (strncmp(url, "mqtt://", 7) == 0) {
        rest = url + 7;
    } else if (strncmp(url, "mqtts://", 8) == 0) {
        rest = url + 8;
        c->tls = true;
    } else {
        return fail(c, err, "unsupported URL scheme.%s", "\n");
    }
    if (strlen(rest) >= sizeof c->url_buf)
        return fail(c, err, "URL too long: '%s'.", url);
    strcpy(c->url_buf, rest);
    char *s = c->url_buf;
    char *slash = strchr(s, '/');
    if (!slash)
        return fail(c, err, "Invalid URL for -L argument specified - topic missing%s.", "");
    *slash = '\0';
    char *at = strrchr(s, '@');
    if (at) {
        *at = '\0';
        char *colon = strchr(s, ':');
        if (colon) {
            *colon = '\0';
            c->password = colon + 1;
        }
        c->username = s;
        s = at + 1;
    }
    char *colon = strrchr(s, ':');
    if (colon) {
        *colon = '\0';
        long long port;
        if (!to_long(colon + 1, 1, 65535, &port))
            return fail(c, err, "Invalid port given: %s", colon + 1);
        c->port = (int)port;
    }
    c->host = s;
    if (c->tool == CLI_PUB || c->tool == CLI_RR)
        c->topic = slash + 1;
    else if (c->topic_count < CLI_MAX_TOPICS)
        c->topics[c->topic_count++] = slash + 1;
    return OK;
}

/* ---- Options common to all tools ---- */

static int parse_version(struct cli_cfg *c, const char *v, FILE *err)
{
    if (!strcmp(v, "mqttv31") || !strcmp(v, "31"))
        c->version = TERN_MQTT_V31;
    else if (!strcmp(v, "mqttv311") || !strcmp(v, "311"))
        c->version = TERN_MQTT_V311;
    else if (!strcmp(v, "mqttv5") || !strcmp(v, "5"))
        c->version = TERN_MQTT_V5;
    else
        return fail(c, err, "Invalid protocol version argument given.%s", "\n");
    return OK;
}

static int parse_session_expiry(struct cli_cfg *c, const char *v, FILE *err)
{
    if (!strcmp(v, "-1") || !strcmp(v, "\xe2\x88\x9e")) {
        c->session_expiry = UINT32_MAX;
        return OK;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end)
        return fail(c, err, "session-expiry-interval not a number.%s", "\n");
    if (n < 0 || n > UINT32_MAX)
        return fail(c, err, "session-expiry-interval out of range.%s", "\n");
    c->session_expiry = n;
    return OK;
}

/* Options that take a value and only store it. */
static const char **string_slot(struct cli_cfg *c, const char *opt)
{
    static const struct {
        const char *name;
        size_t off;
    } slots[] = {
        {"-h", offsetof(struct cli_cfg, host)},
        {"--host", offsetof(struct cli_cfg, host)},
        {"-A", offsetof(struct cli_cfg, bind_address)},
        {"-i", offsetof(struct cli_cfg, id)},
        {"--id", offsetof(struct cli_cfg, id)},
        {"-I", offsetof(struct cli_cfg, id_prefix)},
        {"--id-prefix", offsetof(struct cli_cfg, id_prefix)},
        {"-u", offsetof(struct cli_cfg, username)},
        {"--username", offsetof(struct cli_cfg, username)},
        {"-P", offsetof(struct cli_cfg, password)},
        {"--pw", offsetof(struct cli_cfg, password)},
        {"--will-topic", offsetof(struct cli_cfg, will_topic)},
        {"--will-payload", offsetof(struct cli_cfg, will_payload)},
        {"--cafile", offsetof(struct cli_cfg, cafile)},
        {"--capath", offsetof(struct cli_cfg, capath)},
        {"--cert", offsetof(struct cli_cfg, cert)},
        {"--key", offsetof(struct cli_cfg, key)},
        {"--keyform", offsetof(struct cli_cfg, keyform)},
        {"--tls-engine", offsetof(struct cli_cfg, tls_engine)},
        {"--tls-engine-kpass-sha1", offsetof(struct cli_cfg, tls_engine_kpass)},
        {"--tls-version", offsetof(struct cli_cfg, tls_version)},
        {"--ciphers", offsetof(struct cli_cfg, ciphers)},
        {"--tls-alpn", offsetof(struct cli_cfg, tls_alpn)},
        {"--psk", offsetof(struct cli_cfg, psk)},
        {"--psk-identity", offsetof(struct cli_cfg, psk_identity)},
        {"--unix", offsetof(struct cli_cfg, unix_path)},
        {"--proxy", offsetof(struct cli_cfg, proxy)},
    };
    for (size_t k = 0; k < sizeof slots / sizeof slots[0]; k++) {
        if (!strcmp(opt, slots[k].name))
            return (const char **)(void *)((char *)c + slots[k].off);
    }
    return NULL;
}

static bool *flag_slot(struct cli_cfg *c, const char *opt)
{
    if (!strcmp(opt, "-d") || !strcmp(opt, "--debug"))
        return &c->debug;
    if (!strcmp(opt, "--quiet"))
        return &c->quiet;
    if (!strcmp(opt, "--will-retain"))
        return &c->will_retain;
    if (!strcmp(opt, "--insecure"))
        return &c->insecure;
    if (!strcmp(opt, "--pretty"))
        return &c->pretty;
    if (!strcmp(opt, "--tls-use-os-certs"))
        return &c->tls_use_os_certs;
    if (!strcmp(opt, "--nodelay"))
        return &c->nodelay;
    return NULL;
}

static int parse_numeric(struct cli_cfg *c, const char *o, const char *v, FILE *err)
{
    long long n;
    if (!strcmp(o, "-p") || !strcmp(o, "--port")) {
        if (!to_long(v, 1, 65535, &n))
            return fail(c, err, "Invalid port given: %s", v);
        c->port = (int)n;
    } else if (!strcmp(o, "-k") || !strcmp(o, "--keepalive")) {
        if (!to_long(v, 5, 65535, &n))
            return fail(c, err,
                        "Invalid keepalive given, it must be between 5 and 65535 inclusive.%s",
                        "\n");
        c->keepalive = (int)n;
    } else if (!strcmp(o, "-q") || !strcmp(o, "--qos")) {
        if (!to_long(v, 0, 2, &n))
            return fail(c, err, "Invalid QoS given: %s", v);
        c->qos = (int)n;
    } else if (!strcmp(o, "--will-qos")) {
        if (!to_long(v, 0, 2, &n))
            return fail(c, err, "Invalid will QoS %s.", v);
        c->will_qos = (int)n;
    } else if (!strcmp(o, "-M")) {
        if (!to_long(v, 1, 65535, &n))
            return fail(c, err, "Maximum inflight messages must be greater than 0.%s", "\n");
        c->max_inflight = (int)n;
    } else if (!strcmp(o, "-x") || !strcmp(o, "--session-expiry-interval")) {
        return parse_session_expiry(c, v, err);
    } else if (!strcmp(o, "-V") || !strcmp(o, "--protocol-version")) {
        return parse_version(c, v, err);
    } else if (!strcmp(o, "-L") || !strcmp(o, "--url")) {
        return parse_url(c, v, err);
    } else {
        return NOMATCH;
    }
    return OK;
}

static int parse_common(struct cli_cfg *c, int argc, char **argv, int *i, FILE *err)
{
    const char *o = argv[*i];
    if (!strcmp(o, "--help"))
        return HELP;
    if (!strcmp(o, "-D") || !strcmp(o, "--property"))
        return parse_property(c, argc, argv, i, err);
    if (!strcmp(o, "-c") || !strcmp(o, "--disable-clean-session")) {
        c->clean = false;
        return OK;
    }
    bool *flag = flag_slot(c, o);
    if (flag) {
        *flag = true;
        return OK;
    }
    const char **slot = string_slot(c, o);
    static const char *const numeric[] = {"-p",         "--port",
                                          "-k",         "--keepalive",
                                          "-q",         "--qos",
                                          "--will-qos", "-M",
                                          "-x",         "--session-expiry-interval",
                                          "-V",         "--protocol-version",
                                          "-L",         "--url"};
    bool is_num = false;
    for (size_t k = 0; k < sizeof numeric / sizeof numeric[0]; k++)
        is_num = is_num || !strcmp(o, numeric[k]);
    if (!slot && !is_num)
        return NOMATCH;
    const char *v = value(c, argc, argv, i, err);
    if (!v)
        return FAIL;
    if (slot) {
        *slot = v;
        return OK;
    }
    return parse_numeric(c, o, v, err);
}

/* ---- Tool-specific options ---- */

static int set_pub_mode(struct cli_cfg *c, enum cli_pub_mode m, FILE *err)
{
    if (c->pub_mode != PM_NONE)
        return fail(c, err, "Only one type of message can be sent at once.%s", "\n");
    c->pub_mode = m;
    return OK;
}

static int parse_pub(struct cli_cfg *c, int argc, char **argv, int *i, FILE *err)
{
    const char *o = argv[*i];
    bool rr = c->tool == CLI_RR; /* mosquitto_rr sends one request: no -r, -l, --repeat */
    if (!rr && (!strcmp(o, "-r") || !strcmp(o, "--retain"))) {
        c->retain = true;
        return OK;
    }
    if (!strcmp(o, "-n") || !strcmp(o, "--null-message"))
        return set_pub_mode(c, PM_NULL, err);
    if (!rr && (!strcmp(o, "-l") || !strcmp(o, "--stdin-line")))
        return set_pub_mode(c, PM_LINES, err);
    if (!strcmp(o, "-s") || !strcmp(o, "--stdin-file"))
        return set_pub_mode(c, PM_STDIN, err);
    bool m = !strcmp(o, "-m") || !strcmp(o, "--message");
    bool f = !strcmp(o, "-f") || !strcmp(o, "--file");
    bool t = !strcmp(o, "-t") || !strcmp(o, "--topic");
    bool rep = !rr && !strcmp(o, "--repeat"), delay = !rr && !strcmp(o, "--repeat-delay");
    if (!m && !f && !t && !rep && !delay)
        return NOMATCH;
    /* As mosquitto: a second message source is refused before its value is looked at. */
    if ((m || f) && set_pub_mode(c, m ? PM_MESSAGE : PM_FILE, err))
        return FAIL;
    const char *v = value(c, argc, argv, i, err);
    if (!v)
        return FAIL;
    if (t) {
        c->topic = v;
    } else if (rep) {
        long long n;
        if (!to_long(v, 1, LONG_MAX, &n))
            return fail(c, err, "--repeat argument must be >0.%s", "\n");
        c->repeat = (long)n;
    } else if (delay) {
        char *end;
        c->repeat_delay_s = strtod(v, &end);
        if (*end || end == v)
            return fail(c, err, "Invalid --repeat-delay value '%s'.", v);
        if (c->repeat_delay_s < 0)
            return fail(c, err, "--repeat-delay argument must be >=0.0.%s", "\n");
    } else if (m) {
        c->message = v;
    } else {
        c->file = v;
    }
    return OK;
}

static int add_topic(struct cli_cfg *c, const char **list, int *count, const char *v, FILE *err)
{
    if (*count >= CLI_MAX_TOPICS)
        return fail(c, err, "Too many topics (%s).", v);
    list[(*count)++] = v;
    return OK;
}

static bool *sub_flag(struct cli_cfg *c, const char *o)
{
    bool sub = c->tool == CLI_SUB;
    if (!strcmp(o, "-v") || !strcmp(o, "--verbose"))
        return &c->verbose;
    if (!strcmp(o, "-R") || !strcmp(o, "--no-stale"))
        return &c->no_retained;
    if (sub && !strcmp(o, "-E"))
        return &c->exit_after_sub;
    if (sub && !strcmp(o, "--retained-only"))
        return &c->retained_only;
    if (sub && !strcmp(o, "--remove-retained"))
        return &c->remove_retained;
    if (sub && !strcmp(o, "--nl"))
        return &c->no_local;
    if (sub && !strcmp(o, "--rap"))
        return &c->retain_as_published;
    return NULL;
}

/* A subscription filter given with -t, -T or -U, checked when parsed as mosquitto_sub does. */
static int add_filter(struct cli_cfg *c, const char **list, int *count, const char *what,
                      const char *v, FILE *err)
{
    if (!tern_topic_filter_valid(v))
        return fail(c, err, "Invalid %s topic '%s', are all '+' and '#' wildcards correct?", what,
                    v);
    return add_topic(c, list, count, v, err);
}

static int parse_sub(struct cli_cfg *c, int argc, char **argv, int *i, FILE *err)
{
    const char *o = argv[*i];
    bool *flag = sub_flag(c, o);
    if (flag) {
        *flag = true;
        return OK;
    }
    if (!strcmp(o, "-N")) {
        c->eol = false;
        return OK;
    }
    if (c->tool == CLI_RR) {
        int rc = parse_pub(c, argc, argv, i, err);
        if (rc != NOMATCH)
            return rc;
    }
    enum {
        O_TOPIC,
        O_FILTER_OUT,
        O_UNSUB,
        O_COUNT,
        O_TIMEOUT,
        O_FORMAT,
        O_RESPONSE,
        O_HANDLING,
        O_RANDOM
    };
    static const struct {
        const char *name, *alias;
        int id;
        bool sub, rr; /* accepted by tern sub, by tern rr */
    } opts[] = {
        {"-t", "--topic", O_TOPIC, true, false},
        {"-T", "--filter-out", O_FILTER_OUT, true, false},
        {"-U", "--unsubscribe", O_UNSUB, true, false},
        {"-C", NULL, O_COUNT, true, false},
        {"-W", NULL, O_TIMEOUT, true, true},
        {"-F", NULL, O_FORMAT, true, true},
        {"-e", NULL, O_RESPONSE, false, true},
        {"--retain-handling", NULL, O_HANDLING, true, false},
        {"--random-filter", NULL, O_RANDOM, true, false},
    };
    int id = -1;
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        if ((!strcmp(o, opts[k].name) || (opts[k].alias && !strcmp(o, opts[k].alias))) &&
            (c->tool == CLI_SUB ? opts[k].sub : opts[k].rr))
            id = opts[k].id;
    }
    if (id < 0)
        return NOMATCH;
    const char *v = value(c, argc, argv, i, err);
    if (!v)
        return FAIL;
    long long num;
    char *end;
    switch (id) {
    case O_TOPIC:
        return add_filter(c, c->topics, &c->topic_count, "subscription", v, err);
    case O_FILTER_OUT:
        return add_filter(c, c->filter_out, &c->filter_out_count, "filter", v, err);
    case O_UNSUB:
        return add_filter(c, c->unsub, &c->unsub_count, "unsubscribe", v, err);
    case O_COUNT:
        if (!to_long(v, 1, LONG_MAX, &num))
            return fail(c, err, "Invalid message count \"%s\".\n", v);
        c->msg_count = (long)num;
        return OK;
    case O_TIMEOUT:
        if (!to_long(v, 1, 3600 * 24 * 365, &num))
            return fail(c, err, "Invalid timeout \"%s\".\n", v);
        c->timeout_s = (long)num;
        return OK;
    case O_FORMAT:
        c->format = v;
        return OK;
    case O_RESPONSE:
        c->response_topic = v;
        return OK;
    case O_RANDOM:
        c->random_filter = strtod(v, &end);
        if (end == v || *end || !(c->random_filter >= 0.1 && c->random_filter <= 100.0))
            return fail(c, err, "--random-filter chance must be between 0.1-100.0%s", "\n");
        return OK;
    default:
        if (!to_long(v, 0, 2, &num))
            return fail(c, err, "Invalid --retain-handling value '%s'.", v);
        c->retain_handling = (int)num;
        return OK;
    }
}

/* ---- Checks after parsing ---- */

/* Mosquitto's checks and messages for --proxy socks5h://[user[:pass]@]host[:port]; libtern
 * parses the URL again when connecting (and refuses what slips through with "invalid
 * argument"). */
static int check_proxy(const struct cli_cfg *c, FILE *err)
{
    static const char scheme[] = "socks5h://";
    if (strncmp(c->proxy, scheme, sizeof scheme - 1) != 0)
        return fail(c, err, "Unsupported proxy protocol: %s", c->proxy);
    const char *hp = c->proxy + sizeof scheme - 1;
    const char *at = strrchr(hp, '@');
    if (at)
        hp = at + 1;
    const char *colon = hp[0] == '[' ? strstr(hp, "]:") : strrchr(hp, ':');
    if (colon && hp[0] == '[')
        colon++;
    if (colon) {
        int port = atoi(colon + 1);
        if (port < 1 || port > 65535)
            return fail(c, err, "Invalid proxy port %d", port);
    }
    if (hp[0] == '\0' || hp[0] == ':' || (at && at == c->proxy + sizeof scheme - 1))
        return fail(c, err, "Invalid proxy.%s", "");
    return OK;
}

static bool has_wildcard(const char *t)
{
    return strchr(t, '+') || strchr(t, '#');
}

/* libmosquitto's mosquitto_tls_set / _tls_opts_set checks, made before connecting. */
static int check_tls(struct cli_cfg *c, FILE *err)
{
    if (c->keyform && !c->key)
        return fail(c, err, "If keyform is set, keyfile must be also specified.%s", "");
    if (c->keyform && strcmp(c->keyform, "pem") != 0 && strcmp(c->keyform, "engine") != 0)
        return fail_bare(err, "Problem setting key form, it must be one of 'pem' or 'engine'.");
    if (c->tls_engine_kpass && (!c->tls_engine || !c->keyform))
        return fail(c, err,
                    "when using tls-engine-kpass-sha1, both tls-engine and keyform must also be "
                    "provided.%s",
                    "");
    /* OpenSSL 3 deprecates engines; tern loads keys from PEM files only. */
    if (c->tls_engine || (c->keyform && !strcmp(c->keyform, "engine")))
        return fail(c, err,
                    "TLS engines are not supported by tern (OpenSSL 3 deprecated them); use a PEM "
                    "key file.%s",
                    "");
    if (!c->tls)
        return OK;
    const char *const files[] = {c->cafile, c->cert, c->key};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        if (files[k] && access(files[k], R_OK) != 0)
            return fail_bare(err, "Problem setting TLS options: File not found.");
    }
    if (c->tls_version && strcmp(c->tls_version, "tlsv1.3") != 0 &&
        strcmp(c->tls_version, "tlsv1.2") != 0 && strcmp(c->tls_version, "tlsv1.1") != 0)
        return fail_bare(err, "Problem setting TLS options, check the options are valid.");
    return OK;
}

/* Client id rules of mosquitto's clients: a persistent session needs a fixed id. */
static int check_id(struct cli_cfg *c, FILE *err)
{
    if (c->id && c->id_prefix)
        return fail(c, err, "-i and -I argument cannot be used together.%s", "\n");
    if (c->version != TERN_MQTT_V5) {
        if (!c->clean && (c->id_prefix || !c->id))
            return fail(c, err, "You must provide a client id if you are using the -c option.%s",
                        "");
        return OK;
    }
    bool forever = c->session_expiry == UINT32_MAX || (c->session_expiry < 0 && !c->clean);
    if (forever && (c->id_prefix || !c->id))
        return fail(c, err,
                    "You must provide a client id if you are using an infinite session expiry "
                    "interval.%s",
                    "");
    if (!c->clean && !c->id) /* libmosquitto refuses it; mosquitto_pub words it shorter */
        return fail_bare(err,
                         c->tool == CLI_PUB ? "Invalid id." : "Invalid id and/or clean_session.");
    return OK;
}

static int check_common(struct cli_cfg *c, FILE *err)
{
    if (c->will_payload && !c->will_topic)
        return fail(c, err, "Will payload given, but no will topic given.%s", "");
    if (c->will_retain && !c->will_topic)
        return fail(c, err, "Will retain given, but no will topic given.%s", "");
    if (c->will_topic && !tern_str_of(c->will_topic).len)
        return fail(c, err, "Invalid will topic '%s'.", c->will_topic);
    if (c->will_topic && has_wildcard(c->will_topic))
        return fail(c, err, "Invalid will topic '%s', does it contain '+' or '#'?", c->will_topic);
    if (c->password && !c->username && c->version != TERN_MQTT_V5)
        return fail_bare(err, "Problem setting username and/or password.");
    if (check_id(c, err))
        return FAIL;
    if ((c->cafile || c->capath) && c->psk)
        return fail(c, err, "Only one of --psk or --cafile/--capath may be used at once.%s", "");
    if (c->psk && !c->psk_identity)
        return fail(c, err, "--psk-identity required if --psk used.%s", "");
    if (c->proxy && check_proxy(c, err) != OK)
        return FAIL;
    if (c->cafile || c->capath || c->cert || c->psk || c->tls_use_os_certs)
        c->tls = true;
    if ((c->cert && !c->key) || (c->key && !c->cert))
        return fail(c, err,
                    "Both certfile and keyfile must be provided if one of them is "
                    "set.%s",
                    "");
    return OK;
}

static int check_tool(struct cli_cfg *c, FILE *err)
{
    if (c->tool == CLI_PUB) {
        if (!c->topic || c->pub_mode == PM_NONE) {
            /* As mosquitto_pub: the error, then the usage text (HELP prints it). */
            fail_bare(err, "Both topic and message must be supplied.");
            return HELP;
        }
        if (has_wildcard(c->topic))
            return fail(c, err, "Invalid publish topic '%s', does it contain '+' or '#'?",
                        c->topic);
        return OK;
    }
    if (c->tool == CLI_RR) {
        if (!c->topic || c->pub_mode == PM_NONE || !c->response_topic)
            return fail(c, err, "All of topic, message, and response topic must be supplied.%s",
                        "");
        if (has_wildcard(c->topic))
            return fail(c, err, "Invalid publish topic '%s', does it contain '+' or '#'?",
                        c->topic);
        if (has_wildcard(c->response_topic))
            return fail(c, err, "Invalid response topic '%s', does it contain '+' or '#'?",
                        c->response_topic);
        return OK;
    }
    if (c->topic_count == 0)
        return fail(c, err, "You must specify a topic to subscribe to.%s", "");
    if (c->no_retained && c->retained_only) {
        /* mosquitto_sub's exact output: a blank line first, no usage hint. */
        fputs("\nError: Combining '-R' and '--retained-only' makes no sense.\n", err);
        return FAIL;
    }
    return OK;
}

int cli_parse(struct cli_cfg *c, enum cli_tool tool, int argc, char **argv, FILE *err)
{
    memset(c, 0, sizeof *c);
    c->tool = tool;
    c->version = tool == CLI_RR ? TERN_MQTT_V5 : TERN_MQTT_V311;
    c->keepalive = 60;
    c->clean = true;
    c->session_expiry = -1;
    c->max_inflight = 20;
    c->eol = true;
    c->repeat = 1;
    c->random_filter = 100.0;
    for (int i = 1; i < argc; i++) {
        int rc = parse_common(c, argc, argv, &i, err);
        if (rc == NOMATCH)
            rc = tool == CLI_PUB ? parse_pub(c, argc, argv, &i, err)
                                 : parse_sub(c, argc, argv, &i, err);
        if (rc == NOMATCH) {
            fprintf(err, "Error: Unknown option '%s'.\n\nUse '%s --help' to see usage.\n", argv[i],
                    cli_tool_name(tool));
            return FAIL;
        }
        if (rc)
            return rc;
    }
    if (check_common(c, err))
        return FAIL;
    int rc = check_tool(c, err);
    if (rc)
        return rc;
    /* Last, as libmosquitto's checks run when mosquitto's clients set up the connection. */
    return check_tls(c, err);
}

/* ---- To libtern ---- */

const struct tern_props *cli_props(const struct cli_cfg *c, enum cli_prop_cmd cmd)
{
    const struct cli_props *p = &c->props[cmd];
    if (c->version != TERN_MQTT_V5 ||
        (p->p.present == 0 && p->p.user_count == 0 && p->p.sub_id_count == 0))
        return NULL;
    return &p->p;
}

static void make_id(struct cli_cfg *c)
{
    static const char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if (c->id) {
        return;
    }
    if (c->id_prefix) {
        snprintf(c->id_buf, sizeof c->id_buf, "%s%d", c->id_prefix, (int)getpid());
    } else {
        unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
        strcpy(c->id_buf, "tern-");
        for (int k = 0; k < 16; k++)
            c->id_buf[5 + k] = alnum[rand_r(&seed) % (sizeof alnum - 1)];
        c->id_buf[21] = '\0';
    }
    c->id = c->id_buf;
}

void cli_connect_options(struct cli_cfg *c, struct tern_connect_options *o)
{
    memset(o, 0, sizeof *o);
    make_id(c);
    o->host = c->host ? c->host : "localhost";
    o->unix_path = c->unix_path;
    o->tcp_nodelay = c->nodelay;
    o->proxy_url = c->proxy;
    if (c->tool != CLI_PUB) {
        /* As mosquitto_sub and mosquitto_rr: reconnect after losing the broker. */
        c->reconnect.min_delay_ms = 1000;
        c->reconnect.max_delay_ms = 30000;
        c->reconnect.jitter = true;
        o->reconnect = &c->reconnect;
    }
    o->port = (uint16_t)c->port;
    o->bind_address = c->bind_address;
    o->version = (uint8_t)c->version;
    o->client_id = c->id;
    o->clean_start = c->clean;
    o->keep_alive_s = (uint16_t)c->keepalive;
    if (c->version == TERN_MQTT_V5) {
        if (c->session_expiry >= 0)
            o->session_expiry_s = (uint32_t)c->session_expiry;
        else if (!c->clean)
            o->session_expiry_s = UINT32_MAX;
    }
    if (c->will_topic) {
        c->will.topic = c->will_topic;
        c->will.payload = tern_str_of(c->will_payload);
        c->will.qos = (uint8_t)c->will_qos;
        c->will.retain = c->will_retain;
        c->will.props = cli_props(c, PC_WILL);
        o->will = &c->will;
    }
    o->username = c->username;
    if (c->password) {
        c->password_str = tern_str_of(c->password);
        o->password = &c->password_str;
    }
    o->props = cli_props(c, PC_CONNECT);
    o->max_inflight = (uint16_t)c->max_inflight;
    if (c->tls) {
        c->tls_opts.ca_file = c->cafile;
        c->tls_opts.ca_path = c->capath;
        c->tls_opts.cert_file = c->cert;
        c->tls_opts.key_file = c->key;
        c->tls_opts.version = c->tls_version;
        c->tls_opts.insecure = c->insecure;
        c->tls_opts.use_os_certs = c->tls_use_os_certs;
        c->tls_opts.ciphers = c->ciphers;
        c->tls_opts.alpn = c->tls_alpn;
        c->tls_opts.psk_identity = c->psk ? c->psk_identity : NULL;
        c->tls_opts.psk_hex = c->psk;
        o->tls = &c->tls_opts;
    }
}
