/* Store ops: one allocation per op, blobs copied right after the struct. */
#include "store_op.h"

#include <string.h>

#include "mem.h"

struct store_op *store_op_new(uint8_t kind, const struct tern_bytes *blobs, unsigned n)
{
    size_t total = sizeof(struct store_op);
    for (unsigned i = 0; i < n; i++)
        total += blobs[i].len + 1;
    struct store_op *op = mem_calloc(1, total);
    if (!op)
        return NULL;
    op->kind = kind;
    uint8_t *p = (uint8_t *)(op + 1);
    for (unsigned i = 0; i < n; i++) {
        /* A NULL ptr reserves len zeroed bytes for the caller to fill. */
        if (blobs[i].len && blobs[i].ptr)
            memcpy(p, blobs[i].ptr, blobs[i].len);
        p[blobs[i].len] = '\0';
        op->b[i] = bytes_of(p, blobs[i].len);
        p += blobs[i].len + 1;
    }
    return op;
}

void store_op_free(struct store_op *op)
{
    mem_free(op);
}
