/* Fuzz target for the WebSocket transport (transport_ws over an in-memory inner transport): the
 * input after 3 selector bytes is what the client sends after the upgrade. Byte 0: bits 0-2 the
 * reader's buffer size, bits 3-4 the message size cap, bit 5 small wire chunks, bit 6 wire reads
 * alternate with TERN_EAGAIN, bit 7 slow wire writes. Byte 1: how many input bytes are handed
 * over as already read (in_prefix). Byte 2: allocation to fail (0 = none).
 * A small reference frame parser (RFC 6455 5.2, server side) computes the binary payload
 * stream. Invariants: read() never returns more than asked; what it delivers is always a prefix
 * of the reference stream up to the first frame a server must refuse, and all of it when no
 * frame is refused and the stream ends (or closes) normally; written bytes start with the
 * pending 101 tail; a binary frame written carries our bytes; close releases everything. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz_target.h"
#include "fuzz_wire.h"
#include "mem.h"
#include "transport.h"
#include "transport_ws.h"

static const size_t read_sizes[] = {1, 2, 3, 16, 125, 126, 512, 4096};
static const size_t msg_caps[] = {16, 125, 1024, (size_t)1 << 20};
static const char out_prefix[] = "\r\n"; /* the tail of a 101 response */

struct ref {
    uint8_t *data; /* unmasked binary payload, in order (malloc) */
    size_t len;
    bool refused; /* a frame the server must refuse was reached */
};

static void ref_append(struct ref *r, const uint8_t *p, size_t n, const uint8_t mask[4],
                       uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        r->data[r->len++] = p[i] ^ mask[(off + i) % 4];
}

/* Reads the frame header at p[0..n): sets *hl (header length with mask key) and *len; returns
 * 0, 1 when truncated, -1 when a server must refuse it. */
static int ref_header(const uint8_t *p, size_t n, size_t *hl, uint64_t *len)
{
    unsigned op = p[0] & 0x0fu, fin = p[0] >> 7, len7 = p[1] & 0x7fu;
    if (op >= 8 && (!fin || len7 > 125))
        return -1;
    *hl = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
    if (n < *hl)
        return 1;
    *len = len7;
    if (len7 >= 126) {
        *len = 0;
        for (size_t i = 2; i < *hl; i++)
            *len = *len << 8 | p[i];
        /* The shortest length form only, and a 63-bit length (RFC 6455 5.2). */
        if ((len7 == 126 && *len < 126) || (len7 == 127 && (*len < 65536 || (*len >> 63) != 0)))
            return -1;
    }
    if ((p[0] & 0x70u) != 0 || !(p[1] & 0x80u))
        return -1; /* reserved bits, or an unmasked client frame (RFC 6455 5.1) */
    *hl += 4;
    return n < *hl ? 1 : 0;
}

/* The payload stream a correct server delivers for p[0..n). */
static void ref_parse(const uint8_t *p, size_t n, uint64_t max_msg, struct ref *r)
{
    size_t off = 0;
    bool in_msg = false;
    uint64_t msg_len = 0;
    while (n - off >= 2) {
        size_t hl = 0;
        uint64_t len = 0;
        unsigned op = p[off] & 0x0fu, fin = p[off] >> 7;
        int h = ref_header(p + off, n - off, &hl, &len);
        if (h != 0) {
            r->refused = h < 0;
            return;
        }
        bool data = op == 0 || op == 2;
        if ((op > 2 && op < 8) || op > 10 || op == 1 || (op == 0 && !in_msg) ||
            (op == 2 && in_msg)) {
            r->refused = true; /* reserved, text [MQTT-6.0.0-1], or bad fragmentation */
            return;
        }
        if (data) {
            msg_len = (op == 2 ? 0 : msg_len) + len;
            if (msg_len > max_msg) {
                r->refused = true;
                return;
            }
            in_msg = !fin;
        }
        const uint8_t *mask = p + off + hl - 4;
        size_t avail = n - off - hl < len ? n - off - hl : (size_t)len;
        if (data)
            ref_append(r, p + off + hl, avail, mask, 0);
        if (op == 8 || avail < len)
            return; /* close: nothing after it counts; or the input ends inside the frame */
        off += hl + (size_t)len;
    }
}

/* Reads everything through t; returns the last result (0 or an error). */
static long read_all(struct transport *t, size_t bufsize, uint8_t *got, size_t *got_len,
                     size_t input_len)
{
    uint8_t buf[4096];
    for (size_t rounds = 0;; rounds++) {
        if (rounds > 2 * input_len + 1000)
            abort(); /* every read consumes input unless the wire said TERN_EAGAIN */
        long n = t->ops->read(t, buf, bufsize);
        if (n > (long)bufsize)
            abort();
        if (n > 0) {
            if (*got_len + (size_t)n > input_len)
                abort(); /* payload cannot outgrow the frames */
            memcpy(got + *got_len, buf, (size_t)n);
            *got_len += (size_t)n;
        } else if (n != TERN_EAGAIN) {
            return n;
        }
    }
}

static void check_written(const struct fuzz_wire *w, size_t before)
{
    /* Our 4-byte write, framed unmasked as one binary frame [MQTT-6.0.0-1]. */
    static const uint8_t frame[] = {0x82, 0x04, 0x20, 0x02, 0x00, 0x00};
    if (w->out_len < before + sizeof frame || memcmp(w->out + before, frame, sizeof frame) != 0)
        abort();
}

static void run(const uint8_t *sel, const uint8_t *in, size_t len)
{
    size_t prefix = sel[1] < len ? sel[1] : len;
    struct fuzz_wire w;
    unsigned flags =
        ((sel[0] & 0x40) ? FUZZ_WIRE_READ_AGAIN : 0) | ((sel[0] & 0x80) ? FUZZ_WIRE_SLOW_WRITE : 0);
    fuzz_wire_init(&w, in + prefix, len - prefix, (sel[0] & 0x20) ? 7 : 65536, flags);
    size_t max_msg = msg_caps[(sel[0] >> 3) & 3];
    mem_fail_at(sel[2]);
    struct transport *t = transport_ws_new(fuzz_wire_transport(&w), in, prefix, out_prefix,
                                           strlen(out_prefix), max_msg);
    uint8_t *got = malloc(len + 1);
    struct ref r = {malloc(len + 1), 0, false};
    size_t got_len = 0;
    if (got == NULL || r.data == NULL)
        abort();
    if (t != NULL) {
        long end = read_all(t, read_sizes[sel[0] & 7], got, &got_len, len);
        size_t before = w.out_len;
        struct iovec iov = {(void *)"\x20\x02\x00\x00", 4};
        long wr = t->ops->writev(t, &iov, 1);
        while (wr == TERN_EAGAIN)
            wr = t->ops->writev(t, &iov, 1);
        ref_parse(in, len, max_msg, &r);
        if (sel[2] == 0) {
            if (got_len > r.len || memcmp(got, r.data, got_len) != 0)
                abort();
            if (!r.refused && end == 0 && got_len != r.len)
                abort();
            if (wr == 4 && !(w.flags & FUZZ_WIRE_SLOW_WRITE))
                check_written(&w, before);
        }
        t->ops->close(t);
    }
    mem_fail_at(0);
    if (sel[2] == 0 && t == NULL)
        abort();
    if (w.has_transport)
        abort();
    if (sel[2] == 0 && !(w.flags & FUZZ_WIRE_SLOW_WRITE) &&
        (w.out_len < 2 || memcmp(w.out, out_prefix, 2) != 0))
        abort();
    free(got);
    free(r.data);
    fuzz_wire_deinit(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    run(data, data + 3, size - 3);
    return 0;
}
