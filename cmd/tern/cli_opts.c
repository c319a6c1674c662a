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

__attribute__((format(printf, 3, 4))) static int fail(const struct cli_cfg *c, FILE *err,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("Error: ", err);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fprintf(err, "\n\nUse '%s --help' to see usage.\n", cli_tool_name(c->tool));
    return FAIL;
}

/* The value after option argv[*i], or NULL (error printed). */
static const char *value(const struct cli_cfg *c, int argc, char **argv, int *i, FILE *err)
{
    if (*i + 1 >= argc) {
        fail(c, err, "%s argument given but no value specified.", argv[*i]);
        return NULL;
    }
    return argv[++*i];
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
    if (*i + 3 >= argc)
        return fail(c, err, "%s argument given but not enough arguments specified.", argv[*i]);
    const char *cmd = argv[*i + 1], *name = argv[*i + 2];
    int ci = -1;
    for (int k = 0; k < PC_COUNT; k++) {
        if (strcmp(cmd, cmd_names[k]) == 0)
            ci = k;
    }
    if (ci < 0)
        return fail(c, err, "Invalid command %s given in --property argument.", cmd);
    const struct prop_def *d = NULL;
    for (size_t k = 0; k < sizeof prop_defs / sizeof prop_defs[0]; k++) {
        if (strcmp(name, prop_defs[k].name) == 0)
            d = &prop_defs[k];
    }
    if (!d)
        return fail(c, err, "Invalid property name %s given in --property argument.", name);
    if (!(d->cmds & (1u << ci))) {
        fprintf(err, "Error: %s property not allowed for %s in --property argument.\n\n", name,
                cmd);
        fprintf(err, "Use '%s --help' to see usage.\n", cli_tool_name(c->tool));
        return FAIL;
    }
    const char *v2 = NULL;
    if (d->type == 'p') {
        if (*i + 4 >= argc)
            return fail(c, err, "%s argument given but not enough arguments specified.", argv[*i]);
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
        return fail(c, err, "Unsupported URL scheme in '%s'.", url);
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
        return fail(c, err, "Invalid protocol version argument given.%s", "");
    return OK;
}

static int parse_int_opt(struct cli_cfg *c, const char *opt, const char *v, long long lo,
                         long long hi, long long *out, FILE *err)
{
    if (!to_long(v, lo, hi, out)) {
        fprintf(err, "Error: Invalid %s value '%s'.\n\nUse '%s --help' to see usage.\n", opt,
                v ? v : "", cli_tool_name(c->tool));
        return FAIL;
    }
    return OK;
}

static int parse_session_expiry(struct cli_cfg *c, const char *v, FILE *err)
{
    if (!strcmp(v, "-1") || !strcmp(v, "\xe2\x88\x9e")) {
        c->session_expiry = UINT32_MAX;
        return OK;
    }
    long long n;
    if (!to_long(v, 0, UINT32_MAX, &n))
        return fail(c, err, "Invalid session-expiry-interval '%s'.", v);
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
            return fail(c, err, "Maximum inflight messages must be greater than 0 (got %s).", v);
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
    if (!strcmp(o, "-r") || !strcmp(o, "--retain")) {
        c->retain = true;
        return OK;
    }
    if (!strcmp(o, "-n") || !strcmp(o, "--null-message"))
        return set_pub_mode(c, PM_NULL, err);
    if (!strcmp(o, "-l") || !strcmp(o, "--stdin-line"))
        return set_pub_mode(c, PM_LINES, err);
    if (!strcmp(o, "-s") || !strcmp(o, "--stdin-file"))
        return set_pub_mode(c, PM_STDIN, err);
    bool m = !strcmp(o, "-m") || !strcmp(o, "--message");
    bool f = !strcmp(o, "-f") || !strcmp(o, "--file");
    bool t = !strcmp(o, "-t") || !strcmp(o, "--topic");
    bool rep = !strcmp(o, "--repeat"), delay = !strcmp(o, "--repeat-delay");
    if (!m && !f && !t && !rep && !delay)
        return NOMATCH;
    const char *v = value(c, argc, argv, i, err);
    if (!v)
        return FAIL;
    if (t) {
        c->topic = v;
        return OK;
    }
    if (rep) {
        long long n;
        if (parse_int_opt(c, o, v, 1, LONG_MAX, &n, err))
            return FAIL;
        c->repeat = (long)n;
        return OK;
    }
    if (delay) {
        char *end;
        c->repeat_delay_s = strtod(v, &end);
        if (*end || c->repeat_delay_s < 0)
            return fail(c, err, "Invalid --repeat-delay value '%s'.", v);
        return OK;
    }
    if (set_pub_mode(c, m ? PM_MESSAGE : PM_FILE, err))
        return FAIL;
    if (m)
        c->message = v;
    else
        c->file = v;
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
    if (!strcmp(o, "-v") || !strcmp(o, "--verbose"))
        return &c->verbose;
    if (!strcmp(o, "-R") || !strcmp(o, "--no-stale"))
        return &c->no_retained;
    if (c->tool == CLI_SUB && !strcmp(o, "-E"))
        return &c->exit_after_sub;
    if (c->tool == CLI_SUB && !strcmp(o, "--retained-only"))
        return &c->retained_only;
    if (c->tool == CLI_SUB && !strcmp(o, "--remove-retained"))
        return &c->remove_retained;
    if (!strcmp(o, "--nl"))
        return &c->no_local;
    if (!strcmp(o, "--rap"))
        return &c->retain_as_published;
    return NULL;
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
    static const char *const with_value[] = {
        "-t", "--topic", "-T", "--filter-out",     "-U", "--unsubscribe", "-C",
        "-W", "-F",      "-e", "--retain-handling"};
    size_t k = 0, n = sizeof with_value / sizeof with_value[0];
    while (k < n && strcmp(o, with_value[k]) != 0)
        k++;
    if (k == n || (c->tool == CLI_SUB && k == 9) || (c->tool == CLI_RR && k < 7))
        return NOMATCH;
    const char *v = value(c, argc, argv, i, err);
    if (!v)
        return FAIL;
    long long num;
    switch (k) {
    case 0:
    case 1:
        return add_topic(c, c->topics, &c->topic_count, v, err);
    case 2:
    case 3:
        return add_topic(c, c->filter_out, &c->filter_out_count, v, err);
    case 4:
    case 5:
        return add_topic(c, c->unsub, &c->unsub_count, v, err);
    case 6:
        if (!to_long(v, 1, LONG_MAX, &num))
            return fail(c, err, "Invalid -C count '%s'.", v);
        c->msg_count = (long)num;
        return OK;
    case 7:
        if (!to_long(v, 1, 3600 * 24 * 365, &num))
            return fail(c, err, "Invalid -W timeout '%s'.", v);
        c->timeout_s = (long)num;
        return OK;
    case 8:
        c->format = v;
        return OK;
    case 9:
        c->response_topic = v;
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

static int check_common(struct cli_cfg *c, FILE *err)
{
    if (c->will_payload && !c->will_topic)
        return fail(c, err, "Will payload given, but no will topic given.%s", "");
    if (c->will_retain && !c->will_topic)
        return fail(c, err, "Will retain given, but no will topic given.%s", "");
    if (c->will_topic && !tern_str_of(c->will_topic).len)
        return fail(c, err, "Invalid will topic '%s'.", c->will_topic);
    if (c->password && !c->username && c->version != TERN_MQTT_V5)
        return fail(c, err, "-P password given, but no -u username given.%s", "");
    if (!c->clean && (c->id_prefix || !c->id))
        return fail(c, err, "You must provide a client id if you are using the -c option.%s", "");
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

static bool has_wildcard(const char *t)
{
    return strchr(t, '+') || strchr(t, '#');
}

static int check_tool(struct cli_cfg *c, FILE *err)
{
    if (c->tool == CLI_PUB) {
        if (!c->topic || c->pub_mode == PM_NONE)
            return fail(c, err, "Both topic and message must be supplied.%s", "");
        if (has_wildcard(c->topic))
            return fail(c, err, "Invalid publish topic '%s', does it contain '+' or '#'?",
                        c->topic);
        return OK;
    }
    if (c->tool == CLI_RR) {
        if (!c->topic || c->pub_mode == PM_NONE || !c->response_topic)
            return fail(c, err, "All of topic, message, and response topic must be supplied.%s",
                        "");
        return OK;
    }
    if (c->topic_count == 0)
        return fail(c, err, "You must specify a topic to subscribe to.%s", "");
    for (int k = 0; k < c->topic_count; k++) {
        const char *t = c->topics[k];
        if (!*t)
            return fail(c, err,
                        "Invalid subscription topic '%s', are all '+' and '#' "
                        "wildcards correct?",
                        t);
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
    return check_tool(c, err);
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
