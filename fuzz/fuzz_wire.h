/* An in-memory struct transport for the HTTP and WebSocket fuzz targets: reads hand out a fixed
 * input in chunks of a chosen size and then report end of stream; writes are captured (all at
 * once, or a few bytes at a time with TERN_EAGAIN in between). The harness owns the wire; the
 * transport only points to it. No sockets and no real fd. */
#ifndef TERN_FUZZ_FUZZ_WIRE_H
#define TERN_FUZZ_FUZZ_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct transport;

enum fuzz_wire_flags {
    FUZZ_WIRE_SLOW_WRITE = 1, /* writes take at most 3 bytes, every other one TERN_EAGAIN */
    FUZZ_WIRE_READ_AGAIN = 2, /* every other read is TERN_EAGAIN */
};

struct fuzz_wire {
    const uint8_t *in; /* not owned */
    size_t in_len, in_off, chunk;
    unsigned flags;
    unsigned calls;
    uint8_t *out; /* everything written (malloc: outside mem.h fault injection) */
    size_t out_len, out_cap;
    bool has_transport; /* a transport over this wire is open */
};

/* Sets up w over in[0..len) (kept by the caller) handing out at most chunk (> 0) bytes a read. */
void fuzz_wire_init(struct fuzz_wire *w, const uint8_t *in, size_t len, size_t chunk,
                    unsigned flags);
/* Frees the captured output. */
void fuzz_wire_deinit(struct fuzz_wire *w);
/* A transport (fd -1) over w; its close frees it and clears w->has_transport. Aborts when out
 * of memory (harness failure). */
struct transport *fuzz_wire_transport(struct fuzz_wire *w);

#endif
