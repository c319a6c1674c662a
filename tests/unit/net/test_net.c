/* Unit tests for src/net: the epoll loop (I/O events, removal inside callbacks, timers, cross-
 * thread wakeups, the after-iteration hook) and accept + echo over the loop; the listener and
 * transport tests live in test_net_io.c and run from the table here.
 * Every wait is on an event (poll, loop callbacks, thread join); a guard timer only turns a hang
 * into a failure. */
#define _GNU_SOURCE /* dup2 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "listener.h"
#include "loop.h"
#include "mem.h"
#include "test_net_io.h"
#include "transport.h"
#include "unit.h"

#define GUARD_MS NET_TEST_WAIT_MS

static int guard_fired;

static void guard_cb(struct loop *l, void *ctx)
{
    (void)ctx;
    guard_fired = 1;
    loop_stop(l);
}

/* Runs l until a callback stops it; fails the test (instead of hanging) after GUARD_MS. */
static int run_guarded(struct loop *l)
{
    guard_fired = 0;
    uint64_t guard = loop_timer_add(l, GUARD_MS, guard_cb, NULL);
    int rc = loop_run(l);
    loop_timer_cancel(l, guard);
    return rc == 0 && !guard_fired ? 0 : -1;
}

/* ---- loop: I/O ---- */

static void stop_after_cb(struct loop *l, void *ctx)
{
    (void)ctx;
    loop_stop(l);
}

static void timer_stop_cb(struct loop *l, void *ctx)
{
    (void)ctx;
    loop_stop(l);
}

struct rw_state {
    int fd[2];
    int writes, reads, peer_reads, eofs;
    char got[16];
    long got_len;
};

static void rw_a_cb(struct loop *l, int fd, unsigned events, void *ctx)
{
    struct rw_state *st = ctx;
    if (events & LOOP_WRITE) {
        st->writes++;
        CHECK_EQ_INT(write(fd, "hello", 5), 5);
        CHECK_EQ_INT(loop_modify(l, fd, LOOP_READ), 0);
        return;
    }
    if (events & LOOP_READ) {
        long n = read(fd, st->got, sizeof st->got);
        if (n == 0) {
            st->eofs++;
            loop_remove(l, fd);
            loop_stop(l);
            return;
        }
        st->reads++;
        st->got_len = n;
    }
}

static void rw_b_cb(struct loop *l, int fd, unsigned events, void *ctx)
{
    struct rw_state *st = ctx;
    char buf[16];
    CHECK(events & LOOP_READ);
    CHECK(!(events & LOOP_WRITE)); /* not asked for */
    long n = read(fd, buf, sizeof buf);
    st->peer_reads++;
    CHECK_MEM(buf, n, "hello", 5);
    CHECK_EQ_INT(write(fd, "olleh", 5), 5);
    /* Remove and close the peer: side A then sees its data, then end of stream. */
    CHECK_EQ_INT(loop_remove(l, fd), 0);
    close(fd);
}

static void test_loop_socketpair_rw(void)
{
    struct rw_state st = {0};
    struct loop *l = loop_new();
    REQUIRE(l != NULL);
    REQUIRE(net_test_make_pair(st.fd) == 0);
    CHECK_EQ_INT(loop_add(l, st.fd[0], LOOP_WRITE, rw_a_cb, &st), 0);
    CHECK_EQ_INT(loop_add(l, st.fd[1], LOOP_READ, rw_b_cb, &st), 0);
    CHECK_EQ_INT(loop_add(l, st.fd[1], LOOP_READ, rw_b_cb, &st), TERN_EEXIST);
    CHECK_EQ_INT(loop_add(l, -1, LOOP_READ, rw_b_cb, &st), TERN_EINVAL);
    CHECK_EQ_INT(run_guarded(l), 0);
    CHECK_EQ_INT(st.writes, 1);
    CHECK_EQ_INT(st.peer_reads, 1);
    CHECK_EQ_INT(st.reads, 1);
    CHECK_EQ_INT(st.eofs, 1);
    CHECK_MEM(st.got, st.got_len, "olleh", 5);
    CHECK_EQ_INT(loop_remove(l, st.fd[0]), TERN_ENOTFOUND);
    CHECK_EQ_INT(loop_modify(l, st.fd[0], LOOP_READ), TERN_ENOTFOUND);
    close(st.fd[0]);
    loop_free(l);
}

/* Two readable fds; whichever callback runs first removes both, frees both contexts and puts a
 * quiet socket on the other fd number: the other's collected event must not be delivered. */
struct rm_state {
    int fd[2], peer[2], spare[2];
    int calls, late_calls;
};
struct rm_ctx {
    struct rm_state *st;
    struct rm_ctx *other;
};

static void rm_late_cb(struct loop *l, int fd, unsigned events, void *ctx)
{
    (void)l, (void)fd, (void)events;
    ((struct rm_state *)ctx)->late_calls++;
}

static void rm_cb(struct loop *l, int fd, unsigned events, void *ctx)
{
    struct rm_ctx *c = ctx;
    struct rm_state *st = c->st;
    (void)events;
    st->calls++;
    int other_fd = fd == st->fd[0] ? st->fd[1] : st->fd[0];
    CHECK_EQ_INT(loop_remove(l, other_fd), 0);
    CHECK_EQ_INT(dup2(st->spare[0], other_fd), other_fd); /* same number, new file */
    CHECK_EQ_INT(loop_add(l, other_fd, LOOP_READ, rm_late_cb, st), 0);
    CHECK_EQ_INT(loop_remove(l, fd), 0);
    mem_free(c->other);
    mem_free(c);
    loop_stop(l);
}

static void test_loop_remove_and_free_in_callback(void)
{
    struct rm_state st = {0};
    struct loop *l = loop_new();
    REQUIRE(l != NULL);
    int a[2], b[2];
    REQUIRE(net_test_make_pair(a) == 0 && net_test_make_pair(b) == 0 &&
            net_test_make_pair(st.spare) == 0);
    st.fd[0] = a[0], st.peer[0] = a[1], st.fd[1] = b[0], st.peer[1] = b[1];
    struct rm_ctx *ca = mem_alloc(sizeof *ca), *cb = mem_alloc(sizeof *cb);
    REQUIRE(ca != NULL && cb != NULL);
    *ca = (struct rm_ctx){&st, cb};
    *cb = (struct rm_ctx){&st, ca};
    CHECK_EQ_INT(write(st.peer[0], "x", 1), 1);
    CHECK_EQ_INT(write(st.peer[1], "y", 1), 1);
    CHECK_EQ_INT(loop_add(l, st.fd[0], LOOP_READ, rm_cb, ca), 0);
    CHECK_EQ_INT(loop_add(l, st.fd[1], LOOP_READ, rm_cb, cb), 0);
    CHECK_EQ_INT(run_guarded(l), 0);
    CHECK_EQ_INT(st.calls, 1);
    CHECK_EQ_INT(st.late_calls, 0);
    /* Exactly one of the two numbers is registered now (the quiet dup). */
    int removed = (loop_remove(l, st.fd[0]) == 0) + (loop_remove(l, st.fd[1]) == 0);
    CHECK_EQ_INT(removed, 1);
    for (int i = 0; i < 2; i++) {
        close(st.fd[i]);
        close(st.peer[i]);
        close(st.spare[i]);
    }
    loop_free(l);
}

/* Both fds readable; the first callback drops the other's READ interest: its event, already
 * collected in this iteration, must not be delivered. */
struct mod_state {
    int fd[2], calls;
};

static void mod_cb(struct loop *l, int fd, unsigned events, void *ctx)
{
    struct mod_state *st = ctx;
    (void)events;
    st->calls++;
    CHECK_EQ_INT(loop_modify(l, fd == st->fd[0] ? st->fd[1] : st->fd[0], 0), 0);
    CHECK_EQ_INT(loop_modify(l, fd, 0), 0);
}

static void test_loop_modify_in_callback(void)
{
    struct mod_state st = {.calls = 0};
    struct loop *l = loop_new();
    REQUIRE(l != NULL);
    int a[2], b[2];
    REQUIRE(net_test_make_pair(a) == 0 && net_test_make_pair(b) == 0);
    st.fd[0] = a[0], st.fd[1] = b[0];
    CHECK_EQ_INT(write(a[1], "x", 1), 1);
    CHECK_EQ_INT(write(b[1], "y", 1), 1);
    CHECK_EQ_INT(loop_add(l, a[0], LOOP_READ, mod_cb, &st), 0);
    CHECK_EQ_INT(loop_add(l, b[0], LOOP_READ, mod_cb, &st), 0);
    loop_set_after(l, stop_after_cb, NULL);
    CHECK_EQ_INT(run_guarded(l), 0);
    CHECK_EQ_INT(st.calls, 1);
    /* Quiet fds stay quiet in later iterations too, though still readable. */
    CHECK(loop_timer_add(l, 1, timer_stop_cb, NULL) > 0);
    loop_set_after(l, NULL, NULL);
    CHECK_EQ_INT(run_guarded(l), 0);
    CHECK_EQ_INT(st.calls, 1);
    for (int i = 0; i < 2; i++) {
        loop_remove(l, a[i]);
        loop_remove(l, b[i]);
        close(a[i]);
        close(b[i]);
    }
    loop_free(l);
}

/* ---- loop: timers ---- */

struct order_state {
    int order[8];
    int n;
    uint64_t start;
};
struct order_ctx {
    struct order_state *st;
    int tag;
    int stop;
};

static void order_cb(struct loop *l, void *ctx)
{
    struct order_ctx *c = ctx;
    c->st->order[c->st->n++] = c->tag;
    if (c->stop)
        loop_stop(l);
}

static void test_timers_order_and_cancel(void)
{
    struct order_state st = {.n = 0};
    struct loop *l = loop_new();
    REQUIRE(l != NULL);
    st.start = loop_now_ms(l);
    struct order_ctx c30 = {&st, 30, 1}, c10a = {&st, 10, 0}, c20 = {&st, 20, 0};
    struct order_ctx c10b = {&st, 11, 0}, c0 = {&st, 0, 0};
    uint64_t id30 = loop_timer_add(l, 30, order_cb, &c30);
    uint64_t id10a = loop_timer_add(l, 10, order_cb, &c10a);
    uint64_t id20 = loop_timer_add(l, 20, order_cb, &c20);
    uint64_t id10b = loop_timer_add(l, 10, order_cb, &c10b);
    uint64_t id0 = loop_timer_add(l, 0, order_cb, &c0);
    CHECK(id30 > 0 && id10a > 0 && id20 > 0 && id10b > 0 && id0 > 0);
    CHECK(id30 != id10a && id10a != id20 && id20 != id10b && id10b != id0);
    loop_timer_cancel(l, id20);
    loop_timer_cancel(l, id20); /* twice: ignored */
    loop_timer_cancel(l, 0);
    CHECK_EQ_INT(run_guarded(l), 0);
    REQUIRE(st.n == 4);
    CHECK_EQ_INT(st.order[0], 0);
    CHECK_EQ_INT(st.order[1], 10);
    CHECK_EQ_INT(st.order[2], 11);
    CHECK_EQ_INT(st.order[3], 30);
    CHECK(loop_now_ms(l) >= st.start + 30);

    /* A stale id (already run) must not cancel the timer that reuses its slot. */
    st.n = 0;
    struct order_ctx c1 = {&st, 1, 1};
    uint64_t reused = loop_timer_add(l, 0, order_cb, &c1);
    CHECK(reused != id0 && reused != id30);
    loop_timer_cancel(l, id0);
    loop_timer_cancel(l, id30);
    CHECK_EQ_INT(run_guarded(l), 0);
    CHECK_EQ_INT(st.n, 1);
    loop_free(l);
}

/* A timer that re-arms itself with delay 0 runs once per iteration, not in a busy loop. */
struct rearm_state {
    int runs, afters;
    int seen[4];
};

static void rearm_cb(struct loop *l, void *ctx)
{
    struct rearm_state *st = ctx;
    st->seen[st->runs++] = st->afters;
    if (st->runs < 3)
        CHECK(loop_timer_add(l, 0, rearm_cb, st) > 0);
    else
        loop_stop(l);
}

static void rearm_after_cb(struct loop *l, void *ctx)
{
    (void)l;
    ((struct rearm_state *)ctx)->afters++;
}

static void test_timer_rearm_from_callback(void)
{
    struct rearm_state st = {.runs = 0};
    struct loop *l = loop_new();
    REQUIRE(l != NULL);
    loop_set_after(l, rearm_after_cb, &st);
    CHECK(loop_timer_add(l, 0, rearm_cb, &st) > 0);
    CHECK_EQ_INT(run_guarded(l), 0);
    REQUIRE(st.runs == 3);
    CHECK_EQ_INT(st.seen[0], 0);
    CHECK_EQ_INT(st.seen[1], 1);
    CHECK_EQ_INT(st.seen[2], 2);
    loop_free(l);
}

#define NTIMERS 10000

struct many_state {
    int fired[NTIMERS]; /* indices in firing order */
    int n, expected, early;
    uint64_t base;
};
struct many_ctx {
    struct many_state *st;
    int idx;
    uint64_t delay;
};

static void many_cb(struct loop *l, void *ctx)
{
    struct many_ctx *c = ctx;
    if (loop_now_ms(l) < c->st->base + c->delay)
        c->st->early++;
    c->st->fired[c->st->n++] = c->idx;
    if (c->st->n == c->st->expected)
        loop_stop(l);
}

static void test_timers_10000(void)
{
    static struct many_state st;
    static struct many_ctx ctx[NTIMERS];
    static uint64_t ids[NTIMERS];
    struct loop *l = loop_new();
    REQUIRE(l != NULL);
    memset(&st, 0, sizeof st);
    st.base = loop_now_ms(l);
    for (int i = 0; i < NTIMERS; i++) {
        ctx[i] = (struct many_ctx){&st, i, (uint64_t)((i * 7919) % 40)};
        ids[i] = loop_timer_add(l, ctx[i].delay, many_cb, &ctx[i]);
        REQUIRE(ids[i] > 0);
    }
    for (int i = 0; i < NTIMERS; i += 3)
        loop_timer_cancel(l, ids[i]);
    st.expected = NTIMERS - (NTIMERS + 2) / 3;
    CHECK_EQ_INT(run_guarded(l), 0);
    CHECK_EQ_INT(st.n, st.expected);
    CHECK_EQ_INT(st.early, 0);
    int sorted = 1, cancelled_ran = 0;
    for (int k = 0; k < st.n; k++) {
        int i = st.fired[k];
        cancelled_ran += i % 3 == 0;
        if (k > 0) {
            int p = st.fired[k - 1];
            /* Ordered by deadline, ties in insertion order. */
            int in_insertion_order = p < i;
            if (ctx[p].delay > ctx[i].delay ||
                (ctx[p].delay == ctx[i].delay && !in_insertion_order))
                sorted = 0;
        }
    }
    CHECK(sorted);
    CHECK_EQ_INT(cancelled_ran, 0);
    loop_free(l);
}

/* ---- loop: the after-iteration hook ---- */

struct after_state {
    int pair_a[2], pair_b[2];
    int after_calls;
    int seen[8]; /* after_calls seen by each I/O callback, in order */
    int nseen;
    int timer_seen;
};

static void after_io_cb(struct loop *l, int fd, unsigned events, void *ctx)
{
    struct after_state *st = ctx;
    char buf[16];
    (void)l, (void)events;
    CHECK(read(fd, buf, sizeof buf) > 0);
    if (st->nseen < 8)
        st->seen[st->nseen++] = st->after_calls;
}

static void after_timer_cb(struct loop *l, void *ctx)
{
    struct after_state *st = ctx;
    (void)l;
    st->timer_seen = st->after_calls;
}

static void after_cb(struct loop *l, void *ctx)
{
    struct after_state *st = ctx;
    st->after_calls++;
    if (st->after_calls == 1) {
        /* Work for the next iteration: more input on A and a due timer. */
        CHECK_EQ_INT(write(st->pair_a[1], "z", 1), 1);
        CHECK(loop_timer_add(l, 0, after_timer_cb, st) > 0);
    } else if (st->after_calls == 2) {
        loop_stop(l);
    }
}

static void test_after_once_per_iteration(void)
{
    struct after_state st = {.after_calls = 0, .timer_seen = -1};
    struct loop *l = loop_new();
    REQUIRE(l != NULL);
    REQUIRE(net_test_make_pair(st.pair_a) == 0 && net_test_make_pair(st.pair_b) == 0);
    CHECK_EQ_INT(write(st.pair_a[1], "a", 1), 1);
    CHECK_EQ_INT(write(st.pair_b[1], "b", 1), 1);
    CHECK_EQ_INT(loop_add(l, st.pair_a[0], LOOP_READ, after_io_cb, &st), 0);
    CHECK_EQ_INT(loop_add(l, st.pair_b[0], LOOP_READ, after_io_cb, &st), 0);
    loop_set_after(l, after_cb, &st);
    CHECK_EQ_INT(run_guarded(l), 0);
    CHECK_EQ_INT(st.after_calls, 2);
    REQUIRE(st.nseen == 3);
    CHECK_EQ_INT(st.seen[0], 0); /* both first events in iteration 1, before its after hook */
    CHECK_EQ_INT(st.seen[1], 0);
    CHECK_EQ_INT(st.seen[2], 1);
    CHECK_EQ_INT(st.timer_seen, 1); /* timers also run before the after hook */
    loop_set_after(l, NULL, NULL);
    for (int i = 0; i < 2; i++) {
        loop_remove(l, st.pair_a[i]);
        loop_remove(l, st.pair_b[i]);
        close(st.pair_a[i]);
        close(st.pair_b[i]);
    }
    loop_free(l);
}

/* ---- loop: cross-thread wakeups ---- */

struct wake_state {
    struct loop *l;
    pthread_mutex_t mu;
    long queued; /* guarded by mu */
    long total;  /* loop thread only */
    long target;
    int calls;
    int stop_in_cb;
};

static void wake_cb(struct loop *l, void *ctx)
{
    struct wake_state *st = ctx;
    st->calls++;
    pthread_mutex_lock(&st->mu);
    st->total += st->queued;
    st->queued = 0;
    pthread_mutex_unlock(&st->mu);
    if (st->stop_in_cb || st->total == st->target)
        loop_stop(l);
}

static void *wake_many(void *arg)
{
    struct wake_state *st = arg;
    for (long i = 0; i < st->target; i++) {
        pthread_mutex_lock(&st->mu);
        st->queued++;
        pthread_mutex_unlock(&st->mu);
        loop_wake(st->l);
    }
    return NULL;
}

static void stop_cb(struct loop *l, void *ctx)
{
    (void)ctx;
    loop_stop(l);
}

static void test_wake_coalesces(void)
{
    struct wake_state st = {.target = 1000, .stop_in_cb = 1};
    pthread_mutex_init(&st.mu, NULL);
    st.l = loop_new();
    REQUIRE(st.l != NULL);
    loop_set_wake(st.l, wake_cb, &st);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, wake_many, &st) == 0);
    pthread_join(th, NULL);
    /* 1000 wakes, all before the loop runs: one callback sees all the work. */
    CHECK_EQ_INT(run_guarded(st.l), 0);
    CHECK_EQ_INT(st.calls, 1);
    CHECK_EQ_INT(st.total, 1000);
    /* Nothing left pending: an iteration with a due timer calls no wake callback. */
    CHECK(loop_timer_add(st.l, 0, stop_cb, NULL) > 0);
    CHECK_EQ_INT(run_guarded(st.l), 0);
    CHECK_EQ_INT(st.calls, 1);
    /* A later wake is delivered again. */
    loop_wake(st.l);
    CHECK_EQ_INT(run_guarded(st.l), 0);
    CHECK_EQ_INT(st.calls, 2);
    loop_free(st.l);
    pthread_mutex_destroy(&st.mu);
}

static void test_wake_from_thread_while_running(void)
{
    struct wake_state st = {.target = 20000, .stop_in_cb = 0};
    pthread_mutex_init(&st.mu, NULL);
    st.l = loop_new();
    REQUIRE(st.l != NULL);
    loop_set_wake(st.l, wake_cb, &st);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, wake_many, &st) == 0);
    CHECK_EQ_INT(run_guarded(st.l), 0);
    pthread_join(th, NULL);
    CHECK_EQ_INT(st.total, st.target); /* no lost wakeup */
    CHECK(st.calls >= 1 && st.calls <= st.target);
    loop_free(st.l);
    pthread_mutex_destroy(&st.mu);
}

/* ---- loop: busy polling ---- */

struct chain {
    int fds[2];
    int left;
};

/* Each byte read writes the next one: every turn ends with an event already waiting. */
static void chain_readable(struct loop *l, int fd, unsigned events, void *ctx)
{
    (void)events;
    struct chain *c = ctx;
    char b;
    if (read(fd, &b, 1) != 1)
        return;
    if (--c->left > 0)
        CHECK(write(c->fds[1], "x", 1) == 1);
    else
        loop_stop(l);
}

/* After a busy turn an event that is already there is found by polling (every wait after the
 * first polls, and every poll finds it); with busy polling off the loop never polls. */
static void test_busy_poll_finds_ready_events(void)
{
    for (int on = 0; on < 2; on++) {
        struct loop *l = loop_new();
        REQUIRE(l != NULL);
        struct chain c = {.left = 20};
        REQUIRE(pipe(c.fds) == 0);
        loop_set_busy_poll(l, on ? 100000 : 0); /* 100 ms: ample for a byte already written */
        REQUIRE(write(c.fds[1], "x", 1) == 1);
        REQUIRE(loop_add(l, c.fds[0], LOOP_READ, chain_readable, &c) == 0);
        CHECK_EQ_INT(run_guarded(l), 0);
        uint64_t spins = 0, hits = 0;
        loop_busy_poll_stats(l, &spins, &hits);
        CHECK_EQ_INT((int)spins, on ? 19 : 0);
        CHECK_EQ_INT((int)hits, on ? 19 : 0);
        loop_remove(l, c.fds[0]);
        close(c.fds[0]);
        close(c.fds[1]);
        loop_free(l);
    }
}

struct slow_writer {
    int fd;
    int n;
};

/* Writes n bytes 5 ms apart: the gap between events is what is under test here. */
static void *write_slowly(void *arg)
{
    struct slow_writer *w = arg;
    for (int i = 0; i < w->n; i++) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        CHECK(write(w->fd, "x", 1) == 1);
    }
    return NULL;
}

/* Counts bytes and stops after `left` of them. */
static void count_readable(struct loop *l, int fd, unsigned events, void *ctx)
{
    (void)events;
    int *left = ctx;
    char b;
    if (read(fd, &b, 1) == 1 && --*left == 0)
        loop_stop(l);
}

/* Events 5 ms apart with a 20 us budget: the average wait soon exceeds the budget and the
 * loop stops polling (a few polls while it adapts, not one per event). */
static void test_busy_poll_adapts_to_slow_events(void)
{
    struct loop *l = loop_new();
    REQUIRE(l != NULL);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    loop_set_busy_poll(l, 20);
    struct slow_writer w = {fds[1], 30};
    int left = w.n;
    REQUIRE(loop_add(l, fds[0], LOOP_READ, count_readable, &left) == 0);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, write_slowly, &w) == 0);
    CHECK_EQ_INT(run_guarded(l), 0);
    pthread_join(th, NULL);
    uint64_t spins = 0, hits = 0;
    loop_busy_poll_stats(l, &spins, &hits);
    CHECK(spins <= 4);
    loop_remove(l, fds[0]);
    close(fds[0]);
    close(fds[1]);
    loop_free(l);
}

static void *stop_other(void *arg)
{
    loop_stop(arg);
    return NULL;
}

static void test_stop_from_other_thread(void)
{
    struct loop *l = loop_new();
    REQUIRE(l != NULL);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, stop_other, l) == 0);
    CHECK_EQ_INT(run_guarded(l), 0); /* returns whether the stop came before or during run */
    pthread_join(th, NULL);
    loop_free(l);
}

/* ---- everything together: accept and echo on the loop ---- */

struct echo_state {
    int lfd;
    struct transport *conn;
    int accepted, echoed;
};

static void echo_conn_cb(struct loop *l, int fd, unsigned events, void *ctx)
{
    struct echo_state *st = ctx;
    char buf[64];
    (void)events;
    long n = st->conn->ops->read(st->conn, buf, sizeof buf);
    if (n > 0) {
        struct iovec iov = {buf, (size_t)n};
        CHECK_EQ_INT(st->conn->ops->writev(st->conn, &iov, 1), n);
        st->echoed += (int)n;
        return;
    }
    if (n == TERN_EAGAIN)
        return;
    CHECK_EQ_INT(n, 0);
    loop_remove(l, fd);
    st->conn->ops->close(st->conn);
    st->conn = NULL;
    loop_stop(l);
}

static void echo_accept_cb(struct loop *l, int fd, unsigned events, void *ctx)
{
    struct echo_state *st = ctx;
    (void)events;
    int cfd = listener_accept(fd, NULL, 0);
    if (cfd < 0)
        return;
    st->accepted++;
    st->conn = transport_tcp_new(cfd);
    REQUIRE(st->conn != NULL);
    CHECK_EQ_INT(loop_add(l, cfd, LOOP_READ, echo_conn_cb, st), 0);
}

static void test_loop_accept_echo(void)
{
    struct echo_state st = {0};
    uint16_t port = 0;
    struct loop *l = loop_new();
    REQUIRE(l != NULL);
    st.lfd = listener_open_tcp("127.0.0.1", 0, AF_INET, 0, &port, NULL, 0);
    REQUIRE(st.lfd >= 0);
    CHECK_EQ_INT(loop_add(l, st.lfd, LOOP_READ, echo_accept_cb, &st), 0);
    int c = net_test_connect(AF_INET, "127.0.0.1", port);
    REQUIRE(c >= 0);
    CHECK_EQ_INT(send(c, "ping", 4, 0), 4);
    shutdown(c, SHUT_WR);
    CHECK_EQ_INT(run_guarded(l), 0);
    char buf[8];
    CHECK_EQ_INT(recv(c, buf, sizeof buf, MSG_WAITALL), 4);
    CHECK_MEM(buf, 4, "ping", 4);
    CHECK_EQ_INT(st.accepted, 1);
    CHECK_EQ_INT(st.echoed, 4);
    CHECK(st.conn == NULL);
    loop_remove(l, st.lfd);
    close(st.lfd);
    close(c);
    loop_free(l);
}

/* ---- out of memory: clean failures, nothing leaked ---- */

static void noop_timer_cb(struct loop *l, void *ctx)
{
    (void)l, (void)ctx;
}

static void noop_io_cb(struct loop *l, int fd, unsigned events, void *ctx)
{
    (void)l, (void)fd, (void)events, (void)ctx;
}

static void test_out_of_memory(void)
{
    size_t before = mem_in_use();
    mem_fail_at(1);
    struct loop *l = loop_new();
    mem_fail_at(0);
    CHECK(l == NULL);
    CHECK_EQ_INT(mem_in_use(), before);

    l = loop_new();
    REQUIRE(l != NULL);
    int sv[2];
    REQUIRE(net_test_make_pair(sv) == 0);
    mem_fail_at(1); /* the fd table's first growth */
    CHECK_EQ_INT(loop_add(l, sv[0], LOOP_READ, noop_io_cb, NULL), TERN_ENOMEM);
    mem_fail_at(0);
    CHECK_EQ_INT(loop_add(l, sv[0], LOOP_READ, noop_io_cb, NULL), 0);
    mem_fail_at(1); /* the timer heap's first growth */
    CHECK_EQ_INT(loop_timer_add(l, 5, noop_timer_cb, NULL), 0);
    mem_fail_at(0);
    CHECK(loop_timer_add(l, 5, noop_timer_cb, NULL) > 0);
    loop_remove(l, sv[0]);
    loop_free(l);
    CHECK_EQ_INT(mem_in_use(), before);

    mem_fail_at(1);
    struct transport *t = transport_tcp_new(sv[0]); /* takes the fd even on failure */
    mem_fail_at(0);
    CHECK(t == NULL);
    char c;
    CHECK_EQ_INT(read(sv[1], &c, 1), 0); /* sv[0] was closed: end of stream */
    close(sv[1]);
    CHECK_EQ_INT(mem_in_use(), before);
}

UNIT_MAIN(UNIT_TEST(test_loop_socketpair_rw), UNIT_TEST(test_loop_remove_and_free_in_callback),
          UNIT_TEST(test_loop_modify_in_callback), UNIT_TEST(test_timer_rearm_from_callback),
          UNIT_TEST(test_timers_order_and_cancel), UNIT_TEST(test_timers_10000),
          UNIT_TEST(test_after_once_per_iteration), UNIT_TEST(test_wake_coalesces),
          UNIT_TEST(test_wake_from_thread_while_running), UNIT_TEST(test_stop_from_other_thread),
          UNIT_TEST(test_listener_tcp_v4_v6), UNIT_TEST(test_listener_dual_stack_any),
          UNIT_TEST(test_listener_reuseport), UNIT_TEST(test_listener_unix),
          UNIT_TEST(test_transport_tcp_rw), UNIT_TEST(test_transport_epipe_no_sigpipe),
          UNIT_TEST(test_transport_full_buffer), UNIT_TEST(test_loop_accept_echo),
          UNIT_TEST(test_out_of_memory), UNIT_TEST(test_sockutil),
          UNIT_TEST(test_busy_poll_finds_ready_events),
          UNIT_TEST(test_busy_poll_adapts_to_slow_events))
