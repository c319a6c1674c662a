/* Sockets and the event loop of the load generator (see bench_engine.h): non-blocking connects
 * bound to 127.0.0.N, level-triggered epoll, one shared read buffer, per-connection output
 * buffers flushed once per loop turn (so many small packets leave in one write). Packet
 * handling lives in bench_flow.c. */
#include "bench_engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "bench_flow.h"
#include "clock.h"
#include "mem.h"
#include "mqtt.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define SCRATCH_LEN (256u * 1024)
#define MAX_EVENTS  1024
#define MAX_TRACKED (64u << 20) /* last_seq entries; beyond, duplicates are not tracked */
#define TIMER_TOKEN UINT32_MAX

enum { CS_NEW, CS_CONNECTING, CS_CONNACK_WAIT, CS_READY, CS_CLOSED };

int bench_engine_init(struct bench_engine *e, const struct bench_opts *o, uint32_t nconns,
                      uint32_t npubs)
{
    memset(e, 0, sizeof *e);
    e->o = o;
    e->ep = e->tfd = -1;
    e->receive_max = 65535;
    e->addr.sin_family = AF_INET;
    e->addr.sin_port = htons(o->port);
    if (inet_pton(AF_INET, o->host, &e->addr.sin_addr) != 1) {
        snprintf(e->err, sizeof e->err, "not an IPv4 address: %s", o->host);
        return TERN_EINVAL;
    }
    /* Auto: one source address per 4096 connections over 127.0.0.0/8 (loopback brokers only), so
     * connect() never searches a crowded ephemeral port range (TIME_WAIT of earlier runs). */
    e->source_addrs = o->source_addrs ? o->source_addrs : 1 + nconns / 4096;
    if ((ntohl(e->addr.sin_addr.s_addr) >> 24) != 127)
        e->source_addrs = 0;
    e->conns = mem_calloc(nconns ? nconns : 1, sizeof *e->conns);
    e->dirty = mem_calloc(nconns ? nconns : 1, sizeof *e->dirty);
    e->pubs = mem_calloc(npubs ? npubs : 1, sizeof *e->pubs);
    e->scratch = mem_alloc(SCRATCH_LEN);
    if (!e->conns || !e->dirty || !e->pubs || !e->scratch)
        return TERN_ENOMEM;
    e->nconns = nconns;
    for (uint32_t i = 0; i < nconns; i++) {
        e->conns[i].fd = -1;
        e->conns[i].pub = e->conns[i].sub_slot = BENCH_NONE;
    }
    e->ep = epoll_create1(EPOLL_CLOEXEC);
    e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (e->ep < 0 || e->tfd < 0)
        return TERN_ESYS;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TIMER_TOKEN};
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, e->tfd, &ev) != 0)
        return TERN_ESYS;
    return 0;
}

void bench_engine_deinit(struct bench_engine *e)
{
    for (uint32_t i = 0; e->conns && i < e->nconns; i++) {
        if (e->conns[i].fd >= 0)
            close(e->conns[i].fd);
        buf_deinit(&e->conns[i].in);
        buf_deinit(&e->conns[i].out);
    }
    for (uint32_t i = 0; e->pubs && i < e->npubs; i++)
        bench_wire_tmpl_deinit(&e->pubs[i].tmpl);
    if (e->ep >= 0)
        close(e->ep);
    if (e->tfd >= 0)
        close(e->tfd);
    mem_free(e->conns);
    mem_free(e->dirty);
    mem_free(e->pubs);
    mem_free(e->scratch);
    mem_free(e->last_seq);
    memset(e, 0, sizeof *e);
    e->ep = e->tfd = -1;
}

int bench_engine_add_pub(struct bench_engine *e, uint32_t conn, struct tern_bytes topic,
                         uint32_t digits, uint32_t fanout, bool retain)
{
    struct bench_pub *p = &e->pubs[e->npubs];
    int rc = bench_wire_tmpl_init(&p->tmpl, topic, digits, e->o->qos, retain, e->o->payload,
                                  e->o->version);
    if (rc != 0)
        return rc;
    p->conn = conn;
    p->fanout = fanout;
    p->rng = 0x9e3779b97f4a7c15ull * (e->npubs + 1);
    e->conns[conn].pub = e->npubs;
    return (int)e->npubs++;
}

void bench_engine_add_sub(struct bench_engine *e, uint32_t conn)
{
    e->conns[conn].sub_slot = e->nsubs++;
}

static void close_conn(struct bench_engine *e, struct bench_conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(e->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    if (c->state == CS_CONNECTING || c->state == CS_CONNACK_WAIT)
        e->connecting--;
    if (c->state == CS_READY)
        e->ready--;
    c->state = CS_CLOSED;
    e->st.closed++;
}

static int set_events(struct bench_engine *e, struct bench_conn *c, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0),
                             .data.u32 = (uint32_t)(c - e->conns)};
    c->out_armed = want_out;
    return epoll_ctl(e->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0 ? 0 : TERN_ESYS;
}

static int open_conn(struct bench_engine *e, uint32_t i)
{
    struct bench_conn *c = &e->conns[i];
    char id[64];
    uint8_t pkt[128];
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(e->err, sizeof e->err, "socket: %s (connection %u)", strerror(errno), i);
        return TERN_ESYS;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (e->source_addrs > 1) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + i % e->source_addrs);
        /* Leave the port to connect(), so each source address has its own 4-tuple space. */
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(c->fd, (struct sockaddr *)&src, sizeof src) != 0) {
            snprintf(e->err, sizeof e->err, "bind 127.0.0.x: %s", strerror(errno));
            return TERN_ESYS;
        }
    }
    if (connect(c->fd, (struct sockaddr *)&e->addr, sizeof e->addr) != 0 && errno != EINPROGRESS) {
        snprintf(e->err, sizeof e->err, "connect: %s (connection %u)", strerror(errno), i);
        return TERN_ESYS;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = i};
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        return TERN_ESYS;
    c->out_armed = true;
    c->state = CS_CONNECTING;
    e->connecting++;
    snprintf(id, sizeof id, "tb-%d-%u", (int)getpid(), i);
    size_t n = bench_wire_connect(pkt, sizeof pkt, e->o->version, id, e->o->persistent);
    if (n == 0 || buf_append(&c->out, pkt, n) != 0)
        return TERN_ENOMEM;
    return 0;
}

/* Writes c's pending output; arms EPOLLOUT while the socket is full. */
static int flush(struct bench_engine *e, struct bench_conn *c)
{
    if (c->state == CS_CONNECTING || c->fd < 0)
        return 0;
    while (c->out.len) {
        ssize_t n = write(c->fd, c->out.data, c->out.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return c->out_armed ? 0 : set_events(e, c, true);
        if (n < 0) {
            close_conn(e, c);
            return 0;
        }
        buf_consume(&c->out, (size_t)n);
    }
    return c->out_armed ? set_events(e, c, false) : 0;
}

static int flush_dirty(struct bench_engine *e)
{
    for (uint32_t i = 0; i < e->ndirty; i++) {
        struct bench_conn *c = &e->conns[e->dirty[i]];
        c->dirty = false;
        if (flush(e, c) != 0)
            return TERN_ESYS;
    }
    e->ndirty = 0;
    return 0;
}

static int finish_connect(struct bench_engine *e, struct bench_conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        snprintf(e->err, sizeof e->err, "connect to %s:%u: %s", e->o->host, e->o->port,
                 strerror(err ? err : errno));
        close_conn(e, c);
        return TERN_EIO;
    }
    c->state = CS_CONNACK_WAIT;
    return flush(e, c);
}

/* Hands data to the flow layer, keeping an incomplete trailing packet in c->in. */
static int consume(struct bench_engine *e, struct bench_conn *c, size_t n, uint64_t now_ns)
{
    const uint8_t *data = e->scratch;
    size_t len = n;
    if (c->in.len) {
        if (buf_append(&c->in, e->scratch, n) != 0)
            return TERN_ENOMEM;
        data = c->in.data;
        len = c->in.len;
    }
    int used = bench_flow_input(e, c, data, len, now_ns);
    if (used < 0)
        return used;
    if (c->in.len) {
        buf_consume(&c->in, (size_t)used);
        return 0;
    }
    return buf_append(&c->in, data + used, len - (size_t)used);
}

static int on_readable(struct bench_engine *e, struct bench_conn *c)
{
    for (int round = 0; round < 4 && c->fd >= 0; round++) {
        ssize_t n = read(c->fd, e->scratch, SCRATCH_LEN);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0) {
            snprintf(e->err, sizeof e->err, "broker closed a connection (%s)",
                     n == 0 ? "EOF" : strerror(errno));
            close_conn(e, c);
            return 0;
        }
        int rc = consume(e, c, (size_t)n, clock_mono_ns());
        if (rc != 0)
            return rc;
        if ((size_t)n < SCRATCH_LEN)
            return 0;
    }
    return 0;
}

static int on_event(struct bench_engine *e, const struct epoll_event *ev)
{
    if (ev->data.u32 == TIMER_TOKEN) {
        uint64_t ticks;
        if (read(e->tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
            return TERN_ESYS;
        return 0;
    }
    struct bench_conn *c = &e->conns[ev->data.u32];
    if (c->fd < 0)
        return 0;
    if (c->state == CS_CONNECTING && (ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        return finish_connect(e, c);
    if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        int rc = on_readable(e, c);
        if (rc != 0)
            return rc;
    }
    if ((ev->events & EPOLLOUT) && c->fd >= 0)
        return flush(e, c);
    return 0;
}

static void arm_timer(struct bench_engine *e)
{
    uint64_t due = bench_flow_next_due(e);
    struct itimerspec its = {{0, 0}, {0, 0}};
    if (due == 0)
        return;
    its.it_value.tv_sec = (time_t)(due / 1000000000ull);
    its.it_value.tv_nsec = (long)(due % 1000000000ull);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(e->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* One loop turn: wait at most wait_ms, handle events, let publishers send, flush. */
static int turn(struct bench_engine *e, int wait_ms)
{
    struct epoll_event evs[MAX_EVENTS];
    arm_timer(e);
    int n = epoll_wait(e->ep, evs, MAX_EVENTS, wait_ms);
    if (n < 0 && errno != EINTR)
        return TERN_ESYS;
    for (int i = 0; i < n; i++) {
        int rc = on_event(e, &evs[i]);
        if (rc != 0 && rc != TERN_EIO)
            return rc;
        if (rc == TERN_EIO && !e->publishing)
            return rc;
    }
    int rc = bench_flow_pump(e, clock_mono_ns());
    if (rc < 0)
        return rc;
    /* Publishers that just sent may have credit again at once: do not sleep next turn. */
    e->busy = rc > 0;
    return flush_dirty(e);
}

int bench_engine_run(struct bench_engine *e, uint64_t deadline_ns, bench_done_fn done,
                     const void *arg)
{
    for (;;) {
        if (done && done(e, arg))
            return 0;
        uint64_t now = clock_mono_ns();
        if (now >= deadline_ns)
            return done ? TERN_ETIMEDOUT : 0;
        uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
        int rc = turn(e, e->busy ? 0 : left_ms > 10 ? 10 : (int)left_ms);
        if (rc != 0)
            return rc == TERN_ESYS ? TERN_EIO : rc;
    }
}

struct connect_goal {
    uint32_t n;
};

/* Stop waiting when the goal is reached or when there is room to start more connects. */
static bool connect_progress(const struct bench_engine *e, const void *arg)
{
    const struct connect_goal *g = arg;
    return e->ready >= g->n || e->st.closed ||
           (e->started < g->n && e->connecting < e->o->connect_parallel);
}

int bench_engine_connect(struct bench_engine *e, uint32_t n, uint64_t deadline_ns)
{
    struct connect_goal g = {n > e->nconns ? e->nconns : n};
    while (e->ready < g.n) {
        while (e->started < g.n && e->connecting < e->o->connect_parallel) {
            int rc = open_conn(e, e->started++);
            if (rc != 0)
                return rc == TERN_ESYS ? TERN_EIO : rc;
        }
        int rc = bench_engine_run(e, deadline_ns, connect_progress, &g);
        if (rc != 0)
            return rc;
        if (e->st.closed)
            return TERN_EIO;
    }
    return 0;
}

int bench_engine_subscribe(struct bench_engine *e, uint32_t conn, const struct tern_bytes *filters,
                           size_t n)
{
    struct bench_conn *c = &e->conns[conn];
    uint8_t pkt[16384];
    for (size_t i = 0; i < n; i += 64) {
        size_t k = n - i < 64 ? n - i : 64;
        if (++c->next_pid == 0)
            c->next_pid = 1;
        size_t len = bench_wire_subscribe(pkt, sizeof pkt, e->o->version, c->next_pid, filters + i,
                                          k, e->o->qos);
        if (len == 0)
            return TERN_EINVAL;
        if (bench_flow_queue(e, c, pkt, len) != 0)
            return TERN_ENOMEM;
        c->pending_subacks++;
    }
    return 0;
}

int bench_engine_ping(struct bench_engine *e, uint32_t conn)
{
    static const uint8_t ping[2] = {MQTT_PINGREQ << 4, 0};
    struct bench_conn *c = &e->conns[conn];
    c->pending_pings++;
    return bench_flow_queue(e, c, ping, sizeof ping);
}

void bench_engine_publish(struct bench_engine *e, bool on, uint64_t now_ns)
{
    e->publishing = on;
    e->open_start_ns = now_ns;
    e->rate_per_pub = e->o->rate > 0 && e->npubs ? e->o->rate / e->npubs : 0;
    for (uint32_t i = 0; i < e->npubs; i++) {
        struct bench_pub *p = &e->pubs[i];
        p->progress_ns = now_ns;
        if (e->rate_per_pub > 0) {
            /* Spread publishers evenly over one period; restart the schedule from here. */
            p->offset_ns = (uint64_t)(1e9 / e->rate_per_pub * i / e->npubs);
            p->offset_ns -= (uint64_t)((double)p->sent * 1e9 / e->rate_per_pub);
        }
    }
}

bool bench_engine_idle_done(const struct bench_engine *e, const void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < e->nconns; i++) {
        const struct bench_conn *c = &e->conns[i];
        if (c->state == CS_READY && (c->pending_subacks || c->pending_pings))
            return false;
    }
    return true;
}

uint64_t bench_engine_missing(const struct bench_engine *e)
{
    uint64_t expected = 0;
    for (uint32_t i = 0; i < e->npubs; i++)
        expected += e->pubs[i].sent * e->pubs[i].fanout;
    uint64_t unique = e->st.received - e->st.dups;
    return expected > unique ? expected - unique : 0;
}

bool bench_engine_drained(const struct bench_engine *e, const void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < e->npubs; i++)
        if (e->pubs[i].unacked && e->conns[e->pubs[i].conn].state == CS_READY)
            return false;
    return bench_engine_missing(e) == 0;
}
