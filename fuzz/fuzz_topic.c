/* Fuzz target for UTF-8, topic name and topic filter validation, shared-subscription splitting
 * and topic matching. The input is split at its first 0x00 byte into a filter and a topic (with
 * no 0x00 both are the whole input). Results are compared with small independent reference
 * implementations written from the spec text here; only cases the spec and codec.h decide are
 * compared (see the comments at each check). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz_target.h"
#include "mem.h"

#define MAX_STRING 65535u

static void die(int line, const char *what)
{
    fprintf(stderr, "fuzz_topic.c:%d: invariant broken: %s\n", line, what);
    abort();
}

#define ENSURE(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            die(__LINE__, #cond);                                                                  \
    } while (0)

/* Reads one code point at s[0..len); returns its byte length, 0 when ill-formed (overlong,
 * surrogate, above U+10FFFF, truncated, bad continuation). */
static size_t ref_utf8_char(const uint8_t *s, size_t len, uint32_t *cp)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint8_t c = s[0];
    size_t n;
    uint32_t v;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[k] & 0x3F);
    }
    if (v < min[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

/* Well-formed UTF-8 with no U+0000 [MQTT-1.5.4-1], [MQTT-1.5.4-2]. *discouraged is set when it
 * holds control characters or non-characters, which senders SHOULD NOT use and a receiver may
 * refuse (MQTT 5.0 1.5.4), so their verdict is left to the codec. */
static bool ref_utf8(struct tern_bytes s, bool *discouraged)
{
    *discouraged = false;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t n = ref_utf8_char(s.ptr + i, s.len - i, &cp);

        if (n == 0 || cp == 0)
            return false;
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0xFDD0 && cp <= 0xFDEF) ||
            (cp & 0xFFFE) == 0xFFFE)
            *discouraged = true;
        i += n;
    }
    return true;
}

static bool has_wildcard(struct tern_bytes s)
{
    return memchr(s.ptr, '+', s.len) != NULL || memchr(s.ptr, '#', s.len) != NULL;
}

static size_t level_end(struct tern_bytes s, size_t from)
{
    const uint8_t *slash = memchr(s.ptr + from, '/', s.len - from);
    return slash ? (size_t)(slash - s.ptr) : s.len;
}

/* A non-shared filter: non-empty, UTF-8, '+' and '#' only as whole levels, '#' only as the last
 * level [MQTT-4.7.1-1], [MQTT-4.7.1-2]. */
static bool ref_plain_filter(struct tern_bytes f)
{
    if (f.len == 0 || !codec_utf8_valid(f.ptr, f.len))
        return false;
    for (size_t start = 0; start <= f.len;) {
        size_t end = level_end(f, start);
        struct tern_bytes level = bytes_of(f.ptr + start, end - start);

        if (has_wildcard(level) && level.len != 1)
            return false;
        if (level.len == 1 && level.ptr[0] == '#' && end != f.len)
            return false;
        start = end + 1;
    }
    return true;
}

/* Level-by-level match of a valid topic name against a valid non-shared filter. */
static bool ref_match(struct tern_bytes f, struct tern_bytes t)
{
    size_t fi = 0;
    size_t ti = 0;

    /* [MQTT-4.7.2-1] */
    if (t.len > 0 && t.ptr[0] == '$' && (f.ptr[0] == '+' || f.ptr[0] == '#'))
        return false;
    for (;;) {
        size_t fe = level_end(f, fi);
        size_t te = level_end(t, ti);
        struct tern_bytes fl = bytes_of(f.ptr + fi, fe - fi);

        if (bytes_eq_str(fl, "#"))
            return true;
        if (!bytes_eq_str(fl, "+") && !bytes_eq(fl, bytes_of(t.ptr + ti, te - ti)))
            return false;
        if (te == t.len)
            /* The topic ended: only a trailing "/#" still matches (its parent level). */
            return fe == f.len || (fe + 2 == f.len && f.ptr[fe + 1] == '#');
        if (fe == f.len)
            return false;
        fi = fe + 1;
        ti = te + 1;
    }
}

static void check_utf8(struct tern_bytes s)
{
    bool discouraged;
    bool ref = ref_utf8(s, &discouraged);
    bool got = codec_utf8_valid(s.ptr, s.len);

    ENSURE(!got || ref);
    ENSURE(!ref || discouraged || got);
}

static void check_name(struct tern_bytes t)
{
    bool expect = t.len > 0 && t.len <= MAX_STRING && codec_utf8_valid(t.ptr, t.len) &&
                  !has_wildcard(t); /* [MQTT-4.7.3-1], [MQTT-3.3.2-2] */

    ENSURE(codec_topic_name_valid(t) == expect);
}

/* Checks filter validation and shared splitting; returns true when f is a valid non-shared
 * filter (so matching may be compared). */
static bool check_filter(struct tern_bytes f)
{
    struct tern_bytes group = {0};
    struct tern_bytes rest = {0};
    bool valid = codec_topic_filter_valid(f);
    bool split = codec_topic_shared_split(f, &group, &rest);

    ENSURE(!valid || (f.len > 0 && codec_utf8_valid(f.ptr, f.len)));
    if (!bytes_has_prefix(f, "$share/")) {
        ENSURE(!split);
        ENSURE(f.len > MAX_STRING || valid == ref_plain_filter(f));
        return valid;
    }
    size_t slash = level_end(f, 7);
    if (slash == f.len) {
        /* "$share/x": there is no group/filter division to report. */
        ENSURE(!split);
        return false;
    }
    ENSURE(split);
    ENSURE(group.ptr == f.ptr + 7 && group.len == slash - 7);
    ENSURE(rest.ptr == f.ptr + slash + 1 && rest.len == f.len - slash - 1);
    /* [MQTT-4.8.2-1] non-empty group, [MQTT-4.8.2-2] no wildcards in it. Nested "$share/" in
     * the rest is left to the codec. */
    if (!bytes_has_prefix(rest, "$share/") && f.len <= MAX_STRING) {
        bool expect = group.len > 0 && !has_wildcard(group) && ref_plain_filter(rest) &&
                      codec_utf8_valid(f.ptr, f.len);
        ENSURE(valid == expect);
    }
    return false;
}

static void check_match(struct tern_bytes f, struct tern_bytes t, bool plain_filter)
{
    bool got = codec_topic_matches(f, t);

    if (!codec_topic_name_valid(t))
        return;
    if (plain_filter)
        ENSURE(got == ref_match(f, t));
    /* A topic name without wildcards is a filter that matches itself. */
    if (!bytes_has_prefix(t, "$share/")) {
        ENSURE(codec_topic_filter_valid(t));
        ENSURE(codec_topic_matches(t, t));
    }
    /* "#" matches every topic not starting with '$'; "+" every single-level one [MQTT-4.7.2-1]. */
    bool dollar = t.ptr[0] == '$';
    bool single = memchr(t.ptr, '/', t.len) == NULL;
    ENSURE(codec_topic_matches(bytes_str("#"), t) == !dollar);
    ENSURE(codec_topic_matches(bytes_str("+"), t) == (!dollar && single));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t flen = nul ? (size_t)(nul - data) : size;
    size_t toff = nul ? flen + 1 : 0;
    /* Separate exactly-sized copies so an over-read of either is caught. */
    uint8_t *fbuf = mem_dup(data, flen);
    uint8_t *tbuf = mem_dup(data + toff, size - toff);

    if (!fbuf || !tbuf)
        die(__LINE__, "out of memory");
    struct tern_bytes f = bytes_of(fbuf, flen);
    struct tern_bytes t = bytes_of(tbuf, size - toff);

    check_utf8(bytes_of(data, size));
    check_utf8(f);
    check_utf8(t);
    check_name(t);
    check_name(f);
    bool plain = check_filter(f);
    check_filter(t);
    check_match(f, t, plain);
    mem_free(tbuf);
    mem_free(fbuf);
    return 0;
}
