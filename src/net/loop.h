/* The per-thread event loop: fd readiness (level-triggered), one-shot millisecond timers, a
 * coalesced cross-thread wakeup and an end-of-iteration hook. One loop per worker thread; a loop
 * is not thread-safe except loop_wake() and loop_stop(). It knows nothing of sockets' contents,
 * connections or MQTT. */
#ifndef TERN_NET_LOOP_H
#define TERN_NET_LOOP_H

#include <stdint.h>

struct loop;

/* events is a mask of LOOP_READ | LOOP_WRITE | LOOP_ERROR. */
typedef void (*loop_io_fn)(struct loop *l, int fd, unsigned events, void *ctx);
typedef void (*loop_timer_fn)(struct loop *l, void *ctx);
typedef void (*loop_wake_fn)(struct loop *l, void *ctx);

enum { LOOP_READ = 1, LOOP_WRITE = 2, LOOP_ERROR = 4 };

/* A new loop (epoll + eventfd). NULL on failure (out of memory or descriptors). */
struct loop *loop_new(void);
/* Frees the loop and its own descriptors. Registered fds are not closed and pending timers are
 * dropped without running; their ctx are the caller's. Accepts NULL. Not from inside loop_run. */
void loop_free(struct loop *l);

/* Watches fd for `events` (LOOP_READ and/or LOOP_WRITE; 0 = registered but quiet), level-
 * triggered: fn is called every iteration while the condition holds. LOOP_ERROR (error or hang-up)
 * is always reported, and a hang-up also reports LOOP_READ when READ is wanted, so the reader sees
 * the end of stream. Returns 0, TERN_EEXIST if fd is already registered, TERN_EINVAL for fd < 0,
 * TERN_ENOMEM or TERN_ESYS. fn and ctx stay the caller's. */
int loop_add(struct loop *l, int fd, unsigned events, loop_io_fn fn, void *ctx);
/* Changes the interest of a registered fd. Takes effect at once, also for events already
 * collected in the current iteration. Returns 0, TERN_ENOTFOUND or TERN_ESYS. */
int loop_modify(struct loop *l, int fd, unsigned events);
/* Unregisters fd; call it before closing fd. Safe from inside any callback and for any fd,
 * including the one being handled: no callback runs for fd afterwards, even for events already
 * collected in this iteration, so its ctx may be freed at once. Returns 0 or TERN_ENOTFOUND. */
int loop_remove(struct loop *l, int fd);

/* A one-shot timer that runs fn(l, ctx) once, delay_ms after loop_now_ms() (the cached time of
 * the current iteration, so it may run early by at most the time spent in this iteration so far).
 * Timers due at the same time run in the order they were added; a timer added from a timer
 * callback runs in a later iteration at the earliest. Returns an id > 0, or 0 when out of
 * memory. O(log n). */
uint64_t loop_timer_add(struct loop *l, uint64_t delay_ms, loop_timer_fn fn, void *ctx);
/* Cancels a pending timer. id 0, an id that already ran and an id already cancelled are
 * accepted and ignored (ids are not reused for 2^32 timers per slot). O(log n). */
void loop_timer_cancel(struct loop *l, uint64_t id);

/* The callback run (in the loop's thread) after loop_wake(). Set it before loop_run. */
void loop_set_wake(struct loop *l, loop_wake_fn fn, void *ctx);
/* From ANY thread, and async-signal-safe (one atomic exchange and one write(2)): makes the loop
 * call the wake callback once, soon, in its own thread. Wakes are coalesced: many calls before
 * the callback runs give one call. Everything the caller did before loop_wake() is visible to
 * the wake callback. */
void loop_wake(struct loop *l);

/* The callback run once at the end of every iteration, after all I/O and timer callbacks of that
 * iteration (used to flush batched output). NULL fn disables it. */
void loop_set_after(struct loop *l, loop_wake_fn fn, void *ctx);

/* Busy polling: after an iteration that handled events, poll for up to `us` microseconds
 * before sleeping, while the next event has recently come within that time (a moving average
 * of the waits; slower traffic just sleeps). 0 = never (the default). */
void loop_set_busy_poll(struct loop *l, uint32_t us);
/* How many waits polled, and how many of them found events by polling. */
void loop_busy_poll_stats(const struct loop *l, uint64_t *spins, uint64_t *hits);

/* Runs iterations until loop_stop(). Returns 0 after a stop (the stop request is then cleared,
 * so the loop can be run again) or TERN_ESYS if epoll_wait fails. A stop requested before
 * loop_run starts makes it return after one iteration. */
int loop_run(struct loop *l);
/* Asks loop_run to return at the end of the current iteration. From the loop's thread, or from
 * any thread (it also wakes the loop; the wake callback is not called for it). */
void loop_stop(struct loop *l);
/* The cached CLOCK_MONOTONIC time in ms, refreshed when loop_run starts and after each wait. */
uint64_t loop_now_ms(const struct loop *l);

#endif
