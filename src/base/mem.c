/* Counting allocator with fault injection. Each block carries a 16-byte header holding its size,
 * so live bytes can be reported without malloc_usable_size. The blocks come from libc or from
 * hooks set once at start-up (mem_set_hooks). */
#include "mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define HDR 16

/* Written only by mem_set_hooks, before any allocation (its contract), so plain reads are safe
 * from every thread started afterwards. */
static mem_malloc_fn hook_malloc = malloc;
static mem_realloc_fn hook_realloc = realloc;
static mem_free_fn hook_free = free;

static _Atomic size_t in_use;
static _Atomic size_t peak; /* highest in_use seen */

/* Raises peak to now (rarely more than one relaxed load once the broker has warmed up). */
static void note_peak(size_t now)
{
    size_t p = atomic_load_explicit(&peak, memory_order_relaxed);
    while (now > p && !atomic_compare_exchange_weak_explicit(&peak, &p, now, memory_order_relaxed,
                                                             memory_order_relaxed))
        ;
}
static _Atomic uint64_t alloc_count;
static _Atomic uint64_t fail_at;

static int should_fail(void)
{
    uint64_t n = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;
    uint64_t f = atomic_load_explicit(&fail_at, memory_order_relaxed);
    return f != 0 && n == f;
}

void *mem_alloc(size_t len)
{
    if (should_fail() || len > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p = hook_malloc(len + HDR);
    if (!p)
        return NULL;
    memcpy(p, &len, sizeof len);
    note_peak(atomic_fetch_add_explicit(&in_use, len + HDR, memory_order_relaxed) + len + HDR);
    return p + HDR;
}

void *mem_calloc(size_t n, size_t len)
{
    if (len && n > SIZE_MAX / len)
        return NULL;
    void *p = mem_alloc(n * len);
    if (p)
        memset(p, 0, n * len);
    return p;
}

void *mem_realloc(void *ptr, size_t len)
{
    if (!ptr)
        return mem_alloc(len);
    if (should_fail() || len > SIZE_MAX - HDR)
        return NULL;
    unsigned char *base = (unsigned char *)ptr - HDR;
    size_t old;
    memcpy(&old, base, sizeof old);
    unsigned char *p = hook_realloc(base, len + HDR);
    if (!p)
        return NULL;
    memcpy(p, &len, sizeof len);
    atomic_fetch_sub_explicit(&in_use, old, memory_order_relaxed);
    note_peak(atomic_fetch_add_explicit(&in_use, len, memory_order_relaxed) + len);
    return p + HDR;
}

void mem_free(void *ptr)
{
    if (!ptr)
        return;
    unsigned char *base = (unsigned char *)ptr - HDR;
    size_t len;
    memcpy(&len, base, sizeof len);
    atomic_fetch_sub_explicit(&in_use, len + HDR, memory_order_relaxed);
    hook_free(base);
}

void *mem_dup(const void *src, size_t len)
{
    void *p = mem_alloc(len ? len : 1);
    if (p && len)
        memcpy(p, src, len);
    return p;
}

char *mem_strndup(const char *s, size_t len)
{
    char *p = mem_alloc(len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *mem_strdup(const char *s)
{
    return mem_strndup(s, strlen(s));
}

size_t mem_peak(void)
{
    return atomic_load_explicit(&peak, memory_order_relaxed);
}

size_t mem_in_use(void)
{
    return atomic_load_explicit(&in_use, memory_order_relaxed);
}

void mem_fail_at(uint64_t nth)
{
    atomic_store(&alloc_count, 0);
    atomic_store(&fail_at, nth);
}

uint64_t mem_alloc_count(void)
{
    return atomic_load(&alloc_count);
}

int mem_set_hooks(mem_malloc_fn m, mem_realloc_fn r, mem_free_fn f)
{
    if (!m && !r && !f) {
        m = malloc;
        r = realloc;
        f = free;
    }
    if (!m || !r || !f)
        return TERN_EINVAL;
    hook_malloc = m;
    hook_realloc = r;
    hook_free = f;
    return 0;
}
