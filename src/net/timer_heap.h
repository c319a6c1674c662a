/* The loop's timers: a binary min-heap ordered by (deadline, insertion order) over a slab of
 * timer slots, so add, cancel and pop are O(log n) and ids can be checked for staleness without
 * a hash table. Internal to src/net (the loop embeds one); no clock and no threads here. */
#ifndef TERN_NET_TIMER_HEAP_H
#define TERN_NET_TIMER_HEAP_H

#include <stdint.h>

#include "loop.h"

struct timer_slot;

/* Embedded by the owner; all fields are private to timer_heap.c. */
struct timer_heap {
    struct timer_slot *slots; /* slab; a slot is either in the heap or on the free list */
    uint32_t *heap;           /* slot indices, heap-ordered; same capacity as slots */
    uint32_t nslots;          /* slots ever used (the slab's high-water mark) */
    uint32_t cap;             /* capacity of slots and heap */
    uint32_t len;             /* timers pending */
    uint32_t free_head;       /* first free slot index, or UINT32_MAX */
    uint64_t next_seq;        /* insertion counter: ties on the deadline run in this order */
};

void timer_heap_init(struct timer_heap *h);
/* Frees the heap's memory; pending timers are dropped without running. */
void timer_heap_deinit(struct timer_heap *h);
/* Adds a timer due at `when` (ms). Returns its id (> 0), or 0 when out of memory. */
uint64_t timer_heap_add(struct timer_heap *h, uint64_t when, loop_timer_fn fn, void *ctx);
/* Removes a pending timer; a stale, unknown or 0 id is ignored. */
void timer_heap_cancel(struct timer_heap *h, uint64_t id);
/* The insertion counter: pass it as seq_limit to timer_heap_pop_due so timers added while the
 * due ones run wait for the next round. */
uint64_t timer_heap_seq(const struct timer_heap *h);
/* Pops the earliest timer if it is due (when <= now) and was added before seq_limit; then stores
 * its fn and ctx and returns 1 (its id is stale from now on). Returns 0 otherwise. */
int timer_heap_pop_due(struct timer_heap *h, uint64_t now, uint64_t seq_limit, loop_timer_fn *fn,
                       void **ctx);
/* Stores the earliest deadline and returns 1, or returns 0 when no timer is pending. */
int timer_heap_next(const struct timer_heap *h, uint64_t *when);
/* Timers pending. */
uint32_t timer_heap_len(const struct timer_heap *h);

#endif
