/* libtern's memory: every block libtern allocates itself comes from malloc/realloc/free, or from
 * the functions given to tern_allocator_set. OpenSSL, libargon2 and the C library (getaddrinfo)
 * keep their own allocators. */
#ifndef TERN_PUBLIC_ALLOC_H
#define TERN_PUBLIC_ALLOC_H

#include <stddef.h>

typedef void *(*tern_malloc_fn)(size_t len);
typedef void *(*tern_realloc_fn)(void *ptr, size_t len); /* ptr is never NULL */
typedef void (*tern_free_fn)(void *ptr);                 /* ptr is never NULL */

/* Makes libtern allocate through malloc_fn/realloc_fn/free_fn (all three given), or through the
 * C library again (all three NULL). Process-wide, and not thread-safe: call it once, before any
 * other libtern call, while no other thread uses libtern; blocks are never moved between
 * allocators, so changing it after libtern has allocated anything frees blocks with the wrong
 * function. The hooks may be called from any thread that uses a libtern client and must be
 * thread-safe if clients are used from several threads. A hook returning NULL is an ordinary
 * out-of-memory failure (TERN_ERROR_NOMEM). 0, or TERN_ERROR_INVAL when only some are NULL
 * (nothing changes then). */
int tern_allocator_set(tern_malloc_fn malloc_fn, tern_realloc_fn realloc_fn, tern_free_fn free_fn);

#endif
