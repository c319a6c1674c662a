/* Unit tests for src/core/retain: set / replace / delete with references and byte accounting,
 * wildcard retrieval with the '$' rule, count and byte caps, expiry, and 100k topics. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "mem.h"
#include "msg.h"
#include "retain.h"
#include "unit.h"

static struct msg *mk(const char *topic, const char *payload, uint32_t expiry_s, uint64_t now)
{
    struct mqtt_props p;
    memset(&p, 0, sizeof p);
    struct msg_init in = {bytes_str(topic), bytes_str(payload), NULL, 1, true, 0, now};
    if (expiry_s) {
        p.present = MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
        p.message_expiry = expiry_s;
        in.props = &p;
    }
    return msg_new(&in);
}

/* Stores a fresh message and drops the test's reference. */
static int put(struct retain *r, const char *topic, const char *payload)
{
    struct msg *m = mk(topic, payload, 0, 0);
    if (!m)
        return TERN_ENOMEM;
    int rc = retain_set(r, m);
    msg_unref(m);
    return rc;
}

#define MAX_SEEN 16

struct seen {
    size_t n;
    const char *topic[MAX_SEEN];
};

static void collect(struct msg *m, void *ctx)
{
    struct seen *s = ctx;
    if (s->n < MAX_SEEN)
        s->topic[s->n] = m->topic;
    s->n++;
}

static bool seen_has(const struct seen *s, const char *topic)
{
    for (size_t i = 0; i < s->n && i < MAX_SEEN; i++)
        if (strcmp(s->topic[i], topic) == 0)
            return true;
    return false;
}

static struct seen match(struct retain *r, const char *filter, uint64_t now)
{
    struct seen s = {0};
    retain_match(r, bytes_str(filter), now, collect, &s);
    return s;
}

static void test_set_replace_delete(void)
{
    size_t start = mem_in_use();
    struct retain *r = retain_new(0, 0);
    REQUIRE(r != NULL);
    struct msg *a = mk("a/b", "one", 0, 0);
    struct msg *b = mk("a/b", "two!", 0, 0);
    REQUIRE(a && b);
    CHECK_EQ_INT(retain_set(r, a), 0);
    CHECK_EQ_INT(atomic_load(&a->refs), 2);
    CHECK_EQ_INT(retain_count(r), 1);
    CHECK_EQ_INT(retain_bytes(r), msg_cost(a));
    CHECK_EQ_INT(retain_set(r, b), 0);
    CHECK_EQ_INT(atomic_load(&a->refs), 1);
    CHECK_EQ_INT(atomic_load(&b->refs), 2);
    CHECK_EQ_INT(retain_count(r), 1);
    CHECK_EQ_INT(retain_bytes(r), msg_cost(b));
    struct seen s = match(r, "a/b", 0);
    CHECK_EQ_INT(s.n, 1);
    CHECK(s.n == 1 && strcmp(s.topic[0], "a/b") == 0);
    /* [MQTT-3.3.1-6/7]: an empty retained payload deletes the topic and is not stored. */
    struct msg *del = mk("a/b", "", 0, 0);
    REQUIRE(del != NULL);
    CHECK_EQ_INT(retain_set(r, del), 0);
    CHECK_EQ_INT(atomic_load(&del->refs), 1);
    CHECK_EQ_INT(atomic_load(&b->refs), 1);
    CHECK_EQ_INT(retain_count(r), 0);
    CHECK_EQ_INT(retain_bytes(r), 0);
    CHECK_EQ_INT(match(r, "#", 0).n, 0);
    CHECK_EQ_INT(retain_set(r, del), 0); /* deleting an absent topic is fine */
    msg_unref(a);
    msg_unref(b);
    msg_unref(del);
    /* retain_free drops the store's references. */
    CHECK_EQ_INT(put(r, "x/y/z", "p"), 0);
    CHECK_EQ_INT(put(r, "x", "q"), 0);
    retain_free(r);
    CHECK_EQ_INT(mem_in_use(), start);
}

static void test_delete_prunes(void)
{
    struct retain *r = retain_new(0, 0);
    REQUIRE(r != NULL);
    size_t start = mem_in_use();
    char t[32];
    for (int i = 0; i < 200; i++) {
        snprintf(t, sizeof t, "p/%d/q/%d", i % 10, i);
        CHECK_EQ_INT(put(r, t, "v"), 0);
    }
    CHECK_EQ_INT(put(r, "p", "v"), 0);
    CHECK_EQ_INT(retain_count(r), 201);
    for (int i = 0; i < 200; i++) {
        snprintf(t, sizeof t, "p/%d/q/%d", i % 10, i);
        CHECK_EQ_INT(put(r, t, ""), 0);
    }
    CHECK_EQ_INT(retain_count(r), 1);
    CHECK_EQ_INT(match(r, "p/#", 0).n, 1);
    CHECK_EQ_INT(put(r, "p", ""), 0);
    CHECK_EQ_INT(retain_count(r), 0);
    CHECK_EQ_INT(mem_in_use(), start);
    retain_free(r);
}

static const char *const topics[] = {
    "sport/tennis/p1", "sport/tennis/p2", "sport",   "sport/golf",
    "$SYS/x",          "/finance",        "a/b/c/d", "a//c",
};

struct filter_case {
    const char *filter;
    size_t n;
    const char *must; /* one topic that must be among the results, or NULL */
};

static const struct filter_case filter_cases[] = {
    {"sport/#", 4, "sport"},
    {"sport/+", 1, "sport/golf"},
    {"sport/tennis/+", 2, "sport/tennis/p2"},
    {"sport/tennis", 0, NULL},
    {"#", 7, "/finance"},
    {"+/+", 2, "/finance"},
    {"+", 1, "sport"},
    {"$SYS/#", 1, "$SYS/x"},
    {"$SYS/+", 1, "$SYS/x"},
    {"+/x", 0, NULL},
    {"sport/tennis/p1", 1, "sport/tennis/p1"},
    {"a/+/c", 1, "a//c"},
    {"a/+/c/#", 2, "a/b/c/d"},
    {"+/+/+/+", 1, "a/b/c/d"},
    {"a/b/c/d/#", 1, "a/b/c/d"},
    {"a/b/c/d/+", 0, NULL},
};

static void test_wildcard_retrieval(void)
{
    struct retain *r = retain_new(0, 0);
    REQUIRE(r != NULL);
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++)
        CHECK_EQ_INT(put(r, topics[i], "v"), 0);
    for (size_t i = 0; i < sizeof filter_cases / sizeof filter_cases[0]; i++) {
        const struct filter_case *c = &filter_cases[i];
        struct seen s = match(r, c->filter, 0);
        if (s.n != c->n)
            fprintf(stderr, "filter '%s': %zu results\n", c->filter, s.n);
        CHECK_EQ_INT(s.n, c->n);
        if (c->must)
            CHECK(seen_has(&s, c->must));
    }
    struct seen all = {0};
    retain_foreach(r, collect, &all);
    CHECK_EQ_INT(all.n, sizeof topics / sizeof topics[0]);
    CHECK(seen_has(&all, "$SYS/x"));
    retain_free(r);
}

static void test_count_cap(void)
{
    struct retain *r = retain_new(2, 0);
    REQUIRE(r != NULL);
    CHECK_EQ_INT(put(r, "a", "1"), 0);
    CHECK_EQ_INT(put(r, "b", "1"), 0);
    CHECK_EQ_INT(put(r, "c", "1"), TERN_EFULL);
    CHECK_EQ_INT(put(r, "a", "2"), 0); /* replacing is not adding */
    CHECK_EQ_INT(retain_count(r), 2);
    CHECK_EQ_INT(match(r, "c", 0).n, 0);
    CHECK_EQ_INT(put(r, "b", ""), 0);
    CHECK_EQ_INT(put(r, "c", "1"), 0);
    CHECK_EQ_INT(retain_count(r), 2);
    retain_free(r);
}

static void test_byte_cap(void)
{
    struct msg *small = mk("t/1", "12345678", 0, 0);
    REQUIRE(small != NULL);
    uint64_t cost = msg_cost(small);
    struct retain *r = retain_new(0, 2 * cost + 4);
    REQUIRE(r != NULL);
    CHECK_EQ_INT(retain_set(r, small), 0);
    CHECK_EQ_INT(put(r, "t/2", "abcdefgh"), 0);
    CHECK_EQ_INT(retain_bytes(r), 2 * cost);
    CHECK_EQ_INT(put(r, "t/3", "x"), TERN_EFULL);
    CHECK_EQ_INT(put(r, "t/1", "123456789012"), 0);       /* grows by 4: fits exactly */
    CHECK_EQ_INT(put(r, "t/2", "abcdefghi"), TERN_EFULL); /* grows by 1: over */
    CHECK_EQ_INT(retain_bytes(r), 2 * cost + 4);
    struct seen s = match(r, "t/+", 0);
    CHECK_EQ_INT(s.n, 2);
    CHECK_EQ_INT(put(r, "t/1", "1"), 0); /* shrinking is allowed */
    CHECK_EQ_INT(retain_bytes(r), 2 * cost - 7);
    retain_free(r);
    msg_unref(small);
}

static void test_expiry(void)
{
    size_t start = mem_in_use();
    struct retain *r = retain_new(0, 0);
    REQUIRE(r != NULL);
    struct msg *m = mk("e/x", "v", 10, 1000); /* expires at 11000 ms */
    REQUIRE(m != NULL);
    CHECK_EQ_INT(retain_set(r, m), 0);
    msg_unref(m);
    CHECK_EQ_INT(put(r, "e/y", "forever"), 0);
    CHECK_EQ_INT(match(r, "e/+", 10999).n, 2);
    struct seen s = match(r, "e/#", 11000);
    CHECK_EQ_INT(s.n, 1);
    CHECK(seen_has(&s, "e/y"));
    CHECK_EQ_INT(match(r, "e/x", 20000).n, 0);
    CHECK_EQ_INT(retain_count(r), 2);
    retain_expire(r, 10999);
    CHECK_EQ_INT(retain_count(r), 2);
    retain_expire(r, 11000);
    CHECK_EQ_INT(retain_count(r), 1);
    CHECK_EQ_INT(match(r, "#", 11000).n, 1);
    CHECK_EQ_INT(put(r, "e/y", ""), 0);
    retain_expire(r, 50000);
    CHECK_EQ_INT(retain_count(r), 0);
    retain_free(r);
    CHECK_EQ_INT(mem_in_use(), start);
}

static void count_cb(struct msg *m, void *ctx)
{
    (void)m;
    (*(size_t *)ctx)++;
}

/* 100k topics: wildcard lookups that touch few branches stay exact. */
static void test_many_topics(void)
{
    size_t start = mem_in_use();
    struct retain *r = retain_new(0, 0);
    REQUIRE(r != NULL);
    char t[48];
    for (int i = 0; i < 100000; i++) {
        snprintf(t, sizeof t, "dev/%d/sensor/%d", i / 10, i % 10);
        REQUIRE(put(r, t, "42") == 0);
    }
    CHECK_EQ_INT(retain_count(r), 100000);
    size_t n = 0;
    retain_match(r, bytes_str("dev/1234/sensor/+"), 0, count_cb, &n);
    CHECK_EQ_INT(n, 10);
    n = 0;
    retain_match(r, bytes_str("dev/+/sensor/7"), 0, count_cb, &n);
    CHECK_EQ_INT(n, 10000);
    n = 0;
    retain_match(r, bytes_str("dev/9999/#"), 0, count_cb, &n);
    CHECK_EQ_INT(n, 10);
    n = 0;
    retain_match(r, bytes_str("#"), 0, count_cb, &n);
    CHECK_EQ_INT(n, 100000);
    retain_free(r);
    CHECK_EQ_INT(mem_in_use(), start);
}

static void test_set_out_of_memory(void)
{
    struct retain *r = retain_new(0, 0);
    REQUIRE(r != NULL);
    CHECK_EQ_INT(put(r, "k/a", "v"), 0);
    struct msg *m = mk("k/b/c/d", "v", 0, 0);
    REQUIRE(m != NULL);
    int rc = TERN_ENOMEM;
    for (uint64_t n = 1; rc == TERN_ENOMEM && n < 50; n++) {
        size_t before = mem_in_use();
        mem_fail_at(n);
        rc = retain_set(r, m);
        mem_fail_at(0);
        if (rc == TERN_ENOMEM) {
            CHECK_EQ_INT(mem_in_use(), before);
            CHECK_EQ_INT(retain_count(r), 1);
        }
    }
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(retain_count(r), 2);
    msg_unref(m);
    retain_free(r);
}

/* Two threads match while the main thread sets and deletes: readers always see the stable
 * topic, never more than the topics that exist. */
struct rmt {
    struct retain *r;
    _Atomic bool done;
    _Atomic unsigned long bad;
};

static void *rmt_reader(void *arg)
{
    struct rmt *mt = arg;
    unsigned long rounds = 0;
    while (!atomic_load(&mt->done) || rounds < 50) {
        size_t n = 0;
        retain_match(mt->r, bytes_str("c/#"), 0, count_cb, &n);
        if (n < 1 || n > 33)
            atomic_fetch_add(&mt->bad, 1);
        rounds++;
    }
    return NULL;
}

static void test_concurrent_match_with_writer(void)
{
    static struct rmt mt;
    size_t start = mem_in_use();
    mt.r = retain_new(0, 0);
    REQUIRE(mt.r != NULL);
    atomic_store(&mt.done, false);
    atomic_store(&mt.bad, 0);
    CHECK_EQ_INT(put(mt.r, "c/stable", "s"), 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        REQUIRE(pthread_create(&th[i], NULL, rmt_reader, &mt) == 0);
    char t[32];
    int errors = 0;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 32; i++) {
            snprintf(t, sizeof t, "c/%d/%d", i, round % 3);
            errors += put(mt.r, t, "v") != 0;
        }
        for (int i = 0; i < 32; i++) {
            snprintf(t, sizeof t, "c/%d/%d", i, round % 3);
            errors += put(mt.r, t, "") != 0;
        }
    }
    atomic_store(&mt.done, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(errors, 0);
    CHECK_EQ_INT(atomic_load(&mt.bad), 0);
    CHECK_EQ_INT(retain_count(mt.r), 1);
    retain_free(mt.r);
    CHECK_EQ_INT(mem_in_use(), start);
}

struct seen_src {
    size_t n;
    char client_id[32], username[32];
    const void *listener;
    bool has_src;
};

static void collect_src(struct msg *m, const struct retain_source *src, void *ctx)
{
    (void)m;
    struct seen_src *s = ctx;
    s->n++;
    s->has_src = src != NULL;
    if (src) {
        snprintf(s->client_id, sizeof s->client_id, "%s", src->client_id);
        snprintf(s->username, sizeof s->username, "%s", src->username ? src->username : "-");
        s->listener = src->listener;
    }
}

/* check_retain_source's record: the publisher travels with its message through matches, is not
 * attached to a message that is no longer the retained one, and goes with a replacement. */
static void test_source(void)
{
    struct retain *r = retain_new(0, 0);
    REQUIRE(r);
    int token = 0;
    struct msg *m = mk("a/b", "v1", 0, 0);
    REQUIRE(m && retain_set(r, m) == 0);
    struct seen_src s = {0};
    retain_match_src(r, bytes_str("a/#"), 0, collect_src, &s);
    CHECK(s.n == 1 && !s.has_src);
    struct retain_source src = {"pub-1", "alice", &token};
    REQUIRE(retain_set_source(r, m, &src) == 0);
    memset(&s, 0, sizeof s);
    retain_match_src(r, bytes_str("a/+"), 0, collect_src, &s);
    CHECK(s.n == 1 && s.has_src);
    CHECK(strcmp(s.client_id, "pub-1") == 0 && strcmp(s.username, "alice") == 0);
    CHECK(s.listener == &token);
    /* A replacement has no source until one is recorded for it; the old message's is ignored. */
    struct msg *m2 = mk("a/b", "v2", 0, 0);
    REQUIRE(m2 && retain_set(r, m2) == 0);
    struct retain_source anon = {"pub-2", NULL, NULL};
    REQUIRE(retain_set_source(r, m, &anon) == 0);
    memset(&s, 0, sizeof s);
    retain_match_src(r, bytes_str("a/b"), 0, collect_src, &s);
    CHECK(s.n == 1 && !s.has_src);
    REQUIRE(retain_set_source(r, m2, &anon) == 0);
    memset(&s, 0, sizeof s);
    retain_match_src(r, bytes_str("a/b"), 0, collect_src, &s);
    CHECK(s.n == 1 && s.has_src && strcmp(s.username, "-") == 0);
    mem_fail_at(1);
    CHECK_EQ_INT(retain_set_source(r, m2, &src), TERN_ENOMEM);
    mem_fail_at(0);
    msg_unref(m);
    msg_unref(m2);
    retain_free(r); /* frees the record with its node */
}

/* retain_expiry_interval: retain_sweep removes expired messages once per period, the first time
 * one period after its first call; period 0 is off. */
static void test_sweep(void)
{
    struct retain *r = retain_new(0, 0);
    REQUIRE(r);
    struct msg *m = mk("e/1", "x", 1, 0); /* expires at 1000 ms */
    REQUIRE(m && retain_set(r, m) == 0);
    msg_unref(m);
    REQUIRE(put(r, "keep", "y") == 0);
    CHECK_EQ_INT(retain_sweep(r, 5000, 0), 0);      /* off */
    CHECK_EQ_INT(retain_sweep(r, 5000, 60000), 0);  /* first call: scheduled for 65000 */
    CHECK_EQ_INT(retain_sweep(r, 64999, 60000), 0); /* not due */
    CHECK_EQ_INT(retain_count(r), 2);
    CHECK_EQ_INT(retain_sweep(r, 65000, 60000), 1);
    CHECK_EQ_INT(retain_count(r), 1);
    m = mk("e/2", "x", 1, 70000);
    REQUIRE(m && retain_set(r, m) == 0);
    msg_unref(m);
    CHECK_EQ_INT(retain_sweep(r, 100000, 60000), 0); /* next due at 125000 */
    /* A shorter period (reload) reschedules from now. */
    CHECK_EQ_INT(retain_sweep(r, 100000, 1000), 0);
    CHECK_EQ_INT(retain_sweep(r, 101000, 1000), 1);
    CHECK_EQ_INT(retain_count(r), 1);
    retain_free(r);
}

UNIT_MAIN(UNIT_TEST(test_set_replace_delete), UNIT_TEST(test_delete_prunes),
          UNIT_TEST(test_wildcard_retrieval), UNIT_TEST(test_count_cap), UNIT_TEST(test_byte_cap),
          UNIT_TEST(test_expiry), UNIT_TEST(test_many_topics), UNIT_TEST(test_set_out_of_memory),
          UNIT_TEST(test_concurrent_match_with_writer), UNIT_TEST(test_source),
          UNIT_TEST(test_sweep))
