/* The scratch file behind fuzz_file_write (a memfd, created once per process and truncated for
 * each input) and the text helpers of fuzz_file.h. It has no knowledge of any file format. */
#define _GNU_SOURCE
#include "fuzz_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem.h"

static int scratch_fd = -1;
static char scratch_path[64];

const char *fuzz_file_write(const uint8_t *data, size_t size)
{
    if (scratch_fd < 0) {
        scratch_fd = memfd_create("tern-fuzz", MFD_CLOEXEC);
        if (scratch_fd < 0)
            abort();
        snprintf(scratch_path, sizeof scratch_path, "/proc/self/fd/%d", scratch_fd);
    }
    if (ftruncate(scratch_fd, 0) != 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t n = pwrite(scratch_fd, data + off, size - off, (off_t)off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    return scratch_path;
}

size_t fuzz_file_tagged_lines(const char *text, const char *prefix, char **out, size_t max)
{
    size_t count = 0;
    size_t plen = strlen(prefix);
    const char *line = text;
    while (*line != '\0' && count < max) {
        size_t len = strcspn(line, "\r\n");
        if (len >= plen && memcmp(line, prefix, plen) == 0) {
            out[count] = mem_strndup(line + plen, len - plen);
            if (out[count] == NULL)
                abort();
            count++;
        }
        line += len;
        line += strspn(line, "\r\n");
    }
    return count;
}

char *fuzz_file_text(const uint8_t *data, size_t size)
{
    char *text = mem_alloc(size + 1);
    if (text == NULL)
        abort();
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

uint64_t fuzz_file_hash(const uint8_t *data, size_t size)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < size; i++) {
        h ^= data[i];
        h *= 1099511628211ull;
    }
    return h;
}
