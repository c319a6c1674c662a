/* Shared helpers for the fuzz targets whose parser reads a file by path: the input is written to
 * one memfd per process (reached as /proc/self/fd/N), so no directory is touched; plus small
 * text helpers the targets use to pull extra queries out of comment lines. No parsing of its
 * own beyond that. */
#ifndef TERN_FUZZ_FUZZ_FILE_H
#define TERN_FUZZ_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Replaces the content of this process's scratch file with data[0..size) and returns its path
 * (static storage, the same every call). Aborts when the file cannot be made or written: a
 * harness failure, not a finding. */
const char *fuzz_file_write(const uint8_t *data, size_t size);

/* Collects up to max lines of text (NUL-terminated copy of the input) that start with prefix,
 * e.g. "#?", into out as heap copies (mem_strdup) of the rest of the line without CR/LF.
 * Returns the count; free each with mem_free. */
size_t fuzz_file_tagged_lines(const char *text, const char *prefix, char **out, size_t max);

/* A NUL-terminated heap copy (mem_alloc) of data[0..size); aborts when out of memory. */
char *fuzz_file_text(const uint8_t *data, size_t size);

/* FNV-1a of the input, to pick fault-injection points deterministically. */
uint64_t fuzz_file_hash(const uint8_t *data, size_t size);

#endif
