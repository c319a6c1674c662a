/* Guard-page placement for parser tests (the picohttpparser technique): an input is copied so
 * that its last byte is the last byte before a PROT_NONE page, so any read past the end of the
 * input crashes at once instead of silently reading stale memory. Linux/POSIX mmap only.
 * Reads before the start of the input are not caught. Aborts on mmap failure: it is test code. */
#ifndef TERN_TESTS_GUARD_H
#define TERN_TESTS_GUARD_H

#include <stddef.h>
#include <stdint.h>

struct guard {
    uint8_t *map;   /* start of the mapping */
    size_t map_len; /* data pages + the guard page */
    size_t cap;     /* usable bytes before the guard page (whole pages) */
};

/* Maps at least `cap` readable/writable bytes followed by one PROT_NONE page. */
void guard_init(struct guard *g, size_t cap);
/* Unmaps. Safe on a zeroed or already deinitialised guard. */
void guard_deinit(struct guard *g);
/* Copies data[0..len) to end exactly at the guard page and returns the copy's first byte (for
 * len 0, the first byte of the guard page itself). Grows the mapping when len > cap, which
 * invalidates earlier placements. The copy stays valid until the next guard_place/deinit. */
const uint8_t *guard_place(struct guard *g, const void *data, size_t len);

#endif
