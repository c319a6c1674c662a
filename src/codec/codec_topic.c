/* Topic names and filters: validation of names (PUBLISH) and filters (SUBSCRIBE, with the
 * "$share/{group}/{filter}" form), splitting shared filters, and matching a name against a
 * filter. Knows nothing of subscriptions or sessions (that is core/topic_tree). */
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SHARE_PREFIX     "$share/"
#define SHARE_PREFIX_LEN 7

static bool has_byte(struct tern_bytes b, uint8_t c)
{
    return b.len > 0 && memchr(b.ptr, c, b.len) != NULL;
}

/* Length of the level starting at b.ptr[from]: up to the next '/' or the end. */
static size_t level_len(struct tern_bytes b, size_t from)
{
    size_t i = from;
    while (i < b.len && b.ptr[i] != '/')
        i++;
    return i - from;
}

bool codec_topic_name_valid(struct tern_bytes topic)
{
    /* Names are at least one character long [MQTT-4.7.3-1] and carry no wildcards
     * [MQTT-3.3.2-2]; a UTF-8 string has at most 65535 bytes. */
    if (topic.len == 0 || topic.len > 0xFFFF)
        return false;
    if (has_byte(topic, '+') || has_byte(topic, '#'))
        return false;
    return codec_utf8_valid(topic.ptr, topic.len);
}

/* A non-shared filter: '+' fills a whole level, '#' fills the last whole level
 * [MQTT-4.7.1-1], [MQTT-4.7.1-2]. */
static bool plain_filter_valid(struct tern_bytes f)
{
    if (f.len == 0)
        return false;
    size_t i = 0;
    for (;;) {
        size_t n = level_len(f, i);
        struct tern_bytes lvl = bytes_of(f.ptr + i, n);
        bool plus = has_byte(lvl, '+');
        bool hash = has_byte(lvl, '#');
        if ((plus || hash) && n != 1)
            return false;
        if (hash && i + n != f.len)
            return false;
        if (i + n == f.len)
            return true;
        i += n + 1;
    }
}

bool codec_topic_shared_split(struct tern_bytes filter, struct tern_bytes *group,
                              struct tern_bytes *rest)
{
    if (!bytes_has_prefix(filter, SHARE_PREFIX))
        return false;
    size_t n = level_len(filter, SHARE_PREFIX_LEN);
    size_t slash = SHARE_PREFIX_LEN + n;
    if (slash >= filter.len)
        return false;
    *group = bytes_of(filter.ptr + SHARE_PREFIX_LEN, n);
    *rest = bytes_of(filter.ptr + slash + 1, filter.len - slash - 1);
    return true;
}

bool codec_topic_filter_valid(struct tern_bytes filter)
{
    /* At least one character long [MQTT-4.7.3-1]. */
    if (filter.len == 0 || filter.len > 0xFFFF)
        return false;
    if (!codec_utf8_valid(filter.ptr, filter.len))
        return false;
    if (!bytes_has_prefix(filter, SHARE_PREFIX))
        return plain_filter_valid(filter);
    /* A shared subscription needs a non-empty ShareName without '+' or '#' (the '/' ends it)
     * followed by '/' and a valid filter [MQTT-4.8.2-1], [MQTT-4.8.2-2]. */
    struct tern_bytes group, rest;
    if (!codec_topic_shared_split(filter, &group, &rest))
        return false;
    if (group.len == 0 || has_byte(group, '+') || has_byte(group, '#'))
        return false;
    return plain_filter_valid(rest);
}

static bool level_eq(struct tern_bytes a, size_t ai, size_t an, struct tern_bytes b, size_t bi,
                     size_t bn)
{
    return an == bn && (an == 0 || memcmp(a.ptr + ai, b.ptr + bi, an) == 0);
}

bool codec_topic_matches(struct tern_bytes filter, struct tern_bytes topic)
{
    if (filter.len == 0 || topic.len == 0)
        return false;
    /* A filter starting with a wildcard does not match a name starting with '$'
     * [MQTT-4.7.2-1]. */
    if (topic.ptr[0] == '$' && (filter.ptr[0] == '+' || filter.ptr[0] == '#'))
        return false;
    size_t fi = 0, ti = 0;
    for (;;) {
        size_t fn = level_len(filter, fi);
        size_t tn = level_len(topic, ti);
        /* '#' matches this level and everything below it. */
        if (fn == 1 && filter.ptr[fi] == '#')
            return true;
        bool plus = fn == 1 && filter.ptr[fi] == '+';
        if (!plus && !level_eq(filter, fi, fn, topic, ti, tn))
            return false;
        bool f_end = fi + fn == filter.len;
        bool t_end = ti + tn == topic.len;
        if (f_end || t_end) {
            if (f_end && t_end)
                return true;
            /* "a/#" also matches its parent "a" (4.7.1.2). */
            return t_end && fi + fn + 2 == filter.len && filter.ptr[fi + fn + 1] == '#';
        }
        fi += fn + 1;
        ti += tn + 1;
    }
}
