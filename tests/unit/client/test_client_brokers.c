/* libtern against real brokers: every scenario runs against `ternd` (the built target) and
 * against Debian's /usr/sbin/mosquitto, each started by tests/support/spawner.c on an ephemeral
 * port with a readiness wait, for MQTT 3.1.1 and 5 where the feature exists. Only the public
 * API (include/tern) drives the clients; an in-file poll loop serves several clients at once
 * and waits for counted events, bounded by a deadline. Absence (no will, no-local, unsubscribe,
 * retain handling) is checked against a marker message that must arrive after what must not.
 * The TLS scenario makes its certificates with the openssl command (a failure when missing);
 * the restart and TLS scenarios use a port picked here, the same one across a restart. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spawner.h"
#include "tern.h"
#include "unit.h"

#define WAIT_MS   5000
#define MAX_PEERS 6
#define MAX_MSGS  32

/* A received message, copied out of the callback. */
struct got {
    char topic[96];
    char payload[96];
    size_t payload_len;
    uint8_t qos;
    bool retain;
    uint64_t present;
    uint32_t expiry_s;
    char content_type[32];
    char response_topic[32];
    char correlation[32];
    size_t correlation_len;
    size_t user_count;
    char user0[32]; /* "name=value" of the first two user properties */
    char user1[32];
};

struct peer {
    struct tern_client *c;
    int connacks;
    bool session_present;
    uint8_t connack_reason;
    int acks;
    uint8_t ack_reason;
    int subacks;
    uint8_t suback_reason;
    int unsubacks;
    int disconnects;
    int disconnect_err;
    uint8_t disconnect_reason;
    int ends; /* CONNACKs and closes: whichever ends a connection attempt */
    int pings_sent;
    int pongs;
    int aliased_sent; /* PUBLISH packets sent with an empty topic (an alias) */
    int nmsgs;
    struct got msgs[MAX_MSGS];
    const struct tern_sub *resub; /* subscribed again in on_connack without a session */
};

/* The broker of the current run, and the clients to free after each scenario. */
struct ctx {
    const char *name;
    bool mosquitto;
    struct spawner *b;
    int port;
    int version;
    struct peer *peers[MAX_PEERS];
    int npeers;
};

static struct ctx ctx;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void copy_str(char *dst, size_t cap, struct tern_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

static void copy_user(char *dst, size_t cap, const struct tern_user_prop *u)
{
    snprintf(dst, cap, "%.*s=%.*s", (int)u->name.len, u->name.ptr, (int)u->value.len, u->value.ptr);
}

static void on_connack(struct tern_client *c, void *ud, bool sp, uint8_t reason,
                       const struct tern_props *props)
{
    struct peer *p = ud;
    (void)props;
    p->connacks++;
    p->ends++;
    p->session_present = sp;
    p->connack_reason = reason;
    if (reason == 0 && !sp && p->resub)
        tern_client_subscribe(c, p->resub, 1, NULL, NULL);
}

static void on_message(struct tern_client *c, void *ud, const struct tern_message *m)
{
    struct peer *p = ud;
    (void)c;
    if (p->nmsgs >= MAX_MSGS)
        return;
    struct got *g = &p->msgs[p->nmsgs++];
    memset(g, 0, sizeof *g);
    copy_str(g->topic, sizeof g->topic, m->topic);
    copy_str(g->payload, sizeof g->payload, m->payload);
    g->payload_len = m->payload.len;
    g->qos = m->qos;
    g->retain = m->retain;
    g->present = m->props.present;
    g->expiry_s = m->props.message_expiry_s;
    copy_str(g->content_type, sizeof g->content_type, m->props.content_type);
    copy_str(g->response_topic, sizeof g->response_topic, m->props.response_topic);
    copy_str(g->correlation, sizeof g->correlation, m->props.correlation_data);
    g->correlation_len = m->props.correlation_data.len;
    g->user_count = m->props.user_count;
    if (m->props.user_count > 0)
        copy_user(g->user0, sizeof g->user0, &m->props.user[0]);
    if (m->props.user_count > 1)
        copy_user(g->user1, sizeof g->user1, &m->props.user[1]);
}

static void on_publish(struct tern_client *c, void *ud, uint16_t id, uint8_t reason,
                       const struct tern_props *props)
{
    struct peer *p = ud;
    (void)c;
    (void)id;
    (void)props;
    p->acks++;
    p->ack_reason = reason;
}

static void on_suback(struct tern_client *c, void *ud, uint16_t id, const uint8_t *reasons,
                      size_t count, const struct tern_props *props)
{
    struct peer *p = ud;
    (void)c;
    (void)id;
    (void)props;
    p->subacks++;
    p->suback_reason = count ? reasons[0] : 0xff;
}

static void on_unsuback(struct tern_client *c, void *ud, uint16_t id, const uint8_t *reasons,
                        size_t count, const struct tern_props *props)
{
    struct peer *p = ud;
    (void)c;
    (void)id;
    (void)reasons;
    (void)count;
    (void)props;
    p->unsubacks++;
}

static void on_disconnect(struct tern_client *c, void *ud, int err, uint8_t reason,
                          const struct tern_props *props)
{
    struct peer *p = ud;
    (void)c;
    (void)props;
    p->disconnect_reason = reason;
    p->disconnects++;
    p->ends++;
    p->disconnect_err = err;
}

/* Counts keep alive traffic and PUBLISH packets sent with a zero-length topic. */
static void on_packet(struct tern_client *c, void *ud, bool sent, const uint8_t *d, size_t len)
{
    struct peer *p = ud;
    (void)c;
    if (len == 0)
        return;
    if (sent && d[0] == 0xC0)
        p->pings_sent++;
    if (!sent && d[0] == 0xD0)
        p->pongs++;
    if (sent && (d[0] >> 4) == 3) {
        size_t i = 1;
        while (i < len && (d[i] & 0x80))
            i++;
        if (i + 2 < len && d[i + 1] == 0 && d[i + 2] == 0)
            p->aliased_sent++;
    }
}

static const struct tern_callbacks callbacks = {
    .on_connack = on_connack,
    .on_message = on_message,
    .on_publish = on_publish,
    .on_suback = on_suback,
    .on_unsuback = on_unsuback,
    .on_disconnect = on_disconnect,
    .on_packet = on_packet,
};

/* Serves every client of the scenario until *counter >= want, or timeout_ms passes. */
static bool pump_for(const int *counter, int want, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (counter && *counter >= want)
            return true;
        uint64_t now = now_ms();
        if (now >= deadline)
            return counter == NULL;
        struct pollfd pfd[MAX_PEERS];
        struct peer *who[MAX_PEERS];
        int n = 0;
        int64_t wait = (int64_t)(deadline - now);
        for (int i = 0; i < ctx.npeers; i++) {
            struct tern_client *c = ctx.peers[i]->c;
            int64_t t = tern_client_next_timeout_ms(c);
            if (t >= 0 && t < wait)
                wait = t;
            if (tern_client_fd(c) < 0)
                continue;
            pfd[n] = (struct pollfd){tern_client_fd(c), POLLIN, 0};
            if (tern_client_wants_write(c))
                pfd[n].events |= POLLOUT;
            who[n++] = ctx.peers[i];
        }
        poll(pfd, (nfds_t)n, (int)wait);
        for (int i = 0; i < n; i++) {
            if (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))
                tern_client_on_writable(who[i]->c);
            if ((pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) && tern_client_fd(who[i]->c) >= 0)
                tern_client_on_readable(who[i]->c);
        }
        for (int i = 0; i < ctx.npeers; i++)
            tern_client_tick(ctx.peers[i]->c, now_ms());
    }
}

static bool pump(const int *counter, int want)
{
    return pump_for(counter, want, WAIT_MS);
}

static struct peer *peer_new(void)
{
    if (ctx.npeers >= MAX_PEERS)
        return NULL;
    struct peer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->c = tern_client_new(&callbacks, p);
    if (!p->c) {
        free(p);
        return NULL;
    }
    ctx.peers[ctx.npeers++] = p;
    return p;
}

static void peers_free(void)
{
    for (int i = 0; i < ctx.npeers; i++) {
        tern_client_free(ctx.peers[i]->c);
        free(ctx.peers[i]);
    }
    ctx.npeers = 0;
}

/* Options for a client of the current broker and version; id gets the version appended. */
static void opts_init(struct tern_connect_options *o, char *id, size_t cap, const char *base)
{
    memset(o, 0, sizeof *o);
    snprintf(id, cap, "%s-v%d", base, ctx.version);
    o->host = "127.0.0.1";
    o->port = (uint16_t)ctx.port;
    o->version = (uint8_t)ctx.version;
    o->client_id = id;
    o->clean_start = true;
    o->keep_alive_s = 60;
}

/* A session that outlives the connection, starting afresh: v5 clean start with a Session
 * Expiry Interval; v3.1.1 has only Clean Session 0 (the broker is new, so nothing is resumed). */
static void persistent(struct tern_connect_options *o)
{
    o->clean_start = ctx.version == TERN_MQTT_V5;
    o->session_expiry_s = 300;
}

/* Connects p (asynchronously) and serves it until its CONNACK; true when accepted. */
static bool peer_connect(struct peer *p, const struct tern_connect_options *o)
{
    int before = p->connacks;
    if (tern_client_connect(p->c, o, now_ms()) != 0)
        return false;
    return pump(&p->connacks, before + 1) && p->connack_reason == 0 &&
           tern_client_is_connected(p->c);
}

/* A new client connected with clean start and the defaults of opts_init. */
static struct peer *peer_open(const char *base)
{
    struct peer *p = peer_new();
    char id[64];
    struct tern_connect_options o;
    opts_init(&o, id, sizeof id, base);
    return p && peer_connect(p, &o) ? p : NULL;
}

static bool peer_sub(struct peer *p, const struct tern_sub *s)
{
    int before = p->subacks;
    return tern_client_subscribe(p->c, s, 1, NULL, NULL) == 0 && pump(&p->subacks, before + 1) &&
           p->suback_reason == s->qos;
}

static bool peer_sub_simple(struct peer *p, const char *filter, uint8_t qos)
{
    struct tern_sub s = {.filter = filter, .qos = qos};
    return peer_sub(p, &s);
}

/* Publishes and, for QoS 1 and 2, serves until the acknowledgement. */
static bool peer_pub(struct peer *p, const char *topic, const char *payload, uint8_t qos,
                     bool retain, const struct tern_props *props)
{
    int before = p->acks;
    if (tern_client_publish(p->c, topic, tern_str_of(payload), qos, retain, props, NULL) != 0)
        return false;
    return pump(&p->acks, before + 1) && (qos == 0 || p->ack_reason < 0x80);
}

static bool peer_disconnect(struct peer *p)
{
    int before = p->disconnects;
    return tern_client_disconnect(p->c, 0, NULL) == 0 && pump(&p->disconnects, before + 1) &&
           p->disconnect_err == 0;
}

static const struct got *last_msg(const struct peer *p)
{
    return p->nmsgs ? &p->msgs[p->nmsgs - 1] : NULL;
}

static bool got_is(const struct got *g, const char *topic, const char *payload)
{
    return g && strcmp(g->topic, topic) == 0 && strcmp(g->payload, payload) == 0;
}

/* ---- Scenarios ---- */

/* CONNACK Session Present: 0 with clean start, 1 when a persistent session is resumed. */
static void sc_session_present(void)
{
    struct peer *p = peer_new();
    REQUIRE(p);
    char id[64];
    struct tern_connect_options o;
    opts_init(&o, id, sizeof id, "sp");
    persistent(&o);
    REQUIRE(peer_connect(p, &o));
    CHECK(!p->session_present);
    REQUIRE(peer_sub_simple(p, "sp/t", 1)); /* so the v3.1.1 session has state */
    REQUIRE(peer_disconnect(p));
    o.clean_start = false;
    REQUIRE(peer_connect(p, &o));
    CHECK(p->session_present);
    REQUIRE(peer_disconnect(p));
    o.clean_start = true;
    REQUIRE(peer_connect(p, &o));
    CHECK(!p->session_present);
    CHECK(peer_disconnect(p));
}

static const struct tern_user_prop user_props[2] = {
    {{"k1", 2}, {"v1", 2}},
    {{"k2", 2}, {"v2", 2}},
};

static void full_props(struct tern_props *pr)
{
    memset(pr, 0, sizeof *pr);
    pr->present = TERN_PROP_BIT(TERN_PROP_CONTENT_TYPE) | TERN_PROP_BIT(TERN_PROP_RESPONSE_TOPIC) |
                  TERN_PROP_BIT(TERN_PROP_CORRELATION_DATA) |
                  TERN_PROP_BIT(TERN_PROP_MESSAGE_EXPIRY);
    pr->content_type = tern_str_of("text/plain");
    pr->response_topic = tern_str_of("reply/here");
    pr->correlation_data = (struct tern_str){"c\0rr", 4};
    pr->message_expiry_s = 120;
    pr->user = user_props;
    pr->user_count = 2;
}

static void check_full_props(const struct got *g)
{
    if (ctx.version != TERN_MQTT_V5) {
        CHECK_EQ_INT(g->present, 0);
        CHECK_EQ_INT(g->user_count, 0);
        return;
    }
    CHECK_EQ_INT(g->user_count, 2);
    CHECK(strcmp(g->user0, "k1=v1") == 0);
    CHECK(strcmp(g->user1, "k2=v2") == 0);
    CHECK(strcmp(g->content_type, "text/plain") == 0);
    CHECK(strcmp(g->response_topic, "reply/here") == 0);
    CHECK_MEM(g->correlation, g->correlation_len, "c\0rr", 4);
    CHECK(g->present & TERN_PROP_BIT(TERN_PROP_MESSAGE_EXPIRY));
    /* The broker forwards what is left of the interval [MQTT-3.3.2-6]. */
    CHECK(g->expiry_s > 0 && g->expiry_s <= 120);
}

/* QoS 0, 1 and 2 both ways: payload, QoS and (v5) properties arrive intact. */
static void sc_qos_and_props(void)
{
    struct peer *sub = peer_open("qs");
    struct peer *pub = peer_open("qp");
    REQUIRE(sub && pub);
    REQUIRE(peer_sub_simple(sub, "q/#", 2));
    struct tern_props pr;
    full_props(&pr);
    for (uint8_t qos = 0; qos <= 2; qos++) {
        char topic[16], payload[16];
        snprintf(topic, sizeof topic, "q/%u", qos);
        snprintf(payload, sizeof payload, "payload-%u", qos);
        REQUIRE(peer_pub(pub, topic, payload, qos, false, &pr));
        REQUIRE(pump(&sub->nmsgs, qos + 1));
        const struct got *g = last_msg(sub);
        CHECK(got_is(g, topic, payload));
        CHECK_EQ_INT(g->qos, qos);
        CHECK(!g->retain);
        check_full_props(g);
    }
    /* A payload with a NUL byte and an empty one. */
    REQUIRE(tern_client_publish(pub->c, "q/bin", (struct tern_str){"a\0b", 3}, 1, false, NULL,
                                NULL) == 0);
    REQUIRE(pump(&sub->nmsgs, 4));
    CHECK_MEM(sub->msgs[3].payload, sub->msgs[3].payload_len, "a\0b", 3);
    REQUIRE(peer_pub(pub, "q/empty", "", 2, false, NULL));
    REQUIRE(pump(&sub->nmsgs, 5));
    CHECK_EQ_INT(sub->msgs[4].payload_len, 0);
}

/* A retained message is delivered on subscribe with the retain flag, and cleared by an empty
 * retained publish. */
static void sc_retained(void)
{
    struct peer *pub = peer_open("rp");
    REQUIRE(pub);
    REQUIRE(peer_pub(pub, "ret/a", "kept", 1, true, NULL));
    struct peer *sub = peer_open("rs");
    REQUIRE(sub);
    REQUIRE(peer_sub_simple(sub, "ret/#", 1));
    REQUIRE(pump(&sub->nmsgs, 1));
    CHECK(got_is(&sub->msgs[0], "ret/a", "kept"));
    CHECK(sub->msgs[0].retain);
    CHECK_EQ_INT(sub->msgs[0].qos, 1);
    /* A live publish to an existing subscriber carries no retain flag (v3.1.1 [MQTT-3.3.1-9];
     * v5 without retain-as-published). */
    REQUIRE(peer_pub(pub, "ret/a", "", 1, true, NULL));
    REQUIRE(pump(&sub->nmsgs, 2));
    CHECK(!sub->msgs[1].retain);
    struct peer *late = peer_open("rl");
    REQUIRE(late);
    REQUIRE(peer_sub_simple(late, "ret/#", 1));
    REQUIRE(peer_pub(late, "ret/marker", "m", 1, false, NULL));
    REQUIRE(pump(&late->nmsgs, 1));
    CHECK(got_is(&late->msgs[0], "ret/marker", "m")); /* the cleared message did not come */
}

/* The will is published when the client's socket dies without DISCONNECT, not after a clean
 * DISCONNECT. */
static void sc_will(void)
{
    struct peer *sub = peer_open("ws");
    REQUIRE(sub);
    REQUIRE(peer_sub_simple(sub, "will/#", 1));

    struct peer *w = peer_new();
    REQUIRE(w);
    char id[64];
    struct tern_connect_options o;
    opts_init(&o, id, sizeof id, "wc");
    struct tern_props wp;
    memset(&wp, 0, sizeof wp);
    wp.present = TERN_PROP_BIT(TERN_PROP_CONTENT_TYPE);
    wp.content_type = tern_str_of("text/will");
    wp.user = user_props;
    wp.user_count = 1;
    struct tern_will will = {"will/clean", tern_str_of("clean-gone"), 1, false, &wp};
    o.will = &will;
    REQUIRE(peer_connect(w, &o));
    REQUIRE(peer_disconnect(w));
    /* A marker published after the clean DISCONNECT must be the first thing that arrives. */
    REQUIRE(peer_pub(sub, "will/marker", "m", 1, false, NULL));
    REQUIRE(pump(&sub->nmsgs, 1));
    CHECK(got_is(&sub->msgs[0], "will/marker", "m"));

    will.topic = "will/dead";
    will.payload = tern_str_of("dead-gone");
    REQUIRE(peer_connect(w, &o));
    /* Freeing the client closes its socket without DISCONNECT. */
    tern_client_free(w->c);
    w->c = tern_client_new(&callbacks, w);
    REQUIRE(w->c);
    REQUIRE(pump(&sub->nmsgs, 2));
    const struct got *g = &sub->msgs[1];
    CHECK(got_is(g, "will/dead", "dead-gone"));
    CHECK_EQ_INT(g->qos, 1);
    if (ctx.version == TERN_MQTT_V5) {
        CHECK(strcmp(g->content_type, "text/will") == 0);
        CHECK_EQ_INT(g->user_count, 1);
        CHECK(strcmp(g->user0, "k1=v1") == 0);
    }
    CHECK_EQ_INT(sub->nmsgs, 2);
}

/* v5 subscription options: no-local, retain-as-published, retain handling 0/1/2. */
static void sc_sub_options(void)
{
    struct peer *p = peer_open("so");
    struct peer *other = peer_open("so2");
    REQUIRE(p && other);
    struct tern_sub nl = {.filter = "nl/t", .qos = 1, .no_local = true};
    REQUIRE(peer_sub(p, &nl));
    REQUIRE(peer_sub_simple(p, "nl/marker", 1));
    REQUIRE(peer_pub(p, "nl/t", "own", 1, false, NULL));
    REQUIRE(peer_pub(p, "nl/marker", "m", 1, false, NULL));
    REQUIRE(pump(&p->nmsgs, 1));
    CHECK(got_is(&p->msgs[0], "nl/marker", "m")); /* not its own "nl/t" */
    REQUIRE(peer_pub(other, "nl/t", "theirs", 1, false, NULL));
    REQUIRE(pump(&p->nmsgs, 2));
    CHECK(got_is(&p->msgs[1], "nl/t", "theirs"));

    /* Retain-as-published keeps the flag on a live retained publish; without it, it is 0. */
    struct tern_sub rap = {.filter = "rap/t", .qos = 1, .retain_as_published = true};
    REQUIRE(peer_sub(p, &rap));
    REQUIRE(peer_sub_simple(other, "rap/t", 1));
    REQUIRE(peer_pub(other, "rap/t", "r", 1, true, NULL));
    REQUIRE(pump(&p->nmsgs, 3));
    CHECK(got_is(&p->msgs[2], "rap/t", "r"));
    CHECK(p->msgs[2].retain);
    REQUIRE(pump(&other->nmsgs, 1));
    CHECK(!other->msgs[0].retain);

    /* Retain handling, on a new client: 2 never sends it; 1 only for a new subscription; 0
     * every time. The marker, published after each SUBSCRIBE on the same connection, comes after
     * any retained message. */
    struct peer *q = peer_open("so3");
    REQUIRE(q);
    REQUIRE(peer_sub_simple(q, "rh/marker", 1));
    static const struct {
        uint8_t rh;
        bool expect;
    } steps[] = {{TERN_RH_DONT_SEND, false},
                 {TERN_RH_SEND_IF_NEW, false}, /* the subscription exists (from rh 2) */
                 {TERN_RH_SEND, true},
                 {TERN_RH_SEND, true}};
    const char *filters[1] = {"rap/t"};
    int before = q->unsubacks;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct tern_sub s = {.filter = "rap/t", .qos = 1, .retain_handling = steps[i].rh};
        int n = q->nmsgs; /* the retained message may come with the SUBACK */
        REQUIRE(peer_sub(q, &s));
        REQUIRE(peer_pub(q, "rh/marker", "m", 1, false, NULL));
        if (!pump(&q->nmsgs, n + 1 + steps[i].expect))
            fprintf(stderr, "retain handling step %zu (rh %u): %d messages, first %s\n", i,
                    steps[i].rh, q->nmsgs - n, q->nmsgs > n ? q->msgs[n].topic : "-");
        REQUIRE(q->nmsgs == n + 1 + steps[i].expect);
        if (steps[i].expect)
            CHECK(got_is(&q->msgs[n], "rap/t", "r") && q->msgs[n].retain);
        CHECK(got_is(&q->msgs[n + steps[i].expect], "rh/marker", "m"));
    }
    /* After an unsubscribe, 1 sends it again (the subscription is new). */
    REQUIRE(tern_client_unsubscribe(q->c, filters, 1, NULL, NULL) == 0);
    REQUIRE(pump(&q->unsubacks, before + 1));
    struct tern_sub s1 = {.filter = "rap/t", .qos = 1, .retain_handling = TERN_RH_SEND_IF_NEW};
    int n = q->nmsgs;
    REQUIRE(peer_sub(q, &s1));
    REQUIRE(pump(&q->nmsgs, n + 1));
    CHECK(got_is(&q->msgs[n], "rap/t", "r") && q->msgs[n].retain);
    REQUIRE(peer_pub(other, "rap/t", "", 1, true, NULL)); /* clear it */
}

/* After UNSUBACK nothing more arrives for that filter. */
static void sc_unsubscribe(void)
{
    struct peer *p = peer_open("us");
    REQUIRE(p);
    REQUIRE(peer_sub_simple(p, "un/t", 1));
    REQUIRE(peer_sub_simple(p, "un/marker", 1));
    REQUIRE(peer_pub(p, "un/t", "before", 1, false, NULL));
    REQUIRE(pump(&p->nmsgs, 1));
    CHECK(got_is(&p->msgs[0], "un/t", "before"));
    const char *filters[1] = {"un/t"};
    REQUIRE(tern_client_unsubscribe(p->c, filters, 1, NULL, NULL) == 0);
    REQUIRE(pump(&p->unsubacks, 1));
    REQUIRE(peer_pub(p, "un/t", "after", 1, false, NULL));
    REQUIRE(peer_pub(p, "un/marker", "m", 1, false, NULL));
    REQUIRE(pump(&p->nmsgs, 2));
    CHECK(got_is(&p->msgs[1], "un/marker", "m"));
}

/* QoS 1 messages for an offline persistent session arrive, in order, after it reconnects. */
static void sc_offline_queue(void)
{
    struct peer *s = peer_new();
    REQUIRE(s);
    char id[64];
    struct tern_connect_options o;
    opts_init(&o, id, sizeof id, "off");
    persistent(&o);
    REQUIRE(peer_connect(s, &o));
    REQUIRE(peer_sub_simple(s, "off/t", 1));
    REQUIRE(peer_disconnect(s));
    struct peer *pub = peer_open("offp");
    REQUIRE(pub);
    for (int i = 0; i < 3; i++) {
        char payload[16];
        snprintf(payload, sizeof payload, "m%d", i);
        REQUIRE(peer_pub(pub, "off/t", payload, 1, false, NULL));
    }
    o.clean_start = false;
    REQUIRE(peer_connect(s, &o));
    CHECK(s->session_present);
    REQUIRE(pump(&s->nmsgs, 3));
    for (int i = 0; i < 3; i++) {
        char payload[16];
        snprintf(payload, sizeof payload, "m%d", i);
        CHECK(got_is(&s->msgs[i], "off/t", payload));
        CHECK_EQ_INT(s->msgs[i].qos, 1);
    }
    CHECK(peer_disconnect(s));
}

/* v5 topic aliases: automatic ones and one set by hand; the receiver sees full topics. */
static void sc_topic_alias(void)
{
    struct peer *sub = peer_open("as");
    REQUIRE(sub);
    REQUIRE(peer_sub_simple(sub, "alias/#", 1));
    struct peer *pub = peer_new();
    REQUIRE(pub);
    char id[64];
    struct tern_connect_options o;
    opts_init(&o, id, sizeof id, "ap");
    o.auto_topic_alias = true;
    REQUIRE(peer_connect(pub, &o));
    for (int i = 0; i < 3; i++)
        REQUIRE(peer_pub(pub, "alias/auto", "a", 1, false, NULL));
    CHECK_EQ_INT(pub->aliased_sent, 2); /* the first one carries the topic */
    REQUIRE(pump(&sub->nmsgs, 3));
    for (int i = 0; i < 3; i++)
        CHECK(got_is(&sub->msgs[i], "alias/auto", "a"));

    struct peer *man = peer_open("am");
    REQUIRE(man);
    struct tern_props pr;
    memset(&pr, 0, sizeof pr);
    pr.present = TERN_PROP_BIT(TERN_PROP_TOPIC_ALIAS);
    pr.topic_alias = 1;
    REQUIRE(peer_pub(man, "alias/hand", "h1", 1, false, &pr));
    REQUIRE(peer_pub(man, "", "h2", 1, false, &pr));
    CHECK_EQ_INT(man->aliased_sent, 1);
    REQUIRE(pump(&sub->nmsgs, 5));
    CHECK(got_is(&sub->msgs[3], "alias/hand", "h1"));
    CHECK(got_is(&sub->msgs[4], "alias/hand", "h2"));
}

/* An idle client with a 1 s keep alive sends PINGREQ and stays connected well past 1.5 times
 * the keep alive, the broker's limit [MQTT-3.1.2-24]. */
static void sc_keepalive(void)
{
    struct peer *p = peer_new();
    REQUIRE(p);
    char id[64];
    struct tern_connect_options o;
    opts_init(&o, id, sizeof id, "ka");
    o.keep_alive_s = 1;
    REQUIRE(peer_connect(p, &o));
    REQUIRE(pump_for(&p->pongs, 3, 3 * WAIT_MS));
    CHECK(p->pings_sent >= 3);
    CHECK(tern_client_is_connected(p->c));
    CHECK_EQ_INT(p->disconnects, 0);
    CHECK(peer_pub(p, "ka/t", "alive", 1, false, NULL));
}

/* ---- Broker runs ---- */

static bool broker_start(const char *conf)
{
    if (ctx.mosquitto)
        setenv("TERN_TEST_BROKER", "mosquitto", 1);
    else
        unsetenv("TERN_TEST_BROKER");
    ctx.b = spawner_start(conf);
    ctx.port = ctx.b ? spawner_port(ctx.b) : -1;
    return ctx.b != NULL;
}

static int broker_stop(void)
{
    int rc = spawner_stop(ctx.b);
    ctx.b = NULL;
    return rc;
}

/* Automatic reconnect after the broker goes away and comes back on the same port: the client
 * resubscribes (no session survives the restart), its QoS 1 publish queued while offline is
 * sent and acknowledged, and messages flow again. */
static void sc_reconnect(void)
{
    int port = spawner_free_port();
    REQUIRE(port > 0);
    char conf[64];
    snprintf(conf, sizeof conf, "listener %d 127.0.0.1\n", port);
    REQUIRE(broker_stop() == 0);
    REQUIRE(broker_start(conf));
    struct peer *p = peer_new();
    REQUIRE(p);
    char id[64];
    struct tern_connect_options o;
    opts_init(&o, id, sizeof id, "rc");
    o.port = (uint16_t)port;
    struct tern_reconnect_options r = {.min_delay_ms = 50, .max_delay_ms = 400};
    o.reconnect = &r;
    static const struct tern_sub sub = {.filter = "rc/live", .qos = 1};
    p->resub = &sub;
    REQUIRE(peer_connect(p, &o));
    REQUIRE(pump(&p->subacks, 1));

    REQUIRE(broker_stop() == 0);
    REQUIRE(pump(&p->disconnects, 1));
    CHECK(p->disconnect_err != 0);
    CHECK(!tern_client_is_connected(p->c));
    REQUIRE(tern_client_publish(p->c, "rc/queued", tern_str_of("q"), 1, false, NULL, NULL) == 0);
    CHECK_EQ_INT(tern_client_pending(p->c), 1);

    REQUIRE(broker_start(conf));
    REQUIRE(pump(&p->connacks, 2));
    CHECK(!p->session_present);
    REQUIRE(pump(&p->acks, 1));
    CHECK_EQ_INT(tern_client_pending(p->c), 0);
    REQUIRE(pump(&p->subacks, 2));
    struct peer *q = peer_open("rc2");
    REQUIRE(q);
    REQUIRE(peer_pub(q, "rc/live", "back", 1, false, NULL));
    REQUIRE(pump(&p->nmsgs, 1));
    CHECK(got_is(last_msg(p), "rc/live", "back"));
    CHECK(peer_disconnect(p));
}

/* Takeover by a client with the same id. v3.1.1 has no reason to tell: the connection just
 * closes, and the automatic reconnect takes the session back. v5 says "Session taken over"
 * (0x8E) [MQTT-3.1.4-3], which ends automatic reconnecting. */
static void sc_takeover(void)
{
    struct peer *a = peer_new();
    struct peer *b = peer_new();
    REQUIRE(a && b);
    char id[64];
    struct tern_connect_options o;
    opts_init(&o, id, sizeof id, "to");
    struct tern_reconnect_options r = {.min_delay_ms = 50, .max_delay_ms = 200};
    o.reconnect = &r;
    REQUIRE(peer_connect(a, &o));
    o.reconnect = NULL;
    REQUIRE(peer_connect(b, &o));
    REQUIRE(pump(&a->disconnects, 1));
    CHECK(a->disconnect_err != 0);
    /* Mosquitto 2.0.11 closes a v5 connection it takes over without the DISCONNECT: the client
     * then cannot tell a takeover from a lost connection, and reconnects as with v3.1.1. */
    bool told = a->disconnect_reason == 0x8E;
    if (ctx.version == TERN_MQTT_V5 && !ctx.mosquitto)
        CHECK(told);
    if (told) {
        CHECK_EQ_INT(ctx.version, TERN_MQTT_V5);
        CHECK(!tern_client_is_reconnecting(a->c));
        CHECK(tern_client_is_closed(a->c));
        CHECK(tern_client_is_connected(b->c));
        CHECK(peer_disconnect(b));
        return;
    }
    REQUIRE(pump(&a->connacks, 2));
    REQUIRE(pump(&b->disconnects, 1));
    CHECK(tern_client_is_connected(a->c));
    CHECK(tern_client_is_closed(b->c));
    CHECK(peer_pub(a, "to/t", "back", 1, false, NULL));
    CHECK(peer_disconnect(a));
}

/* ---- TLS ---- */

/* A CA, a server certificate for DNS:localhost only (so 127.0.0.1 fails the name check), a
 * client certificate from the same CA, a second CA nobody uses, and a hashed CA directory. */
static const char cert_script[] =
    "set -e\n"
    "cd \"$1\"\n"
    "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key; }\n"
    "ca() { key $1; openssl req -x509 -new -key $1.key -subj \"/CN=$2\" -days 2 -out $1.crt"
    " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign; }\n"
    "leaf() { key $1; openssl req -new -key $1.key -subj \"/CN=$1\" -out $1.csr\n"
    " openssl x509 -req -in $1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
    " -out $1.crt -extfile $2; }\n"
    "printf 'subjectAltName=DNS:localhost\\n' > server.ext\n"
    "printf 'extendedKeyUsage=clientAuth\\n' > client.ext\n"
    "ca ca 'libtern test CA'; ca ca2 'unrelated CA'\n"
    "leaf server server.ext; leaf client client.ext\n"
    "mkdir capath; cp ca.crt capath/; openssl rehash capath\n"
    "chmod 644 *.key\n";

static char cert_dir[64];

static const char *cert(const char *name)
{
    static char bufs[8][128];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", cert_dir, name);
    return b;
}

static void certs_remove(void)
{
    if (!cert_dir[0])
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cert_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", cert_dir);
    cert_dir[0] = 0;
}

/* Makes the certificates once per run (the openssl command must exist: a failure otherwise). */
static bool certs_make(void)
{
    if (cert_dir[0])
        return true;
    char tmpl[] = "/tmp/tern-cb-tls-XXXXXX";
    if (!mkdtemp(tmpl))
        return false;
    snprintf(cert_dir, sizeof cert_dir, "%s", tmpl);
    atexit(certs_remove);
    FILE *f = fopen(cert("gen.sh"), "w");
    if (!f)
        return false;
    fputs(cert_script, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "sh %s %s >%s 2>&1", cert("gen.sh"), cert_dir, cert("gen.log"));
    if (system(cmd) != 0) {
        fprintf(stderr, "certificate generation failed (is openssl installed?), see %s\n",
                cert("gen.log"));
        return false;
    }
    return true;
}

/* Connects a new client with these TLS options to host:port; 0 on CONNACK 0, else the error
 * that ended the attempt. */
static int tls_try(const char *host, int port, const struct tern_tls_options *t, struct peer **out)
{
    struct peer *p = peer_new();
    if (!p)
        return TERN_ERROR_NOMEM;
    static int n;
    char base[16], id[64];
    snprintf(base, sizeof base, "tls%d", n++); /* a shared id would take the others over */
    struct tern_connect_options o;
    opts_init(&o, id, sizeof id, base);
    o.host = host;
    o.port = (uint16_t)port;
    o.tls = t;
    int rc = tern_client_connect(p->c, &o, now_ms());
    if (rc)
        return rc;
    pump(&p->ends, 1);
    if (out)
        *out = p;
    if (p->connacks && p->connack_reason == 0 && tern_client_is_connected(p->c))
        return 0;
    return p->disconnect_err ? p->disconnect_err : TERN_ERROR_CLOSED;
}

/* TLS listener with require_certificate: CA file and CA directory, client certificates,
 * host name verification (and insecure), an untrusted CA; messages flow over TLS. */
static void sc_tls(void)
{
    REQUIRE(certs_make());
    int port = spawner_free_port();
    REQUIRE(port > 0);
    char conf[640];
    snprintf(conf, sizeof conf,
             "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n"
             "require_certificate true\n",
             port, cert("ca.crt"), cert("server.crt"), cert("server.key"));
    REQUIRE(broker_stop() == 0);
    REQUIRE(broker_start(conf));

    struct tern_tls_options t = {
        .ca_file = cert("ca.crt"), .cert_file = cert("client.crt"), .key_file = cert("client.key")};
    struct peer *p = NULL;
    CHECK_EQ_INT(tls_try("localhost", port, &t, &p), 0);
    REQUIRE(p && tern_client_is_connected(p->c));
    REQUIRE(peer_sub_simple(p, "tls/t", 1));
    REQUIRE(peer_pub(p, "tls/t", "secret", 1, false, NULL));
    REQUIRE(pump(&p->nmsgs, 1));
    CHECK(got_is(&p->msgs[0], "tls/t", "secret"));

    struct tern_tls_options by_dir = t;
    by_dir.ca_file = NULL;
    by_dir.ca_path = cert("capath");
    CHECK_EQ_INT(tls_try("localhost", port, &by_dir, NULL), 0);

    /* The certificate names localhost only. */
    CHECK_EQ_INT(tls_try("127.0.0.1", port, &t, NULL), TERN_ERROR_TLS);
    struct tern_tls_options insecure = t;
    insecure.insecure = true;
    CHECK_EQ_INT(tls_try("127.0.0.1", port, &insecure, NULL), 0);

    struct tern_tls_options wrong_ca = t;
    wrong_ca.ca_file = cert("ca2.crt");
    CHECK_EQ_INT(tls_try("localhost", port, &wrong_ca, NULL), TERN_ERROR_TLS);

    /* Without a client certificate the server refuses (during or right after the handshake,
     * depending on the TLS version). */
    struct tern_tls_options no_cert = {.ca_file = cert("ca.crt")};
    CHECK(tls_try("localhost", port, &no_cert, NULL) != 0);
    CHECK(peer_disconnect(p));
}

typedef void (*scenario_fn)(void);

/* Runs fn against one broker kind for each version in versions (0-terminated), with a fresh
 * broker per version. */
static void run_on(bool mosquitto, scenario_fn fn, const char *name, const int *versions)
{
    ctx.mosquitto = mosquitto;
    ctx.name = mosquitto ? "mosquitto" : "ternd";
    for (const int *v = versions; *v; v++) {
        ctx.version = *v;
        fprintf(stderr, "  %s on %s, MQTT v%d\n", name, ctx.name, *v == 4 ? 311 : 5);
        int failures = unit_failures;
        if (!broker_start(NULL)) {
            CHECK(!"broker started");
            return;
        }
        fn();
        peers_free();
        CHECK_EQ_INT(broker_stop(), 0);
        if (unit_failures != failures)
            fprintf(stderr, "  ^ failed: %s on %s, MQTT v%d\n", name, ctx.name, *v == 4 ? 311 : 5);
    }
}

static const int both[] = {TERN_MQTT_V311, TERN_MQTT_V5, 0};
static const int v5_only[] = {TERN_MQTT_V5, 0};

#define BROKER_TESTS(fn, versions)                                                                 \
    static void test_ternd_##fn(void)                                                              \
    {                                                                                              \
        run_on(false, sc_##fn, #fn, versions);                                                     \
    }                                                                                              \
    static void test_mosquitto_##fn(void)                                                          \
    {                                                                                              \
        run_on(true, sc_##fn, #fn, versions);                                                      \
    }

BROKER_TESTS(session_present, both)
BROKER_TESTS(qos_and_props, both)
BROKER_TESTS(retained, both)
BROKER_TESTS(will, both)
BROKER_TESTS(sub_options, v5_only)
BROKER_TESTS(unsubscribe, both)
BROKER_TESTS(offline_queue, both)
BROKER_TESTS(topic_alias, v5_only)
BROKER_TESTS(keepalive, both)
BROKER_TESTS(reconnect, both)
BROKER_TESTS(takeover, both)
BROKER_TESTS(tls, both)

#define BOTH(fn) UNIT_TEST(test_ternd_##fn), UNIT_TEST(test_mosquitto_##fn)

UNIT_MAIN(BOTH(session_present), BOTH(qos_and_props), BOTH(retained), BOTH(will), BOTH(sub_options),
          BOTH(unsubscribe), BOTH(offline_queue), BOTH(topic_alias), BOTH(keepalive),
          BOTH(reconnect), BOTH(takeover), BOTH(tls))
