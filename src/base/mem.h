/* Every allocation in Tern goes through here: it counts live bytes and, in tests, can be told to
 * fail the Nth allocation so error paths are exercised (fault injection). The blocks themselves
 * come from malloc/realloc/free, or from user hooks (libtern's tern_allocator_set). Thread-safe,
 * except mem_set_hooks. */
#ifndef TERN_BASE_MEM_H
#define TERN_BASE_MEM_H

#include <stddef.h>
#include <stdint.h>

/* malloc/calloc/realloc/strdup that return NULL on failure (injected or real). */
void *mem_alloc(size_t len);
void *mem_calloc(size_t n, size_t len);
void *mem_realloc(void *ptr, size_t len);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t len);
void *mem_dup(const void *src, size_t len);
/* Accepts NULL. */
void mem_free(void *ptr);

/* Bytes currently allocated through mem_* (includes the size header). */
size_t mem_in_use(void);
/* The highest mem_in_use() has been since the process started. */
size_t mem_peak(void);
/* Make the nth allocation from now fail (1 = the next one); 0 disables injection. */
void mem_fail_at(uint64_t nth);
/* Number of allocations since the last mem_fail_at() call. */
uint64_t mem_alloc_count(void);

/* The underlying allocator: the only typedefs are these function pointer types. */
typedef void *(*mem_malloc_fn)(size_t len);
typedef void *(*mem_realloc_fn)(void *ptr, size_t len);
typedef void (*mem_free_fn)(void *ptr);

/* Makes mem_* take their blocks from m/r/f instead of malloc/realloc/free; counting and fault
 * injection keep working on top (an injected failure calls no hook). All three must be given,
 * or all three NULL to go back to libc. Process-wide and not synchronised: call it before any
 * other mem_* call (a block must be freed by the allocator that made it), never concurrently
 * with them. 0, or TERN_EINVAL when only some are NULL (nothing changes then). */
int mem_set_hooks(mem_malloc_fn m, mem_realloc_fn r, mem_free_fn f);

#endif
