/* A growable byte buffer: data[0..len) is filled, data[len..cap) is free. */
#ifndef TERN_BASE_BUF_H
#define TERN_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
void buf_deinit(struct buf *b);
/* Ensure room for extra more bytes. 0 or TERN_ENOMEM. */
TERN_MUST_CHECK int buf_reserve(struct buf *b, size_t extra);
TERN_MUST_CHECK int buf_append(struct buf *b, const void *data, size_t len);
/* Drop the first n bytes, moving the rest to the front. */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);

#endif
