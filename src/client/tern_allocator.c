/* The public allocator hook of libtern: a thin wrapper over the base allocator's hooks
 * (mem_set_hooks), which also serve the codec and buffers libtern links. Counting and fault
 * injection stay in src/base/mem.c. */
#include "alloc.h"
#include "mem.h"

int tern_allocator_set(tern_malloc_fn malloc_fn, tern_realloc_fn realloc_fn, tern_free_fn free_fn)
{
    return mem_set_hooks(malloc_fn, realloc_fn, free_fn);
}
