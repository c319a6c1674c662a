/* Byte slices: a pointer and a length into memory someone else owns. */
#ifndef TERN_BASE_BYTES_H
#define TERN_BASE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tern_bytes {
    const uint8_t *ptr;
    size_t len;
};

static inline struct tern_bytes bytes_of(const void *ptr, size_t len)
{
    struct tern_bytes b = {(const uint8_t *)ptr, len};
    return b;
}

/* A slice of a NUL-terminated string (without the NUL). */
static inline struct tern_bytes bytes_str(const char *s)
{
    return bytes_of(s, s ? strlen(s) : 0);
}

static inline bool bytes_eq(struct tern_bytes a, struct tern_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool bytes_eq_str(struct tern_bytes a, const char *s)
{
    return bytes_eq(a, bytes_str(s));
}

static inline bool bytes_has_prefix(struct tern_bytes a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && memcmp(a.ptr, prefix, n) == 0;
}

#endif
