/* Timer min-heap over a slab of slots. A timer id is (generation << 32) | (slot + 1): the
 * generation is bumped whenever a slot is freed, so a stale id never cancels a newer timer.
 * Does not read any clock: the caller passes deadlines and "now". */
#include "timer_heap.h"

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mem.h"

#define SLOT_FREE UINT32_MAX
#define NO_SLOT   UINT32_MAX

struct timer_slot {
    uint64_t when;
    uint64_t seq;
    loop_timer_fn fn;
    void *ctx;
    uint32_t gen;
    uint32_t pos;       /* index in heap, or SLOT_FREE */
    uint32_t next_free; /* free-list link while free */
};

void timer_heap_init(struct timer_heap *h)
{
    h->slots = NULL;
    h->heap = NULL;
    h->nslots = 0;
    h->cap = 0;
    h->len = 0;
    h->free_head = NO_SLOT;
    h->next_seq = 0;
}

void timer_heap_deinit(struct timer_heap *h)
{
    mem_free(h->slots);
    mem_free(h->heap);
    timer_heap_init(h);
}

static int earlier(const struct timer_heap *h, uint32_t a, uint32_t b)
{
    const struct timer_slot *sa = &h->slots[a];
    const struct timer_slot *sb = &h->slots[b];
    if (sa->when != sb->when)
        return sa->when < sb->when;
    return sa->seq < sb->seq;
}

static void place(struct timer_heap *h, uint32_t pos, uint32_t slot)
{
    h->heap[pos] = slot;
    h->slots[slot].pos = pos;
}

static void sift_up(struct timer_heap *h, uint32_t pos)
{
    uint32_t slot = h->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!earlier(h, slot, h->heap[parent]))
            break;
        place(h, pos, h->heap[parent]);
        pos = parent;
    }
    place(h, pos, slot);
}

static void sift_down(struct timer_heap *h, uint32_t pos)
{
    uint32_t slot = h->heap[pos];
    for (;;) {
        uint32_t child = 2 * pos + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && earlier(h, h->heap[child + 1], h->heap[child]))
            child++;
        if (!earlier(h, h->heap[child], slot))
            break;
        place(h, pos, h->heap[child]);
        pos = child;
    }
    place(h, pos, slot);
}

static int grow(struct timer_heap *h)
{
    if (h->cap >= UINT32_MAX / 4)
        return TERN_ENOMEM;
    uint32_t cap = h->cap ? h->cap * 2 : 64;
    struct timer_slot *slots = mem_realloc(h->slots, (size_t)cap * sizeof *slots);
    if (slots == NULL)
        return TERN_ENOMEM;
    h->slots = slots;
    uint32_t *heap = mem_realloc(h->heap, (size_t)cap * sizeof *heap);
    if (heap == NULL)
        return TERN_ENOMEM; /* slots stays valid (just larger); cap is unchanged */
    h->heap = heap;
    h->cap = cap;
    return 0;
}

static uint32_t take_slot(struct timer_heap *h)
{
    if (h->free_head != NO_SLOT) {
        uint32_t idx = h->free_head;
        h->free_head = h->slots[idx].next_free;
        return idx;
    }
    if (h->nslots == h->cap && grow(h) != 0)
        return NO_SLOT;
    uint32_t idx = h->nslots++;
    h->slots[idx].gen = 1;
    return idx;
}

static void release_slot(struct timer_heap *h, uint32_t idx)
{
    struct timer_slot *s = &h->slots[idx];
    s->gen++;
    s->pos = SLOT_FREE;
    s->fn = NULL;
    s->ctx = NULL;
    s->next_free = h->free_head;
    h->free_head = idx;
}

uint64_t timer_heap_add(struct timer_heap *h, uint64_t when, loop_timer_fn fn, void *ctx)
{
    uint32_t idx = take_slot(h);
    if (idx == NO_SLOT)
        return 0;
    struct timer_slot *s = &h->slots[idx];
    s->when = when;
    s->seq = h->next_seq++;
    s->fn = fn;
    s->ctx = ctx;
    h->heap[h->len] = idx;
    s->pos = h->len++;
    sift_up(h, s->pos);
    return ((uint64_t)s->gen << 32) | ((uint64_t)idx + 1);
}

/* Takes the timer at heap position pos out of the heap (its slot stays allocated). */
static void heap_remove_at(struct timer_heap *h, uint32_t pos)
{
    uint32_t last = h->heap[--h->len];
    if (pos == h->len)
        return;
    place(h, pos, last);
    if (pos > 0 && earlier(h, last, h->heap[(pos - 1) / 2]))
        sift_up(h, pos);
    else
        sift_down(h, pos);
}

void timer_heap_cancel(struct timer_heap *h, uint64_t id)
{
    uint32_t low = (uint32_t)id;
    if (low == 0 || low > h->nslots)
        return;
    uint32_t idx = low - 1;
    struct timer_slot *s = &h->slots[idx];
    if (s->pos == SLOT_FREE || s->gen != (uint32_t)(id >> 32))
        return;
    heap_remove_at(h, s->pos);
    release_slot(h, idx);
}

uint64_t timer_heap_seq(const struct timer_heap *h)
{
    return h->next_seq;
}

int timer_heap_pop_due(struct timer_heap *h, uint64_t now, uint64_t seq_limit, loop_timer_fn *fn,
                       void **ctx)
{
    if (h->len == 0)
        return 0;
    uint32_t idx = h->heap[0];
    struct timer_slot *s = &h->slots[idx];
    /* The top is the minimum by (when, seq): a due timer added before seq_limit would sort
     * before any later-added one with the same or a later deadline, so stopping here is exact. */
    if (s->when > now || s->seq >= seq_limit)
        return 0;
    *fn = s->fn;
    *ctx = s->ctx;
    heap_remove_at(h, 0);
    release_slot(h, idx);
    return 1;
}

int timer_heap_next(const struct timer_heap *h, uint64_t *when)
{
    if (h->len == 0)
        return 0;
    *when = h->slots[h->heap[0]].when;
    return 1;
}

uint32_t timer_heap_len(const struct timer_heap *h)
{
    return h->len;
}
