/* Conformance tests of the topic helpers: topic name and filter validity (MQTT 5.0 4.7.1,
 * 4.7.3, 4.8.2), shared subscription splitting and matching, with the examples of 4.7.
 * Every string is placed against a guard page so an over-read crashes. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "guard.h"
#include "mem.h"
#include "unit.h"

static struct guard g1, g2;

static struct tern_bytes at_guard(struct guard *g, const char *s, size_t len)
{
    return bytes_of(guard_place(g, s, len), len);
}

static void name_is(const char *s, bool want)
{
    bool got = codec_topic_name_valid(at_guard(&g1, s, strlen(s)));
    if (got != want) {
        fprintf(stderr, "topic name \"%s\": got %d want %d\n", s, got, want);
        unit_failures++;
    }
}

static void filter_is(const char *s, bool want)
{
    bool got = codec_topic_filter_valid(at_guard(&g1, s, strlen(s)));
    if (got != want) {
        fprintf(stderr, "topic filter \"%s\": got %d want %d\n", s, got, want);
        unit_failures++;
    }
}

static void match_is(const char *filter, const char *topic, bool want)
{
    struct tern_bytes f = at_guard(&g1, filter, strlen(filter));
    struct tern_bytes t = at_guard(&g2, topic, strlen(topic));
    bool got = codec_topic_matches(f, t);
    if (got != want) {
        fprintf(stderr, "match \"%s\" vs \"%s\": got %d want %d\n", filter, topic, got, want);
        unit_failures++;
    }
}

static void test_topic_name_valid(void)
{
    name_is("sport/tennis/player1", true);
    name_is("/", true); /* 4.7.3: "/" is a valid topic of two empty levels. */
    name_is("/finance", true);
    name_is("sport/", true);
    name_is("a", true);
    name_is(" ", true); /* Topic names may contain spaces (4.7.3). */
    name_is("$SYS/monitor", true);
    name_is("caf\xC3\xA9", true);
    /* "All Topic Names and Topic Filters MUST be at least one character long" [MQTT-4.7.3-1]. */
    name_is("", false);
    /* Wildcards "MUST NOT be used within a Topic Name" [MQTT-4.7.1-1] [MQTT-3.3.2-2]. */
    name_is("+", false);
    name_is("#", false);
    name_is("sport/+", false);
    name_is("sport/#", false);
    name_is("sport/tennis+", false);
    name_is("a#b", false);
    /* Topic names are UTF-8 strings [MQTT-1.5.4-1], [MQTT-1.5.4-2]. */
    struct tern_bytes bad_utf8[] = {bytes_of("a\xC0\x80", 3), bytes_of("a\0b", 3),
                                    bytes_of("\xED\xA0\x80", 3), bytes_of("x\xE2\x82", 3)};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++)
        CHECK(
            !codec_topic_name_valid(at_guard(&g1, (const char *)bad_utf8[i].ptr, bad_utf8[i].len)));
}

static void test_topic_name_length_limit(void)
{
    /* UTF-8 strings are at most 65,535 bytes (1.5.4) [MQTT-4.7.3-3]. */
    char *big = mem_alloc(65536);
    REQUIRE(big != NULL);
    memset(big, 'a', 65536);
    CHECK(codec_topic_name_valid(at_guard(&g1, big, 65535)));
    CHECK(!codec_topic_name_valid(at_guard(&g1, big, 65536)));
    mem_free(big);
}

static void test_topic_filter_valid(void)
{
    /* Examples of 4.7.1.2 and 4.7.1.3. */
    filter_is("sport/tennis/player1/#", true);
    filter_is("sport/#", true);
    filter_is("#", true);
    filter_is("sport/tennis/#", true);
    filter_is("+", true);
    filter_is("+/tennis/#", true);
    filter_is("sport/+/player1", true);
    filter_is("/+", true);
    filter_is("+/+", true);
    filter_is("/", true);
    filter_is("$SYS/#", true);
    filter_is("a/b/c", true);
    /* '#' must be the last character and occupy a whole level [MQTT-4.7.1-2]. */
    filter_is("sport/tennis#", false);
    filter_is("sport/tennis/#/ranking", false);
    filter_is("#/", false);
    filter_is("a/#/", false);
    filter_is("##", false);
    /* '+' must occupy an entire level [MQTT-4.7.1-3]. */
    filter_is("sport+", false);
    filter_is("sport/+tennis", false);
    filter_is("++", false);
    filter_is("a/+b/c", false);
    /* At least one character long [MQTT-4.7.3-1]. */
    filter_is("", false);
    CHECK(!codec_topic_filter_valid(at_guard(&g1, "a/\xED\xBF\xBF", 5)));
    CHECK(!codec_topic_filter_valid(at_guard(&g1, "a/\0", 3)));
}

static void test_topic_filter_shared(void)
{
    /* "$share/{ShareName}/{filter}" (4.8.2): ShareName non-empty, no '/', '+' or '#'
     * [MQTT-4.8.2-1], followed by '/' and a valid non-empty filter [MQTT-4.8.2-2]. */
    filter_is("$share/group/sport/tennis", true);
    filter_is("$share/g/#", true);
    filter_is("$share/g/+/x", true);
    filter_is("$share/g//", true);
    filter_is("$share/consumer1/sport/tennis/+", true);
    filter_is("$share//sport", false);
    filter_is("$share/g", false);
    filter_is("$share/g/", false);
    filter_is("$share/+/a", false);
    filter_is("$share/#/a", false);
    filter_is("$share/g+/a", false);
    filter_is("$share/g#/a", false);
    filter_is("$share/g/a#", false);
    filter_is("$share/g/#/a", false);
    /* Not a shared subscription: an ordinary filter whose first level is "$sharex". */
    filter_is("$sharex/g/a", true);
}

static void test_topic_shared_split(void)
{
    struct tern_bytes group = {0}, rest = {0};
    CHECK(codec_topic_shared_split(at_guard(&g1, "$share/grp/a/b", 14), &group, &rest));
    CHECK(bytes_eq_str(group, "grp"));
    CHECK(bytes_eq_str(rest, "a/b"));
    CHECK(codec_topic_shared_split(at_guard(&g1, "$share/g/#", 10), &group, &rest));
    CHECK(bytes_eq_str(group, "g"));
    CHECK(bytes_eq_str(rest, "#"));
    CHECK(!codec_topic_shared_split(at_guard(&g1, "sport/tennis", 12), &group, &rest));
    CHECK(!codec_topic_shared_split(at_guard(&g1, "$SYS/a/b", 8), &group, &rest));
    CHECK(!codec_topic_shared_split(at_guard(&g1, "$sharex/g/a", 11), &group, &rest));
    CHECK(!codec_topic_shared_split(at_guard(&g1, "", 0), &group, &rest));
}

static void test_topic_matches_spec_examples(void)
{
    /* 4.7.1.2: "sport/tennis/player1/#" matches these three. */
    match_is("sport/tennis/player1/#", "sport/tennis/player1", true);
    match_is("sport/tennis/player1/#", "sport/tennis/player1/ranking", true);
    match_is("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true);
    match_is("sport/tennis/player1/#", "sport/tennis/player10", false);
    /* "sport/#" also matches the singular "sport". */
    match_is("sport/#", "sport", true);
    match_is("sport/#", "sports", false);
    match_is("#", "sport/tennis", true);
    match_is("#", "/", true);
    /* 4.7.1.3: "sport/tennis/+" matches one level only. */
    match_is("sport/tennis/+", "sport/tennis/player1", true);
    match_is("sport/tennis/+", "sport/tennis/player2", true);
    match_is("sport/tennis/+", "sport/tennis/player1/ranking", false);
    /* "sport/+" does not match "sport" but does match "sport/". */
    match_is("sport/+", "sport", false);
    match_is("sport/+", "sport/", true);
    /* "+/+" and "/+" match "/finance"; "+" does not. */
    match_is("+/+", "/finance", true);
    match_is("/+", "/finance", true);
    match_is("+", "/finance", false);
    match_is("+", "finance", true);
    /* 4.7.3: case sensitive; "/finance" and "finance" are different. */
    match_is("ACCOUNTS", "Accounts", false);
    match_is("/finance", "finance", false);
    match_is("finance", "/finance", false);
}

static void test_topic_matches_dollar(void)
{
    /* 4.7.2: a filter starting with a wildcard does not match a topic starting with '$'
     * [MQTT-4.7.2-1]. */
    match_is("#", "$SYS/monitor/Clients", false);
    match_is("+/monitor/Clients", "$SYS/monitor/Clients", false);
    match_is("$SYS/#", "$SYS/monitor/Clients", true);
    match_is("$SYS/monitor/+", "$SYS/monitor/Clients", true);
    match_is("+", "$SYS", false);
    match_is("$SYS", "$SYS", true);
    /* Only the first character counts: '$' further in is ordinary. */
    match_is("a/#", "a/$b", true);
    match_is("a/+", "a/$b", true);
}

static void test_topic_matches_exact_and_levels(void)
{
    match_is("a/b", "a/b", true);
    match_is("a/b", "a/b/c", false);
    match_is("a/b", "a", false);
    match_is("a/b", "a/bc", false);
    match_is("a/b/", "a/b", false);
    match_is("a//b", "a//b", true);
    match_is("a/+/b", "a//b", true); /* '+' matches an empty level. */
    match_is("+/a", "/a", true);
    match_is("a/#", "a", true);
    match_is("a/#", "ab", false);
    match_is("a/#", "a/", true);
    match_is("+/+/+", "a/b", false);
    match_is("+/#", "a", true);
}

UNIT_MAIN(UNIT_TEST(test_topic_name_valid), UNIT_TEST(test_topic_name_length_limit),
          UNIT_TEST(test_topic_filter_valid), UNIT_TEST(test_topic_filter_shared),
          UNIT_TEST(test_topic_shared_split), UNIT_TEST(test_topic_matches_spec_examples),
          UNIT_TEST(test_topic_matches_dollar), UNIT_TEST(test_topic_matches_exact_and_levels))
