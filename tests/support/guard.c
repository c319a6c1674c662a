/* Guard-page placement: mmap data pages plus one PROT_NONE page and copy inputs flush against
 * it. Does not track allocations or catch under-reads; see guard.h. */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096;
}

void guard_init(struct guard *g, size_t cap)
{
    size_t ps = page_size();
    size_t data = (cap + ps - 1) / ps * ps;
    if (data == 0)
        data = ps;
    g->map_len = data + ps;
    void *m = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("guard: mmap");
        abort();
    }
    g->map = m;
    g->cap = data;
    if (mprotect(g->map + data, ps, PROT_NONE) != 0) {
        perror("guard: mprotect");
        abort();
    }
}

void guard_deinit(struct guard *g)
{
    if (g->map)
        munmap(g->map, g->map_len);
    memset(g, 0, sizeof *g);
}

const uint8_t *guard_place(struct guard *g, const void *data, size_t len)
{
    if (!g->map || len > g->cap) {
        guard_deinit(g);
        guard_init(g, len);
    }
    uint8_t *at = g->map + g->cap - len;
    if (len)
        memcpy(at, data, len);
    return at;
}
