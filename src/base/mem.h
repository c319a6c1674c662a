/* Every allocation in Tern goes through here: it counts live bytes and, in tests, can be told to
 * fail the Nth allocation so error paths are exercised (fault injection). Thread-safe. */
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
/* Make the nth allocation from now fail (1 = the next one); 0 disables injection. */
void mem_fail_at(uint64_t nth);
/* Number of allocations since the last mem_fail_at() call. */
uint64_t mem_alloc_count(void);

#endif
