/* Command-line parsing for `tern bench` (see bench_opts.h). Table of numeric options with their
 * ranges; the scenario picks the defaults the suite uses (1->50 fan-out, 50->1 fan-in,
 * 50 pairs, 10k idle connections, 1M subscriptions, 100k retained topics, 10k msg/s latency). */
#include "bench_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stamp.h"
#include "err.h"

static const char *const kind_names[BENCH_KIND_COUNT] = {
    "fanout", "fanin", "pairs", "shared", "idle", "subscale", "retained", "latency",
};

const char *bench_opts_kind_name(enum bench_kind kind)
{
    return (unsigned)kind < BENCH_KIND_COUNT ? kind_names[kind] : NULL;
}

void bench_opts_usage(void *f)
{
    fputs("usage: tern bench SCENARIO [options]\n"
          "scenarios: fanout fanin pairs shared idle subscale retained latency\n"
          "  -h, --host ADDR      broker IPv4 address (127.0.0.1)\n"
          "  -p, --port N         broker port (1883)\n"
          "  -V, --mqtt 3|5       protocol: 3 = 3.1.1, 5 = 5.0 (3)\n"
          "  -q, --qos 0|1|2      QoS of publishes and subscriptions (0)\n"
          "  -P, --pubs N         publishers (pairs, latency: number of pairs)\n"
          "  -S, --subs N         subscribers\n"
          "  -n, --count N        idle: connections; subscale: subscriptions; retained: topics\n"
          "  -s, --payload N      payload bytes, at least 16 (16)\n"
          "  -w, --window N       closed loop: messages in flight per publisher (64)\n"
          "  -r, --rate N         open loop: total msg/s over all publishers\n"
          "  -d, --duration S     measured seconds (10)\n"
          "      --warmup S       seconds before measuring (2)\n"
          "      --source-addrs N bind clients over 127.0.0.1..127.0.0.N (auto)\n"
          "      --parallel N     connects in flight at once (256)\n"
          "      --broker-pid PID read the broker's CPU time and RSS from /proc\n"
          "      --persistent     persistent sessions (clean session off)\n"
          "      --json           one JSON object instead of the table\n",
          (FILE *)f);
}

static void defaults(struct bench_opts *o, enum bench_kind kind)
{
    static const uint32_t pubs[BENCH_KIND_COUNT] = {1, 50, 50, 10, 0, 10, 1, 100};
    static const uint32_t subs[BENCH_KIND_COUNT] = {50, 1, 50, 10, 0, 100, 1, 100};
    static const uint32_t count[BENCH_KIND_COUNT] = {0, 0, 0, 0, 10000, 1000000, 100000, 0};
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->host = "127.0.0.1";
    o->port = 1883;
    o->version = 4;
    o->pubs = pubs[kind];
    o->subs = subs[kind];
    o->count = count[kind];
    o->payload = BENCH_STAMP_LEN;
    o->window = 64;
    o->rate = kind == BENCH_LATENCY ? 10000 : 0;
    o->duration_s = 10;
    o->warmup_s = 2;
    o->connect_parallel = 256;
}

/* Brokers queue about 1000 messages per subscriber (Mosquitto's max_queued_messages) and accept
 * about 20 incoming QoS 2 messages in flight (max_inflight_messages; MQTT 3.1.1 cannot announce
 * it): the default windows stay below both so a closed loop measures speed, not drops. */
static void default_window(struct bench_opts *o)
{
    if (o->kind == BENCH_FANIN && o->pubs)
        o->window = o->pubs * 16 > 800 ? (800 + o->pubs - 1) / o->pubs : 16;
    if (o->qos == 2 && o->window > 16)
        o->window = 16;
}

static int fail(char *err, size_t errlen, const char *what, const char *arg)
{
    snprintf(err, errlen, "%s: %s", what, arg ? arg : "(missing)");
    return TERN_EINVAL;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!s || !*s)
        return TERN_EINVAL;
    double v = strtod(s, &end);
    if (*end || !(v >= lo && v <= hi))
        return TERN_EINVAL;
    *out = v;
    return 0;
}

struct num_opt {
    const char *s, *l;
    double lo, hi;
    size_t off;
    int type; /* 0 uint32, 1 double, 2 uint8, 3 uint16, 4 int */
};

#define OFF(f) offsetof(struct bench_opts, f)
static const struct num_opt num_opts[] = {
    {"-p", "--port", 1, 65535, OFF(port), 3},
    {"-V", "--mqtt", 3, 5, OFF(version), 2},
    {"-q", "--qos", 0, 2, OFF(qos), 2},
    {"-P", "--pubs", 0, 1e6, OFF(pubs), 0},
    {"-S", "--subs", 0, 1e6, OFF(subs), 0},
    {"-n", "--count", 0, 1e8, OFF(count), 0},
    {"-s", "--payload", BENCH_STAMP_LEN, 16 << 20, OFF(payload), 0},
    {"-w", "--window", 1, 65535, OFF(window), 0},
    {"-r", "--rate", 0, 1e9, OFF(rate), 1},
    {"-d", "--duration", 0.01, 1e6, OFF(duration_s), 1},
    {NULL, "--warmup", 0, 1e6, OFF(warmup_s), 1},
    {NULL, "--source-addrs", 1, 250, OFF(source_addrs), 0},
    {NULL, "--parallel", 1, 1e6, OFF(connect_parallel), 0},
    {NULL, "--broker-pid", 1, 1 << 30, OFF(broker_pid), 4},
};

static void store(struct bench_opts *o, const struct num_opt *n, double v)
{
    char *p = (char *)o + n->off;
    if (n->type == 0)
        *(uint32_t *)(void *)p = (uint32_t)v;
    else if (n->type == 1)
        *(double *)(void *)p = v;
    else if (n->type == 2)
        *(uint8_t *)p = (uint8_t)v;
    else if (n->type == 3)
        *(uint16_t *)(void *)p = (uint16_t)v;
    else
        *(int *)(void *)p = (int)v;
}

static const struct num_opt *find_num(const char *arg)
{
    for (size_t i = 0; i < sizeof num_opts / sizeof num_opts[0]; i++) {
        const struct num_opt *n = &num_opts[i];
        if ((n->s && !strcmp(arg, n->s)) || !strcmp(arg, n->l))
            return n;
    }
    return NULL;
}

static int parse_one(struct bench_opts *o, int argc, char **argv, int *i, char *err, size_t errlen)
{
    const char *a = argv[*i];
    const char *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    const struct num_opt *n = find_num(a);
    double v;
    if (n) {
        if (parse_num(val, n->lo, n->hi, &v) != 0)
            return fail(err, errlen, a, val ? val : "(missing value)");
        if (n->off == OFF(version))
            v = v < 5 ? 4 : 5; /* "3" means 3.1.1 (protocol level 4) */
        store(o, n, v);
        (*i)++;
    } else if (!strcmp(a, "-h") || !strcmp(a, "--host")) {
        if (!val)
            return fail(err, errlen, a, "(missing value)");
        o->host = val;
        (*i)++;
    } else if (!strcmp(a, "--json")) {
        o->json = true;
    } else if (!strcmp(a, "--persistent")) {
        o->persistent = true;
    } else if (!strcmp(a, "--help")) {
        o->help = true;
    } else {
        return fail(err, errlen, "unknown option", a);
    }
    return 0;
}

int bench_opts_parse(struct bench_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    err[0] = '\0';
    defaults(o, BENCH_FANOUT);
    if (argc < 2)
        return fail(err, errlen, "missing scenario", NULL);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        o->help = true;
        return 0;
    }
    int kind = -1;
    for (int k = 0; k < BENCH_KIND_COUNT; k++)
        if (!strcmp(argv[1], kind_names[k]))
            kind = k;
    if (kind < 0)
        return fail(err, errlen, "unknown scenario", argv[1]);
    defaults(o, (enum bench_kind)kind);
    bool window_set = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-w") || !strcmp(argv[i], "--window"))
            window_set = true;
        int rc = parse_one(o, argc, argv, &i, err, errlen);
        if (rc != 0)
            return rc;
    }
    if (o->kind != BENCH_IDLE && o->kind != BENCH_RETAINED && (o->pubs == 0 || o->subs == 0))
        return fail(err, errlen, "scenario needs publishers and subscribers", argv[1]);
    if ((o->kind == BENCH_IDLE || o->kind == BENCH_SUBSCALE || o->kind == BENCH_RETAINED) &&
        o->count == 0)
        return fail(err, errlen, "scenario needs --count > 0", argv[1]);
    if (o->kind == BENCH_PAIRS || o->kind == BENCH_LATENCY)
        o->subs = o->pubs;
    if (!window_set)
        default_window(o);
    return 0;
}
