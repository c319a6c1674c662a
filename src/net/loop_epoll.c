/* The event loop on Linux epoll (level-triggered) with an eventfd for cross-thread wakeups and
 * timer_heap for timers. Each registered fd gets a generation number carried in its epoll data,
 * so events collected before a loop_remove (or a remove + re-add of the same fd number) in the
 * same iteration are dropped instead of reaching a freed ctx. Does not read or write user fds. */
#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "mem.h"
#include "timer_heap.h"

#define MAX_EVENTS 256
/* epoll data of the eventfd; a user fd's data is (gen << 32) | fd with gen != 0. */
#define WAKE_TAG UINT64_MAX

struct loop_fd {
    loop_io_fn fn;
    void *ctx;
    unsigned events;
    uint32_t gen; /* 0 = not registered */
};

struct loop {
    int epfd;
    int wakefd;
    struct loop_fd *fds; /* indexed by fd */
    size_t fds_cap;
    uint32_t next_gen;
    struct timer_heap timers;
    loop_wake_fn wake_fn;
    void *wake_ctx;
    loop_wake_fn after_fn;
    void *after_ctx;
    atomic_int wake_pending; /* 1 while a loop_wake() has not reached the wake callback */
    atomic_int stop;
    uint64_t now_ms;
    /* Busy polling (loop_set_busy_poll): the budget, and the moving average of how long the
     * loop waited for its next event after a busy iteration. */
    uint64_t spin_ns;
    uint64_t gap_ns;
    uint64_t spins, spin_hits;
};

struct loop *loop_new(void)
{
    struct loop *l = mem_calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->epfd = -1;
    l->wakefd = -1;
    l->next_gen = 1;
    timer_heap_init(&l->timers);
    atomic_init(&l->wake_pending, 0);
    atomic_init(&l->stop, 0);
    l->now_ms = clock_mono_ms();
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0)
        goto fail;
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wakefd < 0)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) != 0)
        goto fail;
    return l;
fail:
    loop_free(l);
    return NULL;
}

void loop_free(struct loop *l)
{
    if (l == NULL)
        return;
    if (l->wakefd >= 0)
        close(l->wakefd);
    if (l->epfd >= 0)
        close(l->epfd);
    timer_heap_deinit(&l->timers);
    mem_free(l->fds);
    mem_free(l);
}

static uint32_t to_epoll(unsigned events)
{
    uint32_t e = 0;
    if (events & LOOP_READ)
        e |= EPOLLIN;
    if (events & LOOP_WRITE)
        e |= EPOLLOUT;
    return e; /* EPOLLERR and EPOLLHUP are always reported */
}

static int reserve_fd(struct loop *l, int fd)
{
    size_t need = (size_t)fd + 1;
    if (need <= l->fds_cap)
        return 0;
    size_t cap = l->fds_cap ? l->fds_cap * 2 : 64;
    if (cap < need)
        cap = need;
    struct loop_fd *fds = mem_realloc(l->fds, cap * sizeof *fds);
    if (fds == NULL)
        return TERN_ENOMEM;
    memset(fds + l->fds_cap, 0, (cap - l->fds_cap) * sizeof *fds);
    l->fds = fds;
    l->fds_cap = cap;
    return 0;
}

static struct loop_fd *find_fd(struct loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->fds_cap || l->fds[fd].gen == 0)
        return NULL;
    return &l->fds[fd];
}

int loop_add(struct loop *l, int fd, unsigned events, loop_io_fn fn, void *ctx)
{
    if (fd < 0 || fn == NULL)
        return TERN_EINVAL;
    int rc = reserve_fd(l, fd);
    if (rc != 0)
        return rc;
    struct loop_fd *e = &l->fds[fd];
    if (e->gen != 0)
        return TERN_EEXIST;
    uint32_t gen = l->next_gen++;
    if (l->next_gen == 0)
        l->next_gen = 1;
    struct epoll_event ev = {.events = to_epoll(events),
                             .data.u64 = ((uint64_t)gen << 32) | (uint32_t)fd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return errno == EEXIST ? TERN_EEXIST : TERN_ESYS;
    e->fn = fn;
    e->ctx = ctx;
    e->events = events & (LOOP_READ | LOOP_WRITE);
    e->gen = gen;
    return 0;
}

int loop_modify(struct loop *l, int fd, unsigned events)
{
    struct loop_fd *e = find_fd(l, fd);
    if (e == NULL)
        return TERN_ENOTFOUND;
    events &= LOOP_READ | LOOP_WRITE;
    if (events == e->events)
        return 0;
    struct epoll_event ev = {.events = to_epoll(events),
                             .data.u64 = ((uint64_t)e->gen << 32) | (uint32_t)fd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
        return TERN_ESYS;
    e->events = events;
    return 0;
}

int loop_remove(struct loop *l, int fd)
{
    struct loop_fd *e = find_fd(l, fd);
    if (e == NULL)
        return TERN_ENOTFOUND;
    /* Fails harmlessly if the caller already closed fd: the kernel then dropped it itself. */
    (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    memset(e, 0, sizeof *e);
    return 0;
}

uint64_t loop_timer_add(struct loop *l, uint64_t delay_ms, loop_timer_fn fn, void *ctx)
{
    if (fn == NULL)
        return 0;
    uint64_t when = delay_ms > UINT64_MAX - l->now_ms ? UINT64_MAX : l->now_ms + delay_ms;
    return timer_heap_add(&l->timers, when, fn, ctx);
}

void loop_timer_cancel(struct loop *l, uint64_t id)
{
    timer_heap_cancel(&l->timers, id);
}

void loop_set_wake(struct loop *l, loop_wake_fn fn, void *ctx)
{
    l->wake_fn = fn;
    l->wake_ctx = ctx;
}

static void poke(struct loop *l)
{
    uint64_t one = 1;
    /* Only fails with EAGAIN when the counter is saturated, which still leaves it readable. */
    ssize_t n = write(l->wakefd, &one, sizeof one);
    (void)n;
}

void loop_wake(struct loop *l)
{
    /* Only the first wake after the callback ran writes the eventfd (coalescing). */
    if (atomic_exchange(&l->wake_pending, 1) == 0)
        poke(l);
}

void loop_set_after(struct loop *l, loop_wake_fn fn, void *ctx)
{
    l->after_fn = fn;
    l->after_ctx = ctx;
}

void loop_stop(struct loop *l)
{
    atomic_store(&l->stop, 1);
    poke(l);
}

uint64_t loop_now_ms(const struct loop *l)
{
    return l->now_ms;
}

static void handle_wake(struct loop *l)
{
    uint64_t count;
    /* Drain first, then clear the flag: a loop_wake() after the exchange writes the eventfd
     * again, and one before it is seen by the callback (the exchange synchronises with it). */
    ssize_t n = read(l->wakefd, &count, sizeof count);
    (void)n;
    if (atomic_exchange(&l->wake_pending, 0) != 0 && l->wake_fn != NULL)
        l->wake_fn(l, l->wake_ctx);
}

static void dispatch_io(struct loop *l, const struct epoll_event *ev)
{
    int fd = (int)(uint32_t)ev->data.u64;
    struct loop_fd *e = find_fd(l, fd);
    /* Removed (or removed and re-added) earlier in this iteration: the event is stale. */
    if (e == NULL || e->gen != (uint32_t)(ev->data.u64 >> 32))
        return;
    unsigned events = 0;
    if (ev->events & EPOLLIN)
        events |= LOOP_READ;
    if (ev->events & EPOLLOUT)
        events |= LOOP_WRITE;
    if (ev->events & (EPOLLERR | EPOLLHUP))
        events |= LOOP_ERROR | LOOP_READ; /* a hang-up is read as end of stream */
    /* The interest may have changed since epoll_wait (loop_modify from another callback). */
    events &= e->events | LOOP_ERROR;
    if (events == 0)
        return;
    e->fn(l, fd, events, e->ctx);
}

static int wait_timeout(struct loop *l)
{
    uint64_t when;
    if (atomic_load(&l->stop))
        return 0;
    if (!timer_heap_next(&l->timers, &when))
        return -1;
    if (when <= l->now_ms)
        return 0;
    uint64_t delay = when - l->now_ms;
    return delay > INT_MAX ? INT_MAX : (int)delay;
}

void loop_set_busy_poll(struct loop *l, uint32_t us)
{
    l->spin_ns = (uint64_t)us * 1000u;
    l->gap_ns = 0;
}

void loop_busy_poll_stats(const struct loop *l, uint64_t *spins, uint64_t *hits)
{
    *spins = l->spins;
    *hits = l->spin_hits;
}

/* Folds one wait (end of a busy iteration -> next event) into the average; a long one counts
 * as four budgets at most, so that a burst after an idle spell soon spins again. */
static void note_gap(struct loop *l, uint64_t ns)
{
    if (ns > 4 * l->spin_ns)
        ns = 4 * l->spin_ns;
    l->gap_ns = l->gap_ns - l->gap_ns / 8 + ns / 8;
}

/* Waits for events: after a busy iteration, when the next event has recently come within the
 * budget, by polling (timeout 0) for up to the budget before sleeping in epoll_wait. A sleep
 * and its wake-up cost the worker more than the polling when events come that fast (fan-in
 * QoS 1 waits on each subscriber's PUBACKs: bench/analysis.md); when they come slower, the
 * average rises above the budget and the loop just sleeps. */
static int wait_events(struct loop *l, struct epoll_event *evs, bool busy)
{
    int timeout = wait_timeout(l);
    if (!busy || l->spin_ns == 0 || timeout == 0)
        return epoll_wait(l->epfd, evs, MAX_EVENTS, timeout);
    uint64_t t0 = clock_mono_ns();
    if (l->gap_ns < l->spin_ns) {
        l->spins++;
        for (;;) {
            int n = epoll_wait(l->epfd, evs, MAX_EVENTS, 0);
            uint64_t t = clock_mono_ns();
            if (n != 0) {
                l->spin_hits += n > 0;
                note_gap(l, t - t0);
                return n;
            }
            if (t - t0 >= l->spin_ns)
                break;
        }
    }
    int n = epoll_wait(l->epfd, evs, MAX_EVENTS, timeout);
    if (n > 0)
        note_gap(l, clock_mono_ns() - t0);
    return n;
}

static void run_timers(struct loop *l)
{
    uint64_t limit = timer_heap_seq(&l->timers);
    loop_timer_fn fn;
    void *ctx;
    while (timer_heap_pop_due(&l->timers, l->now_ms, limit, &fn, &ctx))
        fn(l, ctx);
}

int loop_run(struct loop *l)
{
    struct epoll_event evs[MAX_EVENTS];
    l->now_ms = clock_mono_ms();
    bool busy = false;
    for (;;) {
        int n = wait_events(l, evs, busy);
        busy = n > 0;
        if (n < 0) {
            if (errno != EINTR)
                return TERN_ESYS;
            n = 0;
        }
        l->now_ms = clock_mono_ms();
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == WAKE_TAG)
                handle_wake(l);
            else
                dispatch_io(l, &evs[i]);
        }
        run_timers(l);
        if (l->after_fn != NULL)
            l->after_fn(l, l->after_ctx);
        if (atomic_exchange(&l->stop, 0) != 0)
            return 0;
    }
}
